"""Fast path for pretty-printed JSON (gcloud --format=json arrays, indented object streams).

Decoding every entry of a 1 GB download costs ~40 s. But gcloud writes each entry with a fixed
indentation, so the line `<indent>}` closes an entry and nothing nested can look like it. That
lets the prefilter run on raw byte blocks, as for JSON lines: only entries holding a literal are
decoded; the rest are counted as ignored unread. Inputs without such a layout (compact arrays)
keep using the general streaming reader in jsonarray.py.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from itertools import accumulate

import orjson

from ..model import RawRecord
from .context import SourceContext
from .jsonl import VECTOR_MIN, convert, convert_all
from .splice import join_fragments, unclosed
from .stream import MAX_LINE, Input, LineBlocks

_LAYOUT = re.compile(rb"\A\s*(\[)?[ \t]*\r?\n?([ \t]*)\{\r?\n")
_SEPARATORS = b" \t\r\n,["


def pretty_indent(prefix: bytes, array: bool) -> bytes | None:
    """The indentation of top-level entries if they sit on their own lines, else None."""
    m = _LAYOUT.match(prefix)
    if m is None or bool(m.group(1)) != array or (array and not m.group(2)):
        return None
    return m.group(2)


def read_pretty(
    source: Input, ctx: SourceContext, indent: bytes, *, array: bool
) -> Iterator[RawRecord]:
    reader = _Entries(ctx, b"\n" + indent + b"}", array)
    blocks = LineBlocks(source)
    for data, lo, hi, first, _ in blocks:
        if data is None:  # a single line over 16 MiB inside an entry
            reader.oversize(first)
            continue
        yield from reader.feed(data, lo, hi, first)
    reader.finish(source.error)


class _Entries:
    """Splits byte blocks into entries at the closing-brace lines, carrying partial entries."""

    def __init__(self, ctx: SourceContext, end: bytes, array: bool) -> None:
        self.ctx = ctx
        self.end = end
        self.array = array
        self.carry = b""
        self.carry_line = 1  # line number where `carry` starts
        self.skipping = False

    def feed(self, data: bytes, lo: int, hi: int, first: int) -> Iterator[RawRecord]:
        """The entries ending in data[lo:hi] (a run of lines starting at line `first`), after
        the partial entry carried from the run before. One copy of the run is made, not two
        (slicing it, then joining the carry on): each copy of a fresh 8 MiB costs page faults."""
        if self.carry:
            piece = b"".join((self.carry, memoryview(data)[lo:hi]))
        else:
            piece = data if lo == 0 and hi == len(data) else data[lo:hi]
        line = self.carry_line if self.carry else first
        start = 0
        if self.skipping:
            start = self._after_skip(piece)
            if start < 0:
                self.carry, self.carry_line = b"", first
                return
        ends = self._ends(piece, start)
        self.ctx.count(len(ends))
        wanted = range(len(ends)) if self.ctx.prefilter is None else _holding(
            self.ctx.prefilter.hit_positions(piece), start, ends)
        self.ctx.ignore(len(ends) - len(wanted))  # entries without a literal: counted, unread
        counted = 0
        bounds = [start, *ends]
        for index in wanted:
            body_at = _skip_separators(piece, bounds[index], ends[index])
            line += piece.count(b"\n", counted, body_at)
            counted = body_at
            yield from self._decode(piece[body_at:ends[index]], line,
                                    _Neighbours(piece, bounds, index))
        start = ends[-1] if ends else start
        line += piece.count(b"\n", counted, start)
        self.carry, self.carry_line = piece[start:], line
        if len(self.carry) > MAX_LINE:
            self.oversize(line)

    def _ends(self, piece: bytes, start: int) -> list[int]:
        """Offsets just past each closing `<indent>}` at or after `start` (numpy on big
        pieces; else split and summed in C: a Python loop of `find` per entry was a fifth of
        reading a gcloud array)."""
        if len(piece) - start >= VECTOR_MIN:
            try:
                from .bigram import ends_of
            except ImportError:  # numpy missing
                pass
            else:
                return ends_of(piece, start, self.end)
        end = len(self.end)
        parts = piece[start:].split(self.end)
        return list(accumulate(map(len, parts[:-1]), lambda at, size: at + size + end,
                               initial=start))[1:] if len(parts) > 1 else []

    def _after_skip(self, piece: bytes) -> int:
        pos = piece.find(self.end)
        if pos < 0:
            return -1
        self.skipping = False
        return pos + len(self.end)

    def _decode(self, raw: bytes, line: int, neighbours=None) -> Iterator[RawRecord]:
        try:
            obj = orjson.loads(raw)  # 3-4x json; what it refuses, json decodes or explains
        except orjson.JSONDecodeError:
            yield from self._decode_plain(raw, line, neighbours)
        else:
            yield from self._records(obj, line, neighbours)

    def _decode_plain(self, raw: bytes, line: int, neighbours=None) -> Iterator[RawRecord]:
        """The standard library's decoder: the reference behaviour, and its error messages."""
        try:
            obj = json.loads(raw.decode("utf-8", "replace"))
        except json.JSONDecodeError as exc:
            self.ctx.unparsed(line, f"bad JSON: {exc.msg} (line {line + exc.lineno - 1})")
            return
        except (ValueError, RecursionError) as exc:
            self.ctx.unparsed(line, f"bad JSON: {str(exc)[:80]}")
            return
        yield from self._records(obj, line, neighbours)

    def _records(self, obj: object, line: int, neighbours) -> Iterator[RawRecord]:
        if neighbours is not None and isinstance(obj, dict) and unclosed(obj.get("textPayload")):
            record = convert(obj, line, self.ctx)
            if record is not None:
                join_fragments(record, obj, neighbours)
                yield record
            return
        yield from convert_all(obj, line, self.ctx)

    def oversize(self, line: int) -> None:
        self.ctx.count()
        self.ctx.unparsed(line, "entry longer than 16 MiB")
        self.carry, self.skipping = b"", True

    def finish(self, error: str | None) -> None:
        """What is left after the last entry: `]`, nothing, or an entry cut off."""
        rest = self.carry.strip(_SEPARATORS[:-1])
        if error is None and rest == (b"]" if self.array else b""):
            return
        at = self.carry_line + self.carry.count(b"\n", 0, len(self.carry) - len(
            self.carry.lstrip(_SEPARATORS)))
        self.ctx.count()
        if rest.startswith(b"]"):
            self.ctx.unparsed(at, "unexpected data after the end of the JSON array")
        elif rest:
            self.ctx.unparsed(at, error or "JSON cut off mid-entry: the input ends inside this entry")
        else:
            self.ctx.unparsed(at, error or "JSON array not closed: input ended before ']'")


class _Neighbours:
    """Raw bytes of the entries around entry `index` of one piece (for splice.join_fragments)."""

    def __init__(self, piece: bytes, bounds: list[int], index: int) -> None:
        self.piece, self.bounds, self.index = piece, bounds, index

    def __call__(self, offset: int) -> bytes | None:
        at = self.index + offset
        if not 0 <= at < len(self.bounds) - 1:
            return None
        lo, hi = self.bounds[at], self.bounds[at + 1]
        return self.piece[_skip_separators(self.piece, lo, hi):hi]


def _holding(hits: list[int], start: int, ends: list[int]) -> list[int]:
    """Indexes of the entries (from `start`, ending at `ends`) that hold a hit, in order."""
    wanted: list[int] = []
    for hit in hits:
        if hit < start:
            continue
        index = bisect.bisect_right(ends, hit)
        if index == len(ends):
            break
        if not wanted or wanted[-1] != index:
            wanted.append(index)
    return wanted


def _skip_separators(piece: bytes, start: int, stop: int) -> int:
    """Offset of the entry's `{` (past the comma, newlines and `[` before it)."""
    brace = piece.find(b"{", start, stop)
    return brace if brace >= 0 else start
