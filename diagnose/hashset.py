"""A set of strings in 8 bytes each: for "seen before?" questions asked millions of times.

Two questions grow with the input: how many timelines already carry this name (`user_1`, then
`user_1#2`), and has this insertId been read already, for the records deduped as they are read
(those no rule matched, and untimed ones: dedupe.py). A Python set or dict spends about
100–150 bytes per member, so two million connections cost hundreds of MB before anything else.
Here each member is its 64-bit hash in an open-addressing table (8-byte slots, linear probing,
doubled at three-quarters full), and a use count is stored only for the rare member seen more
than once. The table is SEGMENTS tables picked by the hash's top bits, each doubling on its own
in its own memory mapping: one big table doubling held old and new at once (48 MB at two
million members, plus a zeroed temporary: the peak of a 2-million-connection run); a segment's
doubling holds 1/64 of that, and a dropped segment goes straight back to the system.

Two different strings collide with probability about n²/2⁶⁵ (about 1 in 10⁷ at two million
members): at worst one record counted as a duplicate or one extra `#2`, never a crash. The first
SMALL members live in a plain dict (exact, and 10× faster than probing in Python: most inputs
never leave it); past that they move to the table.
"""

from __future__ import annotations

import mmap

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15  # 2^64 / golden ratio, odd
_EMPTY = 0
SMALL = 100_000  # members kept exactly in a dict (about 15 MB) before the compact table


SEGMENTS = 64  # a power of two
_SEGMENT_SHIFT = 64 - SEGMENTS.bit_length() + 1  # the hash's top bits pick the segment


class CountingHashSet:
    """`add(value)` returns how many times `value` has been added, this time included."""

    def __init__(self, capacity: int = 1 << 12, small: int | None = None) -> None:
        self._small: dict[object, int] | None = {}
        self._small_limit = SMALL if small is None else small
        size = 1
        while 3 * size * SEGMENTS < 4 * capacity:
            size <<= 1
        self._segments = [_zeros(size) for _ in range(SEGMENTS)]
        self._masks = [size - 1] * SEGMENTS
        self._filled = [0] * SEGMENTS
        self._repeats: dict[int, int] = {}  # hash -> uses, only for members added twice or more

    def __len__(self) -> int:
        return sum(self._filled) if self._small is None else len(self._small)

    def add(self, value: object) -> int:
        small = self._small
        if small is not None:
            uses = small.get(value, 0) + 1
            small[value] = uses
            if len(small) > self._small_limit:
                self._leave_small()
            return uses
        return self._add_hash(_spread(value))

    def _leave_small(self) -> None:
        small, self._small = self._small or {}, None
        for value, uses in small.items():
            h = _spread(value)
            self._add_hash(h)
            if uses > 1:
                self._repeats[h] = uses

    def _add_hash(self, h: int) -> int:
        segment = h >> _SEGMENT_SHIFT
        slots, mask = self._segments[segment], self._masks[segment]
        i = h & mask
        while True:
            current = slots[i]
            if current == h:
                uses = self._repeats.get(h, 1) + 1
                self._repeats[h] = uses
                return uses
            if current == _EMPTY:
                break
            i = (i + 1) & mask
        slots[i] = h
        self._filled[segment] += 1
        if 4 * self._filled[segment] > 3 * len(slots):  # three-quarters full: short probes
            self._grow(segment)
        return 1

    def _grow(self, segment: int) -> None:
        old = self._segments[segment]
        size = 2 * len(old)
        self._segments[segment] = slots = _zeros(size)
        self._masks[segment] = mask = size - 1
        for h in old:
            if h == _EMPTY:
                continue
            i = h & mask
            while slots[i] != _EMPTY:
                i = (i + 1) & mask
            slots[i] = h


def _spread(value: object) -> int:
    """The value's hash over all 64 bits (an int hashes to itself, so its top bits, which pick
    the segment, would be 0): times an odd constant, a one-to-one map. 0 marks an empty slot."""
    return (hash(value) * _GOLDEN) & _MASK or 1


def _zeros(size: int) -> memoryview:
    """An empty table of `size` slots in its own anonymous mapping: zero pages the kernel
    gives as they are touched, and gives back the moment the table is dropped. (An
    `array` made from a zeroed bytes object held that temporary too, 32 MB at two million
    members; and malloc kept freed segments, so RSS kept them.)"""
    return memoryview(mmap.mmap(-1, 8 * size)).cast("Q")
