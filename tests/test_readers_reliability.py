"""Reader-level reliability (issue 12): nothing hangs, crashes or silently loses records.

Each test reproduces one reported failure through the real CLI and checks what a user sees:
the exit code, no traceback, and every record accounted for with a location and reason.
"""

from __future__ import annotations

import gzip
import json
import os
import threading

import pytest
from test_hardening import analyze_json

STAMP = "2025-09-07T13:20:{:02d}.000000Z"


def entry(i: int, message: str = "routine health check ok", **extra) -> dict:
    return {
        "insertId": f"id-{i:06d}",
        "logName": "projects/p/logs/run.googleapis.com%2Fstdout",
        "resource": {"type": "cloud_run_revision", "labels": {"service_name": "backend"}},
        "severity": "INFO",
        "textPayload": message,
        "timestamp": STAMP.format(i % 60),
        **extra,
    }


def reasons(doc: dict) -> list[str]:
    return [u["reason"] for u in doc["stats"]["unparsed"]]


def records(doc: dict) -> int:
    return doc["stats"]["records_read"]


# --- hangs ---------------------------------------------------------------------------------------


def _in_thread(fn, seconds: float = 60.0):
    """Run fn; a hang fails the test instead of blocking the suite (not a speed bound)."""
    result: dict = {}

    def target():
        try:
            result["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the reader hung"
    if "error" in result:
        raise result["error"]
    return result["value"]


def test_multi_member_gzip_with_a_big_first_member_is_read_whole(run_cli, tmp_path):
    first = "".join(json.dumps(entry(i, "x" * 200)) + "\n" for i in range(2000))  # > 64 KiB
    second = "".join(json.dumps(entry(5000 + i)) + "\n" for i in range(10))
    path = tmp_path / "two-members.jsonl.gz"
    path.write_bytes(gzip.compress(first.encode(), mtime=0) + gzip.compress(second.encode(), mtime=0))
    code, doc = _in_thread(lambda: analyze_json(run_cli, path))
    assert records(doc) == 2010
    assert doc["stats"]["unparsed_total"] == 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_inside_an_input_directory_is_skipped_with_a_note(run_cli, tmp_path):
    (tmp_path / "app.jsonl").write_text(json.dumps(entry(1)) + "\n")
    os.mkfifo(tmp_path / "pipe")
    result = _in_thread(lambda: run_cli("analyze", tmp_path, "-f", "json"))
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    assert "pipe" in result.err and "not a regular file" in result.err
    assert json.loads(result.out)["stats"]["records_read"] == 1


def test_dangling_and_looping_symlinks_in_a_directory_are_skipped_and_counted(run_cli, tmp_path):
    (tmp_path / "app.jsonl").write_text(json.dumps(entry(1)) + "\n")
    (tmp_path / "dangling.log").symlink_to(tmp_path / "gone.log")
    (tmp_path / "loop.log").symlink_to(tmp_path / "loop.log")
    result = run_cli("analyze", tmp_path, "-f", "json")
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    assert "passed over 2 file(s)" in result.err
    assert "dangling.log (dangling or looping symlink)" in result.err
    assert "loop.log (dangling or looping symlink)" in result.err
    assert json.loads(result.out)["stats"]["records_read"] == 1


# --- tracebacks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_out_of_range_stamps_are_unparsed_in_every_reader(run_cli, tmp_path, stamp):
    good = entry(1)
    bad = {**entry(2, "TimeoutError in agent"), "timestamp": stamp}  # a prefilter hit: decoded
    (tmp_path / "a.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    (tmp_path / "b.json").write_text(json.dumps([good, bad], indent=2))
    (tmp_path / "c.json").write_text(json.dumps([good, bad]))
    (tmp_path / "d.log").write_text(
        f"2025-09-07 13:20:00 | INFO | app:f:1 | fine\n{stamp} | ERROR | app:f:1 | TimeoutError\n")
    code, doc = analyze_json(run_cli, tmp_path)
    assert doc["stats"]["unparsed_total"] == 4, reasons(doc)  # the bad entry in a, b, c and d.log
    assert all(r.startswith("time stamp out of range") for r in reasons(doc))


@pytest.mark.parametrize("stamp", ["0001-01-01 00:00:00", "9999-12-31 23:59:59"])
def test_naive_stamps_at_the_edge_with_tz_are_unparsed(run_cli, tmp_path, stamp):
    path = tmp_path / "app.log"
    path.write_text(f"2025-09-07 13:20:00 | INFO | app:f:1 | fine\n"
                    f"{stamp} | ERROR | app:f:1 | TimeoutError in agent\n")
    for tz in ("-05:00", "+05:00"):
        result = run_cli("analyze", path, "-f", "json", "--tz", tz)
        assert "Traceback" not in result.err, result.err
        assert result.code in (0, 1), result.err
        doc = json.loads(result.out)
        assert doc["stats"]["records_read"] == 2


def test_a_5000_digit_integer_in_a_compact_array_is_one_unparsed_entry(run_cli, tmp_path):
    path = tmp_path / "big-int.json"
    path.write_text("[" + json.dumps(entry(1)) + ', {"textPayload": "x", "n": ' + "9" * 5000
                    + "}, " + json.dumps(entry(3)) + "]")
    code, doc = analyze_json(run_cli, path)
    assert records(doc) == 3
    assert doc["stats"]["unparsed_total"] == 1


# --- silent losses -------------------------------------------------------------------------------


def test_bad_gzip_crc_keeps_what_was_decoded(run_cli, tmp_path):
    lines = "".join(json.dumps(entry(i)) + "\n" for i in range(3000))
    blob = bytearray(gzip.compress(lines.encode(), mtime=0))
    blob[-8] ^= 0xFF  # the CRC32 of the trailer
    path = tmp_path / "bad-crc.jsonl.gz"
    path.write_bytes(bytes(blob))
    code, doc = analyze_json(run_cli, path)
    assert records(doc) == 3001  # every entry, plus the broken trailer reported
    assert any("gzip" in r for r in reasons(doc)), reasons(doc)


def test_compact_array_reads_past_a_bad_entry(run_cli, tmp_path):
    good = [json.dumps(entry(i)) for i in range(1000)]
    body = "[" + ",".join(good[:2] + ['{"textPayload": "x", "timestamp": tru}'] + good[2:]) + "]"
    path = tmp_path / "compact.json"
    path.write_text(body)
    code, doc = analyze_json(run_cli, path)
    assert records(doc) == 1001
    assert doc["stats"]["unparsed_total"] == 1, reasons(doc)


def test_huge_entry_in_a_pretty_array_does_not_swallow_the_next(run_cli, tmp_path):
    huge = {**entry(2), "textPayload": "y" * (17 << 20)}
    text = json.dumps([entry(1), huge, entry(3, "TimeoutError in agent")], indent=2)
    path = tmp_path / "huge.json"
    path.write_text(text)
    code, doc = analyze_json(run_cli, path)
    assert records(doc) == 3
    assert reasons(doc) == ["entry longer than 16 MiB"]


def test_huge_entry_in_a_compact_array_does_not_swallow_the_rest(run_cli, tmp_path):
    huge = {**entry(2), "jsonPayload": {"message": "x", "lines": ["y" * 100] * 180_000}}
    path = tmp_path / "huge-compact.json"
    path.write_text(json.dumps([entry(1), huge, entry(3, "TimeoutError in agent")]))
    code, doc = analyze_json(run_cli, path)
    assert records(doc) == 3
    assert reasons(doc) == ["entry longer than 16 MiB"]


def test_megabytes_of_blank_lines_before_the_content_hide_nothing(run_cli, tmp_path):
    path = tmp_path / "blank-head.jsonl"
    path.write_bytes(b"\n" * (17 << 20) + (json.dumps(entry(1)) + "\n").encode())
    code, doc = analyze_json(run_cli, path)
    assert records(doc) == 1
    assert doc["stats"]["unparsed_total"] == 0


def test_cr_only_line_endings_are_lines(run_cli, tmp_path):
    path = tmp_path / "old-mac.log"
    lines = [f"2025-09-07 13:20:{i:02d} | INFO | app:f:1 | step {i}" for i in range(5)]
    path.write_bytes("\r".join(lines).encode() + b"\r")
    code, doc = analyze_json(run_cli, path)
    assert records(doc) == 5


def test_cr_only_jsonl_is_lines(run_cli, tmp_path):
    path = tmp_path / "old-mac.jsonl"
    path.write_bytes(b"\r".join(json.dumps(entry(i)).encode() for i in range(5)) + b"\r")
    code, doc = analyze_json(run_cli, path)
    assert records(doc) == 5
    assert doc["stats"]["unparsed_total"] == 0


def test_go_style_unicode_escapes_reach_the_rules():
    """Go and JS encoders write ' < > & as \\u0027 \\u003c \\u003e \\u0026: still a prefilter hit."""
    from diagnose.sources import Prefilter

    prefilter = Prefilter(["'coroutine' object has no attribute"])
    go = b'{"textPayload": "WebSocket error: \\u0027coroutine\\u0027 object has no attribute"}'
    assert prefilter.match_bytes(go)
    assert prefilter.hit_positions(go)
    tags = Prefilter(["<red>a & b</red>"])
    assert tags.match_bytes(b'"\\u003cred\\u003ea \\u0026 b\\u003c/red\\u003e"')


def test_zero_padding_between_members_still_reads(run_cli, tmp_path):
    path = tmp_path / "padded.jsonl.gz"
    one = gzip.compress((json.dumps(entry(1)) + "\n").encode(), mtime=0)
    two = gzip.compress((json.dumps(entry(2)) + "\n").encode(), mtime=0)
    path.write_bytes(one + b"\x00" * 100 + two)
    code, doc = analyze_json(run_cli, path)
    assert records(doc) == 2


@pytest.mark.parametrize("stamp", [
    "2025-09-07T13:20" + "9" * 5000 + ":11.5Z",  # found by the reader fuzz: decimal error
    "2025-09-07T13:20:" + "9" * 40 + "Z",
])
def test_absurd_stamps_are_unparsed_not_a_traceback(run_cli, tmp_path, stamp):
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps({**entry(1, "TimeoutError in agent"), "timestamp": stamp}) + "\n")
    code, doc = analyze_json(run_cli, path)
    assert code == 3  # the only record is unreadable: one line saying so, no report
    assert "none of the 1 records read could be parsed" in doc["stats"]["reason"]
    assert "odd.jsonl:1: unreadable time stamp" in doc["stats"]["reason"]
