"""The scheduled report as one self-contained HTML page: opens offline, runs no code.

Inline CSS and inline SVG only; a Content-Security-Policy meta tag allows nothing but that one
stylesheet (by hash), so even a log line that slipped through escaping could not load or run
anything. Every log-derived string goes through `html_text`.
"""

from __future__ import annotations

import base64
import hashlib

from .. import charts
from ..baseline import BaselineDiff
from ..model import Finding
from ..report import CLASS_LABELS, Report, by_importance
from .escape import clip, display_ts, html_text
from .sections import (
    client_timeouts,
    contrast_table,
    patterns_table,
    surface_vs_real_table,
    unexplained_table,
    unknown_types_table,
)

MAX_OUTCOME_ROWS = 2000  # the JSON report has them all
EVIDENCE_LINES = 5

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;
padding:16px 24px;color:#1c1c1c;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:16px 0 6px}
.verdict{font-size:17px;font-weight:600;padding:10px 14px;border-radius:6px;margin:10px 0}
.verdict.bad{background:#fdecea;color:#8a1c12}.verdict.ok{background:#eaf7ee;color:#1d6b34}
.verdict.warn{background:#fff6e0;color:#7a5200}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;border:1px solid #e1e4e8;padding:8px;overflow-x:auto;white-space:pre-wrap;
word-break:normal;overflow-wrap:normal}
.wide{max-width:100%;overflow-x:auto}td.id{max-width:22em;overflow-wrap:anywhere}
td.clip{max-width:14em;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
dl.prov{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0}
dl.prov dt{color:#555}dl.prov dd{margin:0;overflow-wrap:anywhere}
.finding{border:1px solid #ddd;border-left:5px solid #c0392b;padding:4px 14px 8px;margin:12px 0;
border-radius:4px}.finding.symptom{border-left-color:#7f8c8d}
.badge{display:inline-block;font-size:11px;padding:1px 6px;border-radius:9px;margin-left:6px;
background:#eee;color:#333;vertical-align:middle}.badge.new{background:#c0392b;color:#fff}
ol.chain{margin:4px 0 8px;padding-left:20px}.muted{color:#666}
svg.chart{max-width:100%;height:auto;font-family:system-ui,sans-serif}
"""
_CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode("ascii")
CSP = (f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; "
       "base-uri 'none'; form-action 'none'")


def render_html(
    report: Report, *, baseline: BaselineDiff | None = None, history: list[dict] | None = None
) -> str:
    """The whole page. `history`: previous JSON reports (oldest first) for the per-run trend."""
    body = [
        _header(report),
        _section("Outcomes over time", charts.outcomes_over_time_svg(
            charts.outcome_cells(report),
            (report.provenance.window_start, report.provenance.window_end))),
    ]
    if history:
        trend = charts.history_svg(_runs(report, history))
        body.append(_section("Trend over previous runs", trend))
    if baseline is not None:
        body.append(_baseline(baseline))
    body += [_findings(report, baseline), *_extra_sections(report, [surface_vs_real_table(report),
             unknown_types_table(report)]), _outcomes(report),
             *_extra_sections(report, [unexplained_table(report), contrast_table(report),
                                       patterns_table(report)]), _parse(report)]
    return _page(report.verdict(), "\n".join(body))


def _extra_sections(report: Report, tables: list) -> list[str]:
    """Shared section tables (render/sections.py), when the report has them."""
    out = []
    for table in tables:
        if table is None:
            continue
        inner = f"<p>{html_text(table.lead)}</p>"
        if table.rows:
            rows = [[html_text(clip(c, 300)) for c in row] for row in table.rows]
            inner += "\n" + _table(table.head, rows, set(table.numeric))
        out.append(_section(table.title, inner, _ANCHORS.get(table.title, table.title.split()[0].lower())))
    return out


_ANCHORS = {"Top unknown message types": "unknown-types", "Surface vs real": "surface-vs-real"}


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>diagnose: {html_text(clip(title, 200))}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _section(title: str, inner: str, anchor: str = "") -> str:
    ident = f' id="{anchor}"' if anchor else ""
    return f"<section{ident}>\n<h2>{html_text(title)}</h2>\n{inner}\n</section>"


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset(),
           classes: dict[int, str] | None = None) -> str:
    """`head` is trusted text; every cell must already be escaped HTML."""
    css = dict.fromkeys(numeric, "n") | (classes or {})
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "\n".join(
        "<tr>" + "".join(
            f'<td class="{css[i]}">{c}</td>' if i in css else f"<td>{c}</td>"
            for i, c in enumerate(row)
        ) + "</tr>"
        for row in rows
    )
    return f"<table>\n<thead><tr>{th}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _wide(table: str) -> str:
    """A table that may be wider than the page scrolls inside its own box, not the page."""
    return f'<div class="wide">{table}</div>'


def _clipped(text: str, limit: int) -> str:
    """Long ids (Cloud Run instance ids run to ~100 characters) shortened; the full id on hover."""
    if len(text) <= limit:
        return html_text(text)
    return f'<span title="{html_text(clip(text, 400))}">{html_text(clip(text, limit))}</span>'


INSTANCE_CHARS = 20


def _header(report: Report) -> str:
    p = report.provenance
    tone = "bad" if report.causes else ("warn" if report.symptoms else "ok")
    inputs = ", ".join(f"<code>{html_text(clip(i, 300))}</code>" for i in p.inputs[:50])
    if len(p.inputs) > 50:
        inputs += f" (+{len(p.inputs) - 50} more)"
    prov = [
        ("Command", f"<code>{html_text(clip(p.command, 2000))}</code>"),
        ("Inputs", inputs or "–"),
        ("Window", f"{display_ts(p.window_start)} → {display_ts(p.window_end)}"),
        ("Rule packs", ", ".join(f"<code>{html_text(r)}</code>" for r in p.rule_packs) or "–"),
        ("Elapsed", f"{p.elapsed_seconds:.2f} s"),
        ("Default time zone", html_text(p.tz_default)),
    ]
    if p.filter:
        prov.append(("Cloud Logging filter", f"<code>{html_text(clip(p.filter, 2000))}</code>"))
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in prov)
    return (f"<header>\n<h1>diagnose: agent run report</h1>\n"
            f'<p class="verdict {tone}">{html_text(report.verdict())}</p>\n'
            f'<dl class="prov">{dl}</dl>\n</header>')


def _runs(report: Report, history: list[dict]) -> list[tuple[str, dict[str, int]]]:
    runs = []
    for i, doc in enumerate(history):
        prov = doc.get("provenance") or {}
        label = str(prov.get("window_end") or f"run {i + 1}")[:16]
        counts = {str(k): int(v) for k, v in (doc.get("outcome_counts") or {}).items()}
        runs.append((label, counts))
    runs.append(("this run", report.outcome_counts()))
    return runs


def _baseline(diff: BaselineDiff) -> str:
    rows = [
        [label, f"<code>{html_text(clip(d.fingerprint, 200))}</code>",
         html_text(CLASS_LABELS.get(d.cls, d.cls)), html_text(clip(d.title, 300)),
         str(d.connections_then), str(d.connections_now)]
        for label, items in (('<span class="badge new">new</span>', diff.new),
                             ('<span class="badge">resolved</span>', diff.resolved),
                             ('<span class="badge">persisting</span>', diff.persisting))
        for d in items
    ]
    summary = (f"<p>Compared with {html_text(diff.previous_label)}: {len(diff.new)} new since "
               f"last run, {len(diff.resolved)} resolved since last run, {len(diff.persisting)} "
               f"persisting; connections {diff.connections_then} → {diff.connections_now}.</p>")
    inner = summary + (_table(["Change", "Fingerprint", "Class", "Finding", "Connections then",
                               "Connections now"], rows, {4, 5}) if rows else "")
    if diff.rate_changes:
        rate_rows = [[html_text(r.scope), f"<code>{html_text(clip(r.name, 200))}</code>",
                      r.change, f"{r.then:g}", f"{r.now:g}"] for r in diff.rate_changes]
        inner += "\n<h3>Rates that changed sharply (per 100 connections)</h3>\n" + _table(
            ["Scope", "Name", "Change", "Then", "Now"], rate_rows, {3, 4})
    return _section("Since the previous report", inner, "baseline")


def _findings(report: Report, baseline: BaselineDiff | None) -> str:
    if not report.findings:
        return _section("Findings", "<p>No findings.</p>", "findings")
    new = baseline.new_fingerprints if baseline else set()
    return _section("Findings", "\n".join(
        _finding(i, f, f.fingerprint in new) for i, f in enumerate(report.findings, 1)
    ), "findings")


def _finding(i: int, f: Finding, is_new: bool) -> str:
    badge = '<span class="badge new">new since last run</span>' if is_new else ""
    role = "cause" if f.role == "cause" else "symptom"
    ids = ", ".join(f"<code>{html_text(clip(c, 200))}</code>" for c in f.connections[:20])
    if f.unlisted(20):
        ids += f" (+{f.unlisted(20)} more)"
    evidence = "\n".join(
        html_text(f"{e.provenance}  {display_ts(e.ts)}  {e.kind}  {clip(e.text, 400)}")
        for e in f.evidence[:EVIDENCE_LINES]
    )
    facts = [
        ("Fingerprint", f"<code>{html_text(f.fingerprint)}</code>"),
        ("Class", html_text(CLASS_LABELS.get(f.cls, f.cls))),
        ("Severity / role", f"{html_text(f.severity)} / {html_text(f.role)}"),
        ("Connections", f"{f.connection_count}: {ids}"),
        ("Seen", f"{display_ts(f.first_seen)} → {display_ts(f.last_seen)}"),
        ("Client timeouts explained", str(client_timeouts(f))),
        ("Fix", html_text(f.fix)),
    ]
    return (
        f'<article class="finding {role}">\n<h3>{i}. {html_text(f.title)}{badge}</h3>\n'
        f'<ol class="chain"><li><b>Cause:</b> {html_text(f.cause)}</li>'
        f"<li><b>Critical failure:</b> {html_text(f.critical_failure)}</li>"
        f"<li><b>Symptom:</b> {html_text(f.symptom)}</li></ol>\n"
        + _table(["Fact", "Value"], [[k, v] for k, v in facts])
        + (f"\n<pre>{evidence}</pre>" if evidence else "")
        + "\n</article>"
    )


def _outcomes(report: Report) -> str:
    counts = report.outcome_counts()
    total = report.connection_total or 1
    summary = _table(["Outcome", "Connections", "Share"], [
        [html_text(CLASS_LABELS.get(k, k)), str(n), f"{100 * n / total:.0f}%"]
        for k, n in counts.items()
    ], {1, 2}) if counts else "<p>No connections.</p>"
    shown = by_importance(report.outcomes)[:MAX_OUTCOME_ROWS]
    rows = [[
        f"<code>{html_text(clip(o.connection, 120))}</code>",
        html_text(CLASS_LABELS.get(o.outcome, o.outcome)), display_ts(o.first_seen),
        display_ts(o.last_seen), str(o.events),
        html_text(clip(", ".join(o.message_types), 300)) or "–",
        html_text(", ".join(o.lifecycle)) or "–", str(o.client_timeouts),
        _clipped(o.instance or "–", INSTANCE_CHARS),
    ] for o in shown]
    detail = _wide(_table(["Connection", "Outcome", "First seen", "Last seen", "Events", "Sent types",
                           "Lifecycle", "Client timeouts", "Instance"], rows, {4, 7},
                          classes={0: "id", 8: "clip"})) if rows else ""
    if report.connection_total > len(shown):
        listed = len(report.outcomes)
        where = ("the JSON report has them all" if listed == report.connection_total else
                 f"the JSON report lists the {listed:,} most important")
        detail += (f'\n<p class="muted">Showing {len(shown)} of {report.connection_total:,} '
                   f"connections (most important first); {where}.</p>")
    real = sum(n for k, n in counts.items() if report.is_cause_class(k))
    lead = f"<p>{real} of {report.connection_total} connection(s) have a real root cause.</p>"
    return _section("Connection outcomes", f"{lead}\n{summary}\n{detail}", "outcomes")


def _parse(report: Report) -> str:
    s = report.stats
    table = _table(["Records read", "Events", "Ignored", "Duplicates", "Unparsed"], [[
        str(s.records_read), str(s.events), str(s.ignored), str(s.duplicates),
        str(s.unparsed_total)]], {0, 1, 2, 3, 4})
    extra = ""
    if s.unparsed:
        items = "".join(
            f"<li><code>{html_text(u.provenance)}</code> {html_text(clip(u.reason, 300))}</li>"
            for u in s.unparsed[:20]
        )
        extra += (f"<p>First unparsed locations ({min(20, len(s.unparsed))} of "
                  f"{s.unparsed_total}):</p><ul>{items}</ul>")
    if s.warnings:
        extra += "<ul>" + "".join(f"<li>Warning: {html_text(clip(w, 300))}</li>"
                                  for w in s.warnings[:20]) + "</ul>"
    return _section("Parse accounting", table + extra, "parse")
