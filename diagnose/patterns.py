"""Mine message templates from the residue: the log lines no event rule explained.

A rule pack only finds what someone already wrote a rule for. The lines left over are where a new
failure mode first shows up, so we group them into templates (Drain: a fixed-depth parse tree over
masked tokens, hand-written here in ~150 lines rather than pulling in `drain3` and its jsonpickle
persistence we do not need) and report the new WARNING/ERROR patterns first, each with a count,
an example and where it was first seen. `skeleton.rule_skeleton` turns a template into a TOML
event rule that already passes the rule self-test, so "unknown pattern" becomes "new rule".

Before the tree, a line loses the header of an unknown text format (mining/header.py) and is
masked for grouping (mining/tokens.py); after it, templates of different lengths with the same
wording are joined (mining/regroup.py). Similarity counts words only: a slot where both sides hold
a value is neither a match nor a miss. One default configuration for every log: on Loghub-2k it
groups better than Drain tuned per system (bench/loghub.py, bench/README.md).

Determinism: distinct masked lines are buffered (up to `max_distinct`) and fed to the tree in
sorted order, so the templates and counts do not depend on input order (as long as fewer than
`max_distinct` distinct masked lines arrive); only `example` and `first_provenance` do (they
name the first occurrence in input order). Memory is bounded by `max_distinct`, `max_templates`
and `max_line_chars`; lines beyond the template cap are counted in `overflow`, never silently
dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

from .masking import clean
from .mining.header import strip_header
from .mining.regroup import align, regroup
from .mining.tokens import mask_for_mining
from .model import SEVERITY_RANK
from .rulepack.matching import severity_rank

WILDCARD = "<*>"
_WARNING = SEVERITY_RANK["WARNING"]
_LITERAL_NEWLINE = "\\n"  # JSON-shape messages carry escaped newlines
_CAPS = re.compile(r"[A-Z][A-Z0-9_]+")  # HTTPS, SOCKS5, GET: a capitalised word names a kind
_QUOTES = "\"'([{"  # `"GET` of a quoted request line is still GET


@dataclass(slots=True, frozen=True)
class Template:
    """One mined pattern: the masked text, how often it occurred, and one real example."""

    template: str
    count: int
    example: str
    example_provenance: str
    max_severity: str
    first_provenance: str

    def to_dict(self) -> dict:
        return {
            "template": self.template,
            "count": self.count,
            "max_severity": self.max_severity,
            "example": self.example,
            "example_provenance": self.example_provenance,
            "first_provenance": self.first_provenance,
        }


@dataclass(slots=True)
class PatternsResult:
    """Mined templates as a report section: `to_dict()` for JSON, `__rich__` for the terminal."""

    templates: list[Template]
    lines: int = 0  # residue lines offered to the miner
    overflow: int = 0  # lines left out once the template cap was reached
    truncated: int = 0
    blank: int = 0
    top: int = 20

    def to_dict(self) -> dict:
        return {
            "lines": self.lines,
            "templates": len(self.templates),
            "overflow": self.overflow,
            "truncated": self.truncated,
            "blank": self.blank,
            "top": [t.to_dict() for t in self.templates[: self.top]],
        }

    def __rich__(self):
        from rich.table import Table
        from rich.text import Text

        from .render.escape import clean as screen_clean
        from .render.escape import clip

        if not self.templates:
            return Text(f"Unexplained lines: {self.lines}, no patterns mined.", style="dim")
        shown = self.templates[: self.top]
        table = Table(
            title=f"Patterns no rule explains ({self.lines} lines → {len(self.templates)} "
            f"templates, top {len(shown)})",
            title_justify="left",
            caption="Turn pattern N into a rule: diagnose patterns --skeleton N",
            caption_justify="left",
        )
        for name, justify in (("#", "right"), ("Severity", "left"), ("Count", "right"),
                              ("Template", "left"), ("First seen", "left")):
            table.add_column(name, justify=justify, overflow="fold")
        for number, t in enumerate(shown, 1):
            problem = SEVERITY_RANK.get(t.max_severity, 0) >= _WARNING
            table.add_row(
                str(number), Text(t.max_severity, style="bold red" if problem else "dim"),
                str(t.count), Text(clip(screen_clean(t.template), 160)),
                Text(clip(screen_clean(t.first_provenance), 60)),
            )
        return table


@dataclass(slots=True)
class _Stats:
    """Counts and first/example occurrences of a line or a cluster; merges without order bias."""

    count: int
    first_seq: int
    first_provenance: str
    rank: int
    example_seq: int
    example: str
    example_provenance: str

    def observe(self, rank: int, text: str, provenance: str, seq: int) -> None:
        """One more occurrence, later in input order than every one seen so far."""
        self.count += 1
        if rank > self.rank:
            self.rank, self.example_seq = rank, seq
            self.example, self.example_provenance = text, provenance

    def absorb(self, other: _Stats) -> None:
        self.count += other.count
        if other.first_seq < self.first_seq:
            self.first_seq, self.first_provenance = other.first_seq, other.first_provenance
        if (other.rank, -other.example_seq) > (self.rank, -self.example_seq):
            self.rank, self.example_seq = other.rank, other.example_seq
            self.example, self.example_provenance = other.example, other.example_provenance


@dataclass(slots=True)
class _Cluster:
    tokens: list[str]
    stats: _Stats
    problem: bool = False  # WARNING or worse: mined apart from the routine lines
    keys: list[str | None] = field(init=False)  # each token's value key (`rhost=`), None: a word

    def __post_init__(self) -> None:
        self.keys = _slot_keys(self.tokens)

    def similarity(self, tokens: list[str], keys: list[str | None]) -> tuple[float, int]:
        """Share of the words that agree; slots where both sides hold a value are not words."""
        same = values = 0
        for a, key, b, other in zip(self.tokens, self.keys, tokens, keys, strict=True):
            if key is not None and (key == other or a == WILDCARD):
                values += 1
            elif a == b:
                same += 1
            elif _is_kind(a) and _is_kind(b):
                return 0.0, 0  # HTTPS vs SOCKS5, GET vs POST: capitals name a kind, not a value
        last, new_last = self.tokens[-1], tokens[-1]
        if last != new_last and _word(last) and _word(new_last):
            return 0.0, 0  # `… initialization.` vs `… finalization.`: the last word is the outcome
        words = len(tokens) - values
        return (same / words if words else 1.0), self.tokens.count(WILDCARD)

    def merge(self, tokens: list[str], stats: _Stats) -> None:
        self.tokens = [_generalise(a, b) for a, b in zip(self.tokens, tokens, strict=True)]
        self.keys = _slot_keys(self.tokens)
        self.stats.absorb(stats)

    def to_template(self) -> Template:
        s = self.stats
        severity = _severity_name(s.rank)
        return Template(
            " ".join(self.tokens), s.count, s.example, s.example_provenance, severity,
            s.first_provenance,
        )


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    clusters: list[_Cluster] = field(default_factory=list)


class TemplateMiner:
    """Drain-style template miner with bounded memory; feed it with `add`, read `templates()`."""

    def __init__(
        self,
        *,
        max_templates: int = 5000,
        max_distinct: int = 20000,
        max_line_chars: int = 512,
        similarity: float = 0.7,
        prefix_tokens: int = 2,
        max_children: int = 100,
        track: bool = False,
    ) -> None:
        self.max_templates = max_templates
        self.max_distinct = max_distinct
        self.max_line_chars = max_line_chars
        self.similarity = similarity
        self.prefix_depth = max(0, prefix_tokens)
        self.max_children = max_children
        self.lines = 0  # every add() call
        self.blank = 0  # lines with no text after cleaning
        self.truncated = 0  # lines cut to max_line_chars
        self.overflow = 0  # lines that matched no template once max_templates was reached
        self._seq = 0
        self._pending: dict[tuple[bool, str], _Stats] = {}
        self._roots: dict[tuple[bool, int], _Node] = {}
        self._clusters: list[_Cluster] = []
        # track=True (benchmarks, tests): remember each line's key to say which template it joined
        self._tracked: list[tuple[tuple[bool, str] | None, str]] | None = [] if track else None
        self._placed: dict[tuple[bool, str], _Cluster | None] = {}

    def add(self, text: str, severity: str | None, provenance: str) -> None:
        """Count one residue line. Only its first line is mined (a folded traceback is noise)."""
        self.lines += 1
        line = clean(_first_line(text)).strip()  # the example: what the rule engine will see
        if len(line) > self.max_line_chars:
            line = line[: self.max_line_chars]
            self.truncated += 1
        masked = mask_for_mining(strip_header(line))  # tokens joined by one space
        if not masked:
            self.blank += 1
            if self._tracked is not None:
                self._tracked.append((None, provenance))
            return
        rank = severity_rank(severity)
        key = (rank >= _WARNING, masked)
        if self._tracked is not None:
            self._tracked.append((key, provenance))
        seq, self._seq = self._seq, self._seq + 1
        stats = self._pending.get(key)
        if stats is not None:
            stats.observe(rank, line, provenance, seq)
            return
        if len(self._pending) >= self.max_distinct:
            self._flush()
        self._pending[key] = _Stats(1, seq, provenance, rank, seq, line, provenance)

    def templates(self) -> list[Template]:
        """All templates: WARNING and above first (by rank), then by count, then by text."""
        joined, _ = self._joined()
        return sorted((c.to_template() for c in joined), key=_template_order)

    def result(self, top: int = 20) -> PatternsResult:
        """The report section: totals plus the templates, showing the first `top`."""
        return PatternsResult(
            self.templates(), lines=self.lines, overflow=self.overflow,
            truncated=self.truncated, blank=self.blank, top=top,
        )

    def line_templates(self) -> tuple[list[int], list[str]]:
        """For each line added (track=True only): its template's number and text; -1 and ""
        for a blank line or one left out by the template cap."""
        if self._tracked is None:
            raise ValueError("line_templates() needs TemplateMiner(track=True)")
        joined, owner = self._joined()
        number = {id(c): i for i, c in enumerate(self._clusters)}
        groups, texts = [], []
        for key, _ in self._tracked:
            cluster = self._placed.get(key) if key is not None else None
            if cluster is None:
                groups.append(-1)
                texts.append("")
                continue
            head = owner[number[id(cluster)]]
            groups.append(head)
            texts.append(" ".join(joined[head].tokens))
        return groups, texts

    def _joined(self) -> tuple[list[_Cluster], list[int]]:
        """Tree clusters with the same wording joined across lengths (mining/regroup.py).

        Returns the joined clusters (copies: the tree keeps growing its own) and, for each tree
        cluster, the index of the joined cluster it belongs to (positions follow the tree order).
        """
        self._flush()
        owner = regroup([(c.problem, c.tokens) for c in self._clusters])
        heads: dict[int, _Cluster] = {}
        for index, cluster in enumerate(self._clusters):
            head = owner[index]
            if head not in heads:
                heads[head] = _Cluster(list(cluster.tokens), replace(cluster.stats), cluster.problem)
            elif head != index:
                joined = heads[head]
                joined.tokens = align(joined.tokens, cluster.tokens)
                joined.stats.absorb(cluster.stats)
        order = sorted(heads)
        position = {head: i for i, head in enumerate(order)}
        return [heads[h] for h in order], [position[owner[i]] for i in range(len(self._clusters))]

    def provenances(self) -> list[str]:
        """The provenance of each line added, in input order (track=True only)."""
        if self._tracked is None:
            raise ValueError("provenances() needs TemplateMiner(track=True)")
        return [provenance for _, provenance in self._tracked]

    def _flush(self) -> None:
        for key, stats in sorted(self._pending.items()):
            placed = self._insert(key[0], key[1].split(" "), stats)
            if self._tracked is not None:
                self._placed[key] = placed
        self._pending.clear()

    def _insert(self, problem: bool, tokens: list[str], stats: _Stats) -> _Cluster | None:
        leaf = self._leaf(problem, tokens)
        best: _Cluster | None = None
        best_score = (-1.0, -1)
        keys = _slot_keys(tokens)
        for cluster in leaf.clusters:
            score = cluster.similarity(tokens, keys)
            if score > best_score:
                best, best_score = cluster, score
        if best is not None and best_score[0] >= self.similarity:
            best.merge(tokens, stats)
            return best
        if len(self._clusters) < self.max_templates:
            cluster = _Cluster(list(tokens), stats, problem)
            leaf.clusters.append(cluster)
            self._clusters.append(cluster)
            return cluster
        self.overflow += stats.count
        return None

    def _leaf(self, problem: bool, tokens: list[str]) -> _Node:
        node = self._roots.setdefault((problem, len(tokens)), _Node())
        for token in tokens[: min(self.prefix_depth, len(tokens) - 1)]:  # never the last token
            if token in node.children:
                node = node.children[token]
                continue
            full = len(node.children) >= self.max_children
            key = WILDCARD if full or _variable(token) else token
            node = node.children.setdefault(key, _Node())
        return node


def _word(token: str) -> bool:
    """A plain word closing a sentence (`initialization.`): part of the wording, not a value."""
    return token.endswith(".") and token[:-1].isalpha()


def _holds_value(token: str) -> bool:
    return "<" in token and ">" in token


def _value_key(token: str) -> str | None:
    """What a value-holding token says before its first value: `rhost=` of `rhost=<IP>`."""
    return token[: token.index("<")] if _holds_value(token) else None


def _slot_keys(tokens: list[str]) -> list[str | None]:
    """Per token, its value key: two tokens with the same key (`<HEX>`/`<NUM>` → "",
    `rhost=<IP>`/`rhost=<*>` → "rhost=") are two values in one slot, not two words."""
    return [_value_key(t) for t in tokens]


@lru_cache(maxsize=65536)
def _is_kind(token: str) -> bool:
    return _CAPS.fullmatch(token.strip(_QUOTES)) is not None


def _generalise(a: str, b: str) -> str:
    """The template token for two tokens in one slot: itself, `key<*>`, or `<*>`."""
    if a == b:
        return a
    key = _value_key(a)
    if key and key == _value_key(b):
        return key + WILDCARD  # rhost=<IP>, rhost=<NUM>.<NUM>… → rhost=<*>
    field_a, field_b = a.partition("=")[0], b.partition("=")[0]
    if "=" in a and "=" in b and field_a == field_b and field_a.isidentifier():
        return field_a + "=" + WILDCARD  # user=root, user=test → user=<*>
    return WILDCARD


def _variable(token: str) -> bool:
    """A token that is (or holds) a value rather than a word: it goes to the wildcard branch."""
    return "<" in token or any(ch.isdigit() for ch in token)


def _first_line(text: str) -> str:
    if "\n" in text:
        text = text.lstrip("\n").split("\n", 1)[0]
    if _LITERAL_NEWLINE in text:
        text = text.split(_LITERAL_NEWLINE, 1)[0]
    return text


def _severity_name(rank: int) -> str:
    for name, value in SEVERITY_RANK.items():
        if value == rank:
            return name
    return "DEFAULT"


def _template_order(t: Template) -> tuple:
    rank = SEVERITY_RANK.get(t.max_severity, 0)
    return (-rank if rank >= _WARNING else 0, -t.count, t.template, t.first_provenance)
