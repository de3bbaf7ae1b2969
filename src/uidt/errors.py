"""The uidt exception tree.

Every exception uidt raises derives from :class:`UidtError` and, where one fits, from the
builtin an Android developer would expect (Android's exception in brackets)::

    UidtError
    ├── InvalidJobError            (ValueError)        [IllegalArgumentException]
    ├── JobPermissionError         (PermissionError)   [SecurityException]
    ├── JobLimitError              (RuntimeError)      [IllegalStateException]
    ├── ManifestError              (ValueError)        bad uidt.toml / entry point
    ├── SettingsError              (ValueError)        unknown or malformed setting
    ├── StoreError                 (OSError)           job store cannot be opened / written
    │   ├── StoreCorruptError                          the file is not a uidt store
    │   ├── StoreVersionError                          the file was written by a newer uidt
    │   └── LeaseLostError                             another host holds the job's lease now
    ├── DaemonError                (ConnectionError)   no daemon could be reached or started
    ├── ProtocolError              (ValueError)        malformed IPC / API message
    ├── IllegalTransitionError     (RuntimeError)      the core moved a job to a state it may not reach
    └── TransferError              (OSError)           a transfer failed for good
        ├── RemoteError                                HTTP status the transfer cannot use
        │   └── InconsistentServerError                the server contradicts itself, again
        ├── ResourceChangedError                       validator changed between runs
        ├── IntegrityError                             SHA-256 did not match
        ├── NoSpaceError                               not enough free space at the destination
        ├── DestinationBusyError                       another transfer is writing the file
        │   └── HolderNotGoneError   (+ RetryLaterError) a worker of a dead daemon still holds it
        ├── FencedOffError                             another host took the transfer over
        ├── UnsafeFileError                            a file there is not safely the user's
        ├── ServerCertificateError                     the server's TLS certificate was refused
        └── InsecureRedirectError                      an https:// URL redirected to http://

Stops delivered into app code derive from ``BaseException`` (see :class:`JobStopped`) so that an
``except Exception`` in an app cannot swallow them.
"""

from __future__ import annotations


class UidtError(Exception):
    """Root of every uidt error."""


class InvalidJobError(UidtError, ValueError):
    """A job, work item or namespace broke one of Android's validation rules."""


class JobPermissionError(UidtError, PermissionError):
    """A required permission was not declared in the app's manifest."""


class JobLimitError(UidtError, RuntimeError):
    """An app went past a hard limit (for example 150 distinct jobs)."""


class ManifestError(UidtError, ValueError):
    """An app manifest (``uidt.toml`` or entry point) is malformed."""


class SettingsError(UidtError, ValueError):
    """A setting is unknown or its value cannot be parsed."""


class ScenarioError(UidtError, ValueError):
    """A ``uidt sim`` scenario is malformed; ``line`` is where (1-based), when known."""

    def __init__(self, message: str, *, line: int | None = None, source: str = "") -> None:
        if line is not None:
            where = f"{source}:{line}: " if source else f"line {line}: "
        else:
            where = f"{source}: " if source else ""
        super().__init__(f"{where}{message}")
        self.line = line
        self.reason = message


class RenderError(UidtError, RuntimeError):
    """A timeline picture cannot be drawn (an unknown file type, or matplotlib missing for PNG)."""


class StoreError(UidtError, OSError):
    """The job store cannot be opened, read or written."""


class StoreCorruptError(StoreError):
    """The store file exists but is not a readable uidt store."""


class StoreVersionError(StoreError):
    """The store was written by a newer version of uidt."""


class LeaseLostError(StoreError):
    """A shared store refused a write of a job: this host no longer holds the job's lease.

    Another host claimed the job after this host's lease expired (a higher lease generation),
    or the job is gone from the store. The job must stop on this host at once (fencing).
    """

    def __init__(self, message: str, key: object = None) -> None:
        super().__init__(message)
        #: The :class:`~uidt.job.key.JobKey` of the job whose lease was lost.
        self.key = key


class DaemonError(UidtError, ConnectionError):
    """No uidt daemon could be reached or started."""


class DaemonConnectionLost(DaemonError):
    """The daemon took a request and the connection ended before its whole answer came (the
    daemon was killed or restarted meanwhile): whether the request took effect is unknown.
    Repeat it only where repeating is harmless (a schedule with ``attach``, a read)."""


class ProtocolError(UidtError, ValueError):
    """A message on the control API or the worker IPC channel is malformed."""


class IllegalTransitionError(UidtError, RuntimeError):
    """The scheduler core tried to move a job between two states that have no transition (a bug)."""


class TransferError(UidtError, OSError):
    """A transfer failed in a way a retry within the same run cannot fix."""


class RemoteError(TransferError):
    """The server answered with a status the transfer cannot use (404, 403, ...)."""


class InconsistentServerError(RemoteError):
    """The server kept contradicting itself (fewer bytes than announced, a file that changes
    on every try), past the bounded number of restarts from zero."""


class ResourceChangedError(TransferError):
    """The remote resource changed (ETag / Last-Modified) since the transfer began."""


class IntegrityError(TransferError):
    """The transferred bytes do not match the expected SHA-256."""


class NoSpaceError(TransferError):
    """The destination volume has not enough free space."""


class DestinationBusyError(TransferError):
    """Another transfer (another process, or another daemon) is writing the same destination.

    ``holder_pid`` is the pid holding the part file's lock, where ``/proc/locks`` names it.
    """

    holder_pid: int | None = None


class FencedOffError(TransferError):
    """Another host of the fleet took this transfer over: its fence names a newer lease
    generation than this run's (docs/fleet.md). The run stops writing at once; the job is not
    failed, it goes on on the other host."""


class UnsafeFileError(TransferError):
    """A file at the destination is not safely the user's (a planted link or another user's file)."""


class ServerCertificateError(TransferError):
    """The server's TLS certificate was not accepted (untrusted, expired, for another host)."""


class ProxyError(TransferError):
    """The proxy refused the request for good (``407``: it wants credentials; another 4xx)."""


class InsecureRedirectError(TransferError):
    """An ``https://`` URL redirected to ``http://`` and the user did not allow it."""


class RetryLaterError(TransferError):
    """Transient trouble (network errors, timeouts, 5xx, 429, a too-slow transfer) outlasted
    the retries of one run: a later run may well succeed.

    The download service ends such a run asking to be rescheduled (the scheduler's backoff)
    instead of failing the job; ``progressed`` says whether this run stored any new bytes.
    """

    def __init__(self, message: str, *, progressed: bool = False) -> None:
        super().__init__(message)
        self.progressed = progressed


class HolderNotGoneError(RetryLaterError, DestinationBusyError):
    """The part file's lock is held by a worker whose daemon is gone (a ``kill -9`` of the
    daemon, then a new run), and it did not let go within the bounded wait: a transient
    condition, so the run asks to run again later rather than failing the job
    (:mod:`uidt.transfers.lockholder`)."""


class JobStopped(BaseException):
    """Raised inside app code when the system stops its job; not catchable by ``except Exception``."""
