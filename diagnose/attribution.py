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

from .assemble import SCOPE_RANK, FindingCollector, masked_key, rule_texts
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


def attribute(
    hits: list[ScopeHit],
    symptoms: list[Event],
    collector: FindingCollector,
    outcomes: list[ConnectionOutcome],
    explained: set[str],
    symptom_roles: set[str],
) -> list[Finding]:
    """The report's findings: scope findings added, symptoms and connections re-attributed.

    `explained` holds the provenance of symptom events already explained by a connection's own
    cause; `symptom_roles` the outcome classes that mean "failed, no cause seen".
    """
    deep = [h for h in hits if not h.surface and h.rule.role == "cause"]
    deep.sort(key=lambda h: (SCOPE_RANK.get(h.rule.scope, 9), -h.rule.priority, h.first_seen))
    windows = [_window(_finding(h), h) for h in deep]
    _fold_trigger_connections(windows, deep, collector, outcomes)
    findings = collector.findings()
    attributed: dict[int, list[Event]] = {i: [] for i in range(len(windows))}
    for event in symptoms:
        if event.provenance in explained:
            continue
        for i, w in enumerate(windows):
            if w.contains(event):
                attributed[i].append(event)
                explained.add(event.provenance)
                break
    for i, w in enumerate(windows):
        _add_symptoms(w.finding, attributed[i])
    scoped = [w.finding for w in windows]
    for hit in hits:
        if hit in deep:
            continue
        if hit.rule.role != "cause" and any(w.contains(hit.triggers[0]) for w in windows):
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
    _relabel_connections(windows, findings, outcomes, symptom_roles)
    findings = [f for f in findings if f.connections or f.scope != "connection"]
    return scoped + findings


def _fold_trigger_connections(
    windows: list[_Window], deep: list[ScopeHit], collector: FindingCollector,
    outcomes: list[ConnectionOutcome],
) -> None:
    """An id-less line that made a connection of its own and is also a wider cause's trigger
    belongs to that cause: its outcome row takes the cause's class."""
    owners: dict[str, _Window] = {}
    for window, hit in zip(windows, deep, strict=True):
        for event in hit.triggers:
            owners.setdefault(event.provenance, window)
    if not owners:
        return
    by_print = {w.finding.fingerprint: w for w in windows}
    folded = collector.fold_unidentified({p: w.finding.fingerprint for p, w in owners.items()})
    for row in outcomes:
        owner = folded.get(row.connection)
        if owner is not None:
            window = by_print[owner]
            row.outcome = window.finding.cls
            row.findings = [owner]
            window.finding.connections.append(row.connection)


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


def _relabel_connections(
    windows: list[_Window],
    findings: list[Finding],
    outcomes: list[ConnectionOutcome],
    symptom_roles: set[str],
) -> None:
    """A connection that only timed out, inside a wider cause's window, failed because of it."""
    if not windows:
        return
    moved: dict[str, Finding] = {}
    for row in outcomes:
        if row.outcome not in symptom_roles or row.first_seen is None:
            continue
        for w in windows:
            scope_value = row.instance if w.scope == "instance" else None
            if w.key and scope_value and scope_value != w.key:
                continue
            if w.start <= row.first_seen <= w.end:
                row.outcome = w.finding.cls
                row.findings = sorted({*row.findings, w.finding.fingerprint})
                w.finding.connections.append(row.connection)
                moved[row.connection] = w.finding
                break
    for f in findings:
        if f.role != "cause" and moved:
            f.connections = [c for c in f.connections if c not in moved]
    for w in windows:
        w.finding.connections.sort()


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
