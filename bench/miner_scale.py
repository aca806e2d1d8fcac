"""Speed and memory of the template miner on a million lines (issue 13: bounded, >= ~40k lines/s).

    .venv/bin/python bench/miner_scale.py [--lines 1000000] [--data /work/shared/loghub-dev]

The lines are the raw Loghub-2k lines of every system present, cycled, with every digit run
replaced by a fresh random number so that nearly every line is distinct (the worst case for the
miner's buffers and caches). Lines are made on the fly; the time to make them is measured in a
separate pass and subtracted. Peak RSS is the process's high-water mark (ru_maxrss) after the run,
minus the one before it, so it is what mining added.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diagnose.patterns import TemplateMiner  # noqa: E402

_DIGITS = re.compile(r"\d+")


def lines(data: Path, count: int, seed: int = 1) -> Iterator[str]:
    base = []
    for log in sorted(data.glob("*_2k.log")):
        base += log.read_text(encoding="utf-8", errors="replace").splitlines()
    rng = random.Random(seed)
    def fresh(m: re.Match) -> str:
        return str(rng.randrange(10 ** len(m.group())))
    for i in range(count):
        yield _DIGITS.sub(fresh, base[i % len(base)])


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--data", type=Path, default=Path("/work/shared/loghub-dev"))
    args = ap.parse_args(argv)

    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in lines(args.data, args.lines):
        pass
    making = time.perf_counter() - started
    making_cpu = time.process_time() - cpu_started

    before = peak_mib()
    miner = TemplateMiner()
    started, cpu_started = time.perf_counter(), time.process_time()
    for number, line in enumerate(lines(args.data, args.lines), 1):
        miner.add(line, None, f"scale:{number}")
    templates = miner.templates()
    total = time.perf_counter() - started
    mining = max(total - making, 1e-9)
    mining_cpu = max(time.process_time() - cpu_started - making_cpu, 1e-9)
    print(f"{args.lines:,} lines -> {len(templates):,} templates "
          f"(overflow {miner.overflow:,}, truncated {miner.truncated:,})")
    print(f"mining: {mining:.1f} s = {args.lines / mining:,.0f} lines/s "
          f"(line making {making:.1f} s subtracted); CPU time: {mining_cpu:.1f} s = "
          f"{args.lines / mining_cpu:,.0f} lines/s (less sensitive to a shared machine)")
    print(f"peak RSS added by mining: {peak_mib() - before:.0f} MiB (process peak {peak_mib():.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
