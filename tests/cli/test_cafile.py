"""The quick CA file check: a readable file holding a PEM certificate, one clear error else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from uidt.cli.cafile import cafile_looks_usable
from uidt.errors import InvalidJobError


def test_a_pem_certificate_file_passes(self_signed_cert: Path) -> None:
    cafile_looks_usable(str(self_signed_cert))


def test_each_unusable_file_gets_its_own_words(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    for path, words in [
        (tmp_path / "missing.pem", "does not exist"),
        (tmp_path, "is a directory"),
        (empty, "holds no certificate"),
    ]:
        with pytest.raises(InvalidJobError, match=words):
            cafile_looks_usable(str(path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_refused(self_signed_cert: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked.pem"
    locked.write_bytes(self_signed_cert.read_bytes())
    locked.chmod(0)
    with pytest.raises(InvalidJobError, match="permission denied"):
        cafile_looks_usable(str(locked))
