"""The change feed behind ``GET /v1/jobs?since=&wait_ms=``."""

from __future__ import annotations

import asyncio

from uidt.daemon.changes import ChangeFeed


async def test_a_stale_version_returns_at_once() -> None:
    feed = ChangeFeed()
    feed.bump()
    await asyncio.wait_for(feed.wait(0, 60), 5)
    assert feed.version == 1


async def test_a_waiter_wakes_on_the_next_bump() -> None:
    feed = ChangeFeed()
    waiters = [asyncio.create_task(feed.wait(0, 60)) for _ in range(3)]
    await asyncio.sleep(0)  # let them start waiting
    assert not any(w.done() for w in waiters)
    feed.bump()
    await asyncio.wait_for(asyncio.gather(*waiters), 5)


async def test_a_timed_out_waiter_does_not_cancel_the_others() -> None:
    feed = ChangeFeed()
    short = asyncio.create_task(feed.wait(0, 0.01))
    long = asyncio.create_task(feed.wait(0, 60))
    await asyncio.wait_for(short, 5)  # timed out, quietly
    assert not long.done()
    feed.bump()
    await asyncio.wait_for(long, 5)


async def test_no_wait_without_a_timeout() -> None:
    feed = ChangeFeed()
    await asyncio.wait_for(feed.wait(0, 0), 5)


async def test_a_waiter_for_a_state_change_sleeps_through_the_other_changes() -> None:
    """``while_state``: progress reports move the version but not the job's state."""
    feed = ChangeFeed()
    state = ["active"]
    waiter = asyncio.create_task(feed.wait(0, 60, unchanged=lambda: state[0] == "active"))
    for _ in range(3):
        feed.bump()  # a progress report, a notification
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not waiter.done()
    state[0] = "finished"
    feed.bump()
    await asyncio.wait_for(waiter, 5)


async def test_a_moved_state_at_a_stale_version_answers_at_once() -> None:
    feed = ChangeFeed()
    feed.bump()
    await asyncio.wait_for(feed.wait(0, 60, unchanged=lambda: False), 5)


async def test_a_waiter_for_a_state_change_still_times_out() -> None:
    feed = ChangeFeed()
    feed.bump()  # stale, but the state has not moved: wait to the deadline
    await asyncio.wait_for(feed.wait(0, 0.01, unchanged=lambda: True), 5)
    assert feed.version == 1
