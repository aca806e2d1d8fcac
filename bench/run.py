"""Time `diagnose analyze` against the I/O floor, jq and pandas on one file, then check its answer.

    python bench/run.py bench/out/x.jsonl

Each tool runs alone in its own subprocess, one after another, on a warm page cache; wall time
gives MB/s (10^6 bytes), GNU time gives the tool's own peak RSS and CPU time, and a sampler sums
RSS over the tool's process tree (diagnose has worker processes). Results are printed as a table
and merged into bench/out/results.json (keyed by file name). Then the correctness check: the
report's per-class connection sets must equal `<file>.truth.json`'s; exit 1 when they do not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from correctness import compare, print_check

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
TIME = "/usr/bin/time"  # GNU time
# What a person would type into jq: a few distinctive words, not every rule's literal.
SHORT_REGEX = (
    "MessageRouter|EMISSION|Sending ack|agent request processing|AUTHENTICATION|"
    "authentication failed|No WebSocket connections|timed out after|message handling loop|"
    "TimeoutError|FALLBACK|critical event"
)
# Used when the rule packs cannot be loaded: the literals the core rules key on.
FALLBACK_LITERALS = (
    "MessageRouter", "Sending ack for unknown message type", "EMISSION", "Routing message type",
    "timed out after", "No WebSocket connections found", "AUTHENTICATION", "authentication failed",
    "Entering message handling loop", "Exiting message handling loop", "agent request processing",
)


@dataclass
class Measurement:
    tool: str
    command: str
    wall_s: float = 0.0
    mb_s: float = 0.0
    peak_rss_mb: float = 0.0
    cpu_s: float = 0.0  # user + system: above wall time means more than one core worked
    tree_rss_mb: float = 0.0  # peak of the summed RSS of the tool's whole process tree (sampled)
    exit_code: int | None = None
    output_lines: int | None = None
    note: str = ""
    killed: bool = False
    extra: dict = field(default_factory=dict)


def sniff_format(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(4096).lstrip()
    if head.startswith(b"["):
        return "json"
    return "jsonl" if head.startswith(b"{") else "text"


def rule_literals() -> tuple[list[str], str]:
    """The prefilter literals of the shipped rule packs, so jq selects what diagnose selects."""
    try:
        from diagnose.rulepack import load_rule_packs

        lits = load_rule_packs().prefilter_literals()
        if lits:
            return lits, "rules/core prefilter literals"
    except Exception as exc:  # the rule engine is optional for this script  # noqa: BLE001
        return list(FALLBACK_LITERALS), f"fallback literals (rule packs not loadable: {exc})"
    return list(FALLBACK_LITERALS), "fallback literals (rule packs empty)"


def jq_regex(literals: list[str]) -> str:
    """One Oniguruma alternation of the literals (escaped), passed to jq with --arg."""
    return "|".join(re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", lit) for lit in literals)


def run_measured(cmd: list[str], stdout, size: int, rss_limit_mb: float | None = None,
                 timeout_s: float | None = None) -> Measurement:
    """Run one process to completion under GNU time: wall time, its own peak RSS, a kill guard.

    GNU time (not this Python process) forks the tool, so the peak RSS is the tool's alone; a
    fork of a big parent would carry the parent's high-water mark across exec.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        began = time.perf_counter()
        proc = subprocess.Popen([TIME, "-f", "%M %U %S", "-o", stats.name, *cmd], stdout=stdout,
                                stderr=subprocess.PIPE)
        killed = threading.Event()
        if rss_limit_mb:
            threading.Thread(target=_guard, args=(proc.pid, rss_limit_mb, killed),
                             daemon=True).start()
        tree_peak = [0]
        threading.Thread(target=_sample_tree, args=(proc.pid, tree_peak), daemon=True).start()
        timed_out = threading.Event()
        timer = threading.Timer(timeout_s or 1e9, _abort, args=(proc.pid, timed_out))
        timer.daemon = True
        timer.start()
        _, stderr = proc.communicate()
        timer.cancel()
        wall = time.perf_counter() - began
        usage = re.findall(r"^(\d+) ([\d.]+) ([\d.]+)$", stats.read(), re.M)
    m = Measurement(tool="", command=" ".join(cmd))
    m.wall_s = round(wall, 3)
    m.mb_s = round(size / 1e6 / wall, 1) if wall > 0 else 0.0
    if usage:
        m.peak_rss_mb = round(int(usage[-1][0]) / 1024, 1)
        m.cpu_s = round(float(usage[-1][1]) + float(usage[-1][2]), 2)
    m.exit_code = proc.returncode
    m.tree_rss_mb = round(tree_peak[0] / 1024, 1)
    m.killed = killed.is_set()
    err = stderr.decode(errors="replace").strip()
    if err and (m.exit_code not in (0, 1) or m.killed):
        m.note = err.splitlines()[-1][:200]
    if timed_out.is_set():
        m.killed, m.mb_s = True, 0.0
        m.note = f"aborted after {timeout_s:.0f} s (--tool-timeout): did not finish"
    return m


