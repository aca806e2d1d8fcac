"""Vectorised line structure check for the JSONL fast path (numpy arrives with pandas).

The numpy bigram index that used to live here (multi-literal search by rarest byte pair) was
replaced by the Aho-Corasick automaton in prefilter.py: ~10x faster on the 260-needle pack.
"""

from __future__ import annotations

import numpy as np


def object_lines(data: bytes, lo: int, hi: int) -> np.ndarray | None:
    """Newline offsets of data[lo:hi] (which ends with b"\\n") if every line is `{…}`, else None.

    One vectorised pass instead of counting `}\\n{` in C and then lines per hit.
    """
    view = np.frombuffer(data, dtype=np.uint8, count=hi - lo, offset=lo)
    newlines = np.flatnonzero(view == 10)
    before = view[newlines - 1]
    crlf = before == 13
    if crlf.any():
        before = np.where(crlf, view[np.maximum(newlines - 2, 0)], before)
    if view[0] != 123 or not (before == 125).all() or not (view[newlines[:-1] + 1] == 123).all():
        return None
    return newlines + lo
