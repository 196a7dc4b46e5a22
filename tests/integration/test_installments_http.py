"""Bookings paid in monthly installments, over HTTP against PostgreSQL with the sandbox
gateway, whose clock ``/admin/sandbox/advance`` moves (it then charges what fell due,
as the worker does)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy.tables import booking_installments, offering_sessions
from application.offerings.installments import ChargeDueInstallments
from application.principal import Principal
from entrypoints.bootstrap import bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.conftest import FAST_ARGON2, Inbox, plain
from tests.integration.test_offerings_http import GOOD_CARD, T0, Studio, problem
from tests.unit.fakes.system import FrozenClock

LATER_FAIL = "4000000000000341"  # the first charge succeeds, later ones are declined
COURSE: dict[str, Any] = {
    "title": "Spring pottery course", "offering_type": "one_time_event",
    "schedule": {"date": "2027-04-10", "start_time": "10:00", "duration_minutes": 240},
    "capacity_type": "small_group", "max_participants": 2, "delivery_method": "online",
    "join_url": "https://meet.example.com/pottery", "price": "100.00", "credit_cost": 10,
    "timezone": "Europe/Paris",
    "payment_options": {"installments": 3,
                        "cancellation": {"hours_before": 72, "early": "full_refund",
                                         "late": "nothing"}},
}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def studio(settings: Settings, clean_db: sa.Engine, inbox: Inbox, clock: FrozenClock
           ) -> Iterator[Studio]:
    app = bootstrap(settings, engine=clean_db, hasher=Argon2PasswordHasher(**FAST_ARGON2),
                    clock=clock)
    with TestClient(app=create_app(app)) as client:
        yield Studio(app, client, inbox)
    app.dispatcher.close()


def book_monthly(studio: Studio, who: str, offering: dict[str, Any], card: str = GOOD_CARD
                 ) -> dict[str, Any]:
    response = studio.client.post("/api/v1/bookings", headers=studio.auth(who), json={
        "offering_id": offering["id"], "payment_method": "purchase", "card": card,
        "installments": True})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def booking(studio: Studio, who: str, booking_id: str) -> dict[str, Any]:
    response = studio.client.get(f"/api/v1/me/bookings/{booking_id}", headers=studio.auth(who))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def plan_of(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(i["amount"], i["status"], i["due_at"][:10]) for i in body["installments"]]


def advance(studio: Studio, days: int) -> dict[str, Any]:
    response = studio.client.post("/api/v1/admin/sandbox/advance", json={"days": days},
                                  headers=studio.auth("owner"))
    assert response.status_code == 200, response.text
    studio._tokens.clear()
    body: dict[str, Any] = response.json()
    return body


def seats_taken(studio: Studio, offering_id: str) -> int:
    with studio.patronage.engine.connect() as connection:
        taken = connection.execute(sa.select(sa.func.coalesce(sa.func.sum(
            offering_sessions.c.taken), 0)).where(
            offering_sessions.c.offering_id == offering_id)).scalar_one()
    return int(taken)


def test_a_plan_is_paid_month_by_month_then_charges_nothing_more(studio: Studio) -> None:
    course = studio.offering(**COURSE)
    booked = book_monthly(studio, "ann", course)
    assert (booked["status"], booked["amount_paid"]) == ("confirmed", "33.34")
    assert booked["join_url"] == "https://meet.example.com/pottery"
    assert plan_of(booked) == [("33.34", "paid", "2026-12-06"),
                               ("33.33", "scheduled", "2027-01-06"),
                               ("33.33", "scheduled", "2027-02-06")]
    assert studio.subjects("ann") == ["Booked: Spring pottery course"]

    # Nothing is due yet.
    assert advance(studio, 30)["installments_paid"] == 0
    assert advance(studio, 1)["installments_paid"] == 1
    second = booking(studio, "ann", booked["id"])
    assert second["amount_paid"] == "66.67"
    assert [s for _, s, _ in plan_of(second)] == ["paid", "paid", "scheduled"]

    assert advance(studio, 31)["installments_paid"] == 1
    assert advance(studio, 31)["installments_paid"] == 0
    done = booking(studio, "ann", booked["id"])
    assert done["amount_paid"] == "100.00"
    assert [s for _, s, _ in plan_of(done)] == ["paid", "paid", "paid"]
    assert done["status"] == "confirmed"


def test_three_declines_end_the_plan_and_the_booking(studio: Studio) -> None:
    course = studio.offering(**COURSE)
    booked = book_monthly(studio, "ann", course, card=LATER_FAIL)
    assert booked["status"] == "confirmed"
    assert seats_taken(studio, course["id"]) == 1

    first = advance(studio, 31)
    assert (first["installments_paid"], first["installments_declined"]) == (0, 1)
    retried = booking(studio, "ann", booked["id"])
    # Tried again three days later; the booking holds meanwhile.
    assert retried["status"] == "confirmed"
    assert plan_of(retried)[1] == ("33.33", "scheduled", "2027-01-09")
    assert advance(studio, 3)["installments_declined"] == 1
    assert advance(studio, 3)["installments_declined"] == 1

    ended = booking(studio, "ann", booked["id"])
    assert ended["status"] == "canceled"
    assert ended["cancellation_reason"] == "installments not paid"
    assert ended["join_url"] is None
    assert [s for _, s, _ in plan_of(ended)] == ["paid", "failed", "canceled"]
    assert ended["amount_paid"] == "33.34"  # what was paid stays paid
    assert seats_taken(studio, course["id"]) == 0
    assert studio.subjects("ann") == [
        "Booked: Spring pottery course", "Payment declined: Spring pottery course",
        "Payment declined: Spring pottery course", "Cancelled: Spring pottery course"]
    declined = studio.inbox.messages("ann@example.com")[1]
    assert "try again on Saturday 09 January 2027" in plain(declined)
    # Nothing more is ever charged.
    assert advance(studio, 60)["installments_declined"] == 0


def test_cancelling_refunds_what_was_paid_and_stops_the_plan(studio: Studio) -> None:
    course = studio.offering(**COURSE)
    booked = book_monthly(studio, "ann", course)
    advance(studio, 31)
    cancelled = studio.client.post(f"/api/v1/bookings/{booked['id']}/cancel", json={},
                                   headers=studio.auth("ann"))
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["outcome"], body["refunded"]) == ("full_refund", "66.67")
    assert [s for _, s, _ in plan_of(body["booking"])] == ["paid", "paid", "canceled"]
    assert advance(studio, 62)["installments_paid"] == 0


def test_installments_only_where_the_offering_allows_them(studio: Studio) -> None:
    plain = studio.offering(**{**COURSE, "title": "One payment only",
                               "payment_options": {}})
    refused = studio.client.post("/api/v1/bookings", headers=studio.auth("ann"), json={
        "offering_id": plain["id"], "payment_method": "purchase", "installments": True})
    problem(refused, 409, "booking.installments_unavailable")
    course = studio.offering(**COURSE)
    studio.credits("bob", 20)
    with_credits = studio.client.post("/api/v1/bookings", headers=studio.auth("bob"), json={
        "offering_id": course["id"], "payment_method": "credits", "installments": True})
    problem(with_credits, 409, "booking.installments_unavailable")
    assert studio.balance("bob") == 20
    # Paying at once stays possible.
    whole = studio.book("cat", course, "purchase", card=GOOD_CARD)
    assert whole.status_code == 201, whole.text
    assert (whole.json()["amount_paid"], whole.json()["installments"]) == ("100.00", None)


def test_racing_workers_charge_an_installment_once(studio: Studio, clock: FrozenClock
                                                   ) -> None:
    course = studio.offering(**COURSE)
    booked = book_monthly(studio, "ann", course)
    book_monthly(studio, "bob", course)
    # Time passes without anyone charging; then four workers run at once.
    clock.advance(days=32)
    studio._tokens.clear()  # sessions ended meanwhile
    barrier = threading.Barrier(4)

    def worker(_: int) -> tuple[int, int]:
        barrier.wait()
        report = studio.patronage.handle(ChargeDueInstallments(actor=Principal.system()))
        return report.paid, report.declined

    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(worker, range(4)))
    assert sum(paid for paid, _ in reports) == 2, reports
    assert sum(declined for _, declined in reports) == 0
    with studio.patronage.engine.connect() as connection:
        rows = connection.execute(sa.select(booking_installments.c.number,
                                            booking_installments.c.status,
                                            booking_installments.c.attempts)
                                  .order_by(booking_installments.c.booking_id,
                                            booking_installments.c.number)).all()
    assert sorted(tuple(r) for r in rows) == [
        (1, "paid", 0), (1, "paid", 0), (2, "paid", 1), (2, "paid", 1),
        (3, "scheduled", 0), (3, "scheduled", 0)]
    assert booking(studio, "ann", booked["id"])["amount_paid"] == "66.67"
