"""The fence of a download on a shared store: who may write the destination (docs/fleet.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from uidt.errors import FencedOffError
from uidt.transfers.fence import CHECK_EVERY_S, Fence, Lease, fence_path


def _fence(dest: Path, host: str, generation: int, now: list[float] | None = None) -> Fence:
    clock = now if now is not None else [0.0]
    return Fence(dest, Lease(host, generation), monotonic=lambda: clock[0])


def test_raising_names_this_runs_lease_and_the_lease_it_replaced(tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    old = _fence(dest, "h0", 5)
    old.raise_fence()
    assert old.superseded is None
    new = _fence(dest, "h1", 9)
    new.raise_fence()
    assert new.superseded == Lease("h0", 5)
    assert json.loads(fence_path(dest).read_text()) == {"host": "h1", "generation": 9}
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin.uidt-fence"]  # no temporary left


def test_the_stale_run_is_cut_off_and_the_new_one_goes_on(tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    old, new = _fence(dest, "h0", 5), _fence(dest, "h1", 9)
    old.raise_fence()
    old.check()
    new.raise_fence()
    with pytest.raises(FencedOffError, match="h1 took this transfer over"):
        old.check()
    new.check()
    # a stale run starting late cannot raise its fence over the newer one
    with pytest.raises(FencedOffError):
        _fence(dest, "h0", 5).raise_fence()


def test_a_stale_run_that_raced_its_fence_in_late_is_overruled(tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    new = _fence(dest, "h1", 9)
    new.raise_fence()
    fence_path(dest).write_text(json.dumps({"host": "h0", "generation": 5}))
    os.chmod(fence_path(dest), 0o600)
    new.check()  # an older generation: raised again
    assert json.loads(fence_path(dest).read_text())["generation"] == 9


def test_a_fence_gone_means_the_transfer_ended_elsewhere(tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    fence = _fence(dest, "h0", 5)
    fence.raise_fence()
    fence_path(dest).unlink()
    with pytest.raises(FencedOffError, match="ended elsewhere"):
        fence.check()


def test_checks_on_the_write_path_are_paced(tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    now = [100.0]
    old = _fence(dest, "h0", 5, now)
    old.raise_fence()
    old.check_due()
    _fence(dest, "h1", 9).raise_fence()
    old.check_due()  # checked a moment ago: not yet
    now[0] += CHECK_EVERY_S
    with pytest.raises(FencedOffError):
        old.check_due()


def test_a_run_without_its_fence_raised_is_not_checked(tmp_path: Path) -> None:
    _fence(tmp_path / "f.bin", "h0", 5).check()  # nothing raised, nothing to compare


@pytest.mark.parametrize("planted", ["link", "other-user", "group-writable", "garbage"])
def test_a_planted_fence_is_not_believed(tmp_path: Path, planted: str) -> None:
    dest = tmp_path / "f.bin"
    path = fence_path(dest)
    lie = json.dumps({"host": "mallory", "generation": 10**12})
    if planted == "link":
        target = tmp_path / "elsewhere"
        target.write_text(lie)
        path.symlink_to(target)
    else:
        path.write_text(lie if planted != "garbage" else "{not json")
        os.chmod(path, 0o664 if planted == "group-writable" else 0o600)
        if planted == "other-user":
            if os.geteuid() != 0:
                pytest.skip("needs root to give the file to another user")
            os.chown(path, 65534, 65534)
    fence = _fence(dest, "h1", 9)
    fence.raise_fence()  # the planted one does not stop a real holder
    assert fence.read() == Lease("h1", 9)
    if planted == "link":
        assert (tmp_path / "elsewhere").read_text() == lie  # never written through


def test_removing_takes_the_fence_down(tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    fence = _fence(dest, "h0", 5)
    fence.raise_fence()
    fence.remove()
    assert not fence_path(dest).exists()
    fence.check()  # no longer raised: nothing to check
