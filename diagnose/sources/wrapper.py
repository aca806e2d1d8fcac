"""JSON documents that wrap LogEntry lists under some key (team scripts, log-gardener dumps).

`{"fetch_time": …, "raw_logs": [entries]}` or `{"logs_by_severity": {"ERROR": [entries]}}`: the
entries may sit under any key, at any (bounded) depth. Only lists of LogEntry objects are records;
the other keys (counts, fetch times, analyses) are not.
"""

from __future__ import annotations

from .logentry import is_log_entry

MAX_DEPTH = 8  # a wrapper nests its lists a few levels down at most
MAX_NODES = 100_000  # containers visited per document: the walk is bounded whatever the input


def wrapped_entries(obj: object) -> list[dict] | None:
    """Every entry of every LogEntry list inside a non-entry object (or a list, e.g. one page
    of an array of pages), in document order.

    None when `obj` is not such a wrapper (an entry itself, or no entry list inside).
    """
    if not isinstance(obj, dict | list) or isinstance(obj, dict) and is_log_entry(obj):
        return None
    found: list[dict] = []
    budget = [MAX_NODES]
    _walk(obj, 0, found, budget)
    return found or None


def _walk(node: object, depth: int, found: list[dict], budget: list[int]) -> None:
    if depth > MAX_DEPTH or budget[0] <= 0:
        return
    budget[0] -= 1
    if isinstance(node, dict):
        for value in node.values():
            if isinstance(value, dict | list):
                _walk(value, depth + 1, found, budget)
    elif isinstance(node, list):
        if _is_entry_list(node):
            found.extend(e for e in node if isinstance(e, dict))
            return
        for value in node:
            if isinstance(value, dict | list):
                _walk(value, depth + 1, found, budget)


def _is_entry_list(items: list) -> bool:
    """Most of its objects are LogEntries (a stray summary object among them is still read)."""
    dicts = [e for e in items if isinstance(e, dict)]
    entries = sum(1 for e in dicts if is_log_entry(e))
    return bool(entries) and entries * 2 >= len(dicts)
