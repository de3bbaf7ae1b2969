"""Helpers for scenario tests of the scheduler core: an installed app, jobs, a started run."""

from __future__ import annotations

from uidt.job import JobInfo, NetworkType
from uidt.server import AppInfo, Caller, JobSchedulerService

APP = "org.example.photos"
SERVICE = "photos.sync:UploadService"
GIB = 1024**3


def make_app(package: str = APP, **changes: object) -> AppInfo:
    fields: dict[str, object] = {
        "package": package,
        "services": {SERVICE: "BIND_JOB_SERVICE"},
        "permissions": frozenset({"RUN_USER_INITIATED_JOBS", "RECEIVE_BOOT_COMPLETED"}),
        "channels": frozenset({"transfers"}),
    }
    fields.update(changes)
    return AppInfo(**fields)  # type: ignore[arg-type]


def uij(job_id: int = 1, **setters: object) -> JobInfo:
    builder = (
        JobInfo.Builder(job_id, SERVICE)
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.ANY)
    )
    for name, value in setters.items():
        method = getattr(builder, f"set_{name}")
        builder = method(*value) if isinstance(value, tuple) else method(value)
    return builder.build()


def regular(job_id: int = 1, **setters: object) -> JobInfo:
    builder = JobInfo.Builder(job_id, SERVICE).set_required_network_type(NetworkType.ANY)
    for name, value in setters.items():
        method = getattr(builder, f"set_{name}")
        builder = method(*value) if isinstance(value, tuple) else method(value)
    return builder.build()


VISIBLE = Caller(APP, visible=True)
BACKGROUND = Caller(APP, visible=False)


def started(service: JobSchedulerService, job: JobInfo | None = None, **behaviour: object) -> int:
    """Given a visible app's job scheduled and run by a default in-process app: its run id."""
    from uidt.server import StartJob
    from uidt.testing import AppBehaviour, InProcessApps, run_until_idle

    service.schedule(VISIBLE, None, job or uij())
    apps = InProcessApps(service, lambda _key: AppBehaviour(**behaviour))  # type: ignore[arg-type]
    actions = run_until_idle(service, apps)
    return [a for a in actions if isinstance(a, StartJob)][-1].run_id


def of_type(actions: list[object], kind: type) -> list:  # type: ignore[type-arg]
    return [a for a in actions if isinstance(a, kind)]
