"""The files of ``uidt download URL… [-i FILE]``: the input file's lines, checked all at once.

The input file follows aria2's ``-i`` format, in the part uidt understands:

* one file per line: its URL, then optionally more URLs for the *same* file (mirrors),
  separated by tabs or spaces;
* indented ``name=value`` lines after it set that file's options: ``out=NAME`` (the file name,
  or a path relative to ``dir``), ``dir=DIR`` (the folder; relative to the current directory),
  ``sha256=HEX`` (and aria2's spelling ``checksum=sha-256=HEX``), ``split=N`` (connections
  for this file, as ``--split``; ``split=auto`` too);
* ``#`` starts a comment line; blank lines are skipped.

:func:`plan` turns the input lines and the URLs given as arguments into one
:class:`BatchItem` per file, or raises :class:`~uidt.errors.InvalidJobError` naming the first
bad line (``line 7: …``) before anything is scheduled: a malformed line, an unknown option, a
URL that is not http(s), a bad SHA-256, a missing folder, or two lines that would write the
same destination (both line numbers are named: they would be one job, as a job's id is its
destination).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from uidt.cli.output import output_path, url_file_name
from uidt.errors import InvalidJobError
from uidt.redact import redact
from uidt.transfers.segments import Split, check_split

#: The option names an input file's indented lines may use.
OPTIONS = ("out", "dir", "sha256", "checksum", "split")


@dataclass
class InputEntry:
    """One file as written: where it was written (``"line 3"``, ``"URL 2"``) and its options."""

    where: str
    urls: list[str]
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchItem:
    """One file to download: its URL, its mirrors, its destination, its checksum and its
    connections (``split=``; ``None``: the command line's ``--split``)."""

    where: str
    url: str
    mirrors: tuple[str, ...]
    dest: Path
    sha256: str | None
    split: Split | None = None


def check_url(url: str, where: str) -> str:
    """``url`` if it is http(s); else an error naming ``where``."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise InvalidJobError(
            f"{where}: only http:// and https:// URLs can be downloaded, not {redact(url)!r}"
        )
    return url


def check_sha256(value: str, where: str) -> str:
    """``value`` in lower case if it is 64 hexadecimal digits; else an error."""
    if len(value) != 64 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise InvalidJobError(f"{where}: sha256 takes 64 hexadecimal digits")
    return value.lower()


def parse_input(text: str, *, source: str = "") -> list[InputEntry]:
    """The entries of an input file's text (``source`` prefixes the line numbers, e.g. a name).

    Raises:
        InvalidJobError: the first malformed line, with its number.
    """
    entries: list[InputEntry] = []
    prefix = f"{source}: " if source else ""
    for number, raw in enumerate(text.splitlines(), start=1):
        where = f"{prefix}line {number}"
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t":
            if not entries:
                raise InvalidJobError(f"{where}: an option line before any URL: {line.strip()!r}")
            name, sep, value = line.strip().partition("=")
            if not sep or not value:
                raise InvalidJobError(f"{where}: expected NAME=VALUE, not {line.strip()!r}")
            if name not in OPTIONS:
                raise InvalidJobError(
                    f"{where}: unknown option {name!r} (known: {', '.join(OPTIONS)})"
                )
            entry = entries[-1]
            if name == "checksum":
                kind, _, digest = value.partition("=")
                if kind.lower() not in ("sha-256", "sha256"):
                    raise InvalidJobError(f"{where}: only checksum=sha-256=HEX is supported")
                name, value = "sha256", digest
            if name in entry.options:
                raise InvalidJobError(f"{where}: {name}= given twice for {entry.where}")
            if name == "split":
                value = str(check_split(value, where))
            entry.options[name] = value
            continue
        urls = line.split()
        entries.append(InputEntry(where, [check_url(url, where) for url in urls]))
    return entries


def _destination(entry: InputEntry, output: str | None, several: bool, cwd: Path) -> Path:
    url = entry.urls[0]
    out, folder = entry.options.get("out"), entry.options.get("dir")
    if out is not None or folder is not None:
        base = cwd / (folder or output or ".")
        if not base.is_dir():
            raise InvalidJobError(f"{entry.where}: the folder {base.absolute()} does not exist")
        if out is not None and (Path(out).is_absolute() or ".." in Path(out).parts):
            raise InvalidJobError(f"{entry.where}: out= is a name inside dir=, not {out!r}")
        name = out if out is not None else url_file_name(url)
        return output_path(url, str(base / name), cwd)
    if several and output is not None and not output.endswith("/"):
        output += "/"  # with several files, -o is their folder (checked to exist)
    try:
        return output_path(url, output, cwd)
    except InvalidJobError as exc:
        raise InvalidJobError(f"{entry.where}: {exc}") from exc


def plan(
    entries: Iterable[InputEntry],
    *,
    output: str | None = None,
    sha256: str | None = None,
    mirrors: Iterable[str] = (),
    cwd: Path | None = None,
) -> list[BatchItem]:
    """One :class:`BatchItem` per entry, every entry checked before any is returned.

    ``output`` is ``-o``: a file for a single download, the folder of several. ``sha256`` and
    ``mirrors`` (``--sha256``, ``--mirror``) belong to a single file only.

    Raises:
        InvalidJobError: the first problem found, naming its line (see the module's docstring).
    """
    base = cwd if cwd is not None else Path.cwd()
    entries = list(entries)
    if not entries:
        raise InvalidJobError("no URL to download (give URLs, or -i FILE with one per line)")
    several = len(entries) > 1
    extra = [check_url(url, "--mirror") for url in mirrors]
    if several and (extra or sha256):
        raise InvalidJobError(
            "--mirror and --sha256 belong to one file; with several, put mirrors on the URL's "
            "line of the input file and sha256= on an indented line below it"
        )
    if several and output is not None and not (base / output).is_dir():
        raise InvalidJobError(f"-o with several files must be an existing folder, not {output!r}")
    items: list[BatchItem] = []
    seen: dict[Path, str] = {}
    for entry in entries:
        dest = _destination(entry, output, several, base)
        if dest in seen:
            raise InvalidJobError(
                f"{seen[dest]} and {entry.where} both save to {dest}: give one of them another "
                "out= (one destination is one job)"
            )
        seen[dest] = entry.where
        digest = entry.options.get("sha256", sha256)
        split = entry.options.get("split")
        items.append(
            BatchItem(
                entry.where,
                entry.urls[0],
                tuple(dict.fromkeys([*entry.urls[1:], *extra])),
                dest,
                None if digest is None else check_sha256(digest, entry.where),
                None if split is None else check_split(split, entry.where),
            )
        )
    return items
