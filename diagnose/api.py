"""What each command does, as library functions the CLI calls with parsed options.

Each `run_*` loads rules, runs the pipeline, writes the requested output and returns the exit
code. Failures the user can act on are raised as DiagnoseError subclasses.
"""

from __future__ import annotations

import glob
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .errors import InputError, UsageError
from .exit_codes import ExitCode
from .library import add_sections, is_json_report
from .pipeline import AnalyzeOptions, analyze
from .render import ReportFormat, emit_report
from .render.escape import clean
from .report import OUTCOMES, UNEXPLAINED
from .rulepack import load_rule_packs
from .rulepack.model import RuleSet
from .sources import expand_inputs
from .sources.parallel import early_pool
from .timeutil import TimestampError, parse_window_bound, resolve_tz


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
    say_written: bool = False  # `report`: one stderr line naming the file written

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

    def fail_on_classes(self, ruleset: RuleSet | None = None) -> set[str] | None:
        """The classes named by --fail-on, checked against the classes the packs declare
        (the built-in ones before the packs are loaded), plus `unexplained` (ERROR records
        no rule explains)."""
        if not self.fail_on:
            return None
        classes = {c.strip() for c in self.fail_on.split(",") if c.strip()}
        declared = ruleset.classes if ruleset is not None else {}
        failing = [c for c, d in declared.items() if d.role in ("cause", "symptom")] or [
            c for c in OUTCOMES if c not in ("healthy", "in_progress")]
        choices = [*failing, "in_progress", UNEXPLAINED]
        if "healthy" in classes:
            raise UsageError(f"--fail-on: healthy is not a failure class (choose from "
                             f"{', '.join(choices)})")
        if ruleset is None:
            return classes  # checked again once the packs (and their classes) are loaded
        unknown = classes - set(choices)
        if unknown:
            raise UsageError(
                f"--fail-on: unknown class {', '.join(sorted(unknown))} "
                f"(choose from {', '.join(choices)})"
            )
        return classes

    def check(self) -> None:
        """Catch option mistakes before reading gigabytes of logs."""
        if self.output is not None and str(self.output) == "-":
            self.output = None  # `-o -`: the report goes to stdout
        self.fail_on_classes()
        for option, path in [("--output", self.output),
                             *(("--also", p) for _f, p in self.extra_outputs())]:
            _check_writable(option, path)
        if self.step_summary:
            import os

            if not os.environ.get("GITHUB_STEP_SUMMARY"):
                raise UsageError("--step-summary needs $GITHUB_STEP_SUMMARY (set by GitHub Actions)")
        for path in [*self.baseline, *self.history]:
            if not path.exists():
                raise UsageError(f"no such file: {path}")


def _check_writable(option: str, path: Path | None) -> None:
    """The report's directory must exist now: finding out after an hour of analysis is too late."""
    if path is None or (path.exists() and not path.is_file() and not path.is_dir()):
        return  # /dev/null or a FIFO: written through as it is
    if path.is_dir():
        raise UsageError(f"{option} {path} is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: no such directory {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: directory {parent} is not writable")


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
    with early_pool([] if request.patterns else specs) as pool:
        ruleset = load_rules(rules, builtin)
        options = _options(tz, command)
        options.mine_patterns = request.patterns
        paths = _inputs(specs)
        started = time.perf_counter()
        with _progress_bar(paths) as progress:
            options.progress = progress
            report = analyze(paths, ruleset, options, pool=pool)
    return _finish(report, ruleset, request, time.perf_counter() - started)


def refuse_json_reports(specs: list[str]) -> None:
    """A diagnose JSON report named as a log input is a mistake (often an unquoted `--history` glob
    whose extra files became inputs): say so instead of reading it as a log."""
    for spec in specs:
        path = Path(spec)
        if spec != "-" and path.is_file() and _looks_like_report(path):
            raise UsageError(
                f"{spec} is a diagnose JSON report, not a log: pass earlier reports with --history "
                "(a directory or a quoted glob such as --history 'week/*.json') or --baseline"
            )


