"""The benchmark's own tests: the generated files are what they claim, and the check is honest.

Run with `.venv/bin/pytest bench -q` (not part of the default `tests/` run: they write files).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from correctness import compare
from scenarios import CLASSES, SHAPES, Ids, make_episode

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PY = sys.executable
LOGURU = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \| [A-Z]+ +\| [\w.]+:[\w<>.]+:\d+ \| .*$"
)


def generate(tmp: Path, fmt: str, size: str = "6M", seed: int = 7, relevant: float = 0.2
             ) -> Path:
    out = tmp / f"g.{fmt}"
    subprocess.run(
        [PY, str(BENCH / "generate.py"), "--size", size, "--format", fmt, "--seed", str(seed),
         "--relevant", str(relevant), "-o", str(out)],
        check=True, capture_output=True,
    )
    return out


def truth_of(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".truth.json").read_text())


@pytest.fixture(scope="module")
def jsonl(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("jsonl"), "jsonl")


def test_jsonl_is_time_ordered_log_entries_with_unique_insert_ids(jsonl: Path):
    entries = [json.loads(line) for line in jsonl.read_text().splitlines()]
    stamps = [e["timestamp"] for e in entries]
    assert stamps == sorted(stamps)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", s) for s in stamps)
    assert len({e["insertId"] for e in entries}) == len(entries)
    assert all(e["resource"]["type"] in ("cloud_run_revision", "cloud_run_job") for e in entries)
    requests = [e for e in entries if "httpRequest" in e]
    assert requests and all("jsonPayload" not in e and "textPayload" not in e for e in requests)
    assert 6.0e6 < jsonl.stat().st_size < 7.0e6


def test_truth_names_exactly_the_connections_the_lines_name(jsonl: Path):
    truth = truth_of(jsonl)
    text = jsonl.read_text()
    acked = set(re.findall(r"Sending ack for unknown message type '[^']+' from (\S+?)\"", text))
    auth_failed = set(re.findall(r"authentication failed for connection (\S+)", text))
    runs = set(re.findall(r"Starting agent request processing for user=([^,]+),", text))
    classes = {c: set(v["connections"]) for c, v in truth["classes"].items()}
    idless = set(truth["unidentified"]["spans_us"])
    assert len(idless) == text.count('"WebSocket error: ') == truth["shapes"]["ws_error"] > 0
    assert classes["routing_failure"] == acked
    assert classes["connection_failure"] == auth_failed | idless
    ran = set().union(*(classes[c] for c in CLASSES if c not in
                        ("routing_failure", "connection_failure")))
    assert ran == runs
    assert all(v["count"] == len(v["connections"]) for v in truth["classes"].values())
    assert all(classes[c] for c in CLASSES), "every class is planted at least once"
    assert 0.15 < truth["relevant_share"] < 0.25


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, jsonl: Path):
    again = generate(tmp_path, "jsonl")
    (tmp_path / "o").mkdir()
    other = generate(tmp_path / "o", "jsonl", "6M", 8)
    digest = hashlib.sha256(jsonl.read_bytes()).hexdigest()
    assert hashlib.sha256(again.read_bytes()).hexdigest() == digest
    assert hashlib.sha256(other.read_bytes()).hexdigest() != digest


def test_json_array_is_gcloud_style(tmp_path: Path):
    path = generate(tmp_path, "json", "2M")
    raw = path.read_text()
    entries = json.loads(raw)
    assert raw.startswith("[\n  {\n    \"") and raw.endswith("\n]\n")
    first = entries[0]
    assert list(first) == sorted(first)
    assert sum(v["count"] for v in truth_of(path)["classes"].values()) > 5


def test_text_is_loguru_staging_format(tmp_path: Path):
    path = generate(tmp_path, "text", "2M")
    lines = path.read_text().splitlines()
    assert all(LOGURU.match(line) for line in lines)
    stamps = [line[:23] for line in lines]
    assert stamps == sorted(stamps)
    assert any("MessageRouter detected unknown message type:" in line for line in lines)


def test_memory_stays_flat_as_size_grows(tmp_path: Path):
    def peak(size: str) -> float:
        proc = subprocess.Popen([PY, str(BENCH / "generate.py"), "--size", size, "-o",
                                 str(tmp_path / f"m{size}.jsonl")], stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(proc.pid, 0)
        return usage.ru_maxrss / 1024

    small, big = peak("2M"), peak("40M")
    assert big < small + 8, (small, big)


def test_bad_arguments_are_one_line_errors_not_tracebacks(tmp_path: Path):
    for args in (["--size", "lots"], ["--mix", "nonsense=1"], ["--relevant", "1.5"]):
        r = subprocess.run([PY, str(BENCH / "generate.py"), *args, "-o", str(tmp_path / "x")],
                           capture_output=True, text=True)
        assert r.returncode == 2 and "Traceback" not in r.stderr and "error" in r.stderr


def test_every_planted_key_line_is_matched_by_the_core_rules():
    rulepack = pytest.importorskip("diagnose.rulepack")
    rules = rulepack.load_rule_packs().event_rules
    wanted = {  # planted line (prefix) → event kind it must become, with the ids it must carry
        "Sending ack for unknown": ("router.unknown_ack", "user"),
        "MessageRouter detected unknown": ("router.unknown_type", None),
        "authentication failed for connection": ("auth.failed", "connection"),
        "🎯 Starting agent request": ("agent.run_started", "user"),
        "✅ EMISSION SUCCESS: agent_started": ("lifecycle.agent_started", "run"),
        "✅ EMISSION SUCCESS: agent_thinking": ("lifecycle.agent_thinking", "run"),
        "✅ EMISSION SUCCESS: agent_completed": ("lifecycle.agent_completed", "run"),
        "🚨 CRITICAL: SupervisorAgent execution failed": ("agent.timeout", "run"),
        "CRITICAL ERROR: No WebSocket connections": ("delivery.failed", "thread"),
        "[FALLBACK] User ID:": ("client.connecting", "user"),
        "Timeout waiting for events": ("client.timeout", None),
        "WebSocket error: ": ("connection.error", None),
        "timed out after 30.0s": ("agent.timeout", None),
    }
    ids, seen = Ids(random.Random(3)), set()
    for shape in SHAPES:
        for line in make_episode(shape, ids, 1757372400.0, client=True).lines:
            for prefix, (kind, id_name) in wanted.items():
                if prefix not in line.message:
                    continue
                hits = [(r.emits, g) for r in rules
                        if (g := rulepack.apply_event_rule(r, line.message, {}, line.severity))
                        is not None]
                assert any(k == kind and (id_name is None or g.get(id_name)) for k, g in hits), (
                    line.message, hits)
                seen.add(prefix)
    assert seen == set(wanted)


def test_check_passes_only_when_every_class_set_matches(tmp_path: Path):
    truth = {
        "classes": {
            "routing_failure": {"count": 1, "connections": ["e2e-staging-aaaaaaaa"]},
            "healthy": {"count": 2, "connections": ["1001", "1002"]},
            "connection_failure": {"count": 1, "connections": ["main_12345678"]},
        },
        "aliases": {"ws_1001_1757372400_deadbeef": "1001"},
    }
    rows = [("e2e-staging-aaaaaaaa", "routing_failure"), ("ws_1001_1757372400_deadbeef", "healthy"),
            ("1002", "healthy"), ("main_12345678", "connection_failure")]
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"outcomes": [{"connection": c, "outcome": o} for c, o in rows]}))
    assert compare(truth, report)["pass"]

    rows[2] = ("1002", "lifecycle_incomplete")
    rows.append(("1003", "client_timeout_unexplained"))
    report.write_text(json.dumps({"outcomes": [{"connection": c, "outcome": o} for c, o in rows]}))
    check = compare(truth, report)
    assert not check["pass"]
    assert check["classes"]["healthy"]["missing"] == ["1002"]
    assert check["classes"]["lifecycle_incomplete"]["unexpected"] == ["1002"]
    assert check["classes"]["client_timeout_unexplained"]["unexpected"] == ["1003"]
    assert check["misplaced"] == {"healthy → lifecycle_incomplete": 1}


def test_unreadable_report_is_a_failure_with_a_reason(tmp_path: Path):
    bad = tmp_path / "r.json"
    bad.write_text("{not json")
    check = compare({"classes": {}}, bad)
    assert not check["pass"] and "cannot read report" in check["error"]


def test_runner_measures_baselines_on_a_small_file(tmp_path: Path, jsonl: Path):
    out = tmp_path / "results.json"
    r = subprocess.run([PY, str(BENCH / "run.py"), str(jsonl), "--out", str(out),
                        "--tools", "cat", "jq", "pandas", "--pandas", "naive", "--repeat", "2",
                        "--markdown", str(tmp_path / "t.md")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    result = json.loads(out.read_text())[jsonl.name]
    tools = {m["tool"]: m for m in result["results"]}
    assert set(tools) == {"cat > /dev/null", "jq test(short regex)", "pandas naive read_json"}
    assert all(m["wall_s"] > 0 and m["peak_rss_mb"] > 0 and m["runs"] == 2
               for m in tools.values())
    lines = len(jsonl.read_text().splitlines())
    assert tools["pandas naive read_json"]["output_lines"] == lines
    assert 0 < tools["jq test(short regex)"]["output_lines"] < lines
    assert tools["cat > /dev/null"]["peak_rss_mb"] < 10  # the tool's own, not this process's
    assert "MB/s" in r.stdout and "| jq test(short regex) | 2 |" in (tmp_path / "t.md").read_text()


def test_tools_that_are_not_installed_are_skipped_with_a_note(tmp_path: Path, jsonl: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("cat", "gzip", "sh"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    out = tmp_path / "results.json"
    r = subprocess.run([PY, str(BENCH / "run.py"), str(jsonl), "--out", str(out), "--tools",
                        "cat", "rg", "jq", "lnav"], capture_output=True, text=True,
                       env={**os.environ, "PATH": str(bin_dir)})
    assert r.returncode == 0, r.stderr
    notes = {m["tool"]: m["note"] for m in json.loads(out.read_text())[jsonl.name]["results"]}
    skipped = [t for t, n in notes.items() if n.startswith("skipped: ") and "not installed" in n]
    assert len(skipped) == 3 and "cat > /dev/null" not in skipped
    assert "Traceback" not in r.stderr


def test_diagnose_is_timed_and_checked_against_the_planted_truth(tmp_path: Path):
    """The shapes an independent generator found diagnose getting wrong, planted and checked:
    id-less `WebSocket error` connections and run-less timeouts among several live runs."""
    if not (ROOT / ".venv" / "bin" / "diagnose").exists():
        pytest.skip("no .venv/bin/diagnose")
    path = tmp_path / "hard.jsonl"
    subprocess.run([PY, str(BENCH / "generate.py"), "--size", "3M", "--seed", "11", "--relevant",
                    "0.2", "--rate", "100",
                    "--mix", "ws_error=1,timeout_idless=2,healthy=2,lifecycle_incomplete=1",
                    "-o", str(path)], check=True, capture_output=True)
    truth = truth_of(path)
    assert truth["shapes"]["ws_error"] > 3 and truth["idless_timeouts"]["with_other_runs_live"] > 5
    out = tmp_path / "results.json"
    r = subprocess.run([PY, str(BENCH / "run.py"), str(path), "--out", str(out),
                        "--tools", "diagnose"], capture_output=True, text=True)
    check = json.loads(out.read_text())[path.name]["correctness"][0]
    assert check["classes"]["connection_failure"]["expected"] == truth["shapes"]["ws_error"]
    assert check["pass"], r.stdout
    assert r.returncode == 0 and "correctness: PASS (0 mismatches)" in r.stdout


def test_report_names_of_unidentified_connections_resolve_to_planted_spans(tmp_path: Path):
    us = 1_757_372_400_000_000  # 23:00:00.000 UTC
    truth = {
        "classes": {"connection_failure": {"count": 2, "connections": ["idless_a", "idless_b"]}},
        "unidentified": {"prefix": "unidentified@", "spans_us": {
            "idless_a": [us + 10_000_000, us + 10_020_000],  # 23:00:10.000–.020
            "idless_b": [us + 10_500_000, us + 10_520_000]}},
    }
    report = tmp_path / "r.json"

    def check(*rows: tuple[str, str]) -> dict:
        report.write_text(json.dumps({"outcomes": [
            {"connection": c, "outcome": o} for c, o in rows]}))
        return compare(truth, report)

    assert check(("unidentified@23:00:10.012", "connection_failure"),
                 ("unidentified@23:00:10.500", "connection_failure"))["pass"]
    wrong = check(("unidentified@23:00:10.012", "healthy"),
                  ("unidentified@23:00:10.013", "connection_failure"),  # a second name, one span
                  ("unidentified@23:00:11.000", "connection_failure"))  # in no span
    assert not wrong["pass"] and wrong["mismatches"] == 5
    assert wrong["classes"]["connection_failure"]["missing"] == ["idless_a", "idless_b"]
    assert wrong["classes"]["connection_failure"]["unexpected"] == [
        "unidentified@23:00:10.013", "unidentified@23:00:11.000"]
    assert wrong["classes"]["healthy"]["unexpected"] == ["idless_a"]


def test_planted_incidents_must_be_findings_of_their_scope(tmp_path: Path):
    truth = {"classes": {}, "findings": [
        {"class": "crash_loop", "scope": "revision", "scope_key": "rev-2", "min_count": 12},
        {"class": "auth_rejected", "scope": "service", "scope_key": "backend", "min_count": 12}]}
    found = [{"class": "crash_loop", "scope": "revision", "scope_key": "rev-2", "count": 48},
             {"class": "auth_rejected", "scope": "service", "scope_key": "backend", "count": 26},
             {"class": "routing_failure", "scope": "connection", "scope_key": "", "count": 3}]
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"outcomes": [], "findings": found}))
    assert compare(truth, report)["pass"]
    found[0]["scope_key"], found[1]["count"] = "rev-1", 5
    found.append({"class": "service_unavailable", "scope": "revision", "scope_key": "rev-2",
                  "count": 6})
    report.write_text(json.dumps({"outcomes": [], "findings": found}))
    check = compare(truth, report)["findings"]
    assert [m["class"] for m in check["missing"]] == ["crash_loop", "auth_rejected"]
    assert sorted(u["class"] for u in check["unexpected"]) == [
        "auth_rejected", "crash_loop", "service_unavailable"]


def test_incidents_are_planted_in_the_real_shapes(tmp_path: Path):
    path = generate(tmp_path, "jsonl", "3M", 4)
    assert truth_of(path)["findings"] == []  # none planted: scattered auth failures are no storm
    (tmp_path / "i").mkdir()
    out = tmp_path / "i" / "g.jsonl"
    subprocess.run([PY, str(BENCH / "generate.py"), "--size", "3M", "--seed", "4", "--incidents",
                    "crash_loop,auth_rejected", "-o", str(out)], check=True, capture_output=True)
    entries = [json.loads(line) for line in out.read_text().splitlines()]
    truth = truth_of(out)
    crash, auth = truth["findings"]
    assert (crash["class"], crash["scope"], auth["class"], auth["scope_key"]) == (
        "crash_loop", "revision", "auth_rejected", "netra-backend-staging")
    rev = crash["scope_key"]
    on_rev = [e for e in entries if e["resource"]["labels"].get("revision_name") == rev]
    exits = [e for e in on_rev if e.get("textPayload") == "Container called exit(3)."]
    boots = [e for e in on_rev if "Worker failed to boot." in e.get("textPayload", "")]
    assert len(exits) == len(boots) == crash["min_count"] >= 10
    assert len({e["labels"]["instanceId"] for e in exits}) == len(exits)  # a fresh one each time
    assert any(e.get("httpRequest", {}).get("status") == 503 for e in on_rev)
    rejected = [e for e in entries if "WebSocket connection rejected in staging" in
                e.get("jsonPayload", {}).get("message", "")]
    ws403 = [e for e in entries if e.get("httpRequest", {}).get("status") == 403]
    assert len(rejected) == len(ws403) == auth["min_count"] == truth["classes"]["auth_rejected"][
        "count"]
    stamps = [e["timestamp"] for e in entries]
    assert stamps == sorted(stamps)


def test_newest_first_array_holds_the_same_entries_reversed(tmp_path: Path):
    asc = json.loads(generate(tmp_path, "json", "2M", 5).read_text())
    (tmp_path / "d").mkdir()
    path = generate(tmp_path / "d", "json-desc", "2M", 5)
    desc = json.loads(path.read_text())
    assert desc == asc[::-1]
    assert truth_of(path)["bytes"] == path.stat().st_size


@pytest.mark.parametrize("form", ["text", "jsonl"])
def test_many_connections_file_is_analysed_to_its_truth(tmp_path: Path, form: str):
    out = tmp_path / f"many.{form}"
    subprocess.run([PY, str(BENCH / "many.py"), "--connections", "3000", "--fail-every", "7",
                    "--format", form, "-o", str(out)], check=True, capture_output=True)
    truth = truth_of(out)
    assert truth["classes"] == {"routing_failure": 429, "healthy": 2571}
    report = subprocess.run([PY, "-m", "diagnose", "analyze", str(out), "--format", "json"],
                            capture_output=True, text=True, cwd=ROOT)
    assert report.returncode == 1, report.stderr
    doc = json.loads(report.stdout)
    assert doc["outcome_counts"] == truth["classes"]
    assert doc["connections_total"] == 3000


def test_a_truncated_report_is_checked_by_its_listed_rows_and_its_class_counts(tmp_path: Path):
    truth = {"classes": {"routing_failure": {"connections": ["u1", "u2"]},
                         "healthy": {"connections": ["h1", "h2", "h3"]}}}
    rows = [{"connection": c, "outcome": o} for c, o in
            (("u1", "routing_failure"), ("u2", "routing_failure"), ("h1", "healthy"))]
    report = {"outcomes": rows, "outcomes_truncated": True, "findings": [],
              "outcome_counts": {"routing_failure": 2, "healthy": 3}}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report))
    assert compare(truth, path)["pass"]
    report["outcome_counts"]["healthy"] = 2  # one healthy connection went elsewhere, unlisted
    path.write_text(json.dumps(report))
    assert compare(truth, path)["classes"]["healthy"]["missing"] == ["h2", "h3"]
    report.update(outcomes_truncated=False, outcome_counts={"routing_failure": 2, "healthy": 3})
    path.write_text(json.dumps(report))  # not truncated: every connection must be listed
    assert compare(truth, path)["mismatches"] == 2
