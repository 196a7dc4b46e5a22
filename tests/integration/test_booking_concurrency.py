"""Booking under real concurrent requests against PostgreSQL.

Many customers race for the last seats of a group session, for one 1:1 slot and for
slots whose buffers touch; one customer races their own credits across sessions and
their own double clicks; a paid seat's hold runs out and its payment arrives after the
seat went to someone else. Every test checks the HTTP answers and the rows left behind:
``offering_sessions.taken`` against the live bookings, ``offerings.booking_count``,
``credit_transactions`` and the credit audit.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import attrs
import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sandbox_payments.gateway import SandboxGateway
from adapters.sqlalchemy.tables import (
    booking_installments,
    credit_transactions,
    offering_bookings,
    offering_sessions,
    offerings,
    users,
)
from application.commerce.payment_events import HandlePaymentEvent
from application.credits.audit import AuditCredits, AuditReport
from application.identity.registration import CreateUser
from application.offerings.booking import ReleaseExpiredHolds
from application.offerings.installments import ChargeDueInstallments
from application.ports.payments import PaymentEvent, PaymentIntent, RefundRecord
from application.ports.payouts import Transfer
from application.principal import Principal
from domain.identity.roles import Role
from domain.offerings.schedules import WEEKDAYS
from domain.values import Money
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.accounts import PASSWORD, Headers
from tests.integration.conftest import FAST_ARGON2, Inbox

Client = TestClient[Litestar]
SYSTEM = Principal.system()
T = TypeVar("T")


# -- running things at once ---------------------------------------------------------------


def all_at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """``work(0..count-1)`` on ``count`` threads released together by a barrier, so the
    requests really overlap instead of trickling in one after another."""
    barrier = threading.Barrier(count)

    def released(n: int) -> T:
        barrier.wait(timeout=30)
        return work(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(released, range(count)))


def in_parallel(count: int, work: Callable[[int], T]) -> list[T]:
    """Setup work (accounts, logins, grants) that only needs to be quick."""
    with ThreadPoolExecutor(max_workers=min(count, 16)) as pool:
        return list(pool.map(work, range(count)))


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def outcome(response: httpx.Response) -> tuple[int, str]:
    """(201, booking id) or (status, problem code): one comparable value per answer."""
    body = response.json()
    if response.status_code == 201:
        return 201, str(body["id"])
    return response.status_code, str(body.get("code"))


# -- the platform --------------------------------------------------------------------------


class Studio:
    """An owner who publishes offerings and grants credits, and customers who book."""

    def __init__(self, patronage: Patronage, client: Client) -> None:
        self.patronage, self.client = patronage, client
        self.engine = patronage.engine
        self.owner = self.account("owner@example.com", Role.PLATFORM_OWNER)

    def account(self, email: str, role: Role = Role.CUSTOMER) -> Headers:
        self.patronage.handle(CreateUser(actor=SYSTEM, email=email, password=PASSWORD,
                                         full_name=email.split("@")[0].title(), role=role,
                                         verified=True))
        response = self.client.post("/api/v1/auth/login",
                                    json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def customers(self, prefix: str, count: int, credits: int = 0) -> list[Headers]:
        def make(n: int) -> Headers:
            email = f"{prefix}{n}@example.com"
            headers = self.account(email)
            if credits:
                self.grant(email, credits)
            return headers
        return in_parallel(count, make)

    def grant(self, email: str, amount: int) -> None:
        response = self.client.post("/api/v1/admin/credits/adjust", headers=self.owner, json={
            "email": email, "amount": amount, "reason": "booking credits"})
        assert response.status_code == 200, response.text

    def offering(self, **fields: Any) -> dict[str, Any]:
        body = {"delivery_method": "online", "timezone": "UTC", **fields}
        created = self.client.post("/api/v1/studio/offerings", json=body, headers=self.owner)
        assert created.status_code == 201, created.text
        offering_id = created.json()["offering"]["id"]
        published = self.client.post(f"/api/v1/studio/offerings/{offering_id}/publish",
                                     headers=self.owner)
        assert published.status_code == 200, published.text
        offering: dict[str, Any] = published.json()["offering"]
        return offering

    def sessions(self, offering: dict[str, Any], start: datetime | None = None,
                 days: int = 60) -> list[dict[str, Any]]:
        start = start or self.patronage.services.clock.now()
        response = self.client.get(
            f"/api/v1/offerings/{offering['slug']}/sessions",
            params={"from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat()})
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["sessions"]
        return found

    def book(self, who: Headers, offering: dict[str, Any], payment_method: str = "credits",
             starts_at: str | None = None, key: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"offering_id": offering["id"], "payment_method": payment_method}
        if starts_at is not None:
            body["starts_at"] = starts_at
        headers = dict(who)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post("/api/v1/bookings", json=body, headers=headers)

    def balance(self, who: Headers) -> int:
        response = self.client.get("/api/v1/me/credits", headers=who)
        assert response.status_code == 200, response.text
        balance: int = response.json()["balance"]
        return balance

    # -- the rows ----------------------------------------------------------------------

    def user_id(self, email: str) -> UUID:
        with self.engine.connect() as conn:
            found: UUID = conn.execute(sa.select(users.c.id).where(
                users.c.email == email)).scalar_one()
        return found

    def seats(self, offering: dict[str, Any]) -> dict[str, tuple[int, int | None]]:
        """session_key -> (taken, capacity) as stored."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(offering_sessions).where(
                offering_sessions.c.offering_id == offering["id"])).mappings()
            return {r["session_key"]: (r["taken"], r["capacity"]) for r in rows}

    def bookings(self, offering: dict[str, Any]) -> list[sa.RowMapping]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(offering_bookings).where(
                offering_bookings.c.offering_id == offering["id"])
                .order_by(offering_bookings.c.created_at)).mappings())

    def live(self, offering: dict[str, Any]) -> Counter[str]:
        """Live bookings (pending or confirmed) per session_key."""
        return Counter(b["session_key"] for b in self.bookings(offering)
                       if b["status"] in ("pending", "confirmed"))

    def booking_count(self, offering: dict[str, Any]) -> int:
        with self.engine.connect() as conn:
            count: int = conn.execute(sa.select(offerings.c.booking_count).where(
                offerings.c.id == offering["id"])).scalar_one()
        return count

    def ledger(self, customer_id: UUID) -> list[sa.RowMapping]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(credit_transactions).where(
                credit_transactions.c.customer_id == customer_id)
                .order_by(credit_transactions.c.entry_number)).mappings())

    def spends(self) -> list[sa.RowMapping]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(credit_transactions).where(
                credit_transactions.c.type == "spent_offering")).mappings())

    def assert_seats_match_bookings(self, offering: dict[str, Any]) -> None:
        """The seat counter is exactly the live bookings, and never above capacity,
        for every session of the offering (refused bookings left nothing behind)."""
        live = self.live(offering)
        seats = self.seats(offering)
        for key in set(live) | set(seats):
            taken, capacity = seats.get(key, (0, None))
            assert taken == live[key], (key, taken, live[key])
            assert capacity is None or taken <= capacity, (key, taken, capacity)
        assert self.booking_count(offering) == sum(live.values())

    def audit(self) -> AuditReport:
        report: AuditReport = self.patronage.handle(AuditCredits(actor=SYSTEM))
        assert report.clean, report.problems
        return report


