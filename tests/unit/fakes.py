"""In-memory implementations of the application's ports, for fast unit tests.

The fake unit of work copies aggregates out on read and back on commit, so an
uncommitted change is lost exactly as a rolled-back transaction would lose it.
"""

from __future__ import annotations

import copy
import html
import itertools
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from adapters.sandbox_payments.gateway import SandboxGateway
from application.handlers import COMMAND_HANDLERS, default_routing
from application.media import StoredObject, UploadTarget
from application.messagebus import EventRouting, MessageBus, OutboxProcessor, RetryPolicy
from application.ports import MailDeliveryError, OutgoingEmail
from application.repositories import (
    EmailLogEntry,
    OutboxMessage,
    SessionPrincipal,
    ThrottleState,
)
from application.services import CoreConfig, Services
from application.unit_of_work import collect_events
from domain.catalog.content import ContentItem
from domain.catalog.series import ContentSeries
from domain.errors import Conflict
from domain.events import DomainEvent
from domain.identity.roles import Role
from domain.identity.session import AuthSession
from domain.identity.user import User
from domain.platform.settings import PlatformSettings


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


class RecordingMailer:
    provider = "recording"

    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []
        self.fail_next = 0

    def send(self, message: OutgoingEmail) -> str | None:
        if self.fail_next:
            self.fail_next -= 1
            raise MailDeliveryError("transport down")
        self.sent.append(message)
        return f"<{len(self.sent)}@test>"

    def to(self, address: str) -> list[OutgoingEmail]:
        return [m for m in self.sent if m.to == address]


class FakeSanitizer:
    """Escapes everything: no markup survives, which is safe if not pretty."""

    def clean(self, html_text: str) -> str:
        return html.escape(html_text)

    def excerpt(self, html_text: str, limit: int) -> str:
        return html_text[:limit]


class FakeStorage:
    name = "fake"

    def __init__(self) -> None:
        self.objects: dict[str, StoredObject] = {}
        self.signed: list[str] = []

    def create_upload(self, key: str, *, content_type: str, size: int, expires_in: timedelta,
                      now: datetime) -> UploadTarget:
        return UploadTarget(url=f"fake://upload/{key}", method="PUT",
                            headers={"Content-Type": content_type}, expires_at=now + expires_in)

    def stat(self, key: str) -> StoredObject | None:
        return self.objects.get(key)

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def playback_url(self, key: str, *, expires_in: timedelta, now: datetime,
                     filename: str | None = None, content_type: str | None = None) -> str:
        url = f"fake://get/{key}?expires={int((now + expires_in).timestamp())}"
        self.signed.append(url)
        return url

    def upload_file(self, key: str, path: Path, *, content_type: str,
                    progress: Callable[[int], None] | None = None) -> None:
        self.objects[key] = StoredObject(size=path.stat().st_size, content_type=content_type)


class FakeContentRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged
        self.seen: dict[UUID, ContentItem] = {}

    def add(self, item: ContentItem) -> None:
        if self.slug_taken(item.slug.value):
            raise Conflict("That slug is already used.", code="content.slug_taken")
        self.seen[item.id] = item

    def _all(self) -> dict[UUID, ContentItem]:
        return {**self._staged.content, **self.seen}

    def get(self, content_id: UUID) -> ContentItem | None:
        if content_id not in self.seen and content_id in self._staged.content:
            self.seen[content_id] = copy.deepcopy(self._staged.content[content_id])
        item = self.seen.get(content_id)
        return item if item is not None and item.deleted_at is None else None

    def slug_taken(self, slug: str, *, excluding: UUID | None = None) -> bool:
        return any(i.slug.value == slug and i.id != excluding for i in self._all().values())

    def prerequisites_of(self, ids: Iterable[UUID]) -> dict[UUID, list[UUID]]:
        items = self._all()
        return {i: list(items[i].prerequisite_ids) for i in ids
                if i in items and items[i].deleted_at is None}

    def existing_ids(self, ids: Iterable[UUID]) -> set[UUID]:
        items = self._all()
        return {i for i in ids if i in items and items[i].deleted_at is None}

    def published_ids(self, ids: Iterable[UUID]) -> set[UUID]:
        items = self._all()
        published = {i for i in ids if i in items and items[i].is_live}
        return published | {i for i in ids if i in self._staged.published_content}

    def count_view(self, content_id: UUID, viewer_key: str, hour: datetime) -> bool:
        key = (content_id, viewer_key, hour)
        if key in self._staged.views:
            return False
        self._staged.views.add(key)
        return True


class FakeSeriesRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged
        self.seen: dict[UUID, ContentSeries] = {}

    def add(self, series: ContentSeries) -> None:
        self.seen[series.id] = series

    def get(self, series_id: UUID) -> ContentSeries | None:
        if series_id not in self.seen and series_id in self._staged.series:
            self.seen[series_id] = copy.deepcopy(self._staged.series[series_id])
        return self.seen.get(series_id)

    def get_by_slug(self, slug: str) -> ContentSeries | None:
        for series in {**self._staged.series, **self.seen}.values():
            if series.slug.value == slug:
                return self.get(series.id)
        return None

    def slug_taken(self, slug: str, *, excluding: UUID | None = None) -> bool:
        return any(s.slug.value == slug and s.id != excluding
                   for s in {**self._staged.series, **self.seen}.values())


