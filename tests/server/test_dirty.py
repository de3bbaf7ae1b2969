"""The changed-jobs set: marks, "every job", and a fresh start after each check pass."""

from __future__ import annotations

from server.helpers import APP
from uidt.job.key import JobKey
from uidt.server.dirty import DirtyJobs


def test_marks_are_taken_once() -> None:
    dirty = DirtyJobs()
    a, b = JobKey(APP, None, 1), JobKey(APP, None, 2)
    dirty.add(a)
    dirty.update([b])
    dirty.discard(b)
    assert a in dirty
    assert b not in dirty
    assert dirty.take() == (False, {a})
    assert dirty.take() == (False, set())


def test_every_job() -> None:
    dirty = DirtyJobs()
    dirty.add_all()
    assert JobKey(APP, None, 9) in dirty
    assert dirty.take() == (True, set())
    assert JobKey(APP, None, 9) not in dirty
