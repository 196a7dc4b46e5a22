"""The CreditLedger aggregate under random sequences of operations (Hypothesis stateful).

A clock that only moves forward drives earns (subscription credits that expire or roll
over, purchases, owner adjustments), spends, refunds, negative adjustments, write-offs
of expired credits and the rollover cap. Alongside the aggregate runs an independent
model: per grant, what it holds, what is left and when it expires. After every step the
aggregate must agree with the model and with itself:

* the balance is never negative and equals the sum of every recorded entry, and the
  entries are numbered 1, 2, ... in the order they were recorded;
* ``violations`` finds nothing, and ``lifetime_earned`` / ``lifetime_spent`` are the
  grants and the spends less refunds;
* ``available(now)`` is exactly what is left in the grants not yet past their expiry;
* a spend (or negative adjustment) fails with ``InsufficientCredits`` exactly when it
  asks for more than is available, and otherwise takes from the live lots greedily,
  soonest-expiring first, as they stood just before it;
* ``expire_due`` writes off exactly the expired remainders, once;
* a refund gives back exactly what its spend took, to the same grants;
* ``cap_rollover`` leaves exactly ``min(carried, cap)`` subscription credits;
* ``withdraw`` (a refunded pack) takes exactly what is left of one grant, after the
  write-offs that were due, and nothing from any other grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    precondition,
    rule,
)

from domain.credits.ledger import (
    REASON_MAX,
    Allocation,
    CreditLedger,
    CreditType,
    Entry,
    InsufficientCredits,
    Lot,
    refund_key,
    violations,
)
from domain.errors import ValidationError

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
CUSTOMER_ID = UUID("0190c0de-0000-7000-8000-0000000000c1")
SUBSCRIPTION_ID = UUID("0190c0de-0000-7000-8000-000000000051")
ACTOR_ID = UUID("0190c0de-0000-7000-8000-0000000000a1")
# Lots that expire at the same instant and were granted together are ordered by id;
# scrambling a counter keeps ids deterministic (so failures replay and shrink) without
# making that tie-break always follow creation order.
_SCRAMBLE = 0x9E3779B97F4A7C15F39CC0605CEDC835

GRANT_TYPES = (CreditType.EARNED_SUBSCRIPTION, CreditType.EARNED_PURCHASE, CreditType.ADJUSTMENT)

durations = st.one_of(
    st.integers(0, 40).map(lambda d: timedelta(days=d)),
    st.integers(0, 40 * 24).map(lambda h: timedelta(hours=h)),
)
# Whole days line expiries up with day-sized clock steps, so "expires exactly now" and
# equal expiries both happen.
lifetimes = st.one_of(
    st.just(timedelta(days=30)),
    st.integers(1, 45).map(lambda d: timedelta(days=d)),
    st.integers(1, 45 * 24).map(lambda h: timedelta(hours=h)),
)
reasons = st.sampled_from(["goodwill", "  double-charged last month  ", "r" * REASON_MAX])


@dataclass
class ModelGrant:
    type: CreditType
    amount: int
    remaining: int
    expires_at: datetime | None

    def live(self, now: datetime) -> bool:
        return self.remaining > 0 and (self.expires_at is None or self.expires_at > now)


def check_soonest_first(lots: list[Lot]) -> None:
    """Dated lots before undated ones, and dated ones by expiry (ties may go any way)."""
    for before, after in pairwise(lots):
        if before.expires_at is None:
            assert after.expires_at is None, "a lot that never expires was used first"
        elif after.expires_at is not None:
            assert before.expires_at <= after.expires_at, "a later expiry was used first"


def check_greedy(snapshot: list[tuple[UUID, int]], allocations: tuple[Allocation, ...],
                 total: int) -> None:
    """``allocations`` drain ``snapshot`` in its order: whole lots, then part of one."""
    assert sum(a.amount for a in allocations) == total
    assert len(allocations) <= len(snapshot)
    for index, allocation in enumerate(allocations):
        grant_id, remaining = snapshot[index]
        assert allocation.grant_id == grant_id, "allocations skipped or reordered a lot"
        if index < len(allocations) - 1:
            assert allocation.amount == remaining, "a lot was left part-used before the next"
        else:
            assert 0 < allocation.amount <= remaining


class CreditLedgerMachine(RuleBasedStateMachine):
    spends: Bundle[Entry] = Bundle("spends")

    def __init__(self) -> None:
        super().__init__()
        self.ledger = CreditLedger(CUSTOMER_ID)
        self.now = T0
        self.issued = 0
        self.model: dict[UUID, ModelGrant] = {}
        self.earned = 0
        self.spent = 0

    # --- helpers ---------------------------------------------------------------------

    def new_id(self) -> UUID:
        self.issued += 1
        return UUID(int=(self.issued * _SCRAMBLE) % 2**128)

    def model_available(self) -> int:
        return sum(g.remaining for g in self.model.values() if g.live(self.now))

    def live_snapshot(self, *, only: CreditType | None = None) -> list[tuple[UUID, int]]:
        lots = [lot for lot in self.ledger.live_lots(self.now) if only in (None, lot.type)]
        check_soonest_first(lots)
        return [(lot.grant_id, lot.remaining) for lot in lots]

    def model_expire(self) -> dict[UUID, int]:
        """What must be written off now; the model writes it off too."""
        due: dict[UUID, int] = {}
        for grant_id, grant in self.model.items():
            expired = grant.expires_at is not None and grant.expires_at <= self.now
            if grant.remaining > 0 and expired:
                due[grant_id] = grant.remaining
                grant.remaining = 0
        return due

    def check_write_offs(self, entries: list[Entry], due: dict[UUID, int]) -> None:
        written: dict[UUID, int] = {}
        for entry in entries:
            assert entry.type is CreditType.EXPIRED
            assert entry.created_at == self.now
            assert len(entry.allocations) == 1
            (allocation,) = entry.allocations
            assert allocation.amount == -entry.amount > 0
            assert allocation.grant_id not in written, "a grant was written off twice"
            assert entry.expires_at == self.model[allocation.grant_id].expires_at
            written[allocation.grant_id] = allocation.amount
        assert written == due

    def take(self, allocations: tuple[Allocation, ...]) -> None:
        for allocation in allocations:
            grant = self.model[allocation.grant_id]
            grant.remaining -= allocation.amount
            assert 0 <= grant.remaining <= grant.amount

    def record_grant(self, entry: Entry, type: CreditType, amount: int,
                     expires_at: datetime | None, entries_before: int) -> None:
        assert self.ledger.new_entries[entries_before:] == [entry]
        assert entry.type is type
        assert entry.amount == amount
        assert entry.is_grant
        assert entry.allocations == ()
        assert entry.expires_at == expires_at
        assert entry.created_at == self.now
        assert entry.id not in self.model
        self.model[entry.id] = ModelGrant(type, amount, amount, expires_at)
        self.earned += amount

    def debit(self, amount: int, *, spend: bool, reason: str) -> Entry | None:
        """A spend or a negative adjustment: both expire first, then take greedily."""
        entries_before = len(self.ledger.new_entries)
        balance_before = self.ledger.balance
        snapshot = self.live_snapshot()
        due = self.model_expire()
        available = self.model_available()
        assert dict(snapshot) == {
            g: m.remaining for g, m in self.model.items() if m.live(self.now)}
        try:
            if spend:
                entry = self.ledger.spend(self.new_id, amount, self.now,
                                          booking_id=self.new_id())
            else:
                entry = self.ledger.adjust(self.new_id, -amount, reason, self.now,
                                           actor_id=ACTOR_ID)
        except InsufficientCredits as exc:
            assert amount > available
            assert exc.code == "credits.insufficient"
            assert exc.details == {"needed": amount, "available": available}
            # The write-offs done on the way stand: they were due regardless.
            self.check_write_offs(self.ledger.new_entries[entries_before:], due)
            assert self.ledger.balance == balance_before - sum(due.values())
            return None
        assert amount <= available, "a debit beyond what is available went through"
        *write_offs, last = self.ledger.new_entries[entries_before:]
        assert last == entry
        self.check_write_offs(write_offs, due)
        assert entry.amount == -amount
        assert entry.created_at == self.now
        assert entry.type is (CreditType.SPENT_OFFERING if spend else CreditType.ADJUSTMENT)
        check_greedy(snapshot, entry.allocations, amount)
        self.take(entry.allocations)
        return entry

    # --- rules -----------------------------------------------------------------------

    @rule(delta=durations)
    def advance(self, delta: timedelta) -> None:
        self.now += delta

    @rule(amount=st.integers(1, 50), lifetime=st.one_of(st.none(), lifetimes))
    def earn_subscription(self, amount: int, lifetime: timedelta | None) -> None:
        expires_at = None if lifetime is None else self.now + lifetime
        before = len(self.ledger.new_entries)
        entry = self.ledger.earn(self.new_id, CreditType.EARNED_SUBSCRIPTION, amount, self.now,
                                 expires_at=expires_at, subscription_id=SUBSCRIPTION_ID,
                                 source_key=f"invoice:{self.issued}")
        self.record_grant(entry, CreditType.EARNED_SUBSCRIPTION, amount, expires_at, before)
        assert entry.subscription_id == SUBSCRIPTION_ID

    @rule(amount=st.integers(1, 50), lifetime=st.one_of(st.none(), lifetimes))
    def earn_purchase(self, amount: int, lifetime: timedelta | None) -> None:
        expires_at = None if lifetime is None else self.now + lifetime
        before = len(self.ledger.new_entries)
        entry = self.ledger.earn(self.new_id, CreditType.EARNED_PURCHASE, amount, self.now,
                                 expires_at=expires_at, source_key=f"purchase:{self.issued}")
        self.record_grant(entry, CreditType.EARNED_PURCHASE, amount, expires_at, before)

    @rule(target=spends, amount=st.integers(1, 30))
    def spend(self, amount: int) -> Entry | MultipleResults[Entry]:
        entry = self.debit(amount, spend=True, reason="")
        if entry is None:
            return multiple()
        self.spent += amount
        return entry

    @rule(spend=consumes(spends))
    def refund(self, spend: Entry) -> None:
        before = len(self.ledger.new_entries)
        entry = self.ledger.refund(self.new_id, spend, self.now)
        assert self.ledger.new_entries[before:] == [entry]
        assert entry.type is CreditType.REFUNDED_OFFERING
        assert entry.amount == -spend.amount > 0
        assert not entry.is_grant
        assert entry.source_key == refund_key(spend.id)
        assert entry.booking_id == spend.booking_id
        assert entry.allocations == tuple(
            Allocation(a.grant_id, -a.amount) for a in spend.allocations)
        self.take(entry.allocations)
        self.spent += spend.amount

    @rule(amount=st.integers(1, 30), reason=reasons)
    def adjust_down(self, amount: int, reason: str) -> None:
        entry = self.debit(amount, spend=False, reason=reason)
        if entry is not None:
            assert entry.description == reason.strip()
            assert entry.actor_id == ACTOR_ID

    @rule(amount=st.integers(1, 30), reason=reasons,
          lifetime=st.one_of(st.none(), lifetimes))
    def adjust_up(self, amount: int, reason: str, lifetime: timedelta | None) -> None:
        expires_at = None if lifetime is None else self.now + lifetime
        before = len(self.ledger.new_entries)
        entry = self.ledger.adjust(self.new_id, amount, reason, self.now, actor_id=ACTOR_ID,
                                   expires_at=expires_at)
        self.record_grant(entry, CreditType.ADJUSTMENT, amount, expires_at, before)
        assert entry.description == reason.strip()

    @rule(amount=st.integers(-30, 30), reason=st.sampled_from(["", "   ", "r" * 501]))
    def adjust_rejected(self, amount: int, reason: str) -> None:
        before = list(self.ledger.new_entries)
        with pytest.raises(ValidationError) as raised:
            self.ledger.adjust(self.new_id, amount, reason, self.now, actor_id=ACTOR_ID)
        assert raised.value.code == "credits.reason_required"
        with pytest.raises(ValidationError) as raised:
            self.ledger.adjust(self.new_id, 0, "goodwill", self.now, actor_id=ACTOR_ID)
        assert raised.value.code == "credits.amount"
        with pytest.raises(ValidationError) as raised:
            self.ledger.spend(self.new_id, -abs(amount), self.now)
        assert raised.value.code == "credits.amount"
        assert self.ledger.new_entries == before

    @precondition(lambda self: any(e.type is not CreditType.SPENT_OFFERING
                                   for e in self.ledger.new_entries))
    @rule(data=st.data())
    def refund_of_a_non_spend_is_rejected(self, data: st.DataObject) -> None:
        before = list(self.ledger.new_entries)
        other = data.draw(st.sampled_from(
            [e for e in before if e.type is not CreditType.SPENT_OFFERING]))
        with pytest.raises(ValidationError) as raised:
            self.ledger.refund(self.new_id, other, self.now)
        assert raised.value.code == "credits.not_a_spend"
        assert self.ledger.new_entries == before

    @rule()
    def expire_due(self) -> None:
        before = len(self.ledger.new_entries)
        due = self.model_expire()
        written = self.ledger.expire_due(self.now, self.new_id)
        assert self.ledger.new_entries[before:] == written
        self.check_write_offs(written, due)
        for lot in self.ledger.lots:
            if lot.remaining > 0:
                assert lot.expires_at is None or lot.expires_at > self.now
        assert self.ledger.expire_due(self.now, self.new_id) == [], "expire_due not idempotent"
        assert self.ledger.available(self.now) == self.ledger.balance

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        grant_id = data.draw(st.sampled_from(sorted(self.model)))
        before = len(self.ledger.new_entries)
        due = self.model_expire()
        left = self.model[grant_id].remaining
        others = {g: m.remaining for g, m in self.model.items() if g != grant_id}
        entry = self.ledger.withdraw(self.new_id, grant_id, self.now,
                                     description="Purchase refunded",
                                     source_key=f"purchase-refund:{self.issued}")
        written = self.ledger.new_entries[before:]
        if left == 0:
            assert entry is None
            self.check_write_offs(written, due)
        else:
            assert entry is not None and written[-1] == entry
            self.check_write_offs(written[:-1], due)
            assert entry.type is CreditType.ADJUSTMENT and entry.amount == -left
            assert entry.allocations == (Allocation(grant_id, left),)
            assert not entry.is_grant
            self.take(entry.allocations)
        assert self.model[grant_id].remaining == 0
        assert {g: m.remaining for g, m in self.model.items() if g != grant_id} == others

    @rule(cap=st.integers(0, 20))
    def cap_rollover(self, cap: int) -> None:
        before = len(self.ledger.new_entries)
        snapshot = self.live_snapshot(only=CreditType.EARNED_SUBSCRIPTION)
        carried = sum(g.remaining for g in self.model.values()
                      if g.type is CreditType.EARNED_SUBSCRIPTION and g.live(self.now))
        assert sum(remaining for _, remaining in snapshot) == carried
        entry = self.ledger.cap_rollover(cap, self.now, self.new_id, SUBSCRIPTION_ID)
        if carried <= cap:
            assert entry is None
            assert len(self.ledger.new_entries) == before
            return
        assert entry is not None
        assert self.ledger.new_entries[before:] == [entry]
        assert entry.type is CreditType.EXPIRED
        assert entry.amount == cap - carried
        assert entry.subscription_id == SUBSCRIPTION_ID
        check_greedy(snapshot, entry.allocations, carried - cap)
        self.take(entry.allocations)
        left = sum(lot.remaining for lot in self.ledger.live_lots(self.now)
                   if lot.type is CreditType.EARNED_SUBSCRIPTION)
        assert left == cap

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def balance_is_the_sum_of_entries_and_never_negative(self) -> None:
        entries = self.ledger.new_entries
        assert self.ledger.balance >= 0
        assert self.ledger.balance == sum(e.amount for e in entries)
        running = 0
        for entry in entries:
            running += entry.amount
            assert entry.balance_after == running >= 0
        assert [e.number for e in entries] == list(range(1, len(entries) + 1))
        assert self.ledger.entry_count == len(entries)

    @invariant()
    def the_audit_finds_nothing(self) -> None:
        assert violations(self.ledger.new_entries, balance=self.ledger.balance,
                          lifetime_earned=self.ledger.lifetime_earned,
                          lifetime_spent=self.ledger.lifetime_spent) == []

    @invariant()
    def lifetime_totals(self) -> None:
        entries = self.ledger.new_entries
        grants = sum(e.amount for e in entries
                     if e.amount > 0 and e.type is not CreditType.REFUNDED_OFFERING)
        spent = sum(-e.amount for e in entries if e.type is CreditType.SPENT_OFFERING)
        refunded = sum(e.amount for e in entries if e.type is CreditType.REFUNDED_OFFERING)
        assert self.ledger.lifetime_earned == grants == self.earned
        assert self.ledger.lifetime_spent == spent - refunded == self.spent
        assert self.ledger.lifetime_spent >= 0

    @invariant()
    def debits_are_fully_allocated_and_grants_are_not(self) -> None:
        for entry in self.ledger.new_entries:
            if entry.is_grant:
                assert entry.type in GRANT_TYPES
                assert entry.allocations == ()
            else:
                assert sum(a.amount for a in entry.allocations) == -entry.amount

    @invariant()
    def lots_match_the_model(self) -> None:
        lots = {lot.grant_id: lot for lot in self.ledger.lots}
        assert lots.keys() == self.model.keys()
        for grant_id, grant in self.model.items():
            lot = lots[grant_id]
            assert (lot.type, lot.amount, lot.remaining, lot.expires_at) == (
                grant.type, grant.amount, grant.remaining, grant.expires_at)
        assert self.ledger.balance == sum(g.remaining for g in self.model.values())

    @invariant()
    def available_is_what_is_left_before_expiry(self) -> None:
        unexpired = sum(lot.remaining for lot in self.ledger.lots
                        if lot.expires_at is None or lot.expires_at > self.now)
        assert self.ledger.available(self.now) == unexpired == self.model_available()
        assert self.ledger.available(self.now) <= self.ledger.balance


CreditLedgerMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None)
TestCreditLedger = CreditLedgerMachine.TestCase
