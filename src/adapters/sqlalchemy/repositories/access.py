"""Everything the entitlement rules need, for one viewer and some items, in one statement.

The statement starts from a one-row anchor so that it always returns the viewer
(or proves the token wrong) even when no item matches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.repositories.catalog import ENTRY_COLUMNS, entry_from
from adapters.sqlalchemy.tables import (
    auth_sessions,
    content,
    content_access,
    offering_bookings,
    offering_portal_access,
    offering_resources,
    offerings,
    purchases,
    subscription_tiers,
    subscriptions,
    users,
    video_playback,
)
from application.ports.catalog import AccessLookup, AccessRow
from domain.access.decision import Grant, ItemFacts, Viewer, ViewerFacts
from domain.catalog.rules import Status, Visibility
from domain.identity.roles import Role

_STATEMENTS: dict[tuple[str, str, str], sa.Select[Any]] = {}
_NO_IDLE_LIMIT = timedelta(days=36500)
_NO_SESSION = (sa.cast(sa.null(), auth_sessions.c.id.type).label("session_id"),
               sa.cast(sa.null(), auth_sessions.c.last_seen_at.type).label("session_seen"))


class SqlAccessFacts:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self._pg = execute.dialect == "postgresql"

    def _json_elements(self, column: sa.ColumnElement[Any]) -> Any:
        name = "jsonb_array_elements_text" if self._pg else "json_each"
        return getattr(sa.func, name)(column).table_valued("value")

    def _uuid_matches(self, id_column: sa.ColumnElement[Any], text: Any) -> Any:
        if self._pg:
            return id_column == sa.cast(text, sa.Uuid())
        # SQLite stores uuids as 32 hex digits; JSON holds the dashed form.
        return id_column == sa.func.replace(text, "-", "")

    def lookup(self, *, now: datetime, token_hash: str | None = None,
               user_id: UUID | None = None, content_ids: Sequence[UUID] | None = None,
               slug: str | None = None, idle_since: datetime | None = None) -> AccessLookup:
        viewer_mode = "token" if token_hash is not None else "user" if user_id is not None \
            else "anonymous"
        item_mode = "slug" if slug is not None else "ids" if content_ids else "none"
        params: dict[str, Any] = {"now": now}
        if viewer_mode == "token":
            params["token_hash"] = token_hash
            params["idle_since"] = idle_since or now - _NO_IDLE_LIMIT
        elif viewer_mode == "user":
            params["user_id"] = user_id
        if item_mode == "slug":
            params["slug"] = slug
        elif item_mode == "ids":
            params["content_ids"] = list(content_ids or ())
        rows = self._execute.rows(self._statement(viewer_mode, item_mode), params)

        first = rows[0]
        viewer_facts = (Viewer(first["user_id"], Role(first["role"]))
                        if first["user_id"] is not None else None)
        grouped: dict[UUID, list[Mapping[str, Any]]] = {}
        for row in rows:
            if row["id"] is not None:
                grouped.setdefault(row["id"], []).append(row)
        return AccessLookup(
            viewer=viewer_facts,
            session_id=first["session_id"], session_seen=first["session_seen"],
            session_valid=token_hash is None or viewer_facts is not None,
            email_verified=first["verified_at"] is not None,
            rows=[self._row(item_rows, viewer_facts is not None) for item_rows in grouped.values()],
        )

    def _statement(self, viewer_mode: str, item_mode: str) -> sa.Select[Any]:
        # Building this statement costs more CPU than running it; build each shape once.
        key = (self._execute.dialect, viewer_mode, item_mode)
        statement = _STATEMENTS.get(key)
        if statement is None:
            statement = _STATEMENTS[key] = self._build(viewer_mode, item_mode)
        return statement

    def _build(self, viewer_mode: str, item_mode: str) -> sa.Select[Any]:
        now_param = sa.bindparam("now", type_=auth_sessions.c.expires_at.type)
        if viewer_mode == "token":
            seen = sa.func.coalesce(auth_sessions.c.last_seen_at, auth_sessions.c.created_at)
            viewer = (
                sa.select(users.c.id.label("user_id"), users.c.role,
                          users.c.email_verified_at.label("verified_at"),
                          auth_sessions.c.id.label("session_id"),
                          auth_sessions.c.last_seen_at.label("session_seen"))
                .join(auth_sessions, auth_sessions.c.user_id == users.c.id)
                .where(auth_sessions.c.token_hash == sa.bindparam("token_hash"),
                       auth_sessions.c.revoked_at.is_(None),
                       auth_sessions.c.expires_at > now_param,
                       seen > sa.bindparam("idle_since", type_=auth_sessions.c.expires_at.type),
                       users.c.deleted_at.is_(None), users.c.disabled_at.is_(None))
            )
        elif viewer_mode == "user":
            viewer = sa.select(users.c.id.label("user_id"), users.c.role,
                               users.c.email_verified_at.label("verified_at"),
                               *_NO_SESSION).where(
                users.c.id == sa.bindparam("user_id", type_=users.c.id.type),
                users.c.deleted_at.is_(None))
        else:
            viewer = sa.select(sa.cast(sa.null(), users.c.id.type).label("user_id"),
                               sa.cast(sa.null(), users.c.role.type).label("role"),
                               sa.cast(sa.null(), users.c.email_verified_at.type)
                               .label("verified_at"),
                               *_NO_SESSION).where(sa.false())
        v = viewer.subquery("viewer")
        anchor = sa.select(sa.literal_column("1").label("one")).subquery("anchor")

        item_condition: sa.ColumnElement[bool]
        if item_mode == "slug":
            item_condition = content.c.slug == sa.bindparam("slug", type_=content.c.slug.type)
        elif item_mode == "ids":
            item_condition = content.c.id.in_(sa.bindparam("content_ids", expanding=True))
        else:
            item_condition = sa.false()
        tiers = subscription_tiers
        covers_category: sa.ColumnElement[bool]
        if self._pg:
            covers_category = tiers.c.category_access.op("?")(content.c.category)
        else:
            cats = self._json_elements(tiers.c.category_access)
            covers_category = sa.exists(
                sa.select(1).select_from(cats).where(cats.c.value == content.c.category))
        member_of = subscriptions.join(tiers, tiers.c.id == subscriptions.c.tier_id)
        length = sa.func.jsonb_array_length if self._pg else sa.func.json_array_length
        # Members of a tier: while active or trialing within the paid period, and while
        # past_due until the grace period ends. A tier opens members-only items when it
        # names no categories (all of them) or the item's category, and any item of its
        # categories (or everything, with full catalog access).
        membership = (
            sa.select(tiers.c.name).select_from(member_of)
            .where(subscriptions.c.customer_id == v.c.user_id,
                   sa.or_(sa.and_(subscriptions.c.status.in_(("active", "trialing")),
                                  subscriptions.c.current_period_end > now_param),
                          sa.and_(subscriptions.c.status == "past_due",
                                  subscriptions.c.grace_until > now_param)),
                   sa.or_(tiers.c.full_catalog_access, covers_category,
                          sa.and_(content.c.visibility == "members_only",
                                  length(tiers.c.category_access) == 0)))
            .order_by(tiers.c.name).limit(1).scalar_subquery()
        )
        # A portal opens a content resource to the participant while the portal is open
        # and the resource is unlocked (available_when and unlock_at, see
        # domain/offerings/portal.py).
        resource, portal, booked = (offering_resources, offering_portal_access,
                                    offering_bookings)
        in_portal = sa.exists(
            sa.select(1).select_from(
                resource.join(portal, portal.c.offering_id == resource.c.offering_id)
                .join(booked, booked.c.id == portal.c.booking_id)
                .join(offerings, offerings.c.id == resource.c.offering_id))
            .where(resource.c.content_id == content.c.id, offerings.c.deleted_at.is_(None),
                   resource.c.resource_type == "content",
                   portal.c.user_id == v.c.user_id,
                   portal.c.granted_at <= now_param, portal.c.expires_at > now_param,
                   booked.c.status.in_(("confirmed", "completed")),
                   sa.or_(resource.c.unlock_at.is_(None), resource.c.unlock_at <= now_param),
                   sa.or_(resource.c.available_when.in_(("before", "always")),
                          sa.and_(resource.c.available_when == "during",
                                  booked.c.starts_at <= now_param),
                          sa.and_(resource.c.available_when == "after",
                                  booked.c.ends_at <= now_param))))
        series_bought = sa.exists(
            sa.select(1).where(purchases.c.customer_id == v.c.user_id,
                               purchases.c.series_id == content.c.series_id,
                               purchases.c.status == "completed")
        )
        done = video_playback.alias("done")
        prereq = self._json_elements(content.c.prerequisite_content_ids)
        # Correlated explicitly: the viewer and the item come from the outer query.
        # A prerequisite that was deleted or unpublished no longer blocks anyone:
        # nobody could complete it.
        required = content.alias("required")
        missing = (
            sa.select(sa.func.count()).select_from(prereq).where(
                sa.exists(sa.select(1).select_from(required).where(
                    self._uuid_matches(required.c.id, prereq.c.value),
                    required.c.status == "published", required.c.deleted_at.is_(None),
                ).correlate_except(required)),
                ~sa.exists(sa.select(1).select_from(done).where(
                    done.c.user_id == v.c.user_id, done.c.completed.is_(True),
                    self._uuid_matches(done.c.content_id, prereq.c.value),
                ).correlate_except(done)))
            .correlate_except(prereq)
            .scalar_subquery()
        )
        return (
            sa.select(
                v.c.user_id, v.c.role, v.c.verified_at, v.c.session_id, v.c.session_seen,
                *ENTRY_COLUMNS,
                content.c.deleted_at, content.c.media_url, content.c.content_body,
                content.c.excerpt,
                content_access.c.id.label("grant_id"), content_access.c.access_type,
                content_access.c.expires_at.label("grant_expires_at"),
                content_access.c.last_accessed_at.label("grant_last_accessed_at"),
                membership.label("membership"), series_bought.label("series_bought"),
                in_portal.label("in_portal"),
                missing.label("missing_prerequisites"),
                video_playback.c.position_seconds, video_playback.c.completed,
            )
            .select_from(anchor)
            .outerjoin(v, sa.true())
            .outerjoin(content, item_condition)
            .outerjoin(content_access, sa.and_(content_access.c.user_id == v.c.user_id,
                                               content_access.c.content_id == content.c.id))
            .outerjoin(video_playback, sa.and_(video_playback.c.user_id == v.c.user_id,
                                               video_playback.c.content_id == content.c.id))
        )

    def _row(self, rows: list[Mapping[str, Any]], signed_in: bool) -> AccessRow:
        r = rows[0]
        grants = tuple(Grant(x["grant_id"], x["access_type"], x["grant_expires_at"],
                             x["grant_last_accessed_at"])
                       for x in rows if x["grant_id"] is not None)
        item = ItemFacts(
            id=r["id"], creator_id=r["creator_id"], status=Status(r["status"]),
            visibility=Visibility(r["visibility"]),
            is_free=r["price"] is None or r["price"] == 0, deleted=r["deleted_at"] is not None,
        )
        facts = ViewerFacts(
            grants=grants, series_purchased=bool(r["series_bought"]) and signed_in,
            membership_covers=r["membership"] is not None and signed_in,
            membership_tier=r["membership"] if signed_in else None,
            portal=bool(r["in_portal"]) and signed_in,
            missing_prerequisites=int(r["missing_prerequisites"] or 0),
        )
        return AccessRow(
            item=item, facts=facts, slug=r["slug"], title=r["title"],
            content_type=r["content_type"], media_key=r["media_url"],
            duration_seconds=r["media_duration_seconds"], body_html=r["content_body"],
            excerpt=r["excerpt"],
            position_seconds=r["position_seconds"], completed=bool(r["completed"]),
            entry=entry_from(r),
        )

    def touch_grant(self, grant_id: UUID, now: datetime) -> None:
        self._execute.rows(_TOUCH_GRANT, {"grant_id": grant_id, "now": now})


_TOUCH_GRANT = (
    sa.update(content_access)
    .where(content_access.c.id == sa.bindparam("grant_id", type_=content_access.c.id.type))
    .values(last_accessed_at=sa.bindparam("now", type_=content_access.c.last_accessed_at.type))
)
