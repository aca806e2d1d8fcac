"""Which reader an input needs, decided from its first bytes, never from its name."""

from __future__ import annotations

import json
from enum import Enum

_WS = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
_CONTROLS = bytes(b for b in range(32) if b not in b"\t\n\r\x0c\x1b")


class Format(Enum):
    EMPTY = "empty"
    JSON_ARRAY = "json-array"  # gcloud logging read --format=json, Logs Explorer download
    JSON_LINES = "json-lines"  # sink export, Cloud Run structured stdout
    JSON_OBJECTS = "json-objects"  # pretty-printed objects one after another, no brackets
    TEXT = "text"
    BINARY = "binary"


def sniff(prefix: bytes) -> Format:
    """Classify by the first non-whitespace byte (after a UTF-8 BOM) of the decompressed data."""
    body = prefix.removeprefix(_BOM).lstrip(_WS)
    if not body:
        return Format.EMPTY
    if body[:1] == b"[":
        return Format.JSON_ARRAY if _json_array_start(body) else Format.TEXT
    if body[:1] == b"{":
        first_line = body.split(b"\n", 1)[0].strip()
        return Format.JSON_OBJECTS if first_line == b"{" else Format.JSON_LINES
    if looks_binary(body[:8192]):
        return Format.BINARY
    if _json_lines_after_first(body):
        return Format.JSON_LINES  # a shard cut mid-entry: its first line is a fragment
    return Format.TEXT


def _json_array_start(body: bytes) -> bool:
    """`[` opens a JSON array, not a text line like `[2025-09-15 20:03:01 +0000] [1] [INFO] …`.

    Decided by trying: `[` then an object, a nested array, a string or `]` is JSON; anything else
    (a bracketed time stamp, level or word) is JSON only if the peeked text decodes as JSON or
    fails only because it ends (the peek may cut a long array).
    """
    after = body[1:].lstrip(_WS)[:1]
    if after in (b"{", b"]", b""):
        return True
    first_line = body.split(b"\n", 1)[0]
    if after in (b"[", b'"') and first_line.rstrip().endswith((b",", b"[", b"{")):
        return True  # one value per line: a pretty or line-wise array
    text = body.decode("utf-8", "replace")
    try:
        json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        return exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated")
    except (ValueError, RecursionError):
        return True  # JSON the reader will report (e.g. an integer too long)
    return True


def _json_lines_after_first(body: bytes) -> bool:
    """The lines after the first (up to 20 whole ones) are nearly all `{…}` objects."""
    lines = [ln.strip() for ln in body.split(b"\n")[1:-1][:20]]
    lines = [ln for ln in lines if ln]
    objects = sum(1 for ln in lines if ln[:1] == b"{" and ln[-1:] == b"}")
    return len(lines) >= 2 and objects * 5 >= len(lines) * 4


def looks_binary(sample: bytes) -> bool:
    """More than 10% control bytes or invalid UTF-8: not a log anyone can read."""
    if not sample:
        return False
    controls = sum(sample.count(bytes([b])) for b in _CONTROLS)
    invalid = sample.decode("utf-8", "replace").count("\ufffd")
    return (controls + invalid) * 10 > len(sample)
