"""GitHub step-summary Markdown: the root cause first, then the evidence, within 1 MiB.

`$GITHUB_STEP_SUMMARY` drops a summary over 1 MiB whole, so the document is assembled from
sections of droppable items and trimmed to the cap: finding detail sections go first, then table
rows (healthiest first, as rows are ordered by importance), and a closing line says what was cut.
Every log-derived string is escaped (`md_text`) or held in a code span/fence it cannot close.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..baseline import BaselineDiff
from ..model import Finding
from ..report import CLASS_LABELS, ConnectionOutcome, Report, by_importance
from .escape import clip, display_ts, md_code, md_fenced, md_text
from .sections import (
    client_timeouts,
    contrast_table,
    patterns_table,
    surface_vs_real_table,
    unexplained_table,
    unknown_types_table,
)

CELL_CHARS = 300  # a table cell or title longer than this is clipped
LIST_IDS = 10  # connection ids named per finding before "+N more"
EVIDENCE_LINES = 3
NOTE_RESERVE = 600  # bytes kept free for the truncation note


@dataclass(slots=True)
class _Group:
    """Items of one kind (detail sections, rows of one table) that may be dropped from the end."""

    key: str  # its name in _DROP_ORDER
    label: str  # what the truncation note calls them, plural
    items: list[str] = field(default_factory=list)
    keep: int = -1  # -1: all

    def kept(self) -> list[str]:
        return self.items if self.keep < 0 else self.items[: self.keep]


# Drop order when over the cap: detail sections first, then rows, most expendable table first.
_DROP_ORDER = ("details", "outcome_rows", "unparsed_rows", "baseline_rows", "finding_rows")


def render_markdown(
    report: Report, *, max_bytes: int = 1_048_576, baseline: BaselineDiff | None = None
) -> str:
    """The step summary for `report`, at most `max_bytes` UTF-8 bytes."""
    segments = _segments(report, baseline)
    groups = {s.key: s for s in segments if isinstance(s, _Group)}
    dropped = _fit(segments, groups, max_bytes - NOTE_RESERVE)
    text = _join(segments)
    if dropped:
        text += "\n" + _note(dropped, groups, max_bytes) + "\n"
    return _hard_cap(text, max_bytes)


# ---------------------------------------------------------------- assembly and truncation


def _segments(report: Report, baseline: BaselineDiff | None) -> list[str | _Group]:
    labels = {"details": "finding detail sections", "outcome_rows": "outcome table rows",
              "unparsed_rows": "unparsed-location lines", "baseline_rows": "baseline rows",
              "finding_rows": "findings table rows"}
    g = {k: _Group(k, v) for k, v in labels.items()}
    g["finding_rows"].items = [_finding_row(i, f) for i, f in enumerate(report.findings, 1)]
    g["details"].items = [_detail(i, f) for i, f in enumerate(report.findings, 1)]
    g["outcome_rows"].items = [_outcome_row(o) for o in by_importance(report.outcomes)]
    g["unparsed_rows"].items = [
        f"- {md_code(u.provenance)} {md_text(clip(u.reason, CELL_CHARS))}\n"
        for u in report.stats.unparsed
    ]
    out: list[str | _Group] = [_header(report)]
    if baseline is not None:
        g["baseline_rows"].items = _baseline_rows(baseline)
        out += [_baseline_head(baseline), g["baseline_rows"], "\n"]
    out += [_findings_head(report), g["finding_rows"], "\n",
            *_extra_sections([surface_vs_real_table(report), unknown_types_table(report)])]
    if report.findings:
        out += ["## Findings in detail\n\n", g["details"]]
    out += [_outcomes_head(report), g["outcome_rows"], "\n",
            *_extra_sections([unexplained_table(report), contrast_table(report),
                              patterns_table(report)]),
            _parse_head(report),
            g["unparsed_rows"], "\n" if report.stats.unparsed else "", _provenance(report)]
    return out


def _size(seg: str | _Group) -> int:
    if isinstance(seg, str):
        return len(seg.encode("utf-8"))
    return sum(len(s.encode("utf-8")) for s in seg.kept())


def _fit(segments, groups: dict[str, _Group], budget: int) -> dict[str, int]:
    """Drop items (in _DROP_ORDER, from the end of each group) until the document fits."""
    total = sum(_size(s) for s in segments)
    dropped: dict[str, int] = {}
    for name in _DROP_ORDER:
        group = groups.get(name)
        if group is None or total <= budget:
            continue
        sizes = [len(item.encode("utf-8")) for item in group.items]
        keep = len(sizes)
        while total > budget and keep > 0:
            keep -= 1
            total -= sizes[keep]
        if keep < len(sizes):
            group.keep = keep
            dropped[name] = len(sizes) - keep
    return dropped


def _join(segments) -> str:
    return "".join(s if isinstance(s, str) else "".join(s.kept()) for s in segments)


def _note(dropped: dict[str, int], groups: dict[str, _Group], max_bytes: int) -> str:
    cut = ", ".join(
        f"{n:,} of {len(groups[k].items):,} {groups[k].label}" for k, n in dropped.items()
    )
    return (f"> **Truncated to fit {max_bytes:,} bytes:** left out {cut}. "
            "Run with `--format json` for the full report.")


def _hard_cap(text: str, max_bytes: int) -> str:
    """Last resort when even the fixed parts are too big: cut at a line and say where."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    note = f"\n> **Truncated:** the summary was cut after {{n:,}} of {len(data):,} bytes.\n"
    room = max(0, max_bytes - len(note.format(n=max_bytes).encode("utf-8")))
    head = data[:room].decode("utf-8", errors="ignore")
    head = head[: head.rfind("\n") + 1] if "\n" in head else head
    return (head + note.format(n=len(head.encode("utf-8"))))[:max_bytes]


