"""What each command does, as library functions the CLI calls with parsed options.

Each `run_*` loads rules, runs the pipeline, writes the requested output and returns the exit
code. Failures the user can act on are raised as DiagnoseError subclasses.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .errors import UsageError
from .exit_codes import ExitCode
from .pipeline import AnalyzeOptions, analyze
from .render import ReportFormat, emit_report
from .render.escape import clean
from .report import OUTCOMES
from .rulepack import load_rule_packs
from .rulepack.model import RuleSet
from .sources import expand_inputs
from .timeutil import TimestampError, parse_duration, parse_timestamp, resolve_tz


@dataclass(slots=True)
class ReportRequest:
    """How the user wants the report: format, destination, CI extras, exit policy."""

    fmt: ReportFormat = ReportFormat.terminal
    output: Path | None = None
    fail_on: str | None = None
    step_summary: bool = False
    annotations: bool = False
    baseline: list[Path] = field(default_factory=list)
    patterns: bool = False
    quiet_exit: bool = False  # the scheduled report exits 0 whenever the page was written
    also: list[str] = field(default_factory=list)  # extra outputs, "FORMAT=PATH"
    history: list[Path] = field(default_factory=list)  # earlier JSON reports, for the trend

    def extra_outputs(self) -> list[tuple[ReportFormat, Path]]:
        """`--also json=r.json --also junit=r.xml`: more formats from the same single run."""
        outputs = []
        for spec in self.also:
            fmt, sep, path = spec.partition("=")
            if not sep or not path or fmt not in ReportFormat.__members__:
                raise UsageError(
                    f"--also {spec!r}: expected FORMAT=PATH with FORMAT one of "
                    f"{', '.join(ReportFormat.__members__)}"
                )
            outputs.append((ReportFormat(fmt), Path(path)))
        return outputs

    def fail_on_classes(self) -> set[str] | None:
        if not self.fail_on:
            return None
        classes = {c.strip() for c in self.fail_on.split(",") if c.strip()}
        unknown = classes - set(OUTCOMES)
        if unknown:
            raise UsageError(
                f"--fail-on: unknown class {', '.join(sorted(unknown))} "
                f"(choose from {', '.join(OUTCOMES)})"
            )
        return classes

    def check(self) -> None:
        """Catch option mistakes before reading gigabytes of logs."""
        self.fail_on_classes()
        self.extra_outputs()
        if self.step_summary:
            import os

            if not os.environ.get("GITHUB_STEP_SUMMARY"):
                raise UsageError("--step-summary needs $GITHUB_STEP_SUMMARY (set by GitHub Actions)")
        if self.output is not None and self.output.is_dir():
            raise UsageError(f"--output {self.output} is a directory")
        for path in [*self.baseline, *self.history]:
            if not path.exists():
                raise UsageError(f"no such file: {path}")


def load_rules(extra: list[Path], builtin: bool = True) -> RuleSet:
    for directory in extra:
        if not directory.is_dir():
            raise UsageError(f"--rules: not a directory: {directory}")
    if not builtin and not extra:
        raise UsageError("--no-builtin-rules needs at least one --rules DIR")
    return load_rule_packs(extra, include_builtin=builtin)


def _options(tz: str, command: str) -> AnalyzeOptions:
    try:
        zone = resolve_tz(tz)
    except TimestampError as exc:
        raise UsageError(f"--tz: {exc}") from exc
    return AnalyzeOptions(default_tz=zone, tz_name=tz, command=command)


def run_analyze(
    specs: list[str], *, rules: list[Path], builtin: bool, tz: str, request: ReportRequest,
    command: str = "diagnose analyze",
) -> ExitCode:
    request.check()
    ruleset = load_rules(rules, builtin)
    options = _options(tz, command)
    options.mine_patterns = request.patterns
    paths = _inputs(specs)
    started = time.perf_counter()
    with _progress_bar(paths) as progress:
        options.progress = progress
        report = analyze(paths, ruleset, options)
    return _finish(report, ruleset, request, time.perf_counter() - started)


def _inputs(specs: list[str]) -> list[str]:
    """Expand the specs; say on stderr which directory files were passed over as not logs."""
    passed_over: list[str] = []
    paths = expand_inputs(specs, passed_over)
    if passed_over:
        shown = ", ".join(passed_over[:5]) + (" …" if len(passed_over) > 5 else "")
        print(f"diagnose: note: passed over {len(passed_over)} file(s) that are not logs: "
              f"{clean(shown)}", file=sys.stderr)
    return paths


def _finish(report, ruleset, request: ReportRequest, elapsed: float) -> ExitCode:
    """Add the optional sections, write the report, and decide the exit code."""
    baseline = _baseline(report, ruleset, request)
    _add_contrast(report)
    report.provenance.elapsed_seconds = elapsed
    emit_report(
        report, request.fmt, output=request.output, baseline=baseline, elapsed=elapsed,
        step_summary=request.step_summary, annotations=request.annotations,
        also=request.extra_outputs(), history=_history(request.history),
    )
    code = report.exit_code(request.fail_on_classes())
    if code == ExitCode.NO_INPUT:
        print("diagnose: error: no usable input: nothing in the given logs could be read "
              f"({report.stats.unparsed_total} unparsed)", file=sys.stderr)
    if request.quiet_exit and code == ExitCode.FINDINGS:
        return ExitCode.OK
    return code


def _baseline(report, ruleset, request: ReportRequest):
    """A previous JSON report, or known-good log exports analyzed now with the same rules."""
    if not request.baseline:
        return None
    from .baseline import diff_against, load_baseline
    from .render.json import report_to_dict

    kinds = {p: _is_json_report(p) for p in request.baseline}
    reports = [p for p, is_report in kinds.items() if is_report]
    exports = [str(p) for p, is_report in kinds.items() if not is_report]
    if reports and exports or len(reports) > 1:
        raise UsageError("--baseline takes one JSON report, or one or more log exports")
    if reports:
        previous = load_baseline(reports[0])
    else:
        options = AnalyzeOptions(command="baseline: " + " ".join(exports))
        previous = report_to_dict(analyze(expand_inputs(exports), ruleset, options))
    diff = diff_against(report, previous)
    report.sections["baseline"] = diff
    return diff


def _history(paths: list[Path]) -> list[dict]:
    """Earlier JSON reports, oldest first (by their window end), for the trend chart."""
    from .baseline import load_baseline

    docs = [load_baseline(p) for p in paths]
    return sorted(docs, key=lambda d: str((d.get("provenance") or {}).get("window_end") or ""))


def _is_json_report(path: Path) -> bool:
    """Reports start with their schema version; exports never do (cheap: reads 256 bytes)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
    except OSError as exc:
        raise UsageError(f"--baseline: cannot read {path}: {exc.strerror}") from exc
    return head.lstrip().startswith(b"{") and b'"schema_version"' in head


