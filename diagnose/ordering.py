"""Put events in time order without holding them all: sorted runs spill to disk, then merge.

Correlation needs time order, but inputs do not give it: gcloud arrays are newest first, and
several exports interleave. Sorting in memory costs ~1.5 KB per event, which on a day of staging
logs is more than the memory budget. Up to `run_size` events are sorted in memory; beyond that,
each sorted run is pickled to a temporary file (`spill.py`) and the runs are merged lazily
(heapq.merge), so memory stays at one run plus one batch per run.

Most inputs are already in time order (a file written as it happened), and then the sorted runs
do not overlap: they are read back one after another, without the merge's heap (a key and a
heap step per event: 0.7 s of a 1 GiB text run).

Such an input need not wait for its end at all: `read_ahead` lets events through a small reorder
window while they are read, and gives up (OutOfOrder) as soon as one arrives that sorts before
an event already let through. Then the caller starts over on the full sort: from the sorted runs,
which received the same events all along, or, for one regular file (keeping every event cost a
tenth of a text file's run), from the first events kept (KeptHead) and the rest as it is read,
or, if it was found out too late for that, by reading the file again. The order it sees is the
same either way.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Iterator

from .consume import consumed
from .model import Event
from .spill import SpillFile

RUN_SIZE = 50_000
BATCH = 128  # events per pickle record: the merge holds one per run (hundreds of runs on big inputs)
WINDOW = 4_096  # events held back by read_ahead: how far out of place an event may arrive
HEAD = 4 * WINDOW  # events KeptHead holds: a newest-first input is found out within WINDOW


class OutOfOrder(Exception):
    """read_ahead met an event that sorts before one it already let through."""


class SortedRuns:
    """Events added in any order, read back once sorted by Event.sort_key (equal keys in the
    order they were added); past `run_size` events each sorted run waits on disk."""

    def __init__(self, run_size: int | None = None) -> None:
        self.run_size = run_size or RUN_SIZE
        self.run: list[Event] = []
        self.spilled: list[SpillFile] = []
        self.bounds: list[tuple[tuple, tuple]] = []  # each run's first and last sort key

    def add(self, event: Event) -> None:
        self.run.append(event)
        if len(self.run) >= self.run_size:
            self.bounds.append(_spill(self.run, self.spilled))
            self.run = []

    def ordered(self) -> Iterator[Event]:
        """Every event added, in order (read once)."""
        run, self.run = self.run, []
        run.sort(key=Event.sort_key)
        if not self.spilled:
            yield from consumed(run)
            return
        runs = [*(s.items() for s in self.spilled), consumed(run)]  # in input order: equal keys keep it
        if run:
            self.bounds.append((run[0].sort_key(), run[-1].sort_key()))
        if _in_sequence(self.bounds):
            for events_of_run in runs:
                yield from events_of_run
            return
        yield from heapq.merge(*runs, key=Event.sort_key)

    def discard(self) -> None:
        """Remove the spill files (whether read or not)."""
        self.run = []
        for spill in self.spilled:
            spill.remove()


class KeptHead:
    """The first `limit` events added, or None once more came: what lets a single file found
    out of order early (a newest-first gcloud array: within the first WINDOW events) be sorted
    without reading it again, at the cost of holding a few thousand events while it starts."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit or HEAD
        self.events: list[Event] | None = []

    def add(self, event: Event) -> None:
        if self.events is not None:
            self.events.append(event)
            if len(self.events) > self.limit:
                self.events = None


def read_ahead(
    events: Iterable[Event], keep: SortedRuns | KeptHead | None = None, window: int | None = None
) -> Iterator[Event]:
    """`events` in sorted order while they come nearly in order, each also added to `keep`
    (if given).

    Up to `window` (WINDOW) events are held, sorted; when they are more, the older half is let through.
    An event that sorts before the last one let through raises OutOfOrder (after it is added to
    `keep`): the order already given out was wrong, and `keep` holds everything read so far
    (without `keep`, the caller reads the input again).
    Otherwise what comes out is exactly the stable sort: every later event sorts at or after
    what was let through, and an event joins the held ones after any equal to it.

    An event later than every held one (the usual case) is appended on its time alone; its full
    sort key is only built when times tie or go back (a key per event cost 3 µs of heap work).
    """
    window = window or WINDOW
    held: list[Event] = []
    last: Event | None = None  # the last event let through
    for event in events:
        if keep is not None:
            keep.add(event)
        ts = event.ts
        if last is not None and ts <= last.ts and event.sort_key() < last.sort_key():
            raise OutOfOrder
        if not held or ts > held[-1].ts:
            held.append(event)
        else:
            bisect.insort_right(held, event, key=Event.sort_key)
        if len(held) > window:
            half = len(held) // 2
            last = held[half - 1]
            yield from held[:half]
            del held[:half]
    yield from held


def _in_sequence(bounds: list[tuple[tuple, tuple]]) -> bool:
    """Whether each run starts where the one before it ended, or later: then the runs one
    after another are what the merge would yield (on equal keys it too keeps the runs' order)."""
    return all(first >= last for (_, last), (first, _) in zip(bounds, bounds[1:], strict=False))


def _spill(run: list[Event], spilled: list[SpillFile]) -> tuple[tuple, tuple]:
    """Sort `run` and write it to a new temporary file, listed in `spilled` from birth;
    returns its first and last sort key."""
    run.sort(key=Event.sort_key)
    spill = SpillFile("sorted events")
    spilled.append(spill)
    for start in range(0, len(run), BATCH):
        spill.write(run[start:start + BATCH])
    spill.seal()
    return run[0].sort_key(), run[-1].sort_key()
