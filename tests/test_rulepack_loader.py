"""The rule-pack loader reports every problem with file + key path; matching behaves as documented.

Broken packs live in tests/data/bad_rules/<case>/ (one defect family each); the small valid pack in
tests/data/good_rules/testpack exercises [where], min_severity, attrs and first-pattern-wins.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose.errors import RulePackError
from diagnose.exit_codes import ExitCode
from diagnose.model import ParseStats
from diagnose.report import ConnectionOutcome, Provenance, Report
from diagnose.rulepack import (
    MAX_MATCH_CHARS,
    RuleIssue,
    Sample,
    apply_event_rule,
    builtin_pack_dirs,
    load_rule_packs,
    selftest,
    split_groups,
)
from diagnose.rulepack.regex_safety import compile_checked

DATA = Path(__file__).parent / "data"
BAD = DATA / "bad_rules"
GOOD = DATA / "good_rules" / "testpack"

NESTED = (
    "nested unbounded quantifiers (e.g. (a+)+ or (.*)*) can backtrack catastrophically; "
    "bound the inner or outer repeat, or make it atomic (?>...) / possessive (*+, ++)"
)
SAMPLES_HINT = "(every event rule needs at least one [[samples]] entry that must match)"
EVENT_KEYS = (
    "id, kind, emits, title, status, prefilter, patterns, exclude, engine, attrs, min_severity, sticky_ids, "
    "sets_sticky_ids, where, samples, counter_samples"
)

EXPECTED: dict[str, list[tuple[str, str, str]]] = {
    "unknown_key": [
        ("events/unknown-key.toml", "/patern", "unknown key; did you mean 'patterns'?"),
        ("events/unknown-key.toml", "/colour", f"unknown key; allowed keys: {EVENT_KEYS}"),
        ("events/unknown-key.toml", "/samples/0/expected", "unknown key; did you mean 'expect'?"),
        ("events/unknown-key.toml", "/patterns", "missing required key"),
    ],
    "bad_regex": [
        ("events/bad-regex.toml", "/patterns/0",
         "invalid regex: missing ), unterminated subpattern at position 0"),
    ],
    "catastrophic_regex": [
        ("events/catastrophic-regex.toml", "/patterns/0", NESTED),
        ("events/catastrophic-regex.toml", "/patterns/1", NESTED),
        ("events/catastrophic-regex.toml", "/patterns/3",
         "pattern is 2,001 characters; the limit is 2,000"),
        ("events/catastrophic-regex.toml", "/where/log_name", NESTED),
    ],
    "duplicate_id": [
        ("pack_b/events/same-rule.toml", "/id",
         "duplicate rule id 'same-rule': already defined in "
         "tests/data/bad_rules/duplicate_id/pack_a/events/same-rule.toml"),
    ],
    "id_not_stem": [
        ("events/id-not-stem.toml", "/id",
         "id 'another-name' must equal the file name stem 'id-not-stem'"),
    ],
    "missing_samples": [
        ("events/empty-samples.toml", "/samples", f"must not be empty {SAMPLES_HINT}"),
        ("events/no-samples.toml", "/samples", f"missing required key {SAMPLES_HINT}"),
    ],
    "sample_not_matching": [
        ("events/sample-not-matching.toml", "/samples/1",
         "sample does not match: matches none of the patterns"),
        ("events/sample-not-matching.toml", "/samples/2/expect/user",
         "expected user='u1', got 'u2'"),
        ("events/sample-not-matching.toml", "/samples/2/expect/thread",
         "expected thread='t1', but the match has no 'thread' group or attr"),
        ("events/sample-not-matching.toml", "/samples/3",
         "sample does not match: contains none of the prefilter literals, "
         "so the prefilter would hide it"),
    ],
    "counter_sample_matching": [
        ("events/counter-sample-matching.toml", "/counter_samples/1",
         "counter-sample matches /patterns/0; it must not"),
    ],
    "bad_toml": [
        ("events/bad-toml.toml", "",
         "TOML syntax error: Expected '=' after a key in a key/value pair (at line 3, column 7)"),
    ],
    "wrong_type": [
        ("events/wrong-type.toml", "/prefilter", "expected array, got string"),
        ("events/wrong-type.toml", "/patterns/1", "expected string, got integer"),
        ("events/wrong-type.toml", "/sticky_ids", "expected boolean, got string"),
        ("events/wrong-type.toml", "/attrs/retries", "expected string, got integer"),
        ("events/wrong-type.toml", "/samples/0/expect/seconds", "expected string, got integer"),
    ],
    "bad_finding": [
        ("events/misfiled-finding.toml", "/kind",
         "kind 'finding' does not match the folder: finding rules live in findings/"),
        ("findings/bad-finding.toml", "/role",
         "unknown role 'culprit'; expected one of: cause, symptom"),
        ("findings/bad-finding.toml", "/severity",
         "unknown severity 'urgent'; expected one of: critical, high, medium, low"),
        ("findings/bad-finding.toml", "/priority", "expected integer, got string"),
        ("findings/bad-finding.toml", "/when/type",
         "unknown condition type 'sometimes'; expected one of: absence, incomplete, presence, "
         "unexplained, count"),
        # Classes are declared by packs; a pack loaded alone is checked against the built-in ones.
        ("findings/bad-finding.toml", "/class",
         "unknown class 'routing'; expected one of: routing_failure, connection_failure, "
         "execution_timeout, events_not_delivered, lifecycle_incomplete, "
         "client_timeout_unexplained, healthy, in_progress"),
        ("findings/bad-finding.toml", "/scenario/expect/0/class",
         "unknown outcome class 'broken'; expected one of: routing_failure, connection_failure, "
         "execution_timeout, events_not_delivered, lifecycle_incomplete, "
         "client_timeout_unexplained, healthy, in_progress"),
        ("findings/bad-finding.toml", "/title",
         "placeholder {0} must be a name such as {message_type}"),
        ("findings/bad-finding.toml", "/cause",
         "bad placeholder: expected '}' before end of string (write {{ and }} for literal braces)"),
        ("findings/bad-finding.toml", "/when/window",
         "not a duration: 'soon' (try 90s, 15m, 2h, 1d)"),
    ],
    "short_prefilter": [
        ("events/short-prefilter.toml", "/min_severity",
         "unknown severity 'WARN'; expected one of: DEFAULT, DEBUG, INFO, NOTICE, WARNING, ERROR, "
         "CRITICAL, ALERT, EMERGENCY"),
        ("events/short-prefilter.toml", "/prefilter/1",
         "prefilter literal 'ab' is shorter than 3 characters; "
         "it would let almost every record through"),
        ("events/short-prefilter.toml", "/prefilter/2",
         "empty prefilter literal: it would let every record through"),
    ],
    "bad_pack_meta": [
        ("pack.toml", "/author",
         "unknown key; allowed keys: id, version, description, known_message_types, classes, "
         "symptom_kinds, ending_kinds, scope_fields, placement, ignore_ids, type_fixes"),
        ("pack.toml", "/version", "missing required key"),
        ("event", "", "unknown folder in a rule pack; rules live in events/ and findings/"),
    ],
}


def load_issues(*dirs: Path) -> list[RuleIssue]:
    with pytest.raises(RulePackError) as caught:
        load_rule_packs(list(dirs), include_builtin=False)
    assert caught.value.exit_code == ExitCode.BAD_RULES
    return caught.value.issues


def as_rows(issues: list[RuleIssue], base: Path) -> list[tuple[str, str, str]]:
    return [(i.path.relative_to(base).as_posix(), i.key, i.message) for i in issues]


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_broken_pack_reports_exact_issues(case, monkeypatch):
    monkeypatch.chdir(DATA.parent.parent)  # messages name other files relative to the checkout
    issues = load_issues(BAD / case)
    assert as_rows(issues, BAD / case) == EXPECTED[case]


def test_every_case_has_test_data():
    assert sorted(p.name for p in BAD.iterdir() if p.is_dir()) == sorted(EXPECTED)


def test_all_problems_of_all_packs_are_reported_in_one_error():
    """Loading every broken pack at once stops at nothing: the issue list is the union."""
    issues = load_issues(*(BAD / case for case in sorted(EXPECTED)))
    expected = [(f"{case}/{f}", k, m) for case in sorted(EXPECTED) for f, k, m in EXPECTED[case]]
    rows = as_rows(issues, BAD)
    assert [r[:2] for r in rows] == [r[:2] for r in expected]
    assert len(issues) == 40


def test_issue_text_names_file_key_and_rule(monkeypatch):
    monkeypatch.chdir(DATA.parent.parent)
    issue = load_issues(BAD / "bad_regex")[0]
    assert issue.rule_id == "bad-regex"
    assert str(issue) == (
        "tests/data/bad_rules/bad_regex/events/bad-regex.toml: /patterns/0: "
        "invalid regex: missing ), unterminated subpattern at position 0"
    )
    plain = RuleIssue(Path("rules/core/events/x.toml"), "", "TOML syntax error: oops")
    assert str(plain) == "rules/core/events/x.toml: TOML syntax error: oops"


def test_error_summary_counts_problems_and_files():
    with pytest.raises(RulePackError) as caught:
        load_rule_packs([BAD / "missing_samples"], include_builtin=False)
    assert caught.value.message == "invalid rule pack: 2 problems in 2 files"


def test_user_pack_cannot_shadow_a_builtin_rule(tmp_path):
    builtin = load_rule_packs()
    if not builtin.event_rules:
        pytest.skip("rules/core has no event rules yet")
    original = builtin.event_rules[0]
    pack = tmp_path / "mine"
    (pack / "events").mkdir(parents=True)
    (pack / "pack.toml").write_text('id = "mine"\nversion = "1"\ndescription = "user pack"\n')
    shutil.copy(original.path, pack / "events" / original.path.name)
    with pytest.raises(RulePackError) as caught:
        load_rule_packs([pack])
    [issue] = caught.value.issues
    assert issue.path == pack / "events" / original.path.name
    assert issue.key == "/id"
    assert issue.message.startswith(f"duplicate rule id {original.id!r}: already defined in ")
    assert issue.message.endswith(f"events/{original.path.name}")


def test_missing_or_non_pack_directory_is_an_issue(tmp_path):
    (tmp_path / "empty").mkdir()
    issues = load_issues(tmp_path / "nope", tmp_path / "empty")
    assert [(i.path.name, i.message) for i in issues] == [
        ("nope", "rule pack directory not found"),
        ("empty", "not a rule pack: no pack.toml here or in its sub-directories"),
    ]


def test_folder_of_packs_and_repeated_pack_load_once():
    ruleset = load_rule_packs([GOOD.parent, GOOD], include_builtin=False)
    assert ruleset.versions() == ["testpack@0.1.0"]
    assert len(ruleset.event_rules) == 4


def test_good_pack_loads_into_typed_rules():
    ruleset = load_rule_packs([GOOD], include_builtin=False)
    events = {r.id: r for r in ruleset.event_rules}
    assert sorted(events) == ["lifecycle-started", "stdout-only", "unknown-ack", "warning-timeout"]
    assert events["warning-timeout"].min_severity == "WARNING"
    assert events["stdout-only"].where["service"] == "netra-backend-staging"
    assert events["stdout-only"].where["log_name"].pattern.startswith("run\\.googleapis")
    assert all(r.pack == "testpack" for r in ruleset.event_rules)
    [finding] = ruleset.finding_rules
    assert (finding.cls, finding.role, finding.priority) == ("routing_failure", "cause", 100)
    assert finding.when.window_seconds == 60.0
    assert finding.scenario_log == GOOD / "findings" / "unknown-type-dropped.log"
    assert [(e.connection, e.cls) for e in finding.scenario_expect] == [
        ("e2e-staging-49066fc8", "routing_failure"),
        ("e2e-staging-healthy01", "healthy"),
    ]
    assert ruleset.known_message_types == ["start_agent", "user_message"]
    assert "Sending ack for unknown message type" in ruleset.prefilter_literals()


def test_builtin_packs_come_from_the_checkout():
    dirs = builtin_pack_dirs()
    assert Path(__file__).parent.parent / "rules" / "core" in dirs


# --- matching ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rules():
    return {r.id: r for r in load_rule_packs([GOOD], include_builtin=False).event_rules}


STDOUT = {"log_name": "projects/p/logs/run.googleapis.com%2Fstdout",
          "service": "netra-backend-staging"}


@pytest.mark.parametrize(
    ("fields", "matches"),
    [
        (STDOUT, True),
        ({**STDOUT, "log_name": "projects/p/logs/run.googleapis.com%2Fstderr"}, True),
        ({**STDOUT, "log_name": "projects/p/logs/run.googleapis.com%2Frequests"}, False),
        ({**STDOUT, "service": "netra-backend"}, False),  # exact match, not a substring
        ({"log_name": STDOUT["log_name"]}, False),  # a missing field fails its condition
        (None, False),
    ],
)
def test_where_conditions(rules, fields, matches):
    got = apply_event_rule(rules["stdout-only"], "WebSocket closed for ws-9 code=1000", fields)
    assert (got == {"connection": "ws-9", "code": "1000"}) is matches
    assert (got is None) is not matches


@pytest.mark.parametrize(
    ("severity", "matches"),
    [(None, False), ("DEBUG", False), ("INFO", False), ("WARNING", True), ("ERROR", True),
     ("CRITICAL", True), ("warn", True), ("bogus", False)],
)
def test_min_severity_gate(rules, severity, matches):
    got = apply_event_rule(rules["warning-timeout"], "Agent triage timed out after 5s",
                           severity=severity)
    assert (got is not None) is matches


def test_no_min_severity_accepts_records_without_severity(rules):
    text = "Sending ack for unknown message type 'x' from u1"
    assert apply_event_rule(rules["unknown-ack"], text) == {"message_type": "x", "user": "u1"}


def test_groups_override_attrs_and_unset_groups_are_dropped(rules):
    rule = rules["lifecycle-started"]
    assert apply_event_rule(rule, "Emitted agent_started for run run-7 via bridge") == {
        "event": "agent_started", "source": "bridge", "run": "run-7"}
    assert apply_event_rule(rule, "Emitted agent_started for run run-8") == {
        "event": "agent_started", "source": "server", "run": "run-8"}


def test_first_matching_pattern_wins(rules):
    # both patterns match this line; the first decides, so only `run` is captured
    text = "Emitted agent_started for run run-1 after agent_started thread-2"
    got = apply_event_rule(rules["lifecycle-started"], text)
    assert got["run"] == "run-1"
    assert "thread" not in got


def test_prefilter_is_required_even_when_a_pattern_would_match(rules):
    rule = rules["lifecycle-started"]
    rule_prefilter = rule.prefilter
    try:
        rule.prefilter = ["Emitted"]
        assert apply_event_rule(rule, "agent_started thread-3") is None
        assert apply_event_rule(rule, "Emitted; agent_started thread-3") is not None
    finally:
        rule.prefilter = rule_prefilter


def test_only_the_first_64_kib_is_searched(rules):
    rule = rules["unknown-ack"]
    line = "Sending ack for unknown message type 'x' from u1"
    assert apply_event_rule(rule, "." * (MAX_MATCH_CHARS - len(line)) + line) is not None
    assert apply_event_rule(rule, "." * MAX_MATCH_CHARS + line) is None
    assert apply_event_rule(rule, "Sending ack for unknown " * 500_000) is None  # 12 MB


def test_split_groups_separates_correlation_ids():
    ids, attrs = split_groups({"user": "u", "run": "r", "message_type": "m", "code": "1"})
    assert ids == {"user": "u", "run": "r"}
    assert attrs == {"message_type": "m", "code": "1"}


@pytest.mark.parametrize(
    ("pattern", "safe"),
    [
        (r"(a+)+", False), (r"(.*)*", False), (r"(\w+\s?)*", False), (r"(?:a|b+)*", False),
        (r"(a+){2,}", False),
        (r"x(?:(?P<y>\d+),)*", False),  # conservative: any nesting of unbounded repeats
        (r"(?>a+)*", True),
        (r"(?:a+)*+", True), (r"(a{1,5})+", True), (r"\S+\s+(\d+)", True),
    ],
)
def test_nested_unbounded_quantifiers_are_rejected(pattern, safe):
    """Only for rules that opt in to the backtracking engine: RE2 matches these in linear time."""
    compiled, problem = compile_checked(pattern, engine="re")
    assert (problem is None) is safe
    assert (compiled is not None) is safe


# --- self-test ---------------------------------------------------------------------------------


def test_selftest_passes_on_the_good_pack():
    result = selftest(load_rule_packs([GOOD], include_builtin=False))
    assert result.ok
    assert len(result.checks) == 13
    assert result.render().splitlines()[-1] == "5 rules, 13 checks: all passed"


def test_selftest_reports_a_sample_that_stopped_matching():
    ruleset = load_rule_packs([GOOD], include_builtin=False)
    rule = next(r for r in ruleset.event_rules if r.id == "unknown-ack")
    rule.samples.append(Sample("Sending ack for message type 'chat' from u1"))
    rule.counter_samples.append(Sample("Sending ack for unknown message type 'a' from b"))
    result = selftest(ruleset)
    assert [(f.rule_id, f.what, f.detail) for f in result.failures] == [
        ("unknown-ack", "/samples/1", "sample does not match: contains none of the prefilter "
         "literals, so the prefilter would hide it"),
        ("unknown-ack", "/counter_samples/1", "counter-sample matches /patterns/0; it must not"),
    ]
    text = result.render()
    assert "FAIL  unknown-ack  (2/4)" in text
    assert "      fail /counter_samples/1: counter-sample matches /patterns/0; it must not" in text
    assert text.splitlines()[-1] == "5 rules, 15 checks: 2 failed"


def test_selftest_reports_a_missing_scenario_log(tmp_path):
    pack = tmp_path / "testpack"
    shutil.copytree(GOOD, pack)
    (pack / "findings" / "unknown-type-dropped.log").unlink()
    result = selftest(load_rule_packs([pack], include_builtin=False))
    [failure] = result.failures
    assert (failure.what, failure.detail) == (
        "/scenario/log",
        f"scenario log not found: {pack / 'findings' / 'unknown-type-dropped.log'}",
    )


def _report(rows: dict[str, str]) -> Report:
    outcomes = [ConnectionOutcome(c, o, None, None, 1, [], [], 0) for c, o in rows.items()]
    return Report([], outcomes, ParseStats(), Provenance("test", [], None, None, []))


def test_scenario_outcomes_are_compared_per_expected_connection():
    """`analyze` is the pipeline's contract: paths + ruleset in, Report out (here a fixed one)."""
    ruleset = load_rule_packs([GOOD], include_builtin=False)
    calls = []

    def analyze(paths, rs):
        calls.append(paths)
        return _report({"e2e-staging-49066fc8": "routing_failure", "other": "healthy"})

    result = selftest(ruleset, analyze)
    assert calls == [[str(GOOD / "findings" / "unknown-type-dropped.log")]]
    assert [(f.what, f.detail) for f in result.failures] == [
        ("/scenario/expect/1",
         "connection 'e2e-staging-healthy01' is not in the report "
         "(connections: e2e-staging-49066fc8, other)"),
    ]
    wrong = selftest(ruleset, lambda paths, rs: _report(
        {"e2e-staging-49066fc8": "healthy", "e2e-staging-healthy01": "healthy"}))
    assert [(f.what, f.detail) for f in wrong.failures] == [
        ("/scenario/expect/0", "e2e-staging-49066fc8: expected routing_failure, got healthy"),
    ]


