"""The fix hint names the type a working client would have sent."""

import pytest

from diagnose.suggest import edit_distance, nearest_types, tokens

KNOWN = ["ping", "user_message", "chat", "message", "agent_request", "start_agent",
         "agent_status", "agent_status_request", "thread", "thread_update", "agent_started"]


@pytest.mark.parametrize(
    ("unknown", "expected"),
    [
        ("execute_agent", ["start_agent"]),
        ("agent_execute", ["start_agent"]),  # one permutation apart: same suggestion
        ("EXECUTE_AGENT", ["start_agent"]),
        ("executeAgent", ["start_agent"]),
        ("run_agent", ["start_agent"]),
        ("get_agent_status", ["agent_status"]),
        ("get_thread", ["thread"]),
    ],
)
def test_nearest_type(unknown, expected):
    assert nearest_types(unknown, KNOWN)[: len(expected)] == expected


def test_nothing_close_gives_no_suggestion():
    assert nearest_types("xyzzy", KNOWN) == []


def test_server_events_are_never_suggested_as_requests():
    assert "agent_started" not in nearest_types("agent_start", KNOWN, limit=5)


def test_types_seen_routed_win_ties():
    assert nearest_types("chat_message", KNOWN, seen_routed=["user_message"])[0] == "user_message"


def test_tokens_fold_verbs_and_case():
    assert tokens("Execute-Agent") == tokens("agent_start") == frozenset({"start", "agent"})
    assert edit_distance("kitten", "sitting") == 3
