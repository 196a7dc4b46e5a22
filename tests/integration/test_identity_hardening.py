"""Identity hardening over HTTP against PostgreSQL.

Proves that every request which can send mail is throttled per target address and
per sender (alike for known and unknown addresses), that password checks made by a
signed-in user share the failed-login budget, that a reset token is spent once even
under concurrency and dies with any password change, that weak passwords are refused
without costing attempts, that a login costs one argon2 verification whether or not
the email has an account, and that the argon2 concurrency cap turns a wait that runs
too long into a retryable ``service.busy``.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.passwords import argon2_hasher
from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy.tables import auth_sessions, users
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.errors import Unavailable
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.accounts import PASSWORD, Headers, account, make_user
from tests.integration.conftest import FAST_ARGON2, Inbox

Client = TestClient[Litestar]

NEW_PASSWORD = "the quick brown fox jumps 42"
MAIL_LIMIT = 5  # CoreConfig.mail_throttle: mails per target address per hour
SENDER_LIMIT = 30  # CoreConfig.sender_throttle: mail requests per client address per hour
ACCOUNT_LIMIT = 5  # CoreConfig.account_throttle: failed password checks per 15 minutes


def register(client: Client, email: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/register",
                       json={"email": email, "password": password, "full_name": "Ann"})


def request_reset(client: Client, email: str) -> Any:
    return client.post("/api/v1/auth/password-reset/request", json={"email": email})


def confirm_reset(client: Client, token: str, new_password: str) -> Any:
    return client.post("/api/v1/auth/password-reset/confirm",
                       json={"token": token, "new_password": new_password})


def try_login(client: Client, email: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def change_password(client: Client, headers: Headers, current: str,
                    new: str = NEW_PASSWORD) -> Any:
    return client.post("/api/v1/me/password", headers=headers,
                       json={"current_password": current, "new_password": new})


def assert_throttled(response: Any, code: str, window_seconds: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == code
    assert 0 < int(response.headers["Retry-After"]) <= window_seconds + 1


def user_row(engine: sa.Engine, email: str) -> sa.RowMapping:
    with engine.connect() as conn:
        return conn.execute(sa.select(users).where(users.c.email == email)).mappings().one()


def user_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())


def about(inbox: Inbox, email: str, subject_contains: str) -> int:
    return sum(subject_contains.lower() in str(m["Subject"]).lower()
               for m in inbox.messages(email))


# -- mail-sending requests -----------------------------------------------------------


def test_registration_is_throttled_per_target_email_alike_for_known_and_unknown(
    patronage: Patronage, client: Client, inbox: Inbox, clean_db: sa.Engine
) -> None:
    make_user(patronage, "known@example.com", Role.CUSTOMER)
    refused: dict[str, dict[str, Any]] = {}
    for email in ("known@example.com", "new@example.com"):
        assert [register(client, email).status_code for _ in range(MAIL_LIMIT)] == [202] * 5
        sixth = register(client, email)
        assert_throttled(sixth, "auth.too_many_requests", 3600)
        refused[email] = sixth.json()
        assert len(inbox.messages(email)) == MAIL_LIMIT

    # The seconds to wait may differ by one tick, and each request has its own id;
    # everything else must be identical.
    known, unknown = ({k: v for k, v in body.items()
                       if k not in ("retry_after_seconds", "request_id")}
                      for body in refused.values())
    assert known == unknown
    assert refused["known@example.com"].keys() == refused["new@example.com"].keys()
    assert about(inbox, "known@example.com", "already have an account") == MAIL_LIMIT
    assert about(inbox, "new@example.com", "confirm") == 1
    assert user_count(clean_db) == 2


def test_reset_requests_for_one_email_send_at_most_five_mails(
    patronage: Patronage, client: Client, inbox: Inbox
) -> None:
    make_user(patronage, "ann@example.com", Role.CUSTOMER)
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: request_reset(client, "ann@example.com"), range(40)))
    assert Counter(r.status_code for r in responses) == Counter({202: 5, 429: 35})
    for response in responses:
        if response.status_code == 429:
            assert_throttled(response, "auth.too_many_requests", 3600)
    assert len(inbox.messages("ann@example.com")) == MAIL_LIMIT
    assert about(inbox, "ann@example.com", "reset") == MAIL_LIMIT


def test_mail_requests_are_throttled_per_sender_across_target_emails(
    patronage: Patronage, client: Client, inbox: Inbox
) -> None:
    make_user(patronage, "ann@example.com", Role.CUSTOMER)
    # The test client always comes from the same address.
    for n in range(SENDER_LIMIT):
        assert request_reset(client, f"target{n}@example.com").status_code == 202
    # A fresh target, with an account, whose own budget is untouched: the sender is spent.
    assert_throttled(request_reset(client, "ann@example.com"), "auth.too_many_requests", 3600)
    assert inbox.messages("ann@example.com") == []


def test_verification_resend_is_throttled_per_target_email(
    patronage: Patronage, client: Client, inbox: Inbox
) -> None:
    patronage.handle(CreateUser(actor=Principal.system(), email="ann@example.com",
                                password=PASSWORD, full_name="Ann", role=Role.CUSTOMER,
                                verified=False))
    assert about(inbox, "ann@example.com", "confirm") == 1
    headers = {"Authorization": f"Bearer {try_login(client, 'ann@example.com').json()['token']}"}

    def resend() -> Any:
        return client.post("/api/v1/auth/verify-email/resend", headers=headers)

    assert [resend().status_code for _ in range(MAIL_LIMIT)] == [202] * 5
    assert_throttled(resend(), "auth.too_many_requests", 3600)
    assert about(inbox, "ann@example.com", "confirm") == 1 + MAIL_LIMIT
    # One budget per target address, whichever request spends it.
    assert_throttled(request_reset(client, "ann@example.com"), "auth.too_many_requests", 3600)
    assert about(inbox, "ann@example.com", "reset") == 0


# -- password checks by a signed-in user ---------------------------------------------


def test_wrong_current_passwords_count_against_the_login_budget(
    patronage: Patronage, client: Client, clean_db: sa.Engine
) -> None:
    headers = account(patronage, client, "ann@example.com", Role.CUSTOMER)
    before = user_row(clean_db, "ann@example.com")["password_hash"]
    for n in range(ACCOUNT_LIMIT):
        wrong = change_password(client, headers, f"not my password {n}")
        assert wrong.status_code == 401, wrong.text
        assert wrong.json()["code"] == "auth.invalid_credentials"
    assert_throttled(change_password(client, headers, "not my password 5"),
                     "auth.too_many_attempts", 15 * 60)
    assert_throttled(try_login(client, "ann@example.com"), "auth.too_many_attempts", 15 * 60)
    assert user_row(clean_db, "ann@example.com")["password_hash"] == before


def test_wrong_passwords_to_delete_the_account_count_against_the_login_budget(
    patronage: Patronage, client: Client, clean_db: sa.Engine
) -> None:
    headers = account(patronage, client, "ann@example.com", Role.CUSTOMER)

    def delete(password: str) -> Any:
        return client.post("/api/v1/me/delete", headers=headers, json={"password": password})

    for n in range(ACCOUNT_LIMIT):
        wrong = delete(f"not my password {n}")
        assert wrong.status_code == 401, wrong.text
        assert wrong.json()["code"] == "auth.invalid_credentials"
    assert_throttled(delete("not my password 5"), "auth.too_many_attempts", 15 * 60)
    assert_throttled(delete(PASSWORD), "auth.too_many_attempts", 15 * 60)
    assert_throttled(try_login(client, "ann@example.com"), "auth.too_many_attempts", 15 * 60)
    assert user_row(clean_db, "ann@example.com")["deleted_at"] is None
    assert client.get("/api/v1/me", headers=headers).status_code == 200


# -- reset tokens --------------------------------------------------------------------


CANDIDATES = (
    "copper kettle on a windy pier",
    "seven violet lanterns drifting",
    "my uncle grows purple carrots",
    "orbit of a quiet glass moon",
    "fourteen owls debate the tide",
    "marble stairs into green fog",
)


def test_a_reset_token_is_spent_once_by_parallel_confirmations(
    patronage: Patronage, client: Client, inbox: Inbox, clean_db: sa.Engine
) -> None:
    make_user(patronage, "ann@example.com", Role.CUSTOMER)
    assert request_reset(client, "ann@example.com").status_code == 202
    token = inbox.link_token("ann@example.com", "reset your password")

    barrier = threading.Barrier(len(CANDIDATES))

    def confirm(password: str) -> Any:
        barrier.wait()  # release all confirmations together
        return confirm_reset(client, token, password)

    with ThreadPoolExecutor(max_workers=len(CANDIDATES)) as pool:
        responses = dict(zip(CANDIDATES, pool.map(confirm, CANDIDATES), strict=True))
    assert Counter(r.status_code for r in responses.values()) == Counter({204: 1, 422: 5})
    (winner,) = (p for p, r in responses.items() if r.status_code == 204)
    for password, response in responses.items():
        if password != winner:
            assert response.json()["code"] == "auth.invalid_token", response.text

    row = user_row(clean_db, "ann@example.com")
    assert row["password_reset_token"] is None
    checker = Argon2PasswordHasher(**FAST_ARGON2)
    assert [p for p in CANDIDATES if checker.verify(row["password_hash"], p)] == [winner]
    assert try_login(client, "ann@example.com", winner).status_code == 200
    assert try_login(client, "ann@example.com", PASSWORD).status_code == 401


def test_changing_the_password_voids_an_outstanding_reset_token(
    patronage: Patronage, client: Client, inbox: Inbox, clean_db: sa.Engine
) -> None:
    headers = account(patronage, client, "ann@example.com", Role.CUSTOMER)
    assert request_reset(client, "ann@example.com").status_code == 202
    token = inbox.link_token("ann@example.com", "reset your password")
    assert change_password(client, headers, PASSWORD).status_code == 204
    assert user_row(clean_db, "ann@example.com")["password_reset_token"] is None

    refused = confirm_reset(client, token, CANDIDATES[0])
    assert refused.status_code == 422
    assert refused.json()["code"] == "auth.invalid_token"
    assert try_login(client, "ann@example.com", NEW_PASSWORD).status_code == 200
    assert try_login(client, "ann@example.com", CANDIDATES[0]).status_code == 401


# -- weak passwords ------------------------------------------------------------------


def assert_weak(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation.password_weak"
    assert [e["field"] for e in body["errors"]] == [field]


def test_registration_refuses_weak_passwords(
    client: Client, inbox: Inbox, clean_db: sa.Engine
) -> None:
    assert_weak(register(client, "ann@example.com", "password1"), "password")
    # Random-looking on its own, but it is the address's local part.
    assert_weak(register(client, "qzv7rk2mwp@example.com", "qzv7rk2mwp"), "password")
    assert user_count(clean_db) == 0
    assert inbox.messages() == []
    # The same password is fine for someone whose address it is not.
    assert register(client, "ann@example.com", "qzv7rk2mwp").status_code == 202
    assert user_count(clean_db) == 1


def test_a_weak_new_password_is_refused_without_costing_an_attempt(
    patronage: Patronage, client: Client, clean_db: sa.Engine
) -> None:
    headers = account(patronage, client, "ann@example.com", Role.CUSTOMER)
    before = user_row(clean_db, "ann@example.com")["password_hash"]
    weak = ("password1", "qwertyuiop", "iloveyou12", "letmein123", "abcd1234", "11111111")
    for new in weak:
        assert_weak(change_password(client, headers, PASSWORD, new), "new_password")
    assert user_row(clean_db, "ann@example.com")["password_hash"] == before
    # Had any of them been counted, five wrong guesses would no longer be allowed.
    for n in range(ACCOUNT_LIMIT):
        assert change_password(client, headers, f"not my password {n}").status_code == 401


# -- equal work for unknown and known emails -----------------------------------------


class CountingHasher:
    """The real hasher, with a tally of what each use case asks of it."""

    def __init__(self, inner: Argon2PasswordHasher) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()
        self.verified: list[str] = []

    def reset(self) -> None:
        self.calls.clear()
        self.verified.clear()

    def hash(self, password: str) -> str:
        self.calls["hash"] += 1
        return self._inner.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.calls["verify"] += 1
        self.verified.append(password_hash)
        return self._inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        self.calls["needs_rehash"] += 1
        return self._inner.needs_rehash(password_hash)

    def dummy_hash(self) -> str:
        self.calls["dummy_hash"] += 1
        return self._inner.dummy_hash()


@pytest.fixture
def counted(settings: Settings, clean_db: sa.Engine) -> Iterator[tuple[Patronage, CountingHasher]]:
    hasher = CountingHasher(Argon2PasswordHasher(**FAST_ARGON2))
    app = bootstrap(settings, engine=clean_db, hasher=hasher)
    yield app, hasher
    app.dispatcher.close()


def argon2_parameters(password_hash: str) -> str:
    # "$argon2id$v=19$m=...,t=...,p=...$salt$digest" -> the algorithm and its costs.
    return "$".join(password_hash.split("$")[:4])


def test_a_login_costs_one_verification_whether_or_not_the_email_has_an_account(
    counted: tuple[Patronage, CountingHasher], clean_db: sa.Engine
) -> None:
    app, hasher = counted
    make_user(app, "ann@example.com", Role.CUSTOMER)
    stored = user_row(clean_db, "ann@example.com")["password_hash"]
    with TestClient(app=create_app(app)) as client:
        hasher.reset()
        unknown = try_login(client, "nobody@example.com")
        unknown_calls = +hasher.calls
        unknown_checked = list(hasher.verified)

        hasher.reset()
        try_login(client, "someone.else@example.com")
        again_checked = list(hasher.verified)

        hasher.reset()
        wrong = try_login(client, "ann@example.com", "not my password at all")
        wrong_calls = +hasher.calls
        wrong_checked = list(hasher.verified)

    assert unknown.status_code == wrong.status_code == 401
    # What a login pays for is its verify and hash calls. The adapter makes the dummy
    # hash once, on first use, and every later unknown email is checked against it.
    assert unknown_calls["verify"] == wrong_calls["verify"] == 1
    assert unknown_calls["hash"] == wrong_calls["hash"] == 0
    assert wrong_checked == [stored]
    (dummy,) = unknown_checked
    assert again_checked == [dummy]
    assert dummy != stored
    assert argon2_parameters(dummy) == argon2_parameters(stored)


# -- the argon2 concurrency cap ------------------------------------------------------


def test_a_full_argon2_cap_makes_callers_wait_then_answers_service_busy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hasher = Argon2PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1, concurrency=1)
    # The wait is a deployment constant; shortening it keeps the test quick.
    monkeypatch.setattr(argon2_hasher, "WAIT_SECONDS", 0.05)
    earlier = hasher.hash(PASSWORD)
    # Holding the only slot stands in for a hash in flight on another thread.
    assert hasher._slots.acquire(blocking=False)
    try:
        with pytest.raises(Unavailable) as busy:
            hasher.hash(NEW_PASSWORD)
        assert busy.value.code == "service.busy"
        with pytest.raises(Unavailable):
            hasher.verify(earlier, PASSWORD)
    finally:
        hasher._slots.release()
    assert hasher.verify(earlier, PASSWORD)
    assert hasher.verify(hasher.hash(NEW_PASSWORD), NEW_PASSWORD)


def test_login_timing_does_not_tell_whether_an_account_exists(
        settings: Settings, clean_db: sa.Engine) -> None:
    # The throttle would answer early after five failures; lift it to time the check.
    open_settings = Settings(database_url=settings.database_url, data_dir=settings.data_dir,
                             login_max_failures=100_000, address_max_failures=100_000)
    app = bootstrap(open_settings, engine=clean_db, hasher=Argon2PasswordHasher(**FAST_ARGON2))
    try:
        app.handle(CreateUser(actor=Principal.system(), email="known@example.com",
                              password=PASSWORD, full_name="Known", role=Role.CUSTOMER))
        from application.identity.login import Login
        from domain.errors import Unauthenticated

        def timed(email: str) -> float:
            started = time.perf_counter()
            with pytest.raises(Unauthenticated):
                app.handle(Login(email=email, password="not the password at all"))
            return time.perf_counter() - started

        timed("warm-up@example.com")
        known, unknown = [], []
        for n in range(25):  # interleaved, so drift hits both sides alike
            known.append(timed("known@example.com"))
            unknown.append(timed(f"nobody-{n}@example.com"))
        ratio = statistics.median(unknown) / statistics.median(known)
        # Same work on both paths: the medians agree closely. Before, an unknown email
        # cost two argon2 runs (ratio near 2).
        assert 0.75 < ratio < 1.33, (statistics.median(known), statistics.median(unknown))
    finally:
        app.close()


def test_an_idle_session_ends_on_every_path_and_activity_keeps_one_alive(
        patronage: Patronage, client: Client, clean_db: sa.Engine) -> None:
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    reader = account(patronage, client, "reader@example.com", Role.CUSTOMER)
    item = client.post("/api/v1/studio/content", headers=owner, json={
        "title": "Open", "content_type": "written", "visibility": "public",
        "body_html": "<p>Open to all.</p>"}).json()
    assert client.post(f"/api/v1/studio/content/{item['id']}/publish",
                       headers=owner).status_code == 200
    idle_limit = patronage.services.config.session_idle

    def age_sessions(by: Any) -> None:
        with clean_db.begin() as conn:
            conn.execute(sa.text("UPDATE auth_sessions SET last_seen_at = last_seen_at - "
                                 "make_interval(secs => :s)"), {"s": by.total_seconds()})

    # Seen a little while ago (past the write interval): the next request records activity.
    age_sessions(idle_limit / 2)
    assert client.get("/api/v1/me", headers=reader).status_code == 200
    with clean_db.connect() as conn:
        seen = conn.execute(sa.text(
            "SELECT now() - last_seen_at < interval '1 minute' FROM auth_sessions s "
            "JOIN users u ON u.id = s.user_id WHERE u.email = 'reader@example.com'")).scalar()
    assert seen is True
    # Unused for longer than the idle limit: refused on the session lookup and on the
    # access path's one-statement lookup alike.
    age_sessions(idle_limit + idle_limit / 10)
    assert client.get("/api/v1/me", headers=reader).status_code == 401
    refused = client.get(f"/api/v1/content/{item['id']}/access", headers=reader)
    assert refused.status_code == 401
    assert refused.json()["code"] == "auth.invalid_session"


def test_recording_activity_never_waits_on_the_request_that_triggers_it(
        any_db: Any) -> None:
    patronage, client = any_db
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    item = client.post("/api/v1/studio/content", headers=owner, json={
        "title": "Essay", "content_type": "written", "visibility": "public",
        "body_html": "<p>Words.</p>"}).json()
    client.post(f"/api/v1/studio/content/{item['id']}/publish", headers=owner)
    stale = datetime.now(UTC) - timedelta(minutes=30)
    with patronage.engine.begin() as conn:
        conn.execute(sa.update(auth_sessions).values(last_seen_at=stale))
    started = time.monotonic()
    # A writing request (a read counts a view) on a session that needs its activity noted:
    # on SQLite this once waited out the busy timeout on its own write lock.
    read = client.get(f"/api/v1/content/{item['slug']}", headers=owner)
    assert read.status_code == 200
    assert time.monotonic() - started < 5
    with patronage.engine.connect() as conn:
        seen = conn.execute(sa.select(auth_sessions.c.last_seen_at)).scalars().all()
    assert all(s > stale + timedelta(minutes=20) for s in seen)


class InterruptedHasher(CountingHasher):
    """Runs ``during`` once while a password is being verified: a change that commits
    while the (slow, lock-free) argon2 check of a login is in progress."""

    def __init__(self, inner: Argon2PasswordHasher) -> None:
        super().__init__(inner)
        self.during: Any = None

    def verify(self, password_hash: str, password: str) -> bool:
        ok = super().verify(password_hash, password)
        if self.during is not None:
            action, self.during = self.during, None
            action()
        return ok


def test_a_login_racing_a_password_change_does_not_get_in(
        settings: Settings, clean_db: sa.Engine) -> None:
    hasher = InterruptedHasher(Argon2PasswordHasher(**FAST_ARGON2))
    app = bootstrap(settings, engine=clean_db, hasher=hasher)
    try:
        with TestClient(app=create_app(app)) as client:
            me = account(app, client, "ann@example.com", Role.CUSTOMER)
            new_password = "the kettle sings at dawn"
            hasher.during = lambda: change_password(client, me, PASSWORD, new_password)
            raced = try_login(client, "ann@example.com", PASSWORD)
            # The old password was right when checked, but it stopped being the password
            # before the session was made: no session on a password that no longer is.
            assert raced.status_code == 401, raced.text
            assert try_login(client, "ann@example.com", new_password).status_code == 200
            with clean_db.connect() as conn:
                live = conn.execute(sa.text("SELECT count(*) FROM auth_sessions WHERE "
                                            "revoked_at IS NULL")).scalar_one()
            assert live == 2  # the session that changed it, and the new login
    finally:
        app.close()
