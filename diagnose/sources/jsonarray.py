"""JSON arrays of LogEntry (gcloud --format=json, Logs Explorer download), read as a stream.

`json.JSONDecoder.raw_decode` runs over a sliding text buffer, one entry at a time, so a
multi-gigabyte download never sits in memory. The same reader takes a stream of pretty-printed
objects without brackets, and documents wrapping LogEntry lists (wrapper.py; one over 16 MiB is
walked entry by entry). A broken entry is reported with its line; reading resumes at the next
entry with the same indentation (gcloud indents entries by two spaces), or, in compact input,
after the broken value's closing bracket.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator

from ..model import RawRecord
from .context import SourceContext
from .jsonl import convert, convert_all
from .logentry import is_log_entry
from .stream import MAX_LINE, Input
from .wrapper import MAX_DEPTH, wrapped_entries

TOO_LONG = "entry longer than 16 MiB"
_READ = 1 << 20
_WS = re.compile(r"[ \t\r\n\ufeff]*")
_EDGE = 64  # an error this close to the buffer end may just mean "read more"


class _Buffer:
    """Decoded text with a cursor; `line` is the line number at the cursor."""

    def __init__(self, source: Input) -> None:
        self.source = source
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.text = ""
        self.pos = 0
        self.line = 1 + source.skipped_lines
        self.eof = False

    def more(self) -> bool:
        """Append the next chunk; False at the end of the input."""
        if self.eof:
            return False
        chunk = self.source.read(_READ)
        if self.pos > _READ:
            self.text, self.pos = self.text[self.pos:], 0
        self.text += self.decoder.decode(chunk, final=not chunk)
        self.eof = not chunk
        return bool(chunk) or self.pos < len(self.text)

    def advance(self, to: int) -> None:
        self.line += self.text.count("\n", self.pos, to)
        self.pos = to

    def skip_ws(self) -> bool:
        """Move past whitespace; False when the input is exhausted."""
        while True:
            self.advance(_WS.match(self.text, self.pos).end())
            if self.pos < len(self.text):
                return True
            if not self.more():
                return False


def read_json_stream(source: Input, ctx: SourceContext, *, array: bool) -> Iterator[RawRecord]:
    buf = _Buffer(source)
    decoder = json.JSONDecoder()
    if array:
        buf.skip_ws()
        buf.advance(buf.pos + 1)  # the sniffer saw "[" here
    indent: str | None = None
    while buf.skip_ws():
        char = buf.text[buf.pos]
        if char == ",":
            buf.advance(buf.pos + 1)
            continue
        if array and char == "]":
            buf.advance(buf.pos + 1)
            _trailing(buf, ctx)
            return
        if indent is None:
            indent = _indent_before(buf)
        start_line = buf.line
        result = _decode_one(buf, decoder)
        ctx.count()
        if result == TOO_LONG and buf.text[buf.pos] in "{[":
            if not (yield from _walk_oversize(buf, decoder, ctx, start_line)):
                return
            continue
        if isinstance(result, str):
            ctx.unparsed(start_line, result)
            if not _resync(buf, indent):
                return
            continue
        obj, raw = result
        wrapper = wrapped_entries(obj) is not None  # its entries are prefiltered by the rules
        if not wrapper and ctx.prefilter is not None and not ctx.prefilter.match_text(raw):
            ctx.ignore()
            continue
        yield from convert_all(obj, start_line, ctx, raw if wrapper else None)
    if array:
        ctx.count()
        ctx.unparsed(buf.line, source.error or "JSON array not closed: input ended before ']'")
    elif source.error:
        ctx.count()
        ctx.unparsed(buf.line, source.error)


def _decode_one(buf: _Buffer, decoder: json.JSONDecoder) -> tuple[object, str] | str:
    """Decode the value at the cursor, reading more as needed; the reason string on failure."""
    while True:
        try:
            obj, end = decoder.raw_decode(buf.text, buf.pos)
        except json.JSONDecodeError as exc:
            near_end = exc.pos >= len(buf.text) - _EDGE or exc.msg.startswith("Unterminated")
            if near_end and len(buf.text) - buf.pos <= MAX_LINE and buf.more():
                continue
            if len(buf.text) - buf.pos > MAX_LINE:
                return TOO_LONG
            if buf.eof and near_end:
                return buf.source.error or "JSON cut off mid-entry: the input ends inside this entry"
            line = buf.line + buf.text.count("\n", buf.pos, exc.pos)
            return f"bad JSON: {exc.msg} (line {line})"
        except RecursionError:
            return "bad JSON: nested too deeply"
        except ValueError as exc:  # e.g. an integer longer than Python's 4300-digit limit
            return f"bad JSON: {str(exc)[:80]}"
        raw = buf.text[buf.pos:end]
        buf.advance(end)
        return obj, raw


class _Broken(Exception):
    """The JSON inside a document too long to decode whole is broken: stop reading the input."""


def _walk_oversize(buf: _Buffer, decoder: json.JSONDecoder, ctx: SourceContext, line: int):
    """A top-level value over 16 MiB (counted as one record): walk into it for LogEntry lists.

    A team script's wrapper of a long export is read entry by entry in bounded memory; a
    single entry that long, with no entries inside, stays one unparsed record. Returns False
    when the input cannot be read further.
    """
    try:
        found = yield from _walk(buf, decoder, ctx, 0)
    except _Broken as exc:
        ctx.unparsed(line, f"bad JSON inside a document over 16 MiB: {exc}")
        return False
    if found:
        ctx.count(-1)  # the document itself is no record: its entries are
    else:
        ctx.unparsed(line, TOO_LONG)
    return True


def _walk(buf: _Buffer, decoder: json.JSONDecoder, ctx: SourceContext, depth: int):
    """Records of the entries inside the container at the cursor; returns how many records
    (entries, and oversize entries reported unparsed) were found. Depth-bounded."""
    opener = buf.text[buf.pos]
    closer = "}" if opener == "{" else "]"
    buf.advance(buf.pos + 1)
    found = 0
    while True:
        if not buf.skip_ws():
            raise _Broken("the input ends inside it")
        char = buf.text[buf.pos]
        if char == closer:
            buf.advance(buf.pos + 1)
            return found
        if char == ",":
            buf.advance(buf.pos + 1)
            continue
        if opener == "{":  # a key, then its value
            key = _decode_one(buf, decoder)
            if isinstance(key, str) or not isinstance(key[0], str):
                raise _Broken(key if isinstance(key, str) else "a key that is not a string")
            if not buf.skip_ws() or buf.text[buf.pos] != ":":
                raise _Broken(f"no ':' after key {key[0][:40]!r} (line {buf.line})")
            buf.advance(buf.pos + 1)
            if not buf.skip_ws():
                raise _Broken("the input ends inside it")
            char = buf.text[buf.pos]
        found += yield from _walk_value(buf, decoder, ctx, depth, char, opener == "[")


def _walk_value(buf, decoder, ctx: SourceContext, depth: int, char: str, in_list: bool):
    line = buf.line
    if char not in "{[" or depth >= MAX_DEPTH:
        if char in "{[":
            if not _skip_value(buf):
                raise _Broken("a nested value never ends")
            return 0
        result = _decode_one(buf, decoder)  # a scalar: not a record
        if isinstance(result, str):
            raise _Broken(result)
        return 0
    result = _decode_one(buf, decoder)
    if result == TOO_LONG:
        found = yield from _walk(buf, decoder, ctx, depth + 1)
        if found or not in_list or char != "{":
            return found
        ctx.count()
        ctx.unparsed(line, TOO_LONG)  # one entry over 16 MiB
        return 1
    if isinstance(result, str):
        raise _Broken(result)
    obj, raw = result
    if in_list and isinstance(obj, dict) and is_log_entry(obj):
        ctx.count()
        if ctx.prefilter is not None and not ctx.prefilter.match_text(raw):
            ctx.ignore()
        else:
            record = convert(obj, line, ctx)
            if record is not None:
                yield record
        return 1
    entries = wrapped_entries(obj) if isinstance(obj, dict) else None
    if in_list and entries is None and isinstance(obj, list):
        entries = wrapped_entries({"": obj})
    for entry in entries or ():
        ctx.count()
        record = convert(entry, line, ctx)
        if record is not None:
            yield record
    return len(entries or ())


_SPACES = re.compile(r"\s*")  # what str.strip() strips
_INDENT_LOOK = 256


def _indent_before(buf: _Buffer) -> str | None:
    """The whitespace run before the first entry on its line (two spaces for gcloud).

    Asked again for every entry while the answer is None (compact input), so it looks back at
    most _INDENT_LOOK characters unless they are all blank: a whole-buffer rfind and slice per
    entry made a compact array read at ~1 MB/s.
    """
    text, pos = buf.text, buf.pos
    lo = max(0, pos - _INDENT_LOOK)
    nl = text.rfind("\n", lo, pos)
    if nl < 0:
        if _SPACES.match(text, lo, pos).end() < pos:
            return None  # something other than blanks precedes the entry on its line
        nl = text.rfind("\n", 0, lo)
    if nl < 0 or _SPACES.match(text, nl + 1, pos).end() < pos:
        return None
    return text[nl + 1 : pos]


def _resync(buf: _Buffer, indent: str | None) -> bool:
    """Move past a broken entry; False when nothing more can be read.

    Pretty input resumes at the next line starting with `indent` + "{". Compact input (one line)
    skips the broken value by its brackets, so one bad entry does not hide the rest.
    """
    if indent is None:
        return _skip_value(buf)
    marker = "\n" + indent + "{"
    while True:
        found = buf.text.find(marker, buf.pos + 1)
        if found >= 0:
            buf.advance(found + 1)
            return True
        buf.advance(max(buf.pos, len(buf.text) - len(marker)))
        if not buf.more():
            return False


def _trailing(buf: _Buffer, ctx: SourceContext) -> None:
    """Anything but whitespace after the closing bracket is reported once, not read."""
    if buf.skip_ws():
        ctx.count()
        ctx.unparsed(buf.line, "unexpected data after the end of the JSON array")


_STRUCTURE = re.compile(r'["{}\[\]]')
_STRING_BODY = re.compile(r'(?:[^"\\]|\\.)*')


def _skip_value(buf: _Buffer) -> bool:
    """Advance past the bracketed value at the cursor (strings respected); False if it never ends.

    The cursor moves along as the value is scanned, so the buffer is trimmed behind it: a value
    of any size is skipped in bounded memory and linear time (the end of an entry too long to
    decode is found, and the entries after it are read).
    """
    if buf.text[buf.pos : buf.pos + 1] not in ("{", "["):
        return False
    depth, in_string, pos = 0, False, buf.pos
    while True:
        text = buf.text
        while pos < len(text):
            if in_string:
                pos = _STRING_BODY.match(text, pos).end()
                if pos < len(text) and text[pos] == '"':
                    in_string, pos = False, pos + 1
                    continue
                break  # the string (or a backslash escape) goes on in the next chunk
            m = _STRUCTURE.search(text, pos)
            if m is None:
                pos = len(text)
                break
            char, pos = m.group(), m.end()
            if char == '"':
                in_string = True
            elif char in "{[":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    buf.advance(pos)
                    return True
        buf.advance(pos)
        if not buf.more():
            return False
        pos = buf.pos
