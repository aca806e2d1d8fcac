"""Run one tool under GNU time and measure it: wall time, CPU, peak RSS, kill guards.

Peak RSS is measured two ways, and both are reported: GNU time's `%M` (the largest single
process, which for a pipeline or a tool with workers understates what the tool holds), and the
sum of VmRSS over the tool's whole process tree, polled from /proc every 50 ms (`tree`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

TIME = "/usr/bin/time"  # GNU time


@dataclass
class Measurement:
    tool: str
    command: str
    wall_s: float = 0.0
    mb_s: float = 0.0
    peak_rss_mb: float = 0.0  # GNU time %M: the largest single process
    cpu_s: float = 0.0  # user + system: above wall time means more than one core worked
    tree_rss_mb: float = 0.0  # peak of the summed RSS of the tool's whole process tree (sampled)
    exit_code: int | None = None
    output_lines: int | None = None
    note: str = ""
    killed: bool = False
    runs: int = 1  # --repeat: the figures are medians of this many runs
    extra: dict = field(default_factory=dict)


def run_measured(cmd: list[str], stdout, size: int, rss_limit_mb: float | None = None,
                 timeout_s: float | None = None, env: dict | None = None) -> Measurement:
    """Run one process to completion under GNU time: wall time, its own peak RSS, a kill guard.

    GNU time (not this Python process) forks the tool, so the peak RSS is the tool's alone; a
    fork of a big parent would carry the parent's high-water mark across exec.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        began = time.perf_counter()
        proc = subprocess.Popen([TIME, "-f", "%M %U %S", "-o", stats.name, *cmd], stdout=stdout,
                                stderr=subprocess.PIPE, env=env, start_new_session=True)
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
    """Past --tool-timeout: kill the whole process group GNU time leads (a shell pipeline such
    as `gzip -dc | jq` or diagnose's workers go with it)."""
    flag.set()
    try:
        os.killpg(time_pid, signal.SIGKILL)
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
