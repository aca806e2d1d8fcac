"""Make untrusted log text inert in every output format, in one place.

Log lines are written by whoever can reach the backend: they may carry rich markup (`[link=…]`),
ANSI colour and OSC 8 hyperlink sequences, HTML, Markdown table syntax, backticks, XML-illegal
characters and line breaks that would let them forge new lines in a workflow command. Every
renderer passes log-derived strings through the helper for its format, and through nothing else.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from rich.markup import escape as _rich_escape

from ..model import UNTIMED_BASE

# ESC-introduced sequences: CSI (colours, cursor), OSC (titles, OSC 8 links; ends in BEL or ST),
# and the two-byte forms; then their 8-bit C1 twins.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x9d[^\x07\x9c]*(?:\x07|\x9c)?"
)
# Remaining C0/C1 controls (tab and newlines handled separately), DEL, and the bidi overrides
# that reorder text on screen ("Trojan Source").
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile(r"\r\n|[\r\n\t\u2028\u2029\x85]")
# Characters that print as nothing (zero-width spaces and joiners, soft hyphen, direction marks,
# variation selectors, tag characters) would make `start\u200b_agent` look like `start_agent`;
# lone surrogates cannot be encoded at all. Both are shown as visible `\uXXXX` escapes.
# The joiner and variation selectors stay inside emoji (a warning sign with VS16, a family).
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200c\u200e\u200f"
    "\u2060-\u2064\u206a-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\ud800-\udfff"
    "\U000e0000-\U000e0fff]"
    "|(?<=[\x00-\x7f])[\u200d\ufe00-\ufe0f]|^[\u200d\ufe00-\ufe0f]|\u200d(?=[\x00-\x7f]|$)"
)
# Characters XML 1.0 forbids outright (even as character references).
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# ASCII punctuation that means something in (GitHub-flavoured) Markdown inline text.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&:@])")
_MD_WWW = re.compile(r"(?i)(www)\.")


def clean(text: object, *, keep_newlines: bool = False) -> str:
    """Drop ANSI/OSC sequences and control characters; fold line breaks to spaces unless kept;
    show invisible characters and lone surrogates as `\\uXXXX`."""
    s = _ANSI.sub("", str(text))
    if keep_newlines:
        s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
        return show_invisible(_CONTROL.sub("", s))
    return show_invisible(_CONTROL.sub("", _BREAKS.sub(" ", s)))


def show_invisible(text: str) -> str:
    """Zero-width and other invisible characters, and lone surrogates, as visible escapes."""
    return _INVISIBLE.sub(_escape_char, text)


def _escape_char(m: re.Match) -> str:
    code = ord(m.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def clip(text: str, limit: int) -> str:
    """Shorten to at most `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def rich_text(text: object) -> str:
    """For interpolation into rich markup: cleaned, and every `[` that could open a tag escaped."""
    return _rich_escape(clean(text))


def html_text(text: object, *, keep_newlines: bool = False) -> str:
    """For HTML element content and quoted attribute values."""
    return html.escape(clean(text, keep_newlines=keep_newlines), quote=True)


def md_text(text: object) -> str:
    """For Markdown prose and table cells: one line, punctuation backslash-escaped.

    Escaping `:`, `@` and the dot after `www` keeps GitHub from autolinking URLs, e-mail
    addresses and @mentions that came from a log line.
    """
    return _MD_WWW.sub(r"\1\\.", _MD_SPECIAL.sub(r"\\\1", clean(text)))


def md_code(text: object, *, in_table: bool = False) -> str:
    """An inline code span that the text cannot close: the fence is longer than any backtick run.

    Inside a GFM table a `|` still ends the cell even in a code span, so it is escaped there.
    """
    s = clean(text)
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    if in_table:
        s = s.replace("|", "\\|")
    return f"{fence}{pad}{s}{pad}{fence}"


def md_fenced(lines: list[str], info: str = "text") -> str:
    """A fenced code block whose fence no line can match (longer than any backtick run)."""
    body = [clean(line) for line in lines]
    longest = max((len(m) for line in body for m in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([f"{fence}{info}", *body, fence])


def xml_text(text: object, *, keep_newlines: bool = False) -> str:
    """For XML 1.0 content and attributes: illegal characters removed, markup characters escaped."""
    s = _XML_ILLEGAL.sub("", clean(text, keep_newlines=keep_newlines))
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace('"', "&quot;")
    return s.replace("\n", "&#10;") if not keep_newlines else s


def gh_data(text: object) -> str:
    """GitHub workflow-command message: `%`, CR and LF percent-encoded so it stays one command."""
    s = show_invisible(_CONTROL.sub("", _ANSI.sub("", str(text))))
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_property(text: object) -> str:
    """GitHub workflow-command property value: as data, plus `:` and `,` encoded."""
    return gh_data(text).replace(":", "%3A").replace(",", "%2C")


def display_ts(dt: datetime | None) -> str:
    """A report timestamp: UTC, millisecond precision, `Z` suffix; `–` when unknown."""
    if dt is None:
        return "–"
    if dt == UNTIMED_BASE:
        return "no time stamp"
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"
