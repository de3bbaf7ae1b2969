"""``RunTable``: the execution slots in use and the app workers they need (Android's
``JobConcurrencyManager`` running set plus ``JobServiceContext`` binding).

It owns the invariant "running and runs agree": every run is found both by its job's key and by
its run id, and a run leaves both maps together. It also owns which apps' workers are up
(``bound``) or being started (``binding``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from types import MappingProxyType

from uidt.job.key import JobKey
from uidt.server.context import JobServiceContext
from uidt.server.status import JobStatus


class RunTable:
    """Runs by job key and by run id, and the app workers' bind state."""

    def __init__(self) -> None:
        self._by_key: dict[JobKey, JobServiceContext] = {}
        self._by_id: dict[int, JobServiceContext] = {}
        self._bound: set[str] = set()
        self._binding: set[str] = set()
        self._next_run_id = 1
        #: Read-only views for queries and tests.
        self.by_key: Mapping[JobKey, JobServiceContext] = MappingProxyType(self._by_key)
        self.by_id: Mapping[int, JobServiceContext] = MappingProxyType(self._by_id)

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[JobServiceContext]:
        """The runs, oldest first (a snapshot: the table may change while iterating it)."""
        return iter(list(self._by_key.values()))

    def new_run_id(self) -> int:
        """The id the next run will get."""
        run_id = self._next_run_id
        self._next_run_id += 1
        return run_id

    def add(self, ctx: JobServiceContext) -> None:
        """Give a run its slot.

        Raises:
            ValueError: the job already runs, or the run id is taken (a core bug).
        """
        key = ctx.status.key
        if key in self._by_key or ctx.run_id in self._by_id:
            raise ValueError(f"run {ctx.run_id} of {key} is already in the run table")
        self._by_key[key] = ctx
        self._by_id[ctx.run_id] = ctx

    def remove(self, ctx: JobServiceContext) -> None:
        """Free a run's slot (nothing happens when it is already free)."""
        if self._by_id.get(ctx.run_id) is ctx:
            del self._by_id[ctx.run_id]
            del self._by_key[ctx.status.key]

    def get(self, key: JobKey) -> JobServiceContext | None:
        """The run of the job with this key."""
        return self._by_key.get(key)

    def run(self, run_id: int) -> JobServiceContext | None:
        """The run with this id."""
        return self._by_id.get(run_id)

    def runs_job(self, status: JobStatus) -> bool:
        """This very job runs (not an earlier job with the same key that it replaced)."""
        ctx = self._by_key.get(status.key)
        return ctx is not None and ctx.status is status

    def of_app(self, app: str) -> list[JobServiceContext]:
        """The app's runs."""
        return [c for c in self._by_key.values() if c.app == app]

    # -- app workers ------------------------------------------------------------------------

    def is_bound(self, app: str) -> bool:
        """The app's worker is up."""
        return app in self._bound

    def is_binding(self, app: str) -> bool:
        """The app's worker is being started."""
        return app in self._binding

    def want_worker(self, app: str) -> bool:
        """A run needs the app's worker: ``True`` when it must be started now."""
        if app in self._bound or app in self._binding:
            return False
        self._binding.add(app)
        return True

    def worker_up(self, app: str) -> None:
        """The app's worker started."""
        self._binding.discard(app)
        self._bound.add(app)

    def worker_gone(self, app: str) -> None:
        """The app's worker died or could not be started."""
        self._binding.discard(app)
        self._bound.discard(app)

    def bound(self) -> Set[str]:
        """Apps whose worker is up (a read-only view)."""
        return self._bound

    def binding(self) -> Set[str]:
        """Apps whose worker is being started (a read-only view)."""
        return self._binding

    def broken_invariants(self) -> list[str]:
        """What is wrong with the table (empty when all holds)."""
        problems = []
        if len(self._by_key) != len(self._by_id):
            problems.append(f"{len(self._by_key)} runs by key but {len(self._by_id)} by id")
        for run_id, ctx in self._by_id.items():
            if ctx.run_id != run_id or self._by_key.get(ctx.status.key) is not ctx:
                problems.append(f"run {run_id} of {ctx.status.key} is not found by its key")
        if self._bound & self._binding:
            problems.append(f"bound and binding at once: {sorted(self._bound & self._binding)}")
        return problems
