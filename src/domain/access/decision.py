"""Deciding access to one content item: pure rules over facts gathered in one read.

This is the only place that decides whether a person may see an item. Every read
path (item body, playback URL, progress, library, series listing) asks it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import attrs

from domain.catalog.rules import Status, Visibility
from domain.identity.permissions import Permission, allows
from domain.identity.roles import Role


class Reason(enum.StrEnum):
    OWNER = "owner"  # the item's creator
    STAFF = "staff"  # a platform owner (may view anyone's items)
    PUBLIC = "public"
    FREE = "free"
    PURCHASED = "grant:purchased"
    COMPLIMENTARY = "grant:complimentary"
    SUBSCRIPTION_GRANT = "grant:subscription"
    PREVIEW = "grant:preview"
    SERIES_PURCHASED = "series_purchased"
    MEMBERSHIP = "membership"
    PORTAL = "portal"  # a resource in the portal of an offering the viewer booked
    # refusals
    NOT_FOUND = "not_found"
    SIGN_IN_REQUIRED = "sign_in_required"
    PREREQUISITES_INCOMPLETE = "prerequisites_incomplete"
    PURCHASE_REQUIRED = "purchase_required"
    MEMBERSHIP_REQUIRED = "membership_required"


@attrs.frozen
class Viewer:
    user_id: UUID
    role: Role


@attrs.frozen
class ItemFacts:
    id: UUID
    creator_id: UUID
    status: Status
    visibility: Visibility
    is_free: bool
    deleted: bool


@attrs.frozen
class Grant:
    id: UUID
    access_type: str
    expires_at: datetime | None
    last_accessed_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


@attrs.frozen
class ViewerFacts:
    """What is known about this viewer and this item."""

    grants: Sequence[Grant] = ()
    series_purchased: bool = False
    membership_covers: bool = False
    membership_tier: str | None = None  # the covering tier's name, for the trace
    portal: bool = False  # unlocked in the portal of a booked offering
    missing_prerequisites: int = 0


@attrs.frozen
class AccessDecision:
    allowed: bool
    reason: Reason
    trace: tuple[str, ...]
    grant_id: UUID | None = None
    grant_last_accessed_at: datetime | None = None

    @property
    def hides_existence(self) -> bool:
        """Refusals where even saying "forbidden" would reveal that the item exists."""
        return self.reason is Reason.NOT_FOUND


_GRANT_REASONS = {
    "purchased": Reason.PURCHASED,
    "complimentary": Reason.COMPLIMENTARY,
    "subscription": Reason.SUBSCRIPTION_GRANT,
    "preview": Reason.PREVIEW,
}
# The most durable source is reported when several apply.
_GRANT_ORDER = ("purchased", "complimentary", "subscription", "preview")


def decide(item: ItemFacts, viewer: Viewer | None, facts: ViewerFacts,
           now: datetime) -> AccessDecision:
    trace: list[str] = []

    def result(allowed: bool, reason: Reason, grant: Grant | None = None) -> AccessDecision:
        trace.append(f"=> {'allow' if allowed else 'deny'} ({reason.value})")
        return AccessDecision(allowed, reason, tuple(trace),
                              grant.id if grant else None,
                              grant.last_accessed_at if grant else None)

    if item.deleted:
        # Deleted means gone from every read path, for its creator and staff too.
        trace.append("item is deleted")
        return result(False, Reason.NOT_FOUND)
    if viewer is not None and viewer.user_id == item.creator_id:
        trace.append("viewer created the item")
        return result(True, Reason.OWNER)
    if viewer is not None and allows(viewer.role, Permission.CONTENT_VIEW_ANY):
        trace.append(f"viewer is {viewer.role.value}")
        return result(True, Reason.STAFF)
    if item.status is Status.DRAFT:
        trace.append("item is a draft")
        return result(False, Reason.NOT_FOUND)
    # Archived items stay with the people who hold them (a grant, a bought series) and
    # are gone for everyone else; private items exist only for explicit grant holders.
    archived = item.status is Status.ARCHIVED
    private = item.visibility is Visibility.PRIVATE
    trace.append(f"item is {item.status.value}, visibility {item.visibility.value}")

    allowed_by: tuple[Reason, Grant | None] | None = None
    if viewer is None:
        trace.append("no signed-in viewer")
        if archived or private:
            return result(False, Reason.NOT_FOUND)
        if item.visibility is not Visibility.PUBLIC:
            return result(False, Reason.SIGN_IN_REQUIRED)
        allowed_by = (Reason.PUBLIC, None)
    elif item.visibility is Visibility.PUBLIC and not archived:
        allowed_by = (Reason.PUBLIC, None)
    else:
        active = {g.access_type: g for g in facts.grants if g.active(now)}
        for g in facts.grants:
            trace.append(f"grant {g.access_type} "
                         f"{'active' if g.active(now) else 'expired ' + str(g.expires_at)}")
        chosen = next((active[t] for t in _GRANT_ORDER if t in active), None)
        if chosen is not None:
            allowed_by = (_GRANT_REASONS[chosen.access_type], chosen)
        elif facts.portal:
            # The host put it in the portal of an offering the viewer booked: like a
            # grant, it opens private and archived items too.
            trace.append("unlocked in the portal of a booked offering")
            allowed_by = (Reason.PORTAL, None)
        elif private:
            trace.append("private: only its creator, platform owners and grant holders")
            return result(False, Reason.NOT_FOUND)
        elif facts.series_purchased:
            trace.append("the item's series was bought as a bundle")
            allowed_by = (Reason.SERIES_PURCHASED, None)
        elif archived:
            trace.append("archived: kept only for those who hold it")
            return result(False, Reason.NOT_FOUND)
        elif item.visibility is Visibility.MEMBERS_ONLY:
            trace.append(_membership(facts))
            if not facts.membership_covers:
                return result(False, Reason.MEMBERSHIP_REQUIRED)
            allowed_by = (Reason.MEMBERSHIP, None)
        elif item.is_free:
            allowed_by = (Reason.FREE, None)
        elif facts.membership_covers:
            # A paid item in a category the viewer's tier includes (or full catalog).
            trace.append(_membership(facts))
            allowed_by = (Reason.MEMBERSHIP, None)
        else:
            return result(False, Reason.PURCHASE_REQUIRED)

    if facts.missing_prerequisites:
        trace.append(f"{facts.missing_prerequisites} prerequisite(s) not completed")
        if viewer is None:
            # Completion is only recorded for signed-in people.
            return result(False, Reason.SIGN_IN_REQUIRED)
        return result(False, Reason.PREREQUISITES_INCOMPLETE)
    return result(True, allowed_by[0], allowed_by[1])


def _membership(facts: ViewerFacts) -> str:
    if not facts.membership_covers:
        return "no membership covers item"
    return f"membership {facts.membership_tier or ''} covers item".replace("  ", " ")

