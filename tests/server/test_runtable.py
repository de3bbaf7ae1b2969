"""The run table owns "running and runs agree" and the app workers' bind state."""

from __future__ import annotations

import pytest

from server.helpers import APP, uij
from uidt.job.key import JobKey
from uidt.server.context import JobServiceContext, Verb
from uidt.server.runtable import RunTable
from uidt.server.status import JobStatus


def _ctx(table: RunTable, job_id: int, status: JobStatus | None = None) -> JobServiceContext:
    status = status or JobStatus(key=JobKey(APP, None, job_id), job=uij(job_id), enqueue_elapsed=0)
    return JobServiceContext(
        run_id=table.new_run_id(),
        status=status,
        verb=Verb.BINDING,
        verb_since=0,
        user_visible=True,
        min_guarantee_ms=0,
        max_runtime_ms=0,
    )


def test_a_run_is_found_by_key_and_by_id_and_leaves_both() -> None:
    table = RunTable()
    ctx = _ctx(table, 1)
    table.add(ctx)
    assert table.get(ctx.status.key) is ctx
    assert table.run(ctx.run_id) is ctx
    assert table.runs_job(ctx.status)
    assert list(table) == [ctx]
    assert table.of_app(APP) == [ctx]
    table.remove(ctx)
    table.remove(ctx)  # twice is fine
    assert table.get(ctx.status.key) is None
    assert table.run(ctx.run_id) is None
    assert len(table) == 0
    assert table.broken_invariants() == []


def test_a_second_run_of_the_same_job_is_refused() -> None:
    table = RunTable()
    first = _ctx(table, 1)
    table.add(first)
    with pytest.raises(ValueError, match="already in the run table"):
        table.add(_ctx(table, 1))
    assert table.broken_invariants() == []


def test_removing_a_stale_run_keeps_the_current_one() -> None:
    """Hostile: an old run object of the same job must not free the slot of the new run."""
    table = RunTable()
    old = _ctx(table, 1)
    table.add(old)
    table.remove(old)
    new = _ctx(table, 1)
    table.add(new)
    table.remove(old)
    assert table.get(new.status.key) is new
    assert table.broken_invariants() == []


def test_runs_job_is_false_for_a_replacement() -> None:
    table = RunTable()
    ctx = _ctx(table, 1)
    table.add(ctx)
    replacement = JobStatus(key=ctx.status.key, job=uij(1), enqueue_elapsed=5)
    assert ctx.status.key in table
    assert not table.runs_job(replacement)


def test_worker_bind_state() -> None:
    table = RunTable()
    assert table.want_worker(APP)
    assert not table.want_worker(APP)  # already starting
    assert table.is_binding(APP)
    table.worker_up(APP)
    assert table.is_bound(APP)
    assert not table.is_binding(APP)
    assert not table.want_worker(APP)
    table.worker_gone(APP)
    assert not table.is_bound(APP)
    assert set(table.bound()) == set()
    assert set(table.binding()) == set()
    assert table.broken_invariants() == []


def test_views_are_read_only() -> None:
    table = RunTable()
    with pytest.raises(TypeError):
        table.by_key[JobKey(APP, None, 1)] = _ctx(table, 1)  # type: ignore[index]
