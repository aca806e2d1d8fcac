"""Every shipped rule passes its own tests: the same self-test `diagnose rules test` runs.

One test per rule (ids = rule id), so a failure names the rule and the key path that broke.
Finding-rule scenarios are replayed through the real pipeline (`diagnose.pipeline.analyze`).
"""

from __future__ import annotations

import pytest

from diagnose.errors import RulePackError
from diagnose.rulepack import builtin_pack_dirs, format_issues, load_rule_packs
from diagnose.rulepack.selftest import check_event_rule, check_finding_rule


def _shipped():
    """The shipped rule set, or None when it does not load (test_shipped_packs_load says why)."""
    try:
        return load_rule_packs()
    except RulePackError:
        return None


SHIPPED = _shipped()
EVENT_RULES = SHIPPED.event_rules if SHIPPED else []
FINDING_RULES = SHIPPED.finding_rules if SHIPPED else []


def _failures(checks) -> str:
    return "\n".join(str(c) for c in checks if not c.passed)


def test_shipped_packs_load():
    if not any((d / "events").is_dir() and any((d / "events").glob("*.toml"))
               for d in builtin_pack_dirs()):
        pytest.skip("rules/core has no rules yet")
    try:
        ruleset = load_rule_packs()
    except RulePackError as exc:
        pytest.fail(f"{exc.message}\n{format_issues(exc.issues)}")
    assert ruleset.event_rules


@pytest.mark.parametrize("rule", EVENT_RULES, ids=[r.id for r in EVENT_RULES])
def test_event_rule_samples(rule):
    checks = check_event_rule(rule)
    assert checks, "an event rule without samples cannot be loaded"
    assert all(c.passed for c in checks), _failures(checks)


@pytest.mark.parametrize("rule", FINDING_RULES, ids=[r.id for r in FINDING_RULES])
def test_finding_rule_scenario(rule):
    from diagnose.pipeline import analyze  # the lead's pipeline; imported here so event tests run

    checks = check_finding_rule(rule, SHIPPED, analyze)
    assert len(checks) == 1 + len(rule.scenario_expect), _failures(checks)
    assert all(c.passed for c in checks), _failures(checks)
