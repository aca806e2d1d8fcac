"""Validated finding-rule TOML → FindingRule: window, condition sanity, text templates, scenario.

Text templates are filled later with `str.format_map` from event ids and attrs, so a malformed
`{` or a positional `{0}` would only fail while rendering a report; we catch it at load time.
"""

from __future__ import annotations

import string
from pathlib import Path

from ..timeutil import TimestampError, parse_duration
from .issues import IssueLog
from .loader_patterns import compile_table
from .model import Condition, FindingRule, ScenarioExpect

DEFAULT_WINDOW = "60s"
TEMPLATE_KEYS = ("title", "cause", "critical_failure", "symptom", "fix", "key")
_NEEDS_EXPECT = ("absence", "incomplete")


def build_finding_rule(doc: dict, path: Path, pack: str, log: IssueLog) -> FindingRule | None:
    """The typed rule, or None when the file had any issue (all of them reported to `log`)."""
    for key in TEMPLATE_KEYS:
        if key in doc:
            _check_template(doc[key], f"/{key}", log)
    when = _condition(doc.get("when", {}), log)
    absorbs = duration_seconds(doc.get("absorbs_within", "60s"), "/absorbs_within", log)
    if doc.get("scope", "connection") not in ("connection", "run") and when is not None and (
        when.type not in ("count", "presence")
    ):
        log("/when/type", f"a {doc['scope']}-scope rule counts events: use 'count' or 'presence'")
    if log.count or when is None or absorbs is None:
        return None
    scenario = doc["scenario"]
    return FindingRule(
        id=doc["id"],
        cls=doc["class"],
        role=doc["role"],
        severity=doc["severity"],
        priority=doc.get("priority", 0),
        title=doc["title"],
        cause=doc["cause"],
        critical_failure=doc["critical_failure"],
        symptom=doc["symptom"],
        fix=doc["fix"],
        key=doc.get("key", ""),
        when=when,
        path=path,
        scope=doc.get("scope", "connection"),
        absorbs_within=absorbs,
        evidence_kinds=list(doc.get("evidence", [])),
        scenario_log=path.parent / scenario["log"],
        scenario_expect=[
            ScenarioExpect(e.get("connection"), e["class"], e.get("scope_key"))
            for e in scenario["expect"]
        ],
        pack=pack,
    )


def _condition(doc: dict, log: IssueLog) -> Condition | None:
    window = duration_seconds(doc.get("window", DEFAULT_WINDOW), "/when/window", log)
    kind = doc.get("type")
    if kind in _NEEDS_EXPECT and not doc.get("expect"):
        log("/when/expect", f"a '{kind}' condition needs the event kinds it waits for")
    at_least = doc.get("at_least", 1)
    if at_least < 1 or at_least > 1_000_000:
        log("/when/at_least", f"at_least must be between 1 and 1000000, got {at_least}")
    attrs = compile_table(doc.get("attrs", {}), "/when/attrs", log)
    firm = compile_table(doc.get("firm", {}), "/when/firm", log)
    if window is None or "type" not in doc or "trigger" not in doc or log.count:
        return None
    return Condition(
        type=kind,
        trigger=list(doc["trigger"]),
        expect=list(doc.get("expect", [])),
        window_seconds=window,
        before_any=list(doc.get("before_any", [])),
        unless=list(doc.get("unless", [])),
        requires=list(doc.get("requires", [])),
        at_least=at_least,
        attrs=attrs,
        distinct=doc.get("distinct", ""),
        firm=firm,
    )


def duration_seconds(text: str, key: str, log: IssueLog) -> float | None:
    """A rule's duration ("60s", "10m") in seconds; problems go to `log` under `key`."""
    try:
        seconds = parse_duration(text).total_seconds()
    except TimestampError as exc:
        log(key, str(exc))
        return None
    if seconds <= 0:
        log(key, f"duration must be longer than zero, got {text!r}")
        return None
    return seconds


def _check_template(text: str, key: str, log: IssueLog) -> None:
    """`{name}` placeholders only: balanced braces, names not numbers or attribute lookups."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        log(key, f"bad placeholder: {exc} (write {{{{ and }}}} for literal braces)")
        return
    for name in fields:
        if not name.isidentifier():
            log(key, f"placeholder {{{name}}} must be a name such as {{message_type}}")
