"""Is the report right? Per outcome class, the report's connections must equal the truth file's,
and every planted service incident must be a finding of the report.

The truth names a connection by the user id its ack / lifecycle lines carry (or the connection id
when authentication failed before any user was known); `aliases` maps the connection ids the
generator also planted to those keys, so a report that keys a connection by its `ws_…` id still
counts as naming it. A connection no line names is `unidentified@HH:MM:SS.mmm` in the report,
after its first line a rule reads; the truth keeps the span of its planted lines, and a report
name whose time falls in exactly one free span is that connection.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

SHOW = 5  # differences printed per class; results.json keeps them all
DAY_MS = 86_400_000
CONNECTION_SCOPES = ("", "connection", None)  # findings about connections: checked as outcomes


def report_classes(report: dict, aliases: dict[str, str],
                   unidentified: dict | None = None) -> dict[str, set[str]]:
    """report["outcomes"][i] → {outcome class: {connection keys, mapped through aliases}}."""
    rows = [(str(r.get("connection")), str(r.get("outcome"))) for r in report.get("outcomes", [])]
    named = resolve_unidentified([c for c, _ in rows], unidentified or {})
    found: dict[str, set[str]] = {}
    for key, outcome in rows:
        key = named.get(key, key)
        found.setdefault(outcome, set()).add(aliases.get(key, key))
    return found


def resolve_unidentified(names: list[str], unidentified: dict) -> dict[str, str]:
    """`unidentified@HH:MM:SS.mmm` → the truth key whose planted span holds that time of day.

    Spans are matched nearest first, each used once, so two report rows never claim one planted
    connection; a time in no span stays unmatched (and shows up as unexpected)."""
    prefix = unidentified.get("prefix", "unidentified@")
    spans = {key: (_ms_of_day(a // 1000), _ms_of_day(b // 1000))
             for key, (a, b) in unidentified.get("spans_us", {}).items()}
    wanted = [(n, _parse_ms(n[len(prefix):])) for n in names if n.startswith(prefix)]
    pairs = []
    for name, ms in wanted:
        if ms is None:
            continue
        for key, (a, b) in spans.items():
            if _within(ms, a - 1, b + 1):  # the report prints ms truncated
                pairs.append((abs(ms - (a + b) / 2), name, key))
    out: dict[str, str] = {}
    used: set[str] = set()
    for _, name, key in sorted(pairs):
        if name not in out and key not in used:
            out[name] = key
            used.add(key)
    return out


def _ms_of_day(ms: int) -> int:
    t = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1000 + t.microsecond // 1000


def _parse_ms(text: str) -> int | None:
    try:
        h, m, rest = text.split(":")
        s, _, frac = rest.partition(".")
        return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int((frac + "000")[:3])
    except ValueError:
        return None


def _within(ms: int, a: int, b: int) -> bool:
    """a ≤ ms ≤ b on a 24 h clock (a span may cross midnight)."""
    if a <= b:
        return a <= ms <= b
    return ms >= a or ms <= b


def compare_findings(expected: list[dict], findings: list[dict]) -> dict:
    """Each planted incident must be a report finding with its class, scope and scope key, and a
    count of at least the failed boots / refused upgrades planted; a finding about a wider scope
    than a connection that nothing planted is unexpected."""
    wider = [f for f in findings if f.get("scope") not in CONNECTION_SCOPES]
    missing, matched = [], set()
    for want in expected:
        hit = next((i for i, f in enumerate(wider) if i not in matched and all(
            f.get(k) == want[k] for k in ("class", "scope", "scope_key"))
            and (f.get("count") or 0) >= want.get("min_count", 0)), None)
        if hit is None:
            missing.append(want)
        else:
            matched.add(hit)
    unexpected = [{k: f.get(k) for k in ("class", "scope", "scope_key", "count", "title")}
                  for i, f in enumerate(wider) if i not in matched]
    found = [{k: wider[i].get(k) for k in ("class", "scope", "scope_key", "count")}
             for i in sorted(matched)]
    return {"expected": len(expected), "found": found, "missing": missing,
            "unexpected": unexpected}


def compare(truth: dict, report_path: Path) -> dict:
    try:
        report = json.loads(report_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return {"pass": False, "error": f"cannot read report {report_path}: {exc}", "classes": {}}
    aliases = truth.get("aliases", {})
    expected = {c: set(v["connections"]) for c, v in truth["classes"].items()}
    found = report_classes(report, aliases, truth.get("unidentified"))
    # past its row cap a report lists the most important rows and counts every class exactly:
    # a listed row must be right, an unlisted one is checked through its class's count
    truncated = bool(report.get("outcomes_truncated"))
    listed = {key for keys in found.values() for key in keys}
    counts = report.get("outcome_counts") or {}
    classes = {}
    for cls in sorted(set(expected) | set(found)):
        exp, got = expected.get(cls, set()), found.get(cls, set())
        missing = sorted(exp - got)
        unlisted = [key for key in missing if key not in listed] if truncated else []
        if unlisted and counts.get(cls) == len(exp):
            missing = sorted(set(missing) - set(unlisted))
        classes[cls] = {
            "expected": len(exp),
            "found": counts.get(cls, len(got)) if truncated else len(got),
            "missing": missing,
            "unexpected": sorted(got - exp),
        }
    findings = compare_findings(truth.get("findings", []), report.get("findings", []))
    ok = all(not c["missing"] and not c["unexpected"] for c in classes.values())
    ok = ok and not findings["missing"] and not findings["unexpected"]
    mismatches = sum(len(c["missing"]) + len(c["unexpected"]) for c in classes.values())
    mismatches += len(findings["missing"]) + len(findings["unexpected"])
    return {"pass": ok, "mismatches": mismatches, "classes": classes, "findings": findings,
            "misplaced": _misplaced(expected, found)}


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
    print(f"\ncorrectness: {'PASS' if check['pass'] else 'FAIL'} "
          f"({check.get('mismatches', 0)} mismatches)")
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
    f = check.get("findings")
    if f and (f["expected"] or f["unexpected"]):
        print(f"  service findings: {len(f['found'])}/{f['expected']} planted found")
        for x in f["found"]:
            print(f"    found      {x['class']} on {x['scope']} {x['scope_key']} (count {x['count']})")
        for x in f["missing"]:
            print(f"    missing    {x['class']} on {x['scope']} {x['scope_key']} "
                  f"(count ≥ {x.get('min_count', 0)})")
        for x in f["unexpected"][:SHOW]:
            print(f"    unexpected {x['class']} on {x['scope']} {x['scope_key']}: {x['title']}")
        if len(f["unexpected"]) > SHOW:
            print(f"    (+{len(f['unexpected']) - SHOW} more unexpected)")
