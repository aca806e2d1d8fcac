"""Command line: parse options, call the library, print, exit with the documented code.

No analysis logic lives here. Every failure the user can act on arrives as a DiagnoseError and
leaves as one line on stderr plus its exit code; usage errors exit 2 with one line too.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

try:  # typer >= 0.26 vendors click; older releases use click itself
    from typer._click import exceptions as cli_errors
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import exceptions as cli_errors

from . import __version__, api
from .errors import DiagnoseError, UsageError
from .exit_codes import ExitCode
from .render import ReportFormat
from .render.escape import clean

app = typer.Typer(
    name="diagnose",
    help="Explain why WebSocket agent runs failed: root causes, not surface timeouts.",
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
rules_app = typer.Typer(help="List and self-test rule packs.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

class PageFormat(StrEnum):
    """The formats `report` writes (a page a person opens), a subset of ReportFormat."""

    html = "html"
    markdown = "markdown"


Paths = Annotated[list[str], typer.Argument(help="Log files, directories, globs, .gz, or - for stdin.")]
FormatOpt = Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")]
RulesOpt = Annotated[
    list[Path] | None,
    typer.Option("--rules", help="Extra rule pack directory (repeatable).", show_default=False),
]
NoBuiltinOpt = Annotated[bool, typer.Option("--no-builtin-rules", help="Use only --rules packs.")]
TzOpt = Annotated[
    str, typer.Option("--tz", help="Zone for naive time stamps (UTC, PDT, +02:00, Europe/Paris).")
]
FailOnOpt = Annotated[
    str | None,
    typer.Option("--fail-on", help="Exit 1 only for these classes (comma-separated), e.g. routing_failure."),
]
StepSummaryOpt = Annotated[
    bool, typer.Option("--step-summary", help="Also append Markdown to $GITHUB_STEP_SUMMARY.")
]
AnnotationsOpt = Annotated[
    bool, typer.Option("--annotations", help="Also print up to 10 GitHub ::error/::warning lines.")
]
BaselineOpt = Annotated[
    list[Path] | None,
    typer.Option("--baseline", help="A previous JSON report or a known-good export to compare with."),
]
AlsoOpt = Annotated[
    list[str] | None,
    typer.Option("--also", help="Also write FORMAT=PATH from the same run (repeatable)."),
]
PatternsOpt = Annotated[
    bool, typer.Option("--patterns", help="Also mine lines no rule explains (decodes every line: slower).")
]

MaxEntriesOpt = Annotated[
    int | None,
    typer.Option("--max-entries", min=1, help="Stop (exit 5) past this many entries [default: 500000]."),
]

BigQueryOpt = Annotated[
    str | None,
    typer.Option("--bigquery", help="Read PROJECT.DATASET[.VIEW] (Log Analytics, default view _AllLogs)."),
]


def _version(value: bool) -> None:
    if value:
        print(f"diagnose {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Explain why WebSocket agent runs failed: root causes, not surface timeouts."""


@app.command()
def analyze(
    paths: Paths,
    fmt: FormatOpt = ReportFormat.terminal,
    output: OutputOpt = None,
    rules: RulesOpt = None,
    no_builtin_rules: NoBuiltinOpt = False,
    tz: TzOpt = "UTC",
    fail_on: FailOnOpt = None,
    step_summary: StepSummaryOpt = False,
    annotations: AnnotationsOpt = False,
    baseline: BaselineOpt = None,
    patterns: PatternsOpt = False,
    also: AlsoOpt = None,
) -> None:
    """Read log exports and report the root cause of failed agent runs."""
    request = api.ReportRequest(
        fmt=fmt, output=output, fail_on=fail_on, step_summary=step_summary,
        annotations=annotations, baseline=baseline or [], patterns=patterns, also=also or [],
    )
    code = api.run_analyze(
        paths, rules=rules or [], builtin=not no_builtin_rules, tz=tz, request=request,
        command=_command_line(),
    )
    raise typer.Exit(int(code))


