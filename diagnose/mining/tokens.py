"""Masking for template mining: like masking.mask, but shaped for grouping rather than fingerprints.

Finding fingerprints (masking.mask) turn every quoted string into `<STR>`. For mining that is too
coarse: a quoted HTTP request line (`"GET /v2/servers HTTP/1.1"`) or a quoted sentence is part of
the template's wording, so here only a quoted single word becomes `<STR>`; a quoted text with
spaces keeps its quotes and its words are masked one by one. A list of values joined by commas
(`10.0.0.1,10.0.0.2`) is one value: `<IP>`, however many it holds.
"""

from __future__ import annotations

import re

from ..masking import PLACEHOLDER_PATTERNS

_ZONES = r"UTC|GMT|[PMCE][DS]T|BST|CES?T|EES?T|IST|JST|AE[DS]T"
_QUOTED_WORD = re.compile(r"'(?<!\w')[^'\s]{1,300}'(?!\w)|\"(?<!\w\")[^\"\s]{1,300}\"(?!\w)")
_TOKEN = re.compile(
    "|".join(f"(?P<{name}>{rx})" for name, rx in PLACEHOLDER_PATTERNS if name != "STR")
)
_INTERESTING = re.compile(r"[\d@/]|[-_][0-9a-f]{8}")  # what any placeholder needs
_DIGITS = re.compile(r"(?<![<\w])\d+|(?<=[_.:#@/-])\d+")  # digits left after punctuation
_ANY_DIGIT = re.compile(r"\d")
# `jA9J1UvC004306`: 8+ letters and digits, mixed both ways (letter→digit and digit→letter), is a
# generated id, not a word like `Windows10`
_MIXED_ID = re.compile(
    r"(?<![\w<])(?=[A-Za-z0-9]*[A-Za-z]\d)(?=[A-Za-z0-9]*\d[A-Za-z])[A-Za-z0-9]{8,}(?![\w>])"
)
_JOINED = re.compile(r"(<[A-Z]+>)(?:,\1)+")
_TS_RUN = re.compile(rf"<TS>(?: <TS>)*(?: (?:{_ZONES})\b)?")
_CACHE_MAX = 65536
_cache: dict[str, str] = {}


def mask_for_mining(text: str) -> str:
    """`text` with its variable parts replaced by placeholders, tokens joined by one space."""
    if "'" in text or '"' in text:
        text = _QUOTED_WORD.sub("<STR>", text)
    tokens = text.split()
    for i, token in enumerate(tokens):
        if _INTERESTING.search(token):
            tokens[i] = _mask_token(token)
    masked = " ".join(tokens)
    return _TS_RUN.sub("<TS>", masked) if "<TS>" in masked else masked


def _mask_token(token: str) -> str:
    masked = _cache.get(token)
    if masked is None:
        masked = _TOKEN.sub(_placeholder, token)
        if _ANY_DIGIT.search(masked):  # `core.4505`: a number after punctuation is a value
            masked = _DIGITS.sub("<NUM>", _MIXED_ID.sub("<ID>", masked))
        if "," in masked:
            masked = _JOINED.sub(r"\1", masked)
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[token] = masked
    return masked


def _placeholder(match: re.Match) -> str:
    return f"<{match.lastgroup}>"
