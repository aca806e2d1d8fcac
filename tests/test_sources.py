"""The sources layer as a user meets it: real files in every format, damaged files, accounting."""

from __future__ import annotations

import gzip
import io
import json
import os
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from diagnose.errors import InputError, UsageError
from diagnose.model import ParseStats
from diagnose.sources import Prefilter, expand_inputs, read_records
from diagnose.sources import text as text_module
from diagnose.sources.context import SourceContext
from diagnose.sources.jsonl import read_jsonl
from diagnose.sources.parallel import WorkerPool, read_jsonl_parallel
from diagnose.sources.stream import ByteCounter, Input, LineBlocks
from diagnose.sources.text import read_blocks, read_text
from diagnose.sources.textparallel import read_text_parallel, scan_text_range, text_ranges

DATA = os.path.join(os.path.dirname(__file__), "data", "sources")
LITERALS = [
    "MessageRouter detected unknown message type",
    "Sending ack for unknown message type",
    "TimeoutError",
    "Pipeline event:",
]
PDT = timezone(timedelta(hours=-7))


def data(name: str) -> str:
    return os.path.join(DATA, name)


def read(paths, literals=LITERALS, **kwargs):
    """Read everything; check the accounting invariant every caller relies on."""
    stats = ParseStats()
    prefilter = Prefilter(literals) if literals is not None else None
    records = list(read_records(list(paths), prefilter=prefilter, stats=stats, **kwargs))
    accounted = len(records) + stats.ignored + stats.unparsed_total + stats.duplicates
    assert stats.records_read == accounted, stats
    return records, stats


def reasons(stats):
    return [(os.path.basename(u.source), u.line, u.reason) for u in stats.unparsed]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- formats -------------------------------------------------------------------------------


def test_gcloud_array_newest_first_streams_entries_with_their_lines():
    records, stats = read([data("gcloud_newest_first.json")])
    assert [(r.line, r.insert_id) for r in records] == [
        (2, "66ddf1a4000c2a1f9d3e0b73"),
        (32, "66ddf1a4000c2a1f9d3e0b72"),
    ]
    ack = records[0]
    assert ack.text == "Sending ack for unknown message type 'execute_agent' from e2e-staging-49066fc8"
    assert ack.timestamp == utc(2025, 9, 8, 23, 49, 24, 510512)
    assert ack.severity == "INFO"
    assert ack.fields["instance_id"] == "0069c7a98812ab"
    assert ack.fields["revision"] == "netra-backend-staging-00154-2tw"
    assert ack.provenance.endswith("gcloud_newest_first.json:2")
    assert (stats.records_read, stats.ignored, stats.unparsed_total) == (3, 1, 0)


def test_sink_jsonl_reports_bad_lines_and_ignores_irrelevant_ones():
    records, stats = read([data("sink.jsonl")])
    assert [(r.line, r.insert_id) for r in records] == [(1, "a1"), (3, "a3"), (6, "a5")]
    assert records[0].timestamp == utc(2025, 9, 8, 23, 16, 36, 506567)  # RFC 3339 nanos
    assert records[2].text == "Traceback (most recent call last):\n  asyncio.exceptions.TimeoutError"
    assert reasons(stats) == [
        ("sink.jsonl", 4, "bad JSON: Unterminated string starting at (column 94)"),
        ("sink.jsonl", 5, "expected a JSON object, got list"),
    ]
    # 7 non-blank lines: 3 relevant, 2 unreadable, 2 irrelevant (the blank line is no record)
    assert (stats.records_read, stats.ignored) == (7, 2)
    assert stats.by_source == {data("sink.jsonl"): 7}


def test_without_prefilter_every_readable_record_is_yielded():
    records, stats = read([data("sink.jsonl")], literals=None)
    assert [r.insert_id for r in records] == ["a1", "a2", "a3", "a5", "a6"]
    assert records[1].text == "GET https://api.staging.netrasystems.ai/health 200"
    assert stats.ignored == 0 and stats.unparsed_total == 2


def test_cloud_run_structured_stdout_lines():
    records, stats = read([data("structured_stdout.jsonl")])
    assert [(r.severity, r.timestamp) for r in records] == [
        ("INFO", utc(2025, 9, 8, 23, 49, 24, 508000)),
        ("WARNING", utc(2025, 9, 8, 23, 49, 24, 509000)),  # {"seconds", "nanos"} form
    ]
    assert records[0].fields["instance_id"] == "00bb"
    assert stats.ignored == 1


def test_loguru_text_folds_traceback_and_strips_colour():
    records, stats = read([data("loguru_traceback.log")], literals=None)
    assert [r.line for r in records] == [1, 2, 3, 4]
    assert records[1].text == (
        "Sending ack for unknown message type 'execute_agent' from e2e-staging-49066fc8"
    )  # ANSI escapes gone, level and logger split off
    assert records[0].text == "MessageRouter detected unknown message type: execute_agent"
    assert records[0].fields["logger"] == "netra_backend.app.websocket_core.handlers"
    last = records[3]
    assert last.severity == "ERROR"
    assert last.text.splitlines() == [
        "Timeout waiting for events after 15s",
        "Traceback (most recent call last):",
        '  File "/usr/local/lib/python3.11/asyncio/tasks.py", line 490, in wait_for',
        "    return fut.result()",
        "asyncio.exceptions.TimeoutError",
    ]
    assert last.timestamp == utc(2025, 9, 8, 16, 49, 39, 120000)  # naive → default UTC
    assert stats.records_read == 4


