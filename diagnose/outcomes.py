"""The per-connection outcome table at any size: rows wait on disk, the report keeps a sample.

A connection's outcome is only final once every connection has been judged (a wider cause found
later re-labels the timeouts in its window), so each row and the hits behind it are kept until the
end. Two million connections would be gigabytes in memory: past `in_memory` rows they are pickled
to a spill file instead, then read back once for attribution. What the report holds is bounded
too: exact counts per class (and per minute, for the chart), and at most `rows` rows, the most
important first (failures before healthy connections, earliest first), with a flag that says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from .assemble import HitEntry
from .report import ConnectionOutcome, by_importance
from .spill import SpillFile

IN_MEMORY = 20_000  # rows (with their hits) held before the rest spill to disk
REPORT_ROWS = 10_000  # rows a report lists; the counts stay exact beyond it
BATCH = 1_000
MAX_TIME_CELLS = 100_000  # (minute × class) cells; coarser beyond (a years-long input)


class OutcomeStore:
    """Rows with their hit entries, in the order added; memory bounded by `in_memory` rows."""

    def __init__(self, in_memory: int | None = None) -> None:
        self.in_memory = in_memory or IN_MEMORY
        self._held: list[tuple[ConnectionOutcome, list[HitEntry]]] = []
        self._batch: list[tuple[ConnectionOutcome, list[HitEntry]]] = []
        self._spill: SpillFile | None = None
        self.total = 0

    def add(self, row: ConnectionOutcome, entries: list[HitEntry]) -> None:
        self.total += 1
        if len(self._held) < self.in_memory:
            self._held.append((row, entries))
            return
        self._batch.append((row, entries))
        if len(self._batch) >= BATCH:
            self._flush()

    def drain(self) -> Iterator[tuple[ConnectionOutcome, list[HitEntry]]]:
        """Every row once, in the order added; the spill file is removed when done."""
        held, self._held = self._held, []
        yield from held
        if self._spill is None:  # past the held rows, but not yet a whole batch
            batch, self._batch = self._batch, []
            yield from batch
            return
        self._flush()
        yield from self._spill.items()
        self._spill = None

    def discard(self) -> None:
        if self._spill is not None:
            self._spill.remove()

    def _flush(self) -> None:
        if not self._batch:
            return
        if self._spill is None:
            self._spill = SpillFile("connection outcomes")
        self._spill.write(self._batch)
        self._batch = []


class OutcomeTable:
    """Final rows in: exact counts per class and per minute out, and the rows a report lists."""

    def __init__(self, rows: int | None = None) -> None:
        self.limit = rows or REPORT_ROWS
        self.counts: dict[str, int] = {}
        self.by_time: dict[tuple[datetime, str], int] = {}
        self.resolution = "min"
        self._kept: list[ConnectionOutcome] = []  # trimmed to the most important now and then

    def add(self, row: ConnectionOutcome) -> None:
        self.counts[row.outcome] = self.counts.get(row.outcome, 0) + 1
        if row.first_seen is not None:
            cell = (_floor(row.first_seen, self.resolution), row.outcome)
            self.by_time[cell] = self.by_time.get(cell, 0) + 1
            if len(self.by_time) > MAX_TIME_CELLS:
                self._coarsen()
        self._kept.append(row)
        if len(self._kept) >= 2 * self.limit:
            self._kept = by_importance(self._kept)[: self.limit]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def rows(self) -> list[ConnectionOutcome]:
        """The most important rows, as `by_importance` orders them (the report sorts by time)."""
        return by_importance(self._kept)[: self.limit]

    def _coarsen(self) -> None:
        self.resolution = "h" if self.resolution == "min" else "D"
        cells: dict[tuple[datetime, str], int] = {}
        for (when, outcome), n in self.by_time.items():
            cell = (_floor(when, self.resolution), outcome)
            cells[cell] = cells.get(cell, 0) + n
        self.by_time = cells


def _floor(when: datetime, resolution: str) -> datetime:
    if resolution == "min":
        return when.replace(second=0, microsecond=0)
    if resolution == "h":
        return when.replace(minute=0, second=0, microsecond=0)
    return when.replace(hour=0, minute=0, second=0, microsecond=0)
