"""Report formats: one enum, one renderer each, and the code that writes them where asked.

The report file is opened only after the analysis succeeded, so a failed run never leaves a
half-written or empty report behind.
"""

from __future__ import annotations

import io
import os
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

        out = stdout or _stdout()
        for line in github_annotations(report):
            out.write(line + "\n")


def _terminal(report: Report, stream, elapsed) -> None:
    from .terminal import render_terminal

    render_terminal(report, make_console(stream), elapsed=elapsed)


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
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _stdout():
    import sys

    return sys.stdout
