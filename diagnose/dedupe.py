"""Drop entries seen twice (overlapping sink shards, a download plus a pull) by insertId.

A copy has the same insertId and time stamp as the entry it repeats, and the time sort puts
events with equal (time, insertId) next to each other. So events are deduped after the sort,
holding only the group at hand: remembering every insertId read held 63 MB at two million
connections (4.2 million records, 8 bytes each in a hash table), a fifth of the whole run.

What never reaches the sort is deduped as it is read, in a set of 64-bit hashes: records no
rule matched (the unexplained-error tally counts them) and matched records without a time
stamp (their events take a borrowed time, so copies need not sort together).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .hashset import CountingHashSet
from .model import Event, RawRecord


class Deduper:
    """Remembers (insertId, timestamp) of records; `seen` checks and records at once."""

    def __init__(self) -> None:
        self._keys = CountingHashSet()

    def seen(self, record: RawRecord) -> bool:
        if not record.insert_id:
            return False
        return self._keys.add((record.insert_id, record.timestamp)) > 1


class RepeatedEvents:
    """Drops, from time-sorted events, the copies of a record already passed.

    The sort key puts events of one (time, insertId) together, and within them each record's
    (one provenance) together: an event passes unless an earlier record of the group emitted
    one by the same rule (a record emits at most one per rule). Entries with no line number
    share their provenance with their copies (`insertId=…`), so a provenance's copies are
    counted as the most events any one rule of it emitted. `duplicates` counts the records
    none of whose events passed, which the parse stage had counted as events."""

    def __init__(self) -> None:
        self.duplicates = 0

    def drop(self, events: Iterable[Event]) -> Iterator[Event]:
        group: tuple | None = None  # (ts, insert_id) of the events at hand
        rules: set[str] = set()  # the rules whose event of this group has passed
        record = ""  # provenance at hand
        per_rule: dict[str, int] = {}  # its events by rule: how many copies of it there are
        passed = False  # did any event of it pass
        for event in events:
            if not event.insert_id or not event.timed:
                yield event
                continue
            key = (event.ts, event.insert_id)
            if key != group or event.provenance != record:
                self._close(per_rule, passed)
                if key != group:
                    group, rules = key, set()
                record, per_rule, passed = event.provenance, {}, False
            rule = event.rule_id
            per_rule[rule] = per_rule.get(rule, 0) + 1
            if rule not in rules:
                rules.add(rule)
                passed = True
                yield event
        self._close(per_rule, passed)

    def _close(self, per_rule: dict[str, int], passed: bool) -> None:
        if per_rule:
            self.duplicates += max(per_rule.values()) - passed
