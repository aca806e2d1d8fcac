"""Is the report right? Per outcome class, the report's connections must equal the truth file's.

The truth names a connection by the user id its ack / lifecycle lines carry (or the connection id
when authentication failed before any user was known); `aliases` maps the connection ids the
generator also planted to those keys, so a report that keys a connection by its `ws_…` id still
counts as naming it.
"""

from __future__ import annotations

import json
from pathlib import Path

SHOW = 5  # differences printed per class; results.json keeps them all


def report_classes(report: dict, aliases: dict[str, str]) -> dict[str, set[str]]:
    """report["outcomes"][i] → {outcome class: {connection keys, mapped through aliases}}."""
    found: dict[str, set[str]] = {}
    for row in report.get("outcomes", []):
        key = str(row.get("connection"))
        found.setdefault(str(row.get("outcome")), set()).add(aliases.get(key, key))
    return found


def compare(truth: dict, report_path: Path) -> dict:
    try:
        report = json.loads(report_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return {"pass": False, "error": f"cannot read report {report_path}: {exc}", "classes": {}}
    aliases = truth.get("aliases", {})
    expected = {c: set(v["connections"]) for c, v in truth["classes"].items()}
    found = report_classes(report, aliases)
    classes = {}
    for cls in sorted(set(expected) | set(found)):
        exp, got = expected.get(cls, set()), found.get(cls, set())
        classes[cls] = {
            "expected": len(exp),
            "found": len(got),
            "missing": sorted(exp - got),
            "unexpected": sorted(got - exp),
        }
    ok = all(not c["missing"] and not c["unexpected"] for c in classes.values())
    return {"pass": ok, "classes": classes, "misplaced": _misplaced(expected, found)}


def _misplaced(expected: dict[str, set[str]], found: dict[str, set[str]]) -> dict[str, int]:
    """`truth → reported` pairs with counts: where the missing connections went."""
    where = {key: cls for cls, keys in found.items() for key in keys}
    moves: dict[str, int] = {}
    for cls, keys in expected.items():
        for key in keys:
            got = where.get(key, "absent")
            if got != cls:
                label = f"{cls} → {got}"
                moves[label] = moves.get(label, 0) + 1
    return dict(sorted(moves.items(), key=lambda kv: -kv[1]))


def print_check(check: dict) -> None:
    if "error" in check:
        print(f"\ncorrectness: FAIL — {check['error']}")
        return
    print(f"\ncorrectness: {'PASS' if check['pass'] else 'FAIL'}")
    print(f"  {'class':28} {'truth':>7} {'report':>7} {'missing':>8} {'extra':>6}")
    for cls, c in check["classes"].items():
        print(f"  {cls:28} {c['expected']:7} {c['found']:7} {len(c['missing']):8} "
              f"{len(c['unexpected']):6}")
    for cls, c in check["classes"].items():
        for label in ("missing", "unexpected"):
            if c[label]:
                more = f" (+{len(c[label]) - SHOW} more)" if len(c[label]) > SHOW else ""
                print(f"  {cls} {label}: {', '.join(c[label][:SHOW])}{more}")
    for move, n in check["misplaced"].items():
        print(f"  {n:6} × {move}")
