"""A mined template → a TOML event rule that already passes the rule pack's own self-test.

"Patterns no rule explains" is only useful if acting on one is cheap: the skeleton has a
prefilter literal from the template's longest constant run, a regex with named groups for the
masked parts (ids named as the correlator expects: user, connection, thread, run), the example
line as its sample with `expect` filled by actually matching it, and a counter-sample checked
not to match. It respects the loader's limits (regex length, prefilter length, safety).
"""

from __future__ import annotations

import re
import unicodedata

from .masking import PLACEHOLDER_PATTERNS, clean
from .patterns import Template

_RULE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_KINDS = "|".join(name for name, _ in PLACEHOLDER_PATTERNS)
_PLACEHOLDER_SPLIT = re.compile(rf"(<\*>|<(?:{_KINDS})>)")
# Group regexes for the rule: simpler than the maskers and free of nested unbounded quantifiers
# (which the rule loader rejects); the surrounding constants and backtracking do the rest.
_GROUP_REGEX = {
    "TS": r"\d{4}-\d\d-\d\d(?:[T ][\d:.,]+)?(?:Z|[+-]\d\d:?\d\d| ?[A-Z]{3,4})?"
    r"|\d\d:\d\d:\d\d[\d.,]*",
    "UUID": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "URL": r"[a-zA-Z][\w+.-]*://[^\s'\"<>]+",
    "EMAIL": r"[\w.+*-]+@[\w.-]+",
    "PATH": r"/[^\s'\"]*",
    "IP": r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?::\d{1,5})?",
    "STR": r"'[^'\n]*'|\"[^\"\n]*\"",
    "ID": r"[A-Za-z][\w-]*",
    "HEX": r"(?:0x)?[0-9a-fA-F]+",
    "NUM": r"-?\d[\d.]*",
    "*": r"\S+",
}
_ID_ALIASES = {
    "user": "user", "user_id": "user", "userid": "user",
    "connection": "connection", "connection_id": "connection", "conn": "connection",
    "conn_id": "connection", "client_id": "connection", "from": "connection",
    "thread": "thread", "thread_id": "thread", "run": "run", "run_id": "run",
}
_MAX_REGEX = 1900  # the loader rejects patterns over 2,000 characters
_START = r"^\s*"
# Rules run on RE2, whose \s is ASCII only; the miner splits words on any Unicode space (NEL,
# NBSP, U+2028…), so the gaps between words must match those too.
_SPACES = "\\s\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"  # literal chars:
_GAP = f"[{_SPACES}]+"  # the same class in RE2 and in `re`
_WORD = f"(?:^|[{_SPACES}])"  # a word start, without a lookbehind (RE2 has none)
_MIN_LITERAL = 3  # … and prefilter literals shorter than 3
_COUNTER_CANDIDATES = ("TODO: paste a line this rule must NOT match", "-", "")


def rule_skeleton(template: Template, rule_id: str) -> str:
    """A TOML event rule (rules/README.md format) that matches the template's example line.

    The regex is built from the template with one named group per masked part, the sample's
    `expect` is what the regex actually captures from the example, and the counter-sample is a
    placeholder that is checked not to match. Raises ValueError for an unusable rule id.
    """
    if not _RULE_ID.fullmatch(rule_id):
        raise ValueError(
            f"rule id {rule_id!r} must be lowercase letters, digits, '-' or '_' (max 64)"
        )
    example = template.example
    regex, expect = _regex_for(template.template.split(" "), example)
    literal = _prefilter(template.template, example)
    counter = next(c for c in _COUNTER_CANDIDATES if not re.search(regex, c))
    lines = [
        f"# Mined from {template.count} unexplained line(s), max severity {template.max_severity},"
        f" first seen at {_comment(template.first_provenance)}.",
        f"# Template: {_comment(template.template)}",
        "# Review before use: rename the groups (connection/user/thread/run are correlation",
        "# ids), pick a vocabulary kind for `emits`, replace the counter-sample with a real line.",
    ]
    if len(literal) < 8:
        lines.append("# The prefilter literal is short: replace it with a more specific one.")
    lines += [
        f"id = {_toml_str(rule_id)}",
        'kind = "event"',
        f"emits = {_toml_str('custom.' + rule_id)}",
        f"title = {_toml_str('Mined pattern: ' + _shorten(template.template, 100))}",
        'status = "experimental"',
        f"prefilter = [{_toml_str(literal)}]",
        f"patterns = [{_toml_regex(regex)}]",
        "",
        "[[samples]]",
        f"text = {_toml_str(example)}",
        "expect = { " + ", ".join(f"{k} = {_toml_str(v)}" for k, v in expect.items()) + " }",
        "",
        "[[counter_samples]]",
        f"text = {_toml_str(counter)}",
    ]
    return "\n".join(lines) + "\n"


def suggest_rule_id(template: Template) -> str:
    """A readable default id for `rule_skeleton`: `mined-` + the template's first constant words."""
    constant = _PLACEHOLDER_SPLIT.sub(" ", template.template)
    words = [w.lower() for w in re.findall(r"[A-Za-z]{2,}", constant)]
    slug = "-".join(words[:5])[:50].strip("-")
    return f"mined-{slug}" if slug else "mined-pattern"


