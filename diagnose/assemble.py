"""Per-connection verdicts → the report's findings (grouped, filled in, ordered) and outcome rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .classify import ConnectionVerdict, Hit, render_template
from .masking import mask
from .model import Event, Finding
from .report import ConnectionOutcome
from .rulepack.model import SCOPES, FindingRule
from .suggest import nearest_types

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
UNIDENTIFIED = "unidentified@"  # how the correlator names a timeline no line identifies
MAX_EVIDENCE = 3
MAX_SYMPTOMS = 50
SYMPTOMS_PER_CONNECTION = 5
MAX_LISTED_CONNECTIONS = 1_000  # ids named under one finding; its count stays exact
# Real message types are short identifiers (the longest known is 23 characters). The suggestion's
# edit distance is quadratic pure Python, so a "type" of thousands of characters (log text is
# untrusted: a client can send any type) would stall the run; such a type gets no suggestion.
MAX_SUGGEST_CHARS = 64


@dataclass(slots=True)
class HitEntry:
    """One hit as kept until every connection is judged: picklable (the rule by id), and only
    what its finding may show, so the outcome table can wait on disk (`outcomes.py`)."""

    rule_id: str
    key: str  # the masked fingerprint key
    connection: str
    trigger: Event
    related: list[Event]
    values: dict[str, str]
    symptoms: list[Event]  # the connection's first symptom events (when it has a cause)


class FindingCollector:
    """Groups hits by (rule, key) across connections into one Finding each.

    Memory per group is bounded whatever the number of connections: the earliest hit (its
    evidence), the first MAX_SYMPTOMS symptom lines, a sample of connection ids and counts.
    """

    def __init__(self, rules: dict[str, FindingRule], known_types: list[str],
                 type_fixes: dict[str, str] | None = None) -> None:
        self.rules = rules
        self.known_types = known_types
        self.type_fixes = type_fixes or {}
        self.groups: dict[tuple[str, str], _Group] = {}
        self.seen_routed: set[str] = set()

    def entries(self, verdict: ConnectionVerdict) -> list[HitEntry]:
        """What a connection's verdict contributes to findings (notes the routed types too)."""
        for event in verdict.connection.events:
            if event.kind == "router.routed" and event.attrs.get("message_type"):
                self.seen_routed.add(event.attrs["message_type"])
        hits = verdict.causes or verdict.symptoms
        symptoms = verdict.symptom_events[:SYMPTOMS_PER_CONNECTION] if verdict.causes else []
        return [HitEntry(hit.rule.id, fingerprint_key(hit), verdict.connection.key, hit.trigger,
                         hit.related, hit.values, symptoms) for hit in hits]

    def add(self, entry: HitEntry, *, listed: bool = True) -> None:
        """Count `entry` in its group; `listed`: its connection is named under the finding (a
        connection a wider cause took over is counted, not listed)."""
        group = self.groups.get((entry.rule_id, entry.key))
        if group is None:
            group = self.groups[(entry.rule_id, entry.key)] = _Group(entry)
        group.add(entry, listed)

    def findings(self) -> list[Finding]:
        found = [self._finding(key, group) for key, group in self.groups.items()]
        found.sort(key=impact)
        return found

    def _finding(self, rule_key: tuple[str, str], group: _Group) -> Finding:
        first = group.first
        rule = self.rules[first.rule_id]
        values = dict(first.values)
        values["count"] = str(group.count)
        mtype = values.get("message_type")
        if mtype:
            near = (nearest_types(mtype, self.known_types, self.seen_routed)
                    if len(mtype) <= MAX_SUGGEST_CHARS else [])
            if mtype in self.type_fixes:  # the fix the team shipped for this very type
                near = [self.type_fixes[mtype]]
            values["suggestion"] = "' or '".join(near) if near else "a supported type"
        symptoms = sorted(group.symptoms, key=Event.sort_key)
        texts = rule_texts(rule, values)
        texts["symptom"] = _symptom_text(texts["symptom"], group.timeouts)
        listed, more = group.connections.listed()
        return Finding(
            **texts,
            connections=listed,
            more_connections=more,
            first_seen=group.first_seen,
            last_seen=group.last_seen,
            evidence=_evidence(first),
            key=rule_key[1],
            attrs={k: v for k, v in values.items() if k in ("message_type", "suggestion",
                                                            "missing", "event", "code")},
            symptoms=symptoms[:MAX_SYMPTOMS],
            count=group.count,
        )


