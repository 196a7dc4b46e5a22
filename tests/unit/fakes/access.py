"""The access facts: who is viewing, and what they hold for each item."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import attrs

from application.ports.catalog import AccessLookup, AccessRow
from domain.access.decision import Grant, ItemFacts, Viewer, ViewerFacts
from domain.catalog.content import ContentItem
from domain.identity.session import AuthSession
from tests.unit.fakes.catalog import FakeContentRepository, entry_of
from tests.unit.fakes.commerce import FakePurchaseRepository
from tests.unit.fakes.identity import FakeUserRepository
from tests.unit.fakes.store import Store


class FakeAccessFacts:
    def __init__(self, staged: Store, users: FakeUserRepository,
                 content: FakeContentRepository, purchases: FakePurchaseRepository) -> None:
        self._staged = staged
        self._users = users
        self._content = content
        self._purchases = purchases

    def _viewer(self, now: datetime, token_hash: str | None, user_id: UUID | None,
                idle_since: datetime | None) -> tuple[Viewer | None, AuthSession | None]:
        users = {u.id: u for u in self._users._all()}
        if token_hash is not None:
            for session in self._staged.sessions.values():
                if session.token_hash == token_hash and session.is_valid(now, idle_since):
                    user = users.get(session.user_id)
                    if (user is not None and user.deleted_at is None
                            and user.disabled_at is None):
                        return Viewer(user.id, user.role), session
            return None, None
        if user_id is not None:
            user = users.get(user_id)
            if user is not None and user.deleted_at is None:
                return Viewer(user.id, user.role), None
        return None, None

    def lookup(self, *, now: datetime, token_hash: str | None = None,
               user_id: UUID | None = None, content_ids: Sequence[UUID] | None = None,
               slug: str | None = None, idle_since: datetime | None = None) -> AccessLookup:
        viewer, session = self._viewer(now, token_hash, user_id if token_hash is None else None,
                                       idle_since)
        everything = self._content._all()  # deleted items too: decide() hides them
        if slug is not None:
            items = [i for i in everything.values() if i.slug.value == slug]
        else:
            items = [everything[i] for i in dict.fromkeys(content_ids or ()) if i in everything]
        bought_series = (self._purchases.completed_series(viewer.user_id)
                         if viewer is not None else set())
        rows = [self._row(item, viewer, everything, bought_series, now) for item in items]
        verified = viewer is not None and any(u.id == viewer.user_id and u.is_verified
                                                  for u in self._users._all())
        return AccessLookup(viewer=viewer, email_verified=verified,
                            session_valid=token_hash is None or viewer is not None, rows=rows,
                            session_id=session.id if session else None,
                            session_seen=session.last_seen_at if session else None)

    def _row(self, item: ContentItem, viewer: Viewer | None,
             everything: dict[UUID, ContentItem], bought_series: set[UUID],
             now: datetime) -> AccessRow:
        uid = viewer.user_id if viewer is not None else None
        grants = tuple(Grant(g.id, g.access_type, g.expires_at, g.last_accessed_at)
                       for g in self._staged.grants.values()
                       if g.user_id == uid and g.content_id == item.id)
        # A prerequisite that was deleted or unpublished no longer blocks anyone.
        missing = sum(
            1 for p in item.prerequisite_ids
            if p in everything and everything[p].is_live
            and not (uid is not None and (done := self._staged.progress.get((uid, p)))
                     is not None and done.completed))
        covering = sorted(m.tier_name for m in self._staged.memberships
                          if viewer is not None and m.user_id == uid and m.covers(item, now))
        membership = bool(covering)
        progress = self._staged.progress.get((uid, item.id)) if uid is not None else None
        return AccessRow(
            item=ItemFacts(id=item.id, creator_id=item.creator_id, status=item.status,
                           visibility=item.visibility, is_free=item.is_free,
                           deleted=item.deleted_at is not None),
            facts=ViewerFacts(grants=grants,
                              series_purchased=item.series_id is not None
                              and item.series_id in bought_series,
                              membership_covers=membership,
                              membership_tier=covering[0] if covering else None,
                              missing_prerequisites=missing),
            slug=item.slug.value, title=item.title, content_type=item.content_type.value,
            media_key=item.media_key, duration_seconds=item.media_duration_seconds,
            body_html=item.body_html, excerpt=item.excerpt,
            position_seconds=progress.position_seconds if progress else None,
            completed=bool(progress and progress.completed), entry=entry_of(item),
        )

    def touch_grant(self, grant_id: UUID, now: datetime) -> None:
        grant = self._staged.grants.get(grant_id)
        if grant is not None:
            self._staged.grants[grant_id] = attrs.evolve(grant, last_accessed_at=now)
