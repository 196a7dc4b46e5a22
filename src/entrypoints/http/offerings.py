"""/api/v1/studio/offerings, /api/v1/offerings, /api/v1/bookings and /api/v1/me/bookings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from application.offerings.authoring import (
    ChangeOfferingStatus,
    CreateOffering,
    GetStudioOffering,
    ListStudioOfferings,
    UpdateOffering,
)
from application.offerings.booking import BookOffering, CancelBooking, RescheduleBooking
from application.offerings.browsing import (
    BrowseOfferings,
    GetOffering,
    ListSessions,
    Session,
)
from application.offerings.feeds import (
    CreateCalendarFeed,
    ReadCalendarFeed,
    RevokeCalendarFeed,
)
from application.offerings.portals import (
    AddResource,
    ListResources,
    Portal,
    RemoveResource,
    StartResourceUpload,
    UpdateResource,
    ViewPortal,
)
from application.offerings.session_moves import MoveSession
from application.offerings.views import (
    BookingCalendar,
    BookingView,
    MarkBooking,
    MyBooking,
    MyBookings,
    OfferingBookings,
)
from application.offerings.waitlist import JoinWaitlist, LeaveWaitlist
from application.platform.settings import GetSettings
from domain.identity.api_keys import Scope
from domain.offerings.booking import Booking
from domain.offerings.offering import Offering
from domain.offerings.portal import Resource
from entrypoints.http.auth import SECURED
from entrypoints.http.dependencies import Actor, App, takes_key
from entrypoints.http.openapi import AUTHENTICATED, MAX_OFFSET, PUBLIC, problems
from entrypoints.http.schemas.common import set_fields
from entrypoints.http.schemas.offerings import (
    BookingBody,
    BookingOut,
    CalendarFeedOut,
    CancelBody,
    CancellationOut,
    HostBookingOut,
    InstallmentOut,
    MarkBody,
    MoveSessionBody,
    OfferingBody,
    OfferingDetailsOut,
    OfferingOut,
    OfferingPatch,
    PortalItemOut,
    PortalOut,
    RescheduleBody,
    ResourceBody,
    ResourceOut,
    ResourcePatch,
    SessionOut,
    SessionsOut,
    StudioOfferingOut,
    UploadBody,
    UploadOut,
    WaitlistBody,
    WaitlistOut,
)

CREATOR = problems(400, 401, 403, 404, 409, 422, 503)


def offering_out(o: Offering, platform_zone: str) -> OfferingOut:
    return OfferingOut(
        id=o.id, slug=o.slug.value, title=o.title, description=o.description,
        offering_type=o.offering_type.value, schedule=o.schedule.to_json(),
        capacity_type=o.capacity_type.value, max_participants=o.max_participants,
        delivery_method=o.delivery_method.value, location_details=o.location_details,
        video_conference_provider=o.video_conference_provider,
        price=str(o.price.amount) if o.price else None, currency=o.currency,
        credit_cost=o.credit_cost, payment_options=o.payment_options.to_json(),
        registration_deadline=o.registration_deadline,
        timezone=o.timezone or platform_zone, starts_at=o.starts_at, ends_at=o.ends_at)


def _zone(patronage: App) -> str:
    zone: str = patronage.handle(GetSettings()).timezone
    return zone


def studio_out(o: Offering, platform_zone: str) -> StudioOfferingOut:
    return StudioOfferingOut(
        offering=offering_out(o, platform_zone), status=o.status.value, join_url=o.join_url,
        portal_config=o.portal_config.to_json(), booking_count=o.booking_count,
        published_at=o.published_at, created_at=o.created_at, updated_at=o.updated_at)


def _fields(data: OfferingBody | OfferingPatch) -> dict[str, Any]:
    if isinstance(data, OfferingPatch):
        return set_fields(data)
    return {name: getattr(data, name) for name in data.__struct_fields__
            if name not in ("currency", "slug")}


class StudioOfferingsController(Controller):
    path = "/api/v1/studio/offerings"
    tags = ["studio"]
    security = SECURED
    opt = takes_key(Scope.OFFERINGS_WRITE)  # the reads below take catalog:read

    @get("/", sync_to_thread=True, responses=CREATOR, opt=takes_key(Scope.CATALOG_READ))
    def list_offerings(
        self, actor: Actor, patronage: App,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=200)]] = 50,
        offset: FromQuery[Annotated[int, Parameter(ge=0, le=MAX_OFFSET)]] = 0,
    ) -> list[StudioOfferingOut]:
        """Your offerings, drafts included (platform owners see everyone's), newest first."""
        zone = _zone(patronage)
        found = patronage.handle(ListStudioOfferings(actor=actor, limit=limit, offset=offset))
        return [studio_out(o, zone) for o in found]

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True, responses=CREATOR)
    def create(self, data: JSONBody[OfferingBody], actor: Actor, patronage: App
               ) -> StudioOfferingOut:
        """Create a draft offering. The schedule is checked against the offering's type
        (errors name the field, e.g. `schedule.days[2].start_time`)."""
        offering = patronage.handle(CreateOffering(actor=actor, fields=_fields(data),
                                                   slug=data.slug, currency=data.currency))
        return studio_out(offering, _zone(patronage))

    @get("/{offering_id:uuid}", sync_to_thread=True, responses=CREATOR,
         opt=takes_key(Scope.CATALOG_READ))
    def get_offering(self, offering_id: FromPath[UUID], actor: Actor, patronage: App
                     ) -> StudioOfferingOut:
        """One of your offerings."""
        return studio_out(patronage.handle(GetStudioOffering(actor=actor,
                                                             offering_id=offering_id)),
                          _zone(patronage))

    @patch("/{offering_id:uuid}", sync_to_thread=True, responses=CREATOR)
    def update(self, offering_id: FromPath[UUID], data: JSONBody[OfferingPatch], actor: Actor,
               patronage: App) -> StudioOfferingOut:
        """Edit an offering; all changes apply or none."""
        return studio_out(patronage.handle(UpdateOffering(
            actor=actor, offering_id=offering_id, changes=_fields(data))), _zone(patronage))

    @post("/{offering_id:uuid}/{action:str}", status_code=200, sync_to_thread=True,
          responses=CREATOR)
    def change_status(self, offering_id: FromPath[UUID],
                      action: FromPath[Literal["publish", "unpublish", "archive"]], actor: Actor,
                      patronage: App) -> StudioOfferingOut:
        """Publish (needs a price or a credit cost), unpublish or archive."""
        return studio_out(patronage.handle(ChangeOfferingStatus(
            actor=actor, offering_id=offering_id, to=action)), _zone(patronage))

    @delete("/{offering_id:uuid}", status_code=200, sync_to_thread=True, responses=CREATOR)
    def remove(self, offering_id: FromPath[UUID], actor: Actor, patronage: App
               ) -> dict[str, bool]:
        """Delete (softly: bookings and their history stay)."""
        patronage.handle(ChangeOfferingStatus(actor=actor, offering_id=offering_id,
                                              to="delete"))
        return {"deleted": True}

    @post("/{offering_id:uuid}/sessions/move", status_code=200, sync_to_thread=True,
          responses=CREATOR)
    def move_session(self, offering_id: FromPath[UUID], data: JSONBody[MoveSessionBody],
                     actor: Actor, patronage: App) -> list[HostBookingOut]:
        """Move every confirmed booking of one session (or slot) to another, all or
        nothing: 409 `offering.full` when the target cannot seat them all, 409
        `booking.exists` when one of the customers is already booked there. Each
        customer is emailed the new time; payments stay as they were. For offerings
        booked session by session (a class with `pay_per_session`, a bookable 1:1)."""
        moved = patronage.handle(MoveSession(actor=actor, offering_id=offering_id,
                                             starts_at=data.from_, to=data.to))
        return [host_booking_out(b) for b in moved]

    @get("/{offering_id:uuid}/bookings", sync_to_thread=True, responses=CREATOR,
         opt=takes_key(Scope.CATALOG_READ))
    def bookings(
        self, offering_id: FromPath[UUID], actor: Actor, patronage: App,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=500)]] = 100,
        offset: FromQuery[Annotated[int, Parameter(ge=0, le=MAX_OFFSET)]] = 0,
    ) -> list[HostBookingOut]:
        """The offering's bookings, by session time."""
        found = patronage.handle(OfferingBookings(actor=actor, offering_id=offering_id,
                                                  limit=limit, offset=offset))
        return [host_booking_out(b) for b in found]


