"""The entitlement service: the one answer to "may this person see this item?".

It gathers the facts in one read (session, item, grants, membership, series
purchase, prerequisites, progress) and lets ``domain.access.decision.decide`` rule.
Every read path calls ``resolve``; nothing else decides access.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

import attrs

from application.identity.sessions import note_activity
from application.ports.catalog import AccessRow
from application.security import hash_token
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.access.decision import AccessDecision, Viewer, decide
from domain.errors import Unauthenticated


@attrs.frozen
class Resolved:
    viewer: Viewer | None
    rows: Sequence[tuple[AccessRow, AccessDecision]]
    email_verified: bool = False

    def one(self) -> tuple[AccessRow, AccessDecision] | None:
        return self.rows[0] if self.rows else None


# last_accessed_at is a "recently used" signal, not an audit log: refreshing it at
# most every few minutes keeps playback and reading free of a write per request.
TOUCH_INTERVAL = timedelta(minutes=5)


def record_use(uow: UnitOfWork, services: Services, decision: AccessDecision) -> bool:
    """Mark the grant behind an allowed decision as used; True if a write happened."""
    if decision.grant_id is None:
        return False
    now = services.clock.now()
    last = decision.grant_last_accessed_at
    if last is not None and now - last < TOUCH_INTERVAL:
        return False
    uow.access.touch_grant(decision.grant_id, now)
    return True


def resolve(
    uow: UnitOfWork,
    services: Services,
    *,
    token: str | None = None,
    user_id: UUID | None = None,
    content_ids: Sequence[UUID] | None = None,
    slug: str | None = None,
) -> Resolved:
    now = services.clock.now()
    if token is not None and (not token or len(token) > 256):
        raise Unauthenticated("Missing or invalid session token.", code="auth.invalid_session")
    lookup = uow.access.lookup(
        now=now, token_hash=hash_token(token) if token is not None else None,
        user_id=user_id, content_ids=content_ids, slug=slug,
        idle_since=now - services.config.session_idle,
    )
    if token is not None and not lookup.session_valid:
        # A bad token is an error, never a silent downgrade to anonymous.
        raise Unauthenticated("Missing or invalid session token.", code="auth.invalid_session")
    if lookup.session_id is not None:
        note_activity(uow, services, lookup.session_id, lookup.session_seen)
    decided = [(row, decide(row.item, lookup.viewer, row.facts, now)) for row in lookup.rows]
    return Resolved(viewer=lookup.viewer, rows=decided, email_verified=lookup.email_verified)
