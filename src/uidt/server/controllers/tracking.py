"""Which jobs depend on which device reading, so a device change re-evaluates only those.

Android's ``StateController``s keep the jobs they care about (``maybeStartTrackingJobLocked`` /
``maybeStopTrackingJobLocked``) and, when their reading changes, tell the scheduler about just
those jobs. :class:`DeviceDependents` keeps the same index for uidt's controllers:

* power (``charging``, ``plugged``, ``battery_not_low``): jobs requiring charging or battery not
  low, and jobs with a network constraint (the connectivity controller's bandwidth check is
  lenient on unmetered power);
* storage (``storage_low``): jobs requiring storage not low;
* network: jobs with a network constraint;
* thermal and power saver: restrictions that may hold back any job, so every job;
* memory pressure and the battery level: no job's evaluation (memory only changes the number of
  slots, which every check pass recomputes).
"""

from __future__ import annotations

from enum import Enum

from uidt.device.state import DeviceState
from uidt.job.key import JobKey
from uidt.server.status import Bit, JobStatus


class Reading(Enum):
    """A group of device fields one controller reads."""

    POWER = "power"
    STORAGE = "storage"
    NETWORK = "network"


def changed_readings(before: DeviceState, after: DeviceState) -> tuple[set[Reading], bool]:
    """The readings that differ, and whether the change concerns every job (a restriction)."""
    changed: set[Reading] = set()
    if (before.charging, before.plugged, before.battery_not_low) != (
        after.charging,
        after.plugged,
        after.battery_not_low,
    ):
        changed.add(Reading.POWER)
    if before.storage_low != after.storage_low:
        changed.add(Reading.STORAGE)
    if before.network != after.network:
        changed.add(Reading.NETWORK)
    everyone = before.thermal != after.thermal or before.power_saver != after.power_saver
    return changed, everyone


def readings_of(status: JobStatus) -> set[Reading]:
    """The readings the job's evaluation depends on (from its required constraints)."""
    required = status.required
    readings: set[Reading] = set()
    if required & (Bit.CHARGING | Bit.BATTERY_NOT_LOW | Bit.CONNECTIVITY):
        readings.add(Reading.POWER)
    if required & Bit.STORAGE_NOT_LOW:
        readings.add(Reading.STORAGE)
    if required & Bit.CONNECTIVITY:
        readings.add(Reading.NETWORK)
    return readings


class DeviceDependents:
    """The jobs each reading concerns (track on insert and constraint update, untrack on drop)."""

    def __init__(self) -> None:
        self._jobs: dict[Reading, dict[JobKey, JobStatus]] = {reading: {} for reading in Reading}

    def track(self, status: JobStatus) -> None:
        """Start (or refresh) tracking a job by its current constraints."""
        key = status.key
        wanted = readings_of(status)
        for reading, jobs in self._jobs.items():
            if reading in wanted:
                jobs[key] = status
            else:
                jobs.pop(key, None)

    def untrack(self, key: JobKey) -> None:
        """Stop tracking a dropped job."""
        for jobs in self._jobs.values():
            jobs.pop(key, None)

    def concerned(self, readings: set[Reading]) -> list[JobStatus]:
        """The jobs that depend on any of ``readings``."""
        if len(readings) == 1:
            (reading,) = readings
            return list(self._jobs[reading].values())
        found: dict[JobKey, JobStatus] = {}
        for reading in readings:
            found.update(self._jobs[reading])
        return list(found.values())

    def tracking(self, reading: Reading) -> frozenset[JobKey]:
        """The jobs one reading concerns (for tests and ``dumpsys``)."""
        return frozenset(self._jobs[reading])
