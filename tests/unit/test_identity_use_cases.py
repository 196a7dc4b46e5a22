"""Identity use cases against in-memory fakes: registration to account deletion."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from application.identity.administration import DisableUser, ListUsers, SetRole
from application.identity.login import Login
from application.identity.passwords import ChangePassword, RequestPasswordReset, ResetPassword
from application.identity.profile import DeleteAccount, GetMe, UpdateProfile
from application.identity.registration import CreateUser, RegisterCustomer
from application.identity.sessions import Authenticate, Logout, LogoutEverywhere
from application.identity.verification import ResendVerification, VerifyEmail
from application.principal import Principal
from application.security import hash_token
from domain.errors import Conflict, Forbidden, RateLimited, Unauthenticated, ValidationError
from domain.identity.roles import Role
from domain.identity.user import InvalidToken
from tests.unit.fakes.app import FakeApp

PASSWORD = "correct horse battery"


def token_from(app: FakeApp, to: str, subject: str) -> str:
    for message in reversed(app.mailer.to(to)):
        if subject.lower() in message.subject.lower():
            match = re.search(r"\?token=(\S+)", message.text)
            assert match
            return match.group(1)
    raise AssertionError(f"no {subject!r} mail to {to}")


def register(app: FakeApp, email: str = "ann@example.com") -> None:
    app.handle(RegisterCustomer(email=email, password=PASSWORD, full_name="Ann"))


def login(app: FakeApp, email: str = "ann@example.com", password: str = PASSWORD,
          address: str = "10.0.0.1") -> str:
    return str(app.handle(Login(email=email, password=password, client_address=address)).token)


@pytest.fixture
def app() -> FakeApp:
    return FakeApp()


def test_registration_sends_a_verification_link_that_works_once(app: FakeApp) -> None:
    register(app)
    token = token_from(app, "ann@example.com", "confirm")
    user = next(iter(app.store.users.values()))
    assert user.email_verification_token_hash == hash_token(token) != token
    assert user.role is Role.CUSTOMER and not user.is_verified

    app.handle(VerifyEmail(token=token))
    assert app.store.users[user.id].is_verified
    with pytest.raises(InvalidToken):
        app.handle(VerifyEmail(token=token))


def test_verification_link_expires(app: FakeApp) -> None:
    register(app)
    token = token_from(app, "ann@example.com", "confirm")
    app.clock.advance(hours=48, seconds=1)
    with pytest.raises(InvalidToken):
        app.handle(VerifyEmail(token=token))


def test_resend_replaces_the_previous_link(app: FakeApp) -> None:
    register(app)
    first = token_from(app, "ann@example.com", "confirm")
    actor = app.handle(Authenticate(token=login(app)))
    app.handle(ResendVerification(actor=actor))
    second = token_from(app, "ann@example.com", "confirm")
    assert first != second
    with pytest.raises(InvalidToken):
        app.handle(VerifyEmail(token=first))
    app.handle(VerifyEmail(token=second))


def test_registering_a_taken_email_answers_alike_and_warns_the_owner(app: FakeApp) -> None:
    register(app)
    assert app.handle(RegisterCustomer(email="ANN@example.com", password="another password",
                                       full_name="Mallory")) is None
    assert len(app.store.users) == 1
    subjects = [m.subject for m in app.mailer.to("ann@example.com")]
    assert "You already have an account" in subjects
    # The original password still works; the attempt changed nothing.
    assert login(app)


def test_operator_creates_users_and_a_taken_email_is_a_conflict(app: FakeApp) -> None:
    system = Principal.system()
    view = app.handle(CreateUser(actor=system, email="owner@example.com", password=PASSWORD,
                                 full_name="Owner", role=Role.PLATFORM_OWNER))
    assert view.role == "platform_owner" and view.email_verified
    with pytest.raises(Conflict) as err:
        app.handle(CreateUser(actor=system, email="owner@example.com", password=PASSWORD,
                              full_name="Again", role=Role.CUSTOMER))
    assert err.value.code == "user.email_taken"


def test_customers_cannot_use_operator_use_cases(app: FakeApp) -> None:
    register(app)
    actor = app.handle(Authenticate(token=login(app)))
    with pytest.raises(Forbidden):
        app.handle(CreateUser(actor=actor, email="x@example.com", password=PASSWORD,
                              full_name="X", role=Role.PLATFORM_OWNER))
    with pytest.raises(Forbidden):
        app.handle(ListUsers(actor=actor))
    with pytest.raises(Forbidden):
        app.handle(SetRole(actor=actor, email="ann@example.com", role=Role.PLATFORM_OWNER))


def test_login_gives_a_new_opaque_token_each_time(app: FakeApp) -> None:
    register(app)
    first, second = login(app), login(app)
    assert first != second and len(first) >= 43  # 32 random bytes, base64url
    stored = [s.token_hash for s in app.store.sessions.values()]
    assert hash_token(first) in stored and first not in stored


def test_wrong_password_and_unknown_email_fail_identically(app: FakeApp) -> None:
    register(app)
    with pytest.raises(Unauthenticated) as wrong:
        login(app, password="not the password")
    with pytest.raises(Unauthenticated) as unknown:
        login(app, email="nobody@example.com")
    assert (wrong.value.code, wrong.value.message) == (unknown.value.code, unknown.value.message)


def test_failed_logins_are_throttled_per_account(app: FakeApp) -> None:
    register(app)
    for attempt in range(5):
        with pytest.raises(Unauthenticated):
            login(app, password="wrong", address=f"10.0.0.{attempt}")
    with pytest.raises(RateLimited) as limited:
        login(app, address="10.9.9.9")  # even the right password now waits
    assert 0 < limited.value.retry_after_seconds <= 15 * 60 + 1
    app.clock.advance(minutes=15, seconds=1)
    assert login(app)


def test_unknown_accounts_are_throttled_the_same_way(app: FakeApp) -> None:
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            login(app, email="ghost@example.com")
    with pytest.raises(RateLimited):
        login(app, email="ghost@example.com")


def test_failed_logins_are_throttled_per_client_address(app: FakeApp) -> None:
    register(app)
    for n in range(50):
        with pytest.raises(Unauthenticated):
            login(app, email=f"spray{n}@example.com", address="203.0.113.7")
    with pytest.raises(RateLimited):
        login(app, address="203.0.113.7")
    assert login(app, address="198.51.100.1")


def test_success_clears_the_account_counter(app: FakeApp) -> None:
    register(app)
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            login(app, password="wrong")
    login(app)
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            login(app, password="wrong")
    assert login(app)


def test_login_rehashes_when_parameters_change(app: FakeApp) -> None:
    register(app)
    app.hasher.version = 2
    login(app)
    user = next(iter(app.store.users.values()))
    assert user.password_hash.startswith("fake-v2$")
    assert login(app)


def test_logout_and_logout_everywhere_end_sessions_on_the_server(app: FakeApp) -> None:
    register(app)
    one, two, three = login(app), login(app), login(app)
    app.handle(Logout(actor=app.handle(Authenticate(token=one))))
    with pytest.raises(Unauthenticated):
        app.handle(Authenticate(token=one))
    assert app.handle(LogoutEverywhere(actor=app.handle(Authenticate(token=two)))) == 2
    for token in (two, three):
        with pytest.raises(Unauthenticated):
            app.handle(Authenticate(token=token))


def test_sessions_expire(app: FakeApp) -> None:
    register(app)
    token = login(app)
    app.clock.advance(days=30, seconds=1)
    with pytest.raises(Unauthenticated):
        app.handle(Authenticate(token=token))


def test_an_idle_session_ends_and_an_active_one_lives_until_its_lifetime(
        app: FakeApp) -> None:
    register(app)
    start = app.clock.now()
    idle, busy = login(app), login(app)
    # Busy: a request every few hours keeps the session alive well past the idle limit.
    for _ in range(7 * 4):
        app.clock.advance(hours=6)
        app.handle(Authenticate(token=busy))
    with pytest.raises(Unauthenticated):  # idle for seven days
        app.handle(Authenticate(token=idle))
    # Whatever the activity, the absolute lifetime (30 days) ends it.
    while app.clock.now() < start + timedelta(days=29, hours=18):
        app.clock.advance(hours=6)
        app.handle(Authenticate(token=busy))
    app.clock.advance(days=1)
    with pytest.raises(Unauthenticated):
        app.handle(Authenticate(token=busy))


def test_activity_is_written_at_most_every_few_minutes(app: FakeApp) -> None:
    register(app)
    token = login(app)
    session = next(iter(app.store.sessions.values()))
    logged_in_at = session.last_seen_at
    app.clock.advance(minutes=4)
    app.handle(Authenticate(token=token))
    assert next(iter(app.store.sessions.values())).last_seen_at == logged_in_at
    app.clock.advance(minutes=2)
    app.handle(Authenticate(token=token))
    assert next(iter(app.store.sessions.values())).last_seen_at == app.clock.now()


def test_password_reset_is_single_use_expiring_and_ends_sessions(app: FakeApp) -> None:
    register(app)
    old_session = login(app)
    app.handle(RequestPasswordReset(email="ann@example.com"))
    token = token_from(app, "ann@example.com", "reset")

    app.handle(ResetPassword(token=token, new_password="a brand new secret"))
    with pytest.raises(Unauthenticated):
        app.handle(Authenticate(token=old_session))
    with pytest.raises(InvalidToken):
        app.handle(ResetPassword(token=token, new_password="yet another secret"))
    assert login(app, password="a brand new secret")
    with pytest.raises(Unauthenticated):
        login(app)

    app.handle(RequestPasswordReset(email="ann@example.com"))
    late = token_from(app, "ann@example.com", "reset")
    app.clock.advance(hours=1, seconds=1)
    with pytest.raises(InvalidToken):
        app.handle(ResetPassword(token=late, new_password="too late for this"))


def test_password_reset_request_does_not_reveal_accounts(app: FakeApp) -> None:
    register(app)
    sent_before = len(app.mailer.sent)
    assert app.handle(RequestPasswordReset(email="nobody@example.com")) is None
    assert app.handle(RequestPasswordReset(email="not-an-email")) is None
    assert len(app.mailer.sent) == sent_before


def test_reset_links_point_at_the_configured_public_url(app: FakeApp) -> None:
    register(app)
    app.handle(RequestPasswordReset(email="ann@example.com"))
    text = app.mailer.to("ann@example.com")[-1].text
    assert "http://127.0.0.1:8000/reset-password?token=" in text


def test_change_password_keeps_this_session_and_ends_the_others(app: FakeApp) -> None:
    register(app)
    current, other = login(app), login(app)
    actor = app.handle(Authenticate(token=current))
    with pytest.raises(Unauthenticated):
        app.handle(ChangePassword(actor=actor, current_password="wrong",
                                  new_password="whatever123"))
    with pytest.raises(ValidationError):
        app.handle(ChangePassword(actor=actor, current_password=PASSWORD, new_password="short"))
    app.handle(ChangePassword(actor=actor, current_password=PASSWORD,
                              new_password="the new password"))
    assert app.handle(Authenticate(token=current)).user_id == actor.user_id
    with pytest.raises(Unauthenticated):
        app.handle(Authenticate(token=other))
    assert any(m.subject == "Your password was changed" for m in app.mailer.sent)


def test_profile_update_and_clear(app: FakeApp) -> None:
    register(app)
    actor = app.handle(Authenticate(token=login(app)))
    view = app.handle(UpdateProfile(actor=actor, full_name="Ann B.", bio="Teacher",
                                    profile_image_url="https://cdn.example.com/a.png"))
    assert (view.full_name, view.bio) == ("Ann B.", "Teacher")
    view = app.handle(UpdateProfile(actor=actor, clear=frozenset({"bio"})))
    assert view.bio is None and view.profile_image_url == "https://cdn.example.com/a.png"
    with pytest.raises(ValidationError):
        app.handle(UpdateProfile(actor=actor, profile_image_url="javascript:alert(1)"))
    assert app.handle(GetMe(actor=actor)).full_name == "Ann B."


def test_deleting_the_account_is_soft_and_ends_everything(app: FakeApp) -> None:
    register(app)
    token = login(app)
    actor = app.handle(Authenticate(token=token))
    with pytest.raises(Unauthenticated):
        app.handle(DeleteAccount(actor=actor, password="wrong"))
    app.handle(DeleteAccount(actor=actor, password=PASSWORD))
    row = app.store.users[actor.user_id]
    assert row.deleted_at is not None
    with pytest.raises(Unauthenticated):
        app.handle(Authenticate(token=token))
    with pytest.raises(Unauthenticated):
        login(app)
    # The address is free again for a new account.
    register(app)
    assert len(app.store.users) == 2


def test_disabling_ends_sessions_and_blocks_login(app: FakeApp) -> None:
    system = Principal.system()
    app.handle(CreateUser(actor=system, email="owner@example.com", password=PASSWORD,
                          full_name="Owner", role=Role.PLATFORM_OWNER))
    register(app)
    token = login(app)
    app.handle(DisableUser(actor=system, email="ann@example.com"))
    with pytest.raises(Unauthenticated):
        app.handle(Authenticate(token=token))
    with pytest.raises(Forbidden) as err:
        login(app)
    assert err.value.code == "auth.account_disabled"


def test_the_last_platform_owner_is_kept(app: FakeApp) -> None:
    system = Principal.system()
    app.handle(CreateUser(actor=system, email="owner@example.com", password=PASSWORD,
                          full_name="Owner", role=Role.PLATFORM_OWNER))
    with pytest.raises(Conflict):
        app.handle(SetRole(actor=system, email="owner@example.com", role=Role.CUSTOMER))
    with pytest.raises(Conflict):
        app.handle(DisableUser(actor=system, email="owner@example.com"))
    app.handle(CreateUser(actor=system, email="second@example.com", password=PASSWORD,
                          full_name="Second", role=Role.PLATFORM_OWNER))
    view = app.handle(SetRole(actor=system, email="owner@example.com", role=Role.CUSTOMER))
    assert view.role == "customer"


def test_password_rules(app: FakeApp) -> None:
    with pytest.raises(ValidationError) as short:
        app.handle(RegisterCustomer(email="a@example.com", password="1234567", full_name="A"))
    assert short.value.code == "validation.password_too_short"
    long_password = "p" * 64 + " with spaces and ünïcödé"
    app.handle(RegisterCustomer(email="a@example.com", password=long_password, full_name="A"))
    assert login(app, email="a@example.com", password=long_password)
    # No truncation: the same long password with one character changed fails.
    with pytest.raises(Unauthenticated):
        login(app, email="a@example.com", password=long_password[:-1] + "x")


def test_unverified_accounts_are_reported_as_such(app: FakeApp) -> None:
    register(app)
    principal = app.handle(Authenticate(token=login(app)))
    assert principal.email_verified is False
    app.handle(VerifyEmail(token=token_from(app, "ann@example.com", "confirm")))
    assert app.handle(Authenticate(token=login(app))).email_verified is True


def test_a_session_token_is_bounded_in_length(app: FakeApp) -> None:
    with pytest.raises(Unauthenticated):
        app.handle(Authenticate(token="x" * 10_000))
    with pytest.raises(Unauthenticated):
        app.handle(Authenticate(token=""))


def test_a_reset_link_works_until_its_last_minute(app: FakeApp) -> None:
    register(app)
    app.handle(RequestPasswordReset(email="ann@example.com"))
    token = token_from(app, "ann@example.com", "reset")
    app.clock.advance(minutes=59)
    app.handle(ResetPassword(token=token, new_password="just in time ok"))
    assert login(app, password="just in time ok")
