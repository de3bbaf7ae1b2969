"""A test app that receives its notification actions (``notification_receiver``).

Each click appends ``click ID ACTION source=SOURCE job=JOB`` to ``$UIDT_HOME/clicks.log`` (the
daemon puts its home in the worker's environment); the action ``schedule`` then schedules a
user-initiated job (id 500 + the notification id) from the worker, with no activity shown, and
logs the result: only the click's user-interaction grant lets it succeed. The action ``boom``
raises (the worker must carry on). The job's service sets a notification and finishes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from uidt import (
    JobInfo,
    JobParameters,
    JobScheduler,
    NetworkType,
    Notification,
    NotificationActionReceiver,
)
from uidt.app.service import JobService

APP = "org.example.clicker"


def _log(line: str) -> None:
    with (Path(os.environ["UIDT_HOME"]) / "clicks.log").open("a") as out:
        out.write(line + "\n")


class Clicks(NotificationActionReceiver):
    def on_notification_action(
        self, notification_id: int, action_id: str, params: dict[str, Any]
    ) -> None:
        _log(
            f"click {notification_id} {action_id} source={params['source']} job={params['job_id']}"
        )
        if action_id == "boom":
            raise RuntimeError("the receiver failed on purpose")
        if action_id == "schedule":
            job = (
                JobInfo.Builder(500 + notification_id, "clicker_app:ClickedService")
                .set_user_initiated(True)
                .set_required_network_type(NetworkType.ANY)
                .set_estimated_network_bytes(1000, 0)
                .build()
            )
            try:
                result = JobScheduler(APP).schedule(job)
            except Exception as exc:
                _log(f"schedule: {type(exc).__name__}: {exc}")
            else:
                _log(f"schedule: {result}")


class ClickedService(JobService):
    def on_start_job(self, params: JobParameters) -> bool:
        self.set_notification(params, params.job_id, Notification("clicks", "scheduled"), 1)
        _log(f"job {params.job_id} ran")
        return False