def _add_contrast(report) -> None:
    try:
        from .contrast import contrast
    except ImportError:  # pragma: no cover - the module ships with the package
        return
    report.sections["contrast"] = contrast(report.outcomes)


def run_explain(connection: str, specs: list[str], *, rules: list[Path], builtin: bool,
                tz: str) -> ExitCode:
    from .explain import explain_connection

    ruleset = load_rules(rules, builtin)
    paths = _inputs(specs)
    return explain_connection(connection, paths, ruleset, _options(tz, "diagnose explain"))


@dataclass(slots=True)
class PullRequest:
    project: str | None
    since: str = "1h"
    until: str | None = None
    extra_filter: str | None = None
    save: Path | None = None
    show_filter: bool = False
    service: str | None = None
    endpoint: str | None = None
    max_entries: int | None = None  # None: the source's default cap
    bigquery: str | None = None  # PROJECT.DATASET[.VIEW]: read a Log Analytics dataset instead
    show_sql: bool = False
    dry_run: bool = False
    bigquery_endpoint: str | None = None

    def window(self) -> tuple[datetime, datetime]:
        until = _when(self.until, "--until") if self.until else datetime.now(UTC)
        try:
            since = until - parse_duration(self.since)
        except TimestampError:
            since = _when(self.since, "--since")
        if since >= until:
            raise UsageError("--since must be before --until")
        return since, until


def _when(text: str, option: str) -> datetime:
    try:
        return parse_timestamp(text)[0]
    except TimestampError as exc:
        raise UsageError(f"{option}: {exc}") from exc


