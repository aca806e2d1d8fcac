"""Errors the CLI turns into one clear stderr line and an exit code (never a traceback)."""

from __future__ import annotations

from .exit_codes import ExitCode


class DiagnoseError(Exception):
    """A failure the user can act on: `message` is the one line shown, `hint` the optional next step."""

    exit_code: ExitCode = ExitCode.NO_INPUT

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(DiagnoseError):
    """Bad options or arguments."""

    exit_code = ExitCode.USAGE


class InputError(DiagnoseError):
    """A source cannot be read at all (missing, unreadable, not a log)."""

    exit_code = ExitCode.NO_INPUT


class RulePackError(DiagnoseError):
    """A rule pack is invalid; `issues` holds every problem found, each with file and key path."""

    exit_code = ExitCode.BAD_RULES

    def __init__(self, message: str, issues: list | None = None, *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.issues = issues or []


class PullError(DiagnoseError):
    """The Cloud Logging pull failed; `hint` says how to fix credentials, permissions or quota."""

    exit_code = ExitCode.PULL_FAILED
