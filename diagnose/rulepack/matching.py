"""The one place a record is tested against an event rule: shared by parse stage and self-test.

Order is cheapest first: severity gate, `[where]` field conditions, prefilter literals, then the
regexes (first match wins). Only the first 64 KiB of a record's text is searched, so one
multi-megabyte line cannot dominate a run.
"""

from __future__ import annotations

from ..model import SEVERITY_RANK
from .model import ID_GROUPS, EventRule

MAX_MATCH_CHARS = 64 * 1024
_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL", "ERR": "ERROR", "CRIT": "CRITICAL"}


def severity_rank(severity: str | None) -> int:
    """Cloud Logging rank of a severity name; unknown or missing names rank as DEFAULT (0)."""
    if severity is None:
        return 0
    rank = SEVERITY_RANK.get(severity)
    if rank is None:
        name = severity.strip().upper()
        rank = SEVERITY_RANK.get(_ALIASES.get(name, name), 0)
    return rank


def apply_event_rule(
    rule: EventRule,
    text: str,
    fields: dict[str, str] | None = None,
    severity: str | None = None,
) -> dict[str, str] | None:
    """Match one record against one rule: the named groups merged over `rule.attrs`, or None.

    An empty dict is a match (a pattern without groups on a rule without attrs). Groups that did
    not take part in the match (None) are dropped, so they never override an attr.
    """
    if (rule.min_severity is not None or rule.where) and not _gates_pass(rule, fields, severity):
        return None
    if len(text) > MAX_MATCH_CHARS:
        text = text[:MAX_MATCH_CHARS]
    for literal in rule.prefilter:
        if literal in text:
            break
    else:
        return None
    m = _first_match(rule, text)
    if m is None:
        return None
    groups = dict(rule.attrs)
    groups.update({k: v for k, v in m.groupdict().items() if v is not None})
    return groups


def _first_match(rule: EventRule, text: str):
    """The first of the rule's patterns to match `text` (already cut to the search window),
    unless an exclude pattern vetoes it; a pattern is searched only when `text` holds its
    required literal. None: no match."""
    if rule.exclude and any(veto.search(text) is not None for veto in rule.exclude):
        return None
    for pattern, literal in zip(rule.patterns, rule.pattern_literals, strict=True):
        if literal not in text:  # "" is in every text
            continue
        m = pattern.search(text)
        if m is not None:
            return m
    return None


_IDS = frozenset(ID_GROUPS)


def event_values(
    rule: EventRule, text: str, fields: dict[str, str] | None, severity: str | None
) -> tuple[dict[str, str], dict[str, str]] | None:
    """apply_event_rule for the parse stage, as the (ids, attrs) an event carries: the record
    is known to hold one of the rule's prefilter literals (parse.RuleIndex found it), so that
    test is only repeated where the search window cuts the text. A third of the per-record
    matching cost was building, merging and splitting dicts."""
    if (rule.min_severity is not None or rule.where) and not _gates_pass(rule, fields, severity):
        return None
    if len(text) > MAX_MATCH_CHARS:
        text = text[:MAX_MATCH_CHARS]
        if not any(literal in text for literal in rule.prefilter):
            return None
    m = _first_match(rule, text)
    if m is None:
        return None
    groups = m.groupdict()
    if rule.attrs:  # a group that took part overrides the rule's attr of that name
        groups = {**rule.attrs, **{k: v for k, v in groups.items() if v is not None}}
    ids: dict[str, str] = {}
    attrs: dict[str, str] = {}
    for name, value in groups.items():
        if value is None:
            continue
        if name in _IDS:
            if value:
                ids[name] = value
        else:
            attrs[name] = value
    return ids, attrs


def _gates_pass(rule: EventRule, fields: dict[str, str] | None, severity: str | None) -> bool:
    """The rule's severity floor and `[where]` field conditions hold (checked before any text)."""
    if rule.min_severity is not None and (
        severity is None or severity_rank(severity) < SEVERITY_RANK[rule.min_severity]
    ):
        return False
    return not rule.where or fields_match(rule, fields)


def fields_match(rule: EventRule, fields: dict[str, str] | None) -> bool:
    """Every `[where]` condition holds: exact string equality, or a compiled /regex/ search."""
    if not fields:
        return False
    for name, condition in rule.where.items():
        value = fields.get(name)
        if value is None:
            return False
        if isinstance(condition, str):
            if value != condition:
                return False
        elif condition.search(value) is None:
            return False
    return True


def why_not(rule: EventRule, text: str, fields: dict[str, str] | None, severity: str | None) -> str:
    """Why a record does not match `rule` (for self-test messages); "" when it does match."""
    if rule.min_severity is not None and (
        severity is None or severity_rank(severity) < SEVERITY_RANK[rule.min_severity]
    ):
        return f"severity {severity or 'none'} is below the rule's min_severity {rule.min_severity}"
    if rule.where and not fields_match(rule, fields):
        return f"fields {fields or {}} do not satisfy [where] {_where_text(rule)}"
    window = text[:MAX_MATCH_CHARS]
    if not any(lit in window for lit in rule.prefilter):
        return "contains none of the prefilter literals, so the prefilter would hide it"
    for i, veto in enumerate(rule.exclude):
        if veto.search(window) is not None:
            return f"exclude/{i} matches it ({veto.pattern!r})"
    if first_matching_pattern(rule, window) is None:
        return "matches none of the patterns"
    return ""


def first_matching_pattern(rule: EventRule, text: str) -> int | None:
    """Index of the pattern that wins for `text` (the first that matches), or None."""
    window = text[:MAX_MATCH_CHARS]
    for i, pattern in enumerate(rule.patterns):
        if pattern.search(window) is not None:
            return i
    return None


def _where_text(rule: EventRule) -> str:
    parts = [
        f"{k}={v if isinstance(v, str) else '/' + v.pattern + '/'}" for k, v in rule.where.items()
    ]
    return "{" + ", ".join(parts) + "}"


def split_groups(groups: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """A match's values → (correlation ids: connection/user/thread/run, every other attr)."""
    ids = {k: v for k, v in groups.items() if k in ID_GROUPS}
    attrs = {k: v for k, v in groups.items() if k not in ID_GROUPS}
    return ids, attrs


def search_timeouts(rules: list[EventRule]) -> dict[str, int]:
    """Rule id → searches of its `engine = "re"` patterns that ran out of time in this process
    (each counted as no match; regex_safety.BoundedPattern)."""
    counts: dict[str, int] = {}
    for rule in rules:
        patterns = [*rule.patterns, *rule.exclude, *rule.where.values()]
        n = sum(getattr(p, "timeouts", 0) for p in patterns)
        if n:
            counts[rule.id] = n
    return counts
