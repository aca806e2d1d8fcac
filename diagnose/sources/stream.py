"""Byte streams for one input: open, see through gzip, count bytes, cut into blocks of whole lines.

Everything reads big binary blocks (8 MiB) so line splitting and literal search run in C, and
nothing ever holds more than a block plus one (bounded) line. Truncated or corrupt gzip does not
raise: the stream stops and keeps the reason, and the reader reports it as an unparsed record.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from ..errors import InputError

try:  # ISA-L inflate: 2.5-3.5x zlib's speed, same API; a corrupt stream is re-read with zlib
    from isal import isal_zlib as _fast_zlib
except ImportError:  # pragma: no cover - isal is a dependency; zlib does everything alone
    _fast_zlib = None

BLOCK = 8 << 20
MAX_LINE = 16 << 20
BLANK_KEEP = 1 << 20  # blank head bytes kept before peek_content starts dropping them
GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_BLANK = b" \t\r\n" + _BOM


class ByteCounter:
    """Wraps the raw file so progress reports bytes of the file (compressed size for .gz)."""

    def __init__(self, raw: BinaryIO, progress: Callable[[int], None] | None, base: int) -> None:
        self.raw = raw
        self.progress = progress
        self.base = base  # bytes consumed by earlier inputs (progress is cumulative)
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.count += len(data)
        if self.progress is not None and data:
            self.progress(self.base + self.count)
        return data

    def readable(self) -> bool:
        return True


class Input:
    """One opened input: `read(n)` gives decompressed bytes; `error` says why data broke off."""

    def __init__(self, counter: ByteCounter) -> None:
        self.counter = counter
        self.error: str | None = None
        self.skipped_lines = 0  # blank lines dropped from the head by peek_content
        self.cr_only = False  # old Mac line ends: every `\r` is read as `\n`
        self._pending = b""
        head = self._fill(counter, 2)
        self._stream: object = counter
        self.compressed = head[:2] == GZIP_MAGIC
        if self.compressed:
            self._stream = Gunzip(_Prefixed(head, counter))
        else:
            self._pending = head

    @staticmethod
    def _fill(stream: ByteCounter, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = stream.read(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def read(self, n: int) -> bytes:
        """Up to n bytes; b"" at the end or after a decompression error (kept in `error`)."""
        if self._pending:
            data, self._pending = self._pending, b""
            return data + self._read_stream(max(0, n - len(data)))
        return self._read_stream(n)

    def _read_stream(self, n: int) -> bytes:
        if n <= 0 or self.error is not None:
            return b""
        data = self._stream.read(n)  # type: ignore[attr-defined]
        if not data:
            self.error = getattr(self._stream, "error", None)
        elif self.cr_only:
            data = data.replace(b"\r", b"\n")
        return data

    def peek_content(self, want: int = 1 << 16) -> bytes:
        """Read ahead `want` bytes (more while it is all whitespace); they stay unread.

        A blank head longer than BLANK_KEEP is dropped as it is read (its newlines are counted
        in `skipped_lines`, so line numbers stay right): however many blank lines precede the
        content, the sniffer sees the content and memory stays bounded.
        """
        data = self._pending
        while len(data) < want or not data.strip(_BLANK):
            if len(data) > BLANK_KEEP and not data.strip(_BLANK):
                self.skipped_lines += data.count(b"\n") or data.count(b"\r")
                data = b""
            chunk = self._read_stream(max(want - len(data), 1 << 16))
            if not chunk:
                break
            data += chunk
        data = data.removeprefix(_BOM)  # a UTF-8 BOM is not content
        if not self.cr_only and b"\r" in data and b"\n" not in data:
            self.cr_only = True
        if self.cr_only:
            data = data.replace(b"\r", b"\n")
        self._pending = data
        return self._pending


class Gunzip:
    """Streaming gzip (multi-member) that keeps every byte decoded before a truncation.

    `gzip.GzipFile.read(n)` raises EOFError on a cut file and loses what it decoded in that
    call; here the data comes back first and `error` says why the stream ended early.
    Output per read is bounded by n, so a decompression bomb cannot fill memory.

    A rewindable input (a regular file) is inflated with ISA-L. Its decompressor cannot be
    copied, so it cannot salvage the bytes before a corruption: on its first error the input
    is rewound and re-inflated with zlib, skipping what was already delivered, and zlib's
    salvage and message take over. Pipes and stdin use zlib from the start.
    """

    CHUNK = 1 << 20

    def __init__(self, raw: _Prefixed) -> None:
        self.raw = raw
        self.lib = _fast_zlib if _fast_zlib is not None and raw.rewindable() else zlib
        self.zlib = self.lib.decompressobj(wbits=31)
        self.error: str | None = None
        self.started = False
        self.delivered = 0  # decompressed bytes handed out (or skipped after a rewind)
        self.draining = False  # the input ended: asking the decompressor what it still holds

    def read(self, n: int) -> bytes:
        data = self._read(n)
        self.delivered += len(data)
        return data

    def _read(self, n: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        while size < n and self.error is None:
            src = self._next_input()
            if src is None:
                break
            if self.lib is not zlib:
                try:
                    data = self.zlib.decompress(src, n - size)
                except _fast_zlib.error:
                    self._rewind_to_zlib(self.delivered + size)
                    continue
            else:
                data = self._inflate(src, n - size)
            self.started = True
            if self.draining and data:  # it held some: ask again until it gives nothing
                self.draining = False
            parts.append(data)
            size += len(data)
        return b"".join(parts)

    def _rewind_to_zlib(self, skip: int) -> None:
        """Start over from the input's first byte with zlib and drop the first `skip` bytes."""
        self.raw.rewind()
        self.lib, self.zlib = zlib, zlib.decompressobj(wbits=31)
        while skip > 0 and self.error is None:
            src = self._next_input()
            if src is None:
                break
            skip -= len(self._inflate(src, min(skip, self.CHUNK * 8)))

    def _inflate(self, src: bytes, limit: int) -> bytes:
        saved = self.zlib.copy()
        try:
            return self.zlib.decompress(src, limit)
        except zlib.error as exc:
            self.error = f"corrupt gzip data: {exc}"
            return self._salvage(saved, src, limit)

    def _salvage(self, saved, src: bytes, limit: int) -> bytes:
        """What `src` decodes to before the error (a bad CRC comes after all the data).

        Replays `src` from the state before the failed call in 256-byte steps, then the failing
        step byte by byte: only the error path pays for it.
        """
        out: list[bytes] = []
        size = 0
        for step in (256, 1):
            at = 0
            while at < len(src) and size < limit:
                before = saved.copy()
                try:
                    piece = saved.decompress(src[at : at + step], limit - size)
                except zlib.error:
                    saved = before
                    break
                out.append(piece)
                size += len(piece)
                if saved.unconsumed_tail or saved.eof:
                    return b"".join(out)
                at += step
            src = src[at:]
        return b"".join(out)

    def _next_input(self) -> bytes | None:
        """Compressed bytes to feed next; None at a clean end or after recording an error.

        End of member is checked first: a member that ends exactly when the output limit is
        reached keeps the next member's bytes in `unconsumed_tail` too (the same bytes as
        `unused_data`); feeding them to the finished member would return nothing, forever.
        """
        if self.zlib.eof:  # a member ended: another may follow (zero padding is allowed)
            rest = self.zlib.unused_data.lstrip(b"\x00")
            while not rest:
                more = self.raw.read(self.CHUNK)
                if not more:
                    return None
                rest = more.lstrip(b"\x00")
            self.zlib = self.lib.decompressobj(wbits=31)
            return rest
        if self.zlib.unconsumed_tail:
            return self.zlib.unconsumed_tail
        src = self.raw.read(self.CHUNK)
        if not src:
            if not self.draining:  # ISA-L may hold output back: ask with no more input
                self.draining = True
                return b""
            self.error = "truncated gzip: compressed data ended before the end-of-stream marker"
            return None
        return src


