"""Strip the header (time stamp, level, pid, host, thread, logger) off a log line of unknown format.

The readers split the header off the formats they know. A plain-text log in any other format
reaches the miner whole, and then the date, time and pid fill the prefix tree, so lines are
grouped by their length alone. Most text formats share one shape, though: a time stamp first,
then a few short fields (level, pid, host, `[thread]`, `program[pid]:`, `logger:`, a `-` or `|`
separator), then the message. This module recognises that shape, without a list of formats:

1. the stamp: a leading run of date/time-like tokens (`2015-10-18`, `18:01:47,978`, `Jun 14`,
   `[Sun Dec 04 04:47:44 2005]`, an epoch, `20171223-22:15:29:606|…`). A line with no clock time
   or date in that run is left alone, so a message that merely starts with a number is safe;
2. the fields: while, within the next few tokens, there is a level word, a `[…]` group, a
   separator or a `name:` logger token (or, right at the start, a pid), the header extends
   through it; a logger ends the header.

What the readers leave of a known header (`, Info  CBS …`, `[main] org.x.Y: …`) is stripped the
same way when the text starts with a separator and a level word, or with a `[…]` group followed by
a dotted logger. Bounded: only the first `MAX_HEADER_TOKENS` tokens are ever looked at.
"""

from __future__ import annotations

import re
from functools import lru_cache

MAX_HEADER_TOKENS = 24
WINDOW = 3  # host/program/component words allowed before the next header field

_MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
_DAYS = "mon tue wed thu fri sat sun".split()
_CALENDAR = frozenset(_MONTHS + _DAYS)
_LEVELS = frozenset(
    "trace debug info information notice warn warning error err critical crit fatal alert emerg "
    "emergency severe fine finer finest verbose success".split()
)
_CLOCK = re.compile(r"(?<![\d.:])\d{1,2}:\d{1,2}:\d{1,2}(?::\d{1,3})?(?![\d:])")  # 18:01:47, in a token
_DATE = re.compile(  # 2005.06.03, 17/06/09, 2005-06-03-15.42.50.675872, 10.30, 03-17
    r"\d{2,4}[-./]\d{1,2}[-./]\d{1,4}(?:[-./T_]\d+)*|\d\d[-./]\d\d"
)
_IP = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}(?!\d)")
_STAMPISH = re.compile(r"[\d\-./:,_T+Z]+")  # made only of stamp characters
_LOGGER = re.compile(r"[\w.$@/()\[\]<>#*-]+:")  # sshd[24200]:  org.apache.X:  kernel[0]:
_TAG = re.compile(r"[A-Z][A-Z0-9_]{2,15}")  # a leading alert tag before the stamp
_ZEROS = str.maketrans("123456789", "000000000")
_MAX_HEAD_CHARS = 1024  # a header lies within this; also bounds the work on a huge line
_SEPARATORS = frozenset({"-", "|", "--", ":", "::", "-->", "->", ">"})


def strip_header(line: str) -> str:
    """The message of `line` without its header; `line` itself when it has no recognisable one."""
    if line[:1].isalpha() and not _may_start_stamp(line):
        return line  # the common case, a message: decided without splitting the line
    if "|" in line[:64] and (piped := _strip_piped(line)) is not None:
        return piped
    # Every test below depends on where digits are, never on their values: `0`-ing them lets
    # the token tests be cached across lines (`18:01:47` and `18:01:48` are one entry).
    tokens = line[:_MAX_HEAD_CHARS].translate(_ZEROS).split(None, MAX_HEADER_TOKENS)[
        :MAX_HEADER_TOKENS]
    if not tokens:
        return line
    start = _stamp_end(tokens)
    if start == 0:
        if not _header_remnant(tokens):
            return line
    end = _fields_end(tokens, start)
    if end >= len(tokens):  # nothing would be left: the "header" was the message
        return line
    return line.split(None, end)[end].rstrip()


def _may_start_stamp(line: str) -> bool:
    """A line starting with a letter has a stamp only as `Jun 14 …`, `Sun Dec …` or `name.2017-…`."""
    head = line[:48].split(None, 1)[0]
    return (head[:3].lower() in _CALENDAR or any(c.isdigit() for c in head)
            or _TAG.fullmatch(head) is not None)


def _strip_piped(line: str) -> str | None:
    """`20171223-22:15:29:606|Step_LSC|30002312|message`: drop the one-word fields before it."""
    parts = line.split("|")
    if " " in parts[0].strip() or not _is_time(parts[0].strip().strip("[]")):
        return None
    i = 1
    while i < len(parts) - 1 and i < MAX_HEADER_TOKENS and " " not in parts[i].strip():
        i += 1
    return "|".join(parts[i:]).strip()


