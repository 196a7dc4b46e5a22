"""The clock, ids, password hasher and HTML sanitizer the core is given in tests."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID


class FrozenClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


class SequentialIds:
    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def new_id(self) -> UUID:
        return UUID(int=next(self._counter))


class FakeHasher:
    """Reversible and fast; 'version' stands in for argon2 parameters."""

    def __init__(self, version: int = 1) -> None:
        self.version = version

    def hash(self, password: str) -> str:
        return f"fake-v{self.version}${password[::-1]}"

    def verify(self, password_hash: str, password: str) -> bool:
        _, _, reversed_password = password_hash.partition("$")
        return reversed_password == password[::-1]

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(f"fake-v{self.version}$")

    def dummy_hash(self) -> str:
        return self.hash("\x00 no account has this password")


class FakeStrength:
    """Refuses a short list of well-known passwords and the user's own email name."""

    COMMON = frozenset({"password", "password1", "12345678", "qwertyuiop", "iloveyou"})

    def weakness(self, password: str, *, user_inputs: Sequence[str] = ()) -> str | None:
        if password.lower() in self.COMMON:
            return "This is a very common password."
        if any(i and password.lower() == i.lower() for i in user_inputs):
            return "Avoid your own name or email."
        return None


class FakeSanitizer:
    """Escapes everything: no markup survives, which is safe if not pretty."""

    def clean(self, html_text: str) -> str:
        return html.escape(html_text)

    def plain_text(self, html_text: str) -> str:
        return " ".join(html.unescape(re.sub(r"<[^>]*>", "", html_text)).split())
