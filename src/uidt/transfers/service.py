"""``HttpDownloadService`` / ``HttpUploadService``: the built-in app's JobServices.

Written only against the public :class:`~uidt.app.service.JobService` API, as an app author
would: ``on_start_job`` posts the notification and starts the transfer task; ``on_stop_job``
cancels it (the engine leaves a consistent checkpoint) and asks to be rescheduled; the engine's
progress goes to the notification (a few times a second) and to
``update_transferred_network_bytes``; the size goes to ``update_estimated_network_bytes``.
A permanent failure ends the job with ``job_failed`` (it reads ``failed`` with the reason
everywhere a job is shown) and the reason in its notification, which stays (DETACH). Transient
trouble that outlasts a run's retries (a download's or an upload's) ends the run with
``job_finished(params, True)`` instead: the scheduler runs it again after its backoff, the
notification says "waiting to retry" and "retrying: <reason>" meanwhile, and
:mod:`uidt.transfers.patience` bounds how many such runs without progress the job may spend
before it fails.

Each run paces itself with a :class:`~uidt.transfers.throttle.Throttle`: the job's own
``limit_rate`` (``--limit-rate``) and the share of the daemon's ``bandwidth_limit`` it is told
(``params.bandwidth_limit``, changed while it runs through ``on_bandwidth_limit_changed``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from uidt.app.service import JobService
from uidt.errors import (
    DestinationBusyError,
    FencedOffError,
    InvalidJobError,
    RetryLaterError,
    SettingsError,
    TransferError,
)
from uidt.job.notification import Notification
from uidt.job.params import JobParameters
from uidt.job.reasons import Incomplete
from uidt.redact import redact
from uidt.transfers.download import DownloadResult, download
from uidt.transfers.extras import limit_rate, segment_rule, speed_rule
from uidt.transfers.fence import Fence, Lease, takeover_text
from uidt.transfers.jobs import CHANNEL, DONE, FAILED, PAUSED, RETRYING, WAITING
from uidt.transfers.lockholder import HolderKind, holder_kind
from uidt.transfers.mirrors import from_sources, sources
from uidt.transfers.patience import Patience, upload_patience_path
from uidt.transfers.reporting import (
    DETACH,
    PAUSED_ACTIONS,
    RUNNING_ACTIONS,
    WAITING_ACTIONS,
    Reporter,
    shown,
)
from uidt.transfers.request import RequestOptions
from uidt.transfers.retry import RetryPolicy, Sleep
from uidt.transfers.retrynotes import listening
from uidt.transfers.running import RUNNING, Running, other_writer
from uidt.transfers.safefile import mode_for_umask
from uidt.transfers.throttle import Throttle
from uidt.units import human_bytes

log = logging.getLogger("uidt.transfers")

MiB = 1024 * 1024


class _TransferService(JobService):
    verb = "Transfer"

    def __init__(self) -> None:
        super().__init__()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._throttles: dict[int, Throttle] = {}  # by run
        #: The engine's in-run retries and its sleeper (tests swap in one that does not wait).
        self.retry_policy = RetryPolicy()
        self.sleep: Sleep = asyncio.sleep

    def describe(self, extras: dict[str, Any]) -> str:
        raise NotImplementedError

    async def transfer(self, params: JobParameters, report: Reporter) -> str:
        raise NotImplementedError

    def throttle(self, params: JobParameters) -> Throttle:
        """The run's rate limit: its own ``limit_rate`` and its share of the global one.

        Raises:
            TransferError: ``limit_rate`` in the job's extras is not a positive integer.
        """
        throttle = self._throttles.get(params.run_id)
        if throttle is None:
            throttle = self._throttles[params.run_id] = Throttle(limit_rate(params.extras))
            throttle.set_share(params.bandwidth_limit)
        return throttle

    def on_bandwidth_limit_changed(self, params: JobParameters) -> None:
        throttle = self._throttles.get(params.run_id)
        if throttle is not None:
            throttle.set_share(params.bandwidth_limit)

    async def on_start_job(self, params: JobParameters) -> bool:
        name = self.describe(params.extras)
        reporter = Reporter(self, params, f"{self.verb} {name}")
        self.set_notification(
            params,
            params.job_id,
            Notification(
                CHANNEL,
                f"{self.verb} {name}",
                reporter.marked("starting"),
                actions=RUNNING_ACTIONS,
            ),
            DETACH,
        )
        RUNNING[params.job_id] = Running(self, params, reporter)
        self._tasks[params.job_id] = asyncio.get_running_loop().create_task(
            self._run(params, reporter)
        )
        return True

    async def stop_transfer(self, job_id: int) -> bool:
        """Stop the job's transfer task and wait for it (the engine commits its checkpoint);
        ``False`` when none was running (it had ended, or the scheduler stopped it)."""
        task = self._tasks.pop(job_id, None)
        entry = RUNNING.get(job_id)
        if entry is not None and entry.service is self:
            del RUNNING[job_id]
        if task is None:
            return False
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return True

    def paused(self, params: JobParameters, report: Reporter) -> None:
        """The transfer was paused: say so, keep the part file, end the job for now."""
        last = report.last
        if last is not None and last.total:
            text = f"paused at {human_bytes(last.done)} of {human_bytes(last.total)}"
        elif last is not None:
            text = f"paused at {human_bytes(last.done)}"
        else:
            text = "paused"
        self.set_notification(
            params,
            params.job_id,
            Notification(
                CHANNEL,
                f"{report.title} {PAUSED}",
                report.marked(text),
                progress=None if last is None else last.fraction,
                ongoing=False,
                actions=PAUSED_ACTIONS,
            ),
            DETACH,
        )
        self.job_ended_incomplete(params, Incomplete.PAUSED, text)

    def patience(self, params: JobParameters) -> Patience | None:
        """The cross-run count of transient trouble (``None``: such a run fails the job)."""
        return None

    async def _run(self, params: JobParameters, reporter: Reporter) -> None:
        title = reporter.title
        patience = self.patience(params)
        try:
            with listening(reporter.retrying):
                summary = reporter.marked(await self.transfer(params, reporter))
        except asyncio.CancelledError:
            raise
        except InvalidJobError as exc:  # the job's request options are not usable
            self._failed(params, title, exc)
        except RetryLaterError as exc:
            if patience is None:
                self._failed(params, title, exc)
            else:
                self._ran_out(params, title, patience, exc)
        except FencedOffError as exc:
            # Not a failure: the job goes on on the host that took it over
            self._fenced_off(params, title, exc)
        except DestinationBusyError as exc:
            # Another transfer writing the destination keeps the count: it is not this job's.
            self._busy(params, title, patience, exc)
        except (TransferError, OSError) as exc:
            if patience is not None:
                patience.forget()
            self._failed(params, title, exc)
        else:
            if patience is not None:
                patience.forget()
            self.set_notification(
                params,
                params.job_id,
                Notification(CHANNEL, f"{title} {DONE}", summary, progress=1.0, ongoing=False),
                DETACH,
            )
            self.job_finished(params, False)
        finally:
            self._tasks.pop(params.job_id, None)
            self._throttles.pop(params.run_id, None)
            entry = RUNNING.get(params.job_id)
            if entry is not None and entry.params is params:
                del RUNNING[params.job_id]

    def _busy(
        self,
        params: JobParameters,
        title: str,
        patience: Patience | None,
        exc: DestinationBusyError,
    ) -> None:
        """Another process holds the destination's part file (:mod:`uidt.transfers.lockholder`).

        A worker of this daemon that runs no other job writing there holds it for an earlier
        run of this job that has not let go yet: the run asks to run again later (a transient
        condition, the reason said). Another job of this daemon writing the same destination,
        or any other process, is a second writer: the job fails with the clear refusal.
        """
        other = other_writer(params)
        if other is not None:
            exc = DestinationBusyError(exc.errno, f"{exc}: job {other} is downloading into it")
        elif holder_kind(exc.holder_pid) is HolderKind.SAME_DAEMON and patience is not None:
            later = RetryLaterError(f"{exc}: an earlier run of this job has not let go of it yet")
            self._ran_out(params, title, patience, later)
            return
        self._failed(params, title, exc)

    def _fenced_off(self, params: JobParameters, title: str, exc: FencedOffError) -> None:
        """Another lease holds the destination: neither a failure nor a success. The run asks
        to run again later; its daemon, which lost the lease (or will learn so at its next
        heartbeat), forgets the job instead. Where the lease is still this host's (another job
        writing the same destination), the job retries after the scheduler's backoff."""
        log.warning("%s: stopped writing: %s", title, exc)
        self.set_notification(
            params,
            params.job_id,
            Notification(CHANNEL, f"{title} {WAITING}", shown(params, str(exc)), ongoing=False),
            DETACH,
        )
        self.job_finished(params, True)

    def _failed(self, params: JobParameters, title: str, exc: BaseException | str) -> None:
        reason = shown(params, str(exc))  # the job's reason is shown everywhere: no secret
        log.warning("%s failed: %s", title, reason)
        self.set_notification(
            params,
            params.job_id,
            Notification(CHANNEL, f"{title} {FAILED}", reason, ongoing=False),
            DETACH,
        )
        self.job_failed(params, reason)

    def _ran_out(
        self, params: JobParameters, title: str, patience: Patience, exc: RetryLaterError
    ) -> None:
        """Transient trouble outlasted this run: ask to run again later, or fail at last."""
        reason = shown(params, str(exc))
        try:
            verdict = patience.ran_out(reason, progressed=exc.progressed, now=time.time())
        except OSError as err:  # the count cannot be kept: failing is the bounded choice
            self._failed(params, title, f"{reason} (and cannot record the retry: {err})")
            return
        if verdict.give_up:
            self._failed(params, title, verdict.reason)
            return
        log.info("%s: retrying later (run %d): %s", title, verdict.idle_runs, reason)
        # Not ongoing: nothing runs until the scheduler's backoff has passed.
        self.set_notification(
            params,
            params.job_id,
            Notification(
                CHANNEL,
                f"{title} {WAITING}",
                f"{RETRYING} {reason}",
                ongoing=False,
                actions=WAITING_ACTIONS,
            ),
            DETACH,
        )
        self.job_finished(params, True)

    async def on_stop_job(self, params: JobParameters) -> bool:
        entry = RUNNING.get(params.job_id)
        if entry is not None and entry.params is params:
            del RUNNING[params.job_id]
        task = self._tasks.pop(params.job_id, None)
        if task is not None:
            task.cancel()
            # The engine checkpoints on cancellation; wait so the next run finds it consistent.
            await asyncio.gather(task, return_exceptions=True)
        return True


