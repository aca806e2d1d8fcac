"""Cleaning and dissecting one plain-text log line (loguru, Python logging, gcloud table rows).

Plain-text files and LogEntry `textPayload`s carry the same loguru lines (staging logged plain
text until 2025-09-03), so both readers share these helpers: strip colour, find the time stamp,
and split the level and logger off the message so rules can anchor on the message itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..timeutil import TZ_ABBREVIATIONS

# Level spellings seen in Python logging, loguru, gcloud and test output → Cloud Logging names.
LEVELS: dict[str, str] = {
    "TRACE": "DEBUG", "DEBUG": "DEBUG", "INFO": "INFO", "SUCCESS": "INFO", "NOTICE": "NOTICE",
    "WARN": "WARNING", "WARNING": "WARNING", "ERROR": "ERROR", "CRITICAL": "CRITICAL",
    "FATAL": "CRITICAL", "ALERT": "ALERT", "EMERGENCY": "EMERGENCY", "DEFAULT": "DEFAULT",
}

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
# Only loguru's own colour/style tags, so `<module>` in a traceback survives.
_LOGURU_TAG = re.compile(
    r"</?(?:white|red|green|yellow|blue|magenta|cyan|black|level|bold|b|dim|d|normal|n|"
    r"italic|i|underline|u|strike|s|blink|hide|reverse|r|light-\w+|fg \w+|bg \w+|e)>"
)
_STAMP = re.compile(
    r"\[?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)\]?"
)
_ZONED = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
_ZONE_WORD = re.compile(r" ([A-Z]{2,5})(?=[\s\]|]|$)")
_LOGURU = re.compile(
    r"\s*\|\s*(?P<lvl>[A-Za-z]+)\s*\|\s*(?:(?P<name>[^\s:|]+):(?P<fn>[^\s:|]+):\d+\s*\|)?\s?"
)
_LEVEL_WORD = re.compile(r"\s*\[?\s*(?P<lvl>[A-Za-z]+)\s*\]?:?(?:\s+|$)")
# Unstamped lines that still begin a record of their own (test/client output).
_UNSTAMPED_START = re.compile(
    r"\[(?P<lvl>[A-Z]+)\]\s"  # [INFO] Pipeline event: ping
    r"|(?P<lvl2>DEBUG|INFO|WARNING|ERROR|CRITICAL) +\S+:\S+:\d+ "  # pytest log capture
    r"|(?:={5,}|_{5,}|-{5,} )"  # pytest section separators
    r"|(?:PASSED|FAILED|ERROR|SKIPPED|XFAIL) \S+::"  # pytest -rA summary rows
)


@dataclass(slots=True)
class LineHead:
    """The start of a stamped line: its stamp (with a known zone word) and the rest.

    Level, logger and message are split off only on demand (`split`), because most lines of a
    big file are irrelevant and never need them.
    """

    stamp: str
    zone_word: str | None  # an unknown zone abbreviation, e.g. "XYZ" (the caller reports it)
    rest: str

    def split(self) -> tuple[str | None, str | None, str]:
        """(severity, logger, message) of the line."""
        return split_level(self.rest)


def clean(text: str) -> str:
    """Strip ANSI escapes and loguru colour tags (cheap when there are none)."""
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "<" in text and ">" in text:
        text = _LOGURU_TAG.sub("", text)
    return text


def split_head(line: str) -> LineHead | None:
    """Dissect a line that starts with a time stamp; None when it does not."""
    if not line[:1].isdigit() and not line.startswith("["):
        return None
    m = _STAMP.match(line)
    if m is None:
        return None
    stamp, rest, unknown = m.group(1), line[m.end():], None
    if not _ZONED.search(stamp):
        z = _ZONE_WORD.match(rest)
        if z and z.group(1) not in LEVELS:
            if z.group(1) in TZ_ABBREVIATIONS:
                stamp, rest = f"{stamp} {z.group(1)}", rest[z.end():]
            elif _ends_or_separates(rest[z.end():]):
                unknown, rest = z.group(1), rest[z.end():]
    return LineHead(stamp, unknown, rest)


def split_level(rest: str) -> tuple[str | None, str | None, str]:
    """The part after the stamp → (severity, logger, message), for the formats we know."""
    m = _LOGURU.match(rest)
    if m and m.group("lvl").upper() in LEVELS:
        return LEVELS[m.group("lvl").upper()], m.group("name"), rest[m.end():]
    stripped = rest.lstrip()
    if stripped.startswith("- "):  # Python logging: `- name - LEVEL - msg` (or `- svc - name - …`)
        parts = stripped[2:].split(" - ", 3)
        for i, part in enumerate(parts[:-1]):
            if part.strip().upper() in LEVELS:
                logger = parts[i - 1].strip() if i else None
                return LEVELS[part.strip().upper()], logger, " - ".join(parts[i + 1:])
    m = _LEVEL_WORD.match(rest)
    if m and m.group("lvl").upper() in LEVELS and m.group("lvl").isupper():
        return LEVELS[m.group("lvl")], None, rest[m.end():]
    return None, None, stripped


def unstamped_start(line: str) -> str | None:
    """Severity ('' if none) when an unstamped line begins its own record, else None."""
    m = _UNSTAMPED_START.match(line)
    if m is None:
        return None
    lvl = m.group("lvl") or m.group("lvl2") or ""
    return LEVELS.get(lvl, "")


def _ends_or_separates(text: str) -> bool:
    """True when a zone-like word is followed by nothing or a field separator (so it is a zone)."""
    after = text.lstrip()
    return not after or after.startswith(("|", "- ", "]"))