class KeySample:
    """The first `limit` ids in sorted order and how many were added: a finding names a sample
    of its connections, however many it has (each connection is added once)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit or MAX_LISTED_CONNECTIONS
        self._keys: list[str] = []
        self.total = 0

    def add(self, key: str) -> None:
        self.total += 1
        self._keys.append(key)
        if len(self._keys) >= 2 * self.limit:
            self._keys = sorted(self._keys)[: self.limit]

    def listed(self) -> tuple[list[str], int]:
        """The ids to name, and how many more there were."""
        keys = sorted(self._keys)[: self.limit]
        return keys, self.total - len(keys)


class _Group:
    """One finding's running aggregate over the connections it fired on."""

    __slots__ = ("first", "count", "connections", "first_seen", "last_seen", "symptoms",
                 "timeouts", "_last_connection")

    def __init__(self, entry: HitEntry) -> None:
        self.first = entry  # the earliest trigger: its lines are the evidence
        self.count = 0
        self.connections = KeySample()
        self.first_seen = entry.trigger.ts
        self.last_seen = entry.trigger.ts
        self.symptoms: list[Event] = []  # the earliest MAX_SYMPTOMS, by Event.sort_key
        self.timeouts = 0
        self._last_connection = ""

    def add(self, entry: HitEntry, listed: bool) -> None:
        self.count += 1
        if listed and entry.connection != self._last_connection:
            self.connections.add(entry.connection)
            self._last_connection = entry.connection
        if entry.trigger.sort_key() < self.first.trigger.sort_key():
            self.first = entry
        self.first_seen = min(self.first_seen, entry.trigger.ts)
        self.last_seen = max(self.last_seen, entry.trigger.ts,
                             *(e.ts for e in entry.symptoms))
        self.timeouts += sum(1 for e in entry.symptoms if e.kind == "client.timeout")
        if entry.symptoms:
            self.symptoms.extend(entry.symptoms)
            if len(self.symptoms) >= 2 * MAX_SYMPTOMS:
                self.symptoms = sorted(self.symptoms, key=Event.sort_key)[:MAX_SYMPTOMS]


def rule_texts(rule: FindingRule, values: dict[str, str]) -> dict[str, str]:
    """A finding's identity and five-whys texts: the rule's templates filled from `values`."""
    return {
        "rule_id": rule.id, "cls": rule.cls, "role": rule.role, "severity": rule.severity,
        **{name: render_template(getattr(rule, name), values)
           for name in ("title", "cause", "critical_failure", "symptom", "fix")},
    }


def fingerprint_key(hit: Hit) -> str:
    """The rule's key with ids and numbers masked, so the fingerprint is stable across runs."""
    return masked_key(render_template(hit.rule.key, hit.values)) if hit.rule.key else ""


def masked_key(text: str) -> str:
    """A finding's key for its fingerprint: ids and numbers masked, bounded in length."""
    return mask(text)[:200]


def fingerprint(hit: Hit) -> str:
    key = fingerprint_key(hit)
    return f"{hit.rule.id}:{key}" if key else hit.rule.id


def _evidence(entry: HitEntry) -> list[Event]:
    """The paired id-less line, the trigger, and its connection's first symptom: cause to
    surface."""
    lines = [*entry.related, entry.trigger]
    if entry.symptoms:
        lines.append(min(entry.symptoms, key=Event.sort_key))
    return lines[:MAX_EVIDENCE]


def _symptom_text(text: str, timeouts: int) -> str:
    if not timeouts:
        return text
    return f"{text} ({timeouts} client timeout{'s' if timeouts != 1 else ''} seen in these logs)"


# Widest first: a service-level cause explains a revision's, which explains a connection's.
SCOPE_RANK = {scope: rank for rank, scope in enumerate(reversed(SCOPES))}


def impact(f: Finding) -> tuple:
    """Causes first; a wider scope before a narrower one (it explains it); then severity."""
    return (
        f.role != "cause",
        SCOPE_RANK.get(f.scope, 9),
        SEVERITY_ORDER.get(f.severity, 9),
        -f.connection_count,
        f.first_seen,
        f.fingerprint,
    )


def outcome_row(verdict: ConnectionVerdict, fingerprints: Iterable[str]) -> ConnectionOutcome:
    conn = verdict.connection
    types: dict[str, None] = {}
    lifecycle: dict[str, None] = {}
    for e in conn.events:
        if e.attrs.get("message_type") and e.kind in (
            "message.received", "router.unknown_ack", "router.routed", "client.sent"
        ):
            types.setdefault(e.attrs["message_type"], None)
        if e.kind.startswith("lifecycle."):
            lifecycle.setdefault(e.kind.split(".", 1)[1], None)
    users = sorted(conn.ids.get("user", ()))
    return ConnectionOutcome(
        connection=conn.key,
        outcome=verdict.outcome,
        first_seen=conn.first_seen,
        last_seen=conn.last_seen,
        events=len(conn.events),
        message_types=list(types),
        lifecycle=list(lifecycle),
        client_timeouts=sum(1 for e in conn.events if e.kind == "client.timeout"),
        instance=conn.instance,
        user=users[0] if users else None,
        findings=sorted(set(fingerprints)),
    )
