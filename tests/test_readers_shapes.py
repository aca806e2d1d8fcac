"""Every export shape of the real backend is read by content (issue 11), one test per shape.

The data files under tests/data/sources/ are small synthetic snippets in the real shapes; the
real exports themselves are read in test_readers_real.py.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
from test_hardening import analyze_json

from diagnose.model import ParseStats
from diagnose.sources import Prefilter, read_records
from diagnose.sources.sniff import Format, sniff

DATA = os.path.join(os.path.dirname(__file__), "data", "sources")


def data(name: str) -> str:
    return os.path.join(DATA, name)


def read(name_or_path: str, literals: list[str] | None = None):
    """All records (no prefilter unless literals are given); the accounting must add up."""
    path = name_or_path if os.sep in name_or_path else data(name_or_path)
    stats = ParseStats()
    prefilter = Prefilter(literals) if literals is not None else None
    records = list(read_records([path], prefilter=prefilter, stats=stats))
    assert stats.records_read == (len(records) + stats.ignored + stats.unparsed_total
                                  + stats.duplicates), stats
    return records, stats


# --- JSON shapes -------------------------------------------------------------------------------


def test_wrapper_document_yields_each_wrapped_entry_and_nothing_else():
    records, stats = read("wrapper_raw_logs.json")
    assert stats.records_read == 3 and stats.unparsed_total == 0
    assert [r.text for r in records] == [
        "Application startup failed. Exiting.",
        "Container called exit(3).",
        "PHASE FAILED: DATABASE - Database initialization timeout after 25.0s",
    ]
    assert [r.insert_id for r in records] == ["wrap0001", "wrap0002", "wrap0003"]
    lines = open(data("wrapper_raw_logs.json")).read().split("\n")
    assert [lines[r.line - 1].strip() for r in records] == [  # each points into its entry
        '"insertId": "wrap0001",', '"insertId": "wrap0002",', '"insertId": "wrap0003",']
    assert records[0].fields["revision"] == "backend-00704-ds8"
    assert records[1].timestamp == datetime(2025, 9, 15, 20, 3, 2, tzinfo=UTC)


def test_wrapper_is_read_whole_even_when_the_prefilter_sees_no_literal_in_it():
    records, stats = read("wrapper_raw_logs.json", literals=["no such literal anywhere"])
    assert stats.records_read == 3  # three entries, not one ignored document


def test_entry_lists_nested_under_severity_keys():
    records, stats = read("wrapper_by_severity.json")
    assert stats.records_read == 3
    assert [r.severity for r in records] == ["ERROR", "ERROR", "WARNING"]
    assert records[0].text.startswith("WebSocket connection rejected in staging")


def test_snake_case_entries_are_the_same_records_as_camel_case():
    snake, snake_stats = read("snake_case.json")
    camel, camel_stats = read("camel_case.json")
    assert snake_stats.records_read == camel_stats.records_read == 3
    assert snake_stats.unparsed_total == 0
    key = [(r.timestamp, r.severity, r.text, r.fields, r.insert_id) for r in camel]
    assert [(r.timestamp, r.severity, r.text, r.fields, r.insert_id) for r in snake] == key


def test_request_logs_carry_http_fields():
    records, _ = read("camel_case.json")
    request = records[1]
    assert request.text == "GET https://api.staging.example/ws?token=x 503"
    assert {k: v for k, v in request.fields.items() if k.startswith("http_")} == {
        "http_method": "GET",
        "http_url": "https://api.staging.example/ws?token=x",
        "http_path": "/ws",
        "http_status": "503",
        "http_user_agent": "Netra-E2E-Tests/1.0",
        "http_latency": "2.212449",
    }
    assert request.fields["log_name"].endswith("run.googleapis.com%2Frequests")


@pytest.mark.parametrize("url, path", [
    ("https://x/ws?token=a", "/ws"), ("https://x", "/"), ("/health", "/health"),
    ("http://[bad", None), ("", None),
])
def test_a_requests_path_is_the_same_however_often_its_url_comes(url, path):
    """The path of each URL is remembered (urlsplit was a fifth of a request record's cost):
    the second answer must be the first, an unsplittable URL included."""
    from diagnose.sources.logentry import request_fields

    for _ in range(2):
        assert request_fields({"requestUrl": url}).get("http_path") == path


@pytest.mark.parametrize("status, decoded", [(503, True), (403, True), (200, False)])
def test_failed_requests_pass_the_prefilter_without_a_literal(tmp_path, status, decoded):
    line = {"insertId": "r1", "timestamp": "2025-09-07T13:20:00Z", "severity": "WARNING",
            "httpRequest": {"requestMethod": "GET", "requestUrl": "https://x/health",
                            "status": status}}
    for name, text in (("compact.jsonl", json.dumps(line, separators=(",", ":"))),
                       ("pretty.json", json.dumps([line], indent=2))):
        path = tmp_path / name
        path.write_text(text + "\n")
        records, stats = read(str(path), literals=["Worker failed to boot"])
        assert len(records) == (1 if decoded else 0), name
        if decoded:
            assert records[0].fields["http_status"] == str(status)
            assert records[0].fields["http_path"] == "/health"


def test_escaped_newlines_become_lines_so_the_exception_is_last():
    records, _ = read("escaped_newlines.jsonl")
    lines = records[0].text.split("\n")
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "ModuleNotFoundError: No module named 'netra_backend.app.services.monitoring'"


def test_a_json_document_without_log_entries_is_no_usable_input(run_cli):
    code, doc = analyze_json(run_cli, data("not_logs.json"))
    assert code == 3  # one line, no report: it says how many records and why
    assert "none of the 1 records read could be parsed" in doc["stats"]["reason"]
    assert "not_logs.json:1: not a log entry" in doc["stats"]["reason"]


@pytest.mark.parametrize("text", ['[{"a": 1}, {"b": [2]}]', '[\n  {\n    "a": 1\n  }\n]\n'])
def test_an_array_of_objects_that_are_not_log_entries_is_no_usable_input(run_cli, tmp_path, text):
    path = tmp_path / "objects.json"
    path.write_text(text)
    code, doc = analyze_json(run_cli, path)
    assert code == 3
    assert "not a log entry" in doc["stats"]["reason"]


def test_a_stub_entry_with_a_text_payload_is_read_not_rejected(run_cli, tmp_path):
    """The log-gardener stub: one entry-shaped object pointing at a worklog (expected exit 0)."""
    path = tmp_path / "raw_logs_current_hour.json"
    path.write_text(json.dumps([{"timestamp": "2025-09-15T22:49:32.504585", "severity": "INFO",
                                 "textPayload": "Using most recent log analysis from X.md.",
                                 "source": "fallback_analysis"}], indent=2))
    code, doc = analyze_json(run_cli, path)
    assert code == 0
    assert doc["stats"]["records_read"] == 1 and doc["stats"]["unparsed_total"] == 0


# --- text shapes -------------------------------------------------------------------------------


@pytest.mark.parametrize("head, fmt", [
    (b"[2025-09-15 20:03:01 +0000] [1] [INFO] Booting worker\n", Format.TEXT),
    (b"[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok\n", Format.TEXT),
    (b"[INFO] Pipeline event: ping\n", Format.TEXT),
    (b'[\n  {\n    "insertId": "a"\n  }\n]\n', Format.JSON_ARRAY),
    (b'[{"insertId": "a"}, {"insertId": "b"', Format.JSON_ARRAY),  # cut off: still an array
    (b"[]", Format.JSON_ARRAY),
])
def test_a_leading_bracket_is_sniffed_by_trying(head, fmt):
    assert sniff(head) is fmt


def test_gunicorn_lines_are_stamped_records_with_levels_and_folded_tracebacks():
    records, stats = read("gunicorn.log")
    assert stats.records_read == 6 and stats.unparsed_total == 0
    assert [r.severity for r in records] == ["INFO", "INFO", "ERROR", "INFO", "ERROR", "ERROR"]
    assert records[0].timestamp == datetime(2025, 9, 15, 20, 3, 1, tzinfo=UTC)
    assert records[2].text.splitlines()[-1] == (
        "ModuleNotFoundError: No module named 'netra_backend.app.services.monitoring'")
    assert records[5].text == "Reason: Worker failed to boot."


def test_gunicorn_text_through_the_cli_is_not_an_empty_json_array(run_cli):
    code, doc = analyze_json(run_cli, data("gunicorn.log"))
    assert doc["stats"]["records_read"] == 6
    assert code in (0, 1)


def test_apache_lines_with_lower_case_levels():
    records, stats = read("apache.log")
    assert [(r.severity, r.text) for r in records] == [
        ("NOTICE", "workerEnv.init() ok /etc/httpd/conf/workers2.properties"),
        ("ERROR", "mod_jk child workerEnv in error state 6"),
    ]
    assert records[0].timestamp == datetime(2005, 12, 4, 4, 47, 44, tzinfo=UTC)


def test_stdlib_and_uvicorn_level_prefixed_lines():
    records, stats = read("stdlib_basic.log")
    assert [(r.severity, r.fields.get("logger"), r.text, r.timestamp) for r in records] == [
        ("INFO", "uvicorn.error", "Started server process [1]", None),
        ("ERROR", "netra_backend.app.startup_module", "Worker failed to boot", None),
        ("WARNING", "root", "Redis not configured", None),
        ("ERROR", None, "Exception in ASGI application", None),  # uvicorn's `LEVEL:     `
    ]


def test_gcloud_table_header_is_no_record_and_continuations_rejoin():
    records, stats = read("gcloud_table_continued.txt")
    assert stats.records_read == 4
    assert [r.line for r in records] == [2, 3, 5, 6]
    assert records[1].text == (
        'Default STARTUP TCP probe failed 1 time consecutively for container '
        '"netra-backend-staging-1" on port 8888. The instance was not started.\n'
        "Connection failed with status CANCELLED.")
    assert records[3].text.split("\n") == [
        "Traceback (most recent call last):",
        '  File "/usr/local/bin/uvicorn", line 8, in <module>',
        "    sys.exit(main())",
    ]


def test_pytest_failure_lines_reach_the_rules_without_the_prefix(tmp_path):
    path = tmp_path / "e2e.log"
    path.write_text(
        "tests/e2e/staging/test_priority1_critical.py::test_001 FAILED [ 33%]\n"
        "    raise InvalidStatus(response)\n"
        "E   websockets.exceptions.InvalidStatus: server rejected WebSocket connection: HTTP 403\n"
        "Auth test error type: TimeoutError\n"
        "TimeoutError: timed out during opening handshake\n")
    records, stats = read(str(path))
    texts = [r.text for r in records]
    assert "websockets.exceptions.InvalidStatus: server rejected WebSocket connection: HTTP 403" \
        in texts
    assert "TimeoutError: timed out during opening handshake" in texts
    assert all(r.timestamp is None for r in records)
    assert stats.records_read == 5


# --- loguru messages split over entries (pre-09-03 era) ----------------------------------------


def test_split_loguru_message_is_joined_newest_first_even_if_only_the_head_hits():
    records, stats = read("loguru_split_newest_first.json", literals=["Connectivity test failed"])
    assert stats.records_read == 4
    assert [r.text for r in records] == [
        'Connectivity test failed: database "netra_dev\n" does not exist']
    assert records[0].severity == "ERROR"


def test_split_loguru_traceback_is_joined_oldest_first():
    records, stats = read("loguru_split_oldest_first.json", literals=["Startup failed"])
    assert stats.records_read == 5
    assert records[0].text.split("\n") == [
        "Startup failed",
        "Traceback (most recent call last):",
        '  File "/app/netra_backend/app/main.py", line 3, in <module>',
        "ModuleNotFoundError: No module named 'netra_backend.app.services.monitoring'",
    ]


# --- documents too long to decode whole --------------------------------------------------------


def _wrapped(i: int, message: str) -> dict:
    return {"insertId": f"w{i:07d}", "timestamp": "2025-09-15T20:03:08.710120+00:00",
            "severity": "ERROR", "labels": {"instanceId": "i" * 100},
            "jsonPayload": {"message": message}, "textPayload": None}


@pytest.mark.parametrize("indent", [2, None])
def test_a_wrapper_over_16_mib_is_read_entry_by_entry(tmp_path, indent):
    entries = [_wrapped(i, "TimeoutError in agent" if i % 1000 == 0 else "ok " + "z" * 300)
               for i in range(50_000)]
    doc = {"fetch_time": "2025-09-15T13:03:25", "total_logs": len(entries),
           "logs_by_severity": {"ERROR": [_wrapped(9_999_999, "Worker failed to boot.")]},
           "raw_logs": entries}
    path = tmp_path / "long-wrapper.json"
    path.write_text(json.dumps(doc, indent=indent))
    assert path.stat().st_size > 16 << 20
    records, stats = read(str(path), literals=["TimeoutError"])
    assert stats.records_read == 50_001 and stats.unparsed_total == 0
    # the small wrapped list is read whole (no prefilter); the long one entry by entry
    assert [r.insert_id for r in records] == ["w9999999"] + [
        f"w{i:07d}" for i in range(0, 50_000, 1000)]


def test_one_entry_over_16_mib_in_an_object_stream_is_reported_and_the_next_read(tmp_path):
    huge = {"insertId": "big", "timestamp": "2025-09-07T13:20:00Z",
            "jsonPayload": {"message": "TimeoutError", "lines": ["y" * 100] * 180_000}}
    small = {"insertId": "small", "timestamp": "2025-09-07T13:20:01Z", "textPayload": "x"}
    path = tmp_path / "stream.json"
    path.write_text(json.dumps(huge, indent=2) + "\n" + json.dumps(small, indent=2) + "\n")
    records, stats = read(str(path))
    assert stats.records_read == 2
    assert [u.reason for u in stats.unparsed] == ["entry longer than 16 MiB"]
    assert [r.insert_id for r in records] == ["small"]


@pytest.mark.parametrize("name", ["loguru_split_newest_first.json", "loguru_split_oldest_first.json"])
def test_split_loguru_messages_are_joined_in_sink_jsonl_too(tmp_path, name):
    entries = json.load(open(data(name)))
    path = tmp_path / "sink.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    literals = ["Connectivity test failed", "Startup failed"]
    from_array, _ = read(name, literals=literals)
    from_lines, stats = read(str(path), literals=literals)
    assert stats.records_read == len(entries)
    assert [r.text for r in from_lines] == [r.text for r in from_array]
    assert "\n" in from_lines[0].text


def test_an_array_of_pages_of_entries_is_read_entry_by_entry(tmp_path):
    page = [{"insertId": f"p{i}", "timestamp": "2025-09-07T13:20:00Z", "textPayload": "x"}
            for i in range(3)]
    path = tmp_path / "pages.json"
    path.write_text(json.dumps([page, page[:2]]))
    records, stats = read(str(path))
    assert stats.records_read == 5 and stats.unparsed_total == 0
    assert [r.insert_id for r in records] == ["p0", "p1", "p2", "p0", "p1"]  # copies: test_dedupe


def test_a_scripts_own_dump_with_a_payload_key_reads_the_payload(tmp_path):
    path = tmp_path / "dump.jsonl"
    path.write_text(
        json.dumps({"timestamp": "2025-09-15 20:03:08+00:00", "severity": "ERROR",
                    "payload": {"message": "Worker failed to boot.", "logger": "gunicorn"}}) + "\n"
        + json.dumps({"timestamp": "2025-09-15 20:03:09+00:00", "severity": "WARNING",
                      "payload": "Container called exit(3)."}) + "\n")
    records, _ = read(str(path))
    assert [(r.text, r.fields.get("logger")) for r in records] == [
        ("Worker failed to boot.", "gunicorn"), ("Container called exit(3).", None)]


def test_structured_lines_with_special_or_tracing_fields_keep_their_message(tmp_path):
    path = tmp_path / "stdout.jsonl"
    path.write_text(
        json.dumps({"message": "WebSocket error: boom", "severity": "ERROR",
                    "span_id": "abc", "trace_id": "def"}) + "\n"
        + json.dumps({"message": "GET /ws upgrade refused", "severity": "WARNING",
                      "httpRequest": {"requestMethod": "GET", "requestUrl": "https://x/ws",
                                      "status": 403}}) + "\n")
    records, _ = read(str(path))
    assert [r.text for r in records] == ["WebSocket error: boom", "GET /ws upgrade refused"]
    assert records[1].fields["http_status"] == "403"


def test_gcloud_table_with_projected_columns_reads_them_as_fields():
    records, stats = read("gcloud_table_columns.txt")
    assert stats.records_read == 3
    assert [(r.severity, r.fields.get("revision"), r.insert_id) for r in records] == [
        ("WARNING", "netra-backend-staging-00042-abc", "68b4e1c0000729a1"),
        ("ERROR", "netra-backend-staging-00042-abc", "68b4e1c0000729a2"),
        ("ERROR", "netra-backend-staging-00042-abc", "68b4e1c0000729a3"),
    ]
    assert records[0].text == "Container called exit(1)."
    assert records[1].text.split("\n") == [
        "Traceback (most recent call last):",
        '  File "/app/netra_backend/app/main.py", line 3, in <module>',
        "ModuleNotFoundError: No module named 'netra_backend.app.services.monitoring'",
    ]
    assert records[2].text == ""
