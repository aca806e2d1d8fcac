"""Cheap literal prefilter: decide on raw bytes whether a record is worth decoding at all.

A sink export is mostly unrelated HTTP/DB noise; finding the rule pack's literals in the raw line
(before JSON decoding) is what makes a 1 GB file take seconds. A literal is also looked for in its
JSON-escaped spellings, because inside a JSON string `"` is `\\"` and non-ASCII may be `\\uXXXX`,
and in the `\\u00XX` spellings of `' < > &` that Go and JavaScript encoders write (json.dumps
never does), in lower- and upper-case hex.
"""

from __future__ import annotations

import json
import re

import ahocorasick_rs

try:  # Hyperscan's literal matcher (Teddy/FDR, SIMD): 1.8 GB/s here on the 262 needles
    import hyperscan
except ImportError:  # no wheel for this platform (Linux on ARM): the Rust automaton, 0.45 GB/s
    hyperscan = None

_HTML_SAFE = "'<>&"  # escaped as \\u00XX by Go's encoding/json (and some JS encoders)


def _html_escaped(form: str) -> list[str]:
    """The spellings of a JSON-escaped literal with `' < > &` written as \\u00XX (x and X hex)."""
    if not any(c in form for c in _HTML_SAFE):
        return []
    lower = "".join(f"\\u{ord(c):04x}" if c in _HTML_SAFE else c for c in form)
    upper = "".join(f"\\u{ord(c):04X}" if c in _HTML_SAFE else c for c in form)
    return [lower, upper]


# Cloud Run request logs answered 4xx/5xx (`/ws` 403, `/health` 503) are always decoded: their
# text is only "GET <url> <status>", so rules on them match fields, not literals. The spellings
# are those of gcloud/json.dumps (`"status": 503`) and of compact sinks (`"status":503`).
# In the automaton they are the prefixes below (rare: only failed requests have them), each
# hit confirmed with the regex where it starts.
REQUEST_ERRORS = r'"status": ?[45]\d\d\b'
_REQUEST_BYTES = re.compile(REQUEST_ERRORS.encode())
_REQUEST_TEXT = re.compile(REQUEST_ERRORS)
_REQUEST_PREFIXES = (b'"status": 4', b'"status":4', b'"status": 5', b'"status":5')


class Prefilter:
    """Any-of-literals matcher over bytes or text (case-sensitive). No literals: nothing matches.

    With literals, failed HTTP requests (REQUEST_ERRORS) always match too.
    """

    def __init__(self, literals: list[str]):
        forms: list[str] = []
        self.requests = any(literals)  # failed requests match whenever any rule is there
        for lit in literals:
            if not lit:
                continue
            for form in (lit, json.dumps(lit)[1:-1], json.dumps(lit, ensure_ascii=False)[1:-1],
                         *_html_escaped(json.dumps(lit, ensure_ascii=False)[1:-1])):
                if form not in forms:
                    forms.append(form)
        # Longer needles first: they are rarer and searched fastest.
        forms.sort(key=len, reverse=True)
        self.text_needles: tuple[str, ...] = tuple(forms)
        self.byte_needles: tuple[bytes, ...] = tuple(f.encode("utf-8") for f in forms)
        self._literals: object = None  # built on first use; False when there are no needles

    def match_bytes(self, raw: bytes) -> bool:
        return self._any_needle(raw) or (
            self.requests and _REQUEST_BYTES.search(raw) is not None)

    def match_text(self, text: str) -> bool:
        """UTF-8 is self-synchronising: a needle is in the text iff its bytes are in the bytes."""
        return self._any_needle(text.encode("utf-8", "surrogatepass")) or (
            self.requests and _REQUEST_TEXT.search(text) is not None)

    def _any_needle(self, raw: bytes) -> bool:
        matcher, plain = self._matcher()
        return matcher is not None and matcher.any_below(raw, plain)

    def hit_positions(self, block: bytes, lo: int = 0, hi: int | None = None) -> list[int]:
        """Sorted offsets of every needle occurrence in block[lo:hi] (duplicates possible).

        One pass over the bytes finds all needles at once, overlapping ones included: Hyperscan
        where it is installed (1.8 GB/s on the 262-needle pack), else an Aho-Corasick DFA
        (ahocorasick_rs, 0.45 GB/s). The numpy bigram index before them ran at ~20 MB/s, and
        `bytes.find` per needle is one pass over the block per needle.
        """
        hi = len(block) if hi is None else hi
        matcher, plain = self._matcher()
        if matcher is None or hi <= lo:
            return []
        hits: list[int] = []
        confirm = _REQUEST_BYTES.match
        for index, start in matcher.starts(memoryview(block)[lo:hi]):
            if index < plain or confirm(block, lo + start, hi) is not None:
                hits.append(lo + start)
        hits.sort()
        return hits

    def _matcher(self) -> tuple[_Literals | None, int]:
        """(matcher of the needles then the request prefixes, number of plain needles)."""
        if self._literals is None:
            patterns = list(self.byte_needles) + (list(_REQUEST_PREFIXES) if self.requests else [])
            self._literals = literal_matcher(patterns) if patterns else False
        return (self._literals or None), len(self.byte_needles)

    def __getstate__(self) -> dict:
        """Pickled for worker processes without the matcher (each builds its own in ~10 ms)."""
        return {**self.__dict__, "_literals": None}


