"""A transfer's throttle: pauses that sleep, and end early when the limit changes or it stops.

The waits are real (a thread on a condition variable, a task on an event); every test bounds
them from above only, with a limit so low that the pause would last far longer than the test.
"""

from __future__ import annotations

import asyncio
import threading

from uidt.transfers.throttle import Throttle, ThrottleLane


def _pausing_thread(throttle: Throttle | ThrottleLane, count: int) -> threading.Thread:
    thread = threading.Thread(target=throttle.pause_in_thread, args=(count,), daemon=True)
    thread.start()
    return thread


def test_the_lower_of_the_two_limits_holds() -> None:
    throttle = Throttle(1000)
    assert throttle.rate == 1000
    throttle.set_share(500)
    assert throttle.rate == 500
    throttle.set_share(None)
    assert throttle.rate == 1000
    throttle.set_own(None)
    assert throttle.rate is None
    assert throttle.chunk_bytes(1 << 20) == 1 << 20


def test_a_thread_paused_for_an_hour_wakes_when_the_limit_is_lifted() -> None:
    throttle = Throttle(1)
    thread = _pausing_thread(throttle, 3600)
    thread.join(0.2)
    assert thread.is_alive()  # paused
    throttle.set_own(None)
    thread.join(5)
    assert not thread.is_alive()
    assert throttle.taken == 3600


def test_a_stopped_transfer_pauses_no_more_until_it_resumes() -> None:
    throttle = Throttle(1)
    thread = _pausing_thread(throttle, 3600)
    throttle.interrupt()
    thread.join(5)
    assert not thread.is_alive()
    throttle.pause_in_thread(3600)  # interrupted: returns at once
    throttle.resume()
    again = _pausing_thread(throttle, 3600)
    again.join(0.2)
    assert again.is_alive()
    throttle.interrupt()
    again.join(5)
    assert not again.is_alive()


def test_a_stopped_lane_leaves_the_other_lanes_paused() -> None:
    """The ranges of a segmented download share one limit, each reading in a thread of its
    own: stopping one range's thread must not free the others from the limit."""
    throttle = Throttle(1)
    first, second = throttle.lane(), throttle.lane()
    stopped = _pausing_thread(first, 3600)
    going_on = _pausing_thread(second, 3600)
    first.interrupt()
    stopped.join(5)
    assert not stopped.is_alive()
    going_on.join(0.2)
    assert going_on.is_alive()  # still paused for the shared limit
    assert second.rate == 1
    throttle.set_own(None)  # a change of the shared limit reaches every lane
    going_on.join(5)
    assert not going_on.is_alive()
    assert throttle.taken == 7200


async def test_a_lane_paused_on_the_loop_wakes_when_the_limit_changes() -> None:
    throttle = Throttle(1)
    task = asyncio.create_task(throttle.lane().pause(3600))
    await asyncio.sleep(0.05)
    assert not task.done()
    throttle.set_own(None)
    await asyncio.wait_for(task, 5)


async def test_a_task_paused_on_the_loop_wakes_when_the_share_grows() -> None:
    throttle = Throttle()
    throttle.set_share(1)
    task = asyncio.create_task(throttle.pause(3600))
    await asyncio.sleep(0.05)
    assert not task.done()
    throttle.set_share(10**9)
    await asyncio.wait_for(task, 5)


async def test_without_a_limit_nothing_waits() -> None:
    throttle = Throttle()
    await asyncio.wait_for(throttle.pause(10**12), 1)
    throttle.pause_in_thread(10**12)
    assert throttle.taken == 2 * 10**12
