"""Time stamps → aware UTC datetimes, whatever shape the logs print them in.

Abbreviations (PDT, PST, …) are fixed offsets, as the log line states them: dateutil alone would
silently drop them (naive result + warning), and a zone database would let DST rules override
what the line says. Epoch numbers are detected by size (s, ms, µs, ns). Naive stamps get the
user's `--tz` (default UTC), never the machine's zone.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from dateutil import parser as dateutil_parser
from dateutil import tz as dateutil_tz

TZ_ABBREVIATIONS: dict[str, int] = {
    "UTC": 0, "GMT": 0, "Z": 0,
    "PDT": -7 * 3600, "PST": -8 * 3600, "MDT": -6 * 3600, "MST": -7 * 3600,
    "CDT": -5 * 3600, "CST": -6 * 3600, "EDT": -4 * 3600, "EST": -5 * 3600,
    "BST": 3600, "CET": 3600, "CEST": 2 * 3600, "EET": 2 * 3600, "EEST": 3 * 3600,
    "IST": 19800, "JST": 9 * 3600, "AEST": 10 * 3600, "AEDT": 11 * 3600,
}
MAX_STAMP = 80  # characters; `Sun Dec 04 04:47:44.123456 2005 +00:00` is well below
MIN_YEAR, MAX_YEAR = 1900, 2999  # log stamps outside these years are unreadable, not data
_EPOCH = re.compile(r"^\d{9,19}(?:\.\d+)?$")
_ISO_FAST = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?$")
_TRAILING_ABBR = re.compile(r"\s([A-Z]{2,5})$")
_ISO_ABBR = re.compile(r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,6})?) ([A-Z]{1,5})$")


class TimestampError(ValueError):
    """A time stamp we cannot read, or one naming a zone we do not know."""


def resolve_tz(name: str) -> tzinfo:
    """`--tz` value → tzinfo: an abbreviation, an offset like +02:00, or an IANA name."""
    if name.upper() in TZ_ABBREVIATIONS:
        return timezone(timedelta(seconds=TZ_ABBREVIATIONS[name.upper()]))
    m = re.fullmatch(r"([+-])(\d\d):?(\d\d)", name)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
    zone = dateutil_tz.gettz(name)
    if zone is None:
        raise TimestampError(f"unknown time zone {name!r}")
    return zone


def from_epoch(value: float | int | str) -> datetime:
    """Epoch seconds/millis/micros/nanos (chosen by magnitude) → aware UTC datetime."""
    text = str(value)
    whole = text.split(".")[0]
    scale = {13: 1e3, 16: 1e6, 19: 1e9}.get(len(whole), 1.0)
    if scale > 1e3 and whole == text and whole.isdigit():  # exact µs/ns: no float rounding
        micros = int(whole) // int(scale // 1e6)
        try:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
        except OverflowError as exc:
            raise TimestampError(f"epoch time stamp out of range: {text[:40]!r}") from exc
    try:
        return datetime.fromtimestamp(float(text) / scale, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise TimestampError(f"epoch time stamp out of range: {text[:40]!r}") from exc


def parse_timestamp(value: object, default_tz: tzinfo = UTC) -> tuple[datetime, bool]:
    """Parse one time stamp; returns (aware UTC datetime, was_naive).

    Raises TimestampError with a short reason on anything unreadable or an unknown zone name.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _to_utc(from_epoch(value), UTC)
    if isinstance(value, dict):  # Cloud Run {"seconds": …, "nanos": …}
        try:
            secs = float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9
        except (TypeError, ValueError, OverflowError) as exc:
            raise TimestampError(f"bad time stamp object {str(value)[:60]!r}") from exc
        return _to_utc(from_epoch(secs), UTC)
    if not isinstance(value, str) or not value.strip():
        raise TimestampError(f"missing or non-text time stamp {str(value)[:60]!r}")
    text = value.strip()
    if len(text) > MAX_STAMP:  # no real stamp is this long; dateutil would choke on it
        raise TimestampError(f"unreadable time stamp {text[:60]!r}… ({len(text)} characters)")
    if _EPOCH.match(text):
        return _to_utc(from_epoch(text), UTC)
    if _ISO_FAST.match(text):
        try:
            dt = datetime.fromisoformat(text.replace(",", "."))
        except ValueError:
            dt = None
        if dt is not None:
            return _to_utc(dt, default_tz)
    return _parse_general(text, default_tz)


