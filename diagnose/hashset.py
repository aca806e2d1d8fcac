"""A set of strings in 8 bytes each: for "seen before?" questions asked millions of times.

Two questions grow with the input: has this insertId been read already (dedupe), and how many
timelines already carry this name (`user_1`, then `user_1#2`). A Python set or dict spends about
100–150 bytes per member, so two million connections cost hundreds of MB before anything else.
Here each member is its 64-bit hash in an open-addressing table (`array('Q')`, linear probing,
doubled at three-quarters full), and a use count is stored only for the rare member seen more than once.

Two different strings collide with probability about n²/2⁶⁵ (about 1 in 10⁷ at two million
members): at worst one record counted as a duplicate or one extra `#2`, never a crash. The first
SMALL members live in a plain dict (exact, and 10× faster than probing in Python: most inputs
never leave it); past that they move to the table.
"""

from __future__ import annotations

from array import array

_MASK = (1 << 64) - 1
_EMPTY = 0
SMALL = 100_000  # members kept exactly in a dict (about 15 MB) before the compact table


class CountingHashSet:
    """`add(value)` returns how many times `value` has been added, this time included."""

    def __init__(self, capacity: int = 1 << 12, small: int | None = None) -> None:
        self._small: dict[object, int] | None = {}
        self._small_limit = SMALL if small is None else small
        size = 1
        while 3 * size < 4 * capacity:
            size <<= 1
        self._slots = array("Q", bytes(8 * size))
        self._mask = size - 1
        self._used = 0
        self._repeats: dict[int, int] = {}  # hash -> uses, only for members added twice or more

    def __len__(self) -> int:
        return self._used if self._small is None else len(self._small)

    def add(self, value: object) -> int:
        small = self._small
        if small is not None:
            uses = small.get(value, 0) + 1
            small[value] = uses
            if len(small) > self._small_limit:
                self._leave_small()
            return uses
        return self._add_hash(hash(value) & _MASK or 1)  # 0 marks an empty slot

    def _leave_small(self) -> None:
        small, self._small = self._small or {}, None
        for value, uses in small.items():
            h = hash(value) & _MASK or 1
            self._add_hash(h)
            if uses > 1:
                self._repeats[h] = uses

    def _add_hash(self, h: int) -> int:
        slots, mask = self._slots, self._mask
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
        self._used += 1
        if 4 * self._used > 3 * len(slots):  # three-quarters full: short probes, 11-21 B each
            self._grow()
        return 1

    def _grow(self) -> None:
        old = self._slots
        size = 2 * len(old)
        self._slots = slots = array("Q", bytes(8 * size))
        self._mask = mask = size - 1
        for h in old:
            if h == _EMPTY:
                continue
            i = h & mask
            while slots[i] != _EMPTY:
                i = (i + 1) & mask
            slots[i] = h
