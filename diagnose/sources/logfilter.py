"""Compile a rule set into a Cloud Logging server-side filter.

Only entries that could match a rule should cross the network: the pull is paged and
rate-limited (about 60–120 read requests a minute per project), so the filter carries the rules'
literal anchors as `:` (has / substring) terms, plus request-log entries with an HTTP error.
The window is always written out, because without a `timestamp` term the client silently
narrows the query to the last 24 hours. The Logging query
language binds OR tighter than AND; every OR group is parenthesised anyway so the filter reads
the same to a human. Output is deterministic (same inputs, same string) so tests and saved
provenance can compare it exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..errors import UsageError
from ..rulepack.model import RuleSet

MAX_FILTER_CHARS = 20_000  # the Logging API's limit on a filter
# Where a rule's text lives in a LogEntry (see sources/logentry.py: textPayload, or the JSON
# payload's message; the netra backend writes one or the other).
MESSAGE_FIELDS = ("textPayload", "jsonPayload.message")
# Request-log entries carry no message text; the failed ones (a 503 while the service starts)
# are evidence, so they are fetched too. sqlcompile.py keeps the same rows, so an API pull and
# a BigQuery pull of one window read the same entries.
HTTP_ERRORS = "httpRequest.status>=400"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_WORD = re.compile(r"\w{4,}")


@dataclass(slots=True)
class FilterPlan:
    """The compiled filter plus what the user should be told about it."""

    text: str
    anchors: list[str]  # the literals actually sent (after reduction or broadening)
    notes: list[str] = field(default_factory=list)


def build_filter(
    ruleset: RuleSet,
    since: datetime,
    until: datetime,
    *,
    extra: str | None = None,
    resource_type: str | None = "cloud_run_revision",
    service: str | None = None,
) -> str:
    """The filter string for `entries.list` (see compile_filter for the notes that go with it)."""
    return compile_filter(
        ruleset, since, until, extra=extra, resource_type=resource_type, service=service
    ).text


def compile_filter(
    ruleset: RuleSet,
    since: datetime,
    until: datetime,
    *,
    extra: str | None = None,
    resource_type: str | None = "cloud_run_revision",
    service: str | None = None,
) -> FilterPlan:
    """Window, resource terms, literal anchors and `extra`, kept under MAX_FILTER_CHARS.

    If every literal does not fit, fall back to fewer, broader anchors (shared words), then to
    no anchors at all; each fallback is explained in `notes`. Raises UsageError for an empty or
    reversed window, or when the window, resource terms and `extra` alone are too long.
    """
    head = window_terms(since, until) + _resource_terms(resource_type, service)
    tail = _extra_term(extra)
    unanchored = [r.id for r in ruleset.event_rules if not any(p.strip() for p in r.prefilter)]
    literals = [] if unanchored else minimal_literals(ruleset.prefilter_literals())
    plan = FilterPlan(_join(head, literals, tail), literals)
    if unanchored:  # such a rule may match any text, so no anchor may narrow the pull
        plan.notes.append(
            f"event rule {unanchored[0]} has no prefilter literal: every entry in the window is fetched"
        )
    elif not literals:
        plan.notes.append("the rule pack declares no literal anchors: every entry in the window is fetched")
    if _fits(plan.text):
        return plan
    broad = broaden(literals)
    plan = FilterPlan(_join(head, broad, tail), broad)
    if _fits(plan.text):
        plan.notes.append(
            f"the {len(literals)} rule literals would exceed the Logging API's "
            f"{MAX_FILTER_CHARS:,}-character filter limit; sent {len(broad)} broader anchors "
            "instead, so more entries are fetched and filtered locally"
        )
        return plan
    plan = FilterPlan(_join(head, [], tail), [])
    if not _fits(plan.text):
        raise UsageError(
            f"the Cloud Logging filter would be {_size(plan.text):,} characters even without "
            f"rule anchors (limit {MAX_FILTER_CHARS:,})",
            hint="shorten the --filter expression",
        )
    plan.notes.append(
        f"the rule literals do not fit the Logging API's {MAX_FILTER_CHARS:,}-character filter "
        "limit; no text anchors were sent, so every entry in the window is fetched"
    )
    return plan


def window_terms(since: datetime, until: datetime) -> list[str]:
    """`timestamp>="…Z"` and `timestamp<"…Z"`: half-open, so adjacent windows never overlap."""
    start, end = _utc(since), _utc(until)
    if start >= end:
        raise UsageError(
            f"empty time window: since {format_time(start)} is not before until {format_time(end)}"
        )
    return [f'timestamp>="{format_time(start)}"', f'timestamp<"{format_time(end)}"']


def format_time(dt: datetime) -> str:
    """RFC 3339 in UTC with a Z; fractional seconds only when there are any."""
    dt = _utc(dt)
    spec = "microseconds" if dt.microsecond else "seconds"
    return dt.isoformat(timespec=spec).replace("+00:00", "Z")


def quote(value: str) -> str:
    """A double-quoted Logging query string with backslashes and quotes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def minimal_literals(literals: list[str]) -> list[str]:
    """Sorted, de-duplicated anchors with the redundant ones removed.

    `:` matches case-insensitively, so an anchor that contains another (ignoring case) adds
    nothing: any entry it matches, the shorter one matches too. Control characters cannot be
    quoted portably, so a literal keeps its longest run without them (a broader anchor).
    """
    cleaned: dict[str, str] = {}
    for lit in literals:
        part = max(_CONTROL.split(lit), key=len).strip()
        if part:
            cleaned.setdefault(part.casefold(), part)
    kept: list[str] = []
    for key in sorted(cleaned, key=lambda k: (len(k), k)):  # shorter first: they cover
        if not any(k in key for k in kept if len(k) < len(key)):
            kept.append(key)
    return sorted(cleaned[k] for k in kept)


