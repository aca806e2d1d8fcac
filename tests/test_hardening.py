"""Issue #6: hostile, broken and huge input never crashes a run, never lies, never leaks.

Every test drives the real CLI entry point (or the real binary on a pseudo-terminal) on real
files: the committed corpus in tests/data/fuzz (see make_corpus.py there) and bigger or hostile
files built in tmp_path. "Never lies" is the parse accounting: records read = with events +
ignored + unparsed + duplicates, each unparsed record with its file:line and a reason, in every
report format.
"""

from __future__ import annotations

import gzip
import html.parser
import json
import os
import pty
import random
import re
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES, SCENARIOS

FUZZ = REPO / "tests" / "data" / "fuzz"
SCENARIO = SCENARIOS / "routing-unknown-type.log"
FORMATS = ("terminal", "json", "markdown", "html", "junit")


# --- helpers shared with test_fuzz.py ---------------------------------------------------------


def scenario_rows() -> list[tuple[datetime, str, str, str]]:
    """(UTC time, level, logger, message) of each line of the routing-unknown-type scenario."""
    rows = []
    for line in SCENARIO.read_text(encoding="utf-8").splitlines():
        stamp, level, where, message = (part.strip() for part in line.split("|", 3))
        ts = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        rows.append((ts, level, where, message))
    return rows


def scenario_entries(replace: dict[str, str] | None = None, stamp=None) -> list[dict]:
    """The scenario as Cloud Logging LogEntries; `replace` rewrites message text."""
    entries = []
    for n, (ts, level, _where, message) in enumerate(scenario_rows()):
        for old, new in (replace or {}).items():
            message = message.replace(old, new)
        entries.append({
            "insertId": f"e{n:03d}",
            "timestamp": stamp(ts) if stamp else ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "severity": level, "jsonPayload": {"message": message},
            "logName": "projects/netra-staging/logs/run.googleapis.com%2Fstderr",
        })
    return entries


