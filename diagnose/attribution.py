"""Wider-scope causes explain narrower failures: the cross-scope step of the five whys.

A crash-looping revision, an auth-rejection storm on the service or a broken instance is the
cause; the client timeouts, refused handshakes, `HTTP 503/403` answers and 5xx request-log
entries in its window are its symptoms. This module turns scope hits into findings, hands each
symptom event to the first cause whose window and scope contain it, re-labels connections that
had only an unexplained symptom, and lets a *surface* finding (one whose triggers are all
symptoms, such as "/ws answered 5xx") stand only for what no deeper cause explains.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from .assemble import (
    SCOPE_RANK,
    UNIDENTIFIED,
    FindingCollector,
    HitEntry,
    KeySample,
    masked_key,
    rule_texts,
)
from .classify import render_template
from .model import Event, Finding
from .report import ConnectionOutcome
from .scopes import ScopeHit

MAX_TRIGGER_EXAMPLES = 4  # the first line of each of the most frequent trigger templates
MAX_RELATED = 3  # and of the related (evidence-kind) lines
MAX_BREAKDOWN = 8
MAX_SYMPTOMS_SHOWN = 50


@dataclass(slots=True)
class _Window:
    finding: Finding
    scope: str
    key: str
    start: datetime
    end: datetime

    def contains(self, event: Event) -> bool:
        value = event.ids.get(self.scope)
        if self.key and value and value != self.key:
            return False
        if not event.timed:
            return True  # a line with no time stamp cannot be placed: the cause is in the input
        return self.start <= event.ts <= self.end


class Attribution:
    """Wider causes take over what they explain, in one pass over the outcome rows.

    Made from the scope hits once every event is read; then each connection's row and hit
    entries go through `place` (in any order), and `finish` returns the report's findings.
    """

    def __init__(self, hits: list[ScopeHit], collector: FindingCollector,
                 symptom_roles: set[str]) -> None:
        self.hits = hits
        self.collector = collector
        self.symptom_roles = symptom_roles  # outcome classes meaning "failed, no cause seen"
        self.deep = [h for h in hits if not h.surface and h.rule.role == "cause"]
        self.deep.sort(key=lambda h: (SCOPE_RANK.get(h.rule.scope, 9), -h.rule.priority,
                                      h.first_seen))
        self.windows = [_window(_finding(h), h) for h in self.deep]
        self.samples = [KeySample() for _ in self.windows]
        # a wider cause's own trigger lines: an id-less connection made of one is its story
        self.owners: dict[str, int] = {}
        for i, hit in enumerate(self.deep):
            for event in hit.triggers:
                self.owners.setdefault(event.provenance, i)

    def place(self, row: ConnectionOutcome, entries: list[HitEntry]) -> None:
        """Fold, re-label, and count `row`'s hits into their findings (rows are edited)."""
        unidentified = row.connection.startswith(UNIDENTIFIED)
        folded = None
        kept = []
        for entry in entries:
            owner = self.owners.get(entry.trigger.provenance) if unidentified else None
            if owner is None:
                kept.append(entry)
            elif folded is None:
                folded = owner
        if folded is not None:  # one rejected upgrade is one line of an auth storm
            self._take(row, folded, [self.windows[folded].finding.fingerprint])
        moved = folded is None and self._relabel(row)
        for entry in kept:
            self.collector.add(entry, listed=not moved)

    def finish(self, symptoms: list[Event], explained: set[str]) -> list[Finding]:
        """The findings, wider scopes first. `symptoms` are the symptom events seen; `explained`
        the ones a connection's own cause already explains."""
        for window, sample in zip(self.windows, self.samples, strict=True):
            window.finding.connections, window.finding.more_connections = sample.listed()
        attributed: dict[int, list[Event]] = {i: [] for i in range(len(self.windows))}
        for event in symptoms:
            if event.provenance in explained:
                continue
            for i, w in enumerate(self.windows):
                if w.contains(event):
                    attributed[i].append(event)
                    explained.add(event.provenance)
                    break
        for i, w in enumerate(self.windows):
            _add_symptoms(w.finding, attributed[i])
        scoped = [w.finding for w in self.windows]
        for hit in self.hits:
            if hit in self.deep:
                continue
            if hit.rule.role != "cause" and any(w.contains(hit.triggers[0])
                                                for w in self.windows):
                continue  # a degraded dependency inside a startup failure is part of that story
            if hit.surface:
                rest = [e for e in hit.triggers if e.provenance not in explained]
                need = hit.rule.when.at_least if hit.rule.when.type == "count" else 1
                if len(rest) < need:
                    continue
                dropped = len(hit.triggers) - len(rest)
                hit.count -= dropped if not hit.rule.when.distinct else 0
                hit.lines -= dropped
                hit.triggers = rest
                hit.first_seen, hit.last_seen = rest[0].ts, rest[-1].ts
            scoped.append(_finding(hit))
        findings = [f for f in self.collector.findings()
                    if f.connection_count or f.scope != "connection"]
        return scoped + findings

    def _relabel(self, row: ConnectionOutcome) -> bool:
        """A connection that only timed out, inside a wider cause's window, failed of it."""
        if row.outcome not in self.symptom_roles or row.first_seen is None:
            return False
        for i, w in enumerate(self.windows):
            scope_value = row.instance if w.scope == "instance" else None
            if w.key and scope_value and scope_value != w.key:
                continue
            if w.start <= row.first_seen <= w.end:
                self._take(row, i, sorted({*row.findings, w.finding.fingerprint}))
                return True
        return False

    def _take(self, row: ConnectionOutcome, window: int, findings: list[str]) -> None:
        row.outcome = self.windows[window].finding.cls
        row.findings = findings
        self.samples[window].add(row.connection)


