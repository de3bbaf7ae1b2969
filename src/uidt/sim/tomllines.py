"""Where each key of a TOML text is written: ``tomllib`` parses values but keeps no line numbers.

:func:`key_lines` re-scans the text (after ``tomllib`` accepted it, so it is valid TOML) and maps
every key's path to its 1-based line. A path names tables by key and arrays of tables by index:
the ``throughput`` of the second ``[[job]]``'s ``[job.behaviour]`` is
``("job", 1, "behaviour", "throughput")``. Keys inside an inline table (``stop = { app = "x" }``)
are not listed: :func:`line_of` falls back to the nearest listed parent, here ``stop``.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _split_dotted(text: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def _open_brackets(value: str) -> int:
    """How many ``[``/``{`` a value leaves open (outside strings): >0 means it continues."""
    depth = 0
    quote = ""
    i = 0
    while i < len(value):
        c = value[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#":
            break
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        i += 1
    return depth


def key_lines(text: str) -> dict[Path, int]:
    """Every table header's and key's path → its 1-based line."""
    lines: dict[Path, int] = {}
    counts: dict[tuple[str, ...], int] = {}
    table: Path = ()
    depth = 0
    in_multiline = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if in_multiline in raw:
                in_multiline = ""
            continue
        if depth > 0:
            depth += _open_brackets(raw)
            continue
        header = _HEADER.match(raw)
        if header:
            names = _split_dotted(header.group(2))
            table = _resolve(names, counts, array=header.group(1) == "[[")
            lines.setdefault(table, number)
            continue
        key = _KEY.match(raw)
        if not key:
            continue
        path = table + tuple(_split_dotted(key.group(1)))
        lines.setdefault(path, number)
        value = raw[key.end() :]
        for quotes in ('"""', "'''"):
            if value.count(quotes) == 1:
                in_multiline = quotes
        if not in_multiline:
            depth = max(0, _open_brackets(value))
    return lines


def _resolve(names: list[str], counts: dict[tuple[str, ...], int], *, array: bool) -> Path:
    """A header's path: each prefix that is an array of tables gets the index of its last entry."""
    path: list[str | int] = []
    for i, name in enumerate(names):
        path.append(name)
        prefix = tuple(names[: i + 1])
        last = i == len(names) - 1
        if last and array:
            counts[prefix] = counts.get(prefix, 0) + 1
            for other in [k for k in counts if len(k) > len(prefix) and k[: len(prefix)] == prefix]:
                del counts[other]  # a new entry starts its own nested arrays
        if prefix in counts:
            path.append(counts[prefix] - 1)
    return tuple(path)


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of ``path``, or of its nearest listed parent; ``None`` if none is listed."""
    for end in range(len(path), 0, -1):
        found = lines.get(path[:end])
        if found is not None:
            return found
    return None
