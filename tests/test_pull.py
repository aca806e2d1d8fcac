"""`diagnose pull`: the filter compiler and the live pull, run through the real
`google.cloud.logging.Client` (REST) and api_core's Retry against a fake Logging API on 127.0.0.1
(tests/fakelogging.py).

Nothing else is ever contacted: the fixtures below remove credentials and point gcloud's config
and HOME at empty temporary directories, and NO_GCE_CHECK stops the metadata-server probe.
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import subprocess
import sys
import warnings
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fakelogging import FakeLogging

from diagnose.errors import PullError, UsageError
from diagnose.exit_codes import ExitCode
from diagnose.model import ParseStats
from diagnose.rulepack.model import EventRule, RuleSet
from diagnose.sources.cloud_logging import ENDPOINT_ENV, make_client, pull_records
from diagnose.sources.logentry import entry_to_record
from diagnose.sources.logfilter import MAX_FILTER_CHARS, build_filter, compile_filter

DATA = Path(__file__).parent / "data" / "pull"
PROJECT = "netra-staging"
SINCE = datetime(2025, 9, 8, 23, 40, tzinfo=UTC)
UNTIL = datetime(2025, 9, 9, 0, 0, tzinfo=UTC)
WINDOW = 'timestamp>="2025-09-08T23:40:00Z" AND timestamp<"2025-09-09T00:00:00Z"'
FILTER = WINDOW + ' AND resource.type="cloud_run_revision"'


@pytest.fixture(autouse=True)
def no_real_google(monkeypatch, tmp_path):
    """A test that forgets the fake must fail fast, never reach Google or real credentials."""
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.delenv(ENDPOINT_ENV, raising=False)
    (tmp_path / "gcloud").mkdir()
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def entries() -> list[dict]:
    return json.loads((DATA / "staging_routing.json").read_text(encoding="utf-8"))


@pytest.fixture
def fake(entries):
    with FakeLogging(entries, stall_s=3.0) as server:
        yield server


def ruleset(*prefilters: list[str]) -> RuleSet:
    rules = [
        EventRule(
            id=f"r{i}",
            emits="x",
            title="t",
            prefilter=list(p),
            patterns=[],
            path=Path(f"r{i}.toml"),
        )
        for i, p in enumerate(prefilters)
    ]
    return RuleSet(packs=[], event_rules=rules, finding_rules=[])


def pull(fake: FakeLogging, notices: list[str] | None = None, **kw):
    """Run a pull to the end; returns (records, stats, progress calls).

    Backoff starts at 1 ms so retries cost no real time; `notices` collects the retry reasons.
    """
    stats, calls = ParseStats(), []
    kw.setdefault("filter_str", FILTER)
    kw.setdefault("page_size", 5)
    kw.setdefault("backoff_initial_s", 0.001)
    records = list(
        pull_records(
            PROJECT,
            SINCE,
            UNTIL,
            stats=stats,
            endpoint=fake.url,
            on_retry=(notices.append if notices is not None else _no_retry),
            progress=lambda n, p: calls.append((n, p)),
            **kw,
        )
    )
    return records, stats, calls


def _no_retry(reason: str) -> None:
    raise AssertionError(f"unexpected retry: {reason}")


def ids(records) -> list[str]:
    return [r.insert_id for r in records]


def comparable(record) -> tuple:
    return (record.timestamp, record.severity, record.text, record.fields, record.insert_id)


# --- filter compiler ---------------------------------------------------------------------------


def test_filter_has_window_resource_anchors_and_extra_exactly():
    rules = ruleset(
        ["Sending ack for unknown message type"],
        ["MessageRouter detected unknown message type", "EMISSION SUCCESS"],
        ['say "hi" to C:\\temp'],
    )
    got = build_filter(
        rules,
        SINCE,
        UNTIL,
        service="netra-backend-staging",
        extra="severity>=INFO OR logName:stderr",
    )
    anchors = " OR ".join(
        [
            f"{field}:{lit}"
            for lit in [
                '"EMISSION SUCCESS"',
                '"MessageRouter detected unknown message type"',
                '"Sending ack for unknown message type"',
                r'"say \"hi\" to C:\\temp"',
            ]
            for field in ("textPayload", "jsonPayload.message")
        ]
        + ["httpRequest.status>=400"]  # request logs carry no text; their errors are evidence
    )
    assert got == (
        f'{WINDOW} AND resource.type="cloud_run_revision" AND '
        f'resource.labels.service_name="netra-backend-staging" AND ({anchors}) AND '
        "(severity>=INFO OR logName:stderr)"
    )


def test_filter_drops_anchors_another_anchor_already_covers():
    rules = ruleset(
        ["Sending ack for unknown message type", "unknown MESSAGE type"],
        ["unknown message type: "],
        ["line one\nline two, the longer"],
    )
    got = build_filter(rules, SINCE, UNTIL, resource_type=None)
    assert got == (
        f'{WINDOW} AND (textPayload:"line two, the longer" OR '
        'jsonPayload.message:"line two, the longer" OR textPayload:"unknown MESSAGE type" OR '
        'jsonPayload.message:"unknown MESSAGE type" OR httpRequest.status>=400)'
    )


def test_filter_window_is_utc_and_naive_times_count_as_utc():
    pdt = timezone(timedelta(hours=-7))
    got = build_filter(
        ruleset(),
        datetime(2025, 9, 8, 16, 49, 24, 508000, tzinfo=pdt),
        datetime(2025, 9, 8, 23, 55),
        resource_type=None,
    )
    assert got == 'timestamp>="2025-09-08T23:49:24.508000Z" AND timestamp<"2025-09-08T23:55:00Z"'
    assert compile_filter(ruleset(), SINCE, UNTIL).notes == [
        "the rule pack declares no literal anchors: every entry in the window is fetched"
    ]


def test_a_rule_without_literals_means_no_anchor_may_narrow_the_pull():
    plan = compile_filter(ruleset(["EMISSION SUCCESS"], []), SINCE, UNTIL)
    assert plan.text == FILTER
    assert plan.notes == ["event rule r1 has no prefilter literal: every entry in the window is fetched"]


def test_filter_rejects_an_empty_window():
    with pytest.raises(UsageError, match="empty time window"):
        build_filter(ruleset(), UNTIL, SINCE)


def test_filter_too_long_falls_back_to_broader_anchors_and_says_so():
    literals = [f"EMISSION FAILED: event_{i:03d} send failed (run_id=" for i in range(400)]
    plan = compile_filter(ruleset(literals), SINCE, UNTIL)
    assert plan.text == (
        f'{FILTER} AND (textPayload:"emission" OR jsonPayload.message:"emission" '
        "OR httpRequest.status>=400)"
    )
    assert plan.anchors == ["emission"]
    assert plan.notes == [
        "the 400 rule literals would exceed the Logging API's 20,000-character filter limit; "
        "sent 1 broader anchors instead, so more entries are fetched and filtered locally"
    ]


def test_filter_with_no_shared_words_drops_anchors_rather_than_exceed_the_limit():
    literals = [f"token{i:05d}" for i in range(2000)]
    plan = compile_filter(ruleset(literals), SINCE, UNTIL)
    assert plan.text == FILTER
    assert "no text anchors were sent" in plan.notes[0]
    with pytest.raises(UsageError, match="even without rule anchors"):
        build_filter(ruleset(), SINCE, UNTIL, extra="x" * MAX_FILTER_CHARS)


# --- the pull: pages, request bodies, records -------------------------------------------------


def test_pull_follows_pages_and_sends_the_exact_filter(fake, entries):
    records, stats, calls = pull(fake)
    assert fake.paths == ["/v2/entries:list?prettyPrint=false"] * 4
    assert [b.get("pageToken") for b in fake.requests] == [None, "5", "10", "15"]
    assert all(b["filter"] == FILTER for b in fake.requests)
    assert all(b["orderBy"] == "timestamp asc" and b["pageSize"] == 5 for b in fake.requests)
    assert fake.requests[0]["resourceNames"] == [f"projects/{PROJECT}"]
    assert ids(records) == [e["insertId"] for e in entries]
    assert calls == [(5, 1), (10, 2), (15, 3), (16, 4)]
    assert stats.records_read == 16 and stats.by_source == {f"cloud-logging:{PROJECT}": 16}
    assert stats.unparsed_total == 0 and stats.warnings == []


def test_pages_are_requested_by_the_google_cloud_logging_client(fake):
    """The project's rule: the pull goes through google-cloud-logging, not a hand-made request."""
    from google.cloud.logging import __version__ as client_version

    pull(fake)
    assert len(fake.headers) == 4
    assert all(f"gccl/{client_version}" in h["x-goog-api-client"].split() for h in fake.headers)


