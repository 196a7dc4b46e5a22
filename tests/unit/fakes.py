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
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import attrs

from adapters.sandbox_payments.gateway import SandboxGateway
from application.handlers import COMMAND_HANDLERS, default_routing
from application.identity.login import Login
from application.identity.registration import CreateUser
from application.identity.sessions import Authenticate
from application.messagebus import EventRouting, MessageBus, OutboxProcessor, RetryPolicy
from application.ports.catalog import (
    AccessLookup,
    AccessRow,
    CatalogEntry,
    CatalogFilter,
    Progress,
)
from application.ports.commerce import PurchaseLine
from application.ports.identity import SessionPrincipal, ThrottleState
from application.ports.mail import EmailLogEntry, MailDeliveryError, OutgoingEmail
from application.ports.media import StoredObject, UploadTarget
from application.ports.outbox import OutboxMessage
from application.principal import Principal
from application.services import CoreConfig, Services
from application.unit_of_work import collect_events
from domain.access.decision import Grant, ItemFacts, Viewer, ViewerFacts
from domain.catalog.content import ContentItem
from domain.catalog.rules import Visibility
from domain.catalog.series import ContentSeries
from domain.commerce.purchase import Purchase, PurchaseStatus
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

    def tracked(self, content_id: UUID) -> ContentItem | None:
        """The unit of work's copy of any item, deleted ones included (for counters)."""
        if content_id not in self.seen and content_id in self._staged.content:
            self.seen[content_id] = copy.deepcopy(self._staged.content[content_id])
        return self.seen.get(content_id)

    def slug_taken(self, slug: str, *, excluding: UUID | None = None) -> bool:
        return any(i.slug.value == slug and i.id != excluding for i in self._all().values())

    def id_for_slug(self, slug: str) -> UUID | None:
        return next((i.id for i in self._all().values()
                     if i.slug.value == slug and i.deleted_at is None), None)

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
        item = self.tracked(content_id)
        if item is not None:
            item.view_count += 1
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
        self.grants: dict[UUID, GrantRow] = {}
        self.progress: dict[tuple[UUID, UUID], Progress] = {}
        self.purchases: dict[UUID, Purchase] = {}
        self.webhook_events: dict[str, tuple[str, str, datetime]] = {}
        self.refunds: dict[str, RefundRow] = {}
        self.idempotency_keys: dict[tuple[UUID, str, str], UUID] = {}
        self.memberships: list[Membership] = []


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


@attrs.frozen
class GrantRow:
    """One content_access row."""

    id: UUID
    user_id: UUID
    content_id: UUID
    access_type: str
    expires_at: datetime | None
    granted_at: datetime
    last_accessed_at: datetime | None = None


@attrs.frozen
class RefundRow:
    purchase_id: UUID
    amount: Decimal
    currency: str
    created_at: datetime


@attrs.frozen
class Membership:
    """A subscription joined to its tier, reduced to what access needs."""

    user_id: UUID
    current_period_end: datetime
    full_catalog_access: bool = False
    categories: frozenset[str] = frozenset()
    status: str = "active"

    def covers(self, item: ContentItem, now: datetime) -> bool:
        return (self.status in ("active", "trialing", "past_due")
                and self.current_period_end > now
                and (self.full_catalog_access or item.category in self.categories))


def entry_of(item: ContentItem) -> CatalogEntry:
    """The catalog row of an item, as ``adapters...catalog.entry_from`` builds it."""
    return CatalogEntry(
        id=item.id, slug=item.slug.value, title=item.title, description=item.description,
        content_type=item.content_type.value, visibility=item.visibility.value,
        category=item.category, tags=tuple(item.tags),
        price=item.price.amount if item.price else None,
        currency=item.price.currency if item.price else "usd",
        thumbnail_url=item.thumbnail_url, duration_seconds=item.media_duration_seconds,
        series_id=item.series_id, published_at=item.published_at,
        view_count=item.view_count, status=item.status.value, creator_id=item.creator_id,
    )


