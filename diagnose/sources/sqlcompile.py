"""Compile a rule set into one BigQuery SQL query over a Log Analytics view (`_AllLogs`).

The same idea as logfilter.py, for a different engine: only rows that could match a rule leave
BigQuery. The window is a pair of query parameters (`@since`, `@until`: never formatted into the
text), compared on `timestamp`, the column the log views are partitioned by, so BigQuery prunes
partitions outside it and bills only the scanned ones. The window is half-open, like the
Logging filter's, so adjacent windows never overlap and an API pull and a BigQuery pull of the
same window see the same entries. The rules' literal anchors become one case-insensitive
`REGEXP_CONTAINS` per message column (`text_payload`, `json_payload.message`: where
logentry.py reads a rule's text), matching what the Logging filter's `:` does; every anchor is
regex-escaped and then SQL-escaped. Request-log rows with an HTTP status ≥ 400 are kept too.
Output is deterministic (same inputs, same text).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..errors import UsageError
from ..rulepack.model import RuleSet
from .logfilter import broaden, format_time, minimal_literals

DEFAULT_VIEW = "_AllLogs"
MAX_QUERY_BYTES = 1_000_000  # BigQuery's limit is 1 MB of query text; stay below it
# The LogEntry columns of a Log Analytics view that logentry.py reads (see bigquery.row_to_entry).
COLUMNS = (
    "timestamp", "insert_id", "log_name", "severity", "resource", "labels", "text_payload",
    "json_payload", "proto_payload", "http_request", "trace", "span_id",
)
MESSAGE_COLUMNS = ("text_payload", "JSON_VALUE(json_payload, '$.message')")
_PROJECT = r"(?:[a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]"  # domain-scoped ids too
_DATASET = r"[A-Za-z0-9_]{1,1024}"
_TABLE = r"[A-Za-z0-9_][A-Za-z0-9_$-]{0,1023}"
_PUNCTUATION = frozenset(string.punctuation) - {"_"}
_SPEC = re.compile(rf"^({_PROJECT})\.({_DATASET})(?:\.({_TABLE}))?$")


@dataclass(slots=True)
class SqlPlan:
    """The query, its parameters, and what the user should be told about it."""

    table: str  # project.dataset.view
    project: str  # the project the job runs (and is billed) in
    sql: str
    since: datetime
    until: datetime
    anchors: list[str]
    notes: list[str] = field(default_factory=list)

    def parameters(self) -> list[tuple[str, str, datetime]]:
        """(name, BigQuery type, value) for each `@name` in the SQL."""
        return [("since", "TIMESTAMP", self.since), ("until", "TIMESTAMP", self.until)]

    def shown(self) -> str:
        """The SQL with the parameter values as a comment, for `--show-sql`."""
        return (
            f"-- @since = TIMESTAMP '{format_time(self.since)}'\n"
            f"-- @until = TIMESTAMP '{format_time(self.until)}'\n{self.sql}"
        )


def parse_table(spec: str) -> tuple[str, str]:
    """`PROJECT.DATASET[.VIEW]` → (project, `project.dataset.view`); the view defaults to _AllLogs."""
    m = _SPEC.match(spec.strip())
    if m is None:
        raise UsageError(
            f"--bigquery {spec!r}: expected PROJECT.DATASET or PROJECT.DATASET.VIEW "
            "(the dataset linked to a Log Analytics bucket, e.g. my-project.my_logs._AllLogs)"
        )
    project, dataset, view = m.group(1), m.group(2), m.group(3) or DEFAULT_VIEW
    return project, f"{project}.{dataset}.{view}"


def compile_sql(
    ruleset: RuleSet,
    since: datetime,
    until: datetime,
    table_spec: str,
    *,
    resource_type: str | None = "cloud_run_revision",
    service: str | None = None,
) -> SqlPlan:
    """One SELECT over the view: window, resource scope, anchors (or HTTP errors), oldest first."""
    start, end = _utc(since), _utc(until)
    if start >= end:
        raise UsageError(
            f"empty time window: since {format_time(start)} is not before until {format_time(end)}"
        )
    project, table = parse_table(table_spec)
    unanchored = [r.id for r in ruleset.event_rules if not any(p.strip() for p in r.prefilter)]
    literals = [] if unanchored else minimal_literals(ruleset.prefilter_literals())
    plan = SqlPlan(table, project, _sql(table, literals, resource_type, service), start, end, literals)
    if unanchored:
        plan.notes.append(
            f"event rule {unanchored[0]} has no prefilter literal: every row in the window is read"
        )
    elif not literals:
        plan.notes.append("the rule pack declares no literal anchors: every row in the window is read")
    if len(plan.sql.encode("utf-8")) > MAX_QUERY_BYTES:
        broad = broaden(literals)
        plan.sql, plan.anchors = _sql(table, broad, resource_type, service), broad
        plan.notes.append(
            f"the {len(literals)} rule literals would exceed BigQuery's query size limit; sent "
            f"{len(broad)} broader anchors instead, so more rows are read and filtered locally"
        )
    return plan


def _sql(table: str, anchors: list[str], resource_type: str | None, service: str | None) -> str:
    where = ["timestamp >= @since", "timestamp < @until"]
    if resource_type:
        where.append(f"resource.type = {sql_string(resource_type)}")
    if service:
        where.append(f"JSON_VALUE(resource.labels, '$.service_name') = {sql_string(service)}")
    if anchors:
        pattern = sql_string("(?i)" + "|".join(regex_escape(a) for a in anchors))
        tests = [f"REGEXP_CONTAINS({column}, {pattern})" for column in MESSAGE_COLUMNS]
        tests.append("http_request.status >= 400")
        where.append("(\n    " + "\n    OR ".join(tests) + "\n  )")
    return (
        f"SELECT {', '.join(COLUMNS)}\n"
        f"FROM `{table}`\n"
        f"WHERE {(chr(10) + '  AND ').join(where)}\n"
        "ORDER BY timestamp, insert_id"
    )


def regex_escape(literal: str) -> str:
    """RE2-escape: every ASCII punctuation character (RE2 reads `\\` + punctuation as itself)."""
    return "".join(f"\\{c}" if c in _PUNCTUATION else c for c in literal)


def sql_string(value: str) -> str:
    """A GoogleSQL single-quoted string literal; backslash, quote and control characters escaped."""
    out = []
    for c in value:
        if c in ("\\", "'"):
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    return "'" + "".join(out) + "'"


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
