"""GitHub Actions annotations: the findings a reviewer sees on the run page without opening logs.

GitHub shows at most 10 error and 10 warning annotations per step, so causes come first (errors),
then symptoms (warnings), in report order (most important first), cut at `limit`. Each line is a
workflow command; message and properties are percent-encoded so log text can neither end the
command nor start a new one.
"""

from __future__ import annotations

from ..model import Finding
from ..report import CLASS_LABELS, Report
from .escape import clean, clip, display_ts, gh_data, gh_property

MESSAGE_CHARS = 1000


def github_annotations(report: Report, limit: int = 10) -> list[str]:
    """`::error …` lines for root causes and `::warning …` lines for symptoms, at most `limit`."""
    ordered = [*report.causes, *report.symptoms]
    return [_annotation(f) for f in ordered[: max(0, limit)]]


def _annotation(f: Finding) -> str:
    level = "error" if f.role == "cause" else "warning"
    title = f"{CLASS_LABELS.get(f.cls, f.cls)}: {clip(clean(f.title), 200)}"
    where = f"; first evidence {f.evidence[0].provenance}" if f.evidence else ""
    message = (
        f"{clean(f.cause)} → {clean(f.critical_failure)} → {clean(f.symptom)} "
        f"({f.connection_count} connection(s), {display_ts(f.first_seen)} → "
        f"{display_ts(f.last_seen)}{clean(where)}). Fix: {clean(f.fix)}"
    )
    return f"::{level} title={gh_property(title)}::{gh_data(clip(message, MESSAGE_CHARS))}"