class FakeCatalogQueries:
    def __init__(self, content: FakeContentRepository) -> None:
        self._content = content

    def browse(self, filters: CatalogFilter, *, sort: str, after: tuple[object, UUID] | None,
               limit: int) -> Sequence[CatalogEntry]:
        def matches(item: ContentItem) -> bool:
            if not item.is_live or item.visibility is Visibility.PRIVATE:
                return False
            if filters.category and item.category != filters.category:
                return False
            if filters.content_type and item.content_type.value != filters.content_type:
                return False
            if filters.series_id and item.series_id != filters.series_id:
                return False
            if filters.tag and filters.tag not in item.tags:
                return False
            if filters.price == "free" and not item.is_free:
                return False
            if filters.price == "paid" and item.is_free:
                return False
            return not (filters.search and filters.search.lower() not in item.title.lower())

        def key(item: ContentItem) -> tuple[Any, UUID]:
            return (item.published_at if sort == "newest" else item.view_count), item.id

        rows = sorted((i for i in self._content._all().values() if matches(i)),
                      key=key, reverse=True)
        if after is not None:
            rows = [i for i in rows if key(i) < after]
        return [entry_of(i) for i in rows[:limit]]

    def studio(self, *, creator_id: UUID | None, status: str | None, limit: int,
               offset: int) -> Sequence[CatalogEntry]:
        rows = sorted((i for i in self._content._all().values()
                       if i.deleted_at is None
                       and (creator_id is None or i.creator_id == creator_id)
                       and (status is None or i.status.value == status)),
                      key=lambda i: (i.created_at, i.id), reverse=True)
        return [entry_of(i) for i in rows[offset:offset + limit]]


class FakeProgressRepository:
    def __init__(self, staged: Store, content: FakeContentRepository) -> None:
        self._staged = staged
        self._content = content

    def upsert(self, user_id: UUID, content_id: UUID, position_seconds: int,
               duration_seconds: int, completed: bool, now: datetime,
               id_if_new: UUID) -> Progress:
        old = self._staged.progress.get((user_id, content_id))
        saved = Progress(content_id, position_seconds, duration_seconds,
                         completed or (old is not None and old.completed), now)
        self._staged.progress[(user_id, content_id)] = saved
        return saved

    def recent_unfinished(self, user_id: UUID, limit: int) -> Sequence[Progress]:
        items = self._content._all()
        rows = [p for (uid, cid), p in self._staged.progress.items()
                if uid == user_id and not p.completed and cid in items
                and items[cid].is_live]
        rows.sort(key=lambda p: p.content_id)
        rows.sort(key=lambda p: p.updated_at, reverse=True)
        return rows[:limit]


class FakePurchaseRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged
        self.seen: dict[UUID, Purchase] = {}

    def _all(self) -> dict[UUID, Purchase]:
        return {**self._staged.purchases, **self.seen}

    def _track(self, purchase: Purchase | None) -> Purchase | None:
        if purchase is None:
            return None
        if purchase.id not in self.seen:
            self.seen[purchase.id] = copy.deepcopy(purchase)
        return self.seen[purchase.id]

    def add(self, purchase: Purchase) -> None:
        if self.open_for(purchase.customer_id, content_id=purchase.content_id,
                         series_id=purchase.series_id) is not None:
            raise Conflict("There is already an open purchase of this item.",
                           code="purchase.already_open")
        self.seen[purchase.id] = purchase

    def get(self, purchase_id: UUID, *, lock: bool = False) -> Purchase | None:
        return self._track(self._all().get(purchase_id))

    def get_by_intent(self, intent_id: str, *, lock: bool = False) -> Purchase | None:
        return self._track(next((p for p in self._all().values()
                                 if p.payment_intent_id == intent_id), None))

    def open_for(self, customer_id: UUID, *, content_id: UUID | None,
                 series_id: UUID | None) -> Purchase | None:
        def same_item(p: Purchase) -> bool:
            return (p.content_id == content_id if content_id is not None
                    else p.series_id == series_id)

        return self._track(next(
            (p for p in self._all().values()
             if p.customer_id == customer_id and same_item(p)
             and p.status in (PurchaseStatus.PENDING, PurchaseStatus.COMPLETED)), None))

    def for_customer(self, customer_id: UUID, limit: int, offset: int) -> Sequence[Purchase]:
        rows = sorted((p for p in self._all().values() if p.customer_id == customer_id),
                      key=lambda p: (p.created_at, p.id), reverse=True)
        return [copy.deepcopy(p) for p in rows[offset:offset + limit]]

    def completed_series(self, customer_id: UUID) -> set[UUID]:
        return {p.series_id for p in self._all().values()
                if p.customer_id == customer_id and p.series_id is not None
                and p.status is PurchaseStatus.COMPLETED}


class FakeGrantRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged

    def find(self, user_id: UUID, content_id: UUID, access_type: str) -> GrantRow | None:
        return next((g for g in self._staged.grants.values()
                     if (g.user_id, g.content_id, g.access_type)
                     == (user_id, content_id, access_type)), None)

    def grant(self, *, grant_id: UUID, user_id: UUID, content_id: UUID, access_type: str,
              expires_at: datetime | None, now: datetime) -> bool:
        existing = self.find(user_id, content_id, access_type)
        if existing is not None:
            self._staged.grants[existing.id] = attrs.evolve(existing, expires_at=expires_at)
            return False
        self._staged.grants[grant_id] = GrantRow(grant_id, user_id, content_id, access_type,
                                                 expires_at, now)
        return True

    def revoke(self, *, user_id: UUID, content_id: UUID, access_type: str) -> bool:
        existing = self.find(user_id, content_id, access_type)
        if existing is None:
            return False
        del self._staged.grants[existing.id]
        return True


