"""Timeline pictures of one trace: bytes the proxy sent each client over time, faults as bands.

Needs matplotlib (``pip install -e '.[bench]'``); the harness skips the pictures without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.badday.trace import KILLS, Kind, Trace

MiB = 1024 * 1024
BANDS = {Kind.LINK_DOWN: ("link down", "tab:red"), Kind.METERED: ("metered", "tab:orange")}
SHORT = {
    Kind.STALL: ("stall", "tab:gray"),
    Kind.HTTP_503: ("503 burst", "tab:purple"),
    Kind.HTTP_429: ("429 burst", "tab:pink"),
}


def plot_seed(out: Path, seed: int) -> list[Path]:
    """One PNG per client of ``seed`` under ``out/timelines``; their paths."""
    seed_dir = out / "runs" / f"seed-{seed}"
    trace = Trace.from_json((seed_dir / "trace.json").read_text())
    target = out / "timelines"
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for result_file in sorted(seed_dir.glob("*/result.json")):
        data = json.loads(result_file.read_text())
        path = target / f"seed-{seed}-{data['result']['client']}.png"
        draw(trace, data, path)
        paths.append(path)
    return paths


def draw(trace: Trace, data: dict[str, object], path: Path) -> None:
    result = data["result"]
    timeline = data["timeline"]
    assert isinstance(result, dict)
    assert isinstance(timeline, dict)
    fig, ax = plt.subplots(figsize=(10, 4))
    total = 0
    xs, ys = [0.0], [0.0]
    for t, n in timeline["buckets"]:
        total += n
        xs.append(t)
        ys.append(total / MiB)
    ax.step(xs, ys, where="post", color="tab:blue", label="MiB sent by the server")
    ax.axhline(trace.size / MiB, color="black", linewidth=0.5, linestyle=":")
    labelled: set[str] = set()
    for kind, (label, color) in {**BANDS, **SHORT}.items():
        for start, end in trace.windows(kind):
            ax.axvspan(
                start, end, color=color, alpha=0.25 if kind in BANDS else 0.15,
                label=None if label in labelled else label,
            )  # fmt: skip
            labelled.add(label)
    for event in trace.events:
        if event.kind in KILLS:
            ax.axvline(event.at, color="black", linestyle="--", linewidth=1)
            ax.text(event.at, ax.get_ylim()[1] * 0.95, event.kind.value, rotation=90,
                    fontsize=7, va="top", ha="right")  # fmt: skip
        elif event.kind in (Kind.RESET, Kind.TRUNCATE, Kind.ETAG):
            ax.axvline(event.at, color="tab:green", linestyle=":", linewidth=1)
            ax.text(event.at, ax.get_ylim()[1] * 0.05, event.kind.value, rotation=90,
                    fontsize=7, va="bottom", ha="right")  # fmt: skip
    wall = result["wall_s"]
    if wall is not None:
        ax.axvline(float(wall), color="tab:blue", linewidth=1.5)
    state = "byte-exact" if result["byte_exact"] else "NOT byte-exact"
    ending = "did not end" if wall is None else f"ended at {float(wall):.1f} s"
    ax.set_title(f"{result['client']}, seed {trace.seed}: {ending}, {state}")
    ax.set_xlabel("seconds since the client started")
    ax.set_ylabel("MiB")
    ax.legend(loc="center right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
