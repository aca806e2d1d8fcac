"""The template miner on Loghub-like logs: grouping accuracy, header stripping, determinism.

tests/data/patterns/loghub-slice.csv holds 172 labelled lines of 8 Loghub-2k systems (written by
`bench/loghub.py --write-slice`; data from https://github.com/logpai/loghub): per system a few
lines of its most common templates and one line of some rare ones, with the raw line, the
message (`Content`) and the ground-truth template id. The full benchmark lives in bench/loghub.py.
"""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnose.mining.header import strip_header
from diagnose.mining.regroup import align, constant_words
from diagnose.mining.tokens import mask_for_mining
from diagnose.patterns import TemplateMiner

SLICE = Path(__file__).parent / "data" / "patterns" / "loghub-slice.csv"
BACKEND = Path(__file__).parent / "data" / "patterns" / "backend.log"
# GA per system on the slice with the default settings, as measured; a change that lowers one
# must say why. Linux/Thunderbird lose on ground-truth splits by value (`user=root` vs `user=test`).
FLOOR = {"BGL": 1.0, "Hadoop": 1.0, "HealthApp": 1.0, "Linux": 0.818, "OpenSSH": 1.0,
         "Proxifier": 1.0, "Thunderbird": 0.727, "Windows": 1.0}


def slice_rows() -> dict[str, list[dict[str, str]]]:
    systems: dict[str, list[dict[str, str]]] = defaultdict(list)
    with SLICE.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            systems[row["System"]].append(row)
    return systems


def grouping_accuracy(truth: list[str], predicted: list[object]) -> float:
    """Loghub GA: share of lines whose predicted group is exactly their ground-truth group."""
    size = Counter(truth)
    groups: dict[object, list[str]] = defaultdict(list)
    for t, p in zip(truth, predicted, strict=True):
        groups[p].append(t)
    good = sum(len(m) for m in groups.values() if len(set(m)) == 1 and size[m[0]] == len(m))
    return good / len(truth)


def mined_groups(lines: list[str]) -> tuple[list[int], list[str]]:
    miner = TemplateMiner(track=True)
    for number, line in enumerate(lines, 1):
        miner.add(line, None, f"slice:{number}")
    return miner.line_templates()


def ga_by_system(column: str) -> dict[str, float]:
    result = {}
    for system, rows in slice_rows().items():
        groups, _ = mined_groups([r[column] for r in rows])
        result[system] = round(grouping_accuracy([r["EventId"] for r in rows], groups), 3)
    return result


def test_grouping_accuracy_on_the_slice_holds_with_one_default_configuration():
    found = ga_by_system("Content")

    assert all(found[system] >= floor for system, floor in FLOOR.items()), found
    assert sum(found.values()) / len(found) >= 0.90
    assert min(found.values()) >= 0.70


def test_raw_lines_of_unknown_formats_group_as_well_as_their_messages():
    """The header (stamp, level, pid, host, logger) is stripped, so it does not fill the tree."""
    on_content, on_raw = ga_by_system("Content"), ga_by_system("Raw")

    for system in on_content:
        assert on_raw[system] >= on_content[system] - 0.05, system


def test_a_header_is_not_part_of_any_template():
    rows = slice_rows()["OpenSSH"] + slice_rows()["Proxifier"]
    _, templates = mined_groups([r["Raw"] for r in rows])

    assert not any("Dec" in t or "sshd[" in t or "chrome.exe" in t for t in templates)
    assert "Invalid user <*> from <IP>" in templates


def templates_by_line(rows: list[dict[str, str]]) -> tuple[list, dict[str, str]]:
    miner = TemplateMiner(track=True)
    for r in rows:
        miner.add(r["Raw"], None, r["Raw"])
    _, texts = miner.line_templates()
    return sorted((t.template, t.count) for t in miner.templates()), dict(
        zip(miner.provenances(), texts, strict=True))


@pytest.mark.parametrize("seed", range(4))
def test_templates_and_groups_do_not_depend_on_input_order(seed):
    rows = [r for rows in slice_rows().values() for r in rows]
    expected = templates_by_line(rows)

    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)

    assert templates_by_line(shuffled) == expected


