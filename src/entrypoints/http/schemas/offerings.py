"""Bodies of the offering, session and booking routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from entrypoints.http.schemas.common import Currency, PriceText, Strict, UrlText

OfferingTypeText = Literal["one_time_event", "multi_day_program", "recurring_fixed",
                           "recurring_bookable", "cohort_course", "retreat"]
CapacityText = Literal["one_on_one", "small_group", "large_group", "unlimited"]
DeliveryText = Literal["online", "in_person", "hybrid", "self_guided"]
Title = Annotated[str, Meta(max_length=500)]
Description = Annotated[str, Meta(max_length=50_000)]
Seats = Annotated[int, Meta(ge=1, le=100_000)]
CreditCost = Annotated[int, Meta(ge=1, le=100_000)]
ZoneText = Annotated[str, Meta(max_length=64, description="An IANA time zone")]
SCHEDULE_DOC = (
    "Depends on offering_type. one_time_event: {date, start_time, duration_minutes}; "
    "multi_day_program: {days: [{date, start_time, duration_minutes, title?}]}; "
    "recurring_fixed: {pattern: weekly|biweekly|monthly, day, time, duration_minutes, "
    "start_date, end_date? | count?}; recurring_bookable: {availability: {monday: [{start, "
    "end}], ...}, session_minutes, buffer_minutes, minimum_notice_hours, "
    "booking_window_days, exceptions: [{date, windows}]}; cohort_course: {cohorts: "
    "[{start_date}], sessions: [{offset_days, start_time, duration_minutes, title?}]}; "
    "retreat: {start_date, end_date, location, check_in?, check_out?}. Times are local to "
    "the offering's timezone.")


class OfferingBody(Strict):
    title: Title
    offering_type: OfferingTypeText
    schedule: Annotated[dict[str, Any], Meta(description=SCHEDULE_DOC)]
    capacity_type: CapacityText
    delivery_method: DeliveryText
    max_participants: Seats | None = None
    description: Description | None = None
    location_details: Annotated[str, Meta(max_length=5000)] | None = None
    video_conference_provider: Annotated[str, Meta(max_length=50)] | None = None
    join_url: Annotated[UrlText, Meta(description="Shown to confirmed participants only")] | \
        None = None
    price: PriceText | None = None
    currency: Currency = "usd"
    credit_cost: CreditCost | None = None
    payment_options: Annotated[dict[str, Any], Meta(description=(
        "{cancellation: {hours_before, early, late}, seat_hold_minutes, waitlist, "
        "waitlist_hold_minutes, installments, pay_per_session}; early and late are "
        "full_refund, credit_return or nothing; installments is a number of monthly "
        "payments (2 to 12) a purchase may be split into; pay_per_session (recurring "
        "classes only) books each session on its own instead of the whole series"))
    ] | None = None
    registration_deadline: Annotated[datetime, Meta(tz=True)] | None = None
    portal_config: Annotated[dict[str, Any], Meta(description=(
        "{access_before_days, access_after_days}"))] | None = None
    timezone: ZoneText | None = None
    slug: Annotated[str, Meta(max_length=200)] | None = None


class OfferingPatch(Strict):
    title: Title | UnsetType = UNSET
    offering_type: OfferingTypeText | UnsetType = UNSET
    schedule: Annotated[dict[str, Any], Meta(description=SCHEDULE_DOC)] | UnsetType = UNSET
    capacity_type: CapacityText | UnsetType = UNSET
    delivery_method: DeliveryText | UnsetType = UNSET
    max_participants: Seats | UnsetType | None = UNSET
    description: Description | UnsetType | None = UNSET
    location_details: Annotated[str, Meta(max_length=5000)] | UnsetType | None = UNSET
    video_conference_provider: Annotated[str, Meta(max_length=50)] | UnsetType | None = UNSET
    join_url: UrlText | UnsetType | None = UNSET
    price: PriceText | UnsetType | None = UNSET
    credit_cost: CreditCost | UnsetType | None = UNSET
    payment_options: dict[str, Any] | UnsetType | None = UNSET
    registration_deadline: Annotated[datetime, Meta(tz=True)] | UnsetType | None = UNSET
    portal_config: dict[str, Any] | UnsetType | None = UNSET
    timezone: ZoneText | UnsetType | None = UNSET


class OfferingOut(msgspec.Struct):
    id: UUID
    slug: str
    title: str
    description: str | None
    offering_type: str
    schedule: dict[str, Any]
    capacity_type: str
    max_participants: int | None
    delivery_method: str
    location_details: str | None
    video_conference_provider: str | None
    price: str | None
    currency: str
    credit_cost: int | None
    payment_options: dict[str, Any]
    registration_deadline: datetime | None
    timezone: str
    starts_at: datetime | None
    ends_at: datetime | None


class StudioOfferingOut(msgspec.Struct):
    offering: OfferingOut
    status: str
    join_url: str | None
    portal_config: dict[str, Any]
    booking_count: int
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SessionOut(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime
    local_start: str  # in the offering's zone
    viewer_start: str | None  # in the zone the client asked for
    session_key: str
    title: str | None
    seats_left: int | None


class OfferingDetailsOut(msgspec.Struct):
    offering: OfferingOut
    next_sessions: list[SessionOut]


class SessionsOut(msgspec.Struct):
    zone: str
    viewer_zone: str | None
    sessions: list[SessionOut]


class BookingBody(Strict):
    offering_id: UUID
    payment_method: Literal["purchase", "subscription", "credits"]
    starts_at: Annotated[datetime, Meta(tz=True, description=(
        "The session or slot, for types with several (not for a class booked as a "
        "whole series)"))] | None = None
    cohort: Annotated[str, Meta(max_length=10, description=(
        "A cohort course's cohort, by its start date"))] | None = None
    card: Annotated[str, Meta(max_length=100, description=(
        "With payment_method=purchase. Stripe: a PaymentMethod id (else confirm with the "
        "client secret). Sandbox: a test card number."))] | None = None
    installments: Annotated[bool, Meta(description=(
        "With payment_method=purchase, where the offering's payment_options.installments "
        "allows it: pay in that many monthly payments. The first is paid now and confirms "
        "the booking; the others are charged to the same card a month apart."))] = False


class InstallmentOut(msgspec.Struct):
    number: int
    amount: str
    due_at: datetime
    status: Annotated[str, Meta(description=(
        "scheduled, charging, paid, failed (declined three times: the booking was "
        "cancelled) or canceled (never charged)"))]
    paid_at: datetime | None


class BookingOut(msgspec.Struct):
    id: UUID
    offering_id: UUID
    offering_slug: str
    offering_title: str
    status: str
    payment_method: str
    amount_paid: str
    currency: str
    credits_used: int
    starts_at: datetime
    ends_at: datetime
    timezone: str
    join_url: str | None
    location: str | None
    created_at: datetime
    canceled_at: datetime | None
    cancellation_reason: str | None
    client_secret: str | None = None
    # Paid in monthly installments: each one, in order.
    installments: list[InstallmentOut] | None = None


class RescheduleBody(Strict):
    starts_at: Annotated[datetime, Meta(tz=True)] | None = None
    cohort: Annotated[str, Meta(max_length=10)] | None = None


class CancelBody(Strict):
    reason: Annotated[str, Meta(max_length=1000)] | None = None


class CancellationOut(msgspec.Struct):
    booking: BookingOut
    outcome: str
    refunded: str | None
    credits_returned: int


class MarkBody(Strict):
    status: Literal["completed", "no_show"]


class MoveSessionBody(Strict):
    from_: Annotated[datetime, Meta(tz=True, description=(
        "When the session (or slot) whose bookings move starts"))] = msgspec.field(
        name="from")
    to: Annotated[datetime, Meta(tz=True, description=(
        "When the session (or free slot) they move to starts"))]


class HostBookingOut(msgspec.Struct):
    id: UUID
    customer_id: UUID
    status: str
    payment_method: str
    starts_at: datetime
    ends_at: datetime
    amount_paid: str
    credits_used: int


class ResourceBody(Strict):
    resource_type: Literal["content", "file", "link", "text"]
    title: Annotated[str, Meta(max_length=500)]
    description: Annotated[str, Meta(max_length=5000)] | None = None
    content_id: UUID | None = None
    file_key: Annotated[str, Meta(max_length=300, description=(
        "The key from POST …/resources/uploads, once the file is uploaded"))] | None = None
    link_url: UrlText | None = None
    text_content: Annotated[str, Meta(max_length=100_000)] | None = None
    available_when: Literal["before", "during", "after", "always"] = "during"
    unlock_at: Annotated[datetime, Meta(tz=True)] | None = None
    display_order: Annotated[int, Meta(ge=0, le=10_000)] = 0


class ResourcePatch(Strict):
    title: Annotated[str, Meta(max_length=500)] | UnsetType = UNSET
    description: Annotated[str, Meta(max_length=5000)] | UnsetType | None = UNSET
    link_url: UrlText | UnsetType = UNSET
    text_content: Annotated[str, Meta(max_length=100_000)] | UnsetType = UNSET
    available_when: Literal["before", "during", "after", "always"] | UnsetType = UNSET
    unlock_at: Annotated[datetime, Meta(tz=True)] | UnsetType | None = UNSET
    display_order: Annotated[int, Meta(ge=0, le=10_000)] | UnsetType = UNSET


class ResourceOut(msgspec.Struct):
    id: UUID
    resource_type: str
    title: str
    description: str | None
    content_id: UUID | None
    file_key: str | None
    link_url: str | None
    text_content: str | None
    available_when: str
    unlock_at: datetime | None
    display_order: int


class UploadBody(Strict):
    content_type: Annotated[str, Meta(max_length=100)]
    size: Annotated[int, Meta(ge=1, le=5 * 1024**3)]


class UploadOut(msgspec.Struct):
    key: str
    url: str
    headers: dict[str, str]
    expires_at: datetime


class PortalItemOut(msgspec.Struct):
    id: UUID
    resource_type: str
    title: str
    unlocked: bool
    unlocks_at: datetime
    description: str | None = None
    link_url: str | None = None
    text_content: str | None = None
    file_url: str | None = None
    content_slug: str | None = None
    content_reason: str | None = None


class PortalOut(msgspec.Struct):
    offering_id: UUID
    offering_slug: str
    title: str
    opens_at: datetime
    closes_at: datetime
    items: list[PortalItemOut]


class CalendarFeedOut(msgspec.Struct):
    url: str


class WaitlistBody(Strict):
    offering_id: UUID
    starts_at: Annotated[datetime, Meta(tz=True)] | None = None
    cohort: Annotated[str, Meta(max_length=10)] | None = None


class WaitlistOut(msgspec.Struct):
    id: UUID
    offering_id: UUID
    starts_at: datetime
    status: str
    position: int
