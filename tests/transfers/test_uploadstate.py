"""UploadCheckpoint: an upload resumes only from its own, matching, safely owned checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

from uidt.transfers.notices import Notice
from uidt.transfers.uploadstate import UploadCheckpoint, upload_checkpoint_path

URL = "http://user:secret@127.0.0.1/files/"


def _checkpoint(tmp_path: Path, *, size: int = 10, url: str = URL) -> UploadCheckpoint:
    return UploadCheckpoint(upload_checkpoint_path(tmp_path / "f.bin"), url, size, 123)


def test_a_saved_upload_is_found_again_without_the_password_on_disk(tmp_path: Path) -> None:
    _checkpoint(tmp_path).save("http://127.0.0.1/files/7")
    assert "secret" not in (tmp_path / "f.bin.uidt-upload").read_text()
    notices: list[Notice] = []
    assert _checkpoint(tmp_path).load(notices.append) == "http://127.0.0.1/files/7"
    assert notices == []


def test_another_file_or_endpoint_does_not_resume(tmp_path: Path) -> None:
    _checkpoint(tmp_path).save("http://127.0.0.1/files/7")
    notices: list[Notice] = []
    assert _checkpoint(tmp_path, size=11).load(notices.append) is None
    assert _checkpoint(tmp_path, url="http://127.0.0.1/other/").load(notices.append) is None
    assert notices == [Notice.RESTARTED_BAD_CHECKPOINT] * 2


def test_a_checkpoint_others_may_write_is_not_trusted(tmp_path: Path) -> None:
    _checkpoint(tmp_path).save("http://127.0.0.1/files/7")
    os.chmod(tmp_path / "f.bin.uidt-upload", 0o666)
    notices: list[Notice] = []
    assert _checkpoint(tmp_path).load(notices.append) is None
    assert notices == [Notice.RESTARTED_UNTRUSTED_FILES]


def test_remove_forgets_it(tmp_path: Path) -> None:
    checkpoint = _checkpoint(tmp_path)
    checkpoint.save("http://127.0.0.1/files/7")
    checkpoint.remove()
    assert checkpoint.load(lambda _: None) is None
