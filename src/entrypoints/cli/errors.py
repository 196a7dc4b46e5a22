"""The one mapping from errors to CLI messages and exit codes."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from domain.errors import DomainError, ErrorKind

err_console = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("patronage.cli")

EXIT_UNEXPECTED = 1
# 2 is Typer's own exit code for a usage mistake.
EXIT_CODES: dict[ErrorKind, int] = {
    ErrorKind.VALIDATION: 3,
    ErrorKind.MALFORMED: 3,
    ErrorKind.NOT_FOUND: 4,
    ErrorKind.CONFLICT: 5,
    ErrorKind.UNAUTHENTICATED: 6,
    ErrorKind.FORBIDDEN: 6,
    ErrorKind.RATE_LIMITED: 7,
    ErrorKind.PAYMENT_REQUIRED: 8,
    ErrorKind.UNAVAILABLE: 9,
}

P = ParamSpec("P")
R = TypeVar("R")


def cli_errors(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            where = f" ({exc.field})" if exc.field else ""
            err_console.print(
                f"[red]error[/red] {escape(f'[{exc.code}]')}{escape(where)}: "
                f"{escape(exc.message)}",
                highlight=False,
            )
            raise typer.Exit(EXIT_CODES[exc.kind]) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if os.environ.get("PATRONAGE_DEBUG"):
                raise
            log.debug("unexpected error", exc_info=exc)
            err_console.print(
                f"[red]unexpected error[/red]: {type(exc).__name__}. "
                "Set PATRONAGE_DEBUG=1 to see the traceback.", highlight=False,
            )
            raise typer.Exit(EXIT_UNEXPECTED) from None

    return wrapper
