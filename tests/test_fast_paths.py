"""Each fast path against the plain one it replaces: same hits, same records, same accounting.

The prefilter's matchers (Hyperscan, and the Aho-Corasick automaton used where Hyperscan has no
wheel) against one `bytes.find` per needle plus the request regex; isal gzip against zlib gzip.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from diagnose.sources import prefilter as prefilter_module
from diagnose.sources.prefilter import REQUEST_ERRORS, Prefilter


@pytest.fixture(params=["hyperscan", "aho-corasick"])
def engine(request, monkeypatch):
    """Each prefilter test runs with both literal matchers."""
    if request.param == "hyperscan":
        if prefilter_module.hyperscan is None:
            pytest.skip("hyperscan has no wheel for this platform")
    else:
        monkeypatch.setattr(prefilter_module, "hyperscan", None)
    return request.param

NEEDLES = ["TimeoutError", "Pipeline event:", 'say "hi"', "naïve", "a<b>&'c", "/ws", "503",
           "event", "Pipeline event: x"]  # overlapping needles on purpose


def _plain_hits(prefilter: Prefilter, blob: bytes, lo: int, hi: int) -> list[int]:
    hits = []
    for needle in prefilter.byte_needles:
        pos = blob.find(needle, lo, hi)
        while pos >= 0:
            hits.append(pos)
            pos = blob.find(needle, pos + 1, hi)
    hits += [m.start() for m in re.compile(REQUEST_ERRORS.encode()).finditer(blob, lo, hi)]
    return sorted(hits)


def _lines(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    pieces = ["recv failed: TimeoutError", 'they say \\"hi\\"', "na\\u00efve", "naïve",
              "a\\u003cb\\u003e\\u0026\\u0027c", "a\\u003Cb\\u003E\\u0026\\u0027c", "GET /ws 403",
              "Pipeline event: x", "SELECT 1", "ok", "Session ok", "tevent"]
    out = []
    for i in range(count):
        msg = " ".join(rng.choice(pieces) for _ in range(rng.randint(0, 3)))
        status = rng.choice(["", ', "status": 503', ',"status":404', ', "status": 200',
                             ', "status": 4001', ',"status":"5xx"'])
        out.append(f'{{"insertId":"{i}","jsonPayload":{{"message":"{msg}"{status}}}}}')
    return out


def test_automaton_hits_equal_one_find_per_needle_and_the_request_regex(engine):
    prefilter = Prefilter(NEEDLES)
    blob = "\n".join(_lines(3, 4000)).encode() + b"\n"
    for lo, hi in [(0, len(blob)), (1001, len(blob) - 999), (17, 17), (5, 40)]:
        assert prefilter.hit_positions(blob, lo, hi) == _plain_hits(prefilter, blob, lo, hi)
    assert prefilter.hit_positions(blob)  # the sample does hold hits
    engines = {"hyperscan": "_HyperscanLiterals", "aho-corasick": "_AhoCorasickLiterals"}
    assert type(prefilter._matcher()[0]).__name__ == engines[engine]


def test_line_matchers_agree_with_plain_substring_tests(engine):
    prefilter = Prefilter(NEEDLES)
    request = re.compile(REQUEST_ERRORS)
    for line in _lines(5, 2000):
        plain = any(n in line for n in prefilter.text_needles) or request.search(line) is not None
        assert prefilter.match_text(line) == plain, line
        assert prefilter.match_bytes(line.encode()) == plain, line


def test_no_literals_match_nothing(engine):
    assert Prefilter([]).hit_positions(b'{"status": 503}') == []
    assert not Prefilter([]).match_bytes(b'{"status": 503}')
    assert not Prefilter([""]).match_text("anything")


def test_worker_copy_finds_the_same_hits(engine):
    import pickle

    prefilter = Prefilter(NEEDLES)
    blob = "\n".join(_lines(9, 500)).encode()
    before = prefilter.hit_positions(blob)
    assert pickle.loads(pickle.dumps(prefilter)).hit_positions(blob) == before


def _gzip_cases(tmp_path) -> dict[str, bytes]:
    """Sound, multi-member, cut, bit-flipped, bad CRC, trailing junk: big enough for many reads."""
    import gzip

    text = "\n".join(_lines(11, 8000)).encode() + b"\n"
    whole = gzip.compress(text, mtime=0)
    flipped = bytearray(whole)
    flipped[len(whole) - 300] ^= 0x55  # near the end: little garbage, so the cause is listed
    bad_crc = bytearray(whole)
    bad_crc[-6] ^= 0xFF
    return {
        "sound": whole,
        "members": gzip.compress(text[:200001], mtime=0) + b"\0\0" + gzip.compress(text[200001:]),
        "cut": whole[: len(whole) * 2 // 3],
        "flipped": bytes(flipped),
        "bad_crc": bytes(bad_crc),
        "junk_tail": whole + b"not gzip at all",
    }


def _read_all(path: str, stdin=None):
    from diagnose.model import ParseStats
    from diagnose.sources import read_records

    stats = ParseStats()
    records = list(read_records([path], prefilter=Prefilter(NEEDLES), stats=stats, stdin=stdin))
    return [(r.line, r.text, r.insert_id) for r in records], (
        stats.records_read, stats.ignored, [(u.line, u.reason) for u in stats.unparsed])


def test_gzip_read_in_small_steps_gives_what_one_big_read_gives(tmp_path):
    """ISA-L holds output back once it has taken all the input (24 KB here with 16 KB
    reads): a cut file read in small steps lost it to the truncation error."""
    from diagnose.sources.stream import ByteCounter, Input

    for name, blob in _gzip_cases(tmp_path).items():
        path = tmp_path / f"{name}.jsonl.gz"
        path.write_bytes(blob)
        answers = set()
        for step in (1000, 16_384, 100_000, 8 << 20):
            with open(path, "rb") as f:
                source = Input(ByteCounter(f, None, 0))
                chunks = []
                while data := source.read(step):
                    chunks.append(data)
            answers.add((b"".join(chunks), source.error))
        assert len(answers) == 1, name


def test_isal_gzip_reads_exactly_what_zlib_reads(tmp_path, monkeypatch):
    import diagnose.sources.stream as stream

    assert stream._fast_zlib is not None  # isal is installed: the fast path is what runs
    for name, blob in _gzip_cases(tmp_path).items():
        path = tmp_path / f"{name}.jsonl.gz"
        path.write_bytes(blob)
        fast = _read_all(str(path))
        with monkeypatch.context() as m:
            m.setattr(stream, "_fast_zlib", None)
            plain = _read_all(str(path))
        assert fast == plain, name
        assert fast[0], name  # records were read before any damage
        if name not in ("sound", "members"):
            assert any("gzip" in reason for _, reason in fast[1][2]), name


def _scratch_files() -> list[str]:
    import glob
    import tempfile

    from diagnose.spill import _prefix

    return glob.glob(f"{tempfile.gettempdir()}/{_prefix()}*")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_gzip_spooled_to_the_workers_reads_what_the_main_process_reads(
        tmp_path, monkeypatch, workers):
    import gzip

    import diagnose.sources.spooled as spooled
    from diagnose.sources.parallel import WORKERS_ENV

    monkeypatch.setenv(WORKERS_ENV, workers)
    text = "\n".join(_lines(11, 8000)).encode()
    cases = {**_gzip_cases(tmp_path),
             "blank_head_no_last_newline": gzip.compress(b"\n\n" + text + b"\nnot json")}
    for name, blob in cases.items():
        path = tmp_path / f"{name}.jsonl.gz"
        path.write_bytes(blob)
        with monkeypatch.context() as m:
            m.setattr(spooled, "MIN_COMPRESSED", 1 << 40)  # the main process reads it all
            serial = _read_all(str(path))
        with monkeypatch.context() as m:
            m.setattr(spooled, "MIN_COMPRESSED", 0)
            m.setattr(spooled, "SPOOL", 50_000)  # a dozen files, cut mid-read
            m.setattr(spooled, "READ", 16_384)
            calls = []
            m.setattr(spooled, "read_jsonl_spooled", _counted(spooled.read_jsonl_spooled, calls))
            m.setattr("diagnose.sources.reader.read_jsonl_spooled", spooled.read_jsonl_spooled)
            spooled_read = _read_all(str(path))
        assert calls, name  # the workers did read it
        assert spooled_read == serial, name
        assert _scratch_files() == [], name
    assert serial[1][2][-1] == (8003, "bad JSON: Expecting value (column 1)")


def _counted(function, calls: list):
    def counted(*args, **kwargs):
        calls.append(1)
        return function(*args, **kwargs)
    return counted


def test_a_worker_dying_mid_read_leaves_the_answer_unchanged(tmp_path, monkeypatch):
    from datetime import UTC

    from diagnose.model import ParseStats
    from diagnose.sources.context import SourceContext
    from diagnose.sources.parallel import WORKERS_ENV, WorkerPool, read_jsonl_parallel

    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(_lines(13, 6000)) + "\n")
    serial = _read_all(str(path))
    monkeypatch.setenv(WORKERS_ENV, "2")
    pool = WorkerPool()
    receive = pool.receive

    def receive_then_die(worker: int):
        result = receive(worker)
        for proc in pool.procs:  # both die after the first answer: the rest is read here
            proc.kill()
            proc.wait()
        return result

    pool.receive = receive_then_die
    stats = ParseStats()
    try:
        ctx = SourceContext(str(path), stats, Prefilter(NEEDLES), UTC)
        records = list(read_jsonl_parallel(str(path), ctx, pool, None, 0, span=48 << 10))
    finally:
        pool.close()
    assert pool.broken
    got = [(r.line, r.text, r.insert_id) for r in records], (
        stats.records_read, stats.ignored, [(u.line, u.reason) for u in stats.unparsed])
    assert got == serial


def test_gzip_on_a_pipe_is_read_with_zlib(tmp_path):
    import io

    blob = _gzip_cases(tmp_path)["flipped"]
    path = tmp_path / "f.jsonl.gz"
    path.write_bytes(blob)

    class Pipe(io.RawIOBase):  # not seekable, like stdin from a pipe
        def __init__(self):
            self.inner = io.BytesIO(blob)

        def readable(self):
            return True

        def readinto(self, buf):
            data = self.inner.read(len(buf))
            buf[: len(data)] = data
            return len(data)

    assert _read_all("-", stdin=Pipe()) [1] == _read_all(str(path))[1]


def test_any_worker_count_reads_what_the_serial_reader_reads(tmp_path, monkeypatch):
    from datetime import UTC

    from diagnose.model import ParseStats
    from diagnose.sources.context import SourceContext
    from diagnose.sources.parallel import WORKERS_ENV, WorkerPool, read_jsonl_parallel

    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(_lines(13, 6000)) + "\nnot json\n")
    serial = _read_all(str(path))
    monkeypatch.setattr("diagnose.sources.worker.PIECE", 5)  # in-process: many pieces a block
    for workers in ("0", "1", "3"):
        monkeypatch.setenv(WORKERS_ENV, workers)
        stats = ParseStats()
        pool = WorkerPool()
        assert pool.size == int(workers)
        try:
            ctx = SourceContext(str(path), stats, Prefilter(NEEDLES), UTC)
            records = list(read_jsonl_parallel(str(path), ctx, pool, None, 0, span=48 << 10))
        finally:
            pool.close()
        assert not pool.broken or workers == "0"
        got = [(r.line, r.text, r.insert_id) for r in records], (
            stats.records_read, stats.ignored, [(u.line, u.reason) for u in stats.unparsed])
        assert got == serial, workers
    assert serial[1][2] == [(6001, "bad JSON: Expecting value (column 1)")]


def test_worker_count_follows_the_cpus_unless_set(monkeypatch):
    import os

    from diagnose.sources.parallel import WORKERS_ENV, default_workers

    expected = max(1, min(len(os.sched_getaffinity(0)), 16))  # one worker per CPU
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert default_workers() == expected
    monkeypatch.setenv(WORKERS_ENV, "lots")  # not a number: the CPU count
    assert default_workers() == expected
    monkeypatch.setenv(WORKERS_ENV, "1")
    assert default_workers() == 1


def test_bounded_indent_lookup_answers_as_the_whole_line_lookup():
    from types import SimpleNamespace

    from diagnose.sources.jsonarray import _indent_before

    def plain(text: str, pos: int) -> str | None:  # the lookup before it was bounded
        nl = text.rfind("\n", 0, pos)
        lead = text[nl + 1 : pos]
        return lead if nl >= 0 and not lead.strip() else None

    rng = random.Random(17)
    alphabet = [" ", "\t", "\n", "\u00a0", "\u2003", "\ufeff", "x", "{", ",", "\r"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) * rng.choice([1, 1, 2, 300]) for _ in range(12))
        pos = rng.randrange(len(text) + 1)
        assert _indent_before(SimpleNamespace(text=text, pos=pos)) == plain(text, pos), (text, pos)


def test_orjson_decoding_reads_every_line_as_the_standard_library_does():
    """orjson decodes the lines the prefilter picked; whatever it refuses goes to json, so the
    records and every error message must be json's, line for line."""
    import json
    from datetime import UTC

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from diagnose.sources.jsonl import _decode_plain, decode_raw

    def same(raw: bytes) -> None:
        assert decode_raw(raw, "f", 1, UTC) == _decode_plain(raw, "f", 1, UTC), raw

    entry = {"timestamp": "2026-12-01T10:00:00.123456Z", "severity": "ERROR",
             "jsonPayload": {"message": "MessageRouter detected unknown message type: x"}}
    tricky = [
        json.dumps(entry).encode(),
        json.dumps(entry, ensure_ascii=False).replace("x", "é\u2028😀").encode(),
        b'{"textPayload": "a", "n": NaN}', b'{"textPayload": "\\ud800 lone"}',
        b'{"textPayload": "big", "n": 123456789012345678901234567890}',
        b'{"textPayload": "deep", "x": ' + b"[" * 3000 + b"]" * 3000 + b"}",
        b'{"textPayload": "bad utf8 \xff"}', b'\xef\xbb\xbf{"textPayload": "bom"}',
        b'{"textPayload": "dup", "textPayload": "second"}', b'{"a": 1e400}', b"[1, 2]",
        b'{"textPayload": "trailing"} x', b'{"textPayload": 5}', b"{", b'"just a string"',
    ]
    for raw in tricky:
        same(raw)

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20)

    @settings(max_examples=300, deadline=None)
    @given(payload=st.dictionaries(st.text(max_size=12), json_values, max_size=6),
           message=st.text(max_size=40))
    def check(payload, message):
        doc = {"timestamp": "2026-12-01T10:00:00Z", "jsonPayload": {**payload, "message": message}}
        same(json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass"))

    check()


def test_records_and_events_cross_processes_whole():
    """Records (worker → main) and events (the sort's spill files) pickle as constructor calls:
    every field comes back, the defaults' opposites included."""
    import pickle
    from datetime import UTC, datetime

    from diagnose.model import Event, RawRecord

    record = RawRecord("a.jsonl", 7, datetime(2025, 9, 8, tzinfo=UTC), "ERROR", "boom\n",
                       {"insert_id": "x1", "logger": "ws"}, "x1")
    event = Event("router.unknown_ack", datetime(2025, 9, 8, tzinfo=UTC), {"user": "u1"},
                  {"message_type": "execute_agent"}, "a.jsonl:7", "router-unknown-ack",
                  "WARNING", "Sending ack", "x1", False)
    for item in (record, event, RawRecord("s", 0, None, None, "")):
        copy = pickle.loads(pickle.dumps(item, pickle.HIGHEST_PROTOCOL))
        assert copy == item and type(copy) is type(item)


@pytest.mark.parametrize("pattern, literal", [
    (r"EMISSION FAILED: (?P<event>\w+) send failed \(run_id=", " send failed (run_id="),
    (r"(?:Found|Selected) handler (?:\[\d+\] )?(?P<handler>\w+)", " handler "),
    (r"ab?cd", "cd"),  # an optional character ends a run
    (r"a\.b\nc", "a.b\nc"),
    (r"Heartbeat(?: failed)? for (?P<c>\S+)", "Heartbeat"),  # the longest run
    (r"naïve (?P<x>é+)", "naïve "),
    (r"(?i)timeout", ""),  # case-insensitive: no literal
    (r"(?i:time)out", "out"),
    (r"timeout|deadline", ""),  # alternatives: neither is required
    (r"\x{41}BC", ""),  # RE2 syntax the stdlib parser refuses: no literal, never a wrong one
    (r"\pL+ failed", ""),
])
def test_required_literal_is_text_every_match_holds(pattern, literal):
    from diagnose.rulepack.regex_safety import required_literal

    assert required_literal(pattern) == literal


def test_skipping_patterns_by_their_literal_changes_no_match():
    """Every shipped rule, on every sample and counter-sample of every rule: the same groups
    with the per-pattern literal check as without it."""
    from dataclasses import replace

    from diagnose.rulepack import apply_event_rule, load_rule_packs

    rules = load_rule_packs().event_rules
    texts = [(s.text, s.fields, s.severity) for r in rules for s in r.samples + r.counter_samples]
    for rule in rules:
        ungated = replace(rule)
        ungated.pattern_literals = [""] * len(rule.patterns)
        for text, fields, severity in texts:
            assert (apply_event_rule(rule, text, fields, severity)
                    == apply_event_rule(ungated, text, fields, severity)), (rule.id, text)


@pytest.mark.parametrize("sample", ["auth-rejection-hour.jsonl", "healthy-run.jsonl",
                                    "staging-hour.jsonl.gz", "crash-loop-hour.json",
                                    "loguru-text.log"])
def test_reader_workers_match_records_as_the_parse_stage_does(sample, tmp_path, monkeypatch):
    """Large inputs are matched against the event rules by the reader workers, and only what
    later stages read is sent back: the report is the one the main process's matching gives,
    for JSONL, gcloud arrays and text, cut in many small ranges here."""
    import gzip
    import shutil
    from pathlib import Path

    from diagnose.api import load_rules
    from diagnose.parse import RecordMatcher
    from diagnose.pipeline import AnalyzeOptions, analyze
    from diagnose.render.json import render_json
    from diagnose.sources import parallel, prettyparallel, textparallel

    source = Path(__file__).parent.parent / "samples" / sample
    path = tmp_path / sample.removesuffix(".gz")  # workers read uncompressed files only
    with (gzip.open(source) if sample.endswith(".gz") else open(source, "rb")) as f, \
            open(path, "wb") as out:
        shutil.copyfileobj(f, out)
    small = 1 << 14
    monkeypatch.setattr(parallel, "MIN_SIZE", 0)
    monkeypatch.setattr(parallel.read_jsonl_parallel, "__defaults__", (small,))
    monkeypatch.setattr(prettyparallel.pretty_ranges, "__defaults__", (small,))
    monkeypatch.setattr(textparallel.text_ranges, "__defaults__", (small, small))
    monkeypatch.setattr(textparallel, "BLOCK", small)
    monkeypatch.setattr(prettyparallel, "BLOCK", small)
    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    ruleset = load_rules([], True)
    matched_here = []
    events = RecordMatcher.events
    monkeypatch.setattr(RecordMatcher, "events",
                        lambda self, record: matched_here.append(1) or events(self, record))

    def report() -> dict:
        import json

        return json.loads(render_json(analyze([str(path)], ruleset, AnalyzeOptions())))

    by_workers = report()
    assert matched_here == []  # every record came back matched
    monkeypatch.setattr(RecordMatcher, "blob", lambda self: None)  # no matcher for the workers
    by_parse_stage = report()
    assert matched_here  # the parse stage matched them this time
    assert by_workers == by_parse_stage
    assert by_workers["stats"]["events"] > 10


def test_workers_start_early_only_for_inputs_they_will_read(tmp_path, monkeypatch):
    """Started before the rules load for a plain file past MIN_SIZE; not for small files,
    compressed ones (inflated in the main process) or stdin; closed when the run ends."""
    import gzip

    from diagnose.sources import parallel

    monkeypatch.setattr(parallel, "MIN_SIZE", 1000)
    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    big, small, packed = tmp_path / "big.jsonl", tmp_path / "small.jsonl", tmp_path / "big.gz"
    big.write_text("\n".join(_lines(1, 50)) + "\n")
    small.write_text(_lines(1, 1)[0] + "\n")
    packed.write_bytes(gzip.compress(big.read_bytes(), compresslevel=0))
    for specs in ([str(small)], [str(packed)], ["-"], [str(tmp_path / "missing")]):
        with parallel.early_pool(specs) as pool:
            assert pool is None, specs
    with parallel.early_pool([str(small), str(big)]) as pool:
        assert pool is not None and len(pool.procs) == 2
        procs = list(pool.procs)
    assert pool.procs == [] and all(p.poll() is not None for p in procs)


def test_workers_import_this_package_whatever_the_working_directory(tmp_path, monkeypatch):
    """A `diagnose` folder in the working directory (a checkout of another version) once
    replaced this package in the workers: `python -c` puts the working directory first on the
    path. Workers start with -P, so they answer with this package's code."""
    from datetime import UTC

    from diagnose.sources.parallel import WorkerPool

    impostor = tmp_path / "cwd" / "diagnose"
    impostor.mkdir(parents=True)
    (impostor / "__init__.py").write_text("raise ImportError('the wrong diagnose')\n")
    monkeypatch.chdir(impostor.parent)
    log = tmp_path / "app.jsonl"
    log.write_text("\n".join(_lines(7, 200)) + "\n")
    pool = WorkerPool(1)
    try:
        assert pool.start()
        pool.send(0, (b"jsonl", str(log), 0, log.stat().st_size, Prefilter(NEEDLES), UTC, None))
        blocks = pool.receive(0)
    finally:
        pool.close()
    assert sum(records for records, *_ in blocks) == 200


@pytest.mark.parametrize("size", [2_000, 200_000])  # below and above jsonl.VECTOR_MIN
def test_blocks_classified_uncounted_answer_as_counted_ones(size):
    """Worker ranges leave newlines uncounted (-1) until classify_block counts them."""
    from diagnose.sources.jsonl import VECTOR_MIN, classify_block

    prefilter = Prefilter(NEEDLES)
    lines = _lines(size, size // 40)
    body = "\n".join(lines).encode()
    assert (len(body) > VECTOR_MIN) == (size > VECTOR_MIN)
    for tail in (b"\n", b"", b"\nnot json\n", b"\n\n"):
        data = b"xx" + body + tail
        lo, hi = 2, len(data)
        counted = data.count(b"\n", lo, hi)
        for prefilter_or_none in (prefilter, None):
            want = classify_block(data, lo, hi, counted, prefilter_or_none)
            assert classify_block(data, lo, hi, -1, prefilter_or_none) == want
            assert want[2] == counted


def test_vectorised_entry_ends_answer_as_splitting_the_block():
    from itertools import accumulate

    from diagnose.sources.bigram import ends_of

    def split_ends(data: bytes, start: int, marker: bytes) -> list[int]:
        parts = data[start:].split(marker)
        return list(accumulate(map(len, parts[:-1]),
                               lambda at, size: at + size + len(marker), initial=start))[1:]

    rng = random.Random(7)
    pieces = [b"\n  }", b"\n    }", b"  }", b"\n}", b"}", b"\n", b" ", b'{"a": 1}', b"x" * 50,
              b"\n  },\n  {"]
    for _ in range(2000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40)))
        for marker in (b"\n  }", b"\n}"):
            start = rng.randrange(len(data) + 1)
            assert ends_of(data, start, marker) == split_ends(data, start, marker), (data, start)


