"""Request and response bodies of the HTTP API (msgspec Structs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

EmailText = Annotated[str, Meta(min_length=3, max_length=254, description="Email address")]
PasswordText = Annotated[str, Meta(max_length=1024, description="At least 8 characters")]
Token = Annotated[str, Meta(min_length=1, max_length=256)]
Name = Annotated[str, Meta(min_length=1, max_length=255)]
Bio = Annotated[str, Meta(max_length=5000)]
UrlText = Annotated[str, Meta(max_length=2048)]


class Strict(msgspec.Struct, forbid_unknown_fields=True):
    """Request bodies refuse unknown fields: a client cannot slip in role or owner."""


class RegisterBody(Strict):
    email: EmailText
    password: PasswordText
    full_name: Name


class LoginBody(Strict):
    email: EmailText
    password: PasswordText


class TokenBody(Strict):
    token: Token


class ResetRequestBody(Strict):
    email: EmailText


class ResetConfirmBody(Strict):
    token: Token
    new_password: PasswordText


class ChangePasswordBody(Strict):
    current_password: PasswordText
    new_password: PasswordText


class DeleteAccountBody(Strict):
    password: PasswordText


class ProfilePatch(Strict):
    full_name: Name | UnsetType = UNSET
    bio: Bio | UnsetType | None = UNSET
    profile_image_url: UrlText | UnsetType | None = UNSET


class CreateUserBody(Strict):
    email: EmailText
    password: PasswordText
    full_name: Name
    role: Annotated[str, Meta(pattern="^(platform_creator|platform_owner|media_owner|customer)$")]
    verified: bool = True


class SetRoleBody(Strict):
    email: EmailText
    role: Annotated[str, Meta(pattern="^(platform_creator|platform_owner|media_owner|customer)$")]


class EmailBody(Strict):
    email: EmailText


class SettingsPatch(Strict):
    platform_name: Annotated[str, Meta(max_length=255)] | UnsetType = UNSET
    logo_url: UrlText | UnsetType | None = UNSET
    primary_color: Annotated[str, Meta(max_length=7)] | UnsetType = UNSET
    hero_title: Annotated[str, Meta(max_length=500)] | UnsetType | None = UNSET
    hero_subtitle: Annotated[str, Meta(max_length=5000)] | UnsetType | None = UNSET
    hero_background_url: UrlText | UnsetType | None = UNSET
    hero_cta_text: Annotated[str, Meta(max_length=100)] | UnsetType | None = UNSET
    hero_cta_link: UrlText | UnsetType | None = UNSET
    featured_content_ids: Annotated[list[UUID], Meta(max_length=50)] | UnsetType = UNSET
    contact_email: EmailText | UnsetType | None = UNSET
    social_links: dict[Annotated[str, Meta(max_length=50)], UrlText] | UnsetType = UNSET
    about_content: Annotated[str, Meta(max_length=200000)] | UnsetType | None = UNSET
    email_from_name: Annotated[str, Meta(max_length=255)] | UnsetType | None = UNSET
    timezone: Annotated[str, Meta(max_length=50)] | UnsetType = UNSET


def set_fields(struct: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body actually carried (explicit nulls included)."""
    return {
        name: getattr(struct, name)
        for name in struct.__struct_fields__
        if getattr(struct, name) is not UNSET
    }


class Accepted(msgspec.Struct):
    status: str
    message: str


class SessionOut(msgspec.Struct):
    token: str
    token_type: str
    expires_at: datetime
    user_id: UUID


class RevokedOut(msgspec.Struct):
    revoked_sessions: int


class UserOut(msgspec.Struct):
    id: UUID
    email: str
    full_name: str
    role: str
    email_verified: bool
    profile_image_url: str | None
    bio: str | None
    created_at: datetime
    disabled: bool


class SettingsOut(msgspec.Struct):
    platform_name: str
    logo_url: str | None
    primary_color: str
    hero_title: str | None
    hero_subtitle: str | None
    hero_background_url: str | None
    hero_cta_text: str | None
    hero_cta_link: str | None
    featured_content_ids: list[UUID]
    contact_email: str | None
    social_links: dict[str, str]
    about_content: str | None
    email_from_name: str | None
    timezone: str
    updated_at: datetime


class HealthOut(msgspec.Struct):
    status: str
    database: str


class ProblemField(msgspec.Struct):
    field: str | None
    message: str
    code: str | None = None


class Problem(msgspec.Struct):
    """RFC 9457 problem details; ``code`` is stable and meant for machines."""

    type: str
    title: str
    status: int
    code: str
    instance: str
    detail: str | None = None
    errors: list[ProblemField] | None = None