class Store:
    """What the fake database holds between units of work."""

    def __init__(self) -> None:
        self.users: dict[UUID, User] = {}
        self.sessions: dict[UUID, AuthSession] = {}
        self.throttle: dict[str, ThrottleState] = {}
        self.settings = PlatformSettings.defaults(UUID(int=0), datetime(2026, 1, 1, tzinfo=UTC))
        self.published_content: set[UUID] = set()
        self.outbox: dict[UUID, dict[str, Any]] = {}
        self.email_logs: list[EmailLogEntry] = []
        self.content: dict[UUID, ContentItem] = {}
        self.series: dict[UUID, ContentSeries] = {}
        self.views: set[tuple[UUID, str, datetime]] = set()


class FakeUserRepository:
    def __init__(self, store: Store, staged: Store) -> None:
        self._store = store
        self._staged = staged
        self.seen: dict[UUID, User] = {}

    def _track(self, user: User | None) -> User | None:
        if user is None or user.deleted_at is not None:
            return None
        if user.id not in self.seen:
            self.seen[user.id] = copy.deepcopy(user)
        return self.seen[user.id]

    def add(self, user: User) -> None:
        live = [u for u in self._all() if u.deleted_at is None]
        if any(u.email == user.email for u in live):
            raise Conflict("An account with this email already exists.",
                           code="user.email_taken", field="email")
        self.seen[user.id] = user

    def _all(self) -> list[User]:
        merged = dict(self._store.users)
        merged.update(self.seen)
        return list(merged.values())

    def get(self, user_id: UUID) -> User | None:
        if user_id in self.seen:
            return self._track(self.seen[user_id])
        return self._track(self._store.users.get(user_id))

    def _find(self, match: Callable[[User], bool]) -> User | None:
        for user in self._all():
            if user.deleted_at is None and match(user):
                return self.get(user.id)
        return None

    def get_by_email(self, email: str) -> User | None:
        return self._find(lambda u: u.email.value == email)

    def get_by_verification_token(self, token_hash: str) -> User | None:
        return self._find(lambda u: u.email_verification_token_hash == token_hash)

    def get_by_reset_token(self, token_hash: str) -> User | None:
        return self._find(lambda u: u.password_reset_token_hash == token_hash)

    def list(self, *, role: Role | None = None, limit: int = 100, offset: int = 0
             ) -> Sequence[User]:
        users = sorted((u for u in self._all() if u.deleted_at is None),
                       key=lambda u: (u.created_at, u.id))
        if role is not None:
            users = [u for u in users if u.role is role]
        return users[offset:offset + limit]

    def count_by_role(self, role: Role) -> int:
        return sum(1 for u in self._all()
                   if u.role is role and u.deleted_at is None and u.disabled_at is None)


class FakeSessionRepository:
    def __init__(self, staged: Store, users: FakeUserRepository) -> None:
        self._staged = staged
        self._users = users

    def add(self, session: AuthSession) -> None:
        self._staged.sessions[session.id] = session

    def principal_for(self, token_hash: str, now: datetime) -> SessionPrincipal | None:
        for session in self._staged.sessions.values():
            if session.token_hash == token_hash and session.is_valid(now):
                user = self._staged.users.get(session.user_id)
                if user is None or not user.is_active:
                    return None
                return SessionPrincipal(session.id, user.id, user.role, user.is_verified)
        return None

    def revoke(self, session_id: UUID, now: datetime) -> None:
        session = self._staged.sessions.get(session_id)
        if session is not None:
            session.revoke(now)

    def revoke_all_for_user(self, user_id: UUID, now: datetime, *, keep: UUID | None = None
                            ) -> int:
        count = 0
        for session in self._staged.sessions.values():
            if session.user_id == user_id and session.revoked_at is None and session.id != keep:
                session.revoke(now)
                count += 1
        return count


class FakeThrottleRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged

    def state(self, key: str, now: datetime, window: timedelta) -> ThrottleState | None:
        state = self._staged.throttle.get(key)
        if state is None or state.window_started_at <= now - window:
            return None
        return state

    def record_failure(self, key: str, now: datetime, window: timedelta) -> ThrottleState:
        current = self.state(key, now, window)
        new = (ThrottleState(1, now) if current is None
               else ThrottleState(current.failures + 1, current.window_started_at))
        self._staged.throttle[key] = new
        return new

    def clear(self, key: str) -> None:
        self._staged.throttle.pop(key, None)


class FakeSettingsRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged

    def get(self) -> PlatformSettings:
        return self._staged.settings


