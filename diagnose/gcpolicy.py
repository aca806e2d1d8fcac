"""Fewer garbage-collector passes while an analysis runs.

An analysis allocates millions of short-lived objects (records, events, dicts) and keeps tens of
thousands of live timelines; at Python's default (a young collection every 700 allocations) the
collector spent a quarter of a run on a log with 60,000 open connections (31.6 s → 23.8 s at
20,000; bench/README). Cycles are still collected, only less often.

What exists when the analysis starts (modules, the rule pack) is frozen for its length: the
collector's older passes stop re-scanning it (main process CPU on 1 GiB of text 5.4 → 5.2 s;
turning the collector off altogether saved no more). It is unfrozen after, so a process
running many analyses still collects what each left behind.
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
    ours = gc.get_freeze_count() == 0  # a caller's own freeze is left as it is
    if ours:
        gc.freeze()
    try:
        yield
    finally:
        if ours:
            gc.unfreeze()
        gc.set_threshold(*before)
