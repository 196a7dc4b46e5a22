from __future__ import annotations

from collections.abc import Sequence

import attrs
import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.statements import params
from adapters.sqlalchemy.tables import email_logs
from application.ports.mail import EmailLogEntry

_FIELDS = [f.name for f in attrs.fields(EmailLogEntry)]
# Every email sent is logged: built once (decision 9).
_ADD = sa.insert(email_logs).values(**params(email_logs, *_FIELDS))


class SqlEmailLogRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def add(self, entry: EmailLogEntry) -> None:
        self._execute.rows(_ADD, attrs.asdict(entry))

    def list_for(self, recipient_email: str) -> Sequence[EmailLogEntry]:
        rows = self._execute(
            sa.select(*[email_logs.c[name] for name in _FIELDS])
            .where(email_logs.c.recipient_email == recipient_email)
            .order_by(email_logs.c.created_at, email_logs.c.id)
        ).mappings().all()
        return [EmailLogEntry(**dict(r)) for r in rows]
