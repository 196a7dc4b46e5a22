"""What the log filter takes out of a line before any handler writes it."""

from __future__ import annotations

import logging
from pathlib import Path

from entrypoints.logs import RedactSecrets, redact

HASH = "$argon2id$v=19$m=19456,t=2,p=1$1LVF/lnYVSekOa5thR8zlg$9D54CaGDMnfy/c5J2G0cdTe1i1zaiTX"


def test_argon2_hashes_go() -> None:
    assert "argon2" not in redact(f'row (a@example.com,"{HASH}",Ann)')


def test_a_quoted_failing_row_goes() -> None:
    text = redact("violates check\nDETAIL:  Failing row contains (1, secret-value, x).\nmore")
    assert "secret-value" not in text and "more" in text


def test_bearer_tokens_go() -> None:
    assert "abcdefgh12345678" not in redact("Authorization: Bearer abcdefgh12345678")


def test_the_filter_redacts_message_arguments_and_tracebacks() -> None:
    try:
        raise RuntimeError(f"failed with {HASH}")
    except RuntimeError:
        record = logging.LogRecord("patronage.x", logging.ERROR, __file__, 1,
                                   "saw %s", (HASH,), exc_info=None)
        import sys
        record.exc_info = sys.exc_info()
    assert RedactSecrets().filter(record)
    assert "argon2" not in record.getMessage()
    assert record.exc_text and "argon2" not in record.exc_text
    assert "RuntimeError" in record.exc_text


def test_the_served_app_keeps_the_redacting_handlers(tmp_path: Path) -> None:
    from adapters.sqlalchemy import migrate
    from entrypoints.bootstrap import bootstrap
    from entrypoints.config import Settings
    from entrypoints.http.app import create_app

    url = f"sqlite:///{tmp_path}/p.db"
    migrate.upgrade(url)
    settings = Settings(data_dir=tmp_path, database_url=url)
    settings.configure_logging()
    create_app(bootstrap(settings))
    handlers = logging.getLogger().handlers
    assert handlers
    assert all(any(isinstance(f, RedactSecrets) for f in h.filters) for h in handlers)