# --- event matching: the parse stage's fast path against the definition ----------------------


def _reference_events(record, ruleset) -> list[tuple]:
    """Every rule in rule order through apply_event_rule (which tests the prefilter literals
    itself), its groups split as events carry them: what RecordMatcher must find."""
    from diagnose.rulepack import apply_event_rule
    from diagnose.rulepack.model import ID_GROUPS

    out = []
    for rule in ruleset.event_rules:
        groups = apply_event_rule(rule, record.text, record.fields, record.severity)
        if groups is None:
            continue
        ids = {k: v for k, v in groups.items() if k in ID_GROUPS and v}
        attrs = {k: v for k, v in groups.items() if k not in ID_GROUPS and v is not None}
        for scope, name in ruleset.scope_fields.items():
            if record.fields.get(name) and scope not in ids:
                ids[scope] = record.fields[name]
        out.append((rule.id, rule.emits, ids, attrs, record.provenance, record.insert_id))
    return out


def _every_record_we_have(ruleset):
    """Records of every sample and test input (no prefilter), the rules' own samples, and
    the real quoted lines when the team's material is there."""
    from diagnose.model import ParseStats, RawRecord
    from diagnose.sources import read_records

    repo = Path(__file__).parent.parent
    paths = sorted(str(p) for p in (repo / "samples").rglob("*")
                   if p.is_file() and p.suffix in (".json", ".jsonl", ".log", ".gz", ".txt"))
    paths += sorted(str(p) for p in (repo / "tests" / "data" / "sources").iterdir())
    for path in paths:
        yield from read_records([path], prefilter=None, stats=ParseStats())
    for rule in ruleset.event_rules:
        for n, sample in enumerate([*rule.samples, *rule.counter_samples]):
            yield RawRecord(rule.id, n + 1, None, sample.severity, sample.text,
                            dict(sample.fields))
    quoted = repo.parent / "shared" / "real" / "quoted-lines.jsonl"
    if quoted.is_file():
        for n, line in enumerate(quoted.read_text(encoding="utf-8").splitlines()):
            rec = json.loads(line)
            text = rec.get("line") or rec.get("text") or ""
            yield RawRecord("quoted", n + 1, None, rec.get("severity"), text, {})


def test_record_matcher_finds_what_every_rule_defines():
    from diagnose.api import load_rules
    from diagnose.parse import RecordMatcher

    ruleset = load_rules([], True)
    matcher = RecordMatcher.of(ruleset)
    checked = with_events = 0
    for record in _every_record_we_have(ruleset):
        found = [(e.rule_id, e.kind, e.ids, e.attrs, e.provenance, e.insert_id)
                 for e in matcher.events(record)]
        assert found == _reference_events(record, ruleset), record.provenance
        checked += 1
        with_events += bool(found)
    assert checked > 2_000 and with_events > 500
