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

_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[ord("0") : ord("9") + 1] = True
_UNSAFE_NEXT = np.zeros(256, dtype=bool)  # after the stamp's space: may start a zone word / tag
_UNSAFE_NEXT[ord("A") : ord("Z") + 1] = True
_UNSAFE_NEXT[ord("<")] = True
_SHAPE = "0000-00-00T00:00:00"  # 0: an ASCII digit; T: `T` or a space; else that very byte
_MAX_FRACTION = 9  # _STAMP takes at most 9 fraction digits

Plan = tuple[list[int], list[int], list[int], set[int]]


def plan_block(data: bytes, lo: int, hi: int, hits: list[int]) -> Plan:
    """(lines to feed, their start and end offsets in data, indexes of lines holding a hit).

    Indexes count the lines of data[lo:hi] from 0; `hits` are prefilter hit offsets in data.
    Lines not listed are plain, hit-free and followed by a plain line (or another listed line
    that is plain): each is one ignored record.
    """
    size = hi - lo
    view = np.frombuffer(data, dtype=np.uint8, count=size, offset=lo)
    ends = np.flatnonzero(view == 10)
    if view[size - 1] != 10:  # the input's last line, without a newline
        ends = np.append(ends, size)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    last = size - 1

    def at(index: np.ndarray) -> np.ndarray:
        return view[np.minimum(index, last)]

    plain = ends - starts >= len(_SHAPE) + 1
    for k, want in enumerate(_SHAPE):
        byte = at(starts + k)
        if want == "0":
            plain &= _DIGIT[byte]
        elif want == "T":
            plain &= (byte == ord("T")) | (byte == ord(" "))
        else:
            plain &= byte == ord(want)
    p = starts + len(_SHAPE)
    first = at(p)
    fraction = ((first == ord(".")) | (first == ord(","))) & (p + 1 < ends) & _DIGIT[at(p + 1)]
    pos = np.where(fraction, p + 1, p)
    for _ in range(_MAX_FRACTION):
        pos += fraction & (pos < ends) & (pos <= p + _MAX_FRACTION) & _DIGIT[at(pos)]
    plain &= (pos < ends) & (at(pos) == ord(" "))
    plain &= ~((pos + 1 < ends) & _UNSAFE_NEXT[at(pos + 1)])

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
