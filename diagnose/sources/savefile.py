"""`pull --save`: JSON lines written to a temporary file, renamed into place at the end.

A pull that fails half-way must neither leave a truncated file that looks complete nor destroy
an earlier save at the same path before anything new is there. So entries go to a hidden
temporary file next to the target (same directory: the rename is atomic), flushed page by page.
On success it replaces the target. On failure (an error, Ctrl-C, the consumer stopping) it
replaces the target only if it holds at least one entry — the partial save is what the failure
message points to — and is removed otherwise, leaving any earlier save untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO

from ..errors import UsageError


class SaveFile:
    """Context manager: `with SaveFile(path) as save: save.write(entry)`; path None = no-op."""

    def __init__(self, path: Path | None):
        self.path = path
        self.count = 0  # entries written
        self.kept: bool | None = None  # after exit: did the target receive the entries?
        self._handle: IO[str] | None = None
        self._tmp: str | None = None

    def __enter__(self) -> SaveFile:
        if self.path is None:
            return self
        directory = self.path.parent if str(self.path.parent) else Path(".")
        if not directory.is_dir():
            raise UsageError(f"cannot write {self.path}: no such directory {directory}")
        try:
            fd, self._tmp = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".partial", dir=directory
            )
        except OSError as exc:
            raise UsageError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self._handle = os.fdopen(fd, "w", encoding="utf-8")
        return self

    def write(self, entry: object) -> None:
        if self._handle is not None:
            self._handle.write(json.dumps(entry, separators=(",", ":")) + "\n")
            self.count += 1

    def flush(self) -> None:
        """Called once per page, so a killed pull leaves every page received on disk."""
        if self._handle is not None:
            self._handle.flush()

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._handle is None or self._tmp is None or self.path is None:
            return
        try:
            self._handle.close()
            if exc_type is None or self.count:
                os.replace(self._tmp, self.path)
                self.kept = True
            else:
                os.unlink(self._tmp)
                self.kept = False
        except OSError:
            self.kept = False
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
            if exc_type is None:
                raise UsageError(f"cannot write {self.path}: the save could not be completed") from None
