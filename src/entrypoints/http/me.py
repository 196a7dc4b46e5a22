"""/api/v1/me: the signed-in user's own account."""

from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from application.catalog.progress import ContinueWatching
from application.identity.passwords import ChangePassword
from application.identity.profile import DeleteAccount, GetMe, UpdateProfile
from application.identity.views import UserView
from entrypoints.http.auth import SECURED
from entrypoints.http.convert import progress_out
from entrypoints.http.dependencies import Actor, App
from entrypoints.http.openapi import AUTHENTICATED
from entrypoints.http.schemas.catalog import ContinueOut
from entrypoints.http.schemas.common import set_fields
from entrypoints.http.schemas.identity import (
    ChangePasswordBody,
    DeleteAccountBody,
    ProfilePatch,
    UserOut,
)


def user_out(view: UserView) -> UserOut:
    return UserOut(
        id=view.id,
        email=view.email,
        full_name=view.full_name,
        role=view.role,
        email_verified=view.email_verified,
        profile_image_url=view.profile_image_url,
        bio=view.bio,
        created_at=view.created_at,
        disabled=view.disabled,
    )


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["me"]
    security = SECURED

    @get("/", sync_to_thread=True, responses=AUTHENTICATED)
    def me(self, actor: Actor, patronage: App) -> UserOut:
        """The signed-in user's profile."""
        return user_out(patronage.handle(GetMe(actor=actor)))

    @patch("/", sync_to_thread=True, responses=AUTHENTICATED)
    def update(self, data: JSONBody[ProfilePatch], actor: Actor, patronage: App) -> UserOut:
        """Edit full_name, bio and profile_image_url; null clears bio or image.

        Any other field (role, email, ...) is refused with 400.
        """
        fields = set_fields(data)
        clear = frozenset(name for name, value in fields.items() if value is None)
        view = patronage.handle(
            UpdateProfile(
                actor=actor,
                full_name=fields.get("full_name"),
                bio=fields.get("bio"),
                profile_image_url=fields.get("profile_image_url"),
                clear=clear,
            )
        )
        return user_out(view)

    @get("/continue-watching", sync_to_thread=True, responses=AUTHENTICATED)
    def continue_watching(self, actor: Actor, patronage: App) -> list[ContinueOut]:
        """Your most recent unfinished videos and audio that you may still access."""
        items = patronage.handle(ContinueWatching(actor=actor))
        return [
            ContinueOut(content_id=i.content_id, slug=i.slug, title=i.title,
                        content_type=i.content_type, thumbnail_url=i.thumbnail_url,
                        progress=progress_out(i.progress))
            for i in items
        ]

    @post(
        "/password", status_code=HTTP_204_NO_CONTENT, sync_to_thread=True, responses=AUTHENTICATED
    )
    def change_password(
        self, data: JSONBody[ChangePasswordBody], actor: Actor, patronage: App
    ) -> None:
        """Change the password; every other session of the account is ended."""
        patronage.handle(
            ChangePassword(
                actor=actor, current_password=data.current_password, new_password=data.new_password
            )
        )

    @post("/delete", status_code=HTTP_204_NO_CONTENT, sync_to_thread=True, responses=AUTHENTICATED)
    def delete(self, data: JSONBody[DeleteAccountBody], actor: Actor, patronage: App) -> None:
        """Delete the account (soft delete), confirmed with the password; ends all sessions."""
        patronage.handle(DeleteAccount(actor=actor, password=data.password))
