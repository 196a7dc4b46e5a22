"""/api/v1/auth: registration, verification, login, logout, password reset."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from application.identity.login import Login
from application.identity.passwords import RequestPasswordReset, ResetPassword
from application.identity.registration import RegisterCustomer
from application.identity.sessions import Logout, LogoutEverywhere
from application.identity.verification import ResendVerification, VerifyEmail
from entrypoints.http.dependencies import Actor, App, client_address
from entrypoints.http.openapi import AUTHENTICATED, PUBLIC, problems
from entrypoints.http.schemas.identity import (
    Accepted,
    LoginBody,
    RegisterBody,
    ResetConfirmBody,
    ResetRequestBody,
    RevokedOut,
    SessionOut,
    TokenBody,
)

SECURED: list[dict[str, list[str]]] = [{"BearerToken": []}]


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/register", status_code=HTTP_202_ACCEPTED, sync_to_thread=True, responses=PUBLIC)
    def register(self, data: JSONBody[RegisterBody], patronage: App,
                 request: Request[Any, Any, Any]) -> Accepted:
        """Register a customer account.

        Answers 202 the same way whether or not the address already has an account
        (the owner of an existing address is told by email), so the endpoint cannot
        be used to find out who has an account. A verification link is emailed.
        """
        patronage.handle(
            RegisterCustomer(email=data.email, password=data.password, full_name=data.full_name,
                             client_address=client_address(request))
        )
        return Accepted(
            status="accepted", message="Check your inbox to confirm your email address."
        )

    @post("/verify-email", status_code=HTTP_204_NO_CONTENT, sync_to_thread=True, responses=PUBLIC)
    def verify_email(self, data: JSONBody[TokenBody], patronage: App) -> None:
        """Confirm an email address with the single-use token from the verification email."""
        patronage.handle(VerifyEmail(token=data.token))

    @post(
        "/verify-email/resend",
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        security=SECURED,
        responses={**AUTHENTICATED, **problems(409, 429)},
    )
    def resend_verification(self, actor: Actor, patronage: App) -> Accepted:
        """Email a new verification link; the previous one stops working."""
        patronage.handle(ResendVerification(actor=actor))
        return Accepted(status="accepted", message="A new verification link is on its way.")

    @post("/login", status_code=200, sync_to_thread=True,
          responses={**PUBLIC, **problems(401)})
    def login(
        self, data: JSONBody[LoginBody], patronage: App, request: Request[Any, Any, Any]
    ) -> SessionOut:
        """Exchange email and password for an opaque bearer token.

        Failed attempts are throttled per account and per client address (429 with
        Retry-After). Unknown emails and wrong passwords get the same 401.
        """
        result = patronage.handle(
            Login(
                email=data.email,
                password=data.password,
                client_address=client_address(request),
                user_agent=request.headers.get("user-agent"),
            )
        )
        return SessionOut(
            token=result.token,
            token_type="bearer",  # noqa: S106 - the scheme's name, not a secret
            expires_at=result.expires_at,
            user_id=result.user_id,
        )

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        sync_to_thread=True,
        security=SECURED,
        responses=AUTHENTICATED,
    )
    def logout(self, actor: Actor, patronage: App) -> None:
        """End this session; its token stops working at once."""
        patronage.handle(Logout(actor=actor))

    @post(
        "/logout-everywhere",
        status_code=200,
        sync_to_thread=True,
        security=SECURED,
        responses=AUTHENTICATED,
    )
    def logout_everywhere(self, actor: Actor, patronage: App) -> RevokedOut:
        """End every session of this account, this one included."""
        return RevokedOut(revoked_sessions=patronage.handle(LogoutEverywhere(actor=actor)))

    @post(
        "/password-reset/request",
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=PUBLIC,
    )
    def request_reset(self, data: JSONBody[ResetRequestBody], patronage: App,
                      request: Request[Any, Any, Any]) -> Accepted:
        """Email a password-reset link if the address has an account; same answer if not.

        Throttled per target address and per client (429 with Retry-After), whether or
        not the address has an account."""
        patronage.handle(RequestPasswordReset(email=data.email,
                                              client_address=client_address(request)))
        return Accepted(
            status="accepted", message="If the address has an account, a reset link is on its way."
        )

    @post(
        "/password-reset/confirm",
        status_code=HTTP_204_NO_CONTENT,
        sync_to_thread=True,
        responses=PUBLIC,
    )
    def confirm_reset(self, data: JSONBody[ResetConfirmBody], patronage: App) -> None:
        """Set a new password with the single-use reset token; ends every session."""
        patronage.handle(ResetPassword(token=data.token, new_password=data.new_password))
