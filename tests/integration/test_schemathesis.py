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
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.sqlalchemy import migrate
from tests.integration.conftest import Databases, free_port

BIN = Path(sys.executable).parent
CONFIG = Path(__file__).parent.parent / "schemathesis" / "schemathesis.toml"
SEED = os.environ.get("PATRONAGE_SCHEMATHESIS_SEED", "20261129")
PASSWORD = "a long and unusual passphrase"
ROLES = ["anonymous", "customer", "creator", "owner"]  # the owner last: it changes others


@pytest.fixture(scope="module")
def server(databases: Databases, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, dict[str, str]]]:
    url = databases.create()
    migrate.upgrade(url)
    data = tmp_path_factory.mktemp("schemathesis") / "var"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PATRONAGE_DATABASE_URL": url, "PATRONAGE_DATA_DIR": str(data),
           "PATRONAGE_PORT": str(port), "PATRONAGE_PUBLIC_URL": base,
           "PATRONAGE_ARGON2_MEMORY_KIB": "19456", "PATRONAGE_ARGON2_TIME_COST": "2",
           "PATRONAGE_ARGON2_PARALLELISM": "1"}
    people = {"owner": "owner@example.com", "customer": "customer@example.com",
              "creator": "creator@example.com"}
    for role, email in people.items():
        made = subprocess.run(
            [str(BIN / "patronage"), "users", "create", "--email", email, "--role",
             {"owner": "platform_owner", "creator": "platform_creator"}.get(role, role),
             "--password-stdin"], input=PASSWORD + "\n", env=env, capture_output=True,
            text=True, timeout=120, check=False)
        assert made.returncode == 0, made.stderr
    process = subprocess.Popen([str(BIN / "patronage"), "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
        # Every session first: the fuzzed login attempts soon throttle this address.
        tokens = {role: httpx.post(f"{base}/api/v1/auth/login", json={
            "email": email, "password": PASSWORD}).json()["token"]
            for role, email in people.items()}
        yield base, tokens
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


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