def _parse_general(text: str, default_tz: tzinfo) -> tuple[datetime, bool]:
    fast = _ISO_ABBR.match(text)
    if fast and fast.group(2) in TZ_ABBREVIATIONS:  # Console copy-paste: `… 16:49:24.508 PDT`
        try:
            dt = datetime.fromisoformat(fast.group(1).replace(",", "."))
        except ValueError:
            dt = None
        if dt is not None:
            offset = timezone(timedelta(seconds=TZ_ABBREVIATIONS[fast.group(2)]))
            return _to_utc(dt.replace(tzinfo=offset), UTC)
    abbr = _TRAILING_ABBR.search(text)
    if abbr and abbr.group(1) not in TZ_ABBREVIATIONS and not abbr.group(1).isdigit():
        raise TimestampError(f"unknown time zone {abbr.group(1)!r} in {text[:60]!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", dateutil_parser.UnknownTimezoneWarning)
            dt = dateutil_parser.parse(text, tzinfos=TZ_ABBREVIATIONS)
    except dateutil_parser.UnknownTimezoneWarning as exc:
        raise TimestampError(f"unknown time zone in {text[:60]!r}") from exc
    except (ValueError, OverflowError, ArithmeticError) as exc:  # decimal errors on odd digits
        raise TimestampError(f"unreadable time stamp {text[:60]!r}") from exc
    return _to_utc(dt, default_tz)


def _to_utc(dt: datetime, default_tz: tzinfo) -> tuple[datetime, bool]:
    """Aware UTC, or TimestampError for a stamp no log can carry (the edges of datetime).

    Years outside MIN_YEAR..MAX_YEAR are refused too: `0001-01-01T00:00:00+05:00` cannot even be
    converted to UTC, and a stamp in year 9999 would overflow any window added to it later.
    """
    naive = dt.tzinfo is None
    try:
        out = (dt.replace(tzinfo=default_tz) if naive else dt).astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise TimestampError(f"time stamp out of range: {dt.isoformat()[:40]!r}") from exc
    if not MIN_YEAR <= out.year <= MAX_YEAR:
        raise TimestampError(f"time stamp out of range: {dt.isoformat()[:40]!r}")
    return out, naive


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '2h', '1d', '1h30m' → timedelta (for --since and rule windows)."""
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != re.sub(r"\s+", "", text.strip().lower()):
        raise TimestampError(f"not a duration: {text!r} (try 90s, 15m, 2h, 1d)")
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return timedelta(seconds=sum(float(n) * unit[u] for n, u in parts))


_WINDOW_STAMP = re.compile(r"^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?)?(?:Z|[+-]\d\d:?\d\d)?$")
WINDOW_FORMS = "a duration such as 90s, 15m, 2h, 1d or 1h30m, or a time stamp such as 2025-09-08T23:00:00Z"


def parse_window_bound(text: str) -> timedelta | datetime:
    """`--since` / `--until`: a duration back (timedelta) or an ISO 8601 time stamp (aware UTC).

    Only the documented forms: free text such as "2 hours", "-5h", "5" or "monday" would
    otherwise be read by the lenient log-time-stamp parser as some unintended time.
    """
    value = text.strip()
    try:
        duration = parse_duration(value)
    except TimestampError:
        duration = None
    if duration is not None:
        if duration <= timedelta(0):
            raise TimestampError(f"{text!r} is not a positive duration (use {WINDOW_FORMS})")
        return duration
    if not _WINDOW_STAMP.match(value):
        raise TimestampError(f"cannot read {text[:60]!r}: use {WINDOW_FORMS}")
    return parse_timestamp(value)[0]


def isoformat_z(dt: datetime) -> str:
    """UTC datetime → RFC 3339 with a Z (what reports and the Logging API want)."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
