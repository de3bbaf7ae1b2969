"""Notices: things a transfer run did that the user should hear about."""

from __future__ import annotations

from enum import StrEnum


class Notice(StrEnum):
    """One noteworthy event of a transfer run."""

    RESUMED = "resumed"
    RESUMED_OTHER_SOURCE = "resumed-other-source"
    RESUME_UNVERIFIED = "resume-unverified"
    RESUME_UNVERIFIED_SHA256 = "resume-unverified-sha256"
    RESTARTED_RESOURCE_CHANGED = "restarted-resource-changed"
    RESTARTED_NO_RANGES = "restarted-no-ranges"
    RESTARTED_BAD_CHECKPOINT = "restarted-bad-checkpoint"
    RESTARTED_SHORT_BODY = "restarted-short-body"
    RESTARTED_UPLOAD_GONE = "restarted-upload-gone"
    RESTARTED_UNTRUSTED_FILES = "restarted-untrusted-files"
    RESTARTED_OTHER_SOURCE = "restarted-other-source"
    RESENT_LOST = "resent-lost"
    NO_TUS = "no-tus"
    RETRIED = "retried"
    MIRROR_NOT_FOR_RANGES = "mirror-not-for-ranges"
    RESTARTED_MIRROR_MISMATCH = "restarted-mirror-mismatch"

    @property
    def text(self) -> str:
        """A sentence for a notification or a log."""
        return NOTICE_TEXT[self]


NOTICE_TEXT: dict[Notice, str] = {
    Notice.RESUMED: "resumed from the last checkpoint",
    Notice.RESUMED_OTHER_SOURCE: (
        "resumed the partial file another source of the same file left (this source has the "
        "same size and ETag or Last-Modified)"
    ),
    Notice.RESUME_UNVERIFIED: (
        "the server gives no validator (strong ETag or Last-Modified), so the resume could not "
        "be verified; the bytes before the resume point were fetched again and compared"
    ),
    Notice.RESUME_UNVERIFIED_SHA256: (
        "the server gives no validator (strong ETag or Last-Modified), so the resume could not "
        "be verified; the bytes before the resume point were fetched again and compared, and "
        "the SHA-256 of the whole file is checked at the end"
    ),
    Notice.RESTARTED_RESOURCE_CHANGED: "the file changed on the server; restarted from zero",
    Notice.RESTARTED_NO_RANGES: "the server cannot resume (no Range support); restarted from zero",
    Notice.RESTARTED_BAD_CHECKPOINT: "the partial file did not match its checkpoint; restarted from zero",
    Notice.RESTARTED_SHORT_BODY: (
        "the server sent fewer bytes than it announced; restarted from zero"
    ),
    Notice.RESTARTED_UPLOAD_GONE: "the server forgot the partial upload; restarted from zero",
    Notice.RESTARTED_UNTRUSTED_FILES: (
        "a partial file or checkpoint that was not safely yours (another owner, writable by "
        "others, or a link) was removed; restarted from zero"
    ),
    Notice.RESTARTED_OTHER_SOURCE: (
        "this source's file is not the version the partial file came from (another ETag, "
        "Last-Modified or size, or no validator to compare); restarted from zero"
    ),
    Notice.RESENT_LOST: "the server lost bytes it had acknowledged; they were sent again",
    Notice.NO_TUS: "fell back to a plain upload (the server does not speak tus): it cannot resume",
    Notice.RETRIED: "a transient error was retried",
    Notice.MIRROR_NOT_FOR_RANGES: (
        "a mirror was not used for ranges: it shows another version of the file (another "
        "size or ETag, and no SHA-256 to check the whole file), takes no ranges, or failed"
    ),
    Notice.RESTARTED_MIRROR_MISMATCH: (
        "the file, with ranges from a mirror under another ETag, did not match the SHA-256 "
        "(nothing was published); fetched again from zero from this source alone"
    ),
}
