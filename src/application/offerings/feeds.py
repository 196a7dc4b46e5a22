"""A customer's private calendar feed: one secret URL, revocable, listing their bookings."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import attrs

from application.offerings.views import calendar_events, view
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import NotFound, Unavailable

FEED_PAST = timedelta(days=30)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@attrs.frozen
class CalendarFeedLink:
    url: str  # shown once: only its hash is kept


@attrs.frozen
class CreateCalendarFeed:
    actor: Principal


def create_calendar_feed(cmd: CreateCalendarFeed, uow: UnitOfWork, services: Services
                         ) -> CalendarFeedLink:
    """A new feed URL; any earlier one stops working."""
    user_id = cmd.actor.require_user()
    token = secrets.token_urlsafe(32)
    uow.calendar_feeds.replace(user_id, _digest(token), id=services.ids.new_id(),
                               now=services.clock.now())
    uow.commit()
    base = services.config.public_url.rstrip("/")
    return CalendarFeedLink(f"{base}/api/v1/calendar-feeds/{token}/bookings.ics")


@attrs.frozen
class RevokeCalendarFeed:
    actor: Principal


def revoke_calendar_feed(cmd: RevokeCalendarFeed, uow: UnitOfWork, services: Services
                         ) -> bool:
    revoked = uow.calendar_feeds.revoke(cmd.actor.require_user())
    uow.commit()
    return revoked


@attrs.frozen(repr=False)
class ReadCalendarFeed:
    token: str

    def __repr__(self) -> str:
        return "ReadCalendarFeed(token=...)"


def read_calendar_feed(cmd: ReadCalendarFeed, uow: UnitOfWork, services: Services) -> bytes:
    if services.calendar is None:
        raise Unavailable("Calendar files are not available.", code="calendar.unavailable")
    user_id = uow.calendar_feeds.user_for(_digest(cmd.token)) if len(cmd.token) < 100 \
        else None
    if user_id is None:
        raise NotFound("No such calendar.", code="calendar.not_found")
    since = services.clock.now() - FEED_PAST
    events = [event for b in uow.bookings.calendar_of(user_id, since)
              for event in calendar_events(view(uow, b), services.config.public_url)]
    return services.calendar.calendar(events, name="My bookings")
