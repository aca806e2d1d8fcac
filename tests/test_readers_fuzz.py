"""A fuzz target per reader (issue 12): mutated inputs of every shape, through the real CLI.

For each reader a valid seed in its shape is mutated (bytes flipped, cut, spliced, repeated,
line ends changed, hostile values inserted), then analyzed. The properties are what a user relies
on: no traceback, an exit code in {0, 1, 3}, and accounting that adds up (analyze_json checks
all three). Examples are few, small and derandomized, so the module stays within seconds; longer
runs: READERS_FUZZ_EXAMPLES=500 .venv/bin/python -m pytest tests/test_readers_fuzz.py
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hardening import analyze_json

EXAMPLES = int(os.environ.get("READERS_FUZZ_EXAMPLES", "12"))  # more for a long run, by hand
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _entry(i: int, text: str) -> dict:
    return {"insertId": f"f{i:04d}", "timestamp": f"2025-09-07T13:20:{i % 60:02d}.5Z",
            "severity": "ERROR" if i % 3 == 0 else "INFO",
            "logName": "projects/p/logs/run.googleapis.com%2Fstderr",
            "resource": {"type": "cloud_run_revision", "labels": {"service_name": "backend"}},
            "textPayload": text}


_TEXTS = ["WebSocket connection rejected in staging: Invalid JWT=REDACTED", "TimeoutError",
          "Worker failed to boot.", "Container called exit(3).", "routine ok"]
_ENTRIES = [_entry(i, _TEXTS[i % len(_TEXTS)]) for i in range(12)]
_REQUEST = {"insertId": "req1", "timestamp": "2025-09-07T13:20:59Z", "severity": "ERROR",
            "httpRequest": {"requestMethod": "GET", "requestUrl": "https://x/ws", "status": 403,
                            "latency": "0.5s", "userAgent": "e2e"}}

SEEDS: dict[str, bytes] = {
    "jsonl": "".join(json.dumps(e) + "\n" for e in [*_ENTRIES, _REQUEST]).encode(),
    "compact-array": json.dumps([*_ENTRIES, _REQUEST]).encode(),
    "pretty-array": json.dumps([*_ENTRIES, _REQUEST], indent=2).encode(),
    "object-stream": "".join(json.dumps(e, indent=2) + "\n" for e in _ENTRIES).encode(),
    "wrapper": json.dumps({"fetch_time": "2025-09-15T13:03:25", "total_logs": 12,
                           "logs_by_severity": {"ERROR": 4}, "raw_logs": _ENTRIES},
                          indent=2).encode(),
    "snake-case": json.dumps([{"insert_id": e["insertId"], "timestamp": e["timestamp"],
                               "severity": e["severity"], "text_payload": e["textPayload"]}
                              for e in _ENTRIES]).encode(),
    "loguru": "".join(
        f"2025-08-25 16:24:{i:02d}.285 | {'ERROR' if i % 2 else 'INFO':<8} | app.mod:f:{i} | "
        f"<red>{_TEXTS[i % len(_TEXTS)]}</red>\n" + ("Traceback (most recent call last):\n"
                                                    "ValueError: x\n" if i % 4 == 0 else "")
        for i in range(12)).encode(),
    "gunicorn": "".join(f"[2025-09-15 20:03:{i:02d} +0000] [{i}] [ERROR] {_TEXTS[i % 5]}\n"
                        for i in range(12)).encode(),
    "table": ("TIMESTAMP                    SEVERITY  TEXT_PAYLOAD\n" + "".join(
        f"2025-09-01T00:47:{i:02d}.468879Z  ERROR     {_TEXTS[i % 5]}\n"
        "                                       continued row\n" for i in range(12))).encode(),
    "table-columns": open(Path(__file__).parent / "data" / "sources" / "gcloud_table_columns.txt",
                          "rb").read(),
    "split-loguru": open(Path(__file__).parent / "data" / "sources"
                         / "loguru_split_oldest_first.json", "rb").read(),
    "pytest": ("tests/e2e/test_x.py::test_a FAILED [ 33%]\n"
               "E   websockets.exceptions.InvalidStatus: server rejected WebSocket connection: "
               "HTTP 403\nERROR:netra_backend.app.x:Worker failed\n"
               "TimeoutError: timed out during opening handshake\n" * 3).encode(),
}
HOSTILE = [b"0001-01-01T00:00:00+05:00", b"9999-12-31T23:59:59-05:00", b"9" * 5000,
           b"\\u0027", b"\\ud800", b"\x00", b"\r", b"\n" * 50, b"[", b"{", b"]", b"}", b'"',
           b"\x1b[31m", b"<red>", b"\xff\xfe"]


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete", "repeat", "cr"]))
        if kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(HOSTILE) | st.binary(max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 200))]
        else:
            data[:] = data.replace(b"\n", b"\r")
    return bytes(data)


def _check(run_cli, data: bytes, compress: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="diagnose-readers-fuzz-"))
    try:
        path = folder / "input.log"
        path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
        analyze_json(run_cli, path)
    finally:
        shutil.rmtree(folder)


def _target(shape: str):
    @FUZZ
    @given(data=mutated(SEEDS[shape]), compress=st.booleans())
    def fuzz(run_cli, data, compress):
        _check(run_cli, data, compress)

    fuzz.__name__ = f"test_fuzz_{shape.replace('-', '_')}_reader"
    fuzz.__doc__ = f"Mutated {shape} input: no traceback, exit 0/1/3, accounting adds up."
    return fuzz


for _shape in SEEDS:
    globals()[f"test_fuzz_{_shape.replace('-', '_')}_reader"] = _target(_shape)


def test_every_seed_is_read_whole(run_cli):
    """The seeds themselves are valid: the fuzz starts from inputs each reader reads fully."""
    for shape, seed in SEEDS.items():
        folder = Path(tempfile.mkdtemp(prefix="diagnose-readers-seed-"))
        try:
            path = folder / "input.log"
            path.write_bytes(seed)
            code, doc = analyze_json(run_cli, path)
            assert doc["stats"]["unparsed_total"] == sum(
                1 for u in doc["stats"]["unparsed"] if "no time stamp" in u["reason"]), shape
            assert doc["stats"]["records_read"] >= 3, shape
        finally:
            shutil.rmtree(folder)
