"""``uidt download -o``: a file, or a folder that gets the URL's file name."""

from __future__ import annotations

from pathlib import Path

import pytest

from uidt.cli.output import output_path, url_file_name
from uidt.errors import InvalidJobError


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://h/a/b/data.bin", "data.bin"),
        ("http://h/a/my%20file.iso?x=1#frag", "my file.iso"),
        ("http://h/", "download"),
        ("http://h", "download"),
        ("http://h/dir/", "download"),
        # A hostile server's URL never names a path outside the folder.
        ("http://h/x/..", "download"),
        ("http://h/x/.", "download"),
        ("http://h/%2e%2e", "download"),
        ("http://h/..%2F..%2Fetc%2Fpasswd", "download"),
        ("http://h/a%00b", "download"),
    ],
)
def test_the_url_file_name_is_a_plain_name(url: str, name: str) -> None:
    assert url_file_name(url) == name


def test_an_existing_directory_gets_the_url_file_name(tmp_path: Path) -> None:
    url = "http://h/files/data.bin"
    assert output_path(url, str(tmp_path)) == tmp_path / "data.bin"
    assert output_path(url, str(tmp_path) + "/") == tmp_path / "data.bin"
    (tmp_path / "sub").mkdir()
    assert output_path(url, "sub", cwd=tmp_path) == tmp_path / "sub" / "data.bin"
    assert output_path(url, ".", cwd=tmp_path) == tmp_path / "data.bin"


def test_a_file_path_is_used_as_it_is_and_no_output_means_the_current_directory(
    tmp_path: Path,
) -> None:
    url = "http://h/files/data.bin"
    assert output_path(url, str(tmp_path / "other.bin")) == tmp_path / "other.bin"
    assert output_path(url, "rel.bin", cwd=tmp_path) == tmp_path / "rel.bin"
    assert output_path(url, None, cwd=tmp_path) == tmp_path / "data.bin"


def test_a_missing_folder_or_a_directory_in_the_way_is_refused(tmp_path: Path) -> None:
    url = "http://h/files/data.bin"
    with pytest.raises(InvalidJobError, match="empty"):
        output_path(url, "", cwd=tmp_path)
    with pytest.raises(InvalidJobError, match="does not exist"):
        output_path(url, str(tmp_path / "missing") + "/")
    with pytest.raises(InvalidJobError, match="does not exist"):
        output_path(url, str(tmp_path / "missing" / "x.bin"))
    (tmp_path / "data.bin").mkdir()  # a directory already holds the URL's name
    with pytest.raises(InvalidJobError, match="is a directory"):
        output_path(url, str(tmp_path))
