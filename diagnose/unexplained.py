"""ERROR/CRITICAL records no rule explains, tallied by masked template: never a silent report.

When no finding explains a failure, the on-call engineer still needs to see what the logs shout
about. This is the cheap cousin of `diagnose patterns`: one masking pass per error record that no
rule matched, a bounded table of templates, and the first example and location of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .masking import mask
from .model import SEVERITY_RANK, RawRecord

ERROR_RANK = SEVERITY_RANK["ERROR"]
MAX_TEMPLATES = 2_000  # past this, new templates are only counted in `other`
MAX_CHARS = 300  # the first line of a message is what is masked and shown


def is_error(severity: str | None) -> bool:
    """ERROR or worse: what the tally counts."""
    return SEVERITY_RANK.get((severity or "").upper(), 0) >= ERROR_RANK


@dataclass(slots=True)
class ErrorTemplate:
    template: str
    count: int
    severity: str
    first_seen: datetime | None
    last_seen: datetime | None
    example: str
    provenance: str


class ErrorTally:
    """Counts error records by template, with bounded memory."""

    def __init__(self) -> None:
        self.templates: dict[str, ErrorTemplate] = {}
        self.other = 0
        self.total = 0

    def add(self, record: RawRecord) -> None:
        if not is_error(record.severity):
            return
        severity = (record.severity or "").upper()
        line = _headline(record.text)
        if not line:
            return
        self.total += 1
        template = mask(line)
        entry = self.templates.get(template)
        ts = record.timestamp
        if entry is None:
            if len(self.templates) >= MAX_TEMPLATES:
                self.other += 1
                return
            self.templates[template] = ErrorTemplate(
                template, 1, severity, ts, ts, line, record.provenance
            )
            return
        entry.count += 1
        if ts is not None:
            if entry.first_seen is None or ts < entry.first_seen:
                entry.first_seen = ts
            if entry.last_seen is None or ts > entry.last_seen:
                entry.last_seen = ts

    def top(self, n: int = 10) -> list[ErrorTemplate]:
        return sorted(
            self.templates.values(), key=lambda t: (-t.count, t.template)
        )[:n]


def _headline(text: str) -> str:
    """The line that says what went wrong: a traceback's last line, else the first line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    head = lines[0]
    if head.startswith("Traceback") and len(lines) > 1:
        head = lines[-1]
    return head[:MAX_CHARS]