def host_booking_out(b: Booking) -> HostBookingOut:
    return HostBookingOut(id=b.id, customer_id=b.customer_id, status=b.status.value,
                          payment_method=b.paid_with.value, starts_at=b.starts_at,
                          ends_at=b.ends_at, amount_paid=str(b.amount_paid.amount),
                          credits_used=b.credits_used)


def resource_out(r: Resource) -> ResourceOut:
    return ResourceOut(id=r.id, resource_type=r.resource_type.value, title=r.title,
                       description=r.description, content_id=r.content_id, file_key=r.file_key,
                       link_url=r.link_url, text_content=r.text_content,
                       available_when=r.available_when.value, unlock_at=r.unlock_at,
                       display_order=r.display_order)


class StudioResourcesController(Controller):
    path = "/api/v1/studio/offerings/{offering_id:uuid}/resources"
    tags = ["studio"]
    security = SECURED
    opt = takes_key(Scope.OFFERINGS_WRITE)  # the list takes catalog:read

    @get("/", sync_to_thread=True, responses=CREATOR, opt=takes_key(Scope.CATALOG_READ))
    def list_resources(self, offering_id: FromPath[UUID], actor: Actor, patronage: App
                       ) -> list[ResourceOut]:
        """The portal's resources, in display order."""
        return [resource_out(r) for r in patronage.handle(ListResources(
            actor=actor, offering_id=offering_id))]

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True, responses=CREATOR)
    def add(self, offering_id: FromPath[UUID], data: JSONBody[ResourceBody], actor: Actor,
            patronage: App) -> ResourceOut:
        """Add a resource: a content item (still checked by the entitlement engine, where
        the portal is one more reason), an uploaded file (signed URLs), a link or text.
        `available_when` and `unlock_at` decide when participants see it."""
        fields = {name: getattr(data, name) for name in data.__struct_fields__}
        return resource_out(patronage.handle(AddResource(actor=actor, offering_id=offering_id,
                                                         fields=fields)))

    @post("/uploads", status_code=HTTP_201_CREATED, sync_to_thread=True, responses=CREATOR)
    def upload(self, offering_id: FromPath[UUID], data: JSONBody[UploadBody], actor: Actor,
               patronage: App) -> UploadOut:
        """A signed URL for one PUT of a file resource; then add it with its `key`."""
        slot = patronage.handle(StartResourceUpload(
            actor=actor, offering_id=offering_id, content_type=data.content_type,
            size=data.size))
        return UploadOut(key=slot.key, url=slot.url, headers=dict(slot.headers),
                         expires_at=slot.expires_at)

    @patch("/{resource_id:uuid}", sync_to_thread=True, responses=CREATOR)
    def update(self, offering_id: FromPath[UUID], resource_id: FromPath[UUID],
               data: JSONBody[ResourcePatch], actor: Actor, patronage: App) -> ResourceOut:
        """Edit a resource."""
        return resource_out(patronage.handle(UpdateResource(
            actor=actor, offering_id=offering_id, resource_id=resource_id,
            changes=set_fields(data))))

    @delete("/{resource_id:uuid}", status_code=200, sync_to_thread=True, responses=CREATOR)
    def remove(self, offering_id: FromPath[UUID], resource_id: FromPath[UUID], actor: Actor,
               patronage: App) -> dict[str, bool]:
        """Remove a resource."""
        patronage.handle(RemoveResource(actor=actor, offering_id=offering_id,
                                        resource_id=resource_id))
        return {"removed": True}