def literal_matcher(patterns: list[bytes]) -> _Literals:
    """Hyperscan's matcher when it is installed and runs on this CPU, else the Rust automaton."""
    if hyperscan is not None:
        try:
            return _HyperscanLiterals(patterns)
        except hyperscan.error:  # e.g. a CPU without the SIMD it needs
            pass
    return _AhoCorasickLiterals(patterns)


class _Literals:
    """Every occurrence of any of a list of byte strings, as (pattern index, start offset)."""

    def starts(self, data: bytes | memoryview) -> list[tuple[int, int]]:
        raise NotImplementedError

    def any_below(self, data: bytes, limit: int) -> bool:
        """Whether a pattern with index < limit occurs in data."""
        return any(index < limit for index, _ in self.starts(data))


class _AhoCorasickLiterals(_Literals):
    def __init__(self, patterns: list[bytes]) -> None:
        self.automaton = ahocorasick_rs.BytesAhoCorasick(
            patterns, implementation=ahocorasick_rs.Implementation.DFA)

    def starts(self, data: bytes | memoryview) -> list[tuple[int, int]]:
        return [(index, start) for index, start, _ in
                self.automaton.find_matches_as_indexes(data, overlapping=True)]


class _HyperscanLiterals(_Literals):
    """Each pattern a Hyperscan expression of escaped bytes; a match reports its end, and the
    start is the end less the pattern's length (what the Aho-Corasick path reports)."""

    def __init__(self, patterns: list[bytes]) -> None:
        self.lengths = [len(p) for p in patterns]
        self.database = hyperscan.Database()
        self.database.compile(
            expressions=[b"".join(b"\\x%02x" % byte for byte in p) for p in patterns],
            ids=list(range(len(patterns))),
            elements=len(patterns),
            flags=[0] * len(patterns),
        )

    def starts(self, data: bytes | memoryview) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        lengths = self.lengths

        def on_match(index: int, _start: int, end: int, _flags: int, _context: object) -> None:
            found.append((index, end - lengths[index]))

        self.database.scan(data, match_event_handler=on_match)
        return found

    def any_below(self, data: bytes, limit: int) -> bool:
        def on_match(index: int, _start: int, _end: int, _flags: int, _context: object) -> bool:
            return index < limit  # true stops the scan

        try:
            self.database.scan(data, match_event_handler=on_match)
        except hyperscan.ScanTerminated:
            return True
        return False