def _sample_tree(root: int, peak: list[int]) -> None:
    """Every 50 ms, sum VmRSS (kB) over `root` and its descendants; keep the largest sum.

    GNU time's %M is the largest single process, so a tool with worker processes (diagnose
    has two) would look smaller than the memory it really holds."""
    while Path(f"/proc/{root}").exists():
        total, todo = 0, [root]
        while todo:
            pid = todo.pop()
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            m = re.search(r"VmRSS:\s+(\d+) kB", status)
            total += int(m.group(1)) if m else 0
            todo += [int(k) for k in kids]
        peak[0] = max(peak[0], total)
        time.sleep(0.05)


def _tool_pid(time_pid: int) -> int | None:
    """The tool GNU time started (its only child), or None once it is gone."""
    try:
        found = Path(f"/proc/{time_pid}/task/{time_pid}/children").read_text().split()
    except OSError:
        return None
    return int(found[0]) if found else None


def _abort(time_pid: int, flag: threading.Event) -> None:
    pid = _tool_pid(time_pid)
    if pid is not None:
        flag.set()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _guard(time_pid: int, limit_mb: float, killed: threading.Event) -> None:
    """Kill the tool GNU time started for us (by pid) if its RSS passes the limit, so a naive
    load cannot push the machine into the OOM killer."""
    pid = None
    while pid is None:
        if not Path(f"/proc/{time_pid}").exists():
            return
        pid = _tool_pid(time_pid)
        time.sleep(0.02)
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = status.read_text()
        except OSError:
            return
        m = re.search(r"VmRSS:\s+(\d+) kB", text)
        if m and int(m.group(1)) / 1024 > limit_mb:
            killed.set()
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return
        if "State:\tZ" in text:
            return
        time.sleep(0.1)


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
    return n


