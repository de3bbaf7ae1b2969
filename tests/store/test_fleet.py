"""What a stop request reads like, sent or settled (``uidt.store.fleet.stop_request_text``)."""

from __future__ import annotations

from uidt.store.fleet import StopOutcome, stop_request_text


def test_an_open_request_reads_sent_never_stopped() -> None:
    assert stop_request_text({"outcome": None, "sent_to": "host-a"}) == "stop sent to host-a"
    assert stop_request_text({"outcome": None, "sent_to": None}) == (
        "stop waiting for the next host to claim it"
    )


def test_each_outcome_names_the_host_that_settled_it() -> None:
    def words(outcome: StopOutcome) -> str:
        return stop_request_text({"outcome": outcome.value, "done_by": "host-c"})

    assert words(StopOutcome.STOPPED) == "stopped by host-c"
    assert words(StopOutcome.STALE) == ("stop not done by host-c: the job was scheduled anew since")
    assert words(StopOutcome.GONE) == "stop not needed: the job had ended"