def portal_out(p: Portal) -> PortalOut:
    items = []
    for item in p.items:
        r = item.resource
        shown = item.unlocked
        items.append(PortalItemOut(
            id=r.id, resource_type=r.resource_type.value, title=r.title,
            unlocked=item.unlocked, unlocks_at=item.unlocks_at,
            description=r.description if shown else None,
            link_url=r.link_url if shown else None,
            text_content=r.text_content if shown else None, file_url=item.file_url,
            content_slug=item.content_slug, content_reason=item.content_reason))
    return PortalOut(offering_id=p.offering.id, offering_slug=p.offering.slug.value,
                     title=p.offering.title, opens_at=p.opens_at, closes_at=p.closes_at,
                     items=items)


class PortalsController(Controller):
    path = "/api/v1/portals"
    tags = ["bookings"]
    security = SECURED

    @get("/{slug:str}", sync_to_thread=True, responses=AUTHENTICATED)
    def portal(self, slug: FromPath[Annotated[str, Parameter(max_length=200)]], actor: Actor,
               patronage: App) -> PortalOut:
        """Your portal for an offering you booked: what is unlocked now, and for the rest
        only titles with their unlock times. Not found unless your portal is open."""
        return portal_out(patronage.handle(ViewPortal(actor=actor, slug=slug)))


