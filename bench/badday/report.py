"""The figures of the bad day: one :class:`RunResult` per client and trace, and their table.

Pure: the table is computed from the results alone (median and worst over the traces).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

MiB = 1024 * 1024


@dataclass
class RunResult:
    client: str
    seed: int
    byte_exact: bool  # ended, and the file's SHA-256 is the server's
    wall_s: float | None  # None: did not end before the harness gave up
    sent_bytes: int  # bytes the proxy wrote to this client (heads included)
    size: int
    metered_bytes: int  # of those, written while the network was metered
    user_actions: int
    system_restarts: int
    lower_bound_s: float  # the link up, at its shaped rate
    lower_bound_unmetered_s: float  # ... and not metered (a job that requires unmetered)
    notes: list[str] = field(default_factory=list)
    #: uidt: bytes sent after its daemon was told the network is metered (peers: 0, untold).
    metered_told_bytes: int = 0
    #: The clean bound (:mod:`bench.badday.bounds`), and the same without the metered time.
    clean_bound_s: float = 0.0
    clean_bound_unmetered_s: float = 0.0
    #: What a byte-exact client needed to fetch (:mod:`bench.badday.needed`); 0: not computed.
    needed_bytes: int = 0
    #: Seconds from the client's start to its first body byte; None: none came.
    first_byte_s: float | None = None

    @property
    def sent_ratio(self) -> float:
        return self.sent_bytes / self.size

    @property
    def sent_needed_ratio(self) -> float | None:
        """Sent ÷ needed: 1 for a client that fetched nothing it did not need (heads aside).

        ``None`` for a run that did not end byte-exact: what it needed is what a byte-exact
        client needs, and a client that kept a mix of two versions never fetched it.
        """
        if not self.byte_exact:
            return None
        return self.sent_bytes / (self.needed_bytes or self.size)

    @property
    def own_bound_s(self) -> float:
        """The bound that applies to this client: uidt's job requires an unmetered network."""
        return self.lower_bound_unmetered_s if self.client == "uidt" else self.lower_bound_s

    @property
    def own_clean_bound_s(self) -> float:
        """The clean bound that applies to this client (uidt's leaves out the metered time)."""
        return self.clean_bound_unmetered_s if self.client == "uidt" else self.clean_bound_s

    @property
    def wall_ratio(self) -> float | None:
        return None if self.wall_s is None else self.wall_s / self.own_bound_s