def test_cli_patterns_on_an_unknown_text_format_lists_messages_not_time_stamps(run_cli, tmp_path):
    log = tmp_path / "sshd.log"
    log.write_text("\n".join(r["Raw"] for r in slice_rows()["OpenSSH"]) + "\n")

    result = run_cli("patterns", log, "--top", "40")

    assert result.code == 0, result.err
    assert "Invalid user <*> from <IP>" in result.out
    assert "LabSZ" not in result.out and "sshd[" not in result.out


# --- header stripping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Jun 14 15:16:02 combo sshd(pam_unix)[19937]: check pass; user unknown",
         "check pass; user unknown"),
        ("2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: "
         "Executing with tokens:", "Executing with tokens:"),
        ("- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 "
         "R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction cache parity error corrected",
         "instruction cache parity error corrected"),
        ("20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
         "onStandStepChanged 3579"),
        ("[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy "
         "proxy.cse.cuhk.edu.hk:5070 HTTPS",
         "proxy.cse.cuhk.edu.hk:5070 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS"),
        ("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties",
         "workerEnv.init() ok /etc/httpd/conf/workers2.properties"),
        ("081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block "
         "blk_38865049064139660 terminating",
         "PacketResponder 1 for block blk_38865049064139660 terminating"),
        ("03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogsopening app",
         "printFreezingDisplayLogsopening app"),
        ("2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:"
         "FastLeaderElection@774] - Notification time out: 3200", "Notification time out: 3200"),
        ("- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: "
         "session closed for user root", "session closed for user root"),
        (", Info                  CBS    Loaded Servicing Stack v6.1", "CBS    Loaded Servicing Stack v6.1"),
        ("[RMCommunicator Allocator] org.apache.hadoop.ipc.Client: Address change detected.",
         "Address change detected."),
        ("APPSEV 1117955341 2005.06.05 NULL 2005-06-05-00.09.01.903736 NULL RAS APP FATAL ciod: "
         "Error reading message prefix", "Error reading message prefix"),
        ("- 1117869872 2005.06.04 R23-M1-N8-I:J18-U11 2005-06-04-00.24.32.432192 "
         "R23-M1-N8-I:J18-U11 RAS KERNEL INFO instruction address: 0x00004ed8",
         "instruction address: 0x00004ed8"),
        ("Jun 15 04:06:18 combo cups: cupsd shutdown succeeded", "cupsd shutdown succeeded"),
        ("Jul 10 03:56:15 combo logrotate: ALERT exited abnormally with [1]",
         "ALERT exited abnormally with [1]"),
        ("nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO "
         "nova.osapi_compute.wsgi.server [req-38101a0b-2096 113d3a99c3da 54fadb412c4e - - -] "
         '10.11.10.1 "GET /v2/servers/detail HTTP/1.1" status: 200',
         '10.11.10.1 "GET /v2/servers/detail HTTP/1.1" status: 200'),
    ],
)
def test_header_of_common_text_formats_is_stripped(line, message):
    assert strip_header(line) == message


@pytest.mark.parametrize(
    "message",
    [
        "199680 double-hummer alignment exceptions",  # a count, not a date
        "183.62.156.108:22 open through proxy socks.cse.cuhk.edu.hk:5070 SOCKS5",
        "CRITICAL ERROR: No WebSocket connections found for user e2e-staging-49066fc8.",
        "[U+1F511] GOLDEN PATH AUTH=REDACTED permissive authentication",
        "Request: GET /health | Status: 200 | Duration: 3ms",
        "12:00:01",  # nothing would be left: the line is its own message
        "Session: 30546173_4261722401 initialized by client WindowsUpdateAgent.",
    ],
)
def test_messages_without_a_header_are_left_alone(message):
    assert strip_header(message) == message


def test_every_backend_message_is_left_alone():
    messages = [line.split("| ", 3)[-1] for line in BACKEND.read_text().splitlines()]
    assert all(strip_header(m) == m for m in messages)


