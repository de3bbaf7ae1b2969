"""``JobParameters``: what a running ``JobService`` is told about its job."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from uidt.job.reasons import StopReason


@dataclass(eq=False)
class JobParameters:
    """Parameters of one run of a job.

    ``run_id`` identifies this run; calls made with the parameters of an earlier run are ignored
    by the system, as Android ignores stale ``JobParameters`` (docs/android-semantics.md#the-execution-slot-and-its-timeouts, item 10).
    """

    job_id: int
    namespace: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    transient_extras: dict[str, Any] = field(default_factory=dict)
    #: The network the job may use (``DeviceState.network`` as a dict), or ``None``.
    network: dict[str, Any] | None = None
    user_initiated: bool = False
    expedited: bool = False
    run_id: int = 0
    stop_reason: StopReason = StopReason.UNDEFINED
    #: uidt's addition: this run's share of the daemon's ``bandwidth_limit`` in bytes per
    #: second (``None``: no limit), kept current while the run lasts (see
    #: ``JobService.on_bandwidth_limit_changed``). Not part of :meth:`to_dict`: it travels in
    #: its own message.
    bandwidth_limit: int | None = None
    #: uidt's addition, on a shared store only (docs/fleet.md): the host running this run and
    #: the generation of the lease it holds on the job. The built-in transfers fence their
    #: destination with it, so a run whose lease another host took stops writing.
    host_id: str | None = None
    lease_generation: int | None = None
    #: With a lease: this host took the job over from another one (a claim of a free or
    #: expired lease while running), and this is its first run here.
    taken_over: bool = False

    def is_user_initiated_job(self) -> bool:
        return self.user_initiated

    def is_expedited_job(self) -> bool:
        return self.expedited

    def get_stop_reason(self) -> StopReason:
        return self.stop_reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "namespace": self.namespace,
            "extras": self.extras,
            "transient_extras": self.transient_extras,
            "network": self.network,
            "user_initiated": self.user_initiated,
            "expedited": self.expedited,
            "run_id": self.run_id,
            "stop_reason": int(self.stop_reason),
            **self._lease_dict(),
        }

    def _lease_dict(self) -> dict[str, Any]:
        if self.host_id is None or self.lease_generation is None:
            return {}
        lease: dict[str, Any] = {"host_id": self.host_id, "lease_generation": self.lease_generation}
        return {**lease, "taken_over": True} if self.taken_over else lease

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobParameters:
        return cls(
            job_id=int(data["job_id"]),
            namespace=data.get("namespace"),
            extras=dict(data.get("extras") or {}),
            transient_extras=dict(data.get("transient_extras") or {}),
            network=data.get("network"),
            user_initiated=bool(data.get("user_initiated", False)),
            expedited=bool(data.get("expedited", False)),
            run_id=int(data.get("run_id", 0)),
            stop_reason=StopReason(int(data.get("stop_reason", 0))),
            host_id=None if data.get("host_id") is None else str(data["host_id"]),
            lease_generation=(
                None if data.get("lease_generation") is None else int(data["lease_generation"])
            ),
            taken_over=data.get("taken_over") is True,
        )
