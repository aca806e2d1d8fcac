"""Cohort contrast (BubbleUp-style): what do the failing connections have in common?

Findings say why each connection failed; the contrast says what the failures share that the
healthy connections do not — one message type, one client id shape, one instance or revision,
one hour — which is often the fastest way to the next question ("only the e2e client sends
`execute_agent`"). Every connection is described by a few derived attributes; for each
attribute=value we count the failing and healthy connections that have it and rank the values
over-represented among failures by a two-proportion z score (pooled), which, unlike the raw share
difference or lift, does not let 4-of-14 on one instance outrank 2-of-14 seen on no healthy
connection at all; ties fall back to difference, count, then name, so the order is stable.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .model import Connection
from .report import CAUSE_CLASSES, SYMPTOM_CLASSES, ConnectionOutcome

FAILING = frozenset((*CAUSE_CLASSES, *SYMPTOM_CLASSES))
HEALTHY = "healthy"
NONE = "<none>"
SAME = "<same>"
ATTRIBUTES = ("message_type", "client_shape", "user_shape", "instance", "revision", "hour_utc")


@dataclass(slots=True, frozen=True)
class ContrastRow:
    """One attribute=value and how often it occurs among failing vs healthy connections."""

    attribute: str
    value: str
    failing_count: int
    failing_share: float
    healthy_count: int
    healthy_share: float
    lift: float  # failing_share / healthy_share; math.inf when no healthy connection has it
    score: float = 0.0  # two-proportion z score: how unlikely this split is by chance

    @property
    def difference(self) -> float:
        return self.failing_share - self.healthy_share

    def to_dict(self) -> dict:
        return {
            "attribute": self.attribute,
            "value": self.value,
            "failing_count": self.failing_count,
            "failing_share": round(self.failing_share, 4),
            "healthy_count": self.healthy_count,
            "healthy_share": round(self.healthy_share, 4),
            "lift": None if math.isinf(self.lift) else round(self.lift, 3),
            "difference": round(self.difference, 4),
            "score": round(self.score, 3),
        }


@dataclass(slots=True)
class ContrastResult:
    """The ranked rows plus the cohort sizes; `reason` says why `rows` is empty, if it is."""

    failing: int
    healthy: int
    excluded: int  # connections neither failing nor healthy (in progress at the end of the logs)
    rows: list[ContrastRow] = field(default_factory=list)
    reason: str | None = None
    uncounted: int = 0  # observations of a new value once MAX_VALUES were being counted

    def cap_warning(self) -> str | None:
        """What the report says when the cap left values out (None: every value counted)."""
        if not self.uncounted:
            return None
        return (f"the contrast counts the first {MAX_VALUES:,} distinct attribute values: "
                f"{self.uncounted:,} observations of later ones were not counted, so a value "
                "first seen after that cannot be ranked")

    def to_dict(self) -> dict:
        return {
            "failing": self.failing,
            "healthy": self.healthy,
            "excluded": self.excluded,
            "attributes": list(ATTRIBUTES),
            "rows": [r.to_dict() for r in self.rows],
            "reason": self.reason,
            "uncounted": self.uncounted,
        }

    def __rich__(self):
        from rich.table import Table
        from rich.text import Text

        from .render.escape import clean, clip

        if not self.rows:
            return Text(f"Contrast: {self.reason}.", style="dim")
        table = Table(
            title=f"What the failing connections share ({self.failing} failing vs "
            f"{self.healthy} healthy)",
            title_justify="left",
        )
        for name, justify in (("Attribute", "left"), ("Value", "left"), ("Failing", "right"),
                              ("Healthy", "right"), ("Lift", "right")):
            table.add_column(name, justify=justify, overflow="fold")
        for r in self.rows:
            table.add_row(
                r.attribute, Text(clip(clean(r.value), 40)),
                f"{r.failing_count}/{self.failing} ({r.failing_share:.0%})",
                f"{r.healthy_count}/{self.healthy} ({r.healthy_share:.0%})",
                "only failing" if math.isinf(r.lift) else f"{r.lift:.1f}×",
            )
        return table


MAX_VALUES = 100_000  # distinct attribute=value pairs counted; later new ones are not


class ContrastTally:
    """Counts attribute=value per cohort one connection at a time: exact at any size, and
    bounded by the number of distinct values, not of connections."""

    def __init__(self) -> None:
        self.failing = 0
        self.healthy = 0
        self.other = 0
        self.counts: dict[tuple[str, str], list[int]] = {}  # (attribute, value) -> [fail, ok]
        self.uncounted = 0

    def add(self, outcome: ConnectionOutcome, connection: Connection | None = None) -> None:
        if outcome.outcome in FAILING:
            self.failing += 1
            column = 0
        elif outcome.outcome == HEALTHY:
            self.healthy += 1
            column = 1
        else:
            self.other += 1
            return
        for pair in set(describe(outcome, connection)):
            cell = self.counts.get(pair)
            if cell is None:
                if len(self.counts) >= MAX_VALUES:
                    self.uncounted += 1
                    continue
                cell = self.counts[pair] = [0, 0]
            cell[column] += 1

    def result(self, *, top: int = 8, min_count: int = 2, min_score: float = 1.0
               ) -> ContrastResult:
        """Rank the attribute values most over-represented among failing connections.

        A value is listed when at least `min_count` failing connections have it, its share
        among failures is higher than among healthy connections, and its z score reaches
        `min_score` (about one standard error: below that the split is what chance gives).
        """
        result = ContrastResult(self.failing, self.healthy, self.other, uncounted=self.uncounted)
        if not self.failing:
            result.reason = "no failing connections to contrast"
            return result
        if not self.healthy:
            result.reason = "no healthy connections to compare the failures with"
            return result
        rows = _rank(self.counts, self.failing, self.healthy, min_count=min_count)
        result.rows = [r for r in rows if r.score >= min_score][:top]
        if not result.rows:
            result.reason = (
                "no attribute value is clearly over-represented among failures "
                f"(min_count={min_count}, min_score={min_score})"
            )
        return result


def contrast(
    outcomes: list[ConnectionOutcome],
    connections: dict[str, Connection] | None = None,
    *,
    top: int = 8,
    min_count: int = 2,
    min_score: float = 1.0,
) -> ContrastResult:
    """The contrast of a list of outcome rows (see ContrastTally.result)."""
    tally = ContrastTally()
    conns = connections or {}
    for o in outcomes:  # one count per connection *row*: a key like a shared e2e user recurs
        tally.add(o, conns.get(o.connection))
    return tally.result(top=top, min_count=min_count, min_score=min_score)


def _rank(counts: dict[tuple[str, str], list[int]], n_fail: int, n_ok: int, *,
          min_count: int) -> list[ContrastRow]:
    rows = []
    for (attribute, value), (failing, healthy) in counts.items():
        if failing < min_count or failing * n_ok <= healthy * n_fail:  # exact: no float ties
            continue
        f_share, h_share = failing / n_fail, healthy / n_ok
        rows.append(ContrastRow(attribute, value, failing, f_share, healthy, h_share,
                                _lift(f_share, h_share), _z(failing, healthy, n_fail, n_ok)))
    rows.sort(key=lambda r: (-r.score, -r.difference, -r.failing_count, r.attribute, r.value))
    return rows


def _z(failing: int, healthy: int, n_fail: int, n_ok: int) -> float:
    """Pooled two-proportion z score of failing/n_fail against healthy/n_ok."""
    pooled = (failing + healthy) / (n_fail + n_ok)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_fail + 1 / n_ok))
    return (failing / n_fail - healthy / n_ok) / spread if spread else 0.0


def _lift(failing_share: float, healthy_share: float) -> float:
    return math.inf if healthy_share == 0 else failing_share / healthy_share


def describe(outcome: ConnectionOutcome, connection: Connection | None = None) -> list[tuple]:
    """The (attribute, value) pairs one connection is compared on; multi-valued for types."""
    pairs = [("message_type", t) for t in sorted(set(outcome.message_types))] or [
        ("message_type", NONE)
    ]
    pairs.append(("client_shape", id_shape(outcome.connection)))
    pairs.append(("user_shape", _user_shape(outcome)))
    instance = outcome.instance or (connection.instance if connection else None)
    pairs.append(("instance", instance or NONE))
    pairs.append(("revision", _revision(connection) or NONE))
    first = outcome.first_seen
    pairs.append(("hour_utc", first.strftime("%Y-%m-%dT%H:00Z") if first else NONE))
    return pairs


def _user_shape(outcome: ConnectionOutcome) -> str:
    """The user id's shape, or `<same>` when it is the connection key (no second signal)."""
    if not outcome.user:
        return NONE
    return SAME if outcome.user == outcome.connection else id_shape(outcome.user)


