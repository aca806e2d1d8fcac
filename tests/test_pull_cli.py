"""`diagnose pull` end to end: the real CLI, the real client, a fake Logging API on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from fakelogging import FakeLogging
from test_pull import DATA, no_real_google  # noqa: F401  (autouse isolation fixture)

from diagnose.sources.cloud_logging import ENDPOINT_ENV

WINDOW = ["--since", "2025-09-08T23:40:00Z", "--until", "2025-09-09T00:00:00Z"]


@pytest.fixture
def fake(monkeypatch):
    entries = json.loads((DATA / "staging_routing.json").read_text(encoding="utf-8"))
    with FakeLogging(entries) as server:
        monkeypatch.setenv(ENDPOINT_ENV, server.url)
        yield server


def _findings(doc: dict) -> list[tuple]:
    return [(f["fingerprint"], f["class"], tuple(f["connections"])) for f in doc["findings"]]


def test_pull_then_reanalyze_the_saved_file_gives_the_same_report(run_cli, fake, tmp_path, monkeypatch):
    monkeypatch.setenv(ENDPOINT_ENV, fake.url)  # run_cli clears it; set it again
    saved = tmp_path / "pulled.jsonl"
    pulled = run_cli("pull", "--project", "netra-staging", *WINDOW, "--save", saved, "-f", "json")
    assert pulled.code == 1, pulled.err
    doc = json.loads(pulled.out)
    assert _findings(doc) == [
        ("routing-unknown-type:execute_agent", "routing_failure", ("e2e-staging-49066fc8",))
    ]
    # the window is explicit, echoed, and what the server received
    first = fake.requests[0]
    window = 'timestamp>="2025-09-08T23:40:00Z" AND timestamp<"2025-09-09T00:00:00Z"'
    assert first["filter"].startswith(window)
    assert first["orderBy"] == "timestamp asc"
    assert doc["provenance"]["window_start"] == "2025-09-08T23:40:00.000000Z"
    assert doc["provenance"]["filter"] == first["filter"]
    assert doc["findings"][0]["evidence"][0]["provenance"].startswith("insertId=")

    again = run_cli("analyze", saved, "-f", "json")
    redo = json.loads(again.out)
    assert again.code == 1
    assert _findings(redo) == _findings(doc)
    assert redo["outcomes"] == [
        {**o, "first_seen": o["first_seen"], "last_seen": o["last_seen"]} for o in doc["outcomes"]
    ]
    assert redo["stats"]["records_read"] == doc["stats"]["records_read"] == 16


def test_show_filter_prints_the_query_and_contacts_nothing(run_cli, fake, monkeypatch):
    monkeypatch.setenv(ENDPOINT_ENV, fake.url)
    result = run_cli("pull", "--project", "netra-staging", *WINDOW, "--show-filter")
    assert result.code == 0
    assert result.out.startswith('timestamp>="2025-09-08T23:40:00Z"')
    assert 'jsonPayload.message:"Sending ack for unknown message type"' in result.out
    assert fake.requests == []


def test_permission_denied_exits_5_with_one_line(run_cli, fake, monkeypatch):
    monkeypatch.setenv(ENDPOINT_ENV, fake.url)
    fake.fail("403", 1)
    result = run_cli("pull", "--project", "netra-staging", *WINDOW)
    assert result.code == 5
    assert result.err.startswith("diagnose: error: permission denied")
    assert "roles/logging.viewer" in result.err
    assert "Traceback" not in result.err


def test_scheduled_report_from_a_pull_writes_the_page(run_cli, fake, tmp_path, monkeypatch):
    monkeypatch.setenv(ENDPOINT_ENV, fake.url)
    page = tmp_path / "health.html"
    prev = tmp_path / "prev.json"
    result = run_cli("report", "--project", "netra-staging", *WINDOW, "-o", page,
                     "--also", f"json={prev}")
    assert result.code == 0, result.err  # the scheduled job succeeds whenever the page is written
    html = page.read_text(encoding="utf-8")
    assert "execute_agent" in html and "<svg" in html
    assert json.loads(prev.read_text())["findings"][0]["class"] == "routing_failure"
    # tomorrow's run compares against today's JSON: nothing new, the routing failure persists
    again = run_cli("report", "--project", "netra-staging", *WINDOW, "-o", page,
                    "--baseline", prev, "-f", "markdown")
    assert again.code == 0
    assert "routing-unknown-type:execute_agent" in page.read_text(encoding="utf-8")


def test_endless_pages_stop_at_max_entries_exit_5_one_line_and_keep_the_save(run_cli, tmp_path,
                                                                              monkeypatch):
    saved = tmp_path / "endless.jsonl"
    with FakeLogging([], endless=True) as server:
        monkeypatch.setenv(ENDPOINT_ENV, server.url)
        result = run_cli("pull", "--project", "netra-staging", *WINDOW, "--max-entries", "2500",
                         "--save", saved)
    assert result.code == 5
    lines = result.err.splitlines()
    assert lines[0] == ("diagnose: error: stopped at the cap of 2,500 entries (3,000 entries in 3 "
                        "pages fetched) before the end of the window")
    assert "raise --max-entries" in lines[1] and str(saved) in lines[1]
    assert "Traceback" not in result.err
    assert len(saved.read_text().splitlines()) == 3000
    assert len(server.requests) == 3


def test_max_entries_below_one_is_a_usage_error(run_cli):
    result = run_cli("pull", "--project", "netra-staging", *WINDOW, "--max-entries", "0")
    assert result.code == 2 and "Traceback" not in result.err


def test_a_transient_failure_is_announced_retried_and_the_report_is_whole(run_cli, fake, monkeypatch):
    monkeypatch.setenv(ENDPOINT_ENV, fake.url)
    fake.fail("503", 1)
    result = run_cli("pull", "--project", "netra-staging", *WINDOW, "-f", "json")
    assert result.code == 1, result.err
    assert "diagnose: HTTP 503 The service is currently unavailable.; retrying\n" in result.err
    doc = json.loads(result.out)
    assert doc["stats"]["records_read"] == 16
    assert [b.get("pageToken") for b in fake.requests] == [None, None]
