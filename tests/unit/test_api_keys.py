"""API keys' rules: which scopes a role may give a key, names, and a key's status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import Forbidden, ValidationError
from domain.identity.api_keys import (
    SCOPE_PERMISSION,
    ApiKey,
    Scope,
    key_name,
    scopes_for,
)
from domain.identity.permissions import allows
from domain.identity.roles import Role

T0 = datetime(2026, 11, 20, tzinfo=UTC)
CREATOR_SCOPES = {Scope.CATALOG_READ, Scope.CONTENT_WRITE, Scope.OFFERINGS_WRITE,
                  Scope.ANALYTICS_READ}


@pytest.mark.parametrize(("role", "allowed"), [
    (Role.PLATFORM_OWNER, set(Scope)),
    (Role.PLATFORM_CREATOR, CREATOR_SCOPES),
    (Role.MEDIA_OWNER, CREATOR_SCOPES),
    (Role.CUSTOMER, set()),
])
def test_a_role_gives_keys_only_the_scopes_it_holds(role: Role, allowed: set[Scope]) -> None:
    for scope in Scope:
        if scope in allowed:
            assert scopes_for(role, [scope.value]) == {scope}
        else:
            with pytest.raises(Forbidden) as refused:
                scopes_for(role, [scope.value])
            assert refused.value.code == "api_key.scope_not_yours"
        assert (scope in allowed) is allows(role, SCOPE_PERMISSION[scope])


def test_every_scope_has_the_permission_that_grants_it() -> None:
    assert set(SCOPE_PERMISSION) == set(Scope)


@pytest.mark.parametrize(("asked", "code"), [
    ([], "api_key.scopes"), (["catalog:read"] * 21, "api_key.scopes"),
    (["catalog:write"], "api_key.scope_unknown"), (["CATALOG:READ"], "api_key.scope_unknown")])
def test_scopes_are_named_exactly(asked: list[str], code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        scopes_for(Role.PLATFORM_OWNER, asked)
    assert refused.value.code == code


def test_repeated_scopes_count_once() -> None:
    assert scopes_for(Role.MEDIA_OWNER, ["catalog:read", "catalog:read"]) == {
        Scope.CATALOG_READ}


@pytest.mark.parametrize("name", ["", "   ", "x" * 256])
def test_a_key_needs_a_name(name: str) -> None:
    with pytest.raises(ValidationError):
        key_name(name)
    assert key_name("  Zapier  ") == "Zapier"


def test_a_key_is_active_until_it_expires_or_is_revoked() -> None:
    key = ApiKey(id=uuid4(), user_id=uuid4(), name="robot", prefix="pat_12345678",
                 key_hash="h", scopes=frozenset({Scope.CATALOG_READ}), created_at=T0,
                 expires_at=T0 + timedelta(days=1))
    assert key.status(T0) == "active" and key.usable(T0)
    assert key.status(T0 + timedelta(days=1)) == "expired"
    assert key.revoke(T0) and not key.revoke(T0)
    assert key.status(T0) == "revoked" and not key.usable(T0)
    assert "key_hash" not in repr(key) and "'h'" not in repr(key)