def test_pulled_records_equal_the_records_read_from_the_same_entries(fake, entries):
    records, _, _ = pull(fake, page_size=1000)
    expected = [entry_to_record(e, source=f"cloud-logging:{PROJECT}", line=0)[0] for e in entries]
    assert records == expected
    ack = records[5]
    assert ack.text == "Sending ack for unknown message type 'execute_agent' from e2e-staging-49066fc8"
    assert ack.provenance == "insertId=68bf6b0005000c1d2e3f4a5b6c"
    assert ack.timestamp == datetime(2025, 9, 8, 23, 49, 24, 508123, tzinfo=UTC)
    assert ack.fields["service"] == "netra-backend-staging"
    assert len(fake.requests) == 1


def test_an_empty_page_pointing_at_the_same_token_is_asked_again_after_a_backoff(fake, entries):
    fake.fail("empty", 2)
    notices: list[str] = []
    records, stats, calls = pull(fake, notices, page_size=8)
    assert ids(records) == [e["insertId"] for e in entries]
    assert [b.get("pageToken") for b in fake.requests] == [None, "8", "8"]
    assert calls == [(8, 1), (16, 2)]
    assert notices == ["an empty page pointing back at a page already asked for"]
    assert stats.warnings == ["Cloud Logging pull: 1 request(s) retried (no progress ×1)"]