class FakeOutboxRepository:
    def __init__(self, staged: Store, ids: SequentialIds) -> None:
        self._staged = staged
        self._ids = ids

    def add(self, event: DomainEvent, handler: str, now: datetime) -> UUID:
        message_id = self._ids.new_id()
        self._staged.outbox[message_id] = {
            "event": event, "handler": handler, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "last_error": None,
        }
        return message_id

    def due(self, now: datetime, limit: int) -> Sequence[UUID]:
        return [i for i, m in self._staged.outbox.items()
                if m["status"] == "pending" and m["next_attempt_at"] <= now][:limit]

    def claim(self, message_id: UUID, now: datetime) -> OutboxMessage | None:
        m = self._staged.outbox.get(message_id)
        if m is None or m["status"] != "pending":
            return None
        return OutboxMessage(message_id, m["event"], m["handler"], m["attempts"])

    def mark_processed(self, message_id: UUID, now: datetime) -> None:
        self._staged.outbox[message_id]["status"] = "processed"

    def mark_failed(self, message_id: UUID, error: str, now: datetime,
                    next_attempt_at: datetime | None) -> None:
        m = self._staged.outbox[message_id]
        m["attempts"] += 1
        m["last_error"] = error
        if next_attempt_at is None:
            m["status"] = "dead"
        else:
            m["next_attempt_at"] = next_attempt_at


class FakeEmailLogRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged

    def add(self, entry: EmailLogEntry) -> None:
        self._staged.email_logs.append(entry)

    def list_for(self, recipient_email: str) -> Sequence[EmailLogEntry]:
        return [e for e in self._staged.email_logs if e.recipient_email == recipient_email]


class FakeUnitOfWork:
    def __init__(self, store: Store, ids: SequentialIds, routing: EventRouting,
                 clock: FrozenClock) -> None:
        self._store = store
        self._ids = ids
        self._routing = routing
        self._clock = clock
        self._committed: list[UUID] = []
        self.commits = 0

    def __enter__(self) -> Self:
        self._begin()
        return self

    def _begin(self) -> None:
        # Everything but users is staged as a deep copy; users are copied per read.
        self._staged = Store()
        self._staged.users = self._store.users
        self._staged.sessions = copy.deepcopy(self._store.sessions)
        self._staged.throttle = dict(self._store.throttle)
        self._staged.settings = copy.deepcopy(self._store.settings)
        self._staged.published_content = self._store.published_content
        self._staged.outbox = copy.deepcopy(self._store.outbox)
        self._staged.email_logs = list(self._store.email_logs)
        self._staged.content = self._store.content
        self._staged.series = self._store.series
        self._staged.views = set(self._store.views)
        self.users = FakeUserRepository(self._store, self._staged)
        self.sessions = FakeSessionRepository(self._staged, self.users)
        self.throttle = FakeThrottleRepository(self._staged)
        self.settings = FakeSettingsRepository(self._staged)
        self.content = FakeContentRepository(self._staged)
        self.series = FakeSeriesRepository(self._staged)
        self.outbox = FakeOutboxRepository(self._staged, self._ids)
        self.email_logs = FakeEmailLogRepository(self._staged)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.rollback()

    def commit(self) -> None:
        events = collect_events(iter(self.users.seen.values()))
        events += collect_events(iter([self._staged.settings]))
        events += collect_events(iter(self.content.seen.values()))
        events += collect_events(iter(self.series.seen.values()))
        now_ids = []
        for event in events:
            for handler in self._routing.handler_names_for(event):
                now_ids.append(self.outbox.add(event, handler, self._clock.now()))
        self._store.users.update(copy.deepcopy(self.users.seen))
        self._store.sessions = self._staged.sessions
        self._store.throttle = self._staged.throttle
        self._store.settings = self._staged.settings
        self._store.outbox = self._staged.outbox
        self._store.email_logs = self._staged.email_logs
        self._store.content.update(copy.deepcopy(self.content.seen))
        self._store.series.update(copy.deepcopy(self.series.seen))
        self._store.views = self._staged.views
        self._committed.extend(now_ids)
        self.commits += 1
        self._begin()

    def rollback(self) -> None:
        self._begin()

    @property
    def committed_outbox_ids(self) -> list[UUID]:
        return list(self._committed)


class FakeApp:
    """The core wired with fakes: the unit-test twin of ``bootstrap``."""

    def __init__(self, *, routing: EventRouting | None = None,
                 retry: RetryPolicy | None = None, config: CoreConfig | None = None) -> None:
        self.store = Store()
        self.clock = FrozenClock()
        self.ids = SequentialIds()
        self.hasher = FakeHasher()
        self.mailer = RecordingMailer()
        self.routing = routing or default_routing()

        def uow_factory(*, read_only: bool = False) -> FakeUnitOfWork:
            return FakeUnitOfWork(self.store, self.ids, self.routing, self.clock)

        self.uow_factory = uow_factory
        self.storage = FakeStorage()
        self.services = Services(clock=self.clock, ids=self.ids, hasher=self.hasher,
                                 mailer=self.mailer, uow_factory=uow_factory,
                                 media=self.storage, html=FakeSanitizer(),
                                 payments=SandboxGateway(),
                                 config=config or CoreConfig())
        self.outbox = OutboxProcessor(uow_factory, self.routing, self.services, retry)
        self.bus = MessageBus(uow_factory, self.services, COMMAND_HANDLERS,
                              lambda ids: self.outbox.process(ids))

    def handle(self, message: object) -> Any:
        return self.bus.handle(message)
