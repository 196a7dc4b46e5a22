"""argon2id through argon2-cffi, with parameters at or above ASVS 5.0 level 2."""

from __future__ import annotations

import secrets
import threading

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.errors import Unavailable

# OWASP's minimum for argon2id is m=19456 KiB, t=2, p=1; argon2-cffi's default
# (RFC 9106 "low memory": m=65536 KiB, t=3, p=4) is stronger and stays the default.
MIN_MEMORY_KIB = 19456
MIN_TIME_COST = 2
# At most this many hashes at once per process, however many requests ask: each takes
# ~m KiB and a core for ~0.1 s, so a burst of registrations or logins waits here instead
# of starving every other request of CPU and memory.
DEFAULT_CONCURRENCY = 2
WAIT_SECONDS = 10.0


class Argon2PasswordHasher:
    def __init__(
        self, *, memory_cost: int = 65536, time_cost: int = 3, parallelism: int = 4,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        if memory_cost < MIN_MEMORY_KIB or time_cost < MIN_TIME_COST or parallelism < 1:
            raise ValueError("argon2 parameters below the ASVS minimum (m=19456, t=2, p=1)")
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism,
            type=argon2.Type.ID,
        )
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._dummy: str | None = None

    def _slot(self) -> threading.BoundedSemaphore:
        if not self._slots.acquire(timeout=WAIT_SECONDS):
            raise Unavailable("Too busy to check passwords just now; please retry.",
                              code="service.busy")
        return self._slots

    def hash(self, password: str) -> str:
        slot = self._slot()
        try:
            return self._hasher.hash(password)
        finally:
            slot.release()

    def verify(self, password_hash: str, password: str) -> bool:
        slot = self._slot()
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        finally:
            slot.release()

    def dummy_hash(self) -> str:
        # Made on first use (two threads may both make one; either is as good).
        if self._dummy is None:
            self._dummy = self.hash(secrets.token_urlsafe(32))
        return self._dummy

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
