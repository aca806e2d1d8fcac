"""Issues #15 and #12 through the real CLI: what a user meets on every command, format and exit path.

In-process runs use the console-script entry point (`run_cli`); signals, closed pipes and the
e2e workflow example need a real process, so those run `python -m diagnose` as a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES, SCENARIOS
from test_hardening import scenario_entries, write_jsonl

from diagnose.exit_codes import ExitCode

SCENARIO = SCENARIOS / "routing-unknown-type.log"
INCIDENT = SAMPLES / "incident-execute-agent"
FORMATS = ("terminal", "json", "markdown", "html", "junit")


def json_report(run_cli, tmp_path: Path, name: str = "earlier.json") -> Path:
    path = tmp_path / name
    result = run_cli("analyze", SCENARIO, "-f", "json", "-o", path)
    assert result.code == ExitCode.FINDINGS and path.is_file()
    return path


# --- history, JSON reports as inputs, report command -------------------------------------------


def test_history_takes_a_directory_and_a_quoted_glob(run_cli, tmp_path):
    week = tmp_path / "week"
    week.mkdir()
    for day in ("mon", "tue", "wed"):
        json_report(run_cli, week, f"{day}.json")
    for history in (week, f"{week}/*.json"):
        page = tmp_path / "page.html"
        result = run_cli("report", SCENARIO, "--history", history, "-o", page)
        assert result.code == ExitCode.OK, result.err
        assert "Trend over previous runs" in page.read_text(encoding="utf-8")


def test_history_glob_that_matches_nothing_is_refused(run_cli, tmp_path):
    result = run_cli("report", SCENARIO, "--history", f"{tmp_path}/*.json", "-o", tmp_path / "p.html")
    assert result.code == ExitCode.USAGE
    assert result.err == f"diagnose: error: --history {tmp_path}/*.json: the pattern matches no files\n"


@pytest.mark.parametrize("command", ["analyze", "report"])
def test_json_report_given_as_a_log_input_is_refused(run_cli, tmp_path, command):
    """An unquoted `--history week/*.json` leaves all but the first file as log inputs."""
    earlier = json_report(run_cli, tmp_path)
    result = run_cli(command, SCENARIO, earlier, "-o", tmp_path / "out")
    assert result.code == ExitCode.USAGE
    assert result.err.startswith(f"diagnose: error: {earlier} is a diagnose JSON report, not a log")
    assert "--history" in result.err and len(result.err.splitlines()) == 1


def test_json_report_inside_a_log_directory_is_passed_over(run_cli, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(SCENARIO, logs / "backend.log")
    json_report(run_cli, logs, "report.json")
    result = run_cli("analyze", logs, "-f", "json")
    assert result.code == ExitCode.FINDINGS
    assert "passed over 1 file(s) that are not logs" in result.err and "report.json" in result.err
    assert json.loads(result.out)["stats"]["records_read"] == 23


def test_report_says_where_it_wrote_and_dash_means_stdout(run_cli, tmp_path):
    page = tmp_path / "page.html"
    result = run_cli("report", SCENARIO, "-o", page)
    assert result.code == ExitCode.OK
    assert result.err == f"diagnose: wrote html report to {page}\n"
    result = run_cli("report", SCENARIO, "-o", page, "--also", f"json={tmp_path}/r.json")
    assert result.err == f"diagnose: wrote html report to {page}, json report to {tmp_path}/r.json\n"
    result = run_cli("report", SCENARIO, "-f", "markdown", "-o", "-")
    assert result.code == ExitCode.OK and result.out.startswith("# diagnose: agent run report")
    assert not (REPO / "-").exists()
    result = run_cli("analyze", SCENARIO, "-f", "json", "-o", "-")
    assert json.loads(result.out)["schema_version"]


def test_report_help_lists_only_the_formats_it_accepts(run_cli):
    result = run_cli("report", "--help")
    assert "html|markdown" in re.sub(r"[\s│]+", "", result.out).replace("<", "").replace(">", "")
    assert "junit" not in result.out and "terminal" not in result.out
    assert run_cli("report", SCENARIO, "-f", "json").code == ExitCode.USAGE


@pytest.mark.parametrize("command", [["analyze"], ["report"], ["pull"], ["explain"], ["patterns"],
                                     ["rules", "list"], ["rules", "test"], []])
def test_help_names_values_not_raw_types(run_cli, command):
    result = run_cli(*command, "--help")
    assert result.code == ExitCode.OK
    raw = re.findall(r"<(?:list\[\w+\]|str|bool|int|path|Path)>", result.out)
    assert raw == [], raw


def test_bare_commands_print_help_once(run_cli):
    for args in ([], ["rules"]):
        result = run_cli(*args)
        assert result.code == ExitCode.USAGE
        assert result.out.count("Usage:") == 1, result.out


def test_shell_completion_as_typer_users_expect(run_cli):
    assert "--install-completion" in run_cli("--help").out
    # typer finds the shell among the process's ancestors (shellingham), not from an argument:
    # run it from bash, as a user would (`; true` keeps bash from exec-ing into python), so the
    # test does not depend on what started pytest
    shown = subprocess.run(["bash", "-c", f"{shlex.quote(sys.executable)} -m diagnose "
                            "--show-completion bash; true"], capture_output=True, text=True,
                           cwd=REPO, timeout=60)
    assert "_diagnose_completion" in shown.stdout, shown.stderr
    env = {**os.environ, "_DIAGNOSE_COMPLETE": "complete_bash", "COMP_WORDS": "diagnose ana",
           "COMP_CWORD": "1"}
    proc = subprocess.run([sys.executable, "-m", "diagnose"], env=env, capture_output=True,
                          text=True, cwd=REPO, timeout=60)
    assert proc.stdout.split() == ["analyze"]


# --- option checks --------------------------------------------------------------------------------


@pytest.mark.parametrize("since", ["2 hours", "-5h", "5", "monday", "0s"])
def test_since_accepts_only_documented_forms(run_cli, since):
    result = run_cli("pull", "--project", "p", "--since", since, "--show-filter")
    assert result.code == ExitCode.USAGE
    assert result.err.startswith("diagnose: error: --since: ") and len(result.err.splitlines()) == 1


@pytest.mark.parametrize("since", ["2h", "1h30m", "2025-09-08T23:00:00Z", "2025-09-08"])
def test_since_documented_forms_still_work(run_cli, since):
    result = run_cli("pull", "--project", "p", "--since", since, "--until", "2025-09-09T00:00:00Z",
                     "--show-filter")
    assert result.code == ExitCode.OK, result.err
    assert result.out.startswith('timestamp>="2025-09-08T')


def test_fail_on_healthy_is_refused(run_cli):
    result = run_cli("analyze", SCENARIO, "--fail-on", "healthy")
    assert result.code == ExitCode.USAGE
    assert result.err.startswith("diagnose: error: --fail-on: healthy is not a failure class")


def test_baseline_that_is_not_a_report_or_log_is_refused(run_cli):
    result = run_cli("analyze", SCENARIO, "--baseline", "README.md")
    assert result.code == ExitCode.USAGE
    assert result.err.startswith("diagnose: error: --baseline README.md: a .md file is neither")


@pytest.mark.parametrize("body, message", [
    ('{"schema_version": "1.0", "findings": [{"fingerprint": "x", "connections": 5}]}',
     "a finding's 'connections' is not a list"),
    ('{"schema_version": "1.0", "findings": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "nests JSON too deeply"),
    ('{"schema_version": "1.0", "outcome_counts": {"healthy": 1e400}, "provenance": 3}',
     "'provenance' is not an object"),
])
def test_malformed_baseline_is_one_line_not_a_traceback(run_cli, tmp_path, body, message):
    baseline = tmp_path / "baseline.json"
    baseline.write_text(body, encoding="utf-8")
    result = run_cli("analyze", SCENARIO, "--baseline", baseline)
    assert result.code == ExitCode.USAGE
    assert message in result.err.splitlines()[0] and "Traceback" not in result.err


def test_missing_output_directory_is_refused_before_the_analysis(run_cli, tmp_path):
    for option in (["-o", tmp_path / "no" / "report.json"], ["--also", f"json={tmp_path}/no/r.json"]):
        result = run_cli("analyze", "no/such/input.log", *option)
        # refused for the output before the (also missing) input is even looked at
        assert result.code == ExitCode.USAGE
        assert "no such directory" in result.err and "input.log" not in result.err


# --- output safety, exit 3, annotations, pipes ---------------------------------------------------


def test_failed_run_keeps_the_previous_report(run_cli, tmp_path):
    report = json_report(run_cli, tmp_path, "report.json")
    before = report.read_bytes()
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    result = run_cli("analyze", empty, "-f", "json", "-o", report)
    assert result.code == ExitCode.NO_INPUT
    assert report.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.log", "report.json"]  # no temp left


@pytest.mark.parametrize("content, reason", [
    (b"", "the given logs hold no records"),
    (bytes(range(256)) * 40, "binary data"),
])
def test_empty_or_binary_input_is_one_line_and_exit_3(run_cli, tmp_path, content, reason):
    path = tmp_path / "input.log"
    path.write_bytes(content)
    for fmt in FORMATS:
        result = run_cli("analyze", path, "-f", fmt)
        assert result.code == ExitCode.NO_INPUT
        assert result.out == ""  # no 10-line "No agent connections found" report
        assert result.err.startswith("diagnose: error: no usable input") and reason in result.err
        assert len(result.err.splitlines()) == 1


def test_directory_of_only_docs_and_code_shows_the_passed_over_note(run_cli, tmp_path):
    (tmp_path / "README.md").write_text("# notes\n")
    (tmp_path / "conftest.py").write_text("x = 1\n")
    result = run_cli("analyze", tmp_path)
    assert result.code == ExitCode.NO_INPUT
    assert result.err.splitlines() == [
        f"diagnose: note: passed over 2 file(s) that are not logs: {tmp_path}/README.md, "
        f"{tmp_path}/conftest.py",
        f"diagnose: error: no files in directory: {tmp_path}",
    ]


def test_annotations_with_json_on_stdout_go_to_stderr(run_cli):
    result = run_cli("analyze", SCENARIO, "-f", "json", "--annotations")
    assert result.code == ExitCode.FINDINGS
    assert json.loads(result.out)["findings"]  # stdout is valid JSON, nothing after it
    assert "::error" in result.err


def _python(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=REPO, **kwargs)


@pytest.mark.parametrize("fmt", ["terminal", "json"])
def test_closed_pipe_exits_0_quietly(fmt):
    """`diagnose analyze … | head -1`: the reader is gone before the report is written (a
    report that fits the pipe buffer before the reader leaves exits with its normal code)."""
    proc = _python("-m", "diagnose", "analyze", str(SAMPLES / "staging-hour.jsonl.gz"), "-f", fmt,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert err == b""


# --- signals and spill files ------------------------------------------------------------------------

SPILLING = """
import sys, time
import diagnose.ordering as ordering
ordering.RUN_SIZE = 500  # spill early so the run has spill files to leave behind
spill = ordering._spill
def spill_then_wait(run, spilled):  # hold the run with a spill file on disk until signalled
    spill(run, spilled)
    time.sleep(120)
