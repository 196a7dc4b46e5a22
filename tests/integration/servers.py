"""`patronage serve` started for a test: real granian, real sockets, stopped afterwards."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx
import sqlalchemy as sa

BIN = Path(sys.executable).parent
# The argon2 floor of ASVS: fast enough for tests, the same algorithm as production.
FAST_ARGON2_ENV = {"PATRONAGE_ARGON2_MEMORY_KIB": "19456", "PATRONAGE_ARGON2_TIME_COST": "2",
                   "PATRONAGE_ARGON2_PARALLELISM": "1"}


def server_env(data: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of a CLI or server on the embedded default (unless ``extra`` says
    otherwise), with its public URL on ``port`` so that mailed and signed links work."""
    env = {**os.environ, "PATRONAGE_DATA_DIR": str(data), "PATRONAGE_PORT": str(port),
           "PATRONAGE_PUBLIC_URL": f"http://127.0.0.1:{port}", **FAST_ARGON2_ENV, **extra}
    if "PATRONAGE_DATABASE_URL" not in extra:
        env.pop("PATRONAGE_DATABASE_URL", None)
    return env


def patronage(args: list[str], env: dict[str, str],
              stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "patronage"), *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=300, check=False)


def demo_platform(env: dict[str, str]) -> tuple[str, str]:
    """Migrate and seed the demo data; the owner's email and password."""
    for args in (["db", "upgrade"], ["demo", "seed"]):
        done = patronage(args, env)
        assert done.returncode == 0, done.stderr
    found = re.search(r"(owner@\S+) / (\S+)", done.stdout)
    assert found, done.stdout
    return found.group(1), found.group(2)


@attrs.frozen
class Served:
    base: str
    group: int  # the process group: the server and its workers


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    """Until the server at ``base`` answers (30 s at most, and only while it runs)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/health", timeout=2)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "server did not start"
            assert process.poll() is None, "server exited"
            time.sleep(0.2)


@contextlib.contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[Served]:
    """Run `patronage serve` until the block ends."""
    base = env["PATRONAGE_PUBLIC_URL"]
    process = subprocess.Popen([str(BIN / "patronage"), "serve", *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)  # its own group: SIGINT reaches all
    try:
        wait_until_up(base, process)
        yield Served(base, process.pid)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_outbox_drained(engine: sa.Engine, *, seconds: float, poll: float) -> None:
    """Until every outbox message is processed; fails naming how many never were."""
    deadline = time.monotonic() + seconds
    while True:
        with engine.connect() as conn:
            left = conn.execute(sa.text(
                "SELECT count(*) FROM outbox_messages WHERE status <> 'processed'")
            ).scalar_one()
        if left == 0:
            return
        assert time.monotonic() < deadline, f"{left} outbox messages never handled"
        time.sleep(poll)
