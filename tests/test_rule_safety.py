"""Issue #12: no rule pattern, template or rule file can hang, balloon or crash a run.

Rule patterns run on RE2 (linear time); a rule opts in to `re` with `engine = "re"`. Each test
writes a real pack to tmp_path and drives the real CLI (a subprocess where a regression would
hang: its timeout is a hang guard, not a speed bound).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from diagnose.exit_codes import ExitCode

HANG_GUARD = 120  # seconds; the backtracking engine needs hours on these inputs

PACK_TOML = 'id = "hostile"\nversion = "0.1.0"\ndescription = "hostile patterns"\n'


def write_pack(root: Path, rules: dict[str, str], findings: dict[str, str] | None = None) -> Path:
    pack = root / "hostile"
    (pack / "events").mkdir(parents=True)
    (pack / "pack.toml").write_text(PACK_TOML, encoding="utf-8")
    for name, body in rules.items():
        (pack / "events" / f"{name}.toml").write_text(body, encoding="utf-8")
    if findings:
        (pack / "findings").mkdir()
        for name, body in findings.items():
            (pack / "findings" / name).write_text(body, encoding="utf-8")
    return pack


def event_rule(rule_id: str, pattern: str, sample: str, prefilter: str, extra: str = "") -> str:
    return (
        f'id = "{rule_id}"\nkind = "event"\nemits = "hostile.{rule_id.replace("-", "_")}"\n'
        f'title = "hostile"\nprefilter = [{prefilter!r}]\npatterns = [{_literal(pattern)}]\n{extra}'
        f"[[samples]]\ntext = {_literal(sample)}\n"
    )


def _literal(text: str) -> str:
    return "'''" + text + "'''"


def run(*args: str, timeout: float = HANG_GUARD) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "diagnose", *args], capture_output=True, text=True,
        timeout=timeout, cwd=REPO,
    )


ISSUE_PATTERNS = [
    (r"\w*\d*\w*X", "wwwwX", "wwww", "w" * 20_000),
    (r"ATTACK (a+){1,1000}b", "ATTACK ab", "ATTACK", "ATTACK " + "a" * 20_000),
    (r"(?:a|aa){1,60}$", "aaa", "aaa", "a" * 20_000 + "!"),
    (r".*.*.*Z", "xxxZ", "xxx", "x" * 20_000),
    (r"(?:.*,){1,50}Z", ",,,Z", ",,,", "," * 20_000),
    (r"(a?){30}a{30}", "a" * 30, "aaa", "a" * 20_000),
]


def test_issue_patterns_match_hostile_lines_in_linear_time(tmp_path):
    """Every pattern from the issue loads and meets its worst line without hanging the run."""
    rules = {
        f"hostile-{i}": event_rule(f"hostile-{i}", pattern, sample, prefilter)
        for i, (pattern, sample, prefilter, _line) in enumerate(ISSUE_PATTERNS)
    }
    pack = write_pack(tmp_path, rules)
    log = tmp_path / "hostile.log"
    lines = [f"2025-01-01 00:00:0{i}.000 | ERROR | x:1 | {line}" for i, (*_, line) in
             enumerate(ISSUE_PATTERNS)]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    listed = run("rules", "list", "--rules", str(pack))
    assert listed.returncode == 0, listed.stderr
    assert "hostile-5" in listed.stdout
    result = run("analyze", str(log), "--rules", str(pack), "--format", "json")
    assert result.returncode in (ExitCode.OK, ExitCode.FINDINGS), result.stderr
    assert "Traceback" not in result.stderr


def test_pattern_re2_cannot_compile_is_a_load_error_naming_rule_and_key(tmp_path, run_cli):
    pack = write_pack(tmp_path, {
        "huge-repeat": event_rule("huge-repeat", r"(?:.{0,65535}){0,65535}Z", "Z", "ZZZ"),
        "lookahead": event_rule("lookahead", r"foo(?=bar)", "foobar", "foo"),
    })
    result = run_cli("rules", "list", "--rules", pack)
    assert result.code == ExitCode.BAD_RULES
    assert "huge-repeat" in result.err and "/patterns/0" in result.err
    assert "invalid repetition size" in result.err
    assert "lookahead" in result.err and 'engine = "re"' in result.err
    assert "Traceback" not in result.err


def test_engine_re_opts_in_to_lookarounds_and_keeps_the_backtracking_checks(tmp_path, run_cli):
    ok = write_pack(tmp_path / "ok", {
        "lookbehind": event_rule("lookbehind", r"(?<!x)(?P<user>u\d+) failed", "u1 failed",
                                 "failed", 'engine = "re"\n'),
    })
    assert run_cli("rules", "list", "--rules", ok).code == ExitCode.OK
    bad = write_pack(tmp_path / "bad", {
        "nested": event_rule("nested", r"(\w+\s?)*$", "ab", "ab ", 'engine = "re"\n'),
    })
    result = run_cli("rules", "list", "--rules", bad)
    assert result.code == ExitCode.BAD_RULES
    assert "nested unbounded quantifiers" in result.err and "/patterns/0" in result.err


def test_unknown_engine_is_refused(tmp_path, run_cli):
    pack = write_pack(tmp_path, {"pcre": event_rule("pcre", "abc", "abc", "abc", 'engine = "pcre"\n')})
    result = run_cli("rules", "list", "--rules", pack)
    assert result.code == ExitCode.BAD_RULES
    assert "/engine" in result.err


def test_time_bound_stops_a_backtracking_search():
    """What the static check cannot see still ends: the per-record bound makes it no match."""
    import re

    from diagnose.rulepack.regex_safety import BoundedPattern

    bounded = BoundedPattern(re.compile(r"(?:a|aa){1,60}$"))  # passes the static checks
    assert bounded.search("a" * 5_000 + "!") is None
    assert bounded.timeouts == 1
    assert bounded.search("aaa") is not None


def test_lone_surrogate_in_a_record_still_matches():
    from diagnose.rulepack.regex_safety import compile_checked

    pattern, problem = compile_checked(r"user (?P<user>\w+) left")
    assert problem is None
    assert pattern.search("\ud800 user u1 left").groupdict() == {"user": "u1"}
    pattern, _ = compile_checked(r"type '(?P<type>[^']*)'(?: from (?P<user>\S+))?")
    assert pattern.search("type 'a\ud800b'").groupdict() == {"type": "a\ud800b", "user": None}


FINDING = """id = "spec"
kind = "finding"
class = "routing_failure"
role = "cause"
severity = "critical"
title = "{title_text}"
cause = "c"
critical_failure = "c"
symptom = "s"
fix = "f"

[when]
type = "presence"
trigger = ["hostile.ping"]

[scenario]
log = "spec.log"
[[scenario.expect]]
connection = "c1"
class = "routing_failure"
"""


@pytest.mark.parametrize("title", ["{user:>999999999}", "{user!r}", "{user:{width}}"])
def test_template_format_specs_are_rejected_at_load(tmp_path, run_cli, title):
    pack = write_pack(
        tmp_path, {"ping": event_rule("ping", r"ping (?P<user>\w+)", "ping u1", "ping")},
        {"spec.toml": FINDING.replace("{title_text}", title), "spec.log": "ping u1\n"},
    )
    result = run_cli("rules", "list", "--rules", pack)
    assert result.code == ExitCode.BAD_RULES
    assert "/title" in result.err and "only {name} placeholders" in result.err


def test_deeply_nested_toml_is_a_load_error_not_a_traceback(tmp_path, run_cli):
    pack = write_pack(tmp_path, {"deep": "x = " + "[" * 100_000 + "]" * 100_000 + "\n"})
    result = run_cli("rules", "list", "--rules", pack)
    assert result.code == ExitCode.BAD_RULES
    assert "nests arrays or tables too deeply" in result.err
