"""`diagnose.analyze(...)`: the whole diagnosis as one library call, exactly what the CLI reports.

The commands parse options, call this, and render; a notebook, a CI script or another tool can
call it the same way and get the same typed Report (findings, outcomes, contrast, baseline diff,
unexplained errors, parse accounting).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, tzinfo
from pathlib import Path

from .model import ParseStats, RawRecord
from .pipeline import AnalyzeOptions, analyze_records
from .pipeline import analyze as analyze_paths
from .report import Report
from .rulepack import load_rule_packs
from .rulepack.model import RuleSet
from .sources import expand_inputs


def analyze(
    inputs: str | Path | Sequence[str | Path] | Iterable[RawRecord],
    rules: RuleSet | Sequence[str | Path] | None = None,
    *,
    baseline: Sequence[str | Path] = (),
    tz: tzinfo = UTC,
    patterns: bool = False,
    command: str = "diagnose.analyze",
) -> Report:
    """Diagnose log files, directories, globs, or an iterable of RawRecords.

    `rules`: a loaded RuleSet, extra rule-pack directories (loaded beside the built-in packs),
    or None for the built-in packs. `baseline`: one earlier JSON report, or known-good exports.
    Raises DiagnoseError subclasses for unusable input or rules (as the CLI's exit codes).
    """
    ruleset = rules if isinstance(rules, RuleSet) else load_rule_packs(
        [Path(r) for r in rules or ()]
    )
    options = AnalyzeOptions(default_tz=tz, command=command, mine_patterns=patterns)
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    items = list(inputs)
    if items and all(isinstance(i, RawRecord) for i in items):
        stats = ParseStats(records_read=len(items))
        report = analyze_records(items, ruleset, stats, options, inputs=["<records>"])
    else:
        paths = expand_inputs([str(i) for i in items])
        report = analyze_paths(paths, ruleset, options)
    add_sections(report, ruleset, [Path(b) for b in baseline])
    return report


def add_sections(report: Report, ruleset: RuleSet, baseline: Sequence[Path] = ()):
    """The sections every entry point adds after the pipeline (which adds the contrast): the
    diff against a baseline (returned, or None)."""
    if not baseline:
        return None
    diff = baseline_diff(report, ruleset, list(baseline))
    report.sections["baseline"] = diff
    return diff


def baseline_diff(report: Report, ruleset: RuleSet, paths: list[Path]):
    """Against one earlier JSON report, or known-good log exports analyzed now with `ruleset`."""
    from .baseline import diff_against, load_baseline
    from .errors import UsageError
    from .exit_codes import ExitCode
    from .render.json import report_to_dict
    from .sources.inputs import NOT_LOGS

    hint = "pass a report written by `diagnose … --format json`, or known-good logs"
    kinds = {p: is_json_report(p) for p in paths}
    reports = [p for p, is_report in kinds.items() if is_report]
    exports = [str(p) for p, is_report in kinds.items() if not is_report]
    if reports and exports or len(reports) > 1:
        raise UsageError("--baseline takes one JSON report, or one or more log exports")
    for export in exports:
        suffix = Path(export).suffix.lower()
        if suffix in NOT_LOGS:
            raise UsageError(f"--baseline {export}: a {suffix} file is neither a diagnose JSON "
                             "report nor a log export", hint=hint)
    if reports:
        return diff_against(report, load_baseline(reports[0]))
    options = AnalyzeOptions(command="baseline: " + " ".join(exports))
    known_good = analyze_paths(expand_inputs(exports), ruleset, options)
    if known_good.exit_code() == ExitCode.NO_INPUT:
        raise UsageError(f"--baseline {' '.join(exports)}: neither a diagnose JSON report nor a "
                         "log export with any readable records", hint=hint)
    return diff_against(report, report_to_dict(known_good))


def is_json_report(path: Path) -> bool:
    """Reports start with their schema version; exports never do (cheap: reads 256 bytes)."""
    from .errors import UsageError

    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
    except OSError as exc:
        raise UsageError(f"--baseline: cannot read {path}: {exc.strerror}") from exc
    return head.lstrip().startswith(b"{") and b'"schema_version"' in head
