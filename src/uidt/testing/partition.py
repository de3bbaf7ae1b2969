"""A host in a network namespace of its own, joined to this one by a veth pair it can lose.

For partition tests of fleet mode (docs/fleet.md): the host under test runs in the namespace
``uidtp<pid>``, whose only link is the ``uidtp<pid>n`` end of a veth pair; the other end,
``uidtp<pid>r``, stays in the calling namespace. The pair gets the /30 ``10.201.<n>.0`` with
``n`` from ``pid % 250`` on, the first not yet used on this machine (:attr:`HostLane.root_ip`
``.1`` here, :attr:`HostLane.host_ip` ``.2`` there); the namespace has
no default route, so nothing it sends can leave the machine. :meth:`HostLane.set_link` takes the
link down (the partition) and up again; :meth:`HostLane.destroy` kills what still runs in the
namespace and removes it with its veth pair. Needs root (``CAP_NET_ADMIN``);
:func:`namespaces_permitted` says in one line why not.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

__all__ = ["HostLane", "LaneError", "namespaces_permitted"]


class LaneError(RuntimeError):
    """A command of the set-up failed (the message names it)."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)
    if check and done.returncode != 0:
        raise LaneError(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done


def namespaces_permitted() -> str | None:
    """``None`` if this process may create network namespaces, else why not (one line)."""
    probe = f"uidtq{os.getpid()}"
    try:
        done = _ip("netns", "add", probe, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"no usable `ip` command ({exc})"
    if done.returncode != 0:
        return f"network namespaces are not permitted here ({done.stderr.strip()})"
    _ip("netns", "del", probe, check=False)
    return None


class HostLane:
    """One namespace for one host, and the veth pair to it (see the module doc)."""

    def __init__(self, pid: int | None = None) -> None:
        number = os.getpid() if pid is None else pid
        tag = f"uidtp{number}"
        self.namespace = tag
        self.root_if, self.host_if = f"{tag}r", f"{tag}n"
        self._first_subnet = number % 250
        self.root_ip, self.host_ip = "", ""

    def create(self) -> None:
        """Make the namespace and the pair, addresses on both ends, links up."""
        used = _ip("-4", "addr", "show").stdout
        for step in range(250):
            base = f"10.201.{(self._first_subnet + step) % 250}"
            if f"inet {base}." not in used:
                break
        else:
            raise LaneError("every 10.201.N.0/30 of this scheme is in use")
        self.root_ip, self.host_ip = f"{base}.1", f"{base}.2"
        try:
            _ip("netns", "add", self.namespace)
            _ip("link", "add", self.root_if, "type", "veth", "peer", "name", self.host_if)
            _ip("link", "set", self.host_if, "netns", self.namespace)
            _ip("addr", "add", f"{self.root_ip}/30", "dev", self.root_if)
            _ip("link", "set", self.root_if, "up")
            ns = ("-n", self.namespace)
            _ip(*ns, "addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
            _ip(*ns, "link", "set", "lo", "up")
            _ip(*ns, "link", "set", self.host_if, "up")
            default = _ip(*ns, "route", "show", "default").stdout.strip()
            if default:
                raise LaneError(f"{self.namespace} has a default route: {default}")
        except BaseException:
            self.destroy()
            raise

    def command(self, *argv: str) -> list[str]:
        """``argv`` run inside the namespace."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    def set_link(self, up: bool) -> None:
        """Take the host's link down (a partition: nothing passes either way) or up again."""
        _ip("link", "set", self.root_if, "up" if up else "down")

    def destroy(self) -> None:
        """Kill what runs in the namespace, remove it and the pair (idempotent)."""
        pids = _ip("netns", "pids", self.namespace, check=False).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        _ip("netns", "del", self.namespace, check=False)  # takes the host's end with it
        _ip("link", "del", self.root_if, check=False)