def _window(finding: Finding, hit: ScopeHit) -> _Window:
    slack = timedelta(seconds=hit.rule.absorbs_within)
    return _Window(finding, hit.rule.scope, hit.scope_key,
                   hit.first_seen - slack, hit.last_seen + slack)


def _finding(hit: ScopeHit) -> Finding:
    rule = hit.rule
    # the templates quote what happened most often; `first` is its first line
    first = hit.breakdown[0][2] if hit.breakdown else hit.triggers[0]
    values = {}
    for event in [*hit.related, first]:
        values.update(event.ids)
        values.update(event.attrs)
    values.update(
        trigger_text=first.text,
        summary=_clip(first.text.strip(), 140),
        related=hit.related[0].text if hit.related else first.text,
        count=str(hit.count),
        scope=rule.scope,
        scope_key=hit.scope_key or f"(unnamed {rule.scope})",
        span=_span(hit.last_seen - hit.first_seen),
        rate=_rate(hit.count, hit.last_seen - hit.first_seen),
        window=_span(timedelta(seconds=rule.when.window_seconds)),
        first_seen=f"{hit.first_seen:%Y-%m-%d %H:%M:%S}" if first.timed else "no time stamp",
        last_seen=f"{hit.last_seen:%Y-%m-%d %H:%M:%S}" if first.timed else "no time stamp",
    )

    # the first line of each distinct trigger template (most frequent first), then the
    # related lines: what kept happening, and why
    examples = [e for _, _, e in hit.breakdown[:MAX_TRIGGER_EXAMPLES]]
    evidence = sorted(examples or [first], key=Event.sort_key) + hit.related[:MAX_RELATED]
    key = render_template(rule.key, values) if rule.key else hit.scope_key
    return Finding(
        **rule_texts(rule, values),
        connections=[],
        first_seen=hit.first_seen,
        last_seen=hit.last_seen,
        evidence=evidence,
        key=masked_key(key),
        attrs={k: values[k] for k in ("count", "span", "rate", "scope_key") if k in values},
        scope=rule.scope,
        scope_key=hit.scope_key,
        count=hit.count,
        lines=hit.lines,
        breakdown=[(t, n, e.text) for t, n, e in hit.breakdown[:MAX_BREAKDOWN]],
    )


def _add_symptoms(finding: Finding, events: list[Event]) -> None:
    if not events:
        return
    counts = Counter(_symptom_label(e) for e in events)
    finding.symptom_counts = dict(sorted(counts.items()))
    finding.symptoms = sorted(events, key=Event.sort_key)[:MAX_SYMPTOMS_SHOWN]
    finding.last_seen = max(finding.last_seen, max(e.ts for e in events if e.timed) if any(
        e.timed for e in events) else finding.last_seen)
    summary = ", ".join(f"{label} ×{n}" for label, n in counts.most_common(6))
    finding.symptom = f"{finding.symptom} Explains {len(events)} symptom(s) in its window: {summary}."


def _symptom_label(event: Event) -> str:
    """`client.http_rejected` with status 403 → "client.http_rejected HTTP 403"."""
    status = event.attrs.get("status")
    path = event.attrs.get("path")
    label = event.kind
    if status:
        label += f" HTTP {status}"
    if path:
        label += f" {path}"
    return label


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _span(delta: timedelta) -> str:
    seconds = max(0.0, delta.total_seconds())
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _rate(count: int, delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    if minutes <= 0 or count < 2:
        return f"{count} at once"
    return f"{count / minutes:.1f}/min"