def test_pages_served_newest_first_are_all_delivered(entries):
    with FakeLogging(list(reversed(entries))) as server:
        records, stats, _ = pull(server)
    assert ids(records) == [e["insertId"] for e in reversed(entries)]
    assert stats.records_read == len(entries)


def test_a_filter_without_a_window_gets_the_window_not_the_clients_24_hours(fake):
    pull(fake, filter_str='resource.type="cloud_run_revision"')
    assert fake.requests[0]["filter"] == f'{WINDOW} AND (resource.type="cloud_run_revision")'


def test_endpoint_can_come_from_the_environment(fake, monkeypatch, entries):
    monkeypatch.setenv(ENDPOINT_ENV, fake.url)
    records = list(pull_records(PROJECT, SINCE, UNTIL, filter_str=FILTER, stats=ParseStats()))
    assert len(records) == len(entries) and len(fake.requests) == 1


# --- retries: the same page token again, nothing lost or repeated ------------------------------


def test_429_and_5xx_are_retried_with_the_same_page_token_without_duplicates(fake, entries):
    fake.fail("429", 2).fail("503", 3).fail("500", 4)
    notices: list[str] = []
    records, stats, calls = pull(fake, notices)
    assert ids(records) == [e["insertId"] for e in entries]  # each exactly once, in order
    assert notices == [
        "HTTP 429 rate limited (RATE_LIMIT_EXCEEDED, ReadRequestsPerMinutePerProject=60)",
        "HTTP 503 The service is currently unavailable.",
        "HTTP 500 Internal error encountered.",
    ]
    assert [b["filter"] for b in fake.requests] == [FILTER] * 7
    assert [b.get("pageToken") for b in fake.requests] == [None, "5", "5", "5", "5", "10", "15"]
    assert calls == [(5, 1), (10, 2), (15, 3), (16, 4)]
    assert stats.records_read == 16
    assert stats.warnings == ["Cloud Logging pull: 3 request(s) retried (429 ×1, 5xx ×2)"]


def test_garbage_json_a_cut_connection_and_a_stall_are_retried(fake, entries):
    fake.fail("garbage", 1).fail("cut", 2).fail("stall", 3)
    notices: list[str] = []
    records, stats, _ = pull(fake, notices, request_timeout_s=0.5)
    assert ids(records) == [e["insertId"] for e in entries]
    assert len(notices) == 3 and notices[0] == "the response was not a JSON object"
    assert stats.warnings == ["Cloud Logging pull: 3 request(s) retried (bad response ×1, network ×2)"]