@pytest.fixture
def studio(patronage: Patronage, client: Client) -> Studio:
    return Studio(patronage, client)


def weekly(first: date, count: int, at: str = "18:00") -> dict[str, Any]:
    return {"pattern": "weekly", "day": WEEKDAYS[first.weekday()], "time": at,
            "duration_minutes": 60, "start_date": first.isoformat(), "count": count}


def soon(days: int) -> date:
    return (datetime.now(UTC) + timedelta(days=days)).date()


def assert_chain(entries: list[sa.RowMapping]) -> None:
    """One customer's stored ledger is one unbroken running sum that never dips below 0."""
    assert [e["entry_number"] for e in entries] == list(range(1, len(entries) + 1))
    running = 0
    for entry in entries:
        running += entry["amount"]
        assert entry["balance_after"] == running, entries
        assert running >= 0


# -- 1: fifty customers, three seats -------------------------------------------------------


def test_fifty_parallel_bookings_for_the_last_three_seats_confirm_exactly_three(
        studio: Studio) -> None:
    group = studio.offering(title="Small group breathwork", offering_type="recurring_fixed",
                            schedule=weekly(soon(7), 4), capacity_type="small_group",
                            max_participants=5, credit_cost=2,
                            payment_options={"pay_per_session": True})
    session = studio.sessions(group)[0]
    for who in studio.customers("early", 2, credits=2):
        booked = studio.book(who, group, starts_at=session["starts_at"])
        assert booked.status_code == 201, booked.text
    crowd = studio.customers("crowd", 50, credits=3)

    answers = all_at_once(50, lambda n: studio.book(crowd[n], group,
                                                    starts_at=session["starts_at"]))

    assert Counter(a.status_code for a in answers) == Counter({201: 3, 409: 47})
    winners = [a.json() for a in answers if a.status_code == 201]
    assert {(w["status"], w["credits_used"], w["payment_method"]) for w in winners} == {
        ("confirmed", 2, "credits")}
    for refused in (a for a in answers if a.status_code != 201):
        problem(refused, 409, "offering.full")

    key = session["session_key"]
    assert studio.seats(group)[key] == (5, 5)
    bookings = studio.bookings(group)
    assert [b["status"] for b in bookings] == ["confirmed"] * 5
    assert {b["session_key"] for b in bookings} == {key}
    assert studio.booking_count(group) == 5
    studio.assert_seats_match_bookings(group)
    # Credits moved only for the five seats: one spend per booking, each linked to it.
    spends = studio.spends()
    assert sorted(s["offering_booking_id"] for s in spends) == sorted(b["id"] for b in bookings)
    assert {s["amount"] for s in spends} == {-2}
    booked_by = {b["customer_id"] for b in bookings}
    for n, who in enumerate(crowd):
        customer_id = studio.user_id(f"crowd{n}@example.com")
        entries = studio.ledger(customer_id)
        assert_chain(entries)
        won = customer_id in booked_by
        assert [e["type"] for e in entries] == (["adjustment", "spent_offering"] if won
                                                else ["adjustment"])
        assert studio.balance(who) == (1 if won else 3)
    assert studio.audit().customers == 52
    listed = {s["session_key"]: s["seats_left"] for s in studio.sessions(group)}
    assert listed[key] == 0
    assert set(listed.values()) == {0, 5}  # the other weeks are untouched


