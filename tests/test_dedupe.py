"""Copies of an entry (same insertId and time) are counted once, wherever they come from.

Matched, timed entries are deduped after the time sort, where copies sit side by side; entries
no rule matched and untimed ones as they are read. Both must give the answer one copy gives.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from diagnose import hashset
from diagnose.api import load_rules
from diagnose.model import ParseStats, RawRecord
from diagnose.pipeline import analyze_records

SINK = Path(__file__).parent / "data" / "sources" / "sink.jsonl"


@pytest.fixture(scope="module")
def ruleset():
    return load_rules([], builtin=True)


def report_of(run_cli, *paths) -> dict:
    result = run_cli("analyze", *map(str, paths), "-f", "json")
    assert result.code in (0, 1), result.err
    doc = json.loads(result.out)
    s = doc["stats"]
    assert s["records_read"] == s["events"] + s["ignored"] + s["unparsed_total"] + s["duplicates"]
    return doc


def diagnosis(doc: dict) -> tuple:
    return (doc["outcome_counts"], [(f["class"], f["count"]) for f in doc["findings"]],
            doc["event_counts"])


def test_overlapping_exports_count_each_entry_once(run_cli, tmp_path):
    lines = SINK.read_text(encoding="utf-8").splitlines()
    whole = tmp_path / "whole"
    whole.mkdir()
    (whole / "all.json").write_text("\n".join(lines) + "\n")
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "S0.json").write_text("\n".join(lines[:3]) + "\n")
    (parts / "S1.json").write_text("\n".join(lines[2:3] + lines[:1] + lines[3:]) + "\n")
    one, split = report_of(run_cli, whole), report_of(run_cli, parts)
    assert split["stats"]["duplicates"] == 2  # a3 and a1 again
    assert split["stats"]["records_read"] == one["stats"]["records_read"] + 2
    for key in ("events", "ignored", "unparsed_total"):
        assert split["stats"][key] == one["stats"][key], key
    assert diagnosis(split) == diagnosis(one)
    evidence = json.dumps(split["findings"])
    assert "S0.json:1" in evidence and "S1.json:2" not in evidence  # the first file's copy


def test_three_copies_among_other_entries_of_the_same_instant(run_cli, tmp_path):
    """Other entries at the same time stamp sort between the copies' groups: they all stay."""
    stamp = "2025-09-08T23:16:36.500000Z"

    def entry(insert_id: str, user: str) -> str:
        return json.dumps({"insertId": insert_id, "timestamp": stamp, "severity": "WARNING",
                           "jsonPayload": {"message": "MessageRouter detected unknown message "
                                                      f"type: execute_agent from {user}"}})

    for name, ids in (("a.jsonl", "xyz"), ("b.jsonl", "yx"), ("c.jsonl", "zy")):
        (tmp_path / name).write_text(
            "".join(entry(i, f"user_{i}") + "\n" for i in ids), encoding="utf-8")
    doc = report_of(run_cli, tmp_path)
    assert doc["stats"]["records_read"] == 7
    assert doc["stats"]["events"] == 3 and doc["stats"]["duplicates"] == 4
    assert doc["event_counts"] == {"router.unknown_type": 3}


def test_copies_of_entries_no_rule_matches_are_counted_as_read(tmp_path):
    from diagnose.sources import read_records

    page = [{"insertId": f"p{i}", "timestamp": "2025-09-07T13:20:00Z", "textPayload": "x"}
            for i in range(3)]
    path = tmp_path / "pages.json"
    path.write_text(json.dumps([page, page[:2]]))
    from diagnose.parse import parse_records

    stats = ParseStats()
    ruleset = load_rules([], builtin=True)
    records = read_records([str(path)], prefilter=None, stats=stats)
    assert list(parse_records(records, ruleset, stats)) == []
    assert (stats.records_read, stats.ignored, stats.duplicates) == (5, 3, 2)


def _pulled(insert_id: str, second: int | None, text: str) -> RawRecord:
    """An entry as a Cloud Logging pull gives it: no line, its provenance is its insertId."""
    ts = None if second is None else datetime(2025, 9, 8, 23, 16, second, tzinfo=UTC)
    return RawRecord("cloud-logging:p", 0, ts, "WARNING", text, insert_id=insert_id)


