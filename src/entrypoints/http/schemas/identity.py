"""Bodies of the auth, me and admin-users routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from entrypoints.http.schemas.common import (
    Bio,
    EmailText,
    Name,
    PasswordText,
    Strict,
    Token,
    UrlText,
)


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
