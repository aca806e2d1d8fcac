"""Large pretty-printed JSON (gcloud --format=json arrays): byte ranges read by the workers.

The serial reader (jsonpretty.py) ran in one process at ~90 MB/s. A gcloud array can be cut at
any line `<indent>}` — the close of a top-level entry, which nothing nested or quoted can look
like — so ranges end just after such a line, and each worker runs the serial reader's own entry
splitter (`_Entries`) on its range, in the serial reader's aligned 8 MiB steps (as for text,
textparallel.py), with a local context. The main process renumbers lines and books the
accounting against the input, in range order.

One difference from the serial reader is possible: a split loguru message (`splice.py`) whose
fragments sit on both sides of a range edge is not joined, as across the JSONL workers' ranges.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, tzinfo

from ..model import ParseStats, RawRecord
from .context import SourceContext
from .jsonpretty import _Entries
from .parallel import WorkerPool, can_split, ordered_results
from .prefilter import Prefilter
from .stream import BLOCK, MAX_LINE
from .textparallel import Books, book_range, books_of, range_blocks
from .worker import from_pieces, in_pieces, pre_match

_ERROR_LINE = re.compile(r" \(line (\d+)\)$")
RANGE = 4 * BLOCK  # a multiple of BLOCK; entries are ~1 KB, so a range is ~30,000 of them

PrettyRangeResult = tuple[list[bytes], Books, int]  # (records in pickled pieces, books, lines)


def pretty_ranges(
    path: str, size: int, ctx: SourceContext, indent: bytes, span: int = RANGE
) -> list[tuple[int, int]] | None:
    """(start, end) byte ranges each ending just after an entry's closing line, or None."""
    if not can_split(path, size, ctx):
        return None
    end = b"\n" + indent + b"}"
    points = [0]
    with open(path, "rb") as f:
        if f.read(3) == b"\xef\xbb\xbf":
            return None  # the serial reader's blocks would not be aligned to the file start
        boundary = span
        while boundary < size:
            at = _find_within(f, boundary, end, MAX_LINE)
            if at >= 0 and boundary + at + len(end) < size:
                points.append(boundary + at + len(end))
            boundary = max(boundary + span, points[-1] + 1)
    points.append(size)
    if len(points) < 3:
        return None
    return list(zip(points, points[1:], strict=False))


def _find_within(f, start: int, needle: bytes, limit: int, step: int = 1 << 16) -> int:
    """Where `needle` first is in the `limit` bytes of `f` from `start` (-1: not there), read
    in growing steps: an entry's end is usually a few hundred bytes on, and reading the whole
    16 MiB at each of a gigabyte's 32 boundaries cost 0.12 s before the workers had a task."""
    f.seek(start)
    window = bytearray()
    while len(window) < limit:
        more = f.read(min(step, limit - len(window)))
        if not more:
            break
        searched = max(0, len(window) - len(needle) + 1)  # a needle may straddle the steps
        window += more
        at = window.find(needle, searched)
        if at >= 0:
            return at
        step *= 2
    return -1


def read_pretty_parallel(
    path: str,
    ranges: list[tuple[int, int]],
    ctx: SourceContext,
    indent: bytes,
    array: bool,
    pool: WorkerPool,
    progress: Callable[[int], None] | None,
    base: int,
) -> Iterator[RawRecord]:
    """Same records, order, line numbers and accounting as jsonpretty.read_pretty."""
    line = 1
    results = ordered_results(
        path, ranges, pool, b"pretty",
        lambda start, end: (path, ctx.source, start, end, end == ranges[-1][1], indent, array,
                            ctx.prefilter, ctx.default_tz, BLOCK, ctx.matcher),
    )
    for (_, end), (records, books, lines) in zip(ranges, results, strict=True):
        offset = line - 1
        book_range(ctx, books, offset, _shifted)
        for record in from_pieces(records):
            record.line += offset
            yield record
        line += lines
        if progress is not None:
            progress(base + end)


def _shifted(reason: str, offset: int) -> str:
    """A bad entry's reason names the line of the JSON error (`… (line 913)`), counted in the
    worker from its range's start: the same line counted from the top of the file."""
    m = _ERROR_LINE.search(reason)
    if m is None or not reason.startswith("bad JSON:"):
        return reason
    return f"{reason[:m.start()]} (line {int(m.group(1)) + offset})"


def scan_pretty_range(
    path: str,
    source: str,
    start: int,
    end: int,
    last: bool,
    indent: bytes,
    array: bool,
    prefilter: Prefilter | None,
    default_tz: tzinfo = UTC,
    block: int = BLOCK,
    matcher: bytes | None = None,
) -> PrettyRangeResult:
    """Read the entries of [start, end) as the serial reader would (matched against the event
    rules when `matcher` is given); lines count from 1 at `start`. Only the last range checks
    how the input ends (`]`, or an entry cut off)."""
    stats = ParseStats()
    ctx = SourceContext(source, stats, prefilter, default_tz)
    lines = [0]
    entries = _Entries(ctx, b"\n" + indent + b"}", array)
    records: list[RawRecord] = []
    for data, lo, hi, first, _ in range_blocks(path, start, end, block, lines):
        if data is None:
            entries.oversize(first)
        else:
            records.extend(entries.feed(data, lo, hi, first))
    if last:
        entries.finish(None)
    pre_match(matcher, records)
    return in_pieces(records), books_of(ctx), lines[0]
