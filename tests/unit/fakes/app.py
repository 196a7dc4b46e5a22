"""The core wired with fakes, and the signed-in people tests act as."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import attrs

from adapters.css.sanitizer import TinyCssSanitizer
from adapters.sandbox_payments.gateway import SandboxGateway
from application.handlers import COMMAND_HANDLERS, default_routing
from application.identity.login import Login
from application.identity.registration import CreateUser
from application.identity.sessions import Authenticate
from application.messagebus import EventRouting, MessageBus, OutboxProcessor, RetryPolicy
from application.ports.payments import PaymentGateway
from application.principal import Principal
from application.services import CoreConfig, Services
from domain.identity.roles import Role
from tests.unit.fakes.mail import RecordingMailer
from tests.unit.fakes.media import FakeStorage
from tests.unit.fakes.store import Store
from tests.unit.fakes.system import (
    FakeHasher,
    FakeSanitizer,
    FakeStrength,
    FrozenClock,
    SequentialIds,
)
from tests.unit.fakes.unit_of_work import FakeUnitOfWork


class FakeApp:
    """The core wired with fakes: the unit-test twin of ``bootstrap``."""

    def __init__(self, *, routing: EventRouting | None = None,
                 retry: RetryPolicy | None = None, config: CoreConfig | None = None,
                 payments: PaymentGateway | None = None) -> None:
        self.store = Store()
        self.clock = FrozenClock()
        self.ids = SequentialIds()
        self.hasher = FakeHasher()
        self.mailer = RecordingMailer()
        self.routing = routing or default_routing()

        def uow_factory(*, read_only: bool = False) -> FakeUnitOfWork:
            return FakeUnitOfWork(self.store, self.ids, self.routing, self.clock,
                                  read_only=read_only)

        def dispatch(message_ids: Sequence[UUID]) -> None:
            self.outbox.process(message_ids)

        self.uow_factory = uow_factory
        self.storage = FakeStorage()
        self.services = Services(clock=self.clock, ids=self.ids, hasher=self.hasher,
                                 mailer=self.mailer, uow_factory=uow_factory,
                                 media=self.storage, html=FakeSanitizer(),
                                 css=TinyCssSanitizer(),
                                 payments=payments or SandboxGateway(),
                                 strength=FakeStrength(),
                                 config=config or CoreConfig(),
                                 # As in bootstrap: work committed by units of work a
                                 # handler opens itself reaches the event handlers too.
                                 dispatch=dispatch)
        self.outbox = OutboxProcessor(uow_factory, self.routing, self.services, retry)
        self.bus = MessageBus(uow_factory, self.services, COMMAND_HANDLERS, dispatch)

    def handle(self, message: object) -> Any:
        return self.bus.handle(message)

    def person(self, email: str, role: Role = Role.CUSTOMER, *, verified: bool = True
               ) -> Person:
        """An account made by the operator, signed in: its principal and session token."""
        self.handle(CreateUser(actor=Principal.system(), email=email, password=PERSON_PASSWORD,
                               full_name=email.split("@")[0].title(), role=role,
                               verified=verified))
        token = str(self.handle(Login(email=email, password=PERSON_PASSWORD)).token)
        return Person(email=email, token=token, principal=self.handle(Authenticate(token=token)))


PERSON_PASSWORD = "correct horse battery"


@attrs.frozen(repr=False)
class Person:
    email: str
    token: str
    principal: Principal

    @property
    def id(self) -> UUID:
        assert self.principal.user_id is not None
        return self.principal.user_id

    def __repr__(self) -> str:
        return f"Person({self.email!r})"
