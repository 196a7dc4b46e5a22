"""Log output with secrets taken out, whatever a library put into a message.

The engines hide bound parameters, but a database error's own text can still quote a
row ("DETAIL: Failing row contains (…)"), which for the users table holds an argon2
hash. Every line our handlers write passes through `redact` first, tracebacks included.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_PATTERNS = (
    # argon2 encoded hashes: $argon2id$v=19$m=…,t=…,p=…$salt$hash (commas included; in an
    # unquoted row dump this may take a neighbouring field too, which is the safe side).
    (re.compile(r"\$argon2(?:id|i|d)?\$[A-Za-z0-9$=,+/.]*"), "[redacted password hash]"),
    # PostgreSQL quoting the row that broke a constraint.
    (re.compile(r"Failing row contains \(.*?\)\.?$", re.MULTILINE),
     "Failing row contains ([redacted])."),
    # SQLAlchemy's parameter dump, should an engine ever be built without hide_parameters.
    (re.compile(r"\[parameters: .*?\]$", re.MULTILINE), "[parameters: redacted]"),
    # Bearer tokens in a quoted header.
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.~+/=]{8,}"), r"\1[redacted]"),
)


# The state of the request being served (a dict shared by reference, set by the HTTP
# edge): handlers run in worker threads that see a copy of the context, so the user is
# recorded in the dict, not in a variable of its own.
request_state_var: ContextVar[dict[str, Any] | None] = ContextVar("patronage_request",
                                                                 default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
_EXTRA_FIELDS = ("method", "route", "status", "duration_ms")


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """A handler filter: formats the message and traceback once, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class RequestContext(logging.Filter):
    """Adds the request id and user id (or "-") to every record a handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        state = request_state_var.get() or {}
        if not getattr(record, "request_id", None):
            record.request_id = state.get("request_id") or "-"
        if not getattr(record, "user_id", None):
            record.user_id = state.get("user_id") or "-"
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname, "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "user_id": getattr(record, "user_id", "-"),
        }
        for name in _EXTRA_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str)


def configure_handlers(logger: logging.Logger | None = None, *, json_lines: bool = False
                      ) -> None:
    """Put the request context and the redaction on every handler of ``logger`` (the root
    logger by default), and the chosen format."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RequestContext) for f in handler.filters):
            handler.addFilter(RequestContext())
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
        handler.setFormatter(JsonLines() if json_lines else logging.Formatter(TEXT_FORMAT))