@app.command()
def explain(
    connection: Annotated[str, typer.Argument(help="Connection, user/client, thread or run id.")],
    paths: Paths,
    rules: RulesOpt = None,
    no_builtin_rules: NoBuiltinOpt = False,
    tz: TzOpt = "UTC",
) -> None:
    """Print one connection's timeline: every event, in order, with where it came from."""
    code = api.run_explain(connection, paths, rules=rules or [], builtin=not no_builtin_rules, tz=tz)
    raise typer.Exit(int(code))


@app.command()
def pull(
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="GCP project id (Logging API).")
    ] = None,
    since: Annotated[
        str, typer.Option(help="Start: a duration back from --until (2h) or a time stamp.")
    ] = "1h",
    until: Annotated[str | None, typer.Option(help="End time stamp (default: now).")] = None,
    extra_filter: Annotated[
        str | None, typer.Option("--filter", help="Extra Logging query terms, ANDed on.")
    ] = None,
    save: Annotated[Path | None, typer.Option("--save", help="Also save entries as JSONL.")] = None,
    show_filter: Annotated[bool, typer.Option("--show-filter", help="Print the filter and exit.")] = False,
    service: Annotated[str | None, typer.Option("--service", help="Cloud Run service name.")] = None,
    max_entries: MaxEntriesOpt = None,
    bigquery: BigQueryOpt = None,
    show_sql: Annotated[
        bool, typer.Option("--show-sql", help="With --bigquery: print the SQL and exit.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --bigquery: print the bytes the query would scan.")
    ] = False,
    fmt: FormatOpt = ReportFormat.terminal,
    output: OutputOpt = None,
    rules: RulesOpt = None,
    no_builtin_rules: NoBuiltinOpt = False,
    fail_on: FailOnOpt = None,
    step_summary: StepSummaryOpt = False,
    annotations: AnnotationsOpt = False,
    baseline: BaselineOpt = None,
    also: AlsoOpt = None,
) -> None:
    """Pull logs from Google Cloud Logging or BigQuery (explicit window) and analyze them."""
    request = api.ReportRequest(
        fmt=fmt, output=output, fail_on=fail_on, step_summary=step_summary,
        annotations=annotations, baseline=baseline or [], also=also or [],
    )
    code = api.run_pull(
        api.PullRequest(project=project, since=since, until=until, extra_filter=extra_filter,
                        save=save, show_filter=show_filter, service=service,
                        endpoint=os.environ.get("DIAGNOSE_LOGGING_ENDPOINT"),
                        max_entries=max_entries, bigquery=bigquery, show_sql=show_sql,
                        dry_run=dry_run, bigquery_endpoint=os.environ.get("DIAGNOSE_BIGQUERY_ENDPOINT")),
        rules=rules or [], builtin=not no_builtin_rules, request=request, command=_command_line(),
    )
    raise typer.Exit(int(code))


