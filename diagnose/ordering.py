"""Put events in time order without holding them all: sorted runs spill to disk, then merge.

Correlation needs time order, but inputs do not give it: gcloud arrays are newest first, and
several exports interleave. Sorting in memory costs ~1.5 KB per event, which on a day of staging
logs is more than the memory budget. Up to `run_size` events are sorted in memory; beyond that,
each sorted run is pickled to a temporary file and the runs are merged lazily (heapq.merge), so
memory stays at one run plus one event per run.

Spill files never outlive the run: each path is registered before anything is written to it and
removed by the generator's `finally`, and whatever an abrupt exit skipped (a signal, a generator
never closed) is removed by an atexit hook. A full disk is one clear error, not a traceback.
"""

from __future__ import annotations

import atexit
import glob
import heapq
import os
import pickle
import tempfile
from collections.abc import Iterable, Iterator

from .errors import DiagnoseError
from .model import Event

RUN_SIZE = 50_000
BATCH = 1_000  # events per pickle record: fast to write, small to hold while merging
_LIVE: set[str] = set()  # spill files not yet removed, for the atexit hook


class SpillError(DiagnoseError):
    """The temporary directory cannot take the sorted runs (full disk, no permission)."""


def time_ordered(events: Iterable[Event], run_size: int | None = None) -> Iterator[Event]:
    """All `events`, sorted by Event.sort_key; spills to disk past `run_size` (RUN_SIZE) events."""
    run_size = run_size or RUN_SIZE
    run: list[Event] = []
    spilled: list[str] = []
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
        yield from heapq.merge(run, *(_read_run(p) for p in spilled), key=Event.sort_key)
    finally:
        for path in spilled:
            _remove(path)


def _spill(run: list[Event], spilled: list[str]) -> None:
    """Sort `run` and write it to a new temporary file, whose path is in `spilled` from birth."""
    run.sort(key=Event.sort_key)
    try:
        fd, path = tempfile.mkstemp(prefix=_prefix(), suffix=".pickle")
    except OSError as exc:
        raise _spill_error(exc) from None
    spilled.append(path)
    _LIVE.add(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            for start in range(0, len(run), BATCH):
                pickle.dump(run[start:start + BATCH], fh, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError as exc:
        raise _spill_error(exc) from None


def _spill_error(exc: OSError) -> SpillError:
    where = tempfile.gettempdir()
    return SpillError(
        f"cannot write sorted events to the temporary directory {where}: {exc.strerror or exc}",
        hint="free space there, or point TMPDIR at a larger disk",
    )


def _read_run(path: str) -> Iterator[Event]:
    with open(path, "rb") as fh:
        while True:
            try:
                batch = pickle.load(fh)  # a fresh unpickler each time: no memo keeps old events
            except EOFError:
                return
            yield from batch


def _remove(path: str) -> None:
    _LIVE.discard(path)
    try:
        os.unlink(path)
    except OSError:
        pass


def _prefix() -> str:
    """Spill names carry the pid, so the exit hook can find even a file whose path a signal kept
    from being registered (between mkstemp returning and the append)."""
    return f"diagnose-events-{os.getpid()}-"


@atexit.register
def _remove_leftovers() -> None:
    for path in list(_LIVE):
        _remove(path)
    for path in glob.glob(os.path.join(glob.escape(tempfile.gettempdir()), _prefix() + "*.pickle")):
        _remove(path)
