"""`diagnose pull --bigquery` end to end: the real google-cloud-bigquery client against
a BigQuery emulator (crucible, DuckDB behind the REST API) started on 127.0.0.1 by the test.

The emulator is loaded with the LogEntry rows of tests/data/pull (a Log Analytics `_AllLogs`
shape: nested `resource`/`http_request` STRUCTs, JSON payload and label columns) plus rows the
query must leave out; the tests check the SQL and parameters the server received, the rows that
came back, and that the report equals the one from analysing the same entries as a file.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from fakebigquery import BigQueryEmulator
from test_pull import DATA, no_real_google, ruleset  # noqa: F401  (autouse isolation fixture)

from diagnose.errors import PullError
from diagnose.model import ParseStats
from diagnose.sources.sqlcompile import compile_sql, regex_escape

SINCE = datetime(2025, 9, 8, 23, 40, tzinfo=UTC)
UNTIL = datetime(2025, 9, 9, 0, 0, tzinfo=UTC)
WINDOW = ["--since", "2025-09-08T23:40:00Z", "--until", "2025-09-09T00:00:00Z"]
TABLE = "netra-staging.netra_logs._AllLogs"


# --- against the emulator -----------------------------------------------------------------------

pytest.importorskip("crucible", reason="crucible-emulator is not installed (pip install '.[test]')")
pytest.importorskip("google.cloud.bigquery", reason="google-cloud-bigquery is not installed")

SCHEMA = """CREATE TABLE `netra-staging.netra_logs._AllLogs` (
  timestamp TIMESTAMP, insert_id STRING, log_name STRING, severity STRING,
  resource STRUCT<type STRING, labels JSON>, labels JSON, text_payload STRING, json_payload JSON,
  proto_payload JSON, http_request STRUCT<request_method STRING, request_url STRING,
  request_size INT64, status INT64, response_size INT64, user_agent STRING, remote_ip STRING,
  server_ip STRING, latency STRING, protocol STRING>, trace STRING, span_id STRING)"""
HTTP = ("requestMethod", "requestUrl", "requestSize", "status", "responseSize", "userAgent",
        "remoteIp", "serverIp", "latency", "protocol")
RESOURCE = {"type": "cloud_run_revision", "labels": {"service_name": "netra-backend-staging"}}
LEFT_OUT = [  # rows the query must not return
    {"insertId": "out-before-window", "timestamp": "2025-09-08T23:39:59.999999Z",
     "textPayload": "Sending ack for unknown message type 'x' from u", "resource": RESOURCE},
    {"insertId": "out-no-anchor", "timestamp": "2025-09-08T23:45:00Z",
     "textPayload": "GET /health 200 nothing to see", "resource": RESOURCE},
    {"insertId": "out-other-resource", "timestamp": "2025-09-08T23:45:01Z",
     "textPayload": "Sending ack for unknown message type 'x' from u",
     "resource": {"type": "gce_instance", "labels": {}}},
    {"insertId": "out-at-until", "timestamp": "2025-09-09T00:00:00Z",
     "textPayload": "Sending ack for unknown message type 'x' from u", "resource": RESOURCE},
]
HTTP_503 = {"insertId": "in-http-503", "timestamp": "2025-09-08T23:52:00Z", "resource": RESOURCE,
            "httpRequest": {"requestMethod": "GET", "requestUrl": "https://api.example/ws",
                            "status": 503, "latency": "0.5s"}}


def _lit(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def _json(value: object) -> str:
    return "NULL" if value is None else f"JSON {_lit(json.dumps(value))}"


def _micros(stamp: str) -> str:
    """BigQuery keeps microseconds (Log Analytics drops the API's nanoseconds)."""
    return re.sub(r"(\.\d{6})\d+Z$", r"\1Z", stamp)


def _row(entry: dict) -> str:
    res = entry.get("resource") or {}
    req = entry.get("httpRequest")
    http = "NULL"
    if req is not None:
        cells = [req.get(k) for k in HTTP]
        cells = [int(c) if k in ("requestSize", "responseSize", "status") and c is not None else c
                 for k, c in zip(HTTP, cells, strict=True)]
        http = "STRUCT(" + ", ".join(_lit(c) for c in cells) + ")"
    return "(" + ", ".join([
        f"TIMESTAMP {_lit(_micros(entry['timestamp']))}", _lit(entry.get("insertId")),
        _lit(entry.get("logName")), _lit(entry.get("severity")),
        f"STRUCT({_lit(res.get('type'))}, {_json(res.get('labels'))})" if res else "NULL",
        _json(entry.get("labels")), _lit(entry.get("textPayload")), _json(entry.get("jsonPayload")),
        "NULL", http, _lit(entry.get("trace")), "NULL",
    ]) + ")"


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    entries = json.loads((DATA / "staging_routing.json").read_text(encoding="utf-8"))
    return [*entries, HTTP_503]


@pytest.fixture(scope="module")
def bq(sample):
    with pytest.MonkeyPatch.context() as env, BigQueryEmulator(dry_run_bytes=987_654_321) as emulator:
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
            env.delenv(var, raising=False)  # loading goes straight to 127.0.0.1, never via a proxy
        env.setenv("NO_PROXY", "127.0.0.1,localhost")
        client = emulator.client("netra-staging")
        client.create_dataset("netra-staging.netra_logs")
        client.query(SCHEMA).result()
        rows = ",\n".join(_row(e) for e in [*sample, *LEFT_OUT])
        client.query(f"INSERT INTO `{TABLE}` VALUES\n{rows}").result()
        client.close()
        emulator.queries.clear()
        yield emulator


@pytest.fixture
def bq_env(bq, monkeypatch):
    monkeypatch.setenv("DIAGNOSE_BIGQUERY_ENDPOINT", bq.url)
    bq.queries.clear()
    return bq


def _findings(doc: dict) -> list[tuple]:
    return [(f["fingerprint"], f["class"], tuple(f["connections"])) for f in doc["findings"]]


def test_pull_bigquery_gives_the_report_of_the_same_entries_read_from_a_file(
    run_cli, bq_env, sample, tmp_path
):
    as_file = tmp_path / "export.json"
    as_file.write_text(json.dumps(sample), encoding="utf-8")
    from_file = json.loads(run_cli("analyze", as_file, "-f", "json").out)

    saved = tmp_path / "bq.jsonl"
    result = run_cli("pull", "--bigquery", "netra-staging.netra_logs", *WINDOW, "--save", saved,
                     "-f", "json")
    assert result.code == 1, result.err
    doc = json.loads(result.out)
    # the /ws 503 request-log row comes through too: with no server line explaining it, it is
    # a finding of its own (revision scope, so it is listed first)
    assert _findings(doc) == _findings(from_file) == [
        ("ws-server-error:<NUM>", "server_error", ()),
        ("routing-unknown-type:execute_agent", "routing_failure", ("e2e-staging-49066fc8",)),
    ]
    assert doc["outcomes"] == from_file["outcomes"]

    # what the server received: the compiled SQL, the window as typed parameters, run once
    (query,) = bq_env.queries
    assert query["dry_run"] is False
    assert query["parameters"] == {
        "since": ("TIMESTAMP", "2025-09-08 23:40:00+00:00"),
        "until": ("TIMESTAMP", "2025-09-09 00:00:00+00:00"),
    }
    sql = query["sql"]
    assert f"FROM `{TABLE}`" in sql and "timestamp >= @since\n  AND timestamp < @until" in sql
    assert regex_escape("Sending ack for unknown message type") in sql
    assert "OR http_request.status >= 400" in sql and "2025" not in sql
    assert doc["provenance"]["filter"] == sql
    assert doc["provenance"]["window_start"] == "2025-09-08T23:40:00.000000Z"

    # the rows that came back: anchored lines and the 503 request, never the left-out ones
    rows = [json.loads(line) for line in saved.read_text(encoding="utf-8").splitlines()]
    unanchored = {  # no rule literal in the text: "Starting new instance", "Message routing
        # successful" ×2, a 101 request log ("WebSocket heartbeat timeout" has a rule now)
        "68bf6b5e0004b1a2c3d4e5f6", "68bf6b0006000c1d2e3f4a5b6c", "68bf6b000c000c1d2e3f4a5b6c",
        "68bf6b740009d3c1a7e55b21",
    }
    assert sorted(r["insertId"] for r in rows) == sorted(
        e["insertId"] for e in sample if e["insertId"] not in unanchored
    )  # with the 503 request row; none of the LEFT_OUT rows
    stamps = [datetime.fromisoformat(r["timestamp"]) for r in rows]
    assert stamps == sorted(stamps)  # oldest first
    assert doc["stats"]["records_read"] == len(rows)

    # the saved rows are LogEntry JSON lines: re-analysed, the same report
    again = json.loads(run_cli("analyze", saved, "-f", "json").out)
    assert _findings(again) == _findings(doc) and again["outcomes"] == doc["outcomes"]


def test_a_row_becomes_the_entry_the_logging_api_would_send(bq, sample):
    from diagnose.sources.bigquery import pull_rows
    from diagnose.sources.logentry import entry_to_record

    plan = compile_sql(ruleset(), SINCE, UNTIL, TABLE, resource_type=None)  # every row in the window
    stats = ParseStats()
    records = list(pull_rows(plan, stats=stats, endpoint=bq.url, page_rows=4))
    by_id = {r.insert_id: r for r in records}
    for entry in sample:
        expected = entry_to_record(entry, source="x", line=0)[0]
        got = by_id[entry["insertId"]]
        assert (got.timestamp, got.severity, got.text, got.fields) == (
            expected.timestamp, expected.severity, expected.text, expected.fields)
    # + out-no-anchor and out-other-resource (no anchors, no scope); the window drops the others
    assert stats.records_read == len(sample) + 2


def test_the_row_cap_stops_a_pull_with_exit_5_and_keeps_the_save(bq, tmp_path):
    from diagnose.sources.bigquery import pull_rows

    plan = compile_sql(ruleset(), SINCE, UNTIL, TABLE, resource_type=None)
    saved = tmp_path / "capped.jsonl"
    with pytest.raises(PullError) as err:
        list(pull_rows(plan, stats=ParseStats(), endpoint=bq.url, page_rows=5, max_entries=5,
                       save_path=saved))
    assert err.value.message == (
        "stopped at the cap of 5 rows (5 rows in 1 pages read) before the end of the window"
    )
    assert len(saved.read_text().splitlines()) == 5


def test_show_sql_prints_the_query_and_runs_nothing(run_cli, bq_env):
    result = run_cli("pull", "--bigquery", "netra-staging.netra_logs", *WINDOW, "--show-sql")
    assert result.code == 0, result.err
    assert result.out.startswith("-- @since = TIMESTAMP '2025-09-08T23:40:00Z'\n"
                                 "-- @until = TIMESTAMP '2025-09-09T00:00:00Z'\nSELECT ")
    assert f"FROM `{TABLE}`" in result.out
    assert bq_env.queries == []


def test_dry_run_prints_the_bytes_the_server_would_scan_and_runs_nothing(run_cli, bq_env):
    result = run_cli("pull", "--bigquery", "netra-staging.netra_logs", *WINDOW, "--dry-run")
    assert result.code == 0, result.err
    assert result.out == (f"BigQuery would scan 987,654,321 bytes (0.92 GiB) of {TABLE}; "
                          "nothing was run\n")
    assert [q["dry_run"] for q in bq_env.queries] == [True]
    assert bq_env.queries[0]["parameters"]["since"] == ("TIMESTAMP", "2025-09-08 23:40:00+00:00")


def test_scheduled_report_from_bigquery_writes_the_page(run_cli, bq_env, tmp_path):
    page = tmp_path / "health.html"
    result = run_cli("report", "--bigquery", "netra-staging.netra_logs", *WINDOW, "-o", page)
    assert result.code == 0, result.err
    assert "execute_agent" in page.read_text(encoding="utf-8")


def test_a_missing_table_exits_5_with_one_line(run_cli, bq_env):
    result = run_cli("pull", "--bigquery", "netra-staging.no_such_dataset", *WINDOW)
    assert result.code == 5
    lines = result.err.splitlines()
    assert lines[0].startswith("diagnose: error: BigQuery ")
    assert "Traceback" not in result.err and len(lines) <= 2


def test_project_and_bigquery_together_is_a_usage_error(run_cli):
    result = run_cli("pull", "--project", "p-12345", "--bigquery", "p-12345.logs", *WINDOW)
    assert result.code == 2
    assert "not both or neither" in result.err
    assert run_cli("pull", "--project", "p-12345", *WINDOW, "--dry-run").code == 2
    mixed = run_cli("pull", "--bigquery", "p-12345.logs", *WINDOW, "--filter", "severity>=ERROR")
    assert mixed.code == 2 and "--filter takes Logging query language" in mixed.err
