"""The pages behind the emailed links: confirm an address, choose a new password, ask
for a reset link.

Small, accessible, script-free HTML forms that run the same use cases as the JSON API
(same validation, same throttles). A GET only shows a form, so a mail scanner that
follows links spends nothing; the POST carries a CSRF token (double-submit cookie,
Litestar's CSRF middleware, on these paths only). A platform with its own front end
points `PATRONAGE_PUBLIC_URL` there instead and calls the API.
"""

from __future__ import annotations

import html
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.config.csrf import CSRFConfig
from litestar.enums import MediaType, RequestEncodingType
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.params import Body, FromQuery
from litestar.utils.scope.state import ScopeState

from application.identity.passwords import RequestPasswordReset, ResetPassword
from application.identity.verification import VerifyEmail
from application.platform.settings import GetSettings
from domain.errors import DomainError, RateLimited
from entrypoints.http.dependencies import App, client_address

# Inline styles only; no script, no other origin; forms post back here.
PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'")
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]

_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#1d1d1b}
main{max-width:28rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:8px}
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:1rem 0 .25rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.6rem;font:inherit;border:1px solid #888;
border-radius:4px}button{margin-top:1.25rem;padding:.6rem 1.2rem;font:inherit;
border:0;border-radius:4px;background:#1d4ed8;color:#fff;cursor:pointer}
button:focus,input:focus{outline:3px solid #f59e0b}
.error{color:#a40e26;font-weight:600}.note{color:#444}
"""


def _page(patronage: App, title: str, body: str, status: int = 200) -> Response[str]:
    name = html.escape(patronage.handle(GetSettings()).platform_name)
    document = (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)} · {name}</title><style>{_STYLE}</style></head>"
        f"<body><main><p class=\"note\">{name}</p><h1>{html.escape(title)}</h1>{body}"
        "</main></body></html>"
    )
    return Response(document, status_code=status, media_type=MediaType.HTML,
                    headers={"Content-Security-Policy": PAGE_CSP,
                             "Cache-Control": "no-store"})


def _csrf(request: Request[Any, Any, Any]) -> str:
    token = ScopeState.from_scope(request.scope).csrf_token
    return (f"<input type=\"hidden\" name=\"_csrf_token\" "
            f"value=\"{html.escape(str(token or ''))}\">")


def _hidden_token(token: str) -> str:
    return f"<input type=\"hidden\" name=\"token\" value=\"{html.escape(token)}\">"


def _error(message: str) -> str:
    return f"<p class=\"error\" role=\"alert\">{html.escape(message)}</p>"


def _field(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


class PagesController(Controller):
    """The HTML pages; one controller so that each path's GET and POST share a route."""

    include_in_schema = False

    # -- confirm the email address ---------------------------------------------------------


    @get("/verify-email", include_in_schema=False, sync_to_thread=True)
    def verify_email_form(self, request: Request[Any, Any, Any], patronage: App,
                          token: FromQuery[str] = "") -> Response[str]:
        return _page(patronage, "Confirm your email address", (
            f"<form method=\"post\" action=\"/verify-email\">{_csrf(request)}"
            f"{_hidden_token(token[:256])}"
            "<p>Confirm that this address is yours to finish setting up your account.</p>"
            "<button type=\"submit\">Confirm my address</button></form>"))


    @post("/verify-email", include_in_schema=False, sync_to_thread=True, status_code=200)
    def verify_email(self, request: Request[Any, Any, Any], patronage: App,
                     data: Form) -> Response[str]:
        try:
            patronage.handle(VerifyEmail(token=_field(data, "token")[:256]))
        except DomainError as error:
            return _page(patronage, "This link did not work", _error(error.message) + (
                "<p>Log in and ask for a new confirmation email.</p>"), status=400)
        return _page(patronage, "Your address is confirmed",
                     "<p>Thank you. You can close this page and log in.</p>")


    # -- choose a new password -------------------------------------------------------------


    def _reset_form(self, request: Request[Any, Any, Any], token: str, problem: str = "") -> str:
        return (
            f"{_error(problem) if problem else ''}"
            f"<form method=\"post\" action=\"/reset-password\">{_csrf(request)}"
            f"{_hidden_token(token[:256])}"
            "<label for=\"new_password\">New password</label>"
            "<input id=\"new_password\" name=\"new_password\" type=\"password\" required "
            "minlength=\"8\" maxlength=\"1024\" autocomplete=\"new-password\" "
            "aria-describedby=\"rules\">"
            "<p id=\"rules\" class=\"note\">At least 8 characters. Long and unusual beats "
            "short and clever: a few random words work well.</p>"
            "<button type=\"submit\">Set my new password</button></form>")


    @get("/reset-password", include_in_schema=False, sync_to_thread=True)
    def reset_password_form(self, request: Request[Any, Any, Any], patronage: App,
                            token: FromQuery[str] = "") -> Response[str]:
        return _page(patronage, "Choose a new password", self._reset_form(request, token))


    @post("/reset-password", include_in_schema=False, sync_to_thread=True, status_code=200)
    def reset_password(self, request: Request[Any, Any, Any], patronage: App,
                       data: Form) -> Response[str]:
        token = _field(data, "token")[:256]
        try:
            patronage.handle(ResetPassword(token=token,
                                           new_password=_field(data, "new_password")[:1024]))
        except DomainError as error:
            if error.code == "auth.invalid_token":
                return _page(patronage, "This link did not work", _error(error.message) + (
                    "<p><a href=\"/forgot-password\">Ask for a new reset link</a>.</p>"),
                    status=400)
            return _page(patronage, "Choose a new password",
                         self._reset_form(request, token, error.message), status=422)
        return _page(patronage, "Your password is changed",
                     "<p>You were logged out everywhere. Log in with your new password.</p>")


    # -- ask for a reset link --------------------------------------------------------------


    def _forgot_form(self, request: Request[Any, Any, Any], problem: str = "") -> str:
        return (
            f"{_error(problem) if problem else ''}"
            f"<form method=\"post\" action=\"/forgot-password\">{_csrf(request)}"
            "<label for=\"email\">Email address</label>"
            "<input id=\"email\" name=\"email\" type=\"email\" required maxlength=\"254\" "
            "autocomplete=\"email\">"
            "<button type=\"submit\">Email me a reset link</button></form>")


    @get("/forgot-password", include_in_schema=False, sync_to_thread=True)
    def forgot_password_form(self, request: Request[Any, Any, Any],
                             patronage: App) -> Response[str]:
        return _page(patronage, "Reset your password", self._forgot_form(request))


    @post("/forgot-password", include_in_schema=False, sync_to_thread=True, status_code=200)
    def forgot_password(self, request: Request[Any, Any, Any], patronage: App,
                        data: Form) -> Response[str]:
        try:
            patronage.handle(RequestPasswordReset(email=_field(data, "email")[:254],
                                                  client_address=client_address(request)))
        except RateLimited as error:
            minutes = max(1, int(error.details.get("retry_after_seconds", 60)) // 60)
            return _page(patronage, "Reset your password", self._forgot_form(
                request, f"Too many requests. Try again in about {minutes} minutes."),
                status=429)
        except DomainError as error:
            return _page(patronage, "Reset your password",
                         self._forgot_form(request, error.message), status=422)
        return _page(patronage, "Check your inbox", (
            "<p>If the address has an account, a link to choose a new password is on its way. "
            "It works for an hour.</p>"))


def with_csrf(*, secret: str, secure_cookie: bool) -> type[PagesController]:
    """The pages with CSRF protection (a double-submit cookie) on their forms alone."""
    config = CSRFConfig(secret=secret, cookie_secure=secure_cookie, cookie_httponly=True,
                        cookie_samesite="strict")
    return type("PagesController", (PagesController,),
                {"middleware": [DefineMiddleware(CSRFMiddleware, config=config)]})