# -- 2: one 1:1 slot, and slots whose buffers touch ----------------------------------------


def test_parallel_bookings_of_one_slot_or_of_slots_within_a_buffer_let_one_through(
        studio: Studio) -> None:
    # The slot grid of one availability window steps by session + buffer (45 + 15), so
    # two slots of the same window never fall inside each other's buffer: a start
    # inside a buffer is not a slot at all. Two windows close together restart the
    # grid, though: 09:00-09:45 and 09:50-10:35 are both offered, and the second
    # starts 5 minutes after the first ends, inside its 15-minute buffer. Those pairs
    # are the real adjacent-slot race; the 14:00-17:00 window gives the plain grid.
    windows = [{"start": "09:00", "end": "09:45"}, {"start": "09:50", "end": "10:35"},
               {"start": "14:00", "end": "17:00"}]
    coaching = studio.offering(
        title="1:1 coaching", offering_type="recurring_bookable", capacity_type="one_on_one",
        price="40.00", schedule={"availability": dict.fromkeys(WEEKDAYS, windows),
                                 "session_minutes": 45, "buffer_minutes": 15,
                                 "booking_window_days": 30})
    crowd = studio.customers("client", 20)
    first_day = soon(3)
    days = [first_day + timedelta(days=n) for n in range(5)]

    def at(day: date, hhmm: str) -> str:
        return datetime.fromisoformat(f"{day.isoformat()}T{hhmm}:00+00:00").isoformat()

    def listed() -> set[str]:
        return {datetime.fromisoformat(s["starts_at"]).isoformat()
                for s in studio.sessions(coaching, days=10)}

    free = listed()
    for day in days:
        assert {at(day, "09:00"), at(day, "09:50"), at(day, "14:00"), at(day, "15:00")} <= free

    # Twenty customers, one slot.
    slot = at(first_day, "14:00")
    answers = all_at_once(20, lambda n: studio.book(crowd[n], coaching, "purchase", slot))
    assert Counter(a.status_code for a in answers) == Counter({201: 1, 409: 19})
    (won,) = [a.json() for a in answers if a.status_code == 201]
    assert (won["status"], won["amount_paid"]) == ("confirmed", "40.00")
    for refused in (a for a in answers if a.status_code != 201):
        problem(refused, 409, "booking.slot_unavailable")
    rows = studio.bookings(coaching)
    assert len(rows) == 1
    assert rows[0]["stripe_payment_intent_id"] == f"sbx_pi_{UUID(won['id']).hex}_s_40.00usd"
    assert studio.seats(coaching)[rows[0]["session_key"]] == (1, 1)

    # A start inside the booked slot's buffer is not on the grid: refused as no slot.
    problem(studio.book(crowd[1], coaching, "purchase", at(first_day, "14:50")), 422,
            "booking.no_such_session")
    # The grid's next slot starts where the buffer ends, so it is still free.
    assert studio.book(crowd[1], coaching, "purchase",
                       at(first_day, "15:00")).status_code == 201

    # Two customers each day, 09:00 and 09:50 at once: the buffers overlap, one wins.
    pairs = [(day, hhmm) for day in days for hhmm in ("09:00", "09:50")]
    raced = all_at_once(len(pairs), lambda n: studio.book(
        crowd[2 + n], coaching, "purchase", at(*pairs[n])))
    for n in range(len(days)):
        early, late = raced[2 * n], raced[2 * n + 1]
        assert sorted([early.status_code, late.status_code]) == [201, 409], (
            early.text, late.text)
        problem(early if early.status_code == 409 else late, 409, "booking.slot_unavailable")
    live = studio.live(coaching)
    for day in days:
        morning = live[at(day, "09:00")] + live[at(day, "09:50")]
        assert morning == 1, (day, live)
    studio.assert_seats_match_bookings(coaching)
    assert studio.booking_count(coaching) == 2 + len(days)
    free = listed()
    for day in days:
        assert at(day, "09:00") not in free and at(day, "09:50") not in free
    assert at(first_day, "14:00") not in free and at(first_day, "16:00") in free


