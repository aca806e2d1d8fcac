"""JSON lines (sink exports, Cloud Run structured stdout): one object a line, prefiltered as bytes.

The fast path never decodes a line the prefilter rejects: the literals are searched in whole
8 MiB blocks (one C scan per literal), and a cheap structural check on the block (every line
starts with `{` and ends with `}`) proves the rest are plausible objects that can be counted as
ignored unread. Lines that fail the check are decoded anyway, so junk is reported, not ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import tzinfo

import orjson

from ..model import RawRecord
from .context import SourceContext
from .logentry import entry_to_record
from .prefilter import Prefilter
from .splice import join_fragments, unclosed
from .stream import MAX_LINE, Input, LineBlocks
from .wrapper import wrapped_entries

_ENTRY_ERRORS = (ValueError, TypeError, AttributeError, KeyError, RecursionError)
VECTOR_MIN = 64 << 10  # blocks this big take the numpy path when numpy is there
Survivor = tuple[int, bytes]  # (0-based line index within the block, raw line)


def read_jsonl(source: Input, ctx: SourceContext) -> Iterator[RawRecord]:
    blocks = LineBlocks(source)
    for data, lo, hi, first, newlines in blocks:
        if data is None:
            ctx.count()
            ctx.unparsed(first, "line longer than 16 MiB")
            continue
        records, survivors, _ = classify_block(data, lo, hi, newlines, ctx.prefilter)
        yield from decode_survivors(records, survivors, first, ctx, BlockLines(data, lo, hi))
    if blocks.truncated_at:
        ctx.count()
        ctx.unparsed(blocks.truncated_at, source.error or "input ended early")


def decode_survivors(
    records: int, survivors: list[Survivor], first: int, ctx: SourceContext,
    block: BlockLines | None = None,
) -> Iterator[RawRecord]:
    """Account for one classified block and decode the lines worth decoding."""
    ctx.count(records)
    ctx.ignore(records - len(survivors))
    for index, raw in survivors:
        around = block.around(index) if block is not None else None
        decoded = decode_raw(raw, ctx.source, first + index, ctx.default_tz, around)
        record = account(decoded, first + index, ctx)
        if record is not None:
            yield record


class BlockLines:
    """The lines of one block, found only if a split loguru message needs its neighbours."""

    def __init__(self, data: bytes, lo: int, hi: int) -> None:
        self.data, self.lo, self.hi = data, lo, hi
        self.starts: list[int] | None = None

    def around(self, index: int):
        """neighbours(k) → raw bytes of line index+k of the block, None past its edges."""
        def neighbours(offset: int) -> bytes | None:
            starts = self._starts()
            at = index + offset
            if not 0 <= at < len(starts) - 1:
                return None
            return self.data[starts[at] : starts[at + 1]].rstrip(b"\r\n") or None
        return neighbours

    def _starts(self) -> list[int]:
        if self.starts is None:
            starts, find, pos = [self.lo], self.data.find, self.lo
            while (pos := find(b"\n", pos, self.hi)) >= 0:
                pos += 1
                starts.append(pos)
            if starts[-1] != self.hi:
                starts.append(self.hi)
            self.starts = starts
        return self.starts


def classify_block(
    data: bytes, lo: int, hi: int, newlines: int, prefilter: Prefilter | None
) -> tuple[int, list[Survivor], int]:
    """(records in data[lo:hi], lines to decode, b"\n"s in it): prefilter hits plus lines
    that are not objects. `newlines` -1: not counted yet (the numpy path counts them anyway).

    Pure, so worker processes run it on byte ranges of one file.
    """
    if not data.endswith(b"\n", lo, hi):  # the last line of the input: give it its newline
        records, survivors, counted = classify_block(
            data[lo:hi] + b"\n", 0, hi - lo + 1, newlines + 1 if newlines >= 0 else -1,
            prefilter)
        return records, survivors, counted - 1
    if prefilter is not None and hi - lo >= VECTOR_MIN and (
            vector := _vector_lines(data, lo, hi, prefilter)) is not None:
        lines, survivors = vector
        return lines, survivors, lines
    newlines = data.count(b"\n", lo, hi) if newlines < 0 else newlines
    if prefilter is None or not _well_formed(data, lo, hi, newlines):
        return (*_classify_lines(data[lo:hi], prefilter), newlines)
    hits = prefilter.hit_positions(data, lo, hi)
    return newlines, list(_hit_lines(data, lo, hi, hits)), newlines


def _vector_lines(
    data: bytes, lo: int, hi: int, prefilter: Prefilter
) -> tuple[int, list[Survivor]] | None:
    """The numpy path for big blocks: structure check, line count and hit → line mapping in
    one go."""
    try:
        from .bigram import object_lines
    except ImportError:
        return None
    ends = object_lines(data, lo, hi)
    if ends is None:  # blank or junk lines: the line-by-line path counts and reports them
        return None
    hits = prefilter.hit_positions(data, lo, hi)
    if not hits:
        return len(ends), []
    lines = sorted(set(ends.searchsorted(hits).tolist()))
    starts = [int(ends[i - 1]) + 1 if i else lo for i in lines]
    return len(ends), [(i, data[s : int(ends[i])].rstrip(b"\r"))
                       for i, s in zip(lines, starts, strict=True)]


def _well_formed(data: bytes, lo: int, hi: int, lines: int) -> bool:
    """Every line is non-blank, starts with `{` and ends with `}` (LF or CRLF), checked in C."""
    if data[lo : lo + 1] != b"{":
        return False
    if data.endswith(b"}\n", lo, hi):
        return data.count(b"}\n{", lo, hi) == lines - 1
    return data.endswith(b"}\r\n", lo, hi) and data.count(b"}\r\n{", lo, hi) == lines - 1


def _hit_lines(data: bytes, lo: int, hi: int, hits: list[int]) -> Iterator[Survivor]:
    """(line index, line bytes) of each distinct line of data[lo:hi] holding a hit (sorted)."""
    index, counted, end = 0, lo, -1
    for pos in hits:
        if pos < end:
            continue
        start = data.rfind(b"\n", lo, pos) + 1 or lo
        end = data.find(b"\n", pos, hi)
        index += data.count(b"\n", counted, start)
        counted = start
        yield index, data[start:end].rstrip(b"\r")


def _classify_lines(body: bytes, prefilter: Prefilter | None) -> tuple[int, list[Survivor]]:
    """Slow path, line by line: blank lines are not records, junk lines are always decoded."""
    records, survivors = 0, []
    for index, line in enumerate(body.split(b"\n")[:-1]):
        raw = line.strip()
        if not raw:
            continue
        records += 1
        plausible = raw[:1] == b"{" and raw[-1:] == b"}"
        if prefilter is None or not plausible or prefilter.match_bytes(raw):
            survivors.append((index, raw))
    return records, survivors


Decoded = tuple[RawRecord, bool] | str  # (record, timestamp was naive) or why it is unreadable


def decode_line(raw: bytes, line_no: int, ctx: SourceContext) -> RawRecord | None:
    """One line → record, or None after reporting why it is unreadable."""
    return account(decode_raw(raw, ctx.source, line_no, ctx.default_tz), line_no, ctx)


def account(result: Decoded, line_no: int, ctx: SourceContext) -> RawRecord | None:
    """Book one decoded line (decoded here or in a worker process) against the input."""
    if isinstance(result, str):
        ctx.unparsed(line_no, result)
        return None
    record, naive = result
    record.line = line_no
    return ctx.stamped(record, naive)


def decode_raw(
    raw: bytes, source: str, line_no: int, default_tz: tzinfo, neighbours=None
) -> Decoded:
    """Pure: one raw line → (record, naive) or the reason it cannot be read.

    `neighbours(k)` (the raw line k places away) lets a split loguru message be joined.
    """
    reason = _junk_reason(raw)
    if reason is not None:
        return reason
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:  # json accepts more (NaN, lone surrogates, huge ints) and
        return _decode_plain(raw, source, line_no, default_tz, neighbours)  # says why it won't
    return to_record(obj, source, line_no, default_tz, neighbours)


def _decode_plain(
    raw: bytes, source: str, line_no: int, default_tz: tzinfo, neighbours=None
) -> Decoded:
    """`decode_raw` with the standard library's decoder: the reference behaviour."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start + 1}"
    except json.JSONDecodeError as exc:
        return f"bad JSON: {exc.msg} (column {exc.colno})"
    except (ValueError, RecursionError) as exc:
        return f"bad JSON: {str(exc)[:80]}"
    return to_record(obj, source, line_no, default_tz, neighbours)


