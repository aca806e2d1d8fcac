"""Grouping and parsing accuracy of the template miner on the Loghub-2k benchmark, beside drain3.

    .venv/bin/python bench/loghub.py [--data DIR] [--input content|raw|cli] [--drain3]

Loghub (https://github.com/logpai/loghub) ships 2,000 labelled lines per system: the raw
`<System>_2k.log` and `<System>_2k.log_structured.csv` whose `Content` column is the message
without its header and `EventId` its ground-truth template. Every system found in the data
directory is run with the same default settings (no per-system tuning: that is the point).

`--input content` feeds the `Content` column (how log-parser papers measure); `--input raw`
feeds the raw lines, so the miner's own header stripping decides what the message is;
`--input cli` runs the real `diagnose patterns` pipeline (readers, sniffing, header split) on the
`.log` file and maps each mined record back to its line.

Metrics (Zhu et al., ICSE-SEIP 2019; Khan et al., ICSE 2022):
- GA, grouping accuracy: share of lines whose predicted group holds exactly the lines of their
  ground-truth group;
- PA, parsing accuracy: share of lines whose template equals the ground truth once every
  placeholder (`<NUM>`, `<*>`, …) is written `<*>` and runs of them are joined.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diagnose.patterns import TemplateMiner  # noqa: E402

DEFAULT_DATA = Path("/work/shared/loghub-dev")
PUBLISHED_DRAIN = {  # GA, Zhu et al. 2019, per-system tuned
    "HDFS": 0.998, "Hadoop": 0.948, "Spark": 0.920, "Zookeeper": 0.967, "BGL": 0.963,
    "HPC": 0.887, "Thunderbird": 0.955, "Windows": 0.997, "Linux": 0.690, "Android": 0.911,
    "HealthApp": 0.780, "Apache": 1.000, "Proxifier": 0.527, "OpenSSH": 0.788,
    "OpenStack": 0.733, "Mac": 0.787,
}
_PLACEHOLDER = re.compile(r"<[A-Z*]+>")
_RUN = re.compile(r"<\*>(?:[\s,]*<\*>)+")


def load(structured: Path) -> tuple[list[str], list[str], list[str]]:
    """(contents, event ids, ground-truth templates) of one `*_structured.csv`."""
    with structured.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["Content"] for r in rows], [r["EventId"] for r in rows], [r["EventTemplate"] for r in rows]


def grouping_accuracy(truth: Sequence[str], predicted: Sequence[object]) -> float:
    """Loghub GA: a line counts when its predicted group equals its ground-truth group."""
    truth_size = Counter(truth)
    groups: dict[object, list[str]] = defaultdict(list)
    for t, p in zip(truth, predicted, strict=True):
        groups[p].append(t)
    correct = 0
    for members in groups.values():
        ids = set(members)
        if len(ids) == 1 and truth_size[members[0]] == len(members):
            correct += len(members)
    return correct / len(truth)


def normal_template(template: str) -> str:
    text = _PLACEHOLDER.sub("<*>", template)
    text = _RUN.sub("<*>", text)
    return " ".join(text.split())


def parsing_accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    same = sum(normal_template(t) == normal_template(p) for t, p in zip(truth, predicted, strict=True))
    return same / len(truth)


SETTINGS: dict[str, float] = {}  # --set: exploring other settings; the results use none


def run_miner(lines: Sequence[str]) -> tuple[list[object], list[str], float]:
    """(group per line, template per line, seconds) with the project's default settings."""
    miner = TemplateMiner(track=True, **SETTINGS)
    started = time.perf_counter()
    for number, line in enumerate(lines, 1):
        miner.add(line, None, f"x:{number}")
    miner.templates()
    seconds = time.perf_counter() - started
    groups, templates = miner.line_templates()
    return groups, templates, seconds


