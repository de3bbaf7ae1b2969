"""The fixed-cost benchmark's report: medians per mark and lane, last byte to exit per run."""

from __future__ import annotations

from pathlib import Path

from bench.fixedcost_bench import Lane, report
from bench.uidthome import UidtHome


def _lane(name: str, tmp_path: Path) -> Lane:
    return Lane(name, tmp_path, UidtHome(tmp_path))  # no daemon: the report reads the figures


def test_each_mark_is_the_median_of_its_runs_and_the_end_is_paired_run_by_run(
    tmp_path: Path,
) -> None:
    base, this = _lane("base", tmp_path), _lane("this tree", tmp_path)
    base.at["download.fetched"] += [100.0, 200.0, 300.0]
    base.at["exit"] += [110.0, 230.0, 305.0]  # 10, 30, 5 ms after the last byte: median 10
    this.at["download.fetched"] += [90.0]
    this.at["exit"] += [94.0]
    base.cpu_at["cli.submit"] += [150.0, 140.0, 160.0]
    for lane in (base, this):
        lane.cpu["command"] += [0.1, 0.2, 0.3]
        lane.cpu["daemon and worker"] += [0.05]
    text = report([base, this], "title")
    assert text.startswith("title\n")
    assert "| `download.fetched` | 200.0 | 90.0 |" in text
    assert "| last byte → exit | 10.0 | 4.0 |" in text
    assert "| `cli.submit` | 150.0 | - |" in text  # a lane without the mark: blank, not 0
    assert "| `cli.main` | - | - |" in text
    assert "| command | 0.200 | 0.200 |" in text
