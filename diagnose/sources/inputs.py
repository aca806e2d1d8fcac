"""Command-line input specs → an ordered list of files: files, directories, globs, `-` (stdin).

Directories are walked recursively in sorted order without hidden files, so a run over a
downloaded sink bucket is reproducible. Inside a directory, files named as source code,
documentation or images (NOT_LOGS) are passed over — a checkout's README is not a log — but a
file named on the command line is always read. A spec that matches nothing is a usage error.
"""

from __future__ import annotations

import glob
import os

from ..errors import InputError, UsageError

STDIN = "-"
_MAGIC = frozenset("*?[")
NOT_LOGS = frozenset({
    ".py", ".pyc", ".md", ".rst", ".toml", ".yml", ".yaml", ".cfg", ".ini", ".html", ".css",
    ".js", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".pdf", ".zip",
})


def expand_inputs(specs: list[str], passed_over: list[str] | None = None) -> list[str]:
    """Resolve specs in order; each file once (first occurrence wins).

    `passed_over`, when given, collects the directory files skipped as not logs.
    """
    out: list[str] = []
    seen: set[str] = set()
    for spec in specs:
        for path in _expand_one(spec, passed_over if passed_over is not None else []):
            key = path if path == STDIN else os.path.realpath(path)
            if key not in seen:
                seen.add(key)
                out.append(path)
    return out


def _expand_one(spec: str, passed_over: list[str]) -> list[str]:
    if spec == STDIN:
        return [STDIN]
    if os.path.isdir(spec):
        return dir_files(spec, passed_over)
    if os.path.exists(spec):
        check_readable(spec)
        return [spec]
    if _MAGIC & set(spec):
        matches = sorted(glob.glob(spec, recursive=True))
        if matches:
            files: list[str] = []
            for match in matches:
                files.extend(dir_files(match, passed_over) if os.path.isdir(match)
                             else [check_readable(match)])
            return files
    raise UsageError(f"no such file or directory: {spec}")


def dir_files(directory: str, passed_over: list[str] | None = None) -> list[str]:
    """Every non-hidden log file below `directory`, sorted; InputError if there is none."""
    files: list[str] = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(n for n in names if not n.startswith(".")):
            path = os.path.join(root, name)
            if os.path.splitext(name)[1].lower() in NOT_LOGS:
                if passed_over is not None:
                    passed_over.append(path)
                continue
            files.append(check_readable(path))
    if not files:
        raise InputError(f"no files in directory: {directory}")
    return files


def check_readable(path: str) -> str:
    """Return path if it can be opened for reading, else raise InputError (one line)."""
    if not os.path.isfile(path):  # a FIFO or device: opening it here would block or consume it
        return path
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise InputError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return path
