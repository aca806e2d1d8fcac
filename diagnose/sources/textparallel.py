"""Large plain-text files: byte ranges read by the two worker processes, merged in order.

Same idea as parallel.py for JSONL, with two extra constraints so the result is exactly the
serial reader's:

- A range starts at a record start: the first line after a range boundary must be a plain
  stamped line (textfast's definition) of ordinary length without NUL bytes. Folding
  (tracebacks) then never crosses ranges, and `last_stamp` (the time a bare line borrows) is
  set by that first record before any line could borrow it, exactly as in the serial reader.
- A worker reads its range in the serial reader's own 8 MiB steps, aligned to the file start,
  so it sees the very same line blocks: whether a block holds ESC (hits found on the cleaned
  text instead of raw bytes) and when a line counts as longer than 16 MiB do not change.

Workers run text.read_blocks on their range with a local context and send back the relevant
records (as tuples) and the range's accounting; the main process renumbers lines and books the
accounting against the input. Files with a BOM or a blank head are read serially.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, tzinfo
from itertools import islice

from ..model import ParseStats, RawRecord
from . import worker
from .context import SourceContext
from .parallel import WorkerPool, can_split, ordered_results
from .prefilter import Prefilter
from .stream import _BLANK, BLOCK, LineBlocks
from .text import read_blocks
from .textclean import PLAIN_LINE
from .worker import from_pieces, in_pieces, pre_match

RANGE = BLOCK  # a multiple of BLOCK (ranges start after a serial block boundary); small: the
# main process waits less for the first result, and a range of a log where every line counts
# (100,000 records) is alive at once in a worker and then in the main process: at 16 MiB the
# workers peaked at 229 MB and the main process at 218 on bench/many.py's 200,000 connections
_HEAD = 1 << 16  # Input.peek_content reads this much before the first block
_FIRST_LINE = 1 << 16  # the line starting a range must end within this many bytes

# A worker's accounting of its range: records read, ignored, the first unparsed (line, reason),
# unparsed total, naive and aware time stamps
Books = tuple[int, int, list[tuple[int, str]], int, int, int]
# (rows in pickled pieces, books, lines in the range); a row is (line, timestamp, severity,
# text, fields, events when the worker matched them)
TextRangeResult = tuple[list[bytes], Books, int]


def books_of(ctx: SourceContext) -> Books:
    """The accounting a worker's local context kept for one range (lines count from 1)."""
    stats = ctx.stats
    return (ctx.read, stats.ignored, [(u.line, u.reason) for u in stats.unparsed],
            stats.unparsed_total, ctx.naive, ctx.aware)


def book_range(
    ctx: SourceContext, books: Books, offset: int,
    reason: Callable[[str, int], str] = lambda why, _offset: why,
) -> None:
    """Book a range's accounting against the input, its lines shifted by `offset`."""
    read, ignored, unparsed, unparsed_total, naive, aware = books
    ctx.count(read)
    ctx.ignore(ignored)
    for at, why in unparsed:
        ctx.unparsed(at + offset, reason(why, offset))
    ctx.stats.unparsed_total += unparsed_total - len(unparsed)
    ctx.naive += naive
    ctx.aware += aware


def text_ranges(
    path: str, size: int, ctx: SourceContext, span: int = RANGE, block: int = BLOCK
) -> list[tuple[int, int]] | None:
    """(start, end) byte ranges each starting a record, or None: read this file serially."""
    if not can_split(path, size, ctx):
        return None
    points = [0]
    with open(path, "rb") as f:
        head = f.read(_HEAD)
        if head.startswith(b"\xef\xbb\xbf") or not head.strip(_BLANK):
            return None  # the serial reader's blocks would not be aligned to the file start
        boundary = span
        while boundary < size:
            start = _range_start(f, boundary, block)
            if start is not None and start < size:
                points.append(start)
            boundary += span
    points.append(size)
    if len(points) < 3:
        return None
    return list(zip(points, points[1:], strict=False))


