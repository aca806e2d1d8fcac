"""Cohort contrast: the attribute=value that sets failing connections apart is ranked first."""

from __future__ import annotations

import io
import json
import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from diagnose.contrast import contrast, id_shape
from diagnose.model import Connection
from diagnose.report import ConnectionOutcome

T0 = datetime(2025, 9, 8, 23, 49, tzinfo=UTC)


def outcome(conn: str, result: str, types: list[str], *, user: str | None = None,
            instance: str = "i-1", minute: int = 0) -> ConnectionOutcome:
    first = T0 + timedelta(minutes=minute)
    return ConnectionOutcome(
        connection=conn, outcome=result, first_seen=first, last_seen=first + timedelta(seconds=9),
        events=4, message_types=types, lifecycle=[], client_timeouts=0, instance=instance,
        user=user or conn,
    )


def cohort() -> list[ConnectionOutcome]:
    """5 failures, all sending execute_agent; 6 healthy sending start_agent; one still running.

    Client shapes and instances are spread over both cohorts so only the message type stands out.
    """
    failing = [
        outcome("e2e-staging-49066fc8", "routing_failure", ["execute_agent"], instance="i-1"),
        outcome("e2e-staging-1a2b3c4d", "routing_failure", ["execute_agent", "ping"]),
        outcome("e2e-staging-00ff00ff", "routing_failure", ["execute_agent"], instance="i-2"),
        outcome("staging-e2e-user-001", "client_timeout_unexplained", ["execute_agent"]),
        outcome("staging-e2e-user-002", "routing_failure", ["execute_agent"], instance="i-2"),
    ]
    healthy = [
        outcome("e2e-staging-aa11bb22", "healthy", ["start_agent"]),
        outcome("e2e-staging-cc33dd44", "healthy", ["start_agent", "ping"], instance="i-2"),
        outcome("e2e-staging-ee55ff66", "healthy", ["start_agent"]),
        outcome("staging-e2e-user-003", "healthy", ["start_agent"], instance="i-2"),
        outcome("staging-e2e-user-001", "healthy", ["start_agent", "ping"]),
        outcome("staging-e2e-user-002", "healthy", ["user_message"], instance="i-2"),
    ]
    running = [outcome("e2e-staging-12121212", "in_progress", ["execute_agent"])]
    return failing + healthy + running


def test_the_one_message_type_all_failures_sent_is_ranked_first_with_exact_figures():
    result = contrast(cohort())

    assert (result.failing, result.healthy, result.excluded) == (5, 6, 1)
    top = result.rows[0]
    assert (top.attribute, top.value) == ("message_type", "execute_agent")
    assert (top.failing_count, top.failing_share) == (5, 1.0)
    assert (top.healthy_count, top.healthy_share) == (0, 0.0)
    assert math.isinf(top.lift)
    assert result.reason is None


def test_values_shared_evenly_or_rarer_among_failures_are_not_listed():
    result = contrast(cohort())
    listed = {(r.attribute, r.value) for r in result.rows}

    assert ("message_type", "start_agent") not in listed  # only healthy connections sent it
    assert ("hour_utc", "2025-09-08T23:00Z") not in listed  # everyone is in that hour
    assert ("message_type", "ping") not in listed  # 1/5 failing vs 2/6 healthy
    assert all(r.failing_count >= 2 and r.failing_share > r.healthy_share for r in result.rows)


def test_min_count_hides_values_seen_on_a_single_failing_connection():
    outcomes = cohort() + [outcome("ws_x_1757375362_5e6f7a8b", "routing_failure", ["rare_type"])]

    assert "rare_type" not in {r.value for r in contrast(outcomes).rows}
    assert "rare_type" in {r.value for r in contrast(outcomes, min_count=1).rows}


def test_ties_are_broken_by_attribute_then_value_whatever_the_input_order():
    """A revision only failures ran on ties with the message type; the order must not flicker."""
    outcomes = cohort()
    connections = {
        o.connection: Connection(key=o.connection, ids={"revision": {rev}})
        for o in outcomes
        for rev in [
            "netra-backend-staging-00704-ds8" if o.outcome != "healthy"
            else "netra-backend-staging-00697-gp6"
        ]
    }
    expected = contrast(outcomes, connections).rows

    assert [(r.attribute, r.value) for r in expected[:2]] == [
        ("message_type", "execute_agent"),
        ("revision", "netra-backend-staging-00704-ds8"),
    ]
    for seed in range(5):
        shuffled = outcomes[:]
        random.Random(seed).shuffle(shuffled)
        assert contrast(shuffled, connections).rows == expected


def test_a_connection_key_that_recurs_is_counted_once_per_session():
    """The e2e suite reuses staging-e2e-user-00N: each session is its own row."""
    outcomes = [outcome("staging-e2e-user-001", "routing_failure", ["execute_agent"])] * 3 + [
        outcome("staging-e2e-user-001", "healthy", ["start_agent"])
    ]
    top = contrast(outcomes).rows[0]
    assert (top.value, top.failing_count, top.failing_share) == ("execute_agent", 3, 1.0)


