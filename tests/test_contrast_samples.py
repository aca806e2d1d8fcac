"""The contrast section on real log lines: it must name what the failing connections share."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from conftest import SCENARIOS

FAILING_USER = "e2e-staging-49066fc8"
HEALTHY_USER = "staging-e2e-user-002"


def _blocks() -> tuple[list[str], list[str]]:
    """The unknown-type scenario split into its failing and its healthy connection's lines."""
    lines = (SCENARIOS / "routing-unknown-type.log").read_text(encoding="utf-8").splitlines()
    failing = [ln for ln in lines if FAILING_USER in ln or "e2e-stag" in ln
               or "unknown message type: execute_agent" in ln]
    healthy = [ln for ln in lines if ln not in failing]
    return failing, healthy


def _shifted(lines: list[str], user_from: str, user_to: str, minutes: int) -> list[str]:
    """The same connection for another client, later: new user, connection, thread and run ids."""
    out = []
    for line in lines:
        stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f") + timedelta(minutes=minutes)
        text = line[23:].replace(user_from, user_to)
        for form in ("user={}...", "ws_{}_"):  # the 8-character user prefix in auth lines and ids
            text = text.replace(form.format(user_from[:8]), form.format(user_to[:8]))
        for old in ("_28b0e073", "_6a1f9b20", "_4d2c8e19", "_9c0a7e55"):
            text = text.replace(old, f"{old[:-2]}{minutes:02d}")
        out.append(stamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + text)
    return out


def test_contrast_names_the_message_type_every_failure_sent(run_cli, tmp_path):
    failing, healthy = _blocks()
    log: list[str] = []
    for n in range(4):  # four clients send execute_agent, four send start_agent, same hour
        log += _shifted(failing, FAILING_USER, f"e2e-staging-0000000{n}", 2 * n)
        log += _shifted(healthy, HEALTHY_USER, f"e2e-staging-1000000{n}", 2 * n)
    path = tmp_path / "cohorts.log"
    path.write_text("\n".join(sorted(log)) + "\n", encoding="utf-8")
    doc = json.loads(run_cli("analyze", path, "-f", "json").out)
    assert doc["outcome_counts"] == {"routing_failure": 4, "healthy": 4}
    contrast = doc["contrast"]
    assert (contrast["failing"], contrast["healthy"]) == (4, 4)
    top = contrast["rows"][0]
    assert (top["attribute"], top["value"]) == ("message_type", "execute_agent")
    assert (top["failing_count"], top["failing_share"], top["healthy_count"]) == (4, 1.0, 0)
    # what both cohorts share (client id shape, hour) is not reported as a difference
    assert all(row["attribute"] not in ("client_shape", "hour_utc") for row in contrast["rows"])
    terminal = run_cli("analyze", path).out
    assert "What the failing connections share (4 failing vs 4 healthy)" in terminal


def test_values_past_the_cap_are_said_to_be_uncounted(run_cli, monkeypatch):
    """The tally stops taking new values at MAX_VALUES (memory): the report must say so."""
    from conftest import SAMPLES

    import diagnose.contrast as contrast_module

    sample = str(SAMPLES / "staging-hour.jsonl.gz")
    whole = json.loads(run_cli("analyze", sample, "-f", "json").out)
    assert whole["contrast"]["uncounted"] == 0
    assert not any("contrast counts" in w for w in whole["stats"]["warnings"])
    monkeypatch.setattr(contrast_module, "MAX_VALUES", 5)
    capped = run_cli("analyze", sample, "-f", "json")
    doc = json.loads(capped.out)
    assert doc["contrast"]["uncounted"] > 0
    assert (f"the contrast counts the first 5 distinct attribute values: "
            f"{doc['contrast']['uncounted']:,} observations of later ones were not counted"
            ) in " ".join(doc["stats"]["warnings"])
    assert "contrast counts the first 5" in run_cli("analyze", sample).out
