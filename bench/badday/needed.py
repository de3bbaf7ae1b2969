"""What a byte-exact client needed to fetch, and when its first body byte came.

Pure: computed from the proxy's log (:class:`bench.badday.measure.Timeline`) and the trace.

**Needed bytes.** "Sent ÷ size" mixes two things when the file changes on the server before a
client is done: what it got of the old version is lost by necessity (a byte-exact client must
then fetch the whole new file), and what it lost by its own doing (bytes fetched twice after a
kill, bytes in flight at a reset). ``needed`` keeps the first and leaves out the second:

* no file change in the trace, or the client sent no request that the proxy forwarded after
  the change (it finished the old version on a request opened before it, and the old version
  is then the right answer): ``needed = size``;
* else ``needed = min(old, size) + size``, where ``old`` is every byte the proxy wrote to this
  client before its first forwarded request after the change (the first that got the new
  file). That includes the bytes still in flight on a request opened before the change: no
  client can know of the change before it asks again. The 0.1 s bucket the first new request
  falls in counts as new (its bytes are mostly the new file's first ones; an old byte in it,
  at most 0.1 s of the link, is counted against the client). ``old`` is capped at one copy of the file: more than that was
  fetched twice before the change, the client's own waste.

``sent`` and ``old`` both count what the proxy wrote, heads and its own 503/429 answers
included (a few hundred bytes a request, well under 0.1 % of a 64 MiB file here), so
``sent ÷ needed`` is 1 for a client that wasted nothing but heads. Bytes a client fetched twice
*before* the change, below the cap, count as needed: the log says how many bytes flowed, not
which ones, so the figure errs in the client's favour there.

**First body byte.** Seconds from the client's start (the trace's zero: the harness starts
every client then) to the first body byte the proxy wrote to it: from the first request the
proxy forwarded that has a body, the first bucket that brings the bytes written since that
request past :data:`HEAD_BYTES` (the answer's head comes first and alone when a stall holds
the body), at the bucket's start or the request's own time if later. It holds what the client pays before it transfers anything:
for uidt a Python command line, the daemon scheduling the job and a worker starting; for a
peer one exec; for every client the faults it met on the way (a 503 burst that refuses the
first request holds it up until it asks again after the burst).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.badday.proxy import BUCKET_S
from bench.badday.trace import Kind, Trace

if TYPE_CHECKING:  # measure imports this module to fill in its figures
    from bench.badday.measure import Timeline

#: More than an answer's head (nginx's are about 260 bytes here): bytes past it are body.
HEAD_BYTES = 1024


def _forwarded(timeline: Timeline) -> list[tuple[float, int]]:
    """The requests the proxy passed on to nginx: (time, body length), in time order."""
    found = []
    for e in timeline.proxy_events:
        if e.get("event") == "request" and "by" not in e:
            found.append((float(str(e["t"])), int(str(e.get("length") or 0))))
    return sorted(found)


def bytes_before(timeline: Timeline, moment: float) -> int:
    """Bytes the proxy wrote in the buckets that ended by ``moment`` (the one holding it
    counts as after it: a new request's first bytes come at once)."""
    return sum(n for t, n in timeline.buckets if t + BUCKET_S <= moment + 1e-9)


def needed_bytes(trace: Trace, timeline: Timeline) -> int:
    """The bytes a byte-exact client needed in this run (module doc)."""
    change = next((e.at for e in trace.events if e.kind is Kind.ETAG), None)
    if change is None:
        return trace.size
    first_new = next((t for t, _ in _forwarded(timeline) if t >= change), None)
    if first_new is None:
        return trace.size
    return round(min(bytes_before(timeline, first_new), trace.size)) + trace.size


def first_body_byte_s(timeline: Timeline) -> float | None:
    """Seconds from the client's start to its first body byte; ``None``: none came."""
    start = next((t for t, length in _forwarded(timeline) if length > 0), None)
    if start is None:
        return None
    written = 0
    for t, n in sorted(timeline.buckets):
        if t + BUCKET_S <= start:
            continue
        written += n
        if written > HEAD_BYTES:
            return round(max(t, start), 2)
    return None
