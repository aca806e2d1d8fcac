"""The real backend's quoted log lines become events of the right kind (issue 11).

Every line of ../shared/real/quoted-lines.jsonl (quoted from the backend's own incident reports,
each labelled with its failure class) is wrapped in a Cloud Run LogEntry the way
shared/real/coverage.py does, read by the real readers and parsed by the real rule pack. A line
counts only when it yields an event of a kind its class allows, so a rule that fires on the wrong
vocabulary does not count. Noise and healthy lines must never yield a kind a finding can use.
"""

from __future__ import annotations

import collections
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from diagnose.pipeline import analyze
from diagnose.rulepack.loader import load_rule_packs

REPO = Path(__file__).resolve().parent.parent
QUOTED = REPO.parent / "shared" / "real" / "quoted-lines.jsonl"
TARGET = 0.90

# class (netra.md §6.1) → event kinds that count as recognising a line of that class
ALLOWED: dict[str, tuple[str, ...]] = {
    "RT-UNK": ("router.unknown_type", "router.unknown_ack"),
    "RT-MIS": ("router.no_handler", "router.ack_only", "handler.rejected"),
    "RT-CRASH": ("router.error", "handler.error"),
    "EV-NOBRIDGE": ("emission.no_bridge", "emission.failed"),
    "EV-ADDR": ("delivery.failed", "emission.failed"),
    "EV-FAKE": ("events.fake",),
    "AUTH": ("auth.failed", "auth.rejected", "auth.service_error"),
    "CONN-RACE": ("connection.race",),
    "CONN-1011": ("connection.error",),
    "CONN-RES": ("connection.limit",),
    "HB": ("heartbeat.timeout",),
    "AG-TIMEOUT": ("agent.timeout", "agent.dead"),
    "AG-FAIL": ("agent.failed",),
    "STARTUP": ("startup.", "http.ws_error", "http.unavailable", "http.server_error"),
    "CLIENT": ("client.",),
    "LOG": ("log.formatter_error",),
    "NOISE": ("noise.",),
    "OK": ("auth.succeeded", "connection.opened", "connection.established"),
}
# kinds a benign line may yield: none of them can ever become a cause
BENIGN = ("noise.", "auth.succeeded", "connection.")
DEFAULT_SEVERITY = {"NOISE": "WARNING", "OK": "INFO", "CLIENT": "ERROR"}
BASE = datetime(2025, 9, 15, 20, 0, 0, tzinfo=UTC)


def _allowed(cls: str, kind: str) -> bool:
    return any(kind == a or (a.endswith(".") and kind.startswith(a)) for a in ALLOWED[cls])


def _entry(rec: dict, n: int) -> dict:
    """A minimal Cloud Run LogEntry, as coverage.py builds it (message, timestamp, severity)."""
    ts = (BASE + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    severity = (rec.get("severity") or DEFAULT_SEVERITY.get(rec["class"], "ERROR")).upper()
    severity = "WARNING" if severity == "WARN" else severity
    if severity not in ("DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL",
                        "ALERT", "EMERGENCY"):
        severity = "ERROR"
    return {
        "insertId": f"quoted{n:05d}",
        "logName": "projects/netra-staging/logs/run.googleapis.com%2Fstderr",
        "resource": {"type": "cloud_run_revision", "labels": {
            "service_name": "netra-backend-staging",
            "revision_name": "netra-backend-staging-00704-ds8"}},
        "labels": {"instanceId": "0069c7a9quoted"},
        "timestamp": ts,
        "severity": severity,
        "jsonPayload": {"message": rec["message"], "timestamp": ts,
                        "labels": {"module": "netra_backend.app.quoted", "function": "quoted",
                                   "line": "1"}},
    }


@pytest.fixture(scope="module")
def kinds_per_line(tmp_path_factory):
    """(record, event kinds) for every quoted line, each line analysed on its own."""
    if not QUOTED.is_file():
        pytest.skip(f"real quoted lines not present at {QUOTED} (shared material of the team)")
    records = [json.loads(line) for line in QUOTED.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    ruleset = load_rule_packs()
    folder = tmp_path_factory.mktemp("quoted")
    result = []
    for n, rec in enumerate(records):
        path = folder / f"{n:05d}.jsonl"
        path.write_text(json.dumps(_entry(rec, n)) + "\n", encoding="utf-8")
        report = analyze([str(path)], ruleset)
        result.append((rec, dict(report.sections["event_counts"])))
    return result


def _table(rows) -> tuple[str, int, int]:
    per_class = collections.defaultdict(lambda: [0, 0])
    misses = []
    for rec, kinds in rows:
        ok = any(_allowed(rec["class"], k) for k in kinds)
        per_class[rec["class"]][0] += ok
        per_class[rec["class"]][1] += 1
        if not ok:
            misses.append(f"  {rec['class']}: {sorted(kinds) or '-'} ← {rec['message'][:110]}")
    lines = [f"{c:12} {h:3}/{t:<3} {100 * h / t:4.0f}%" for c, (h, t) in sorted(per_class.items())]
    hit = sum(h for h, _ in per_class.values())
    total = sum(t for _, t in per_class.values())
    text = "\n".join([*lines, f"{'all':12} {hit:3}/{total:<3} {100 * hit / total:4.0f}%",
                      "misses:", *misses])
    return text, hit, total


def test_most_real_lines_yield_an_event_of_their_class(kinds_per_line):
    text, hit, total = _table(kinds_per_line)
    print("\nreal quoted lines → event of the expected kind, per class\n" + text)
    assert hit >= TARGET * total, f"only {hit}/{total} real lines recognised:\n{text}"


def test_noise_and_healthy_lines_never_yield_a_failure_kind(kinds_per_line):
    bad = [f"{rec['class']}: {sorted(kinds)} ← {rec['message'][:110]}"
           for rec, kinds in kinds_per_line
           if rec["class"] in ("NOISE", "OK")
           and any(not k.startswith(BENIGN) for k in kinds)]
    assert not bad, "benign lines yield failure kinds:\n" + "\n".join(bad)


def test_every_class_has_a_recognised_line(kinds_per_line):
    seen = {rec["class"] for rec, kinds in kinds_per_line
            if any(_allowed(rec["class"], k) for k in kinds)}
    missing = sorted({rec["class"] for rec, _ in kinds_per_line} - seen)
    assert not missing, f"classes with no recognised line: {missing}"
