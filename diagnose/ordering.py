"""Put events in time order without holding them all: sorted runs spill to disk, then merge.

Correlation needs time order, but inputs do not give it: gcloud arrays are newest first, and
several exports interleave. Sorting in memory costs ~1.5 KB per event, which on a day of staging
logs is more than the memory budget. Up to `run_size` events are sorted in memory; beyond that,
each sorted run is pickled to a temporary file and the runs are merged lazily (heapq.merge), so
memory stays at one run plus one event per run.
"""

from __future__ import annotations

import heapq
import os
import pickle
import tempfile
from collections.abc import Iterable, Iterator

from .model import Event

RUN_SIZE = 50_000
BATCH = 1_000  # events per pickle record: fast to write, small to hold while merging


def time_ordered(events: Iterable[Event], run_size: int = RUN_SIZE) -> Iterator[Event]:
    """All `events`, sorted by Event.sort_key; spills to disk past `run_size` events."""
    run: list[Event] = []
    spilled: list[str] = []
    try:
        for event in events:
            run.append(event)
            if len(run) >= run_size:
                spilled.append(_spill(run))
                run = []
        run.sort(key=Event.sort_key)
        if not spilled:
            yield from run
            return
        yield from heapq.merge(run, *(_read_run(p) for p in spilled), key=Event.sort_key)
    finally:
        for path in spilled:
            _remove(path)


def _spill(run: list[Event]) -> str:
    run.sort(key=Event.sort_key)
    fd, path = tempfile.mkstemp(prefix="diagnose-events-", suffix=".pickle")
    with os.fdopen(fd, "wb") as fh:
        for start in range(0, len(run), BATCH):
            pickle.dump(run[start:start + BATCH], fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _read_run(path: str) -> Iterator[Event]:
    with open(path, "rb") as fh:
        while True:
            try:
                batch = pickle.load(fh)  # a fresh unpickler each time: no memo keeps old events
            except EOFError:
                return
            yield from batch


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
