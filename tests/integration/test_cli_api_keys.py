"""`patronage api-keys create|list|revoke` against PostgreSQL, the key then used over HTTP."""

from __future__ import annotations

import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient
from typer.testing import CliRunner

from application.identity.registration import CreateUser
from application.principal import Principal
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from entrypoints.cli.main import app
from entrypoints.config import Settings
from tests.integration.test_cli_commerce import PASSWORD, env


def test_keys_from_the_cli(patronage: Patronage, settings: Settings, clean_db: sa.Engine,
                           client: TestClient[Litestar]) -> None:
    patronage.handle(CreateUser(actor=Principal.system(), email="maya@example.com",
                                password=PASSWORD, full_name="Maya", role=Role.MEDIA_OWNER))
    runner = CliRunner()
    made = runner.invoke(app, ["api-keys", "create", "--user", "maya@example.com", "--name",
                               "Zapier", "--scope", "catalog:read", "--scope",
                               "analytics:read"], env=env(settings))
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("pat_")
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/studio/earnings", headers=auth).status_code == 200

    listed = runner.invoke(app, ["api-keys", "list", "--user", "maya@example.com"],
                           env=env(settings))
    assert listed.exit_code == 0 and "Zapier" in listed.output
    assert secret not in listed.output and secret[:12] in listed.output
    key_id = next(line.split()[0] for line in listed.output.splitlines() if "Zapier" in line)

    revoked = runner.invoke(app, ["api-keys", "revoke", key_id], env=env(settings))
    assert revoked.exit_code == 0 and "revoked" in revoked.output, revoked.output
    assert client.get("/api/v1/studio/earnings", headers=auth).status_code == 401

    too_much = runner.invoke(app, ["api-keys", "create", "--user", "maya@example.com",
                                   "--name", "x", "--scope", "users:write"], env=env(settings))
    assert too_much.exit_code == 6 and "api_key.scope_not_yours" in too_much.output
    unknown = runner.invoke(app, ["api-keys", "create", "--user", "nobody@example.com",
                                  "--name", "x", "--scope", "catalog:read"], env=env(settings))
    assert unknown.exit_code == 4 and "user.not_found" in unknown.output
    bad_time = runner.invoke(app, ["api-keys", "create", "--user", "maya@example.com",
                                   "--name", "x", "--scope", "catalog:read", "--expires",
                                   "tomorrow"], env=env(settings))
    assert bad_time.exit_code == 3 and "api_key.expiry" in bad_time.output