def fence_of(params: JobParameters, dest: Path) -> Fence | None:
    """The destination's fence for a run on a shared store (``None`` on a store of one host)."""
    if params.host_id is None or params.lease_generation is None:
        return None
    return Fence(dest, Lease(params.host_id, params.lease_generation))


class HttpDownloadService(_TransferService):
    """Resumable HTTP(S) download of ``extras["url"]`` to ``extras["dest"]``."""

    verb = "Download"

    def describe(self, extras: dict[str, Any]) -> str:
        return Path(str(extras.get("dest", "file"))).name

    def patience(self, params: JobParameters) -> Patience | None:
        dest = params.extras.get("dest")
        return Patience(Path(str(dest))) if dest else None

    async def transfer(self, params: JobParameters, report: Reporter) -> str:
        extras = params.extras
        started = time.monotonic()
        lowest_speed, lowest_speed_seconds = speed_rule(extras)
        split, min_split_size = segment_rule(extras)
        umask = extras.get("umask")
        dest = Path(str(extras["dest"]))
        fence = fence_of(params, dest)

        every = sources(extras)

        async def fetch(url: str, request: RequestOptions) -> DownloadResult:
            return await download(
                url,
                dest,
                mirrors=[other for other in every if other != url],
                sha256=extras.get("sha256"),
                # The mode the scheduling user's umask gives (a job without one: the worker's).
                mode=mode_for_umask(umask) if isinstance(umask, int) else None,
                allow_insecure_redirect=extras.get("allow_insecure_redirect") is True,
                request=request,
                on_progress=report.progress,
                on_estimate=report.estimate,
                on_notice=report.notice,
                lowest_speed=lowest_speed,
                lowest_speed_seconds=lowest_speed_seconds,
                retries=self.retry_policy,
                sleep=self.sleep,
                throttle=self.throttle(params),
                split=split,
                min_split_size=min_split_size,
                fence=fence,
            )

        def switched(source: str, reason: str) -> None:
            log.info(
                "%s: source %s failed (%s), trying the next", dest.name, redact(source), reason
            )

        try:
            result = await from_sources(
                every, RequestOptions.from_extras(extras), fetch, on_switch=switched
            )
        except SettingsError as exc:  # a rule out of range: the job's own fault, said clearly
            raise TransferError(str(exc)) from exc
        # The engine has told the complete count already (its last progress report).
        verified = ", SHA-256 verified" if result.sha256 else ""
        resumed = f", resumed at {human_bytes(result.resumed_from)}" if result.resumed_from else ""
        if params.taken_over and fence is not None:
            resumed = f", {takeover_text(result.resumed_from, fence.superseded)}"
            log.info("%s: %s", dest.name, resumed[2:])
        seconds = time.monotonic() - started
        rate = f"{human_bytes(result.bytes_received / seconds)}/s" if seconds > 0 else "-"
        log.info(
            "downloaded %s to %s in %.2f s (%s, %d bytes received)",
            redact(str(extras["url"])),
            result.path,
            seconds,
            rate,
            result.bytes_received,
        )
        return f"{human_bytes(result.size)} saved to {result.path}{verified}{resumed}"


