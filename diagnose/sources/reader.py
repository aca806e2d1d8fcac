"""read_records: every input, whatever its format, as one stream of RawRecords with accounting.

This is the only place that knows all formats: it opens each input, sniffs it, hands it to the
matching reader and adds the one time-zone warning (copies by insertId are dropped later: see
dedupe.py). For JSON it also decodes the first value: a document wrapping LogEntry lists goes
to the streaming reader (its entries are counted one by one), and input whose first value is
no log at all is decoded whole so every value is reported, never silently ignored.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING, BinaryIO

from ..model import ParseStats, RawRecord
from .context import SourceContext
from .inputs import STDIN, dir_files
from .jsonarray import read_json_stream
from .jsonl import read_jsonl
from .jsonpretty import pretty_indent, read_pretty
from .logentry import is_log_entry
from .parallel import WorkerPool, can_split, read_jsonl_parallel
from .prefilter import Prefilter
from .prettyparallel import pretty_ranges, read_pretty_parallel
from .sniff import Format, sniff
from .spooled import read_jsonl_spooled, worth_spooling
from .stream import MAX_LINE, ByteCounter, Input, open_path
from .table import TableLayout
from .text import read_text
from .textparallel import read_text_parallel, text_ranges
from .worker import keep_matcher
from .wrapper import wrapped_entries

if TYPE_CHECKING:
    from ..parse import RecordMatcher

STDIN_NAME = "<stdin>"


def read_records(
    paths: list[str],
    *,
    prefilter: Prefilter | None,
    stats: ParseStats,
    default_tz: tzinfo = UTC,
    stdin: BinaryIO | None = None,
    progress: Callable[[int], None] | None = None,
    matcher: RecordMatcher | None = None,
    pool: WorkerPool | None = None,
) -> Iterator[RawRecord]:
    """Yield the readable, relevant records of every input, in input order.

    `progress` receives the cumulative number of input bytes consumed (compressed size for
    gzip), so a progress bar's total is the sum of the file sizes. With `matcher`, records read
    by worker processes come with their events (the workers match them). `pool`: workers
    already started (parallel.early_pool).
    """
    contexts: list[SourceContext] = []
    # what ranges name the matcher by, in this process (ranges read here when workers fail)
    # and in the workers (sent to them, pickled, as they start)
    key = setup = None
    if matcher is not None:
        key = os.urandom(16)
        keep_matcher(key, matcher)
        setup = (key, matcher)
    owned = pool is None  # a pool passed in (started early) is closed by its owner
    if pool is None:
        pool = WorkerPool(setup=setup)
    else:
        pool.setup = setup
    consumed = 0
    try:
        for path in _files(paths):
            ctx = SourceContext(_name(path), stats, prefilter, default_tz, key)
            contexts.append(ctx)
            stats.by_source.setdefault(ctx.source, 0)
            opened = _Opened(path, stdin, progress, consumed, pool)
            yield from opened.records(ctx)
            consumed += opened.size
    finally:
        for rule, n in pool.search_timeouts().items():
            stats.regex_timeouts[rule] = stats.regex_timeouts.get(rule, 0) + n
        if owned:
            pool.close()
    _warn_naive(contexts, stats, default_tz)


def _files(paths: list[str]) -> Iterator[str]:
    for path in paths:
        if path != STDIN and os.path.isdir(path):
            yield from dir_files(path)
        else:
            yield path


def _name(path: str) -> str:
    return STDIN_NAME if path == STDIN else path


class _Opened:
    """One input being read; `size` is the number of its bytes consumed (for progress)."""

    def __init__(self, path, stdin, progress, base, pool) -> None:
        self.path, self.progress, self.base, self.pool = path, progress, base, pool
        self.raw = (stdin or sys.stdin.buffer) if path == STDIN else open_path(path)
        self.counter = ByteCounter(self.raw, progress, base)
        self.size = 0

    def records(self, ctx: SourceContext) -> Iterator[RawRecord]:
        try:
            source = Input(self.counter)
            yield from self._dispatch(source, ctx)
        finally:
            if self.path != STDIN:
                self.raw.close()
            self.size = max(self.size, self.counter.count)

    def _dispatch(self, source: Input, ctx: SourceContext) -> Iterator[RawRecord]:
        fmt = sniff(source.peek_content())
        if fmt in (Format.JSON_LINES, Format.JSON_OBJECTS, Format.JSON_ARRAY):
            array = fmt is Format.JSON_ARRAY
            first = _first_value(source, inside_array=array)
            if not array and (first is _TOO_BIG or first is not _UNKNOWN
                              and wrapped_entries(first) is not None):
                return read_json_stream(source, ctx, array=False)  # entries counted one by one
            if first is not _UNKNOWN and first is not _TOO_BIG and not _loggish(first) and (
                    wrapped_entries(first) is None):
                ctx.prefilter = None  # not logs, it seems: decode all, so each is reported
                if fmt is Format.JSON_OBJECTS:
                    return read_json_stream(source, ctx, array=False)
        if fmt is Format.JSON_LINES:
            size = os.path.getsize(self.path) if self.path != STDIN else 0
            if not (source.compressed or source.cr_only) and can_split(self.path, size, ctx):
                self.size = size
                return read_jsonl_parallel(self.path, ctx, self.pool, self.progress, self.base)
            if worth_spooling(self.path, source, ctx, self.pool):
                return read_jsonl_spooled(source, ctx, self.pool)
            return read_jsonl(source, ctx)
        if fmt in (Format.JSON_ARRAY, Format.JSON_OBJECTS):
            array = fmt is Format.JSON_ARRAY
            indent = pretty_indent(source.peek_content(), array)
            size = os.path.getsize(self.path) if self.path != STDIN else 0
            ranges = pretty_ranges(self.path, size, ctx, indent) if indent is not None and not (
                source.compressed or source.cr_only) else None
            if ranges is not None:
                self.size = size
                return read_pretty_parallel(self.path, ranges, ctx, indent, array, self.pool,
                                            self.progress, self.base)
            if indent is not None:
                return read_pretty(source, ctx, indent, array=array)
            return read_json_stream(source, ctx, array=array)
        if fmt is Format.TEXT:
            size = os.path.getsize(self.path) if self.path != STDIN else 0
            plain = not (source.compressed or source.cr_only or _is_table(source.peek_content()))
            ranges = text_ranges(self.path, size, ctx) if plain else None
            if ranges is not None:
                self.size = size
                return read_text_parallel(self.path, ranges, ctx, self.pool, self.progress, self.base)
            return read_text(source, ctx)
        return _special(fmt, source, ctx)


def _is_table(head: bytes) -> bool:
    """A gcloud table: its header row sets the layout, so workers (which never see it) cannot
    read ranges of it; it is read serially."""
    first = head.lstrip().split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    return TableLayout.from_header(first) is not None


_UNKNOWN = object()
_TOO_BIG = object()  # a first value over MAX_LINE: a wrapper of a long export, most likely


def _first_value(source: Input, inside_array: bool = False) -> object:
    """The input's first JSON value (or its array's first element), decoded from read-ahead
    (growing to at most MAX_LINE bytes, so a JSONL file costs one line); _UNKNOWN if it does
    not decode."""
    decoder = json.JSONDecoder()
    want = 1 << 16
    while True:
        head = source.peek_content(want)
        text = head.decode("utf-8", "replace").lstrip(" \t\r\n")
        if inside_array:
            text = text[1:].lstrip(" \t\r\n")
        try:
            return decoder.raw_decode(text)[0]
        except json.JSONDecodeError as exc:
            if len(head) < want or exc.pos < len(text) - 64 and not (
                    exc.msg.startswith("Unterminated")):
                return _UNKNOWN
            if want >= MAX_LINE:
                return _TOO_BIG
            want *= 4
        except (ValueError, RecursionError):
            return _UNKNOWN


def _loggish(value: object) -> bool:
    """A LogEntry, or an application's JSON log line (it has a message, time or level)."""
    if not isinstance(value, dict):
        return False
    return is_log_entry(value) or any(k in value for k in _LINE_KEYS)


