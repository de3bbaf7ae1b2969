"""The header fields of a response head read by uidt's own reader: :class:`RawHeaders`.

A small parser of its own rather than ``http.client.parse_headers``: that one loads
``http.client`` and the ``email`` package (about 10 ms in a worker's first download) to build a
full ``email.message.Message``, where the engine only ever looks fields up by name. The rules
are HTTP/1.1's (RFC 9112): one field a line, ``name: value``, names compared in any case,
values trimmed of spaces and tabs, bytes read as Latin-1 (as ``http.client`` does); a line
starting with a space or tab continues the field before (the obsolete line folding, joined with
one space); a line without a colon is skipped. More than :data:`MAX_FIELDS` fields is a bad head.
"""

from __future__ import annotations

from collections.abc import Iterator

_BLANKS = " \t"  # the spaces a field's value is trimmed of (RFC 9110's OWS)

#: The most header fields a response head may have (as ``http.client``'s limit).
MAX_FIELDS = 100


class TooManyFieldsError(ValueError):
    """The head holds more than :data:`MAX_FIELDS` fields."""


class RawHeaders:
    """A response's header fields, looked up by name in any case (first value, as ``email``).

    Args:
        fields: ``(name, value)`` pairs in the order received.
    """

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields
        self._first: dict[str, str] = {}
        for name, value in fields:
            self._first.setdefault(name.lower(), value)

    @classmethod
    def parse(cls, block: bytes) -> RawHeaders:
        """The fields of ``block``, the head's lines after the status line (no blank line).

        Raises:
            TooManyFieldsError: More than :data:`MAX_FIELDS` fields.
        """
        fields: list[tuple[str, str]] = []
        for raw in block.split(b"\n"):
            line = raw.decode("latin-1").rstrip("\r")
            if not line:
                continue
            if line[0] in _BLANKS:
                if fields:  # obsolete folding: the value goes on
                    name, value = fields[-1]
                    fields[-1] = (name, f"{value} {line.strip(_BLANKS)}".strip(_BLANKS))
                continue
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip(_BLANKS):
                continue  # not a field (a space before the colon is not allowed either)
            fields.append((name, value.strip(_BLANKS)))
            if len(fields) > MAX_FIELDS:
                raise TooManyFieldsError(f"the response head has over {MAX_FIELDS} fields")
        return cls(fields)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of the field ``name`` (any case), else ``default``."""
        return self._first.get(name.lower(), default)

    def get_all(self, name: str) -> list[str]:
        """Every value of the field ``name`` (any case), in the order received."""
        wanted = name.lower()
        return [value for field, value in self._fields if field.lower() == wanted]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def items(self) -> list[tuple[str, str]]:
        """The ``(name, value)`` pairs in the order received."""
        return list(self._fields)

    def __repr__(self) -> str:
        return f"RawHeaders({self._fields!r})"
