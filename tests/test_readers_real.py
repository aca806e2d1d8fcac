"""Every real export of the backend is read with zero silent loss (issue 11).

The exports live outside the repository (../shared/real/exports, read-only); the test is skipped
with a reason when they are absent. For each file the number of records read is checked against
the number of entries counted independently here (JSON entries, wrapped entries, stamped table
rows, non-blank console lines), and the accounting must add up through the real CLI.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from conftest import REPO
from test_hardening import analyze_json

REAL = REPO.parent / "shared" / "real"
EXPORTS = REAL / "exports"
EXPECTED = REAL / "expected-exports.json"
_STAMPED = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d")

pytestmark = pytest.mark.skipif(
    not EXPECTED.is_file(), reason=f"real exports not available at {EXPORTS}")


def _exports() -> list[str]:
    if not EXPECTED.is_file():
        return []
    return sorted(k for k in json.loads(EXPECTED.read_text()) if not k.startswith("_"))


def _raw(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _entries_in(path: Path) -> int:
    """How many log records the file holds, counted without the product's readers."""
    raw = _raw(path)
    text = raw.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        stamped = sum(1 for ln in lines if _STAMPED.match(ln))
        if stamped:  # a table or a log: one record per stamped row (the header is none)
            return stamped
        return len(lines)  # console output without stamps: every line is a record
    if isinstance(doc, list):
        return len(doc)
    lists = [v for v in doc.values() if isinstance(v, list)]  # a wrapper: its entry lists
    return sum(len(v) for v in lists)


@pytest.mark.parametrize("name", _exports())
def test_real_export_is_read_without_silent_loss(run_cli, name):
    path = EXPORTS / name
    code, doc = analyze_json(run_cli, path)  # no traceback, exit 0/1/3, accounting adds up
    stats = doc["stats"]
    assert stats["records_read"] == _entries_in(path), stats
    assert code != 3, "a real export is usable input"
    reader_reasons = [u["reason"] for u in stats["unparsed"]
                      if "carries no time stamp" not in u["reason"]]  # the core's, not a reader's
    assert reader_reasons == [], reader_reasons


def test_real_stub_that_is_not_logs_gives_what_the_engineer_expects(run_cli):
    expected = json.loads(EXPECTED.read_text())
    for name, want in expected.items():
        if name.startswith("_") or want.get("class") is not None:
            continue
        code, _ = analyze_json(run_cli, EXPORTS / name)
        assert code == want["expected_exit"], name
