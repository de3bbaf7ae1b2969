"""A running job whose network changes but still satisfies it gets ``on_network_changed``
(docs/android-semantics.md#connectivity), not a stop."""

from __future__ import annotations

from pathlib import Path

from .conftest import Daemon, read_log, uij, wait_for


def test_a_new_network_is_announced_to_the_running_job(daemon: Daemon, tmp_path: Path) -> None:
    # Given a job that needs any network, running on the fake device's Wi-Fi
    log = tmp_path / "app.log"
    with daemon.scheduler().activity():
        assert daemon.scheduler().schedule(uij(4200, "run", log)) == 1
    daemon.wait_running(4200)
    try:
        # When the default network becomes Ethernet
        daemon.shell("device", "set", "network=ethernet")
        # Then the app hears about its new network and the job keeps running
        wait_for(lambda: "network 4200 ethernet" in read_log(log), what="on_network_changed")
        assert daemon.job(4200)["state"] == "active"  # type: ignore[index]
        assert not [line for line in read_log(log) if line.startswith("stop 4200")]
    finally:
        daemon.shell("device", "reset")
        daemon.api("DELETE", "/v1/apps/org.example.sample/jobs/4200")
