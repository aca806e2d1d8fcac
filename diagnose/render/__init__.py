"""Report formats: one enum, one renderer each, and the code that writes them where asked.

A report file is written to a temporary file beside it and renamed into place only when complete,
so a failed run (full disk, a crash in a renderer) never destroys the previous report or leaves a
half-written one behind.
"""

from __future__ import annotations

import io
import os
import tempfile
from enum import StrEnum
from pathlib import Path

from ..console import make_console
from ..errors import UsageError
from ..report import Report


class ReportFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    markdown = "markdown"
    html = "html"
    junit = "junit"


def render_text(
    report: Report, fmt: ReportFormat, *, baseline=None, elapsed=None, history=None
) -> str:
    """The report as a string in `fmt` (terminal: plain text, no colour)."""
    if fmt is ReportFormat.json:
        from .json import render_json

        return render_json(report)
    if fmt is ReportFormat.markdown:
        from .markdown import render_markdown

        return render_markdown(report, baseline=baseline)
    if fmt is ReportFormat.html:
        from .html import render_html

        return render_html(report, baseline=baseline, history=history)
    if fmt is ReportFormat.junit:
        from .junit import render_junit

        return render_junit(report)
    buffer = io.StringIO()
    _terminal(report, buffer, elapsed)
    return buffer.getvalue()


def emit_report(
    report: Report,
    fmt: ReportFormat,
    *,
    output: Path | None = None,
    baseline=None,
    elapsed: float | None = None,
    step_summary: bool = False,
    annotations: bool = False,
    also: list[tuple[ReportFormat, Path]] = (),
    history: list[dict] | None = None,
    stdout=None,
) -> None:
    """Write the report to `output` or stdout; optionally the GitHub step summary and annotations."""
    if fmt is ReportFormat.terminal and output is None:
        _terminal(report, stdout, elapsed)
    else:
        text = render_text(report, fmt, baseline=baseline, elapsed=elapsed, history=history)
        if output is None:
            (stdout or _stdout()).write(text)
        else:
            _write(output, text)
    for extra_fmt, extra_path in also:
        _write(extra_path, render_text(report, extra_fmt, baseline=baseline, elapsed=elapsed,
                                       history=history))
    if step_summary:
        _append_step_summary(report, baseline)
    if annotations:
        from .github import github_annotations

        # when the report itself is on stdout, annotations go to stderr (GitHub reads both), so
        # `--format json --annotations` still prints valid JSON
        out = _stderr() if output is None else (stdout or _stdout())
        for line in github_annotations(report):
            out.write(line + "\n")


def _terminal(report: Report, stream, elapsed) -> None:
    from .terminal import render_terminal

    console = make_console(stream)
    console.on_broken_pipe = _broken_pipe  # rich would exit 1 itself; the CLI decides (exit 0)
    render_terminal(report, console, elapsed=elapsed)


def _broken_pipe() -> None:
    raise BrokenPipeError(32, "Broken pipe")


def _append_step_summary(report: Report, baseline) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        raise UsageError("--step-summary needs $GITHUB_STEP_SUMMARY (set by GitHub Actions)")
    from .markdown import render_markdown

    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(render_markdown(report, baseline=baseline))
    except OSError as exc:
        raise UsageError(f"cannot write $GITHUB_STEP_SUMMARY ({path}): {exc.strerror}") from exc


def _write(path: Path, text: str) -> None:
    """Atomically: a temporary file in the same directory, renamed over `path` when complete."""
    path = Path(path)
    if path.exists() and not path.is_file():  # /dev/null, a FIFO: write through, never replace
        try:
            with open(path, "w", encoding="utf-8", errors="backslashreplace") as fh:
                fh.write(text)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _stdout():
    import sys

    return sys.stdout


def _stderr():
    import sys

    return sys.stderr
