"""How a transfer shows itself: the notification's text and buttons, and the reporter that turns
the engine's callbacks into ``JobService`` calls (progress, estimate, notices, retries)."""

from __future__ import annotations

from uidt.app.service import JobService
from uidt.clock import Clock, SystemClock
from uidt.errors import InvalidJobError
from uidt.job.notification import Notification, NotificationAction
from uidt.job.params import JobParameters
from uidt.redact import redact
from uidt.transfers.jobs import CHANNEL
from uidt.transfers.notices import Notice
from uidt.transfers.progress import Progress
from uidt.transfers.request import RequestOptions
from uidt.transfers.retrynotes import RetryNote
from uidt.units import human_bytes

#: Starts the notification text of a transfer whose server certificate is not checked.
INSECURE_MARK = "INSECURE (certificate not checked)"
#: The transfer notifications stay when the job ends (Android's policy name, as apps use it).
DETACH = JobService.JOB_END_NOTIFICATION_POLICY_DETACH
#: The buttons of a running transfer's notification, and of a paused one's
#: (:mod:`uidt.transfers.actions` receives the clicks).
RUNNING_ACTIONS = (NotificationAction("pause", "Pause"), NotificationAction("cancel", "Cancel"))
PAUSED_ACTIONS = (NotificationAction("resume", "Resume"), NotificationAction("cancel", "Cancel"))
#: The button of a transfer waiting for its backoff after a run that gave up (``uidt cancel``).
WAITING_ACTIONS = (NotificationAction("cancel", "Cancel"),)


def progress_text(p: Progress, notices: list[Notice]) -> str:
    parts = [human_bytes(p.done) + (f" of {human_bytes(p.total)}" if p.total else "")]
    if p.rate > 0:
        parts.append(f"{human_bytes(p.rate)}/s")
    if p.eta is not None:
        minutes, seconds = divmod(int(p.eta), 60)
        parts.append(f"{minutes}:{seconds:02d} left")
    if notices:
        parts.append(notices[-1].text)
    return " · ".join(parts)


def request_options(params: JobParameters) -> RequestOptions:
    """The job's request options (malformed ones: none, the run then fails on them)."""
    try:
        return RequestOptions.from_extras(params.extras)
    except InvalidJobError:
        return RequestOptions()


def shown(params: JobParameters, text: str) -> str:
    """``text`` as it may be shown: no password of a URL, no secret header value."""
    return request_options(params).scrub(redact(text))


class Reporter:
    """Turns engine callbacks into JobService calls, a few per second at most.

    While the run retries (:meth:`retrying`, from the first failed attempt) the notification
    says so and why (``retrying: cannot reach 127.0.0.1:9 (connection refused)``), keeping the
    progress bar where it was; the next progress report shows the progress text again.
    """

    def __init__(
        self,
        service: JobService,
        params: JobParameters,
        title: str,
        clock: Clock | None = None,
    ) -> None:
        self.service = service
        self.params = params
        self.title = title
        self.notices: list[Notice] = []
        self.upload = False
        self.insecure = request_options(params).insecure
        #: The last progress reported (a paused transfer's notification says where it stopped).
        self.last: Progress | None = None
        self.retry_note = RetryNote(clock or SystemClock(), lambda text: shown(params, text))

    def marked(self, text: str) -> str:
        """``text`` led by :data:`INSECURE_MARK` when the certificate is not checked."""
        return f"{INSECURE_MARK} · {text}" if self.insecure else text

    def estimate(self, total: int) -> None:
        if self.upload:
            self.service.update_estimated_network_bytes(self.params, -1, total)
        else:
            self.service.update_estimated_network_bytes(self.params, total, -1)

    def notice(self, notice: Notice) -> None:
        if notice is not Notice.RETRIED or not self.notices:
            self.notices.append(notice)

    def retrying(self, exc: BaseException) -> None:
        """The run tries again after ``exc``: say so, unless it said the same just now."""
        text = self.retry_note.failed(exc)
        if text is None:
            return
        self._running_notification(text, None if self.last is None else self.last.fraction)

    def progress(self, p: Progress) -> None:
        self.last = p
        self.retry_note.flowing()
        if self.upload:
            self.service.update_transferred_network_bytes(self.params, 0, p.done)
        else:
            self.service.update_transferred_network_bytes(self.params, p.done, 0)
        self._running_notification(progress_text(p, self.notices), p.fraction)

    def _running_notification(self, text: str, fraction: float | None) -> None:
        """Post the running transfer's notification: ``text``, its bar at ``fraction``."""
        self.service.set_notification(
            self.params,
            self.params.job_id,
            Notification(
                CHANNEL, self.title, self.marked(text), progress=fraction, actions=RUNNING_ACTIONS
            ),
            DETACH,
        )