def test_header_stripping_reads_a_bounded_number_of_tokens():
    """A 'header' of 100,000 fields is no header: the line is left whole, after 24 tokens."""
    line = "2015-10-18 18:01:47 " + "[x] " * 100_000 + "message"
    assert strip_header(line) == line.rstrip()


# --- masking and grouping rules (the losses issue 13 names) ------------------------------------


def test_quoted_request_lines_keep_their_method_and_comma_joined_ips_are_one_value():
    assert mask_for_mining('10.11.10.1 "GET /v2/servers/detail HTTP/1.1" status: 200') == (
        '<IP> "GET <PATH> HTTP/<NUM>" status: <NUM>'
    )
    assert mask_for_mining("peers 10.0.0.1,10.0.0.2,10.0.0.3 up") == "peers <IP> up"
    assert mask_for_mining("type 'chat_message' from x") == "type <STR> from x"
    assert mask_for_mining("jA9J1UvC004306: from=root on Windows10") == "<ID>: from=root on Windows10"


def test_methods_of_quoted_request_lines_are_distinct_templates():
    miner = TemplateMiner()
    for i, method in enumerate(["GET", "POST", "DELETE"] * 3):
        miner.add(f'nova api request "{method} /v2/servers/{i}abc HTTP/1.1" status: 200 '
                  f"len: {i} time: 0.{i}", "INFO", f"a:{i}")
    assert sorted(t.template.split('"')[1].split()[0] for t in miner.templates()) == [
        "DELETE", "GET", "POST"]


def test_placeholders_go_to_the_wildcard_branch_of_the_prefix_tree():
    """`<NUM>`/`<HEX>` first tokens used to be routed as words: one template became several."""
    miner = TemplateMiner()
    for value in ["12", "0x1f", "7", "0xab", "99"]:
        miner.add(f"{value} torus receiver input pipe error detected", "INFO", "b:1")
    assert [t.count for t in miner.templates()] == [5]


def test_distinct_closing_words_stay_distinct_templates():
    """Windows: `Ending TrustedInstaller initialization.` / `… finalization.` are two events."""
    miner = TemplateMiner()
    for word in ["initialization.", "finalization.", "initialization."]:
        miner.add(f"Ending TrustedInstaller {word}", "INFO", "w:1")
    assert sorted((t.template, t.count) for t in miner.templates()) == [
        ("Ending TrustedInstaller finalization.", 1), ("Ending TrustedInstaller initialization.", 2)]


def test_templates_of_different_lengths_with_one_wording_are_joined():
    miner = TemplateMiner(track=True)
    miner.add("h:80 close, 0 bytes sent, 0 bytes received, lifetime 00:01", None, "p:1")
    miner.add("h:80 close, 1190 bytes (1.16 KB) sent, 1671 bytes (1.63 KB) received, "
              "lifetime 00:02", None, "p:2")
    miner.add("h:80 close, 403 bytes sent, 426 bytes received, lifetime <1 sec", None, "p:3")
    groups, _ = miner.line_templates()
    (only,) = miner.templates()

    assert len(set(groups)) == 1 and only.count == 3
    assert only.template.startswith("h:<NUM> close, <NUM> bytes <*> sent,")


def test_an_annotation_in_another_place_is_joined_even_at_the_same_length():
    """`bytes sent, … bytes (1 KB) received` and `bytes (1 KB) sent, … bytes received` have one
    length but shifted words: the tree cannot see it, the alignment can."""
    miner = TemplateMiner()
    miner.add("h:80 close, 3 bytes sent, 9 bytes (1.1 KB) received, lifetime 00:01", None, "p:1")
    miner.add("h:80 close, 9 bytes (1.1 KB) sent, 3 bytes received, lifetime 00:01", None, "p:2")
    miner.add("nova request GET /v2/a status 200 len 5 time 0.1", None, "n:1")
    miner.add("nova request POST /v2/a status 200 len 5 time 0.1", None, "n:2")
    assert sorted(t.count for t in miner.templates()) == [1, 1, 2]