class Bench:
    """The measurements for one input file."""

    def __init__(self, path: Path, args: argparse.Namespace) -> None:
        self.path = path
        self.args = args
        self.size = path.stat().st_size
        self.fmt = sniff_format(path)
        self.scratch = args.out.parent
        self.stem = path.name
        self.literals, self.literal_source = rule_literals()

    def all(self) -> list[Measurement]:
        run_measured(["cat", str(self.path)], subprocess.DEVNULL, self.size)  # warm the cache
        steps = [self.cat, self.grep]
        if "jq" not in self.args.skip:
            steps.append(lambda: self.jq(SHORT_REGEX, "short regex"))
        if "jq-literals" not in self.args.skip:
            steps.append(lambda: self.jq(jq_regex(self.literals), f"{len(self.literals)} literals"))
        if "pandas" not in self.args.skip:
            steps.append(self.pandas)
        if "diagnose" not in self.args.skip:
            steps.append(self.diagnose)
        results: list[Measurement] = []
        for step in steps:
            done = step()
            for m in done if isinstance(done, list) else [done]:
                print(f"  {m.tool}: {m.wall_s:.1f} s, {m.mb_s:.1f} MB/s, {m.peak_rss_mb:.0f} MB",
                      flush=True)
                results.append(m)
        return results

    def cat(self) -> Measurement:
        m = run_measured(["cat", str(self.path)], subprocess.DEVNULL, self.size)
        m.tool, m.note = "cat > /dev/null", "I/O floor (warm page cache)"
        return m

    def grep(self) -> Measurement:
        cmd = ["grep", "-c", "-F"] + [a for lit in self.literals for a in ("-e", lit)]
        out = self.scratch / f"{self.stem}.grep.out"
        with open(out, "wb") as f:
            m = run_measured([*cmd, str(self.path)], f, self.size)
        m.tool = "grep -F (literals only)"
        m.output_lines = int(out.read_text().strip() or 0)
        m.command = f"grep -c -F -e <{len(self.literals)} literals> {self.path}"
        m.note = "raw line selection, no parsing"
        return m

    def jq(self, regex: str, label: str) -> Measurement:
        select = 'select((.jsonPayload.message // .textPayload // "") | test($re))'
        program = {"jsonl": select, "json": f".[] | {select}", "text": "select(test($re))"}[
            self.fmt]
        cmd = ["jq", "-c", "--arg", "re", regex]
        cmd += (["-R"] if self.fmt == "text" else []) + [program, str(self.path)]
        out = self.scratch / f"{self.stem}.jq.out"
        with open(out, "wb") as f:
            m = run_measured(cmd, f, self.size, timeout_s=self.args.tool_timeout)
        m.tool = f"jq{' -R' if self.fmt == 'text' else ''} test({label})"
        m.command = " ".join(cmd[:3]) + f" '<{label}>' " + " ".join(cmd[4:])
        m.output_lines = count_lines(out)
        m.extra["program"] = program
        m.extra["regex"] = regex
        out.unlink()
        return m

    def pandas(self) -> list[Measurement]:
        mode = self.args.pandas
        out: list[Measurement] = []
        if mode in ("naive", "auto"):
            m = self._pandas_run(chunked=False)
            out.append(m)
            if not (m.killed or m.exit_code) or mode == "naive" or self.fmt == "json":
                return out  # pandas has no chunked reader for a JSON array
        if self.fmt == "json":
            return out
        out.append(self._pandas_run(chunked=True))
        return out

    def _pandas_run(self, chunked: bool) -> Measurement:
        code = _pandas_code(self.fmt, chunked)
        cmd = [sys.executable, "-c", code, str(self.path)]
        out = self.scratch / f"{self.stem}.pandas.out"
        limit = None if chunked else self.args.pandas_limit_gb * 1024
        with open(out, "wb") as f:
            m = run_measured(cmd, f, self.size, rss_limit_mb=limit,
                             timeout_s=self.args.tool_timeout)
        text = out.read_text().strip()
        out.unlink()
        m.tool = f"pandas {'chunked' if chunked else 'naive'} " + (
            "read_csv" if self.fmt == "text" else "read_json")
        m.command = f"python -c <{m.tool}> {self.path}"
        m.extra["code"] = code
        if text.isdigit():
            m.output_lines = int(text)
        if m.killed:
            m.note = f"killed: RSS passed {self.args.pandas_limit_gb} GB (a naive load cannot fit)"
        elif not chunked:
            m.note = "whole file loaded into one DataFrame; no selection"
        else:
            m.note = "100k-row chunks, each dropped after counting"
        return m

    def diagnose(self) -> Measurement:
        exe = VENV_BIN / "diagnose"
        report = self.scratch / f"{self.stem}.report.json"
        cmd = [str(exe), "analyze", str(self.path), "--format", "json"]
        with open(report, "wb") as f:
            m = run_measured(cmd, f, self.size)
        m.tool = "diagnose analyze --format json"
        m.command = " ".join(cmd)
        m.extra["report"] = str(report)
        if m.exit_code not in (0, 1) and not m.note:
            m.note = f"exit code {m.exit_code}"
        return m