ordering._spill = spill_then_wait
from diagnose.cli import main
main(sys.argv[1:])
"""


@pytest.fixture(scope="module")
def big_log(tmp_path_factory) -> Path:
    """A text log and a one-line second file beside it: two inputs keep their events for the
    time sort (one file alone would be read again instead), so the run spills."""
    lines = SCENARIO.read_text(encoding="utf-8").splitlines()
    folder = tmp_path_factory.mktemp("big")
    path = folder / "big.log"
    with path.open("w", encoding="utf-8") as fh:
        for k in range(100):
            for line in lines:
                fh.write(line.replace("e2e-staging-49066fc8", f"user-{k}")
                         .replace("ws_e2e-stag_1757375361_28b0e073", f"ws_{k}") + "\n")
    (folder / "other.log").write_text(lines[0] + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("signum, code, message", [
    (signal.SIGTERM, 128 + signal.SIGTERM, "diagnose: stopped by SIGTERM"),
    (signal.SIGHUP, 128 + signal.SIGHUP, "diagnose: stopped by SIGHUP"),
    (signal.SIGINT, 130, "diagnose: interrupted"),
])
def test_signal_mid_run_leaves_no_spill_file(tmp_path, big_log, signum, code, message):
    spill = tmp_path / "tmp"
    spill.mkdir()
    proc = _python("-c", SPILLING, "analyze", str(big_log), str(big_log.parent / "other.log"),
                   "-f", "json",
                   env={**os.environ, "TMPDIR": str(spill)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(1200):  # poll (not a speed bound): until the first run is on disk
        if any(spill.iterdir()) or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert proc.poll() is None and any(spill.iterdir()), "the run never spilled"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err.decode().splitlines()) == (code, [message])
    assert list(spill.iterdir()) == []


def test_full_disk_while_spilling_is_one_line_and_no_file_left(run_cli, tmp_path, monkeypatch):
    """A real ENOSPC: the spill file's descriptor is /dev/full."""
    import diagnose.ordering as ordering
    import diagnose.spill as spill

    made: list[Path] = []

    def mkstemp_on_full_disk(prefix="", suffix="", **_):
        path = tmp_path / f"{prefix}{len(made)}{suffix}"
        path.write_bytes(b"")
        made.append(path)
        return os.open("/dev/full", os.O_WRONLY), str(path)

    monkeypatch.setattr(ordering, "RUN_SIZE", 5)
    monkeypatch.setattr(spill.tempfile, "mkstemp", mkstemp_on_full_disk)
    other = tmp_path / "other.log"  # two inputs: their events are kept for the time sort
    other.write_text(SCENARIO.read_text(encoding="utf-8").splitlines()[0] + "\n")
    result = run_cli("analyze", SCENARIO, other)
    assert result.code == ExitCode.NO_INPUT
    assert result.err.startswith("diagnose: error: cannot write sorted events to the temporary "
                                 "directory") and "No space left on device" in result.err
    assert made and not any(p.exists() for p in made)