def write_jsonl(path: Path, entries: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    return path


def check_accounting(doc: dict) -> dict:
    """The JSON report's parse accounting adds up and every unparsed record says where and why."""
    s = doc["stats"]
    assert s["records_read"] == s["events"] + s["ignored"] + s["unparsed_total"] + s["duplicates"]
    assert len(s["unparsed"]) <= s["unparsed_total"]
    for u in s["unparsed"]:
        assert re.fullmatch(r".+:\d+", u["provenance"]), u
        assert u["reason"].strip(), u
    return s


def analyze_json(run_cli, *args) -> tuple[int, dict]:
    result = run_cli("analyze", *args, "-f", "json")
    assert "Traceback" not in result.err, result.err
    assert result.code in (0, 1, 3), result.err
    if result.code == 3:  # nothing usable: one line saying why, and no report at all
        assert result.err.startswith("diagnose: error: no usable input")
        assert len(result.err.splitlines()) == 1 and result.out == ""
        return result.code, {"stats": {"unparsed": [], "reason": result.err}}
    doc = json.loads(result.out)
    check_accounting(doc)
    return result.code, doc


def diagnosis(doc: dict) -> tuple[list, list]:
    """What must not depend on file order, splitting or duplicates: findings and outcomes."""
    findings = [(f["fingerprint"], f["connections"], f["first_seen"], f["last_seen"],
                 [e["text"] for e in f["evidence"]]) for f in doc["findings"]]
    outcomes = [(o["connection"], o["outcome"], o["events"], o["first_seen"])
                for o in doc["outcomes"]]
    return findings, outcomes


# --- broken input: the committed corpus ---------------------------------------------------------

# file → (exit code, substring of every unparsed reason or None for "no unparsed")
CORPUS = {
    "arbitrary.bin": (3, "binary data"),
    # these three end right after an acked unknown type: final at once, a routing failure
    "corrupt.jsonl.gz": (1, "corrupt gzip data"),  # the 8 entries before the damage are read
    "not-really.gz": (3, "corrupt gzip data"),
    "cut-array.json": (1, "JSON cut off mid-entry"),
    "deep-nesting.json": (3, "nested too deeply"),
    "nul-bytes.log": (3, "NUL bytes"),
    "utf16.log": (3, "binary data"),
    "empty.log": (3, None),
    "whitespace.log": (3, None),
    "invalid-utf8.log": (1, None),
    "crlf-bom.log": (1, None),
    "mixed": (1, "binary data"),
}


@pytest.mark.parametrize("name", CORPUS)
def test_broken_input_is_accounted_and_never_a_traceback(run_cli, name):
    code, reason = CORPUS[name]
    got, doc = analyze_json(run_cli, FUZZ / name)
    assert got == code
    unparsed = doc["stats"]["unparsed"]
    if got == 3:  # the one-line reason names the first unparsed record's reason, if any
        assert (reason or "hold no records") in doc["stats"]["reason"]
    elif reason is None:
        assert unparsed == []
    else:
        assert unparsed and all(reason in u["reason"] for u in unparsed), unparsed


def test_complete_lines_of_a_broken_file_still_count(run_cli):
    _, doc = analyze_json(run_cli, FUZZ / "cut-array.json")
    assert doc["stats"]["events"] > 0 and doc["stats"]["unparsed_total"] == 1
    _, doc = analyze_json(run_cli, FUZZ / "invalid-utf8.log")
    assert doc["stats"]["events"] == 7  # invalid bytes are replaced, the lines still parse


def test_mixed_formats_in_one_directory_give_the_scenario_diagnosis(run_cli):
    """Array + JSON lines + gzipped text + junk + empty, one directory, one timeline."""
    _, mixed = analyze_json(run_cli, FUZZ / "mixed")
    _, plain = analyze_json(run_cli, SCENARIO)
    assert mixed["outcome_counts"] == plain["outcome_counts"] == {"routing_failure": 1, "healthy": 1}
    assert [f["fingerprint"] for f in mixed["findings"]] == ["routing-unknown-type:execute_agent"]
    assert mixed["findings"][0]["connections"] == ["e2e-staging-49066fc8"]


def test_crlf_and_byte_order_mark_read_like_the_original(run_cli):
    _, crlf = analyze_json(run_cli, FUZZ / "crlf-bom.log")
    _, plain = analyze_json(run_cli, SCENARIO)
    assert diagnosis(crlf) == diagnosis(plain)


def test_odd_json_values_never_crash_and_are_all_counted(run_cli):
    _, doc = analyze_json(run_cli, FUZZ / "odd-values.jsonl")
    assert doc["stats"]["records_read"] == 18


def test_jsonl_export_whose_first_line_is_cut_still_parses(run_cli, tmp_path):
    path = tmp_path / "shard.jsonl"
    path.write_bytes(b'Z", "severity": "INFO"}\n' + (SAMPLES / "healthy-run.jsonl").read_bytes())
    _, doc = analyze_json(run_cli, path)
    assert doc["outcome_counts"] == {"healthy": 5}
    assert [u["provenance"] for u in doc["stats"]["unparsed"]] == [f"{path}:1"]


def test_small_truncated_gzip_keeps_its_complete_lines(run_cli):
    _, doc = analyze_json(run_cli, FUZZ / "truncated.jsonl.gz")
    assert doc["stats"]["records_read"] == 14  # 13 whole lines survive the cut, + the cut one
    assert [u["provenance"] for u in doc["stats"]["unparsed"]] == [
        f"{FUZZ / 'truncated.jsonl.gz'}:14"]


def test_ten_megabyte_lines_and_megabytes_of_binary(run_cli, tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    lines = SCENARIO.read_text(encoding="utf-8").splitlines(keepends=True)
    huge = lines[4].rstrip("\n") + " " + "x" * (10 << 20) + "\n"  # a router line, 10 MB long
    (big / "huge-line.log").write_text("".join(lines[:4]) + huge + "".join(lines[5:]))
    (big / "random.bin").write_bytes(random.Random(6).randbytes(3 << 20))
    (big / "zeros.log").write_bytes(b"\x00" * (1 << 20))
    code, doc = analyze_json(run_cli, big)
    assert code == 1
    assert doc["findings"][0]["connections"] == ["e2e-staging-49066fc8"]
    reasons = {u["provenance"].rsplit("/", 1)[-1]: u["reason"] for u in doc["stats"]["unparsed"]}
    assert "random.bin:1" in reasons and "zeros.log:1" in reasons
    # the 10 MB line still counts, and no report repeats it in full
    assert doc["stats"]["records_read"] == len(lines) + 2
    assert all(len(e["text"]) < 10_000 for f in doc["findings"] for e in f["evidence"])


def test_whole_corpus_accounting_is_shown_in_every_format(run_cli):
    _, doc = analyze_json(run_cli, FUZZ)
    s = doc["stats"]
    numbers = [s["records_read"], s["events"], s["ignored"], s["unparsed_total"], s["duplicates"]]
    assert s["unparsed_total"] >= 10 and s["duplicates"] > 0
    where = [u["provenance"] for u in s["unparsed"]]

    term = run_cli("analyze", FUZZ).out
    assert ("Parse accounting: {} records read = {} with events + {} ignored + {} unparsed + {} "
            "duplicates".format(*numbers)) in term
    for place in where[:10]:
        assert f"unparsed {place}:" in term
    assert f"… {s['unparsed_total'] - 10} more unparsed" in term

    md = run_cli("analyze", FUZZ, "-f", "markdown").out
    r, e, i, u, d = numbers
    assert f"| {r} | {e} | {i} | {d} | {u} |" in md.split("## Parse accounting", 1)[1]
    for place in where:
        assert f"`{place}`" in md

    page = run_cli("analyze", FUZZ, "-f", "html").out
    section = page.split("Parse accounting", 1)[1]
    cells = re.findall(r"<td[^>]*>(\d+)</td>", section)[:5]
    assert cells == [str(n) for n in (r, e, i, d, u)]
    for place in where[:20]:
        assert f"<code>{place}</code>" in section


# --- time --------------------------------------------------------------------------------------

PDT = timezone(timedelta(hours=-7))
PST = timezone(timedelta(hours=-8))
ACK_AT = "2025-09-08T23:49:24.509000Z"  # the scenario's 'Sending ack for unknown message type'


def _text_log(path: Path, render) -> Path:
    path.write_text("".join(f"{render(ts)} | {lvl} | {where} | {msg}\n"
                            for ts, lvl, where, msg in scenario_rows()), encoding="utf-8")
    return path


def _ms(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


TIME_FORMS = {
    "rfc3339-nanos.jsonl": lambda ts: ts.strftime("%Y-%m-%dT%H:%M:%S.%f") + "321Z",
    "rfc3339-offset.jsonl": lambda ts: ts.astimezone(PDT).isoformat(),
    "epoch-seconds.jsonl": lambda ts: ts.timestamp(),
    "epoch-millis.jsonl": lambda ts: int(ts.timestamp() * 1000),
    "epoch-millis-string.jsonl": lambda ts: str(int(ts.timestamp() * 1000)),
    "pdt.log": lambda ts: _ms(ts.astimezone(PDT)) + " PDT",
    "pst.log": lambda ts: _ms(ts.astimezone(PST)) + " PST",
}


@pytest.mark.parametrize("name", TIME_FORMS)
def test_every_time_stamp_shape_lands_on_the_same_instant(run_cli, tmp_path, name):
    render = TIME_FORMS[name]
    if name.endswith(".jsonl"):
        path = write_jsonl(tmp_path / name, scenario_entries(stamp=render))
    else:
        path = _text_log(tmp_path / name, render)
    _, doc = analyze_json(run_cli, path)
    assert [(f["fingerprint"], f["connections"], f["first_seen"]) for f in doc["findings"]] == [
        ("routing-unknown-type:execute_agent", ["e2e-staging-49066fc8"], ACK_AT)]
    assert doc["stats"]["warnings"] == []  # every stamp carried its zone


def test_nanoseconds_are_kept_to_the_microsecond(run_cli, tmp_path):
    path = write_jsonl(tmp_path / "ns.jsonl", scenario_entries(
        stamp=lambda ts: ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}123456Z"))
    _, doc = analyze_json(run_cli, path)
    assert doc["findings"][0]["first_seen"] == "2025-09-08T23:49:24.509123Z"


def test_naive_times_take_tz_and_mixing_naive_with_zoned_warns(run_cli, tmp_path):
    naive = _text_log(tmp_path / "client-laptop.log", lambda ts: _ms(ts.astimezone(PDT)))
    _, wrong = analyze_json(run_cli, naive)  # default UTC: seven hours early
    assert wrong["findings"][0]["first_seen"] == "2025-09-08T16:49:24.509000Z"
    assert wrong["provenance"]["tz_default"] == "UTC"  # the report says how it read them
    _, right = analyze_json(run_cli, naive, "--tz", "America/Los_Angeles")
    assert right["findings"][0]["first_seen"] == ACK_AT
    _, by_abbr = analyze_json(run_cli, naive, "--tz", "PDT")
    assert diagnosis(by_abbr) == diagnosis(right)
    zoned = write_jsonl(tmp_path / "server.jsonl", scenario_entries())
    _, mixed = analyze_json(run_cli, naive, zoned, "--tz", "America/Los_Angeles")
    warnings = mixed["stats"]["warnings"]
    assert len(warnings) == 1 and "client-laptop.log" in warnings[0]
    assert "server.jsonl" not in warnings[0]


def test_unknown_tz_option_is_a_usage_error(run_cli):
    result = run_cli("analyze", SCENARIO, "--tz", "Mars/Olympus")
    assert result.code == 2 and result.err.count("\n") == 1 and "--tz" in result.err


# --- order and overlap -------------------------------------------------------------------------


def test_shuffled_and_overlapping_exports_give_the_sorted_unique_diagnosis(run_cli, tmp_path):
    lines = (SAMPLES / "healthy-run.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    # put the routing scenario into the same export so there is a finding to compare as well
    lines += [json.dumps(e) + "\n" for e in scenario_entries()]
    sorted_path = tmp_path / "sorted" / "all.jsonl"
    sorted_path.parent.mkdir()
    sorted_path.write_text("".join(lines), encoding="utf-8")
    _, reference = analyze_json(run_cli, sorted_path)
    assert reference["outcome_counts"] == {"routing_failure": 1, "healthy": 6}

    shuffled = lines[:]
    random.Random(6).shuffle(shuffled)
    third = len(shuffled) // 3
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "a.jsonl").write_text("".join(shuffled[: 2 * third]), encoding="utf-8")
    (parts / "b.jsonl").write_text("".join(shuffled[third:]), encoding="utf-8")  # overlaps a
    _, split = analyze_json(run_cli, parts)
    assert diagnosis(split) == diagnosis(reference)
    assert split["stats"]["duplicates"] > 0
    assert split["stats"]["events"] == reference["stats"]["events"]


# --- hostile text ------------------------------------------------------------------------------

HOSTILE_TYPE = ("[bold_red]x[/]\x1b[31mRED\x1b[0m\x1b]8;;http://evil\x07osc8\x1b]8;;\x07"
                "<script>alert(1)</script>|---|``x``]]>&amp;@here::error::pwned%0A\x9b2J\u202e")
HOSTILE_USER = "[link=http://evil]u[/link]\x1b[2J<img/src=x>|u|&lt;\x00\x9b2J\u202e``@all"
HOSTILE_FILE = "evil\x1b]8;;http:evil\x07[red]name[blink]\x1b[2J.jsonl"
# the parts of the hostile strings that are plain text and must reach every report as text
VISIBLE = ("[bold_red]x[/]", "<script>alert(1)</script>", "[link=http://evil]u[/link]",
           "<img/src=x>", "]]>", "conn-[link=http://evil]click[/link]")
LEAKS = ("\x1b", "\x07", "\x9b", "\u202e", "\x00")


def hostile_dir(tmp_path: Path) -> Path:
    """The routing scenario with hostile strings as the unknown type, the user id and in evidence
    lines, plus tests/data/hostile.txt as log lines, in a file with a hostile name."""
    folder = tmp_path / "hostile"
    folder.mkdir()
    entries = scenario_entries({"execute_agent": HOSTILE_TYPE, "e2e-staging-49066fc8": HOSTILE_USER})
    hostile = (REPO / "tests" / "data" / "hostile.txt").read_text(encoding="utf-8")
    for n, line in enumerate(hostile.splitlines()):
        entries.append({**entries[5], "insertId": f"h{n}",
                        "jsonPayload": {"message": "MessageRouter detected unknown message type: "
                                                   + line}})
    write_jsonl(folder / HOSTILE_FILE, entries)
    return folder


def _controls(text: str) -> set[str]:
    return {c for c in text if (ord(c) < 32 and c not in "\n") or 0x7F <= ord(c) <= 0x9F
            or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"}


def test_hostile_text_reaches_the_report_as_plain_text_in_the_terminal(run_cli, tmp_path):
    result = run_cli("analyze", hostile_dir(tmp_path))
    assert result.code == 1 and "Traceback" not in result.err
    assert _controls(result.out) == set()
    flat = re.sub(r"\s*│\s*", "", result.out)  # undo panel wrapping
    for text in VISIBLE:
        assert text in flat, text


def test_hostile_text_is_verbatim_data_in_json(run_cli, tmp_path):
    result = run_cli("analyze", hostile_dir(tmp_path), "-f", "json")
    doc = json.loads(result.out)
    check_accounting(doc)
    types = {f["attrs"].get("message_type") for f in doc["findings"]}
    users = {c for f in doc["findings"] for c in f["connections"]}
    shown_type = next(t for t in types if t and t.startswith("[bold_red]"))
    for text in ("<script>alert(1)</script>", "|---|``x``]]>&amp;@here::error::pwned%0A"):
        assert text in shown_type
    assert any("[link=http://evil]u[/link]" in u and "<img/src=x>" in u for u in users)
    assert "\\u001b" not in result.out or "\x1b" not in result.out  # JSON-escaped, never raw
    assert "\x1b" not in result.out and "\x07" not in result.out


def test_hostile_text_is_inert_in_markdown(run_cli, tmp_path):
    md = run_cli("analyze", hostile_dir(tmp_path), "-f", "markdown").out
    assert not any(c in md for c in LEAKS)
    prose = _without_code(md)
    assert not re.search(r"(?<!\\)<(script|img)", prose)
    assert not re.search(r"(?<!\\)@(here|all)", prose)
    assert not re.search(r"(?<!\\)\[link=", prose)
    for line in md.splitlines():  # table rows keep their column count
        if line.startswith("|"):
            assert _cells(line) == _cells(_header_of(md, line)), line


def test_hostile_text_is_inert_in_html(run_cli, tmp_path):
    page = run_cli("analyze", hostile_dir(tmp_path), "-f", "html").out
    assert not any(c in page for c in LEAKS)
    tags = _Tags()
    tags.feed(page)
    assert "img" not in tags.names
    assert all("alert(" not in body for body in tags.scripts)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_hostile_text_is_inert_in_junit_and_annotations(run_cli, tmp_path):
    folder = hostile_dir(tmp_path)
    xml = run_cli("analyze", folder, "-f", "junit").out
    root = ET.fromstring(xml.encode())  # well-formed despite ]]>, NUL and ESC in the logs
    failures = [f.text for f in root.iter("failure")]
    assert any("<script>alert(1)</script>" in text for text in failures)
    out = run_cli("analyze", folder, "-f", "json", "-o", tmp_path / "r.json", "--annotations").out
    commands = [line for line in out.splitlines() if line.startswith("::")]
    assert commands and len(commands) <= 10
    assert all(re.match(r"::(error|warning|notice)[ :]", line) for line in commands)
    assert not any(line.startswith("::error::pwned") for line in out.splitlines())


def test_hostile_text_on_a_colour_terminal_only_carries_our_own_styling(tmp_path):
    """The real binary on a pseudo-terminal, colour on: the only escapes are rich's SGR colours."""
    out = _run_on_pty([sys.executable, "-m", "diagnose", "analyze", str(hostile_dir(tmp_path))])
    assert "\x1b[" in out  # colour really is on
    rest = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert _controls(rest.replace("\r", "")) == set()
    flat = re.sub(r"\s*│\s*", "", rest.replace("\r", ""))
    for text in VISIBLE:
        assert text in flat, text


def test_explain_timeline_of_a_hostile_connection_is_plain_text(run_cli, tmp_path):
    folder = hostile_dir(tmp_path)
    doc = json.loads(run_cli("analyze", folder, "-f", "json").out)
    hostile = next(o["connection"] for o in doc["outcomes"] if "<img/src=x>" in o["connection"])
    result = run_cli("explain", hostile, folder)
    assert result.code == 1 and "Traceback" not in result.err
    assert _controls(result.out) == set()
    assert "router.unknown_ack" in result.out


def test_explain_error_lists_connection_ids_as_plain_text(run_cli, tmp_path):
    result = run_cli("explain", "nope", hostile_dir(tmp_path))
    assert result.code == 2 and "no connection 'nope'" in result.err
    assert _controls(result.err) == set()


def _run_on_pty(argv: list[str]) -> str:
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "GITHUB_STEP_SUMMARY")}
    env.update(COLUMNS="160", LINES="50", TERM="xterm-256color")
    proc = subprocess.Popen(argv, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            cwd=REPO, env=env)
    os.close(slave)
    chunks: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(master, chunks), daemon=True)
    reader.start()
    _, err = proc.communicate(timeout=60)
    reader.join(timeout=10)
    os.close(master)
    assert proc.returncode == 1 and b"Traceback" not in err, err
    return b"".join(chunks).decode("utf-8")


def _drain(fd: int, chunks: list[bytes]) -> None:
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO once the child has closed the terminal
            return
        if not data:
            return
        chunks.append(data)


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.names.add(tag)
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def _without_code(md: str) -> str:
    """Markdown with fenced blocks and inline code spans (the inert places) removed."""
    md = re.sub(r"(?ms)^(`{3,})[^\n]*\n.*?^\1\s*$", "", md)
    return re.sub(r"(?<![\\`])(`+)(?!`)(?:(?!\1).)+?(?<!`)\1(?!`)", "", md)


def _cells(row: str) -> int:
    code_free = re.sub(r"(`+)(?:(?!\1).)+?\1", lambda m: m.group(0).replace("\\|", ""), row)
    return len(re.findall(r"(?<!\\)\|", code_free))


def _header_of(md: str, row: str) -> str:
    lines = md.splitlines()
    i = lines.index(row)
    while i > 0 and lines[i - 1].startswith("|"):
        i -= 1
    return lines[i]


def test_message_types_thousands_of_characters_long_do_not_stall_the_run(run_cli, tmp_path):
    """A client may send any type string, and the router logs it: 20 junk types of 4,200
    characters each once took 11 s for the JSON report alone (quadratic fix-hint
    suggestion); now they take well under a second."""
    entries = scenario_entries()
    for k in range(20):
        junk = f"T{k:02d}_" + "ab|`<>" * 700
        ids = {"execute_agent": junk, "e2e-staging-49066fc8": f"user-{k:02d}",
               "ws_e2e-stag_1757375361_28b0e073": f"ws_{k:02d}"}
        entries += [{**e, "insertId": f"{k}-{e['insertId']}"} for e in scenario_entries(ids)[:7]]
    path = write_jsonl(tmp_path / "junk-types.jsonl", entries)
    _, doc = analyze_json(run_cli, path)
    md = run_cli("analyze", path, "-f", "markdown").out
    assert doc["outcome_counts"]["routing_failure"] == 21
    junk_findings = [f for f in doc["findings"] if f["attrs"]["message_type"].startswith("T")]
    assert len(junk_findings) == 20
    assert all(f["attrs"]["suggestion"] == "a supported type" for f in junk_findings)
    assert len(md.encode()) <= 1 << 20


# --- rules -------------------------------------------------------------------------------------

GOOD_PACK = REPO / "tests" / "data" / "good_rules" / "testpack"


def _pack_with(tmp_path: Path, rule_id: str, pattern: str, engine: str = "re2") -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(GOOD_PACK, pack)
    (pack / "events" / f"{rule_id}.toml").write_text(
        f'id = "{rule_id}"\nkind = "event"\nemits = "router.unknown_ack"\nengine = "{engine}"\n'
        f'title = "hostile"\nprefilter = ["Sending ack"]\n'
        f"patterns = ['''{pattern}''']\n\n"
        '[[samples]]\ntext = "Sending ack aaaa"\n', encoding="utf-8")
    return pack


@pytest.mark.parametrize("rule_id, pattern", [
    ("nested-repeat", r"Sending ack (\w+\s?)*$"),
    ("nested-star", r"Sending ack (a*)*b?"),
    ("alternation", r"Sending ack (a|aa)*$"),
])
def test_a_regex_that_would_backtrack_runs_in_linear_time(tmp_path, rule_id, pattern):
    """Patterns that backtrack exponentially under `re` ((a|aa)*$ on 60 a's would take days) run
    on RE2. A subprocess whose timeout is a hang guard, so a regression fails, never hangs."""
    log = tmp_path / "hostile.log"
    log.write_text("2025-09-08 23:49:24.509 | INFO | x:y:1 | Sending ack " + "a" * 50_000 + "!\n")
    pack = _pack_with(tmp_path, rule_id, pattern)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "diagnose", "analyze", str(log), "--rules", str(pack)],
            capture_output=True, text=True, timeout=120, cwd=REPO)
    except subprocess.TimeoutExpired:
        pytest.fail("the run hung on one hostile line")
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("rule_id, pattern, reason", [
    ("nested-repeat", r"Sending ack (\w+\s?)*$", "nested unbounded quantifiers"),
    ("nested-star", r"Sending ack (a*)*b", "nested unbounded quantifiers"),
    ("alternation", r"Sending ack (a|aa)*$", "unbounded repeat of alternatives"),
    ("huge-pattern", "Sending ack " + "(?:x|y)" * 400, "the limit is 2,000"),
])
def test_a_backtracking_regex_opted_in_with_engine_re_is_rejected_naming_the_rule(
        run_cli, tmp_path, rule_id, pattern, reason):
    log = tmp_path / "hostile.log"
    log.write_text("2025-09-08 23:49:24.509 | INFO | x:y:1 | Sending ack " + "a" * 50_000 + "!\n")
    result = run_cli("analyze", log, "--rules", _pack_with(tmp_path, rule_id, pattern, engine="re"))
    assert result.code == 4 and result.out == ""
    assert f"events/{rule_id}.toml: /patterns/0: " in result.err and reason in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("workers", [False, True])
