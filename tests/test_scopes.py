"""Findings beyond one connection: scopes, counting conditions and classes declared in a pack.

A user pack under tests/data/packs/oom adds a class (`memory_exhausted`) and an instance-scope
counting rule with no Python change; these tests run it through the real CLI and the library.
"""

from __future__ import annotations

import json

from conftest import REPO

import diagnose
from diagnose.exit_codes import ExitCode

OOM_PACK = REPO / "tests" / "data" / "packs" / "oom"
OOM_HOUR = REPO / "tests" / "data" / "oom-hour.jsonl"


def test_user_pack_with_a_new_class_and_scope_passes_its_self_test(run_cli):
    result = run_cli("rules", "test", OOM_PACK)
    assert result.code == ExitCode.OK, result.out + result.err
    assert "oom-loop" in result.out
    assert "memory-limit-exceeded" in result.out


def test_new_scope_rule_counts_per_instance_and_explains_the_client_timeout(run_cli):
    result = run_cli("analyze", OOM_HOUR, "--rules", OOM_PACK, "--format", "json")
    assert result.code == ExitCode.FINDINGS, result.err
    report = json.loads(result.out)
    first = report["findings"][0]
    assert first["class"] == "memory_exhausted"
    assert first["scope"] == "instance"
    assert first["scope_key"] == "inst-a"  # inst-b had one kill: not a loop
    assert first["count"] == 2
    assert first["title"] == "2 out-of-memory kills in 90 s on instance inst-a (limit 512 MiB)"
    assert first["first_seen"] == "2025-09-20T10:00:00.000000Z"
    assert first["last_seen"] == "2025-09-20T10:01:50.000000Z"  # the explained timeout is in its window
    assert report["verdict"].startswith("ROOT CAUSE: 2 out-of-memory kills in 90 s on instance inst-a")
    # the client's timeout is this cause's symptom, not an unexplained timeout of its own
    assert first["symptom_counts"] == {"client.timeout": 1}
    assert first["connections"] == ["e2e-staging-aaaa1111"]
    assert report["outcome_counts"] == {"memory_exhausted": 1}
    assert all(f["class"] != "client_timeout_unexplained" for f in report["findings"])


def test_without_the_pack_the_timeout_stays_unexplained(run_cli):
    result = run_cli("analyze", OOM_HOUR, "--format", "json")
    report = json.loads(result.out)
    assert result.code == ExitCode.OK
    assert [f["class"] for f in report["findings"]] == ["client_timeout_unexplained"]


def test_terminal_report_names_the_scope_and_the_count(run_cli):
    result = run_cli("analyze", OOM_HOUR, "--rules", OOM_PACK)
    assert result.code == ExitCode.FINDINGS
    assert "2 out-of-memory kills in 90 s on instance inst-a" in result.out
    assert "Out of memory" in result.out  # the pack's label for its class


def test_library_call_gives_the_cli_report(run_cli):
    report = diagnose.analyze(OOM_HOUR, rules=[OOM_PACK])
    cli = json.loads(run_cli("analyze", OOM_HOUR, "--rules", OOM_PACK, "--format", "json").out)
    from diagnose.render.json import report_to_dict

    assert report_to_dict(report)["findings"] == cli["findings"]
    assert report.verdict() == cli["verdict"]
    assert "contrast" in report.sections


def test_seed_lines_pasted_alone_are_a_routing_failure(run_cli, tmp_path):
    pasted = tmp_path / "pasted.log"
    pasted.write_text(
        "MessageRouter detected unknown message type: execute_agent\n"
        "Sending ack for unknown message type 'execute_agent' from e2e-staging-49066fc8\n"
    )
    result = run_cli("analyze", pasted, "--format", "json")
    assert result.code == ExitCode.FINDINGS, result.err
    report = json.loads(result.out)
    finding = report["findings"][0]
    assert finding["class"] == "routing_failure"
    assert finding["connections"] == ["e2e-staging-49066fc8"]
    assert "start_agent" in finding["fix"]
    assert [e["ts"] for e in finding["evidence"]] == [None, None]  # shown as no time stamp
    assert report["outcome_counts"] == {"routing_failure": 1}