def test_gives_up_after_max_retries_with_a_one_line_reason(fake):
    fake.fail("503", *range(1, 50))
    with pytest.raises(PullError) as err:
        pull(fake, [], max_retries=3)
    assert err.value.exit_code == ExitCode.PULL_FAILED
    assert "\n" not in err.value.message
    assert re.fullmatch(
        rf"the Logging API at {re.escape(fake.url)} kept failing: HTTP 503 "
        r"The service is currently unavailable\. \(after 3 retries\)",
        err.value.message,
    )
    assert len(fake.requests) == 4


def test_retry_deadline_bounds_a_failure_streak(fake):
    fake.fail("429", *range(1, 10_000))
    with pytest.raises(PullError) as err:
        pull(fake, [], max_retries=10_000, retry_budget_s=0.3, backoff_initial_s=0.05)
    assert err.value.message == (
        f"Cloud Logging read quota exhausted for project {PROJECT}: HTTP 429 rate limited "
        "(RATE_LIMIT_EXCEEDED, ReadRequestsPerMinutePerProject=60) (gave up after 0.3s of retries)"
    )
    # backoff, not a busy loop: delays up to 50, 100, 200 ms fit ~5 tries in 0.3 s, never hundreds
    assert 2 <= len(fake.requests) < 50


def test_a_failure_streak_ends_when_a_page_arrives(fake, entries):
    fake.fail("503", 1, 2, 4, 5, 7, 8)
    notices: list[str] = []
    records, _, _ = pull(fake, notices, max_retries=2)
    assert ids(records) == [e["insertId"] for e in entries]
    assert len(notices) == 6


# --- servers that loop, never end, drip or redirect (issue 12) ----------------------------------


def test_a_repeated_page_token_stops_the_pull_with_exit_5(fake, entries, tmp_path):
    fake.fail("repeat", 2)  # page 2 says "next: the page you just asked for"
    out = tmp_path / "loop.jsonl"
    with pytest.raises(PullError) as err:
        pull(fake, save_path=out)
    assert err.value.exit_code == ExitCode.PULL_FAILED
    assert err.value.message == (
        f"the Logging API at {fake.url} sent page token '5' a second time; stopped after 10 "
        "entries rather than loop"
    )
    assert len(fake.requests) == 2
    assert [json.loads(x)["insertId"] for x in out.read_text().splitlines()] == [
        e["insertId"] for e in entries[:10]
    ]


def test_empty_pages_that_never_move_on_are_retried_then_given_up(fake):
    fake.fail("empty", *range(2, 10_000))
    with pytest.raises(PullError) as err:
        pull(fake, [], max_retries=4)
    assert err.value.message == (
        f"the Logging API at {fake.url} kept failing: an empty page pointing back at a page "
        "already asked for (after 4 retries)"
    )
    assert len(fake.requests) == 6


def test_endless_distinct_pages_stop_at_the_entry_cap_and_keep_the_save(tmp_path):
    out = tmp_path / "endless.jsonl"
    with FakeLogging([], endless=True) as server, pytest.raises(PullError) as err:
        pull(server, page_size=10, max_entries=50, save_path=out)
    assert err.value.message == (
        "stopped at the cap of 50 entries (50 entries in 5 pages fetched) before the end of the window"
    )
    assert "raise --max-entries" in err.value.hint
    assert err.value.hint.endswith(f"the 50 entries fetched before the failure are in {out}")
    assert len(server.requests) == 5
    assert len(out.read_text().splitlines()) == 50


def test_a_slow_loris_body_is_cut_at_the_request_deadline_and_retried(fake, entries):
    fake.fail("slowloris", 1)  # one byte every 0.2 s: each read is quick, the whole never ends
    notices: list[str] = []
    records, _, _ = pull(fake, notices, request_deadline_s=1.0)
    assert notices == ["the answer did not arrive within the request deadline"]
    assert ids(records) == [e["insertId"] for e in entries]


def test_a_slow_loris_body_ends_the_pull_with_one_line_when_retries_run_out(fake):
    fake.fail("slowloris", 1, 2)
    with pytest.raises(PullError) as err:
        pull(fake, [], request_deadline_s=0.6, max_retries=1)
    assert err.value.message == (
        f"cannot reach the Logging API at {fake.url}: the answer did not arrive within the "
        "request deadline (after 1 retry)"
    )


