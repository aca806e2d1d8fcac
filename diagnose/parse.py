"""Records → normalized events, by the event rules; every record ends up counted somewhere.

A record that some rule matches becomes one event per matching rule; a record no rule matches is
`ignored`. A matched record without a time stamp (pasted lines, test-runner output) is still an
event: it takes the time of the last time-stamped record before it in its source (or the epoch
when there is none), keeps its place by line number, and says `timed=False` so evidence shows
"no time stamp".
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime

from ahocorasick_rs import AhoCorasick

from .dedupe import Deduper
from .model import EXCERPT_CHARS, UNTIMED_BASE, Event, ParseStats, RawRecord
from .rulepack.matching import event_values, search_timeouts
from .rulepack.model import ID_GROUPS, EventRule, RuleSet
from .unexplained import is_error


class RuleIndex:
    """Event rules by prefilter literal: one Aho-Corasick pass over a record finds every literal
    it holds (C speed, whatever the number of literals), so a record is only tried against the
    rules that can match it."""

    def __init__(self, rules: list[EventRule]) -> None:
        self.rules = rules
        literals: dict[str, list[int]] = {}
        for index, rule in enumerate(rules):
            for lit in rule.prefilter:
                literals.setdefault(lit, []).append(index)
        self.literals = list(literals)
        self.rules_of = [literals[lit] for lit in self.literals]
        self.rules_for = [[rules[i] for i in of] for of in self.rules_of]  # (read only)
        self.automaton = AhoCorasick(self.literals) if self.literals else None

    def candidates(self, text: str) -> list[EventRule]:
        if self.automaton is None:
            return []
        hits: set[int] = set()
        try:
            found = self.automaton.find_matches_as_indexes(text, overlapping=True)
        except UnicodeEncodeError:  # a lone surrogate (a JSON "\ud800"): no literal holds one
            text = text.encode("utf-8", "replace").decode("utf-8")
            found = self.automaton.find_matches_as_indexes(text, overlapping=True)
        literal_ids = {literal_id for literal_id, _, _ in found}
        if len(literal_ids) == 1:  # most records: one literal, its rules in rule order
            return self.rules_for[literal_ids.pop()]
        for literal_id in literal_ids:
            hits.update(self.rules_of[literal_id])
        return [self.rules[i] for i in sorted(hits)]


class RecordMatcher:
    """A record → the events the event rules find in it; also sent to reader workers, which
    then match the records they decode (the main process's largest stage, moved to where the
    CPUs are). Pickled as its rules: each process builds its own literal index."""

    def __init__(self, rules: list[EventRule], scope_fields: dict[str, str]) -> None:
        self.rules = rules
        self.scope_fields = scope_fields
        self._index: RuleIndex | None = None

    @classmethod
    def of(cls, ruleset: RuleSet) -> RecordMatcher:
        return cls(ruleset.event_rules, ruleset.scope_fields)

    def events(self, record: RawRecord) -> list[Event]:
        if self._index is None:
            self._index = RuleIndex(self.rules)
        return _events_for(record, self._index, self.scope_fields)

    def pre_match(self, records: Iterable[RawRecord]) -> None:
        """Match records in a reader worker; the parse stage takes their events as they are
        (setting each event's provenance, which needs the line only the main process knows).

        What the main process still reads of a matched record is its time, ids and severity
        (accounting, dedupe) and, for an error, its text (the unexplained-error tally, which also
        counts errors whose events the pack's ignore_ids drop): the fields, the other texts
        and the events' provenance (set by the parse stage) are not sent back."""
        for record in records:
            record.matched = events = self.events(record)
            for event in events:
                event.provenance = ""
            record.fields = {}
            if not is_error(record.severity):
                record.text = ""

    def timeouts(self) -> dict[str, int]:
        """Searches that ran out of time in this process, by rule (a worker's copy starts at 0)."""
        return search_timeouts(self.rules)

    def __getstate__(self) -> dict:
        return {"rules": self.rules, "scope_fields": self.scope_fields}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["rules"], state["scope_fields"])

    def blob(self) -> bytes | None:
        """Pickled for the reader workers, or None when a rule cannot be (it is matched here)."""
        try:
            return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            return None


def parse_records(
    records: Iterable[RawRecord],
    ruleset: RuleSet,
    stats: ParseStats,
    on_ignored: Callable[[RawRecord], None] | None = None,
    matcher: RecordMatcher | None = None,
) -> Iterator[Event]:
    """Yield the events found in `records`, updating the parse accounting in `stats`.

    `on_ignored` sees every record no rule matched (the residue template mining works on, and
    the unexplained-error tally). A record a reader worker already matched brings its events.
    Copies (same insertId and time) of a record no rule matched, or of an untimed one, are
    counted as duplicates here; the events of timed ones are deduped after the time sort
    (dedupe.RepeatedEvents), where copies sit side by side.
    """
    matcher = matcher or RecordMatcher.of(ruleset)
    dedupe = Deduper()
    ignored_id = IgnoredIds(ruleset.ignore_ids)
    last_time: dict[str, datetime] = {}  # per source: where an untimed record is placed
    for record in records:
        ts = record.timestamp
        if ts is not None:
            last_time[record.source] = ts
            if stats.first_ts is None or ts < stats.first_ts:
                stats.first_ts = ts
            if stats.last_ts is None or ts > stats.last_ts:
                stats.last_ts = ts
        events = record.matched
        if events is None:
            events = matcher.events(record)
        else:
            record.matched = None
            for event in events:
                event.provenance = record.provenance
        if events and ignored_id.names:
            events = [e for e in events if not ignored_id(e)]
            if not events:
                stats.ignored_by_rule += 1
        if (not events or ts is None) and dedupe.seen(record):
            stats.duplicates += 1
            continue
        if not events:
            stats.ignored += 1
            if on_ignored is not None:
                on_ignored(record)
            continue
        stats.events += 1
        if ts is None:
            stats.untimed += 1
            placed = last_time.get(record.source, UNTIMED_BASE)
            for event in events:
                event.ts = placed
                event.timed = False
        yield from events


class IgnoredIds:
    """Ids the pack says are never a user's (e.g. the backend's own `startup_test_` probes).

    Asked once per event: an event naming none of these id kinds is answered by a set check,
    and each id value's answer is remembered (a timeline names the same user line after line),
    at most CACHE values at a time."""

    CACHE = 4096

    def __init__(self, ignore_ids: list[tuple[str, object]]) -> None:
        self.ignore_ids = ignore_ids
        self.names = {name for name, _ in ignore_ids}
        self.known: dict[tuple[str, str], bool] = {}

    def __call__(self, event: Event) -> bool:
        ids = event.ids
        if self.names.isdisjoint(ids):
            return False
        for name, pattern in self.ignore_ids:
            value = ids.get(name)
            if value is None:
                continue
            key = (name, value)
            hit = self.known.get(key)
            if hit is None:
                if len(self.known) >= self.CACHE:
                    self.known.clear()
                hit = self.known[key] = pattern.search(value) is not None
            if hit:
                return True
        return False


def _events_for(
    record: RawRecord, index: RuleIndex, scope_fields: dict[str, str]
) -> list[Event]:
    text, fields = record.text, record.fields
    events: list[Event] = []
    for rule in index.candidates(text):
        found = event_values(rule, text, fields, record.severity)
        if found is None:
            continue
        ids, attrs = found
        if fields:
            for scope, field_name in scope_fields.items():
                value = fields.get(field_name)
                if value and scope not in ids:
                    ids[scope] = value
        # untimed records have ts None here: the parse stage places them
        events.append(Event(rule.emits, record.timestamp, ids, attrs,  # type: ignore[arg-type]
                            record.provenance, rule.id, record.severity, _excerpt(text),
                            record.insert_id))
    return events


def resolve_sticky_ids(events: Iterable[Event], ruleset: RuleSet) -> Iterator[Event]:
    """In time order: a client line naming no id takes the ids its log last named.

    The e2e client prints who it connects as (`[FALLBACK] User ID: …`) and then logs timeouts
    that name nobody. This runs after sorting, so a newest-first export attaches each timeout
    to the user printed before it in time, not in file order.
    """
    setters = {r.id for r in ruleset.event_rules if r.sets_sticky_ids}
    takers = {r.id for r in ruleset.event_rules if r.sticky_ids}
    sticky: dict[str, dict[str, str]] = {}
    for event in events:
        if event.rule_id in setters or event.rule_id in takers:
            source = event.provenance.rpartition(":")[0] or "insertId"
            own = {k: v for k, v in event.ids.items() if k in ID_GROUPS}
            if event.rule_id in setters and own:
                sticky[source] = own
            elif event.rule_id in takers and not own and source in sticky:
                # a new event, not the one read: the time sort may hand the same one out again
                event = replace(event, ids={**sticky[source], **event.ids})
        yield event


def _excerpt(text: str) -> str:
    """The first line (where the message is), or the last one for a folded traceback."""
    if len(text) <= EXCERPT_CHARS and "\n" not in text:
        return text
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    head = lines[0]
    if len(lines) > 1 and "Traceback" in head:
        # the innermost frame says where it was raised (for an import error: the importer)
        frames = [ln.strip() for ln in lines if ln.lstrip().startswith('File "')]
        where = f" … {frames[-1]}" if frames else ""
        head = f"{head}{where} … {lines[-1].strip()}"
    elif len(lines) > 1 and len(head) < 20:
        head = f"{head} … {lines[-1].strip()}"
    elif 1 < len(lines) <= 3 and len(text) <= EXCERPT_CHARS:
        # a short message split by a newline in a value (`database "netra_dev\n" does not
        # exist`): keep it whole, the newline shown as the two characters it was logged as
        head = "\\n".join(ln.strip() for ln in lines)
    return head[:EXCERPT_CHARS]
