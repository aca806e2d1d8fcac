"""The report: everything a renderer needs, computed once, so every format tells the same story."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from .exit_codes import ExitCode
from .model import Finding, ParseStats

SCHEMA_VERSION = "1.0"

# Outcome classes, most important first. A connection's outcome is the first that applies.
CAUSE_CLASSES = (
    "routing_failure",
    "connection_failure",
    "execution_timeout",
    "events_not_delivered",
    "lifecycle_incomplete",
)
SYMPTOM_CLASSES = ("client_timeout_unexplained",)
OUTCOMES = (*CAUSE_CLASSES, *SYMPTOM_CLASSES, "healthy", "in_progress")
UNEXPLAINED = "unexplained"  # --fail-on: ERROR/CRITICAL records that no rule explains

CLASS_LABELS = {
    "routing_failure": "Routing failure",
    "connection_failure": "Connection / auth failure",
    "execution_timeout": "Execution timeout",
    "events_not_delivered": "Events not delivered",
    "lifecycle_incomplete": "Lifecycle incomplete",
    "client_timeout_unexplained": "Client timeout, no server evidence",
    "healthy": "Healthy",
    "in_progress": "In progress at end of logs",
}


@dataclass(slots=True)
class ConnectionOutcome:
    """One row of the per-connection outcome table."""

    connection: str
    outcome: str  # one of OUTCOMES
    first_seen: datetime | None
    last_seen: datetime | None
    events: int
    message_types: list[str]  # types the client sent (routed or unknown)
    lifecycle: list[str]  # lifecycle events seen, in order of first appearance
    client_timeouts: int
    instance: str | None = None
    user: str | None = None
    findings: list[str] = field(default_factory=list)  # fingerprints


_RANK = {k: i for i, k in enumerate(OUTCOMES)}


def importance(row: ConnectionOutcome) -> tuple:
    """Sort key of an outcome row: worst class first (OUTCOMES order), then by time, then id."""
    return (_RANK.get(row.outcome, len(_RANK)),
            row.first_seen.timestamp() if row.first_seen else 0.0, row.connection)


def by_importance(rows: list[ConnectionOutcome]) -> list[ConnectionOutcome]:
    """Outcome rows worst class first (CAUSE_CLASSES order), then by time: what to read first."""
    return sorted(rows, key=importance)


@dataclass(slots=True)
class Provenance:
    """How the report was made, so a reader can reproduce it."""

    command: str
    inputs: list[str]
    window_start: datetime | None  # first/last event time, or the pull window
    window_end: datetime | None
    rule_packs: list[str]  # "core@1.0.0", …
    elapsed_seconds: float = 0.0
    filter: str | None = None  # the Cloud Logging filter, for pulls
    tz_default: str = "UTC"


@dataclass(slots=True)
class Report:
    """Findings (ordered by impact), outcome table, parse accounting and provenance."""

    findings: list[Finding]
    outcomes: list[ConnectionOutcome]
    stats: ParseStats
    provenance: Provenance
    uncorrelated_events: int = 0
    known_types: list[str] = field(default_factory=list)  # supported message types (rules + logs)
    sections: dict[str, object] = field(default_factory=dict)  # optional: contrast, patterns, baseline
    classes: dict[str, object] = field(default_factory=dict)  # OutcomeClass by id, from the packs
    # exact connections per class, and per (minute, class) for the chart; None: count `outcomes`
    # (a report built by hand). `outcomes` may then be a capped sample of the rows.
    outcome_tally: dict[str, int] | None = None
    outcomes_by_time: dict[tuple[datetime, str], int] | None = None

    @property
    def connection_total(self) -> int:
        """Connections judged, including those past the outcome table's cap."""
        return sum(self.outcome_counts().values())

    @property
    def outcomes_truncated(self) -> bool:
        return self.connection_total > len(self.outcomes)

    def label(self, cls: str) -> str:
        """A class's human label, as its pack declares it."""
        declared = self.classes.get(cls)
        return getattr(declared, "label", None) or CLASS_LABELS.get(cls, cls)

    def failure_classes(self) -> list[str]:
        """Cause classes, then symptom classes, as the packs declare them (highest priority
        first); the built-in list when no pack declares any."""
        if not self.classes:
            return [*CAUSE_CLASSES, *SYMPTOM_CLASSES]
        ranked = sorted(self.classes.values(),
                        key=lambda c: (c.role != "cause", -c.priority, c.id))  # type: ignore[attr-defined]
        return [c.id for c in ranked if c.role in ("cause", "symptom")]  # type: ignore[attr-defined]

    def is_cause_class(self, cls: str) -> bool:
        declared = self.classes.get(cls)
        return getattr(declared, "role", None) == "cause" if declared else cls in CAUSE_CLASSES

    @property
    def causes(self) -> list[Finding]:
        return [f for f in self.findings if f.role == "cause"]

    @property
    def symptoms(self) -> list[Finding]:
        return [f for f in self.findings if f.role != "cause"]

    def outcome_counts(self) -> dict[str, int]:
        """Connections per class (all of them, not only the rows listed), in OUTCOMES order."""
        tally = self.outcome_tally
        if tally is None:
            tally = Counter(row.outcome for row in self.outcomes)
        counts = dict.fromkeys(OUTCOMES, 0)
        for outcome, n in sorted(tally.items()):
            counts[outcome] = counts.get(outcome, 0) + n
        return {k: v for k, v in counts.items() if v}

    def exit_code(self, fail_on: set[str] | None = None) -> ExitCode:
        """1 when a root cause is found (or a class in `fail_on`), 3 when nothing was usable."""
        if self.stats.records_read == 0 or (
            self.stats.events == 0 and self.stats.ignored == 0
        ):
            return ExitCode.NO_INPUT
        classes = {f.cls for f in self.findings} | set(self.outcome_counts())
        errors = self.sections.get("unexplained_errors")
        if errors is not None and getattr(errors, "total", 0):
            classes.add(UNEXPLAINED)
        if fail_on is not None:
            return ExitCode.FINDINGS if classes & fail_on else ExitCode.OK
        return ExitCode.FINDINGS if self.causes else ExitCode.OK

    def verdict(self) -> str:
        """The one line an on-call engineer reads first."""
        if not self.connection_total and not self.findings:
            errors = self.sections.get("unexplained_errors")
            if errors is not None and getattr(errors, "total", 0):
                return (f"No rule explains these logs, but they hold {errors.total} ERROR/CRITICAL "
                        "record(s): see the unexplained errors below.")
            return "No agent connections found in the input."
        if not self.causes:
            if self.symptoms:
                top = self.symptoms[0]
                more = len(self.symptoms) - 1
                tail = f" (+{more} more)" if more else ""
                if top.scope != "connection":
                    return f"No root cause in these logs: {top.title}{tail}."
                return (
                    f"No root cause in these logs: {top.title} — "
                    f"{top.connection_count} connection(s){tail}."
                )
            open_runs = self.outcome_counts().get("in_progress", 0)
            if open_runs:
                return (
                    f"No failure found yet: {open_runs} of {self.connection_total} connection(s) "
                    "were still inside a rule window when the logs end (export a longer window "
                    "to judge them)."
                )
            return f"Healthy: {self.connection_total} connection(s), no failures found."
        top = self.causes[0]
        more = len(self.causes) - 1
        tail = f" (+{more} more root cause{'s' if more > 1 else ''})" if more else ""
        if top.scope != "connection":
            explained = sum(top.symptom_counts.values())
            what = f" — explains {explained} symptom(s)" if explained else ""
            if top.connection_count:
                what += f", {top.connection_count} failed connection(s)"
            return f"ROOT CAUSE: {top.title}{what}{tail}."
        return f"ROOT CAUSE: {top.title} — {top.connection_count} connection(s){tail}."