def test_unexplained_errors_are_listed_without_patterns(run_cli, tmp_path):
    log = tmp_path / "errors.jsonl"
    rows = [{"timestamp": f"2025-09-20T10:00:0{i}Z", "severity": "ERROR",
             "jsonPayload": {"message": f"Payment gateway refused order {1000 + i}"}} for i in range(3)]
    log.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = run_cli("analyze", log, "--format", "json")
    report = json.loads(result.out)
    top = report["unexplained_errors"]["top"][0]
    assert top["count"] == 3
    assert top["template"] == "Payment gateway refused order <NUM>"
    assert top["first_seen"] == "2025-09-20T10:00:00.000000Z"
    assert top["last_seen"] == "2025-09-20T10:00:02.000000Z"
    assert "ERROR/CRITICAL" in report["verdict"]
    assert result.code == ExitCode.OK


def test_fail_on_unexplained_makes_unexplained_errors_fail_the_run(run_cli, tmp_path):
    log = tmp_path / "errors.jsonl"
    log.write_text(json.dumps({"timestamp": "2025-09-20T10:00:00Z", "severity": "ERROR",
                               "jsonPayload": {"message": "Payment gateway refused order 7"}}) + "\n")
    assert run_cli("analyze", log).code == ExitCode.OK
    assert run_cli("analyze", log, "--fail-on", "unexplained").code == ExitCode.FINDINGS
    # the OOM lines are ERRORs no built-in rule explains; the user pack explains them
    assert run_cli("analyze", OOM_HOUR, "--fail-on", "unexplained").code == ExitCode.FINDINGS
    explained = run_cli("analyze", OOM_HOUR, "--rules", OOM_PACK, "--fail-on", "unexplained")
    assert explained.code == ExitCode.OK


def test_fail_on_takes_a_class_a_user_pack_declares(run_cli):
    result = run_cli("analyze", OOM_HOUR, "--rules", OOM_PACK, "--fail-on", "memory_exhausted")
    assert result.code == ExitCode.FINDINGS
    refused = run_cli("analyze", OOM_HOUR, "--fail-on", "memory_exhausted")  # without the pack
    assert refused.code == ExitCode.USAGE
    assert "unknown class memory_exhausted" in refused.err


def _auth_hour(failure: str) -> list:
    """Forty clients log in over ten minutes; six more are refused with `failure`."""
    from datetime import UTC, datetime, timedelta

    from diagnose.model import RawRecord

    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    fields = {"service": "netra-backend-staging", "instance_id": "00a1"}
    records = []
    for k in range(40):
        at = start + timedelta(seconds=15 * k)
        records.append(RawRecord("hour.jsonl", len(records) + 1, at, "INFO",
                                 f"WebSocket authenticated for user: user_{k:03d} at {at}",
                                 dict(fields)))
    for k in range(6):
        at = start + timedelta(seconds=90 * k + 7)
        records.append(RawRecord("hour.jsonl", len(records) + 1, at, "ERROR", failure,
                                 dict(fields)))
    return records


def test_auth_failures_among_more_logins_are_individual_clients_not_a_storm():
    report = diagnose.analyze(_auth_hour("WebSocket connection rejected in staging: Invalid "
                                         "JWT=REDACTED"))
    assert [f.rule_id for f in report.findings if f.scope == "service"] == []


def test_a_server_side_reason_is_a_storm_however_many_others_log_in():
    """The backend saying its JWT secret differs from the auth service's fails every client that
    holds such a token (issue #16's bench: the e2e runner refused while others got through)."""
    report = diagnose.analyze(_auth_hour(
        "JWT=REDACTED verification failed - likely JWT=REDACTED between services"))
    storms = [f for f in report.findings if f.rule_id == "auth-rejection-storm"]
    assert [(f.cls, f.scope_key, f.count) for f in storms] == [
        ("auth_rejected", "netra-backend-staging", 6)]
    assert report.verdict().startswith("ROOT CAUSE: Auth rejection storm")
