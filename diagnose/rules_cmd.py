"""`diagnose rules list` and `diagnose rules test`: what is loaded, and does it hold up."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from .console import make_console
from .exit_codes import ExitCode
from .rulepack import builtin_pack_dirs, load_rule_packs, selftest
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


def test_rules(directory: Path | None, *, with_builtin: bool = True) -> ExitCode:
    """Run the same self-test the pytest suite runs; exit 4 when any check fails.

    A user pack is loaded beside the built-in packs, as `analyze --rules` runs it (its finding
    rules may build on the core events), and only its own checks are reported; with
    `with_builtin=False` it is tested alone.
    """
    from .pipeline import analyze

    builtin = {d.resolve() for d in builtin_pack_dirs()}
    own = directory is not None and directory.resolve() not in builtin
    ruleset = load_rule_packs([directory] if own else [], include_builtin=with_builtin or not own)
    result = selftest(ruleset, analyze=analyze)
    if own:
        root = directory.resolve()
        result.checks = [c for c in result.checks if c.path and root in c.path.resolve().parents]
    print(result.render())
    return ExitCode.OK if result.ok else ExitCode.BAD_RULES
