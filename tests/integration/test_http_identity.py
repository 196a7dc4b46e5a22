"""Identity over HTTP against PostgreSQL (reliability.md items 15-21)."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy.tables import auth_sessions, email_logs, users
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from tests.integration.conftest import Inbox

Client = TestClient[Litestar]
PASSWORD = "a long and unusual passphrase"


def register(client: Client, email: str = "ann@example.com", password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/register",
                       json={"email": email, "password": password, "full_name": "Ann"})


def login(client: Client, email: str = "ann@example.com", password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed_in(client: Client, email: str = "ann@example.com") -> str:
    register(client, email)
    response = login(client, email)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def make_owner(patronage: Patronage, email: str = "owner@example.com") -> None:
    patronage.handle(CreateUser(actor=Principal.system(), email=email, password=PASSWORD,
                                full_name="Owner", role=Role.PLATFORM_OWNER))


# -- 15: passwords -------------------------------------------------------------------


def test_passwords_are_argon2id_with_at_least_the_asvs_parameters(
    client: Client, clean_db: sa.Engine
) -> None:
    register(client)
    with clean_db.connect() as conn:
        stored = conn.execute(sa.select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$v=19$")
    params = dict(p.split("=") for p in stored.split("$")[3].split(","))
    assert int(params["m"]) >= 19456 and int(params["t"]) >= 2 and int(params["p"]) >= 1
    assert PASSWORD not in stored


def test_short_passwords_are_refused_and_long_ones_are_not_truncated(
    client: Client, clean_db: sa.Engine
) -> None:
    response = register(client, password="seven77")
    assert response.status_code == 422
    assert response.json()["code"] == "validation.password_too_short"
    assert count(clean_db, users) == 0

    long_password = "the quick brown fox jumps over the lazy dog, twice: " * 2
    assert len(long_password) > 100
    assert register(client, password=long_password).status_code == 202
    assert login(client, password=long_password).status_code == 200
    assert login(client, password=long_password[:-1] + "y").status_code == 401
    assert login(client, password=long_password[:72]).status_code == 401  # no bcrypt cut-off


def test_login_rehashes_a_password_hashed_with_old_parameters(
    patronage: Patronage, client: Client, clean_db: sa.Engine
) -> None:
    weaker = Argon2PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1)
    stronger = Argon2PasswordHasher(memory_cost=19456, time_cost=3, parallelism=1)
    register(client)
    with clean_db.connect() as conn:
        before = conn.execute(sa.select(users.c.password_hash)).scalar_one()
    assert not weaker.needs_rehash(before)
    # Same database, a deployment with stronger parameters.
    from entrypoints.bootstrap import bootstrap
    from entrypoints.http.app import create_app

    upgraded = bootstrap(patronage.settings, engine=clean_db, hasher=stronger)
    with TestClient(app=create_app(upgraded)) as upgraded_client:
        assert login(upgraded_client).status_code == 200
    with clean_db.connect() as conn:
        after = conn.execute(sa.select(users.c.password_hash)).scalar_one()
    assert after != before and ",t=3," in after
    assert login(client).status_code == 200


# -- 16: tokens ----------------------------------------------------------------------


def test_verification_token_is_random_hashed_single_use(
    client: Client, inbox: Inbox, clean_db: sa.Engine
) -> None:
    register(client)
    token = inbox.link_token("ann@example.com", "confirm")
    assert len(token) >= 43  # >= 256 bits, base64url
    with clean_db.connect() as conn:
        stored = conn.execute(sa.select(users.c.email_verification_token)).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()

    assert client.post("/api/v1/auth/verify-email", json={"token": token}).status_code == 204
    again = client.post("/api/v1/auth/verify-email", json={"token": token})
    assert again.status_code == 422 and again.json()["code"] == "auth.invalid_token"
    session = login(client).json()["token"]
    assert client.get("/api/v1/me", headers=bearer(session)).json()["email_verified"] is True


def test_verification_token_expires(client: Client, inbox: Inbox, clean_db: sa.Engine) -> None:
    register(client)
    token = inbox.link_token("ann@example.com", "confirm")
    with clean_db.begin() as conn:
        conn.execute(sa.update(users).values(
            email_verification_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    response = client.post("/api/v1/auth/verify-email", json={"token": token})
    assert response.status_code == 422


def test_reset_link_ignores_the_host_header_and_ends_other_sessions(
    client: Client, inbox: Inbox, clean_db: sa.Engine
) -> None:
    session = signed_in(client)
    response = client.post("/api/v1/auth/password-reset/request",
                           json={"email": "ann@example.com"},
                           headers={"Host": "evil.example.net",
                                    "X-Forwarded-Host": "evil.example.net"})
    assert response.status_code == 202
    (mail,) = [m for m in inbox.messages("ann@example.com") if "Reset" in str(m["Subject"])]
    body = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "https://studio.example.com/reset-password?token=" in body
    assert "evil.example.net" not in body
    token = inbox.link_token("ann@example.com", "reset")
    with clean_db.connect() as conn:
        assert conn.execute(sa.select(users.c.password_reset_token)).scalar_one() == (
            hashlib.sha256(token.encode()).hexdigest())

    confirm = client.post("/api/v1/auth/password-reset/confirm",
                          json={"token": token, "new_password": "the brand new one"})
    assert confirm.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(session)).status_code == 401
    assert login(client, password="the brand new one").status_code == 200
    reuse = client.post("/api/v1/auth/password-reset/confirm",
                        json={"token": token, "new_password": "another new one"})
    assert reuse.status_code == 422


def test_reset_token_expires(client: Client, inbox: Inbox, clean_db: sa.Engine) -> None:
    register(client)
    client.post("/api/v1/auth/password-reset/request", json={"email": "ann@example.com"})
    token = inbox.link_token("ann@example.com", "reset")
    with clean_db.begin() as conn:
        conn.execute(sa.update(users).values(
            password_reset_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    response = client.post("/api/v1/auth/password-reset/confirm",
                           json={"token": token, "new_password": "too late now"})
    assert response.status_code == 422
    assert login(client).status_code == 200


# -- 17: no enumeration --------------------------------------------------------------


def strip_instance(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "instance"}


def test_login_answers_alike_for_unknown_email_and_wrong_password(client: Client) -> None:
    register(client)
    wrong = login(client, password="wrong password!")
    unknown = login(client, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    # Identical but for each request's own id.
    assert wrong.json().pop("request_id") != unknown.json().pop("request_id")
    assert {k: v for k, v in wrong.json().items() if k != "request_id"} == {
        k: v for k, v in unknown.json().items() if k != "request_id"}


def test_register_and_reset_answer_alike_for_known_and_unknown(
    client: Client, inbox: Inbox, clean_db: sa.Engine
) -> None:
    first = register(client)
    again = register(client, password="some other password")
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert count(clean_db, users) == 1
    assert any("already have an account" in str(m["Subject"])
               for m in inbox.messages("ann@example.com"))

    known = client.post("/api/v1/auth/password-reset/request", json={"email": "ann@example.com"})
    unknown = client.post("/api/v1/auth/password-reset/request",
                          json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert inbox.messages("nobody@example.com") == []


# -- 18: brute force -----------------------------------------------------------------


def test_failed_logins_are_throttled_with_retry_after(client: Client) -> None:
    register(client)
    statuses = [login(client, password=f"wrong password {n}").status_code for n in range(5)]
    assert statuses == [401] * 5
    blocked = login(client)
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "auth.too_many_attempts"
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60 + 1


def test_failed_logins_are_throttled_per_client_address(
    patronage: Patronage, client: Client
) -> None:
    register(client)
    for n in range(50):
        assert login(client, email=f"spray{n}@example.com").status_code == 401
    # The test client always comes from the same address.
    assert login(client).status_code == 429


# -- 19: sessions --------------------------------------------------------------------


def test_each_login_issues_a_new_token_stored_hashed(client: Client, clean_db: sa.Engine) -> None:
    register(client)
    first = login(client).json()["token"]
    second = login(client).json()["token"]
    assert first != second
    with clean_db.connect() as conn:
        stored = set(conn.execute(sa.select(auth_sessions.c.token_hash)).scalars())
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in (first, second)}


def test_logout_and_logout_everywhere_invalidate_on_the_server(client: Client) -> None:
    register(client)
    one, two, three = (login(client).json()["token"] for _ in range(3))
    assert client.post("/api/v1/auth/logout", headers=bearer(one)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(one)).status_code == 401
    everywhere = client.post("/api/v1/auth/logout-everywhere", headers=bearer(two))
    assert everywhere.json() == {"revoked_sessions": 2}
    for token in (two, three):
        response = client.get("/api/v1/me", headers=bearer(token))
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_disabling_a_user_invalidates_their_sessions(
    patronage: Patronage, client: Client
) -> None:
    make_owner(patronage)
    owner = login(client, "owner@example.com").json()["token"]
    customer = signed_in(client)
    response = client.post("/api/v1/admin/users/disable", json={"email": "ann@example.com"},
                           headers=bearer(owner))
    assert response.status_code == 200 and response.json()["disabled"] is True
    assert client.get("/api/v1/me", headers=bearer(customer)).status_code == 401
    assert login(client).status_code == 403


def test_change_password_ends_other_sessions(client: Client) -> None:
    current = signed_in(client)
    other = login(client).json()["token"]
    response = client.post("/api/v1/me/password", headers=bearer(current),
                           json={"current_password": PASSWORD, "new_password": "fresh secret!"})
    assert response.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(current)).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 401


def test_deleting_the_account_is_soft(client: Client, clean_db: sa.Engine) -> None:
    token = signed_in(client)
    wrong = client.post("/api/v1/me/delete", headers=bearer(token), json={"password": "nope!!!!"})
    assert wrong.status_code == 401
    assert client.post("/api/v1/me/delete", headers=bearer(token),
                       json={"password": PASSWORD}).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert login(client).status_code == 401
    with clean_db.connect() as conn:
        deleted_at = conn.execute(sa.select(users.c.deleted_at)).scalar_one()
    assert deleted_at is not None


# -- 20: authorization ---------------------------------------------------------------


def test_customers_cannot_set_privileged_fields(client: Client, clean_db: sa.Engine) -> None:
    token = signed_in(client)
    for field, value in (("role", "platform_owner"), ("email", "x@example.com"),
                         ("email_verified", True), ("id", "00000000-0000-0000-0000-000000000000")):
        response = client.patch("/api/v1/me", headers=bearer(token), json={field: value})
        assert response.status_code == 400, field
        assert response.json()["code"] == "request.invalid"
    me = client.get("/api/v1/me", headers=bearer(token)).json()
    assert me["role"] == "customer" and me["email"] == "ann@example.com"
    with_role = client.post("/api/v1/auth/register", json={
        "email": "b@example.com", "password": PASSWORD, "full_name": "B", "role": "platform_owner"})
    assert with_role.status_code == 400
    assert count(clean_db, users) == 1


def test_customers_get_403_on_owner_endpoints(client: Client) -> None:
    token = signed_in(client)
    assert client.get("/api/v1/admin/users", headers=bearer(token)).status_code == 403
    assert client.patch("/api/v1/settings", headers=bearer(token),
                        json={"platform_name": "Mine"}).status_code == 403
    assert client.post("/api/v1/admin/users/role", headers=bearer(token),
                       json={"email": "ann@example.com", "role": "platform_owner"}
                       ).status_code == 403
    assert client.get("/api/v1/settings").json()["platform_name"] == "My Platform"


def test_each_user_sees_only_their_own_profile(client: Client) -> None:
    ann = signed_in(client, "ann@example.com")
    bob = signed_in(client, "bob@example.com")
    assert client.get("/api/v1/me", headers=bearer(ann)).json()["email"] == "ann@example.com"
    assert client.get("/api/v1/me", headers=bearer(bob)).json()["email"] == "bob@example.com"


def test_owner_creates_users_and_a_duplicate_email_is_409(
    patronage: Patronage, client: Client, clean_db: sa.Engine
) -> None:
    make_owner(patronage)
    owner = login(client, "owner@example.com").json()["token"]
    body = {"email": "media@example.com", "password": PASSWORD, "full_name": "Media",
            "role": "media_owner"}
    created = client.post("/api/v1/admin/users", headers=bearer(owner), json=body)
    assert created.status_code == 201 and created.json()["role"] == "media_owner"
    duplicate = client.post("/api/v1/admin/users", headers=bearer(owner),
                            json={**body, "email": "MEDIA@example.com"})
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "user.email_taken"
    assert count(clean_db, users) == 2
    listed = client.get("/api/v1/admin/users", headers=bearer(owner),
                        params={"role": "media_owner"}).json()
    assert [u["email"] for u in listed] == ["media@example.com"]


# -- 21: nothing secret in logs, generic 5xx -----------------------------------------


def test_no_password_or_token_reaches_the_logs(
    client: Client, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    register(client)
    verification = inbox.link_token("ann@example.com", "confirm")
    session = login(client).json()["token"]
    client.get("/api/v1/me", headers=bearer(session))
    login(client, password="a wrong password")
    client.post("/api/v1/auth/password-reset/request", json={"email": "ann@example.com"})
    reset = inbox.link_token("ann@example.com", "reset")
    text = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    for secret in (PASSWORD, "a wrong password", session, verification, reset):
        assert secret not in text


class ExplodingClock:
    def now(self) -> datetime:
        raise RuntimeError("internal detail: connection string postgres://secret")


def test_unexpected_errors_are_a_generic_500(patronage: Patronage, clean_db: sa.Engine) -> None:
    from entrypoints.bootstrap import bootstrap
    from entrypoints.http.app import create_app

    broken = bootstrap(patronage.settings, engine=clean_db, clock=ExplodingClock(),
                       hasher=Argon2PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1))
    with TestClient(app=create_app(broken)) as client:
        response = login(client)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "internal"
    assert "secret" not in response.text and "Traceback" not in response.text


def test_every_email_is_logged(client: Client, clean_db: sa.Engine) -> None:
    register(client)
    with clean_db.connect() as conn:
        rows = conn.execute(sa.select(email_logs.c.email_type, email_logs.c.status,
                                      email_logs.c.provider)).all()
    assert [tuple(r) for r in rows] == [("email_verification", "sent", "file")]
