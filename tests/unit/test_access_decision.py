"""The access rules in ``domain.access.decision.decide``: pure, no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.access.decision import (
    AccessDecision,
    Grant,
    ItemFacts,
    Reason,
    Viewer,
    ViewerFacts,
    decide,
)
from domain.catalog.rules import Status, Visibility
from domain.identity.roles import Role

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
CREATOR = UUID("00000000-0000-4000-8000-000000000001")
ITEM_ID = UUID("00000000-0000-4000-8000-0000000000aa")

ALLOW_REASONS = frozenset({
    Reason.OWNER, Reason.STAFF, Reason.PUBLIC, Reason.FREE, Reason.PURCHASED,
    Reason.COMPLIMENTARY, Reason.SUBSCRIPTION_GRANT, Reason.PREVIEW,
    Reason.SERIES_PURCHASED, Reason.MEMBERSHIP,
})
DENY_REASONS = frozenset(Reason) - ALLOW_REASONS
GRANT_REASON = {
    "purchased": Reason.PURCHASED,
    "complimentary": Reason.COMPLIMENTARY,
    "subscription": Reason.SUBSCRIPTION_GRANT,
    "preview": Reason.PREVIEW,
}
ACCESS_TYPES = tuple(GRANT_REASON)
# Archived items are not here: they stay with their holders (see the archived tests).
NOT_VISIBLE = [
    {"status": Status.DRAFT},
    {"status": Status.ARCHIVED, "deleted": True},
    {"deleted": True},
    {"status": Status.DRAFT, "deleted": True},
]


def item(
    *,
    visibility: Visibility = Visibility.PURCHASED_ONLY,
    status: Status = Status.PUBLISHED,
    is_free: bool = False,
    deleted: bool = False,
    creator_id: UUID = CREATOR,
) -> ItemFacts:
    return ItemFacts(id=ITEM_ID, creator_id=creator_id, status=status, visibility=visibility,
                     is_free=is_free, deleted=deleted)


def viewer(role: Role = Role.CUSTOMER, user_id: UUID | None = None) -> Viewer:
    return Viewer(user_id=user_id or uuid.uuid4(), role=role)


def grant(access_type: str, expires_at: datetime | None = None,
          grant_id: UUID | None = None) -> Grant:
    return Grant(id=grant_id or uuid.uuid4(), access_type=access_type, expires_at=expires_at)


def assert_consistent(decision: AccessDecision) -> None:
    assert decision.allowed is (decision.reason in ALLOW_REASONS)
    assert decision.trace
    verdict = "allow" if decision.allowed else "deny"
    assert decision.trace[-1] == f"=> {verdict} ({decision.reason.value})"


# -- strategies ------------------------------------------------------------------------

uuids = st.uuids(version=4)
statuses = st.sampled_from(list(Status))
visibilities = st.sampled_from(list(Visibility))
roles = st.sampled_from(list(Role))
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
offsets = st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=400))


@st.composite
def items(draw: st.DrawFn, creator_id: UUID | None = None) -> ItemFacts:
    return ItemFacts(
        id=draw(uuids), creator_id=creator_id or draw(uuids), status=draw(statuses),
        visibility=draw(visibilities), is_free=draw(st.booleans()), deleted=draw(st.booleans()),
    )


@st.composite
def grants_relative_to(draw: st.DrawFn, now: datetime) -> Grant:
    expires = draw(st.none() | offsets.map(lambda d: now + d))
    return Grant(id=draw(uuids), access_type=draw(st.sampled_from(ACCESS_TYPES)),
                 expires_at=expires)


@st.composite
def situations(draw: st.DrawFn) -> tuple[ItemFacts, Viewer | None, ViewerFacts, datetime]:
    now = draw(moments)
    the_item = draw(items())
    kind = draw(st.sampled_from(["anonymous", "creator", "other"]))
    the_viewer: Viewer | None
    if kind == "anonymous":
        the_viewer = None
    elif kind == "creator":
        the_viewer = Viewer(the_item.creator_id, draw(roles))
    else:
        the_viewer = Viewer(draw(uuids.filter(lambda u: u != the_item.creator_id)), draw(roles))
    facts = ViewerFacts(
        grants=tuple(draw(st.lists(grants_relative_to(now), max_size=4))),
        series_purchased=draw(st.booleans()),
        membership_covers=draw(st.booleans()),
        missing_prerequisites=draw(st.integers(min_value=0, max_value=3)),
    )
    return the_item, the_viewer, facts, now


# -- owner and staff ---------------------------------------------------------------------


@given(
    status=statuses, visibility=visibilities, deleted=st.booleans(), is_free=st.booleans(),
    role=roles, missing=st.integers(min_value=0, max_value=5),
)
def test_the_creator_is_always_allowed_as_owner(
    status: Status, visibility: Visibility, deleted: bool, is_free: bool, role: Role, missing: int
) -> None:
    decision = decide(
        item(status=status, visibility=visibility, deleted=deleted, is_free=is_free),
        Viewer(CREATOR, role), ViewerFacts(missing_prerequisites=missing), NOW,
    )
    if deleted:
        # Deleted is gone from every read path, for its creator too.
        assert not decision.allowed and decision.reason is Reason.NOT_FOUND
        return
    assert decision.allowed
    assert decision.reason is Reason.OWNER
    assert decision.grant_id is None
    assert_consistent(decision)


@given(
    status=statuses, visibility=visibilities, deleted=st.booleans(),
    missing=st.integers(min_value=0, max_value=5),
)
def test_platform_owners_are_allowed_whatever_the_item(
    status: Status, visibility: Visibility, deleted: bool, missing: int
) -> None:
    decision = decide(item(status=status, visibility=visibility, deleted=deleted),
                      viewer(Role.PLATFORM_OWNER), ViewerFacts(missing_prerequisites=missing),
                      NOW)
    if deleted:
        assert not decision.allowed and decision.reason is Reason.NOT_FOUND
        return
    assert decision.allowed
    assert decision.reason is Reason.STAFF
    assert_consistent(decision)


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.MEDIA_OWNER])
@pytest.mark.parametrize("hidden", NOT_VISIBLE)
@pytest.mark.parametrize("visibility", list(Visibility))
def test_non_creators_do_not_find_unpublished_or_deleted_items(
    role: Role, hidden: dict[str, object], visibility: Visibility
) -> None:
    every_door_open = ViewerFacts(
        grants=(grant("purchased"), grant("complimentary")),
        series_purchased=True, membership_covers=True,
    )
    decision = decide(item(visibility=visibility, **hidden),  # type: ignore[arg-type]
                      viewer(role), every_door_open, NOW)
    assert not decision.allowed
    assert decision.reason is Reason.NOT_FOUND
    assert decision.hides_existence
    assert_consistent(decision)


@pytest.mark.parametrize("hidden", NOT_VISIBLE)
def test_anonymous_viewers_do_not_find_unpublished_or_deleted_items(
    hidden: dict[str, object],
) -> None:
    decision = decide(item(visibility=Visibility.PUBLIC, **hidden),  # type: ignore[arg-type]
                      None, ViewerFacts(), NOW)
    assert decision.reason is Reason.NOT_FOUND
    assert not decision.allowed


def test_only_not_found_hides_existence() -> None:
    for reason in Reason:
        decision = AccessDecision(reason in ALLOW_REASONS, reason, ("x",))
        assert decision.hides_existence is (reason is Reason.NOT_FOUND)


@pytest.mark.parametrize("role", [Role.PLATFORM_CREATOR, Role.MEDIA_OWNER, Role.CUSTOMER])
@pytest.mark.parametrize("status", [Status.DRAFT, Status.ARCHIVED])
def test_other_creators_get_no_bypass_to_unpublished_items(role: Role, status: Status) -> None:
    decision = decide(item(status=status, visibility=Visibility.PUBLIC), viewer(role),
                      ViewerFacts(), NOW)
    assert not decision.allowed and decision.hides_existence


# -- public and free -------------------------------------------------------------------


@given(role=st.none() | roles, is_free=st.booleans())
def test_public_published_items_are_public_for_anyone(role: Role | None, is_free: bool) -> None:
    the_viewer = None if role is None else viewer(role)
    decision = decide(item(visibility=Visibility.PUBLIC, is_free=is_free), the_viewer,
                      ViewerFacts(), NOW)
    assert decision.allowed
    expected = Reason.STAFF if role is Role.PLATFORM_OWNER else Reason.PUBLIC
    assert decision.reason is expected
    assert_consistent(decision)


def test_public_item_with_a_grant_still_reports_public() -> None:
    decision = decide(item(visibility=Visibility.PUBLIC), viewer(),
                      ViewerFacts(grants=(grant("purchased"),)), NOW)
    assert decision.reason is Reason.PUBLIC
    assert decision.grant_id is None


def test_free_purchased_only_item_is_free_for_signed_in_viewers() -> None:
    decision = decide(item(is_free=True), viewer(), ViewerFacts(), NOW)
    assert decision.allowed
    assert decision.reason is Reason.FREE
    assert_consistent(decision)


def test_free_purchased_only_item_still_needs_a_sign_in() -> None:
    decision = decide(item(is_free=True), None, ViewerFacts(), NOW)
    assert not decision.allowed
    assert decision.reason is Reason.SIGN_IN_REQUIRED


# -- purchased_only --------------------------------------------------------------------


@pytest.mark.parametrize("visibility", [Visibility.PURCHASED_ONLY, Visibility.MEMBERS_ONLY])
def test_anonymous_viewers_must_sign_in_for_non_public_items(visibility: Visibility) -> None:
    decision = decide(item(visibility=visibility), None, ViewerFacts(), NOW)
    assert not decision.allowed
    assert decision.reason is Reason.SIGN_IN_REQUIRED
    assert decision.grant_id is None
    assert_consistent(decision)


def test_anonymous_facts_cannot_open_an_item() -> None:
    # Facts for nobody (as a buggy read could produce) do not count without a viewer.
    facts = ViewerFacts(grants=(grant("purchased"),), series_purchased=True,
                        membership_covers=True)
    decision = decide(item(), None, facts, NOW)
    assert decision.reason is Reason.SIGN_IN_REQUIRED


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.MEDIA_OWNER])
def test_signed_in_without_a_grant_must_purchase(role: Role) -> None:
    decision = decide(item(), viewer(role), ViewerFacts(), NOW)
    assert not decision.allowed
    assert decision.reason is Reason.PURCHASE_REQUIRED
    assert_consistent(decision)


@pytest.mark.parametrize("expires_at", [None, NOW + timedelta(seconds=1),
                                        NOW + timedelta(days=365)])
def test_an_active_purchased_grant_opens_the_item(expires_at: datetime | None) -> None:
    g = grant("purchased", expires_at)
    decision = decide(item(), viewer(), ViewerFacts(grants=(g,)), NOW)
    assert decision.allowed
    assert decision.reason is Reason.PURCHASED
    assert decision.reason.value == "grant:purchased"
    assert decision.grant_id == g.id
    assert_consistent(decision)


@pytest.mark.parametrize("access_type", ACCESS_TYPES)
@pytest.mark.parametrize("expires_at", [NOW, NOW - timedelta(seconds=1),
                                        NOW - timedelta(days=30)])
def test_an_expired_grant_opens_nothing(access_type: str, expires_at: datetime) -> None:
    decision = decide(item(), viewer(), ViewerFacts(grants=(grant(access_type, expires_at),)),
                      NOW)
    assert not decision.allowed
    assert decision.reason is Reason.PURCHASE_REQUIRED
    assert decision.grant_id is None
    assert any("expired" in line for line in decision.trace)


def test_grant_activity_is_strictly_before_expiry() -> None:
    assert grant("purchased", NOW + timedelta(microseconds=1)).active(NOW)
    assert not grant("purchased", NOW).active(NOW)
    assert grant("purchased", None).active(NOW)


@pytest.mark.parametrize("access_type", ACCESS_TYPES)
def test_each_grant_type_reports_its_own_reason(access_type: str) -> None:
    g = grant(access_type)
    decision = decide(item(), viewer(), ViewerFacts(grants=(g,)), NOW)
    assert decision.allowed
    assert decision.reason is GRANT_REASON[access_type]
    assert decision.grant_id == g.id


@given(data=st.data(), present=st.sets(st.sampled_from(ACCESS_TYPES), min_size=1))
def test_grant_precedence_is_purchased_complimentary_subscription_preview(
    data: st.DataObject, present: set[str]
) -> None:
    granted = [grant(t) for t in present]
    shuffled = data.draw(st.permutations(granted))
    expected_type = next(t for t in ACCESS_TYPES if t in present)
    expected = next(g for g in granted if g.access_type == expected_type)
    decision = decide(item(), viewer(), ViewerFacts(grants=tuple(shuffled)), NOW)
    assert decision.reason is GRANT_REASON[expected_type]
    assert decision.grant_id == expected.id


def test_an_expired_better_grant_yields_to_an_active_lesser_one() -> None:
    old = grant("purchased", NOW - timedelta(days=1))
    comp = grant("preview", NOW + timedelta(days=1))
    decision = decide(item(), viewer(), ViewerFacts(grants=(old, comp)), NOW)
    assert decision.reason is Reason.PREVIEW
    assert decision.grant_id == comp.id


def test_a_grant_beats_series_purchase_and_membership() -> None:
    g = grant("complimentary")
    facts = ViewerFacts(grants=(g,), series_purchased=True, membership_covers=True)
    for visibility in (Visibility.PURCHASED_ONLY, Visibility.MEMBERS_ONLY):
        decision = decide(item(visibility=visibility), viewer(), facts, NOW)
        assert decision.reason is Reason.COMPLIMENTARY
        assert decision.grant_id == g.id


# -- members_only ----------------------------------------------------------------------


@pytest.mark.parametrize("is_free", [False, True])
def test_members_only_opens_to_a_covering_membership(is_free: bool) -> None:
    decision = decide(item(visibility=Visibility.MEMBERS_ONLY, is_free=is_free), viewer(),
                      ViewerFacts(membership_covers=True), NOW)
    assert decision.allowed
    assert decision.reason is Reason.MEMBERSHIP
    assert decision.grant_id is None
    assert_consistent(decision)


@pytest.mark.parametrize("is_free", [False, True])
def test_members_only_without_membership_requires_one(is_free: bool) -> None:
    # A free members-only item is still for members.
    decision = decide(item(visibility=Visibility.MEMBERS_ONLY, is_free=is_free), viewer(),
                      ViewerFacts(), NOW)
    assert not decision.allowed
    assert decision.reason is Reason.MEMBERSHIP_REQUIRED
    assert_consistent(decision)


def test_membership_opens_paid_items_its_tier_covers() -> None:
    # The facts say covered only when the tier names the item's category or has full
    # catalog access (for paid items, an empty category list covers nothing).
    decision = decide(item(), viewer(),
                      ViewerFacts(membership_covers=True, membership_tier="Gold"), NOW)
    assert decision.allowed
    assert decision.reason is Reason.MEMBERSHIP
    assert "membership Gold covers item" in decision.trace
    assert decide(item(), viewer(), ViewerFacts(), NOW).reason is Reason.PURCHASE_REQUIRED


# -- private and series ---------------------------------------------------------------


def test_private_items_do_not_exist_without_a_grant() -> None:
    facts = ViewerFacts(series_purchased=True, membership_covers=True)
    for the_viewer in (viewer(), viewer(Role.PLATFORM_CREATOR), None):
        decision = decide(item(visibility=Visibility.PRIVATE, is_free=True), the_viewer,
                          facts if the_viewer else ViewerFacts(), NOW)
        assert not decision.allowed
        assert decision.reason is Reason.NOT_FOUND and decision.hides_existence
        assert_consistent(decision)


@pytest.mark.parametrize("access_type", ACCESS_TYPES)
def test_archived_items_stay_with_their_holders(access_type: str) -> None:
    archived = item(status=Status.ARCHIVED)
    held = decide(archived, viewer(), ViewerFacts(grants=(grant(access_type),)), NOW)
    assert held.allowed and held.reason is GRANT_REASON[access_type]
    assert decide(archived, viewer(), ViewerFacts(series_purchased=True), NOW).allowed


@pytest.mark.parametrize("visibility", list(Visibility))
def test_archived_items_are_gone_for_everyone_else(visibility: Visibility) -> None:
    archived = item(status=Status.ARCHIVED, visibility=visibility, is_free=True)
    for the_viewer, facts in ((None, ViewerFacts()),
                              (viewer(), ViewerFacts(membership_covers=True))):
        decision = decide(archived, the_viewer, facts, NOW)
        assert not decision.allowed and decision.hides_existence


@pytest.mark.parametrize("access_type", ACCESS_TYPES)
def test_private_items_open_to_grants(access_type: str) -> None:
    g = grant(access_type)
    decision = decide(item(visibility=Visibility.PRIVATE), viewer(), ViewerFacts(grants=(g,)),
                      NOW)
    assert decision.allowed
    assert decision.reason is GRANT_REASON[access_type]
    assert decision.grant_id == g.id


def test_private_items_do_not_open_to_an_expired_grant() -> None:
    decision = decide(item(visibility=Visibility.PRIVATE), viewer(),
                      ViewerFacts(grants=(grant("purchased", NOW - timedelta(hours=1)),)), NOW)
    assert decision.reason is Reason.NOT_FOUND


@pytest.mark.parametrize("visibility", [Visibility.PURCHASED_ONLY, Visibility.MEMBERS_ONLY])
def test_a_series_purchase_opens_non_private_items(visibility: Visibility) -> None:
    decision = decide(item(visibility=visibility), viewer(),
                      ViewerFacts(series_purchased=True), NOW)
    assert decision.allowed
    assert decision.reason is Reason.SERIES_PURCHASED
    assert decision.grant_id is None
    assert_consistent(decision)


# -- prerequisites ---------------------------------------------------------------------


def _allowed_paths() -> list[tuple[str, ItemFacts, bool, ViewerFacts]]:
    return [
        ("public/anonymous", item(visibility=Visibility.PUBLIC), False, ViewerFacts()),
        ("public/signed-in", item(visibility=Visibility.PUBLIC), True, ViewerFacts()),
        ("free", item(is_free=True), True, ViewerFacts()),
        ("grant", item(), True, ViewerFacts(grants=(grant("purchased"),))),
        ("private grant", item(visibility=Visibility.PRIVATE), True,
         ViewerFacts(grants=(grant("complimentary"),))),
        ("series", item(), True, ViewerFacts(series_purchased=True)),
        ("membership", item(visibility=Visibility.MEMBERS_ONLY), True,
         ViewerFacts(membership_covers=True)),
    ]


@pytest.mark.parametrize("missing", [1, 2, 20])
@pytest.mark.parametrize(("label", "the_item", "signed_in", "facts"), _allowed_paths(),
                         ids=[p[0] for p in _allowed_paths()])
def test_missing_prerequisites_close_every_allowed_path(
    label: str, the_item: ItemFacts, signed_in: bool, facts: ViewerFacts, missing: int
) -> None:
    the_viewer = viewer() if signed_in else None
    assert decide(the_item, the_viewer, facts, NOW).allowed, label
    blocked = decide(the_item, the_viewer,
                     ViewerFacts(grants=facts.grants, series_purchased=facts.series_purchased,
                                 membership_covers=facts.membership_covers,
                                 missing_prerequisites=missing), NOW)
    assert not blocked.allowed
    expected = Reason.PREREQUISITES_INCOMPLETE if signed_in else Reason.SIGN_IN_REQUIRED
    assert blocked.reason is expected
    assert blocked.grant_id is None
    assert any("prerequisite" in line for line in blocked.trace)
    assert_consistent(blocked)


def test_a_refusal_is_reported_before_prerequisites() -> None:
    facts = ViewerFacts(missing_prerequisites=2)
    assert decide(item(), viewer(), facts, NOW).reason is Reason.PURCHASE_REQUIRED
    assert decide(item(), None, facts, NOW).reason is Reason.SIGN_IN_REQUIRED
    assert decide(item(visibility=Visibility.PRIVATE), viewer(), facts,
                  NOW).reason is Reason.NOT_FOUND


@pytest.mark.parametrize("role", list(Role))
def test_owner_and_staff_bypass_prerequisites(role: Role) -> None:
    facts = ViewerFacts(missing_prerequisites=3)
    assert decide(item(), Viewer(CREATOR, role), facts, NOW).reason is Reason.OWNER
    if role is Role.PLATFORM_OWNER:
        assert decide(item(), viewer(role), facts, NOW).reason is Reason.STAFF


# -- properties ------------------------------------------------------------------------


@given(situations())
def test_decisions_are_deterministic_and_self_consistent(
    situation: tuple[ItemFacts, Viewer | None, ViewerFacts, datetime],
) -> None:
    the_item, the_viewer, facts, now = situation
    first = decide(the_item, the_viewer, facts, now)
    second = decide(the_item, the_viewer, facts, now)
    assert first == second
    assert_consistent(first)
    # A grant id is returned exactly when an active grant of that type decided it.
    if first.grant_id is not None:
        chosen = [g for g in facts.grants if g.id == first.grant_id]
        assert chosen and chosen[0].active(now)
        assert GRANT_REASON[chosen[0].access_type] is first.reason
    else:
        assert first.reason not in GRANT_REASON.values()


@given(situations())
def test_decisions_follow_the_rules(
    situation: tuple[ItemFacts, Viewer | None, ViewerFacts, datetime],
) -> None:
    """An independent statement of the rules, checked against ``decide``."""
    the_item, the_viewer, facts, now = situation
    decision = decide(the_item, the_viewer, facts, now)
    if the_item.deleted:
        assert decision.reason is Reason.NOT_FOUND
        return
    if the_viewer is not None and the_viewer.user_id == the_item.creator_id:
        assert decision.reason is Reason.OWNER
        return
    if the_viewer is not None and the_viewer.role is Role.PLATFORM_OWNER:
        assert decision.reason is Reason.STAFF
        return
    if the_item.status is Status.DRAFT:
        assert decision.reason is Reason.NOT_FOUND
        return
    archived = the_item.status is Status.ARCHIVED
    private = the_item.visibility is Visibility.PRIVATE
    active = {g.access_type for g in facts.grants if g.active(now)}
    refusal: Reason | None = None
    if the_viewer is None:
        if archived or private:
            refusal = Reason.NOT_FOUND
        elif the_item.visibility is not Visibility.PUBLIC:
            refusal = Reason.SIGN_IN_REQUIRED
    elif (the_item.visibility is Visibility.PUBLIC and not archived) or active:
        pass
    elif private:
        refusal = Reason.NOT_FOUND
    elif facts.series_purchased:
        pass
    elif archived:
        refusal = Reason.NOT_FOUND
    elif the_item.visibility is Visibility.MEMBERS_ONLY:
        refusal = None if facts.membership_covers else Reason.MEMBERSHIP_REQUIRED
    elif not the_item.is_free and not facts.membership_covers:
        # A tier may cover paid items of its categories (or the whole catalog): the
        # facts say so for this item (decision 15).
        refusal = Reason.PURCHASE_REQUIRED
    if refusal is None and facts.missing_prerequisites > 0:
        # Only a signed-in person can complete prerequisites, so strangers are asked to sign in.
        refusal = (Reason.PREREQUISITES_INCOMPLETE if the_viewer is not None
                   else Reason.SIGN_IN_REQUIRED)
    if refusal is None:
        assert decision.allowed
    else:
        assert decision.reason is refusal


@given(situations())
def test_the_trace_explains_the_decision(
    situation: tuple[ItemFacts, Viewer | None, ViewerFacts, datetime],
) -> None:
    decision = decide(*situation)
    assert len(decision.trace) >= 2
    assert all(isinstance(line, str) and line for line in decision.trace)
    assert sum(line.startswith("=> ") for line in decision.trace) == 1
    assert decision.reason.value in decision.trace[-1]


@given(situations())
def test_refusals_never_carry_a_grant(
    situation: tuple[ItemFacts, Viewer | None, ViewerFacts, datetime],
) -> None:
    decision = decide(*situation)
    if not decision.allowed:
        assert decision.grant_id is None
        assert decision.reason in DENY_REASONS