def expand_history(values: list[str]) -> list[Path]:
    """`--history` values: files, directories (their *.json) and glob patterns, in that order."""
    paths: list[Path] = []
    for value in values:
        path = Path(value)
        if path.is_dir():
            found = sorted(path.glob("*.json"))
            if not found:
                raise UsageError(f"--history {value}: no .json reports in this directory")
            paths.extend(found)
        elif glob.has_magic(value) and not path.exists():
            found = sorted(Path(p) for p in glob.glob(value))
            if not found:
                raise UsageError(f"--history {value}: the pattern matches no files")
            paths.extend(found)
        else:
            paths.append(path)
    return paths


def _inputs(specs: list[str]) -> list[str]:
    """Expand the specs; say on stderr which directory files were passed over as not logs."""
    refuse_json_reports(specs)
    passed_over: list[str] = []
    try:
        paths = expand_inputs(specs, passed_over)
    except InputError:
        _note_passed_over(passed_over)  # "no files in directory" alone would hide why
        raise
    explicit = {str(Path(s)) for s in specs}
    reports = [p for p in paths if str(Path(p)) not in explicit and p != "-"
               and _looks_like_report(Path(p))]
    if reports:  # a report written into the log directory by an earlier run is not a log
        passed_over.extend(reports)
        paths = [p for p in paths if p not in reports]
        if not paths:
            _note_passed_over(passed_over)
            raise InputError(f"no log files in {', '.join(specs)}: only earlier JSON reports")
    _note_passed_over(passed_over)
    return paths


def _note_passed_over(passed_over: list[str]) -> None:
    if passed_over:
        shown = ", ".join(passed_over[:5]) + (" …" if len(passed_over) > 5 else "")
        print(f"diagnose: note: passed over {len(passed_over)} file(s) that are not logs: "
              f"{clean(shown)}", file=sys.stderr)


def _finish(report, ruleset, request: ReportRequest, elapsed: float) -> ExitCode:
    """Add the optional sections, write the report, and decide the exit code.

    With nothing usable there is no report to write: one line says why (exit 3), and a previous
    report at `-o` stays as it was.
    """
    if report.exit_code() == ExitCode.NO_INPUT:
        raise InputError(_no_usable_input(report))
    baseline = add_sections(report, ruleset, request.baseline)
    report.provenance.elapsed_seconds = elapsed
    emit_report(
        report, request.fmt, output=request.output, baseline=baseline, elapsed=elapsed,
        step_summary=request.step_summary, annotations=request.annotations,
        also=request.extra_outputs(), history=_history(request.history),
    )
    code = report.exit_code(request.fail_on_classes(ruleset))
    if request.say_written:
        written = ([(request.fmt, request.output)] if request.output is not None else [])
        written += request.extra_outputs()
        if written:
            print("diagnose: wrote " + ", ".join(f"{fmt.value} report to {clean(path)}"
                                                 for fmt, path in written), file=sys.stderr)
    if request.quiet_exit and code == ExitCode.FINDINGS:
        return ExitCode.OK
    return code


def _no_usable_input(report) -> str:
    """The one line for a run with nothing to analyse (empty, binary, or no line understood)."""
    stats = report.stats
    if stats.records_read == 0:
        return "no usable input: the given logs hold no records (empty, or nothing but blank lines)"
    first = ""
    if stats.unparsed:
        u = stats.unparsed[0]
        first = f"; first: {clean(u.provenance)}: {clean(u.reason)}"
    return (f"no usable input: none of the {stats.records_read:,} records read could be parsed "
            f"({stats.unparsed_total:,} unparsed{first})")


def _history(paths: list[Path]) -> list[dict]:
    """Earlier JSON reports, oldest first (by their window end), for the trend chart."""
    from .baseline import load_baseline

    docs = [load_baseline(p) for p in paths]
    return sorted(docs, key=lambda d: str((d.get("provenance") or {}).get("window_end") or ""))


def _looks_like_report(path: Path) -> bool:
    """A diagnose JSON report (unreadable files are left to the readers to report)."""
    try:
        return is_json_report(path)
    except UsageError:
        return False


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
        until = _bound(self.until, "--until") if self.until else datetime.now(UTC)
        if isinstance(until, timedelta):
            raise UsageError(f"--until {self.until}: give a time stamp such as 2025-09-08T23:00:00Z")
        since = _bound(self.since, "--since")
        if isinstance(since, timedelta):
            since = until - since
        if since >= until:
            raise UsageError("--since must be before --until")
        return since, until


def _bound(text: str, option: str) -> datetime | timedelta:
    try:
        return parse_window_bound(text)
    except (TimestampError, OverflowError) as exc:
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
