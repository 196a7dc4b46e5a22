"""Cross-origin requests from the platform's own front ends: the public URL, the custom
domain set in the settings (read afresh every half minute, on every server), and any
origins the operator lists in PATRONAGE_CORS_ORIGINS. Keys and sessions travel as
bearer tokens, never cookies, so no credentials mode is needed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from litestar.config.cors import CORSConfig

from application.platform.settings import GetSettings
from domain.errors import DomainError
from entrypoints.bootstrap import Patronage

REFRESH_SECONDS = 30.0
log = logging.getLogger("patronage.http")


def origin_of(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


class CustomDomainOrigins:
    """The custom domain's origin, cached: a changed setting reaches every server within
    ``ttl`` seconds without a database read on every cross-origin request."""

    def __init__(self, patronage: Patronage, ttl: float = REFRESH_SECONDS) -> None:
        self._patronage, self._ttl = patronage, ttl
        self._lock = threading.Lock()
        self._origins: frozenset[str] = frozenset()
        self._read_at = float("-inf")

    def __call__(self) -> frozenset[str]:
        with self._lock:
            if time.monotonic() - self._read_at < self._ttl:
                return self._origins
            try:
                domain = self._patronage.handle(GetSettings()).custom_domain
                self._origins = frozenset({f"https://{domain}"} if domain else ())
            except DomainError as error:
                # The last answer stands until the database answers again.
                log.warning("custom domain not refreshed for CORS (%s)", error.code)
            self._read_at = time.monotonic()
            return self._origins


@dataclass
class PlatformCors(CORSConfig):
    custom_origins: Callable[[], frozenset[str]] = field(default=frozenset)

    def is_origin_allowed(self, origin: str) -> bool:
        return super().is_origin_allowed(origin) or origin.lower() in self.custom_origins()


def cors_config(public_url: str, extra: str | None, custom: Callable[[], frozenset[str]]
                ) -> PlatformCors:
    origins = {o for o in (origin_of(public_url),
                           *(origin_of(item) for item in (extra or "").split(","))) if o}
    return PlatformCors(
        allow_origins=sorted(origins), custom_origins=custom,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Retry-After", "Content-Disposition"],
        max_age=600)
