"""The credit ledger under real concurrent transactions on PostgreSQL.

Every writer locks the customer's ``credit_balances`` row before it reads the ledger,
so parallel spends, adjustments and refunds must serialise: no credit is spent twice,
no refund is paid twice, and the stored ledger always proves itself (audit clean).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Literal, TypeVar
from uuid import UUID

import attrs
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from adapters.sqlalchemy.tables import credit_allocations, credit_balances, credit_transactions
from application.credits.adjusting import AdjustCredits
from application.credits.audit import AuditCredits, AuditReport
from application.credits.ledger import refund_spend, spend_credits
from application.credits.views import MyCredits
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.credits.ledger import Entry
from domain.errors import ConcurrencyConflict, DomainError
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from entrypoints.cli.main import app
from entrypoints.config import Settings

SYSTEM = Principal.system()
PASSWORD = "a long and unusual passphrase"
T = TypeVar("T")


def customer(patronage: Patronage, email: str) -> UUID:
    user = patronage.handle(CreateUser(actor=SYSTEM, email=email, password=PASSWORD,
                                       full_name="Member", role=Role.CUSTOMER))
    user_id: UUID = user.id
    return user_id


def adjust(patronage: Patronage, email: str, amount: int, *,
           expires_at: datetime | None = None) -> UUID:
    adjusted = patronage.handle(AdjustCredits(actor=SYSTEM, email=email, amount=amount,
                                              reason="test grant", expires_at=expires_at))
    entry_id: UUID = adjusted.entry_id
    return entry_id


def spend(patronage: Patronage, customer_id: UUID, amount: int) -> Entry:
    """A spend in its own transaction, as a booking's unit of work would make it."""
    with patronage.services.uow_factory() as uow:
        entry = spend_credits(uow, patronage.services, customer_id=customer_id, amount=amount,
                              booking_id=None)
        uow.commit()
    return entry


def refund(patronage: Patronage, spend_id: UUID) -> Entry | None:
    with patronage.services.uow_factory() as uow:
        entry = refund_spend(uow, patronage.services, spend_id=spend_id)
        uow.commit()
    return entry


def audit(patronage: Patronage) -> AuditReport:
    report: AuditReport = patronage.handle(AuditCredits(actor=SYSTEM))
    return report


def cli_audit(settings: Settings) -> Result:
    env = {"PATRONAGE_DATABASE_URL": settings.database_url,
           "PATRONAGE_DATA_DIR": str(settings.data_dir), "COLUMNS": "250"}
    return CliRunner().invoke(app, ["credits", "audit"], env=env)


