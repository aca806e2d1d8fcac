"""Rules that test themselves (samples, counter-samples, scenario logs) for loader, CLI and pytest.

`diagnose rules test`, `tests/test_rule_packs.py` and the loader all call these functions, so a
user's pack gets exactly the guarantees ours does. Event rules are checked against their samples
(cheap, also done on every load); finding rules replay their scenario log through the real
pipeline when an `analyze` callable is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .issues import display_path, printable
from .matching import apply_event_rule, first_matching_pattern, why_not
from .model import EventRule, FindingRule, RuleSet, Sample

Analyze = Callable[[list[str], RuleSet], object]


@dataclass(slots=True, frozen=True)
class Check:
    """One self-test assertion about one rule, located by key path like a RuleIssue."""

    rule_id: str
    what: str  # key path: "/samples/0", "/samples/0/expect/user", "/scenario/expect/1"
    passed: bool
    detail: str = ""
    path: Path | None = None

    def __str__(self) -> str:
        where = f"{display_path(self.path)}: " if self.path else ""
        return printable(f"{where}{self.what}: {self.detail}")


@dataclass(slots=True)
class SelftestResult:
    """Every check run, plus warnings (untested patterns, event kinds no rule emits)."""

    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def render(self, verbose: bool = False) -> str:
        """The text `diagnose rules test` prints (see render_text)."""
        return render_text(self, verbose)

    render_text = render


def selftest(ruleset: RuleSet, analyze: Analyze | None = None) -> SelftestResult:
    """Run every rule's own tests; finding scenarios only replay when `analyze` is given."""
    result = SelftestResult()
    for rule in ruleset.event_rules:
        result.checks.extend(check_event_rule(rule))
        result.warnings.extend(pattern_warnings(rule))
    emitted = {r.emits for r in ruleset.event_rules}
    for finding in ruleset.finding_rules:
        result.checks.extend(check_finding_rule(finding, ruleset, analyze))
        result.warnings.extend(kind_warnings(finding, emitted))
    return result


# --- event rules -------------------------------------------------------------------------------


def check_event_rule(rule: EventRule) -> list[Check]:
    """Samples match with the expected groups; counter-samples do not match."""
    checks: list[Check] = []
    for i, sample in enumerate(rule.samples):
        checks.extend(_check_sample(rule, i, sample))
    for i, sample in enumerate(rule.counter_samples):
        checks.append(_check_counter_sample(rule, i, sample))
    return checks


def _check_sample(rule: EventRule, i: int, sample: Sample) -> list[Check]:
    key = f"/samples/{i}"
    groups = apply_event_rule(rule, sample.text, sample.fields, sample.severity)
    if groups is None:
        reason = why_not(rule, sample.text, sample.fields, sample.severity)
        return [_check(rule, key, False, f"sample does not match: {reason or 'no match'}")]
    wrong = [
        _check(rule, f"{key}/expect/{name}", False, _mismatch(name, want, groups.get(name)))
        for name, want in sample.expect.items()
        if groups.get(name) != want
    ]
    return wrong or [_check(rule, key, True, "matches with the expected groups")]


def _mismatch(name: str, want: str, got: str | None) -> str:
    if got is None:
        return f"expected {name}={want!r}, but the match has no {name!r} group or attr"
    return f"expected {name}={want!r}, got {got!r}"


def _check_counter_sample(rule: EventRule, i: int, sample: Sample) -> Check:
    key = f"/counter_samples/{i}"
    groups = apply_event_rule(rule, sample.text, sample.fields, sample.severity)
    if groups is None:
        return _check(rule, key, True, "does not match")
    index = first_matching_pattern(rule, sample.text)
    return _check(rule, key, False, f"counter-sample matches /patterns/{index}; it must not")


def pattern_warnings(rule: EventRule) -> list[str]:
    """A pattern that wins for no sample is untested (lnav warns about the same)."""
    winners = {
        first_matching_pattern(rule, s.text)
        for s in rule.samples
        if apply_event_rule(rule, s.text, s.fields, s.severity) is not None
    }
    return [
        f"{display_path(rule.path)}: /patterns/{i}: untested (no sample matches it first)"
        for i in range(len(rule.patterns))
        if i not in winners
    ]


def _check(rule: EventRule | FindingRule, key: str, passed: bool, detail: str) -> Check:
    return Check(rule.id, key, passed, detail, rule.path)