def _regex_for(tokens: list[str], example: str) -> tuple[str, dict[str, str]]:
    """Typed groups first; loose `.+?` groups if they miss; the escaped example as a last resort."""
    keep = len(tokens)
    while keep > 1 and len(_build(tokens[:keep], loose=False)[0]) > _MAX_REGEX:
        keep -= 1
    # Anchored at the start of the text when the template is the whole line; after a header the
    # miner stripped (an unknown text format), at the start of a word.
    for anchor, loose in ((_START, False), (_START, True), (_WORD, False), (_WORD, True)):
        regex, kinds = _build(tokens[:keep], loose=loose, anchor=anchor)
        match = re.search(regex, example)
        if not match:
            continue
        quotes = {
            name: value[0]
            for name, value in match.groupdict().items()
            if kinds[name] == "STR" and value and value[0] in "'\""
        }
        if quotes:  # move the quotes outside the group so `expect` holds the bare value
            regex = _build(tokens[:keep], loose=loose, quotes=quotes, anchor=anchor)[0]
            match = re.search(regex, example)
        if match and len(regex) <= _MAX_REGEX:
            return regex, {k: v for k, v in match.groupdict().items() if v is not None}
    return r"^\s*" + re.escape(example[: _MAX_REGEX // 4]), {}


def _build(
    tokens: list[str], *, loose: bool, quotes: dict[str, str] | None = None, anchor: str = r"^\s*"
) -> tuple[str, dict[str, str]]:
    """Template tokens → (regex, group name → placeholder kind)."""
    counts: dict[str, int] = {}
    kinds: dict[str, str] = {}
    parts = [anchor]
    for i, token in enumerate(tokens):
        if i:
            parts.append(_GAP)
        context = tokens[i - 1] if i and _is_constant(tokens[i - 1]) else ""
        for piece in _PLACEHOLDER_SPLIT.split(token):
            if _PLACEHOLDER_SPLIT.fullmatch(piece):
                kind = piece.strip("<>")
                name = _group_name(kind, context, counts)
                kinds[name] = kind
                parts.append(_group(name, kind, loose, (quotes or {}).get(name)))
                context = ""
            elif piece:
                parts.append(re.escape(piece))
                context = piece
    return "".join(parts), kinds


def _group(name: str, kind: str, loose: bool, quote: str | None) -> str:
    if quote:
        q = re.escape(quote)
        return f"{q}(?P<{name}>[^{q}\\n]*){q}"
    body = ".+?" if loose else _GROUP_REGEX[kind]
    return f"(?P<{name}>{body})"


def _group_name(kind: str, context: str, used: dict[str, int]) -> str:
    """`run_id=<ID>` → run, `for user <ID>` → user, `Status: <NUM>` → status, else num1, id2…"""
    word = ""
    key = re.search(r"([A-Za-z_][A-Za-z0-9_]*)[=:]\s*$", context)
    if key:
        word = key.group(1).lower()
        word = _ID_ALIASES.get(word, word)
    elif context.lower() in _ID_ALIASES:
        word = _ID_ALIASES[context.lower()]
    base = word or ("var" if kind == "*" else kind.lower())
    n = 1
    name = base if word else f"{base}1"
    while name in used:
        n += 1
        name = f"{base}{n}"
    used[name] = 1
    return name


def _is_constant(token: str) -> bool:
    return bool(token) and not _PLACEHOLDER_SPLIT.search(token)


def _prefilter(template: str, example: str) -> str:
    """The longest constant run of the template that occurs verbatim in the example."""
    runs = {f.strip() for f in _PLACEHOLDER_SPLIT.split(template) if f.strip()}
    words = {w for w in template.split(" ") if _is_constant(w)}
    for pool in (runs, words, {example[:20].strip()}):
        found = sorted(
            (r for r in pool if len(r) >= _MIN_LITERAL and r in example),
            key=lambda r: (-len(r), r),
        )
        if found:
            return found[0]
    raise ValueError(f"example {example!r} is too short for a prefilter literal")


def _toml_str(text: str) -> str:
    """A TOML basic string; escapes quotes, backslashes and every control character."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\t":
            out.append("\\t")
        elif _hidden(ch):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_regex(regex: str) -> str:
    """Literal `'''…'''` keeps a regex readable; fall back to a basic string when it cannot."""
    unsafe = "'''" in regex or regex.endswith("'") or any(_hidden(ch) for ch in regex)
    return _toml_str(regex) if unsafe else f"'''{regex}'''"


def _comment(text: str) -> str:
    """Comment text: no escapes exist there, so hidden characters are written as `\\uXXXX`."""
    flat = clean(text).replace("\n", " ")
    return _shorten("".join(f"\\u{ord(ch):04x}" if _hidden(ch) else ch for ch in flat), 200)


def _hidden(ch: str) -> bool:
    """Controls (C0, DEL, C1), bidi and zero-width format characters, line/paragraph separators:
    raw in the TOML they would hide or reorder what a reviewer reads (issue 12)."""
    code = ord(ch)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return True
    return code > 0x9F and unicodedata.category(ch) in ("Cf", "Zl", "Zp")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