# --- hostile text in every format ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_lone_surrogate_and_zero_width_text_in_every_format(run_cli, tmp_path, fmt):
    entries = scenario_entries({"execute_agent": "exec\u200bute_agent\ud800"})
    log = write_jsonl(tmp_path / "hostile.jsonl", entries)
    out = tmp_path / f"report.{fmt}"
    result = run_cli("analyze", log, "-f", fmt, "-o", out)
    assert result.code == ExitCode.FINDINGS, result.err
    text = out.read_text(encoding="utf-8")
    assert "\\ud800" in text and "\\u200b" in text  # visible escapes, never the raw characters
    assert "\u200b" not in text


def test_pack_id_with_escape_never_reaches_the_terminal_raw(run_cli, tmp_path):
    pack = tmp_path / "pack"
    shutil.copytree(REPO / "tests" / "data" / "good_rules" / "testpack", pack)
    meta = (pack / "pack.toml").read_text(encoding="utf-8")
    (pack / "pack.toml").write_text(meta.replace('id = "testpack"', 'id = "test\\u001b[31mpack"'))
    for args in (["rules", "list", "--rules", pack], ["analyze", SCENARIO, "--rules", pack]):
        result = run_cli(*args)
        assert "\x1b" not in result.out + result.err


# --- one definition of a client timeout, every section in every format ---------------------------


