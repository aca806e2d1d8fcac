"""Fast path for big blocks of plain text: find the lines worth reading without reading them.

In a big loguru/Python-logging file almost every line is a one-line stamped record without a
prefilter hit: it is counted and ignored, nothing else. numpy finds those lines in bulk: a line
is "plain" when its raw bytes start `dddd-dd-dd[T ]dd:dd:dd`, an optional `.`/`,` fraction, then
a space followed by something that is neither an ASCII capital nor `<`. Such a line is certainly
a stamped record start (split_head finds a stamp) and certainly has no zone word (that needs a
capital right after the space, possibly behind a loguru colour tag), so it needs no decoding.

Every other line (traceback, continuation, unstamped start, zone words, `[stamp]`…), every line
holding a prefilter hit, the plain line just before a non-plain one (it may gain folded lines)
and the block's last line (the next block may fold into it) go through the exact line-by-line
logic; the plain lines between them are complete, irrelevant one-line records.

Blocks with ESC (colour escapes may split a literal) or NUL bytes are not planned here.
"""

from __future__ import annotations

import numpy as np

from .bigram import equal_to
from .textclean import PLAIN_LINE

_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[ord("0") : ord("9") + 1] = True
_UNSAFE_NEXT = np.zeros(256, dtype=bool)  # after the stamp's space: may start a zone word / tag
_UNSAFE_NEXT[ord("A") : ord("Z") + 1] = True
_UNSAFE_NEXT[ord("<")] = True
_WIDE = 32  # a line starting this far from the block's end is checked in bulk; else by regex
_FRACTION = 9  # PLAIN_LINE takes at most 9 fraction digits

Plan = tuple[list[int], list[int], list[int], set[int]]


class _Shape:
    """Up to 8 bytes at a line start, tested 8 at a time as one little-endian word: `0` is an
    ASCII digit, `?` any byte (tested apart), anything else that very byte."""

    def __init__(self, text: bytes) -> None:
        mask = value = low = six = ten = 0
        for k, ch in enumerate(text):
            shift = 8 * k
            if ch == ord("0"):  # high nibble 3, low nibble 0-9 (adding 6 stays below 16)
                mask, value = mask | 0xF0 << shift, value | 0x30 << shift
                low, six, ten = low | 0x0F << shift, six | 0x06 << shift, ten | 0x10 << shift
            elif ch != ord("?"):
                mask, value = mask | 0xFF << shift, value | ch << shift
        self.mask, self.value, self.low, self.six, self.ten = (
            np.uint64(x) for x in (mask, value, low, six, ten))

    def fits(self, words: np.ndarray) -> np.ndarray:
        return ((words & self.mask) == self.value) & (
            ((words & self.low) + self.six) & self.ten == 0)


_DATE, _TIME, _SECONDS, _MILLIS = (
    _Shape(b"0000-00-"), _Shape(b"00?00:00"), _Shape(b":00"), _Shape(b"000 "))


def plain_lines(data: bytes, lo: int, hi: int, starts: np.ndarray) -> np.ndarray:
    """Which lines of data[lo:hi] (their start offsets from lo) are plain: PLAIN_LINE matches
    at their start, within the line.

    Bulk first: the 19-byte stamp as three 8-byte words per line, then the byte after it (a
    space, or a fraction: `.123 ` by word, other lengths by a small byte matrix). The few lines
    too near the block's end for that are matched by the regex itself.
    """
    plain = np.zeros(len(starts), dtype=bool)
    wide = starts + _WIDE <= hi - lo
    at = starts[wide] + lo
    if len(at):
        plain[wide] = _plain_wide(data, at)
    for index in np.flatnonzero(~wide).tolist():
        start = lo + int(starts[index])
        end = data.find(b"\n", start, hi)
        plain[index] = PLAIN_LINE.match(data, start, hi if end < 0 else end) is not None
    return plain


def _plain_wide(data: bytes, at: np.ndarray) -> np.ndarray:
    """plain_lines for lines starting at offsets `at`, each with _WIDE bytes of block after it.

    A newline is none of the bytes tested for, so a test never passes beyond a line's end."""
    words = np.ndarray(shape=(len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
    view = np.frombuffer(data, dtype=np.uint8)
    sep = view[at + 10]
    stamp = (_DATE.fits(words[at]) & _TIME.fits(words[at + 8]) & _SECONDS.fits(words[at + 16])
             & ((sep == ord("T")) | (sep == ord(" "))))
    after = view[at + 19]
    plain = stamp & (after == ord(" ")) & ~_UNSAFE_NEXT[view[at + 20]]
    fraction = np.flatnonzero(stamp & ((after == ord(".")) | (after == ord(","))))
    starts = at[fraction]
    millis = _MILLIS.fits(words[starts + 20])  # `.123 `: loguru, Python logging
    plain[fraction[millis]] = ~_UNSAFE_NEXT[view[starts[millis] + 24]]
    fraction, starts = fraction[~millis], starts[~millis]
    tail = view[starts[:, None] + np.arange(20, 20 + _FRACTION + 2)]  # digits, space, next
    digits = np.argmin(_DIGIT[tail], axis=1)  # the first byte that is not a digit
    rows = np.arange(len(starts))
    plain[fraction] = ((digits >= 1) & (digits <= _FRACTION) & (tail[rows, digits] == ord(" "))
                       & ~_UNSAFE_NEXT[tail[rows, np.minimum(digits + 1, _FRACTION + 1)]])
    return plain


def plan_block(data: bytes, lo: int, hi: int, hits: list[int]) -> Plan:
    """(lines to feed, their start and end offsets in data, indexes of lines holding a hit).

    Indexes count the lines of data[lo:hi] from 0; `hits` are prefilter hit offsets in data.
    Lines not listed are plain, hit-free and followed by a plain line (or another listed line
    that is plain): each is one ignored record.
    """
    size = hi - lo
    view = np.frombuffer(data, dtype=np.uint8, count=size, offset=lo)
    ends = np.flatnonzero(equal_to(view, 10))
    if view[size - 1] != 10:  # the input's last line, without a newline
        ends = np.append(ends, size)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    plain = plain_lines(data, lo, hi, starts)

    feed = ~plain
    feed[:-1] |= ~plain[1:]  # the record a non-plain line may fold into
    feed[-1] = True  # the next block may fold into it
    hit_lines: set[int] = set()
    if hits:
        index = np.searchsorted(ends, np.asarray(hits, dtype=np.int64) - lo, side="left")
        feed[index] = True
        hit_lines = set(index.tolist())
    lines = np.flatnonzero(feed)
    return (
        lines.tolist(), (starts[lines] + lo).tolist(), (ends[lines] + lo).tolist(), hit_lines
    )