def test_headers_that_never_end_are_cut_at_the_request_deadline_too(fake, entries):
    fake.fail("slowheaders", 1)  # the status line, then a header one byte every 0.2 s
    notices: list[str] = []
    records, _, _ = pull(fake, notices, request_deadline_s=1.0)
    assert notices == ["the answer did not arrive within the request deadline"]
    assert ids(records) == [e["insertId"] for e in entries]


def test_an_answer_larger_than_the_cap_once_unzipped_is_cut_and_retried(fake, monkeypatch):
    from diagnose.sources import httpfetch

    monkeypatch.setattr(httpfetch, "MAX_BODY_BYTES", 4000)  # a page of 5 entries: 4.8 kB, 1 kB gzipped
    with pytest.raises(PullError) as err:
        pull(fake, [], max_retries=1)
    assert err.value.message == (
        f"the Logging API at {fake.url} kept failing: the response was larger than 4,000 bytes "
        "(after 1 retry)"
    )
    assert len(fake.requests) == 2


def test_a_redirect_to_another_address_is_not_followed(entries):
    with FakeLogging(entries) as elsewhere, FakeLogging(entries, redirect_to=elsewhere.url) as home:
        home.fail("redirect", 1)
        with pytest.raises(PullError) as err:
            pull(home)
    assert err.value.exit_code == ExitCode.PULL_FAILED
    assert err.value.message.startswith(
        f"the Logging API at {home.url} answered HTTP 307 redirect to {elsewhere.url}/v2/entries:list"
    )
    assert "not followed" in err.value.message
    assert elsewhere.requests == [] and len(home.requests) == 1


# --- errors that are not retried --------------------------------------------------------------


def test_permission_denied_names_the_role_and_project(fake):
    fake.fail("403", 1)
    with pytest.raises(PullError) as err:
        pull(fake)
    assert err.value.message == (
        "permission denied reading logs: the account needs roles/logging.viewer on project "
        "netra-staging (Permission 'logging.logEntries.list' denied on resource.)"
    )
    assert "roles/logging.viewer" in err.value.hint and len(fake.requests) == 1


def test_a_401_from_a_custom_endpoint_is_one_line_not_a_traceback(fake):
    fake.fail("401", 1)
    with pytest.raises(PullError) as err:
        pull(fake)
    assert err.value.message == (
        f"the Logging API at {fake.url} asked for credentials (HTTP 401); requests to a custom "
        "endpoint are anonymous: Anonymous credentials cannot be refreshed."
    )
    assert ENDPOINT_ENV in err.value.hint and len(fake.requests) == 1


def test_rejected_filter_shows_the_apis_message(fake):
    fake.fail("400", 1)
    with pytest.raises(PullError) as err:
        pull(fake)
    assert err.value.message == (
        "the Logging API rejected the filter: Unparseable filter: syntax error at line 1, "
        'column 12, token ")"'
    )
    assert len(fake.requests) == 1


def test_server_text_in_an_error_is_one_clean_line(fake):
    fake.fail("400", 1).errors["400"] = (400, "INVALID_ARGUMENT", "bad\x1b[31m token\n\x07here")
    with pytest.raises(PullError) as err:
        pull(fake)
    assert err.value.message == "the Logging API rejected the filter: bad token here"


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (502, b"<html><body>Bad Gateway</body></html>", "<html><body>Bad Gateway</body></html>"),
        (500, b'{"error": "boom"}', '{"error": "boom"}'),
        (500, b'"' + b"x" * 5000 + b'"', '"' + "x" * 299),  # the first 300 characters
        (500, b'{"error": {"message": "odd details", "details": "not a list"}}', "odd details"),
        (429, b'{"error": {"message": "slow down", "details": [{"@type": '
              b'"type.googleapis.com/google.rpc.ErrorInfo", "reason": "R", "metadata": "m"}]}}',
         "slow down"),
    ],
)
def test_an_error_answer_of_any_shape_is_one_line_not_a_traceback(fake, status, body, shown):
    fake.odd = (status, body)
    fake.fail("odd", 1, 2)
    with pytest.raises(PullError) as err:
        pull(fake, [], max_retries=1)
    assert err.value.message.endswith(f"HTTP {status} {shown} (after 1 retry)")
    assert "\n" not in err.value.message and len(err.value.message) < 500


