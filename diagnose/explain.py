"""`diagnose explain`: one connection's timeline, event by event, with its verdict."""

from __future__ import annotations

import os

from rich.table import Table
from rich.text import Text

from .classify import ConnectionVerdict, render_template
from .console import make_console
from .errors import UsageError
from .exit_codes import ExitCode
from .model import Connection
from .pipeline import AnalyzeOptions, analyze
from .render.escape import clean
from .report import CLASS_LABELS
from .rulepack.model import RuleSet


def matches(conn: Connection, wanted: str) -> bool:
    """A timeline matches by its key or by any id it carries (user, connection, thread, run)."""
    if conn.key == wanted or conn.key.split("#")[0] == wanted:
        return True
    return any(wanted in values for name, values in conn.ids.items() if name != "instance")


def explain_connection(
    wanted: str, paths: list[str], ruleset: RuleSet, options: AnalyzeOptions
) -> ExitCode:
    options.keep_timeline = lambda conn: matches(conn, wanted)
    report = analyze(paths, ruleset, options)
    verdicts: list[ConnectionVerdict] = report.sections.get("timelines", [])  # type: ignore[assignment]
    if not verdicts:
        known = ", ".join(o.connection for o in report.outcomes[:10]) or "none"
        raise UsageError(f"no connection {wanted!r} in these logs (connections: {known})")
    console = make_console()
    for verdict in verdicts:
        console.print(_timeline(verdict))
    return ExitCode.FINDINGS if any(v.causes for v in verdicts) else ExitCode.OK


def _timeline(verdict: ConnectionVerdict) -> Table:
    conn = verdict.connection
    ids = "; ".join(f"{k}={', '.join(sorted(v))}" for k, v in sorted(conn.ids.items()))
    sources = sorted({e.provenance.rpartition(":")[0] for e in conn.events} - {""})
    label = CLASS_LABELS.get(verdict.outcome, verdict.outcome)
    table = Table(title=f"{clean(conn.key)} — {label}", title_justify="left",
                  caption=f"{clean(ids)}\nfrom: {clean(', '.join(sources))}", caption_justify="left")
    table.add_column("Time (UTC)", no_wrap=True)
    table.add_column("Event", no_wrap=True)
    table.add_column("Where", no_wrap=True)  # file name:line (full paths in the caption)
    table.add_column("Line", overflow="fold", ratio=1)
    flagged = {id(h.trigger) for h in verdict.causes + verdict.symptoms}
    flagged |= {id(e) for h in verdict.causes for e in h.related}
    for event in conn.events:
        style = "bold red" if id(event) in flagged else ""
        table.add_row(
            event.ts.strftime("%H:%M:%S.%f")[:-3],
            Text(event.kind, style=style),
            Text(clean(os.path.basename(event.provenance)), style="cyan"),
            Text(clean(event.text)),
        )
    for hit in verdict.causes:
        title = render_template(hit.rule.title, hit.values)
        table.add_row("", Text("→ cause", style="bold red"), "", Text(clean(title)))
    return table
