"""Drop entries seen twice (overlapping sink shards, a download plus a pull) by insertId.

Only records already yielded are remembered, so memory grows with relevant entries, not with
the input size.
"""

from __future__ import annotations

from ..model import RawRecord


class Deduper:
    """Remembers (insertId, timestamp) of yielded records; `seen` checks and records at once."""

    def __init__(self) -> None:
        self._keys: set[tuple[str, object]] = set()

    def seen(self, record: RawRecord) -> bool:
        if not record.insert_id:
            return False
        key = (record.insert_id, record.timestamp)
        if key in self._keys:
            return True
        self._keys.add(key)
        return False