# -- 3: one customer's credits across sessions -------------------------------------------


def test_parallel_credit_bookings_never_overdraw_and_leave_no_seat_behind(
        studio: Studio) -> None:
    classes = studio.offering(title="Evening class", offering_type="recurring_fixed",
                              schedule=weekly(soon(5), 4), capacity_type="small_group",
                              max_participants=8, credit_cost=2,
                              payment_options={"pay_per_session": True})
    sessions = studio.sessions(classes)
    assert len(sessions) == 4
    (ann,) = studio.customers("ann", 1, credits=5)

    answers = all_at_once(4, lambda n: studio.book(ann, classes,
                                                   starts_at=sessions[n]["starts_at"]))

    assert Counter(a.status_code for a in answers) == Counter({201: 2, 409: 2})
    for refused in (a for a in answers if a.status_code != 201):
        body = problem(refused, 409, "credits.insufficient")
        assert (body["needed"], body["available"]) == (2, 1)
    assert studio.balance(ann) == 1
    entries = studio.ledger(studio.user_id("ann0@example.com"))
    assert_chain(entries)
    assert [(e["type"], e["amount"]) for e in entries] == [
        ("adjustment", 5), ("spent_offering", -2), ("spent_offering", -2)]
    booked = {UUID(a.json()["id"]) for a in answers if a.status_code == 201}
    assert {e["offering_booking_id"] for e in entries[1:]} == booked
    # The refused bookings took their seat first and gave it back with the rollback.
    live = studio.live(classes)
    assert sorted(live.values()) == [1, 1]
    studio.assert_seats_match_bookings(classes)
    assert studio.booking_count(classes) == 2
    studio.audit()


# -- 4: double clicks ----------------------------------------------------------------------


def test_double_clicks_make_one_booking_with_or_without_an_idempotency_key(
        studio: Studio) -> None:
    classes = studio.offering(title="Morning flow", offering_type="recurring_fixed",
                              schedule=weekly(soon(4), 2, at="07:30"),
                              capacity_type="large_group", max_participants=30, credit_cost=1,
                              payment_options={"pay_per_session": True})
    first, second = studio.sessions(classes)[:2]
    (bob,) = studio.customers("bob", 1, credits=20)

    clicks = all_at_once(10, lambda _: studio.book(bob, classes,
                                                   starts_at=first["starts_at"]))
    assert Counter(c.status_code for c in clicks) == Counter({201: 1, 409: 9})
    for refused in (c for c in clicks if c.status_code != 201):
        problem(refused, 409, "booking.exists")

    # With one key the answers name one booking: the same booking again once the first
    # request has committed, or booking.exists while it is still in flight (as a
    # request whose key is in use is answered elsewhere).
    keyed = all_at_once(10, lambda _: studio.book(bob, classes, starts_at=second["starts_at"],
                                                  key="click-1"))
    results = [outcome(k) for k in keyed]
    rows = [b for b in studio.bookings(classes) if b["session_key"] == second["session_key"]]
    assert len(rows) == 1, rows
    allowed = {(201, str(rows[0]["id"])), (409, "booking.exists")}
    assert set(results) <= allowed, Counter(results)
    assert (201, str(rows[0]["id"])) in results
    again = studio.book(bob, classes, starts_at=second["starts_at"], key="click-1")
    assert outcome(again) == (201, str(rows[0]["id"]))

    assert studio.live(classes) == Counter({first["session_key"]: 1,
                                            second["session_key"]: 1})
    studio.assert_seats_match_bookings(classes)
    entries = studio.ledger(studio.user_id("bob0@example.com"))
    assert_chain(entries)
    assert [e["amount"] for e in entries] == [20, -1, -1]
    assert studio.balance(bob) == 18
    studio.audit()


# -- 5: a held seat, a late payment --------------------------------------------------------