class FakeAccessFacts:
    def __init__(self, staged: Store, users: FakeUserRepository,
                 content: FakeContentRepository, purchases: FakePurchaseRepository) -> None:
        self._staged = staged
        self._users = users
        self._content = content
        self._purchases = purchases

    def _viewer(self, now: datetime, token_hash: str | None, user_id: UUID | None
                ) -> Viewer | None:
        users = {u.id: u for u in self._users._all()}
        if token_hash is not None:
            for session in self._staged.sessions.values():
                if session.token_hash == token_hash and session.is_valid(now):
                    user = users.get(session.user_id)
                    if (user is not None and user.deleted_at is None
                            and user.disabled_at is None):
                        return Viewer(user.id, user.role)
            return None
        if user_id is not None:
            user = users.get(user_id)
            if user is not None and user.deleted_at is None:
                return Viewer(user.id, user.role)
        return None

    def lookup(self, *, now: datetime, token_hash: str | None = None,
               user_id: UUID | None = None, content_ids: Sequence[UUID] | None = None,
               slug: str | None = None) -> AccessLookup:
        viewer = self._viewer(now, token_hash, user_id if token_hash is None else None)
        everything = self._content._all()  # deleted items too: decide() hides them
        if slug is not None:
            items = [i for i in everything.values() if i.slug.value == slug]
        else:
            items = [everything[i] for i in dict.fromkeys(content_ids or ()) if i in everything]
        bought_series = (self._purchases.completed_series(viewer.user_id)
                         if viewer is not None else set())
        rows = [self._row(item, viewer, everything, bought_series, now) for item in items]
        return AccessLookup(viewer=viewer,
                            session_valid=token_hash is None or viewer is not None, rows=rows)

    def _row(self, item: ContentItem, viewer: Viewer | None,
             everything: dict[UUID, ContentItem], bought_series: set[UUID],
             now: datetime) -> AccessRow:
        uid = viewer.user_id if viewer is not None else None
        grants = tuple(Grant(g.id, g.access_type, g.expires_at, g.last_accessed_at)
                       for g in self._staged.grants.values()
                       if g.user_id == uid and g.content_id == item.id)
        # A prerequisite that was deleted or unpublished no longer blocks anyone.
        missing = sum(
            1 for p in item.prerequisite_ids
            if p in everything and everything[p].is_live
            and not (uid is not None and (done := self._staged.progress.get((uid, p)))
                     is not None and done.completed))
        membership = viewer is not None and any(
            m.user_id == uid and m.covers(item, now) for m in self._staged.memberships)
        progress = self._staged.progress.get((uid, item.id)) if uid is not None else None
        return AccessRow(
            item=ItemFacts(id=item.id, creator_id=item.creator_id, status=item.status,
                           visibility=item.visibility, is_free=item.is_free,
                           deleted=item.deleted_at is not None),
            facts=ViewerFacts(grants=grants,
                              series_purchased=item.series_id is not None
                              and item.series_id in bought_series,
                              membership_covers=membership, missing_prerequisites=missing),
            slug=item.slug.value, title=item.title, content_type=item.content_type.value,
            media_key=item.media_key, duration_seconds=item.media_duration_seconds,
            body_html=item.body_html,
            position_seconds=progress.position_seconds if progress else None,
            completed=bool(progress and progress.completed), entry=entry_of(item),
        )

    def touch_grant(self, grant_id: UUID, now: datetime) -> None:
        grant = self._staged.grants.get(grant_id)
        if grant is not None:
            self._staged.grants[grant_id] = attrs.evolve(grant, last_accessed_at=now)