def _range_start(f, boundary: int, block: int) -> int | None:
    """The first line starting in the serial block at `boundary` if it is a plain stamped line."""
    f.seek(boundary - 1)
    data = f.read(min(block, 2 * _FIRST_LINE) + 1)  # the byte before the block, then its head
    offset = 1 if data[:1] == b"\n" else data.find(b"\n", 1) + 1
    if offset <= 0:  # no line starts near the block's start
        return None
    start = boundary - 1 + offset
    end = data.find(b"\n", offset, offset + _FIRST_LINE)
    if end < 0:
        return None
    if data.find(b"\x00", offset, end) >= 0:  # a NUL line is no record start
        return None
    return start if PLAIN_LINE.match(data, offset, end) else None


def read_text_parallel(
    path: str,
    ranges: list[tuple[int, int]],
    ctx: SourceContext,
    pool: WorkerPool,
    progress: Callable[[int], None] | None,
    base: int,
) -> Iterator[RawRecord]:
    """Same records, order, line numbers and accounting as text.read_text, over worker processes."""
    line = 1
    for (_, end), (rows, books, lines) in zip(ranges, _results(path, ranges, ctx, pool),
                                              strict=True):
        offset = line - 1
        book_range(ctx, books, offset)
        source = ctx.source
        for at, ts, severity, text, fields, matched in from_pieces(rows):
            yield RawRecord(source, at + offset, ts, severity, text, fields,  # type: ignore[arg-type]
                            matched=matched)
        line += lines
        if progress is not None:
            progress(base + end)


def _results(
    path: str, ranges: list[tuple[int, int]], ctx: SourceContext, pool: WorkerPool
) -> Iterator[TextRangeResult]:
    return ordered_results(
        path, ranges, pool, b"text",
        lambda start, end: (path, ctx.source, start, end, ctx.prefilter, ctx.default_tz, BLOCK,
                            ctx.matcher),
    )


def scan_text_range(
    path: str,
    source: str,
    start: int,
    end: int,
    prefilter: Prefilter | None,
    default_tz: tzinfo = UTC,
    block: int = BLOCK,
    matcher: bytes | None = None,
) -> TextRangeResult:
    """Read the records of [start, end) (a record start) as the serial reader would, matched
    against the event rules when `matcher` is given.

    Line numbers count from 1 at `start`; the parent shifts them. The rows come pickled in
    pieces, unpickled one at a time by the reader: a log where every line counts has ~100,000
    in a range, and as objects they were ~100 MB at once in the main process, beside the
    timelines it correlates as it reads.
    """
    stats = ParseStats()
    ctx = SourceContext(source, stats, prefilter, default_tz)
    lines = [0]
    records = read_blocks(range_blocks(path, start, end, block, lines), ctx)  # type: ignore[arg-type]
    pieces = []
    while batch := list(islice(records, worker.PIECE)):  # made and pickled a piece at a time
        pre_match(matcher, batch)
        pieces += in_pieces([(r.line, r.timestamp, r.severity, r.text, r.fields, r.matched)
                             for r in batch])
    return pieces, books_of(ctx), lines[0]


def range_blocks(path: str, start: int, end: int, block: int, lines: list[int]) -> Iterator:
    """LineBlocks of the range [start, end) read in the serial reader's aligned steps, their
    lines added up in `lines[0]` (a skipped over-long line is one). Read them all."""
    with open(path, "rb", buffering=0) as f:
        f.seek(start)
        for item in LineBlocks(_Aligned(f, start, end, block), block):  # type: ignore[arg-type]
            lines[0] += item[4] if item[0] is not None else 1
            yield item


class _Aligned:
    """A file range read in steps that never cross a multiple of `block` (as the serial reads)."""

    error: str | None = None

    def __init__(self, f, pos: int, end: int, block: int) -> None:
        self.f, self.pos, self.end, self.block = f, pos, end, block

    def read(self, n: int) -> bytes:
        stop = min(self.end, (self.pos // self.block + 1) * self.block, self.pos + n)
        parts: list[bytes] = []
        while self.pos < stop:
            data = self.f.read(stop - self.pos)
            if not data:
                break
            parts.append(data)
            self.pos += len(data)
        return b"".join(parts)
