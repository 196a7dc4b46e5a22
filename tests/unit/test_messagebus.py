"""The bus and the outbox: events survive handler failures and run exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from application.handlers import EVENT_HANDLERS
from application.identity.registration import RegisterCustomer
from application.messagebus import EventRouting, RetryPolicy
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.identity.events import UserRegistered
from tests.unit.fakes.app import FakeApp


class FlakyHandler:
    """Fails a set number of times, then records the event."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.handled: Counter[object] = Counter()

    def __call__(self, event: UserRegistered, uow: UnitOfWork, services: Services) -> None:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise RuntimeError("downstream is down")
        self.handled[event.user_id] += 1


def app_with(handler: FlakyHandler, retry: RetryPolicy | None = None) -> FakeApp:
    handlers = dict(EVENT_HANDLERS)
    handlers[UserRegistered] = {"test.flaky": handler}
    return FakeApp(routing=EventRouting(handlers), retry=retry)


def register(app: FakeApp) -> None:
    app.handle(RegisterCustomer(email="ann@example.com", password="long enough",
                                full_name="Ann"))


def outbox_for(app: FakeApp, handler: str) -> dict[str, object]:
    (message,) = [m for m in app.store.outbox.values() if m["handler"] == handler]
    return message


def test_a_failing_event_handler_does_not_undo_the_command() -> None:
    flaky = FlakyHandler(failures=1)
    app = app_with(flaky)
    register(app)
    assert len(app.store.users) == 1
    message = outbox_for(app, "test.flaky")
    assert message["status"] == "pending"
    assert message["attempts"] == 1
    assert "downstream is down" in str(message["last_error"])
    # Other handlers of other events were not held back by the failure.
    assert any("Confirm" in m.subject for m in app.mailer.sent)


def test_the_failed_event_is_processed_on_retry_exactly_once() -> None:
    flaky = FlakyHandler(failures=1)
    app = app_with(flaky)
    register(app)
    assert app.outbox.process_due() == 0  # not due yet: backoff
    app.clock.advance(seconds=31)
    assert app.outbox.process_due() == 1
    assert sum(flaky.handled.values()) == 1
    assert outbox_for(app, "test.flaky")["status"] == "processed"
    app.clock.advance(hours=1)
    assert app.outbox.process_due() == 0
    assert sum(flaky.handled.values()) == 1


def test_backoff_grows_and_a_message_dies_after_max_attempts() -> None:
    flaky = FlakyHandler(failures=100)
    app = app_with(flaky, RetryPolicy(max_attempts=3, base_delay=timedelta(seconds=10)))
    register(app)
    message = outbox_for(app, "test.flaky")
    first_due = message["next_attempt_at"]
    app.clock.advance(seconds=10)
    app.outbox.process_due()
    message = outbox_for(app, "test.flaky")
    assert message["attempts"] == 2
    assert message["next_attempt_at"] - first_due >= timedelta(seconds=20)  # type: ignore[operator]
    app.clock.advance(seconds=20)
    app.outbox.process_due()
    message = outbox_for(app, "test.flaky")
    assert message["status"] == "dead" and message["attempts"] == 3
    app.clock.advance(days=1)
    app.outbox.process_due()
    assert flaky.calls == 3


def test_mail_failure_is_logged_and_retried_with_a_fresh_link() -> None:
    app = FakeApp()
    app.mailer.fail_next = 1
    register(app)
    logs = [(e.email_type, e.status) for e in app.store.email_logs]
    assert logs == [("email_verification", "failed")]
    assert not app.mailer.sent
    app.clock.advance(minutes=1)
    app.outbox.process_due()
    assert [m.subject for m in app.mailer.sent] == ["Confirm your email address"]
    assert [e.status for e in app.store.email_logs] == ["failed", "sent"]


def test_unknown_commands_are_refused() -> None:
    app = FakeApp()
    with pytest.raises(LookupError):
        app.handle(object())


def test_retry_policy_delays_double_and_cap() -> None:
    policy = RetryPolicy(max_attempts=20, base_delay=timedelta(seconds=30),
                         max_delay=timedelta(hours=6))
    delays = [policy.next_delay(n) for n in range(1, 20)]
    assert delays[0] == timedelta(seconds=30)
    assert delays[1] == timedelta(seconds=60)
    assert max(d for d in delays if d is not None) == timedelta(hours=6)
    assert policy.next_delay(20) is None


def test_serialization_conflicts_are_retried_a_bounded_number_of_times() -> None:
    from application.messagebus import MessageBus
    from domain.errors import ConcurrencyConflict

    app = FakeApp()
    attempts: list[int] = []

    class Flaky:
        pass

    def handler(cmd: Flaky, uow: UnitOfWork, services: Services) -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConcurrencyConflict("serialization failure")
        return "done"

    bus = MessageBus(app.uow_factory, app.services, {Flaky: handler}, lambda ids: None)
    assert bus.handle(Flaky()) == "done"
    assert len(attempts) == 3

    attempts.clear()

    def always(cmd: Flaky, uow: UnitOfWork, services: Services) -> str:
        attempts.append(1)
        raise ConcurrencyConflict("still conflicting")

    bus = MessageBus(app.uow_factory, app.services, {Flaky: always}, lambda ids: None)
    with pytest.raises(ConcurrencyConflict):
        bus.handle(Flaky())
    assert len(attempts) == MessageBus.MAX_ATTEMPTS
