"""Time `diagnose analyze` beside cat, rg, DuckDB, jq and lnav on the same files, then check it.

    python bench/run.py bench/out/x1g.jsonl bench/out/x1g.json bench/out/x1g.txt --repeat 3

Each tool runs alone in its own process group, one after another, on a warm page cache, `--repeat`
times (the figures are medians). Wall time gives MB/s (10^6 bytes of uncompressed input); peak RSS
is given two ways (bench/measure.py): the largest single process (GNU time `%M`) and the whole
process tree (VmRSS summed over the tool and its children, polled every 50 ms). `diagnose ×` is
the tool's wall time over diagnose's: above 1, diagnose is faster. A tool that is not installed is
skipped with a note. Every diagnose run's report is checked against `<file>.truth.json`
(bench/correctness.py); exit 1 when any check fails. Results are merged into
bench/out/results.json (keyed by file name); `--markdown` also writes the tables as Markdown.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from correctness import compare, print_check
from measure import Measurement, count_lines, run_measured

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
DEFAULT_TOOLS = ("cat", "rg", "duckdb", "jq", "lnav", "diagnose")
EXTRA_TOOLS = ("grep", "jq-literals", "pandas")
# What a person would type into jq: a few distinctive words, not every rule's literal.
SHORT_REGEX = (
    "MessageRouter|EMISSION|Sending ack|agent request processing|AUTHENTICATION|"
    "authentication failed|No WebSocket connections|timed out after|message handling loop|"
    "TimeoutError|FALLBACK|critical event|WebSocket error|rejected"
)
# Used when the rule packs cannot be loaded: the literals the core rules key on.
FALLBACK_LITERALS = (
    "MessageRouter", "Sending ack for unknown message type", "EMISSION", "Routing message type",
    "timed out after", "No WebSocket connections found", "AUTHENTICATION", "authentication failed",
    "Entering message handling loop", "Exiting message handling loop", "agent request processing",
)


def sniff(path: Path) -> tuple[str, bool]:
    """(jsonl | json | text, gzip-compressed?) from the first bytes of the (decompressed) file."""
    with open(path, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rb") if compressed else open(path, "rb")) as f:
        head = f.read(4096).lstrip()
    fmt = "json" if head.startswith(b"[") else "jsonl" if head.startswith(b"{") else "text"
    return fmt, compressed


def truth_path(path: Path) -> Path:
    """`<file>.truth.json`, or for `x.jsonl.gz` made by gzip -k, `x.jsonl.truth.json`."""
    own = path.with_name(path.name + ".truth.json")
    if own.is_file() or path.suffix != ".gz":
        return own
    return path.with_name(path.stem + ".truth.json")


def rule_literals() -> tuple[list[str], str]:
    """The prefilter literals of the shipped rule packs, so rg, DuckDB and lnav select what
    diagnose selects."""
    try:
        from diagnose.rulepack import load_rule_packs

        lits = load_rule_packs().prefilter_literals()
        if lits:
            return lits, "rules/core prefilter literals"
    except Exception as exc:  # the rule engine is optional for this script  # noqa: BLE001
        return list(FALLBACK_LITERALS), f"fallback literals (rule packs not loadable: {exc})"
    return list(FALLBACK_LITERALS), "fallback literals (rule packs empty)"


def onig_regex(literals: list[str]) -> str:
    """One alternation of the literals, escaped for Oniguruma (jq) and PCRE (lnav)."""
    return "|".join(re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", lit) for lit in literals)


def duckdb_code(fmt: str, literals: list[str]) -> str:
    """DuckDB's selection: read the file, keep the rows whose message contains a literal."""
    if fmt == "text":
        source = ("read_csv(?, columns={'line': 'VARCHAR'}, delim=chr(1), header=false, "
                  "quote='', escape='', auto_detect=false)")
        column = "line"
    else:
        source, column = "read_json_auto(?)", "coalesce(jsonPayload.message, textPayload)"
    likes = " OR ".join(f"{column} LIKE '%{_like(lit)}%' ESCAPE '\\'" for lit in literals)
    query = f"SELECT count(*) FROM {source} WHERE {likes}"
    return (
        "import sys\nimport duckdb\n"
        "duckdb.execute('SET enable_progress_bar = false')  # it would print to stdout\n"
        f"query = {query!r}\n"
        "try:\n    n = duckdb.execute(query, [sys.argv[1]]).fetchall()[0][0]\n"
        "except duckdb.BinderException:  # no textPayload column in the sampled rows\n"
        "    query = query.replace('coalesce(jsonPayload.message, textPayload)', "
        "'jsonPayload.message')\n"
        "    n = duckdb.execute(query, [sys.argv[1]]).fetchall()[0][0]\n"
        "print(n)\n"
    )