class MovableClock:
    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, by: timedelta) -> None:
        with self._lock:
            self._offset += by


class ClientConfirmedSandbox(SandboxGateway):
    """The sandbox, except that its payments are confirmed later, by the client, as
    Stripe's are: the sandbox settles a purchase inside the booking request, so its
    seat hold could never outlive the payment. A new payment waits for the client
    (and so comes with a client secret); ids, events and refunds are the sandbox's
    own. Refunds are also kept here: nothing else records a lost seat's refund id."""

    delivers_events_inline = False

    def __init__(self, clock: MovableClock) -> None:
        super().__init__(clock)
        self.refunds: list[tuple[str, RefundRecord]] = []
        self.charges: list[tuple[UUID, int]] = []  # off-session: (installment, attempt)
        self._lock = threading.Lock()

    def create_payment(self, *, amount: Money, purchase_id: UUID, customer_id: str | None,
                       description: str, payment_method: str | None = None,
                       save_card: bool = False, transfer: Transfer | None = None
                       ) -> PaymentIntent:
        intent = super().create_payment(amount=amount, purchase_id=purchase_id,
                                        customer_id=customer_id, description=description,
                                        payment_method=payment_method, save_card=save_card,
                                        transfer=transfer)
        return attrs.evolve(intent, status="requires_confirmation")

    def charge_saved(self, *, amount: Money, purchase_id: UUID, customer_id: str,
                     payment_method: str, description: str, attempt: int,
                     transfer: Transfer | None = None) -> PaymentIntent:
        """An off-session charge the provider is still processing: it answers later."""
        with self._lock:
            self.charges.append((purchase_id, attempt))
        intent = super().charge_saved(amount=amount, purchase_id=purchase_id,
                                      customer_id=customer_id, payment_method=payment_method,
                                      description=description, attempt=attempt,
                                      transfer=transfer)
        return attrs.evolve(intent, status="processing")

    def refund(self, *, intent_id: str, amount: Money | None, idempotency_key: str,
               reverse_transfer: bool = False) -> RefundRecord:
        record = super().refund(intent_id=intent_id, amount=amount,
                                idempotency_key=idempotency_key,
                                reverse_transfer=reverse_transfer)
        with self._lock:
            self.refunds.append((intent_id, record))
        return record

    def paid(self, intent_id: str) -> PaymentEvent:
        """The event the payment sends once the customer has confirmed it."""
        event = self.inline_event(self.retrieve_payment(intent_id))
        assert event is not None and event.type == "payment_intent.succeeded"
        return event


class Held(Studio):
    def __init__(self, patronage: Patronage, client: Client, clock: MovableClock,
                 gateway: ClientConfirmedSandbox, inbox: Inbox) -> None:
        super().__init__(patronage, client)
        self.clock, self.gateway, self.inbox = clock, gateway, inbox

    def hold(self, who: Headers, offering: dict[str, Any]) -> dict[str, Any]:
        response = self.book(who, offering, "purchase")
        assert response.status_code == 201, response.text
        booking: dict[str, Any] = response.json()
        assert booking["status"] == "pending"
        assert booking["client_secret"]
        return booking

    def intent(self, booking_id: str) -> str:
        with self.engine.connect() as conn:
            intent: str = conn.execute(sa.select(offering_bookings.c.stripe_payment_intent_id)
                                       .where(offering_bookings.c.id == booking_id)
                                       ).scalar_one()
        assert intent == f"sbx_pi_{UUID(booking_id).hex}_s_25.00usd"
        return intent

    def pay(self, booking_id: str) -> str:
        result: str = self.patronage.handle(HandlePaymentEvent(
            self.gateway.paid(self.intent(booking_id))))
        return result

    def expire_holds(self) -> int:
        self.clock.advance(timedelta(minutes=16))
        released: int = self.patronage.handle(ReleaseExpiredHolds(actor=SYSTEM))
        return released

    def booking(self, booking_id: str) -> sa.RowMapping:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(offering_bookings).where(
                offering_bookings.c.id == booking_id)).mappings().one()

    def subjects(self, email: str) -> list[str]:
        self.patronage.wait_for_events()
        return [str(m["Subject"]) for m in self.inbox.messages(email)]


@pytest.fixture
def held(settings: Settings, clean_db: sa.Engine, inbox: Inbox) -> Iterator[Held]:
    clock = MovableClock()
    gateway = ClientConfirmedSandbox(clock)
    patronage = bootstrap(settings, engine=clean_db, clock=clock, payments=gateway,
                          hasher=Argon2PasswordHasher(**FAST_ARGON2))
    with TestClient(app=create_app(patronage)) as client:
        yield Held(patronage, client, clock, gateway, inbox)
    patronage.dispatcher.close()


