"""Every bundled sample gives its documented diagnosis; golden files pin the exact reports.

Regenerate after an intended change with `pytest tests/test_samples_golden.py --update-golden`
and review the diff: it shows exactly how the reports changed.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import REPO
from conftest import SAMPLES as SAMPLES_DIR

GOLDEN = REPO / "tests" / "golden"

# sample → (exit code, {connection: outcome} expected by samples/README.md)
SAMPLES = {
    "incident-execute-agent": (1, {
        "e2e-staging-49066fc8": "routing_failure",
        "staging-e2e-user-001": "routing_failure",
        "staging-e2e-user-002": "routing_failure",
    }),
    "healthy-run.jsonl": (0, None),
    "staging-hour.jsonl.gz": (1, None),
    "loguru-text.log": (1, None),
    "cloud-run-stdout.jsonl": (1, None),
    # service-level samples: their outcome is a wider-scope finding (see test_service_samples)
    "crash-loop-hour.json": (1, None),
    "auth-rejection-hour.jsonl": (1, None),
}
FORMATS = {"json": "json", "terminal": "txt", "markdown": "md", "junit": "xml", "html": "html"}


def _normalize(text: str) -> str:
    """Wall-clock values are the only thing allowed to differ between runs."""
    text = re.sub(r"elapsed: [0-9.]+s", "elapsed: <s>", text)
    text = re.sub(r'(<testsuite [^>]* time=")[0-9.]+"', r'\1<s>"', text)  # JUnit
    return re.sub(r"(?i)(elapsed[^0-9|]*)[0-9]+\.[0-9]+ ?s", r"\1<s>", text)


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_sample_report_matches_golden(run_cli, update_golden, sample, fmt):
    code, _ = SAMPLES[sample]
    result = run_cli("analyze", f"samples/{sample}", "--format", fmt)
    assert result.code == code, result.err
    assert "Traceback" not in result.err
    golden = GOLDEN / f"{sample.split('.')[0]}.{FORMATS[fmt]}"
    actual = _normalize(result.out)
    if update_golden:
        golden.write_text(actual, encoding="utf-8")
    # a missing golden file is a failure, never silently written: that test could not fail
    assert golden.exists(), f"missing {golden}: run pytest with --update-golden, review the diff"
    assert actual == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("sample", SAMPLES)
def test_sample_outcomes_and_accounting(run_cli, sample):
    code, expected = SAMPLES[sample]
    doc = json.loads(run_cli("analyze", f"samples/{sample}", "-f", "json").out)
    stats = doc["stats"]
    assert stats["records_read"] == (
        stats["events"] + stats["ignored"] + stats["unparsed_total"] + stats["duplicates"]
    )
    assert doc["exit_code"] == code
    if expected is not None:
        assert {o["connection"]: o["outcome"] for o in doc["outcomes"]} == expected


def test_incident_timeouts_are_symptoms_not_causes(run_cli):
    doc = json.loads(run_cli("analyze", "samples/incident-execute-agent", "-f", "json").out)
    assert [(f["fingerprint"], len(f["connections"])) for f in doc["findings"]] == [
        ("routing-unknown-type:execute_agent", 2),
        ("routing-unknown-type:agent_execute", 1),
    ]
    for finding in doc["findings"]:
        assert "start_agent" in finding["fix"]
        assert any(s["kind"] == "client.timeout" for s in finding["symptoms"])
    assert "client_timeout_unexplained" not in doc["outcome_counts"]


def test_healthy_run_has_no_findings(run_cli):
    doc = json.loads(run_cli("analyze", "samples/healthy-run.jsonl", "-f", "json").out)
    assert doc["findings"] == [] and doc["outcome_counts"] == {"healthy": 5}


def test_staging_hour_has_every_cause_class(run_cli):
    doc = json.loads(run_cli("analyze", "samples/staging-hour.jsonl.gz", "-f", "json").out)
    assert set(doc["outcome_counts"]) == {
        "routing_failure", "connection_failure", "execution_timeout", "events_not_delivered",
        "lifecycle_incomplete", "healthy",
    }
    assert [u["provenance"] for u in doc["stats"]["unparsed"]] == [
        "samples/staging-hour.jsonl.gz:1234", "samples/staging-hour.jsonl.gz:5321",
    ]


def test_json_report_is_identical_whatever_the_file_order_or_overlap(run_cli, tmp_path):
    backend = "samples/incident-execute-agent/backend.json"
    client = "samples/incident-execute-agent/e2e-client.log"
    a = run_cli("analyze", backend, client, "-f", "json").out
    b = run_cli("analyze", client, backend, "-f", "json").out
    assert a == b
    # an overlapping second export of the same entries changes nothing but the duplicate count
    copy = tmp_path / "backend-again.json"
    copy.write_bytes((REPO / backend).read_bytes())
    c = json.loads(run_cli("analyze", client, backend, copy, "-f", "json").out)
    first = json.loads(a)

    def summary(doc):
        return ([(f["fingerprint"], f["connections"]) for f in doc["findings"]],
                [(o["connection"], o["outcome"], o["events"]) for o in doc["outcomes"]])

    assert summary(c) == summary(first)
    # only entries some rule could match are deduplicated (the rest are ignored unread)
    assert c["stats"]["duplicates"] > 0
    assert c["stats"]["records_read"] == 2 * first["stats"]["records_read"] - 40  # 40 client lines



@pytest.mark.parametrize(("sample", "cls", "scope", "key", "count"), [
    ("crash-loop-hour.json", "crash_loop", "revision", "netra-backend-staging-00740-47l", 16),
    ("auth-rejection-hour.jsonl", "auth_rejected", "service", "netra-backend-staging", 44),
])
def test_service_samples_name_their_wider_cause_first(run_cli, sample, cls, scope, key, count):
    """samples/README.md: a crash-looping revision, an auth-rejection storm on the service."""
    doc = json.loads(run_cli("analyze", SAMPLES_DIR / sample, "-f", "json").out)
    first = doc["findings"][0]
    assert (first["class"], first["scope"], first["scope_key"], first["count"]) == (
        cls, scope, key, count)
    assert doc["verdict"].startswith("ROOT CAUSE: ")
    assert sum(first["symptom_counts"].values()) > 0  # the 503s / 403s it explains


def test_service_samples_are_what_their_script_writes():
    import subprocess
    import sys

    check = subprocess.run([sys.executable, str(SAMPLES_DIR / "make_service_incidents.py"),
                            "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