def _like(lit: str) -> str:
    return lit.replace("'", "''").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def pandas_code(fmt: str, chunked: bool) -> str:
    if fmt == "text":
        reader = ('pd.read_csv(p, sep="|", header=None, names=["ts", "level", "where", "msg"], '
                  'quoting=3, on_bad_lines="skip", engine="c"{})')
    elif fmt == "jsonl":
        reader = "pd.read_json(p, lines=True{})"
    else:
        reader = "pd.read_json(p{})"
    if chunked:
        body = f"n = sum(len(c) for c in {reader.format(', chunksize=100_000')})"
    else:
        body = f"n = len({reader.format('')})"
    return f"import sys\nimport pandas as pd\np = sys.argv[1]\n{body}\nprint(n)\n"


class Bench:
    """Every tool on one input file."""

    def __init__(self, path: Path, args: argparse.Namespace) -> None:
        self.path = path
        self.args = args
        self.size = path.stat().st_size
        self.fmt, self.gz = sniff(path)
        self.truth_file = args.truth or truth_path(path)
        self.truth = json.loads(self.truth_file.read_text()) if self.truth_file.is_file() else None
        self.data_bytes = self._data_bytes()
        self.scratch = args.out.parent
        self.stem = path.name
        self.literals, self.literal_source = rule_literals()
        self.checks: list[dict] = []

    def _data_bytes(self) -> int:
        """Uncompressed bytes: what every tool's MB/s is counted against."""
        if not self.gz:
            return self.size
        if self.truth and self.truth.get("bytes"):
            return int(self.truth["bytes"])
        n = 0
        with gzip.open(self.path, "rb") as f:
            while chunk := f.read(1 << 22):
                n += len(chunk)
        return n

    def label(self) -> str:
        return f"{self.fmt}{'.gz' if self.gz else ''}"

    def all(self, tools: list[str]) -> list[Measurement]:
        run_measured(["cat", str(self.path)], subprocess.DEVNULL, self.size)  # warm the cache
        results: list[Measurement] = []
        for name in tools:
            for label, exe in (self.args.diagnose if name == "diagnose" else [("", "")]):
                self.diagnose_exe, self.diagnose_label = exe, label
                results.append(self._measure_and_say(name))
        return results

    def _measure_and_say(self, name: str) -> Measurement:
        m = self.measure(name)
        print(f"  {m.tool}: " + (m.note if m.killed or m.exit_code is None else
                                 f"{m.wall_s:.2f} s, {m.mb_s:.1f} MB/s, "
                                 f"{m.peak_rss_mb:.0f} MB, tree {m.tree_rss_mb:.0f} MB"), flush=True)
        return m

    def measure(self, name: str) -> Measurement:
        """`--repeat` runs of one tool; medians of wall, CPU and both RSS figures."""
        runs = []
        for _ in range(max(1, self.args.repeat)):
            m = getattr(self, "t_" + name.replace("-", "_"))()
            runs.append(m)
            if m.exit_code is None or m.killed:  # skipped or aborted: once is enough
                return m
        m = runs[-1]
        for attr in ("wall_s", "cpu_s", "peak_rss_mb", "tree_rss_mb"):
            setattr(m, attr, round(statistics.median(getattr(r, attr) for r in runs), 3))
        m.mb_s = round(self.data_bytes / 1e6 / m.wall_s, 1) if m.wall_s else 0.0
        m.runs = len(runs)
        if len(runs) > 1:
            m.extra["walls"] = [r.wall_s for r in runs]
        return m

    def _run(self, tool: str, cmd: list[str], out: Path | None = None, **kw) -> Measurement:
        target = out.open("wb") if out else subprocess.DEVNULL
        try:
            m = run_measured(cmd, target, self.data_bytes, timeout_s=self.args.tool_timeout, **kw)
        finally:
            if out:
                target.close()
        m.tool = tool
        return m

    @staticmethod
    def _skipped(tool: str, why: str) -> Measurement:
        return Measurement(tool=tool, command="", note=f"skipped: {why}")

    # -- the tools ----------------------------------------------------------------------------

    def t_cat(self) -> Measurement:
        if self.gz:
            m = self._run("gzip -dc > /dev/null", ["gzip", "-dc", str(self.path)])
            m.note = "decompression floor (warm page cache)"
        else:
            m = self._run("cat > /dev/null", ["cat", str(self.path)])
            m.note = "I/O floor (warm page cache)"
        return m

    def t_rg(self) -> Measurement:
        if not shutil.which("rg"):
            return self._skipped("rg -F", "ripgrep not installed (apt-get install ripgrep)")
        cmd = ["rg", "-c", "-F"] + (["-z"] if self.gz else [])
        cmd += [a for lit in self.literals for a in ("-e", lit)] + [str(self.path)]
        out = self.scratch / f"{self.stem}.rg.out"
        m = self._run(f"rg -c -F{' -z' if self.gz else ''} ({len(self.literals)} literals)",
                      cmd, out)
        m.output_lines = int(out.read_text().strip() or 0)
        m.command = f"rg -c -F -e <{len(self.literals)} literals> {self.path}"
        m.note = "raw line selection, no parsing"
        out.unlink()
        return m

    def t_grep(self) -> Measurement:
        if self.gz:
            return self._skipped("grep -F", "compressed input (see rg -z)")
        cmd = ["grep", "-c", "-F"] + [a for lit in self.literals for a in ("-e", lit)]
        out = self.scratch / f"{self.stem}.grep.out"
        m = self._run(f"grep -c -F ({len(self.literals)} literals)", [*cmd, str(self.path)], out)
        m.output_lines = int(out.read_text().strip() or 0)
        m.command = f"grep -c -F -e <{len(self.literals)} literals> {self.path}"
        m.note = "raw line selection, no parsing"
        out.unlink()
        return m

    def t_duckdb(self) -> Measurement:
        if importlib.util.find_spec("duckdb") is None:
            return self._skipped("DuckDB", "duckdb not installed (pip install -e '.[bench]')")
        code = duckdb_code(self.fmt, self.literals)
        out = self.scratch / f"{self.stem}.duckdb.out"
        reader = "read_csv" if self.fmt == "text" else "read_json_auto"
        m = self._run(f"DuckDB {reader} + LIKE", [sys.executable, "-c", code, str(self.path)], out)
        text = out.read_text().strip()
        out.unlink()
        m.output_lines = int(text) if text.isdigit() else None
        m.command = f"python -c <duckdb: {reader}(file) WHERE message LIKE any of " \
                    f"{len(self.literals)} literals> {self.path}"
        m.extra["code"] = code
        m.note = "selection only: rows counted, nothing correlated"
        if m.exit_code and not m.killed:
            m.note = f"failed (exit {m.exit_code}): {m.note}"
        return m

    def _jq(self, regex: str, label: str) -> Measurement:
        tool = f"jq{' -R' if self.fmt == 'text' else ''} test({label})"
        if not shutil.which("jq"):
            return self._skipped(tool, "jq not installed (apt-get install jq)")
        select = 'select((.jsonPayload.message // .textPayload // "") | test($re))'
        program = {"jsonl": select, "json": f".[] | {select}", "text": "select(test($re))"}[
            self.fmt]
        flags = "-c -R" if self.fmt == "text" else "-c"
        if self.gz:  # jq reads no gzip: decompress in a pipe (both count in the tree RSS)
            cmd = ["sh", "-c", f'gzip -dc "$1" | jq {flags} --arg re "$2" "$3"', "sh",
                   str(self.path), regex, program]
        else:
            cmd = ["jq", *flags.split(), "--arg", "re", regex, program, str(self.path)]
        out = self.scratch / f"{self.stem}.jq.out"
        m = self._run(tool, cmd, out)
        m.command = f"jq {flags} --arg re '<{label}>' '{program}' {self.path}"
        m.output_lines = count_lines(out)
        m.extra["regex"] = regex
        out.unlink()
        return m

    def t_jq(self) -> Measurement:
        return self._jq(SHORT_REGEX, "short regex")

    def t_jq_literals(self) -> Measurement:
        return self._jq(onig_regex(self.literals), f"{len(self.literals)} literals")

    def t_lnav(self) -> Measurement:
        tool = f"lnav -n :filter-in ({len(self.literals)} literals)"
        if not shutil.which("lnav"):
            return self._skipped(tool, "lnav not installed (apt-get install lnav)")
        # lnav's filters ignore case unless told otherwise; rg and DuckDB match case
        regex = "(?-i)" + onig_regex(self.literals)
        out = self.scratch / f"{self.stem}.lnav.out"
        m = self._run(tool, ["lnav", "-n", "-c", f":filter-in {regex}", str(self.path)], out)
        m.command = f"lnav -n -c ':filter-in <{len(self.literals)} literals>' {self.path}"
        m.output_lines = count_lines(out)
        m.note = "headless: the filtered view printed"
        out.unlink()
        return m

    def t_pandas(self) -> Measurement:
        chunked = self.args.pandas == "chunked" and self.fmt != "json"
        code = pandas_code(self.fmt, chunked)
        out = self.scratch / f"{self.stem}.pandas.out"
        limit = None if chunked else self.args.pandas_limit_gb * 1024
        tool = f"pandas {'chunked' if chunked else 'naive'} " + (
            "read_csv" if self.fmt == "text" else "read_json")
        m = self._run(tool, [sys.executable, "-c", code, str(self.path)], out,
                      rss_limit_mb=limit)
        text = out.read_text().strip()
        out.unlink()
        m.command = f"python -c <{tool}> {self.path}"
        m.output_lines = int(text) if text.isdigit() else None
        m.note = (f"killed: RSS passed {self.args.pandas_limit_gb} GB" if m.killed and not
                  m.note.startswith("aborted") else m.note or "whole file parsed; no selection")
        return m

    def t_diagnose(self) -> Measurement:
        exe, label = self.diagnose_exe, self.diagnose_label
        report = self.scratch / f"{self.stem}.report{'.' + label if label else ''}.json"
        cmd = [exe, "analyze", str(self.path), "--format", "json"]
        env = {**os.environ, **dict(kv.split("=", 1) for kv in self.args.env)}
        tool = "diagnose analyze --format json" + (f" [{label}]" if label else "")
        m = self._run(tool, cmd, report, env=env)
        m.command = " ".join(cmd)
        m.extra["report"] = str(report)
        if self.args.env:
            m.extra["env"] = self.args.env
        if m.exit_code not in (0, 1) and not m.note:
            m.note = f"exit code {m.exit_code}"
        if self.truth is not None and m.exit_code in (0, 1):
            check = compare(self.truth, report)
            check["diagnose"] = label or "default"
            self.checks.append(check)
            m.note = f"check {'PASS' if check['pass'] else 'FAIL'}: " \
                     f"{check.get('mismatches', '?')} mismatches"
        return m


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
    return {"nproc": os.cpu_count(), "cpu": cpu,
            "ram_gb": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
            "python": platform.python_version(), "kernel": platform.release(),
            "load_avg": os.getloadavg()}


