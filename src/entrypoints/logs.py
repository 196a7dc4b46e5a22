"""Log output with secrets taken out, whatever a library put into a message.

The engines hide bound parameters, but a database error's own text can still quote a
row ("DETAIL: Failing row contains (…)"), which for the users table holds an argon2
hash. Every line our handlers write passes through `redact` first, tracebacks included.
"""

from __future__ import annotations

import logging
import re

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


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of ``logger`` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
