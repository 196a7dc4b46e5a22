"""Who may do what: the one permission matrix every use case asks.

Rows are roles, columns are permissions. "…_any" permissions reach other people's
things; without one, a creator manages only what they created (the use case passes the
owner). Nobody changes their own role, whatever their permissions
(`docs/decisions/0013-permission-matrix.md`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from uuid import UUID

from domain.identity.roles import Role


class Permission(enum.StrEnum):
    # Platform administration: platform owners only.
    USERS_MANAGE = "users.manage"  # list, create, change roles, disable and enable accounts
    SETTINGS_MANAGE = "settings.manage"
    REFUNDS_ISSUE = "refunds.issue"
    GRANTS_MANAGE = "grants.manage"  # complimentary and preview access, by hand
    ACCESS_EXPLAIN = "access.explain"  # why someone may or may not open an item
    # Content and offerings: creators manage their own, owners anyone's.
    CONTENT_CREATE = "content.create"
    CONTENT_MANAGE_ANY = "content.manage_any"
    CONTENT_VIEW_ANY = "content.view_any"  # drafts, private and members-only items of others
    OFFERINGS_CREATE = "offerings.create"
    OFFERINGS_MANAGE_ANY = "offerings.manage_any"
    BOOKINGS_MANAGE_ANY = "bookings.manage_any"
    # Memberships and credits.
    TIERS_MANAGE = "tiers.manage"
    SUBSCRIPTIONS_MANAGE_ANY = "subscriptions.manage_any"
    CREDITS_ADJUST = "credits.adjust"
    CREDIT_PACKS_MANAGE = "credit_packs.manage"  # credits sold for money
    # Money: a creator's own earnings, everyone's, and media owners' payouts.
    EARNINGS_VIEW_OWN = "earnings.view_own"
    EARNINGS_VIEW_ALL = "earnings.view_all"
    MEDIA_OWNERS_INVITE = "media_owners.invite"
    PAYOUTS_ONBOARD = "payouts.onboard"  # a connected account of one's own, to be paid
    # Analytics: a creator's own sales and items, or the whole platform's.
    ANALYTICS_VIEW_OWN = "analytics.view_own"
    ANALYTICS_VIEW_ALL = "analytics.view_all"


_CREATOR = frozenset({Permission.CONTENT_CREATE, Permission.OFFERINGS_CREATE,
                      Permission.EARNINGS_VIEW_OWN, Permission.ANALYTICS_VIEW_OWN})

MATRIX: Mapping[Role, frozenset[Permission]] = {
    Role.PLATFORM_OWNER: frozenset(Permission),
    Role.PLATFORM_CREATOR: _CREATOR,
    # Media owners are paid out to an account of their own; the platform's creators are
    # paid by the platform, outside it.
    Role.MEDIA_OWNER: _CREATOR | {Permission.PAYOUTS_ONBOARD},
    Role.CUSTOMER: frozenset(),
}


def allows(role: Role, permission: Permission) -> bool:
    return permission in MATRIX[role]


def may_manage(role: Role, *, own: Permission, any_: Permission, actor_id: UUID | None,
               owner_id: UUID) -> bool:
    """May this actor manage a thing owned by ``owner_id``: their own, or anyone's?"""
    if allows(role, any_):
        return True
    return allows(role, own) and actor_id is not None and actor_id == owner_id
