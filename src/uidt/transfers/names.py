"""The names of the built-in transfer app, its services and its notification channel.

A module of its own, with no imports, so that the command line's early daemon start
(:mod:`uidt.cli.launch`) can name the app without loading the job classes.
"""

TRANSFERS_APP = "uidt.transfers"
DOWNLOAD_SERVICE = "uidt.transfers.service:HttpDownloadService"
UPLOAD_SERVICE = "uidt.transfers.service:HttpUploadService"
CHANNEL = "transfers"
