"""Settings from PATRONAGE_* environment variables; none are needed for the embedded default."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from domain.errors import ValidationError
from entrypoints.logs import configure_handlers


def _bool(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


@attrs.frozen(repr=False)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""
    public_url: str = "http://127.0.0.1:8000"
    # Other origins whose pages may call the API from a browser (comma-separated); the
    # public URL's and the custom domain's are always allowed.
    cors_origins: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    mailer: str = "file"
    mail_from: str = "no-reply@patronage.localhost"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_security: str = "starttls"
    # "production" refuses what only makes sense on a laptop (sandbox payments).
    environment: str = "development"
    # A session ends after this long without a request, and this long after login
    # whatever happens (ASVS 3.3.2).
    session_idle_minutes: int = 7 * 24 * 60
    session_lifetime_minutes: int = 30 * 24 * 60
    # The API docs UIs: "local" (Swagger UI served by the app from an installed
    # package), "cdn" (also Scalar, loaded from its CDN) or "off".
    docs_ui: str = "local"
    argon2_memory_kib: int = 65536
    argon2_time_cost: int = 3
    argon2_parallelism: int = 4
    login_max_failures: int = 5
    login_window_minutes: int = 15
    address_max_failures: int = 50
    # Requests that send mail (register, reset request, resend), per hour: per target
    # address, and per client address (behind a proxy that is the proxy: raise it).
    mail_max_per_hour: int = 5
    sender_max_per_hour: int = 30
    # Requests one API key may make per minute (then 429 with Retry-After).
    api_key_requests_per_minute: int = 600
    log_level: str = "INFO"
    # "text" for people (make run), "json" (one object per line) for log shippers.
    log_format: str = "text"
    # One line per request (method, route template, status, duration, user).
    access_log: bool = False
    # Signs local media URLs; generated into $DATA_DIR/secret-key when not set.
    secret_key: str | None = None
    media_storage: str = "local"
    r2_endpoint: str | None = None
    r2_access_key_id: str | None = None
    r2_secret_access_key: str | None = None
    r2_bucket: str | None = None
    payments: str = "sandbox"
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    # The signing secret of a second endpoint that receives connected accounts' events
    # (account.updated), when Stripe sends them to an endpoint of their own.
    stripe_connect_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    playback_url_minutes: int = 5
    max_upload_mb: int = 5120
    # Prometheus metrics: counted when on; served at /metrics by the app, or (with a
    # port) on that port by `patronage serve` (and `patronage worker --metrics-port`).
    metrics: bool = False
    metrics_port: int | None = None

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'patronage.db'}"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    def __repr__(self) -> str:
        # Settings hold credentials; print the shape, not the secrets.
        scheme = self.effective_database_url.split(":")[0]
        return f"Settings(database={scheme}, mailer={self.mailer})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in attrs.fields(cls):
            raw = env.get(f"PATRONAGE_{field.name.upper()}")
            if raw is None or raw == "":
                continue
            try:
                if field.type in ("int", int, "int | None"):
                    values[field.name] = int(raw)
                elif field.type in ("bool", bool):
                    values[field.name] = _bool(raw)
                elif field.type in ("Path", Path):
                    values[field.name] = Path(raw)
                else:
                    values[field.name] = raw
            except ValueError as exc:
                raise ValidationError(
                    f"PATRONAGE_{field.name.upper()} is not valid: {exc}",
                    code="config.invalid", field=field.name,
                ) from exc
        settings = cls(**values)
        if settings.mailer not in ("file", "smtp"):
            raise ValidationError("PATRONAGE_MAILER must be 'file' or 'smtp'.",
                                  code="config.invalid", field="mailer")
        if settings.media_storage not in ("local", "r2"):
            raise ValidationError("PATRONAGE_MEDIA_STORAGE must be 'local' or 'r2'.",
                                  code="config.invalid", field="media_storage")
        if settings.media_storage == "r2" and not all(
            (settings.r2_endpoint, settings.r2_access_key_id, settings.r2_secret_access_key,
             settings.r2_bucket)
        ):
            raise ValidationError(
                "PATRONAGE_MEDIA_STORAGE=r2 needs PATRONAGE_R2_ENDPOINT, _ACCESS_KEY_ID, "
                "_SECRET_ACCESS_KEY and _BUCKET.", code="config.invalid", field="media_storage")
        if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValidationError("PATRONAGE_LOG_LEVEL is DEBUG, INFO, WARNING or ERROR.",
                                  code="config.invalid", field="log_level")
        if settings.log_format not in ("text", "json"):
            raise ValidationError("PATRONAGE_LOG_FORMAT must be 'text' or 'json'.",
                                  code="config.invalid", field="log_format")
        if settings.environment not in ("development", "production"):
            raise ValidationError("PATRONAGE_ENVIRONMENT must be 'development' or 'production'.",
                                  code="config.invalid", field="environment")
        if settings.docs_ui not in ("local", "cdn", "off"):
            raise ValidationError("PATRONAGE_DOCS_UI must be 'local', 'cdn' or 'off'.",
                                  code="config.invalid", field="docs_ui")
        if settings.session_idle_minutes < 1 or settings.session_lifetime_minutes < 1:
            raise ValidationError("Session minutes must be at least 1.",
                                  code="config.invalid", field="session_idle_minutes")
        if settings.environment == "production" and settings.payments == "sandbox":
            raise ValidationError(
                "PATRONAGE_ENVIRONMENT=production refuses sandbox payments: set "
                "PATRONAGE_PAYMENTS=stripe (and its keys).", code="config.invalid",
                field="payments")
        if settings.payments not in ("sandbox", "stripe"):
            raise ValidationError("PATRONAGE_PAYMENTS must be 'sandbox' or 'stripe'.",
                                  code="config.invalid", field="payments")
        if settings.payments == "stripe" and not (
            settings.stripe_secret_key and settings.stripe_webhook_secret
        ):
            raise ValidationError(
                "PATRONAGE_PAYMENTS=stripe needs PATRONAGE_STRIPE_SECRET_KEY and "
                "PATRONAGE_STRIPE_WEBHOOK_SECRET.", code="config.invalid", field="payments")
        return settings

    def configure_logging(self) -> None:
        """Our loggers ("patronage.*") at the configured level, to stderr."""
        logging.basicConfig()
        logging.getLogger("patronage").setLevel(self.log_level.upper())
        configure_handlers(json_lines=self.log_format == "json")

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    def signing_secret(self) -> bytes:
        """The configured secret, or one generated once and kept beside the data."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret-key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()
