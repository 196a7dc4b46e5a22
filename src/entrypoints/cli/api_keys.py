"""``patronage api-keys``: keys for programs, made for an account by the operator."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console

from application.identity.api_keys import CreateApiKey, ListApiKeys, RevokeApiKey
from application.principal import Principal
from domain.errors import ValidationError
from domain.identity.api_keys import Scope
from entrypoints.cli.errors import cli_errors
from entrypoints.cli.running import run

api_keys_app = typer.Typer(help="API keys: scoped, revocable secrets for programs.",
                           no_args_is_help=True)
console = Console(soft_wrap=True)
SYSTEM = Principal.system()


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationError("--expires takes an ISO 8601 time with a zone, "
                              "e.g. 2027-06-30T00:00:00+00:00.", code="api_key.expiry",
                              field="expires")
    return moment


@api_keys_app.command("create")
@cli_errors
def create(
    user: Annotated[str, typer.Option(help="The account the key acts as (its email).")],
    name: Annotated[str, typer.Option(help="What the key is for, shown in listings.")],
    scope: Annotated[list[str], typer.Option(help="A scope; repeat for more: "
                                             + ", ".join(s.value for s in Scope))],
    expires: Annotated[str | None, typer.Option(help="ISO 8601 time; default never.")] = None,
) -> None:
    """Make a key and print its secret, once (only a hash of it is kept)."""
    made = run(CreateApiKey(actor=SYSTEM, name=name, scopes=tuple(scope),
                            expires_at=_moment(expires), for_email=user))
    console.print(f"key {made.view.id} ({', '.join(made.view.scopes)}) for {user}:",
                  highlight=False)
    # The secret alone on its own line, so that a script can take it.
    print(made.secret)


@api_keys_app.command("list")
@cli_errors
def list_keys(user: Annotated[str | None, typer.Option(help="Only this account's.")] = None
              ) -> None:
    """Keys, newest first, a line each (never their secrets): id, prefix, status, last
    used, owner, scopes and name."""
    for v in run(ListApiKeys(actor=SYSTEM, everyone=user is None, for_email=user)):
        used = v.last_used_at.isoformat(timespec="minutes") if v.last_used_at else "never"
        console.print(f"{v.id}  {v.prefix}  {v.status}  last used {used}  user {v.user_id}  "
                      f"{','.join(v.scopes)}  {v.name}", highlight=False, markup=False)


@api_keys_app.command("revoke")
@cli_errors
def revoke(key_id: Annotated[UUID, typer.Argument(help="The key's id.")]) -> None:
    """Revoke a key: it stops working at once."""
    view = run(RevokeApiKey(actor=SYSTEM, key_id=key_id))
    console.print(f"key {view.id} {view.status}", highlight=False)
