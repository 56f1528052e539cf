import asyncio

import pytest

from services.notifier.client_queue import ClientQueue, Frame


async def _drain(queue: ClientQueue, count: int) -> list[Frame]:
    return [await asyncio.wait_for(queue.get(), 1) for _ in range(count)]


async def test_state_frames_keep_order_and_overflow_is_reported():
    queue = ClientQueue(maxsize=3)
    assert all(queue.put(Frame(b"%d" % n, seq=n)) for n in range(3))
    assert queue.put(Frame(b"3", seq=3)) is False
    assert [f.seq for f in await _drain(queue, 4)] == [0, 1, 2, 3]
    assert queue.get_nowait() is None


async def test_ephemeral_frames_coalesce_in_place():
    queue = ClientQueue(maxsize=3)
    queue.put(Frame(b"partial-1", coalesce_key=("c1", 1)))
    queue.put(Frame(b"state", seq=10))
    for n in range(2, 50):   # a burst of partials costs one slot
        assert queue.put(Frame(b"partial-%d" % n, coalesce_key=("c1", 1)))
    queue.put(Frame(b"other-call", coalesce_key=("c2", 1)))
    assert len(queue) == 3
    assert [f.data for f in await _drain(queue, 3)] == [b"partial-49", b"state", b"other-call"]


async def test_a_waiting_reader_gets_the_next_frame_or_none_when_woken_empty():
    queue = ClientQueue(maxsize=2)
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)
    queue.put(Frame(b"x", seq=1))
    assert (await asyncio.wait_for(waiter, 1)).data == b"x"
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)
    queue.wake()
    assert await asyncio.wait_for(waiter, 1) is None


def test_queue_size_must_be_positive():
    with pytest.raises(ValueError):
        ClientQueue(0)
