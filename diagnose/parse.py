"""Records → normalized events, by the event rules; every record ends up counted somewhere.

A record that some rule matches becomes one event per matching rule; a record no rule matches is
`ignored`; a matched record without a usable time stamp is `unparsed` (it cannot be placed on a
timeline, and saying so beats guessing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from .model import EXCERPT_CHARS, Event, ParseStats, RawRecord, Unparsed
from .rulepack import apply_event_rule
from .rulepack.model import ID_GROUPS, EventRule, RuleSet


class RuleIndex:
    """Event rules grouped by prefilter literal, so a record is only tried against likely rules."""

    def __init__(self, rules: list[EventRule]) -> None:
        self.rules = rules
        self.by_literal: dict[str, list[int]] = {}
        for index, rule in enumerate(rules):
            for lit in rule.prefilter:
                self.by_literal.setdefault(lit, []).append(index)

    def candidates(self, text: str) -> list[EventRule]:
        hits: set[int] = set()
        for lit, indexes in self.by_literal.items():
            if lit in text:
                hits.update(indexes)
        return [self.rules[i] for i in sorted(hits)]


def parse_records(
    records: Iterable[RawRecord],
    ruleset: RuleSet,
    stats: ParseStats,
    on_ignored: Callable[[RawRecord], None] | None = None,
) -> Iterator[Event]:
    """Yield the events found in `records`, updating the parse accounting in `stats`.

    `on_ignored` sees every record no rule matched (the residue template mining works on).
    """
    index = RuleIndex(ruleset.event_rules)
    for record in records:
        events = list(_events_for(record, index))
        if not events:
            stats.ignored += 1
            if on_ignored is not None:
                on_ignored(record)
            continue
        if record.timestamp is None:
            stats.unparsed_total += 1
            if len(stats.unparsed) < 200:
                rule_id = events[0].rule_id
                reason = f"matched rule {rule_id} but carries no time stamp"
                stats.unparsed.append(Unparsed(record.source, record.line, reason))
            continue
        stats.events += 1
        yield from events


def _events_for(record: RawRecord, index: RuleIndex) -> Iterator[Event]:
    for rule in index.candidates(record.text):
        groups = apply_event_rule(rule, record.text, record.fields, record.severity)
        if groups is None:
            continue
        ids = {k: v for k, v in groups.items() if k in ID_GROUPS and v}
        attrs = {k: v for k, v in groups.items() if k not in ID_GROUPS and v is not None}
        instance = record.fields.get("instance_id")
        if instance:
            ids["instance"] = instance
        if record.fields.get("revision"):
            attrs.setdefault("revision", record.fields["revision"])
        yield Event(
            kind=rule.emits,
            ts=record.timestamp,  # type: ignore[arg-type]  # checked by the caller
            ids=ids,
            attrs=attrs,
            provenance=record.provenance,
            rule_id=rule.id,
            severity=record.severity,
            text=_excerpt(record.text),
            insert_id=record.insert_id,
        )


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
            own = {k: v for k, v in event.ids.items() if k != "instance"}
            if event.rule_id in setters and own:
                sticky[source] = own
            elif event.rule_id in takers and not own and source in sticky:
                event.ids = {**sticky[source], **event.ids}
        yield event


def _excerpt(text: str) -> str:
    """The first line (where the message is), or the last one for a folded traceback."""
    if len(text) <= EXCERPT_CHARS and "\n" not in text:
        return text
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    head = lines[0]
    if len(lines) > 1 and ("Traceback" in head or len(head) < 20):
        head = f"{head} … {lines[-1].strip()}"
    return head[:EXCERPT_CHARS]
