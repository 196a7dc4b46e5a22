"""The password rules of ASVS 5.0 level 2: length only, no composition rules."""

from __future__ import annotations

import attrs

from domain.errors import ValidationError

PASSWORD_MIN_LENGTH = 8
# ASVS asks that at least 64 characters be allowed; the cap only bounds hashing work.
PASSWORD_MAX_LENGTH = 1024


def _check(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("Password must be a string.", code="validation.password")
    if len(value) < PASSWORD_MIN_LENGTH:
        raise ValidationError(
            f"Password must be at least {PASSWORD_MIN_LENGTH} characters.",
            code="validation.password_too_short",
            field="password",
        )
    if len(value) > PASSWORD_MAX_LENGTH:
        raise ValidationError(
            f"Password must be at most {PASSWORD_MAX_LENGTH} characters.",
            code="validation.password_too_long",
            field="password",
        )
    return value


@attrs.frozen(repr=False)
class NewPassword:
    """A password a user chose; never printed, never truncated."""

    value: str = attrs.field(converter=_check)

    def __repr__(self) -> str:
        return "NewPassword(***)"
