"""The README is the contract with new users: keep its commands, codes and CI in step with the code."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import REPO

from diagnose.cli import app
from diagnose.exit_codes import ExitCode

README = (REPO / "README.md").read_text(encoding="utf-8")


def _shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def test_every_exit_code_is_documented():
    for code in ExitCode:
        assert re.search(rf"\| {code.value} \| `{code.name}` \|", README), code


def test_every_command_is_in_the_readme():
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    names += ["rules list", "rules test"]
    for name in names:
        assert f"diagnose {name}" in README or f"diagnose {name.split()[0]}" in README, name


def test_the_two_setup_commands_are_there_and_ci_runs_the_test_one():
    blocks = [b.strip() for b in _shell_blocks()]
    sample_cmd = next(b for b in blocks if "diagnose analyze samples/" in b and "venv" in b)
    test_cmd = next(b for b in blocks if "pytest" in b and "venv" in b)
    assert sample_cmd.startswith("python3 -m venv .venv")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_cmd in ci


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "diagnose", "--help"], capture_output=True,
                         text=True, cwd=REPO, check=True)
    assert "analyze" in out.stdout
