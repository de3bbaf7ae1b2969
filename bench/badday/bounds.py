"""The clean bound: the earliest a byte-exact client could have finished the trace's download.

Pure: no I/O, no clock. The link-up bound (:func:`bench.badday.trace.lower_bound_s`) holds only
the link's own limits; every trace also packs faults that no client can get past, so no client
comes near it. :func:`clean_bound_s` takes those in too, and stays a lower bound for every client:
it credits the client with perfect foresight and instant requests, and counts a fault only where
it holds up any client whatever it does:

* bytes flow only while the link is up, at its shaped rate, and the proxy is not stalling
  (``unusable`` kinds block them too: the metered window for a job that requires an unmetered
  network);
* bytes flow only over an open request. A request can be opened at any moment the link is up
  and the proxy is not answering 503/429 (a burst answers new requests only: a request opened
  before it goes on). Every open request ends at a reset, and at a kill of the worker or a
  reboot (the process that holds it dies; for a peer that is a kill too);
* a request opened after the file changed gets the new file, and a byte-exact file is then
  the new one, all of it, from that request on: bytes of the old version are worth nothing.
  The client may keep a request opened before the change and finish the old version on it
  (then the old version is the right answer), or open a new one the moment the file changes;
  the bound is the better of the two.

Truncations are left out (with instant requests, the rest of the body is asked for again at
once), and so are kills of uidt's daemon (the worker's request may outlive it).
"""

from __future__ import annotations

import math

from bench.badday.trace import Kind, Trace, blocked, rate_at

#: Faults after which no request is open any more, whatever the client.
ENDS_REQUESTS = frozenset({Kind.RESET, Kind.KILL_WORKER, Kind.REBOOT})
#: Faults during which no byte flows, even over an open request.
NO_FLOW = frozenset({Kind.LINK_DOWN, Kind.STALL})
#: Faults during which no new request can be opened.
NO_REQUEST = frozenset({Kind.LINK_DOWN, Kind.HTTP_503, Kind.HTTP_429})


def clean_bound_s(trace: Trace, unusable: frozenset[Kind] = frozenset()) -> float:
    """Seconds until a byte-exact client could have had ``trace.size`` bytes (module doc).

    ``unusable``: more kinds of lasting fault during which no byte may flow; pass
    ``{Kind.METERED}`` for a job that requires an unmetered network.
    """
    change = next((e.at for e in trace.events if e.kind is Kind.ETAG), None)
    finishes = [_finish(trace, unusable, change, switch=False)]
    if change is not None:
        finishes.append(_finish(trace, unusable, change, switch=True))
    return round(min(finishes), 2)


def _finish(
    trace: Trace, unusable: frozenset[Kind], change: float | None, *, switch: bool
) -> float:
    """When the download ends if the client opens a request whenever it can.

    ``switch``: at the file change the client drops its request and asks for the new file
    (else it keeps its request, and takes the new file at its next one).
    """
    points = sorted({0.0} | {e.at for e in trace.events} | {e.end for e in trace.events})
    no_flow = NO_FLOW | unusable
    open_request = False
    new_file = False
    moved = 0.0
    for i, start in enumerate(points):
        end = points[i + 1] if i + 1 < len(points) else math.inf
        if any(e.at == start and e.kind in ENDS_REQUESTS for e in trace.events):
            open_request = False
        if switch and start == change:
            open_request = False
        if not open_request and not blocked(trace, start, NO_REQUEST):
            open_request = True
            if change is not None and start >= change and not new_file:
                new_file, moved = True, 0.0
        if open_request and not blocked(trace, start, no_flow):
            rate = rate_at(trace, start) * 1e6 / 8  # bytes per second
            if start + (trace.size - moved) / rate <= end:
                return start + (trace.size - moved) / rate
            moved += rate * (end - start)
    raise AssertionError("unreachable: the last stretch never ends")
