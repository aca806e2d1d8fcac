"""The optional report sections (contrast, mined patterns) as plain tables for any renderer.

One place decides which columns and rows the Markdown and HTML reports show; each renderer only
escapes the cells for its own format.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..report import Report

MAX_ROWS = 10


@dataclass(slots=True)
class SectionTable:
    title: str
    lead: str  # one sentence above the table (or the reason there is no table)
    head: list[str]
    rows: list[list[str]]  # untrusted text: escape every cell
    numeric: frozenset[int] = frozenset()


def contrast_table(report: Report) -> SectionTable | None:
    section = report.sections.get("contrast")
    if section is None:
        return None
    doc = section.to_dict() if hasattr(section, "to_dict") else section
    title = "What the failing connections share"
    if not doc["rows"]:
        return SectionTable(title, f"Nothing to contrast: {doc['reason']}.", [], [])
    lead = f"{doc['failing']} failing vs {doc['healthy']} healthy connections."
    rows = [
        [r["attribute"], r["value"],
         f"{r['failing_count']}/{doc['failing']} ({r['failing_share']:.0%})",
         f"{r['healthy_count']}/{doc['healthy']} ({r['healthy_share']:.0%})"]
        for r in doc["rows"][:MAX_ROWS]
    ]
    return SectionTable(title, lead, ["Attribute", "Value", "Failing", "Healthy"], rows,
                        frozenset({2, 3}))


def patterns_table(report: Report) -> SectionTable | None:
    section = report.sections.get("patterns")
    if section is None:
        return None
    doc = section.to_dict() if hasattr(section, "to_dict") else section
    title = "Patterns no rule explains"
    lead = (f"{doc['lines']} lines no rule matched, in {doc['templates']} templates "
            "(WARNING and above first).")
    rows = [[t["max_severity"], str(t["count"]), t["template"], t["example_provenance"]]
            for t in doc["top"][:MAX_ROWS]]
    return SectionTable(title, lead, ["Severity", "Count", "Template", "Example at"], rows,
                        frozenset({1}))
