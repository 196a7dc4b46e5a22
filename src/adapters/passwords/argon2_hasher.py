"""argon2id through argon2-cffi, with parameters at or above ASVS 5.0 level 2."""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's minimum for argon2id is m=19456 KiB, t=2, p=1; argon2-cffi's default
# (RFC 9106 "low memory": m=65536 KiB, t=3, p=4) is stronger and stays the default.
MIN_MEMORY_KIB = 19456
MIN_TIME_COST = 2


class Argon2PasswordHasher:
    def __init__(
        self, *, memory_cost: int = 65536, time_cost: int = 3, parallelism: int = 4
    ) -> None:
        if memory_cost < MIN_MEMORY_KIB or time_cost < MIN_TIME_COST or parallelism < 1:
            raise ValueError("argon2 parameters below the ASVS minimum (m=19456, t=2, p=1)")
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism,
            type=argon2.Type.ID,
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
