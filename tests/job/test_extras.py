"""Extras bundles: JSON-safe, canonical, depth-limited, and thawed as fresh copies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uidt.errors import InvalidJobError
from uidt.job.extras import MAX_DEPTH, freeze, thaw


def test_none_freezes_to_an_empty_object() -> None:
    assert freeze(None) == "{}"
    assert thaw(freeze(None)) == {}


def test_freeze_is_canonical() -> None:
    assert freeze({"b": 1, "a": [1, {"d": 2, "c": None}]}) == freeze(
        {"a": [1, {"c": None, "d": 2}], "b": 1}
    )
    assert freeze({"ü": "ß"}) == '{"ü":"ß"}'


def test_tuples_become_lists() -> None:
    assert thaw(freeze({"t": (1, 2)})) == {"t": [1, 2]}


def test_thaw_returns_independent_copies() -> None:
    frozen = freeze({"l": [1]})
    first = thaw(frozen)
    first["l"].append(2)
    assert thaw(frozen) == {"l": [1]}


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"n": value}
    return value


def test_depth_limit() -> None:
    freeze(_nested(MAX_DEPTH))
    with pytest.raises(InvalidJobError, match="nested deeper than 10"):
        freeze(_nested(MAX_DEPTH + 1))


@pytest.mark.parametrize(
    ("extras", "message"),
    [
        ({"x": float("nan")}, "NaN"),
        ({"x": float("inf")}, "infinities"),
        ({"x": [float("-inf")]}, "infinities"),
        ({"x": b"bytes"}, "JSON-safe"),
        ({"x": {1, 2}}, "JSON-safe"),
        ({"x": object()}, "JSON-safe"),
        ({"x": {2: "int key"}}, "keys must be strings"),
        ({3: "top int key"}, "keys must be strings"),
        ([("k", "v")], "must be a mapping"),
        ("text", "must be a mapping"),
    ],
)
def test_freeze_rejects_what_json_cannot_carry(extras: Any, message: str) -> None:
    with pytest.raises(InvalidJobError, match=message):
        freeze(extras)


def test_error_names_the_bundle_and_path() -> None:
    with pytest.raises(InvalidJobError, match=r"transient extras\.a\[1\]"):
        freeze({"a": [1, object()]}, "transient extras")


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.dictionaries(st.text(), json_values, max_size=5))
def test_freeze_thaw_round_trip(extras: dict[str, Any]) -> None:
    frozen = freeze(extras)
    assert thaw(frozen) == json.loads(json.dumps(extras))
    assert freeze(thaw(frozen)) == frozen
    json.loads(frozen)  # valid JSON text