def run_drain3(lines: Sequence[str]) -> tuple[list[object], list[str], float]:
    """drain3 with its default configuration (no masking instructions), fed the same lines."""
    from drain3 import TemplateMiner as Drain3
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()
    config.profiling_enabled = False
    drain = Drain3(config=config)
    started = time.perf_counter()
    ids = [drain.add_log_message(line)["cluster_id"] for line in lines]
    seconds = time.perf_counter() - started
    by_id = {c.cluster_id: c.get_template() for c in drain.drain.clusters}
    return ids, [by_id[i] for i in ids], seconds


TEXT_SNIFF = False  # --text-sniff: stand-in for the sniff fix (a `[`-led text file is text)


def _text_aware_sniff(original):
    from diagnose.sources.sniff import Format

    def sniff(prefix: bytes):
        found = original(prefix)
        body = prefix.lstrip(b"\xef\xbb\xbf \t\r\n")
        if found is Format.JSON_ARRAY and body[1:].lstrip()[:1] not in (b"{", b"]", b""):
            return Format.TEXT
        return found

    return sniff


def run_cli(log: Path) -> tuple[list[object], list[str], float]:
    """The real `diagnose patterns` pipeline on the raw file; lines it did not mine stay alone."""
    import diagnose.pipeline as pipeline
    import diagnose.sources.reader as reader
    from diagnose.pipeline import AnalyzeOptions, analyze
    from diagnose.rulepack import load_rule_packs

    made: list[TemplateMiner] = []

    def tracked(*args, **kwargs):
        made.append(TemplateMiner(*args, track=True, **kwargs))
        return made[-1]

    original, pipeline.TemplateMiner = pipeline.TemplateMiner, tracked
    original_sniff = reader.sniff
    if TEXT_SNIFF:
        reader.sniff = _text_aware_sniff(original_sniff)
    try:
        started = time.perf_counter()
        analyze([str(log)], load_rule_packs([]), AnalyzeOptions(mine_patterns=True))
        seconds = time.perf_counter() - started
    finally:
        pipeline.TemplateMiner = original
        reader.sniff = original_sniff
    groups, templates = made[0].line_templates()
    total = sum(1 for _ in log.open(encoding="utf-8", errors="replace"))
    by_line: dict[int, tuple[object, str]] = {}
    for provenance, group, template in zip(made[0].provenances(), groups, templates, strict=True):
        by_line[int(provenance.rsplit(":", 1)[1])] = (group, template)
    out_groups = [by_line.get(n, (f"unmined-{n}", ""))[0] for n in range(1, total + 1)]
    out_templates = [by_line.get(n, (None, ""))[1] for n in range(1, total + 1)]
    return out_groups, out_templates, seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--input", choices=("content", "raw", "cli"), default="content")
    ap.add_argument("--drain3", action="store_true", help="also run drain3 (pip install drain3)")
    ap.add_argument("--text-sniff", action="store_true",
                    help="with --input cli: read a text file starting with `[` as text (the "
                         "sniff fix of issue 12, until it is merged)")
    ap.add_argument("--write-slice", type=Path, metavar="CSV",
                    help="write the small labelled slice the tests use, then stop")
    ap.add_argument("--show", metavar="SYSTEM", help="print the wrong groups of one system")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="try a non-default TemplateMiner setting (exploration only)")
    args = ap.parse_args(argv)
    global TEXT_SNIFF
    TEXT_SNIFF = args.text_sniff
    if args.write_slice:
        write_slice(args.data, args.write_slice)
        return 0
    for item in args.set:
        name, value = item.split("=", 1)
        SETTINGS[name] = float(value) if "." in value else int(value)

    systems = sorted(p.name.removesuffix("_2k.log_structured.csv")
                     for p in args.data.glob("*_2k.log_structured.csv"))
    if not systems:
        print(f"no *_2k.log_structured.csv in {args.data}", file=sys.stderr)
        return 2
    tools: list[tuple[str, Callable]] = [("diagnose", run_miner)]
    if args.drain3:
        tools.append(("drain3", run_drain3))
    print(f"input: {args.input}   data: {args.data}")
    header = f"{'system':<12}" + "".join(f"{name + ' GA':>13}{'PA':>7}" for name, _ in tools)
    print(header + f"{'Drain(paper)':>14}")
    totals: dict[str, list[float]] = defaultdict(list)
    speed: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for system in systems:
        contents, truth, truth_templates = load(args.data / f"{system}_2k.log_structured.csv")
        raw_path = args.data / f"{system}_2k.log"
        raw = raw_path.read_text(encoding="utf-8", errors="replace").splitlines()
        row = f"{system:<12}"
        for name, run in tools:
            if args.input == "cli" and name == "diagnose":
                groups, templates, seconds = run_cli(raw_path)
            else:
                lines = contents if args.input == "content" else raw
                groups, templates, seconds = run(lines)
            ga = grouping_accuracy(truth, groups)
            pa = parsing_accuracy(truth_templates, templates)
            totals[name + " GA"].append(ga)
            totals[name + " PA"].append(pa)
            speed[name][0] += len(truth)
            speed[name][1] += seconds
            row += f"{ga:>13.3f}{pa:>7.3f}"
            if args.show == system and name == "diagnose":
                show_errors(contents, truth, groups, templates)
        print(row + f"{PUBLISHED_DRAIN.get(system, float('nan')):>14.3f}")
    row = f"{'average':<12}"
    for name, _ in tools:
        ga, pa = totals[name + " GA"], totals[name + " PA"]
        row += f"{sum(ga) / len(ga):>13.3f}{sum(pa) / len(pa):>7.3f}"
    published = [PUBLISHED_DRAIN[s] for s in systems if s in PUBLISHED_DRAIN]
    print(row + f"{sum(published) / max(1, len(published)):>14.3f}")
    for name, _ in tools:
        lines, seconds = speed[name]
        print(f"{name}: {lines} lines in {seconds:.2f} s = {lines / seconds:,.0f} lines/s")
    return 0