def test_a_crashing_analysis_is_a_failed_check_not_a_crash():
    def analyze(paths, rs):
        raise ValueError("boom\nsecond line")

    result = selftest(load_rule_packs([GOOD], include_builtin=False), analyze)
    assert [(f.what, f.detail) for f in result.failures] == [
        ("/scenario", "analysis failed: ValueError: boom"),
    ]


def test_scenario_replays_through_the_real_pipeline():
    from diagnose.pipeline import analyze

    result = selftest(load_rule_packs([GOOD], include_builtin=False), analyze)
    scenario = [c for c in result.checks if c.what.startswith("/scenario")]
    assert [(c.what, c.passed, c.detail) for c in scenario] == [
        ("/scenario/log", True, "scenario log exists"),
        ("/scenario/expect/0", True, "e2e-staging-49066fc8: routing_failure"),
        ("/scenario/expect/1", True, "e2e-staging-healthy01: healthy"),
    ]


def test_installed_package_reads_its_bundled_rules(tmp_path):
    """A wheel carries rules/ as diagnose/_rules (pyproject force-include); that copy wins."""
    root = Path(__file__).parent.parent
    shutil.copytree(root / "diagnose", tmp_path / "diagnose",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(GOOD.parent, tmp_path / "diagnose" / "_rules")
    code = ("from diagnose.rulepack import builtin_pack_dirs, load_rule_packs; "
            "print(builtin_pack_dirs()); print(load_rule_packs().versions())")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(tmp_path)}, check=True)
    assert out.stdout.splitlines() == [
        f"[{Path(tmp_path / 'diagnose' / '_rules' / 'testpack')!r}]", "['testpack@0.1.0']"]


