"""CPU time of processes on this machine, from /proc (Linux)."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(group: int | None = None) -> float:
    """User and system CPU used so far by the local PostgreSQL (every `postgres`
    process; an exited backend's time is counted in the postmaster's children's time)
    and, with ``group``, by the processes of that process group (a server)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if name == "postgres" or (group is not None and int(fields[2]) == group):
            total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")
