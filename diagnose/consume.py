"""Reading a big list once, in order, without keeping what was read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


def consumed(items: list[T]) -> Iterator[T]:
    """The items in order, each let go of as it is yielded (the list is emptied).

    A worker's answer for one range holds ~40,000 records; iterated plainly, the whole answer
    stays alive until the next one has been read, so two of them sat in memory at once."""
    items.reverse()
    while items:
        yield items.pop()
