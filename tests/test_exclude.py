"""`exclude` vetoes a rule's match: what RE2, having no lookarounds, cannot say in a pattern.

A small user pack (tests/data/packs/exclude) says "a 503 on any URL but /ws" with an exclude;
it is run through the real loader, the self-test and `diagnose analyze`, as a user would.
"""

from __future__ import annotations

import json
import shutil

from diagnose.exit_codes import ExitCode
from diagnose.rulepack import load_rule_packs

PACK = "tests/data/packs/exclude"
RULE = "events/health-unavailable.toml"
LOG = f"{PACK}/unavailable.log"
EXCLUDE_LINE = "exclude = ['''https?://[^\\s/]+/ws(?:[/?\\s]|$)''']\n"


def _copy_pack(tmp_path, edit):
    """The pack in tmp_path with its rule file's text passed through `edit`."""
    pack = tmp_path / "pack"
    shutil.copytree(PACK, pack)
    rule = pack / RULE
    text = rule.read_text(encoding="utf-8")
    assert EXCLUDE_LINE in text
    rule.write_text(edit(text), encoding="utf-8")
    return pack


def test_selftest_passes_because_the_exclude_vetoes_the_counter_sample(run_cli):
    result = run_cli("rules", "test", PACK, "--no-builtin-rules")
    assert result.code == 0, result.out + result.err
    assert result.out.strip().endswith("1 rules, 2 checks: all passed")


def test_without_the_exclude_the_counter_sample_matches(run_cli, tmp_path):
    pack = _copy_pack(tmp_path, lambda text: text.replace(EXCLUDE_LINE, ""))
    result = run_cli("rules", "test", str(pack), "--no-builtin-rules")
    assert result.code == ExitCode.BAD_RULES
    assert f"{RULE}: /counter_samples/0: counter-sample matches /patterns/0; it must not" in result.err


def test_a_sample_the_exclude_vetoes_is_reported_with_the_exclude(run_cli, tmp_path):
    health, ws = "text = \"HTTP GET https://api.example.test/health", "text = \"HTTP GET https://api.example.test/ws"
    pack = _copy_pack(tmp_path, lambda text: text.replace(health, ws, 1))
    result = run_cli("rules", "test", str(pack), "--no-builtin-rules")
    assert result.code == ExitCode.BAD_RULES
    assert ("/samples/0: sample does not match: exclude/0 matches it "
            "('https?://[^\\\\s/]+/ws(?:[/?\\\\s]|$)')") in result.err


def test_a_lookaround_in_an_exclude_is_a_load_error_naming_the_key(run_cli, tmp_path):
    pack = _copy_pack(tmp_path, lambda text: text.replace(EXCLUDE_LINE, "exclude = ['''/(?=ws)''']\n"))
    result = run_cli("rules", "test", str(pack), "--no-builtin-rules")
    assert result.code == ExitCode.BAD_RULES
    assert f"{RULE}: /exclude/0: the linear-time regex engine (RE2) cannot compile" in result.err
    assert "Traceback" not in result.err


def _analyze(run_cli, pack):
    result = run_cli("analyze", "--rules", str(pack), "--no-builtin-rules", "-f", "json", LOG)
    doc = json.loads(result.out)
    return doc["stats"]["records_read"], doc["stats"]["events"], doc["stats"]["ignored"], doc["event_counts"]


def test_analyze_drops_the_excluded_line_and_keeps_the_others(run_cli, tmp_path):
    # /health and /wsdl are events; the /ws line is not this rule's
    assert _analyze(run_cli, PACK) == (3, 2, 1, {"demo.unavailable": 2})
    def drop_exclude(text):  # and the counter-sample, which would then (rightly) fail to load
        return text.replace(EXCLUDE_LINE, "").split("[[counter_samples]]")[0]

    without = _copy_pack(tmp_path, drop_exclude)
    assert len(load_rule_packs([without], include_builtin=False).event_rules[0].exclude) == 0
    assert _analyze(run_cli, without) == (3, 3, 0, {"demo.unavailable": 3})
