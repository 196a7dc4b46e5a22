"""UUIDv7 ids (RFC 9562): time-ordered, so new rows land together in the index."""

from __future__ import annotations

import os
import threading
import time
from uuid import UUID


class UUIDv7Generator:
    """Monotonic within a process: ids made in the same millisecond still sort."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def new_id(self) -> UUID:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms > self._last_ms:
                self._last_ms = ms
                # 12-bit counter seeded randomly below its midpoint leaves room to count up.
                self._counter = int.from_bytes(os.urandom(2), "big") & 0x7FF
            else:
                self._counter += 1
                if self._counter > 0xFFF:
                    self._last_ms += 1
                    self._counter = 0
                ms = self._last_ms
            counter = self._counter
        rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76
        value |= counter << 64
        value |= 0b10 << 62
        value |= rand
        return UUID(int=value)
