"""``patronage doctor``: is this configuration ready to go live?

Each check talks to the real thing (the database, Stripe, the bucket, the mail server)
the way the running platform will, and says what to do when it fails. Checks never
print a secret: failures name the error's class and what was tried.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import attrs
import sqlalchemy as sa

from adapters.mail.smtp_mailer import SmtpMailer
from adapters.r2.storage import R2MediaStorage
from adapters.sqlalchemy import migrate
from adapters.sqlalchemy.engine import create_engine
from application.ports.mail import MailDeliveryError
from application.ports.media import MediaStorageError
from application.ports.payments import GatewayUnavailable
from entrypoints.config import Settings

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
MIN_SECRET_LENGTH = 32
WEBHOOK_PATH = "/api/v1/webhooks/stripe"


@attrs.frozen
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _database(settings: Settings) -> list[Check]:
    url = settings.effective_database_url
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        at = migrate.revision_of(engine)
    except sa.exc.SQLAlchemyError as exc:
        return [Check("database", False, f"cannot connect ({type(exc).__name__})",
                      "check PATRONAGE_DATABASE_URL and that the server accepts us")]
    finally:
        engine.dispose()
    head = migrate.head()
    backend = sa.engine.make_url(url).get_backend_name()
    checks = [Check("database", True, f"{backend} reachable")]
    if at != head:
        checks.append(Check("migrations", False, f"at {at or 'nothing'}, code is at {head}",
                            "run: patronage db upgrade"))
    else:
        checks.append(Check("migrations", True, f"at head ({head})"))
    if backend != "postgresql":
        checks.append(Check("database kind", False, f"{backend}: one process, one machine",
                            "use PostgreSQL for several servers and workers"))
    return checks


def _environment(settings: Settings) -> Check:
    if settings.environment != "production":
        return Check("environment", False, settings.environment,
                     "set PATRONAGE_ENVIRONMENT=production (it refuses sandbox payments)")
    return Check("environment", True, "production")


def _secret(settings: Settings) -> Check:
    if not settings.secret_key:
        return Check("secret key", False, "not set: each data folder generates its own",
                     "set PATRONAGE_SECRET_KEY to one random value shared by every server")
    if len(settings.secret_key) < MIN_SECRET_LENGTH:
        return Check("secret key", False, f"shorter than {MIN_SECRET_LENGTH} characters",
                     "use e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'")
    return Check("secret key", True, "set (the same value must be on every server)")


def _public_url(settings: Settings) -> Check:
    parts = urlsplit(settings.public_url)
    if parts.scheme != "https" or not parts.hostname or parts.hostname in LOCAL_HOSTS:
        return Check("public URL", False, settings.public_url,
                     "set PATRONAGE_PUBLIC_URL to the https:// address customers use")
    return Check("public URL", True, settings.public_url)


def _payments(settings: Settings) -> list[Check]:
    if settings.payments != "stripe":
        return [Check("payments", False, "sandbox: test cards, no money is taken",
                      "set PATRONAGE_PAYMENTS=stripe with its secret key and webhook secret")]
    from adapters.stripe_payments.gateway import StripeGateway

    key = settings.stripe_secret_key or ""
    live = key.startswith(("sk_live_", "rk_live_"))
    checks = [Check("stripe keys", live,
                    "live mode" if live else "test mode: no real payments",
                    "" if live else "use the live secret key (sk_live_...)")]
    secret = settings.stripe_webhook_secret or ""
    if not secret.startswith("whsec_"):
        checks.append(Check("stripe webhook secret", False, "missing or not a whsec_ secret",
                            "copy the endpoint's signing secret into "
                            "PATRONAGE_STRIPE_WEBHOOK_SECRET"))
    gateway = StripeGateway(api_key=key, webhook_secret=secret or "unset",
                            api_base=settings.stripe_api_base, timeout=10)
    expected = settings.public_url.rstrip("/") + WEBHOOK_PATH
    try:
        endpoints = gateway.webhook_endpoints()
    except GatewayUnavailable:
        return [*checks, Check("stripe webhook", False, "cannot list the webhook endpoints",
                               "check the key (a restricted key needs webhook read access)")]
    ours = [e for e in endpoints if e.url == expected]
    if not ours:
        return [*checks, Check("stripe webhook", False, f"no endpoint for {expected}",
                               "add it in Stripe's dashboard (Developers → Webhooks)")]
    endpoint = ours[0]
    if not endpoint.enabled:
        return [*checks, Check("stripe webhook", False, f"{expected} is disabled",
                               "enable it in Stripe's dashboard")]
    missing = endpoint.missing()
    if missing:
        return [*checks, Check("stripe webhook", False, "not sent: " + ", ".join(missing),
                               "add these events to the endpoint")]
    return [*checks, Check("stripe webhook", True, f"{expected} receives every event we use")]


def _storage(settings: Settings) -> Check:
    if settings.media_storage != "r2":
        return Check("media storage", False, f"local folder {settings.media_dir}",
                     "set PATRONAGE_MEDIA_STORAGE=r2 (servers need one shared store)")
    storage = R2MediaStorage(endpoint_url=settings.r2_endpoint or "",
                             access_key_id=settings.r2_access_key_id or "",
                             secret_access_key=settings.r2_secret_access_key or "",
                             bucket=settings.r2_bucket or "")
    try:
        status = storage.anonymous_read_status()
    except MediaStorageError as exc:
        return Check("media storage", False, f"bucket {settings.r2_bucket!r}: {exc}",
                     "check PATRONAGE_R2_* and the token's read/write access to the bucket")
    if status < 400:
        return Check("media storage", False,
                     f"bucket {settings.r2_bucket!r} is readable without a signature "
                     f"(HTTP {status})", "make the bucket private: media go out signed")
    return Check("media storage", True,
                 f"bucket {settings.r2_bucket!r} reachable and private (anonymous: {status})")


def _mail(settings: Settings) -> Check:
    if settings.mailer != "smtp":
        return Check("mail", False, f"written to files in {settings.outbox_dir}",
                     "set PATRONAGE_MAILER=smtp and PATRONAGE_SMTP_*")
    mailer = SmtpMailer(settings.smtp_host, settings.smtp_port,
                        username=settings.smtp_username, password=settings.smtp_password,
                        security=settings.smtp_security)
    try:
        mailer.probe()
    except MailDeliveryError as exc:
        return Check("mail", False, f"{settings.smtp_host}:{settings.smtp_port}: {exc}",
                     "check PATRONAGE_SMTP_HOST, _PORT, _SECURITY and the credentials")
    return Check("mail", True, f"{settings.smtp_host}:{settings.smtp_port} accepts us "
                 f"({settings.smtp_security})")


CHECKS: tuple[Callable[[Settings], Check | list[Check]], ...] = (
    _database, _environment, _secret, _public_url, _payments, _storage, _mail)


def diagnose(settings: Settings) -> list[Check]:
    found: list[Check] = []
    for check in CHECKS:
        result = check(settings)
        found += result if isinstance(result, list) else [result]
    return found