UNKNOWN = "MessageRouter detected unknown message type: execute_agent from {}"


def test_pulled_copies_without_line_numbers_are_dropped(ruleset):
    records = [_pulled("i1", 5, UNKNOWN.format("user_1"))] * 3 + [
        _pulled("i1", 6, UNKNOWN.format("user_1")),  # the same insertId later: not a copy
        _pulled("i2", 5, UNKNOWN.format("user_2")),
    ]
    stats = ParseStats(records_read=len(records))
    report = analyze_records(records, ruleset, stats)
    assert (stats.events, stats.duplicates) == (3, 2)
    assert report.sections["event_counts"] == {"router.unknown_type": 3}


def test_untimed_copies_are_dropped_as_they_are_read(ruleset):
    records = [_pulled("i1", None, UNKNOWN.format("user_1"))] * 2
    stats = ParseStats(records_read=2)
    analyze_records(records, ruleset, stats)
    assert (stats.events, stats.untimed, stats.duplicates) == (1, 1, 1)


def test_matched_timed_entries_are_not_remembered_one_by_one(ruleset, monkeypatch, tmp_path):
    """What made memory grow with the input: a hash per record read. Only records no rule
    matched (or untimed ones) may be remembered now."""
    from diagnose.pipeline import analyze

    remembered = []
    monkeypatch.setattr(hashset.CountingHashSet, "add",
                        lambda self, value: remembered.append(value) or 1)
    path = tmp_path / "sink.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for n in range(500):
            out.write(json.dumps({
                "insertId": f"i{n}", "timestamp": f"2025-09-08T23:{n // 60:02}:{n % 60:02}Z",
                "severity": "WARNING", "jsonPayload": {"message": UNKNOWN.format(f"user_{n}")},
            }) + "\n")
        out.write(json.dumps({"insertId": "noise", "timestamp": "2025-09-08T23:59:00Z",
                              "severity": "ERROR", "textPayload": "nothing a rule knows"}) + "\n")
    report = analyze([str(path)], ruleset)
    assert report.stats.events == 500
    assert [v for v in remembered if isinstance(v, tuple)] == [("noise", report.stats.last_ts)]


@pytest.mark.parametrize("window", [None, 1])
def test_copies_in_exports_read_newest_first_are_dropped_after_the_full_sort(
        run_cli, tmp_path, monkeypatch, window):
    """Newest-first exports are out of order. Within the reorder window they are sorted as
    they are followed; past it (a window of one event here) the analysis starts over on the
    full sort from fresh state (two files: from every event kept; one file: read again).
    Copies must be counted once either way, not once per pass."""
    import diagnose.ordering as ordering
    import diagnose.pipeline as pipeline

    gave_up = []
    if window:
        monkeypatch.setattr(ordering, "WINDOW", window)
        monkeypatch.setattr(ordering, "HEAD", 1)
        real = ordering.read_ahead

        def watched(*args, **kwargs):
            try:
                yield from real(*args, **kwargs)
            except ordering.OutOfOrder:
                gave_up.append(True)
                raise

        monkeypatch.setattr(pipeline, "read_ahead", watched)
    lines = SINK.read_text(encoding="utf-8").splitlines()
    one = tmp_path / "one"
    one.mkdir()
    (one / "all.json").write_text("\n".join(reversed(lines)) + "\n")
    parts = tmp_path / "parts"
    parts.mkdir()
    # a1 and a3 again (not a2: a request answered 200 is never decoded, so never deduped)
    (parts / "S0.json").write_text("\n".join([lines[2], lines[0]]) + "\n")
    (parts / "S1.json").write_text("\n".join(reversed(lines)) + "\n")
    whole, split = report_of(run_cli, one), report_of(run_cli, parts)
    assert len(gave_up) == (2 if window else 0)  # each run started over once
    assert split["stats"]["duplicates"] == 2
    for key in ("events", "ignored", "unparsed_total"):
        assert split["stats"][key] == whole["stats"][key], key
    assert diagnosis(split) == diagnosis(whole)
