"""Template mining of unexplained lines, masking, and rule skeletons the rule engine accepts."""

from __future__ import annotations

import io
import json
import random
import re
import tomllib
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from diagnose.masking import mask
from diagnose.patterns import Template, TemplateMiner
from diagnose.rulepack import load_rule_packs, selftest
from diagnose.rulepack.regex_safety import compile_checked
from diagnose.skeleton import rule_skeleton, suggest_rule_id

DATA = Path(__file__).parent / "data" / "patterns"
# Staging loguru text format (netra.md §4.4): time | LEVEL | module:function:line | message
LOGURU = re.compile(r"^\S+ \S+ \| (?P<level>[A-Z]+)\s*\| [^|]+\| (?P<message>.*)$")


def backend_lines() -> list[tuple[str, str, str]]:
    """(message, severity, provenance) for every line of the fixture."""
    rows = []
    path = DATA / "backend.log"
    for number, line in enumerate(path.read_text().splitlines(), 1):
        m = LOGURU.match(line)
        assert m, f"fixture line {number} is not loguru text"
        rows.append((m["message"], m["level"], f"backend.log:{number}"))
    return rows


def mine(rows) -> TemplateMiner:
    miner = TemplateMiner()
    for text, severity, provenance in rows:
        miner.add(text, severity, provenance)
    return miner


EXPECTED = [  # (severity, count, template), in report order
    ("CRITICAL", 1, "CRITICAL ERROR: No WebSocket connections found for user <ID>. "
                    "User will not receive message: agent_started"),
    ("ERROR", 1, "Error sending unknown message ack to <ID>: Cannot call <STR> once a close "
                 "message has been sent."),
    ("WARNING", 3, "No active connection for user <ID> on attempt <NUM>/<NUM>. "
                   "Waiting <NUM>s before retry..."),
    ("WARNING", 2, "Session access failed (middleware not installed?)"),
    ("INFO", 4, "Request: GET <*> | Status: <NUM> | Duration: <NUM>ms | Trace: <UUID>"),
    ("INFO", 3, "Added connection <ID> for user <*> (thread-safe)"),
    ("INFO", 3, "Removed connection <ID> (thread-safe)"),
    ("INFO", 1, "MessageRouter singleton created with <NUM> handlers"),
]


def test_backend_residue_mines_to_the_exact_templates_problems_first():
    found = mine(backend_lines()).templates()

    assert [(t.max_severity, t.count, t.template) for t in found] == EXPECTED


def test_each_template_names_its_first_occurrence_and_a_real_example():
    found = {t.template: t for t in mine(backend_lines()).templates()}
    added = found["Added connection <ID> for user <*> (thread-safe)"]

    assert added.first_provenance == "backend.log:3"
    assert added.example_provenance == "backend.log:3"
    assert added.example == (
        "Added connection ws_e2e-stag_1757375362_49066fc8 for user e2e-staging-49066fc8 "
        "(thread-safe)"
    )


def test_a_new_error_pattern_sorts_before_frequent_info_noise():
    rows = backend_lines() * 50
    rows.append(("Failed to send to thread thread_8c1d2e3f4a: ConnectionClosedError", "ERROR",
                 "late.log:1"))

    found = mine(rows).templates()

    assert [t.max_severity for t in found[:3]] == ["CRITICAL", "ERROR", "ERROR"]
    new = next(t for t in found if t.first_provenance == "late.log:1")
    assert new.template == "Failed to send to thread <ID>: ConnectionClosedError"
    assert new.count == 1
    assert found.index(new) < found.index(next(t for t in found if t.max_severity == "WARNING"))


def test_example_is_the_worst_occurrence_when_one_text_comes_at_several_levels():
    miner = TemplateMiner()
    miner.add("Heartbeat timeout for connection ws_abc_1757375362_49066fc8", "WARNING", "a:1")
    miner.add("Heartbeat timeout for connection ws_abc_1757375363_5e6f7a8b", "ERROR", "a:2")

    (only,) = miner.templates()
    assert (only.count, only.max_severity) == (2, "ERROR")
    assert (only.example_provenance, only.first_provenance) == ("a:2", "a:1")


