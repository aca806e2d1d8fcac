"""Worker process for parallel.py: classify byte ranges of a JSONL file, answer over pipes.

Started by parallel.py as `python -P -c "from diagnose.sources.worker import main; main()"`;
reads pickled (kind, *arguments) tasks on stdin and writes one pickled result per task on
stdout, in order, until stdin closes: `scanner(kind)(*arguments)`, where kind is b"jsonl"
(scan_range below), b"text" (textparallel.py) or b"pretty" (a gcloud array, prettyparallel.py).
A (b"setup", key, pickled matcher) message first gives it the event rules to match the records
it decodes.
"""

from __future__ import annotations

import gc
import pickle
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING

from ..consume import consumed
from ..gcpolicy import YOUNG_THRESHOLD
from ..model import RawRecord
from .jsonl import BlockLines, classify_block, decode_raw
from .prefilter import Prefilter
from .stream import MAX_LINE, LineBlocks

if TYPE_CHECKING:  # unpickling a matcher imports the parse stage; plain reading does not
    from ..parse import RecordMatcher

PIECE = 4096  # items pickled together in an answer: the main process unpickles one at a time

# Per block of lines: (records, newlines, survivors, the decoded survivors by line index in
# pickled pieces, 1 if oversize line)
RangeResult = list[tuple[int, int, int, list[bytes], int]]


def in_pieces(items: list) -> list[bytes]:
    """`items` pickled PIECE at a time. A range's answer waits in the main process as these
    bytes and is unpickled piece by piece as it is read: where every line counts, a range
    held ~100,000 records at once (~100 MB), beside the timelines correlated meanwhile."""
    return [pickle.dumps(items[at:at + PIECE], pickle.HIGHEST_PROTOCOL)
            for at in range(0, len(items), PIECE)]


def from_pieces(pieces: list[bytes]) -> Iterator:
    """The items of in_pieces' answer, one piece alive at a time (each let go as read)."""
    for piece in consumed(pieces):
        yield from consumed(pickle.loads(piece))


def scan_range(
    path: str, start: int, end: int, prefilter: Prefilter | None, default_tz: tzinfo = UTC,
    matcher: bytes | None = None, source: str | None = None,
) -> RangeResult:
    """Classify and decode every block of lines in [start, end); `start` is a line start.
    With `matcher` (a key record_matcher knows), the decoded records are matched against the
    event rules too. `source` names the input in records (default: `path`; spooled.py's files
    are not the input).

    Line numbers are not known here; the parent sets them (`first line of block + index`).
    """
    out: RangeResult = []
    with open(path, "rb", buffering=0) as f:
        f.seek(start)
        blocks = LineBlocks(_Bounded(f, end - start), max_line=MAX_LINE, count=False)
        for data, lo, hi, _, counted in blocks:
            if data is None:
                out.append((0, 0, 0, [], 1))
            else:
                records, survivors, newlines = classify_block(data, lo, hi, counted, prefilter)
                block = BlockLines(data, lo, hi)
                decoded = [(i, decode_raw(raw, source or path, 0, default_tz, block.around(i)))
                           for i, raw in survivors]
                pre_match(matcher, (d[0] for _, d in decoded if not isinstance(d, str)))
                out.append((records, newlines, len(decoded), in_pieces(decoded), 0))
    return out


_MATCHERS: dict[bytes, RecordMatcher] = {}  # by key: the one of the analysis running


def keep_matcher(key: bytes, matcher: RecordMatcher) -> None:
    _MATCHERS.clear()  # one analysis at a time
    _MATCHERS[key] = matcher


def record_matcher(key: bytes | None) -> RecordMatcher | None:
    """The matcher a task names; None (the parse stage matches) if this process has none."""
    return _MATCHERS.get(key) if key is not None else None


def pre_match(key: bytes | None, records: Iterable[RawRecord]) -> None:
    """Match a range's records with the matcher `key` names, when this process has it."""
    match = record_matcher(key)
    if match is not None:
        match.pre_match(records)


class _Bounded:
    """A file read only up to `remaining` bytes (one range)."""

    error: str | None = None

    def __init__(self, f, remaining: int) -> None:
        self.f = f
        self.remaining = remaining

    def read(self, n: int) -> bytes:
        data = self.f.read(min(n, self.remaining)) if self.remaining > 0 else b""
        self.remaining -= len(data)
        return data


def scanner(kind: bytes) -> Callable[..., object]:
    """The function that reads one range of a `kind` input, in a worker or in-process."""
    if kind == b"jsonl":
        return scan_range
    if kind == b"text":
        from .textparallel import scan_text_range  # imports parallel.py, which imports this

        return scan_text_range
    if kind == b"pretty":
        from .prettyparallel import scan_pretty_range

        return scan_pretty_range
    raise ValueError(f"no range reader for {kind!r}")


def main() -> None:
    """Serve tasks until stdin closes; any failure just ends the worker (the parent falls back)."""
    tasks, results = sys.stdin.buffer, sys.stdout.buffer
    gc.set_threshold(YOUNG_THRESHOLD)  # this process only decodes and matches (gcpolicy.py)
    try:
        while True:
            try:
                task = pickle.load(tasks)
            except EOFError:
                return
            if task[0] == b"setup":  # (b"setup", key, pickled matcher): no answer
                keep_matcher(task[1], pickle.loads(task[2]))
                continue
            kind, *arguments = task
            answer = scanner(kind)(*arguments)
            matchers = list(_MATCHERS.values())  # its searches that ran out of time, so far
            timeouts = matchers[0].timeouts() if matchers else {}
            pickle.dump((answer, timeouts), results, pickle.HIGHEST_PROTOCOL)
            results.flush()
    except (KeyboardInterrupt, OSError):
        sys.exit(1)


if __name__ == "__main__":
    main()
