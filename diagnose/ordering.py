"""Put events in time order without holding them all: sorted runs spill to disk, then merge.

Correlation needs time order, but inputs do not give it: gcloud arrays are newest first, and
several exports interleave. Sorting in memory costs ~1.5 KB per event, which on a day of staging
logs is more than the memory budget. Up to `run_size` events are sorted in memory; beyond that,
each sorted run is pickled to a temporary file (`spill.py`) and the runs are merged lazily
(heapq.merge), so memory stays at one run plus one batch per run.
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
    try:
        for event in events:
            run.append(event)
            if len(run) >= run_size:
                _spill(run, spilled)
                run = []
        run.sort(key=Event.sort_key)
        if not spilled:
            yield from run
            return
        yield from heapq.merge(consumed(run), *(s.items() for s in spilled), key=Event.sort_key)
    finally:
        for spill in spilled:
            spill.remove()


def _spill(run: list[Event], spilled: list[SpillFile]) -> None:
    """Sort `run` and write it to a new temporary file, listed in `spilled` from birth."""
    run.sort(key=Event.sort_key)
    spill = SpillFile("sorted events")
    spilled.append(spill)
    for start in range(0, len(run), BATCH):
        spill.write(run[start:start + BATCH])
    spill.seal()
