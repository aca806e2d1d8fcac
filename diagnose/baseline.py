"""Compare this run with a previous JSON report: what is new, what was resolved, what moved.

The scheduled report answers "what changed since yesterday", not only "what is wrong": findings
are matched by their stable fingerprint (rule id + normalized key), and event-kind and outcome
rates are compared per 100 connections so a busier day does not look like a regression.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError
from .report import Report

SHARP_FACTOR = 2.0  # a rate that at least doubles or halves is worth a line in the report


@dataclass(slots=True)
class FindingDelta:
    """One fingerprint's presence then and now, with its connection counts."""

    fingerprint: str
    cls: str
    role: str
    title: str
    connections_then: int
    connections_now: int


@dataclass(slots=True)
class RateChange:
    """A per-100-connections rate (of an event kind or an outcome) that changed sharply."""

    scope: str  # "event" or "outcome"
    name: str
    then: float
    now: float

    @property
    def change(self) -> str:
        if not self.then:
            return "new"
        if not self.now:
            return "gone"
        return "up" if self.now > self.then else "down"


@dataclass(slots=True)
class BaselineDiff:
    """The answer to "what changed since the previous report"."""

    previous_label: str  # window or command of the previous report, for the reader
    connections_then: int
    connections_now: int
    new: list[FindingDelta] = field(default_factory=list)
    resolved: list[FindingDelta] = field(default_factory=list)
    persisting: list[FindingDelta] = field(default_factory=list)
    rate_changes: list[RateChange] = field(default_factory=list)

    @property
    def new_fingerprints(self) -> set[str]:
        return {d.fingerprint for d in self.new}

    def to_dict(self) -> dict:
        """Plain data for the JSON report's optional `baseline` section."""
        def rows(items: list[FindingDelta]) -> list[dict]:
            return [{"fingerprint": d.fingerprint, "class": d.cls, "role": d.role,
                     "title": d.title, "connections_then": d.connections_then,
                     "connections_now": d.connections_now} for d in items]

        return {
            "previous": self.previous_label,
            "connections_then": self.connections_then,
            "connections_now": self.connections_now,
            "new": rows(self.new),
            "resolved": rows(self.resolved),
            "persisting": rows(self.persisting),
            "rate_changes": [{"scope": r.scope, "name": r.name, "then": r.then, "now": r.now,
                              "change": r.change} for r in self.rate_changes],
        }


def load_baseline(path: Path) -> dict:
    """Read a previous `--format json` report; a clear UsageError for anything else."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"baseline {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read baseline {path}: {exc}") from None
    try:
        doc = json.loads(text)
    except RecursionError:
        raise UsageError(f"baseline {path} nests JSON too deeply to be a diagnose report",
                         hint="pass a report written by `diagnose … --format json`") from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"baseline {path} is not JSON (line {exc.lineno}: {exc.msg})",
            hint="pass a report written by `diagnose … --format json`",
        ) from None
    _check_report(doc, path)
    return doc


def _check_report(doc: object, path: Path) -> None:
    hint = "pass a report written by `diagnose … --format json`"
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise UsageError(f"baseline {path} is not a diagnose JSON report", hint=hint)
    version = str(doc["schema_version"])
    if not version.startswith("1."):
        raise UsageError(
            f"baseline {path} has schema_version {version[:20]!r}; this diagnose reads 1.x",
            hint=hint,
        )
    for key, kind in (("findings", list), ("outcomes", list)):
        if not isinstance(doc.get(key, []), kind):
            raise UsageError(f"baseline {path}: '{key}' is not a {kind.__name__}", hint=hint)
    for item in doc.get("findings", []):
        if not isinstance(item, dict) or not isinstance(item.get("fingerprint"), str):
            raise UsageError(f"baseline {path}: a finding has no fingerprint", hint=hint)
        if not isinstance(item.get("connections", []), list):
            raise UsageError(f"baseline {path}: a finding's 'connections' is not a list", hint=hint)
    for key in ("provenance", "outcome_counts", "event_counts"):
        if not isinstance(doc.get(key) or {}, dict):
            raise UsageError(f"baseline {path}: '{key}' is not an object", hint=hint)


def diff_against(report: Report, previous: dict) -> BaselineDiff:
    """New / resolved / persisting findings by fingerprint, and rates that changed sharply."""
    then = {f["fingerprint"]: f for f in previous.get("findings", [])}
    now = {f.fingerprint: f for f in report.findings}
    diff = BaselineDiff(
        previous_label=_label(previous),
        connections_then=_connection_total(previous),
        connections_now=report.connection_total,
    )
    for fp, f in now.items():
        old = then.get(fp)
        delta = FindingDelta(
            fp, f.cls, f.role, f.title, _finding_connections(old) if old else 0,
            f.connection_count,
        )
        (diff.persisting if old else diff.new).append(delta)
    for fp, old in then.items():
        if fp not in now:
            diff.resolved.append(FindingDelta(
                fp, str(old.get("class", "")), str(old.get("role", "")),
                str(old.get("title", "")), _finding_connections(old), 0,
            ))
    diff.rate_changes = [
        *_sharp("outcome", _counts(previous, "outcome_counts"), report.outcome_counts(),
                diff.connections_then, diff.connections_now),
        *_sharp("event", _counts(previous, "event_counts"), event_counts(report),
                diff.connections_then, diff.connections_now),
    ]
    return diff


def event_counts(report: Report) -> dict[str, int]:
    """Events per kind, as the pipeline stores them in `report.sections["event_counts"]`."""
    counts = report.sections.get("event_counts") or {}
    return {str(k): int(v) for k, v in dict(counts).items()}


def _sharp(scope: str, then: dict[str, int], now: dict[str, int], n_then: int, n_now: int):
    out = []
    for name in sorted(set(then) | set(now)):
        r_then = _rate(then.get(name, 0), n_then)
        r_now = _rate(now.get(name, 0), n_now)
        if r_then == r_now:
            continue
        lo, hi = sorted((r_then, r_now))
        if lo == 0 or hi >= SHARP_FACTOR * lo:
            out.append(RateChange(scope, name, r_then, r_now))
    return out


def _rate(count: int, connections: int) -> float:
    return round(100.0 * count / connections, 1) if connections else float(count)


def _counts(doc: dict, key: str) -> dict[str, int]:
    raw = doc.get(key) or {}
    if not isinstance(raw, dict):
        return {}
    return {str(k): int(v) for k, v in raw.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)}


def _connection_total(doc: dict) -> int:
    total = _whole(doc.get("connections_total"))
    if total is not None:
        return total  # reports that may list a sample of their rows say how many there were
    outcomes = doc.get("outcomes") or []
    if outcomes:
        return len(outcomes)
    return sum(_counts(doc, "outcome_counts").values())


def _finding_connections(doc: dict) -> int:
    count = _whole(doc.get("connection_count"))
    return count if count is not None else len(doc.get("connections", []))


def _whole(value: object) -> int | None:
    """A count a JSON report gives (a non-negative integer), or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _label(doc: dict) -> str:
    prov = doc.get("provenance") or {}
    if not isinstance(prov, dict):
        return "previous report"
    start, end = prov.get("window_start"), prov.get("window_end")
    if start or end:
        return f"{start or '?'} → {end or '?'}"
    return str(prov.get("command") or "previous report")
