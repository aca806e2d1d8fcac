"""Command-line input specs → an ordered list of files: files, directories, globs, `-` (stdin).

Directories are walked recursively in sorted order without hidden files, so a run over a
downloaded sink bucket is reproducible. Inside a directory, files named as source code,
documentation or images (NOT_LOGS) are passed over — a checkout's README is not a log — but a
file named on the command line is always read. Inside a directory, entries that are not regular
files (a FIFO would block forever, a device never ends) and dangling or looping symlinks are
passed over too, each with its reason, instead of aborting the run. A spec that matches nothing
is a usage error.
"""

from __future__ import annotations

import glob
import os
import stat

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
            why = "" if os.path.splitext(name)[1].lower() in NOT_LOGS else _not_regular(path)
            if why is not None:
                if passed_over is not None:
                    passed_over.append(f"{path} ({why})" if why else path)
                continue
            files.append(check_readable(path))
    if not files:
        raise InputError(f"no files in directory: {directory}")
    return files


def _not_regular(path: str) -> str | None:
    """Why a directory entry cannot be read as a log file, or None when it is a regular file."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "dangling or looping symlink" if os.path.islink(path) else "cannot be opened"
    return None if stat.S_ISREG(mode) else "not a regular file"


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
