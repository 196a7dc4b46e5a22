"""The user, session and login-throttle repositories."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from application.ports.identity import SessionPrincipal, ThrottleState
from domain.errors import Conflict
from domain.identity.roles import Role
from domain.identity.session import AuthSession
from domain.identity.user import User
from tests.unit.fakes.store import Store


class FakeUserRepository:
    def __init__(self, store: Store, staged: Store) -> None:
        self._store = store
        self._staged = staged
        self.seen: dict[UUID, User] = {}

    def _track(self, user: User | None) -> User | None:
        if user is None or user.deleted_at is not None:
            return None
        if user.id not in self.seen:
            self.seen[user.id] = copy.deepcopy(user)
        return self.seen[user.id]

    def add(self, user: User) -> None:
        live = [u for u in self._all() if u.deleted_at is None]
        if any(u.email == user.email for u in live):
            raise Conflict("An account with this email already exists.",
                           code="user.email_taken", field="email")
        self.seen[user.id] = user

    def _all(self) -> list[User]:
        merged = dict(self._store.users)
        merged.update(self.seen)
        return list(merged.values())

    def get(self, user_id: UUID, *, lock: bool = False) -> User | None:
        if user_id in self.seen and not lock:
            return self._track(self.seen[user_id])
        return self._track(self._store.users.get(user_id))

    def _find(self, match: Callable[[User], bool]) -> User | None:
        for user in self._all():
            if user.deleted_at is None and match(user):
                return self.get(user.id)
        return None

    def get_by_email(self, email: str) -> User | None:
        return self._find(lambda u: u.email.value == email)

    def get_by_verification_token(self, token_hash: str) -> User | None:
        return self._find(lambda u: u.email_verification_token_hash == token_hash)

    def get_by_reset_token(self, token_hash: str, *, lock: bool = False) -> User | None:
        return self._find(lambda u: u.password_reset_token_hash == token_hash)

    def list(self, *, role: Role | None = None, limit: int = 100, offset: int = 0
             ) -> Sequence[User]:
        users = sorted((u for u in self._all() if u.deleted_at is None),
                       key=lambda u: (u.created_at, u.id))
        if role is not None:
            users = [u for u in users if u.role is role]
        return users[offset:offset + limit]

    def count_by_role(self, role: Role) -> int:
        return sum(1 for u in self._all()
                   if u.role is role and u.deleted_at is None and u.disabled_at is None)


class FakeSessionRepository:
    def __init__(self, staged: Store, users: FakeUserRepository) -> None:
        self._staged = staged
        self._users = users

    def add(self, session: AuthSession) -> None:
        self._staged.sessions[session.id] = session

    def principal_for(self, token_hash: str, now: datetime,
                      idle_since: datetime) -> SessionPrincipal | None:
        for session in self._staged.sessions.values():
            if session.token_hash == token_hash and session.is_valid(now, idle_since):
                user = self._staged.users.get(session.user_id)
                if user is None or not user.is_active:
                    return None
                return SessionPrincipal(session.id, user.id, user.role, user.is_verified,
                                        session.last_seen_at)
        return None

    def touch(self, session_id: UUID, now: datetime) -> None:
        session = self._staged.sessions.get(session_id)
        if session is not None:
            session.touch(now)

    def revoke(self, session_id: UUID, now: datetime) -> None:
        session = self._staged.sessions.get(session_id)
        if session is not None:
            session.revoke(now)

    def revoke_all_for_user(self, user_id: UUID, now: datetime, *, keep: UUID | None = None
                            ) -> int:
        count = 0
        for session in self._staged.sessions.values():
            if session.user_id == user_id and session.revoked_at is None and session.id != keep:
                session.revoke(now)
                count += 1
        return count


class FakeThrottleRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged

    def _current(self, key: str, now: datetime, window: timedelta) -> ThrottleState | None:
        state = self._staged.throttle.get(key)
        if state is None or state.window_started_at <= now - window:
            return None
        return state

    def record_failure(self, key: str, now: datetime, window: timedelta) -> ThrottleState:
        current = self._current(key, now, window)
        new = (ThrottleState(1, now) if current is None
               else ThrottleState(current.failures + 1, current.window_started_at))
        self._staged.throttle[key] = new
        return new

    def clear(self, key: str) -> None:
        self._staged.throttle.pop(key, None)

    def release(self, key: str) -> None:
        current = self._staged.throttle.get(key)
        if current is not None and current.failures > 0:
            self._staged.throttle[key] = ThrottleState(current.failures - 1,
                                                       current.window_started_at)