def run_pull(pull: PullRequest, *, rules: list[Path], builtin: bool, request: ReportRequest,
             command: str = "diagnose pull") -> ExitCode:
    from .model import ParseStats
    from .pipeline import analyze_records
    from .sources.cloud_logging import pull_records
    from .sources.logfilter import compile_filter

    if bool(pull.project) == bool(pull.bigquery):
        raise UsageError("give --project (Logging API) or --bigquery PROJECT.DATASET, not both or neither")
    if (pull.show_sql or pull.dry_run) and not pull.bigquery:
        raise UsageError("--show-sql and --dry-run go with --bigquery (use --show-filter for the API)")
    if pull.extra_filter and pull.bigquery:
        raise UsageError("--filter takes Logging query language, which --bigquery cannot apply")
    request.check()
    ruleset = load_rules(rules, builtin)
    since, until = pull.window()
    if pull.bigquery:
        return _run_bigquery(pull, ruleset, request, command, since, until)
    plan = compile_filter(ruleset, since, until, extra=pull.extra_filter, service=pull.service)
    filter_str = plan.text
    if pull.show_filter:
        print(filter_str)
        return ExitCode.OK
    stats = ParseStats()
    stats.warnings.extend(plan.notes)
    options = AnalyzeOptions(command=command, window_start=since, window_end=until,
                             filter=filter_str)
    started = time.perf_counter()
    with _pull_progress() as progress:
        records = pull_records(
            pull.project, since, until, filter_str=filter_str, stats=stats, save_path=pull.save,
            endpoint=pull.endpoint, progress=progress, on_retry=_say_retry,
            **_cap(pull.max_entries),
        )
        report = analyze_records(records, ruleset, stats, options,
                                 inputs=[f"cloud-logging:{pull.project}"])
    return _finish(report, ruleset, request, time.perf_counter() - started)


def _run_bigquery(pull: PullRequest, ruleset: RuleSet, request: ReportRequest, command: str,
                  since: datetime, until: datetime) -> ExitCode:
    from .model import ParseStats
    from .pipeline import analyze_records
    from .sources.bigquery import dry_run_bytes, pull_rows
    from .sources.sqlcompile import compile_sql

    plan = compile_sql(ruleset, since, until, pull.bigquery or "", service=pull.service)
    if pull.show_sql or pull.show_filter:
        print(plan.shown())
    if pull.dry_run:
        scanned = dry_run_bytes(plan, pull.bigquery_endpoint)
        print(f"BigQuery would scan {scanned:,} bytes ({scanned / 2**30:.2f} GiB) of {plan.table}; "
              "nothing was run")
    if pull.show_sql or pull.show_filter or pull.dry_run:
        return ExitCode.OK
    stats = ParseStats()
    stats.warnings.extend(plan.notes)
    options = AnalyzeOptions(command=command, window_start=since, window_end=until, filter=plan.sql)
    started = time.perf_counter()
    with _pull_progress() as progress:
        records = pull_rows(plan, stats=stats, save_path=pull.save, endpoint=pull.bigquery_endpoint,
                            progress=progress, **_cap(pull.max_entries))
        report = analyze_records(records, ruleset, stats, options, inputs=[f"bigquery:{plan.table}"])
    return _finish(report, ruleset, request, time.perf_counter() - started)


def _say_retry(reason: str) -> None:
    print(f"diagnose: {clean(reason)}; retrying", file=sys.stderr)


def _cap(max_entries: int | None) -> dict:
    return {} if max_entries is None else {"max_entries": max_entries}


def run_patterns(specs: list[str], *, top: int, skeleton: int | None, rules: list[Path],
                 builtin: bool, tz: str) -> ExitCode:
    from .patterns_cmd import print_patterns

    ruleset = load_rules(rules, builtin)
    paths = _inputs(specs)
    return print_patterns(paths, ruleset, _options(tz, "diagnose patterns"), top=top,
                          skeleton=skeleton)


def run_rules_list(rules: list[Path], builtin: bool) -> ExitCode:
    from .rules_cmd import print_rules

    print_rules(load_rules(rules, builtin))
    return ExitCode.OK


def run_rules_test(directory: Path | None, builtin: bool = True) -> ExitCode:
    from .rules_cmd import test_rules

    if directory is not None and not directory.is_dir():
        raise UsageError(f"not a directory: {directory}")
    return test_rules(directory, with_builtin=builtin)


def _progress_bar(paths: list[str]):
    from .progress import file_progress

    return file_progress(paths)


def _pull_progress():
    from .progress import pull_progress

    return pull_progress()
