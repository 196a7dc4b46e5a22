"""`patronage content import`: a folder of media through the same use cases, re-runnable."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from adapters.sqlalchemy.tables import content
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from entrypoints.cli.main import app
from entrypoints.config import Settings


def test_import_uploads_publishes_and_skips_on_rerun(
    patronage: Patronage, settings: Settings, clean_db: sa.Engine, tmp_path: Path
) -> None:
    patronage.handle(CreateUser(actor=Principal.system(), email="creator@example.com",
                                password="a long passphrase", full_name="C",
                                role=Role.PLATFORM_OWNER))
    folder = tmp_path / "import"
    folder.mkdir()
    (folder / "intro.mp4").write_bytes(b"\x00" * 150_000)
    (folder / "talk.mp3").write_bytes(b"\x01" * 40_000)
    (folder / "essay.html").write_text("<p>Essay <script>alert(1)</script></p>")
    (folder / "manifest.json").write_text(json.dumps({
        "creator": "creator@example.com",
        "items": [
            {"file": "intro.mp4", "title": "Intro", "type": "video", "duration_seconds": 90,
             "price": "5.00", "tags": ["Start"]},
            {"file": "talk.mp3", "title": "A talk", "type": "audio", "duration_seconds": 30,
             "publish": False},
            {"body_file": "essay.html", "title": "Essay", "type": "written",
             "visibility": "public"},
        ],
    }))
    env = {"PATRONAGE_DATABASE_URL": settings.database_url,
           "PATRONAGE_DATA_DIR": str(settings.data_dir)}
    runner = CliRunner()

    first = runner.invoke(app, ["content", "import", str(folder)], env=env)
    assert first.exit_code == 0, first.output
    assert "Intro: imported as intro" in first.output
    with clean_db.connect() as conn:
        rows = {r.slug: r for r in conn.execute(sa.select(content)).all()}
    assert set(rows) == {"intro", "a-talk", "essay"}
    assert rows["intro"].status == "published" and rows["intro"].media_duration_seconds == 90
    assert rows["a-talk"].status == "draft"
    assert "<script>" not in rows["essay"].content_body
    stored = patronage.services.media.stat(rows["intro"].media_url)
    assert stored is not None and stored.size == 150_000 and stored.content_type == "video/mp4"

    again = runner.invoke(app, ["content", "import", str(folder)], env=env)
    assert again.exit_code == 0, again.output
    assert again.output.count("skipped (slug exists)") == 3
    with clean_db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(content)).scalar_one() == 3


def test_import_refuses_a_bad_manifest(settings: Settings, clean_db: sa.Engine,
                                       tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "manifest.json").write_text("{not json")
    env = {"PATRONAGE_DATABASE_URL": settings.database_url,
           "PATRONAGE_DATA_DIR": str(settings.data_dir)}
    result = CliRunner().invoke(app, ["content", "import", str(folder)], env=env)
    assert result.exit_code == 3
    assert "import.bad_manifest" in result.output
    (folder / "manifest.json").write_text(json.dumps({
        "creator": "nobody@example.com", "items": []}))
    missing_creator = CliRunner().invoke(app, ["content", "import", str(folder)], env=env)
    assert missing_creator.exit_code == 4
    assert "user.not_found" in missing_creator.output
