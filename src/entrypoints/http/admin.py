"""/api/v1/admin: account administration for platform owners."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromQuery, JSONBody, Parameter

from application.identity.administration import DisableUser, ListUsers, SetRole
from application.identity.registration import CreateUser
from domain.identity.api_keys import Scope
from domain.identity.roles import Role
from entrypoints.http.auth import SECURED
from entrypoints.http.dependencies import Actor, App, takes_key
from entrypoints.http.me import user_out
from entrypoints.http.openapi import MAX_OFFSET, OWNER
from entrypoints.http.schemas.identity import CreateUserBody, EmailBody, SetRoleBody, UserOut


class AdminUsersController(Controller):
    path = "/api/v1/admin/users"
    tags = ["admin"]
    security = SECURED
    opt = takes_key(Scope.USERS_WRITE)  # the list takes members:read

    @get("/", sync_to_thread=True, responses=OWNER, opt=takes_key(Scope.MEMBERS_READ))
    def list_users(
        self,
        actor: Actor,
        patronage: App,
        role: FromQuery[Role | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> list[UserOut]:
        """List live accounts, oldest first."""
        views = patronage.handle(ListUsers(actor=actor, role=role, limit=limit, offset=offset))
        return [user_out(v) for v in views]

    @post("/", sync_to_thread=True, responses=OWNER)
    def create(self, data: JSONBody[CreateUserBody], actor: Actor, patronage: App) -> UserOut:
        """Create an account of any role. A taken email is a 409 (user.email_taken)."""
        return user_out(
            patronage.handle(
                CreateUser(
                    actor=actor,
                    email=data.email,
                    password=data.password,
                    full_name=data.full_name,
                    role=Role(data.role),
                    verified=data.verified,
                )
            )
        )

    @post("/role", status_code=200, sync_to_thread=True, responses=OWNER)
    def set_role(self, data: JSONBody[SetRoleBody], actor: Actor, patronage: App) -> UserOut:
        """Change an account's role; the last active platform owner cannot be demoted."""
        return user_out(
            patronage.handle(SetRole(actor=actor, email=data.email, role=Role(data.role)))
        )

    @post("/disable", status_code=200, sync_to_thread=True, responses=OWNER)
    def disable(self, data: JSONBody[EmailBody], actor: Actor, patronage: App) -> UserOut:
        """Disable an account: its sessions end at once and it can no longer log in."""
        return user_out(patronage.handle(DisableUser(actor=actor, email=data.email)))
