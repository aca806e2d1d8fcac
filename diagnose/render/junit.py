"""JUnit XML: each finding class is a test case, so existing CI viewers show what failed and why.

All six non-healthy classes are always listed — a class that did not occur is a passing test, so
a viewer's history shows when a class started or stopped failing. The XML is well-formed whatever
the logs contain: characters XML 1.0 forbids are removed and the rest escaped (`xml_text`).
"""

from __future__ import annotations

from ..model import Finding
from ..report import Report
from .escape import clip, display_ts, xml_text

EVIDENCE_LINES = 3
LIST_IDS = 20


def render_junit(report: Report) -> str:
    """One `<testsuite name="diagnose">` with one `<testcase>` per finding class."""
    classes = report.failure_classes()
    by_class = {c: [f for f in report.findings if f.cls == c] for c in classes}
    failures = sum(1 for c in classes if by_class[c])
    p = report.provenance
    stamp = p.window_end or p.window_start
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuite name="diagnose" tests="{len(classes)}" failures="{failures}" errors="0" '
        f'skipped="0" time="{p.elapsed_seconds:.3f}"'
        + (f' timestamp="{stamp.strftime("%Y-%m-%dT%H:%M:%S")}"' if stamp else "") + ">",
        "  <properties>",
        *_properties(report),
        "  </properties>",
    ]
    for cls in classes:
        lines += _testcase(cls, report.label(cls), by_class[cls])
    lines += [f"  <system-out>{xml_text(report.verdict())}</system-out>", "</testsuite>", ""]
    return "\n".join(lines)


def _properties(report: Report) -> list[str]:
    p = report.provenance
    props = [("command", p.command), ("inputs", " ".join(p.inputs)),
             ("window_start", display_ts(p.window_start)),
             ("window_end", display_ts(p.window_end)), ("rule_packs", " ".join(p.rule_packs)),
             ("verdict", report.verdict())]
    return [
        f'    <property name="{name}" value="{xml_text(clip(value, 2000))}"/>'
        for name, value in props
    ]


def _testcase(cls: str, label: str, findings: list[Finding]) -> list[str]:
    head = (f'  <testcase classname="diagnose.{xml_text(cls)}" name="{xml_text(label)}" '
            'time="0"')
    if not findings:
        return [head + "/>"]
    n = sum(f.connection_count for f in findings)
    message = (f"{clip(findings[0].title, 300)} ({n} connection(s)"
               + (f", {len(findings)} findings)" if len(findings) > 1 else ")"))
    body = "\n\n".join(_failure_text(f) for f in findings)
    return [
        head + ">",
        f'    <failure message="{xml_text(message)}" type="{cls}">'
        f"{xml_text(body, keep_newlines=True)}</failure>",
        "  </testcase>",
    ]


def _failure_text(f: Finding) -> str:
    ids = ", ".join(f.connections[:LIST_IDS])
    more = f" (+{f.unlisted(LIST_IDS)} more)" if f.unlisted(LIST_IDS) else ""
    lines = [
        f"[{f.role}/{f.severity}] {clip(f.title, 300)}",
        f"fingerprint: {f.fingerprint}",
        f"connections ({f.connection_count}): {ids}{more}",
        f"seen: {display_ts(f.first_seen)} → {display_ts(f.last_seen)}",
        f"cause: {f.cause}",
        f"critical failure: {f.critical_failure}",
        f"symptom: {f.symptom}",
        f"fix: {f.fix}",
    ]
    if f.evidence:
        lines.append("evidence:")
        lines += [
            f"  {e.provenance}  {display_ts(e.ts)}  {e.kind}  {clip(e.text, 400)}"
            for e in f.evidence[:EVIDENCE_LINES]
        ]
    # Each line is one line: log text may not add lines of its own.
    return "\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines)
