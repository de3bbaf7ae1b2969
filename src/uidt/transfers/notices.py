"""Notices: things a transfer run did that the user should hear about."""

from __future__ import annotations

from enum import StrEnum


class Notice(StrEnum):
    """One noteworthy event of a transfer run."""

    RESUMED = "resumed"
    RESTARTED_RESOURCE_CHANGED = "restarted-resource-changed"
    RESTARTED_NO_RANGES = "restarted-no-ranges"
    RESTARTED_BAD_CHECKPOINT = "restarted-bad-checkpoint"
    RESTARTED_UPLOAD_GONE = "restarted-upload-gone"
    RESTARTED_UNTRUSTED_FILES = "restarted-untrusted-files"
    NO_TUS = "no-tus"
    RETRIED = "retried"

    @property
    def text(self) -> str:
        """A sentence for a notification or a log."""
        return NOTICE_TEXT[self]


NOTICE_TEXT: dict[Notice, str] = {
    Notice.RESUMED: "resumed from the last checkpoint",
    Notice.RESTARTED_RESOURCE_CHANGED: "the file changed on the server; restarted from zero",
    Notice.RESTARTED_NO_RANGES: "the server cannot resume (no Range support); restarted from zero",
    Notice.RESTARTED_BAD_CHECKPOINT: "the partial file did not match its checkpoint; restarted from zero",
    Notice.RESTARTED_UPLOAD_GONE: "the server forgot the partial upload; restarted from zero",
    Notice.RESTARTED_UNTRUSTED_FILES: (
        "a partial file or checkpoint that was not safely yours (another owner, writable by "
        "others, or a link) was removed; restarted from zero"
    ),
    Notice.NO_TUS: "the server does not offer tus resumable uploads; uploading from zero without resume",
    Notice.RETRIED: "a transient error was retried",
}
