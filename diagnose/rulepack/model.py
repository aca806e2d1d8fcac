"""Typed rules: the loader turns TOML into these, and no other module touches raw dicts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ID_GROUPS = ("connection", "user", "thread", "run")


@dataclass(slots=True)
class Sample:
    text: str
    expect: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)  # RawRecord.fields for [where] rules
    severity: str | None = None


@dataclass(slots=True)
class EventRule:
    """A log line → a normalized event."""

    id: str
    emits: str
    title: str
    prefilter: list[str]
    patterns: list[re.Pattern]
    path: Path
    status: str = "stable"
    attrs: dict[str, str] = field(default_factory=dict)
    min_severity: str | None = None
    where: dict[str, object] = field(default_factory=dict)  # field -> str | re.Pattern
    sticky_ids: bool = False
    sets_sticky_ids: bool = False
    samples: list[Sample] = field(default_factory=list)
    counter_samples: list[Sample] = field(default_factory=list)
    pack: str = ""


@dataclass(slots=True)
class Condition:
    type: str  # absence | incomplete | presence | unexplained
    trigger: list[str]
    expect: list[str] = field(default_factory=list)
    window_seconds: float = 60.0
    before_any: list[str] = field(default_factory=list)
    unless: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)  # fires only if one of these kinds occurs


@dataclass(slots=True)
class ScenarioExpect:
    connection: str
    cls: str


@dataclass(slots=True)
class FindingRule:
    """A condition over a connection's timeline → a finding with its five-whys text."""

    id: str
    cls: str
    role: str
    severity: str
    priority: int
    title: str
    cause: str
    critical_failure: str
    symptom: str
    fix: str
    key: str
    when: Condition
    path: Path
    scenario_log: Path | None = None
    scenario_expect: list[ScenarioExpect] = field(default_factory=list)
    pack: str = ""


@dataclass(slots=True)
class RulePack:
    id: str
    version: str
    description: str
    path: Path
    known_message_types: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RuleSet:
    """All loaded packs merged: what the pipeline runs with."""

    packs: list[RulePack]
    event_rules: list[EventRule]
    finding_rules: list[FindingRule]

    @property
    def known_message_types(self) -> list[str]:
        seen: dict[str, None] = {}
        for pack in self.packs:
            for t in pack.known_message_types:
                seen.setdefault(t, None)
        return list(seen)

    def prefilter_literals(self) -> list[str]:
        """Every literal any event rule needs; a record containing none of them is ignored."""
        seen: dict[str, None] = {}
        for rule in self.event_rules:
            for lit in rule.prefilter:
                seen.setdefault(lit, None)
        return list(seen)

    def versions(self) -> list[str]:
        return [f"{p.id}@{p.version}" for p in self.packs]
