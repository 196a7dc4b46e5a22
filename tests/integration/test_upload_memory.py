"""A large upload to the local media store costs the server a bounded amount of memory.

A real `patronage serve` (granian, the embedded default) receives a 256 MiB PUT sent
as a stream; the peak resident memory of its processes may grow by far less than the
file (the upload once sat whole in memory: +300 MiB for a 300 MiB file).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.integration.conftest import free_port
from tests.integration.servers import demo_platform, server_env, serving

MIB = 1024 * 1024
SIZE = 256 * MIB
ALLOWED_GROWTH = 64 * MIB


def group_memory(pgid: int, field: str) -> int:
    """The largest ``VmRSS``/``VmHWM`` (bytes) among the processes of a process group."""
    largest = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            status = (entry / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # a process that ended while we looked
        found = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
        if found:
            largest = max(largest, int(found.group(1)) * 1024)
    return largest


def zeros() -> Iterator[bytes]:
    block = bytes(MIB)
    for _ in range(SIZE // MIB):
        yield block


def test_a_256_mib_upload_keeps_server_memory_bounded(tmp_path: Path) -> None:
    env = server_env(tmp_path / "var", free_port())
    email, password = demo_platform(env)

    with serving(env, "--no-outbox-worker") as server:
        base = server.base
        token = httpx.post(f"{base}/api/v1/auth/login",
                           json={"email": email, "password": password}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        item = httpx.post(f"{base}/api/v1/studio/content", headers=auth,
                          json={"title": "Long film", "content_type": "video"}).json()
        ticket = httpx.post(f"{base}/api/v1/studio/content/{item['id']}/media/uploads",
                            headers=auth, json={"content_type": "video/mp4", "size": SIZE})
        assert ticket.status_code == 201, ticket.text
        before = group_memory(server.group, "VmRSS")

        uploaded = httpx.put(ticket.json()["url"], content=zeros(), timeout=120,
                             headers={"Content-Type": "video/mp4",
                                      "Content-Length": str(SIZE)})
        assert uploaded.status_code == 200, uploaded.text
        assert uploaded.json()["size"] == SIZE

        peak = group_memory(server.group, "VmHWM")
        assert peak - before < ALLOWED_GROWTH, (before // MIB, peak // MIB)
        stored = tmp_path / "var" / "media" / ticket.json()["key"]
        assert stored.stat().st_size == SIZE