class _Prefixed:
    """A raw stream with bytes already read put back in front (for gzip after the magic sniff)."""

    def __init__(self, head: bytes, rest: ByteCounter) -> None:
        self.head = head
        self.rest = rest
        try:  # where the stream started in a seekable file (stdin may be one, mid-file)
            raw = rest.raw
            self.start = raw.tell() - rest.count if raw.seekable() else None
        except (AttributeError, OSError, ValueError):
            self.start = None

    def rewindable(self) -> bool:
        return self.start is not None and self.start >= 0

    def rewind(self) -> None:
        """Read again from the first byte (progress keeps counting from where it was)."""
        self.rest.raw.seek(self.start)
        self.head = b""

    def read(self, n: int = -1) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            if n is not None and 0 <= n < len(data):
                data, self.head = data[:n], data[n:]
            return data
        return self.rest.read(n)


def open_path(path: str) -> BinaryIO:
    """Open a file for reading or raise InputError with one clear line."""
    try:
        return open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the caller
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InputError(f"is a directory, not a file: {path}") from None
    except PermissionError:
        raise InputError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


class LineBlocks:
    """Cuts a byte stream into runs of whole lines without copying the big blocks.

    Yields (data, lo, hi, first_line, newlines): data[lo:hi] is a run of lines that ends with
    b"\n" (except possibly the very last run), `newlines` is how many b"\n" it holds. `data` is
    None for a line longer than `max_line` (skipped; `first_line` is its number). `truncated_at`
    is the line where a broken stream stopped (its partial last line is dropped, not read).
    With `count=False` a big run's `newlines` is -1 (its reader counts them with what it
    does anyway) and line numbers are not kept: for worker ranges, numbered by the parent.
    """

    def __init__(self, source: Input, block: int = BLOCK, max_line: int = MAX_LINE,
                 count: bool = True) -> None:
        self.source = source
        self.block = block
        self.max_line = max_line
        self.count = count
        self.truncated_at = 0

    def __iter__(self) -> Iterator[tuple[bytes | None, int, int, int, int]]:
        rest, line, skipping = b"", 1 + getattr(self.source, "skipped_lines", 0), False
        while True:
            chunk = self.source.read(self.block)
            if not chunk:
                break
            lo = 0
            if skipping:
                lo = chunk.find(b"\n") + 1
                if not lo:
                    continue
                skipping, line = False, line + 1
            nl = chunk.find(b"\n", lo)
            if nl < 0:
                rest += chunk[lo:]
            else:
                if rest:  # the line straddling two reads, on its own (a small copy)
                    straddle = rest + chunk[lo : nl + 1]
                    yield straddle, 0, len(straddle), line, 1
                    line, lo = line + 1, nl + 1
                cut = chunk.rfind(b"\n") + 1
                if cut > lo:
                    count = chunk.count(b"\n", lo, cut) if self.count else -1
                    yield chunk, lo, cut, line, count
                    line += count
                rest = chunk[cut:]
            if len(rest) > self.max_line:
                yield None, 0, 0, line, 0
                rest, skipping = b"", True
        if self.source.error is not None:
            self.truncated_at = line
        elif rest and not skipping:
            yield rest, 0, len(rest), line, 0