_LINE_KEYS = ("message", "msg", "textPayload", "event", "log", "timestamp", "time", "ts",
              "timestampSeconds", "severity", "level", "levelname")


def _special(fmt: Format, source: Input, ctx: SourceContext) -> Iterator[RawRecord]:
    """Empty and binary inputs, and a stream that broke before any content."""
    if fmt is Format.BINARY:
        ctx.count()
        ctx.unparsed(1, "binary data, not a log (control bytes or invalid UTF-8)")
    elif source.error is not None:
        ctx.count()
        ctx.unparsed(1, source.error)
    return iter(())


def _warn_naive(contexts: list[SourceContext], stats: ParseStats, tz: tzinfo) -> None:
    """One warning when zone-less stamps sit beside zoned ones (in one input or across inputs)."""
    naive = sum(c.naive for c in contexts)
    aware = sum(c.aware for c in contexts)
    if not naive or not aware:
        return
    where = [c.source for c in contexts if c.naive]
    names = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
    zone = _zone_name(tz)
    stats.warnings.append(
        f"{naive} of {naive + aware} time stamps had no time zone ({names}); "
        f"assumed {zone} — pass --tz if they are in another zone"
    )


def _zone_name(tz: tzinfo) -> str:
    name = getattr(tz, "key", None)  # zoneinfo
    if name:
        return str(name)
    try:
        return tz.tzname(None) or str(tz)
    except (TypeError, ValueError, AttributeError):
        return str(tz)
