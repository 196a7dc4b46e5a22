"""What every handler may use besides its unit of work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from uuid import UUID

import attrs

from application.ports.calendar import CalendarWriter
from application.ports.css import CssSanitizer
from application.ports.html import HtmlSanitizer
from application.ports.mail import Mailer
from application.ports.media import MediaStorage
from application.ports.metrics import Metrics, NoMetrics
from application.ports.passwords import PasswordHasher, PasswordStrength
from application.ports.payments import PaymentGateway
from application.ports.system import Clock, IdGenerator, TravellingClock
from application.unit_of_work import UnitOfWorkFactory
from domain.identity.throttle import ThrottlePolicy


@attrs.frozen
class CoreConfig:
    # The base of every link we email. Never taken from a request's Host header,
    # so a forged Host cannot redirect a reset link to an attacker.
    public_url: str = "http://127.0.0.1:8000"
    mail_from: str = "no-reply@localhost"
    session_ttl: timedelta = timedelta(days=30)  # absolute lifetime
    session_idle: timedelta = timedelta(days=7)
    verification_ttl: timedelta = timedelta(hours=48)
    reset_ttl: timedelta = timedelta(hours=1)
    account_throttle: ThrottlePolicy = attrs.field(factory=lambda: ThrottlePolicy(
        max_failures=5, window=timedelta(minutes=15)))
    address_throttle: ThrottlePolicy = attrs.field(factory=lambda: ThrottlePolicy(
        max_failures=50, window=timedelta(minutes=15)))
    # Anonymous requests that send email (register, reset request) and resends: per
    # target address, so nobody can fill one inbox; per client address, so nobody can
    # make the server hash and mail in bulk.
    mail_throttle: ThrottlePolicy = attrs.field(factory=lambda: ThrottlePolicy(
        max_failures=5, window=timedelta(hours=1)))
    sender_throttle: ThrottlePolicy = attrs.field(factory=lambda: ThrottlePolicy(
        max_failures=30, window=timedelta(hours=1)))
    # Requests per API key: a program that loops cannot starve everyone else.
    api_key_throttle: ThrottlePolicy = attrs.field(factory=lambda: ThrottlePolicy(
        max_failures=600, window=timedelta(minutes=1)))
    # Signed media URLs: minutes, never longer than a viewing session needs to start.
    playback_ttl: timedelta = timedelta(minutes=5)
    upload_ttl: timedelta = timedelta(minutes=30)
    max_upload_bytes: int = 5 * 1024**3


@attrs.frozen
class Services:
    clock: Clock
    ids: IdGenerator
    hasher: PasswordHasher
    mailer: Mailer
    uow_factory: UnitOfWorkFactory
    media: MediaStorage
    html: HtmlSanitizer
    css: CssSanitizer
    payments: PaymentGateway
    strength: PasswordStrength
    config: CoreConfig = attrs.field(factory=CoreConfig)
    # Runs event handlers for outbox messages committed by units of work that a
    # handler opened itself (the bus dispatches its own unit of work's messages).
    dispatch: Callable[[Sequence[UUID]], None] = lambda _ids: None
    # The same object as ``clock`` when the sandbox gateway runs (its time can be
    # moved); None with a real payment provider.
    travel: TravellingClock | None = None
    # Booking calendar files; the core is wired with one (tests may leave it out).
    calendar: CalendarWriter | None = None
    metrics: Metrics = attrs.field(factory=NoMetrics)
