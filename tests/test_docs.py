"""The repository explains itself: nothing under src/, tests/ or docs/ leans on a file outside it.

Android's rules are stated in docs/android-semantics.md; code and docs point at its sections.
The anchors they point at must exist on that page.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "android-semantics.md"

# Assembled so that this file does not match itself.
OUTSIDE = (
    "reference " + "\u00a7",
    "semantics " + "\u00a7",
    "/" + "work/",
    "../" + "shared",
)
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".html", ".js", ".css", ".cfg", ".ini"}
ANCHOR = re.compile(r"android-semantics\.md#([a-z0-9-]+)")


def _files() -> list[Path]:
    found: list[Path] = []
    for top in ("src", "tests", "docs"):
        found.extend(
            p for p in sorted((ROOT / top).rglob("*")) if p.is_file() and p.suffix in TEXT_SUFFIXES
        )
    return found


def _outside_mentions(text: str) -> list[str]:
    lowered = text.lower()
    return [needle for needle in OUTSIDE if needle in lowered]


def _anchor(heading: str) -> str:
    """A GitHub-style anchor: lower case, punctuation dropped, spaces become hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_the_checker_sees_each_kind_of_outside_reference() -> None:
    assert _outside_mentions("as in Reference " + "\u00a7" + "3.2 item 3") != []
    assert _outside_mentions("see semantics " + "\u00a7" + "1") != []
    assert _outside_mentions("/" + "work/shared/spec/interface.md") != []
    assert _outside_mentions("../" + "shared/design") != []
    assert _outside_mentions("docs/android-semantics.md#backoff") == []


def test_no_file_points_outside_the_repository() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in _files()
        if (found := _outside_mentions(path.read_text(encoding="utf-8", errors="replace")))
    }
    assert offenders == {}


def test_every_anchor_pointing_at_the_android_page_exists() -> None:
    headings = {
        _anchor(line.lstrip("#"))
        for line in PAGE.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    missing = {
        f"{path.relative_to(ROOT)}: #{name}"
        for path in _files()
        for name in ANCHOR.findall(path.read_text(encoding="utf-8", errors="replace"))
        if name not in headings
    }
    assert missing == set()