class HttpUploadService(_TransferService):
    """Upload of ``extras["source"]`` to ``extras["url"]`` (tus when offered, else PUT/POST)."""

    verb = "Upload"

    def describe(self, extras: dict[str, Any]) -> str:
        return Path(str(extras.get("source", "file"))).name

    def patience(self, params: JobParameters) -> Patience | None:
        source = params.extras.get("source")
        if not source:
            return None
        path = Path(str(source))
        return Patience(path, state=upload_patience_path(path))

    async def transfer(self, params: JobParameters, report: Reporter) -> str:
        # aiohttp: imported by uploads only
        from uidt.transfers.upload import TusPolicy, TusUnsupportedError, UploadMode, upload

        extras = params.extras
        report.upload = True
        method = "POST" if str(extras.get("method", "PUT")).upper() == "POST" else "PUT"
        # extras["tus"] (``uidt upload --tus``): tus or nothing; otherwise a server without tus
        # gets a plain request, and the final notification says so.
        policy = TusPolicy.REQUIRE if extras.get("tus") else TusPolicy.PREFER
        try:
            result = await upload(
                Path(str(extras["source"])),
                str(extras["url"]),
                plain_method=method,
                tus=policy,
                request=RequestOptions.from_extras(extras),
                on_progress=report.progress,
                on_estimate=report.estimate,
                on_notice=report.notice,
                retries=self.retry_policy,
                sleep=self.sleep,
                throttle=self.throttle(params),
            )
        except TusUnsupportedError as exc:
            hint = f"(without --tus it is sent with a plain {method})"
            raise TusUnsupportedError(f"{exc} {hint}") from exc
        sent = f"{human_bytes(result.size)} sent to {result.url}"
        if result.mode is UploadMode.PLAIN:
            return f"{sent} with a plain {method}: fell back, the server does not speak tus"
        return f"{sent} (tus)"
