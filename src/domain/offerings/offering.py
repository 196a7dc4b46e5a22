"""The Offering aggregate: what is offered, when, to how many, at what price."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import attrs

from domain.errors import Conflict, ValidationError
from domain.events import Aggregate
from domain.offerings.events import WaitlistSeatOffered
from domain.offerings.installments import split
from domain.offerings.policy import (
    PaymentOptions,
    PortalConfig,
    parse_payment_options,
    parse_portal_config,
)
from domain.offerings.schedules import Occurrence, OfferingType, Schedule, parse_schedule
from domain.values import Money, Slug, TimeZoneName

TITLE_MAX = 500
# The seat pool of a recurring class booked as a whole series.
SERIES_KEY = "series"
DESCRIPTION_MAX = 50_000
MAX_PARTICIPANTS = 100_000


class CapacityType(enum.StrEnum):
    ONE_ON_ONE = "one_on_one"
    SMALL_GROUP = "small_group"
    LARGE_GROUP = "large_group"
    UNLIMITED = "unlimited"


class DeliveryMethod(enum.StrEnum):
    ONLINE = "online"
    IN_PERSON = "in_person"
    HYBRID = "hybrid"
    SELF_GUIDED = "self_guided"


class OfferingStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"
    CANCELED = "canceled"


class OfferingStateError(Conflict):
    code = "offering.invalid_state"


def _enum(kind: type[enum.StrEnum], value: Any, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(member.value for member in kind)
        raise ValidationError(f"{field} is one of {names}.", code="offering.invalid",
                              field=field) from None


def _text(value: Any, field: str, most: int, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(f"{field} is required.", code="validation.required",
                                  field=field)
        return None
    if not isinstance(value, str) or len(value) > most:
        raise ValidationError(f"{field} is text of at most {most} characters.", field=field)
    return value.strip()


EDITABLE = frozenset({"title", "description", "offering_type", "schedule", "capacity_type",
                      "max_participants", "delivery_method", "location_details",
                      "video_conference_provider", "join_url", "price", "credit_cost",
                      "payment_options", "registration_deadline", "portal_config",
                      "timezone"})


@attrs.define
class Offering(Aggregate):
    id: UUID
    creator_id: UUID
    title: str
    slug: Slug
    offering_type: OfferingType
    schedule: Schedule
    capacity_type: CapacityType
    delivery_method: DeliveryMethod
    currency: str
    created_at: datetime
    updated_at: datetime
    max_participants: int | None = None
    description: str | None = None
    location_details: str | None = None
    video_conference_provider: str | None = None
    join_url: str | None = None  # shown to confirmed participants only
    price: Money | None = None
    credit_cost: int | None = None
    payment_options: PaymentOptions = attrs.field(factory=PaymentOptions)
    registration_deadline: datetime | None = None
    portal_config: PortalConfig = attrs.field(factory=PortalConfig)
    timezone: str | None = None  # None: the platform's
    status: OfferingStatus = OfferingStatus.DRAFT
    published_at: datetime | None = None
    booking_count: int = 0
    deleted_at: datetime | None = None
    # When the first session starts and the last ends (None: it goes on); see ``locate``.
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @classmethod
    def create(cls, *, id: UUID, creator_id: UUID, slug: Slug, now: datetime, currency: str,
               fields: Mapping[str, Any]) -> Offering:
        missing = {"title", "offering_type", "schedule", "capacity_type",
                   "delivery_method"} - set(fields)
        if missing:
            name = sorted(missing)[0]
            raise ValidationError(f"{name} is required.", code="validation.required",
                                  field=name)
        offering_type = _enum(OfferingType, fields["offering_type"], "offering_type")
        offering = cls(
            id=id, creator_id=creator_id, title="", slug=slug, offering_type=offering_type,
            schedule=parse_schedule(offering_type, fields["schedule"]),
            capacity_type=CapacityType.UNLIMITED, delivery_method=DeliveryMethod.ONLINE,
            currency=Money("0", currency).currency, created_at=now, updated_at=now)
        offering.edit(fields, now)
        return offering

    @property
    def is_live(self) -> bool:
        return self.status is OfferingStatus.PUBLISHED and self.deleted_at is None

    def zone(self, platform_zone: str) -> ZoneInfo:
        return ZoneInfo(self.timezone or platform_zone)

    def locate(self, platform_zone: str) -> None:
        """Work out the offering's span in time from its schedule, after every change
        (the schedule's times are local to ``zone``)."""
        self.starts_at, self.ends_at = self.schedule.span(self.zone(platform_zone))

    @property
    def whole_series(self) -> bool:
        """A recurring class booked as one series (one seat in every session), not
        session by session (``payment_options.pay_per_session``)."""
        return self.offering_type is OfferingType.RECURRING_FIXED \
            and not self.payment_options.pay_per_session

    def occurrences(self, zone: ZoneInfo, start: datetime, end: datetime
                    ) -> list[Occurrence]:
        """The schedule's sessions, keyed by the seat pool they book from (a whole
        series' sessions share one)."""
        found = self.schedule.occurrences(zone, start, end)
        if not self.whole_series:
            return found
        return [attrs.evolve(o, key=SERIES_KEY) for o in found]

    @property
    def seats_per_session(self) -> int | None:
        """None: unlimited."""
        if self.capacity_type is CapacityType.ONE_ON_ONE:
            return 1
        return self.max_participants

    def _editable(self) -> None:
        if self.deleted_at is not None:
            raise OfferingStateError("This offering was deleted.", code="offering.deleted")

    def edit(self, changes: Mapping[str, Any], now: datetime) -> None:
        """Validate everything, then apply it all: never half an edit."""
        self._editable()
        unknown = set(changes) - EDITABLE
        if unknown:
            name = sorted(unknown)[0]
            raise ValidationError(f"Unknown or read-only field {name!r}.",
                                  code="offering.unknown_field", field=name)
        merged = {**self._fields(), **changes}
        offering_type = _enum(OfferingType, merged["offering_type"], "offering_type")
        if offering_type is not self.offering_type and self.booking_count:
            raise OfferingStateError("An offering with bookings keeps its type.",
                                     code="offering.has_bookings", field="offering_type")
        raw_schedule = merged["schedule"]
        schedule = (raw_schedule if not isinstance(raw_schedule, Mapping)
                    and offering_type is self.offering_type
                    else parse_schedule(offering_type, raw_schedule))
        capacity = _enum(CapacityType, merged["capacity_type"], "capacity_type")
        seats = merged["max_participants"]
        if capacity is CapacityType.UNLIMITED:
            if seats is not None:
                raise ValidationError("An unlimited offering has no max_participants.",
                                      code="offering.capacity", field="max_participants")
        elif capacity is CapacityType.ONE_ON_ONE:
            if seats not in (None, 1):
                raise ValidationError("A one-on-one offering has one participant per session.",
                                      code="offering.capacity", field="max_participants")
            seats = 1
        elif isinstance(seats, bool) or not isinstance(seats, int) or not (
                1 <= seats <= MAX_PARTICIPANTS):
            raise ValidationError(f"max_participants is 1 to {MAX_PARTICIPANTS} for "
                                  f"{capacity.value}.", code="offering.capacity",
                                  field="max_participants")
        delivery = _enum(DeliveryMethod, merged["delivery_method"], "delivery_method")
        location = _text(merged["location_details"], "location_details", 5000,
                         required=delivery in (DeliveryMethod.IN_PERSON, DeliveryMethod.HYBRID))
        provider = _text(merged["video_conference_provider"], "video_conference_provider", 50)
        join_url = _text(merged["join_url"], "join_url", 2048)
        if join_url is not None and not join_url.startswith(("https://", "http://")):
            raise ValidationError("join_url is an http(s) link.", code="offering.invalid",
                                  field="join_url")
        price = merged["price"]
        if price is not None and not isinstance(price, Money):
            try:
                price = Money(str(price), self.currency)
            except ValidationError as exc:
                exc.field = "price"
                raise
        cost = merged["credit_cost"]
        if cost is not None and (isinstance(cost, bool) or not isinstance(cost, int)
                                 or not 1 <= cost <= 100_000):
            raise ValidationError("credit_cost is 1 to 100000.", code="offering.invalid",
                                  field="credit_cost")
        deadline = merged["registration_deadline"]
        if deadline is not None and (not isinstance(deadline, datetime)
                                     or deadline.tzinfo is None):
            raise ValidationError("registration_deadline is a time with a zone.",
                                  code="offering.invalid", field="registration_deadline")
        zone = merged["timezone"]
        if zone is not None:
            try:
                zone = TimeZoneName(zone).value
            except ValidationError as exc:
                exc.field = "timezone"
                raise
        options = (merged["payment_options"]
                   if isinstance(merged["payment_options"], PaymentOptions)
                   else parse_payment_options(merged["payment_options"]))
        if options.pay_per_session != self.payment_options.pay_per_session \
                and self.booking_count:
            raise OfferingStateError("An offering with bookings keeps how it is booked.",
                                     code="offering.has_bookings",
                                     field="payment_options.pay_per_session")
        if options.pay_per_session and offering_type is not OfferingType.RECURRING_FIXED:
            raise ValidationError("pay_per_session is for recurring classes "
                                  "(recurring_fixed).", code="offering.options",
                                  field="payment_options.pay_per_session")
        if offering_type is OfferingType.RECURRING_FIXED and not options.pay_per_session \
                and schedule.span(ZoneInfo("UTC"))[1] is None:
            raise ValidationError("A series without an end is booked session by session: "
                                  "give it an end_date or a count, or set "
                                  "payment_options.pay_per_session.", code="offering.options",
                                  field="payment_options.pay_per_session")
        if options.installments is not None and (
                price is None or split(price, options.installments)[-1].is_zero):
            raise ValidationError("Installments need a price of at least one minor unit "
                                  "per payment.", code="offering.options",
                                  field="payment_options.installments")
        cleaned = {
            "title": _text(merged["title"], "title", TITLE_MAX, required=True),
            "description": _text(merged["description"], "description", DESCRIPTION_MAX),
            "offering_type": offering_type, "schedule": schedule, "capacity_type": capacity,
            "max_participants": seats, "delivery_method": delivery,
            "location_details": location, "video_conference_provider": provider,
            "join_url": join_url, "price": price, "credit_cost": cost,
            "payment_options": options,
            "registration_deadline": deadline,
            "portal_config": (merged["portal_config"]
                              if isinstance(merged["portal_config"], PortalConfig)
                              else parse_portal_config(merged["portal_config"])),
            "timezone": zone,
        }
        for name, value in cleaned.items():
            setattr(self, name, value)
        self.updated_at = now

    def _fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in EDITABLE}

    def offer_seat(self, entry_id: UUID, customer_id: UUID, starts_at: datetime,
                   until: datetime) -> None:
        """A freed seat is held for the next person on the waiting list: tell them."""
        self.record(WaitlistSeatOffered(entry_id, customer_id, self.id, starts_at, until))

    def publish(self, now: datetime) -> None:
        self._editable()
        if self.price is None and self.credit_cost is None:
            raise OfferingStateError("Give a price or a credit cost before publishing "
                                     "(members may still be included by a tier's rules).",
                                     code="offering.no_price")
        self.status = OfferingStatus.PUBLISHED
        self.published_at = self.published_at or now
        self.updated_at = now

    def unpublish(self, now: datetime) -> None:
        self._editable()
        self.status = OfferingStatus.DRAFT
        self.updated_at = now

    def archive(self, now: datetime) -> None:
        self._editable()
        self.status = OfferingStatus.ARCHIVED
        self.updated_at = now

    def soft_delete(self, now: datetime) -> None:
        if self.deleted_at is None:
            self.deleted_at = now
            self.updated_at = now
