"""Backups of the database (and the local media folder), their restore, and a check
that a backup really restores.

PostgreSQL uses its own tools (`pg_dump -Fc`, one consistent snapshot taken while the
platform keeps serving; `pg_restore`); SQLite uses its online backup API, which copies
a consistent image page by page without stopping writers for long.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import URL

from adapters.sqlalchemy import migrate
from adapters.sqlalchemy.engine import create_engine, normalise_url
from adapters.sqlalchemy.tables import metadata

_TIMEOUT = 3600


class BackupError(Exception):
    """A backup, restore or check could not be done; the message says why."""


class BackupMissing(BackupError):
    """There is no backup (or no database file) where one was named."""


@attrs.frozen
class BackupReport:
    revision: str | None
    head: str
    row_counts: dict[str, int]
    ledger_mismatches: list[str]  # customers whose credit balance is not their ledger sum

    @property
    def ok(self) -> bool:
        return self.revision == self.head and not self.ledger_mismatches


def media_archive(path: Path) -> Path:
    return path.with_name(path.name + ".media.tar")


def backup(url: str, path: Path, *, media_dir: Path | None = None) -> list[Path]:
    """Write the database to ``path`` (and the media folder beside it); the files made."""
    parsed = normalise_url(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={path}"], "pg_dump", parsed)
    else:
        _sqlite_copy(Path(parsed.database or ""), path)
    made = [path]
    if media_dir is not None and media_dir.is_dir():
        archive = media_archive(path)
        with tarfile.open(archive, "w") as tar:
            tar.add(media_dir, arcname="media")
        made.append(archive)
    return made


def restore(url: str, path: Path, *, media_dir: Path | None = None) -> None:
    """Replace the database's contents with the backup's (and the media folder's)."""
    if not path.is_file():
        raise BackupMissing(f"no backup at {path}")
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "postgresql":
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--exit-on-error", f"--dbname={parsed.database}", str(path)], "pg_restore",
             parsed)
    else:
        _sqlite_copy(path, Path(parsed.database or ""))
    archive = media_archive(path)
    if media_dir is not None and archive.is_file():
        _restore_media(archive, media_dir)


def _restore_media(archive: Path, media_dir: Path) -> None:
    # Unpacked beside the folder first: a broken archive or a full disk leaves the
    # current media in place. Only then are the two swapped.
    media_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = media_dir.parent / f".media-restore-{secrets.token_hex(4)}"
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(staging, filter="data")
    except (OSError, tarfile.TarError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BackupError(f"could not unpack {archive}: {exc}") from exc
    old = media_dir.parent / f".media-old-{secrets.token_hex(4)}"
    if media_dir.exists():
        media_dir.replace(old)
    (staging / "media").replace(media_dir)
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def verify(url: str, path: Path) -> BackupReport:
    """Restore into a scratch database next to ``url``'s, check it, and drop it."""
    with _scratch(normalise_url(url), path) as scratch_url:
        engine = create_engine(scratch_url)
        try:
            return _inspect(engine, migrate.current(scratch_url))
        finally:
            engine.dispose()


def _inspect(engine: sa.Engine, revision: str | None) -> BackupReport:
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        present = set(sa.inspect(conn).get_table_names())
        for table in metadata.sorted_tables:
            if table.name in present:
                counts[table.name] = int(conn.execute(
                    sa.select(sa.func.count()).select_from(table)).scalar_one())
        mismatches: list[str] = []
        if {"credit_balances", "credit_transactions"} <= present:
            balances, ledger = metadata.tables["credit_balances"], \
                metadata.tables["credit_transactions"]
            sums = (sa.select(ledger.c.customer_id,
                              sa.func.coalesce(sa.func.sum(ledger.c.amount), 0).label("total"))
                    .group_by(ledger.c.customer_id).subquery())
            rows = conn.execute(
                sa.select(balances.c.customer_id, balances.c.current_balance, sums.c.total)
                .outerjoin(sums, sums.c.customer_id == balances.c.customer_id)
                .where(balances.c.current_balance != sa.func.coalesce(sums.c.total, 0)))
            mismatches = [str(r.customer_id) for r in rows]
    return BackupReport(revision=revision, head=migrate.head(), row_counts=counts,
                        ledger_mismatches=mismatches)


@contextlib.contextmanager
def _scratch(parsed: URL, path: Path) -> Iterator[str]:
    if parsed.get_backend_name() == "postgresql":
        name = f"patronage_verify_{secrets.token_hex(6)}"
        admin = sa.create_engine(parsed, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            scratch = parsed.set(database=name).render_as_string(hide_password=False)
            try:
                restore(scratch, path)
                yield scratch
            finally:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.dispose()
        return
    folder = Path(parsed.database or "").parent / f".verify-{secrets.token_hex(6)}"
    folder.mkdir(parents=True)
    try:
        scratch_file = folder / "scratch.db"
        _sqlite_copy(path, scratch_file)
        yield f"sqlite:///{scratch_file}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupMissing(f"no database file at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(source, timeout=30)) as src, \
                contextlib.closing(sqlite3.connect(target, timeout=30)) as dst:
            # One step: in WAL mode it copies a consistent snapshot while writers go on
            # (step-wise copies restart whenever another connection writes, and on a busy
            # server might never finish).
            src.backup(dst, pages=-1)
            problems = dst.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a usable SQLite database: {exc}") from exc
    if problems is None or problems[0] != "ok":
        raise BackupError(f"the copy failed its integrity check: {problems}")


def _run(command: list[str], tool: str, database: URL) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{tool} is not installed (Debian: postgresql-client)")
    # The connection goes through libpq's environment, so the password never appears in
    # a command line that any local user can read in /proc.
    env = {**os.environ, "PGHOST": database.host or "", "PGPORT": str(database.port or ""),
           "PGUSER": database.username or "", "PGDATABASE": database.database or ""}
    if database.password:
        env["PGPASSWORD"] = str(database.password)
    env = {name: value for name, value in env.items() if value != ""}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT,  # noqa: S603
                              check=False, env=env)
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{tool} took longer than {_TIMEOUT} s") from exc
    if done.returncode != 0:
        # The URI (with any password) is in the command line, never in the message.
        raise BackupError(f"{tool} failed: {done.stderr.strip()[-2000:]}")
