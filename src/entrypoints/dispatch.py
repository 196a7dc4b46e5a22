"""Running outbox messages after a commit: inline, or on a background thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from uuid import UUID

from application.messagebus import OutboxProcessor

log = logging.getLogger("patronage.dispatch")


class InlineDispatcher:
    def __init__(self, processor: OutboxProcessor) -> None:
        self._processor = processor

    def __call__(self, message_ids: Sequence[UUID]) -> None:
        self._processor.process(message_ids)

    def wait(self) -> None:
        """Nothing runs later: inline work is done when the command returns."""

    def close(self) -> None:
        """Nothing to stop."""


class BackgroundDispatcher:
    """Runs event handlers after the response, so mail does not slow or reveal a request.

    A message not run here (process exit, crash) stays pending in the outbox and
    is picked up by the retry loop or ``patronage worker``.
    """

    def __init__(self, processor: OutboxProcessor) -> None:
        self._processor = processor
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._pending: set[Future[int]] = set()
        self._lock = threading.Lock()

    def __call__(self, message_ids: Sequence[UUID]) -> None:
        future = self._pool.submit(self._processor.process, list(message_ids))
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[int]) -> None:
        with self._lock:
            self._pending.discard(future)
        if future.exception() is not None:
            log.error("outbox dispatch failed: %s", type(future.exception()).__name__)

    def wait(self) -> None:
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            for future in pending:
                future.exception()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class RetryLoop:
    """Runs due outbox messages every ``interval`` seconds on a daemon thread."""

    def __init__(self, run: Callable[[], int], interval: float) -> None:
        self._run = run
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="outbox-retry", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._run()
            except Exception:
                log.exception("outbox retry pass failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._interval + 5)
