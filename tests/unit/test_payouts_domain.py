"""Media owners' money rules: the refund split, payout accounts and invitations."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.commerce.revenue import RevenueSplit, refund_split, split_revenue
from domain.errors import Conflict
from domain.identity.roles import Role
from domain.payouts.accounts import (
    AccountStatus,
    PayoutAccount,
    PayoutsEnabled,
    SellerNotReady,
    require_ready,
)
from domain.payouts.invitations import InvalidInvitation, Invitation, MediaOwnerInvited
from domain.values import Money

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def usd(cents: int) -> Money:
    return Money(Decimal(cents) / 100, "usd")


# -- the split of a sale and of its refunds -----------------------------------------------


@pytest.mark.parametrize(("percent", "price", "fee"), [
    ("30", "9.99", "3.00"), ("30", "0.15", "0.04"), ("25", "10.00", "2.50"),
    ("0", "10.00", "0.00"), ("100", "10.00", "10.00"), ("12.5", "0.04", "0.00")])
def test_the_fee_follows_the_setting(percent: str, price: str, fee: str) -> None:
    split = split_revenue(Money(price, "usd"), Role.MEDIA_OWNER, Decimal(percent))
    assert split.platform_fee == Money(fee, "usd")
    assert split.platform_fee + split.creator_payout == split.amount


def test_the_platforms_own_creators_pay_no_fee_whatever_the_setting() -> None:
    split = split_revenue(Money("10.00", "usd"), Role.PLATFORM_CREATOR, Decimal("30"))
    assert split.platform_fee.is_zero and split.creator_payout == Money("10.00", "usd")


def test_a_refund_gives_back_the_fee_and_the_payout_in_proportion() -> None:
    sale = split_revenue(Money("10.00", "usd"), Role.MEDIA_OWNER)
    half = refund_split(sale, Money("0", "usd"), Money("5.00", "usd"))
    assert half == RevenueSplit(Money("5.00", "usd"), Money("1.50", "usd"), Money("3.50", "usd"))
    rest = refund_split(sale, Money("5.00", "usd"), Money("5.00", "usd"))
    assert rest.platform_fee + half.platform_fee == sale.platform_fee


def test_a_refund_larger_than_what_is_left_is_refused() -> None:
    sale = split_revenue(Money("10.00", "usd"), Role.MEDIA_OWNER)
    with pytest.raises(ValueError):
        refund_split(sale, Money("6.00", "usd"), Money("4.01", "usd"))
    with pytest.raises(ValueError):
        refund_split(sale, Money("0", "usd"), Money("0", "usd"))


@st.composite
def sale_and_refunds(draw: st.DrawFn) -> tuple[RevenueSplit, list[Money]]:
    price = draw(st.integers(min_value=1, max_value=1_000_000))
    percent = Decimal(draw(st.integers(min_value=0, max_value=10_000))) / 100
    sale = split_revenue(usd(price), Role.MEDIA_OWNER, percent)
    cuts = sorted(draw(st.lists(st.integers(min_value=1, max_value=price - 1),
                                max_size=min(6, price - 1), unique=True))) if price > 1 else []
    bounds = [0, *cuts, price]
    return sale, [usd(b - a) for a, b in itertools.pairwise(bounds)]


@given(sale_and_refunds())
def test_refunds_that_add_up_to_the_sale_give_back_exactly_its_fee_and_payout(
        case: tuple[RevenueSplit, list[Money]]) -> None:
    sale, refunds = case
    before = Money("0", "usd")
    fee = payout = Money("0", "usd")
    for refund in refunds:
        part = refund_split(sale, before, refund)
        # Each part is a real split of its refund: nothing negative, nothing more.
        assert not part.platform_fee.is_negative and not part.creator_payout.is_negative
        assert part.platform_fee + part.creator_payout == refund
        fee, payout, before = fee + part.platform_fee, payout + part.creator_payout, \
            before + refund
    assert fee == sale.platform_fee and payout == sale.creator_payout


# -- payout accounts ----------------------------------------------------------------------


def status(at: datetime, *, ready: bool, due: tuple[str, ...] = (),
           account_id: str = "acct_1") -> AccountStatus:
    return AccountStatus(account_id=account_id, charges_enabled=ready, payouts_enabled=ready,
                         details_submitted=ready, requirements_due=due, as_of=at)


def test_an_account_is_ready_when_it_takes_charges_and_pays_out() -> None:
    account = PayoutAccount.opened(uuid4(), "acct_1", T0)
    assert account.state == "onboarding" and not account.ready
    with pytest.raises(SellerNotReady) as refused:
        require_ready(account)
    assert refused.value.code == "seller.payouts_not_ready"
    assert refused.value.details == {"payouts": "onboarding"}
    with pytest.raises(SellerNotReady):
        require_ready(None)
    assert account.apply(status(T0 + timedelta(minutes=1), ready=True), T0)
    assert account.ready and account.state == "enabled"
    assert require_ready(account) is account
    assert [type(e) for e in account.events] == [PayoutsEnabled]


def test_an_older_report_never_undoes_a_newer_one() -> None:
    account = PayoutAccount.opened(uuid4(), "acct_1", T0)
    assert account.apply(status(T0 + timedelta(minutes=5), ready=True), T0)
    assert not account.apply(status(T0 + timedelta(minutes=2), ready=False,
                                    due=("external_account",)), T0)
    assert account.ready and account.requirements_due == ()
    # The same report again changes nothing and announces nothing again.
    assert not account.apply(status(T0 + timedelta(minutes=5), ready=True), T0)
    assert len(account.events) == 1


def test_a_restricted_account_stops_selling_and_announces_again_when_enabled() -> None:
    account = PayoutAccount.opened(uuid4(), "acct_1", T0)
    account.apply(status(T0 + timedelta(minutes=1), ready=True), T0)
    restricted = AccountStatus(account_id="acct_1", charges_enabled=False,
                               payouts_enabled=False, details_submitted=True,
                               requirements_due=("individual.verification.document",),
                               disabled_reason="requirements.past_due",
                               as_of=T0 + timedelta(days=30))
    assert account.apply(restricted, T0)
    assert account.state == "restricted" and not account.ready
    account.apply(status(T0 + timedelta(days=31), ready=True), T0)
    assert [type(e) for e in account.events] == [PayoutsEnabled, PayoutsEnabled]


@pytest.mark.parametrize(("submitted", "reason", "state"), [
    # Stripe marks a brand-new account disabled until its details are in.
    (False, "requirements.past_due", "onboarding"),
    (False, None, "onboarding"),
    (True, "requirements.pending_verification", "pending"),
    (True, None, "pending"),
    (True, "requirements.past_due", "restricted"),
    (True, "rejected.fraud", "restricted")])
def test_the_state_an_owner_is_shown(submitted: bool, reason: str | None, state: str) -> None:
    account = PayoutAccount.opened(uuid4(), "acct_1", T0)
    account.apply(AccountStatus(account_id="acct_1", charges_enabled=False,
                                payouts_enabled=False, details_submitted=submitted,
                                requirements_due=("external_account",),
                                disabled_reason=reason, as_of=T0), T0)
    assert account.state == state


def test_a_report_about_another_account_is_ignored() -> None:
    account = PayoutAccount.opened(uuid4(), "acct_1", T0)
    assert not account.apply(status(T0 + timedelta(minutes=1), ready=True,
                                    account_id="acct_2"), T0)
    assert not account.ready


# -- invitations --------------------------------------------------------------------------


def invitation() -> Invitation:
    invited = Invitation.create(id=uuid4(), email="maya@example.com", invited_by=None, now=T0)
    invited.issue_token("hash-1", T0)
    return invited


def test_an_invitation_is_mailed_and_accepted_once() -> None:
    invited = invitation()
    assert [type(e) for e in invited.events] == [MediaOwnerInvited]
    user = uuid4()
    invited.accept("hash-1", user, T0 + timedelta(days=1))
    assert invited.accepted and invited.accepted_user_id == user
    assert invited.token_hash is None
    with pytest.raises(InvalidInvitation):
        invited.accept("hash-1", user, T0 + timedelta(days=1))
    with pytest.raises(Conflict) as refused:
        invited.resend(T0)
    assert refused.value.code == "invitation.accepted"


@pytest.mark.parametrize(("token", "days"), [("hash-2", 1), ("hash-1", 14), ("hash-1", 20)])
def test_a_wrong_or_expired_link_accepts_nothing(token: str, days: int) -> None:
    invited = invitation()
    with pytest.raises(InvalidInvitation) as refused:
        invited.accept(token, uuid4(), T0 + timedelta(days=days))
    assert refused.value.code == "invitation.invalid"
    assert not invited.accepted
