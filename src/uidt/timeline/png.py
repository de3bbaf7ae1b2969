"""Draw a :class:`~uidt.timeline.model.Timeline` as a PNG with matplotlib (an optional extra:
``pip install 'uidt[plot]'``). The same lanes, colours, legend and numbered stops as the SVG."""

from __future__ import annotations

import importlib
import io
from typing import Any

from uidt.errors import RenderError
from uidt.timeline.model import Style, Timeline
from uidt.timeline.svg import COLOURS, DARK, MARK_COLOURS, MARK_WORDS

MISSING = (
    "drawing a PNG needs matplotlib, which is not installed: "
    "pip install 'uidt[plot]' (or write the picture as .svg, which needs nothing)"
)


def require_matplotlib() -> Any:
    """The ``matplotlib`` module.

    Raises:
        RenderError: it is not installed (the message says how to get it, or to use SVG).
    """
    try:
        return importlib.import_module("matplotlib")
    except ImportError as exc:
        raise RenderError(MISSING) from exc


def _pyplot() -> Any:
    require_matplotlib().use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def render_png(timeline: Timeline) -> bytes:
    """The timeline as a PNG image.

    Raises:
        RenderError: matplotlib is not installed.
    """
    plt = _pyplot()
    patches = importlib.import_module("matplotlib.patches")
    rows: list[tuple[str, float]] = []  # (label, height) top to bottom
    for row in timeline.jobs:
        rows.append((row.lane.title, 1.0))
        if row.curve is not None:
            rows.append(("  bytes done", 0.8))
    rows += [(f"  {lane.title}", 0.6) for lane in timeline.readings]
    marks = timeline.marks()
    height = 1.6 + 0.32 * sum(h for _, h in rows) + 0.22 * len(marks) + 0.8
    fig, ax = plt.subplots(figsize=(12, height))
    scale = 3_600_000  # hours on the x axis
    y = 0.0
    ticks: list[float] = []
    numbers = {id(mark): i for i, (_, _, mark) in enumerate(marks, start=1)}
    used: list[Style] = []

    span_h = max(1, timeline.end_ms - timeline.start_ms) / scale

    def bands(lane_bands: tuple[Any, ...], top: float, h: float) -> None:
        for band in lane_bands:
            width = (band.end_ms - band.start_ms) / scale
            ax.broken_barh(
                [(band.start_ms / scale, width)],
                (top - h, h * 0.9),
                facecolors=COLOURS[band.style],
            )
            if width / span_h > 0.0065 * len(band.label):  # the words, where they fit
                ax.text(
                    band.start_ms / scale + span_h * 0.003,
                    top - h * 0.55,
                    band.label,
                    fontsize=6,
                    va="center",
                    color="white" if band.style in DARK else "#222",
                )
            if band.style not in used:
                used.append(band.style)

    for row in timeline.jobs:
        bands(row.lane.bands, -y, 1.0)
        for mark in row.lane.marks:
            x = mark.at_ms / scale
            ax.plot([x, x], [-y - 1.0, -y], color=MARK_COLOURS[mark.kind], linewidth=1.5)
            ax.text(x, -y + 0.05, str(numbers[id(mark)]), color=MARK_COLOURS[mark.kind], fontsize=7)
        ticks.append(-y - 0.5)
        y += 1.0
        if row.curve is not None:
            top = max(1, row.curve.total)
            xs = [timeline.start_ms / scale] + [t / scale for t, _ in row.curve.points]
            ys = [0.0] + [v / top for _, v in row.curve.points]
            xs.append(timeline.end_ms / scale)
            ys.append(ys[-1])
            ax.plot(xs, [-y - 0.75 + 0.7 * v for v in ys], color="#1f77b4", linewidth=1)
            ticks.append(-y - 0.4)
            y += 0.8
    for lane in timeline.readings:
        bands(lane.bands, -y, 0.6)
        ticks.append(-y - 0.3)
        y += 0.6
    ax.set_yticks(ticks, [label for label, _ in rows], fontsize=8)
    ax.set_ylim(-y - 0.1, 0.4)
    ax.set_xlim(timeline.start_ms / scale, timeline.end_ms / scale)
    hour_ticks = ax.get_xticks()
    ax.set_xticks(
        hour_ticks, [timeline.time_text(round(t * scale), seconds=False) for t in hour_ticks]
    )
    ax.set_xlim(timeline.start_ms / scale, timeline.end_ms / scale)
    ax.set_title(f"{timeline.title}\n{timeline.time_note}", fontsize=10)
    handles = [patches.Patch(color=COLOURS[s], label=s.value) for s in Style if s in used]
    kinds = sorted({m.kind for _, _, m in marks})
    handles += [patches.Patch(color=MARK_COLOURS[k], label=f"| {MARK_WORDS[k]}") for k in kinds]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.08), ncol=2, fontsize=7)
    lines = [
        f"{n}. {timeline.time_text(at)}  {title}  {m.kind.value}: {m.words}  [{m.code}]"
        for n, (at, title, m) in enumerate(marks, start=1)
    ]
    if lines:
        text = "\n".join(["Stops:", *lines])
        fig.text(0.01, 0.01, text, fontsize=7, va="bottom", family="monospace")
    fig.subplots_adjust(
        left=0.2, right=0.98, top=1 - 0.9 / height, bottom=(0.9 + 0.12 * len(lines) + 0.5) / height
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()
