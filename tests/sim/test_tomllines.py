"""Lines of TOML keys, found by re-scanning the text (``tomllib`` keeps none)."""

from __future__ import annotations

from uidt.sim.tomllines import key_lines, line_of

TEXT = """\
# a comment
[scenario]
name = "x"

[[job]]
app = "a"
list = [
  "one",
  "two = not a key",
]
[job.behaviour]
throughput = "1MB/s"

[[job]]
app = "b"
text = '''
fake = "not a key"
'''
[job.behaviour]
on_stop = "drop"
stop = { app = "a" }
"""


def test_keys_of_tables_and_arrays_of_tables_get_their_lines() -> None:
    lines = key_lines(TEXT)
    assert lines[("scenario", "name")] == 3
    assert lines[("job", 0)] == 5
    assert lines[("job", 0, "app")] == 6
    assert lines[("job", 0, "behaviour", "throughput")] == 12
    assert lines[("job", 1, "app")] == 15
    assert lines[("job", 1, "behaviour", "on_stop")] == 20


def test_text_inside_multi_line_values_is_not_taken_for_keys() -> None:
    lines = key_lines(TEXT)
    assert ("job", 0, "two") not in lines
    assert ("job", 1, "fake") not in lines


def test_a_key_inside_an_inline_table_falls_back_to_its_parent() -> None:
    lines = key_lines(TEXT)
    assert line_of(lines, ("job", 1, "behaviour", "stop", "app")) == 21
    assert line_of(lines, ("nowhere",)) is None
