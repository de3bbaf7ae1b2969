"""The built-in transfer app ``uidt.transfers``: its manifest and the jobs `uidt download/upload` schedule."""

from __future__ import annotations

import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from uidt.job.info import JobInfo
from uidt.job.network import NetworkType
from uidt.transfers.names import CHANNEL as CHANNEL
from uidt.transfers.names import DOWNLOAD_SERVICE as DOWNLOAD_SERVICE
from uidt.transfers.names import PAUSED as PAUSED
from uidt.transfers.names import RETRYING as RETRYING
from uidt.transfers.names import TRANSFERS_APP as TRANSFERS_APP
from uidt.transfers.names import UPLOAD_SERVICE as UPLOAD_SERVICE

if TYPE_CHECKING:
    from uidt.packages.manifest import Manifest
    from uidt.transfers.request import RequestOptions
    from uidt.transfers.segments import Split

#: Final notification titles end with these words (for people: `--wait` reads the job's state).
DONE = "complete"
FAILED = "failed"
#: The title of a download waiting for the scheduler's backoff after transient trouble (not final).
WAITING = "waiting to retry"

NETWORK_CHOICES: dict[str, NetworkType] = {
    "any": NetworkType.ANY,
    "unmetered": NetworkType.UNMETERED,
    "not-roaming": NetworkType.NOT_ROAMING,
    "cellular": NetworkType.CELLULAR,
}

MANIFEST: dict[str, object] = {
    "package": TRANSFERS_APP,
    "permissions": ["RUN_USER_INITIATED_JOBS", "RECEIVE_BOOT_COMPLETED", "ACCESS_NETWORK_STATE"],
    "services": [
        {"name": DOWNLOAD_SERVICE, "permission": "BIND_JOB_SERVICE"},
        {"name": UPLOAD_SERVICE, "permission": "BIND_JOB_SERVICE"},
    ],
    "channels": [{"id": CHANNEL, "name": "Transfers"}],
    "notification_receiver": "uidt.transfers.actions:TransferActions",
}


def builtin_manifest() -> Manifest:
    """The built-in app's manifest, run with this interpreter."""
    from uidt.packages.manifest import Manifest  # only where a manifest is needed

    return Manifest.from_dict({**MANIFEST, "python": sys.executable})


def job_id_for(path: Path, url: str = "") -> int:
    """A stable job id: the same destination (or upload source and URL) is the same job."""
    return zlib.crc32(f"{path}\0{url}".encode()) & 0x7FFFFFFF


def _add_request(extras: dict[str, object], request: RequestOptions | None) -> None:
    """``extras["request"]``: the request options, when any is set (the store is private to
    the user; no view of a job shows its extras)."""
    data = request.to_extras() if request is not None else {}
    if data:
        extras["request"] = data


def _builder(
    job_id: int,
    service: str,
    *,
    network: str,
    requires_charging: bool,
    requires_battery_not_low: bool,
    requires_storage_not_low: bool,
    persisted: bool,
    host_labels: Sequence[str],
) -> JobInfo.Builder:
    builder = JobInfo.Builder(job_id, service)
    for label in host_labels:
        builder.add_required_host_label(label)
    return (
        builder.set_user_initiated(True)
        .set_required_network_type(NETWORK_CHOICES[network])
        .set_requires_charging(requires_charging)
        .set_requires_battery_not_low(requires_battery_not_low)
        .set_requires_storage_not_low(requires_storage_not_low)
        .set_persisted(persisted)
    )


def download_job(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    network: str = "any",
    requires_charging: bool = False,
    requires_battery_not_low: bool = False,
    requires_storage_not_low: bool = False,
    persisted: bool = True,
    host_labels: Sequence[str] = (),
    lowest_speed: int | None = None,
    lowest_speed_seconds: float | None = None,
    umask: int | None = None,
    allow_insecure_redirect: bool = False,
    request: RequestOptions | None = None,
    limit_rate: int | None = None,
    mirrors: Sequence[str] = (),
    split: Split | None = None,
    min_split_size: int | None = None,
) -> JobInfo:
    """The user-initiated job behind ``uidt download URL -o DEST``.

    ``lowest_speed`` (bytes/s, 0: off) and ``lowest_speed_seconds`` go to the job's extras
    only when given; the engine's defaults apply otherwise. ``umask`` is the scheduling user's
    (the finished file gets the mode it gives, not the daemon's); ``allow_insecure_redirect``
    lets an ``https://`` URL redirect to ``http://``; ``request`` (headers, credentials, TLS)
    goes to ``extras["request"]`` when it sets anything; ``limit_rate`` (bytes/s) is the
    transfer's own rate limit (``--limit-rate``); ``mirrors``, other sources of the same file
    (:mod:`uidt.transfers.mirrors`), to ``extras["mirrors"]`` when there are any; ``split``
    and ``min_split_size`` (``--split``, ``--min-split-size``: several connections for one
    file, :mod:`uidt.transfers.segmented`) to ``extras`` when given;
    ``host_labels``, the labels a host needs to run it (``--on``, docs/fleet.md).
    """
    dest = dest.absolute()
    extras: dict[str, object] = {"url": url, "dest": str(dest)}
    if sha256:
        extras["sha256"] = sha256.lower()
    if lowest_speed is not None:
        extras["lowest_speed"] = lowest_speed
    if lowest_speed_seconds is not None:
        extras["lowest_speed_seconds"] = lowest_speed_seconds
    if umask is not None:
        extras["umask"] = umask & 0o777
    if allow_insecure_redirect:
        extras["allow_insecure_redirect"] = True
    if mirrors:
        extras["mirrors"] = list(mirrors)
    _add_request(extras, request)
    if limit_rate is not None:
        extras["limit_rate"] = limit_rate
    if split is not None:
        extras["split"] = split
    if min_split_size is not None:
        extras["min_split_size"] = min_split_size
    return (
        _builder(
            job_id_for(dest),
            DOWNLOAD_SERVICE,
            network=network,
            requires_charging=requires_charging,
            requires_battery_not_low=requires_battery_not_low,
            requires_storage_not_low=requires_storage_not_low,
            persisted=persisted,
            host_labels=host_labels,
        )
        .set_extras(extras)
        .build()
    )


def upload_job(
    source: Path,
    url: str,
    *,
    tus: bool = False,
    method: str = "PUT",
    network: str = "any",
    requires_charging: bool = False,
    requires_battery_not_low: bool = False,
    requires_storage_not_low: bool = False,
    persisted: bool = True,
    host_labels: Sequence[str] = (),
    request: RequestOptions | None = None,
    limit_rate: int | None = None,
) -> JobInfo:
    """The user-initiated job behind ``uidt upload FILE URL`` (``limit_rate``: bytes/s;
    ``host_labels``: the labels a host needs to run it, docs/fleet.md)."""
    source = source.absolute()
    size = source.stat().st_size
    extras: dict[str, object] = {"url": url, "source": str(source), "tus": tus, "method": method}
    _add_request(extras, request)
    if limit_rate is not None:
        extras["limit_rate"] = limit_rate
    return (
        _builder(
            job_id_for(source, url),
            UPLOAD_SERVICE,
            network=network,
            requires_charging=requires_charging,
            requires_battery_not_low=requires_battery_not_low,
            requires_storage_not_low=requires_storage_not_low,
            persisted=persisted,
            host_labels=host_labels,
        )
        .set_estimated_network_bytes(JobInfo.NETWORK_BYTES_UNKNOWN, size)
        .set_extras(extras)
        .build()
    )
