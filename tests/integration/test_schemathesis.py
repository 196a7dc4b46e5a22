"""Schemathesis against a running server, as every role: no 5xx, no schema mismatch.

`patronage serve` on its own PostgreSQL database with the demo data; Schemathesis runs
every check (`--checks all`) through the examples, coverage, fuzzing and stateful phases
for an anonymous client, a customer, a creator and a platform owner. Its settings, and
why each is there, are in tests/schemathesis/schemathesis.toml. The routes that end the
caller's own session or account (logout, password change, deletion) are left out of
the authenticated runs: they would log the run out halfway; their own tests cover them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.sqlalchemy import migrate
from tests.integration.conftest import Databases, free_port
from tests.integration.servers import BIN, patronage, server_env, serving

CONFIG = Path(__file__).parent.parent / "schemathesis" / "schemathesis.toml"
SEED = os.environ.get("PATRONAGE_SCHEMATHESIS_SEED", "20261129")
PASSWORD = "a long and unusual passphrase"
ROLES = ["anonymous", "customer", "creator", "owner"]  # the owner last: it changes others


@pytest.fixture(scope="module")
def server(databases: Databases, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, dict[str, str]]]:
    url = databases.create()
    migrate.upgrade(url)
    env = server_env(tmp_path_factory.mktemp("schemathesis") / "var", free_port(),
                     PATRONAGE_DATABASE_URL=url)
    people = {"owner": "owner@example.com", "customer": "customer@example.com",
              "creator": "creator@example.com"}
    for role, email in people.items():
        made = patronage(["users", "create", "--email", email, "--role",
                          {"owner": "platform_owner", "creator": "platform_creator"}.get(
                              role, role), "--password-stdin"], env, stdin=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
    with serving(env) as served:
        # Every session first: the fuzzed login attempts soon throttle this address.
        tokens = {role: httpx.post(f"{served.base}/api/v1/auth/login", json={
            "email": email, "password": PASSWORD}).json()["token"]
            for role, email in people.items()}
        yield served.base, tokens


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_finds_nothing(server: tuple[str, dict[str, str]], role: str,
                                    tmp_path: Path) -> None:
    base, tokens = server
    command = [str(BIN / "schemathesis"), "--config-file", str(CONFIG), "run",
               f"{base}/schema/openapi.json", "--checks", "all", "--max-examples", "20",
               "--phases", "examples,coverage,fuzzing,stateful", "--seed", SEED,
               "--exclude-path-regex", r"(/auth/logout.*|/me/delete|/me/password)$"]
    if role != "anonymous":
        command += ["--header", f"Authorization: Bearer {tokens[role]}"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900,
                          check=False)
    report = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    assert " passed" in done.stdout and "failures" not in done.stdout.split("Seed:")[-1]
