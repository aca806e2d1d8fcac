"""Progress on stderr, only for a person at a terminal and only when the wait is noticeable."""

from __future__ import annotations

import os
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from .console import make_console, stderr_is_tty

MIN_BYTES_FOR_BAR = 32 * 1024 * 1024


@contextmanager
def file_progress(paths: list[str]):
    """Yields a callback taking bytes consumed so far (cumulative), or None when not shown."""
    total = sum(_size(p) for p in paths)
    if not stderr_is_tty() or total < MIN_BYTES_FOR_BAR:
        yield None
        return
    progress = Progress(
        TextColumn("reading logs"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        TimeRemainingColumn(), console=make_console(stderr=True), transient=True,
    )
    with progress:
        task = progress.add_task("read", total=total)
        yield lambda done: progress.update(task, completed=done)


@contextmanager
def pull_progress():
    """Yields a callback (entries, pages) for the Cloud Logging pull, or None off a terminal."""
    if not stderr_is_tty():
        yield None
        return
    progress = Progress(TextColumn("{task.description}"), console=make_console(stderr=True),
                        transient=True)
    with progress:
        task = progress.add_task("pulling from Cloud Logging…", total=None)
        yield lambda entries, pages: progress.update(
            task, description=f"pulled {entries} entries in {pages} page(s)"
        )


def _size(path: str) -> int:
    try:
        return os.path.getsize(path) if path != "-" else 0
    except OSError:
        return 0