def one_seat_left(held: Held, title: str) -> tuple[dict[str, Any], str]:
    """A two-seat event, 25.00 or 1 credit, with one seat already taken."""
    event = held.offering(title=title, offering_type="one_time_event",
                          schedule={"date": soon(10).isoformat(), "start_time": "19:00",
                                    "duration_minutes": 90},
                          capacity_type="small_group", max_participants=2, price="25.00",
                          credit_cost=1, payment_options={"seat_hold_minutes": 15})
    (regular,) = held.customers("regular", 1, credits=1)
    assert held.book(regular, event).status_code == 201
    (session,) = held.sessions(event)
    return event, session["session_key"]


def test_a_payment_after_the_hold_ran_out_and_the_seat_went_is_refunded(
        held: Held) -> None:
    event, key = one_seat_left(held, "Full moon circle")
    late, other = held.account("late@example.com"), held.account("other@example.com")

    pending = held.hold(late, event)
    assert held.seats(event)[key] == (2, 2)
    problem(held.book(other, event, "purchase"), 409, "offering.full")

    assert held.expire_holds() == 1
    released = held.booking(pending["id"])
    assert (released["status"], released["cancellation_reason"]) == (
        "canceled", "seat hold expired")
    assert held.seats(event)[key] == (1, 2)
    assert held.booking_count(event) == 1

    taken = held.hold(other, event)
    assert held.pay(taken["id"]) == "applied"
    assert held.booking(taken["id"])["status"] == "confirmed"
    assert held.seats(event)[key] == (2, 2)

    intent = held.intent(pending["id"])
    assert held.pay(pending["id"]) == "seat_lost"

    lost = held.booking(pending["id"])
    assert lost["status"] == "canceled"
    assert lost["cancellation_reason"] == "paid after the last seat went; refunded"
    assert lost["booking_details"]["seat_lost"] == "25.00"
    digest = hashlib.sha256(f"booking-seat-lost-{pending['id']}".encode()).hexdigest()[:24]
    assert held.gateway.refunds == [(intent, RefundRecord(id=f"sbx_re_{digest}",
                                                          amount=Money("25.00", "usd")))]
    assert "Refunded: Full moon circle was full" in held.subjects("late@example.com")
    assert held.seats(event)[key] == (2, 2)
    held.assert_seats_match_bookings(event)
    assert Counter(b["status"] for b in held.bookings(event)) == Counter(
        {"confirmed": 2, "canceled": 1})

    # The gateway delivers the event again: it was recorded, nothing moves twice.
    assert held.patronage.handle(HandlePaymentEvent(held.gateway.paid(intent))) == "duplicate"
    assert len(held.gateway.refunds) == 1
    assert held.subjects("late@example.com").count("Refunded: Full moon circle was full") == 1
    held.audit()


def test_a_payment_after_the_hold_ran_out_takes_the_seat_back_while_one_is_free(
        held: Held) -> None:
    event, key = one_seat_left(held, "New moon circle")
    late = held.account("late@example.com")
    pending = held.hold(late, event)
    assert held.expire_holds() == 1
    assert held.seats(event)[key] == (1, 2)

    assert held.pay(pending["id"]) == "applied"

    back = held.booking(pending["id"])
    assert (back["status"], back["canceled_at"], back["cancellation_reason"]) == (
        "confirmed", None, None)
    assert held.seats(event)[key] == (2, 2)
    held.assert_seats_match_bookings(event)
    assert held.gateway.refunds == []
    assert "Booked: New moon circle" in held.subjects("late@example.com")


def test_a_late_payment_and_a_new_booking_race_for_the_freed_seat(held: Held) -> None:
    event, key = one_seat_left(held, "Equinox circle")
    late = held.account("late@example.com")
    (rival,) = held.customers("rival", 1, credits=1)
    pending = held.hold(late, event)
    assert held.expire_holds() == 1
    event_for_late = held.gateway.paid(held.intent(pending["id"]))

    def contender(n: int) -> str:
        if n == 0:
            result: str = held.patronage.handle(HandlePaymentEvent(event_for_late))
            return result
        return str(outcome(held.book(rival, event)))

    paid, booked = all_at_once(2, contender)

    # Whichever came first has the seat; the other is refused or refunded, never seated.
    if paid == "applied":
        assert booked == str((409, "offering.full"))
        assert held.booking(pending["id"])["status"] == "confirmed"
        assert held.gateway.refunds == []
    else:
        assert paid == "seat_lost"
        assert booked.startswith("(201, ")
        assert held.booking(pending["id"])["status"] == "canceled"
        assert len(held.gateway.refunds) == 1
        assert "Refunded: Equinox circle was full" in held.subjects("late@example.com")
    assert held.seats(event)[key] == (2, 2)
    held.assert_seats_match_bookings(event)
    held.audit()


