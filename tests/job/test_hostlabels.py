"""Host labels: a job's required labels (``JobInfo``) and a host's own (``host_labels``)."""

from __future__ import annotations

import pytest

from uidt.errors import InvalidJobError
from uidt.job import JobInfo
from uidt.job.hostlabels import check_label, missing_labels, parse_labels

SERVICE = "m:Service"


def test_a_job_carries_its_required_labels_sorted_and_once() -> None:
    job = (
        JobInfo.Builder(1, SERVICE)
        .add_required_host_label("ssd")
        .add_required_host_label("gpu-rack")
        .add_required_host_label("ssd")
        .build()
    )
    assert job.required_host_labels == ("gpu-rack", "ssd")
    assert JobInfo.from_dict(job.to_dict()) == job


def test_a_job_without_labels_keeps_its_old_json() -> None:
    job = JobInfo.Builder(1, SERVICE).build()
    assert job.required_host_labels == ()
    assert "required_host_labels" not in job.to_dict()


@pytest.mark.parametrize("label", ["GPU", "", "-gpu", "gpu rack", "gpu,ssd", "ü", "a" * 64])
def test_a_bad_label_is_refused_at_once_by_the_builder(label: str) -> None:
    with pytest.raises(InvalidJobError, match="host label"):
        JobInfo.Builder(1, SERVICE).add_required_host_label(label)


def test_a_label_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(InvalidJobError, match="host label must be a string"):
        JobInfo.Builder(1, SERVICE).add_required_host_label(7)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", [["GPU"], "gpu", [1], ["gpu", "gpu rack"]], ids=["upper", "str", "int", "space"]
)
def test_a_hand_written_job_with_bad_labels_is_refused(value: object) -> None:
    with pytest.raises(InvalidJobError, match=r"host label|required_host_labels"):
        JobInfo.from_dict({"job_id": 1, "service": SERVICE, "required_host_labels": value})


def test_the_error_names_the_rule() -> None:
    with pytest.raises(InvalidJobError) as info:
        check_label("Gpu-Rack")
    assert str(info.value) == (
        "invalid host label 'Gpu-Rack': a label is 1 to 63 of a-z, 0-9, '_', '.', '-', "
        "starting with a letter or digit"
    )


def test_a_host_lists_its_labels_with_commas() -> None:
    assert parse_labels("gpu-rack, ssd,,gpu-rack") == ("gpu-rack", "ssd")
    assert parse_labels("") == ()
    assert parse_labels(["ssd", "gpu"]) == ("gpu", "ssd")


def test_the_labels_a_host_lacks() -> None:
    assert missing_labels(("gpu", "ssd"), ("ssd",)) == ("gpu",)
    assert missing_labels((), ()) == ()
    assert missing_labels(("ssd",), ("gpu", "ssd")) == ()
