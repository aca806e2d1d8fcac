"""Typed rules: the loader turns TOML into these, and no other module touches raw dicts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .regex_safety import required_literal

ID_GROUPS = ("connection", "user", "thread", "run")
# Where a finding belongs: one client session, one agent run, one process, one deployed revision,
# or the whole service. Wider scopes explain the failures of the narrower ones in their window.
SCOPES = ("connection", "run", "instance", "revision", "service")
CLASS_ROLES = ("cause", "symptom", "ok", "pending")
PLACEMENTS = ("pair_next", "last_request", "live_run", "join_recent", "new_connection")


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
    exclude: list[re.Pattern] = field(default_factory=list)  # a match here vetoes the rule
    status: str = "stable"
    attrs: dict[str, str] = field(default_factory=dict)
    min_severity: str | None = None
    where: dict[str, object] = field(default_factory=dict)  # field -> str | re.Pattern
    sticky_ids: bool = False
    sets_sticky_ids: bool = False
    samples: list[Sample] = field(default_factory=list)
    counter_samples: list[Sample] = field(default_factory=list)
    pack: str = ""
    # per pattern, text any match must contain ("" when unknown): a record without it skips
    # that pattern's search (most rules hold several patterns behind one prefilter literal)
    pattern_literals: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.pattern_literals = [required_literal(p.pattern) for p in self.patterns]


@dataclass(slots=True)
class Condition:
    type: str  # absence | incomplete | presence | unexplained
    trigger: list[str]
    expect: list[str] = field(default_factory=list)
    window_seconds: float = 60.0
    before_any: list[str] = field(default_factory=list)
    unless: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)  # fires only if one of these kinds occurs
    at_least: int = 1  # count: this many triggers within the window, per scope value
    distinct: str = ""  # count distinct values of this id (e.g. "instance"), not lines
    attrs: dict[str, re.Pattern] = field(default_factory=dict)  # trigger attr conditions
    # a trigger whose attrs match all of these keeps a count rule from standing down when its
    # `unless` kinds outnumber it (a server-side reason is a cause whatever other clients did)
    firm: dict[str, re.Pattern] = field(default_factory=dict)


@dataclass(slots=True)
class ScenarioExpect:
    """A connection's expected outcome, or (no connection) a finding of `cls` expected in the
    report, optionally on the scope value `scope_key`."""

    connection: str | None
    cls: str
    scope_key: str | None = None


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
    scope: str = "connection"
    absorbs_within: float = 60.0  # a wider-scope cause explains symptoms this long after it
    evidence_kinds: list[str] = field(default_factory=list)  # related lines shown and quoted
    scenario_log: Path | None = None
    scenario_expect: list[ScenarioExpect] = field(default_factory=list)
    pack: str = ""


@dataclass(slots=True)
class OutcomeClass:
    """A class a connection or a scope can end in; declared in a pack, not in Python."""

    id: str
    label: str
    role: str  # cause | symptom | ok (healthy) | pending (could still complete)
    colour: str = "red"
    priority: int = 0  # among classes of the same role, higher is shown first


@dataclass(slots=True)
class Placement:
    """How an event that names no connection finds its timeline (or waits for one)."""

    kinds: list[str]  # exact kinds, or "prefix.*"
    strategy: str  # pair_next | last_request | live_run | new_connection
    pair_kinds: list[str] = field(default_factory=list)  # pair_next: the kinds it waits for
    match: list[str] = field(default_factory=list)  # attrs that must be equal when both have them
    within_seconds: float = 1.0

    def applies(self, kind: str) -> bool:
        return any(
            kind == k or (k.endswith(".*") and kind.startswith(k[:-1])) for k in self.kinds
        )


@dataclass(slots=True)
class RulePack:
    id: str
    version: str
    description: str
    path: Path
    known_message_types: list[str] = field(default_factory=list)
    classes: list[OutcomeClass] = field(default_factory=list)
    symptom_kinds: list[str] = field(default_factory=list)
    ending_kinds: list[str] = field(default_factory=list)
    scope_fields: dict[str, str] = field(default_factory=dict)  # scope id -> RawRecord field
    placements: list[Placement] = field(default_factory=list)
    ignore_ids: dict[str, re.Pattern] = field(default_factory=dict)  # id kind -> pattern
    type_fixes: dict[str, str] = field(default_factory=dict)  # unknown type -> the fix shipped


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

    @property
    def classes(self) -> dict[str, OutcomeClass]:
        """Every declared class by id; a later pack may override an earlier pack's entry."""
        return {c.id: c for pack in self.packs for c in pack.classes}

    def class_with_role(self, role: str, default: str) -> str:
        return next((c.id for c in self.classes.values() if c.role == role), default)

    @property
    def symptom_kinds(self) -> frozenset[str]:
        return frozenset(k for pack in self.packs for k in pack.symptom_kinds)

    @property
    def ending_kinds(self) -> frozenset[str]:
        return frozenset(k for pack in self.packs for k in pack.ending_kinds)

    @property
    def scope_fields(self) -> dict[str, str]:
        return {k: v for pack in self.packs for k, v in pack.scope_fields.items()}

    @property
    def placements(self) -> list[Placement]:
        return [p for pack in self.packs for p in pack.placements]

    @property
    def ignore_ids(self) -> list[tuple[str, re.Pattern]]:
        return [(k, v) for pack in self.packs for k, v in pack.ignore_ids.items()]

    @property
    def type_fixes(self) -> dict[str, str]:
        return {k: v for pack in self.packs for k, v in pack.type_fixes.items()}

    def prefilter_literals(self) -> list[str]:
        """Every literal any event rule needs; a record containing none of them is ignored."""
        seen: dict[str, None] = {}
        for rule in self.event_rules:
            for lit in rule.prefilter:
                seen.setdefault(lit, None)
        return list(seen)

    def versions(self) -> list[str]:
        return [f"{p.id}@{p.version}" for p in self.packs]
