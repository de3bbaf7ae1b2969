"""A job's internal flags (Android's ``JobStatus.INTERNAL_FLAG_*``, docs/android-semantics.md#the-execution-slot-and-its-timeouts).

Bits of one ``int`` kept with the job: they survive restarts (the stores keep the value as it
is) and the core reads and sets them; apps never see them.
"""

from __future__ import annotations

#: The job was scheduled with a foreground exemption (kept for Android parity; nothing sets it).
INTERNAL_FLAG_HAS_FOREGROUND_EXEMPTION = 1
#: The user stopped the app from the Task Manager: the job is no longer treated as user-initiated.
INTERNAL_FLAG_DEMOTED_BY_USER = 2
#: The system demoted the user-initiated job: its cumulative runtime reached the UI limit.
INTERNAL_FLAG_DEMOTED_BY_SYSTEM_UIJ = 4