def test_templates_and_counts_do_not_depend_on_input_order():
    rows = backend_lines()
    expected = [(t.template, t.count) for t in mine(rows).templates()]
    for seed in range(5):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        assert [(t.template, t.count) for t in mine(shuffled).templates()] == expected


def test_only_the_first_line_of_a_folded_traceback_is_mined():
    miner = TemplateMiner()
    traceback = 'Traceback (most recent call last):\n  File "/usr/lib/python3.11/x.py", line 3'
    miner.add(f"Error in v3 clean pattern for user e2e-staging-49066fc8: boom\n{traceback}",
              "ERROR", "t:1")
    miner.add("Error in v3 clean pattern for user staging-e2e-user-001: boom\\nTraceback …",
              "ERROR", "t:9")

    (only,) = miner.templates()
    assert only.template == "Error in v3 clean pattern for user <ID>: boom"
    assert only.count == 2


def test_memory_bounds_count_what_they_leave_out():
    miner = TemplateMiner(max_templates=2, max_distinct=3, max_line_chars=40)
    for text, severity, provenance in backend_lines():
        miner.add(text, severity, provenance)

    found = miner.templates()
    assert len(found) == 2
    assert sum(t.count for t in found) + miner.overflow + miner.blank == 18
    assert miner.overflow > 0
    assert miner.truncated == sum(len(text) > 40 for text, _, _ in backend_lines())
    assert all(len(t.example) <= 40 for t in found)


def test_blank_and_control_only_lines_are_counted_not_mined():
    miner = TemplateMiner()
    miner.add("   ", "INFO", "b:1")
    miner.add("\x1b[0m\x07", None, "b:2")
    assert miner.templates() == []
    assert (miner.lines, miner.blank) == (2, 2)


def test_result_section_is_json_ready():
    summary = json.loads(json.dumps(mine(backend_lines()).result(top=2).to_dict()))
    assert summary["lines"] == 18 and summary["templates"] == 8 and summary["overflow"] == 0
    assert [t["max_severity"] for t in summary["top"]] == ["CRITICAL", "ERROR"]


# --- masking -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Sending ack for unknown message type 'execute_agent' from e2e-staging-49066fc8",
         "Sending ack for unknown message type <STR> from <ID>"),
        ("Routing message type 'chat_message' from staging-e2e-user-001: {'type': 'chat'}",
         "Routing message type <STR> from <ID>: {<STR>: <STR>}"),
        ("Exiting message handling loop for connection: ws_staging-_1757375363_a1b2c3d4 | "
         "Duration: 12.5s | Messages processed: 3",
         "Exiting message handling loop for connection: <ID> | Duration: <NUM>s | "
         "Messages processed: <NUM>"),
        ("Request: GET /health | Status: 200 | Trace: cb42b7f2-9135-4d0b-9704-2db7872c23f0",
         "Request: GET /health | Status: <NUM> | Trace: <UUID>"),
        ("Created user ***@netrasystems.ai at 2025-09-08 16:49:24.508 PDT",
         "Created user <EMAIL> at <TS>"),
        ("seen 2025-09-08T23:16:36.506567Z from 10.0.0.12:443 via wss://api.example.ai/ws",
         "seen <TS> from <IP> via <URL>"),
        ('File "/usr/local/lib/python3.11/asyncio/tasks.py", line 490',
         "File <STR>, line <NUM>"),
        ("open /var/lib/app/state.db failed: 0x7fff1234 (errno -2) user 108234567890123456789",
         "open <PATH> failed: <HEX> (errno <NUM>) user <NUM>"),
        ("EMISSION SUCCESS: agent_started → thread=thread_abc123def (run_id=run_7f3a9c2e1b)",
         "EMISSION SUCCESS: agent_started → thread=<ID> (run_id=<ID>)"),
        ("revision netra-backend-staging-00704-ds8 deadbeef12 ok",
         "revision <ID> <HEX> ok"),
        ("ack from e2e-staging-abcdefab and run=run_aebfabeaec",  # random hex without digits
         "ack from <ID> and run=<ID>"),
    ],
)
def test_mask_replaces_variable_parts_with_typed_placeholders(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "MessageRouter detected unknown message type: execute_agent",
        "Processing MessageType.START_AGENT on python3.11 with utf-8 for e2e-test",
        "Couldn't find user's data",
        "[U+1F511] GOLDEN PATH AUTH=REDACTED permissive authentication",
    ],
)
def test_mask_keeps_words_that_are_not_ids(text):
    assert mask(text) == text