@app.command()
def report(
    paths: Annotated[list[str] | None, typer.Argument(help="Log files (or use --project).")] = None,
    project: Annotated[str | None, typer.Option("--project", "-p", help="Pull from this project.")] = None,
    since: Annotated[
        str, typer.Option(help="With --project/--bigquery: how far back (24h) or a time stamp.")
    ] = "24h",
    until: Annotated[
        str | None, typer.Option(help="With --project/--bigquery: end time stamp.")
    ] = None,
    bigquery: BigQueryOpt = None,
    fmt: Annotated[PageFormat, typer.Option("--format", "-f", help="Page format.")] = PageFormat.html,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the page.")
    ] = Path("diagnose-report.html"),
    baseline: BaselineOpt = None,
    also: AlsoOpt = None,
    history: Annotated[
        list[str] | None,
        typer.Option("--history", help="Earlier JSON reports for the trend chart: files, a directory "
                     "or a quoted glob ('week/*.json'); repeatable."),
    ] = None,
    rules: RulesOpt = None,
    no_builtin_rules: NoBuiltinOpt = False,
    tz: TzOpt = "UTC",
) -> None:
    """Write the scheduled health report (self-contained HTML, or Markdown)."""
    api.refuse_json_reports(paths or [])
    if sum(map(bool, (paths, project, bigquery))) != 1:
        raise UsageError("give log files, --project or --bigquery: exactly one of them")
    request = api.ReportRequest(fmt=ReportFormat(fmt.value), output=output, baseline=baseline or [],
                                quiet_exit=True, also=also or [],
                                history=api.expand_history(history or []), say_written=True)
    if project or bigquery:
        code = api.run_pull(
            api.PullRequest(project=project, since=since, until=until,
                            endpoint=os.environ.get("DIAGNOSE_LOGGING_ENDPOINT"), bigquery=bigquery,
                            bigquery_endpoint=os.environ.get("DIAGNOSE_BIGQUERY_ENDPOINT")),
            rules=rules or [], builtin=not no_builtin_rules, request=request,
            command=_command_line(),
        )
    else:
        code = api.run_analyze(paths or [], rules=rules or [], builtin=not no_builtin_rules,
                               tz=tz, request=request, command=_command_line())
    raise typer.Exit(int(code))


@app.command()
def patterns(
    paths: Paths,
    top: Annotated[int, typer.Option("--top", help="How many patterns to print.")] = 20,
    skeleton: Annotated[
        int | None, typer.Option("--skeleton", help="Print a rule skeleton (TOML) for pattern N.")
    ] = None,
    rules: RulesOpt = None,
    no_builtin_rules: NoBuiltinOpt = False,
    tz: TzOpt = "UTC",
) -> None:
    """Mine the lines no rule explains into templates (new WARNING/ERROR patterns first)."""
    code = api.run_patterns(paths, top=top, skeleton=skeleton, rules=rules or [],
                            builtin=not no_builtin_rules, tz=tz)
    raise typer.Exit(int(code))


@rules_app.command("list")
def rules_list(rules: RulesOpt = None, no_builtin_rules: NoBuiltinOpt = False) -> None:
    """List the loaded rule packs and rules."""
    raise typer.Exit(int(api.run_rules_list(rules or [], builtin=not no_builtin_rules)))


@rules_app.command("test")
def rules_test(
    directory: Annotated[
        Path | None, typer.Argument(help="A pack directory (default: built-in packs).")
    ] = None,
    no_builtin_rules: Annotated[
        bool, typer.Option("--no-builtin-rules", help="Test DIR alone, without the built-in packs.")
    ] = False,
) -> None:
    """Self-test rule packs: samples, counter-samples and finding scenarios."""
    raise typer.Exit(int(api.run_rules_test(directory, builtin=not no_builtin_rules)))


_invocation: list[str] = []  # the arguments main() was given, for the report's provenance


def _command_line() -> str:
    return shlex.join(["diagnose", *_invocation])


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line on stderr for every failure, never a traceback."""
    _invocation[:] = list(sys.argv[1:] if argv is None else argv)
    previous = _signals_raise()
    try:
        code = _run(argv)
    finally:
        _restore_signals(previous)
    sys.exit(int(code or 0))


def _run(argv: list[str] | None) -> int:
    _interrupted.clear()
    try:
        code = _command().main(args=argv, standalone_mode=False, prog_name="diagnose") or 0
        if _interrupted:  # typer turns KeyboardInterrupt into a silent Exit(130)
            _say("diagnose: interrupted")
            return 130
        return code
    except cli_errors.NoArgsIsHelpError:  # bare `diagnose` / `diagnose rules`: typer printed help
        return ExitCode.USAGE
    except cli_errors.UsageError as exc:
        print(f"diagnose: error: {clean(exc.format_message())}", file=sys.stderr)
        return ExitCode.USAGE
    except typer.Exit as exc:  # --install-completion / --show-completion end this way
        return exc.exit_code
    except DiagnoseError as exc:
        return _report_error(exc)
    except SystemExit as exc:
        if _stdout_was_closed():  # typer turned EPIPE into sys.exit(1)
            _quiet_stdout()
            return ExitCode.OK
        raise exc
    except (typer.Abort, KeyboardInterrupt):
        _say("diagnose: interrupted")
        return 130
    except SignalExit as exc:
        _say(f"diagnose: stopped by {exc.name}")
        return 128 + exc.signum
    except BrokenPipeError:
        _quiet_stdout()  # `diagnose analyze … | head -1`: the reader left; that is not a failure
        return ExitCode.OK


class SignalExit(BaseException):
    """SIGTERM / SIGHUP as an exception, so every `finally` (spill files, temp reports) runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


