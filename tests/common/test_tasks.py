"""Tracked background tasks: kept until they end, failures logged once, stopping waits and is repeatable."""

import asyncio
import gc
import logging

import pytest

from services.common.tasks import TaskSet, cancel_and_wait


async def test_a_spawned_task_is_held_until_it_ends_then_pruned():
    tasks = TaskSet("test")
    release = asyncio.Event()
    task = tasks.spawn(release.wait(), name="waiter")
    gc.collect()  # asyncio holds tasks weakly; the set is what keeps this one alive
    assert list(tasks) == [task]
    release.set()
    await task
    await asyncio.sleep(0)  # done callbacks run on the next loop turn
    assert len(tasks) == 0


async def test_a_failure_nobody_awaited_is_logged_once_with_its_stack(caplog):
    tasks = TaskSet("call-1")

    async def boom() -> None:
        raise ValueError("boom")

    with caplog.at_level(logging.ERROR, logger="services.common.tasks"):
        tasks.spawn(boom(), name="boom")
        await asyncio.sleep(0.01)
        await tasks.close()
    failures = [r for r in caplog.records if "background task failed" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info[0] is ValueError
    assert failures[0].task == "boom"


async def test_close_cancels_waits_and_is_harmless_twice():
    tasks = TaskSet("test")
    ended = asyncio.Event()

    async def long_running() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            await asyncio.sleep(0.01)  # cleanup that takes a moment: close must wait for it
            ended.set()

    task = tasks.spawn(long_running())
    await asyncio.sleep(0)
    await tasks.close()
    assert task.cancelled() and ended.is_set()
    await tasks.close()
    with pytest.raises(RuntimeError, match="closed"):
        tasks.spawn(asyncio.sleep(0))


async def test_cancel_and_wait_takes_none_and_finished_tasks():
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    running = asyncio.create_task(asyncio.sleep(60))
    await cancel_and_wait(None, done, running)
    assert running.cancelled() and not done.cancelled()
    await cancel_and_wait(None, done, running)


async def test_wait_returns_when_every_task_has_ended_on_its_own():
    tasks = TaskSet("test")
    results = []

    async def work(n: int) -> None:
        await asyncio.sleep(0.01 * n)
        results.append(n)

    for n in range(3):
        tasks.spawn(work(n))
    await tasks.wait()
    assert sorted(results) == [0, 1, 2]


async def test_a_task_that_swallowed_one_cancellation_is_cancelled_again():
    async def stubborn() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            pass  # what 3.11's wait_for does when the awaited thing finishes in the same turn
        await asyncio.sleep(60)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(task), 5)
    assert task.cancelled()
