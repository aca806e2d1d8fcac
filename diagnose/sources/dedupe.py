"""Drop entries seen twice (overlapping sink shards, a download plus a pull) by insertId.

Only records already yielded are remembered, and each in 8 bytes (a 64-bit hash), so ten
million relevant entries cost about 160 MB less than a set of tuples would.
"""

from __future__ import annotations

from ..hashset import CountingHashSet
from ..model import RawRecord


class Deduper:
    """Remembers (insertId, timestamp) of yielded records; `seen` checks and records at once."""

    def __init__(self) -> None:
        self._keys = CountingHashSet()

    def seen(self, record: RawRecord) -> bool:
        if not record.insert_id:
            return False
        return self._keys.add((record.insert_id, record.timestamp)) > 1
