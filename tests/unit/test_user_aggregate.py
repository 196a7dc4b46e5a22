"""The User aggregate, password rules, login throttling and sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from domain.errors import ValidationError
from domain.identity.events import (
    AccountDeleted,
    EmailVerificationRequested,
    EmailVerified,
    PasswordChanged,
    RoleChanged,
    UserDisabled,
    UserRegistered,
)
from domain.identity.passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, NewPassword
from domain.identity.roles import Role
from domain.identity.session import AuthSession
from domain.identity.throttle import ThrottlePolicy
from domain.identity.user import BIO_MAX_LENGTH, InvalidToken, User
from domain.values import Email

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
USER_ID = UUID("0190c0de-0000-7000-8000-000000000001")
TTL = timedelta(hours=1)
GOOD_HASH = "sha256:good"
OTHER_HASH = "sha256:other"


def make_user(*, verified: bool = False, role: Role = Role.CUSTOMER) -> User:
    return User.register(
        id=USER_ID,
        email=Email("Alice@Example.com"),
        password_hash="hash-v1",
        full_name="  Alice Liddell ",
        role=role,
        now=T0,
        verified=verified,
    )


def fresh_user(*, verified: bool = False, role: Role = Role.CUSTOMER) -> User:
    """A registered user whose registration events have already been taken."""
    user = make_user(verified=verified, role=role)
    user.events.clear()
    return user


# -- registration ----------------------------------------------------------------


def test_register_records_registration_and_verification_request() -> None:
    user = make_user()
    assert user.events == [
        UserRegistered(user_id=USER_ID),
        EmailVerificationRequested(user_id=USER_ID),
    ]
    assert not user.is_verified
    assert user.is_active
    assert user.email.value == "alice@example.com"
    assert user.full_name == "Alice Liddell"
    assert user.created_at == user.updated_at == T0


def test_register_verified_skips_verification_request() -> None:
    user = make_user(verified=True)
    assert user.events == [UserRegistered(user_id=USER_ID)]
    assert user.is_verified
    assert user.email_verified_at == T0


@pytest.mark.parametrize("name", ["", "   ", "x" * 256])
def test_register_rejects_bad_full_name(name: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        User.register(id=USER_ID, email=Email("a@example.com"), password_hash="h",
                      full_name=name, role=Role.CUSTOMER, now=T0)
    assert exc_info.value.code == "validation.full_name"
    assert exc_info.value.field == "full_name"


# -- email verification ------------------------------------------------------------


def test_verify_email_with_right_token_before_expiry() -> None:
    user = fresh_user()
    user.issue_verification_token(GOOD_HASH, T0, TTL)
    assert user.email_verification_expires_at == T0 + TTL
    at = T0 + TTL - timedelta(microseconds=1)
    user.verify_email(GOOD_HASH, at)
    assert user.is_verified
    assert user.email_verified_at == at
    assert user.email_verification_token_hash is None
    assert user.email_verification_expires_at is None
    assert user.updated_at == at
    assert user.events == [EmailVerified(user_id=USER_ID)]


def _assert_invalid_token(exc_info: pytest.ExceptionInfo[InvalidToken]) -> None:
    assert exc_info.value.code == "auth.invalid_token"
    assert isinstance(exc_info.value, ValidationError)


def test_verify_email_wrong_hash() -> None:
    user = fresh_user()
    user.issue_verification_token(GOOD_HASH, T0, TTL)
    with pytest.raises(InvalidToken) as exc_info:
        user.verify_email(OTHER_HASH, T0 + timedelta(minutes=1))
    _assert_invalid_token(exc_info)
    assert not user.is_verified
    assert user.email_verification_token_hash == GOOD_HASH  # a wrong guess does not burn it
    assert user.events == []


@pytest.mark.parametrize(
    "at", [T0 + TTL, T0 + TTL + timedelta(microseconds=1), T0 + timedelta(days=30)],
    ids=["exactly-at-expiry", "just-after", "long-after"],
)
def test_verify_email_expired(at: datetime) -> None:
    user = fresh_user()
    user.issue_verification_token(GOOD_HASH, T0, TTL)
    with pytest.raises(InvalidToken) as exc_info:
        user.verify_email(GOOD_HASH, at)
    _assert_invalid_token(exc_info)
    assert not user.is_verified
    assert user.events == []


def test_verify_email_token_is_single_use() -> None:
    user = fresh_user()
    user.issue_verification_token(GOOD_HASH, T0, TTL)
    first = T0 + timedelta(minutes=5)
    user.verify_email(GOOD_HASH, first)
    with pytest.raises(InvalidToken) as exc_info:
        user.verify_email(GOOD_HASH, T0 + timedelta(minutes=6))
    _assert_invalid_token(exc_info)
    assert user.email_verified_at == first
    assert user.events == [EmailVerified(user_id=USER_ID)]


def test_verify_email_without_token_issued() -> None:
    user = fresh_user()
    with pytest.raises(InvalidToken):
        user.verify_email(GOOD_HASH, T0)
    assert not user.is_verified


def test_reissued_verification_token_replaces_the_old_one() -> None:
    user = fresh_user()
    user.issue_verification_token("old", T0, TTL)
    user.issue_verification_token("new", T0 + timedelta(minutes=1), TTL)
    with pytest.raises(InvalidToken):
        user.verify_email("old", T0 + timedelta(minutes=2))
    user.verify_email("new", T0 + timedelta(minutes=2))
    assert user.is_verified


# -- password reset --------------------------------------------------------------


def test_reset_password_success_marks_email_verified() -> None:
    user = fresh_user()
    user.issue_password_reset_token(GOOD_HASH, T0, TTL)
    at = T0 + timedelta(minutes=10)
    user.reset_password(GOOD_HASH, "hash-v2", at)
    assert user.password_hash == "hash-v2"
    assert user.password_reset_token_hash is None
    assert user.password_reset_expires_at is None
    assert user.email_verified_at == at
    assert user.updated_at == at
    assert user.events == [PasswordChanged(user_id=USER_ID)]


def test_reset_password_keeps_existing_verification_time() -> None:
    user = fresh_user(verified=True)
    user.issue_password_reset_token(GOOD_HASH, T0, TTL)
    user.reset_password(GOOD_HASH, "hash-v2", T0 + timedelta(minutes=10))
    assert user.email_verified_at == T0


def test_reset_password_is_single_use() -> None:
    user = fresh_user()
    user.issue_password_reset_token(GOOD_HASH, T0, TTL)
    user.reset_password(GOOD_HASH, "hash-v2", T0 + timedelta(minutes=1))
    with pytest.raises(InvalidToken) as exc_info:
        user.reset_password(GOOD_HASH, "hash-v3", T0 + timedelta(minutes=2))
    _assert_invalid_token(exc_info)
    assert user.password_hash == "hash-v2"
    assert user.events == [PasswordChanged(user_id=USER_ID)]


@pytest.mark.parametrize("at", [T0 + TTL, T0 + TTL + timedelta(seconds=1)])
def test_reset_password_expires(at: datetime) -> None:
    user = fresh_user()
    user.issue_password_reset_token(GOOD_HASH, T0, TTL)
    with pytest.raises(InvalidToken) as exc_info:
        user.reset_password(GOOD_HASH, "hash-v2", at)
    _assert_invalid_token(exc_info)
    assert user.password_hash == "hash-v1"
    assert not user.is_verified
    assert user.events == []


def test_reset_password_wrong_hash() -> None:
    user = fresh_user()
    user.issue_password_reset_token(GOOD_HASH, T0, TTL)
    with pytest.raises(InvalidToken):
        user.reset_password(OTHER_HASH, "hash-v2", T0 + timedelta(minutes=1))
    assert user.password_hash == "hash-v1"
    assert user.password_reset_token_hash == GOOD_HASH


def test_disabled_user_cannot_reset_password() -> None:
    user = fresh_user()
    user.issue_password_reset_token(GOOD_HASH, T0, TTL)
    user.disable(T0 + timedelta(minutes=1))
    assert user.events == [UserDisabled(user_id=USER_ID)]
    with pytest.raises(InvalidToken) as exc_info:
        user.reset_password(GOOD_HASH, "hash-v2", T0 + timedelta(minutes=2))
    _assert_invalid_token(exc_info)
    assert user.password_hash == "hash-v1"
    assert not user.is_verified
    assert PasswordChanged(user_id=USER_ID) not in user.events


def test_deleted_user_cannot_reset_password_even_with_a_live_token() -> None:
    user = fresh_user()
    user.soft_delete(T0)
    # Even if a token were somehow issued after deletion, the account must stay dead.
    user.issue_password_reset_token(GOOD_HASH, T0, TTL)
    with pytest.raises(InvalidToken):
        user.reset_password(GOOD_HASH, "hash-v2", T0 + timedelta(minutes=1))
    assert user.password_hash == "hash-v1"


def test_request_password_reset_only_for_active_users() -> None:
    user = fresh_user()
    user.request_password_reset()
    assert len(user.events) == 1
    user.disable(T0)
    user.events.clear()
    user.request_password_reset()
    assert user.events == []


# -- deletion ----------------------------------------------------------------------


def test_soft_delete_clears_tokens_and_is_idempotent() -> None:
    user = fresh_user()
    user.issue_verification_token("verify", T0, TTL)
    user.issue_password_reset_token("reset", T0, TTL)
    deleted_at = T0 + timedelta(minutes=1)
    user.soft_delete(deleted_at)
    assert user.deleted_at == deleted_at
    assert not user.is_active
    assert user.email_verification_token_hash is None
    assert user.password_reset_token_hash is None
    assert user.events == [AccountDeleted(user_id=USER_ID)]

    user.soft_delete(T0 + timedelta(days=1))
    assert user.deleted_at == deleted_at
    assert user.updated_at == deleted_at
    assert user.events == [AccountDeleted(user_id=USER_ID)]

    with pytest.raises(InvalidToken):
        user.verify_email("verify", T0 + timedelta(minutes=2))


# -- profile -------------------------------------------------------------------------


def test_update_profile_sets_fields() -> None:
    user = fresh_user()
    at = T0 + timedelta(hours=2)
    user.update_profile(at, full_name=" Alice L. ", bio="Hello",
                        profile_image_url="https://cdn.example.com/a.png")
    assert user.full_name == "Alice L."
    assert user.bio == "Hello"
    assert user.profile_image_url == "https://cdn.example.com/a.png"
    assert user.updated_at == at


@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "not a url", "/a.png",
                                 "javascript:alert(1)"])
def test_update_profile_rejects_bad_url(url: str) -> None:
    user = fresh_user()
    with pytest.raises(ValidationError) as exc_info:
        user.update_profile(T0 + timedelta(hours=1), profile_image_url=url)
    assert exc_info.value.code == "validation.url"
    assert user.profile_image_url is None
    assert user.updated_at == T0


def test_update_profile_bio_length() -> None:
    user = fresh_user()
    user.update_profile(T0, bio="b" * BIO_MAX_LENGTH)
    assert user.bio == "b" * BIO_MAX_LENGTH
    with pytest.raises(ValidationError) as exc_info:
        user.update_profile(T0 + timedelta(hours=1), bio="b" * (BIO_MAX_LENGTH + 1))
    assert exc_info.value.code == "validation.bio"
    assert exc_info.value.field == "bio"
    assert user.bio == "b" * BIO_MAX_LENGTH


def test_update_profile_clear() -> None:
    user = fresh_user()
    user.update_profile(T0, bio="Hello", profile_image_url="https://example.com/a.png")
    at = T0 + timedelta(hours=1)
    user.update_profile(at, clear=frozenset({"bio", "profile_image_url"}))
    assert user.bio is None
    assert user.profile_image_url is None
    assert user.full_name == "Alice Liddell"
    assert user.updated_at == at


def test_update_profile_clear_only_named_fields() -> None:
    user = fresh_user()
    user.update_profile(T0, bio="Hello", profile_image_url="https://example.com/a.png")
    user.update_profile(T0, clear=frozenset({"bio"}))
    assert user.bio is None
    assert user.profile_image_url == "https://example.com/a.png"


def test_update_profile_rejects_blank_full_name() -> None:
    user = fresh_user()
    with pytest.raises(ValidationError) as exc_info:
        user.update_profile(T0, full_name="   ")
    assert exc_info.value.code == "validation.full_name"
    assert user.full_name == "Alice Liddell"


# -- roles ---------------------------------------------------------------------------


def test_change_role_records_only_real_change() -> None:
    user = fresh_user()
    user.change_role(Role.CUSTOMER, T0 + timedelta(hours=1))
    assert user.events == []
    assert user.updated_at == T0

    at = T0 + timedelta(hours=2)
    user.change_role(Role.MEDIA_OWNER, at)
    assert user.role is Role.MEDIA_OWNER
    assert user.updated_at == at
    assert user.events == [
        RoleChanged(user_id=USER_ID, old_role="customer", new_role="media_owner")
    ]

    user.change_role(Role.MEDIA_OWNER, at + timedelta(hours=1))
    assert len(user.events) == 1


# -- NewPassword -------------------------------------------------------------------------


@pytest.mark.parametrize("length", [PASSWORD_MIN_LENGTH, 64, PASSWORD_MAX_LENGTH])
def test_new_password_accepted_lengths(length: int) -> None:
    password = "p" * length
    assert NewPassword(password).value == password


def test_new_password_boundaries() -> None:
    assert PASSWORD_MIN_LENGTH == 8
    assert PASSWORD_MAX_LENGTH == 1024
    with pytest.raises(ValidationError) as short:
        NewPassword("p" * 7)
    assert short.value.code == "validation.password_too_short"
    assert short.value.field == "password"
    with pytest.raises(ValidationError) as long:
        NewPassword("p" * 1025)
    assert long.value.code == "validation.password_too_long"
    assert long.value.field == "password"


def test_new_password_is_not_trimmed_or_composed() -> None:
    assert NewPassword("  spaced  ").value == "  spaced  "
    assert NewPassword("aaaaaaaa").value == "aaaaaaaa"  # no composition rules
    assert NewPassword("pässwörd").value == "pässwörd"


def test_new_password_rejects_non_string() -> None:
    with pytest.raises(ValidationError) as exc_info:
        NewPassword(12345678)
    assert exc_info.value.code == "validation.password"


@given(st.text(min_size=PASSWORD_MIN_LENGTH, max_size=80))
@example("correct horse battery staple")
def test_new_password_repr_never_shows_password(password: str) -> None:
    assume(password not in "NewPassword(***)")
    secret = NewPassword(password)
    assert password not in repr(secret)
    assert password not in str(secret)
    assert password not in repr([secret])
    assert repr(secret) == "NewPassword(***)"


def test_password_error_does_not_echo_password() -> None:
    with pytest.raises(ValidationError) as exc_info:
        NewPassword("s3cr3t!")
    assert "s3cr3t!" not in str(exc_info.value)
    assert "s3cr3t!" not in repr(exc_info.value.details)


# -- ThrottlePolicy ---------------------------------------------------------------------


def test_throttle_examples() -> None:
    policy = ThrottlePolicy(max_failures=5, window=timedelta(minutes=15))
    assert policy.retry_after(4, T0, T0) == 0
    assert policy.retry_after(5, T0, T0) == 901
    assert policy.retry_after(5, T0, T0 + timedelta(minutes=14, seconds=59.5)) == 1
    assert policy.retry_after(5, T0, T0 + timedelta(minutes=15)) == 0
    assert policy.retry_after(50, T0, T0 + timedelta(hours=1)) == 0
    assert policy.window_start(T0) == T0 - timedelta(minutes=15)


@st.composite
def throttle_cases(draw: st.DrawFn) -> tuple[ThrottlePolicy, int, timedelta]:
    max_failures = draw(st.integers(min_value=1, max_value=20))
    window = timedelta(
        seconds=draw(st.integers(min_value=1, max_value=86_400)),
        microseconds=draw(st.integers(min_value=0, max_value=999_999)),
    )
    failures = draw(st.integers(min_value=0, max_value=100))
    elapsed = draw(st.timedeltas(min_value=timedelta(0), max_value=window * 3))
    return ThrottlePolicy(max_failures=max_failures, window=window), failures, elapsed


@given(throttle_cases())
def test_throttle_retry_after_properties(case: tuple[ThrottlePolicy, int, timedelta]) -> None:
    policy, failures, elapsed = case
    now = T0 + elapsed
    wait = policy.retry_after(failures, T0, now)
    assert isinstance(wait, int)
    if failures < policy.max_failures or elapsed >= policy.window:
        assert wait == 0
    else:
        remaining = policy.window - elapsed
        assert 0 < wait <= policy.window.total_seconds() + 1
        # Waiting the advertised time always lands outside the window.
        assert now + timedelta(seconds=wait) >= T0 + policy.window
        assert wait < remaining.total_seconds() + 1 + 1e-6


# -- AuthSession -------------------------------------------------------------------------


def make_session() -> AuthSession:
    return AuthSession(
        id=UUID(int=1), user_id=USER_ID, token_hash="tok", created_at=T0,
        expires_at=T0 + timedelta(days=7),
    )


def test_session_valid_until_expiry() -> None:
    session = make_session()
    assert session.is_valid(T0)
    assert session.is_valid(T0 + timedelta(days=7) - timedelta(microseconds=1))
    assert not session.is_valid(T0 + timedelta(days=7))
    assert not session.is_valid(T0 + timedelta(days=8))
    assert "tok" not in repr(session)


def test_session_revoke_is_idempotent() -> None:
    session = make_session()
    first = T0 + timedelta(hours=1)
    session.revoke(first)
    assert session.revoked_at == first
    assert not session.is_valid(T0 + timedelta(hours=2))
    session.revoke(T0 + timedelta(hours=3))
    assert session.revoked_at == first
