"""What a cancelled transfer leaves behind, removed: its own state files, and a tus upload.

A cancelled **download** loses its part file, its checkpoint and its retry count
(``<dest>.part``, ``<dest>.uidt``, ``<dest>.uidt-retry``), and on a shared store its fence
(``<dest>.uidt-fence``: a run still writing on another host then stops). A cancelled **upload** loses its
resumable state (``<source>.uidt-upload``) and its retry count (``<source>.uidt-upload-retry``);
the source file itself is never touched. Only regular files of this user are removed: a link,
a folder or another user's file planted under one of those names is left alone (never followed).

The tus upload the state named is then terminated on the server (``DELETE`` of its URL, the tus
``termination`` extension) when the server offers that; a server without it just keeps what it
got, and the URL is forgotten. Only a checkpoint that is surely this user's and names the job's
own endpoint is believed: a planted one could name someone else's upload.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from pathlib import Path
from typing import Any

from uidt.redact import redact
from uidt.transfers.checkpoint import Checkpoint, UntrustedCheckpoint
from uidt.transfers.fence import fence_path
from uidt.transfers.partfile import checkpoint_path, part_path
from uidt.transfers.patience import Patience, upload_patience_path
from uidt.transfers.uploadstate import upload_checkpoint_path

log = logging.getLogger("uidt.transfers")

#: How long a cancel waits for the server to forget a tus upload before leaving it be.
TERMINATE_TIMEOUT = 10.0


def remove_own_file(path: Path) -> bool:
    """Remove ``path`` if it is a regular file of this user (a link, a folder or another user's
    file is left alone); ``True`` when removed."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
        log.warning("left %s alone: not a regular file of this user", path)
        return False
    path.unlink()
    return True


def remove_download_leftovers(dest: Path) -> None:
    """Remove the part file, checkpoint, fence and retry count of a download to ``dest``."""
    for path in (part_path(dest), checkpoint_path(dest), fence_path(dest)):
        remove_own_file(path)
    Patience(dest).forget()


def upload_url_to_forget(source: Path, endpoint: str) -> str | None:
    """The tus upload URL the state of ``source``'s upload to ``endpoint`` names, if that state
    is surely this user's own and names this endpoint (``None`` otherwise)."""
    try:
        state = Checkpoint(upload_checkpoint_path(source)).load(owner_only=True)
    except UntrustedCheckpoint as exc:
        log.warning("not trusting %s: %s", exc.path, exc.reason)
        return None
    if not state or state.get("kind") != "upload":
        return None
    if state.get("url") not in (redact(endpoint), endpoint):
        return None
    upload_url = state.get("upload_url")
    return upload_url if isinstance(upload_url, str) and upload_url else None


def remove_upload_leftovers(source: Path) -> None:
    """Remove the resumable state and retry count of an upload of ``source`` (not ``source``)."""
    for path in (upload_checkpoint_path(source), upload_patience_path(source)):
        remove_own_file(path)


async def clean_up(extras: dict[str, Any]) -> None:
    """Remove what the cancelled transfer described by its job ``extras`` left behind."""
    dest = extras.get("dest")
    if isinstance(dest, str) and dest:
        remove_download_leftovers(Path(dest))
    source, endpoint = extras.get("source"), extras.get("url")
    if not (isinstance(source, str) and source and isinstance(endpoint, str)):
        return
    upload_url = upload_url_to_forget(Path(source), endpoint)
    remove_upload_leftovers(Path(source))
    if upload_url is not None:
        await terminate_upload(endpoint, upload_url, extras)


async def terminate_upload(endpoint: str, upload_url: str, extras: dict[str, Any]) -> bool:
    """Ask the tus server to forget ``upload_url`` (``True``: it did, or had already).

    Best effort, bounded by :data:`TERMINATE_TIMEOUT`: a server that does not offer
    ``termination``, refuses, fails or never answers keeps the upload; the cancel stands.
    """
    from uidt.clock import SystemClock
    from uidt.transfers.http import new_session
    from uidt.transfers.request import RequestOptions
    from uidt.transfers.tus import TusClient

    try:
        request = RequestOptions.from_extras(extras)
    except Exception as exc:  # the job's options were checked when it ran; say and move on
        log.warning("not terminating %s: %s", redact(upload_url), exc)
        return False
    session = new_session()
    try:
        async with asyncio.timeout(TERMINATE_TIMEOUT):
            client = TusClient(session, endpoint, SystemClock(), request)
            if "termination" not in await client.extensions():
                log.info("%s offers no tus termination: the upload is forgotten", redact(endpoint))
                return False
            await client.terminate(upload_url)
    except Exception as exc:  # unreachable, refused, timed out: the cancel stands
        log.warning("could not terminate %s: %s", redact(upload_url), redact(str(exc)))
        return False
    finally:
        await session.close()
    log.info("terminated the tus upload %s", redact(upload_url))
    return True
