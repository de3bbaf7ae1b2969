"""Which version of the server's file a part file holds: :class:`RemoteVersion`.

The validators the server gave with the first bytes (``ETag``, ``Last-Modified``) and the
length it announced. A resume sends one of the validators as ``If-Range`` so that bytes of
another version are never appended; :mod:`uidt.transfers.resumecheck` holds the rules for
comparing them with an answer. They are saved in each checkpoint beside the offsets and read
back by :meth:`RemoteVersion.load`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass
class RemoteVersion:
    """The validators and length of the server's file (``None``: not known)."""

    etag: str | None = None
    last_modified: str | None = None
    total: int | None = None

    def state(self) -> dict[str, Any]:
        """The fields of a checkpoint that name this version."""
        return {"etag": self.etag, "last_modified": self.last_modified, "total": self.total}

    @staticmethod
    def readable(state: Mapping[str, Any]) -> bool:
        """Whether a checkpoint's validators are text or absent (else it was tampered with)."""
        return all(isinstance(state.get(key), str | None) for key in ("etag", "last_modified"))

    def load(self, state: Mapping[str, Any]) -> None:
        """Adopt the version a :meth:`readable` checkpoint names (a total not an int: unknown)."""
        self.etag = state.get("etag")
        self.last_modified = state.get("last_modified")
        total = state.get("total")
        self.total = total if isinstance(total, int) else None

    def forget(self) -> None:
        """Nothing known: the next answer names the version."""
        self.etag = self.last_modified = None
        self.total = None
