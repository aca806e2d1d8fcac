"""Loguru messages that Cloud Run split over several entries, joined back (pre-09-03 era).

Cloud Run turns every stdout/stderr line into its own LogEntry, so a loguru message with a
newline (`database "netra_dev\n" does not exist`, a traceback) arrives as a head entry
`2025-08-25 16:24:10.285 | ERROR | … | <red>… "netra_dev` and continuation entries `" does not
exist</red>` a few microseconds later on the same instance and log. Loguru wraps the whole
message in one colour tag, so a head whose tag is not closed announces its continuations.

Only then are the neighbouring entries of the same input block looked at (both sides: gcloud
prints newest first, sinks oldest first): those on the same instance and log, within a second
after the head, that are not loguru lines themselves, are appended to the head's text in time
order. Their own accounting is unchanged (each stays one record, ignored or not).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta

from ..model import RawRecord
from ..timeutil import TimestampError, parse_timestamp
from .textclean import clean, split_head

MAX_FRAGMENTS = 200  # a traceback split line by line; more is not one message
MAX_FRAGMENT_BYTES = 64 << 10
_WINDOW = timedelta(seconds=1)
_OPEN = re.compile(r"<(red|green|yellow|blue|magenta|cyan|white|black|level|bold|e)>")


def unclosed(text: object) -> bool:
    """A loguru line whose colour tag is opened and never closed: its message goes on."""
    if not isinstance(text, str) or "<" not in text or not text[:1].isdigit():
        return False
    tags = _OPEN.findall(text)
    return any(f"</{tag}>" not in text for tag in tags)


def join_fragments(
    record: RawRecord, head: dict, neighbours: Callable[[int], bytes | None]
) -> None:
    """Append the continuation entries around `head` to `record.text`.

    `neighbours(k)` gives the raw bytes of the entry k places away (k = -1, -2 … and 1, 2 …)
    in the same block, or None past its edge.
    """
    if record.timestamp is None:
        return
    found: list[tuple[object, str]] = []
    for direction in (-1, 1):
        for step in range(1, MAX_FRAGMENTS + 1):
            raw = neighbours(direction * step)
            if raw is None or len(raw) > MAX_FRAGMENT_BYTES:
                break
            fragment = _fragment(raw, head, record)
            if fragment is None:
                break
            found.append(fragment)
    if found:
        found.sort(key=lambda f: f[0])
        record.text = "\n".join([record.text, *(text for _, text in found)])


def _fragment(raw: bytes, head: dict, record: RawRecord) -> tuple[object, str] | None:
    """(time, text) of an entry continuing `head`, or None."""
    try:
        obj = json.loads(raw.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    text = obj.get("textPayload")
    if not isinstance(text, str) or split_head(clean(text)) is not None:
        return None
    if _where(obj) != _where(head):
        return None
    try:
        ts, _ = parse_timestamp(obj.get("timestamp"))
    except TimestampError:
        return None
    if not record.timestamp <= ts <= record.timestamp + _WINDOW:
        return None
    return ts, clean(text)


def _where(entry: dict) -> tuple[object, object]:
    labels = entry.get("labels")
    instance = labels.get("instanceId") if isinstance(labels, dict) else None
    return instance, entry.get("logName")
