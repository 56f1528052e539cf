"""Background tasks that are never lost, and a shutdown that waits for them.

``asyncio`` keeps only a weak reference to a task, so a fire-and-forget task can be collected
mid-flight, and its exception surfaces (if ever) as "Task exception was never retrieved".
``TaskSet`` holds each task until it ends, then drops it and logs a failure nobody awaited.
``cancel_and_wait`` is the one way to stop tasks: cancel, then wait until they have really ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable, Iterator
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
RECANCEL_AFTER_S = 1.0


async def cancel_and_wait(*tasks: asyncio.Future[Any] | None) -> None:
    """Cancel ``tasks`` and return once each has finished. ``None`` and finished tasks are
    fine, so calling it twice is harmless. A task's own failure is logged, not raised: the
    caller is shutting down. If the caller is cancelled while waiting, that still propagates."""
    for task in await _cancel(tasks):
        _log_failure(task, "stopped task had failed")


async def _cancel(tasks: Iterable[asyncio.Future[Any] | None]) -> list[asyncio.Future[Any]]:
    stopping = [task for task in tasks if task is not None and not task.done()]
    pending = set(stopping)
    while pending:
        for task in pending:
            task.cancel()
        # again after a while: a cancellation can be swallowed (3.11's wait_for when the awaited
        # thing finishes in the same turn), and the task would then run on and never end
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_AFTER_S)
    return stopping


def _log_failure(task: asyncio.Future[Any], message: str) -> None:
    if task.cancelled():
        return
    exc = task.exception()  # marks it retrieved: no "never retrieved" warning at exit
    if exc is not None:
        name = task.get_name() if isinstance(task, asyncio.Task) else repr(task)
        log.error(message, exc_info=exc, extra={"task": name})


class TaskSet:
    """The background tasks of one owner (a call, a hub, a service). ``spawn`` keeps a
    reference until the task ends; ``close`` cancels what is left and waits for it."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        if self._closed:
            coro.close()  # never started: no "coroutine was never awaited" warning
            raise RuntimeError(f"{self.owner}: closed, no new background tasks")
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        _log_failure(task, f"{self.owner}: background task failed")

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(list(self._tasks))

    async def wait(self) -> None:
        """Until every task spawned so far has ended on its own (a drain)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    async def close(self) -> None:
        """Refuse new tasks, cancel the running ones and wait for them. Safe to call twice."""
        self._closed = True
        await _cancel(list(self._tasks))  # each failure is logged once, by _forget