def test_mask_is_idempotent_on_the_fixture():
    for text, _, _ in backend_lines():
        assert mask(mask(text)) == mask(text)


# --- rule skeletons ----------------------------------------------------------------------------


def load_skeleton(tmp_path: Path, template: Template, rule_id: str):
    """Write the skeleton as a one-rule pack and load it with the real rule engine."""
    pack = tmp_path / "mined"
    (pack / "events").mkdir(parents=True)
    (pack / "pack.toml").write_text('id = "mined"\nversion = "0.1.0"\ndescription = "mined"\n')
    (pack / "events" / f"{rule_id}.toml").write_text(rule_skeleton(template, rule_id))
    return load_rule_packs([pack], include_builtin=False)


def test_every_fixture_template_yields_a_rule_that_loads_and_passes_its_self_test(tmp_path):
    templates = mine(backend_lines()).templates()
    for i, template in enumerate(templates):
        rule_id = suggest_rule_id(template)
        ruleset = load_skeleton(tmp_path / str(i), template, rule_id)
        result = selftest(ruleset)
        assert result.ok, result.render()
        (rule,) = ruleset.event_rules
        assert rule.emits == f"custom.{rule_id}"
        assert rule.samples[0].text == template.example
        assert any(literal in template.example for literal in rule.prefilter)


def test_suggested_rule_ids_read_like_the_message():
    ids = [suggest_rule_id(t) for t in mine(backend_lines()).templates()[:3]]
    assert ids == [
        "mined-critical-error-no-websocket-connections",
        "mined-error-sending-unknown-message-ack",
        "mined-no-active-connection-for-user",
    ]


def test_skeleton_captures_the_ids_by_name_and_expects_what_the_example_holds(tmp_path):
    template = next(
        t for t in mine(backend_lines()).templates() if t.template.startswith("No active")
    )

    doc = tomllib.loads(rule_skeleton(template, "no-active-connection"))

    assert doc["prefilter"] == ["No active connection for user"]
    assert doc["samples"][0]["expect"] == {
        "user": "staging-e2e-user-002", "num1": "1", "num2": "3", "num3": "1.0",
    }
    regex = re.compile(doc["patterns"][0])
    assert regex.search("No active connection for user e2e-staging-49066fc8 on attempt 2/3. "
                        "Waiting 1.0s before retry...")["user"] == "e2e-staging-49066fc8"
    assert not regex.search(doc["counter_samples"][0]["text"])


def test_quoted_values_are_captured_without_their_quotes():
    template = Template(
        "Routing message type <STR> from <ID>: {<STR>: <STR>}", 2,
        "Routing message type 'execute_agent' from e2e-staging-49066fc8: {'type': 'x'}",
        "a:1", "INFO", "a:1",
    )
    expect = tomllib.loads(rule_skeleton(template, "routing"))["samples"][0]["expect"]
    assert expect["str1"] == "execute_agent"
    assert expect["connection"] == "e2e-staging-49066fc8"


def test_hostile_text_still_gives_valid_toml_that_matches(tmp_path):
    line = 'Bad input \'\'\' """ \\d+ (a+)+ from e2e-staging-49066fc8 [x] {y} $HOME'
    miner = TemplateMiner()
    miner.add(line + "\x1b[31m\x00", "ERROR", "evil:1")
    (template,) = miner.templates()

    ruleset = load_skeleton(tmp_path, template, "hostile")

    assert selftest(ruleset).ok
    assert ruleset.event_rules[0].samples[0].text == line


