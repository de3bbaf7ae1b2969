"""Every rule of docs/android-semantics.md#job-validation (and its setter-time checks), valid and invalid side.

Each row is a rule, a builder sequence that keeps to it, a sequence that breaks it, and a pattern of
Android's message gist. uidt's messages use snake_case method names where Android's use camelCase.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import NamedTuple

import pytest

from uidt.errors import InvalidJobError, UidtError
from uidt.job import BackoffPolicy, JobInfo, NetworkType, Priority
from uidt.job.validation import MAX_DEBUG_TAGS, MAX_TAG_LENGTH, enforce_validity

Builder = JobInfo.Builder
Steps = Callable[[], object]
FIFTEEN_MINUTES = 15 * 60 * 1000


def plain() -> Builder:
    return Builder(1, "app.service:Transfer")


def networked() -> Builder:
    return plain().set_required_network_type(NetworkType.ANY)


def uij() -> Builder:
    """A valid user-initiated job builder (network required)."""
    return networked().set_user_initiated(True)


def expedited() -> Builder:
    return networked().set_expedited(True)


class Rule(NamedTuple):
    name: str
    valid: Steps
    invalid: Steps
    message: str


RULES: list[Rule] = [
    # -- setter-time checks ------------------------------------------------------------
    Rule(
        "1.1 priority below range",
        lambda: plain().set_priority(Priority.MIN).build(),
        lambda: plain().set_priority(99),
        r"Invalid priority value",
    ),
    Rule(
        "1.1 priority above range",
        lambda: uij().set_priority(Priority.MAX).build(),
        lambda: plain().set_priority(501),
        r"Invalid priority value",
    ),
    Rule(
        "1.1 chunk zero at the setter",
        lambda: networked().set_minimum_network_chunk_bytes(1).build(),
        lambda: networked().set_minimum_network_chunk_bytes(0),
        r"chunk size must be positive",
    ),
    Rule(
        "1.1 negative chunk at the setter",
        lambda: networked().set_minimum_network_chunk_bytes(-1).build(),
        lambda: networked().set_minimum_network_chunk_bytes(-2),
        r"chunk size must be positive",
    ),
    # -- build() checks --------------------------------------------------------------------
    Rule(
        "1 backoff with device idle",
        lambda: plain().set_backoff_criteria(20_000, BackoffPolicy.LINEAR).build(),
        lambda: (
            plain()
            .set_backoff_criteria(20_000, BackoffPolicy.LINEAR)
            .set_requires_device_idle(True)
            .build()
        ),
        r"idle mode job will not respect any back-off policy",
    ),
    Rule(
        "2 download estimate without network",
        lambda: networked().set_estimated_network_bytes(10, -1).build(),
        lambda: plain().set_estimated_network_bytes(10, -1).build(),
        r"Can't provide estimated network usage without requiring a network",
    ),
    Rule(
        "2 upload estimate without network",
        lambda: networked().set_estimated_network_bytes(-1, 10).build(),
        lambda: plain().set_estimated_network_bytes(-1, 10).build(),
        r"Can't provide estimated network usage without requiring a network",
    ),
    Rule(
        "2 chunk without network",
        lambda: networked().set_minimum_network_chunk_bytes(10).build(),
        lambda: plain().set_minimum_network_chunk_bytes(10).build(),
        r"Can't provide estimated network usage without requiring a network",
    ),
    Rule(
        "3 negative upload bytes",
        lambda: networked().set_estimated_network_bytes(-1, -1).build(),
        lambda: networked().set_estimated_network_bytes(-1, -5).build(),
        r"Invalid network upload bytes: -5",
    ),
    Rule(
        "3 negative download bytes",
        lambda: networked().set_estimated_network_bytes(0, 0).build(),
        lambda: networked().set_estimated_network_bytes(-7, 3).build(),
        r"Invalid network download bytes: -7",
    ),
    Rule(
        "4 chunk above the download estimate",
        lambda: (
            networked()
            .set_estimated_network_bytes(100, -1)
            .set_minimum_network_chunk_bytes(100)
            .build()
        ),
        lambda: (
            networked()
            .set_estimated_network_bytes(100, -1)
            .set_minimum_network_chunk_bytes(101)
            .build()
        ),
        r"Minimum chunk size can't be greater than estimated network usage",
    ),
    Rule(
        "4 chunk above download + upload",
        lambda: (
            networked()
            .set_estimated_network_bytes(60, 40)
            .set_minimum_network_chunk_bytes(100)
            .build()
        ),
        lambda: (
            networked()
            .set_estimated_network_bytes(-1, 40)
            .set_minimum_network_chunk_bytes(41)
            .build()
        ),
        r"Minimum chunk size can't be greater than estimated network usage",
    ),
    Rule(
        "6 negative minimum latency",
        lambda: plain().set_minimum_latency(0).build(),
        lambda: plain().set_minimum_latency(-1).build(),
        r"Minimum latency is negative",
    ),
    Rule(
        "6 negative override deadline",
        lambda: plain().set_override_deadline(0).build(),
        lambda: plain().set_override_deadline(-1).build(),
        r"Override deadline is negative",
    ),
    Rule(
        "7 periodic with a deadline",
        lambda: plain().set_periodic(FIFTEEN_MINUTES).set_override_deadline(0).build(),
        lambda: plain().set_periodic(FIFTEEN_MINUTES).set_override_deadline(1).build(),
        r"set_override_deadline\(\) on a periodic job",
    ),
    Rule(
        "7 periodic with a minimum latency",
        lambda: plain().set_periodic(FIFTEEN_MINUTES).set_minimum_latency(0).build(),
        lambda: plain().set_periodic(FIFTEEN_MINUTES).set_minimum_latency(1).build(),
        r"set_minimum_latency\(\) on a periodic job",
    ),
    Rule(
        "7 periodic with a trigger URI",
        lambda: plain().add_trigger_content_uri("content://media").build(),
        lambda: (
            plain().set_periodic(FIFTEEN_MINUTES).add_trigger_content_uri("content://media").build()
        ),
        r"add_trigger_content_uri\(\) on a periodic job",
    ),
    Rule(
        "8 prefetch with a deadline",
        lambda: plain().set_prefetch(True).set_periodic(FIFTEEN_MINUTES).build(),
        lambda: plain().set_prefetch(True).set_override_deadline(1_000).build(),
        r"set_override_deadline\(\) on a prefetch job",
    ),
    Rule(
        "9 persisted with a trigger URI",
        lambda: plain().set_persisted(True).build(),
        lambda: plain().set_persisted(True).add_trigger_content_uri("content://x").build(),
        r"add_trigger_content_uri\(\) on a persisted job",
    ),
    Rule(
        "9 persisted with transient extras",
        lambda: plain().set_persisted(True).set_transient_extras({}).build(),
        lambda: plain().set_persisted(True).set_transient_extras({"k": 1}).build(),
        r"set_transient_extras\(\) on a persisted job",
    ),
    Rule(
        "9 persisted with clip data",
        lambda: plain().set_clip_data("content://clip").build(),
        lambda: plain().set_persisted(True).set_clip_data("content://clip").build(),
        r"set_clip_data\(\) on a persisted job",
    ),
    Rule(
        "10 max priority on a regular job",
        lambda: expedited().set_priority(Priority.MAX).build(),
        lambda: plain().set_priority(Priority.MAX).build(),
        r"Only expedited or user-initiated jobs can have max priority",
    ),
    Rule(
        "10 high priority prefetch",
        lambda: plain().set_priority(Priority.HIGH).build(),
        lambda: plain().set_prefetch(True).set_priority(Priority.HIGH).build(),
        r"Prefetch jobs cannot be high priority",
    ),
    Rule(
        "10 high priority periodic",
        lambda: plain().set_periodic(FIFTEEN_MINUTES).set_priority(Priority.LOW).build(),
        lambda: plain().set_periodic(FIFTEEN_MINUTES).set_priority(Priority.HIGH).build(),
        r"Periodic jobs cannot be high priority",
    ),
    Rule(
        "10 priority between levels",
        lambda: plain().set_priority(200).build(),
        lambda: plain().set_priority(150).build(),
        r"Invalid priority level provided: 150",
    ),
    Rule(
        "12 expedited with a delay",
        lambda: expedited().build(),
        lambda: expedited().set_minimum_latency(0).build(),
        r"An expedited job cannot have a time delay",
    ),
    Rule(
        "12 expedited with a deadline",
        lambda: expedited().set_requires_storage_not_low(True).build(),
        lambda: expedited().set_override_deadline(0).build(),
        r"An expedited job cannot have a deadline",
    ),
    Rule(
        "12 expedited and user-initiated",
        lambda: uij().build(),
        lambda: uij().set_expedited(True).build(),
        r"An expedited job cannot be user-initiated",
    ),
    Rule(
        "12 expedited with low priority",
        lambda: expedited().set_priority(Priority.HIGH).build(),
        lambda: expedited().set_priority(Priority.LOW).build(),
        r"An expedited job must be high or max priority",
    ),
    Rule(
        "12 expedited requiring charging",
        lambda: expedited().set_requires_storage_not_low(True).build(),
        lambda: expedited().set_requires_charging(True).build(),
        r"An expedited job can only have network and storage-not-low constraints",
    ),
    Rule(
        "12 expedited requiring battery not low",
        lambda: expedited().build(),
        lambda: expedited().set_requires_battery_not_low(True).build(),
        r"An expedited job can only have network and storage-not-low constraints",
    ),
    Rule(
        "12 expedited requiring device idle",
        lambda: expedited().build(),
        lambda: expedited().set_requires_device_idle(True).build(),
        r"An expedited job can only have network and storage-not-low constraints",
    ),
    Rule(
        "12 expedited prefetch",
        lambda: expedited().build(),
        lambda: expedited().set_prefetch(True).build(),
        r"An expedited job can only have network and storage-not-low constraints",
    ),
    Rule(
        "12 expedited with a trigger URI",
        lambda: expedited().build(),
        lambda: expedited().add_trigger_content_uri("content://x").build(),
        r"add_trigger_content_uri\(\) on an expedited job",
    ),
    Rule(
        "12 expedited periodic",
        lambda: plain().set_periodic(FIFTEEN_MINUTES).build(),
        lambda: JobInfo.from_dict({**expedited().build().to_dict(), "is_periodic": True}),
        r"An expedited job cannot be periodic",
    ),
    Rule(
        "13 user-initiated with a minimum latency of 0",
        lambda: uij().build(),
        lambda: uij().set_minimum_latency(0).build(),
        r"A user-initiated job cannot have a time delay",
    ),
    Rule(
        "13 user-initiated with a deadline of 0",
        lambda: uij().build(),
        lambda: uij().set_override_deadline(0).build(),
        r"A user-initiated job cannot have a deadline",
    ),
    Rule(
        "13 user-initiated periodic (caught as a time delay)",
        lambda: uij().build(),
        lambda: uij().set_periodic(FIFTEEN_MINUTES).build(),
        r"A user-initiated job cannot have a time delay",
    ),
    Rule(
        "13 user-initiated periodic (flag alone)",
        lambda: uij().build(),
        lambda: JobInfo.from_dict({**uij().build().to_dict(), "is_periodic": True}),
        r"A user-initiated job cannot be periodic",
    ),
    Rule(
        "13 user-initiated prefetch",
        lambda: uij().set_prefetch(False).build(),
        lambda: uij().set_prefetch(True).build(),
        r"A user-initiated job cannot also be a prefetch job",
    ),
    Rule(
        "13 user-initiated below max priority",
        lambda: networked().set_priority(Priority.MAX).set_user_initiated(True).build(),
        lambda: networked().set_priority(Priority.LOW).set_user_initiated(True).build(),
        r"A user-initiated job must be max priority",
    ),
    Rule(
        "13 user-initiated priority lowered after the flag",
        lambda: uij().set_priority(Priority.MAX).build(),
        lambda: uij().set_priority(Priority.HIGH).build(),
        r"A user-initiated job must be max priority",
    ),
    Rule(
        "13 user-initiated requiring device idle",
        lambda: uij().set_requires_device_idle(False).build(),
        lambda: uij().set_requires_device_idle(True).build(),
        r"A user-initiated job cannot have a device-idle constraint",
    ),
    Rule(
        "13 user-initiated with a trigger URI",
        lambda: uij().build(),
        lambda: uij().add_trigger_content_uri("content://x").build(),
        r"add_trigger_content_uri\(\) on a user-initiated job",
    ),
    Rule(
        "13 user-initiated without a network",
        lambda: uij().build(),
        lambda: plain().set_user_initiated(True).build(),
        r"A user-initiated data transfer job must specify a valid network type",
    ),
    Rule(
        "13 user-initiated with network type NONE",
        lambda: uij().set_required_network_type(NetworkType.UNMETERED).build(),
        lambda: uij().set_required_network_type(NetworkType.NONE).build(),
        r"must specify a valid network type",
    ),
    Rule(
        "14 too many debug tags",
        lambda: _tagged(plain(), MAX_DEBUG_TAGS).build(),
        lambda: _tagged(plain(), MAX_DEBUG_TAGS + 1).build(),
        r"more than 32 debug tags",
    ),
    Rule(
        "14 empty debug tag",
        lambda: plain().add_debug_tag(" x ").build(),
        lambda: plain().add_debug_tag("   ").build(),
        r"debug tag cannot be empty",
    ),
    Rule(
        "14 long debug tag",
        lambda: plain().add_debug_tag("d" * MAX_TAG_LENGTH).build(),
        lambda: plain().add_debug_tag("d" * (MAX_TAG_LENGTH + 1)).build(),
        r"debug tag must be at most 127 characters",
    ),
    Rule(
        "14 empty trace tag",
        lambda: plain().set_trace_tag(None).build(),
        lambda: plain().set_trace_tag(" ").build(),
        r"trace tag cannot be empty",
    ),
    Rule(
        "14 long trace tag",
        lambda: plain().set_trace_tag("t" * MAX_TAG_LENGTH).build(),
        lambda: plain().set_trace_tag("t" * (MAX_TAG_LENGTH + 1)).build(),
        r"trace tag must be at most 127 characters",
    ),
    Rule(
        "14 trace tag with a pipe",
        lambda: plain().set_trace_tag("a-b").build(),
        lambda: plain().set_trace_tag("a|b").build(),
        r"trace tag cannot contain",
    ),
    Rule(
        "14 trace tag with a newline",
        lambda: plain().set_trace_tag("ab").build(),
        lambda: plain().set_trace_tag("a\nb").build(),
        r"trace tag cannot contain",
    ),
    Rule(
        "14 trace tag with a NUL",
        lambda: plain().set_trace_tag("ab").build(),
        lambda: plain().set_trace_tag("a\0b").build(),
        r"trace tag cannot contain",
    ),
]


def _tagged(builder: Builder, count: int) -> Builder:
    for index in range(count):
        builder.add_debug_tag(f"tag{index}")
    return builder


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_rule_valid_side_builds(rule: Rule) -> None:
    built = rule.valid()
    assert isinstance(built, JobInfo | Builder)


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_rule_invalid_side_names_the_rule(rule: Rule) -> None:
    with pytest.raises(ValueError, match=rule.message) as caught:
        rule.invalid()
    assert isinstance(caught.value, UidtError)
    assert caught.errisinstance(InvalidJobError)


def test_chunk_must_be_positive_at_build_time() -> None:
    # The setter already refuses it; a hand-made JobInfo still meets rule 5.
    job = dataclasses.replace(networked().build(), minimum_network_chunk_bytes=0)
    with pytest.raises(InvalidJobError, match=r"Minimum chunk size must be positive"):
        enforce_validity(job)


def test_time_window_rule_11_is_not_enforced() -> None:
    # Android only logs a warning without the server flag; so does uidt (it is not enforced).
    job = plain().set_requires_charging(True).set_override_deadline(1_000).build()
    assert job.has_late_constraint


# -- ordering -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        pytest.param(
            lambda: (
                plain()
                .set_backoff_criteria(0, BackoffPolicy.LINEAR)
                .set_requires_device_idle(True)
                .set_estimated_network_bytes(5, 5)
                .build()
            ),
            r"idle mode job",
            id="rule 1 before rule 2",
        ),
        pytest.param(
            lambda: (
                networked()
                .set_estimated_network_bytes(-5, 10)
                .set_minimum_network_chunk_bytes(100)
                .build()
            ),
            r"Invalid network download bytes",
            id="rule 3 before rule 4",
        ),
        pytest.param(
            lambda: plain().set_user_initiated(True).set_minimum_latency(0).build(),
            r"cannot have a time delay",
            id="user-initiated delay before missing network",
        ),
        pytest.param(
            lambda: (
                plain()
                .set_user_initiated(True)
                .set_priority(Priority.HIGH)
                .set_prefetch(True)
                .build()
            ),
            r"Prefetch jobs cannot be high priority",
            id="priority switch before user-initiated checks",
        ),
        pytest.param(
            lambda: expedited().set_priority(Priority.LOW).set_requires_charging(True).build(),
            r"must be high or max priority",
            id="expedited priority before constraints (Android 14 order)",
        ),
        pytest.param(
            lambda: uij().set_expedited(True).set_requires_device_idle(True).build(),
            r"An expedited job cannot be user-initiated",
            id="expedited checks before user-initiated checks",
        ),
        pytest.param(
            lambda: uij().set_persisted(True).set_clip_data("c").add_debug_tag("").build(),
            r"set_clip_data\(\) on a persisted job",
            id="persisted before tags",
        ),
    ],
)
def test_first_broken_rule_is_reported(steps: Steps, message: str) -> None:
    with pytest.raises(InvalidJobError, match=message):
        steps()


# -- priority bump and reset -------------------------------------------------------------


def test_low_priority_then_user_initiated_fails() -> None:
    builder = networked().set_priority(Priority.LOW).set_user_initiated(True)
    with pytest.raises(ValueError, match="must be max priority"):
        builder.build()


def test_user_initiated_bumps_default_to_max() -> None:
    assert uij().build().priority is Priority.MAX


def test_user_initiated_then_cleared_resets_max_to_default() -> None:
    job = uij().set_user_initiated(False).build()
    assert job.priority is Priority.DEFAULT
    assert not job.is_user_initiated()


def test_clearing_user_initiated_that_was_never_set_keeps_priority() -> None:
    job = plain().set_priority(Priority.HIGH).set_user_initiated(False).build()
    assert job.priority is Priority.HIGH


def test_explicit_max_then_user_initiated_cleared_resets_to_default() -> None:
    # Android resets whenever the priority is MAX and the flag had been set.
    job = uij().set_priority(Priority.MAX).set_user_initiated(False).build()
    assert job.priority is Priority.DEFAULT


def test_expedited_bump_and_reset() -> None:
    assert expedited().build().priority is Priority.MAX
    assert expedited().set_expedited(False).build().priority is Priority.DEFAULT


def test_backoff_zero_on_a_uij_is_raised_to_ten_seconds() -> None:
    job = uij().set_backoff_criteria(0, BackoffPolicy.LINEAR).build()
    assert job.initial_backoff_millis == 10_000
    assert job.backoff_policy is BackoffPolicy.LINEAR
    assert job.has_backoff_criteria


# -- CTS testUserInitiatedJob: everything "allowed on a UIJ" --------------------------------


@pytest.mark.parametrize("policy", list(BackoffPolicy))
def test_everything_allowed_on_a_user_initiated_job_builds(policy: BackoffPolicy) -> None:
    job = (
        uij()
        .set_requires_charging(True)
        .set_requires_battery_not_low(True)
        .set_requires_storage_not_low(True)
        .set_backoff_criteria(0, policy)
        .set_extras({"url": "http://127.0.0.1/file", "size": 3})
        .set_transient_extras({"token": "t"})
        .set_clip_data("content://clip")
        .set_estimated_network_bytes(1_000_000, 1_000)
        .set_minimum_network_chunk_bytes(4_096)
        .build()
    )
    assert job.is_user_initiated()
    assert job.priority is Priority.MAX
    persisted = (
        uij()
        .set_persisted(True)
        .set_requires_charging(True)
        .set_backoff_criteria(0, policy)
        .set_extras({"k": [1, 2]})
        .set_estimated_network_bytes(10, 10)
        .set_minimum_network_chunk_bytes(20)
        .build()
    )
    assert persisted.is_persisted()


def test_messages_are_plain_strings() -> None:
    for rule in RULES:
        with pytest.raises(InvalidJobError) as caught:
            rule.invalid()
        assert re.search(r"\w", str(caught.value))