def test_issue_text_carries_no_terminal_escapes(tmp_path):
    (tmp_path / "events").mkdir()
    (tmp_path / "pack.toml").write_text('id = "p"\nversion = "1"\ndescription = "d"\n')
    (tmp_path / "events" / "x.toml").write_text('id = "x"\n"\\u001b[31mred" = 1\n')
    issues = load_issues(tmp_path)
    assert issues[0].key == "/\x1b[31mred"  # the data keeps what the file said
    assert "/?[31mred: unknown key" in str(issues[0])  # the text a terminal shows does not


# --- robustness: any TOML a user writes gives issues, never a traceback ---------------------------


def _toml(value) -> str:
    """A tiny TOML emitter for generated values (inline tables and arrays only)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


_KEYS = st.sampled_from(sorted({*EVENT_KEYS.split(", "), "class", "role", "when", "scenario",
                                "text", "expect", "type", "trigger", "window", "log", "x"}))
_SCALARS = st.one_of(
    st.booleans(), st.integers(-5, 5), st.sampled_from(["event", "finding", "(a+)+", "(", "ab",
                                                         "60s", "WARNING", "x-1", "{0}", ""]),
    st.text(max_size=8),
)
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=3)), max_leaves=8)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.dictionaries(_KEYS, _VALUES, max_size=8), folder=st.sampled_from(["events",
                                                                                 "findings"]))
def test_arbitrary_rule_files_yield_issues_not_tracebacks(tmp_path_factory, doc, folder):
    pack = tmp_path_factory.mktemp("fuzz")
    (pack / folder).mkdir()
    (pack / "pack.toml").write_text('id = "fuzz"\nversion = "1"\ndescription = "d"\n')
    body = "\n".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in doc.items())
    (pack / folder / "r.toml").write_text(body + "\n")
    try:
        load_rule_packs([pack], include_builtin=False)
    except RulePackError as exc:
        assert exc.issues and all(str(i) for i in exc.issues)


def test_shipped_samples_are_tested_by_rules_test_and_a_users_at_every_load(tmp_path, monkeypatch):
    """A shipped pack's samples are not re-run on every analyze (0.3 s a run); `rules test`
    still runs them, and a pack given with --rules is tested as it loads."""
    shipped, user = tmp_path / "shipped" / "core", tmp_path / "user" / "core"
    shutil.copytree(builtin_pack_dirs()[0], shipped)
    rule = shipped / "events" / "router-unknown-ack.toml"
    text = rule.read_text()
    broken = 'text = "Sending ack for unknown message type'
    assert broken in text
    rule.write_text(text.replace(broken, 'text = "Sending nothing for', 1))
    shutil.copytree(shipped, user)
    monkeypatch.setattr("diagnose.rulepack.builtin.builtin_rules_root", lambda: shipped.parent)

    loaded = load_rule_packs()  # the broken sample is not run on load
    failed = [c for c in selftest(loaded).checks if not c.passed]
    assert [(c.rule_id, c.what) for c in failed] == [("router-unknown-ack", "/samples/0")]
    with pytest.raises(RulePackError) as caught:
        load_rule_packs([user], include_builtin=False)
    [issue] = caught.value.issues
    assert (issue.key, issue.message.split(":")[0]) == ("/samples/0", "sample does not match")


def test_an_edited_shipped_pattern_that_cannot_compile_is_a_rule_error(run_cli, tmp_path,
                                                                       monkeypatch):
    """Shipped patterns compile on first use (their tests compiled them all). One edited into
    something RE2 refuses stops the run with the rule-pack exit code and one clear message."""
    shipped = tmp_path / "shipped" / "core"
    shutil.copytree(builtin_pack_dirs()[0], shipped)
    rule = shipped / "events" / "router-unknown-ack.toml"
    text = rule.read_text()
    start = text.index("patterns = [") + len("patterns = [")
    rule.write_text(text[:start] + "'(?<=x)Sending ack', " + text[start:])
    monkeypatch.setattr("diagnose.rulepack.builtin.builtin_rules_root", lambda: shipped.parent)

    result = run_cli("analyze", "samples/incident-execute-agent")
    assert result.code == ExitCode.BAD_RULES, result.err
    assert "a shipped rule pattern does not compile" in result.err
    assert "Traceback" not in result.err
