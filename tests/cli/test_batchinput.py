"""The input file of ``uidt download -i``: its lines, options, and the all-or-nothing checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from uidt.cli.batchinput import parse_input, plan
from uidt.errors import InvalidJobError

SHA = "ab" * 32


def test_urls_options_comments_and_mirrors(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    text = (
        "# a comment\n"
        "\n"
        "http://a/x.bin\n"
        "  out=renamed.bin\n"
        f"  sha256={SHA.upper()}\n"
        "http://b/y.bin\thttp://c/y.bin  http://d/y.bin\n"
        "\tdir=sub\n"
        "https://e/z.bin\n"
        f"  checksum=sha-256={SHA}\n"
    )
    items = plan(parse_input(text), cwd=tmp_path)
    assert [item.dest for item in items] == [
        tmp_path / "renamed.bin",
        tmp_path / "sub" / "y.bin",
        tmp_path / "z.bin",
    ]
    assert items[0].sha256 == SHA
    assert items[1].url == "http://b/y.bin"
    assert items[1].mirrors == ("http://c/y.bin", "http://d/y.bin")
    assert items[2].sha256 == SHA
    assert items[0].where == "line 3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http://a/x\n  out\n", "line 2: expected NAME=VALUE"),
        ("http://a/x\n  speed=3\n", "line 2: unknown option 'speed'"),
        ("  out=x\nhttp://a/x\n", "line 1: an option line before any URL"),
        ("http://a/x\n\nftp://b/y\n", "line 3: only http:// and https://"),
        ("http://a/x\n  sha256=12\n", "line 1: sha256 takes 64"),
        ("http://a/x\n  out=a\n  out=b\n", "line 3: out= given twice"),
        ("http://a/x\n  dir=nowhere\n", "line 1: the folder"),
        ("http://a/x\n  out=../up\n", "line 1: out= is a name inside dir="),
        ("http://a/x\n  checksum=md5=00\n", "line 2: only checksum=sha-256"),
        ("http://a/x\n  split=0\n", "line 2: split is 1 to 16 connections"),
        ("http://a/x\n  split=17\n", "line 2: split is 1 to 16 connections"),
        ("http://a/x\n  split=four\n", "line 2: split is 1 to 16 connections"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_planned(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(InvalidJobError, match=message):
        plan(parse_input(text), cwd=tmp_path)


def test_two_lines_for_one_destination_name_both_lines(tmp_path: Path) -> None:
    text = "http://a/x.bin\n# same name, another host\nhttp://b/x.bin\n"
    with pytest.raises(InvalidJobError, match=r"line 1 and line 3 both save to .*x\.bin"):
        plan(parse_input(text), cwd=tmp_path)


def test_several_urls_need_a_folder_for_o(tmp_path: Path) -> None:
    entries = parse_input("http://a/1\nhttp://a/2\n")
    with pytest.raises(InvalidJobError, match="-o with several files must be an existing folder"):
        plan(entries, output="file.bin", cwd=tmp_path)
    (tmp_path / "into").mkdir()
    items = plan(entries, output="into", cwd=tmp_path)
    assert [i.dest for i in items] == [tmp_path / "into" / "1", tmp_path / "into" / "2"]


def test_mirror_and_sha256_options_belong_to_one_file(tmp_path: Path) -> None:
    one = plan(parse_input("http://a/f\n"), mirrors=["http://b/f"], sha256=SHA, cwd=tmp_path)
    assert one[0].mirrors == ("http://b/f",)
    assert one[0].sha256 == SHA
    with pytest.raises(InvalidJobError, match="--mirror and --sha256 belong to one file"):
        plan(parse_input("http://a/1\nhttp://a/2\n"), mirrors=["http://b/f"], cwd=tmp_path)
    with pytest.raises(InvalidJobError, match="--mirror: only http"):
        plan(parse_input("http://a/f\n"), mirrors=["file:///etc/passwd"], cwd=tmp_path)


def test_no_url_at_all_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidJobError, match="no URL to download"):
        plan(parse_input("# only a comment\n\n"), cwd=tmp_path)