def broaden(literals: list[str]) -> list[str]:
    """Fewer anchors that still cover every literal: greedy cover by shared words (≥ 4 chars).

    Each round picks the word found in the most uncovered literals (ties: longer, then
    alphabetical). Once no word is shared, each remaining literal is represented by its own
    longest word (or itself, if it has none). Deterministic.
    """
    uncovered = {lit: {w.casefold() for w in _WORD.findall(lit)} for lit in literals}
    anchors: list[str] = []
    while uncovered:
        counts: dict[str, int] = {}
        for words in uncovered.values():
            for w in words:
                counts[w] = counts.get(w, 0) + 1
        best = min(counts, key=lambda w: (-counts[w], -len(w), w), default=None)
        if best is None or counts[best] == 1:
            anchors.extend(_own_anchor(lit, words) for lit, words in uncovered.items())
            break
        anchors.append(best)
        uncovered = {lit: ws for lit, ws in uncovered.items() if best not in ws}
    return minimal_literals(anchors)


def _own_anchor(literal: str, words: set[str]) -> str:
    return min(words, key=lambda w: (-len(w), w)) if words else literal


def _join(head: list[str], anchors: list[str], tail: list[str]) -> str:
    terms = list(head)
    if anchors:
        ors = [f"{fld}:{quote(lit)}" for lit in anchors for fld in MESSAGE_FIELDS]
        terms.append("(" + " OR ".join([*ors, HTTP_ERRORS]) + ")")
    return " AND ".join(terms + tail)


def _resource_terms(resource_type: str | None, service: str | None) -> list[str]:
    terms = []
    if resource_type:
        terms.append(f"resource.type={quote(resource_type)}")
    if service:
        terms.append(f"resource.labels.service_name={quote(service)}")
    return terms


def _extra_term(extra: str | None) -> list[str]:
    if extra is None or not extra.strip():
        return []
    return [f"({extra.strip()})"]


def _utc(dt: datetime) -> datetime:
    """Aware → UTC; a naive datetime is taken as UTC (never the machine's zone)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _size(text: str) -> int:
    return len(text.encode("utf-8"))  # bytes ≥ characters: safe whichever the API counts


def _fits(text: str) -> bool:
    return _size(text) <= MAX_FILTER_CHARS
