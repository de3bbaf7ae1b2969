"""The names of the built-in transfer app, its services and its notification channel.

A module of its own, with no imports, so that the command line's early daemon start
(:mod:`uidt.cli.launch`) can name the app without loading the job classes.
"""

TRANSFERS_APP = "uidt.transfers"
DOWNLOAD_SERVICE = "uidt.transfers.service:HttpDownloadService"
UPLOAD_SERVICE = "uidt.transfers.service:HttpUploadService"
CHANNEL = "transfers"
#: The last word of a paused transfer's notification title (the job ended ``finished``; its
#: Resume schedules it again): `--wait` and `uidt follow` must not read it as done.
PAUSED = "paused"
#: The text of a retrying transfer's notification starts with this, then the reason (while a run
#: retries, and while the job waits for its backoff after a run that gave up).
RETRYING = "retrying:"