def all_at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(0..count-1)`` on ``count`` threads released together by a barrier, so
    the transactions really overlap instead of running one after another."""
    barrier = threading.Barrier(count)

    def released(n: int) -> T:
        barrier.wait(timeout=30)
        return work(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(released, range(count)))


def outcome(action: Callable[[], object]) -> str:
    try:
        action()
    except DomainError as error:
        return error.code
    return "ok"


def rows(engine: sa.Engine, customer_id: UUID) -> list[sa.RowMapping]:
    with engine.connect() as conn:
        return list(conn.execute(
            sa.select(credit_transactions).where(credit_transactions.c.customer_id == customer_id)
            .order_by(credit_transactions.c.entry_number)).mappings())


def stored_balance(engine: sa.Engine, customer_id: UUID) -> int:
    with engine.connect() as conn:
        balance: int = conn.execute(sa.select(credit_balances.c.current_balance).where(
            credit_balances.c.customer_id == customer_id)).scalar_one()
    return balance


def assert_chain(engine: sa.Engine, customer_id: UUID) -> list[sa.RowMapping]:
    """The stored ledger of one customer is one unbroken running sum."""
    entries = rows(engine, customer_id)
    assert [e["entry_number"] for e in entries] == list(range(1, len(entries) + 1))
    running = 0
    for entry in entries:
        running += entry["amount"]
        assert entry["balance_after"] == running, (entry["entry_number"], entries)
        assert running >= 0
    assert stored_balance(engine, customer_id) == running
    return entries


# ------------------------------------------------------------- racing spends


def test_five_parallel_spends_of_five_from_ten_let_exactly_two_through(
    patronage: Patronage, clean_db: sa.Engine
) -> None:
    member = customer(patronage, "racer@example.com")
    adjust(patronage, "racer@example.com", 6)
    # The second grant makes the spends straddle two lots, so allocation is raced too.
    adjust(patronage, "racer@example.com", 4,
           expires_at=patronage.services.clock.now() + timedelta(days=30))

    results = all_at_once(5, lambda _: outcome(lambda: spend(patronage, member, 5)))

    assert Counter(results) == Counter({"ok": 2, "credits.insufficient": 3})
    entries = assert_chain(clean_db, member)
    assert stored_balance(clean_db, member) == 0
    assert [e["type"] for e in entries].count("spent_offering") == 2
    assert sum(e["amount"] for e in entries) == 0
    with clean_db.connect() as conn:
        taken = conn.execute(sa.select(sa.func.sum(credit_allocations.c.amount)).where(
            credit_allocations.c.customer_id == member)).scalar_one()
    assert taken == 10  # each credit went to exactly one spend
    report = audit(patronage)
    assert report.clean, report.problems
    assert report.customers == 1


def test_the_refused_spends_report_what_was_available(
    patronage: Patronage, clean_db: sa.Engine
) -> None:
    member = customer(patronage, "short@example.com")
    adjust(patronage, "short@example.com", 3)
    errors: list[DomainError] = []

    def attempt(_: int) -> None:
        try:
            spend(patronage, member, 2)
        except DomainError as error:
            errors.append(error)

    all_at_once(3, attempt)
    # One spend of 2 fits in 3; the others each see the 1 credit it left behind.
    assert [(e.code, e.details) for e in errors] == [
        ("credits.insufficient", {"needed": 2, "available": 1})] * 2
    assert stored_balance(clean_db, member) == 1


# ------------------------------------------------------------- a mixed crowd

Kind = Literal["earn", "spend", "take"]


@attrs.frozen
class Operation:
    kind: Kind
    email: str
    amount: int


@attrs.define
class Tally:
    lock: threading.Lock = attrs.field(factory=threading.Lock)
    done: Counter[tuple[Kind, str]] = attrs.field(factory=Counter)
    moved: Counter[str] = attrs.field(factory=Counter)  # net credits per customer
    refused: int = 0
    conflicts: int = 0
    unexpected: list[str] = attrs.field(factory=list)


def test_fifty_mixed_operations_leave_every_ledger_provable(
    patronage: Patronage, settings: Settings, clean_db: sa.Engine
) -> None:
    emails = ["ann@example.com", "bob@example.com", "cy@example.com"]
    ids = {email: customer(patronage, email) for email in emails}
    for email in emails:
        adjust(patronage, email, 10)
    chance = random.Random(20240611)  # a fixed mix: a failure is reproducible
    kinds: list[Kind] = ["earn", "spend", "spend", "take"]
    operations = [Operation(chance.choice(kinds), chance.choice(emails), chance.randint(1, 8))
                  for _ in range(50)]
    tally = Tally()
    go = threading.Event()

    def run(op: Operation) -> None:
        if op.kind == "spend":
            spend(patronage, ids[op.email], op.amount)
        else:
            adjust(patronage, op.email, op.amount if op.kind == "earn" else -op.amount)

    def perform(op: Operation) -> None:
        go.wait(timeout=30)
        for attempt in (1, 2):
            try:
                run(op)
            except ConcurrencyConflict:
                with tally.lock:
                    tally.conflicts += 1
                if attempt == 1:
                    continue
                raise
            except DomainError as error:
                with tally.lock:
                    if error.code == "credits.insufficient" and op.kind != "earn":
                        tally.refused += 1
                    else:
                        tally.unexpected.append(f"{op}: {error.code} {error.message}")
                return
            except Exception as error:  # anything else is a defect: keep it to report
                with tally.lock:
                    tally.unexpected.append(f"{op}: {error!r}")
                return
            with tally.lock:
                tally.done[(op.kind, op.email)] += 1
                tally.moved[op.email] += -op.amount if op.kind != "earn" else op.amount
            return

    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = [pool.submit(perform, op) for op in operations]
        go.set()
        for future in futures:
            future.result()

    assert tally.unexpected == []
    assert sum(tally.done.values()) + tally.refused == 50
    # Each ledger is serialised by its row lock, so writers wait rather than conflict:
    # a retryable conflict would mean that lock is not what orders them.
    assert tally.conflicts == 0
    assert any(kind == "spend" for kind, _ in tally.done)  # the mix did exercise spending
    assert tally.refused > 0  # and asked for more than there was: ~20 of 50 are refused
    result = cli_audit(settings)
    assert result.exit_code == 0, result.output
    assert "3 ledgers checked, 0 inconsistent" in result.output
    for email in emails:
        entries = assert_chain(clean_db, ids[email])
        types = Counter(e["type"] for e in entries)
        assert types["spent_offering"] == tally.done[("spend", email)]
        # One starting grant, then every successful adjustment either way.
        assert types["adjustment"] == 1 + tally.done[("earn", email)] + tally.done[
            ("take", email)]
        assert stored_balance(clean_db, ids[email]) == 10 + tally.moved[email]
        with clean_db.connect() as conn:
            # Every debit is covered by allocations that add up to it, never more.
            allocated = dict(conn.execute(
                sa.select(credit_allocations.c.transaction_id,
                          sa.func.sum(credit_allocations.c.amount))
                .where(credit_allocations.c.customer_id == ids[email])
                .group_by(credit_allocations.c.transaction_id)).all())
        for entry in entries:
            if entry["amount"] < 0:
                assert allocated.get(entry["id"]) == -entry["amount"], entry
            else:
                assert entry["id"] not in allocated


# ------------------------------------------------------------- refunds


def allocations_of(engine: sa.Engine, transaction_id: UUID) -> dict[UUID, int]:
    with engine.connect() as conn:
        return dict(conn.execute(
            sa.select(credit_allocations.c.grant_id, credit_allocations.c.amount)
            .where(credit_allocations.c.transaction_id == transaction_id)).all())


def test_a_refund_returns_the_credits_to_their_grants_with_their_expiry_once(
    patronage: Patronage, clean_db: sa.Engine
) -> None:
    member = customer(patronage, "refund@example.com")
    now = patronage.services.clock.now()
    soon, later = now + timedelta(days=10), now + timedelta(days=20)
    soon_grant = adjust(patronage, "refund@example.com", 3, expires_at=soon)
    later_grant = adjust(patronage, "refund@example.com", 5, expires_at=later)
    never_grant = adjust(patronage, "refund@example.com", 2)

    spent = spend(patronage, member, 6)
    # Soonest-expiring first: all of the 10-day grant, then 3 of the 20-day one.
    assert allocations_of(clean_db, spent.id) == {soon_grant: 3, later_grant: 3}

    returned = refund(patronage, spent.id)
    assert returned is not None and returned.amount == 6
    assert allocations_of(clean_db, returned.id) == {soon_grant: -3, later_grant: -3}
    member_view = Principal(user_id=member, role=Role.CUSTOMER, email_verified=True)
    credits = patronage.handle(MyCredits(actor=member_view))
    assert credits.balance == credits.available == 10
    # The credits came back with the expiries they were granted with.
    assert [(when.date(), n) for when, n in credits.next_expiries] == [
        (soon.date(), 3), (later.date(), 5)]

    assert refund(patronage, spent.id) is None
    entries = assert_chain(clean_db, member)
    assert [e["type"] for e in entries].count("refunded_offering") == 1
    assert stored_balance(clean_db, member) == 10

    # A later spend takes the returned credits first again: they kept their place.
    again = spend(patronage, member, 4)
    assert allocations_of(clean_db, again.id) == {soon_grant: 3, later_grant: 1}
    assert never_grant not in allocations_of(clean_db, again.id)
    assert audit(patronage).clean


def test_two_racing_refunds_of_one_spend_pay_out_once(
    patronage: Patronage, clean_db: sa.Engine
) -> None:
    member = customer(patronage, "double@example.com")
    grant = adjust(patronage, "double@example.com", 8)
    spent = spend(patronage, member, 5)

    results = all_at_once(2, lambda _: refund(patronage, spent.id))

    refunds = [r for r in results if r is not None]
    assert len(refunds) == 1 and results.count(None) == 1
    assert refunds[0].amount == 5
    assert allocations_of(clean_db, refunds[0].id) == {grant: -5}
    entries = assert_chain(clean_db, member)
    assert [e["type"] for e in entries] == ["adjustment", "spent_offering", "refunded_offering"]
    assert stored_balance(clean_db, member) == 8
    with clean_db.connect() as conn:
        spent_total = conn.execute(sa.select(credit_balances.c.lifetime_spent).where(
            credit_balances.c.customer_id == member)).scalar_one()
    assert spent_total == 0
    assert audit(patronage).clean


# ------------------------------------------------------------- a corrupted ledger


def test_the_audit_names_the_customers_whose_stored_ledger_is_wrong(
    patronage: Patronage, settings: Settings, clean_db: sa.Engine
) -> None:
    honest = customer(patronage, "honest@example.com")
    inflated = customer(patronage, "inflated@example.com")
    rewritten = customer(patronage, "rewritten@example.com")
    for email in ("honest@example.com", "inflated@example.com", "rewritten@example.com"):
        adjust(patronage, email, 5)
    spend(patronage, rewritten, 2)
    clean = cli_audit(settings)
    assert clean.exit_code == 0, clean.output
    assert "3 ledgers checked, 0 inconsistent" in clean.output

    # What a stray manual fix would do: the balance row and the ledger disagree.
    with clean_db.begin() as conn:
        conn.execute(sa.update(credit_balances)
                     .where(credit_balances.c.customer_id == inflated)
                     .values(current_balance=credit_balances.c.current_balance + 1))
        conn.execute(sa.update(credit_transactions)
                     .where(credit_transactions.c.customer_id == rewritten,
                            credit_transactions.c.entry_number == 2)
                     .values(balance_after=4))

    result = cli_audit(settings)

    assert result.exit_code != 0
    lines = result.output.splitlines()
    assert f"customer {inflated}: balance 6, ledger sum 5" in lines
    assert any(line.startswith(f"customer {rewritten}: entry ")
               and "balance_after 4, running sum 3" in line for line in lines), result.output
    assert str(honest) not in result.output
    assert "3 ledgers checked, 2 inconsistent" in result.output
