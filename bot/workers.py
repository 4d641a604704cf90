"""Work pools for chat surfaces: acks never wait behind answers, and every answer meets its deadline.

Standard library only (``concurrent.futures``, ``heapq``, ``threading``): a pool that knows when it is
idle (graceful shutdown, deterministic tests), one timer thread for answer deadlines, and the job that
is delivered once, by the answer or its deadline, whichever comes first.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


def _lower_priority() -> None:
    """Make the calling worker thread yield the CPU to ack threads (Linux: per-thread nice).

    Acks must go out within Slack's 3 s even while answers keep both cores busy.
    """
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted: plain priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class TrackedPool(ThreadPoolExecutor):
    """A thread pool that knows when it is idle (for graceful shutdown and deterministic tests)."""

    def __init__(self, max_workers: int, name: str, *, background: bool = False,
                 when_idle: Callable[[], object] | None = None) -> None:
        """``when_idle`` runs in the worker that finishes the last queued job (after that job)."""
        super().__init__(max_workers=max_workers, thread_name_prefix=name,
                         initializer=_lower_priority if background else None)
        self._pending = 0
        self._idle = threading.Condition()
        self._when_idle = when_idle

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._pending += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _: object) -> None:
        with self._idle:
            self._pending -= 1
            idle = self._pending == 0
        if idle and self._when_idle is not None:
            try:
                self._when_idle()
            except Exception:  # housekeeping: never let it break the pool's accounting
                log.exception("the pool's idle hook failed")
        with self._idle:
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or running; False if ``timeout`` seconds pass first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)


class Deadlines:
    """Calls each scheduled function once its time has come, from one daemon thread (``heapq``)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._changed = threading.Condition()
        self._count = 0
        self._thread: threading.Thread | None = None

    def after(self, seconds: float, fn: Callable[[], None]) -> None:
        with self._changed:
            self._count += 1
            heapq.heappush(self._heap, (time.monotonic() + seconds, self._count, fn))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="storydesk-deadlines", daemon=True)
                self._thread.start()
            self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._changed.wait(None if not self._heap else self._heap[0][0] - time.monotonic())
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception:
                log.exception("a deadline callback failed")


@dataclass
class Job:
    """One answer on its way: delivered once, by whichever comes first, the answer or its deadline."""

    reply: Callable[[Any], None]
    reply_error: Callable[[Any], None]
    _settled: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def settle(self) -> bool:
        """True for the first caller only."""
        with self._lock:
            first, self._settled = not self._settled, True
            return first

    @property
    def settled(self) -> bool:
        return self._settled
