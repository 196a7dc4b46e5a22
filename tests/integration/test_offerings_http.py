"""Offerings and bookings over HTTP against PostgreSQL, with the sandbox gateway.

A creator publishes a 1:1 bookable offering and a three-seat class; customers book
with a card, with their membership and with credits; cancellations inside and
outside the policy's window return what the policy says; rescheduling; portals whose
resources unlock as the sandbox's clock moves; calendar files; and who may see what.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy.tables import offering_portal_access, offering_sessions, offerings
from application.catalog.authoring import CreateContent, PublishContent
from application.identity.administration import ActAs
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.catalog.rules import ContentType, Visibility
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.accounts import PASSWORD, Headers
from tests.integration.conftest import FAST_ARGON2, Inbox, plain
from tests.integration.wire import require_libpq_tracing, round_trips, statements
from tests.unit.fakes.system import FrozenClock

Client = TestClient[Litestar]
GOOD_CARD = "4242424242424242"
RANGE = "from=2026-12-01T00:00:00Z&to=2027-02-01T00:00:00Z"


class Studio:
    def __init__(self, patronage: Patronage, client: Client, inbox: Inbox) -> None:
        self.patronage, self.client, self.inbox = patronage, client, inbox
        self._tokens: dict[str, Headers] = {}
        system = Principal.system()
        for email, role in (("owner@example.com", Role.PLATFORM_OWNER),
                            ("host@example.com", Role.PLATFORM_CREATOR),
                            ("other@example.com", Role.PLATFORM_CREATOR),
                            ("ann@example.com", Role.CUSTOMER),
                            ("bob@example.com", Role.CUSTOMER),
                            ("cat@example.com", Role.CUSTOMER)):
            patronage.handle(CreateUser(actor=system, email=email, password=PASSWORD,
                                        full_name=email.split("@")[0].title(), role=role,
                                        verified=True))

    def auth(self, who: str) -> Headers:
        # Signing in costs an argon2 verification: reuse the token until the clock moves.
        if who in self._tokens:
            return dict(self._tokens[who])  # a copy: callers add headers to it
        response = self.client.post("/api/v1/auth/login",
                                    json={"email": f"{who}@example.com", "password": PASSWORD})
        assert response.status_code == 200, response.text
        self._tokens[who] = {"Authorization": f"Bearer {response.json()['token']}"}
        return dict(self._tokens[who])

    def offering(self, who: str = "host", publish: bool = True, **fields: Any
                 ) -> dict[str, Any]:
        response = self.client.post("/api/v1/studio/offerings", json=fields,
                                    headers=self.auth(who))
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()["offering"]
        if publish:
            published = self.client.post(f"/api/v1/studio/offerings/{body['id']}/publish",
                                         headers=self.auth(who))
            assert published.status_code == 200, published.text
        return body

    def sessions(self, slug: str, extra: str = "") -> list[dict[str, Any]]:
        response = self.client.get(f"/api/v1/offerings/{slug}/sessions?{RANGE}{extra}")
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["sessions"]
        return found

    def book(self, who: str, offering: dict[str, Any], method: str, *,
             starts_at: str | None = None, card: str | None = None,
             key: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"offering_id": offering["id"], "payment_method": method}
        if starts_at is not None:
            body["starts_at"] = starts_at
        if card is not None:
            body["card"] = card
        headers = self.auth(who)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post("/api/v1/bookings", json=body, headers=headers)

    def credits(self, who: str, amount: int) -> None:
        response = self.client.post("/api/v1/admin/credits/adjust", headers=self.auth("owner"),
                                    json={"email": f"{who}@example.com", "amount": amount,
                                          "reason": "Class pass"})
        assert response.status_code == 200, response.text

    def balance(self, who: str) -> int:
        found: int = self.client.get("/api/v1/me/credits",
                                     headers=self.auth(who)).json()["balance"]
        return found

    def advance(self, days: int) -> None:
        response = self.client.post("/api/v1/admin/sandbox/advance", json={"days": days},
                                    headers=self.auth("owner"))
        assert response.status_code == 200, response.text
        self._tokens.clear()  # sessions may have ended in the time that passed

    def subjects(self, who: str) -> list[str]:
        self.patronage.wait_for_events()
        return [str(m["Subject"]) for m in self.inbox.messages(f"{who}@example.com")]


# Sunday morning, two days before the first Tuesday class: every test runs on this
# date, whatever the real one, and moves on with the sandbox's clock.
T0 = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)


@pytest.fixture
def studio(settings: Settings, clean_db: sa.Engine, inbox: Inbox) -> Iterator[Studio]:
    app = bootstrap(settings, engine=clean_db, hasher=Argon2PasswordHasher(**FAST_ARGON2),
                    clock=FrozenClock(T0))
    with TestClient(app=create_app(app)) as client:
        yield Studio(app, client, inbox)
    app.dispatcher.close()


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


CLASS: dict[str, Any] = {
    "title": "Tuesday strength class", "offering_type": "recurring_fixed",
    "schedule": {"pattern": "weekly", "day": "tuesday", "time": "18:00",
                 "duration_minutes": 60, "start_date": "2026-12-08", "count": 8},
    "capacity_type": "small_group", "max_participants": 3, "delivery_method": "online",
    "join_url": "https://meet.example.com/strength", "price": "15.00", "credit_cost": 2,
    "timezone": "Europe/Paris",
    "payment_options": {"pay_per_session": True,
                        "cancellation": {"hours_before": 24, "early": "full_refund",
                                         "late": "nothing"}},
}
ONE_ON_ONE: dict[str, Any] = {
    "title": "Private coaching", "offering_type": "recurring_bookable",
    "schedule": {"availability": {"monday": [{"start": "09:00", "end": "12:00"}],
                                  "wednesday": [{"start": "14:00", "end": "16:00"}]},
                 "session_minutes": 60, "buffer_minutes": 15, "minimum_notice_hours": 12,
                 "booking_window_days": 60},
    "capacity_type": "one_on_one", "delivery_method": "online", "price": "80.00",
    "credit_cost": 8, "timezone": "America/New_York",
    "join_url": "https://meet.example.com/private",
}


# -- authoring ------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"schedule": {**CLASS["schedule"], "day": "tuesdai"}}, "schedule.day", "schedule.weekday"),
    ({"schedule": {**CLASS["schedule"], "time": "25:00"}}, "schedule.time", "schedule.time"),
    ({"schedule": {**CLASS["schedule"], "end_date": "2027-01-01"}}, "schedule.count",
     "schedule.invalid"),
    ({"schedule": {**CLASS["schedule"], "colour": "red"}}, "schedule.colour",
     "schedule.unknown_field"),
    ({"max_participants": None}, "max_participants", "offering.capacity"),
    ({"delivery_method": "in_person"}, "location_details", "validation.required"),
    ({"timezone": "Mars/Olympus"}, "timezone", None),
    ({"payment_options": {"installments": {"count": 3}}}, "payment_options.installments",
     "offering.options"),
    ({"payment_options": {"pay_per_session": "yes"}}, "payment_options.pay_per_session",
     "offering.options"),
    ({"offering_type": "one_time_event", "payment_options": {"pay_per_session": True},
      "schedule": {"date": "2027-01-05", "start_time": "18:00", "duration_minutes": 60}},
     "payment_options.pay_per_session", "offering.options"),  # only recurring classes
    ({"payment_options": {"cancellation": {"hours_before": -1}}},
     "payment_options.cancellation.hours_before", "offering.policy"),
])
def test_bad_offerings_are_refused_naming_the_field(studio: Studio, change: dict[str, Any],
                                                     field: str, code: str | None) -> None:
    response = studio.client.post("/api/v1/studio/offerings", json={**CLASS, **change},
                                  headers=studio.auth("host"))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["errors"][0]["field"] == field
    if code is not None:
        assert body["code"] == code
    with studio.patronage.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(offerings)).scalar_one() == 0


def test_creators_manage_their_own_offerings_and_customers_none(studio: Studio) -> None:
    draft = studio.offering(publish=False, **CLASS)
    assert studio.client.get("/api/v1/offerings").json() == []
    problem(studio.client.get(f"/api/v1/offerings/{draft['slug']}"), 404, "offering.not_found")
    other, host = studio.auth("other"), studio.auth("host")
    for verb, path in (("get", ""), ("patch", ""), ("post", "/publish"), ("delete", "")):
        kwargs: dict[str, Any] = {"json": {"title": "Mine now"}} if verb == "patch" else {}
        response = getattr(studio.client, verb)(f"/api/v1/studio/offerings/{draft['id']}{path}",
                                                headers=other, **kwargs)
        problem(response, 404, "offering.not_found")
    problem(studio.client.post("/api/v1/studio/offerings", json=CLASS,
                               headers=studio.auth("ann")), 403, "auth.creators_only")
    renamed = studio.client.patch(f"/api/v1/studio/offerings/{draft['id']}", headers=host,
                                  json={"title": "Strength, Tuesdays"})
    assert renamed.json()["offering"]["title"] == "Strength, Tuesdays"
    assert renamed.json()["offering"]["slug"] == draft["slug"]  # slugs are stable
    owner_view = studio.client.get("/api/v1/studio/offerings", headers=studio.auth("owner"))
    assert [o["offering"]["id"] for o in owner_view.json()] == [draft["id"]]
    assert studio.client.get("/api/v1/studio/offerings", headers=other).json() == []
    studio.client.post(f"/api/v1/studio/offerings/{draft['id']}/publish", headers=host)
    listed = studio.client.get("/api/v1/offerings?offering_type=recurring_fixed").json()
    assert [o["slug"] for o in listed] == [draft["slug"]]
    assert "join_url" not in listed[0]
    assert studio.client.get("/api/v1/offerings?delivery_method=in_person").json() == []
    deleted = studio.client.delete(f"/api/v1/studio/offerings/{draft['id']}", headers=host)
    assert deleted.status_code == 200
    problem(studio.client.get(f"/api/v1/offerings/{draft['slug']}"), 404, "offering.not_found")


def test_sessions_show_local_times_seats_left_and_the_viewers_zone(studio: Studio) -> None:
    klass = studio.offering(**CLASS)
    sessions = studio.sessions(klass["slug"], "&tz=America/New_York")
    assert len(sessions) == 8
    first = sessions[0]
    # 18:00 in Paris in December is 17:00 UTC and noon in New York.
    assert first["starts_at"] == "2026-12-08T17:00:00Z"
    assert first["local_start"] == "2026-12-08T18:00:00+01:00"
    assert first["viewer_start"] == "2026-12-08T12:00:00-05:00"
    assert {s["seats_left"] for s in sessions} == {3}
    assert studio.client.get(f"/api/v1/offerings/{klass['slug']}/sessions?tz=Nowhere/City"
                             ).status_code == 422
    bad = studio.client.get(f"/api/v1/offerings/{klass['slug']}/sessions?"
                            "from=2027-01-01T00:00:00Z&to=2026-12-01T00:00:00Z")
    problem(bad, 422, "sessions.range")


# -- booking ---------------------------------------------------------------------------------


def test_a_three_seat_class_books_by_card_membership_and_credits_then_is_full(
        studio: Studio) -> None:
    klass = studio.offering(**CLASS)
    tier = studio.client.post("/api/v1/admin/tiers", headers=studio.auth("owner"), json={
        "name": "Studio", "price_monthly": "30.00",
        "offering_access_rules": [{"offering_type": "recurring_fixed", "access": "free"}]})
    assert tier.status_code == 201, tier.text
    joined = studio.client.post("/api/v1/subscriptions", headers=studio.auth("bob"),
                                json={"tier_id": tier.json()["id"]})
    assert joined.status_code == 201, joined.text
    studio.credits("cat", 5)
    session = studio.sessions(klass["slug"])[0]["starts_at"]

    by_card = studio.book("ann", klass, "purchase", starts_at=session, card=GOOD_CARD)
    assert by_card.status_code == 201, by_card.text
    assert (by_card.json()["status"], by_card.json()["amount_paid"]) == ("confirmed", "15.00")
    assert by_card.json()["join_url"] == "https://meet.example.com/strength"
    by_membership = studio.book("bob", klass, "subscription", starts_at=session)
    assert by_membership.status_code == 201, by_membership.text
    assert (by_membership.json()["amount_paid"], by_membership.json()["credits_used"]) == (
        "0.00", 0)
    by_credits = studio.book("cat", klass, "credits", starts_at=session)
    assert by_credits.json()["credits_used"] == 2 and studio.balance("cat") == 3

    studio.patronage.handle(CreateUser(actor=Principal.system(), email="eve@example.com",
                                       password=PASSWORD, full_name="Eve",
                                       role=Role.CUSTOMER, verified=True))
    studio.credits("eve", 4)
    problem(studio.book("eve", klass, "credits", starts_at=session), 409, "offering.full")
    assert studio.balance("eve") == 4
    assert studio.sessions(klass["slug"])[0]["seats_left"] == 0
    problem(studio.book("ann", klass, "credits", starts_at=session), 409, "booking.exists")
    with studio.patronage.engine.connect() as conn:
        seats = conn.execute(sa.select(offering_sessions.c.taken)).scalar_one()
        count = conn.execute(sa.select(offerings.c.booking_count)).scalar_one()
    assert (seats, count) == (3, 3)
    assert "Booked: Tuesday strength class" in studio.subjects("ann")
    confirmation = next(m for m in studio.inbox.messages("ann@example.com")
                        if str(m["Subject"]).startswith("Booked:"))
    (invite,) = list(confirmation.iter_attachments())
    assert invite.get_content_type() == "text/calendar"
    assert b"DTSTART;TZID=Europe/Paris:20261208T180000" in invite.get_payload(decode=True)


def test_what_cannot_be_booked_gets_a_clear_code(studio: Studio) -> None:
    klass = studio.offering(**CLASS)
    not_credit = studio.offering(**{**CLASS, "title": "Cash only", "credit_cost": None})
    session = studio.sessions(klass["slug"])[0]["starts_at"]
    problem(studio.book("ann", klass, "credits", starts_at=session), 409, "credits.insufficient")
    problem(studio.book("ann", not_credit, "credits",
                        starts_at=studio.sessions(not_credit["slug"])[0]["starts_at"]), 409,
            "booking.credits_not_accepted")
    problem(studio.book("ann", klass, "subscription", starts_at=session), 403,
            "booking.membership_required")
    problem(studio.book("ann", klass, "purchase", starts_at="2026-12-09T17:00:00Z"), 422,
            "booking.no_such_session")
    problem(studio.book("ann", klass, "purchase"), 422, "booking.session_required")
    problem(studio.book("ann", klass, "purchase", starts_at=session, card="4000000000000002"),
            402, "payment.declined")
    assert studio.sessions(klass["slug"])[0]["seats_left"] == 3  # the hold was released
    closed = studio.offering(**{**CLASS, "title": "Closed",
                                "registration_deadline": "2026-12-01T00:00:00Z"})
    problem(studio.book("ann", closed, "purchase",
                        starts_at=studio.sessions(closed["slug"])[0]["starts_at"]), 409,
            "booking.registration_closed")
    draft = studio.offering(publish=False, **{**CLASS, "title": "Draft"})
    problem(studio.book("ann", draft, "purchase", starts_at=session), 404, "offering.not_found")
    studio.advance(3)  # past the first session
    problem(studio.book("ann", klass, "purchase", starts_at=session), 409,
            "booking.session_past")


def test_an_idempotency_key_makes_one_booking(studio: Studio) -> None:
    klass = studio.offering(**CLASS)
    studio.credits("ann", 10)
    session = studio.sessions(klass["slug"])[0]["starts_at"]
    first = studio.book("ann", klass, "credits", starts_at=session, key="tue-1")
    again = studio.book("ann", klass, "credits", starts_at=session, key="tue-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert studio.balance("ann") == 8


def test_one_on_one_slots_respect_buffers_notice_and_each_other(studio: Studio) -> None:
    coaching = studio.offering(**ONE_ON_ONE)
    slots = studio.sessions(coaching["slug"])
    # Mondays 09:00 and 10:15 (60 minutes + 15 of buffer), then Wednesdays 14:00.
    local = [s["local_start"][11:16] for s in slots[:3]]
    assert local[:2] == ["09:00", "10:15"] or local[0] == "14:00"
    chosen = slots[0]
    booked = studio.book("ann", coaching, "purchase", starts_at=chosen["starts_at"],
                         card=GOOD_CARD)
    assert booked.status_code == 201, booked.text
    after = studio.sessions(coaching["slug"])
    assert chosen["starts_at"] not in [s["starts_at"] for s in after]
    problem(studio.book("bob", coaching, "purchase", starts_at=chosen["starts_at"],
                        card=GOOD_CARD), 409, "booking.slot_unavailable")
    # Inside the 12 hours of notice no slot is offered.
    now = datetime.fromisoformat(studio.client.post(
        "/api/v1/admin/sandbox/advance", json={"days": 1},
        headers=studio.auth("owner")).json()["now"])
    assert all(datetime.fromisoformat(s["starts_at"]) >= now + timedelta(hours=12)
               for s in studio.sessions(coaching["slug"]))


def test_cancelling_returns_what_the_policy_says(studio: Studio) -> None:
    klass = studio.offering(**CLASS)
    studio.credits("cat", 10)
    sessions = studio.sessions(klass["slug"])
    early = studio.book("ann", klass, "purchase", starts_at=sessions[1]["starts_at"],
                        card=GOOD_CARD).json()
    late = studio.book("cat", klass, "credits", starts_at=sessions[0]["starts_at"]).json()
    out = studio.client.post(f"/api/v1/bookings/{early['id']}/cancel", json={},
                             headers=studio.auth("ann"))
    assert out.status_code == 200, out.text
    assert (out.json()["outcome"], out.json()["refunded"]) == ("full_refund", "15.00")
    assert out.json()["booking"]["join_url"] is None
    problem(studio.client.post(f"/api/v1/bookings/{early['id']}/cancel", json={},
                               headers=studio.auth("ann")), 409, "booking.not_active")
    # Inside the 24 hours before the first session: the policy returns nothing.
    starts = datetime.fromisoformat(sessions[0]["starts_at"])
    now = datetime.fromisoformat(studio.client.post(
        "/api/v1/admin/sandbox/advance", json={"days": 1},
        headers=studio.auth("owner")).json()["now"])
    days_left = (starts - now).days
    if days_left >= 1:
        studio.advance(days_left)
    balance = studio.balance("cat")
    out = studio.client.post(f"/api/v1/bookings/{late['id']}/cancel", json={},
                             headers=studio.auth("cat"))
    assert (out.json()["outcome"], out.json()["credits_returned"]) == ("nothing", 0)
    assert studio.balance("cat") == balance
    assert any(s.startswith("Cancelled: Tuesday") for s in studio.subjects("ann"))


def test_the_host_cancels_with_a_full_return_and_others_cannot(studio: Studio) -> None:
    klass = studio.offering(**CLASS)
    studio.credits("cat", 4)
    booking = studio.book("cat", klass, "credits",
                          starts_at=studio.sessions(klass["slug"])[0]["starts_at"]).json()
    for who in ("bob", "other"):
        problem(studio.client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={},
                                   headers=studio.auth(who)), 404, "booking.not_found")
    out = studio.client.post(f"/api/v1/bookings/{booking['id']}/cancel",
                             json={"reason": "Studio closed"}, headers=studio.auth("host"))
    assert (out.json()["outcome"], out.json()["credits_returned"]) == ("full_refund", 2)
    assert studio.balance("cat") == 4


def test_rescheduling_moves_the_seat_and_keeps_the_payment(studio: Studio) -> None:
    klass = studio.offering(**{**CLASS, "max_participants": 1})
    studio.credits("ann", 2)
    studio.credits("bob", 2)
    sessions = studio.sessions(klass["slug"])
    mine = studio.book("ann", klass, "credits", starts_at=sessions[1]["starts_at"]).json()
    studio.book("bob", klass, "credits", starts_at=sessions[2]["starts_at"])
    problem(studio.client.post(f"/api/v1/bookings/{mine['id']}/reschedule",
                               json={"starts_at": sessions[2]["starts_at"]},
                               headers=studio.auth("ann")), 409, "offering.full")
    assert studio.sessions(klass["slug"])[1]["seats_left"] == 0  # still hers
    moved = studio.client.post(f"/api/v1/bookings/{mine['id']}/reschedule",
                               json={"starts_at": sessions[3]["starts_at"]},
                               headers=studio.auth("ann"))
    assert moved.status_code == 200, moved.text
    assert (moved.json()["id"], moved.json()["starts_at"], moved.json()["credits_used"]) == (
        mine["id"], sessions[3]["starts_at"], 2)
    seats = {s["starts_at"]: s["seats_left"] for s in studio.sessions(klass["slug"])}
    assert (seats[sessions[1]["starts_at"]], seats[sessions[3]["starts_at"]]) == (1, 0)
    assert "Moved: Tuesday strength class" in studio.subjects("ann")


# -- my bookings, calendar files, portals ------------------------------------------------


def test_my_bookings_and_calendar_files_are_mine_alone(studio: Studio) -> None:
    klass = studio.offering(**CLASS)
    studio.credits("ann", 2)
    booking = studio.book("ann", klass, "credits",
                          starts_at=studio.sessions(klass["slug"])[0]["starts_at"]).json()
    mine = studio.client.get("/api/v1/me/bookings", headers=studio.auth("ann")).json()
    assert [b["id"] for b in mine] == [booking["id"]]
    assert studio.client.get("/api/v1/me/bookings", headers=studio.auth("bob")).json() == []
    problem(studio.client.get(f"/api/v1/me/bookings/{booking['id']}",
                              headers=studio.auth("bob")), 404, "booking.not_found")
    problem(studio.client.get(f"/api/v1/me/bookings/{booking['id']}/calendar.ics",
                              headers=studio.auth("bob")), 404, "booking.not_found")
    ics = studio.client.get(f"/api/v1/me/bookings/{booking['id']}/calendar.ics",
                            headers=studio.auth("ann"))
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    text = ics.text.replace("\r\n ", "")
    assert "DTSTART;TZID=Europe/Paris:20261208T180000" in text
    assert "BEGIN:VTIMEZONE" in text and "TZID:Europe/Paris" in text
    assert "meet.example.com/strength" in text
    hosts = studio.client.get(f"/api/v1/studio/offerings/{klass['id']}/bookings",
                              headers=studio.auth("host"))
    assert [b["id"] for b in hosts.json()] == [booking["id"]]
    problem(studio.client.get(f"/api/v1/studio/offerings/{klass['id']}/bookings",
                              headers=studio.auth("other")), 404, "offering.not_found")


def test_portal_resources_unlock_on_time_and_only_for_participants(studio: Studio) -> None:
    host = studio.patronage.handle(ActAs(actor=Principal.system(), email="host@example.com"))
    notes = studio.patronage.handle(CreateContent(
        actor=host, title="Class notes", content_type=ContentType.WRITTEN,
        visibility=Visibility.PRIVATE, body_html="<p>Notes. THE-END</p>"))
    studio.patronage.handle(PublishContent(actor=host, content_id=notes.id))
    klass = studio.offering(**{**CLASS, "portal_config": {"access_before_days": 7,
                                                          "access_after_days": 2}})
    base = f"/api/v1/studio/offerings/{klass['id']}/resources"
    hdr = studio.auth("host")
    for body in ({"resource_type": "text", "title": "Welcome", "text_content": "Hello!",
                  "available_when": "before"},
                 {"resource_type": "link", "title": "Playlist",
                  "link_url": "https://music.example.com/list", "available_when": "during"},
                 {"resource_type": "content", "title": "Notes", "content_id": str(notes.id),
                  "available_when": "after"}):
        assert studio.client.post(base, json=body, headers=hdr).status_code == 201
    problem(studio.client.post(base, json={"resource_type": "link", "title": "x"},
                               headers=hdr), 422, "resource.reference")
    studio.credits("ann", 2)
    first = studio.sessions(klass["slug"])[0]
    studio.book("ann", klass, "credits", starts_at=first["starts_at"])
    problem(studio.client.get(f"/api/v1/portals/{klass['slug']}", headers=studio.auth("bob")),
            404, "portal.not_found")

    def portal() -> dict[str, dict[str, Any]]:
        response = studio.client.get(f"/api/v1/portals/{klass['slug']}",
                                     headers=studio.auth("ann"))
        assert response.status_code == 200, response.text
        return {i["title"]: i for i in response.json()["items"]}

    items = portal()
    assert items["Welcome"]["unlocked"] and items["Welcome"]["text_content"] == "Hello!"
    assert not items["Playlist"]["unlocked"] and items["Playlist"]["link_url"] is None
    assert items["Playlist"]["unlocks_at"] == first["starts_at"]
    assert not items["Notes"]["unlocked"]
    notes_access = f"/api/v1/content/{notes.id}/access"
    # A private item: to those it is not open to, it does not exist.
    problem(studio.client.get(notes_access, headers=studio.auth("ann")), 404,
            "content.not_found")
    studio.advance(3)  # the session (Tuesday 8th) is over
    items = portal()
    assert items["Playlist"]["unlocked"] and items["Notes"]["unlocked"]
    assert items["Notes"]["content_reason"] == "portal"
    assert studio.client.get(notes_access, headers=studio.auth("ann")).json() == {
        "allowed": True, "reason": "portal"}
    problem(studio.client.get(notes_access, headers=studio.auth("bob")), 404,
            "content.not_found")
    studio.advance(3)  # two days after the session the portal closes
    problem(studio.client.get(f"/api/v1/portals/{klass['slug']}", headers=studio.auth("ann")),
            404, "portal.not_found")
    problem(studio.client.get(notes_access, headers=studio.auth("ann")), 404,
            "content.not_found")


def test_a_cancelled_booking_closes_its_portal(studio: Studio) -> None:
    klass = studio.offering(**{**CLASS, "portal_config": {"access_before_days": 30}})
    studio.credits("ann", 2)
    booking = studio.book("ann", klass, "credits",
                          starts_at=studio.sessions(klass["slug"])[2]["starts_at"]).json()
    assert studio.client.get(f"/api/v1/portals/{klass['slug']}",
                             headers=studio.auth("ann")).status_code == 200
    studio.client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={},
                       headers=studio.auth("ann"))
    problem(studio.client.get(f"/api/v1/portals/{klass['slug']}", headers=studio.auth("ann")),
            404, "portal.not_found")
    with studio.patronage.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(offering_portal_access)
                            ).scalar_one() == 0


def test_hosts_mark_bookings_completed_or_no_show(studio: Studio) -> None:
    klass = studio.offering(**CLASS)
    studio.credits("ann", 2)
    booking = studio.book("ann", klass, "credits",
                          starts_at=studio.sessions(klass["slug"])[0]["starts_at"]).json()
    problem(studio.client.post(f"/api/v1/bookings/{booking['id']}/mark",
                               json={"status": "no_show"}, headers=studio.auth("ann")), 404,
            "booking.not_found")
    marked = studio.client.post(f"/api/v1/bookings/{booking['id']}/mark",
                                json={"status": "no_show"}, headers=studio.auth("host"))
    assert marked.json()["status"] == "no_show"
    assert UUID(marked.json()["id"]) == UUID(booking["id"])


def test_each_reminder_goes_out_once_however_many_workers_run(studio: Studio) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from application.offerings.reminders import SendDueReminders

    klass = studio.offering(**CLASS)
    studio.credits("ann", 2)
    studio.book("ann", klass, "credits",
                starts_at=studio.sessions(klass["slug"])[0]["starts_at"])
    system = Principal.system()

    def workers() -> int:
        with ThreadPoolExecutor(max_workers=4) as pool:
            return sum(pool.map(lambda _: int(studio.patronage.handle(
                SendDueReminders(actor=system))), range(4)))

    assert workers() == 0  # the session is two days away
    studio.advance(2)  # now within 24 hours (the class is at 17:00 UTC on the 8th)
    first = workers()
    assert workers() == 0
    reminders = [s for s in studio.subjects("ann") if s.startswith("Reminder:")]
    assert first == len(reminders) >= 1
    assert len(set(reminders)) == len(reminders)


def test_a_private_calendar_feed_lists_my_bookings_until_revoked(studio: Studio) -> None:
    klass = studio.offering(**CLASS)
    studio.credits("ann", 4)
    sessions = studio.sessions(klass["slug"])
    for session in sessions[:2]:
        studio.book("ann", klass, "credits", starts_at=session["starts_at"])
    first = studio.client.post("/api/v1/me/calendar-feed", headers=studio.auth("ann"))
    assert first.status_code == 201
    path = first.json()["url"].split(".com", 1)[1]
    feed = studio.client.get(path)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert feed.text.count("BEGIN:VEVENT") == 2
    second = studio.client.post("/api/v1/me/calendar-feed", headers=studio.auth("ann"))
    problem(studio.client.get(path), 404, "calendar.not_found")  # replaced
    new_path = second.json()["url"].split(".com", 1)[1]
    assert studio.client.get(new_path).status_code == 200
    bob = studio.client.post("/api/v1/me/calendar-feed", headers=studio.auth("bob"))
    bob_feed = studio.client.get(bob.json()["url"].split(".com", 1)[1])
    assert "BEGIN:VEVENT" not in bob_feed.text
    assert studio.client.delete("/api/v1/me/calendar-feed",
                                headers=studio.auth("ann")).json() == {"revoked": True}
    problem(studio.client.get(new_path), 404, "calendar.not_found")


def test_a_freed_seat_goes_to_the_first_on_the_waiting_list_and_then_the_next(
        studio: Studio) -> None:
    from application.offerings.waitlist import LapseWaitlistOffers

    klass = studio.offering(**{**CLASS, "max_participants": 1, "payment_options": {
        "pay_per_session": True,
        "waitlist": True, "waitlist_hold_minutes": 120,
        "cancellation": {"hours_before": 0, "early": "full_refund", "late": "nothing"}}})
    for who in ("ann", "bob", "cat"):
        studio.credits(who, 4)
    session = studio.sessions(klass["slug"])[1]["starts_at"]
    seat = studio.book("ann", klass, "credits", starts_at=session).json()
    full = problem(studio.book("bob", klass, "credits", starts_at=session), 409,
                   "offering.full")
    assert full["waitlist"] is True  # the client can offer to join the waiting list

    def join(who: str) -> dict[str, Any]:
        response = studio.client.post("/api/v1/bookings/waitlist", headers=studio.auth(who),
                                      json={"offering_id": klass["id"], "starts_at": session})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    assert [join("bob")["position"], join("cat")["position"]] == [1, 2]
    problem(studio.client.post("/api/v1/bookings/waitlist", headers=studio.auth("bob"),
                               json={"offering_id": klass["id"], "starts_at": session}),
            409, "waitlist.exists")
    studio.client.post(f"/api/v1/bookings/{seat['id']}/cancel", json={},
                       headers=studio.auth("ann"))
    assert any(s.startswith("A place opened") for s in studio.subjects("bob"))
    assert studio.sessions(klass["slug"])[1]["seats_left"] == 0  # held for bob
    problem(studio.book("cat", klass, "credits", starts_at=session), 409, "offering.full")
    problem(studio.book("ann", klass, "credits", starts_at=session), 409, "offering.full")
    # Bob lets the offer lapse: it passes to Cat.
    studio.advance(1)
    studio.patronage.handle(LapseWaitlistOffers(actor=Principal.system()))
    problem(studio.book("bob", klass, "credits", starts_at=session), 409, "offering.full")
    assert any(s.startswith("A place opened") for s in studio.subjects("cat"))
    taken = studio.book("cat", klass, "credits", starts_at=session)
    assert taken.status_code == 201, taken.text
    with studio.patronage.engine.connect() as conn:
        seats = conn.execute(sa.select(offering_sessions.c.taken).where(
            offering_sessions.c.session_key == taken.json()["starts_at"].replace(
                "Z", "+00:00"))).scalar_one()
    assert seats == 1


def test_a_held_seat_is_booked_by_exactly_one_of_many_racing(studio: Studio) -> None:
    from concurrent.futures import ThreadPoolExecutor

    klass = studio.offering(**{**CLASS, "max_participants": 1, "payment_options": {
        "pay_per_session": True,
        "waitlist": True, "cancellation": {"hours_before": 0, "early": "full_refund",
                                           "late": "nothing"}}})
    people = ["ann", "bob", "cat"]
    for who in people:
        studio.credits(who, 2)
    session = studio.sessions(klass["slug"])[1]["starts_at"]
    seat = studio.book("ann", klass, "credits", starts_at=session).json()
    for who in ("bob", "cat"):
        studio.client.post("/api/v1/bookings/waitlist", headers=studio.auth(who),
                           json={"offering_id": klass["id"], "starts_at": session})
    studio.client.post(f"/api/v1/bookings/{seat['id']}/cancel", json={},
                       headers=studio.auth("ann"))
    headers = {who: studio.auth(who) for who in people}

    def book(who: str) -> int:
        return studio.client.post("/api/v1/bookings", headers=headers[who], json={
            "offering_id": klass["id"], "payment_method": "credits",
            "starts_at": session}).status_code

    racers = people * 2  # everyone twice, Bob's double click included
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(zip(racers, pool.map(book, racers), strict=True))
    assert [who for who, status in answers if status == 201] == ["bob"]
    assert {status for _, status in answers} == {201, 409}
    with studio.patronage.engine.connect() as conn:
        confirmed = conn.execute(sa.text(
            "SELECT u.email FROM offering_bookings b JOIN users u ON u.id = b.customer_id "
            "WHERE b.status = 'confirmed'")).scalars().all()
    assert confirmed == ["bob@example.com"]


def test_resources_are_edited_removed_and_uploaded_by_their_host_only(studio: Studio) -> None:
    klass = studio.offering(**{**CLASS, "portal_config": {"access_before_days": 7}})
    base = f"/api/v1/studio/offerings/{klass['id']}/resources"
    host, other = studio.auth("host"), studio.auth("other")
    made = studio.client.post(base, headers=host, json={
        "resource_type": "text", "title": "Welcome", "text_content": "Hi"}).json()
    problem(studio.client.get(base, headers=other), 404, "offering.not_found")
    problem(studio.client.patch(f"{base}/{made['id']}", headers=other, json={"title": "x"}),
            404, "offering.not_found")
    edited = studio.client.patch(f"{base}/{made['id']}", headers=host,
                                 json={"title": "Welcome pack", "display_order": 2})
    assert (edited.json()["title"], edited.json()["display_order"]) == ("Welcome pack", 2)
    # A file resource: a signed upload for this offering only, then the file itself.
    ticket = studio.client.post(f"{base}/uploads", headers=host,
                                json={"content_type": "application/pdf", "size": 5})
    assert ticket.status_code == 201, ticket.text
    key = ticket.json()["key"]
    assert key.startswith(f"offerings/{klass['id']}/") and key.endswith(".pdf")
    problem(studio.client.post(base, headers=host, json={
        "resource_type": "file", "title": "Workbook", "file_key": key}), 422,
        "resource.file_missing")
    studio.patronage.services.media.upload_file(key, _pdf(studio), content_type="application/pdf")
    added = studio.client.post(base, headers=host, json={
        "resource_type": "file", "title": "Workbook", "file_key": key,
        "available_when": "always"})
    assert added.status_code == 201, added.text
    problem(studio.client.post(f"{base}/uploads", headers=host,
                               json={"content_type": "text/html", "size": 5}), 422,
            "resource.file_type")
    assert [r["title"] for r in studio.client.get(base, headers=host).json()] == [
        "Workbook", "Welcome pack"]
    studio.credits("ann", 2)
    studio.book("ann", klass, "credits",
                starts_at=studio.sessions(klass["slug"])[0]["starts_at"])
    items = {i["title"]: i for i in studio.client.get(
        f"/api/v1/portals/{klass['slug']}", headers=studio.auth("ann")).json()["items"]}
    assert items["Workbook"]["unlocked"] and items["Workbook"]["file_url"]
    assert studio.client.delete(f"{base}/{made['id']}", headers=host).json() == {
        "removed": True}
    problem(studio.client.delete(f"{base}/{made['id']}", headers=host), 404,
            "resource.not_found")


def _pdf(studio: Studio) -> Any:
    path = studio.patronage.settings.data_dir / "workbook.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-")
    return path


def test_unpublished_and_archived_offerings_take_no_bookings(studio: Studio) -> None:
    klass = studio.offering(**CLASS)
    studio.credits("ann", 4)
    session = studio.sessions(klass["slug"])[0]["starts_at"]
    for action in ("unpublish", "archive"):
        changed = studio.client.post(f"/api/v1/studio/offerings/{klass['id']}/{action}",
                                     headers=studio.auth("host"))
        assert changed.status_code == 200, changed.text
        assert changed.json()["status"] == {"unpublish": "draft",
                                            "archive": "archived"}[action]
        problem(studio.book("ann", klass, "credits", starts_at=session), 404,
                "offering.not_found")
    got = studio.client.get(f"/api/v1/studio/offerings/{klass['id']}",
                            headers=studio.auth("host"))
    assert got.json()["offering"]["id"] == klass["id"]
    bad = studio.client.post(f"/api/v1/studio/offerings/{klass['id']}/explode",
                             headers=studio.auth("host"))
    assert bad.status_code == 400


def test_leaving_a_waiting_list_passes_a_held_seat_on(studio: Studio) -> None:
    klass = studio.offering(**{**CLASS, "max_participants": 1, "payment_options": {
        "pay_per_session": True,
        "waitlist": True, "cancellation": {"hours_before": 0}}})
    for who in ("ann", "bob", "cat"):
        studio.credits(who, 2)
    session = studio.sessions(klass["slug"])[1]["starts_at"]
    problem(studio.client.post("/api/v1/bookings/waitlist", headers=studio.auth("bob"),
                               json={"offering_id": klass["id"], "starts_at": session}),
            409, "waitlist.seats_available")
    seat = studio.book("ann", klass, "credits", starts_at=session).json()
    bob = studio.client.post("/api/v1/bookings/waitlist", headers=studio.auth("bob"),
                             json={"offering_id": klass["id"], "starts_at": session}).json()
    studio.client.post("/api/v1/bookings/waitlist", headers=studio.auth("cat"),
                       json={"offering_id": klass["id"], "starts_at": session})
    studio.client.post(f"/api/v1/bookings/{seat['id']}/cancel", json={},
                       headers=studio.auth("ann"))
    problem(studio.client.delete(f"/api/v1/bookings/waitlist/{bob['id']}",
                                 headers=studio.auth("cat")), 404, "waitlist.not_found")
    assert studio.client.delete(f"/api/v1/bookings/waitlist/{bob['id']}",
                                headers=studio.auth("bob")).json() == {"left": True}
    assert any(s.startswith("A place opened") for s in studio.subjects("cat"))
    assert studio.book("cat", klass, "credits", starts_at=session).status_code == 201
    no_list = studio.offering(**{**CLASS, "title": "No list"})
    problem(studio.client.post("/api/v1/bookings/waitlist", headers=studio.auth("bob"),
                               json={"offering_id": no_list["id"],
                                     "starts_at": studio.sessions(no_list["slug"])[0][
                                         "starts_at"]}), 409, "waitlist.not_offered")


def test_a_portal_holds_only_its_creators_content(studio: Studio) -> None:
    other = studio.patronage.handle(ActAs(actor=Principal.system(), email="other@example.com"))
    theirs = studio.patronage.handle(CreateContent(
        actor=other, title="Their private notes", content_type=ContentType.WRITTEN,
        visibility=Visibility.PRIVATE, body_html="<p>Theirs. THE-END</p>"))
    klass = studio.offering(**CLASS)
    problem(studio.client.post(f"/api/v1/studio/offerings/{klass['id']}/resources",
                               headers=studio.auth("host"),
                               json={"resource_type": "content", "title": "Borrowed",
                                     "content_id": str(theirs.id)}), 422, "resource.content")


def test_capacity_edits_apply_to_booked_sessions_and_never_below_their_bookings(
        studio: Studio) -> None:
    klass = studio.offering(**{**CLASS, "max_participants": 1})
    for who in ("ann", "bob", "cat"):
        studio.credits(who, 2)
    session = studio.sessions(klass["slug"])[0]["starts_at"]
    studio.book("ann", klass, "credits", starts_at=session)
    problem(studio.book("bob", klass, "credits", starts_at=session), 409, "offering.full")
    host = studio.auth("host")
    grown = studio.client.patch(f"/api/v1/studio/offerings/{klass['id']}", headers=host,
                                json={"max_participants": 2})
    assert grown.status_code == 200, grown.text
    assert studio.book("bob", klass, "credits", starts_at=session).status_code == 201
    problem(studio.book("cat", klass, "credits", starts_at=session), 409, "offering.full")
    problem(studio.client.patch(f"/api/v1/studio/offerings/{klass['id']}", headers=host,
                                json={"max_participants": 1}), 409,
            "offering.capacity_below_bookings")


def test_a_moved_booking_is_reminded_again_for_its_new_time(studio: Studio) -> None:
    from application.offerings.reminders import SendDueReminders

    klass = studio.offering(**{**CLASS, "payment_options": {
        "pay_per_session": True,
        "cancellation": {"hours_before": 2}}})  # moving is allowed up to 2 hours before
    studio.credits("ann", 2)
    sessions = studio.sessions(klass["slug"])
    booking = studio.book("ann", klass, "credits", starts_at=sessions[0]["starts_at"]).json()
    studio.advance(2)  # within a day of the first session: its 24-hour reminder goes out
    assert studio.patronage.handle(SendDueReminders(actor=Principal.system())) == 1
    moved = studio.client.post(f"/api/v1/bookings/{booking['id']}/reschedule",
                               json={"starts_at": sessions[1]["starts_at"]},
                               headers=studio.auth("ann"))
    assert moved.status_code == 200, moved.text
    studio.advance(7)
    assert studio.patronage.handle(SendDueReminders(actor=Principal.system())) == 1


# -- a recurring class booked as one series ------------------------------------------------

SERIES: dict[str, Any] = {**CLASS, "title": "Eight-week strength course", "max_participants": 2,
          "price": "100.00", "credit_cost": 12,
          "payment_options": {"cancellation": {"hours_before": 24, "early": "full_refund",
                                               "late": "nothing"}}}


def test_a_series_is_one_booking_holding_a_seat_in_every_session(studio: Studio) -> None:
    course = studio.offering(**SERIES)
    sessions = studio.sessions(course["slug"])
    assert len(sessions) == 8
    assert {(s["session_key"], s["seats_left"]) for s in sessions} == {("series", 2)}

    ann = studio.book("ann", course, "purchase", card=GOOD_CARD)
    assert ann.status_code == 201, ann.text
    booked = ann.json()
    assert (booked["status"], booked["amount_paid"]) == ("confirmed", "100.00")
    assert (booked["starts_at"], booked["ends_at"]) == (sessions[0]["starts_at"],
                                                        sessions[-1]["ends_at"])
    assert {s["seats_left"] for s in studio.sessions(course["slug"])} == {1}
    # A session of a series is not booked on its own.
    problem(studio.book("bob", course, "purchase", card=GOOD_CARD,
                        starts_at=sessions[3]["starts_at"]), 422, "booking.whole_series")
    studio.credits("bob", 12)
    assert studio.book("bob", course, "credits").status_code == 201
    assert studio.balance("bob") == 0
    assert {s["seats_left"] for s in studio.sessions(course["slug"])} == {0}
    problem(studio.book("cat", course, "purchase", card=GOOD_CARD), 409, "offering.full")

    # Its calendar file holds every session, each at its local time.
    ics = studio.client.get(f"/api/v1/me/bookings/{booked['id']}/calendar.ics",
                            headers=studio.auth("ann")).text.replace("\r\n ", "")
    assert ics.count("BEGIN:VEVENT") == 8
    assert "DTSTART;TZID=Europe/Paris:20261208T180000" in ics
    assert "DTSTART;TZID=Europe/Paris:20270126T180000" in ics

    # How it is booked cannot change under its bookings.
    problem(studio.client.patch(f"/api/v1/studio/offerings/{course['id']}",
                                headers=studio.auth("host"),
                                json={"payment_options": {"pay_per_session": True}}),
            409, "offering.has_bookings")
    cancelled = studio.client.post(f"/api/v1/bookings/{booked['id']}/cancel", json={},
                                   headers=studio.auth("ann"))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["refunded"] == "100.00"
    assert {s["seats_left"] for s in studio.sessions(course["slug"])} == {1}


def test_an_open_ended_class_must_be_booked_per_session(studio: Studio) -> None:
    schedule = {k: v for k, v in CLASS["schedule"].items() if k != "count"}
    response = studio.client.post("/api/v1/studio/offerings", headers=studio.auth("host"),
                                  json={**SERIES, "schedule": schedule})
    body = problem(response, 422, "offering.options")
    assert body["errors"][0]["field"] == "payment_options.pay_per_session"
    drop_in = studio.offering(**{**SERIES, "schedule": schedule,
                                 "payment_options": {"pay_per_session": True}})
    first = studio.sessions(drop_in["slug"])[0]
    assert studio.book("ann", drop_in, "purchase", card=GOOD_CARD,
                       starts_at=first["starts_at"]).status_code == 201
    problem(studio.book("bob", drop_in, "purchase", card=GOOD_CARD), 422,
            "booking.session_required")


def test_a_series_is_reminded_before_each_of_its_sessions_once(studio: Studio) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from application.offerings.reminders import SendDueReminders

    course = studio.offering(**SERIES)
    assert studio.book("ann", course, "purchase", card=GOOD_CARD).status_code == 201
    system = Principal.system()

    def workers() -> int:
        with ThreadPoolExecutor(max_workers=4) as pool:
            return sum(pool.map(lambda _: int(studio.patronage.handle(
                SendDueReminders(actor=system))), range(4)))

    def reminders() -> list[str]:
        studio.patronage.wait_for_events()
        return [plain(m) for m in studio.inbox.messages("ann@example.com")
                if str(m["Subject"]).startswith("Reminder:")]

    assert workers() == 0
    studio.advance(2)  # the first session is in ten hours
    assert workers() == 1
    assert workers() == 0
    studio.advance(7)  # and now the second, a week later
    assert workers() == 1
    assert workers() == 0
    sent = reminders()
    assert len(sent) == 2
    assert "Tuesday 08 December 2026, 18:00 (Europe/Paris)" in sent[0]
    assert "Tuesday 15 December 2026, 18:00 (Europe/Paris)" in sent[1]


# -- hosts moving a whole session ------------------------------------------------------------


def move(studio: Studio, who: str, offering: dict[str, Any], start: str, to: str
         ) -> httpx.Response:
    return studio.client.post(f"/api/v1/studio/offerings/{offering['id']}/sessions/move",
                              headers=studio.auth(who), json={"from": start, "to": to})


def test_a_host_moves_every_booking_of_a_session_or_nobody(studio: Studio) -> None:
    klass = studio.offering(**{**CLASS, "max_participants": 2})
    first, second, third, fourth = studio.sessions(klass["slug"])[:4]
    for who, credits in (("ann", 4), ("bob", 2), ("cat", 2)):
        studio.credits(who, credits)
    for who in ("ann", "bob"):
        assert studio.book(who, klass, "credits",
                           starts_at=first["starts_at"]).status_code == 201
    assert studio.book("cat", klass, "credits", starts_at=second["starts_at"]).status_code \
        == 201
    assert studio.book("ann", klass, "credits", starts_at=third["starts_at"]).status_code \
        == 201

    def seats_left() -> list[int]:
        left = {s["starts_at"]: s["seats_left"] for s in studio.sessions(klass["slug"])}
        return [left[s["starts_at"]] for s in (first, second, third, fourth)]

    # Neither another creator nor a customer can see it to manage it.
    for who in ("other", "bob"):
        problem(move(studio, who, klass, first["starts_at"], fourth["starts_at"]), 404,
                "offering.not_found")
    problem(move(studio, "host", klass, first["starts_at"], first["starts_at"]), 409,
            "booking.same_session")
    problem(move(studio, "host", klass, fourth["starts_at"], first["starts_at"]), 404,
            "session.no_bookings")
    problem(move(studio, "host", klass, first["starts_at"], "2026-12-09T17:00:00Z"), 422,
            "booking.no_such_session")
    # Two bookings, one seat left there: nobody moves.
    problem(move(studio, "host", klass, first["starts_at"], second["starts_at"]), 409,
            "offering.full")
    # Ann is already booked in the third: nobody moves.
    problem(move(studio, "host", klass, first["starts_at"], third["starts_at"]), 409,
            "booking.exists")
    assert seats_left() == [0, 1, 1, 2]

    moved = move(studio, "host", klass, first["starts_at"], fourth["starts_at"])
    assert moved.status_code == 200, moved.text
    assert [b["starts_at"] for b in moved.json()] == [fourth["starts_at"]] * 2
    assert seats_left() == [2, 1, 1, 0]
    bobs = studio.client.get("/api/v1/me/bookings", headers=studio.auth("bob")).json()
    assert [(b["starts_at"], b["credits_used"]) for b in bobs] == [(fourth["starts_at"], 2)]
    assert "Moved: Tuesday strength class" in studio.subjects("ann")
    assert "Moved: Tuesday strength class" in studio.subjects("bob")
    assert studio.balance("bob") == 0  # the payment stays as it was


def test_only_sessions_booked_one_by_one_move(studio: Studio) -> None:
    course = studio.offering(**SERIES)
    assert studio.book("ann", course, "purchase", card=GOOD_CARD).status_code == 201
    first, second = studio.sessions(course["slug"])[:2]
    problem(move(studio, "host", course, first["starts_at"], second["starts_at"]), 409,
            "session.not_movable")


def test_a_booking_paid_with_credits_on_the_wire(studio: Studio, tmp_path: Path) -> None:
    """The round trips of a booking with credits and of what it leaves, pinned: a booking
    that grows one fails here."""
    require_libpq_tracing(studio.patronage.engine, tmp_path)
    klass = studio.offering(**CLASS)
    studio.credits("ann", 10)
    first, second = (s["starts_at"] for s in studio.sessions(klass["slug"])[:2])
    assert studio.book("ann", klass, "credits", starts_at=first).status_code == 201
    studio.auth("ann")
    studio.patronage.wait_for_events()
    with round_trips(studio.patronage.engine, tmp_path, studio.patronage) as sent, \
            statements(studio.patronage.engine) as full:
        booked = studio.book("ann", klass, "credits", starts_at=second)
        studio.patronage.wait_for_events()
    assert booked.status_code == 201, booked.text
    work = [s for s in sent if not s.startswith(("PREPARE ", "SELECT platform_settings.sandbox"))]
    print("round trips:", len(work), work)
    begin = work.index("BEGIN ISOLATION LEVEL READ COMMITTED")
    commit = work.index("COMMIT")
    booking = work[begin:commit + 1]
    # The offering, the platform's zone, a live booking of the customer's and a seat
    # held for them off the waiting list; the seat taken (one statement, made or locked);
    # the booking; the balance locked, the grants left, the last entry's number; the
    # spend; then its allocations, the balance, the portal, the offering's count and the
    # outbox messages go with the commit, as one statement.
    assert [s.split(" ")[0] for s in booking] == [
        "BEGIN", "SELECT", "SELECT", "SELECT", "SELECT", "INSERT", "INSERT", "SELECT",
        "SELECT", "SELECT", "INSERT", "WITH", "COMMIT"], booking
    assert booking[5].startswith("INSERT INTO offering_sessions"), booking
    (written,) = [s for s in full if s.startswith("WITH held_0 AS")]
    assert booking[11] == written[:len(booking[11])], booking
    for write in ("INSERT INTO credit_allocations ", "UPDATE credit_balances ",
                  "INSERT INTO offering_portal_access ", "UPDATE offerings ",
                  "INSERT INTO outbox_messages "):
        assert write in written, (write, written)
    # Before it, the session read with the customer; after it, the confirmation's
    # email (8) and notification (7), each in its own transaction.
    assert len(work[:begin]) == 1 and work[0].startswith("SELECT"), work[:begin]
    assert len(work) == 1 + len(booking) + 8 + 7, work
    assert studio.balance("ann") == 6
    assert sorted(studio.subjects("ann")).count("Booked: Tuesday strength class") == 2
