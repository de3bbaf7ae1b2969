"""Host labels: which hosts of a fleet may run a job (docs/fleet.md, "Host requirements").

A host names what it offers with the ``host_labels`` setting (``gpu-rack,ssd``); a job names
what it needs (``JobInfo.Builder.add_required_host_label``, ``uidt download --on gpu-rack``). A
host runs a job only when the job's labels are all among its own. Android has no such rule:
there one device runs every job of its apps; uidt adds it for many hosts sharing one store.

A label is 1 to 63 characters of ``a-z``, ``0-9``, ``_``, ``.``, ``-``, starting with a letter
or a digit: lower case only, so ``GPU`` and ``gpu`` cannot name two different things, and no
comma or space, so a list of labels is never ambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from uidt.errors import InvalidJobError

LABEL_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
RULE = "a label is 1 to 63 of a-z, 0-9, '_', '.', '-', starting with a letter or digit"


def check_label(label: object) -> str:
    """``label`` itself when it is a valid host label.

    Raises:
        InvalidJobError: not a string, or not of the label syntax (the message says the rule).
    """
    if not isinstance(label, str):
        raise InvalidJobError(f"a host label must be a string, not {type(label).__name__}")
    if LABEL_PATTERN.fullmatch(label) is None:
        raise InvalidJobError(f"invalid host label {label!r}: {RULE}")
    return label


def normalized(labels: Iterable[object]) -> tuple[str, ...]:
    """Checked labels, sorted, each once (the form jobs and settings keep).

    Raises:
        InvalidJobError: one of them is not a valid label.
    """
    return tuple(sorted({check_label(label) for label in labels}))


def parse_labels(value: object) -> tuple[str, ...]:
    """A host's labels from a setting: ``"gpu-rack, ssd"`` (commas) or a list of strings.

    Raises:
        InvalidJobError: a label is invalid, or the value is neither text nor a list.
    """
    if isinstance(value, str):
        return normalized(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple):
        return normalized(value)
    raise InvalidJobError(f"host labels are a comma-separated text or a list, not {value!r}")


def missing_labels(required: Iterable[str], offered: Iterable[str]) -> tuple[str, ...]:
    """The labels of ``required`` that ``offered`` lacks (sorted; empty: the host may run it)."""
    return tuple(sorted(set(required) - set(offered)))
