"""Put events in time order without holding them all: sorted runs spill to disk, then merge.

Correlation needs time order, but inputs do not give it: gcloud arrays are newest first, and
several exports interleave. Sorting in memory costs ~1.5 KB per event, which on a day of staging
logs is more than the memory budget. Up to `run_size` events are sorted in memory; beyond that,
each sorted run is pickled to a temporary file (`spill.py`) and the runs are merged lazily
(heapq.merge), so memory stays at one run plus one batch per run.

Most inputs are already in time order (a file written as it happened), and then the sorted runs
do not overlap: they are read back one after another, without the merge's heap (a key and a
heap step per event: 0.7 s of a 1 GiB text run).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from .consume import consumed
from .model import Event
from .spill import SpillFile

RUN_SIZE = 50_000
BATCH = 128  # events per pickle record: the merge holds one per run (hundreds of runs on big inputs)


def time_ordered(events: Iterable[Event], run_size: int | None = None) -> Iterator[Event]:
    """All `events`, sorted by Event.sort_key; spills to disk past `run_size` (RUN_SIZE) events."""
    run_size = run_size or RUN_SIZE
    run: list[Event] = []
    spilled: list[SpillFile] = []
    bounds: list[tuple[tuple, tuple]] = []  # each run's first and last sort key
    try:
        for event in events:
            run.append(event)
            if len(run) >= run_size:
                bounds.append(_spill(run, spilled))
                run = []
        run.sort(key=Event.sort_key)
        if not spilled:
            yield from run
            return
        runs = [*(s.items() for s in spilled), consumed(run)]  # in input order: equal keys keep it
        if run:
            bounds.append((run[0].sort_key(), run[-1].sort_key()))
        if _in_sequence(bounds):
            for events_of_run in runs:
                yield from events_of_run
            return
        yield from heapq.merge(*runs, key=Event.sort_key)
    finally:
        for spill in spilled:
            spill.remove()


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