# ---------------------------------------------------------------- sections


def _extra_sections(tables: list) -> list[str]:
    """Shared section tables (small: at most sections.MAX_ROWS rows each)."""
    out = []
    for table in tables:
        if table is None:
            continue
        text = f"## {table.title}\n\n{md_text(table.lead)}\n\n"
        if table.rows:
            text += "| " + " | ".join(table.head) + " |\n"
            text += "|" + "|".join("---:" if i in table.numeric else "---"
                                   for i in range(len(table.head))) + "|\n"
            text += "".join(
                "| " + " | ".join(md_text(c) if i in table.numeric
                                  else md_code(clip(c, CELL_CHARS), in_table=True)
                                  for i, c in enumerate(row)) + " |\n"
                for row in table.rows
            )
        out.append(text + "\n")
    return out


def _header(report: Report) -> str:
    counts = report.outcome_counts()
    parts = [f"{n} {CLASS_LABELS.get(k, k).lower()}" for k, n in counts.items()]
    line = f"{report.connection_total} connection(s): " + " · ".join(parts) if parts else ""
    return (f"# diagnose: agent run report\n\n**{md_text(clip(report.verdict(), 600))}**\n\n"
            + (f"{line}\n\n" if line else ""))


def _findings_head(report: Report) -> str:
    if not report.findings:
        return "## Findings\n\nNo findings.\n"
    return ("## Findings\n\n| # | Class | Role | Finding | Connections | First seen | Last seen "
            "| Fix |\n|---|---|---|---|---|---|---|---|\n")


def _finding_row(i: int, f: Finding) -> str:
    cells = [str(i), CLASS_LABELS.get(f.cls, md_text(f.cls)), md_text(f.role),
             md_text(clip(f.title, CELL_CHARS)), str(f.connection_count),
             display_ts(f.first_seen), display_ts(f.last_seen), md_text(clip(f.fix, CELL_CHARS))]
    return "| " + " | ".join(cells) + " |\n"


def _detail(i: int, f: Finding) -> str:
    ids = ", ".join(md_code(c) for c in f.connections[:LIST_IDS])
    more = f" (+{f.unlisted(LIST_IDS)} more)" if f.unlisted(LIST_IDS) else ""
    lines = [
        f"### {i}. {CLASS_LABELS.get(f.cls, md_text(f.cls))}: {md_text(clip(f.title, CELL_CHARS))}",
        "",
        f"**Cause:** {md_text(clip(f.cause, CELL_CHARS))} → **Critical failure:** "
        f"{md_text(clip(f.critical_failure, CELL_CHARS))} → **Symptom:** "
        f"{md_text(clip(f.symptom, CELL_CHARS))}",
        "",
        f"- Fingerprint: {md_code(clip(f.fingerprint, CELL_CHARS))}",
        f"- Severity: {md_text(f.severity)}, role: {md_text(f.role)}",
        f"- Connections ({f.connection_count}): {ids}{more}",
        f"- Seen: {display_ts(f.first_seen)} → {display_ts(f.last_seen)}",
        f"- Client timeouts explained by this cause: {client_timeouts(f)}",
        f"- Fix: {md_text(clip(f.fix, CELL_CHARS))}",
    ]
    evidence = [
        f"{e.provenance}  {display_ts(e.ts)}  {e.kind}  {clip(e.text, 400)}"
        for e in f.evidence[:EVIDENCE_LINES]
    ]
    if evidence:
        lines += ["", "Evidence:", "", md_fenced(evidence)]
    return "\n".join(lines) + "\n\n"



