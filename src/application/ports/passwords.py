"""Password hashing and password strength."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool:
        """True when the password matches; never raises for a mismatch."""
        ...

    def needs_rehash(self, password_hash: str) -> bool: ...

    def dummy_hash(self) -> str:
        """A hash of a password nobody knows, made once.

        Checking a login for an unknown email against it costs exactly what checking a
        real account costs, so timing does not tell the two apart.
        """
        ...


class PasswordStrength(Protocol):
    def weakness(self, password: str, *, user_inputs: Sequence[str] = ()) -> str | None:
        """Why the password is too easy to guess (common, breached pattern, built from
        the user's own details), or None when it is acceptable."""
        ...
