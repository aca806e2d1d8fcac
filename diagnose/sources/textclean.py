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
    "CRIT": "CRITICAL", "EMERG": "EMERGENCY",  # Apache
}

# A plain line (textfast.py), for one line without its newline: a stamp, an optional fraction,
# a space, then neither an ASCII capital nor `<` (so no zone word or colour tag can follow).
PLAIN_LINE = re.compile(rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})? (?![A-Z<])")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
# Only loguru's own colour/style tags, so `<module>` in a traceback survives.
_LOGURU_TAG = re.compile(
    r"</?(?:white|red|green|yellow|blue|magenta|cyan|black|level|bold|b|dim|d|normal|n|"
    r"italic|i|underline|u|strike|s|blink|hide|reverse|r|light-\w+|fg \w+|bg \w+|e)>"
)
_STAMP = re.compile(
    r"\[?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)\]?"
)
# `[2025-09-15 20:03:01 +0000]` (gunicorn) and `[Sun Dec 04 04:47:44 2005]` (Apache httpd).
_BRACKET_STAMP = re.compile(
    r"\[(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})? ?(?:Z|[+-]\d\d:?\d\d)?"
    r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"[ \d]\d \d\d:\d\d:\d\d(?:\.\d{1,6})? \d{4})\]"
)
_ZONED = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
_ZONE_WORD = re.compile(r" ([A-Z]{2,5})(?=[\s\]|]|$)")
_LOGURU = re.compile(
    r"\s*\|\s*(?P<lvl>[A-Za-z]+)\s*\|\s*(?:(?P<name>[^\s:|]+):(?P<fn>[^\s:|]+):\d+\s*\|)?\s?"
)
_LEVEL_WORD = re.compile(r"\s*\[?\s*(?P<lvl>[A-Za-z]+)\s*\]?:?(?:\s+|$)")
# `[1] [INFO] ` (gunicorn: pid, then level) and `[notice] ` / `[error] ` (Apache, lower case).
_BRACKET_LEVEL = re.compile(r"\s*(?:\[\d+\]\s*)?\[(?P<lvl>[A-Za-z]+)\]:?(?:\s+|$)")
# Unstamped lines that still begin a record of their own (test/client output).
_UNSTAMPED_START = re.compile(
    r"\[(?P<lvl>[A-Z]+)\]\s"  # [INFO] Pipeline event: ping
    r"|(?P<lvl2>DEBUG|INFO|WARNING|ERROR|CRITICAL) +\S+:\S+:\d+ "  # pytest log capture
    r"|(?:={5,}|_{5,}|-{5,} )"  # pytest section separators
    r"|(?:PASSED|FAILED|ERROR|SKIPPED|XFAIL) \S+::"  # pytest -rA summary rows
    r"|(?P<lvl3>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?:[\w.]+:| +)"  # stdlib basicConfig, uvicorn
    r"|E {2,}\S"  # pytest's failure report: `E   TimeoutError: …`
)
_STDLIB = re.compile(
    r"(?P<lvl>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?:(?P<logger>[\w.]+):| +)")  # `INFO:     …`
_PYTEST_E = re.compile(r"E {2,}")



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
    if m is None or line[:1] == "[" and line[m.end() - 1 : m.end()] != "]":
        b = _BRACKET_STAMP.match(line) if line[:1] == "[" else None
        if b is not None:
            return LineHead(b.group(1), None, line[b.end():])
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
    m = _BRACKET_LEVEL.match(rest)
    if m and m.group("lvl").upper() in LEVELS:
        return LEVELS[m.group("lvl").upper()], None, rest[m.end():]
    return None, None, stripped


def unstamped_start(line: str) -> str | None:
    """Severity ('' if none) when an unstamped line begins its own record, else None."""
    m = _UNSTAMPED_START.match(line)
    if m is None:
        return None
    if line[:1] == "E" and _PYTEST_E.match(line):
        return "ERROR"
    lvl = m.group("lvl") or m.group("lvl2") or m.group("lvl3") or ""
    return LEVELS.get(lvl, "")


def split_unstamped(line: str) -> tuple[str, str | None]:
    """(message, logger) of an unstamped record line: pytest's `E   ` and the stdlib
    `LEVEL:logger:` prefixes are not part of the message rules should see."""
    m = _PYTEST_E.match(line)
    if m is not None:
        return line[m.end():], None
    m = _STDLIB.match(line)
    if m is not None:
        return line[m.end():], m.group("logger")
    return line, None


def _ends_or_separates(text: str) -> bool:
    """True when a zone-like word is followed by nothing or a field separator (so it is a zone)."""
    after = text.lstrip()
    return not after or after.startswith(("|", "- ", "]"))