def _revision(connection: Connection | None) -> str | None:
    if connection is None:
        return None
    ids = sorted(connection.ids.get("revision", ()))
    if ids:
        return ids[0]
    for event in connection.events:
        value = event.ids.get("revision") or event.attrs.get("revision")
        if value:
            return value
    return None


_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_HEXY = re.compile(r"(?=[0-9a-f]*\d)[0-9a-f]{6,}")  # random hex may be all digits
_SEPARATORS = re.compile(r"([-_.:/@])")


def id_shape(value: str | None) -> str:
    """Normalize an id to its shape: `e2e-staging-49066fc8` → `e2e-staging-<hex>`.

    Numeric ids (Google subject ids) → `<numeric>`, UUIDs → `<uuid>`, e-mails keep the domain;
    separated parts that are hex-like (6+ characters) become `<hex>`, other numbers `<n>`, long
    mixed alphanumerics `<id>`; words stay.
    """
    if not value:
        return NONE
    if value.isdigit():
        return "<numeric>"
    if _UUID.fullmatch(value):
        return "<uuid>"
    if "@" in value:
        return "<user>@" + value.rsplit("@", 1)[1]
    return "".join(_part_shape(p) for p in _SEPARATORS.split(value))


def _part_shape(part: str) -> str:
    if not part or _SEPARATORS.fullmatch(part):
        return part
    if _HEXY.fullmatch(part.lower()):
        return "<hex>"
    if part.isdigit():
        return "<n>"
    digits = sum(ch.isdigit() for ch in part)
    if len(part) >= 8 and digits >= 2:
        return "<id>"
    return part
