"""Where ``uidt download URL [-o PATH]`` saves: a file, or a folder plus the URL's file name.

``-o PATH`` names the file, unless PATH is an existing directory or ends with ``/``: then the
file goes into that directory under the URL's file name (curl's ``--output-dir``, wget's
``-P``). Without ``-o`` it goes into the current directory under that name. The URL's name is
only ever a plain name: a percent-encoded ``/``, ``.``, ``..`` or NUL in it never points
elsewhere (``download`` is used instead).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from uidt.errors import InvalidJobError

#: The file name when the URL's path does not end in a usable one (``http://host/``).
FALLBACK_NAME = "download"


def url_file_name(url: str) -> str:
    """The last segment of the URL's path, decoded, or :data:`FALLBACK_NAME`."""
    segment = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    if "/" in segment or "\0" in segment or segment in ("", ".", ".."):
        return FALLBACK_NAME
    return segment


def output_path(url: str, output: str | None, cwd: Path | None = None) -> Path:
    """The absolute file a download of ``url`` saves to, for ``-o output`` (``None``: none).

    Raises:
        InvalidJobError: an empty ``output``, a folder that does not exist, or a file path that
            is a directory.
    """
    base = cwd if cwd is not None else Path.cwd()
    if output == "":
        raise InvalidJobError("-o needs a file or directory name, not an empty string")
    if output is None:
        dest = base / url_file_name(url)
    elif output.endswith(("/", os.sep)) or (base / output).is_dir():
        folder = base / output
        if not folder.is_dir():
            raise InvalidJobError(f"the destination folder {folder.absolute()} does not exist")
        dest = folder / url_file_name(url)
    else:
        dest = base / output
    dest = dest.absolute()
    if not dest.parent.is_dir():
        raise InvalidJobError(f"the destination folder {dest.parent} does not exist")
    if dest.is_dir():
        raise InvalidJobError(
            f"{dest} is a directory; name a file, or save into it with -o {dest}/"
        )
    return dest
