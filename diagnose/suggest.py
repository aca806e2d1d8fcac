"""Nearest supported message type(s) for an unknown one, for the fix hint.

Types are compared as token sets (so `agent_execute` and `execute_agent` are the same request) with
verbs folded to a canonical one (`execute`/`run`/`invoke` → `start`), then by edit distance. Types
seen routed successfully in the same logs win ties: they are what working clients actually send.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Verbs clients use for "begin an agent run"; the router's own word is `start`.
VERB_SYNONYMS = {
    "execute": "start", "exec": "start", "run": "start", "invoke": "start", "launch": "start",
    "trigger": "start", "begin": "start", "create": "start", "spawn": "start", "kickoff": "start",
    "msg": "message", "messages": "message", "agents": "agent",
}
# Client types that are not requests (server events echoed back, pings) make poor suggestions.
NOT_REQUESTS = {"agent_started", "agent_completed", "agent_thinking", "tool_executing",
                "tool_completed", "pong", "heartbeat_ack", "ack", "error", "error_message"}


def tokens(message_type: str) -> frozenset[str]:
    parts = re.split(r"[_\-.\s]+|(?<=[a-z])(?=[A-Z])", message_type.strip())
    return frozenset(VERB_SYNONYMS.get(p.lower(), p.lower()) for p in parts if p)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (small strings only: message types)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def nearest_types(
    unknown: str, known: Iterable[str], seen_routed: Iterable[str] = (), limit: int = 2
) -> list[str]:
    """The best `limit` candidates, best first; empty when nothing is reasonably close."""
    seen = set(seen_routed)
    want = tokens(unknown)
    scored = []
    for candidate in dict.fromkeys([*known, *seen]):
        if candidate == unknown or candidate in NOT_REQUESTS:
            continue
        have = tokens(candidate)
        overlap = len(want & have) / len(want | have) if want | have else 0.0
        distance = edit_distance(unknown.lower(), candidate.lower())
        closeness = 1 - distance / max(len(unknown), len(candidate), 1)
        if overlap == 0 and closeness < 0.6:
            continue
        score = 2.0 * overlap + 0.5 * closeness + (0.5 if candidate in seen else 0.0)
        scored.append((-score, distance, candidate))
    scored.sort()
    if not scored:
        return []
    best = -scored[0][0]
    return [c for s, _, c in scored[:limit] if -s >= best - 0.35]