def session_out(s: Session, zone: str, viewer: str | None) -> SessionOut:
    o = s.occurrence
    return SessionOut(
        starts_at=o.starts_at, ends_at=o.ends_at,
        local_start=o.starts_at.astimezone(ZoneInfo(zone)).isoformat(),
        viewer_start=o.starts_at.astimezone(ZoneInfo(viewer)).isoformat() if viewer else None,
        session_key=o.key, title=o.title, seats_left=s.seats_left)


class OfferingsController(Controller):
    path = "/api/v1/offerings"
    tags = ["offerings"]

    @get("/", sync_to_thread=True, responses=PUBLIC)
    def browse(
        self, patronage: App,
        offering_type: FromQuery[Literal["one_time_event", "multi_day_program",
                                         "recurring_fixed", "recurring_bookable",
                                         "cohort_course", "retreat"] | None] = None,
        delivery_method: FromQuery[Literal["online", "in_person", "hybrid",
                                           "self_guided"] | None] = None,
        upcoming: FromQuery[bool] = False,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=100)]] = 20,
        offset: FromQuery[Annotated[int, Parameter(ge=0, le=MAX_OFFSET)]] = 0,
    ) -> list[OfferingOut]:
        """Published offerings, soonest first (open-ended ones last); `upcoming` leaves
        out those that are over."""
        zone = _zone(patronage)
        found = patronage.handle(BrowseOfferings(
            offering_type=offering_type, delivery_method=delivery_method, upcoming=upcoming,
            limit=limit, offset=offset))
        return [offering_out(o, zone) for o in found]

    @get("/{slug:str}", sync_to_thread=True, responses=problems(400, 404, 422, 503))
    def details(self, slug: FromPath[Annotated[str, Parameter(max_length=200)]],
                patronage: App) -> OfferingDetailsOut:
        """One published offering with its next sessions and the seats left in each."""
        found = patronage.handle(GetOffering(slug=slug))
        return OfferingDetailsOut(
            offering=offering_out(found.offering, found.zone),
            next_sessions=[session_out(s, found.zone, None) for s in found.next_sessions])

    @get("/{slug:str}/sessions", sync_to_thread=True, responses=problems(400, 404, 422, 503))
    def sessions(
        self, slug: FromPath[Annotated[str, Parameter(max_length=200)]], patronage: App,
        start: Annotated[datetime | None, QueryParameter(name="from")] = None,
        end: Annotated[datetime | None, QueryParameter(name="to")] = None,
        tz: FromQuery[Annotated[str | None, Parameter(max_length=64)]] = None,
    ) -> SessionsOut:
        """Upcoming sessions in [from, to) (default: the next 30 days) with seats left;
        for a bookable offering, its free slots. `tz` adds each start in the viewer's
        zone beside the offering's."""
        found = patronage.handle(ListSessions(slug=slug, start=start, end=end, tz=tz))
        return SessionsOut(zone=found.zone, viewer_zone=found.viewer_zone,
                           sessions=[session_out(s, found.zone, found.viewer_zone)
                                     for s in found.sessions])