def test_a_type_no_healthy_client_sent_outranks_a_slightly_busier_instance():
    """Seen on a generated export: 4/14 failing vs 2/19 healthy on one instance (difference 0.18)
    must not outrank 2/14 vs 0/19 for an unknown type (difference 0.14): z 1.33 vs 1.70."""
    failing = [
        outcome(f"c-{i:04d}", "lifecycle_incomplete", ["start_agent"],
                instance="i-busy" if i < 4 else f"i-{i}")
        for i in range(12)
    ] + [outcome(f"c-9{i:03d}", "routing_failure", ["agent_execute"], instance=f"i-x{i}")
         for i in range(2)]
    healthy = [
        outcome(f"c-5{i:03d}", "healthy", ["start_agent"], instance="i-busy" if i < 2 else f"i-{i}")
        for i in range(19)
    ]

    rows = contrast(failing + healthy).rows

    assert [(r.value, r.failing_count, r.healthy_count) for r in rows[:2]] == [
        ("agent_execute", 2, 0), ("i-busy", 4, 2)
    ]
    assert rows[0].difference < rows[1].difference and rows[0].score > rows[1].score


def test_top_limits_the_number_of_rows():
    assert len(contrast(cohort(), min_count=1, top=1).rows) == 1


def test_to_dict_is_json_ready_with_infinite_lift_as_null():
    data = json.loads(json.dumps(contrast(cohort()).to_dict()))

    assert data["failing"] == 5 and data["healthy"] == 6 and data["excluded"] == 1
    first = data["rows"][0]
    assert first == {
        "attribute": "message_type", "value": "execute_agent", "failing_count": 5,
        "failing_share": 1.0, "healthy_count": 0, "healthy_share": 0.0, "lift": None,
        "difference": 1.0, "score": 3.317,
    }


def test_finite_lift_is_the_ratio_of_shares():
    outcomes = [
        outcome("a-1001", "routing_failure", ["chat"]),
        outcome("a-1002", "routing_failure", ["chat"]),
        outcome("a-1003", "routing_failure", ["start_agent"]),
        outcome("a-1004", "routing_failure", ["start_agent"]),
        outcome("a-1005", "healthy", ["chat"]),
        outcome("a-1006", "healthy", ["start_agent"]),
        outcome("a-1007", "healthy", ["start_agent"]),
        outcome("a-1008", "healthy", ["start_agent"]),
    ]
    row = next(r for r in contrast(outcomes, min_score=0).rows if r.value == "chat")

    assert (row.failing_share, row.healthy_share) == (0.5, 0.25)
    assert row.lift == pytest.approx(2.0)
    assert row.score == pytest.approx(0.7303, abs=1e-4)
    # 2 of 4 against 1 of 4 is what chance gives: by default it is not listed, and we say why
    default = contrast(outcomes)
    assert default.rows == []
    assert "no attribute value is clearly over-represented" in default.reason


@pytest.mark.parametrize(
    ("results", "reason"),
    [
        (["healthy", "healthy", "in_progress"], "no failing connections"),
        (["routing_failure", "execution_timeout"], "no healthy connections"),
    ],
)
def test_one_sided_cohorts_give_an_empty_result_with_a_reason(results, reason):
    outcomes = [outcome(f"c-{i:03d}", r, ["start_agent"]) for i, r in enumerate(results)]

    result = contrast(outcomes)

    assert result.rows == []
    assert reason in result.reason


def test_no_input_at_all_is_not_an_error():
    result = contrast([])
    assert (result.rows, result.failing, result.healthy) == ([], 0, 0)
    assert result.reason


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        ("e2e-staging-49066fc8", "e2e-staging-<hex>"),
        ("e2e-staging-12345678", "e2e-staging-<hex>"),  # random hex can be all digits
        ("staging-e2e-user-001", "staging-e2e-user-<n>"),
        ("108234567890123456789", "<numeric>"),
        ("ws_e2e-stag_1757375362_49066fc8", "ws_e2e-stag_<hex>_<hex>"),
        ("cb42b7f2-9135-4d0b-9704-2db7872c23f0", "<uuid>"),
        ("alice@example.com", "<user>@example.com"),
        (None, "<none>"),
    ],
)
def test_id_shapes_group_ids_of_one_client_family(value, shape):
    assert id_shape(value) == shape


def render(renderable) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_terminal_table_shows_counts_shares_and_keeps_log_text_literal():
    outcomes = cohort() + [
        outcome(f"x-{i:04d}", "routing_failure", ["[bold red]evil\x1b[2J"]) for i in range(2)
    ]

    text = render(contrast(outcomes))

    assert "What the failing connections share (7 failing vs 6 healthy)" in text
    assert "execute_agent" in text and "5/7 (71%)" in text and "only failing" in text
    assert "[bold red]evil" in text and "\x1b" not in text


def test_terminal_says_why_when_there_is_nothing_to_contrast():
    assert "no healthy connections" in render(contrast(cohort()[:5]))
