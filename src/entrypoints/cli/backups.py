"""`patronage db backup | restore | verify-backup`: the operator's safety net."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from adapters.sqlalchemy import backup as backups
from domain.errors import Conflict, NotFound, Unavailable
from entrypoints.cli.errors import cli_errors
from entrypoints.config import Settings

console = Console(soft_wrap=True)


def _media(settings: Settings) -> Path | None:
    # R2 keeps its own copies (bucket versioning, replication): see docs/operations.md.
    return settings.media_dir if settings.media_storage == "local" else None


def _failed(error: backups.BackupError) -> Exception:
    if isinstance(error, backups.BackupMissing):
        return NotFound(str(error), code="backup.not_found")
    return Unavailable(str(error), code="backup.failed")


@cli_errors
def db_backup(
    path: Annotated[Path, typer.Argument(help="File to write (PostgreSQL: pg_dump custom "
                                              "format; SQLite: a database file).")],
) -> None:
    """Back up the database, and the local media folder beside it (PATH.media.tar).

    Safe while the platform serves: PostgreSQL dumps one consistent snapshot, SQLite
    copies with its online backup API."""
    settings = Settings.from_env()
    try:
        made = backups.backup(settings.effective_database_url, path, media_dir=_media(settings))
    except backups.BackupError as error:
        raise _failed(error) from None
    for file in made:
        console.print(f"wrote {file} ({file.stat().st_size} bytes)", highlight=False)


@cli_errors
def db_restore(
    path: Annotated[Path, typer.Argument(help="A file made by `patronage db backup`.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm replacing the current data.")
                   ] = False,
) -> None:
    """Replace the database (and the local media folder) with a backup's contents.

    Stop the servers and workers first; check the backup with verify-backup."""
    if not yes:
        raise Conflict("Restoring replaces every row of the current database; "
                       "run again with --yes to confirm.", code="backup.confirm")
    settings = Settings.from_env()
    try:
        backups.restore(settings.effective_database_url, path, media_dir=_media(settings))
    except backups.BackupError as error:
        raise _failed(error) from None
    console.print(f"restored {path}", highlight=False)


@cli_errors
def db_verify_backup(
    path: Annotated[Path, typer.Argument(help="A file made by `patronage db backup`.")],
) -> None:
    """Restore a backup into a scratch database and check it: migrations at head,
    row counts, and every credit balance equal to its ledger. Exit 5 if it fails."""
    settings = Settings.from_env()
    try:
        report = backups.verify(settings.effective_database_url, path)
    except backups.BackupError as error:
        raise _failed(error) from None
    table = Table("table", "rows")
    for name, rows in report.row_counts.items():
        table.add_row(name, str(rows))
    console.print(table)
    console.print(f"revision {report.revision or 'none'} (head {report.head})", highlight=False)
    if report.ledger_mismatches:
        console.print("credit balances that differ from their ledger: "
                      + ", ".join(report.ledger_mismatches), highlight=False)
    if not report.ok:
        raise Conflict("The backup does not check out (see above).", code="backup.invalid")
    console.print("backup OK")