def test_client_timeouts_count_the_same_in_every_format(run_cli):
    """The incident's execute_agent finding explains 2 recv() timeouts (and 2 missing-events
    lines, which are not timeouts)."""
    doc = json.loads(run_cli("analyze", INCIDENT, "-f", "json").out)
    finding = next(f for f in doc["findings"] if f["fingerprint"].endswith(":execute_agent"))
    kinds = [s["kind"] for s in finding["symptoms"]]
    assert kinds.count("client.timeout") == 2 and kinds.count("client.missing_events") == 2
    terminal = run_cli("analyze", INCIDENT).out
    markdown = run_cli("analyze", INCIDENT, "-f", "markdown").out
    html = run_cli("analyze", INCIDENT, "-f", "html").out
    assert "2 recv() timeout(s)" in terminal
    assert "| `2 recv() timeout(s)` | 2 |" in markdown
    assert "<td>2 recv() timeout(s)</td>" in html
    assert "Client timeouts explained by this cause: 2" in markdown
    assert "<td>Client timeouts explained</td><td>2</td>" in html
    assert "explained by this cause: 4" not in markdown


@pytest.mark.parametrize("fmt, marker", [
    ("terminal", "Surface vs real"), ("markdown", "## Surface vs real"),
    ("html", "<h2>Surface vs real</h2>"),
])
def test_every_format_has_surface_vs_real_and_unknown_types(run_cli, fmt, marker):
    out = run_cli("analyze", INCIDENT, "-f", fmt).out
    assert marker in out
    assert "Top unknown message types" in out and "execute_agent" in out


