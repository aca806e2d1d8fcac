"""`diagnose patterns`: what the logs say that no rule explains, and a rule to start from."""

from __future__ import annotations

from .console import make_console
from .errors import UsageError
from .exit_codes import ExitCode
from .patterns import PatternsResult
from .pipeline import AnalyzeOptions, analyze
from .rulepack.model import RuleSet
from .skeleton import rule_skeleton, suggest_rule_id


def print_patterns(
    paths: list[str], ruleset: RuleSet, options: AnalyzeOptions, *, top: int,
    skeleton: int | None,
) -> ExitCode:
    if top < 1:
        raise UsageError("--top must be at least 1")
    options.mine_patterns = True
    options.patterns_top = max(top, skeleton or 0)
    report = analyze(paths, ruleset, options)
    result: PatternsResult = report.sections["patterns"]  # type: ignore[assignment]
    if skeleton is None:
        make_console().print(result)
        return ExitCode.OK if report.stats.records_read else ExitCode.NO_INPUT
    templates = result.templates
    if not 1 <= skeleton <= len(templates):
        raise UsageError(f"--skeleton {skeleton}: there are {len(templates)} patterns (1–{len(templates)})")
    chosen = templates[skeleton - 1]
    try:
        print(rule_skeleton(chosen, suggest_rule_id(chosen)), end="")
    except ValueError as exc:
        raise UsageError(f"--skeleton {skeleton}: {exc}") from exc
    return ExitCode.OK
