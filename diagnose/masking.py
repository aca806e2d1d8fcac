"""Replace the variable parts of a log message with typed placeholders (`<NUM>`, `<ID>`, …).

Template mining only works when two lines that differ by a connection id, a time stamp or a
count look the same; masking them first (the Drain3 lesson) is what makes "Sending ack … from
e2e-staging-49066fc8" and "… from staging-e2e-user-001" one pattern.

Speed matters (the residue can be most of a large export): quoted strings are replaced in one
pass that only stops at quote characters; then only the whitespace-separated tokens holding a
digit, `@`, `/` or an all-letter hex id part (every placeholder needs one) meet the combined
regex, with a bounded cache of token results. The output is whitespace-normalized (tokens joined
by one space), pure and deterministic.
"""

from __future__ import annotations

import re

_ZONES = r"UTC|GMT|[PMCE][DS]T|BST|CES?T|EES?T|IST|JST|AE[DS]T"
_SEG_ID = (  # one id-like segment of a dashed/underscored token
    r"(?:\d{3,}"
    r"|(?=[0-9a-f]*\d)[0-9a-f]{6,}|[0-9a-f]{8,}"  # random hex may have no digit
    r"|(?=[A-Za-z0-9]*\d[A-Za-z0-9]*\d)[A-Za-z0-9]{8,})"
)

# (placeholder, regex) in priority order: at one position the first that matches wins.
PLACEHOLDER_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "TS",
        r"(?<![\w.])(?:\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?"
        rf"(?:Z|[+-]\d\d:?\d\d|\s?(?:{_ZONES})\b)?)?"
        r"|\d\d:\d\d:\d\d(?:[.,]\d+)?)(?![\w:])",
    ),
    (
        "UUID",
        r"(?<![\w-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
        r"(?![\w-])",
    ),
    ("URL", r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s'\"<>()\[\]{}]+"),
    ("EMAIL", r"[\w.+*-]+@[\w-]+(?:\.[\w-]+)+"),
    ("PATH", r"(?<![\w:/.])(?:/[\w.@%+~-]+){2,}/?"),
    ("IP", r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])"),
    ("STR", r"(?<!\w)(?:'[^'\n]{0,300}'|\"[^\"\n]{0,300}\")(?!\w)"),
    (
        "ID",
        r"(?<![\w./-])[A-Za-z][A-Za-z0-9]*(?:[-_]+[A-Za-z0-9]+)*?"
        rf"[-_]+{_SEG_ID}(?:[-_]+[A-Za-z0-9]+)*(?![\w-])",
    ),
    (
        "HEX",
        r"(?<![\w.-])(?:0x[0-9a-fA-F]+"
        r"|(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,})(?![\w-])",
    ),
    ("NUM", r"(?<![\w.+-])-?\d+(?:\.\d+)*"),  # not in U+1F511 (netra's ASCII-escaped emoji)
)

PLACEHOLDERS = tuple(f"<{name}>" for name, _ in PLACEHOLDER_PATTERNS)

# Quoted strings first, each branch starting with its quote literal so the scan skips ahead fast.
_STR = re.compile(r"'(?<!\w')[^'\n]{0,300}'(?!\w)|\"(?<!\w\")[^\"\n]{0,300}\"(?!\w)")
_TOKEN = re.compile(
    "|".join(f"(?P<{name}>{rx})" for name, rx in PLACEHOLDER_PATTERNS if name != "STR")
)
_INTERESTING = re.compile(r"[\d@/]|[-_][0-9a-f]{8}")  # what any placeholder needs
_TS_RUN = re.compile(rf"<TS>(?: <TS>)*(?: (?:{_ZONES})\b)?")  # date + time (+ zone) tokens
_CONTROL = re.compile(
    r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f]"
)
_CACHE_MAX = 65536
_cache: dict[str, str] = {}


def mask(text: str) -> str:
    """Return `text` with every variable part replaced by its placeholder; pure and deterministic.

    >>> mask("Sending ack for unknown message type 'execute_agent' from e2e-staging-49066fc8")
    'Sending ack for unknown message type <STR> from <ID>'
    """
    if "'" in text or '"' in text:
        text = _STR.sub("<STR>", text)
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
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[token] = masked
    return masked


def _placeholder(match: re.Match) -> str:
    return f"<{match.lastgroup}>"


def clean(text: str) -> str:
    """Strip ANSI/OSC escapes and control characters (log text is untrusted); keep tab, newline."""
    return _CONTROL.sub("", text)
