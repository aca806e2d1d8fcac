"""The rule-pack engine: load and validate packs, match event rules, run the packs' self-tests.

Rules are data (TOML files in `rules/<pack>/`); this package is the only code that reads them.
"""

from __future__ import annotations

from .builtin import builtin_pack_dirs, builtin_rules_root
from .issues import RuleIssue, format_issues
from .loader import load_rule_packs
from .matching import MAX_MATCH_CHARS, apply_event_rule, severity_rank, split_groups
from .model import (
    ID_GROUPS,
    Condition,
    EventRule,
    FindingRule,
    RulePack,
    RuleSet,
    Sample,
    ScenarioExpect,
)
from .selftest import Check, SelftestResult, selftest

__all__ = [
    "ID_GROUPS",
    "MAX_MATCH_CHARS",
    "Check",
    "Condition",
    "EventRule",
    "FindingRule",
    "RuleIssue",
    "RulePack",
    "RuleSet",
    "Sample",
    "ScenarioExpect",
    "SelftestResult",
    "apply_event_rule",
    "builtin_pack_dirs",
    "builtin_rules_root",
    "format_issues",
    "load_rule_packs",
    "selftest",
    "severity_rank",
    "split_groups",
]
