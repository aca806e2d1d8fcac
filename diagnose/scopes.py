"""Finding rules over wider scopes than a connection: an instance, a revision, the service.

Every event passes through here as well as through the correlator, id-less ones included (a
`Container called exit(3).` names no client). For each rule whose scope is `instance`,
`revision` or `service`, events are grouped by that id (from the record's fields, as the pack's
`scope_fields` declare) and the rule's condition is judged per group in one streaming pass:
`count` (at least N triggers within T) or `presence`. Memory per group is bounded: a window of
N times, a few evidence events and a capped list of trigger places.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .classify import CONNECTION_SCOPES, attrs_match, render_template, trigger_matches
from .masking import mask
from .model import Event
from .rulepack.model import FindingRule, RuleSet

MAX_TRIGGERS_KEPT = 5_000  # per group: the places surface findings recount after attribution
MAX_SYMPTOMS_KEPT = 50_000  # symptom events kept for attribution to wider causes
MAX_TEMPLATES = 50  # per group: distinct trigger lines counted for the breakdown
MAX_UNITS = 100_000  # per group: distinct instances (or other ids) remembered for `distinct`
EVIDENCE_PER_KIND = 3  # distinct lines of each evidence kind kept per scope value


@dataclass(slots=True)
class ScopeHit:
    """One wider-scope rule that fired on one scope value."""

    rule: FindingRule
    scope_key: str
    count: int
    first_seen: datetime
    last_seen: datetime
    triggers: list[Event]  # capped; the first ones
    related: list[Event] = field(default_factory=list)  # evidence kinds seen in the group
    surface: bool = False  # every trigger is a symptom kind: it yields to a deeper cause
    lines: int = 0  # trigger lines (count is distinct units when the rule counts `distinct`)
    breakdown: list[tuple[str, int, Event]] = field(default_factory=list)  # template, n, first


@dataclass(slots=True)
class _Group:
    times: deque
    count: int = 0  # units: lines, or distinct ids when the rule counts `distinct`
    lines: int = 0
    first: datetime | None = None
    last: datetime | None = None
    fired_at: datetime | None = None
    firm: bool = False  # a trigger matched the rule's `firm` attrs: it never stands down
    triggers: list[Event] = field(default_factory=list)
    units: set[str] = field(default_factory=set)
    templates: dict[str, list] = field(default_factory=dict)  # masked line -> [n, first event]


class ScopeEvaluator:
    """Feed every event in time order; `finish` returns the hits and the symptom events."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.rules = [
            r for r in ruleset.finding_rules
            if r.scope not in CONNECTION_SCOPES and r.when.type in ("count", "presence")
        ]
        self.symptom_kinds = ruleset.symptom_kinds
        self.groups: dict[tuple[str, str, str], _Group] = {}
        # evidence kinds: the first event of each kind per scope value, shown with a hit
        self.evidence_kinds = {k for r in self.rules for k in r.evidence_kinds}
        self.evidence: dict[tuple[str, str], dict[str, Event]] = {}
        self.symptoms: list[Event] = []
        self.symptoms_dropped = 0
        self._kept: set[str] = set()  # provenance of every symptom and trigger line kept
        self._trigger_kinds = {k for r in self.rules for k in r.when.trigger}
        # `unless` at a wider scope: times of those kinds per scope value (bounded), so a rule
        # can stand down when they are as many as its triggers (most clients got through)
        self.unless_kinds = {k for r in self.rules for k in r.when.unless}
        self.unless_times: dict[tuple[str, str, str], list[datetime]] = {}

    def watch(self, events: Iterable[Event]) -> Iterator[Event]:
        """Pass events through unchanged, looking at each one on the way."""
        for event in events:
            self.feed(event)
            yield event

    def feed(self, event: Event) -> None:
        if event.kind in self.symptom_kinds:
            if len(self.symptoms) < MAX_SYMPTOMS_KEPT:
                self.symptoms.append(event)
                self._kept.add(event.provenance)
            else:
                self.symptoms_dropped += 1
        if event.kind in self.evidence_kinds:
            # per scope value and kind, the first line of up to EVIDENCE_PER_KIND distinct
            # templates (a one-line error and the traceback that names the file)
            template = mask(event.text)
            places = [(scope, event.ids.get(scope, "")) for scope in ("instance", "revision",
                                                                        "service")]
            for place in [*places, ("*", "")]:  # "*": any scope value, the fallback
                seen = self.evidence.setdefault(place, {})
                kept = seen.setdefault(event.kind, {})
                if template not in kept and len(kept) < EVIDENCE_PER_KIND:
                    kept[template] = event
        if event.kind in self.unless_kinds:
            for scope in ("instance", "revision", "service"):
                times = self.unless_times.setdefault((event.kind, scope, event.ids.get(scope, "")),
                                                     [])
                if len(times) < MAX_TRIGGERS_KEPT:
                    times.append(event.ts)
        if event.kind not in self._trigger_kinds:
            return
        for rule in self.rules:
            if trigger_matches(rule, event):
                self._count(rule, event)

    def _count(self, rule: FindingRule, event: Event) -> None:
        # grouped by the scope value, and by the rule's key when it has one (per dependency…)
        sub = render_template(rule.key, {**event.ids, **event.attrs}) if rule.key else ""
        key = (rule.id, event.ids.get(rule.scope, ""), sub)
        group = self.groups.get(key)
        need = rule.when.at_least if rule.when.type == "count" else 1
        if group is None:
            group = self.groups[key] = _Group(times=deque(maxlen=need))
        group.lines += 1
        group.first = group.first or event.ts
        group.last = event.ts
        if len(group.triggers) < MAX_TRIGGERS_KEPT:
            group.triggers.append(event)
            self._kept.add(event.provenance)
        _tally(group.templates, event)
        if rule.when.firm and not group.firm:
            group.firm = attrs_match(rule.when.firm, event)
        distinct = rule.when.distinct
        if distinct:
            unit = event.ids.get(distinct) or event.provenance  # no id: every line is a unit
            if unit in group.units:
                return
            if len(group.units) < MAX_UNITS:
                group.units.add(unit)
        group.count += 1
        group.times.append(event.ts)
        if group.fired_at is None and len(group.times) == need and (
            group.times[-1] - group.times[0] <= timedelta(seconds=rule.when.window_seconds)
        ):
            group.fired_at = event.ts

    def finish(self) -> list[ScopeHit]:
        by_id = {r.id: r for r in self.rules}
        hits = []
        for (rule_id, scope_key, _), group in sorted(self.groups.items()):
            if group.fired_at is None:
                continue
            rule = by_id[rule_id]
            if self._outnumbered(rule, scope_key, group):
                continue
            seen = self.evidence.get((rule.scope, scope_key), {})
            anywhere = self.evidence.get(("*", ""), {})
            # round robin over the declared kinds: the first line of each kind, then the next;
            # a kind this scope value never logged is taken from another (the auth service's
            # complaint beside the backend's refusals)
            lists = [list((seen.get(kind) or anywhere.get(kind) or {}).values())
                     for kind in rule.evidence_kinds]
            related = [ls[i] for i in range(EVIDENCE_PER_KIND) for ls in lists if i < len(ls)]
            hits.append(ScopeHit(
                rule=rule,
                scope_key=scope_key,
                count=group.count,
                first_seen=group.first,
                last_seen=group.last,
                triggers=group.triggers,
                related=related,
                surface=set(rule.when.trigger) <= self.symptom_kinds,
                lines=group.lines,
                breakdown=sorted(
                    ((t, n, e) for t, (n, e) in group.templates.items()),
                    key=lambda item: (-item[1], item[2].ts, item[0]),
                ),
            ))
        return hits

    def _outnumbered(self, rule: FindingRule, scope_key: str, group: _Group) -> bool:
        """The `unless` kinds were at least as many as the triggers over the triggers' span."""
        if not rule.when.unless or group.firm:
            return False
        seen = sum(
            1 for kind in rule.when.unless
            for t in self.unless_times.get((kind, rule.scope, scope_key), ())
            if group.first <= t <= group.last
        )
        return seen >= group.count

    def keeps(self, event: Event) -> bool:
        """Whether attribution will look at this line again (a kept symptom or trigger): only
        those need remembering as already explained by their connection's own cause."""
        return event.provenance in self._kept

    @property
    def used_kinds(self) -> set[str]:
        """Kinds a wider-scope rule looks at: not "unmatched" when no connection takes them."""
        return self._trigger_kinds | self.evidence_kinds | self.unless_kinds


def _tally(templates: dict[str, list], event: Event) -> None:
    template = mask(event.text)
    entry = templates.get(template)
    if entry is not None:
        entry[0] += 1
    elif len(templates) < MAX_TEMPLATES:
        templates[template] = [1, event]
