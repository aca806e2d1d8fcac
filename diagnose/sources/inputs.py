"""Command-line input specs → an ordered list of files: files, directories, globs, `-` (stdin).

Directories are walked recursively in sorted order without hidden files, so a run over a
downloaded sink bucket is reproducible. A spec that matches nothing is a usage error.
"""

from __future__ import annotations

import glob
import os

from ..errors import InputError, UsageError

STDIN = "-"
_MAGIC = frozenset("*?[")


def expand_inputs(specs: list[str]) -> list[str]:
    """Resolve specs in order; each file once (first occurrence wins)."""
    out: list[str] = []
    seen: set[str] = set()
    for spec in specs:
        for path in _expand_one(spec):
            key = path if path == STDIN else os.path.realpath(path)
            if key not in seen:
                seen.add(key)
                out.append(path)
    return out


def _expand_one(spec: str) -> list[str]:
    if spec == STDIN:
        return [STDIN]
    if os.path.isdir(spec):
        return dir_files(spec)
    if os.path.exists(spec):
        check_readable(spec)
        return [spec]
    if _MAGIC & set(spec):
        matches = sorted(glob.glob(spec, recursive=True))
        if matches:
            files: list[str] = []
            for match in matches:
                files.extend(dir_files(match) if os.path.isdir(match) else [check_readable(match)])
            return files
    raise UsageError(f"no such file or directory: {spec}")


def dir_files(directory: str) -> list[str]:
    """Every non-hidden file below `directory`, sorted; InputError if there is none."""
    files: list[str] = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(
            check_readable(os.path.join(root, n)) for n in sorted(names) if not n.startswith(".")
        )
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
