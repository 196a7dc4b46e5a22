"""What `make run` does, end to end: migrate, seed, serve with granian, stop on Ctrl-C."""

from __future__ import annotations

import gc
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.integration.conftest import free_port

BIN = Path(sys.executable).parent


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "patronage"), *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_embedded_default_migrates_seeds_serves_and_stops(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PATRONAGE_DATA_DIR": str(tmp_path / "var"),
           "PATRONAGE_PORT": str(port), "PATRONAGE_ARGON2_MEMORY_KIB": "19456",
           "PATRONAGE_ARGON2_TIME_COST": "2", "PATRONAGE_ARGON2_PARALLELISM": "1"}
    env.pop("PATRONAGE_DATABASE_URL", None)

    assert run(["db", "upgrade"], env).returncode == 0
    assert (tmp_path / "var" / "patronage.db").exists()
    first = run(["demo", "seed"], env)
    assert first.returncode == 0, first.stderr
    match = re.search(r"(owner@\S+) / (\S+)", first.stdout)
    assert match and "Demo login" in first.stdout
    email, password = match.groups()
    second = run(["demo", "seed"], env)
    assert second.stdout == first.stdout  # the second run reuses the data

    # Its own process group, so SIGINT reaches every process as Ctrl-C would.
    server = subprocess.Popen([str(BIN / "patronage"), "serve"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                assert server.poll() is None, "server exited"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert health.json()["payments"] == "sandbox"
        assert httpx.get(f"{base}/api/v1/settings").json()["platform_name"] == (
            "Patronage Demo Studio")
        token = httpx.post(f"{base}/api/v1/auth/login",
                           json={"email": email, "password": password}).json()["token"]
        me = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["role"] == "platform_owner"
        assert httpx.get(f"{base}/schema/openapi.json").status_code == 200
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
            raise AssertionError("server did not stop on SIGINT") from None
    assert f"{base}/schema/docs" in output
    assert "PAYMENTS: SANDBOX" in output  # said loudly, not left to be discovered
    assert password not in output


def test_a_served_app_is_kept_out_of_the_collectors_sight() -> None:
    # Each server process builds its app once and keeps it: the garbage collector's
    # full collections need not walk it again (decision 9).
    from litestar import Litestar

    from entrypoints.http.app import served

    before = gc.get_freeze_count()
    try:
        app = Litestar()
        assert served(app) is app
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
