"""Vectorised block scans for the fast paths (numpy arrives with pandas): the JSONL line
structure check, and where gcloud array entries end.

The numpy bigram index that used to live here (multi-literal search by rarest byte pair) was
replaced by the Aho-Corasick automaton in prefilter.py: ~10x faster on the 260-needle pack.
"""

from __future__ import annotations

import numpy as np

_SCRATCH = np.zeros(0, dtype=bool)


def equal_to(view: np.ndarray, byte: int) -> np.ndarray:
    """`view == byte` in a buffer kept for the next block: a fresh 8 MiB array per block cost
    the kernel more in page faults (zeroing new pages) than the comparison itself. Read the
    answer before the next call. One buffer a process, as long as the longest block scanned
    (a block, plus an array's carried entry: at most 8 MiB + 16 MiB)."""
    global _SCRATCH
    if len(_SCRATCH) < len(view):
        _SCRATCH = np.zeros(len(view), dtype=bool)
    out = _SCRATCH[: len(view)]
    np.equal(view, byte, out=out)
    return out


def object_lines(data: bytes, lo: int, hi: int) -> np.ndarray | None:
    """Newline offsets of data[lo:hi] (which ends with b"\\n") if every line is `{…}`, else None.

    One vectorised pass instead of counting `}\\n{` in C and then lines per hit.
    """
    view = np.frombuffer(data, dtype=np.uint8, count=hi - lo, offset=lo)
    newlines = np.flatnonzero(equal_to(view, 10))
    before = view[newlines - 1]
    crlf = before == 13
    if crlf.any():
        before = np.where(crlf, view[np.maximum(newlines - 2, 0)], before)
    if view[0] != 123 or not (before == 125).all() or not (view[newlines[:-1] + 1] == 123).all():
        return None
    return newlines + lo


def ends_of(data: bytes, start: int, marker: bytes) -> list[int]:
    """Offsets just past each occurrence of `marker` in data[start:] (occurrences must not
    overlap: a gcloud entry's closing line `\\n<indent>}`). Its last byte is found in one
    vectorised pass and the bytes before it checked only there: 3 ms for 8 MiB where
    splitting the block (a copy of every entry) took 8.5."""
    view = np.frombuffer(data, dtype=np.uint8)
    first = start + len(marker) - 1
    found = np.flatnonzero(equal_to(view[first:], marker[-1])) + first
    for back in range(1, len(marker)):
        found = found[view[found - back] == marker[-1 - back]]
    return (found + 1).tolist()
