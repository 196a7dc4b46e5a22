"""The permission matrix, cell by cell, against a table written out independently."""

from __future__ import annotations

from uuid import uuid4

import pytest

from application.principal import Principal
from domain.errors import Forbidden
from domain.identity.permissions import MATRIX, Permission, allows, may_manage
from domain.identity.roles import Role

P = Permission
OWNER_ONLY = {P.USERS_MANAGE, P.SETTINGS_MANAGE, P.REFUNDS_ISSUE, P.GRANTS_MANAGE,
              P.ACCESS_EXPLAIN, P.CONTENT_MANAGE_ANY, P.CONTENT_VIEW_ANY,
              P.OFFERINGS_MANAGE_ANY, P.BOOKINGS_MANAGE_ANY, P.TIERS_MANAGE,
              P.SUBSCRIPTIONS_MANAGE_ANY, P.CREDITS_ADJUST, P.CREDIT_PACKS_MANAGE,
              P.EARNINGS_VIEW_ALL, P.MEDIA_OWNERS_INVITE, P.ANALYTICS_VIEW_ALL}
CREATING = {P.CONTENT_CREATE, P.OFFERINGS_CREATE, P.EARNINGS_VIEW_OWN, P.ANALYTICS_VIEW_OWN}
PAID_OUT = {P.PAYOUTS_ONBOARD}
EXPECTED = {
    Role.PLATFORM_OWNER: OWNER_ONLY | CREATING | PAID_OUT,
    Role.PLATFORM_CREATOR: CREATING,
    Role.MEDIA_OWNER: CREATING | PAID_OUT,
    Role.CUSTOMER: set(),
}


def test_every_permission_is_in_the_table() -> None:
    assert set(Permission) == OWNER_ONLY | CREATING | PAID_OUT
    assert set(MATRIX) == set(Role)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_cell(role: Role, permission: Permission) -> None:
    assert allows(role, permission) is (permission in EXPECTED[role])


@pytest.mark.parametrize("role", list(Role))
def test_managing_ones_own_and_other_peoples_things(role: Role) -> None:
    me, someone = uuid4(), uuid4()
    own = may_manage(role, own=P.CONTENT_CREATE, any_=P.CONTENT_MANAGE_ANY,
                     actor_id=me, owner_id=me)
    theirs = may_manage(role, own=P.CONTENT_CREATE, any_=P.CONTENT_MANAGE_ANY,
                        actor_id=me, owner_id=someone)
    assert own is (role is not Role.CUSTOMER)
    assert theirs is (role is Role.PLATFORM_OWNER)
    # No account (the CLI's operator is an owner, so this only matters for other roles).
    assert may_manage(role, own=P.CONTENT_CREATE, any_=P.CONTENT_MANAGE_ANY,
                      actor_id=None, owner_id=someone) is (role is Role.PLATFORM_OWNER)


def test_the_operator_at_the_cli_holds_every_permission() -> None:
    operator = Principal.system()
    assert all(operator.can(p) for p in Permission)


@pytest.mark.parametrize(("permission", "code"), [
    (P.SETTINGS_MANAGE, "auth.owner_only"), (P.CONTENT_CREATE, "auth.creators_only"),
    (P.EARNINGS_VIEW_OWN, "auth.creators_only"), (P.PAYOUTS_ONBOARD, "auth.media_owners_only"),
    (P.ANALYTICS_VIEW_OWN, "auth.creators_only"), (P.ANALYTICS_VIEW_ALL, "auth.owner_only")])
def test_refusals_carry_a_stable_code(permission: Permission, code: str) -> None:
    with pytest.raises(Forbidden) as refused:
        Principal(user_id=uuid4(), role=Role.CUSTOMER).require(permission)
    assert refused.value.code == code
    assert refused.value.details["permission"] == permission.value