def test_a_very_long_template_gives_a_pattern_within_the_loader_limit(tmp_path):
    line = " ".join(f"key{i}=e2e-staging-{i:08x} 'v{i}'" for i in range(60))
    miner = TemplateMiner(max_line_chars=4000)
    miner.add(line, "WARNING", "long:1")
    (template,) = miner.templates()

    ruleset = load_skeleton(tmp_path, template, "long-line")

    assert selftest(ruleset).ok
    assert len(ruleset.event_rules[0].patterns[0].pattern) <= 2000


def test_bad_rule_ids_are_refused_with_a_reason():
    (template,) = [t for t in mine(backend_lines()).templates() if t.count == 2]
    with pytest.raises(ValueError, match="rule id"):
        rule_skeleton(template, "Bad Id!")


def test_terminal_table_lists_problems_first_and_keeps_log_text_literal():
    hostile = "[link=http://x]click[/link] failed for ws_a_1757375362_aa11"
    rows = [*backend_lines(), (hostile, "ERROR", "x:1")]
    console = Console(width=160, record=True, file=io.StringIO())

    console.print(mine(rows).result(top=3))

    text = console.export_text()
    assert "18 lines" not in text and "19 lines → 9 templates, top 3" in text
    lines = [line for line in text.splitlines() if line.startswith("│ ")]
    assert lines[0].startswith("│ 1 │ CRITICAL")
    assert "[link=<URL>]click[/link] failed for <ID>" in text
    assert "diagnose patterns --skeleton N" in text


_WORDS = st.sampled_from([
    "Sending", "ack", "for", "user", "from", "e2e-staging-49066fc8", "staging-e2e-user-001",
    "'execute_agent'", '"quoted text"', "run_id=run_7f3a9c2e1b,", "2025-09-08T23:16:36Z",
    "16:49:24.508", "PDT", "12.5s", "(thread-safe)", "\\d+", "'''", '"""', "[x]", "{y}", "$", "\\",
    "cb42b7f2-9135-4d0b-9704-2db7872c23f0", "/usr/lib/x.py", "a@b.io", "http://h/p?q=1", "→",
])


@settings(max_examples=150, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=14), st.sampled_from(["INFO", "ERROR", None]))
def test_any_mined_line_gives_a_skeleton_that_loads_and_matches_its_example(words, severity):
    miner = TemplateMiner()
    miner.add(" ".join(words), severity, "h:1")
    (template,) = miner.templates()
    try:
        doc = tomllib.loads(rule_skeleton(template, "prop"))
    except ValueError as exc:  # only a too-short example may be refused
        assert "too short" in str(exc) and len(template.example) < 20
        return
    regex, problem = compile_checked(doc["patterns"][0])
    assert problem is None
    match = regex.search(doc["samples"][0]["text"])
    assert match is not None
    assert {k: v for k, v in match.groupdict().items() if v is not None} == doc["samples"][0][
        "expect"
    ]
    assert not regex.search(doc["counter_samples"][0]["text"])
    assert all(len(p) >= 3 and p in template.example for p in doc["prefilter"])


def test_skeleton_escapes_bidi_zero_width_and_c1_controls(tmp_path):
    """Issue 12: log text must not reorder or hide parts of the TOML a reviewer reads."""
    line = "Payment \u202eoverride\u202c for \u2066admin\u2069 user\u200b_x next\u0085line csi\u009b"
    miner = TemplateMiner()
    miner.add(line + " from e2e-staging-49066fc8", "ERROR", "evil\u202e.log:1")
    (template,) = miner.templates()

    text = rule_skeleton(template, "bidi")

    hidden = [ch for ch in text if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")]
    assert hidden == []
    assert "\\u202e" in text.lower()
    ruleset = load_skeleton(tmp_path, template, "bidi")
    assert selftest(ruleset).ok
    assert ruleset.event_rules[0].samples[0].text == template.example
    assert "\u202e" in template.example  # the sample itself still holds the real characters