def _stamp_end(tokens: list[str]) -> int:
    """How many leading tokens form the time stamp; 0 when there is no clock time or date.

    One leading capitalised tag may come first (BGL's `APPSEV 1117955341 2005.06.05 …`)."""
    tagged = len(tokens) > 1 and _TAG.fullmatch(tokens[0]) is not None
    i, timed, numbers_only = (1 if tagged else 0), False, True
    while i < len(tokens):
        kind = _stamp_kind(tokens[i])
        if kind == _NOT_STAMP:
            break
        if kind != _FILLER:
            timed = True
            numbers_only = numbers_only and kind == _NUMBER_TIME
        i += 1
    if numbers_only and i - tagged < 2:  # `199680 double-hummer …`: a count, not a date
        return 0
    return i if timed else 0


_NOT_STAMP, _FILLER, _NUMBER_TIME, _TIME = range(4)


@lru_cache(maxsize=16384)
def _stamp_kind(token: str) -> int:
    word = token.strip("[](),")
    if _is_time(word):
        return _NUMBER_TIME if word.isdigit() else _TIME
    if word in ("", "-") or word.isdigit() or word.lower() in _CALENDAR:
        return _FILLER
    return _NOT_STAMP


@lru_cache(maxsize=16384)
def _is_time(word: str) -> bool:
    """A clock time anywhere in the token, a date, or a compact date / epoch number."""
    if not word or not word[0].isalnum() or _IP.match(word):
        return False
    if _CLOCK.search(word) or (_STAMPISH.fullmatch(word) and _DATE.fullmatch(word)):
        return True
    return word.isdigit() and len(word) in (6, 8, 10, 13)  # yymmdd, yyyymmdd, epoch s / ms


def _header_remnant(tokens: list[str]) -> bool:
    """Text a reader left with part of its header: `, Info …`, `INFO …`, `[main] a.b.C: …`."""
    first = tokens[0].strip(",")
    if (not first or first in _SEPARATORS) and len(tokens) > 1:
        return _is_level(tokens[1])
    if not first.startswith("["):
        return False
    close = next((k for k in range(min(len(tokens), 8)) if tokens[k].endswith("]")), None)
    return (close is not None and close + 1 < len(tokens) and _is_logger(tokens[close + 1])
            and "." in tokens[close + 1])


def _fields_end(tokens: list[str], start: int) -> int:
    """Extend the header from `start` through every field found within the next WINDOW tokens."""
    end, level_seen = start, False
    while end < len(tokens):
        found = None
        j = end
        host_like = not level_seen and not _kind(tokens[end]) & _K_TITLE  # after a level: message
        while j < min(len(tokens), end + WINDOW + 1):
            kind = _kind(tokens[j])
            near = j <= end + 1  # `[thread]`, `prog:` come right after the field before them
            if near and kind & _K_OPEN:
                close = next((k for k in range(j + 1, min(len(tokens), j + 8))
                              if tokens[k].endswith("]")), None)
                if close is not None:
                    found = close
                    break
            if kind & _K_LEVEL:
                if level_seen:  # a header has one level: `… INFO parity error …` is the message
                    return end
                level_seen = True
                found = j
                break
            if _is_field(kind, first=j == end, near=near and host_like):
                found = j
                if kind & _K_LOGGER:
                    return j + 1  # the logger is the last field of a header
                break
            j += 1
        if found is None:
            return end
        end = found + 1
    return end


_K_SEP, _K_DIGITS, _K_CLOCKED, _K_BRACKET, _K_OPEN, _K_LEVEL, _K_LOGGER, _K_STRONG_LOGGER, _K_TITLE = (
    1 << n for n in range(9)
)


@lru_cache(maxsize=32768)
def _kind(token: str) -> int:
    """What a (digit-zeroed) token can be in a header, as bit flags; cached across lines."""
    word = token.strip(",")
    stamp = word.strip("[](),")
    flags = 0
    if word in _SEPARATORS or not word:
        flags |= _K_SEP
    if word.isdigit():
        flags |= _K_DIGITS
    if not stamp.isdigit() and _is_time(stamp):  # the time after a host: `dn228 Nov 9 12:01:01`
        flags |= _K_CLOCKED
    if token.startswith("["):
        flags |= _K_BRACKET if token.endswith("]") else _K_OPEN
    if _is_level(token.strip(",[]<>:")):
        flags |= _K_LEVEL
    if _is_logger(token):
        flags |= _K_LOGGER
        if not token[:1].islower() or "[" in token or "." in token:
            flags |= _K_STRONG_LOGGER
    if token.istitle():
        flags |= _K_TITLE
    return flags


def _is_field(kind: int, *, first: bool, near: bool) -> bool:
    """A header field at this place: `first` is right after the last field, `near` one later
    behind a host-like word (`combo cups:`, `dn228/dn228 crond[2915]:`)."""
    if kind & (_K_SEP | _K_CLOCKED) or (first and kind & _K_DIGITS):
        return True
    if kind & _K_BRACKET:
        return first or near
    if not kind & _K_LOGGER:
        return False
    return first or near or bool(kind & _K_STRONG_LOGGER)


def _is_level(word: str) -> bool:
    return word.lower() in _LEVELS


@lru_cache(maxsize=16384)
def _is_logger(token: str) -> bool:
    return len(token) > 1 and bool(_LOGGER.fullmatch(token)) and not token[:-1].isdigit()
