"""Background controller: the BACKGROUND_NOT_RESTRICTED bit (Android's ``BackgroundJobsController``).

When the user restricts an app's background activity (the app-op RUN_ANY_IN_BACKGROUND revoked,
``uidt apps restrict``), its jobs may run only while the app is visible (Android: the uid is
active, ``AppStateTrackerImpl.isUidActive``; uidt has no foreground services, so visible = TOP).
User-initiated jobs are not exempt: Android's ``BackgroundJobsController
.updateSingleJobRestrictionLocked`` stops a job that started with the foreground flag as soon as
its restricted app leaves the foreground. Battery saver is not this controller's matter in uidt
(the core's power-saver block spares treated UIJs, as ``canRunInBatterySaver`` does).
"""

from __future__ import annotations

from uidt.server.status import Bit


def background_bits(*, restricted: bool, app_visible: bool) -> int:
    """BACKGROUND_NOT_RESTRICTED unless the app is restricted and not visible."""
    return Bit.NONE if restricted and not app_visible else Bit.BACKGROUND_NOT_RESTRICTED