def test_a_trailing_key_value_field_makes_a_different_template():
    miner = TemplateMiner()
    for i, user in enumerate(["root", "test", "admin"]):
        miner.add(f"authentication failure; logname= uid=0 tty=ssh ruser= rhost=10.0.0.{i}",
                  None, "l:1")
        miner.add(f"authentication failure; logname= uid=0 tty=ssh ruser= rhost=10.0.0.{i} "
                  f"user={user}", None, "l:2")
    found = sorted((t.count, t.template) for t in miner.templates())
    assert [count for count, _ in found] == [3, 3]
    assert found[1][1].endswith("rhost=<IP> user=<*>")  # the field keeps its name


def test_regroup_helpers():
    assert constant_words("<*> close, <NUM> bytes (<NUM> KB) sent".split()) == [
        "close,", "bytes", "sent"]
    assert align("a <NUM> b c".split(), "a b x c".split()) == ["a", "<*>", "b", "<*>", "c"]


def test_a_joined_template_still_gives_a_rule_that_passes_its_self_test(tmp_path):
    from test_patterns import load_skeleton

    from diagnose.rulepack import selftest
    from diagnose.skeleton import rule_skeleton

    miner = TemplateMiner()
    miner.add("h:80 close, 0 bytes sent, 0 bytes received, lifetime 00:01", "ERROR", "p:1")
    miner.add("h:80 close, 1190 bytes (1.16 KB) sent, 1671 bytes (1.63 KB) received, "
              "lifetime 00:02", "ERROR", "p:2")
    (template,) = miner.templates()

    ruleset = load_skeleton(tmp_path, template, "joined")

    assert selftest(ruleset).ok
    assert "close," in rule_skeleton(template, "joined")


def test_a_skeleton_from_an_unknown_format_matches_the_whole_lines_the_rule_engine_sees(tmp_path):
    """The example keeps its header (records of unknown text formats are whole lines), so the
    rule's sample is a real record and its regex finds the message after any header."""
    import re
    import tomllib

    from test_patterns import load_skeleton

    from diagnose.rulepack import selftest
    from diagnose.skeleton import rule_skeleton

    raw = [r["Raw"] for r in slice_rows()["OpenSSH"]]
    miner = TemplateMiner()
    for number, line in enumerate(raw, 1):
        miner.add(line, None, f"sshd.log:{number}")
    template = next(t for t in miner.templates() if t.template == "Invalid user <*> from <IP>")

    assert template.example.startswith("Dec 10 ")
    doc = tomllib.loads(rule_skeleton(template, "invalid-user"))
    regex = re.compile(doc["patterns"][0])
    other = "Jan  3 11:22:33 otherhost sshd[99]: Invalid user oracle from 10.1.2.3"
    assert regex.search(other) and not regex.search(doc["counter_samples"][0]["text"])
    assert selftest(load_skeleton(tmp_path, template, "invalid-user")).ok


_HEADERISH = st.sampled_from([
    "2015-10-18", "18:01:47,978", "Jun", "14", "-", "|", "[main]", "[a", "b]", "INFO", "Info",
    "error", "sshd[24200]:", "org.x.Y:", "combo", "1117838570", "2005.06.03", "APPSEV", ",", "[",
    "]", ":", "10.0.0.1:80", "|x|", "20171223-22:15:29:606|a|1|", "message", "words", "\u202e",
    "\x85", "a=b", "0x1f", "(1.16", "KB)", "<NUM>", "<*>",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_HEADERISH, min_size=0, max_size=30), st.sampled_from([" ", "  ", "\t"]))
def test_header_stripping_only_ever_removes_a_prefix(words, gap):
    line = gap.join(words)

    message = strip_header(line)

    assert message == line or line.rstrip().endswith(message)
    miner = TemplateMiner()  # and the miner takes any of it, whole or cut short
    for cut in range(0, len(words) + 1, 3):
        miner.add(gap.join(words[cut:]), None, f"fuzz:{cut}")
    assert sum(t.count for t in miner.templates()) + miner.blank == miner.lines
