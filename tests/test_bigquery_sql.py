"""The BigQuery SQL compiler (sources/sqlcompile.py): exact text, escaping, table names.

The query it builds runs against a real emulator in test_bigquery.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_pull import ruleset

from diagnose.errors import UsageError
from diagnose.sources.sqlcompile import compile_sql, parse_table, regex_escape, sql_string

SINCE = datetime(2025, 9, 8, 23, 40, tzinfo=UTC)
UNTIL = datetime(2025, 9, 9, 0, 0, tzinfo=UTC)
TABLE = "netra-staging.netra_logs._AllLogs"


def test_sql_has_parameter_window_scope_escaped_anchors_and_http_errors_exactly():
    rules = ruleset(["EMISSION SUCCESS", "emission success: agent"], ['say "hi" to C:\\temp it\'s'])
    plan = compile_sql(rules, SINCE, UNTIL, "netra-staging.netra_logs", service="netra-backend")
    # regex-escaped (\" \: \\ \'), then SQL-escaped (each backslash doubled, \' for the quote)
    pattern = r"""'(?i)EMISSION SUCCESS|say \\"hi\\" to C\\:\\\\temp it\\\'s'"""
    assert plan.sql == (
        "SELECT timestamp, insert_id, log_name, severity, resource, labels, text_payload, "
        "json_payload, proto_payload, http_request, trace, span_id\n"
        f"FROM `{TABLE}`\n"
        "WHERE timestamp >= @since\n"
        "  AND timestamp < @until\n"
        "  AND resource.type = 'cloud_run_revision'\n"
        "  AND JSON_VALUE(resource.labels, '$.service_name') = 'netra-backend'\n"
        "  AND (\n"
        f"    REGEXP_CONTAINS(text_payload, {pattern})\n"
        f"    OR REGEXP_CONTAINS(JSON_VALUE(json_payload, '$.message'), {pattern})\n"
        "    OR http_request.status >= 400\n"
        "  )\n"
        "ORDER BY timestamp, insert_id"
    )
    assert plan.parameters() == [("since", "TIMESTAMP", SINCE), ("until", "TIMESTAMP", UNTIL)]
    assert plan.table == TABLE and plan.project == "netra-staging"
    assert plan.shown().startswith("-- @since = TIMESTAMP '2025-09-08T23:40:00Z'\n")


def test_untrusted_text_cannot_leave_a_string_literal():
    nasty = "x' OR 1=1 --\\\n\x00"
    assert sql_string(nasty) == "'x\\' OR 1=1 --\\\\\\x0a\\x00'"
    assert regex_escape("a.b*(c)|d_e é") == "a\\.b\\*\\(c\\)\\|d_e é"
    plan = compile_sql(ruleset(["a"]), SINCE, UNTIL, TABLE, service="svc' OR TRUE --")
    assert "= 'svc\\' OR TRUE --'" in plan.sql


def test_table_spec_defaults_to_the_all_logs_view_and_rejects_anything_else():
    assert parse_table("my-project.my_logs") == ("my-project", "my-project.my_logs._AllLogs")
    assert parse_table("my-project.my_logs.errors_view") == ("my-project", "my-project.my_logs.errors_view")
    for bad in ("my_logs", "my-project.my logs", "p.d.t.x", "my-project.d`; DROP TABLE x; --"):
        with pytest.raises(UsageError, match="expected PROJECT.DATASET"):
            parse_table(bad)


def test_a_rule_without_literals_reads_every_row_in_the_window_and_says_so():
    plan = compile_sql(ruleset(["EMISSION SUCCESS"], []), SINCE, UNTIL, TABLE)
    assert "REGEXP_CONTAINS" not in plan.sql and "timestamp >= @since" in plan.sql
    assert plan.notes == ["event rule r1 has no prefilter literal: every row in the window is read"]
    with pytest.raises(UsageError, match="empty time window"):
        compile_sql(ruleset(), UNTIL, SINCE, TABLE)