def _raise_signal_exit(signum, _frame) -> None:
    raise SignalExit(signum)


_interrupted: list[bool] = []  # set by the SIGINT handler: Ctrl-C must say so, whatever catches it


def _raise_interrupt(_signum, _frame) -> None:
    _interrupted.append(True)
    raise KeyboardInterrupt


def _stdout_was_closed() -> bool:
    return type(sys.stdout).__name__ == "PacifyFlushWrapper"


_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _signals_raise() -> dict:
    """Install the handlers (main thread only; a library caller keeps its own)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for signum in _STOP_SIGNALS:
        previous[signum] = signal.signal(signum, _raise_signal_exit)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, _raise_interrupt)
    return previous


def _restore_signals(previous: dict) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr)
    except (OSError, ValueError):
        pass


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


_METAVARS = {
    "paths": "PATH", "rules": "DIR", "baseline": "FILE", "history": "FILE|DIR|GLOB",
    "also": "FORMAT=PATH", "output": "FILE", "tz": "ZONE", "fail_on": "CLASS[,CLASS]",
    "since": "DURATION|TIME", "until": "TIME", "project": "PROJECT", "extra_filter": "QUERY",
    "save": "FILE", "service": "NAME", "top": "N", "skeleton": "N", "connection": "ID",
    "directory": "DIR", "bigquery": "TABLE",
}


def _command():
    """The click command tree, with help that names values (FILE, DIR) instead of raw types."""
    _hide_raw_types()
    command = typer.main.get_command(app)
    _name_metavars(command)
    return command


def _name_metavars(command) -> None:
    for param in command.params:
        descriptor = getattr(param, "type_descriptor", None)
        if param.metavar is not None or getattr(param, "is_flag", False):
            continue
        if descriptor is not None and descriptor.is_choice:
            continue  # the choices are the best description
        param.metavar = _METAVARS.get(param.name or "", (param.name or "value").upper())
    for sub in getattr(command, "commands", {}).values():
        _name_metavars(sub)


def _hide_raw_types() -> None:
    """Typer prints `<list[Path]>`, `<str>`, `<bool>` beside options; show the metavar or nothing.

    Choices (`<html|markdown>`) stay: they tell the user what is accepted.
    """
    for cls in (typer.core.TyperOption, typer.core.TyperArgument):
        original = getattr(cls, "display_type_rich", None)
        if original is None or getattr(original, "plain_types", False):
            continue

        def display(self, ctx, _original=original):
            if isinstance(self, typer.core.TyperArgument) or getattr(self, "is_flag", False):
                return None  # an argument's metavar is its name; a flag takes no value
            shown = _original(self, ctx)
            if self.metavar is None and shown and shown.startswith("<") and "|" not in shown:
                return None
            return shown

        display.plain_types = True
        cls.display_type_rich = display


def _report_error(exc: DiagnoseError) -> int:
    """Messages may quote log text (ids, file names): control characters never reach stderr."""
    print(f"diagnose: error: {clean(exc.message)}", file=sys.stderr)
    for issue in getattr(exc, "issues", [])[:200]:
        print(f"  {clean(issue)}", file=sys.stderr)
    if exc.hint:
        print(f"  hint: {clean(exc.hint)}", file=sys.stderr)
    return int(exc.exit_code)
