"""Validated event-rule TOML → EventRule: compile and vet regexes, `[where]` conditions, prefilters.

Runs after the schema check, on the cleaned document; every problem goes to the file's IssueLog,
and a rule is only built when its file had none (a half-valid rule would misparse logs silently).
"""

from __future__ import annotations

from pathlib import Path

from .issues import IssueLog
from .model import EventRule, Sample
from .regex_safety import compile_checked

MIN_PREFILTER_CHARS = 3


def build_event_rule(
    doc: dict, path: Path, pack: str, log: IssueLog, *, shipped: bool = False
) -> EventRule | None:
    """The typed rule, or None when the file had any issue (all of them reported to `log`).
    A `shipped` pack's RE2 patterns compile on first use (its tests compile them all)."""
    engine = doc.get("engine", "re2")
    patterns = _compile_patterns(doc.get("patterns", []), log, engine, shipped)
    exclude = _compile_patterns(doc.get("exclude", []), log, engine, shipped, key="exclude")
    where = _compile_where(doc.get("where", {}), log, engine, shipped)
    _check_prefilter(doc.get("prefilter", []), log)
    if log.count:
        return None
    return EventRule(
        id=doc["id"],
        emits=doc["emits"],
        title=doc["title"],
        prefilter=list(doc["prefilter"]),
        patterns=patterns,
        path=path,
        exclude=exclude,
        status=doc.get("status", "stable"),
        attrs=dict(doc.get("attrs", {})),
        min_severity=doc.get("min_severity"),
        where=where,
        sticky_ids=doc.get("sticky_ids", False),
        sets_sticky_ids=doc.get("sets_sticky_ids", False),
        samples=[_sample(s) for s in doc["samples"]],
        counter_samples=[_sample(s) for s in doc.get("counter_samples", [])],
        pack=pack,
    )


def _sample(doc: dict) -> Sample:
    return Sample(
        text=doc["text"],
        expect=dict(doc.get("expect", {})),
        fields=dict(doc.get("fields", {})),
        severity=doc.get("severity"),
    )


def _compile_patterns(patterns: list[str], log: IssueLog, engine: str, shipped: bool,
                      key: str = "patterns") -> list:
    compiled = []
    for i, pattern in enumerate(patterns):
        regex, problem = compile_checked(pattern, engine, deferred=shipped)
        if problem:
            log(f"/{key}/{i}", problem)
        else:
            compiled.append(regex)
    return compiled


def _compile_where(
    where: dict[str, str], log: IssueLog, engine: str, shipped: bool
) -> dict[str, object]:
    """`'/regex/'` values become compiled patterns (vetted like patterns); others match exactly."""
    conditions: dict[str, object] = {}
    for name, value in where.items():
        if len(value) >= 2 and value.startswith("/") and value.endswith("/"):
            regex, problem = compile_checked(value[1:-1], engine, deferred=shipped)
            if problem:
                log(f"/where/{name}", problem)
                continue
            conditions[name] = regex
        else:
            conditions[name] = value
    return conditions


def _check_prefilter(literals: list[str], log: IssueLog) -> None:
    for i, literal in enumerate(literals):
        if not literal:
            log(f"/prefilter/{i}", "empty prefilter literal: it would let every record through")
        elif len(literal) < MIN_PREFILTER_CHARS:
            log(
                f"/prefilter/{i}",
                f"prefilter literal {literal!r} is shorter than {MIN_PREFILTER_CHARS} characters; "
                "it would let almost every record through",
            )