def booking_out(v: BookingView, client_secret: str | None = None) -> BookingOut:
    b = v.booking
    return BookingOut(
        id=b.id, offering_id=b.offering_id, offering_slug=v.offering.slug.value,
        offering_title=v.offering.title, status=b.status.value,
        payment_method=b.paid_with.value, amount_paid=str(b.amount_paid.amount),
        currency=b.amount_paid.currency, credits_used=b.credits_used, starts_at=b.starts_at,
        ends_at=b.ends_at, timezone=v.zone, join_url=v.join_url, location=v.location,
        created_at=b.created_at, canceled_at=b.canceled_at,
        cancellation_reason=b.cancellation_reason, client_secret=client_secret,
        installments=[InstallmentOut(number=i.number, amount=str(i.amount.amount),
                                     due_at=i.due_at, status=i.status.value, paid_at=i.paid_at)
                      for i in v.installments] or None)


class BookingsController(Controller):
    path = "/api/v1/bookings"
    tags = ["bookings"]
    security = SECURED

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True,
          responses=problems(400, 401, 402, 403, 404, 409, 422, 503))
    def book(self, data: JSONBody[BookingBody], actor: Actor, patronage: App,
             request: Request[Any, Any, Any]) -> BookingOut:
        """Book a session: `purchase` (a payment; with Stripe the seat is held while the
        client confirms it), `subscription` (your tier includes it, free or for credits)
        or `credits`. A full session is a 409 `offering.full`. Send an `Idempotency-Key`.
        With `installments: true` a purchase is paid monthly where the offering allows it
        (409 `booking.installments_unavailable` where it does not)."""
        booked = patronage.handle(BookOffering(
            actor=actor, offering_id=data.offering_id, payment_method=data.payment_method,
            starts_at=data.starts_at, cohort=data.cohort, card=data.card,
            installments=data.installments,
            idempotency_key=request.headers.get("idempotency-key")))
        view = booked.shown or patronage.handle(MyBooking(actor=actor,
                                                          booking_id=booked.booking.id))
        return booking_out(view, booked.client_secret)

    @post("/waitlist", status_code=HTTP_201_CREATED, sync_to_thread=True,
          responses=problems(400, 401, 403, 404, 409, 422, 503))
    def join_waitlist(self, data: JSONBody[WaitlistBody], actor: Actor, patronage: App
                      ) -> WaitlistOut:
        """Queue for a full session (where the offering has a waiting list). A freed seat
        is held for the first in line for `waitlist_hold_minutes` and they are emailed;
        they book it like any booking, else it passes to the next."""
        place = patronage.handle(JoinWaitlist(actor=actor, offering_id=data.offering_id,
                                              starts_at=data.starts_at, cohort=data.cohort))
        return WaitlistOut(id=place.entry.id, offering_id=place.entry.offering_id,
                           starts_at=place.entry.starts_at, status=place.entry.status,
                           position=place.position)

    @delete("/waitlist/{entry_id:uuid}", status_code=200, sync_to_thread=True,
            responses=AUTHENTICATED)
    def leave_waitlist(self, entry_id: FromPath[UUID], actor: Actor, patronage: App
                       ) -> dict[str, bool]:
        """Leave a waiting list (a seat held for you passes to the next in line)."""
        patronage.handle(LeaveWaitlist(actor=actor, entry_id=entry_id))
        return {"left": True}

    @post("/{booking_id:uuid}/cancel", status_code=200, sync_to_thread=True,
          responses=problems(400, 401, 403, 404, 409, 422, 503))
    def cancel(self, booking_id: FromPath[UUID], data: JSONBody[CancelBody], actor: Actor,
               patronage: App) -> CancellationOut:
        """Cancel: a customer under the offering's policy (what comes back depends on how
        long before the start), the host or an owner always with a full refund."""
        result = patronage.handle(CancelBooking(actor=actor, booking_id=booking_id,
                                                reason=data.reason))
        return CancellationOut(booking=booking_out(result.view), outcome=result.outcome.value,
                               refunded=str(result.refunded.amount) if result.refunded
                               else None, credits_returned=result.credits_returned)

    @post("/{booking_id:uuid}/reschedule", status_code=200, sync_to_thread=True,
          responses=problems(400, 401, 403, 404, 409, 422, 503))
    def reschedule(self, booking_id: FromPath[UUID], data: JSONBody[RescheduleBody],
                   actor: Actor, patronage: App) -> BookingOut:
        """Move a confirmed booking to another session, slot or cohort of the same offering
        (same payment). Customers: while early cancellation is open; hosts: any time. The
        new seat is taken before the old is given back: a full session is a 409 and the
        booking stays where it was."""
        return booking_out(patronage.handle(RescheduleBooking(
            actor=actor, booking_id=booking_id, starts_at=data.starts_at, cohort=data.cohort)))

    @post("/{booking_id:uuid}/mark", status_code=200, sync_to_thread=True, responses=CREATOR,
          opt=takes_key(Scope.OFFERINGS_WRITE))
    def mark(self, booking_id: FromPath[UUID], data: JSONBody[MarkBody], actor: Actor,
             patronage: App) -> HostBookingOut:
        """The host marks a booking completed or no_show."""
        b = patronage.handle(MarkBooking(actor=actor, booking_id=booking_id,
                                         status=data.status))
        return host_booking_out(b)