def _ratio(m: Measurement, diag: Measurement | None) -> str:
    """The tool's wall time over diagnose's: how many times faster diagnose is (below 1: slower)."""
    if diag is None or m is diag or not diag.wall_s or not m.wall_s or m.killed:
        return "-"
    return f"{m.wall_s / diag.wall_s:.2f}"


def rows(results: list[Measurement]) -> list[list[str]]:
    # the ratio column compares with the first diagnose timed (the default build)
    diag = next((m for m in results if m.tool.startswith("diagnose") and m.wall_s), None)
    out = []
    for m in results:
        if m.exit_code is None:  # skipped
            out.append([m.tool, "-", "-", "-", "-", "-", "-", "-", m.note])
            continue
        failed = m.killed or m.exit_code not in (0, 1)
        out.append([m.tool, str(m.runs), f"{m.wall_s:.2f}", f"{m.cpu_s:.1f}",
                    "-" if failed else f"{m.mb_s:,.1f}", f"{m.peak_rss_mb:,.0f}",
                    f"{m.tree_rss_mb:,.0f}", _ratio(m, diag),
                    f"{m.note}" + ("" if m.output_lines is None else f" ({m.output_lines:,} out)")])
    return out


HEADER = ["tool", "runs", "wall s", "cpu s", "MB/s", "peak MB", "tree MB", "diagnose ×", "note"]


