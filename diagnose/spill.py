"""Temporary files of pickled batches: what does not fit the memory budget waits on disk.

Two stages spill: the time sort (sorted runs of events) and the outcome table (one row per
connection, millions on a busy day). Spill files never outlive the run: each path is registered
before anything is written to it and removed when read or closed, and whatever an abrupt exit
skipped (a signal, a generator never closed) is removed by an atexit hook. A full disk is one
clear error, not a traceback.
"""

from __future__ import annotations

import atexit
import glob
import os
import pickle
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import DiagnoseError

_LIVE: set[str] = set()  # spill files not yet removed, for the atexit hook


class SpillError(DiagnoseError):
    """The temporary directory cannot take the spill (full disk, no permission)."""


class SpillFile:
    """Append batches (lists), then read them back once in order; the file is then gone."""

    def __init__(self, what: str) -> None:
        self.what = what
        fd, self.path = scratch_file(what)
        self._out = os.fdopen(fd, "wb")

    def write(self, batch: list) -> None:
        try:
            with writing(self.what):
                pickle.dump(batch, self._out, protocol=pickle.HIGHEST_PROTOCOL)
        except SpillError:
            self.remove()
            raise

    def seal(self) -> None:
        """No more batches: flush now, so a full disk is reported here, not when reading."""
        try:
            self._close_writer()
        except SpillError:
            self.remove()
            raise

    def items(self) -> Iterator:
        """Every item written, in order; removes the file when done (or when closed early)."""
        try:
            self._close_writer()
            with open(self.path, "rb") as fh:
                while True:
                    try:
                        batch = pickle.load(fh)  # a fresh unpickler each time: no memo kept
                    except EOFError:
                        return
                    yield from batch
        finally:
            self.remove()

    def remove(self) -> None:
        try:
            self._close_writer()
        except OSError:
            pass
        discard(self.path)

    def _close_writer(self) -> None:
        if not self._out.closed:
            with writing(self.what):
                self._out.close()


@contextmanager
def writing(what: str) -> Iterator[None]:
    """An OSError while making or writing a scratch file for `what` (a full disk, no
    permission) becomes one SpillError naming the directory."""
    try:
        yield
    except OSError as exc:
        where = tempfile.gettempdir()
        raise SpillError(
            f"cannot write {what} to the temporary directory {where}: {exc.strerror or exc}",
            hint="free space there, or point TMPDIR at a larger disk",
        ) from None


def scratch_file(what: str) -> tuple[int, str]:
    """(fd, path) of a new temporary file for `what`, registered for removal like the spills;
    give it back with `discard`."""
    with writing(what):
        fd, path = tempfile.mkstemp(prefix=_prefix(), suffix=".pickle")
    _LIVE.add(path)
    return fd, path


def discard(path: str) -> None:
    """Remove a scratch file (gone already is fine)."""
    _LIVE.discard(path)
    try:
        os.unlink(path)
    except OSError:
        pass


def _prefix() -> str:
    """Spill names carry the pid, so the exit hook can find even a file whose path a signal kept
    from being registered (between mkstemp returning and the registration)."""
    return f"diagnose-spill-{os.getpid()}-"


@atexit.register
def _remove_leftovers() -> None:
    for path in list(_LIVE):
        discard(path)
    for path in glob.glob(os.path.join(glob.escape(tempfile.gettempdir()), _prefix() + "*.pickle")):
        discard(path)
