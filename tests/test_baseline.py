"""Baseline diff against a previous JSON report, as the scheduled report uses it.

The previous report is written by the real JSON renderer to a real file, then read back.
"""

from __future__ import annotations

import json

import pytest
from test_render_ci import make_report, outcome, routing_finding

from diagnose.baseline import diff_against, load_baseline
from diagnose.errors import UsageError
from diagnose.render.html import render_html
from diagnose.render.json import render_json
from diagnose.render.markdown import render_markdown


def _previous(tmp_path, report):
    path = tmp_path / "prev.json"
    path.write_text(render_json(report), encoding="utf-8")
    return load_baseline(path)


def _today():
    """Yesterday's routing failure persists (3 connections now), a new type appeared, the
    unexplained timeout is gone, and the day had 10 connections instead of 5."""
    conns = [f"c{i}" for i in range(3)]
    findings = [routing_finding(conns=conns), routing_finding(key="agent_execute", conns=["c9"])]
    rows = [outcome(c, "routing_failure", i) for i, c in enumerate(conns)]
    rows += [outcome("c9", "routing_failure", 5)]
    rows += [outcome(f"h{i}", "healthy", 10 + i) for i in range(6)]
    report = make_report(findings, rows)
    report.sections["event_counts"] = {"router.unknown_ack": 4, "lifecycle.agent_started": 6}
    return report


def test_new_resolved_persisting_by_fingerprint(tmp_path):
    before = make_report()
    before.sections["event_counts"] = {"router.unknown_ack": 2, "lifecycle.agent_started": 2,
                                       "client.timeout": 3}
    diff = diff_against(_today(), _previous(tmp_path, before))
    assert [(d.fingerprint, d.connections_then, d.connections_now) for d in diff.new] == [
        ("routing-unknown-type:agent_execute", 0, 1)]
    assert [(d.fingerprint, d.connections_then, d.connections_now) for d in diff.resolved] == [
        ("client-timeout-unexplained", 1, 0)]
    assert [(d.fingerprint, d.connections_then, d.connections_now) for d in diff.persisting] == [
        ("routing-unknown-type:execute_agent", 2, 3)]
    assert (diff.connections_then, diff.connections_now) == (5, 10)
    assert diff.previous_label == "2025-09-08T23:49:24.508000Z → 2025-09-09T00:19:24.508000Z"


def test_rates_per_100_connections_flag_only_sharp_changes(tmp_path):
    before = make_report()
    before.sections["event_counts"] = {"router.unknown_ack": 2, "lifecycle.agent_started": 2,
                                       "client.timeout": 3}
    diff = diff_against(_today(), _previous(tmp_path, before))
    changes = {(r.scope, r.name): (r.then, r.now, r.change) for r in diff.rate_changes}
    # routing failures 40 → 40 per 100 and unknown acks 40 → 40: same rate, not listed
    assert ("outcome", "routing_failure") not in changes
    assert ("event", "router.unknown_ack") not in changes
    assert changes[("outcome", "client_timeout_unexplained")] == (20.0, 0.0, "gone")
    assert changes[("event", "client.timeout")] == (60.0, 0.0, "gone")
    # healthy 40 → 60 per 100 (1.5×) is not sharp; agent_started 40 → 60 neither
    assert ("outcome", "healthy") not in changes
    assert ("event", "lifecycle.agent_started") not in changes


def test_doubling_rate_is_listed(tmp_path):
    before = make_report(outcomes=[outcome(f"h{i}", "healthy", i) for i in range(9)]
                         + [outcome("x", "routing_failure", 9)])
    diff = diff_against(make_report(), _previous(tmp_path, before))
    changes = {(r.scope, r.name): (r.then, r.now, r.change) for r in diff.rate_changes}
    assert changes[("outcome", "routing_failure")] == (10.0, 40.0, "up")
    assert changes[("outcome", "healthy")] == (90.0, 40.0, "down")
    assert changes[("outcome", "client_timeout_unexplained")] == (0.0, 20.0, "new")


def test_renderers_show_the_diff(tmp_path):
    today = _today()
    diff = diff_against(today, _previous(tmp_path, make_report()))
    md = render_markdown(today, baseline=diff)
    assert "1 new, 1 resolved, 1 persisting finding(s); connections 5 → 10." in md
    assert ("| New | `routing-unknown-type:agent_execute` Unknown message type 'agent\\_execute' "
            "acked and dropped by the MessageRouter | 0 | 1 |") in md
    html = render_html(today, baseline=diff)
    assert "1 new since last run, 1 resolved since last run, 1 persisting" in html
    assert html.count("new since last run</span>") == 1  # the badge on the one new finding
    assert json.loads(json.dumps(diff.to_dict()))["new"][0]["connections_now"] == 1


def test_history_adds_a_trend_chart(tmp_path):
    previous = [_previous(tmp_path, make_report()), _previous(tmp_path, _today())]
    html = render_html(make_report(), history=previous)
    assert "<h2>Trend over previous runs</h2>" in html
    assert html.count("<svg") == 2
    assert "this run · Healthy: 2" in html


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json at all", "is not JSON (line 1"),
        ("[1, 2]", "is not a diagnose JSON report"),
        ('{"verdict": "x"}', "is not a diagnose JSON report"),
        ('{"schema_version": "2.0"}', "has schema_version '2.0'; this diagnose reads 1.x"),
        ('{"schema_version": "1.0", "findings": {}}', "'findings' is not a list"),
        ('{"schema_version": "1.0", "findings": [{"title": "x"}]}', "a finding has no fingerprint"),
    ],
)
def test_non_report_files_get_a_clear_usage_error(tmp_path, content, message):
    path = tmp_path / "prev.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError) as info:
        load_baseline(path)
    assert message in info.value.message
    assert info.value.exit_code == 2


def test_missing_and_binary_baselines(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_baseline(tmp_path / "nope.json")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UsageError, match="cannot read baseline"):
        load_baseline(binary)
