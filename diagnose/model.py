"""The records handed between pipeline stages: sources → parse → correlate → classify → report.

Every stage takes and returns these plain, slotted dataclasses only, so each stage can be tested
alone and no stage reaches into another's internals.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from operator import attrgetter

# Severity names in Cloud Logging rank order; a record without one is DEFAULT.
SEVERITY_RANK = {
    "DEFAULT": 0,
    "DEBUG": 100,
    "INFO": 200,
    "NOTICE": 300,
    "WARNING": 400,
    "ERROR": 500,
    "CRITICAL": 600,
    "ALERT": 700,
    "EMERGENCY": 800,
}

EXCERPT_CHARS = 400  # evidence text kept per event; the full line stays in the source
# Where events of a source with no time stamp at all are placed (kept in line order): renderers
# show it as "no time stamp", never as a date.
UNTIMED_BASE = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class RawRecord:
    """One log entry as a source read it, before any rule looked at it.

    `text` is the human message (jsonPayload.message, textPayload, or the plain line with its
    folded traceback). `fields` holds flattened envelope values rules may match on, with stable
    names: insert_id, log_name, instance_id, revision, service, resource_type, logger, module.
    """

    source: str  # file path, "<stdin>", or "cloud-logging:<project>"
    line: int  # 1-based line where the entry starts; 0 when the source has no lines
    timestamp: datetime | None  # aware, UTC; None when the entry carried none we could read
    severity: str | None
    text: str
    fields: dict[str, str] = field(default_factory=dict)
    insert_id: str | None = None
    # the events a reader worker's rule matching found in it (parse.RecordMatcher); None: not
    # matched yet (the parse stage matches it)
    matched: list[Event] | None = None

    @property
    def provenance(self) -> str:
        """Where a human finds this entry again: `file:line`, or the Cloud Logging insertId."""
        if self.line:
            return f"{self.source}:{self.line}"
        if self.insert_id:
            return f"insertId={self.insert_id}"
        return self.source

    def __reduce__(self):
        """Pickled as a constructor call: records cross from reader workers by the hundred
        thousand, and slotted dataclasses' own state methods loop in Python (a record loads in
        2.4 µs instead of 4.1, dumps in 3.4 instead of 5.2)."""
        return RawRecord, _RECORD_FIELDS(self)


@dataclass(slots=True)
class Unparsed:
    """An input entry we could not read, with where it is and why (reported, never dropped)."""

    source: str
    line: int
    reason: str

    @property
    def provenance(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source


@dataclass(slots=True)
class Event:
    """A normalized fact a rule extracted from one record (e.g. `router.unknown_ack`).

    `ids` are correlation keys (connection, user, thread, run, instance); `attrs` are everything
    else the rule captured (message_type, event, seconds, code…).
    """

    kind: str
    ts: datetime
    ids: dict[str, str]
    attrs: dict[str, str]
    provenance: str
    rule_id: str
    severity: str | None = None
    text: str = ""  # excerpt of the message, at most EXCERPT_CHARS, for evidence lines
    insert_id: str | None = None
    timed: bool = True  # False: the record had no time stamp; `ts` is borrowed from its place

    def sort_key(self) -> tuple:
        """Total order that does not depend on input order: time, then identity of the record
        (file, then line as a number, so line 4 comes before line 11 at the same instant)."""
        source, _, line = self.provenance.rpartition(":")
        number = int(line) if line.isdigit() else 0
        return (self.ts, self.insert_id or "", source, number, self.provenance, self.kind)

    def __reduce__(self):
        """A constructor call, as RawRecord: events cross the time sort's spill files."""
        return Event, _EVENT_FIELDS(self)


def _field_getter(cls) -> attrgetter:
    """Every field of a dataclass, in order, as one tuple (read in C)."""
    return attrgetter(*(f.name for f in fields(cls)))


_RECORD_FIELDS = _field_getter(RawRecord)
_EVENT_FIELDS = _field_getter(Event)


