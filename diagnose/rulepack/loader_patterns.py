"""Tables of name → regex in rule files (`ignore_ids`, `[when.attrs]`), compiled like patterns."""

from __future__ import annotations

from .issues import IssueLog
from .regex_safety import compile_checked


def compile_table(table: dict[str, str], key: str, log: IssueLog) -> dict:
    """Each regex compiled with the same safety checks as rule patterns; problems to `log`."""
    compiled = {}
    for name, pattern in table.items():
        regex, problem = compile_checked(pattern)
        if problem:
            log(f"{key}/{name}", problem)
        else:
            compiled[name] = regex
    return compiled