def test_default_tz_applies_to_naive_text_stamps():
    records, _ = read([data("loguru_traceback.log")], default_tz=PDT)
    assert records[0].timestamp == utc(2025, 9, 8, 23, 49, 24, 508000)


def test_console_copy_paste_pairs_in_pdt_and_pst():
    records, stats = read([data("console_pdt.txt")])
    assert [(r.line, r.timestamp, r.text) for r in records] == [
        (1, utc(2025, 9, 8, 23, 49, 24, 508000),
         "MessageRouter detected unknown message type: execute_agent"),
        (3, utc(2025, 9, 8, 23, 49, 24, 509000),
         "Sending ack for unknown message type 'execute_agent' from e2e-staging-49066fc8"),
        (6, utc(2025, 1, 15, 17, 0), "MessageRouter detected unknown message type: agent_execute"),
    ]
    assert stats.warnings == []  # zoned stamps: nothing assumed


def test_gcloud_table_rows_and_python_logging_levels():
    table, table_stats = read([data("gcloud_table.txt")])
    assert [(r.line, r.severity) for r in table] == [(2, "INFO"), (3, "INFO"), (4, "ERROR")]
    assert table[2].text == "Error in message handling loop: TimeoutError"
    assert table_stats.ignored == 0 and table_stats.records_read == 3  # the header is no record
    logging_, _ = read([data("python_logging.log")], literals=None)
    assert [(r.severity, r.fields.get("logger"), r.text) for r in logging_] == [
        ("INFO", "auth_service.auth_core.database.connection", "Database connection ready"),
        ("ERROR", "tests.e2e.staging", "recv() timed out: TimeoutError"),
    ]


def test_pytest_output_keeps_client_lines_as_their_own_records():
    records, stats = read([data("pytest_output.txt")])
    # bare lines take the time of the stamped line before them (none before the first stamp)
    stamp = datetime(2025, 9, 8, 16, 49, 24, 100000, tzinfo=UTC)
    assert [(r.line, r.timestamp, r.severity) for r in records] == [
        (2, None, "INFO"),
        (4, stamp, "INFO"),
        (5, stamp, "ERROR"),  # pytest's `E   ` failure line: an error, shown without the prefix
        (6, stamp, None),
    ]
    assert records[1].text == "[INFO] Pipeline event: ping"
    assert records[2].text == "asyncio.exceptions.TimeoutError"
    assert stats.ignored == 2


def test_gzip_is_sniffed_by_content_not_name(tmp_path):
    raw = open(data("sink.jsonl"), "rb").read()
    path = tmp_path / "export.log"  # no .gz: the magic bytes decide
    path.write_bytes(gzip.compress(raw))
    records, stats = read([str(path)])
    assert [r.insert_id for r in records] == ["a1", "a3", "a5"]
    assert [(u.line, u.reason[:8]) for u in stats.unparsed] == [(4, "bad JSON"), (5, "expected")]


def test_stdin_reads_any_format():
    stream = io.BytesIO(gzip.compress(open(data("console_pdt.txt"), "rb").read()))
    records, stats = read(["-"], stdin=stream)
    assert [r.provenance for r in records] == ["<stdin>:1", "<stdin>:3", "<stdin>:6"]
    assert stats.by_source == {"<stdin>": 3}


# --- damaged input -------------------------------------------------------------------------


