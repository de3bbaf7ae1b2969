"""``JobKey``: a job's identity, shared by the core, the stores, notifications and the daemon."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class JobKey:
    """A job's identity: (app, namespace, job id). ``namespace`` ``None`` is the default namespace."""

    app: str
    namespace: str | None
    job_id: int

    def __str__(self) -> str:
        ns = f"{self.namespace}:" if self.namespace is not None else ""
        return f"{self.app}/{ns}{self.job_id}"
