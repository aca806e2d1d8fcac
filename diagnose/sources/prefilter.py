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

_BIGRAM_MIN = 64 << 10  # below this a few finds are cheaper than numpy


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
# Searched with one regex (literal prefix: a C scan), not as bigram needles: `"status"` is too
# common in request logs for the bigram index, which would re-plan on every block.
REQUEST_ERRORS = r'"status": ?[45]\d\d\b'
_REQUEST_BYTES = re.compile(REQUEST_ERRORS.encode())
_REQUEST_TEXT = re.compile(REQUEST_ERRORS)


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
        self._short = tuple(n for n in self.byte_needles if len(n) < 5)
        self._bigrams: object = None  # BigramIndex once needed; False when numpy is missing

    def match_bytes(self, raw: bytes) -> bool:
        return any(n in raw for n in self.byte_needles) or (
            self.requests and _REQUEST_BYTES.search(raw) is not None)

    def match_text(self, text: str) -> bool:
        return any(n in text for n in self.text_needles) or (
            self.requests and _REQUEST_TEXT.search(text) is not None)

    def hit_positions(self, block: bytes, lo: int = 0, hi: int | None = None) -> list[int]:
        """Sorted offsets of every needle occurrence in block[lo:hi] (duplicates possible).

        Large ranges go through the bigram index (one vectorised pass for all needles); small
        ones, needles under 5 bytes and installs without numpy use one `bytes.find` scan per needle.
        """
        hi = len(block) if hi is None else hi
        index = self._index() if hi - lo >= _BIGRAM_MIN else None
        hits = index.positions(block, lo, hi) if index is not None else []
        for needle in self.byte_needles if index is None else self._short:
            find = block.find
            pos = find(needle, lo, hi)
            while pos >= 0:
                hits.append(pos)
                pos = find(needle, pos + 1, hi)
        if self.requests:
            hits.extend(m.start() for m in _REQUEST_BYTES.finditer(block, lo, hi))
        hits.sort()
        return hits

    def _index(self):
        if self._bigrams is None:
            try:
                from .bigram import BigramIndex
            except ImportError:  # numpy missing: bytes.find only
                self._bigrams = False
            else:
                self._bigrams = BigramIndex(tuple(n for n in self.byte_needles if len(n) >= 5))
        return self._bigrams or None

    def __getstate__(self) -> dict:
        """Pickled for worker processes without the tuned index (each worker tunes its own)."""
        return {**self.__dict__, "_bigrams": None}
