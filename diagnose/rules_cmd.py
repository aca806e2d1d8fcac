"""`diagnose rules list` and `diagnose rules test`: what is loaded, and does it hold up."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from .console import make_console
from .exit_codes import ExitCode
from .rulepack import load_rule_packs, selftest
from .rulepack.model import RuleSet


def print_rules(ruleset: RuleSet) -> None:
    console = make_console()
    for pack in ruleset.packs:
        console.print(Text(f"{pack.id} {pack.version}  {pack.path}", style="bold"))
    table = Table(title="Event rules", title_justify="left")
    for column in ("Id", "Emits", "Pack", "Title"):
        table.add_column(column)
    for rule in ruleset.event_rules:
        table.add_row(rule.id, rule.emits, rule.pack, rule.title)
    console.print(table)
    table = Table(title="Finding rules", title_justify="left")
    for column in ("Id", "Class", "Role", "Severity", "When"):
        table.add_column(column)
    for rule in ruleset.finding_rules:
        when = f"{rule.when.type} {', '.join(rule.when.trigger)}"
        table.add_row(rule.id, rule.cls, rule.role, rule.severity, when)
    console.print(table)


def test_rules(directory: Path | None) -> ExitCode:
    """Run the same self-test the pytest suite runs; exit 4 when any check fails."""
    from .pipeline import analyze

    extra = [directory] if directory is not None else []
    ruleset = load_rule_packs(extra, include_builtin=directory is None)
    result = selftest(ruleset, analyze=analyze)
    print(result.render())
    return ExitCode.OK if result.ok else ExitCode.BAD_RULES