def test_searches_that_run_out_of_time_are_reported_by_rule(run_cli, tmp_path, monkeypatch,
                                                            workers):
    """A vetted `engine = "re"` pattern can still be slow on one line (polynomial, not
    exponential): its search stops at the time bound and counts as no match. The report must
    say so, whether the line was matched here or in a reader worker."""
    if workers:
        from diagnose.sources import parallel, textparallel

        monkeypatch.setattr(parallel, "MIN_SIZE", 0)
        monkeypatch.setattr(textparallel.text_ranges, "__defaults__", (1 << 14, 1 << 14))
        monkeypatch.setattr(textparallel, "BLOCK", 1 << 14)
        monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    log = tmp_path / "slow.log"
    hostile = "2025-09-08 23:49:24.509 | INFO | x:y:1 | Sending ack " + "a" * 20_000 + "!\n"
    filler = "".join(f"2025-09-08 23:49:25.{n:03} | INFO | x:y:1 | quiet line {n}\n"
                     for n in range(300))
    log.write_text(hostile + filler + hostile + filler + hostile, encoding="utf-8")
    pack = _pack_with(tmp_path, "slow-search", r"Sending ack a.*a.*a.*a$", engine="re")
    from diagnose.parse import RecordMatcher

    matched_here = []
    events = RecordMatcher.events
    monkeypatch.setattr(RecordMatcher, "events", lambda self, record: matched_here.append(
        len(record.text) > 20_000) or events(self, record))
    code, doc = analyze_json(run_cli, log, "--rules", pack)
    assert code in (0, 1)
    assert matched_here.count(True) == (0 if workers else 3)
    assert ('rule slow-search: 3 searches of its backtracking pattern (engine = "re") ran past '
            "0.05 s and counted as no match") in " ".join(doc["stats"]["warnings"])


def test_megabytes_of_blank_lines_before_the_log_are_skipped_not_the_log(run_cli, tmp_path):
    """A tiny .gz that inflates to 1 MiB of blank lines, then the scenario: bounded time, and
    the lines after the blank run are still read (blank lines are not records)."""
    path = tmp_path / "blank-then-log.log.gz"
    path.write_bytes(gzip.compress(b"\n" * (1 << 20) + SCENARIO.read_bytes(), mtime=0))
    assert path.stat().st_size < 5_000
    code, doc = analyze_json(run_cli, path)
    assert code == 1 and doc["stats"]["records_read"] == 23
    assert doc["findings"][0]["connections"] == ["e2e-staging-49066fc8"]
    assert doc["findings"][0]["evidence"][0]["provenance"] == f"{path}:{(1 << 20) + 5}"
