"""Report sections as plain tables for any renderer: surface vs real, unknown message types,
contrast, mined patterns.

One place decides which columns and rows every format shows (and what a number means: a client
timeout is a `client.timeout` event, nothing else); each renderer only escapes the cells.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..model import Finding
from ..report import Report

MAX_ROWS = 10


@dataclass(slots=True)
class SectionTable:
    title: str
    lead: str  # one sentence above the table (or the reason there is no table)
    head: list[str]
    rows: list[list[str]]  # untrusted text: escape every cell
    numeric: frozenset[int] = frozenset()


def client_timeouts(finding: Finding) -> int:
    """Client recv() timeouts a finding explains: its `client.timeout` symptom events only.

    The one definition every format uses (`client.missing_events` is a different symptom).
    `symptom_counts` (all of them, by label) wins over `symptoms` (capped for display).
    """
    if finding.symptom_counts:
        return sum(n for label, n in finding.symptom_counts.items()
                   if label.split(" ", 1)[0] == "client.timeout")
    return sum(1 for e in finding.symptoms if e.kind == "client.timeout")


def surface_vs_real_table(report: Report) -> SectionTable | None:
    """What the client saw beside the real cause, one row per finding."""
    if not report.findings:
        return None
    rows = []
    for f in report.causes:
        if f.symptom_counts:  # every explained symptom, by kind
            seen = ", ".join(f"{k} ×{n}" for k, n in f.symptom_counts.items())
        else:
            timeouts = client_timeouts(f)
            seen = f"{timeouts} recv() timeout(s)" if timeouts else "no client log"
        rows.append([seen, str(f.connection_count), f.title])
    rows.extend(["client timeout", str(f.connection_count), "unknown: no server evidence (logs missing?)"]
                for f in report.symptoms)
    real = sum(n for k, n in report.outcome_counts().items() if report.is_cause_class(k))
    lead = (f"{len(report.causes)} root-cause finding(s) and {len(report.symptoms)} unexplained "
            f"symptom(s); {real} connection(s) with a real cause.")
    return SectionTable("Surface vs real", lead, ["What the client saw", "Connections", "Real cause"],
                        rows, frozenset({1}))


def unknown_type_counts(report: Report) -> list[tuple[str, int]]:
    """Message types the server did not know, by connections that sent them, most common first.

    A type is unknown when a routing finding is keyed on it (its key is its `message_type`) or it
    is missing from the known types. Other routing findings do not count: routing-payload-rejected
    keys on the missing payload field (`user_request`), which is not a message type.
    """
    known = set(report.known_types)
    about_type = [f for f in report.findings
                  if f.cls == "routing_failure" and f.key and f.key == f.attrs.get("message_type")]
    unknown = {f.key for f in about_type}
    counts: Counter[str] = Counter()
    for o in report.outcomes:
        for t in set(o.message_types):
            if t in unknown or (known and t not in known):
                counts[t] += 1
    for f in about_type:  # the rows may be a sample (a capped table): the finding counts all
        counts[f.key] = max(counts.get(f.key, 0), f.connection_count)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def unknown_types_table(report: Report) -> SectionTable:
    top = unknown_type_counts(report)[:MAX_ROWS]
    title = "Top unknown message types"
    if not top:
        return SectionTable(title, "None seen.", [], [])
    return SectionTable(title, "Types the router did not know, by connections that sent them.",
                        ["Message type", "Connections"], [[t, str(n)] for t, n in top],
                        frozenset({1}))


def unexplained_table(report: Report) -> SectionTable | None:
    """ERROR/CRITICAL templates no rule explains (the terminal's table, for Markdown and HTML)."""
    errors = report.sections.get("unexplained_errors")
    top = errors.top(MAX_ROWS) if errors is not None else []
    if not top:
        return None
    rows = []
    for t in top:
        seen = (f"{t.first_seen:%H:%M:%S}–{t.last_seen:%H:%M:%S}" if t.first_seen and t.last_seen
                else "no time stamp")
        example = t.template if t.example == t.template else f"{t.template} (e.g. {t.example})"
        rows.append([str(t.count), seen, example, t.provenance])
    return SectionTable("Unexplained errors",
                        f"{errors.total} ERROR/CRITICAL record(s) no rule explains.",
                        ["Count", "Seen (UTC)", "Template (first example)", "First at"], rows,
                        frozenset({0}))


def contrast_table(report: Report) -> SectionTable | None:
    section = report.sections.get("contrast")
    if section is None:
        return None
    doc = section.to_dict() if hasattr(section, "to_dict") else section
    title = "What the failing connections share"
    if not doc["rows"]:
        return SectionTable(title, f"Nothing to contrast: {doc['reason']}.", [], [])
    lead = f"{doc['failing']} failing vs {doc['healthy']} healthy connections."
    rows = [
        [r["attribute"], r["value"],
         f"{r['failing_count']}/{doc['failing']} ({r['failing_share']:.0%})",
         f"{r['healthy_count']}/{doc['healthy']} ({r['healthy_share']:.0%})"]
        for r in doc["rows"][:MAX_ROWS]
    ]
    return SectionTable(title, lead, ["Attribute", "Value", "Failing", "Healthy"], rows,
                        frozenset({2, 3}))


def patterns_table(report: Report) -> SectionTable | None:
    section = report.sections.get("patterns")
    if section is None:
        return None
    doc = section.to_dict() if hasattr(section, "to_dict") else section
    title = "Patterns no rule explains"
    lead = (f"{doc['lines']} lines no rule matched, in {doc['templates']} templates "
            "(WARNING and above first).")
    rows = [[t["max_severity"], str(t["count"]), t["template"], t["example_provenance"]]
            for t in doc["top"][:MAX_ROWS]]
    return SectionTable(title, lead, ["Severity", "Count", "Template", "Example at"], rows,
                        frozenset({1}))
