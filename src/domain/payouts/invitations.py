"""An invitation to sell on the platform as a media owner."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import attrs

from domain.errors import Conflict, ValidationError
from domain.events import Aggregate, DomainEvent

INVITATION_TTL = timedelta(days=14)


@attrs.frozen
class MediaOwnerInvited(DomainEvent):
    """Asks for the invitation's link to be issued and mailed; the token is made by the
    handler that mails it, so no plaintext token sits in the outbox."""

    invitation_id: UUID


@attrs.frozen
class MediaOwnerJoined(DomainEvent):
    invitation_id: UUID
    user_id: UUID


class InvalidInvitation(ValidationError):
    code = "invitation.invalid"
    title = "Invalid invitation"


@attrs.define
class Invitation(Aggregate):
    id: UUID
    email: str
    invited_by: UUID | None  # None: an operator at the command line
    created_at: datetime
    updated_at: datetime
    token_hash: str | None = None
    expires_at: datetime | None = None
    accepted_at: datetime | None = None
    accepted_user_id: UUID | None = None

    @classmethod
    def create(cls, *, id: UUID, email: str, invited_by: UUID | None, now: datetime
               ) -> Invitation:
        invitation = cls(id=id, email=email, invited_by=invited_by, created_at=now,
                         updated_at=now)
        invitation.record(MediaOwnerInvited(invitation_id=id))
        return invitation

    @property
    def accepted(self) -> bool:
        return self.accepted_at is not None

    def resend(self, now: datetime) -> None:
        """A fresh link (the old one stops working when the new one is issued)."""
        if self.accepted:
            raise Conflict("This invitation was already accepted.", code="invitation.accepted")
        self.updated_at = now
        self.record(MediaOwnerInvited(invitation_id=self.id))

    def issue_token(self, token_hash: str, now: datetime, ttl: timedelta = INVITATION_TTL
                    ) -> None:
        self.token_hash = token_hash
        self.expires_at = now + ttl
        self.updated_at = now

    def accept(self, token_hash: str, user_id: UUID, now: datetime) -> None:
        if (self.accepted or self.token_hash is None or token_hash != self.token_hash
                or self.expires_at is None or now >= self.expires_at):
            raise InvalidInvitation("The invitation link is invalid or has expired.")
        self.accepted_at = now
        self.accepted_user_id = user_id
        self.token_hash = None
        self.updated_at = now
        self.record(MediaOwnerJoined(invitation_id=self.id, user_id=user_id))
