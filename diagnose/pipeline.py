"""The whole analysis as library calls: sources → parse → correlate → classify → report.

The CLI, the rule self-test and the benchmark all call `analyze` (files) or `analyze_records`
(any record stream, e.g. a Cloud Logging pull), so every entry point gives the same answer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import Enum
from typing import BinaryIO

from .assemble import FindingCollector, fingerprint, impact, outcome_row
from .attribution import Attribution
from .classify import Vocabulary, classify_connection
from .contrast import ContrastTally
from .correlate import CorrelationStats, correlate
from .dedupe import RepeatedEvents
from .gcpolicy import fewer_collections
from .model import Connection, Event, Finding, ParseStats, RawRecord
from .ordering import KeptHead, OutOfOrder, SortedRuns, read_ahead
from .outcomes import OutcomeStore, OutcomeTable
from .parse import RecordMatcher, parse_records, resolve_sticky_ids
from .patterns import TemplateMiner
from .report import Provenance, Report
from .rulepack.matching import search_timeouts
from .rulepack.model import RuleSet
from .rulepack.regex_safety import RE_SEARCH_SECONDS
from .scopes import MAX_SYMPTOMS_KEPT, ScopeEvaluator
from .sources import Prefilter, read_records
from .sources.parallel import WorkerPool
from .unexplained import ErrorTally

MIN_RELEASE = timedelta(minutes=5)
# Records at these severities are decoded even when no rule literal is in them: an error no rule
# explains is still listed in the report ("never silent").
SEVERITY_LITERALS = ["ERROR", "CRITICAL", "ALERT", "EMERGENCY"]


@dataclass(slots=True)
class AnalyzeOptions:
    """What the user chose; everything else comes from the rules and the logs."""

    default_tz: tzinfo = UTC
    tz_name: str = "UTC"
    command: str = "diagnose analyze"
    window_start: datetime | None = None  # set by a pull: the requested window
    window_end: datetime | None = None
    filter: str | None = None
    progress: Callable[[int], None] | None = None
    keep_timeline: Callable[[Connection], bool] | None = None  # for `explain`
    mine_patterns: bool = False  # decode every record and mine the ones no rule matched
    patterns_top: int = 20


def analyze(
    paths: list[str],
    ruleset: RuleSet,
    options: AnalyzeOptions | None = None,
    *,
    stdin: BinaryIO | None = None,
    pool: WorkerPool | None = None,
) -> Report:
    """Analyze log files/directories/globs (already expanded) with `ruleset`; `pool`: reader
    workers started early (sources.parallel.early_pool).

    One regular file is followed as it is read, keeping only its first events for a sort: if
    it turns out to be out of time order past them, it is read again and sorted (keeping every
    event for that cost a tenth of a text file's run). Anything else keeps them all."""
    options = options or AnalyzeOptions()
    if stdin is None and len(paths) == 1 and os.path.isfile(paths[0]):
        try:
            return _analyze_paths(paths, ruleset, options, stdin, pool, Ordering.FOLLOW)
        except OutOfOrder:
            if pool is not None:  # its workers may still be answering the first read
                pool.close()
            return _analyze_paths(paths, ruleset, options, stdin, None, Ordering.SORT)
    return _analyze_paths(paths, ruleset, options, stdin, pool, Ordering.FOLLOW_KEEPING)


def _analyze_paths(
    paths: list[str],
    ruleset: RuleSet,
    options: AnalyzeOptions,
    stdin: BinaryIO | None,
    pool: WorkerPool | None,
    ordering: Ordering,
) -> Report:
    stats = ParseStats()
    matcher = RecordMatcher.of(ruleset)
    records = read_records(
        sorted(paths),  # input order must not change the answer (dedupe keeps the first copy)
        prefilter=None if options.mine_patterns else Prefilter(
            ruleset.prefilter_literals() + SEVERITY_LITERALS
        ),
        stats=stats,
        default_tz=options.default_tz,
        stdin=stdin,
        progress=options.progress,
        matcher=None if options.mine_patterns else matcher,
        pool=pool,
    )
    try:
        return analyze_records(records, ruleset, stats, options, inputs=list(paths),
                               matcher=matcher, ordering=ordering)
    finally:
        records.close()  # a read given up part way stops its workers and scratch files now


class Ordering(Enum):
    """How events reach correlation in time order."""

    FOLLOW = "follow"  # as they are read, through read_ahead's window; if they are not in
    # order, sorted from the first ones kept and the rest, or OutOfOrder when too many passed
    FOLLOW_KEEPING = "follow, keeping"  # the same, starting over on the full sort if not
    SORT = "sort"  # after the whole input is read and sorted


def analyze_records(
    records: Iterable[RawRecord],
    ruleset: RuleSet,
    stats: ParseStats,
    options: AnalyzeOptions | None = None,
    *,
    inputs: list[str] | None = None,
    matcher: RecordMatcher | None = None,
    ordering: Ordering = Ordering.FOLLOW_KEEPING,
) -> Report:
    """Analyze an already-open record stream; `stats` carries the source's accounting."""
    with fewer_collections():
        return _analyze_records(records, ruleset, stats, options or AnalyzeOptions(),
                                inputs, matcher, ordering)


def _analyze_records(
    records: Iterable[RawRecord],
    ruleset: RuleSet,
    stats: ParseStats,
    options: AnalyzeOptions,
    inputs: list[str] | None,
    matcher: RecordMatcher | None,
    ordering: Ordering,
) -> Report:
    started = time.perf_counter()
    timed_out_before = search_timeouts(ruleset.event_rules)  # the rules outlive one analysis
    miner = TemplateMiner() if options.mine_patterns else None
    errors = ErrorTally()

    def on_ignored(record: RawRecord) -> None:
        errors.add(record)
        if miner is not None:
            miner.add(record.text, record.severity, record.provenance)

    parsed = parse_records(records, ruleset, stats, on_ignored, matcher)
    runs = SortedRuns()
    try:
        followed = None
        if ordering is not Ordering.SORT:
            kept = runs if ordering is Ordering.FOLLOW_KEEPING else KeptHead()
            try:  # most inputs come in time order: follow them while they are read
                followed = _follow(read_ahead(parsed, kept), ruleset, stats, options)
            except OutOfOrder:
                if kept is not runs:
                    if kept.events is None:  # found out too late: the caller reads again
                        raise
                    for event in kept.events:
                        runs.add(event)
        if followed is None:  # start over on the full sort, from fresh state
            for event in parsed:
                runs.add(event)
            followed = _follow(runs.ordered(), ruleset, stats, options)
    finally:
        runs.discard()
    _warn_timeouts(stats, search_timeouts(ruleset.event_rules), timed_out_before)
    stats.events -= followed.duplicates  # copies of timed records, dropped after the sort
    stats.duplicates += followed.duplicates
    clock, scopes, table = followed.clock, followed.scopes, followed.table
    if scopes.symptoms_dropped:
        stats.warnings.append(
            f"{scopes.symptoms_dropped:,} symptom lines past the first {MAX_SYMPTOMS_KEPT:,} were "
            "not checked against wider causes (their counts in findings are lower bounds)")
    outcomes = table.rows()
    if table.total > len(outcomes):
        stats.warnings.append(
            f"{table.total:,} connections: the outcome table lists the {len(outcomes):,} most "
            "important (failures first, earliest first); counts and findings cover them all")
    # events a wider-scope rule looked at (a container exit, a startup error) or noise were
    # never meant for a connection: "matched no connection" lists only the others
    used = scopes.used_kinds
    unmatched = {k: n for k, n in followed.corr_stats.uncorrelated_kinds.items()
                 if k not in used and not k.startswith("noise.")}
    outcomes.sort(key=lambda o: (o.first_seen or clock.horizon(), o.connection))
    provenance = Provenance(
        command=options.command,
        inputs=sorted(inputs or []),
        window_start=options.window_start or _earliest(clock.first, stats.first_ts),
        window_end=options.window_end or _latest(clock.last, stats.last_ts),
        rule_packs=ruleset.versions(),
        elapsed_seconds=time.perf_counter() - started,
        filter=options.filter,
        tz_default=options.tz_name,
    )
    report = Report(
        findings=followed.findings,
        outcomes=outcomes,
        outcome_tally=table.counts,
        outcomes_by_time=table.by_time,
        stats=stats,
        provenance=provenance,
        uncorrelated_events=sum(unmatched.values()),
        known_types=sorted(set(ruleset.known_message_types) | followed.collector.seen_routed),
        classes=ruleset.classes,
    )
    report.sections["unexplained_errors"] = errors
    report.sections["contrast"] = contrast = followed.tally.result()
    if (capped := contrast.cap_warning()) is not None:
        stats.warnings.append(capped)
    report.sections["event_counts"] = dict(sorted(clock.counts.items()))
    report.sections["uncorrelated_kinds"] = dict(sorted(unmatched.items()))
    if options.keep_timeline is not None:
        report.sections["timelines"] = followed.timelines
    if miner is not None:
        report.sections["patterns"] = miner.result(options.patterns_top)
    return report


@dataclass(slots=True)
class _Followed:
    """What following the time-ordered events leaves for the report."""

    clock: _Clock
    scopes: ScopeEvaluator
    corr_stats: CorrelationStats
    collector: FindingCollector
    findings: list[Finding]
    table: OutcomeTable
    tally: ContrastTally
    timelines: list
    duplicates: int  # records whose every event repeated one already passed


def _follow(
    ordered: Iterable[Event], ruleset: RuleSet, stats: ParseStats, options: AnalyzeOptions
) -> _Followed:
    """Correlate, classify and judge time-ordered events, from fresh state (it may run twice:
    once while reading, and again on the full sort when the input turned out of order)."""
    clock = _Clock(options.window_end, stats)
    scopes = ScopeEvaluator(ruleset)
    repeated = RepeatedEvents()
    events = scopes.watch(clock.watch(resolve_sticky_ids(repeated.drop(ordered), ruleset)))
    corr_stats = CorrelationStats()
    collector = FindingCollector({r.id: r for r in ruleset.finding_rules},
                                 list(ruleset.known_message_types), ruleset.type_fixes)
    vocab = Vocabulary.of(ruleset)
    # symptom lines a connection's own cause already explains; only those a wider cause could
    # also claim are remembered (the scope evaluator keeps a bounded number of them)
    explained: set[str] = set()
    store = OutcomeStore()
    timelines = []
    try:
        for conn in correlate(events, _release_after(vocab), corr_stats, ruleset.placements):
            # A timeline is released only once every rule window on it has passed, so the
            # latest event time seen so far is far enough for any absence to be judged (and
            # the verdict is the same whether the rest of the input is read yet or not).
            verdict = classify_connection(conn, vocab, clock.horizon())
            if options.keep_timeline is not None and options.keep_timeline(conn):
                timelines.append(verdict)
            if verdict.causes:
                explained.update(e.provenance for e in verdict.symptom_events
                                 if scopes.keeps(e))
            prints = [fingerprint(h) for h in (verdict.causes or verdict.symptoms)]
            store.add(outcome_row(verdict, prints), collector.entries(verdict))
        findings, table, tally = _judge(store, scopes, collector, explained, ruleset)
    finally:
        store.discard()
    return _Followed(clock, scopes, corr_stats, collector, findings, table, tally, timelines,
                     repeated.duplicates)


def _judge(
    store: OutcomeStore, scopes: ScopeEvaluator, collector: FindingCollector,
    explained: set[str], ruleset: RuleSet,
) -> tuple[list[Finding], OutcomeTable, ContrastTally]:
    """Once every connection is judged: wider causes take over what they explain, in one pass
    over the stored rows, which also fills the outcome table and the contrast."""
    symptom_classes = {c.id for c in ruleset.classes.values() if c.role == "symptom"}
    attribution = Attribution(scopes.finish(), collector,
                              symptom_classes or {"client_timeout_unexplained"})
    table = OutcomeTable()
    tally = ContrastTally()
    for row, entries in store.drain():
        attribution.place(row, entries)
        table.add(row)
        tally.add(row)
    findings = attribution.finish(scopes.symptoms, explained)
    findings.sort(key=impact)
    return findings, table, tally


def _warn_timeouts(stats: ParseStats, now: dict[str, int], before: dict[str, int]) -> None:
    """Searches that ran out of time counted as no match: say so, by rule (here and in the
    reader workers), since the rule's events may be missing."""
    for rule, n in now.items():
        stats.regex_timeouts[rule] = stats.regex_timeouts.get(rule, 0) + n - before.get(rule, 0)
    for rule, n in sorted(stats.regex_timeouts.items()):
        if n:
            stats.warnings.append(
                f"rule {rule}: {n:,} searches of its backtracking pattern (engine = \"re\") ran "
                f"past {RE_SEARCH_SECONDS} s and counted as no match, so some of its events may "
                "be missing")


def _earliest(*times: datetime | None) -> datetime | None:
    return min((t for t in times if t is not None), default=None)


def _latest(*times: datetime | None) -> datetime | None:
    return max((t for t in times if t is not None), default=None)


def _release_after(vocab: Vocabulary) -> timedelta:
    """Keep a connection open long enough for every connection rule's window to close on it.

    Wider-scope rules (a crash loop counted over 10 minutes) are judged as events stream by,
    not on timelines, so they do not hold connections: with them, memory was 4× larger."""
    windows = [r.when.window_seconds for r in vocab.rules]
    return max(MIN_RELEASE, timedelta(seconds=2 * max(windows, default=60.0)))


class _Clock:
    """Watches the time-ordered event stream: first/last time, the horizon, counts per kind."""

    def __init__(self, window_end: datetime | None, stats: ParseStats) -> None:
        self.window_end = window_end
        self.stats = stats
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.counts: dict[str, int] = {}

    def watch(self, events: Iterable[Event]) -> Iterator[Event]:
        for event in events:
            if self.first is None:
                self.first = event.ts
            self.last = event.ts
            self.counts[event.kind] = self.counts.get(event.kind, 0) + 1
            yield event

    def horizon(self) -> datetime:
        """How far the logs reach: the pull's window end, else the latest record read so far
        (an unrelated line an hour later still proves nothing happened in between)."""
        if self.window_end is not None:
            return self.window_end
        candidates = [t for t in (self.last, self.stats.last_ts) if t is not None]
        return max(candidates) if candidates else datetime.now(UTC)