def test_top_unknown_types_lists_message_types_not_payload_fields(run_cli):
    html = run_cli("analyze", SAMPLES / "staging-hour.jsonl.gz", "-f", "html").out
    section = html[html.index('id="unknown-types"'):]
    section = section[:section.index("</section>")]
    assert "chat_message" in section and "user_request" not in section


def test_html_connection_table_fits_and_evidence_wraps_at_spaces(run_cli, tmp_path):
    instance = "00f46b92" + "0c1e4a7d" * 11  # a 96-character Cloud Run instance id
    entries = scenario_entries()
    for e in entries:
        e["labels"] = {"instanceId": instance}
    log = write_jsonl(tmp_path / "instance.jsonl", entries)
    html = run_cli("analyze", log, "-f", "html").out
    assert f'<span title="{instance}">' in html  # the full id on hover, a short one in the cell
    assert f">{instance}<" not in html
    assert '<div class="wide"><table>' in html
    css = html[html.index("<style>"):html.index("</style>")]
    assert "word-break:break-all" not in css


# --- rules test on a copy of a shipped pack -------------------------------------------------------


def test_rules_test_on_a_copy_of_the_core_pack(run_cli, tmp_path):
    """An installed diagnose ships core; `rules test rules/core` from a checkout tests the copy."""
    copy = tmp_path / "core"
    shutil.copytree(REPO / "rules" / "core", copy)
    result = run_cli("rules", "test", copy)
    assert result.code == run_cli("rules", "test").code  # the copy does what the shipped pack does
    assert result.code != ExitCode.BAD_RULES or "PASS" in result.out or "FAIL" in result.out
    assert "duplicate pack id" not in result.err and "duplicate rule id" not in result.err
    assert f"{copy}/findings/routing-unknown-type.toml" in result.out


# --- the e2e workflow example, end to end ----------------------------------------------------------

WORKFLOW = REPO / "examples" / "github-actions" / "e2e-diagnose.yml"


def test_e2e_example_client_log_has_time_stamps_and_is_analysed(tmp_path):
    """Run pytest with the example's own log-file options, then diagnose the client log."""
    text = WORKFLOW.read_text(encoding="utf-8")
    fmt = re.search(r'--log-file-format="([^"]+)"', text).group(1)
    datefmt = re.search(r'--log-file-date-format="([^"]+)"', text).group(1)
    assert "%(asctime)s" in fmt
    (tmp_path / "test_client.py").write_text(
        "import logging\n\nlog = logging.getLogger('tests.e2e.staging.client')\n\n\n"
        "def test_agent_run():\n"
        "    log.info('Connecting to wss://api.staging.netrasystems.ai/ws as e2e-staging-49066fc8')\n"
        "    log.info('Sending message: {\"type\": \"execute_agent\", \"agent\": \"supervisor\"}')\n"
        "    log.error('recv() timed out after 3s waiting for agent_started')\n",
        encoding="utf-8")
    client_log = tmp_path / "client.log"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_client.py",
         f"--log-file={client_log}", "--log-file-level=INFO", f"--log-file-format={fmt}",
         f"--log-file-date-format={datefmt}"],
        cwd=tmp_path, env={**os.environ, "TZ": "UTC"}, capture_output=True, check=True, timeout=120)
    proc = subprocess.run([sys.executable, "-m", "diagnose", "analyze", str(client_log), "-f", "json"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == ExitCode.OK, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["stats"]["unparsed_total"] == 0 and doc["stats"]["records_read"] == 3
    [finding] = doc["findings"]
    assert finding["class"] == "client_timeout_unexplained"
    assert finding["connections"] == ["e2e-staging-49066fc8"] and finding["first_seen"]


@pytest.mark.parametrize("fmt", ["terminal", "markdown", "html"])
def test_unexplained_errors_in_every_format(run_cli, tmp_path, fmt):
    log = tmp_path / "with-error.log"
    log.write_text(SCENARIO.read_text(encoding="utf-8")
                   + "2025-09-08 23:49:30.100 | ERROR | app.db:pool:12 | Database pool exhausted "
                   "after 30 retries\n", encoding="utf-8")
    out = run_cli("analyze", log, "-f", fmt).out
    assert "Unexplained errors" in out and "Database pool exhausted" in out
