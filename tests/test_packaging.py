"""The rule packs are data the code needs at run time: they must ship inside the wheel."""

from __future__ import annotations

import zipfile

from conftest import REPO


def test_wheel_carries_the_rule_packs_and_scenarios(tmp_path):
    from hatchling.builders.wheel import WheelBuilder

    builder = WheelBuilder(str(REPO))
    (wheel,) = list(builder.build(directory=str(tmp_path), versions=["standard"]))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = sorted(p.relative_to(REPO / "rules").as_posix() for p in (REPO / "rules").rglob("*")
                     if p.is_file())
    assert shipped, "rules/ is empty"
    missing = [p for p in shipped if f"diagnose/_rules/{p}" not in names]
    assert missing == []
    assert "diagnose/_rules/core/pack.toml" in names
    assert not any(n.startswith(("tests/", "samples/", "bench/")) for n in names)
