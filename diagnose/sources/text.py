"""Plain-text logs: Python logging, loguru, gunicorn, Apache, gcloud tables, Console, test output.

A line that starts with a time stamp (bare or bracketed) starts a record; the lines after it that
do not (a traceback, the message line of a Console copy-paste pair, a multi-line message, a
table's continuation row) are folded into it. Lines before the first stamped line, and
recognised unstamped lines such as `[INFO] Pipeline event: ping`, `ERROR:logger:message` or
pytest's `E   TimeoutError: …`, are records of their own without a time. A gcloud table's header
row is no record.

Big blocks with a prefilter are planned in bulk first (textfast.py): the plain one-line noise
records are counted without decoding, only the lines that matter go through the line-by-line
logic below, with the same result. Big files are split across worker processes by
textparallel.py, which runs `read_blocks` on byte ranges that each start a record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..model import RawRecord
from ..timeutil import TimestampError, parse_timestamp
from .context import SourceContext
from .stream import Input, LineBlocks
from .table import TableLayout
from .textclean import LineHead, clean, split_head, split_unstamped, unstamped_start

Plan = tuple[list[int], list[int], list[int], set[int]]  # see textfast.plan_block

MAX_RECORD_TEXT = 1 << 20  # folded text kept per record; rules read at most 64 KiB of it
PLAN_MIN = 64 << 10  # blocks this big are planned in bulk (textfast) when numpy is there


@dataclass(slots=True)
class _Pending:
    line: int
    head: LineHead
    hit: bool | None  # a prefilter literal is on one of its lines; None: not known, check text
    width: int  # length of the stamped line: its message column is width - len(message)
    columns: tuple[str | None, dict[str, str], str] | None = None  # a gcloud table row, split
    parts: list[str] = field(default_factory=list)
    size: int = 0
    dropped: int = 0


def read_text(source: Input, ctx: SourceContext) -> Iterator[RawRecord]:
    blocks = LineBlocks(source)
    yield from read_blocks(blocks, ctx)
    if blocks.truncated_at:
        ctx.count()
        ctx.unparsed(blocks.truncated_at, source.error or "input ended early")


def read_blocks(blocks: LineBlocks, ctx: SourceContext) -> Iterator[RawRecord]:
    """The records of a run of line blocks (a whole input, or a byte range starting a record)."""
    folder = _Folder(ctx)
    for data, lo, hi, first, _ in blocks:
        if data is None:
            yield from folder.flush()
            ctx.count()
            ctx.unparsed(first, "line longer than 16 MiB")
            continue
        if hi - lo >= PLAN_MIN and (plan := _plan(data, lo, hi, ctx)) is not None:
            yield from _feed_planned(folder, data, first, plan, ctx)
            continue
        lines = data[lo:hi].split(b"\n")
        if data.endswith(b"\n", lo, hi):
            lines.pop()
        hits = _hit_lines(data, lo, hi, ctx)
        for i, raw in enumerate(lines):
            yield from folder.feed(raw, first + i, None if hits is None else i in hits)
    yield from folder.flush()


def _plan(data: bytes, lo: int, hi: int, ctx: SourceContext) -> Plan | None:
    """The lines of data[lo:hi] worth feeding one by one (textfast), or None: feed them all."""
    prefilter = ctx.prefilter
    if prefilter is None or data.find(b"\x1b", lo, hi) >= 0 or data.find(b"\x00", lo, hi) >= 0:
        return None
    try:
        from .textfast import plan_block
    except ImportError:  # numpy missing
        return None
    return plan_block(data, lo, hi, prefilter.hit_positions(data, lo, hi))


def _feed_planned(
    folder: _Folder, data: bytes, first: int, plan: Plan, ctx: SourceContext
) -> Iterator[RawRecord]:
    """Feed the planned lines; the lines between two of them are ignored one-line records."""
    lines, starts, ends, hits = plan
    feed = folder.feed
    prev = -1
    for index, start, end in zip(lines, starts, ends, strict=True):
        skipped = index - prev - 1
        if skipped:  # plain stamped lines without a hit, each followed by a stamped line
            yield from folder.flush()
            ctx.count(skipped)
            ctx.ignore(skipped)
        yield from feed(data[start:end], first + index, index in hits)
        prev = index


def _hit_lines(data: bytes, lo: int, hi: int, ctx: SourceContext) -> set[int] | None:
    """Indexes of the lines in data[lo:hi] holding a prefilter literal, found on the raw bytes.

    None when that cannot be decided on raw bytes (colour escapes may split a literal), so the
    cleaned text of each record is checked instead.
    """
    if ctx.prefilter is None or data.find(b"\x1b", lo, hi) >= 0:
        return None
    hits: set[int] = set()
    index, counted = 0, lo
    for pos in ctx.prefilter.hit_positions(data, lo, hi):
        index += data.count(b"\n", counted, pos)
        counted = pos
        hits.add(index)
    return hits


class _Folder:
    """Holds the record being built and decides, line by line, where records start."""

    def __init__(self, ctx: SourceContext) -> None:
        self.ctx = ctx
        self.pending: _Pending | None = None
        self.last_stamp: str | None = None  # raw stamp of the last stamped record (parsed lazily)
        self.started = False  # a non-blank line was seen (the first may be a table header)
        self.table: TableLayout | None = None

    def feed(self, raw: bytes, line_no: int, hit: bool | None) -> Iterator[RawRecord]:
        if b"\x00" in raw:
            yield from self.flush()
            self.ctx.count()
            self.ctx.unparsed(line_no, "binary data (NUL bytes)")
            return
        line = clean(raw.decode("utf-8", "replace").rstrip("\r"))
        head = split_head(line)
        if head is not None:
            yield from self.flush()
            self.started = True
            columns = self.table.split(line) if self.table is not None else None
            self.pending = _Pending(line_no, head, hit, len(line), columns)
            return
        if not self.started and line.strip():
            self.started = True
            self.table = TableLayout.from_header(line)
            if self.table is not None:  # `TIMESTAMP  SEVERITY  TEXT_PAYLOAD`: not a record
                return
        severity = unstamped_start(line)
        if severity is not None:
            yield from self.flush()
            yield from self._single(line, line_no, severity or None, hit)
        elif self.pending is not None:
            self._fold(line, hit)
        elif line.strip():
            yield from self._single(line, line_no, None, hit)

    def _fold(self, line: str, hit: bool | None) -> None:
        p = self.pending
        p.hit = None if hit is None or p.hit is None else p.hit or hit
        if p.size + len(line) > MAX_RECORD_TEXT:
            p.dropped += 1
            return
        p.parts.append(line)
        p.size += len(line) + 1

    def flush(self) -> Iterator[RawRecord]:
        p, self.pending = self.pending, None
        if p is None:
            return
        ctx = self.ctx
        ctx.count()
        self.last_stamp = None if p.head.zone_word else p.head.stamp
        if p.head.zone_word:  # reported even on irrelevant lines: it breaks the whole file
            ctx.unparsed(p.line, f"unknown time zone {p.head.zone_word!r} after {p.head.stamp!r}")
            return
        split = _split(p) if p.hit is not False else None
        text = _join(p, split[2]) if split is not None else ""
        if not self._relevant(p.hit, text):
            ctx.ignore()
            return
        try:
            ts, naive = parse_timestamp(p.head.stamp, ctx.default_tz)
        except TimestampError as exc:
            ctx.unparsed(p.line, str(exc))
            return
        severity, logger, _ = split or _split(p)
        fields = {"logger": logger, "module": logger} if logger else {}
        if p.columns is not None:
            fields.update(p.columns[1])
        record = RawRecord(ctx.source, p.line, ts, severity, text, fields,
                           insert_id=fields.get("insert_id"))
        yield ctx.stamped(record, naive)

    def _single(
        self, line: str, line_no: int, severity: str | None, hit: bool | None
    ) -> Iterator[RawRecord]:
        ctx = self.ctx
        ctx.count()
        text, logger = split_unstamped(line.rstrip())
        if not self._relevant(hit, text):
            ctx.ignore()
            return
        fields = {"logger": logger, "module": logger} if logger else {}
        if self.last_stamp is None:
            yield RawRecord(ctx.source, line_no, None, severity, text, fields)
            return
        # A bare print() between two log lines (`[FALLBACK] User ID: …`) happened after the
        # stamped line before it: that is the best time it has.
        try:
            ts, naive = parse_timestamp(self.last_stamp, ctx.default_tz)
        except TimestampError:
            yield RawRecord(ctx.source, line_no, None, severity, text, fields)
            return
        yield ctx.stamped(RawRecord(ctx.source, line_no, ts, severity, text, fields), naive)

    def _relevant(self, hit: bool | None, text: str) -> bool:
        prefilter = self.ctx.prefilter
        if prefilter is None:
            return True
        return prefilter.match_text(text) if hit is None else hit


def _split(p: _Pending) -> tuple[str | None, str | None, str]:
    """(severity, logger, message) of the stamped line: by the table layout, else by its words."""
    if p.columns is not None:
        return p.columns[0], p.columns[1].get("logger"), p.columns[2]
    return p.head.split()


def _join(p: _Pending, message: str) -> str:
    """The message and its folded lines; lines indented to the message column (gcloud's table
    continuation rows) lose that indentation, keeping what is relative to it."""
    column = p.width - len(message)
    pad = " " * column
    lines = [part[column:] if column > 8 and part.startswith(pad) else part for part in p.parts]
    parts = [message, *lines] if message.strip() else lines
    text = "\n".join(parts).rstrip()
    if p.dropped:
        text += f"\n… ({p.dropped} more lines not kept)"
    return text
