"""Scheduling several downloads with at most N running: ``uidt download URL… / -i FILE``.

Each file is its own user-initiated job of the transfers app, scheduled exactly as a single
``uidt download`` schedules it (same job id: its destination; attach to the same job when it
already runs). The command itself keeps at most ``-j N`` of them scheduled and not yet ended:
it schedules the first N, then the next each time one ends (it watches the daemon's job list,
a long poll). So the core's rules hold unchanged for every job (its concurrency limit, the
per-app limit of scheduled jobs, constraints, quotas): the batch only never asks for more than
N at once, and a 200-file batch never meets the per-app limit of 150 scheduled jobs.

Without ``--wait`` the command returns once the last file is scheduled (with more files than N,
it stays until then). With ``--wait`` it also follows them to the end in one combined view
(:mod:`uidt.cli.batchview`). Exit status: 0 when every file finished; 1 when any did not (the
summary names each such file, its line and why); 130 after Ctrl-C, which stops the command
only: scheduled files go on, the ones not yet scheduled are counted, and running the same
command again attaches to the running ones and schedules the rest (finished files are
downloaded again: the same job id is a new scheduling).

A daemon that goes away meanwhile (killed, restarted) is waited for or started as for a single
``--wait`` (:class:`uidt.cli.reconnect.Losses`): the persisted files go on under the next daemon
and the command follows and feeds them there; one stopped on purpose ends the command with 1
and says the scheduled files go on when a daemon starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import click

from uidt.app.scheduler import JobScheduler
from uidt.cli.batchview import BatchView, FileState
from uidt.cli.context import CliContext, print_json
from uidt.cli.follow import EXIT_INTERRUPTED, POLL_S, TERMINAL_STATES, WAIT_MS
from uidt.cli.reconnect import DaemonStopped, Losses
from uidt.cli.retrylines import RetryLines
from uidt.cli.submit import admission_note, schedule_or_attach
from uidt.errors import DaemonError
from uidt.job.info import JobInfo
from uidt.transfers.jobs import TRANSFERS_APP


@dataclass
class _Slot:
    job: JobInfo
    file: FileState
    generation: int | None = None
    scheduled: bool = False
    asked: bool = False  # a schedule request went out; its answer may not have come
    over: bool = False
    retries: RetryLines = field(init=False)  # what --wait said of its retries

    def __post_init__(self) -> None:
        self.retries = RetryLines(self.job.job_id)


class BatchRun:
    """The jobs of one batch, fed to the daemon at most ``limit`` at a time."""

    def __init__(self, cli: CliContext, jobs: list[tuple[JobInfo, FileState]], limit: int) -> None:
        self.cli = cli
        self.slots = [_Slot(job, file) for job, file in jobs]
        self.limit = max(1, limit)
        self.view: BatchView | None = None
        self.scheduler = JobScheduler(TRANSFERS_APP, home=cli.home, _connection=cli.connection())

    def _open(self) -> list[_Slot]:
        return [s for s in self.slots if s.scheduled and not s.over]

    def _feed(self) -> None:
        """Schedule waiting files until ``limit`` are open."""
        waiting = [s for s in self.slots if not s.scheduled]
        room = self.limit - len(self._open())
        if room <= 0 or not waiting:
            return
        with self.scheduler.activity():  # the user's command: the app is visible meanwhile
            for slot in waiting[:room]:
                slot.asked = True
                answer = schedule_or_attach(self.cli.connection(), slot.job)
                if answer["result"] != JobScheduler.RESULT_SUCCESS:
                    raise click.ClickException(
                        f"the daemon refused the job for {slot.file.where} (RESULT_FAILURE): is "
                        f"RUN_USER_INITIATED_JOBS revoked for {TRANSFERS_APP}?"
                    )
                slot.scheduled = True
                slot.generation = answer.get("generation")
                slot.file.state = "pending"
                if not self.cli.json_output:
                    click.echo(slot.job.job_id)
                note = admission_note(answer, slot.job, "download", wait=False)
                if note:  # attached to the same download, or replaced another one
                    self._say(f"{slot.file.where}: {note}")

    def _unscheduled(self) -> str:
        """The files not known to be scheduled, said truly: a request whose answer never came
        (Ctrl-C, a lost daemon) may have scheduled its file."""
        unanswered = sum(1 for s in self.slots if s.asked and not s.scheduled)
        never = sum(1 for s in self.slots if not s.asked)
        words = f"{never} not scheduled"
        if unanswered:
            words += (
                f", {unanswered} asked for without an answer (it may run: `uidt jobs` shows it; "
                "the same command attaches to it)"
            )
        return words

    def _say(self, line: str) -> None:
        if self.view is not None:
            self.view.console.print(line, highlight=False, soft_wrap=True)
        else:
            click.echo(line, err=True)

    def _look(self, version: int | None) -> int | None:
        """One ask for the job list (a long poll after the first); updates every open slot."""
        wait = {} if version is None else {"since": version, "wait_ms": WAIT_MS}
        query = {"app": TRANSFERS_APP, "all": True, **wait}
        reply = self.cli.connection(autostart=False).request("GET", "/v1/jobs", query=query)
        jobs: list[dict[str, Any]] = reply["jobs"]
        for slot in self._open():
            record = _find(jobs, slot)
            if record is None:
                if slot.generation is not None:
                    slot.file.state, slot.file.failure = "gone", "its end was not recorded"
                    self._end(slot)
                continue
            slot.file.update(record)
            for news in slot.retries.news(record) if self.view is not None else ():
                self._say(f"job {slot.job.job_id}: {news}")  # "retrying: <reason>", once
            if record.get("state") in TERMINAL_STATES:
                self._end(slot)
        new = reply.get("version")
        return new if isinstance(new, int) else None

    def _end(self, slot: _Slot) -> None:
        slot.over = True
        if self.view is not None:
            self.view.ended(slot.file)

    def run(self, *, wait: bool) -> int:
        """Schedule every file (and with ``wait`` follow them); the exit status."""
        version: int | None = None
        losses = Losses(self.cli)
        try:
            try:
                self._feed()
            except DaemonError as exc:
                # The daemon starts a file at once and may go (killed, restarted) before its
                # answer comes back: followed as any later loss is (the loop asks again).
                losses.lost(exc)
            if wait:
                self.view = BatchView([s.file for s in self.slots])
            while any(not s.scheduled for s in self.slots) or (wait and self._open()):
                try:
                    version = self._look(version)
                    self._feed()
                except DaemonError as exc:
                    # The daemon went away (killed, restarted): the scheduled files go on under
                    # the next daemon, which counts its changes from the start; a file whose
                    # schedule answer was lost is asked again (attach: safe to repeat).
                    losses.lost(exc)
                    version = None
                    continue
                losses.answered()
                if self.view is not None:
                    self.view.refresh()
                if version is None:
                    time.sleep(POLL_S)  # noqa: TID251 - a human-facing poll of an older daemon
        except DaemonStopped as exc:
            if self.view is not None:
                self.view.close()
            click.echo(
                f"{exc}: stopped following; {len(self._open())} scheduled file(s) are persisted "
                f"and go on when a daemon starts (`uidt jobs` shows them), {self._unscheduled()}"
                " — run the same command again to schedule the rest",
                err=True,
            )
            return 1
        except KeyboardInterrupt:
            if self.view is not None:
                self.view.close()
            click.echo("", err=True)
            click.echo(
                f"stopped following; {len(self._open())} scheduled file(s) go on in the "
                f"background, {self._unscheduled()} — run the same command again to schedule "
                "the rest",
                err=True,
            )
            return EXIT_INTERRUPTED
        if self.view is not None:
            self.view.refresh(last=True)
            self.view.close()
        if self.cli.json_output:
            print_json([self._json(s) for s in self.slots])
        if not wait:
            return 0
        return _summary([s.file for s in self.slots])

    @staticmethod
    def _json(slot: _Slot) -> dict[str, Any]:
        return {
            "job_id": slot.job.job_id,
            "app": TRANSFERS_APP,
            "generation": slot.generation,
            "dest": str(slot.job.extras.get("dest")),
            "where": slot.file.where,
            "state": slot.file.state,
        }


def _find(jobs: list[dict[str, Any]], slot: _Slot) -> dict[str, Any] | None:
    for job in jobs:
        if job.get("app") != TRANSFERS_APP or job.get("namespace") is not None:
            continue
        if job.get("job_id") != slot.job.job_id:
            continue
        if slot.generation is None or job.get("generation") == slot.generation:
            return job
    return None


def _summary(files: list[FileState]) -> int:
    """Print which files did not finish; 0 when all did, else 1."""
    bad = [f for f in files if f.state != "finished"]
    if not bad:
        click.echo(f"all {len(files)} files finished", err=True)
        return 0
    click.echo(f"{len(bad)} of {len(files)} files did not finish:", err=True)
    for f in bad:
        click.echo(f"  {f.name} ({f.where}): {f.failure or f.state}", err=True)
    return 1