class FakeCommerceLedger:
    def __init__(self, staged: Store, content: FakeContentRepository,
                 series: FakeSeriesRepository, purchases: FakePurchaseRepository) -> None:
        self._staged = staged
        self._content = content
        self._series = series
        self._purchases = purchases

    def record_event(self, event_id: str, provider: str, event_type: str, now: datetime) -> bool:
        if event_id in self._staged.webhook_events:
            return False
        self._staged.webhook_events[event_id] = (provider, event_type[:255], now)
        return True

    def record_refund(self, refund_id: str, purchase_id: UUID, amount: Decimal, currency: str,
                      now: datetime) -> bool:
        if refund_id in self._staged.refunds:
            return False
        self._staged.refunds[refund_id] = RefundRow(purchase_id, Decimal(amount), currency, now)
        return True

    def refunded_total(self, purchase_id: UUID) -> Decimal:
        return sum((r.amount for r in self._staged.refunds.values()
                    if r.purchase_id == purchase_id), Decimal(0))

    def key_resource(self, user_id: UUID, scope: str, key: str) -> UUID | None:
        return self._staged.idempotency_keys.get((user_id, scope, key))

    def remember_key(self, user_id: UUID, scope: str, key: str, resource_id: UUID,
                     now: datetime) -> UUID:
        return self._staged.idempotency_keys.setdefault((user_id, scope, key), resource_id)

    def add_purchase_count(self, content_id: UUID, delta: int) -> None:
        item = self._content.tracked(content_id)
        if item is not None:
            item.purchase_count = max(item.purchase_count + delta, 0)

    def library_candidates(self, user_id: UUID) -> list[UUID]:
        granted = [g.content_id for g in self._staged.grants.values() if g.user_id == user_id]
        series = self._purchases.completed_series(user_id)
        bundled = [i.id for i in self._content._all().values() if i.series_id in series]
        return list(dict.fromkeys([*granted, *bundled]))

    def describe(self, purchases: Sequence[Purchase]) -> Sequence[PurchaseLine]:
        items = self._content._all()
        all_series = {**self._staged.series, **self._series.seen}
        lines = []
        for p in purchases:
            named: ContentItem | ContentSeries | None = (
                items.get(p.content_id) if p.content_id else
                all_series.get(p.series_id) if p.series_id else None)
            title, slug = (named.title, named.slug.value) if named else ("(removed item)", "")
            lines.append(PurchaseLine(purchase=p, title=title, slug=slug,
                                      kind="content" if p.content_id else "series"))
        return lines


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
        self._staged.grants = dict(self._store.grants)
        self._staged.progress = dict(self._store.progress)
        self._staged.purchases = self._store.purchases
        self._staged.webhook_events = dict(self._store.webhook_events)
        self._staged.refunds = dict(self._store.refunds)
        self._staged.idempotency_keys = dict(self._store.idempotency_keys)
        self._staged.memberships = list(self._store.memberships)
        self.users = FakeUserRepository(self._store, self._staged)
        self.sessions = FakeSessionRepository(self._staged, self.users)
        self.throttle = FakeThrottleRepository(self._staged)
        self.settings = FakeSettingsRepository(self._staged)
        self.content = FakeContentRepository(self._staged)
        self.series = FakeSeriesRepository(self._staged)
        self.catalog = FakeCatalogQueries(self.content)
        self.progress = FakeProgressRepository(self._staged, self.content)
        self.purchases = FakePurchaseRepository(self._staged)
        self.grants = FakeGrantRepository(self._staged)
        self.access = FakeAccessFacts(self._staged, self.users, self.content, self.purchases)
        self.ledger = FakeCommerceLedger(self._staged, self.content, self.series,
                                         self.purchases)
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
        events += collect_events(iter(self.purchases.seen.values()))
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
        self._store.grants = self._staged.grants
        self._store.progress = self._staged.progress
        self._store.purchases.update(copy.deepcopy(self.purchases.seen))
        self._store.webhook_events = self._staged.webhook_events
        self._store.refunds = self._staged.refunds
        self._store.idempotency_keys = self._staged.idempotency_keys
        self._store.memberships = self._staged.memberships
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
                                 config=config or CoreConfig(),
                                 # As in bootstrap: work committed by units of work a
                                 # handler opens itself reaches the event handlers too.
                                 dispatch=lambda ids: self.outbox.process(ids))
        self.outbox = OutboxProcessor(uow_factory, self.routing, self.services, retry)
        self.bus = MessageBus(uow_factory, self.services, COMMAND_HANDLERS,
                              lambda ids: self.outbox.process(ids))

    def handle(self, message: object) -> Any:
        return self.bus.handle(message)

    def person(self, email: str, role: Role = Role.CUSTOMER, *, verified: bool = True
               ) -> Person:
        """An account made by the operator, signed in: its principal and session token."""
        self.handle(CreateUser(actor=Principal.system(), email=email, password=PERSON_PASSWORD,
                               full_name=email.split("@")[0].title(), role=role,
                               verified=verified))
        token = str(self.handle(Login(email=email, password=PERSON_PASSWORD)).token)
        return Person(email=email, token=token, principal=self.handle(Authenticate(token=token)))


PERSON_PASSWORD = "correct horse battery"


@attrs.frozen(repr=False)
class Person:
    email: str
    token: str
    principal: Principal

    @property
    def id(self) -> UUID:
        assert self.principal.user_id is not None
        return self.principal.user_id

    def __repr__(self) -> str:
        return f"Person({self.email!r})"
