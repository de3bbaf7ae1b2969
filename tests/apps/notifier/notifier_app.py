"""A test app that uses its NotificationManager from inside a running job (Android's CTS
``NotificationTest.testUserInitiatedJobNotificationBehavior``).

The job's extras: ``home`` (the daemon's home), ``log`` (where each step appends a line) and
``channel`` (the channel of the job's notification; ``created`` is created first). It sets its
notification (id = the job id), then, as the app (not the job), tries to cancel that notification
and to delete its channel, and logs what happened; then it runs until stopped.
"""

from __future__ import annotations

from pathlib import Path

from uidt import AsyncNotificationManager, JobParameters, Notification, NotificationChannel
from uidt.app.service import JobService


def _log(params: JobParameters, line: str) -> None:
    with Path(params.extras["log"]).open("a") as out:
        out.write(line + "\n")


class NotifierService(JobService):
    async def on_start_job(self, params: JobParameters) -> bool:
        manager = AsyncNotificationManager("org.example.notifier", home=params.extras["home"])
        channel = params.extras.get("channel", "created")
        if channel == "created":
            await manager.create_notification_channel(NotificationChannel("created", "Created"))
        nid = params.job_id
        await self.aset_notification(params, nid, Notification(channel, f"job {nid}"), 0)
        await manager.cancel(nid)
        shown = [n.id for n in await manager.get_active_notifications()]
        _log(params, f"after cancel: {'shown' if nid in shown else 'gone'}")
        try:
            await manager.delete_notification_channel(channel)
        except PermissionError as exc:
            _log(params, f"delete channel: PermissionError: {exc}")
        except ValueError as exc:
            _log(params, f"delete channel: ValueError: {exc}")
        else:
            _log(params, "delete channel: deleted")
        channels = [c.id for c in await manager.get_notification_channels()]
        _log(params, f"channel {channel}: {'kept' if channel in channels else 'gone'}")
        return True

    def on_stop_job(self, params: JobParameters) -> bool:
        return False
