"""Whether the code an app manifest points at can be changed by someone other than its user.

An installed app's modules run as the user who installed it. A manifest in a folder another user
owns, or whose folder others can write, lets them replace or add modules (or rewrite the
manifest) and so run code as that user. Before installing, every path the worker will run code
from is checked, much as the ``sys.path`` of a program run by root must not hold writable
folders, or as ssh's ``StrictModes`` checks a home directory:

- the manifest file, its folder, the manifest's ``root`` (the folder put on ``PYTHONPATH``) and
  its ``python`` interpreter must be owned by the user or by root, and writable by neither
  group nor others. Here a sticky bit does not help: in a sticky world-writable folder anyone
  may still *add* a module that shadows one the app imports.
- every folder above them must be owned by the user or by root, and if group or others may
  write it, it must be sticky (as ``/tmp`` is: others cannot rename or remove our entries).

Group write is harmless, and allowed, where the group is the user's private group (named after
the user, with no other members). Symbolic links are checked both where they are and where they
lead. ``uidt apps install --trust`` skips the check for code the user trusts anyway.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path

from uidt.errors import ManifestError

_HINT = (
    "others could change the code this app would run as you; fix the permissions, "
    "or install with --trust if you trust everyone who can write there"
)


def require_safe_paths(paths: list[tuple[Path, str]], uid: int | None = None) -> None:
    """Refuse (``ManifestError``) if any ``(path, what)`` could be changed by another user.

    Raises:
        ManifestError: names the path, what it is, and why.
    """
    uid = os.geteuid() if uid is None else uid
    for path, what in paths:
        problem = unsafe_reason(path, uid)
        if problem is not None:
            raise ManifestError(f"{problem} ({what}): {_HINT}")


def unsafe_reason(path: Path, uid: int) -> str | None:
    """Why another user could change ``path`` (or a folder above it), or ``None``."""
    absolute = Path(os.path.abspath(path))
    candidates = [absolute]
    resolved = absolute.resolve()
    if resolved != absolute:
        candidates.append(resolved)
    for candidate in candidates:
        problem = _check_leaf(candidate, uid) or _check_parents(candidate, uid)
        if problem is not None:
            return problem
    return None


def _check_leaf(path: Path, uid: int) -> str | None:
    try:
        st = os.stat(path)
    except OSError as exc:
        return f"{path}: cannot be checked ({exc.strerror})"
    return _owner_problem(path, st, uid) or _write_problem(path, st, uid, sticky_ok=False)


def _check_parents(path: Path, uid: int) -> str | None:
    for parent in path.parents:
        try:
            st = os.stat(parent)
        except OSError as exc:
            return f"{parent}: cannot be checked ({exc.strerror})"
        problem = _owner_problem(parent, st, uid) or _write_problem(parent, st, uid, sticky_ok=True)
        if problem is not None:
            return problem
    return None


def _owner_problem(path: Path, st: os.stat_result, uid: int) -> str | None:
    if st.st_uid in (uid, 0):
        return None
    return f"{path} is owned by {_user_name(st.st_uid)}, not by you or root"


def _write_problem(path: Path, st: os.stat_result, uid: int, *, sticky_ok: bool) -> str | None:
    mode = st.st_mode
    if sticky_ok and stat.S_ISDIR(mode) and mode & stat.S_ISVTX:
        return None
    if mode & stat.S_IWOTH:
        return f"{path} is writable by every user (mode {stat.filemode(mode)})"
    if mode & stat.S_IWGRP and not _private_group(st.st_gid, uid):
        return f"{path} is writable by group {_group_name(st.st_gid)} (mode {stat.filemode(mode)})"
    return None


def _private_group(gid: int, uid: int) -> bool:
    """The user's own group: named after the user, no other members (user private groups)."""
    try:
        user = pwd.getpwuid(uid).pw_name
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    return group.gr_name == user and set(group.gr_mem) <= {user}


def _user_name(uid: int) -> str:
    try:
        return f"user {pwd.getpwuid(uid).pw_name}"
    except KeyError:
        return f"uid {uid}"


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
