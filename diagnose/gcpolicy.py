"""Fewer garbage-collector passes while an analysis runs.

An analysis allocates millions of short-lived objects (records, events, dicts) and keeps tens of
thousands of live timelines; at Python's default (a young collection every 700 allocations) the
collector spent a quarter of a run on a log with 60,000 open connections (31.6 s → 23.8 s at
20,000; bench/README). Cycles are still collected, only less often.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 20_000  # allocations between young collections (Python's default: 700)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the young generation's threshold for the block, then restore the caller's."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], YOUNG_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
