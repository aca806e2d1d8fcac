"""`gcloud logging read --format='table(…)'` output: the header row gives each column's start.

gcloud pads every column to one width for the whole table, so the header's column starts cut
every row: the first column is the time stamp, the last the message (cut at the terminal
width), those between are the severity and any projected fields (a revision, a logger…).
Continuation rows of a multi-line message are indented to the message column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .textclean import LEVELS

TABLE_HEADER = re.compile(r"[A-Z][A-Z_.]*(?: {2,}[A-Z][A-Z_.]*)+\s*$")
_COLUMN = re.compile(r"\S+")
# Projected field names → the record field names the rules already use.
_FIELDS = {
    "revision_name": "revision", "service_name": "service", "instanceid": "instance_id",
    "instance_id": "instance_id", "logname": "log_name", "log_name": "log_name",
    "insertid": "insert_id", "insert_id": "insert_id", "logger": "logger", "module": "module",
    "type": "resource_type",
}


@dataclass(frozen=True, slots=True)
class TableLayout:
    names: tuple[str, ...]
    starts: tuple[int, ...]

    @classmethod
    def from_header(cls, line: str) -> TableLayout | None:
        """The layout of a gcloud table header (`TIMESTAMP  SEVERITY  TEXT_PAYLOAD`), else None."""
        if not TABLE_HEADER.match(line):
            return None
        columns = [(m.group(), m.start()) for m in _COLUMN.finditer(line)]
        if "TIMESTAMP" not in columns[0][0]:
            return None
        return cls(tuple(n for n, _ in columns), tuple(s for _, s in columns))

    def split(self, line: str) -> tuple[str | None, dict[str, str], str] | None:
        """(severity, fields, message) of a row, or None when the row does not fit the layout."""
        severity: str | None = None
        fields: dict[str, str] = {}
        for index in range(1, len(self.names) - 1):
            value = line[self.starts[index] : self.starts[index + 1]].strip()
            name = self.names[index].rsplit(".", 1)[-1].lower()
            if name == "severity":
                if value and value.upper() not in LEVELS:
                    return None  # not aligned: let the generic split read it
                severity = LEVELS.get(value.upper())
            elif value:
                fields[_FIELDS.get(name, name)] = value
        return severity, fields, line[self.starts[-1]:] if len(line) > self.starts[-1] else ""