def to_record(
    obj: object, source: str, line_no: int, default_tz: tzinfo, neighbours=None
) -> Decoded:
    try:
        decoded = entry_to_record(obj, source, line_no, default_tz)
    except _ENTRY_ERRORS as exc:
        return str(exc)[:200] or type(exc).__name__
    if neighbours is not None and isinstance(obj, dict) and unclosed(obj.get("textPayload")):
        join_fragments(decoded[0], obj, neighbours)
    return decoded


def convert(obj: object, line_no: int, ctx: SourceContext) -> RawRecord | None:
    """A decoded JSON value → record via entry_to_record, or None after reporting why not."""
    return account(to_record(obj, ctx.source, line_no, ctx.default_tz), line_no, ctx)


def convert_all(
    obj: object, line_no: int, ctx: SourceContext, raw: str | None = None
) -> Iterator[RawRecord]:
    """A decoded JSON value (counted as one record) → its records: itself, or, for a document
    wrapping LogEntry lists, each entry (counted here). Given the value's `raw` text, each
    wrapped entry gets the line of its insertId; otherwise the document's line."""
    entries = wrapped_entries(obj)
    if entries is None:
        record = convert(obj, line_no, ctx)
        if record is not None:
            yield record
        return
    ctx.count(len(entries) - 1)
    lines = _entry_lines(entries, raw, line_no) if raw is not None else None
    for index, entry in enumerate(entries):
        record = convert(entry, lines[index] if lines else line_no, ctx)
        if record is not None:
            yield record


def _entry_lines(entries: list[dict], raw: str, first_line: int) -> list[int]:
    """Line of each entry's insertId in the document text (entries are in document order)."""
    out, at, line = [], 0, first_line
    for entry in entries:
        insert_id = entry.get("insertId") or entry.get("insert_id")
        if isinstance(insert_id, str) and insert_id:
            found = raw.find(json.dumps(insert_id), at)
            if found >= 0:
                line += raw.count("\n", at, found)
                at = found
        out.append(line)
    return out


def _junk_reason(raw: bytes) -> str | None:
    if len(raw) > MAX_LINE:
        return "line longer than 16 MiB"
    if b"\x00" in raw:
        return "binary data (NUL bytes), not a JSON line"
    return None
