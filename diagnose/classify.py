"""Finding rules applied to one connection timeline → hits (cause or symptom) and its outcome.

The heart of the five whys: a client timeout is never a cause by itself. When a connection has a
cause (an unknown type acked and dropped, an auth failure, a delivery failure…), its timeouts are
attached to that cause as symptoms; only a timeout with nothing behind it becomes a finding of its
own, and it says that the server logs show no cause.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .model import Connection, Event
from .rulepack.model import FindingRule, RuleSet

CONNECTION_SCOPES = ("connection", "run")  # judged on one timeline; wider scopes in scopes.py


@dataclass(slots=True)
class Hit:
    """One finding rule firing on one connection."""

    rule: FindingRule
    connection: Connection
    trigger: Event
    related: list[Event] = field(default_factory=list)  # paired lines worth showing as evidence
    values: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ConnectionVerdict:
    connection: Connection
    outcome: str
    causes: list[Hit]
    symptoms: list[Hit]  # `unexplained` hits, when there is no cause
    symptom_events: list[Event]


@dataclass(slots=True)
class Vocabulary:
    """What the packs say about kinds and classes, computed once per analysis."""

    rules: list[FindingRule]
    symptom_kinds: frozenset[str]
    ending_kinds: frozenset[str]
    healthy: str
    pending: str
    # each rule's trigger kinds, in `rules` order: a rule none of whose triggers is on a timeline
    # cannot fire on it, and most timelines (healthy ones) hold a few kinds of dozens
    triggers: list[frozenset[str]] = field(default_factory=list)

    @classmethod
    def of(cls, ruleset: RuleSet) -> Vocabulary:
        rules = [r for r in ruleset.finding_rules if r.scope in CONNECTION_SCOPES]
        return cls(
            rules=rules,
            symptom_kinds=ruleset.symptom_kinds,
            ending_kinds=ruleset.ending_kinds | ruleset.symptom_kinds,
            healthy=ruleset.class_with_role("ok", "healthy"),
            pending=ruleset.class_with_role("pending", "in_progress"),
            triggers=[frozenset(r.when.trigger) for r in rules],
        )

    def rules_on(self, kinds: set[str]) -> list[FindingRule]:
        """The rules with a trigger among a timeline's `kinds`, in pack order (the others have
        no hit on it)."""
        return [rule for rule, trigger in zip(self.rules, self.triggers, strict=True)
                if not trigger.isdisjoint(kinds)]


def classify_connection(
    conn: Connection, ruleset: RuleSet | Vocabulary, log_end: datetime
) -> ConnectionVerdict:
    """Evaluate every connection-scope finding rule on `conn`; `log_end` bounds what absence
    can prove."""
    vocab = ruleset if isinstance(ruleset, Vocabulary) else Vocabulary.of(ruleset)
    causes: list[Hit] = []
    pending = False
    kinds = {e.kind for e in conn.events}
    rules = vocab.rules_on(kinds)
    for rule in rules:
        if rule.when.type == "unexplained":
            continue
        hits, undecided = _evaluate(rule, conn, kinds, log_end, vocab.ending_kinds)
        pending = pending or undecided
        if rule.role == "cause":
            causes.extend(hits)
    causes.sort(key=lambda h: (-h.rule.priority, h.trigger.ts))
    # One root cause per connection: lower-priority rules firing on it are consequences
    # (an execution timeout also leaves the lifecycle incomplete).
    causes = [h for h in causes if h.rule is causes[0].rule]
    symptom_events = [e for e in conn.events if e.kind in vocab.symptom_kinds]
    symptoms: list[Hit] = []
    if not causes:
        for rule in rules:
            if rule.when.type == "unexplained":
                symptoms.extend(_evaluate(rule, conn, kinds, log_end, vocab.ending_kinds)[0])
    if causes:
        outcome = causes[0].rule.cls
    elif symptoms:
        outcome = symptoms[0].rule.cls
    elif pending:
        outcome = vocab.pending
    else:
        outcome = vocab.healthy
    return ConnectionVerdict(conn, outcome, causes, symptoms, symptom_events)


def trigger_matches(rule: FindingRule, event: Event) -> bool:
    """The event is one of the rule's triggers and its attrs satisfy `[when.attrs]`."""
    return event.kind in rule.when.trigger and attrs_match(rule.when.attrs, event)


def attrs_match(patterns: dict[str, re.Pattern], event: Event) -> bool:
    """Every named attr of `event` matches its pattern (a missing attr is matched as "")."""
    return all(pattern.search(event.attrs.get(name, "")) is not None
               for name, pattern in patterns.items())


