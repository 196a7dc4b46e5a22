"""``patronage content`` and ``patronage access``: catalog operations from the shell."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from application.catalog.authoring import CreateContent, PublishContent
from application.catalog.browsing import ExplainAccess
from application.catalog.media import ConfirmMediaUpload, StartMediaUpload
from application.identity.administration import ActAs
from application.principal import Principal
from domain.catalog.rules import ContentType, Visibility
from domain.errors import Conflict, ValidationError
from domain.values import slugify
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.cli.errors import cli_errors
from entrypoints.cli.running import run
from entrypoints.config import Settings

content_app = typer.Typer(help="Content catalog.", no_args_is_help=True)
access_app = typer.Typer(help="Entitlements.", no_args_is_help=True)
console = Console(soft_wrap=True)
SYSTEM = Principal.system()

MANIFEST_HELP = """PATH is a folder with a manifest.json:

{"creator": "owner@example.com",
 "items": [{"file": "intro.mp4", "title": "Intro", "type": "video",
            "duration_seconds": 120, "price": "9.00", "category": "yoga",
            "tags": ["breath"], "visibility": "purchased_only", "publish": true},
           {"body_file": "essay.html", "title": "An essay", "type": "written"}]}

Items whose slug already exists are skipped, so an import can be re-run."""


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ValidationError(f"{path} not found.", code="import.no_manifest") from exc
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}).",
                              code="import.bad_manifest") from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list) or not isinstance(
        data.get("creator"), str
    ):
        raise ValidationError("The manifest needs a creator email and a list of items.",
                              code="import.bad_manifest")
    return data


def _file(folder: Path, name: object) -> Path:
    if not isinstance(name, str):
        raise ValidationError("File names in the manifest must be text.",
                              code="import.bad_manifest")
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        raise ValidationError(f"{name} is not a file inside {folder}.", code="import.bad_file")
    return path


def _import_item(patronage: Patronage, actor: Principal, folder: Path, entry: dict[str, Any],
                 progress: Progress) -> str:
    kind = ContentType(entry.get("type", "video"))
    body = _file(folder, entry["body_file"]).read_text() if entry.get("body_file") else None
    media = _file(folder, entry["file"]) if kind.has_media else None
    if kind.has_media and media is None:
        raise ValidationError(f"{entry.get('title')}: a {kind.value} item needs a file.",
                              code="import.bad_manifest")
    try:
        item = patronage.handle(CreateContent(
            # An explicit slug makes a re-run find the items it already imported.
            actor=actor, title=entry["title"], content_type=kind,
            slug=entry.get("slug") or slugify(entry["title"]),
            description=entry.get("description"), category=entry.get("category"),
            tags=tuple(entry.get("tags", ())),
            visibility=Visibility(entry.get("visibility", "purchased_only")),
            price=entry.get("price"), currency=entry.get("currency"), body_html=body))
    except Conflict:
        return "skipped (slug exists)"
    if media is not None:
        mime = entry.get("content_type") or mimetypes.guess_type(media.name)[0] or ""
        ticket = patronage.handle(StartMediaUpload(actor=actor, content_id=item.id,
                                                   content_type=mime,
                                                   size=media.stat().st_size))
        task = progress.add_task(media.name, total=media.stat().st_size)
        patronage.services.media.upload_file(
            ticket.key, media, content_type=mime,
            progress=lambda n: progress.advance(task, n))
        patronage.handle(ConfirmMediaUpload(actor=actor, content_id=item.id, key=ticket.key,
                                            duration_seconds=int(entry["duration_seconds"])))
    if entry.get("publish", True):
        patronage.handle(PublishContent(actor=actor, content_id=item.id))
    return f"imported as {item.slug}"


@content_app.command("import", help=MANIFEST_HELP)
@cli_errors
def import_folder(
    path: Annotated[Path, typer.Argument(exists=True, file_okay=False, resolve_path=True)],
) -> None:
    """Upload a folder of media files described by its manifest.json."""
    manifest = _manifest(path)
    patronage = bootstrap(Settings.from_env())
    try:
        actor = patronage.handle(ActAs(actor=SYSTEM, email=manifest["creator"]))
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                      TransferSpeedColumn(), console=console) as progress:
            for entry in manifest["items"]:
                if not isinstance(entry, dict) or "title" not in entry:
                    raise ValidationError("Every item needs a title.",
                                          code="import.bad_manifest")
                outcome = _import_item(patronage, actor, path, entry, progress)
                progress.console.print(f"{entry['title']}: {outcome}", highlight=False)
    finally:
        patronage.close()


@access_app.command("explain")
@cli_errors
def explain(
    user: Annotated[str, typer.Option(help="The account's email.")],
    content: Annotated[str, typer.Option(help="The item's slug.")],
) -> None:
    """Print whether USER may see CONTENT, and the reasoning."""
    view = run(ExplainAccess(actor=SYSTEM, email=user, slug=content))
    console.print(f"{'ALLOWED' if view.allowed else 'DENIED'} ({view.reason})", highlight=False)
    for line in view.trace:
        console.print(f"  - {line}", highlight=False, markup=False)
