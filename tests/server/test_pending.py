"""The pending queue owns "the user-initiated part is a subset of the queue"."""

from __future__ import annotations

from server.helpers import APP, regular, uij
from uidt.job.flags import INTERNAL_FLAG_DEMOTED_BY_USER
from uidt.job.key import JobKey
from uidt.server.pending import PendingQueue
from uidt.server.status import JobStatus


def _status(job_id: int, *, user_initiated: bool) -> JobStatus:
    job = uij(job_id) if user_initiated else regular(job_id)
    return JobStatus(key=JobKey(APP, None, job_id), job=job, enqueue_elapsed=0)


def test_add_files_by_uij_treatment_and_keeps_the_first_wait() -> None:
    queue = PendingQueue()
    a, b = _status(1, user_initiated=True), _status(2, user_initiated=False)
    queue.add(a, 10)
    queue.add(b, 20)
    queue.add(a, 30)  # re-filed, still waiting since 10
    assert a.pending_since == 10
    assert set(queue) == {a.key, b.key}
    assert set(queue.uij()) == {a.key}
    assert queue.regular() == {b.key}
    assert queue.has_uij()
    assert len(queue) == 2


def test_a_demoted_job_moves_out_of_the_uij_part() -> None:
    queue = PendingQueue()
    a = _status(1, user_initiated=True)
    queue.add(a, 0)
    a.internal_flags |= INTERNAL_FLAG_DEMOTED_BY_USER
    queue.add(a, 5)
    assert a.key in queue
    assert not queue.has_uij()
    assert queue.broken_invariants({a.key}) == []


def test_discard_leaves_no_trace() -> None:
    queue = PendingQueue()
    a = _status(1, user_initiated=True)
    queue.add(a, 0)
    queue.discard(a.key)
    queue.discard(a.key)  # twice is fine
    assert not queue
    assert a.key not in queue
    assert not queue.uij()


def test_a_queued_key_that_is_not_scheduled_is_reported() -> None:
    queue = PendingQueue()
    a = _status(1, user_initiated=False)
    queue.add(a, 0)
    assert queue.broken_invariants(set()) != []