def test_unreachable_endpoint_is_named():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed below: nothing listens there
    url = f"http://127.0.0.1:{port}"
    notices: list[str] = []
    with pytest.raises(PullError) as err:
        list(
            pull_records(
                PROJECT,
                SINCE,
                UNTIL,
                filter_str=FILTER,
                stats=ParseStats(),
                endpoint=url,
                max_retries=1,
                backoff_initial_s=0.001,
                on_retry=notices.append,
            )
        )
    assert err.value.message.startswith(f"cannot reach the Logging API at {url}: ")
    assert err.value.message.endswith("(after 1 retry)") and len(notices) == 1


def test_missing_credentials_say_how_to_log_in():
    with pytest.raises(PullError) as err:
        make_client(PROJECT)
    assert err.value.message == "no Google Cloud credentials found to read logs of project netra-staging"
    assert "gcloud auth application-default login" in err.value.hint
    assert err.value.exit_code == ExitCode.PULL_FAILED


def test_gcloud_login_credentials_build_a_client_without_warnings_or_requests(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "home"))  # google-auth must not run `gcloud`
    adc = {
        "type": "authorized_user",
        "client_id": "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com",
        "client_secret": "not-a-secret",
        "refresh_token": "1//not-a-token",
    }
    (tmp_path / "gcloud" / "application_default_credentials.json").write_text(json.dumps(adc))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = make_client(PROJECT)  # no request yet: the token refresh waits for the pull
    assert client.project == PROJECT
    assert [str(w.message) for w in caught] == []


def test_bad_arguments_are_usage_errors(fake):
    with pytest.raises(UsageError, match="page size must be between 1 and 1000"):
        pull(fake, page_size=1001)
    with pytest.raises(UsageError, match="bad Logging API endpoint"):
        make_client(PROJECT, endpoint="127.0.0.1:8080")
    assert fake.requests == []


# --- unreadable entries and --save -------------------------------------------------------------


def test_unreadable_entries_are_counted_not_raised(entries):
    odd = [entries[0], 42, {**entries[1], "timestamp": "yesterday-ish"}, entries[2]]
    with FakeLogging(odd) as server:
        records, stats, _ = pull(server)
    assert ids(records) == [entries[0]["insertId"], entries[2]["insertId"]]
    assert stats.records_read == 4 and stats.unparsed_total == 2
    assert [u.reason for u in stats.unparsed] == [
        "expected a JSON object, got int",
        "insertId=68bf6b0001000c1d2e3f4a5b6c: unreadable time stamp 'yesterday-ish'",
    ]
    assert all(u.source == f"cloud-logging:{PROJECT}" for u in stats.unparsed)


def test_entries_the_client_cannot_read_are_analysed_with_the_rest_of_their_page(entries):
    """The client refuses an entry without logName or with a `+00:00` time stamp, and stops there."""
    odd = [
        entries[0],
        {k: v for k, v in entries[1].items() if k != "logName"},
        {**entries[2], "timestamp": entries[2]["timestamp"].replace("Z", "+00:00")},
        entries[3],
    ]
    with FakeLogging(odd) as server:
        records, stats, calls = pull(server, page_size=10)
    source = f"cloud-logging:{PROJECT}"
    assert records == [entry_to_record(e, source=source, line=0)[0] for e in odd]
    assert stats.records_read == 4 and stats.unparsed_total == 0
    assert calls == [(4, 1)] and len(server.requests) == 1


REAL_EXPORTS = Path(__file__).resolve().parents[1].parent / "shared" / "real" / "exports"


def _real_entry_arrays() -> list[Path]:
    """The real exports that are Cloud Logging LogEntry arrays, found by shape, not by name."""
    found = []
    for path in sorted(REAL_EXPORTS.rglob("*.json*")) if REAL_EXPORTS.is_dir() else []:
        raw = path.read_bytes()
        try:
            data = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
        except ValueError:
            continue
        if isinstance(data, list) and data and all(isinstance(e, dict) and "timestamp" in e for e in data):
            found.append(path)
    return found