def write_slice(data: Path, out: Path, *, frequent: int = 6, each: int = 3, rare: int = 4) -> None:
    """The small labelled slice the test suite pins GA on (tests/data/patterns/loghub-slice.csv).

    Per system, in file order: `each` lines of each of the `frequent` most common templates and
    one line of each of `rare` one-off templates, raw line and content and EventId, so grouping
    has real same-template pairs and near misses to get right.
    """
    rows = []
    for structured in sorted(data.glob("*_2k.log_structured.csv")):
        system = structured.name.removesuffix("_2k.log_structured.csv")
        contents, truth, _ = load(structured)
        raw = (data / f"{system}_2k.log").read_text(encoding="utf-8", errors="replace").splitlines()
        counts = Counter(truth)
        common = [e for e, _ in counts.most_common(frequent)]
        ones = sorted(e for e, n in counts.items() if n == 1)[:rare]
        taken: Counter = Counter()
        for i, event in enumerate(truth):
            limit = each if event in common else 1 if event in ones else 0
            if taken[event] < limit:
                taken[event] += 1
                rows.append((system, event, contents[i], raw[i]))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["System", "EventId", "Content", "Raw"])
        writer.writerows(rows)


def show_errors(contents, truth, groups, templates, limit: int = 25) -> None:
    """The predicted groups that are not exactly a ground-truth group, biggest first."""
    truth_size = Counter(truth)
    members: dict[object, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    bad = []
    for g, idx in members.items():
        ids = Counter(truth[i] for i in idx)
        if len(ids) != 1 or truth_size[truth[idx[0]]] != len(idx):
            bad.append((len(idx), g, idx, ids))
    for size, _, idx, ids in sorted(bad, key=lambda b: -b[0])[:limit]:
        print(f"  [{size}] {templates[idx[0]][:150]}")
        for event, n in ids.most_common(4):
            example = next(contents[i] for i in idx if truth[i] == event)
            print(f"      {event} x{n}/{truth_size[event]}: {example[:120]}")


if __name__ == "__main__":
    sys.exit(main())
