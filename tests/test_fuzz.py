"""Property-based hardening (issue #6): for any bytes, any junk, any file order, any overlap.

Each example runs the real CLI on real files. Examples are few and small so the whole module
stays within a few seconds; the properties are what a user relies on: no traceback, parse
accounting that adds up, and a diagnosis that depends on the log entries, not on how the files
were cut, ordered, duplicated or polluted.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from pathlib import Path

from conftest import SAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hardening import analyze_json, diagnosis, scenario_entries

FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

ENTRIES = [json.dumps(e) for e in scenario_entries()]
JUNK_LINE = st.binary(max_size=300).map(lambda b: b.replace(b"\n", b" ").replace(b"\r", b" "))


def _workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="diagnose-fuzz-"))


@FAST
@given(data=st.binary(max_size=4096), compress=st.booleans())
def test_any_bytes_never_crash_and_are_accounted(run_cli, data, compress):
    folder = _workdir()
    try:
        path = folder / "input.log"
        path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
        analyze_json(run_cli, path)  # asserts: no traceback, exit 0/1/3, accounting adds up
    finally:
        shutil.rmtree(folder)


@FAST
@given(data=st.binary(min_size=1, max_size=4096), cut=st.floats(0.0, 1.0))
def test_any_cut_of_a_gzipped_export_never_crashes(run_cli, data, cut):
    """A real export, gzipped, cut anywhere, with arbitrary bytes glued on."""
    folder = _workdir()
    try:
        blob = gzip.compress(("\n".join(ENTRIES) + "\n").encode(), mtime=0)
        (folder / "cut.jsonl.gz").write_bytes(blob[: int(len(blob) * cut)] + data)
        analyze_json(run_cli, folder)
    finally:
        shutil.rmtree(folder)


@FAST
@given(junk=st.lists(st.tuples(st.integers(1, len(ENTRIES)), JUNK_LINE), max_size=8))
def test_junk_lines_in_an_export_change_nothing_but_the_accounting(run_cli, junk):
    folder = _workdir()
    try:
        clean = folder / "clean.jsonl"
        clean.write_bytes(("\n".join(ENTRIES) + "\n").encode())
        _, reference = analyze_json(run_cli, clean)
        lines = [e.encode() for e in ENTRIES]
        for at, line in sorted(junk, reverse=True):
            lines.insert(at, line)
        polluted = folder / "polluted.jsonl"
        polluted.write_bytes(b"\n".join(lines) + b"\n")
        _, doc = analyze_json(run_cli, polluted)
        assert diagnosis(doc) == diagnosis(reference)
        assert doc["stats"]["events"] == reference["stats"]["events"]
    finally:
        shutil.rmtree(folder)


@FAST
@given(order=st.permutations(range(len(ENTRIES))),
       cuts=st.tuples(st.integers(0, len(ENTRIES)), st.integers(0, len(ENTRIES))),
       repeat=st.sets(st.integers(0, len(ENTRIES) - 1), max_size=5))
def test_out_of_order_split_and_overlapping_exports_agree_with_sorted_input(
        run_cli, order, cuts, repeat):
    """Any order, any split into two files, any entries exported twice: the same diagnosis."""
    folder = _workdir()
    try:
        reference_file = folder / "sorted.jsonl"
        reference_file.write_text("\n".join(ENTRIES) + "\n", encoding="utf-8")
        _, reference = analyze_json(run_cli, reference_file)
        reference_file.unlink()
        shuffled = [ENTRIES[i] for i in order]
        lo, hi = sorted(cuts)
        first = shuffled[:hi] + [ENTRIES[i] for i in sorted(repeat)]
        second = shuffled[lo:]  # shuffled[lo:hi] is in both files
        (folder / "a.jsonl").write_text("\n".join(first) + "\n", encoding="utf-8")
        (folder / "b.jsonl").write_text("\n".join(second) + "\n", encoding="utf-8")
        _, doc = analyze_json(run_cli, folder)
        assert diagnosis(doc) == diagnosis(reference)
        assert doc["stats"]["records_read"] == len(first) + len(second)
    finally:
        shutil.rmtree(folder)


FILES = [
    SAMPLES / "incident-execute-agent" / "backend.json",
    SAMPLES / "incident-execute-agent" / "e2e-client.log",
    SAMPLES / "cloud-run-stdout.jsonl",
    SAMPLES / "loguru-text.log",
]


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(FILES), copy_first=st.booleans())
def test_json_report_bytes_do_not_depend_on_file_order(run_cli, order, copy_first):
    """Byte-identical JSON for any order of the same files (and of an overlapping copy)."""
    folder = _workdir()
    try:
        files = list(order)
        if copy_first:  # a second, identical export of one file: only duplicates change
            copy = folder / "again.jsonl"
            copy.write_bytes(SAMPLES.joinpath("cloud-run-stdout.jsonl").read_bytes())
            files.insert(len(files) // 2, copy)
            files_reversed = [*reversed(files)]
            a = run_cli("analyze", *files, "-f", "json").out
            b = run_cli("analyze", *files_reversed, "-f", "json").out
        else:
            a = run_cli("analyze", *FILES, "-f", "json").out
            b = run_cli("analyze", *files, "-f", "json").out
        assert a == b
        json.loads(a)
    finally:
        shutil.rmtree(folder)
