"""Per-connection verdicts → the report's findings (grouped, filled in, ordered) and outcome rows."""

from __future__ import annotations

from collections.abc import Iterable

from .classify import ConnectionVerdict, Hit, render_template
from .masking import mask
from .model import Connection, Event, Finding
from .report import ConnectionOutcome
from .rulepack.model import SCOPES, FindingRule
from .suggest import nearest_types

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
UNIDENTIFIED = "unidentified@"  # how the correlator names a timeline no line identifies
MAX_EVIDENCE = 3
MAX_SYMPTOMS = 50
SYMPTOMS_PER_CONNECTION = 5
# Real message types are short identifiers (the longest known is 23 characters). The suggestion's
# edit distance is quadratic pure Python, so a "type" of thousands of characters (log text is
# untrusted: a client can send any type) would stall the run; such a type gets no suggestion.
MAX_SUGGEST_CHARS = 64


class FindingCollector:
    """Groups hits by (rule, key) across connections into one Finding each."""

    def __init__(self, known_types: list[str], type_fixes: dict[str, str] | None = None) -> None:
        self.known_types = known_types
        self.type_fixes = type_fixes or {}
        self.groups: dict[tuple[str, str], list[tuple[Hit, list[Event]]]] = {}
        self.seen_routed: set[str] = set()

    def add(self, verdict: ConnectionVerdict) -> None:
        for event in verdict.connection.events:
            if event.kind == "router.routed" and event.attrs.get("message_type"):
                self.seen_routed.add(event.attrs["message_type"])
        hits = verdict.causes or verdict.symptoms
        symptoms = verdict.symptom_events[:SYMPTOMS_PER_CONNECTION] if verdict.causes else []
        # Keep only what the finding will show, not the whole timeline: a day of logs can
        # have thousands of failing connections.
        light = Connection(key=verdict.connection.key, events=symptoms,
                           instance=verdict.connection.instance)
        for hit in hits:
            key = fingerprint_key(hit)
            kept = Hit(hit.rule, light, hit.trigger, hit.related, hit.values)
            self.groups.setdefault((hit.rule.id, key), []).append((kept, symptoms))

    def fold_unidentified(self, provenances: dict[str, str]) -> dict[str, str]:
        """Unidentified connections whose trigger line is a wider cause's trigger are that
        cause's story (one rejected upgrade is one line of an auth storm), not findings of their
        own. `provenances` maps a trigger line to the wider finding's fingerprint; returns the
        folded connection keys mapped to it."""
        folded: dict[str, str] = {}
        for group_key in list(self.groups):
            kept = []
            for hit, symptoms in self.groups[group_key]:
                owner = provenances.get(hit.trigger.provenance)
                if owner is not None and hit.connection.key.startswith(UNIDENTIFIED):
                    folded[hit.connection.key] = owner
                else:
                    kept.append((hit, symptoms))
            if kept:
                self.groups[group_key] = kept
            else:
                del self.groups[group_key]
        return folded

    def findings(self) -> list[Finding]:
        found = [self._finding(rule_key, hits) for rule_key, hits in self.groups.items()]
        found.sort(key=impact)
        return found

    def _finding(self, rule_key: tuple[str, str], group: list[tuple[Hit, list[Event]]]) -> Finding:
        first_hit = min((h for h, _ in group), key=lambda h: h.trigger.sort_key())
        rule = first_hit.rule
        values = dict(first_hit.values)
        values["count"] = str(len(group))
        mtype = values.get("message_type")
        if mtype:
            near = (nearest_types(mtype, self.known_types, self.seen_routed)
                    if len(mtype) <= MAX_SUGGEST_CHARS else [])
            if mtype in self.type_fixes:  # the fix the team shipped for this very type
                near = [self.type_fixes[mtype]]
            values["suggestion"] = "' or '".join(near) if near else "a supported type"
        connections = sorted({h.connection.key for h, _ in group})
        triggers = [h.trigger for h, _ in group]
        symptoms = sorted(
            {id(e): e for _, evs in group for e in evs}.values(), key=Event.sort_key
        )
        texts = rule_texts(rule, values)
        texts["symptom"] = _symptom_text(texts["symptom"], symptoms)
        return Finding(
            **texts,
            connections=connections,
            first_seen=min(e.ts for e in triggers),
            last_seen=max(e.ts for h, s in group for e in [h.trigger, *s]),
            evidence=_evidence(first_hit, symptoms),
            key=rule_key[1],
            attrs={k: v for k, v in values.items() if k in ("message_type", "suggestion",
                                                            "missing", "event", "code")},
            symptoms=symptoms[:MAX_SYMPTOMS],
            count=len(group),
        )


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


def _evidence(hit: Hit, symptoms: list[Event]) -> list[Event]:
    """The paired id-less line, the trigger, and the first symptom: cause to surface."""
    lines = [*hit.related, hit.trigger]
    own = [e for e in symptoms if e in hit.connection.events]
    if own:
        lines.append(own[0])
    return lines[:MAX_EVIDENCE]


def _symptom_text(text: str, symptoms: list[Event]) -> str:
    timeouts = sum(1 for e in symptoms if e.kind == "client.timeout")
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
        -len(f.connections),
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
