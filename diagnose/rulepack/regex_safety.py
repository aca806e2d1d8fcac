"""Compile rule regexes so that no log line can hang the parser.

Rule packs may come from users and every record that passes the prefilter meets every pattern, so
one backtracking pattern on a long hostile line could stall a run for minutes (`\\w*\\d*\\w*X` is
cubic under `re`). Patterns therefore run on RE2 (`google-re2`), whose automata match in time
linear in the text whatever the pattern; RE2 has no lookarounds or backreferences, and a pattern
it cannot compile is a load error naming rule and key.

A rule that really needs `re` syntax opts in with `engine = "re"`. Those patterns are vetted by
walking the parsed regex (`re._parser`, the stdlib's own parser): an unbounded repeat whose body
holds another unbounded repeat, or repeated alternatives that start alike, are rejected. What the
walk cannot see is caught at match time: each search has a time bound (BoundedPattern).
"""

from __future__ import annotations

import re
import signal
import threading

import re2

from ..errors import RulePackError

try:  # Python 3.11+: the parser moved to re._parser; sre_parse is the deprecated alias
    import re._constants as _c
    import re._parser as _parser
except ImportError:  # pragma: no cover - Python < 3.11 is not supported, kept for clarity
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

MAX_PATTERN_CHARS = 2000
MAX_PROGRAM_SIZE = 20_000  # RE2 instructions; the largest built-in pattern needs ~6,000
RE_SEARCH_SECONDS = 0.05  # per-record bound for `engine = "re"` patterns
ENGINES = ("re2", "re")
_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT)
_NON_BACKTRACKING = (_c.ATOMIC_GROUP, _c.POSSESSIVE_REPEAT)


def required_literal(pattern: str) -> str:
    """The longest run of plain characters every match of `pattern` contains ("" if none).

    Read from the top level of the parsed pattern (`re._parser`), so only text outside any
    group, class or repeat counts, and a case-insensitive pattern has none. A pattern the
    stdlib parser reads differently from RE2 (`\\x{41}`, `\\pL`, `(?U)`) fails to parse and has
    none: a literal is only ever a cheap way to skip a search that could not match.
    """
    try:
        parsed = _parser.parse(pattern)
    except Exception:  # noqa: BLE001 - any syntax the stdlib parser refuses: no literal
        return ""
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return ""
    best, run = "", []
    for op, arg in [*parsed.data, (None, None)]:
        if op is _c.LITERAL:
            run.append(chr(arg))
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
    return best


def compile_checked(pattern: str, engine: str = "re2", *, deferred: bool = False):
    """Compile a rule regex: (pattern, None) when safe, else (None, the reason to report).

    The pattern has `.search(text)` returning a match with `.groupdict()`, and `.pattern`.
    `deferred` (the shipped packs, vetted by their tests): an RE2 pattern compiles on its first
    search, so the many a run never needs cost nothing (0.15 s of every start).
    """
    if len(pattern) > MAX_PATTERN_CHARS:
        return None, f"pattern is {len(pattern):,} characters; the limit is {MAX_PATTERN_CHARS:,}"
    if deferred and engine == "re2":
        return LinearPattern.deferred(pattern), None
    if engine == "re":
        compiled, problem = _compile_backtracking(pattern)
        return (BoundedPattern(compiled), None) if compiled is not None else (None, problem)
    return compile_linear(pattern)


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # RE2 would print every rejected pattern to stderr itself


def compile_linear(pattern: str):
    """RE2 compile: (LinearPattern, None), or (None, why RE2 refuses it and what to do)."""
    try:
        compiled = re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        try:  # a plain mistake reads better in the words of the familiar engine
            re.compile(pattern)
        except (re.error, OverflowError, RecursionError, ValueError) as plain:
            return None, f"invalid regex: {plain}"
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return None, (
            f"the linear-time regex engine (RE2) cannot compile this pattern: {reason}; RE2 has no "
            "lookarounds, backreferences, atomic groups or possessive repeats, and repeat counts "
            'stop at 1000 (rewrite it, or set engine = "re" to opt in to the backtracking engine)'
        )
    except (TypeError, ValueError, OverflowError) as exc:
        return None, f"invalid regex: {exc}"
    size = compiled._regexp.ProgramSize()
    if size > MAX_PROGRAM_SIZE:
        return None, (f"pattern compiles to {size:,} RE2 instructions; the limit is "
                      f"{MAX_PROGRAM_SIZE:,} (large counted repeats such as {{1,1000}} multiply it)")
    return LinearPattern(compiled), None