@pytest.mark.skipif(not REAL_EXPORTS.is_dir(), reason=f"real material not found at {REAL_EXPORTS}")
def test_real_exports_pulled_through_the_client_give_the_records_the_file_gives():
    """What the client's entries keep is all the analysis reads, on every real LogEntry export."""
    paths = _real_entry_arrays()
    assert len(paths) >= 3
    for path in paths:
        raw = path.read_bytes()
        entries = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
        with FakeLogging(entries) as server:
            stats = ParseStats()
            records = list(pull_records(
                PROJECT, datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC),
                filter_str="", stats=stats, endpoint=server.url,
            ))
        source = f"cloud-logging:{PROJECT}"
        assert records == [entry_to_record(e, source=source, line=0)[0] for e in entries], path.name
        assert stats.records_read == len(entries) and stats.unparsed_total == 0, path.name


def test_save_writes_api_shaped_json_lines_that_reread_to_the_same_records(fake, entries, tmp_path):
    out = tmp_path / "pull.jsonl"
    fake.fail("429", 2)
    records, _, _ = pull(fake, [], save_path=out)  # the retried page is not saved twice
    lines = out.read_text(encoding="utf-8").splitlines()
    # as the API sent them (receiveTimestamp too, which the client's entries drop), no duplicate
    assert [json.loads(line) for line in lines] == entries
    reread = [
        entry_to_record(json.loads(line), source=str(out), line=i)[0] for i, line in enumerate(lines, 1)
    ]
    assert [comparable(r) for r in reread] == [comparable(r) for r in records]
    assert reread[5].provenance == f"{out}:6"


def test_save_keeps_what_was_fetched_when_the_pull_fails(fake, entries, tmp_path):
    out = tmp_path / "partial.jsonl"
    fake.fail("403", 3)
    with pytest.raises(PullError) as err:
        pull(fake, save_path=out)
    saved = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert saved == entries[:10]
    assert err.value.hint.endswith(f"the 10 entries fetched before the failure are in {out}")


def test_saved_entries_reach_the_disk_page_by_page(fake, entries, tmp_path):
    """A pull killed mid-way (Ctrl-C, OOM) still leaves every page already received on disk."""
    out = tmp_path / "live.jsonl"
    stream = pull_records(
        PROJECT,
        SINCE,
        UNTIL,
        filter_str=FILTER,
        stats=ParseStats(),
        endpoint=fake.url,
        page_size=2,
        save_path=out,
    )
    next(stream)  # the first record of page 1; the generator is now paused
    assert not out.exists()  # the save is not in place before the pull ends ...
    (partial,) = tmp_path.glob(".live.jsonl.*.partial")  # ... but its pages are on disk
    assert [json.loads(line) for line in partial.read_text().splitlines()] == entries[:2]
    stream.close()  # as Ctrl-C would: what was fetched is kept at the target path
    assert [json.loads(line) for line in out.read_text().splitlines()] == entries[:2]
    assert list(tmp_path.glob("*.partial")) == []


def test_a_failed_pull_never_destroys_an_earlier_save(fake, tmp_path):
    (tmp_path / "saves").mkdir()
    out = tmp_path / "saves" / "yesterday.jsonl"
    out.write_text('{"insertId": "earlier"}\n' * 1000)
    fake.fail("403", 1)
    with pytest.raises(PullError) as err:
        pull(fake, save_path=out)
    assert out.read_text() == '{"insertId": "earlier"}\n' * 1000
    assert err.value.hint.endswith(f"nothing was fetched; {out} was left as it was")
    assert [p.name for p in out.parent.iterdir()] == ["yesterday.jsonl"]


def test_a_successful_pull_replaces_an_earlier_save_whole(fake, entries, tmp_path):
    (tmp_path / "saves").mkdir()
    out = tmp_path / "saves" / "pull.jsonl"
    out.write_text("old\n" * 5000)
    pull(fake, save_path=out)
    assert [json.loads(line) for line in out.read_text().splitlines()] == entries
    assert [p.name for p in out.parent.iterdir()] == ["pull.jsonl"]


def test_save_to_an_unwritable_path_is_a_usage_error(fake, tmp_path):
    with pytest.raises(UsageError, match="cannot write"):
        pull(fake, save_path=tmp_path / "missing-dir" / "x.jsonl")


# --- import cost ------------------------------------------------------------------------------


def test_importing_the_pull_module_does_not_import_the_google_client():
    code = (
        "import sys, diagnose.sources.cloud_logging, diagnose.sources.logfilter\n"
        "import diagnose.sources.bigquery, diagnose.sources.sqlcompile\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('google.cloud', 'grpc')))\n"
        "print(bad)\nsys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