def _outcomes_head(report: Report) -> str:
    counts = report.outcome_counts()
    total = report.connection_total or 1
    summary = "".join(
        f"| {CLASS_LABELS.get(k, md_text(k))} | {n} | {100 * n / total:.0f}% |\n"
        for k, n in counts.items()
    )
    head = "## Connection outcomes\n\n"
    if not report.outcomes:
        return head + "No connections.\n"
    return (head + "| Outcome | Connections | Share |\n|---|---|---|\n" + summary + "\n"
            "| Connection | Outcome | First seen | Last seen | Events | Sent types | Lifecycle "
            "| Timeouts |\n|---|---|---|---|---|---|---|---|\n")


def _outcome_row(o: ConnectionOutcome) -> str:
    cells = [
        md_code(clip(o.connection, 120), in_table=True), CLASS_LABELS.get(o.outcome, o.outcome),
        display_ts(o.first_seen), display_ts(o.last_seen), str(o.events),
        ", ".join(md_code(clip(t, 80), in_table=True) for t in o.message_types[:5]),
        md_text(", ".join(o.lifecycle)) or "–", str(o.client_timeouts),
    ]
    return "| " + " | ".join(cells) + " |\n"


def _parse_head(report: Report) -> str:
    s = report.stats
    text = ("## Parse accounting\n\n| Records read | Events | Ignored | Duplicates | Unparsed |\n"
            "|---|---|---|---|---|\n"
            f"| {s.records_read} | {s.events} | {s.ignored} | {s.duplicates} "
            f"| {s.unparsed_total} |\n\n")
    if s.warnings:
        text += "".join(f"- Warning: {md_text(clip(w, CELL_CHARS))}\n" for w in s.warnings[:10])
        text += "\n"
    if s.unparsed:
        text += f"First unparsed locations ({len(s.unparsed)} of {s.unparsed_total}):\n\n"
    return text


def _provenance(report: Report) -> str:
    p = report.provenance
    inputs = ", ".join(md_code(clip(i, 200)) for i in p.inputs[:20])
    if len(p.inputs) > 20:
        inputs += f" (+{len(p.inputs) - 20} more)"
    lines = [
        "## Provenance\n",
        f"- Command: {md_code(clip(p.command, 1000))}",
        f"- Inputs: {inputs or '–'}",
        f"- Window: {display_ts(p.window_start)} → {display_ts(p.window_end)}",
        f"- Rule packs: {', '.join(md_code(r) for r in p.rule_packs) or '–'}",
    ]
    if p.filter:
        lines.append(f"- Cloud Logging filter: {md_code(clip(p.filter, 1000))}")
    lines.append(f"- Default time zone: {md_text(p.tz_default)}; elapsed {p.elapsed_seconds:.2f} s")
    return "\n".join(lines) + "\n"


def _baseline_head(diff: BaselineDiff) -> str:
    return (f"## Since the previous report ({md_text(clip(diff.previous_label, 200))})\n\n"
            f"{len(diff.new)} new, {len(diff.resolved)} resolved, {len(diff.persisting)} "
            f"persisting finding(s); connections {diff.connections_then} → "
            f"{diff.connections_now}.\n\n"
            "| Change | Finding | Connections then | Connections now |\n|---|---|---|---|\n")


def _baseline_rows(diff: BaselineDiff) -> list[str]:
    rows = [
        f"| {label} | {md_code(clip(d.fingerprint, 160), in_table=True)} "
        f"{md_text(clip(d.title, CELL_CHARS))} | {d.connections_then} | {d.connections_now} |\n"
        for label, items in (("New", diff.new), ("Resolved", diff.resolved),
                             ("Persisting", diff.persisting))
        for d in items
    ]
    rows += [
        f"| {r.scope} rate {r.change} | {md_code(clip(r.name, 160), in_table=True)} per 100 "
        f"connections | {r.then:g} | {r.now:g} |\n"
        for r in diff.rate_changes
    ]
    return rows
