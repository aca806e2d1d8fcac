"""The versioned JSON report: stable key order, no wall-clock values, so equal inputs give equal bytes.

Elapsed time and the command line are left out on purpose (they would make two runs over the
same logs differ, e.g. with the files named in another order); the terminal, Markdown and HTML
reports show them. The inputs are listed sorted.
"""

from __future__ import annotations

import json
from datetime import datetime

from ..model import UNTIMED_BASE, Event, Finding
from ..report import SCHEMA_VERSION, ConnectionOutcome, Report
from ..timeutil import isoformat_z
from .escape import show_invisible


def report_to_dict(report: Report) -> dict:
    """The JSON document as plain data (also what baselines and golden tests compare)."""
    stats = report.stats
    prov = report.provenance
    doc = {
        "schema_version": SCHEMA_VERSION,
        "verdict": report.verdict(),
        "exit_code": int(report.exit_code()),
        "findings": [_finding(f) for f in report.findings],
        "outcome_counts": report.outcome_counts(),
        "connections_total": report.connection_total,
        "outcomes_truncated": report.outcomes_truncated,  # `outcomes` lists the most important
        "outcomes": [_outcome(o) for o in report.outcomes],
        "event_counts": report.sections.get("event_counts", {}),
        "uncorrelated_events": report.uncorrelated_events,
        "uncorrelated_kinds": report.sections.get("uncorrelated_kinds", {}),
        "stats": {
            "records_read": stats.records_read,
            "events": stats.events,
            "ignored": stats.ignored,
            "duplicates": stats.duplicates,
            "unparsed_total": stats.unparsed_total,
            "unparsed": [
                {"provenance": u.provenance, "reason": u.reason} for u in stats.unparsed
            ],
            "warnings": list(stats.warnings),
        },
        "provenance": {
            "inputs": list(prov.inputs),
            "window_start": _ts(prov.window_start),
            "window_end": _ts(prov.window_end),
            "rule_packs": list(prov.rule_packs),
            "filter": prov.filter,
            "tz_default": prov.tz_default,
        },
    }
    errors = report.sections.get("unexplained_errors")
    if errors is not None:
        doc["unexplained_errors"] = unexplained_to_dict(errors)
    for name in ("contrast", "patterns", "baseline"):
        section = report.sections.get(name)
        if section is not None:
            doc[name] = section.to_dict() if hasattr(section, "to_dict") else section
    return doc


def render_json(report: Report) -> str:
    # invisible characters and lone surrogates become \\u escapes: same data, visible, encodable
    return show_invisible(json.dumps(report_to_dict(report), indent=2, ensure_ascii=False)) + "\n"


def _finding(f: Finding) -> dict:
    return {
        "fingerprint": f.fingerprint,
        "rule_id": f.rule_id,
        "class": f.cls,
        "role": f.role,
        "severity": f.severity,
        "title": f.title,
        "connections": list(f.connections),
        "connection_count": f.connection_count,  # `connections` names at most 1,000 of them
        "first_seen": _ts(f.first_seen),
        "last_seen": _ts(f.last_seen),
        "cause": f.cause,
        "critical_failure": f.critical_failure,
        "symptom": f.symptom,
        "fix": f.fix,
        "key": f.key,
        "attrs": dict(sorted(f.attrs.items())),
        "evidence": [_event(e) for e in f.evidence],
        "symptoms": [_event(e) for e in f.symptoms],
        "scope": f.scope,
        "scope_key": f.scope_key,
        "count": f.count,
        "lines": f.lines,
        "breakdown": [{"template": t, "count": n, "example": x} for t, n, x in f.breakdown],
        "symptom_counts": dict(f.symptom_counts),
    }


def unexplained_to_dict(errors) -> dict:
    """The ERROR/CRITICAL templates no rule explains: top ten, with counts and a first example."""
    return {
        "total": errors.total,
        "templates": len(errors.templates) + (1 if errors.other else 0),
        "top": [
            {"template": t.template, "count": t.count, "severity": t.severity,
             "first_seen": _ts(t.first_seen), "last_seen": _ts(t.last_seen),
             "example": t.example, "provenance": t.provenance}
            for t in errors.top(10)
        ],
    }


def _outcome(o: ConnectionOutcome) -> dict:
    return {
        "connection": o.connection,
        "outcome": o.outcome,
        "first_seen": _ts(o.first_seen),
        "last_seen": _ts(o.last_seen),
        "events": o.events,
        "message_types": list(o.message_types),
        "lifecycle": list(o.lifecycle),
        "client_timeouts": o.client_timeouts,
        "instance": o.instance,
        "user": o.user,
        "findings": list(o.findings),
    }


def _event(e: Event) -> dict:
    ts = _ts(e.ts) if e.timed else None  # untimed: placed by position, shown as no time stamp
    return {"provenance": e.provenance, "ts": ts, "kind": e.kind, "text": e.text}


def _ts(value: datetime | None) -> str | None:
    """ISO UTC; null when unknown or when the lines had no time stamp."""
    return isoformat_z(value) if value and value != UNTIMED_BASE else None
