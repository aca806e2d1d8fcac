"""Compressed JSONL read by the workers: the main process inflates, the workers pick and decode.

A .jsonl.gz cannot be cut into byte ranges, so it was read whole by the main process (6.8 s for
1 GiB inflated, where the plain file takes 4 s on two workers). The main process still inflates
it (one stream, ISA-L), but writes the inflated bytes to temporary files of about SPOOL bytes,
each cut after a newline, and the workers read each file as a range of a plain JSONL file
(worker.scan_range): the same records, line numbers and accounting as the serial reader.

Tasks name a file, so the pipes never carry the data; at most pool.in_flight files exist at once,
each removed as soon as its result is in (spill.py's exit hook covers an abrupt end).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from ..model import RawRecord
from ..spill import discard, scratch_file, writing
from .context import SourceContext
from .parallel import MIN_COMPRESSED, WorkerPool, ordered_tasks, records_of
from .stream import Input

SPOOL = 32 << 20  # bytes per file handed to a worker (one range of a plain file)
READ = 8 << 20  # inflated bytes read at a time
WHAT = "inflated input"


def worth_spooling(path: str, source: Input, ctx: SourceContext, pool: WorkerPool) -> bool:
    """A big gzip file (not a pipe: its size is unknown), with workers and a prefilter."""
    if not source.compressed or source.cr_only or ctx.prefilter is None or pool.size < 1:
        return False
    try:
        return os.path.isfile(path) and os.path.getsize(path) >= MIN_COMPRESSED
    except OSError:
        return False


def read_jsonl_spooled(source: Input, ctx: SourceContext, pool: WorkerPool) -> Iterator[RawRecord]:
    """Same records, order, line numbers and counts as jsonl.read_jsonl on `source`."""
    line = 1 + source.skipped_lines
    live: set[str] = set()  # spool files written and not yet removed
    try:
        tasks = ((path, 0, size, ctx.prefilter, ctx.default_tz, ctx.matcher, ctx.source)
                 for path, size in _spools(source, live))
        for task, result in ordered_tasks(pool, b"jsonl", tasks, ctx.source):
            _done(task[0], live)
            line = yield from records_of(result, line, ctx)  # type: ignore[arg-type]
    finally:
        for path in list(live):
            _done(path, live)
    if source.error is not None:  # the partial last line was not spooled
        ctx.count()
        ctx.unparsed(line, source.error)


def _done(path: str, live: set[str]) -> None:
    live.discard(path)
    discard(path)


def _spools(source: Input, live: set[str]) -> Iterator[tuple[str, int]]:
    """(path, size) of each spool file, in order: whole lines, about SPOOL bytes each (more when
    a line is longer). After a broken stream, its partial last line is left out."""
    spool: _Spool | None = None
    while data := source.read(READ):
        spool = spool or _Spool(live)
        cut = data.rfind(b"\n") + 1
        if cut and spool.size + len(data) >= SPOOL:
            spool.write(data, 0, cut)
            yield spool.close()
            spool = None
            if cut < len(data):
                spool = _Spool(live)
                spool.write(data, cut, len(data))
        else:
            spool.write(data, 0, len(data))
    if spool is not None:
        if source.error is not None:
            spool.keep_whole_lines()
        path, size = spool.close()
        if size:
            yield path, size


class _Spool:
    """One temporary file being written; a full disk is one clear error (spill.SpillError)."""

    def __init__(self, live: set[str]) -> None:
        fd, self.path = scratch_file(WHAT)
        live.add(self.path)
        self.out = os.fdopen(fd, "wb")
        self.size = 0
        self.whole = 0  # bytes up to and including the last newline written

    def write(self, data: bytes, lo: int, hi: int) -> None:
        with writing(WHAT):
            self.out.write(memoryview(data)[lo:hi])
        last = data.rfind(b"\n", lo, hi) + 1
        if last:
            self.whole = self.size + last - lo
        self.size += hi - lo

    def keep_whole_lines(self) -> None:
        with writing(WHAT):
            self.out.truncate(self.whole)
        self.size = self.whole

    def close(self) -> tuple[str, int]:
        with writing(WHAT):
            self.out.close()
        return self.path, self.size