def test_a_payment_that_succeeds_after_a_failed_attempt_is_booked_or_refunded(
        held: Held) -> None:
    event, key = one_seat_left(held, "Solstice circle")
    late = held.account("late@example.com")
    pending = held.hold(late, event)
    intent = held.intent(pending["id"])
    # Stripe sends payment_failed when a card is declined, and the customer may then
    # confirm the same payment again with another card: payment_intent.succeeded for
    # the same intent follows.
    declined = attrs.evolve(held.gateway.paid(intent), id=f"sbx_evt_failed_{intent}",
                            type="payment_intent.payment_failed")
    assert held.patronage.handle(HandlePaymentEvent(declined)) == "applied"
    assert held.booking(pending["id"])["status"] == "canceled"
    assert held.seats(event)[key] == (1, 2)

    result = held.pay(pending["id"])

    # The money was taken: the customer gets the free seat back (or, were it gone,
    # the money), never neither.
    assert result == "applied"
    assert held.booking(pending["id"])["status"] == "confirmed"
    assert held.seats(event)[key] == (2, 2)
    held.assert_seats_match_bookings(event)


def test_a_reschedule_racing_a_new_booking_for_the_last_seat(studio: Studio) -> None:
    """The mover takes the new seat before giving back the old one: whoever loses the
    race for the new seat, the mover still holds exactly one seat and nothing is
    overbooked."""
    for round_ in range(5):
        race_once(studio, round_)


def race_once(studio: Studio, round_: int) -> None:
    klass = studio.offering(title=f"Race {round_}", offering_type="recurring_fixed",
                            schedule=weekly(soon(3), 4), capacity_type="small_group",
                            max_participants=1, credit_cost=1,
                            payment_options={"pay_per_session": True,
                                             "cancellation": {"hours_before": 0}})
    mover = studio.customers(f"mover{round_}-", 1, 2)[0]
    rival = studio.customers(f"rival{round_}-", 1, 2)[0]
    sessions = studio.sessions(klass)
    booked = studio.book(mover, klass, starts_at=sessions[0]["starts_at"])
    assert booked.status_code == 201, booked.text
    target = sessions[1]["starts_at"]

    def race(n: int) -> httpx.Response:
        if n == 0:
            return studio.client.post(f"/api/v1/bookings/{booked.json()['id']}/reschedule",
                                      json={"starts_at": target}, headers=mover)
        return studio.book(rival, klass, starts_at=target)

    moved, rivalled = all_at_once(2, race)
    # Exactly one of them gets the seat; the other a clean 409.
    assert sorted([moved.status_code, rivalled.status_code]) in ([200, 409], [201, 409]), (
        moved.text, rivalled.text)
    mine = [b for b in studio.bookings(klass) if b["status"] == "confirmed"
            and b["id"] == UUID(booked.json()["id"])]
    assert len(mine) == 1  # the mover keeps one seat, wherever it is
    expected = target if moved.status_code == 200 else sessions[0]["starts_at"]
    assert mine[0]["starts_at"].isoformat().replace("+00:00", "Z") == expected
    studio.assert_seats_match_bookings(klass)


