"""Issue #16: memory bounded however many connections, with exact counts and an honest sample.

The caps are lowered here so a few hundred connections cross them: the outcome rows spill to disk
past `IN_MEMORY`, the report lists `REPORT_ROWS` rows (failures first) and says so, a finding
names `MAX_LISTED_CONNECTIONS` ids and counts them all. Every answer must equal the uncapped one.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

import diagnose.assemble as assemble
import diagnose.outcomes as outcomes
from diagnose.exit_codes import ExitCode
from diagnose.hashset import CountingHashSet
from diagnose.outcomes import OutcomeStore
from diagnose.report import ConnectionOutcome

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
ROUTES = "netra_backend.app.routes.websocket"
ROUTER = "netra_backend.app.websocket_core.handlers"


def _stamp(ms: int) -> str:
    sec, frac = divmod(ms, 1000)
    return f"2026-12-01 10:{sec // 60:02d}:{sec % 60:02d}.{frac:03d}"


def many_connections(path: Path, n: int, fail_every: int) -> dict[str, int]:
    """`n` connections a second apart; every `fail_every`-th sends an unknown type."""
    lines = []
    failing = 0
    for k in range(n):
        ms, user = k * 1000, f"user_{k:05d}"
        if k % fail_every == 0:
            failing += 1
            mtype = ("execute_agent", "agent_execute")[(k // fail_every) % 2]
            lines += [
                f"{_stamp(ms)} | INFO     | {ROUTES}:_handle_websocket_messages:1014 - Routing "
                f"message type '{mtype}' from {user}: {{'type': '{mtype}'}}",
                f"{_stamp(ms + 1)} | INFO     | {ROUTER}:route_message:939 - MessageRouter "
                f"detected unknown message type: {mtype}",
                f"{_stamp(ms + 2)} | INFO     | {ROUTER}:_send_unknown_message_ack:1021 - Sending "
                f"ack for unknown message type '{mtype}' from {user}",
            ]
        else:
            lines += [
                f"{_stamp(ms)} | INFO     | {ROUTES}:websocket_endpoint:745 - Registered "
                f"connection with isolated manager: ws_{k:05d}",
                f"{_stamp(ms + 500)} | INFO     | {ROUTES}:_handle_websocket_messages:1094 - "
                f"Exiting message handling loop for connection: ws_{k:05d} | Duration: 0.5s | "
                f"Messages processed: 1 | Errors: 0 | User: {user}",
            ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"routing_failure": failing, "healthy": n - failing}


@pytest.fixture(scope="module")
def crowd(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("crowd") / "crowd.log"
    return path, many_connections(path, 300, fail_every=10)


def _json(run_cli, *args) -> dict:
    result = run_cli("analyze", *args, "--format", "json")
    assert result.code == ExitCode.FINDINGS, result.err
    return json.loads(result.out)


def _caps(monkeypatch, *, in_memory: int, rows: int, listed: int) -> None:
    monkeypatch.setattr(outcomes, "IN_MEMORY", in_memory)
    monkeypatch.setattr(outcomes, "REPORT_ROWS", rows)
    monkeypatch.setattr(assemble, "MAX_LISTED_CONNECTIONS", listed)


def test_past_the_caps_counts_stay_exact_and_the_report_says_it_lists_a_sample(
        run_cli, monkeypatch, crowd):
    path, truth = crowd
    full = _json(run_cli, path)
    assert full["outcome_counts"] == truth
    assert (full["connections_total"], full["outcomes_truncated"]) == (300, False)
    assert len(full["outcomes"]) == 300

    _caps(monkeypatch, in_memory=7, rows=40, listed=5)
    capped = _json(run_cli, path)
    assert capped["outcome_counts"] == truth
    assert (capped["connections_total"], capped["outcomes_truncated"]) == (300, True)
    assert len(capped["outcomes"]) == 40
    # the most important rows: all 30 failures, then the 10 earliest healthy connections
    assert [o["outcome"] for o in capped["outcomes"]].count("routing_failure") == 30
    healthy = [o["connection"] for o in capped["outcomes"] if o["outcome"] == "healthy"]
    assert healthy == [f"user_{k:05d}" for k in range(300) if k % 10][:10]
    assert any("lists the 40 most important" in w for w in capped["stats"]["warnings"])
    by_print = {f["fingerprint"]: f for f in full["findings"]}
    for finding in capped["findings"]:
        whole = by_print[finding["fingerprint"]]
        assert finding["connection_count"] == whole["connection_count"] == 15
        assert finding["connections"] == whole["connections"][:5]  # the first ids, sorted
    assert capped["verdict"] == full["verdict"]
    assert capped["contrast"] == full["contrast"]


def test_terminal_and_markdown_count_every_connection_past_the_caps(run_cli, monkeypatch, crowd):
    path, _ = crowd
    _caps(monkeypatch, in_memory=7, rows=40, listed=5)
    text = run_cli("analyze", path).out
    assert "Connections (300): " in text
    assert "user_00060, user_00080 (+10 more)" in text  # five ids listed of 15
    markdown = run_cli("analyze", path, "--format", "markdown").out
    assert "300 connection(s): " in markdown
    assert "- Connections (15): " in markdown


@pytest.mark.parametrize("sample", ["crash-loop-hour.json", "auth-rejection-hour.jsonl",
                                    "staging-hour.jsonl.gz"])
def test_spilled_outcome_rows_give_the_same_report(run_cli, monkeypatch, sample):
    """Wider causes re-label rows and fold id-less connections in the pass over the spill: the
    report must not change whether the rows waited in memory or on disk."""
    whole = _json(run_cli, SAMPLES / sample)
    monkeypatch.setattr(outcomes, "IN_MEMORY", 2)
    spilled = _json(run_cli, SAMPLES / sample)
    for doc in (whole, spilled):
        doc["provenance"].pop("elapsed_seconds", None)
    assert spilled == whole


def test_outcome_spill_file_is_gone_after_the_rows_are_read(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    store = OutcomeStore(in_memory=3)
    rows = [ConnectionOutcome(f"c{k}", "healthy", None, None, 1, [], [], 0) for k in range(2500)]
    for row in rows:
        store.add(row, [])
    assert list(tmp_path.iterdir()), "past the in-memory rows nothing was spilled"
    assert [row.connection for row, _ in store.drain()] == [r.connection for r in rows]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("small", [0, 50, 100_000])  # the dict, the table, and the move
def test_counting_hash_set_counts_uses_through_growth(small):
    seen = CountingHashSet(capacity=4, small=small)
    assert [seen.add(f"user_{k}") for k in range(30)] == [1] * 30
    assert [seen.add("user_7"), seen.add("user_7")] == [2, 3]
    assert [seen.add(f"user_{k}") for k in range(10_000)][25:35] == [2] * 5 + [1] * 5
    assert len(seen) == 10_000
    assert [seen.add("user_7"), seen.add(("id", 3)), seen.add(("id", 3))] == [5, 1, 2]


def test_counting_hash_set_grows_a_small_segment_at_a_time():
    """One table doubling held old and new at once (48 MB at two million members); the
    segments share the members evenly, so a doubling holds one small segment twice."""
    from diagnose.hashset import SEGMENTS

    seen = CountingHashSet(small=0)
    for k in range(300_000):
        seen.add(k * 7919)  # ints hash to themselves: spread, or one segment takes them all
    assert len(seen) == 300_000
    sizes = [len(segment) for segment in seen._segments]
    assert len(sizes) == SEGMENTS
    assert sum(seen._filled) == 300_000
    for size, filled in zip(sizes, seen._filled, strict=True):
        assert 3 * size <= 8 * filled <= 6 * size  # between 3/8 and 3/4 full
    assert max(sizes) <= sum(sizes) / 16


def test_unknown_type_table_counts_connections_the_rows_leave_out(run_cli, monkeypatch, crowd):
    path, _ = crowd
    _caps(monkeypatch, in_memory=7, rows=4, listed=5)  # fewer rows than failing connections
    text = run_cli("analyze", path).out
    table = text[text.index("Top unknown message types"):text.index("Connections (300)")]
    assert table.count(" 15 │") == 2, table


def test_wider_scope_windows_do_not_hold_connections_open():
    """A crash loop counted over 10 minutes is judged as events stream by; holding every
    connection 20 minutes for it made memory 4× larger at a busy hour."""
    from datetime import timedelta

    from diagnose.classify import Vocabulary
    from diagnose.pipeline import _release_after
    from diagnose.rulepack import load_rule_packs

    ruleset = load_rule_packs()
    widest = max(r.when.window_seconds for r in ruleset.finding_rules)
    assert widest == 600  # the pack does have 10-minute wider-scope rules
    assert _release_after(Vocabulary.of(ruleset)) == timedelta(minutes=5)


def _event(second: int, conn: str):
    from datetime import UTC, datetime, timedelta

    from diagnose.model import Event

    ts = datetime(2026, 12, 1, 10, tzinfo=UTC) + timedelta(seconds=second)
    return Event("ws.registered", ts, {"connection": conn}, {}, f"x.log:{second}", "r")


def test_a_timeline_touched_again_outlives_one_opened_after_it():
    """Expired timelines are read from the front of the live set, so a touch must move a
    timeline to its back: `a` opened first but was active at 4 min, `b` only at 1 s."""
    from datetime import timedelta

    from diagnose.correlate import Correlator

    correlator = Correlator(timedelta(minutes=5))
    for event in (_event(0, "a"), _event(1, "b"), _event(240, "a")):
        assert list(correlator.feed(event)) == []
    released = list(correlator.feed(_event(400, "c")))
    assert [conn.key for conn in released] == ["b"]
    assert [conn.key for conn in correlator.finish()] == ["a", "c"]


def test_an_analysis_leaves_the_callers_collector_settings_as_they_were(crowd):
    """The analysis collects garbage less often while it runs (gcpolicy.py), and only then."""
    import gc

    import diagnose

    before = gc.get_threshold()
    gc.set_threshold(900, 11, 12)
    try:
        diagnose.analyze([str(crowd[0])])
        assert gc.get_threshold() == (900, 11, 12)
        assert gc.get_freeze_count() == 0  # what it froze for its length is collectable again
    finally:
        gc.set_threshold(*before)


def test_an_analysis_freezes_what_exists_and_leaves_a_callers_freeze_alone(crowd, monkeypatch):
    import gc

    import diagnose

    frozen_during = []
    real_follow = diagnose.pipeline._follow

    def watched(*args, **kwargs):
        frozen_during.append(gc.get_freeze_count())
        return real_follow(*args, **kwargs)

    monkeypatch.setattr(diagnose.pipeline, "_follow", watched)
    diagnose.analyze([str(crowd[0])])
    assert frozen_during[0] > 10_000 and gc.get_freeze_count() == 0
    gc.freeze()
    try:
        mine = gc.get_freeze_count()
        diagnose.analyze([str(crowd[0])])
        assert gc.get_freeze_count() > 0.9 * mine  # not unfrozen (some were freed meanwhile)
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("sample", ["auth-rejection-hour.jsonl", "staging-hour.jsonl.gz",
                                    "loguru-text.log", "incident-execute-agent"])
def test_packing_idle_timelines_gives_the_same_report(run_cli, monkeypatch, sample):
    """Past PACK_ABOVE live timelines the idle ones wait pickled; lowered to nothing here, every
    timeline idle at a sweep is packed, and merges, placements and releases must unpack it."""
    from datetime import timedelta

    import diagnose.correlate as correlate

    whole = _json(run_cli, SAMPLES / sample)
    packs = []
    pack = correlate.Connection.pack

    def counting_pack(conn):
        packs.append(conn.packed is None)
        pack(conn)

    monkeypatch.setattr(correlate, "PACK_ABOVE", 0)
    monkeypatch.setattr(correlate, "PACK_IDLE", timedelta(0))
    monkeypatch.setattr(correlate.Connection, "pack", counting_pack)
    packed = _json(run_cli, SAMPLES / sample)
    for doc in (whole, packed):
        doc["provenance"].pop("elapsed_seconds", None)
    assert packed == whole
    assert any(packs)  # timelines were packed


def test_a_packed_timeline_unpacks_to_the_same_events_and_ids():
    from diagnose.model import Connection

    events = [_event(1, "a"), _event(9, "a")]
    conn = Connection("a", list(events), {"connection": {"a"}})
    conn.pack()
    assert (conn.events, conn.ids, conn.first_seen, conn.last_seen) == (
        [], {}, events[0].ts, events[1].ts)
    assert conn.unpack() is conn
    assert (conn.events, conn.ids, conn.packed) == (events, {"connection": {"a"}}, None)