@dataclass(slots=True)
class Connection:
    """One client session's timeline: every event correlated to it, in time order.

    While it waits idle for its release the correlator may `pack` it: its events and ids become
    one pickled bytes object, a third of their size (a busy hour holds 60,000 such timelines).
    Only `first_seen` and `last_seen` are read while packed; `unpack` restores the rest.
    """

    key: str  # the id that names it in reports (the ack's connection/user id, or connection id)
    events: list[Event] = field(default_factory=list)
    ids: dict[str, set[str]] = field(default_factory=dict)  # every id seen, by id kind
    instance: str | None = None
    packed: bytes | None = None  # (events, ids) pickled, while idle
    packed_span: tuple[datetime, datetime] | None = None  # first and last event time, packed

    @property
    def first_seen(self) -> datetime | None:
        if self.packed_span is not None:
            return self.packed_span[0]
        return self.events[0].ts if self.events else None

    @property
    def last_seen(self) -> datetime | None:
        if self.packed_span is not None:
            return self.packed_span[1]
        return self.events[-1].ts if self.events else None

    def pack(self) -> None:
        if self.packed is None and self.events:
            self.packed_span = (self.events[0].ts, self.events[-1].ts)
            self.packed = pickle.dumps((self.events, self.ids), pickle.HIGHEST_PROTOCOL)
            self.events, self.ids = [], {}

    def unpack(self) -> Connection:
        if self.packed is not None:
            self.events, self.ids = pickle.loads(self.packed)
            self.packed = self.packed_span = None
        return self


@dataclass(slots=True)
class Finding:
    """A classified failure on one or more connections, with the five-whys chain and evidence."""

    rule_id: str
    cls: str  # routing_failure, lifecycle_incomplete, events_not_delivered, execution_timeout,
    # connection_failure, client_timeout_unexplained
    role: str  # "cause" or "symptom"
    severity: str  # critical, high, medium, low
    title: str
    connections: list[str]
    first_seen: datetime
    last_seen: datetime
    evidence: list[Event]
    cause: str  # the real error, in one sentence
    critical_failure: str  # what it broke
    symptom: str  # what the user/client saw
    fix: str
    key: str = ""  # normalized key (e.g. the unknown message type) for the fingerprint
    attrs: dict[str, str] = field(default_factory=dict)
    symptoms: list[Event] = field(default_factory=list)  # client timeouts explained by this cause
    scope: str = "connection"  # connection | run | instance | revision | service
    scope_key: str = ""  # the revision, instance… it happened on ("" for connection findings)
    count: int = 0  # trigger events behind it (count rules: how many within the window)
    symptom_counts: dict[str, int] = field(default_factory=dict)  # explained symptoms by kind
    lines: int = 0  # trigger lines behind `count` (more when the rule counts distinct ids)
    # trigger lines by masked template, most frequent first: (template, count, first example)
    breakdown: list[tuple[str, int, str]] = field(default_factory=list)
    more_connections: int = 0  # connections beyond the `connections` listed (a capped sample)

    @property
    def connection_count(self) -> int:
        """How many connections it failed: the listed ids plus those past the list's cap."""
        return len(self.connections) + self.more_connections

    def unlisted(self, shown: int) -> int:
        """Connections left to say "+N more" about after naming the first `shown` ids."""
        return self.connection_count - min(shown, len(self.connections))

    @property
    def fingerprint(self) -> str:
        """Stable across runs: rule id plus normalized key, so baselines can say new/resolved."""
        return f"{self.rule_id}:{self.key}" if self.key else self.rule_id


@dataclass(slots=True)
class ParseStats:
    """Accounting that proves every input record was read.

    Invariant: records_read == events + ignored + unparsed_total + duplicates.
    """

    records_read: int = 0
    events: int = 0
    ignored: int = 0
    duplicates: int = 0
    unparsed: list[Unparsed] = field(default_factory=list)
    unparsed_total: int = 0  # may exceed len(unparsed) when the list is capped
    warnings: list[str] = field(default_factory=list)
    by_source: dict[str, int] = field(default_factory=dict)
    untimed: int = 0  # events from records without a time stamp, placed by their position
    ignored_by_rule: int = 0  # matched, but only ids the pack ignores (part of `ignored`)
    first_ts: datetime | None = None  # the time span of the records that reached the rules
    last_ts: datetime | None = None
    # rule id -> its `engine = "re"` searches that ran out of time (counted as no match)
    regex_timeouts: dict[str, int] = field(default_factory=dict)