def print_table(bench: Bench, results: list[Measurement]) -> None:
    widths = [34, 4, 8, 7, 9, 8, 8, 10]
    print("\n" + " ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in
                          enumerate(zip(HEADER, widths, strict=False))) + "  note")
    for row in rows(results):
        print(" ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                       enumerate(zip(row, widths, strict=False))) + f"  {row[-1]}")
    print(f"(input {bench.data_bytes / 1e6:,.1f} MB{' uncompressed' if bench.gz else ''}; "
          "MB = 10^6 bytes; figures are medians of 'runs'; peak = largest single process "
          "(GNU time %M); tree = summed over the tool's process tree, polled every 50 ms; "
          "diagnose × = tool wall / diagnose wall, above 1 diagnose is faster)")


def markdown(bench: Bench, results: list[Measurement]) -> str:
    gz = f", {bench.size / 1e6:,.1f} MB compressed" if bench.gz else ""
    lines = [f"#### {bench.path.name} ({bench.label()}, {bench.data_bytes / 1e6:,.1f} MB{gz})",
             "", "| " + " | ".join(HEADER) + " |", "|---|" + "---:|" * 7 + "---|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows(results)]
    return "\n".join(lines) + "\n"


def save(args: argparse.Namespace, bench: Bench, results: list[Measurement]) -> None:
    store = {}
    if args.out.exists():
        try:
            store = json.loads(args.out.read_text())
        except json.JSONDecodeError:
            store = {}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    store[bench.stem] = {
        "file": str(bench.path), "bytes": bench.size, "data_bytes": bench.data_bytes,
        "format": bench.label(), "date": now, "machine": machine(),
        "literals": bench.literal_source, "repeat": args.repeat,
        "results": [dict(asdict(m), date=now) for m in results], "correctness": bench.checks,
    }
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(store, indent=1) + "\n")
    tmp.replace(args.out)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", type=Path, nargs="+")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "results.json")
    p.add_argument("--tools", nargs="+", default=list(DEFAULT_TOOLS),
                   choices=DEFAULT_TOOLS + EXTRA_TOOLS,
                   help=f"default: {' '.join(DEFAULT_TOOLS)}; also {' '.join(EXTRA_TOOLS)}")
    p.add_argument("--skip", nargs="*", default=[], choices=DEFAULT_TOOLS + EXTRA_TOOLS)
    p.add_argument("--repeat", type=int, default=1, help="runs per tool; medians (default 1)")
    p.add_argument("--pandas", choices=["naive", "chunked"], default="chunked")
    p.add_argument("--pandas-limit-gb", type=float, default=12.0,
                   help="kill the naive pandas load above this RSS (default 12 GB)")
    p.add_argument("--tool-timeout", type=float, default=900.0,
                   help="abort any tool after this many seconds (default 900)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="environment for the diagnose runs (repeatable)")
    p.add_argument("--diagnose", action="append", default=[], metavar="[LABEL=]PATH",
                   help="diagnose executable(s) to time, each checked (default .venv/bin/diagnose; "
                        "repeat with LABEL=PATH to compare builds)")
    p.add_argument("--truth", type=Path, help="default: <file>.truth.json (one file only)")
    p.add_argument("--markdown", type=Path, help="also write the tables as Markdown here")
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    for f in args.files:
        if not f.is_file():
            p.error(f"no such file: {f}")
    if args.truth and len(args.files) > 1:
        p.error("--truth names the truth of one file")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if any("=" not in kv for kv in args.env):
        p.error("--env takes KEY=VALUE")
    tools = [t for t in args.tools if t not in args.skip]
    exes = args.diagnose or [str(VENV_BIN / "diagnose")]
    args.diagnose = [tuple(x.split("=", 1)) if "=" in x else ("", x) for x in exes]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ok, tables = True, []
    for path in args.files:
        bench = Bench(path, args)
        print(f"\n{path}: {bench.label()}, {bench.data_bytes / 1e6:,.1f} MB; rg/DuckDB/lnav select "
              f"with {len(bench.literals)} {bench.literal_source}; {args.repeat} run(s) per tool; "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)
        results = bench.all(tools)
        print_table(bench, results)
        for check in bench.checks[-len(args.diagnose):]:
            if len(args.diagnose) > 1:
                print(f"\n[{check['diagnose']}]", end="")
            print_check(check)
        if "diagnose" in tools and bench.truth is None:
            print(f"correctness: not checked (no truth file {bench.truth_file})")
        ok = ok and all(c["pass"] for c in bench.checks)
        save(args, bench, results)
        tables.append(markdown(bench, results))
    if args.markdown:
        args.markdown.write_text("\n".join(tables))
        print(f"markdown → {args.markdown}")
    print(f"results → {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
