"""The CLI as a user meets it: exit codes, one-line errors, and reports on real log files."""

from __future__ import annotations

import json

import pytest
from conftest import SCENARIOS

from diagnose.exit_codes import ExitCode

UNKNOWN_TYPE_LOG = SCENARIOS / "routing-unknown-type.log"
LOG = str(UNKNOWN_TYPE_LOG)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze"], "diagnose: error: Missing argument 'PATH'."),
        (["analyze", "--bogus", "x"], "diagnose: error: No such option: --bogus"),
        (["analyze", "no/such/file.log"], "diagnose: error: no such file or directory: no/such/file.log"),
        (["analyze", LOG, "--fail-on", "nope"],
         "diagnose: error: --fail-on: unknown class nope"),
        (["analyze", LOG, "--tz", "Mars/Olympus"],
         "diagnose: error: --tz: unknown time zone"),
        (["analyze", LOG, "--step-summary"], "diagnose: error: --step-summary needs"),
        (["analyze", LOG, "--format", "yaml"], "diagnose: error: Invalid value for"),
        (["analyze", LOG, "--rules", "no-such-dir"],
         "diagnose: error: --rules: not a directory"),
        (["pull", "--project", "p", "--since", "yesterday-ish"], "diagnose: error: --since"),
    ],
)
def test_usage_errors_exit_2_with_one_line(run_cli, args, message):
    result = run_cli(*args)
    assert result.code == ExitCode.USAGE
    assert result.err.startswith(message)
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err


def test_version(run_cli):
    result = run_cli("--version")
    assert (result.code, result.out.strip()) == (0, "diagnose 0.1.0")


def test_unknown_type_is_a_root_cause_with_evidence_and_fix(run_cli):
    result = run_cli("analyze", UNKNOWN_TYPE_LOG)
    assert result.code == ExitCode.FINDINGS
    out = result.out
    assert "ROOT CAUSE: Unknown message type 'execute_agent'" in out
    assert "Send 'start_agent' instead of 'execute_agent'" in out
    # the id-less router line is paired with its ack and shown as evidence, with file:line
    assert "routing-unknown-type.log:5" in out and "routing-unknown-type.log:6" in out
    assert "Parse accounting: 23 records read = 22 with events + 1 ignored + 0 unparsed" in out


def test_json_report_classifies_each_connection(run_cli):
    result = run_cli("analyze", UNKNOWN_TYPE_LOG, "--format", "json")
    doc = json.loads(result.out)
    assert doc["schema_version"] == "1.0"
    outcomes = {o["connection"]: o["outcome"] for o in doc["outcomes"]}
    assert outcomes == {"e2e-staging-49066fc8": "routing_failure", "staging-e2e-user-002": "healthy"}
    (finding,) = doc["findings"]
    assert finding["fingerprint"] == "routing-unknown-type:execute_agent"
    assert [e["kind"] for e in finding["evidence"]] == ["router.unknown_type", "router.unknown_ack"]
    assert doc["uncorrelated_events"] == 0


def test_fail_on_limits_what_turns_the_step_red(run_cli):
    assert run_cli("analyze", UNKNOWN_TYPE_LOG, "--fail-on", "execution_timeout").code == 0
    assert run_cli("analyze", UNKNOWN_TYPE_LOG, "--fail-on", "routing_failure").code == 1


