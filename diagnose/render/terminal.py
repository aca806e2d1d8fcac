"""The on-call view: verdict first, then each root cause as a five-whys chain with its evidence.

Every log-derived string goes into rich `Text` objects (never into markup) after `escape.clean`
strips ANSI/OSC and control characters, so a log line cannot style, link or rewrite the screen.
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..model import Finding
from ..report import Report, by_importance
from .escape import clean, display_ts
from .sections import SectionTable, surface_vs_real_table, unexplained_table, unknown_types_table

MAX_OUTCOME_ROWS = 25
MAX_UNPARSED_SHOWN = 10
SHORT_LABELS = {
    "routing_failure": "routing", "connection_failure": "conn/auth",
    "execution_timeout": "exec timeout", "events_not_delivered": "not delivered",
    "lifecycle_incomplete": "incomplete", "client_timeout_unexplained": "timeout (?)",
    "healthy": "healthy", "in_progress": "in progress",
}
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def render_terminal(report: Report, console: Console, *, elapsed: float | None = None) -> None:
    console.print(_verdict(report))
    for number, finding in enumerate(report.findings, 1):
        console.print(_finding_panel(number, finding, report))
    surface = surface_vs_real_table(report)
    if surface is not None:
        console.print(_section_table(surface))
    if report.findings or report.outcomes:
        console.print(_section_table(unknown_types_table(report)))
    if report.outcomes:
        console.print(_outcomes(report))
    errors = unexplained_table(report)
    if errors is not None:
        console.print(_section_table(errors))
    for name in ("contrast", "patterns", "baseline"):
        section = report.sections.get(name)
        if section is not None and hasattr(section, "__rich__"):
            console.print(section)
    console.print(_accounting(report))
    console.print(_provenance(report, elapsed))


def _verdict(report: Report) -> Panel:
    style = "bold red" if report.causes else ("yellow" if report.symptoms else "bold green")
    return Panel(Text(clean(report.verdict()), style=style), expand=True)


def _finding_panel(number: int, f: Finding, report: Report) -> Panel:
    head = Text()
    head.append(clean(report.label(f.cls)), style="bold")
    head.append(f"  [{f.severity}]", style=SEVERITY_STYLE.get(f.severity, ""))
    head.append(f"  {f.role}", style="dim")
    body = Table.grid(padding=(0, 1))
    body.add_column(style="bold", no_wrap=True)
    body.add_column()
    if f.scope != "connection":
        body.add_row("Scope", Text(clean(f"{f.scope} {f.scope_key or '(unnamed)'}")))
    if f.breakdown:
        lines = Text()
        for template, n, _ in f.breakdown[:5]:
            lines.append(f"×{n} ", style="bold")
            lines.append(clean(template) + "\n")
        more = len(f.breakdown) - 5
        if more > 0:
            lines.append(f"… {more} more (--format json)\n", style="dim")
        body.add_row("Lines", lines)
    if f.connections or f.scope == "connection":
        body.add_row("Connections", Text(clean(_list(f.connections, f.connection_count))))
    body.add_row("Seen", Text(f"{_ts(f.first_seen)} → {_ts(f.last_seen)}"))
    body.add_row("Cause", Text(clean(f.cause)))
    body.add_row("Broke", Text(clean(f.critical_failure)))
    body.add_row("Symptom", Text(clean(f.symptom)))
    body.add_row("Fix", Text(clean(f.fix), style="green"))
    evidence = Text()
    for event in f.evidence:
        evidence.append(f"{clean(event.provenance)}  ", style="cyan")
        evidence.append(f"{_ts(event.ts) if event.timed else 'no time stamp'}  ", style="dim")
        evidence.append(clean(event.text) + "\n")
    body.add_row("Evidence", evidence)
    title = Text(f"#{number} ")
    title.append(clean(f.title))
    return Panel(Group(head, body), title=title, title_align="left",
                 border_style=SEVERITY_STYLE.get(f.severity, "white"))


def _section_table(section: SectionTable) -> Table | Text:
    """A shared section (render/sections.py) as a rich table; every cell is cleaned log text."""
    if not section.rows:
        return Text(f"{section.title}: {clean(section.lead)}")
    table = Table(title=section.title, title_justify="left", expand=False)
    for i, head in enumerate(section.head):
        table.add_column(head, justify="right" if i in section.numeric else "left")
    for row in section.rows:
        table.add_row(*(Text(clean(cell)) for cell in row))
    return table


def _outcomes(report: Report) -> Group:
    counts = report.outcome_counts()
    summary = Text(f"Connections ({report.connection_total}): ", style="bold")
    summary.append(", ".join(f"{clean(report.label(k))} {v}" for k, v in counts.items()))
    table = Table()
    table.add_column("Connection", no_wrap=True, overflow="ellipsis", max_width=26)
    table.add_column("Outcome", no_wrap=True)
    table.add_column("Start", no_wrap=True)
    table.add_column("Sent", overflow="fold", min_width=10)
    table.add_column("Lifecycle", overflow="fold", min_width=10)
    table.add_column("Client timeouts", justify="right")
    rows = by_importance(report.outcomes)
    for row in rows[:MAX_OUTCOME_ROWS]:
        table.add_row(
            Text(clean(row.connection)),
            Text(clean(SHORT_LABELS.get(row.outcome, report.label(row.outcome))),
                 style="green" if row.outcome == "healthy" else "red"),
            row.first_seen.strftime("%H:%M:%S") if row.first_seen else "-",
            Text(clean(", ".join(row.message_types)) or "-"),
            Text(_lifecycle(row.lifecycle)),
            str(row.client_timeouts),
        )
    if report.connection_total > min(len(rows), MAX_OUTCOME_ROWS):
        more = report.connection_total - min(len(rows), MAX_OUTCOME_ROWS)
        table.caption = (f"… {more} more (--format json lists all)" if not report.outcomes_truncated
                         else f"… {more} more (--format json lists the {len(rows):,} most "
                         "important; the counts above cover all)")
    return Group(summary, table)


def _accounting(report: Report) -> Text:
    s = report.stats
    text = Text("Parse accounting: ", style="bold")
    text.append(
        f"{s.records_read} records read = {s.events} with events + {s.ignored} ignored"
        f" + {s.unparsed_total} unparsed + {s.duplicates} duplicates"
    )
    if report.uncorrelated_events:
        kinds = report.sections.get("uncorrelated_kinds") or {}
        detail = ", ".join(f"{k} {n}" for k, n in kinds.items())  # type: ignore[union-attr]
        text.append(f"; {report.uncorrelated_events} events matched no connection"
                    + (f" ({detail})" if detail else ""), style="dim")
    for u in s.unparsed[:MAX_UNPARSED_SHOWN]:
        text.append(f"\n  unparsed {clean(u.provenance)}: {clean(u.reason)}", style="yellow")
    if s.unparsed_total > MAX_UNPARSED_SHOWN:
        text.append(f"\n  … {s.unparsed_total - MAX_UNPARSED_SHOWN} more unparsed", style="yellow")
    for w in s.warnings:
        text.append(f"\n  warning: {clean(w)}", style="yellow")
    return text


def _provenance(report: Report, elapsed: float | None) -> Text:
    p = report.provenance
    text = Text(style="dim")
    text.append(f"command: {clean(p.command)}\n")
    text.append(f"inputs: {clean(_list(p.inputs, len(p.inputs), 6))}\n")
    text.append(f"window: {_ts(p.window_start)} → {_ts(p.window_end)} (naive times read as "
                f"{clean(p.tz_default)})\n")
    text.append(f"rules: {clean(', '.join(p.rule_packs))}")
    if p.filter:
        text.append(f"\nfilter: {clean(p.filter)}")
    if elapsed is not None:
        text.append(f"\nelapsed: {elapsed:.2f}s")
    return text


LIFECYCLE = ("agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed")


def _lifecycle(seen: list[str]) -> str:
    """Compact: 'all 5', 'none', or the events seen (lifecycle names are not log text)."""
    if not seen:
        return "none"
    if all(name in seen for name in LIFECYCLE):
        return "all 5"
    return " ".join(name.replace("agent_", "").replace("tool_", "tool:") for name in seen)


def _list(items: list[str], total: int, limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    more = total - min(limit, len(items))
    return shown + (f" (+{more} more)" if more > 0 else "")


def _ts(value: datetime | None) -> str:
    return display_ts(value) if value else "-"
