"""The allowed shape of every rule file (keys, types, enums), and a validator reporting each misfit.

Unknown keys are errors (semgrep's `additionalProperties: false`): a typo such as `patern` must not
silently turn a rule off. `validate` returns a copy holding only the well-typed entries, so the
checks that follow never meet a wrong type, and reports every problem through one callback.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from ..model import SEVERITY_RANK
from .issues import toml_type
from .model import CLASS_ROLES, PLACEMENTS, SCOPES

Report = Callable[[str, str], None]  # (key path, message)

STATUSES = ("experimental", "test", "stable", "deprecated")
RULE_KINDS = ("event", "finding")
CONDITION_TYPES = ("absence", "incomplete", "presence", "unexplained", "count")
ROLES = ("cause", "symptom")
FINDING_SEVERITIES = ("critical", "high", "medium", "low")
RECORD_SEVERITIES = tuple(SEVERITY_RANK)


@dataclass(frozen=True, slots=True)
class Spec:
    """One key: its type (string, integer, boolean, strings, string-table, table, tables)."""

    type: str
    required: bool = False
    choices: tuple[str, ...] = ()
    what: str = "value"  # noun for enum messages: "unknown severity 'x'"
    schema: dict[str, Spec] | None = None  # for table / tables
    non_empty: bool = False
    hint: str = ""


def _text(required: bool = True) -> Spec:
    return Spec("string", required=required, non_empty=required)


SAMPLE = {
    "text": Spec("string", required=True),
    "expect": Spec("string-table"),
    "fields": Spec("string-table"),
    "severity": Spec("string", choices=RECORD_SEVERITIES, what="severity"),
}
COUNTER_SAMPLE = {k: v for k, v in SAMPLE.items() if k != "expect"}

EVENT_RULE = {
    "id": _text(),
    "kind": Spec("string", required=True, choices=RULE_KINDS, what="rule kind"),
    "emits": _text(),
    "title": _text(),
    "status": Spec("string", choices=STATUSES, what="status"),
    "prefilter": Spec("strings", required=True, non_empty=True,
                      hint="give the literal text every matching record contains"),
    "patterns": Spec("strings", required=True, non_empty=True),
    # a record any of these match is not this rule's (what RE2 cannot say with lookarounds)
    "exclude": Spec("strings"),
    "engine": Spec("string", choices=("re2", "re"), what="regex engine"),  # re: opt-in, time-bounded
    "attrs": Spec("string-table"),
    "min_severity": Spec("string", choices=RECORD_SEVERITIES, what="severity"),
    "sticky_ids": Spec("boolean"),
    "sets_sticky_ids": Spec("boolean"),
    "where": Spec("string-table"),
    "samples": Spec("tables", required=True, non_empty=True, schema=SAMPLE,
                    hint="every event rule needs at least one [[samples]] entry that must match"),
    "counter_samples": Spec("tables", schema=COUNTER_SAMPLE),
}

WHEN = {
    "type": Spec("string", required=True, choices=CONDITION_TYPES, what="condition type"),
    "trigger": Spec("strings", required=True, non_empty=True),
    "expect": Spec("strings"),
    "window": Spec("string"),
    "before_any": Spec("strings"),
    "unless": Spec("strings"),
    # trigger attrs that hold the finding even when the `unless` kinds outnumber it
    "firm": Spec("string-table"),
    "requires": Spec("strings"),
    "at_least": Spec("integer"),
    "distinct": Spec("string"),
    "attrs": Spec("string-table"),
}
SCENARIO_EXPECT = {
    "connection": _text(required=False),
    "class": _text(),
    "scope_key": _text(required=False),
}
SCENARIO = {
    "log": _text(),
    "expect": Spec("tables", required=True, non_empty=True, schema=SCENARIO_EXPECT,
                   hint="list the expected outcome of at least one connection"),
}
FINDING_RULE = {
    "id": _text(),
    "kind": Spec("string", required=True, choices=RULE_KINDS, what="rule kind"),
    "class": _text(),
    "role": Spec("string", required=True, choices=ROLES, what="role"),
    "scope": Spec("string", choices=SCOPES, what="scope"),
    "absorbs_within": Spec("string"),
    "evidence": Spec("strings"),
    "severity": Spec("string", required=True, choices=FINDING_SEVERITIES, what="severity"),
    "priority": Spec("integer"),
    "title": _text(),
    "cause": _text(),
    "critical_failure": _text(),
    "symptom": _text(),
    "fix": _text(),
    "key": Spec("string"),
    "when": Spec("table", required=True, schema=WHEN),
    "scenario": Spec("table", required=True, schema=SCENARIO,
                     hint="every finding rule needs a [scenario] log with expected outcomes"),
}

CLASS = {
    "label": _text(),
    "role": Spec("string", required=True, choices=CLASS_ROLES, what="class role"),
    "colour": Spec("string"),
    "priority": Spec("integer"),
}
PLACEMENT = {
    "kinds": Spec("strings", required=True, non_empty=True),
    "strategy": Spec("string", required=True, choices=PLACEMENTS, what="placement strategy"),
    "pair_kinds": Spec("strings"),
    "match": Spec("strings"),
    "within": Spec("string"),
}
PACK = {
    "id": _text(),
    "version": _text(),
    "description": _text(),
    "known_message_types": Spec("strings"),
    "classes": Spec("named-tables", schema=CLASS),  # [classes.<id>] tables
    "symptom_kinds": Spec("strings"),
    "ending_kinds": Spec("strings"),
    "scope_fields": Spec("string-table"),
    "placement": Spec("tables", schema=PLACEMENT),
    "ignore_ids": Spec("string-table"),
    "type_fixes": Spec("string-table"),
}

_SCALARS = {"string": str, "boolean": bool}
_TYPE_WORDS = {"strings": "array", "string-table": "table", "tables": "array",
               "named-tables": "table"}


def validate(doc: dict, schema: dict[str, Spec], report: Report, prefix: str = "") -> dict:
    """Check `doc` against `schema`; report each problem; return only the entries that fit."""
    clean: dict = {}
    for key, value in doc.items():
        path = f"{prefix}/{key}"
        spec = schema.get(key)
        if spec is None:
            report(path, _unknown_key(key, schema))
            continue
        ok, value = _check(value, spec, report, path)
        if ok:
            clean[key] = value
    for key, spec in schema.items():
        if spec.required and key not in doc:
            report(f"{prefix}/{key}", _with_hint("missing required key", spec))
    return clean


def _unknown_key(key: str, schema: dict[str, Spec]) -> str:
    close = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.75)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return f"unknown key; allowed keys: {', '.join(schema)}"


def _with_hint(message: str, spec: Spec) -> str:
    return f"{message} ({spec.hint})" if spec.hint else message


def _check(value: object, spec: Spec, report: Report, path: str) -> tuple[bool, object]:
    """One value against its spec: (fits, cleaned value)."""
    if spec.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            report(path, f"expected integer, got {toml_type(value)}")
            return False, None
        return True, value
    if spec.type in _SCALARS:
        return _check_scalar(value, spec, report, path)
    expected = _TYPE_WORDS.get(spec.type, spec.type)
    container = list if expected == "array" else dict
    if not isinstance(value, container):
        report(path, f"expected {expected}, got {toml_type(value)}")
        return False, None
    if spec.non_empty and not value:
        report(path, _with_hint("must not be empty", spec))
        return False, None
    if spec.type == "table":
        return True, validate(value, spec.schema or {}, report, path)
    if spec.type == "named-tables":
        return _check_named_tables(value, spec, report, path)
    if spec.type == "tables":
        return _check_tables(value, spec, report, path)
    return _check_strings(value, spec, report, path)


def _check_scalar(value: object, spec: Spec, report: Report, path: str) -> tuple[bool, object]:
    if not isinstance(value, _SCALARS[spec.type]):
        report(path, f"expected {spec.type}, got {toml_type(value)}")
        return False, None
    if spec.non_empty and isinstance(value, str) and not value.strip():
        report(path, "must not be empty")
        return False, None
    if spec.choices and value not in spec.choices:
        report(path, f"unknown {spec.what} {value!r}; expected one of: {', '.join(spec.choices)}")
        return False, None
    return True, value


def _check_tables(value: list, spec: Spec, report: Report, path: str) -> tuple[bool, object]:
    items = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            report(f"{path}/{i}", f"expected table, got {toml_type(item)}")
            continue
        items.append(validate(item, spec.schema or {}, report, f"{path}/{i}"))
    return len(items) == len(value), items


def _check_named_tables(value: dict, spec: Spec, report: Report, path: str) -> tuple[bool, dict]:
    """`[classes.<id>]`: every value a table of `spec.schema`, keyed by a name."""
    items = {}
    for name, item in value.items():
        if not isinstance(item, dict):
            report(f"{path}/{name}", f"expected table, got {toml_type(item)}")
            continue
        items[name] = validate(item, spec.schema or {}, report, f"{path}/{name}")
    return len(items) == len(value), items


def _check_strings(value: list | dict, spec: Spec, report: Report, path: str) -> tuple[bool, list]:
    """An array of strings, or a table whose values are all strings."""
    pairs = value.items() if isinstance(value, dict) else enumerate(value)
    fits = True
    for k, item in pairs:
        if not isinstance(item, str):
            report(f"{path}/{k}", f"expected string, got {toml_type(item)}")
            fits = False
    return fits, value
