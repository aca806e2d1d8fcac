"""Shared test helpers: run the real CLI entry point in-process, and find the repository's files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from diagnose.cli import main

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
SCENARIOS = REPO / "rules" / "core" / "findings"


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="Rewrite tests/golden files.")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Run `diagnose ARGS…` exactly as the console script does; returns code, stdout, stderr."""
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    os.environ.pop("DIAGNOSE_LOGGING_ENDPOINT", None)

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(int(exit_info.value.code or 0), captured.out, captured.err)

    return run