def test_output_file_and_step_summary(run_cli, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = tmp_path / "r.xml"
    result = run_cli("analyze", UNKNOWN_TYPE_LOG, "-f", "junit", "-o", out, "--step-summary")
    assert result.code == 1 and result.out == ""
    assert out.read_text().startswith("<?xml")
    assert "execute_agent" in summary.read_text()


def test_explain_prints_the_timeline(run_cli):
    result = run_cli("explain", "e2e-staging-49066fc8", UNKNOWN_TYPE_LOG)
    assert result.code == 1
    assert "router.unknown_type" in result.out and "router.unknown_ack" in result.out
    assert "connection.closed" in result.out
    assert "routing-unknown-type.log:6" in result.out  # where each line is
    assert "→ cause" in result.out and "'execute_agent'" in result.out  # filled in
    assert "{message_type}" not in result.out


def test_explain_unknown_connection_is_a_usage_error(run_cli):
    result = run_cli("explain", "nobody", UNKNOWN_TYPE_LOG)
    assert result.code == 2
    assert result.err.startswith("diagnose: error: no connection 'nobody' in these logs")


def test_rules_list_and_test(run_cli):
    listed = run_cli("rules", "list")
    assert listed.code == 0 and "router-unknown-ack" in listed.out
    tested = run_cli("rules", "test")
    assert tested.code == 0, tested.out


def test_nothing_readable_exits_3(run_cli, tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\xff\x00garbage\x00" * 100)
    result = run_cli("analyze", junk)
    assert result.code == ExitCode.NO_INPUT
    assert "no usable input" in result.err


def test_cli_module_does_not_import_cloud_logging():
    import subprocess
    import sys

    code = "import diagnose.cli, sys; assert 'google.cloud.logging' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_patterns_lists_residue_and_emits_a_loadable_rule(run_cli, tmp_path):
    listed = run_cli("patterns", SCENARIOS / "connection-auth-failure.log")
    assert listed.code == 0
    assert "Patterns no rule explains" in listed.out
    skeleton = run_cli("patterns", SCENARIOS / "connection-auth-failure.log", "--skeleton", "1")
    assert skeleton.code == 0
    assert skeleton.out.startswith("# ") or "kind = \"event\"" in skeleton.out
    # the skeleton is a real rule: a pack made of it passes `rules test`
    pack = tmp_path / "mined"
    (pack / "events").mkdir(parents=True)
    (pack / "findings").mkdir()
    (pack / "pack.toml").write_text('id = "mined"\nversion = "0.1.0"\ndescription = "mined"\n')
    rule_id = next(
        line.split('"')[1] for line in skeleton.out.splitlines() if line.startswith("id = ")
    )
    (pack / "events" / f"{rule_id}.toml").write_text(skeleton.out)
    assert run_cli("rules", "list", "--rules", pack).code == 0
    assert run_cli("patterns", SCENARIOS / "connection-auth-failure.log", "--skeleton", "99").code == 2


def test_analyze_patterns_adds_the_section_to_json(run_cli):
    result = run_cli("analyze", UNKNOWN_TYPE_LOG, "--patterns", "-f", "json")
    doc = json.loads(result.out)
    assert doc["patterns"]["lines"] == 1
    assert doc["patterns"]["top"][0]["template"] == "Message routing successful for user <ID>"


def test_also_writes_several_formats_from_one_run(run_cli, tmp_path):
    j, x = tmp_path / "r.json", tmp_path / "r.xml"
    result = run_cli("analyze", UNKNOWN_TYPE_LOG, "--also", f"json={j}", "--also", f"junit={x}")
    assert result.code == 1 and "ROOT CAUSE" in result.out
    assert json.loads(j.read_text())["findings"][0]["class"] == "routing_failure"
    assert "<testsuite" in x.read_text()
    bad = run_cli("analyze", UNKNOWN_TYPE_LOG, "--also", "yaml=x")
    assert bad.code == 2 and bad.err.startswith("diagnose: error: --also 'yaml=x'")


def test_baseline_from_previous_report_marks_new_findings(run_cli, tmp_path):
    prev = tmp_path / "prev.json"
    run_cli("analyze", UNKNOWN_TYPE_LOG, "-f", "json", "-o", prev)
    result = run_cli("analyze", *sorted(SCENARIOS.glob("*.log")), "--baseline", prev, "-f", "json")
    diff = json.loads(result.out)["baseline"]
    assert [d["fingerprint"] for d in diff["persisting"]] == ["routing-unknown-type:execute_agent"]
    new = {d["fingerprint"].split(":", 1)[0] for d in diff["new"]}
    assert {"execution-timeout", "connection-dropped"} <= new  # keyed by the error, masked


def test_broken_user_packs_list_every_problem_and_exit_4(run_cli):
    result = run_cli("analyze", UNKNOWN_TYPE_LOG, "--rules", "tests/data/bad_rules/unknown_key",
                     "--rules", "tests/data/bad_rules/bad_regex")
    assert result.code == ExitCode.BAD_RULES
    lines = result.err.splitlines()
    assert lines[0] == "diagnose: error: invalid rule pack: 5 problems in 2 files"
    assert ("  tests/data/bad_rules/unknown_key/events/unknown-key.toml: /patern: unknown key; "
            "did you mean 'patterns'?") in lines
    assert any("bad-regex.toml: /patterns/0: invalid regex" in line for line in lines)
    assert result.out == ""


def test_rules_test_on_a_user_pack_runs_it_as_analyze_would(run_cli):
    pack = "tests/data/good_rules/testpack"
    alone = run_cli("rules", "test", pack, "--no-builtin-rules")
    assert alone.code == 0 and alone.out.strip().endswith("5 rules, 15 checks: all passed")
    # beside the core pack, core's lifecycle rule also fires on the pack's scenario: say so
    combined = run_cli("rules", "test", pack)
    assert combined.code == ExitCode.BAD_RULES
    # core's routing rule is final on the ack (no lifecycle can follow an acked unknown type)
    assert "expected healthy, got routing_failure" in combined.out


def test_stdin_gives_the_same_findings_as_the_file():
    import subprocess
    import sys

    data = UNKNOWN_TYPE_LOG.read_bytes()
    cmd = [sys.executable, "-m", "diagnose", "analyze", "-", "-f", "json"]
    piped = subprocess.run(cmd, input=data, capture_output=True, check=False)
    assert piped.returncode == 1, piped.stderr
    doc = json.loads(piped.stdout)
    assert [f["fingerprint"] for f in doc["findings"]] == ["routing-unknown-type:execute_agent"]
    assert doc["findings"][0]["evidence"][1]["provenance"] == "<stdin>:6"


def test_report_history_draws_the_trend_over_earlier_runs(run_cli, tmp_path):
    earlier = tmp_path / "earlier.json"
    run_cli("analyze", UNKNOWN_TYPE_LOG, "-f", "json", "-o", earlier)
    page = tmp_path / "r.html"
    result = run_cli("report", "samples/healthy-run.jsonl", "--history", earlier, "-o", page)
    assert result.code == 0, result.err
    html = page.read_text(encoding="utf-8")
    assert "Trend over previous runs" in html and html.count("<svg") == 2
    missing = run_cli("report", "samples/healthy-run.jsonl", "--history", tmp_path / "nope.json")
    assert missing.code == 2 and missing.err.startswith("diagnose: error: no such file:")


def test_logs_that_end_inside_a_window_say_in_progress_not_healthy(run_cli, tmp_path):
    lines = (SCENARIOS / "lifecycle-incomplete.log").read_text(encoding="utf-8").splitlines()
    cut = next(i for i, ln in enumerate(lines) if "EMISSION SUCCESS: agent_thinking" in ln)
    log = tmp_path / "cut.log"
    log.write_text("\n".join(lines[: cut + 1]) + "\n", encoding="utf-8")
    result = run_cli("analyze", log, "-f", "json")
    doc = json.loads(result.out)
    assert (result.code, doc["outcome_counts"]) == (0, {"in_progress": 1})
    assert doc["verdict"].startswith("No failure found yet: 1 of 1 connection(s) were still")