# --- finding rules -----------------------------------------------------------------------------


def check_finding_rule(
    rule: FindingRule, ruleset: RuleSet, analyze: Analyze | None = None
) -> list[Check]:
    """The scenario log exists and, with `analyze`, yields the expected outcome per connection."""
    log = rule.scenario_log
    if log is None or not log.is_file():
        return [_check(rule, "/scenario/log", False, f"scenario log not found: {log}")]
    exists = _check(rule, "/scenario/log", True, "scenario log exists")
    if analyze is None:
        return [exists]
    try:
        report = analyze([str(log)], ruleset)
    except Exception as exc:  # a crash is this rule's failed check, not the run's
        return [exists, _check(rule, "/scenario", False, f"analysis failed: {_one_line(exc)}")]
    outcomes = {row.connection: row.outcome for row in getattr(report, "outcomes", [])}
    findings = [(f.cls, f.scope_key) for f in getattr(report, "findings", [])]
    return [exists, *(
        _check_outcome(rule, i, outcomes) if want.connection is not None
        else _check_finding(rule, i, findings)
        for i, want in enumerate(rule.scenario_expect)
    )]


def _check_finding(rule: FindingRule, i: int, findings: list[tuple[str, str]]) -> Check:
    """A finding of the class (on the scope value, when named) is in the report."""
    want = rule.scenario_expect[i]
    key = f"/scenario/expect/{i}"
    hit = any(cls == want.cls and want.scope_key in (None, scope_key) for cls, scope_key in findings)
    where = f" on {want.scope_key}" if want.scope_key else ""
    if hit:
        return _check(rule, key, True, f"finding {want.cls}{where}")
    seen = ", ".join(sorted({f"{c} on {k}" if k else c for c, k in findings})) or "none"
    return _check(rule, key, False, f"expected a {want.cls} finding{where}; report has: {seen}")


def _check_outcome(rule: FindingRule, i: int, outcomes: dict[str, str]) -> Check:
    want = rule.scenario_expect[i]
    key = f"/scenario/expect/{i}"
    got = outcomes.get(want.connection)
    if got is None:
        seen = ", ".join(sorted(outcomes)) or "none"
        detail = f"connection {want.connection!r} is not in the report (connections: {seen})"
        return _check(rule, key, False, detail)
    if got != want.cls:
        return _check(rule, key, False, f"{want.connection}: expected {want.cls}, got {got}")
    return _check(rule, key, True, f"{want.connection}: {got}")


def kind_warnings(rule: FindingRule, emitted: set[str]) -> list[str]:
    """Condition event kinds that no loaded event rule emits can never be seen."""
    when = rule.when
    return [
        f"{display_path(rule.path)}: /when/{part}: no event rule emits {kind!r}"
        for part, kinds in (("trigger", when.trigger), ("expect", when.expect),
                            ("before_any", when.before_any), ("unless", when.unless),
                            ("requires", when.requires))
        for kind in kinds
        if kind not in emitted
    ]


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text.splitlines()[0] if text.strip() else type(exc).__name__


# --- rendering ---------------------------------------------------------------------------------


def render_text(result: SelftestResult, verbose: bool = False) -> str:
    """Plain text for `diagnose rules test`: one line per rule, failures and warnings below."""
    by_rule: dict[str, list[Check]] = {}
    for check in result.checks:
        by_rule.setdefault(check.rule_id, []).append(check)
    lines: list[str] = []
    for rule_id, checks in by_rule.items():
        failed = [c for c in checks if not c.passed]
        status = "FAIL" if failed else "PASS"
        counts = f"{len(checks) - len(failed)}/{len(checks)}"
        where = display_path(checks[0].path) if checks[0].path else ""
        lines.append(printable(f"{status}  {rule_id}  ({counts})  {where}".rstrip()))
        for check in checks if verbose else failed:
            mark = "ok  " if check.passed else "fail"
            lines.append(printable(f"      {mark} {check.what}: {check.detail}"))
    lines.extend(f"warning: {printable(w)}" for w in result.warnings)
    lines.append(_summary(result, len(by_rule)))
    return "\n".join(lines)


def _summary(result: SelftestResult, rules: int) -> str:
    failed = len(result.failures)
    verdict = "all passed" if not failed else f"{failed} failed"
    return f"{rules} rules, {len(result.checks)} checks: {verdict}"
