"""The limited test app's only importable service: it notifies, logs and finishes at once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from uidt import JobParameters, Notification
from uidt.app.service import JobService


class FinishService(JobService):
    def on_start_job(self, params: JobParameters) -> bool:
        log = params.extras.get("log")
        if log:
            with Path(log).open("a") as out:
                out.write(f"start {params.job_id} limited\n")
        self.set_notification(params, params.job_id, Notification("work", "limited", ""), 1)
        self.job_finished(params, False)
        return True

    def on_stop_job(self, params: JobParameters) -> bool:
        return False


class GarbageService(JobService):
    """Writes bytes that are no protocol frame onto the worker's socket to the daemon."""

    def on_start_job(self, params: JobParameters) -> bool:
        log = params.extras.get("log")
        if log:
            with Path(log).open("a") as out:
                out.write(f"start {params.job_id} garbage\n")
        os.write(int(sys.argv[sys.argv.index("--fd") + 1]), b"\xff\xff\xff\xffnot a frame")
        return True

    def on_stop_job(self, params: JobParameters) -> bool:
        return True
