"""Pipeline properties that no single sample pins: ordering, spilling, sticky client ids."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from diagnose.model import Event
from diagnose.ordering import OutOfOrder, SortedRuns, read_ahead


def time_ordered(events, run_size: int | None = None) -> list[Event]:
    """`events` through SortedRuns, as the pipeline sorts an input found out of order."""
    runs = SortedRuns(run_size)
    try:
        for event in events:
            runs.add(event)
        return list(runs.ordered())
    finally:
        runs.discard()


def _event(i: int, seconds: int) -> Event:
    ts = datetime(2025, 9, 8, tzinfo=UTC) + timedelta(seconds=seconds)
    return Event("client.timeout", ts, {}, {}, f"f.log:{i}", "r")


def test_spilled_runs_merge_into_the_same_order_as_an_in_memory_sort():
    events = [_event(i, random.Random(i).randrange(50)) for i in range(1, 400)]
    merged = list(time_ordered(iter(events), run_size=37))  # 11 runs on disk
    assert [e.provenance for e in merged] == [
        e.provenance for e in sorted(events, key=Event.sort_key)
    ]


def test_events_already_in_time_order_are_read_back_run_after_run(monkeypatch):
    import diagnose.ordering as ordering

    def no_merge(*_runs, **_kw):
        raise AssertionError("runs in order need no merge")

    monkeypatch.setattr(ordering.heapq, "merge", no_merge)
    events = [_event(i, i // 3) for i in range(1, 300)]  # three lines a second, in order
    merged = list(time_ordered(iter(events), run_size=37))
    assert [e.provenance for e in merged] == [e.provenance for e in events]


def test_equal_keys_keep_their_input_order_across_runs_merged_or_not():
    def tie(rule: str) -> Event:  # one record, one kind, several rules: the same sort key
        return Event("client.timeout", _event(1, 5).ts, {}, {}, "f.log:9", rule)

    in_order = [tie("a"), tie("b"), tie("c"), tie("d"), tie("e")]
    assert [e.rule_id for e in time_ordered(in_order, run_size=2)] == list("abcde")
    earlier = _event(2, 0)  # out of order: the runs overlap and are merged
    merged = list(time_ordered([tie("a"), tie("b"), tie("c"), earlier], run_size=2))
    assert [e.rule_id for e in merged] == ["r", "a", "b", "c"]


def test_same_instant_lines_keep_their_file_order():
    # line 4 before line 11 at the same time stamp (a string sort would put 11 first)
    merged = list(time_ordered([_event(11, 0), _event(4, 0)]))
    assert [e.provenance for e in merged] == ["f.log:4", "f.log:11"]


def test_reading_ahead_gives_the_stable_sort_of_a_stream_that_comes_nearly_in_order():
    rng = random.Random(5)
    events = []
    for i in range(1, 2000):  # each within a few places of its own, ties of time and of key
        events.append(_event(i, i // 4 + rng.choice([0, 0, 0, 1, -1, 2])))
        if i % 50 == 0:
            events.append(Event("client.timeout", events[-1].ts, {}, {}, events[-1].provenance,
                                "twin"))
    keep = SortedRuns(run_size=300)
    try:
        ahead = list(read_ahead(iter(events), keep, window=16))
    finally:
        keep.discard()
    assert [id(e) for e in ahead] == [id(e) for e in sorted(events, key=Event.sort_key)]
    assert ahead != events  # the stream was not in order: the window sorted it


def test_reading_ahead_gives_up_on_an_event_behind_what_it_let_through():
    events = [_event(i, i) for i in range(1, 21)] + [_event(99, 3)]
    keep = SortedRuns(run_size=7)
    ahead = []
    try:
        with pytest.raises(OutOfOrder):
            ahead.extend(read_ahead(iter(events), keep, window=4))
        assert 10 < len(ahead) <= 16 and ahead == events[:len(ahead)]
        everything = list(keep.ordered())  # what the caller starts over on: all, sorted
    finally:
        keep.discard()
    assert [e.provenance for e in everything] == [
        e.provenance for e in sorted(events, key=Event.sort_key)]  # read back from disk


def _entry(n: int, seconds: int, message: str) -> dict:
    ts = datetime(2025, 9, 8, 23, 0, tzinfo=UTC) + timedelta(seconds=seconds)
    return {"insertId": f"c{n}", "timestamp": ts.isoformat().replace("+00:00", "Z"),
            "severity": "INFO", "jsonPayload": {"message": message},
            "resource": {"type": "cloud_run_job", "labels": {"job_name": "e2e"}}}


def test_client_timeouts_in_a_newest_first_export_go_to_the_user_named_before_them(
        run_cli, tmp_path):
    entries = [
        _entry(1, 0, "[FALLBACK] User ID: e2e-staging-aaaa1111"),
        _entry(2, 10, "Timeout waiting for events after 10.0s"),
        _entry(3, 20, "[FALLBACK] User ID: e2e-staging-bbbb2222"),
        _entry(4, 30, "Timeout waiting for events after 10.0s"),
    ]
    export = tmp_path / "client.json"
    export.write_text(json.dumps(entries[::-1], indent=2))  # gcloud prints newest first
    doc = json.loads(run_cli("analyze", export, "-f", "json").out)
    timeouts = {o["connection"]: o["client_timeouts"] for o in doc["outcomes"]}
    assert timeouts == {"e2e-staging-aaaa1111": 1, "e2e-staging-bbbb2222": 1}


def _late_line_entries() -> list[dict]:
    """A client log in time order but for its last line, from 5 s, which names the user the
    10 s timeout belongs to (the user named at 0 s gets it while the file is followed)."""
    return [
        _entry(1, 0, "[FALLBACK] User ID: e2e-staging-aaaa1111"),
        _entry(2, 10, "Timeout waiting for events after 10.0s"),
        _entry(3, 20, "[FALLBACK] User ID: e2e-staging-bbbb2222"),
        _entry(4, 30, "Timeout waiting for events after 10.0s"),
        _entry(5, 5, "[FALLBACK] User ID: e2e-staging-cccc3333"),
    ]


@pytest.mark.parametrize("files, head", [(1, 2), (1, 100), (2, 2)])
def test_an_input_found_out_of_order_late_is_judged_as_the_full_sort_judges_it(
        run_cli, tmp_path, monkeypatch, files, head):
    # Followed while read (a window of one event), the 10 s timeout is first given to the user
    # named at 0 s; then a line from 5 s arrives and the analysis starts over on the full sort,
    # where the timeout belongs to the user named at 5 s. One file is sorted from its first
    # events kept and the rest, or, found out past them, read again (by workers: the first
    # read's are stopped); two files are sorted from all the events kept. The first pass must
    # not have left its sticky ids on the event.
    import diagnose.ordering as ordering
    import diagnose.pipeline as pipeline

    monkeypatch.setattr(ordering, "WINDOW", 1)
    monkeypatch.setattr(ordering, "HEAD", head)
    reads = []
    real_read = pipeline.read_records

    def counted(*args, **kwargs):
        reads.append(True)
        return real_read(*args, **kwargs)

    monkeypatch.setattr("diagnose.pipeline.read_records", counted)
    monkeypatch.setattr("diagnose.sources.parallel.MIN_SIZE", 0)
    entries = _late_line_entries()
    parts = [entries] if files == 1 else [entries[:4], entries[4:]]
    paths = []
    for n, part in enumerate(parts):
        paths.append(tmp_path / f"late{n}.jsonl")
        paths[-1].write_text("".join(json.dumps(e) + "\n" for e in part))
    gave_up = []
    real = ordering.read_ahead

    def watched(*args, **kwargs):
        try:
            yield from real(*args, **kwargs)
        except OutOfOrder:
            gave_up.append(True)
            raise

    monkeypatch.setattr("diagnose.pipeline.read_ahead", watched)
    doc = json.loads(run_cli("analyze", *paths, "-f", "json").out)
    assert gave_up == [True]
    assert len(reads) == (2 if (files, head) == (1, 2) else 1)
    timeouts = {o["connection"]: o["client_timeouts"] for o in doc["outcomes"]}
    if files == 1:
        assert timeouts == {"e2e-staging-aaaa1111": 0, "e2e-staging-cccc3333": 1,
                            "e2e-staging-bbbb2222": 1}
    else:  # a user named in one file is not sticky in another (each its own client's log)
        assert timeouts == {"e2e-staging-aaaa1111": 1, "e2e-staging-cccc3333": 0,
                            "e2e-staging-bbbb2222": 1}
    monkeypatch.setattr(ordering, "WINDOW", 100)  # all held, then let through sorted
    reference = json.loads(run_cli("analyze", *paths, "-f", "json").out)
    assert gave_up == [True]  # not given up this time
    assert doc["outcomes"] == reference["outcomes"] and doc["findings"] == reference["findings"]
    assert doc["stats"] == reference["stats"]  # the records of the first read are not counted


def test_a_stream_found_out_of_order_late_is_sorted_from_the_events_kept(monkeypatch):
    # stdin cannot be read again: its events were kept as they were followed, and the first
    # pass must not have changed them (the 10 s timeout it gave to the user named at 0 s)
    import io

    import diagnose.ordering as ordering
    from diagnose.pipeline import analyze
    from diagnose.rulepack import load_rule_packs

    entries = _late_line_entries()
    data = "".join(json.dumps(e) + "\n" for e in entries).encode()
    outcomes = {}
    for window in (1, 100):  # given up after 4 events; all held, then let through sorted
        monkeypatch.setattr(ordering, "WINDOW", window)
        report = analyze(["-"], load_rule_packs(), stdin=io.BytesIO(data))
        outcomes[window] = [(o.connection, o.outcome, o.client_timeouts) for o in report.outcomes]
    assert outcomes[1] == outcomes[100]
    assert {c: n for c, _, n in outcomes[1]} == {
        "e2e-staging-aaaa1111": 0, "e2e-staging-cccc3333": 1, "e2e-staging-bbbb2222": 1}


def test_the_backends_own_startup_probes_are_not_connections(run_cli, tmp_path):
    # The core pack's ignore_ids: user ids `startup_test_…` are the backend probing itself.
    sample = Path(__file__).parent.parent / "samples" / "loguru-text.log"
    text = sample.read_text()
    assert text.count("101463487227881885914") == 7
    probe = tmp_path / "probe.log"
    probe.write_text(text.replace("101463487227881885914", "startup_test_probe1"))
    before = json.loads(run_cli("analyze", sample, "-f", "json").out)
    after = json.loads(run_cli("analyze", probe, "-f", "json").out)
    assert ("101463487227881885914", "routing_failure") in {
        (o["connection"], o["outcome"]) for o in before["outcomes"]}
    assert not [o for o in after["outcomes"] if "startup_test" in o["connection"]]
    assert "routing_failure" not in {o["outcome"] for o in after["outcomes"]}


def test_ignored_ids_are_remembered_within_a_bound():
    from diagnose.parse import IgnoredIds

    ignored = IgnoredIds([("user", re.compile("^startup_test_"))])
    def with_user(user: str) -> Event:
        return Event("x", _event(1, 0).ts, {"user": user}, {}, "f.log:1", "r")

    assert ignored(with_user("startup_test_1")) and not ignored(with_user("alice"))
    assert not ignored(Event("x", _event(1, 0).ts, {"run": "startup_test_1"}, {}, "f:1", "r"))
    for n in range(IgnoredIds.CACHE + 10):
        ignored(with_user(f"user{n}"))
    assert len(ignored.known) <= IgnoredIds.CACHE
    assert ignored(with_user("startup_test_1"))