class MyCalendarFeedController(Controller):
    path = "/api/v1/me/calendar-feed"
    tags = ["me"]
    security = SECURED

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True, responses=AUTHENTICATED)
    def create(self, actor: Actor, patronage: App) -> CalendarFeedOut:
        """A private URL for your calendar app listing your bookings. It is shown this
        once (only its hash is kept); asking again makes a new one and ends the old."""
        return CalendarFeedOut(url=patronage.handle(CreateCalendarFeed(actor=actor)).url)

    @delete("/", status_code=200, sync_to_thread=True, responses=AUTHENTICATED)
    def revoke(self, actor: Actor, patronage: App) -> dict[str, bool]:
        """Stop your calendar feed URL from working."""
        return {"revoked": bool(patronage.handle(RevokeCalendarFeed(actor=actor)))}


class CalendarFeedController(Controller):
    path = "/api/v1/calendar-feeds"
    tags = ["bookings"]

    @get("/{token:str}/bookings.ics", sync_to_thread=True,
         responses=problems(400, 404, 503), media_type="text/calendar")
    def feed(self, token: FromPath[Annotated[str, Parameter(max_length=100)]],
             patronage: App) -> Response[bytes]:
        """A customer's bookings as an iCalendar feed, by the secret in its URL."""
        data = patronage.handle(ReadCalendarFeed(token=token))
        return Response(data, media_type="text/calendar",
                        headers={"Cache-Control": "private, no-store"})


class MyBookingsController(Controller):
    path = "/api/v1/me/bookings"
    tags = ["me"]
    security = SECURED

    @get("/", sync_to_thread=True, responses=AUTHENTICATED)
    def list_bookings(
        self, actor: Actor, patronage: App,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=200)]] = 50,
        offset: FromQuery[Annotated[int, Parameter(ge=0, le=MAX_OFFSET)]] = 0,
    ) -> list[BookingOut]:
        """Your bookings, latest session first; the join link only while confirmed."""
        return [booking_out(v) for v in patronage.handle(MyBookings(actor=actor, limit=limit,
                                                                    offset=offset))]

    @get("/{booking_id:uuid}", sync_to_thread=True, responses=AUTHENTICATED)
    def one(self, booking_id: FromPath[UUID], actor: Actor, patronage: App) -> BookingOut:
        """One of your bookings."""
        return booking_out(patronage.handle(MyBooking(actor=actor, booking_id=booking_id)))

    @get("/{booking_id:uuid}/calendar.ics", sync_to_thread=True, responses=AUTHENTICATED,
         media_type="text/calendar")
    def calendar(self, booking_id: FromPath[UUID], actor: Actor, patronage: App
                 ) -> Response[bytes]:
        """The booking as an iCalendar file, in the offering's time zone."""
        data = patronage.handle(BookingCalendar(actor=actor, booking_id=booking_id))
        return Response(data, media_type="text/calendar", headers={
            "Content-Disposition": f'attachment; filename="booking-{booking_id}.ics"'})
