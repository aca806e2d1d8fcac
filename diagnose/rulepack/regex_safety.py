"""Reject regexes that can hang the parser on one hostile log line (catastrophic backtracking).

Rule packs may come from users and every record that passes the prefilter meets every pattern, so
a single `(\\w+\\s?)*` on a long line could stall a run for minutes. We walk the parsed regex
(`re._parser`, the stdlib's own parser) and reject any unbounded repeat whose body holds another
unbounded repeat. Atomic groups and possessive repeats never backtrack into their body, so they
neither count as the inner repeat nor need to be reported as the outer one.
"""

from __future__ import annotations

import re

try:  # Python 3.11+: the parser moved to re._parser; sre_parse is the deprecated alias
    import re._constants as _c
    import re._parser as _parser
except ImportError:  # pragma: no cover - Python < 3.11 is not supported, kept for clarity
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

MAX_PATTERN_CHARS = 2000
_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT)
_NON_BACKTRACKING = (_c.ATOMIC_GROUP, _c.POSSESSIVE_REPEAT)


def compile_checked(pattern: str) -> tuple[re.Pattern | None, str | None]:
    """Compile a rule regex: (pattern, None) when safe, else (None, the reason to report)."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return None, f"pattern is {len(pattern):,} characters; the limit is {MAX_PATTERN_CHARS:,}"
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return None, f"invalid regex: {exc}"
    except (OverflowError, RecursionError, ValueError) as exc:
        return None, f"invalid regex: {exc}"
    if has_nested_unbounded_repeat(pattern):
        return None, (
            "nested unbounded quantifiers (e.g. (a+)+ or (.*)*) can backtrack catastrophically; "
            "bound the inner or outer repeat, or make it atomic (?>...) / possessive (*+, ++)"
        )
    if has_ambiguous_repeated_alternation(pattern):
        return None, (
            "an unbounded repeat of alternatives that can start with the same character "
            "(e.g. (a|aa)* or (x|x?y)+) can backtrack catastrophically; make the alternatives "
            "start differently, bound the repeat, or make it atomic (?>...) / possessive"
        )
    return compiled, None


def has_ambiguous_repeated_alternation(pattern: str) -> bool:
    """True when an unbounded repeat holds an alternation whose branches may start alike."""
    try:
        tree = _parser.parse(pattern)
    except (re.error, RecursionError):
        return False
    return _ambiguous(tree, inside_repeat=False)


_ANY = None  # "could start with any character" (or with nothing at all)


def _ambiguous(items, inside_repeat: bool) -> bool:
    for op, av in items:
        if op in _NON_BACKTRACKING:
            continue
        if op == _c.BRANCH and inside_repeat and _branches_overlap(av[1]):
            return True
        repeat = inside_repeat or (op in _REPEATS and av[1] == _c.MAXREPEAT)
        if any(_ambiguous(child, repeat) for child in _children(op, av)):
            return True
    return False


def _branches_overlap(branches) -> bool:
    seen: set[int] = set()
    for branch in branches:
        first = _first_chars(branch)
        if first is _ANY or first & seen:
            return True
        seen |= first
    return False


def _first_chars(items) -> set[int] | None:
    """The characters a sub-pattern can start with, or _ANY when that is not a small known set."""
    for op, av in items:
        if op == _c.LITERAL:
            return {av}
        if op == _c.IN and all(kind == _c.LITERAL for kind, _ in av):
            return {value for _, value in av}
        if op == _c.SUBPATTERN:
            return _first_chars(av[3])
        if op in (_c.AT,):
            continue  # anchors take no character
        return _ANY
    return _ANY  # an empty branch matches nothing, so it overlaps every other choice


def has_nested_unbounded_repeat(pattern: str) -> bool:
    """True when an unbounded repeat contains another unbounded repeat (`(a+)+`, `(\\w+\\s?)*`)."""
    try:
        tree = _parser.parse(pattern)
    except (re.error, RecursionError):
        return False  # compile() already reported it
    return _nested(tree)


def _nested(items) -> bool:
    for op, av in items:
        if op in _REPEATS:
            _low, high, body = av
            if high == _c.MAXREPEAT and _has_unbounded(body):
                return True
        if any(_nested(child) for child in _children(op, av)):
            return True
    return False


def _has_unbounded(items) -> bool:
    for op, av in items:
        if op in _NON_BACKTRACKING:
            continue
        if op in _REPEATS and av[1] == _c.MAXREPEAT:
            return True
        if any(_has_unbounded(child) for child in _children(op, av)):
            return True
    return False


def _children(op, av) -> list:
    """The sub-patterns of one parsed node (groups, alternatives, lookarounds, conditionals)."""
    if op in _REPEATS or op == _c.POSSESSIVE_REPEAT:
        return [av[2]]
    if op == _c.SUBPATTERN:
        return [av[3]]
    if op == _c.BRANCH:
        return list(av[1])
    if op in (_c.ASSERT, _c.ASSERT_NOT):
        return [av[1]]
    if op == _c.ATOMIC_GROUP:
        return [av]
    if op == _c.GROUPREF_EXISTS:
        return [branch for branch in av[1:] if branch is not None]
    return []
