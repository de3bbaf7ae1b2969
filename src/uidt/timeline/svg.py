"""Draw a :class:`~uidt.timeline.model.Timeline` as a standalone SVG document (no dependency).

Layout, top to bottom: the title and how to read the times; a time axis; per job a state lane
(coloured bands, numbered stop marks) and a thin bytes curve; the device readings; the legend
(one swatch per colour used, in words); the numbered list of stops with their reasons in words.
Every band and mark also carries a ``<title>`` (a tooltip in a browser).
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from uidt.timeline.model import Band, Curve, Lane, Mark, MarkKind, Style, Timeline
from uidt.units import human_bytes

#: One colour per style (colour-blind-safe where it matters: running blue, waiting orange/yellow).
COLOURS: dict[Style, str] = {
    Style.RUNNING: "#1f77b4",
    Style.WAIT_NETWORK: "#ff9f40",
    Style.WAIT_POWER: "#f2c500",
    Style.WAIT_STORAGE: "#b07aa1",
    Style.WAIT_DEVICE: "#e15759",
    Style.WAIT_BACKOFF: "#9d7660",
    Style.WAIT_SLOT: "#bab0ac",
    Style.WAIT_USER: "#59595c",
    Style.WAIT_OTHER: "#d4a6c8",
    Style.FINISHED: "#59a14f",
    Style.FAILED: "#8c1c13",
    Style.CANCELLED: "#79706e",
    Style.DROPPED: "#a0522d",
    Style.USER_STOPPED: "#4e4e50",
    Style.GOOD: "#c7e9c0",
    Style.LIMITED: "#fdd0a2",
    Style.BAD: "#fb6a4a",
}
#: Styles dark enough to need white words on them.
DARK = frozenset(
    {
        Style.RUNNING,
        Style.FAILED,
        Style.WAIT_USER,
        Style.CANCELLED,
        Style.DROPPED,
        Style.USER_STOPPED,
        Style.FINISHED,
    }
)
MARK_COLOURS = {
    MarkKind.STOPPED: "#d62728",
    MarkKind.KILLED: "#000000",
    MarkKind.CRASHED: "#7b2cbf",
}
MARK_WORDS = {
    MarkKind.STOPPED: "the scheduler stopped the job",
    MarkKind.KILLED: "the app's process was killed or died",
    MarkKind.CRASHED: "the app crashed",
}

WIDTH = 1100
LEFT = 250
RIGHT = 24
PLOT = WIDTH - LEFT - RIGHT
LANE = 22
CURVE = 26
READING = 16
GAP = 8
FONT = "font-family='DejaVu Sans, Arial, sans-serif'"
#: Tick spacings to choose from (ms), so the axis has at most about ten labels.
STEPS = [1_000 * s for s in (1, 2, 5, 10, 15, 30)] + [
    60_000 * m for m in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
]


class _Canvas:
    def __init__(self, timeline: Timeline) -> None:
        self.t = timeline
        self.parts: list[str] = []
        self.span = max(1, timeline.end_ms - timeline.start_ms)
        #: Where the time axis is drawn: the grid lines run from there down.
        self.grid_top = 0

    def x(self, ms: int) -> float:
        clamped = min(max(ms, self.t.start_ms), self.t.end_ms)
        return round(LEFT + (clamped - self.t.start_ms) / self.span * PLOT, 2)

    def add(self, text: str) -> None:
        self.parts.append(text)

    def text(self, x: float, y: float, words: str, *, size: int = 12, extra: str = "") -> None:
        self.add(f"<text x='{x}' y='{y}' font-size='{size}' {FONT} {extra}>{escape(words)}</text>")

    def rect(self, x: float, y: float, w: float, h: float, fill: str, tip: str = "") -> None:
        title = f"<title>{escape(tip)}</title>" if tip else ""
        self.add(
            f"<rect x='{x}' y='{y}' width='{max(w, 0.8)}' height='{h}' fill='{fill}'>{title}</rect>"
        )


def render_svg(timeline: Timeline) -> str:
    """The timeline as an SVG document (UTF-8 text)."""
    c = _Canvas(timeline)
    c.text(12, 24, timeline.title, size=16, extra="font-weight='bold'")
    c.text(12, 42, timeline.time_note, size=11, extra="fill='#555'")
    y = 60
    y = _axis(c, y)
    numbers = {id(mark): i for i, (_, _, mark) in enumerate(timeline.marks(), start=1)}
    for row in timeline.jobs:
        y = _job_lane(c, row.lane, y, numbers)
        if row.curve is not None:
            y = _curve(c, row.curve, y)
        y += GAP
    if timeline.readings:
        c.text(12, y + 12, "Device", size=12, extra="font-weight='bold'")
        y += 18
        for lane in timeline.readings:
            y = _reading_lane(c, lane, y)
    y = _grid(c, y)
    y = _legend(c, timeline, y + 14)
    y = _stop_list(c, timeline, y + 8)
    head = (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{y + 12}' "
        f"viewBox='0 0 {WIDTH} {y + 12}'>\n"
        f"<title>{escape(timeline.title)}</title>\n"
        f"<rect width='{WIDTH}' height='{y + 12}' fill='white'/>\n"
    )
    return head + "\n".join(c.parts) + "\n</svg>\n"


def _ticks(c: _Canvas) -> list[int]:
    span = c.span
    step = next((s for s in STEPS if span / s <= 10), STEPS[-1])
    first = c.t.start_ms + (-c.t.start_ms % step)  # on round times
    return list(range(first, c.t.end_ms + 1, step))


def _axis(c: _Canvas, y: int) -> int:
    c.add(f"<line x1='{LEFT}' y1='{y + 16}' x2='{LEFT + PLOT}' y2='{y + 16}' stroke='#333'/>")
    ticks = _ticks(c)
    seconds = len(ticks) > 1 and ticks[1] - ticks[0] < 60_000
    for tick in ticks:
        x = c.x(tick)
        c.add(f"<line x1='{x}' y1='{y + 12}' x2='{x}' y2='{y + 16}' stroke='#333'/>")
        label = c.t.time_text(tick, seconds=seconds)
        anchor = "end" if x > LEFT + PLOT - 4 * len(label) else "middle"  # keep it on the page
        c.text(x, y + 8, label, size=10, extra=f"text-anchor='{anchor}'")
    c.grid_top = y + 16
    return y + 22


def _grid(c: _Canvas, bottom: int) -> int:
    for tick in _ticks(c):  # first in the document: under everything but the background
        x = c.x(tick)
        c.parts.insert(
            0, f"<line x1='{x}' y1='{c.grid_top}' x2='{x}' y2='{bottom}' stroke='#eee'/>"
        )
    return bottom


def _job_lane(c: _Canvas, lane: Lane, y: int, numbers: dict[int, int]) -> int:
    c.text(12, y + 15, _short(lane.title, 34), size=12, extra="font-weight='bold'")
    c.add(f"<rect x='{LEFT}' y='{y}' width='{PLOT}' height='{LANE}' fill='#fafafa' stroke='#ddd'/>")
    for band in lane.bands:
        _band(c, band, y, LANE)
    for mark in lane.marks:
        _mark(c, mark, y, numbers.get(id(mark), 0))
    return y + LANE + 2


def _band(c: _Canvas, band: Band, y: int, height: int) -> None:
    x0, x1 = c.x(band.start_ms), c.x(band.end_ms)
    tip = f"{c.t.time_text(band.start_ms)} to {c.t.time_text(band.end_ms)}: {band.label}"
    c.rect(x0, y, x1 - x0, height, COLOURS[band.style], tip)
    if x1 - x0 > 6 * len(band.label) + 6:  # label the band where it fits
        c.text(x0 + 3, y + height / 2 + 4, band.label, size=10, extra=_ink(band.style))


def _ink(style: Style) -> str:
    return "fill='white'" if style in DARK else "fill='#222'"


def _mark(c: _Canvas, mark: Mark, y: int, number: int) -> None:
    x = c.x(mark.at_ms)
    colour = MARK_COLOURS[mark.kind]
    tip = f"{c.t.time_text(mark.at_ms)} {mark.kind.value}: {mark.words} [{mark.code}]"
    c.add(
        f"<g><title>{escape(tip)}</title>"
        f"<line x1='{x}' y1='{y - 3}' x2='{x}' y2='{y + LANE}' stroke='{colour}' stroke-width='2'/>"
        f"<polygon points='{x - 5},{y - 7} {x + 5},{y - 7} {x},{y}' fill='{colour}'/>"
        f"<text x='{x + 6}' y='{y - 1}' font-size='9' {FONT} fill='{colour}'>{number}</text></g>"
    )


def _curve(c: _Canvas, curve: Curve, y: int) -> int:
    c.text(24, y + 17, f"bytes done (of {human_bytes(curve.total)})", size=10, extra="fill='#555'")
    c.add(f"<rect x='{LEFT}' y='{y}' width='{PLOT}' height='{CURVE}' fill='white' stroke='#eee'/>")
    top = max(1, curve.total, *(v for _, v in curve.points)) if curve.points else 1
    points = [(c.t.start_ms, 0), *curve.points] if curve.points else []
    if points and points[-1][0] < c.t.end_ms:
        points.append((c.t.end_ms, points[-1][1]))
    coords = " ".join(
        f"{c.x(t)},{round(y + CURVE - 2 - v / top * (CURVE - 4), 2)}" for t, v in points
    )
    if coords:
        c.add(f"<polyline points='{coords}' fill='none' stroke='#1f77b4' stroke-width='1.5'/>")
    return y + CURVE + 2


def _reading_lane(c: _Canvas, lane: Lane, y: int) -> int:
    c.text(24, y + 12, lane.title, size=11)
    for band in lane.bands:
        _band(c, band, y, READING)
    return y + READING + 3


def _legend(c: _Canvas, timeline: Timeline, y: int) -> int:
    c.text(12, y + 12, "Legend", size=12, extra="font-weight='bold'")
    used: list[Style] = []
    for lane in [row.lane for row in timeline.jobs] + list(timeline.readings):
        used.extend(b.style for b in lane.bands if b.style not in used)
    kinds = sorted({m.kind for row in timeline.jobs for m in row.lane.marks})
    entries: list[tuple[str, str]] = [(COLOURS[s], s.value) for s in Style if s in used]
    entries += [(MARK_COLOURS[k], f"▼ {MARK_WORDS[k]}") for k in kinds]
    if any(row.curve for row in timeline.jobs):
        entries.append(("#1f77b4", "line: bytes done so far"))
    x: float = LEFT
    row_y = y
    for colour, words in entries:
        width = 24 + len(words) * 6.2
        if x + width > WIDTH - RIGHT:
            x, row_y = LEFT, row_y + 18
        c.rect(x, row_y + 2, 14, 12, colour)
        c.text(x + 18, row_y + 12, words, size=11)
        x += width + 14
    return row_y + 22


def _stop_list(c: _Canvas, timeline: Timeline, y: int) -> int:
    marks = timeline.marks()
    if not marks:
        c.text(12, y + 12, "No stops: no job was stopped, killed or crashed.", size=11)
        return y + 18
    c.text(12, y + 12, "Stops", size=12, extra="font-weight='bold'")
    y += 18
    for number, (at, title, mark) in enumerate(marks, start=1):
        line = f"{number}. {timeline.time_text(at)}  {title}  {mark.kind.value}: {mark.words}  [{mark.code}]"
        c.text(24, y + 12, line, size=11, extra=f"fill={quoteattr(MARK_COLOURS[mark.kind])}")
        y += 16
    return y


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]
