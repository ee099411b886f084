"""A deduplicating work queue with delayed requeue, in the manner of client-go's workqueue.

Watch events only say "look at this key again"; the reconciler reads the current state itself. So:
- a key queued twice before a worker takes it is processed once;
- a key is never processed by two workers at once: an `add` while it is processed marks it dirty, and it is queued
  again when the worker calls `done`;
- `add_after` keeps the earliest wake-up per key (a pause that ends in 30 s, re-armed every reconcile, fires once).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import itertools
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclasses.dataclass(order=True)
class _Timer(Generic[K]):
    due: float
    sequence: int
    key: K = dataclasses.field(compare=False)


class WorkQueue(Generic[K]):
    def __init__(self) -> None:
        self._queue: asyncio.Queue[K] = asyncio.Queue()
        self._queued: set[K] = set()
        self._processing: set[K] = set()
        self._dirty: set[K] = set()
        self._timers: list[_Timer[K]] = []
        self._due: dict[K, float] = {}
        self._sequence = itertools.count()
        self._timer_changed = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._queued) + len(self._processing)

    def add(self, key: K) -> None:
        if self._closed:
            return
        if key in self._processing:
            self._dirty.add(key)
            return
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def add_after(self, key: K, delay_seconds: float) -> None:
        if delay_seconds <= 0:
            self.add(key)
            return
        due = asyncio.get_running_loop().time() + delay_seconds
        if key in self._due and self._due[key] <= due:
            return
        self._due[key] = due
        heapq.heappush(self._timers, _Timer(due, next(self._sequence), key))
        self._timer_changed.set()

    async def get(self) -> K:
        key = await self._queue.get()
        self._queued.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._dirty.discard(key)
            self.add(key)

    def close(self) -> None:
        self._closed = True
        self._timer_changed.set()

    async def run_timers(self) -> None:
        """Moves due keys into the queue; runs until `close()`."""
        loop = asyncio.get_running_loop()
        while not self._closed:
            now = loop.time()
            while self._timers and self._timers[0].due <= now:
                timer = heapq.heappop(self._timers)
                # A later add_after with an earlier due time superseded this entry; only the current one fires.
                if self._due.get(timer.key) == timer.due:
                    del self._due[timer.key]
                    self.add(timer.key)
            timeout = (self._timers[0].due - now) if self._timers else None
            self._timer_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timer_changed.wait(), timeout=timeout)