def test_truncated_gzip_keeps_complete_lines_and_reports_the_cut(tmp_path):
    lines = [
        json.dumps({"insertId": f"i{i}", "message": f"Sending ack for unknown message type 'x{i}'",
                    "timestamp": f"2025-09-08T23:00:{i % 60:02d}Z"})
        for i in range(2000)
    ]
    blob = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(blob[: len(blob) // 2])
    records, stats = read([str(path)])
    assert 0 < len(records) < 2000
    assert [r.line for r in records] == list(range(1, len(records) + 1))
    assert reasons(stats) == [
        ("cut.jsonl.gz", len(records) + 1,
         "truncated gzip: compressed data ended before the end-of-stream marker"),
    ]


def test_json_array_cut_mid_entry(tmp_path):
    text = open(data("gcloud_newest_first.json"), encoding="utf-8").read()
    path = tmp_path / "cut.json"
    path.write_text(text[: text.index('"MessageRouter detected')])  # inside the second entry
    records, stats = read([str(path)])
    assert [r.line for r in records] == [2]
    assert reasons(stats) == [
        ("cut.json", 32, "JSON cut off mid-entry: the input ends inside this entry")
    ]
    assert stats.records_read == 2


def test_bad_entry_inside_array_is_skipped_and_reading_resumes(tmp_path):
    entries = [{"insertId": str(i), "message": "TimeoutError", "timestamp": "2025-09-08T23:00:00Z"}
               for i in range(3)]
    text = json.dumps(entries, indent=2)
    text = text.replace('"insertId": "1"', '"insertId": "1" oops', 1)
    path = tmp_path / "bad.json"
    path.write_text(text)
    records, stats = read([str(path)])
    assert [r.insert_id for r in records] == ["0", "2"]
    assert reasons(stats) == [("bad.json", 7, "bad JSON: Expecting ',' delimiter (line 8)")]


def test_binary_junk_nul_bytes_and_invalid_utf8(tmp_path):
    junk = tmp_path / "core.bin"
    rng = random.Random(5)
    junk.write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(
        b'{"insertId":"ok","message":"TimeoutError","timestamp":"2025-09-08T23:00:00Z"}\n'
        b'{"message":"TimeoutError \x00\x01"}\n'
        b'{"message":"TimeoutError \xff\xfe"}\n'
        b"\x89PNG\r\n"
    )
    text = tmp_path / "nul.log"
    text.write_bytes(b"2025-09-08 16:49:24.508 TimeoutError\nab\x00cd\n")
    records, stats = read([str(junk), str(mixed), str(text)])
    assert [r.insert_id or r.text for r in records] == ["ok", "TimeoutError"]
    assert reasons(stats) == [
        ("core.bin", 1, "binary data, not a log (control bytes or invalid UTF-8)"),
        ("mixed.jsonl", 2, "binary data (NUL bytes), not a JSON line"),
        ("mixed.jsonl", 3, "invalid UTF-8 at byte 26"),
        ("mixed.jsonl", 4, "invalid UTF-8 at byte 1"),
        ("nul.log", 2, "binary data (NUL bytes)"),
    ]


def test_ten_megabyte_line_is_read_and_a_huge_line_is_reported(tmp_path, monkeypatch):
    big = "x" * (10 << 20)
    path = tmp_path / "big.jsonl"
    path.write_text(
        json.dumps({"message": f"TimeoutError {big}", "timestamp": "2025-09-08T23:00:00Z"}) + "\n"
        + json.dumps({"message": "TimeoutError after", "timestamp": "2025-09-08T23:00:01Z"}) + "\n"
    )
    records, stats = read([str(path)])
    assert [len(r.text) for r in records] == [len(big) + 13, 18]
    assert stats.unparsed_total == 0
    monkeypatch.setattr("diagnose.sources.stream.MAX_LINE", 1 << 20)
    monkeypatch.setattr("diagnose.sources.jsonl.MAX_LINE", 1 << 20)
    records, stats = read([str(path)])
    assert [r.line for r in records] == [2]
    assert reasons(stats) == [("big.jsonl", 1, "line longer than 16 MiB")]


def test_empty_and_whitespace_files_give_no_records(tmp_path):
    (tmp_path / "empty.log").write_bytes(b"")
    (tmp_path / "blank.json").write_bytes(b"\n  \n")
    (tmp_path / "empty-array.json").write_bytes(b"[]\n")
    records, stats = read(expand_inputs([str(tmp_path)]))
    assert records == [] and stats.records_read == 0 and stats.unparsed_total == 0


def test_unknown_time_zone_is_unparsed_with_its_location(tmp_path):
    text = tmp_path / "zone.txt"
    text.write_text("2025-09-08 16:49:24.508 XYZ\nMessageRouter detected unknown message type: a\n")
    lines = tmp_path / "zone.jsonl"
    lines.write_text('{"message": "TimeoutError", "timestamp": "2025-09-08 16:49:24.508 XYZ"}\n')
    records, stats = read([str(text), str(lines)])
    assert records == []
    assert reasons(stats) == [
        ("zone.txt", 1, "unknown time zone 'XYZ' after '2025-09-08 16:49:24.508'"),
        ("zone.jsonl", 1, "unknown time zone 'XYZ' in '2025-09-08 16:49:24.508 XYZ'"),
    ]


def test_unparsed_list_is_capped_but_counted(tmp_path):
    path = tmp_path / "junk.jsonl"
    path.write_text("{}\n" + "not json\n" * 250)
    _, stats = read([str(path)])
    # `{}` is no log entry either (it was counted as ignored before the readers said so)
    assert stats.unparsed_total == 251 and len(stats.unparsed) == 200


# --- several inputs ------------------------------------------------------------------------


def test_mixed_formats_in_one_directory(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("sink.jsonl", "console_pdt.txt"):
        (tmp_path / "a" / name).write_bytes(open(data(name), "rb").read())
    (tmp_path / "b.gz").write_bytes(gzip.compress(open(data("gcloud_newest_first.json"), "rb").read()))
    (tmp_path / ".hidden.log").write_text("2025-09-08 16:49:24.508 TimeoutError\n")
    paths = expand_inputs([str(tmp_path)])
    assert [os.path.relpath(p, tmp_path) for p in paths] == [
        "b.gz", os.path.join("a", "console_pdt.txt"), os.path.join("a", "sink.jsonl")
    ]
    records, stats = read(paths)
    assert len(records) == 3 + 3 + 2
    assert {os.path.basename(s): n for s, n in stats.by_source.items()} == {
        "console_pdt.txt": 3, "sink.jsonl": 7, "b.gz": 3
    }


def test_mixing_naive_and_zoned_stamps_warns_once(tmp_path):
    _, stats = read([data("loguru_traceback.log"), data("sink.jsonl"), data("console_pdt.txt")])
    assert stats.warnings == [
        f"3 of 9 time stamps had no time zone ({data('loguru_traceback.log')}); "
        "assumed UTC — pass --tz if they are in another zone"
    ]


def test_progress_reports_cumulative_bytes(tmp_path):
    seen: list[int] = []
    paths = [data("sink.jsonl"), data("console_pdt.txt")]
    read(paths, progress=seen.append)
    total = sum(os.path.getsize(p) for p in paths)
    assert seen == sorted(seen) and seen[-1] == total


# --- inputs --------------------------------------------------------------------------------


def test_expand_inputs_order_globs_dedupe_and_errors(tmp_path):
    for name in ("b.log", "a.log", "c.txt"):
        (tmp_path / name).write_text("x\n")
    got = expand_inputs([str(tmp_path / "c.txt"), str(tmp_path / "*.log"), "-", str(tmp_path)])
    assert [os.path.basename(p) for p in got] == ["c.txt", "a.log", "b.log", "-"]
    with pytest.raises(UsageError, match=r"^no such file or directory: .*nope\*\.log$"):
        expand_inputs([str(tmp_path / "nope*.log")])
    with pytest.raises(UsageError, match="no such file or directory"):
        expand_inputs([str(tmp_path / "missing.json")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no files in directory"):
        expand_inputs([str(tmp_path / "empty")])


def test_read_records_on_missing_file_or_empty_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read([str(tmp_path / "gone.log")])
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="no files in directory"):
        read([str(tmp_path / "d")])


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file_is_an_input_error(tmp_path):
    path = tmp_path / "secret.log"
    path.write_text("x\n")
    path.chmod(0)
    with pytest.raises(InputError, match="permission denied"):
        expand_inputs([str(path)])


# --- speed paths give the same answer --------------------------------------------------------


def _noise_file(path, lines=20000, seed=7):
    rng = random.Random(seed)
    noise = ['"Request: GET /health | Status: 200"', '"SELECT 1 took 2ms"', '"Session ok"']
    relevant = ['"MessageRouter detected unknown message type: execute_agent"',
                '"recv failed: TimeoutError"', '"quote \\"Pipeline event:\\" x"']
    with open(path, "w") as f:
        for i in range(lines):
            msg = rng.choice(relevant) if rng.random() < 0.03 else rng.choice(noise)
            f.write(f'{{"insertId":"{i}","jsonPayload":{{"message":{msg}}},'
                    f'"timestamp":"2025-09-08T23:00:00Z","severity":"INFO"}}\n')
            if i == 777:
                f.write("garbage line\n")
            if i == 1500:
                f.write("\n")  # a blank line is no record


def test_parallel_workers_match_serial_reader(tmp_path):
    path = str(tmp_path / "big.jsonl")
    _noise_file(path)
    serial, serial_stats = read([path])

    stats = ParseStats()
    ctx = SourceContext(path, stats, Prefilter(LITERALS), UTC)
    pool = WorkerPool()
    seen: list[int] = []
    try:
        parallel = list(read_jsonl_parallel(path, ctx, pool, seen.append, 0, span=64 << 10))
    finally:
        pool.close()
    assert not pool.broken
    # the progress bar moves forward range by range and ends at the file size
    assert seen == sorted(seen) and len(seen) > 2 and seen[-1] == os.path.getsize(path)
    assert [(r.line, r.insert_id) for r in parallel] == [(r.line, r.insert_id) for r in serial]
    assert (stats.records_read, stats.ignored, reasons(stats)) == (
        serial_stats.records_read, serial_stats.ignored, reasons(serial_stats)
    )
    assert reasons(stats) == [("big.jsonl", 779, "bad JSON: Expecting value (column 1)")]
    assert stats.records_read == 20000 + 1


def test_bigram_search_finds_exactly_what_find_finds(tmp_path):
    path = str(tmp_path / "n.jsonl")
    _noise_file(path, lines=5000, seed=11)
    blob = open(path, "rb").read()
    prefilter = Prefilter(LITERALS + ["a", "é", 'say "hi"'])
    expected = sorted(
        p for n in prefilter.byte_needles for p in _all_finds(blob, n)
    )
    assert len(blob) > 64 << 10 and expected
    assert prefilter.hit_positions(blob) == expected
    lo, hi = 1001, len(blob) - 999  # an inner range, as the line-block reader passes them
    inner = sorted(p for n in prefilter.byte_needles for p in _all_finds(blob, n, lo, hi))
    assert prefilter.hit_positions(blob, lo, hi) == inner


def _all_finds(blob: bytes, needle: bytes, lo: int = 0, hi: int | None = None):
    hi = len(blob) if hi is None else hi
    pos = blob.find(needle, lo, hi)
    while pos >= 0:
        yield pos
        pos = blob.find(needle, pos + 1, hi)


def test_prefilter_matches_json_escaped_forms():
    prefilter = Prefilter(['say "hi"', "naïve"])
    assert prefilter.match_bytes(b'{"message": "they say \\"hi\\""}')
    assert prefilter.match_bytes(b'{"message": "na\\u00efve"}')
    assert prefilter.match_text("na\u00efve")
    assert not prefilter.match_bytes(b'{"message": "say hi"}')
    assert not Prefilter([]).match_text("anything")


def test_gzip_stream_reader_reports_corrupt_data():
    blob = bytearray(gzip.compress(b"line one\n" * 1000))
    blob[30:40] = b"\x00" * 10
    source = Input(ByteCounter(io.BytesIO(bytes(blob)), None, 0))
    ctx = SourceContext("c.gz", ParseStats(), None, UTC)
    list(read_jsonl(source, ctx))
    assert ctx.stats.unparsed_total >= 1
    assert ctx.stats.unparsed[-1].reason.startswith(("corrupt gzip data", "truncated gzip"))


def test_failed_workers_fall_back_to_scanning_in_process(tmp_path, monkeypatch):
    path = str(tmp_path / "big.jsonl")
    _noise_file(path, lines=3000)
    serial, _ = read([path])
    monkeypatch.setattr("sys.executable", str(tmp_path / "no-python-here"))
    stats = ParseStats()
    pool = WorkerPool()
    ctx = SourceContext(path, stats, Prefilter(LITERALS), UTC)
    try:
        records = list(read_jsonl_parallel(path, ctx, pool, None, 0, span=32 << 10))
    finally:
        pool.close()
    assert pool.broken
    assert [(r.line, r.insert_id) for r in records] == [(r.line, r.insert_id) for r in serial]


def test_text_era_payload_gets_level_and_message_from_the_loguru_line(tmp_path):
    line = (
        "\x1b[32m2025-08-28 00:23:43.240\x1b[0m | \x1b[1mERROR   \x1b[0m | "
        "\x1b[36mnetra_backend.app.routes.websocket\x1b[0m:\x1b[36mws\x1b[0m:\x1b[36m47\x1b[0m | "
        "<red>WebSocket error: 'coroutine' object is not subscriptable</red>"
    )
    path = tmp_path / "era.jsonl"
    path.write_text(json.dumps({"textPayload": line, "insertId": "t1",
                                "timestamp": "2025-08-28T07:23:43.241Z"}) + "\n")
    (record,), _ = read([str(path)], literals=["WebSocket error: "])
    assert record.severity == "ERROR"  # the entry had none (DEFAULT); the text says ERROR
    assert record.text == "WebSocket error: 'coroutine' object is not subscriptable"
    assert record.fields["logger"] == "netra_backend.app.routes.websocket"


def test_pretty_printed_objects_without_brackets(tmp_path):
    entries = [{"insertId": f"p{i}", "message": "TimeoutError", "timestamp": "2025-09-08T23:00:00Z"}
               for i in range(3)]
    path = tmp_path / "pretty.json"
    path.write_text("\n".join(json.dumps(e, indent=2) for e in entries) + "\n")
    records, stats = read([str(path)])
    assert [(r.line, r.insert_id) for r in records] == [(1, "p0"), (6, "p1"), (11, "p2")]
    assert stats.unparsed_total == 0


def test_utf8_bom_and_crlf_line_ends(tmp_path):
    path = tmp_path / "windows.jsonl"
    stamp = b'"timestamp":"2025-09-08T23:00:00Z"'
    path.write_bytes(
        b"\xef\xbb\xbf"
        + b'{"insertId":"w1","jsonPayload":{"message":"TimeoutError"},' + stamp + b"}\r\n"
        + b'{"insertId":"w2","jsonPayload":{"message":"ok"},' + stamp + b"}\r\n"
    )
    text = tmp_path / "windows.log"
    text.write_bytes(b"\xef\xbb\xbf2025-09-08 16:49:24,508 - client - ERROR - TimeoutError\r\n")
    records, stats = read([str(path), str(text)])
    assert [(r.line, r.insert_id, r.text) for r in records] == [
        (1, "w1", "TimeoutError"), (1, None, "TimeoutError")
    ]
    assert records[1].severity == "ERROR"
    assert stats.unparsed_total == 0 and stats.ignored == 1


def test_jsonl_shard_whose_first_line_is_cut_is_still_read_as_json_lines(tmp_path):
    path = tmp_path / "shard.json"
    path.write_bytes(b'Z", "severity": "INFO"}\n' + open(data("structured_stdout.jsonl"), "rb").read())
    records, stats = read([str(path)])
    assert [(r.line, r.severity) for r in records] == [(2, "INFO"), (3, "WARNING")]
    assert reasons(stats) == [("shard.json", 1, "bad JSON: Expecting value (column 1)")]
    assert stats.ignored == 1


def _pretty_array(tmp_path, count=3000):
    rng = random.Random(3)
    entries = []
    for i in range(count):
        msg = "recv TimeoutError" if rng.random() < 0.05 else "Request: GET /health"
        entries.append({"insertId": f"e{i}", "jsonPayload": {"message": msg, "n": {"deep": [i]}},
                        "severity": "INFO", "timestamp": f"2025-09-08T23:{i // 60 % 60:02d}:00Z"})
    text = json.dumps(entries, indent=2, sort_keys=True)
    bad = text.index('"insertId": "e1500"')
    text = text[:bad] + "oops " + text[bad:]  # entry 1500 is broken (and relevant?)
    path = tmp_path / "download.json"
    path.write_text(text + "\n")
    return str(path)


def test_pretty_array_fast_path_matches_the_general_reader(tmp_path):
    from diagnose.sources.jsonarray import read_json_stream
    from diagnose.sources.jsonpretty import read_pretty

    path = _pretty_array(tmp_path)
    results = []
    for reader in (lambda s, c: read_json_stream(s, c, array=True),
                   lambda s, c: read_pretty(s, c, b"  ", array=True)):
        ctx = SourceContext(path, ParseStats(), Prefilter(["TimeoutError", "oops"]), UTC)
        with open(path, "rb") as f:
            source = Input(ByteCounter(f, None, 0))
            records = [(r.line, r.insert_id, r.text) for r in reader(source, ctx)]
        results.append((records, ctx.stats.records_read, ctx.stats.ignored, reasons(ctx.stats)))
    assert results[0] == results[1]
    records, read_count, _, why = results[1]
    assert read_count == 3000 and len(records) > 100
    assert [(line, reason.split(":")[0]) for _, line, reason in why] == [
        (line_of(path, "e1500"), "bad JSON")
    ]


def line_of(path: str, insert_id: str) -> int:
    """Line of the `{` that opens the entry holding `insert_id`."""
    lines = open(path, encoding="utf-8").read().splitlines()
    at = next(i for i, ln in enumerate(lines) if f'"{insert_id}"' in ln)
    return max(i for i in range(at) if lines[i] == "  {") + 1


def test_directories_pass_over_docs_and_code_but_named_files_are_read(tmp_path):
    (tmp_path / "README.md").write_text("# notes\n")
    (tmp_path / "make.py").write_text("print('x')\n")
    (tmp_path / "app.log").write_text("2025-09-08 16:49:24,100 - x - INFO - hello\n")
    passed_over: list[str] = []
    assert expand_inputs([str(tmp_path)], passed_over) == [str(tmp_path / "app.log")]
    assert sorted(passed_over) == [str(tmp_path / "README.md"), str(tmp_path / "make.py")]
    assert expand_inputs([str(tmp_path / "README.md")]) == [str(tmp_path / "README.md")]


# --- plain text in bulk: planned blocks and worker ranges ----------------------------------

NOISE = "2025-09-08 16:50:{:02d}.{:03d} | INFO     | app.noise:tick:1 | GET /health 200\n"


def _noise(n: int, start: int = 0) -> str:
    return "".join(NOISE.format((start + i) // 1000 % 60, (start + i) % 1000) for i in range(n))


def _text_file(path, noise: int = 1000) -> None:
    """Lines the bulk planner must not skip, each between runs of plain noise lines."""
    parts = [
        "preamble line before any stamp\n",  # line 1: a record of its own, irrelevant
        "preamble TimeoutError\n",  # line 2: relevant, no time yet
        _noise(noise),
        "2025-09-08 16:51:00.000 | ERROR    | app.ws:loop:9 | Error in loop\n",
        "Traceback (most recent call last):\n",
        "asyncio.exceptions.TimeoutError\n",  # a hit on a folded line makes the record relevant
        _noise(noise, 1000),
        "2025-09-08 16:52:00 XYZ | noise with an unknown zone word\n",  # unparsed, though noise
        _noise(noise, 2000),
        "[INFO] Pipeline event: ping\n",  # an unstamped record start, relevant
        "bare TimeoutError after a stamp\n",  # takes the time of the stamped line before it
        _noise(noise, 3000),
        "2025-09-08 16:53:00.000 | INFO     | app.x:y:1 | Time<red>outError</red> tagged\n",
        "2025-09-08 16:53:01.000 | INFO     | app.x:y:1 | MessageRouter detected unknown"
        " message type: execute_agent\n",
        _noise(noise, 4000),
    ]
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(parts))


def _read_text_file(path, literals=LITERALS):
    stats = ParseStats()
    ctx = SourceContext(path, stats, Prefilter(literals), UTC)
    with open(path, "rb") as f:
        records = list(read_text(Input(ByteCounter(f, None, 0)), ctx))
    return records, stats, ctx


def _rows(records):
    return [(r.line, r.timestamp, r.severity, r.text, r.fields) for r in records]


def test_planned_text_blocks_read_exactly_as_line_by_line(tmp_path, monkeypatch):
    path = str(tmp_path / "mixed.log")
    _text_file(path)
    assert os.path.getsize(path) > text_module.PLAN_MIN
    records, stats, ctx = _read_text_file(path)
    n = 1000
    assert _rows(records) == [
        (2, None, None, "preamble TimeoutError", {}),
        (n + 3, utc(2025, 9, 8, 16, 51), "ERROR",
         "Error in loop\nTraceback (most recent call last):\nasyncio.exceptions.TimeoutError",
         {"logger": "app.ws", "module": "app.ws"}),
        (3 * n + 7, utc(2025, 9, 8, 16, 50, 2, 999000), "INFO", "[INFO] Pipeline event: ping", {}),
        (3 * n + 8, utc(2025, 9, 8, 16, 50, 2, 999000), None, "bare TimeoutError after a stamp", {}),
        (4 * n + 10, utc(2025, 9, 8, 16, 53, 1), "INFO",
         "MessageRouter detected unknown message type: execute_agent",
         {"logger": "app.x", "module": "app.x"}),
    ]
    assert reasons(stats) == [
        ("mixed.log", 2 * n + 6, "unknown time zone 'XYZ' after '2025-09-08 16:52:00'")
    ]
    # 2 preamble lines, 5 * n noise lines, 6 stamped or unstamped others (traceback folded)
    assert stats.records_read == 5 * n + 8 == ctx.read
    assert stats.ignored == stats.records_read - len(records) - 1
    assert (ctx.naive, ctx.aware) == (4, 0)

    monkeypatch.setattr(text_module, "PLAN_MIN", 1 << 40)  # every line through the slow path
    slow, slow_stats, slow_ctx = _read_text_file(path)
    assert _rows(slow) == _rows(records)
    assert (slow_stats, slow_ctx.naive) == (stats, ctx.naive)


def test_bulk_plain_line_test_answers_as_the_regex_on_each_line():
    import numpy as np

    from diagnose.sources.textclean import PLAIN_LINE
    from diagnose.sources.textfast import plain_lines

    stamps = [b"2024-01-01 00:00:00", b"2024-01-01T00:00:00", b"9999-99-99 99:99:99",
              b"2024-01-01 00:00:0a", b"2024:01-01 00:00:00", b"2024-01-01X00:00:00"]
    fractions = [b"", b".", b",", b".1", b".12", b".123", b",123", b".123456", b".123456789",
                 b".1234567890", b".12a"]
    tails = [b" x", b" A", b" <i>", b" ", b"", b"  | INFO", b"x", b" |", b"Z x", b" a b c d e f g"]
    rng = random.Random(16)
    for _ in range(400):
        lines = [rng.choice(stamps) + rng.choice(fractions) + rng.choice(tails)
                 for _ in range(rng.randrange(1, 40))]
        for _ in range(rng.randrange(3)):  # a stray byte anywhere, a blank or traceback line
            k = rng.randrange(len(lines))
            line = bytearray(lines[k] or b"x")
            line[rng.randrange(len(line))] = rng.choice(b"09 .,:-T<A|")
            lines[k] = rng.choice([bytes(line), b"", b"  File x"])
        data = b"lead\n" + b"\n".join(lines) + rng.choice([b"\n", b""])
        lo, hi = 5, len(data)
        starts = [0]
        for line in lines[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        want = [PLAIN_LINE.match(line) is not None for line in lines]
        got = plain_lines(data, lo, hi, np.array(starts, dtype=np.int64)).tolist()
        assert got == want, (data, got, want)


def test_text_ranges_start_at_records_and_match_the_serial_reader(tmp_path, monkeypatch):
    path = str(tmp_path / "big.log")
    _text_file(path, noise=3000)
    with open(path, "ab") as f:  # ESC: hits on cleaned text (per block), as the serial reader
        f.write(b"2025-09-08 16:54:00.000 | \x1b[31mERROR\x1b[0m | Time\x1b[1moutError\n")
        f.write(_noise(3000, 5000).encode())
    block = 1 << 17
    size = os.path.getsize(path)
    serial_stats = ParseStats()
    serial_ctx = SourceContext(path, serial_stats, Prefilter(LITERALS), UTC)
    with open(path, "rb") as f:
        source = Input(ByteCounter(f, None, 0))
        source.peek_content()
        serial = list(read_blocks(LineBlocks(source, block), serial_ctx))

    monkeypatch.setattr("diagnose.sources.parallel.MIN_SIZE", 0)
    stats = ParseStats()
    ctx = SourceContext(path, stats, Prefilter(LITERALS), UTC)
    ranges = text_ranges(path, size, ctx, span=block, block=block)
    assert ranges is not None and len(ranges) == size // block + 1
    with open(path, "rb") as f:
        blob = f.read()
    assert all(NOISE[:4] == blob[s : s + 4].decode() and blob[s - 1] == 10 for s, _ in ranges[1:])

    pieces = []

    def in_process(path, ranges, ctx, pool):
        for start, end in ranges:
            result = scan_text_range(path, ctx.source, start, end, ctx.prefilter, UTC, block)
            pieces.append(len(result[0]))
            yield result

    monkeypatch.setattr("diagnose.sources.textparallel._results", in_process)
    monkeypatch.setattr("diagnose.sources.worker.PIECE", 1)  # each row pickled alone
    parallel = list(read_text_parallel(path, ranges, ctx, None, None, 0))
    assert _rows(parallel) == _rows(serial) and len(serial) == 6
    assert sum(pieces) == 6 and max(pieces) >= 2, pieces  # a range of two pieces, in order
    assert (stats, ctx.naive, ctx.aware) == (serial_stats, serial_ctx.naive, serial_ctx.aware)


def test_big_text_file_is_read_by_workers_like_the_serial_reader(tmp_path, monkeypatch):
    path = str(tmp_path / "big.log")
    _text_file(path, noise=60000)  # ~18 MB: three 8 MiB-aligned ranges
    serial, serial_stats, serial_ctx = _read_text_file(path)
    monkeypatch.setattr("diagnose.sources.parallel.MIN_SIZE", 0)
    monkeypatch.setattr("diagnose.sources.textparallel.RANGE", 8 << 20)
    stats = ParseStats()
    ctx = SourceContext(path, stats, Prefilter(LITERALS), UTC)
    ranges = text_ranges(path, os.path.getsize(path), ctx, span=8 << 20)
    assert ranges is not None and len(ranges) == 3
    pool = WorkerPool()
    try:
        parallel = list(read_text_parallel(path, ranges, ctx, pool, None, 0))
    finally:
        pool.close()
    assert not pool.broken
    assert _rows(parallel) == _rows(serial) and len(serial) == 5
    assert (stats, ctx.naive) == (serial_stats, serial_ctx.naive)
    assert stats.records_read == 5 * 60000 + 8


def test_text_ranges_never_start_at_a_line_that_is_not_a_record_start(tmp_path, monkeypatch):
    # A NUL line or a bare line after a boundary would change what the next bare line borrows
    # (last_stamp) if a worker started there: such boundaries are passed over.
    monkeypatch.setattr("diagnose.sources.parallel.MIN_SIZE", 0)
    path = str(tmp_path / "nul.log")
    lines = [b"2025-09-08 23:00:00.000 | INFO | a:b:1 | start"]
    for i in range(8000):
        lines.append(b"2025-09-08 23:00:00.%03d | INFO | a:b:1 | b\x00n" % (i % 1000))
        lines.append(b"bare TimeoutError line")
    with open(path, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    ctx = SourceContext(path, ParseStats(), Prefilter(LITERALS), UTC)
    assert text_ranges(path, os.path.getsize(path), ctx, span=1 << 17, block=1 << 17) is None


# --- pretty arrays in bulk: worker ranges cut after an entry's closing line ------------------


def test_an_entry_end_is_found_in_growing_steps_as_in_one_window(tmp_path):
    """The range boundaries of a big array are where one big read would put them, whether the
    entry end is near, straddles two steps, lies past the limit or is not there at all."""
    from diagnose.sources.prettyparallel import _find_within

    rng = random.Random(7)
    needle = b"\n  }"
    for trial in range(300):
        data = bytearray(rng.choice(b"ab \n}") for _ in range(rng.randrange(1, 400)))
        if trial % 3:
            at = rng.randrange(len(data) + 1)
            data[at:at] = needle
        path = tmp_path / "array.json"
        path.write_bytes(bytes(data))
        start, limit = rng.randrange(len(data)), rng.randrange(1, 300)
        with open(path, "rb") as f:
            found = _find_within(f, start, needle, limit, step=rng.randrange(1, 9))
        assert found == bytes(data[start:start + limit]).find(needle), (trial, start, limit)


@pytest.mark.parametrize("ending", ["whole", "cut mid-entry", "no closing bracket"])
def test_pretty_array_ranges_read_what_the_serial_reader_reads(tmp_path, monkeypatch, ending):
    from diagnose.sources.jsonpretty import read_pretty
    from diagnose.sources.prettyparallel import pretty_ranges, read_pretty_parallel

    path = _pretty_array(tmp_path, count=6000)
    text = open(path, encoding="utf-8").read()
    if ending == "cut mid-entry":
        text = text[: text.rindex('"insertId"')]
    elif ending == "no closing bracket":
        text = text.rstrip().removesuffix("]")
    open(path, "w", encoding="utf-8").write(text)

    def outcome(records, ctx):
        stats = ctx.stats
        return ([(r.line, r.insert_id, r.text, r.timestamp) for r in records],
                (stats.records_read, stats.ignored, stats.unparsed_total,
                 [(u.line, u.reason) for u in stats.unparsed], ctx.naive, ctx.aware))

    serial_ctx = SourceContext(path, ParseStats(), Prefilter(["TimeoutError", "oops"]), UTC)
    with open(path, "rb") as f:
        source = Input(ByteCounter(f, None, 0))
        source.peek_content()
        serial = outcome(list(read_pretty(source, serial_ctx, b"  ", array=True)), serial_ctx)
    assert len(serial[0]) > 200 and serial[1][3][0][1].startswith("bad JSON")

    monkeypatch.setattr("diagnose.sources.parallel.MIN_SIZE", 0)
    monkeypatch.setattr("diagnose.sources.worker.PIECE", 5)  # in-process: many pieces a range
    for workers in (0, 2):
        ctx = SourceContext(path, ParseStats(), Prefilter(["TimeoutError", "oops"]), UTC)
        ranges = pretty_ranges(path, os.path.getsize(path), ctx, b"  ", span=64 << 10)
        assert ranges is not None and len(ranges) > 10
        blob = open(path, "rb").read()
        assert all(blob[s - 4 : s] == b"\n  }" for s, _ in ranges[1:])  # after a closing line
        pool = WorkerPool(workers)
        try:
            records = list(read_pretty_parallel(path, ranges, ctx, b"  ", True, pool, None, 0))
        finally:
            pool.close()
        assert pool.broken == (workers == 0)
        assert outcome(records, ctx) == serial, workers
