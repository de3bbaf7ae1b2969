"""``bench/segmented_bench.py``: its cases run the real engine and its table says the ratio."""

from __future__ import annotations

from pathlib import Path

from bench.segmented_bench import Case, limited_cases, limited_origin, run_cases, table
from bench.transfer_bench import MiB, Origin, source_file


def test_the_limited_cases_download_the_file_and_give_a_ratio(tmp_path: Path) -> None:
    size = 1 * MiB
    source = source_file(tmp_path, size)
    with limited_origin(source, 4 * MiB) as origin:
        cases = limited_cases(size)
        run_cases(origin, cases, tmp_path / "dest.bin", size, 1)
    assert [len(case.walls) for case in cases] == [1, 1, 1]
    assert cases[1].args == ["--split", "4", "--min-split-size", str(256 * 1024)]
    assert cases[2].args == ["--split", "auto", "--min-split-size", str(32 * 1024)]
    text = table(origin, cases, size, 1)
    assert "| --split 4 |" in text
    assert "| --split auto |" in text
    assert "speed vs --split 1" in text
    assert not (tmp_path / "dest.bin").exists()


def test_the_table_ratio_is_the_first_median_over_each() -> None:
    cases = [Case("a", [], [4.0, 4.2, 3.8]), Case("b", [], [1.0, 1.1, 0.9])]
    text = table(Origin("o", "http://127.0.0.1/f"), cases, 64 * MiB, 3)
    assert "| b | 1.00 | 67 | 4.00x |" in text