def _median_worst(values: Sequence[float], worst: Callable[[Sequence[float]], float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} / {worst(values):.2f}"


@dataclass(frozen=True, slots=True)
class Summary:
    client: str
    traces: int
    byte_exact: int
    wall_s: str
    wall_ratio: str
    wall_ratio_link: str
    wall_ratio_clean: str
    sent_ratio: str
    sent_needed_ratio: str
    first_byte_s: str
    metered_mib: str
    metered_told_mib: str
    user_actions: str
    system_restarts: int


def summarize(results: Sequence[RunResult]) -> list[Summary]:
    """One row per client, in the order clients first appear; figures are "median / worst"."""
    order: list[str] = []
    for r in results:
        if r.client not in order:
            order.append(r.client)
    rows = []
    for client in order:
        mine = [r for r in results if r.client == client]
        ended = [r for r in mine if r.wall_s is not None]
        walls = [r.wall_s for r in ended if r.wall_s is not None]
        rows.append(
            Summary(
                client=client,
                traces=len(mine),
                byte_exact=sum(r.byte_exact for r in mine),
                wall_s=_median_worst(walls, max),
                wall_ratio=_median_worst(
                    [r.wall_s / r.own_bound_s for r in ended if r.wall_s], max
                ),
                wall_ratio_link=_median_worst(
                    [r.wall_s / r.lower_bound_s for r in ended if r.wall_s], max
                ),
                wall_ratio_clean=_median_worst(
                    [
                        r.wall_s / r.own_clean_bound_s
                        for r in ended
                        if r.wall_s and r.own_clean_bound_s
                    ],
                    max,
                ),
                sent_ratio=_median_worst([r.sent_ratio for r in mine], max),
                sent_needed_ratio=_median_worst(
                    [r.sent_needed_ratio for r in mine if r.sent_needed_ratio is not None], max
                ),
                first_byte_s=_median_worst(
                    [r.first_byte_s for r in mine if r.first_byte_s is not None], max
                ),
                metered_mib=_median_worst([r.metered_bytes / MiB for r in mine], max),
                metered_told_mib=_median_worst([r.metered_told_bytes / MiB for r in mine], max),
                user_actions=_median_worst([float(r.user_actions) for r in mine], max),
                system_restarts=sum(r.system_restarts for r in mine),
            )
        )
    return rows


HEADER = (
    "| client | byte-exact | wall s | wall ÷ own bound | wall ÷ link-up bound | "
    "wall ÷ own clean bound | sent ÷ size | sent ÷ needed | first byte s | "
    "MiB sent while metered | … after the daemon was told | user actions | "
    "restarts by the system |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def markdown(results: Sequence[RunResult]) -> str:
    """The table of :func:`summarize` as Markdown."""
    lines = [HEADER]
    for s in summarize(results):
        lines.append(
            f"| {s.client} | {s.byte_exact}/{s.traces} | {s.wall_s} | {s.wall_ratio} | "
            f"{s.wall_ratio_link} | {s.wall_ratio_clean} | {s.sent_ratio} | "
            f"{s.sent_needed_ratio} | {s.first_byte_s} | {s.metered_mib} | "
            f"{s.metered_told_mib} | {s.user_actions} | {s.system_restarts} |"
        )
    return "\n".join(lines)


def bounds_markdown(results: Sequence[RunResult]) -> str:
    """How far the clean bound lies above the link-up bound, per trace: what even a perfect
    byte-exact client could reach against the link-up bound (any client; and one that must
    not use the metered window, as uidt's job)."""
    traces = {r.seed: r for r in results}.values()  # the bounds are the trace's
    if not traces:
        return ""
    lines = [
        "| perfect client | clean ÷ link-up bound, median / worst | traces at or under 1.15 times |",
        "| --- | --- | --- |",
    ]
    for who, clean in (
        ("any", [r.clean_bound_s / r.lower_bound_s for r in traces]),
        ("no metered bytes", [r.clean_bound_unmetered_s / r.lower_bound_s for r in traces]),
    ):
        within = sum(ratio <= 1.15 for ratio in clean)
        lines.append(
            f"| {who} | {statistics.median(clean):.2f} / {max(clean):.2f} | "
            f"{within} of {len(clean)} |"
        )
    return "\n".join(lines)


def per_run_markdown(results: Sequence[RunResult]) -> str:
    """Every run on one line (for the record under the table)."""
    lines = [
        "| seed | client | byte-exact | wall s | bound s | clean bound s | sent ÷ size | "
        "sent ÷ needed | first byte s | MiB metered | user actions | notes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in sorted(results, key=lambda r: (r.seed, r.client)):
        wall = "gave up" if r.wall_s is None else f"{r.wall_s:.1f}"
        notes = "; ".join(r.notes) or ""
        first = "-" if r.first_byte_s is None else f"{r.first_byte_s:.1f}"
        fair = "-" if r.sent_needed_ratio is None else f"{r.sent_needed_ratio:.3f}"
        lines.append(
            f"| {r.seed} | {r.client} | {'yes' if r.byte_exact else 'NO'} | {wall} | "
            f"{r.own_bound_s:.1f} | {r.own_clean_bound_s:.1f} | {r.sent_ratio:.3f} | "
            f"{fair} | {first} | {r.metered_bytes / MiB:.1f} | "
            f"{r.user_actions} | {notes} |"
        )
    return "\n".join(lines)
