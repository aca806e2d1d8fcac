"""`diagnose rules list` and `diagnose rules test`: what is loaded, and does it hold up."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from .console import make_console
from .exit_codes import ExitCode
from .render.escape import clean
from .rulepack import builtin_pack_dirs, load_rule_packs, selftest
from .rulepack.model import RuleSet


def print_rules(ruleset: RuleSet) -> None:
    console = make_console()
    for pack in ruleset.packs:
        console.print(Text(clean(f"{pack.id} {pack.version}  {pack.path}"), style="bold"))
    table = Table(title="Event rules", title_justify="left")
    for column in ("Id", "Emits", "Pack", "Title"):
        table.add_column(column)
    for rule in ruleset.event_rules:
        table.add_row(*(clean(v) for v in (rule.id, rule.emits, rule.pack, rule.title)))
    console.print(table)
    table = Table(title="Finding rules", title_justify="left")
    for column in ("Id", "Class", "Role", "Severity", "When"):
        table.add_column(column)
    for rule in ruleset.finding_rules:
        when = f"{rule.when.type} {', '.join(rule.when.trigger)}"
        table.add_row(*(clean(v) for v in (rule.id, rule.cls, rule.role, rule.severity, when)))
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
    if own and with_builtin:
        # a copy of a shipped pack (`rules test rules/core` beside an installed diagnose) is tested
        # in place of that pack, not beside it as a duplicate
        shadowed = _pack_ids(directory)
        others = [d for d in builtin_pack_dirs() if not _pack_ids(d) & shadowed]
        ruleset = load_rule_packs([*others, directory], include_builtin=False)
    else:
        ruleset = load_rule_packs([directory] if own else [], include_builtin=with_builtin or not own)
    result = selftest(ruleset, analyze=analyze)
    if own:
        root = directory.resolve()
        result.checks = [c for c in result.checks if c.path and root in c.path.resolve().parents]
    print(result.render())
    return ExitCode.OK if result.ok else ExitCode.BAD_RULES


def _pack_ids(directory: Path) -> set[str]:
    """Ids of the pack(s) in `directory` (a pack, or a folder of packs); unreadable ones skipped."""
    import tomllib

    ids = set()
    for meta in [directory / "pack.toml", *directory.glob("*/pack.toml")]:
        try:
            pack_id = tomllib.loads(meta.read_text(encoding="utf-8")).get("id")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            continue
        if isinstance(pack_id, str):
            ids.add(pack_id)
    return ids