def test_a_late_first_installment_takes_the_seat_back_and_the_plan_resumes(
        held: Held) -> None:
    event = held.offering(title="Winter course", offering_type="one_time_event",
                          schedule={"date": soon(10).isoformat(), "start_time": "19:00",
                                    "duration_minutes": 90},
                          capacity_type="small_group", max_participants=2, price="25.00",
                          payment_options={"seat_hold_minutes": 15, "installments": 3})
    late = held.account("late@example.com")
    response = held.client.post("/api/v1/bookings", headers=late, json={
        "offering_id": event["id"], "payment_method": "purchase", "installments": True})
    assert response.status_code == 201, response.text
    pending = response.json()
    assert (pending["status"], pending["amount_paid"]) == ("pending", "8.34")
    with held.engine.connect() as conn:
        first, second, third = conn.execute(
            sa.select(booking_installments.c.id)
            .where(booking_installments.c.booking_id == pending["id"])
            .order_by(booking_installments.c.number)).scalars()
        intent = conn.execute(sa.select(offering_bookings.c.stripe_payment_intent_id).where(
            offering_bookings.c.id == pending["id"])).scalar_one()
    # The first installment's payment names the installment, for its amount.
    assert intent == f"sbx_pi_{first.hex}_s_8.34usd"

    assert held.expire_holds() == 1

    def statuses() -> list[str]:
        with held.engine.connect() as conn:
            return list(conn.execute(sa.select(booking_installments.c.status).where(
                booking_installments.c.booking_id == pending["id"])
                .order_by(booking_installments.c.number)).scalars())

    def intent_of(installment: UUID) -> str | None:
        with held.engine.connect() as conn:
            found: str | None = conn.execute(
                sa.select(booking_installments.c.stripe_payment_intent_id)
                .where(booking_installments.c.id == installment)).scalar_one()
        return found

    def charge() -> tuple[int, int]:
        report = held.patronage.handle(ChargeDueInstallments(actor=SYSTEM))
        return report.paid, report.declined

    assert statuses() == ["canceled", "canceled", "canceled"]
    assert held.patronage.handle(HandlePaymentEvent(held.gateway.paid(intent))) == "applied"
    back = held.booking(pending["id"])
    assert (back["status"], back["saved_payment_method"]) == ("confirmed", "sbx_pm_s")
    assert statuses() == ["paid", "scheduled", "scheduled"]
    assert held.gateway.refunds == []

    # A month on, the worker charges the second; the provider is still processing it,
    # so its webhook settles it, applied once however often it is delivered.
    held.clock.advance(timedelta(days=31))
    assert charge() == (0, 0)
    assert statuses() == ["paid", "charging", "scheduled"]
    assert intent_of(second) == f"sbx_pi_{second.hex}_s_8.33usd"
    webhook = held.gateway.paid(f"sbx_pi_{second.hex}_s_8.33usd")
    assert held.patronage.handle(HandlePaymentEvent(webhook)) == "applied"
    assert held.patronage.handle(HandlePaymentEvent(webhook)) == "duplicate"
    assert statuses() == ["paid", "paid", "scheduled"]
    assert charge() == (0, 0)

    # The third's webhook never comes: an hour on, the worker asks about that charge
    # (it does not send another) and settles it; the late webhook then changes nothing.
    held.clock.advance(timedelta(days=31))
    assert charge() == (0, 0)
    assert charge() == (0, 0)  # still waiting: not charged twice
    held.clock.advance(timedelta(hours=1))
    assert charge() == (1, 0)
    assert statuses() == ["paid", "paid", "paid"]
    assert str(held.booking(pending["id"])["amount_paid"]) == "25.00"
    assert held.gateway.charges == [(second, 1), (third, 1)]
    late_webhook = held.gateway.paid(f"sbx_pi_{third.hex}_s_8.33usd")
    assert held.patronage.handle(HandlePaymentEvent(late_webhook)) == "ignored"
    assert str(held.booking(pending["id"])["amount_paid"]) == "25.00"


def test_a_session_moved_while_others_book_its_target_never_overbooks(
        studio: Studio) -> None:
    klass = studio.offering(title="Moved class", offering_type="recurring_fixed",
                            schedule=weekly(soon(5), 3), capacity_type="small_group",
                            max_participants=4, credit_cost=1,
                            payment_options={"pay_per_session": True})
    first, second = studio.sessions(klass)[:2]
    movers = studio.customers("moved", 2, credits=1)
    for who in movers:
        assert studio.book(who, klass, starts_at=first["starts_at"]).status_code == 201
    rivals = studio.customers("rival", 3, credits=1)

    def contender(n: int) -> tuple[int, str]:
        if n == 0:
            response = studio.client.post(
                f"/api/v1/studio/offerings/{klass['id']}/sessions/move", headers=studio.owner,
                json={"from": first["starts_at"], "to": second["starts_at"]})
            if response.status_code == 200:
                return 200, ",".join(sorted(b["id"] for b in response.json()))
            return outcome(response)
        return outcome(studio.book(rivals[n - 1], klass, starts_at=second["starts_at"]))

    moved, *booked = all_at_once(4, contender)
    seated = sum(1 for status, _ in booked if status == 201)
    assert all(b in ((201, b[1]), (409, "offering.full")) for b in booked), booked
    # Four seats, five wanting them: the move takes two (and one rival is refused) or,
    # coming after the rivals, finds one seat for its two bookings and moves nobody.
    per_session = Counter(b["session_key"] for b in studio.bookings(klass)
                          if b["status"] == "confirmed")
    if moved[0] == 200:
        assert (seated, per_session[second["session_key"]],
                per_session[first["session_key"]]) == (2, 4, 0)
    else:
        assert moved == (409, "offering.full")
        assert (seated, per_session[second["session_key"]],
                per_session[first["session_key"]]) == (3, 3, 2)
    studio.assert_seats_match_bookings(klass)