def _pandas_code(fmt: str, chunked: bool) -> str:
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


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
    return {"nproc": os.cpu_count(), "cpu": cpu,
            "ram_gb": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
            "python": platform.python_version(), "kernel": platform.release()}


def print_table(results: list[Measurement], size: int) -> None:
    jq = min((m for m in results if m.tool.startswith("jq") and not m.killed),
             key=lambda m: m.wall_s,
             default=None)
    print(f"\n{'tool':34} {'wall s':>8} {'cpu s':>7} {'MB/s':>8} {'peak RSS MB':>12} "
          f"{'tree MB':>8} {'vs jq':>7} "
          f"{'lines out':>10}  note")
    for m in results:
        ratio = f"{jq.wall_s / m.wall_s:.1f}x" if jq and m.wall_s and not m.killed else "-"
        lines = "" if m.output_lines is None else str(m.output_lines)
        print(f"{m.tool:34} {m.wall_s:8.2f} {m.cpu_s:7.1f} {m.mb_s:8.1f} {m.peak_rss_mb:12.1f} "
              f"{m.tree_rss_mb:8.1f} {ratio:>7} "
              f"{lines:>10}  {m.note}")
    print(f"(input {size / 1e6:.1f} MB; MB = 10^6 bytes; peak RSS = largest single process "
          "(GNU time); tree = summed over the tool's processes, sampled every 50 ms; "
          "'vs jq' = fastest jq's wall time / the tool's)")


def save(args: argparse.Namespace, bench: Bench, results: list[Measurement],
         check: dict | None) -> None:
    store = {}
    if args.out.exists():
        try:
            store = json.loads(args.out.read_text())
        except json.JSONDecodeError:
            store = {}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    fresh = [dict(asdict(m), date=now) for m in results]
    previous = store.get(bench.stem, {})
    if previous.get("bytes") == bench.size:  # same file: keep baselines skipped this time
        measured = {m.tool for m in results}
        kept = [r for r in previous.get("results", []) if r["tool"] not in measured]
        fresh = kept + fresh
        if check is None:
            check = previous.get("correctness")
    store[bench.stem] = {
        "file": str(bench.path), "bytes": bench.size, "format": bench.fmt,
        "date": now, "machine": machine(), "literals": bench.literal_source,
        "results": fresh, "correctness": check,
    }
    args.out.write_text(json.dumps(store, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("file", type=Path)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "results.json")
    p.add_argument("--skip", nargs="*", default=[],
                   choices=["jq", "jq-literals", "pandas", "diagnose"])
    p.add_argument("--pandas", choices=["auto", "naive", "chunked"], default="auto",
                   help="auto: naive, and chunked only if the naive load was killed")
    p.add_argument("--pandas-limit-gb", type=float, default=12.0,
                   help="kill the naive pandas load above this RSS (default 12 GB)")
    p.add_argument("--tool-timeout", type=float, default=900.0,
                   help="abort a baseline (jq, pandas) after this many seconds (default 900)")
    p.add_argument("--truth", type=Path, help="default: <file>.truth.json")
    args = p.parse_args(argv)
    if not args.file.is_file():
        print(f"error: no such file: {args.file}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    bench = Bench(args.file, args)
    print(f"{args.file}: {bench.size / 1e6:.1f} MB, format {bench.fmt}; jq/grep select with "
          f"{len(bench.literals)} {bench.literal_source}", flush=True)
    results = bench.all()
    print_table(results, bench.size)
    check = None
    diag = next((m for m in results if m.tool.startswith("diagnose")), None)
    truth = args.truth or args.file.with_name(args.file.name + ".truth.json")
    if diag and diag.exit_code in (0, 1) and truth.is_file():
        check = compare(json.loads(truth.read_text()), Path(diag.extra["report"]))
        print_check(check)
    elif diag:
        print(f"\ncorrectness: not checked (diagnose exit {diag.exit_code}; truth "
              f"{'found' if truth.is_file() else 'missing'}: {truth})")
    save(args, bench, results, check)
    print(f"results → {args.out}")
    return 0 if check is None or check["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
