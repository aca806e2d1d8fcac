"""Per-input accounting that every format reader reports through, so the totals always add up.

Invariant kept here: records_read == yielded + ignored + unparsed_total (the parse stage then
splits the yielded into events, ignored and duplicates).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from ..model import ParseStats, RawRecord, Unparsed
from .prefilter import Prefilter

UNPARSED_CAP = 200


@dataclass(slots=True)
class SourceContext:
    """One input being read: its name, the shared stats, and its own counters."""

    source: str
    stats: ParseStats
    prefilter: Prefilter | None
    default_tz: tzinfo
    matcher: bytes | None = None  # key of the worker.record_matcher that matches records read
    read: int = 0
    naive: int = 0
    aware: int = 0

    def count(self, n: int = 1) -> None:
        """n records were read from this input (whatever becomes of them)."""
        self.read += n
        self.stats.records_read += n
        self.stats.by_source[self.source] = self.read

    def ignore(self, n: int = 1) -> None:
        self.stats.ignored += n

    def unparsed(self, line: int, reason: str) -> None:
        add_unparsed(self.stats, Unparsed(self.source, line, reason))

    def stamped(self, record: RawRecord, naive: bool) -> RawRecord:
        if record.timestamp is not None:
            if naive:
                self.naive += 1
            else:
                self.aware += 1
        return record


def add_unparsed(stats: ParseStats, item: Unparsed) -> None:
    """Count every unreadable record; keep the first UNPARSED_CAP for the report."""
    stats.unparsed_total += 1
    if len(stats.unparsed) < UNPARSED_CAP:
        stats.unparsed.append(item)
