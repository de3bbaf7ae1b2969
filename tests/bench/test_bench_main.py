"""``python -m bench NAME…``: an unknown name is one clear line, not a traceback."""

from __future__ import annotations

import pytest
from bench.__main__ import main


def test_an_unknown_benchmark_name_is_refused_with_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["claim_bench", "100"]) == 2
    err = capsys.readouterr().err
    assert "no benchmark named 100" in err
    assert "claim_bench" in err.split("benchmarks:")[1]
    assert "UIDT_BENCH_" in err
