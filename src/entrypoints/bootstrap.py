"""The composition root: the one place that picks and wires adapters from settings.

Other Python programs use Patronage through it::

    from entrypoints.bootstrap import bootstrap
    patronage = bootstrap()
    patronage.handle(RegisterCustomer(email=..., password=..., full_name=...))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Literal
from uuid import UUID

import sqlalchemy as sa

from adapters.calendar.ics import IcsCalendarWriter
from adapters.css.sanitizer import TinyCssSanitizer
from adapters.html.nh3_sanitizer import Nh3Sanitizer
from adapters.local_storage.storage import LocalMediaStorage
from adapters.mail.file_mailer import FileMailer
from adapters.mail.smtp_mailer import SmtpMailer
from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.passwords.zxcvbn_strength import ZxcvbnStrength
from adapters.r2.storage import R2MediaStorage
from adapters.sandbox_payments.gateway import SandboxGateway
from adapters.sqlalchemy import migrate
from adapters.sqlalchemy.engine import create_engine
from adapters.sqlalchemy.pinned import PinnedConnections
from adapters.sqlalchemy.sandbox_clock import SandboxClock
from adapters.sqlalchemy.unit_of_work import uow_factory
from adapters.system.clock import SystemClock
from adapters.system.ids import UUIDv7Generator
from application.handlers import COMMAND_HANDLERS, default_routing
from application.messagebus import (
    MessageBus,
    OutboxProcessor,
    Query,
    RetryPolicy,
    SingleStatementWrites,
)
from application.ports.mail import Mailer
from application.ports.media import MediaStorage
from application.ports.metrics import Metrics, NoMetrics
from application.ports.passwords import PasswordHasher
from application.ports.payments import PaymentGateway
from application.ports.system import Clock, IdGenerator
from application.services import CoreConfig, Services
from domain.errors import Unavailable
from domain.identity.throttle import ThrottlePolicy
from entrypoints.config import Settings
from entrypoints.dispatch import BackgroundDispatcher, InlineDispatcher


class Patronage:
    """The wired application: send it commands and queries from ``application``."""

    # A plain class on purpose: web frameworks introspect attrs classes they are
    # handed as dependencies, and this one is a service, not data.
    def __init__(
        self,
        *,
        bus: MessageBus,
        outbox: OutboxProcessor,
        services: Services,
        engine: sa.Engine,
        settings: Settings,
        dispatcher: InlineDispatcher | BackgroundDispatcher,
        loop_bus: MessageBus | None = None,
        pinned: PinnedConnections | None = None,
    ) -> None:
        self.bus = bus
        self.loop_bus = loop_bus
        self.pinned = pinned
        self.outbox = outbox
        self.services = services
        self.engine = engine
        self.settings = settings
        self.dispatcher = dispatcher

    def handle(self, message: object) -> Any:
        return self.bus.handle(message)

    def handle_inline(self, message: Query | SingleStatementWrites) -> Any:
        """A query or single-statement write on one of the hot paths, run on the calling
        thread's own connection: no pool checkout (decision 9). For a caller that runs
        one request at a time per thread, such as the HTTP server's event loop; only
        on PostgreSQL (see ``serves_inline``)."""
        if not isinstance(message, Query | SingleStatementWrites):
            raise TypeError(f"{type(message).__name__} is not a query or single-statement write")
        if self.loop_bus is None:
            raise RuntimeError("hot paths run inline on PostgreSQL only")
        return self.loop_bus.handle(message)

    async def handle_on_loop(self, message: Query | SingleStatementWrites) -> Any:
        """`handle_inline` for a caller on a running event loop: a resume position the
        message saves goes with the other saves the loop's requests make before it turns,
        in one statement, and this returns once it is stored (decision 9)."""
        if self.pinned is None:
            raise RuntimeError("hot paths run inline on PostgreSQL only")
        with self.pinned.positions.deferring() as waiting:
            result = self.handle_inline(message)
        for stored in waiting:
            await stored
        return result

    @property
    def serves_inline(self) -> bool:
        # Not on SQLite: a write there may wait up to 30 s for the single writer.
        return self.loop_bus is not None

    def readiness(self) -> dict[str, str]:
        """Can this process serve? Its database answers and is at the latest migration.

        Raises Unavailable otherwise, so a load balancer stops sending it traffic; says
        which adapters are active either way.
        """
        try:
            revision = migrate.revision_of(self.engine)
        except sa.exc.SQLAlchemyError as error:
            raise Unavailable("The database does not answer.",
                              code="service.database_unavailable") from error
        head = migrate.head()
        if revision != head:
            raise Unavailable(f"The database is at {revision or 'no revision'}, not {head}: "
                              "run `patronage db upgrade`.", code="service.not_migrated",
                              details={"revision": revision, "head": head})
        return {"status": "ready", "database": "ok", "migrations": revision,
                "payments": self.services.payments.name,
                "storage": self.settings.media_storage, "mailer": self.settings.mailer}

    def process_outbox(self, limit: int = 100, stopping: Callable[[], bool] | None = None
                       ) -> int:
        """Run due outbox messages (new and retries); returns how many succeeded. Stops
        between two messages once ``stopping`` answers True."""
        return self.outbox.process_due(limit, stopping)

    def wait_for_events(self) -> None:
        """Block until event handlers dispatched so far have run."""
        self.dispatcher.wait()

    def close(self) -> None:
        self.dispatcher.close()
        if self.pinned is not None:
            self.pinned.close()
        self.engine.dispose()


def build_media(settings: Settings) -> MediaStorage:
    if settings.media_storage == "r2":
        return R2MediaStorage(
            endpoint_url=settings.r2_endpoint or "", access_key_id=settings.r2_access_key_id or "",
            secret_access_key=settings.r2_secret_access_key or "",
            bucket=settings.r2_bucket or "",
        )
    return LocalMediaStorage(settings.media_dir, settings.public_url, settings.signing_secret())


def build_payments(settings: Settings) -> PaymentGateway:
    if settings.payments == "stripe":
        from adapters.stripe_payments.gateway import StripeGateway

        return StripeGateway(api_key=settings.stripe_secret_key or "",
                             webhook_secret=settings.stripe_webhook_secret or "",
                             connect_webhook_secret=settings.stripe_connect_webhook_secret,
                             api_base=settings.stripe_api_base)
    return SandboxGateway()


def build_mailer(settings: Settings) -> Mailer:
    if settings.mailer == "smtp":
        return SmtpMailer(
            settings.smtp_host, settings.smtp_port, username=settings.smtp_username,
            password=settings.smtp_password, security=settings.smtp_security,
        )
    return FileMailer(settings.outbox_dir)


def core_config(settings: Settings) -> CoreConfig:
    window = timedelta(minutes=settings.login_window_minutes)
    return CoreConfig(
        public_url=settings.public_url,
        mail_from=settings.mail_from,
        session_ttl=timedelta(minutes=settings.session_lifetime_minutes),
        session_idle=timedelta(minutes=settings.session_idle_minutes),
        account_throttle=ThrottlePolicy(settings.login_max_failures, window),
        address_throttle=ThrottlePolicy(settings.address_max_failures, window),
        mail_throttle=ThrottlePolicy(settings.mail_max_per_hour, timedelta(hours=1)),
        sender_throttle=ThrottlePolicy(settings.sender_max_per_hour, timedelta(hours=1)),
        api_key_throttle=ThrottlePolicy(settings.api_key_requests_per_minute,
                                        timedelta(minutes=1)),
        playback_ttl=timedelta(minutes=settings.playback_url_minutes),
        max_upload_bytes=settings.max_upload_mb * 1024 * 1024,
    )


def _metrics(settings: Settings, engine: sa.Engine
             ) -> tuple[Metrics, Callable[[float], None] | None]:
    """The core's counters, and what to tell of each wait for a pooled connection."""
    if not settings.metrics:
        return NoMetrics(), None
    # Imported only when on: prometheus-client decides at import whether it counts for
    # several processes (PROMETHEUS_MULTIPROC_DIR), which `serve` sets up first.
    from adapters.metrics.prometheus import PrometheusMetrics

    counters = PrometheusMetrics()
    counters.watch_pool(engine)
    return counters, counters.connection_wait


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    hasher: PasswordHasher | None = None,
    mailer: Mailer | None = None,
    media: MediaStorage | None = None,
    payments: PaymentGateway | None = None,
    engine: sa.Engine | None = None,
    dispatch: Literal["inline", "background"] = "inline",
    retry: RetryPolicy | None = None,
) -> Patronage:
    settings = settings or Settings.from_env()
    ids = ids or UUIDv7Generator()
    engine = engine or create_engine(settings.effective_database_url)
    payments = payments or build_payments(settings)
    travel = None
    if payments.delivers_events_inline:
        # The sandbox's time may be moved forward, for every process at once.
        travel = SandboxClock(clock or SystemClock(), engine)
        if isinstance(payments, SandboxGateway):
            payments.clock = travel
    clock = travel or clock or SystemClock()
    routing = default_routing()
    metrics, on_wait = _metrics(settings, engine)
    make_uow = uow_factory(engine, clock=clock, ids=ids, subscribers=routing.handler_names_for,
                           on_wait=on_wait)
    # The dispatcher needs the services and the services hand work to the
    # dispatcher: the link is closed once both exist.
    late: list[InlineDispatcher | BackgroundDispatcher] = []

    def dispatch_later(message_ids: Sequence[UUID]) -> None:
        if late and message_ids:
            late[0](message_ids)

    services = Services(
        clock=clock,
        ids=ids,
        hasher=hasher or Argon2PasswordHasher(
            memory_cost=settings.argon2_memory_kib, time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
        ),
        mailer=mailer or build_mailer(settings),
        uow_factory=make_uow,
        media=media or build_media(settings),
        html=Nh3Sanitizer(),
        css=TinyCssSanitizer(),
        payments=payments,
        strength=ZxcvbnStrength(),
        config=core_config(settings),
        dispatch=dispatch_later,
        travel=travel,
        calendar=IcsCalendarWriter(),
        metrics=metrics,
    )
    processor = OutboxProcessor(make_uow, routing, services, retry)
    dispatcher: InlineDispatcher | BackgroundDispatcher = (
        BackgroundDispatcher(processor) if dispatch == "background" else InlineDispatcher(processor)
    )
    late.append(dispatcher)
    bus = MessageBus(make_uow, services, COMMAND_HANDLERS, dispatcher)
    pinned = loop_bus = None
    if engine.dialect.name == "postgresql":
        pinned = PinnedConnections(engine)
        loop_bus = MessageBus(
            uow_factory(engine, clock=clock, ids=ids, subscribers=routing.handler_names_for,
                        pinned=pinned),
            services, COMMAND_HANDLERS, dispatcher)
    return Patronage(bus=bus, outbox=processor, services=services, engine=engine,
                     settings=settings, dispatcher=dispatcher, loop_bus=loop_bus,
                     pinned=pinned)
