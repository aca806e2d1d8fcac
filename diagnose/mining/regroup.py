"""Join templates of different lengths that say the same thing with an optional value.

The prefix tree only compares lines with the same number of tokens, so `close, 0 bytes sent,
lifetime 00:01` and `close, 1190 bytes (1.16 KB) sent, lifetime <1 sec` can never meet there.
After the tree, templates whose constant words (the words that are not values, and not inside a
parenthesised value such as `(1.16 KB)`) mostly agree in order are joined: the longest common
subsequence must cover `min_share` of the longer list of words. Two templates of one length are
joined only when their words are shifted (the alignment finds more than the position-by-position
comparison the tree already made), so `GET …`/`POST …` stay apart. The joined template keeps the
tokens both agree on and writes `<*>` for each gap.

Bounded: templates are compared only inside a bucket that shares the first two words, and a
bucket compares at most `max_bucket` templates (the rest stay as they are).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

WILDCARD = "<*>"
MIN_WORDS = 3  # too few words to say two templates are the same sentence
MAX_GROUP_TOKENS = 3  # a parenthesised annotation spans at most this many tokens
MAX_WORDS = 48  # words compared per template: bounds the LCS at 48 x 48 steps


def constant_words(tokens: Sequence[str]) -> list[str]:
    """The template's wording: tokens without values, annotations `(<NUM> KB)` left out."""
    words: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("(") and not token.endswith(")"):
            end = next((j for j in range(i + 1, min(len(tokens), i + MAX_GROUP_TOKENS))
                        if tokens[j].endswith(")")), None)
            if end is not None and any(_holds_value(t) for t in tokens[i:end + 1]):
                i = end + 1
                continue
        if not _holds_value(token):
            words.append(token)
        i += 1
    return words


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Longest common subsequence length (row-by-row dynamic programme)."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def align(a: Sequence[str], b: Sequence[str]) -> list[str]:
    """The tokens `a` and `b` share in order, with one `<*>` for every gap on either side."""
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = (table[i + 1][j + 1] + 1 if a[i] == b[j]
                           else max(table[i + 1][j], table[i][j + 1]))
    out: list[str] = []
    i = j = 0
    gap = False
    while i < n and j < m:
        if a[i] == b[j]:
            if gap:
                out.append(WILDCARD)
                gap = False
            out.append(a[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i, gap = i + 1, True
        else:
            j, gap = j + 1, True
    if gap or i < n or j < m:
        out.append(WILDCARD)
    return [t for k, t in enumerate(out) if not (t == WILDCARD and k and out[k - 1] == WILDCARD)]


def regroup(
    templates: Sequence[tuple[bool, list[str]]], *, min_share: float = 0.8, max_bucket: int = 200
) -> list[int]:
    """For each (partition, tokens) template, the index of the template it joins (itself if none).

    Templates are visited in the given order, so the result is as deterministic as that order.
    """
    owner = list(range(len(templates)))
    heads: dict[tuple, list[tuple[int, list[str], Counter]]] = {}
    for index, (partition, tokens) in enumerate(templates):
        words = constant_words(tokens)[:MAX_WORDS]
        if len(words) < MIN_WORDS:
            continue
        bag = Counter(words)
        bucket = heads.setdefault((partition, words[0], words[1]), [])
        for head, head_words, head_bag in bucket:
            same_length = len(templates[head][1]) == len(tokens)
            need = min_share * max(len(head_words), len(words))
            if min(len(head_words), len(words)) < need:
                continue  # cheap bounds first: the LCS is at most the shorter list …
            if sum((bag & head_bag).values()) < need:
                continue  # … and at most the words both hold
            if _adds_a_field(templates[head][1], tokens):
                continue
            common = lcs_length(head_words, words)
            if same_length and common <= _in_place(templates[head][1], tokens):
                continue  # nothing shifted: the tree compared these word by word and said no
            if common >= need:
                owner[index] = head
                break
        else:
            if len(bucket) < max_bucket:
                bucket.append((index, words, bag))
    return owner


def _in_place(a: Sequence[str], b: Sequence[str]) -> int:
    """Words that agree position by position (how the tree compared two same-length lines)."""
    return sum(1 for x, y in zip(a, b, strict=True) if x == y and not _holds_value(x))


def _adds_a_field(a: Sequence[str], b: Sequence[str]) -> bool:
    """One template is the other plus trailing `key=value` fields: a different field set."""
    short, long = (a, b) if len(a) < len(b) else (b, a)
    if not all(_slot(x) == _slot(y) for x, y in zip(short, long, strict=False)):
        return False
    return any("=" in token for token in long[len(short):])


def _slot(token: str) -> str:
    """A token as a slot: a value-holding token is its key (`rhost=`), a word is itself."""
    return token[: token.index("<")] + WILDCARD if _holds_value(token) and "<" in token else token


def _holds_value(token: str) -> bool:
    return token == WILDCARD or ("<" in token and ">" in token)
