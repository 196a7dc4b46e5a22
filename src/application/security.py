"""Opaque tokens: random, shown once, stored only as a digest."""

from __future__ import annotations

import hashlib
import secrets

# 32 bytes = 256 bits, twice ASVS's 128-bit minimum for session and reset tokens.
TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """A fast digest is right here: the token has full entropy, unlike a password."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