class LinearPattern:
    """An RE2 pattern with the slice of the `re.Pattern` API the matcher uses (`search`, `pattern`).

    It calls RE2 directly on UTF-8 bytes: the binding's own `search` re-encodes the text and maps
    every offset back for each call, four times the cost. The encoding of the last text is reused,
    since one record meets many patterns in a row. Lone surrogates (a JSON `\\ud800` escape) are
    passed through (`surrogatepass`), so no text can make the encode fail.
    """

    __slots__ = ("_groups", "_regex", "pattern")

    def __init__(self, regex) -> None:
        self._regex = regex._regexp
        self._groups = [(name.decode("utf-8"), index)
                        for name, index in regex._regexp.NamedCapturingGroups()]
        self.pattern: str = regex.pattern

    def search(self, text: str) -> LinearMatch | None:
        if self._regex is None:
            self._compile_now()
        data = _utf8(text)
        spans = self._regex.Match(_UNANCHORED, data, 0, len(data))
        if spans[0][0] < 0:
            return None
        return LinearMatch(data, spans, self._groups)

    def __getstate__(self):
        return self.pattern

    def _compile_now(self) -> None:
        """A deferred pattern's first search. One that fails now was changed after its pack's
        tests ran (an edited installed copy): a rule pack error, not a traceback."""
        compiled, problem = compile_linear(self.pattern)
        if compiled is None:
            raise RulePackError(f"a shipped rule pattern does not compile: {problem}",
                                hint=f"pattern {self.pattern[:80]!r}; reinstall diagnose")
        self._regex, self._groups = compiled._regex, compiled._groups

    @classmethod
    def deferred(cls, pattern: str) -> LinearPattern:
        """A pattern known to compile, compiled when it is first searched."""
        linear = cls.__new__(cls)
        linear.__setstate__(pattern)
        return linear

    def __setstate__(self, state) -> None:
        """A copy in a reader worker compiles on its first search: most patterns meet no
        record there (300 compiled on arrival took 0.15 s of each worker's start)."""
        self.pattern, self._regex, self._groups = state, None, []

    def __repr__(self) -> str:
        return f"LinearPattern({self.pattern!r})"


class LinearMatch:
    """The part of `re.Match` rules need: `group()` and `groupdict()` (None for groups not taken)."""

    __slots__ = ("_data", "_groups", "_spans")

    def __init__(self, data: bytes, spans, groups) -> None:
        self._data, self._spans, self._groups = data, spans, groups

    def _text(self, index: int) -> str | None:
        start, end = self._spans[index]
        if start < 0:
            return None
        try:
            return self._data[start:end].decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:  # a span that cut an encoded surrogate in two
            return self._data[start:end].decode("utf-8", "replace")

    def group(self, index: int = 0) -> str | None:
        return self._text(index)

    def groupdict(self) -> dict[str, str | None]:
        data, spans, out = self._data, self._spans, {}
        try:  # inline: a call per group was a fifth of matching a record
            for name, index in self._groups:
                start, end = spans[index]
                out[name] = data[start:end].decode("utf-8", "surrogatepass") if start >= 0 else None
        except UnicodeDecodeError:  # a span that cut an encoded surrogate in two
            return {name: self._text(index) for name, index in self._groups}
        return out


_UNANCHORED = re2._Anchor.UNANCHORED
_last_encoded: list[tuple[str, bytes]] = [("", b"")]


def _utf8(text: str) -> bytes:
    last = _last_encoded[0]  # one tuple, replaced whole: consistent even across threads
    if last[0] is text:
        return last[1]
    data = text.encode("utf-8", "surrogatepass")
    _last_encoded[0] = (text, data)
    return data


class SearchTimeout(Exception):
    """An `engine = "re"` search ran past its per-record bound."""


class BoundedPattern:
    """A backtracking `re` pattern (a rule opted in) whose every search has a time bound.

    In the main thread the bound is a real-time timer (SIGALRM interrupts the `re` engine); a
    search that runs out counts as no match and is tallied in `timeouts`. Elsewhere, where no
    timer can interrupt, only the first 4 KiB of the text are searched.
    """

    THREAD_CHARS = 4096

    __slots__ = ("_regex", "pattern", "timeouts")

    def __init__(self, regex: re.Pattern) -> None:
        self._regex = regex
        self.pattern: str = regex.pattern
        self.timeouts = 0

    def search(self, text: str):
        if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
            return self._regex.search(text[: self.THREAD_CHARS])
        previous = signal.signal(signal.SIGALRM, _raise_timeout)
        signal.setitimer(signal.ITIMER_REAL, RE_SEARCH_SECONDS)
        try:
            return self._regex.search(text)
        except SearchTimeout:
            self.timeouts += 1
            return None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def __getstate__(self):
        return self.pattern

    def __setstate__(self, state) -> None:
        self.__init__(re.compile(state))

    def __repr__(self) -> str:
        return f"BoundedPattern({self.pattern!r})"


def _raise_timeout(_signum, _frame) -> None:
    raise SearchTimeout


def _compile_backtracking(pattern: str) -> tuple[re.Pattern | None, str | None]:
    """`re` compile plus the static checks for catastrophic backtracking."""
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