def _evaluate(
    rule: FindingRule, conn: Connection, kinds: set[str], log_end: datetime,
    ending_kinds: frozenset[str],
) -> tuple[list[Hit], bool]:
    """Returns the hits, and whether some trigger could not be decided before the logs end;
    `kinds`: every event kind on `conn`.

    Work per trigger is a binary search plus its window, never a scan of the whole timeline, so
    a connection with thousands of events cannot make classification quadratic.
    """
    when = rule.when
    triggers = [e for e in conn.events if trigger_matches(rule, e)]
    if not triggers or not _context_holds(rule, kinds):
        return [], False
    window = timedelta(seconds=when.window_seconds)
    if when.type == "count":
        return _count_hits(rule, conn, triggers), False
    if when.type == "presence":
        return _first_per_key(_presence_hits(rule, conn, triggers)), False
    if when.type == "unexplained":
        return [_hit(rule, conn, triggers[0])], False
    times = [e.ts for e in conn.events]
    undecided = False
    for trigger in triggers:
        lo = bisect_left(times, trigger.ts)
        hi = bisect_right(times, trigger.ts + window)
        kinds = {e.kind for e in conn.events[lo:hi]}
        seen = [k for k in when.expect if k in kinds]
        missing = [k for k in when.expect if k not in kinds]
        # absence: any expected kind will do. incomplete: the run is over only when the
        # last expected kind shows up (the ones between are DEBUG lines, often not exported).
        complete = bool(seen) if when.type == "absence" else when.expect[-1] in kinds
        if complete:
            continue
        if not _window_closed(conn, trigger, window, log_end, ending_kinds):
            undecided = True
            continue
        hit = _hit(rule, conn, trigger)
        hit.values["missing"] = ", ".join(k.split(".", 1)[-1] for k in missing)
        hit.values["seen"] = ", ".join(k.split(".", 1)[-1] for k in seen) or "none"
        return [hit], undecided  # one hit per rule and connection says it all
    return [], undecided


def _context_holds(rule: FindingRule, kinds: set[str]) -> bool:
    """`unless`: none of these kinds on the connection; `requires`: at least one of them."""
    when = rule.when
    if when.unless and kinds & set(when.unless):
        return False
    return not when.requires or bool(kinds & set(when.requires))


def _presence_hits(rule: FindingRule, conn: Connection, triggers: list[Event]) -> list[Hit]:
    """Triggers that count: none of `before_any` earlier on the connection."""
    when = rule.when
    first_before = min(
        (e.ts for e in conn.events if e.kind in when.before_any), default=None
    )
    return [
        _hit(rule, conn, t) for t in triggers if first_before is None or t.ts <= first_before
    ]


def _count_hits(rule: FindingRule, conn: Connection, triggers: list[Event]) -> list[Hit]:
    """At least N triggers within the window on this connection."""
    window = timedelta(seconds=rule.when.window_seconds)
    need = rule.when.at_least
    for i in range(len(triggers) - need + 1):
        if triggers[i + need - 1].ts - triggers[i].ts <= window:
            hit = _hit(rule, conn, triggers[i])
            hit.values["count"] = str(len(triggers))
            return [hit]
    return []


def _window_closed(
    conn: Connection,
    trigger: Event,
    window: timedelta,
    log_end: datetime,
    ending_kinds: frozenset[str],
) -> bool:
    """Absence is proven when the window passed inside the logs, or the client gave up."""
    if trigger.ts + window <= log_end:
        return True
    return any(e.kind in ending_kinds and e.ts >= trigger.ts for e in conn.events)


def _hit(rule: FindingRule, conn: Connection, trigger: Event) -> Hit:
    related = []
    if trigger.kind == "router.unknown_ack":
        mtype = trigger.attrs.get("message_type")
        related = [
            e for e in conn.events
            if e.kind == "router.unknown_type" and e.attrs.get("message_type") == mtype
            and e.ts <= trigger.ts
        ][-1:]
    values = {"trigger_text": trigger.text, **trigger.ids, **trigger.attrs}
    values["window"] = _format_seconds(rule.when.window_seconds)
    return Hit(rule, conn, trigger, related, values)


def _first_per_key(hits: list[Hit]) -> list[Hit]:
    """Presence rules may fire many times on one connection; keep one per distinct key."""
    seen: set[str] = set()
    kept = []
    for hit in hits:
        key = render_template(hit.rule.key, hit.values)
        if key not in seen:
            seen.add(key)
            kept.append(hit)
    return kept


def _format_seconds(seconds: float) -> str:
    return f"{seconds:g}s" if seconds < 120 else f"{seconds / 60:g}m"


class _Defaulting(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def render_template(template: str, values: dict[str, str]) -> str:
    """Fill `{name}` placeholders from values; unknown names become `?` instead of failing."""
    try:
        return template.format_map(_Defaulting(values))
    except (ValueError, IndexError, AttributeError):
        return template
