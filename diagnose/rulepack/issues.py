"""What the loader reports about a broken pack: one RuleIssue per problem, with file and key path.

Rule files are data without useful line numbers once parsed, so a problem is located by its key
path (`/patterns/0`, `/samples/1/expect/user`), the way lnav names format properties. The loader
collects every issue before raising, so a user fixes a pack in one pass, not one error at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import RulePackError


@dataclass(slots=True, frozen=True)
class RuleIssue:
    """One problem in one rule file: where (file + key path), what, and which rule."""

    path: Path
    key: str  # JSON-pointer-like key path, "" for the whole file
    message: str
    rule_id: str | None = None

    def __str__(self) -> str:
        where = display_path(self.path)
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return printable(text)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Rule files are user input: no control characters (ANSI escapes) reach a terminal."""
    return _CONTROL.sub("?", text)


def display_path(path: Path) -> str:
    """The path relative to the working directory when it lies below it (shorter, clickable)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def format_issues(issues: list[RuleIssue]) -> str:
    """Every issue on its own line, in the order found (file by file)."""
    return "\n".join(str(issue) for issue in issues)


def rule_pack_error(issues: list[RuleIssue]) -> RulePackError:
    """The exception the loader raises: a one-line summary plus the full issue list."""
    files = len({issue.path for issue in issues})
    noun = "problem" if len(issues) == 1 else "problems"
    where = "file" if files == 1 else "files"
    return RulePackError(
        f"invalid rule pack: {len(issues)} {noun} in {files} {where}",
        list(issues),
        hint="fix every listed key, then check the pack with `diagnose rules test DIR`",
    )


TOML_TYPE_NAMES: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "float",
    str: "string",
    list: "array",
    dict: "table",
}


def toml_type(value: object) -> str:
    """The TOML name of a parsed value's type, for "expected integer, got string" messages."""
    for py_type, name in TOML_TYPE_NAMES.items():
        if isinstance(value, py_type):
            return name
    return "date/time" if hasattr(value, "isoformat") else type(value).__name__


class IssueLog:
    """Collects the issues of one file into the shared list, and counts its own."""

    def __init__(self, sink: list[RuleIssue], path: Path, rule_id: str | None = None) -> None:
        self.sink = sink
        self.path = path
        self.rule_id = rule_id
        self.count = 0

    def __call__(self, key: str, message: str) -> None:
        self.sink.append(RuleIssue(self.path, key, message, self.rule_id))
        self.count += 1
