"""Write a realistic, time-ordered staging export of any size, plus the truth about it.

    python bench/generate.py --size 1G --format jsonl --seed 1 -o bench/out/x.jsonl

Mostly unrelated noise, and a few % of planted connections in known failure classes
(bench/scenarios.py). Memory stays constant: planted lines wait in a heap only while their
connection is live, and everything else is written as it is drawn. Next to the output goes
`<output>.truth.json`: per class the count and sorted connection keys, which `bench/run.py`
compares with `diagnose analyze --format json`.
"""

from __future__ import annotations

import argparse
import gzip
import heapq
import json
import random
import sys
import time
from pathlib import Path

import incidents
from envelope import WRITE_DELAY_US, WRITERS, Enveloper
from noise import BACKEND, E2E_JOB, Entry, NoiseMaker
from scenarios import CLASSES, DEFAULT_MIX, SHAPES, UNIDENTIFIED, Episode, Ids, make_episode

START_US = 1_757_372_400_000_000  # 2025-09-08 23:00:00 UTC (16:00 PDT), the incident afternoon
TAIL_SECONDS = 150.0  # log time after the last planted line: longer than any finding window
QUIET_RATE = 2.0  # noise lines/s once the last connection is planted: traffic dies down
INSTANCES = 4  # backend instances the planted connections are spread over
# Two id-less failures on one instance closer than this are one story to any reader of the logs
# (the report joins id-less lines within 250 ms), so the generator keeps them apart.
IDLESS_GAP_US = 1_500_000
# An id-less timeout belongs to the run that started ~30 s before it on its instance; another run
# started on that instance within this much of it could not be told apart, so none is planted.
RUN_START_GAP_US = 1_500_000
SLACK_US = 5_000  # around an unidentified connection's span: rounding to ms, write delay
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str) -> int:
    """`1G`, `300M`, `64K`, `12345` → bytes (binary units, as dd and truncate read them)."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = t[-1] if t and t[-1] in _UNITS else ""
    try:
        value = float(t[: len(t) - len(unit)])
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1G, 300M)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive: {text!r}")
    return int(value * _UNITS[unit])


def parse_mix(text: str) -> dict[str, float]:
    """`routing_failure=0.5,healthy=0.5` → weights; unknown shape names are an error."""
    mix: dict[str, float] = {}
    for part in filter(None, text.split(",")):
        name, _, weight = part.partition("=")
        if name.strip() not in SHAPES:
            raise argparse.ArgumentTypeError(f"unknown shape {name!r}; known: {', '.join(SHAPES)}")
        try:
            mix[name.strip()] = float(weight)
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad weight in {part!r}") from None
    if not mix or sum(mix.values()) <= 0:
        raise argparse.ArgumentTypeError("the mix needs at least one positive weight")
    return mix


def parse_incidents(text: str) -> dict[str, int]:
    """`crash_loop=2,auth_rejected=1` (or `crash_loop`) → how many of each service incident."""
    counts: dict[str, int] = {}
    for part in filter(None, text.split(",")):
        name, _, n = part.partition("=")
        if name.strip() not in incidents.KINDS:
            raise argparse.ArgumentTypeError(
                f"unknown incident {name!r}; known: {', '.join(incidents.KINDS)}")
        try:
            counts[name.strip()] = int(n or 1)
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad count in {part!r}") from None
    if counts.get("auth_rejected", 0) > 1:  # one service: two bursts could be one finding
        raise argparse.ArgumentTypeError("auth_rejected can be planted once per file")
    return counts


class Generator:
    """Interleaves noise (drawn at `rate` lines/s) with planted connections, in time order."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.rng = random.Random(args.seed)
        self.ids = Ids(random.Random(args.seed + 1))
        self.noise = NoiseMaker(random.Random(args.seed + 2))
        self.env = Enveloper(random.Random(args.seed + 3))
        self.args = args
        self.mix_names = list(args.mix)
        self.mix_weights = list(args.mix.values())
        self.heap: list[tuple[int, int, Entry]] = []
        self.seq = 0
        self.truth: dict[str, list[str]] = {c: [] for c in CLASSES}
        self.shapes: dict[str, int] = dict.fromkeys(SHAPES, 0)
        self.aliases: dict[str, str] = {}
        self.unidentified: dict[str, list[int]] = {}  # truth key → [first µs, last µs]
        self.idless_at = [0] * INSTANCES  # per instance: µs of the last id-less failure planted
        self.run_starts: list[list[tuple[int, int]]] = [[] for _ in range(INSTANCES)]
        self.idless_timeouts = {"planted": 0, "with_other_runs_live": 0}
        self.deferred = 0  # episodes drawn and dropped: too close to an id-less one
        self.incidents: list[dict] = []
        self.incident_plan = [k for k, n in args.incidents.items() for _ in range(n)]
        if args.format == "text":  # the backend's own log holds neither the platform's lines
            self.incident_plan = []  # nor the revision they are about
        self.planted = 0
        self.noise_lines = 0
        self.last_planted_us = START_US
        self.runner_free_at = START_US  # the e2e runner tests one connection at a time
        self.client_connections = 0

    def run(self, out) -> dict:
        writer = WRITERS[self.args.format](out, self.env)
        size, share = self.args.size, self.args.relevant
        step_us, quiet_us = 1_000_000 / self.args.rate, 1_000_000 / QUIET_RATE
        now, written, planting = START_US, 0, True
        while True:
            now += max(1, int(self.rng.expovariate(1.0) * (step_us if planting else quiet_us)))
            if planting and written >= size - self._tail_bytes(written):
                planting = False
            if planting and self.planted < share * (self.planted + self.noise_lines):
                self._plant(now)
            if planting and self.incident_plan and written >= size * (
                    1 + len(self.incidents)) / (2 + len(self.incidents) + len(self.incident_plan)):
                self._incident(now, self.incident_plan.pop(0))
            written += self._flush_until(now, writer)
            if not planting and not self.heap and now > self.last_planted_us + TAIL_SECONDS * 1e6:
                break
            written += writer.write(self._noise(now))
            self.noise_lines += 1
        written += writer.close()
        return self._summary(written, now)

    def _noise(self, now: int) -> Entry:
        """A noise entry whose LogEntry time is `now`, so the output stays in time order."""
        entry = self.noise.entry(now)
        entry.ts = now - (self.env.entry_time(entry) - now)
        return entry

    def _tail_bytes(self, written: int) -> float:
        lines = self.planted + self.noise_lines
        avg = written / lines if lines else 700.0
        return (TAIL_SECONDS + 140.0) * QUIET_RATE * avg

    def _plant(self, now: int) -> None:
        shape = self.rng.choices(self.mix_names, self.mix_weights)[0]
        client = (self.args.client and SHAPES[shape] != "connection_failure"
                  and now >= self.runner_free_at and self.rng.random() < 0.5)
        episode = make_episode(shape, self.ids, now / 1e6, client=client)
        instance = self._instance(episode, now)
        if instance is None:  # too close to another id-less story: plant later
            self.deferred += 1
            return
        for line in episode.lines:
            ts = now + round(line.offset * 1e6)
            if line.source == "client":
                entry = Entry(ts, E2E_JOB, "client", line.severity, line.message, line.module,
                              "test_real_agent_execution_staging.py", 212)
                self.runner_free_at = max(self.runner_free_at, ts + 1_000_000)
            elif line.source == "request":
                entry = Entry(ts, BACKEND, "request", "ERROR" if line.http["status"] >= 500
                              else "WARNING", http=_http(line.http, self.rng), instance=instance)
            else:
                entry = Entry(ts, BACKEND, "app", line.severity, line.message, line.module,
                              line.function, line.lineno, instance=instance)
            self._push(entry)
        self.planted += len(episode.lines)
        self.client_connections += client
        self._record(episode, now, instance)

    def _push(self, entry: Entry) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (self.env.entry_time(entry), self.seq, entry))
        self.last_planted_us = max(self.last_planted_us, entry.ts)

    def _bucket(self, instance: int) -> int:
        """Whose lines a reader can tell apart: per instance, or all one when the format has no
        instance id (loguru text)."""
        return 0 if self.args.format == "text" else instance

    def _instance(self, episode: Episode, now: int) -> int | None:
        """Where the connection runs: a random instance where a careful reader of the logs could
        still tell its id-less lines from another connection's (IDLESS_GAP_US, RUN_START_GAP_US),
        or None when there is none just now (the episode is dropped and another drawn later)."""
        order = self.rng.sample(range(INSTANCES), INSTANCES)
        if episode.unidentified is not None:
            return next((i for i in order
                         if now - self.idless_at[self._bucket(i)] >= IDLESS_GAP_US), None)
        if episode.run_started is None:
            return order[0]
        start = now + round(episode.run_started * 1e6)
        idless = episode.timeout_at is not None
        for i in range(INSTANCES):  # forget runs that ended long ago
            self.run_starts[i] = [r for r in self.run_starts[i] if r[1] > now - 120_000_000]

        def clear(i: int) -> bool:  # an id-less timeout's run must be the only one starting then
            return all(abs(s - start) >= RUN_START_GAP_US for s, _, other_idless in
                       self.run_starts[self._bucket(i)] if idless or other_idless)

        chosen = next((i for i in order if clear(i)), None)
        if chosen is None:
            return None
        runs = self.run_starts[self._bucket(chosen)]
        if episode.shape == "timeout_idless":
            at = now + round(episode.timeout_at * 1e6)
            self.idless_timeouts["planted"] += 1
            if any(s < at < e for s, e, _ in runs):
                self.idless_timeouts["with_other_runs_live"] += 1
        runs.append((start, now + round(episode.lines[-1].offset * 1e6), idless))
        return chosen

    def _record(self, episode: Episode, now: int, instance: int) -> None:
        self.truth[episode.cls].append(episode.key)
        self.shapes[episode.shape] += 1
        if episode.connection_id != episode.key:
            self.aliases[episode.connection_id] = episode.key
        if episode.unidentified is not None:
            first, last = (now + round(x * 1e6) for x in episode.unidentified)
            self.unidentified[episode.key] = [first - SLACK_US, last + WRITE_DELAY_US + SLACK_US]
            bucket = self._bucket(instance)
            self.idless_at[bucket] = max(self.idless_at[bucket], last)

    def _incident(self, now: int, kind: str) -> None:
        """A crash-looping rollout or an auth-rejection burst, starting a few seconds from now."""
        number = sum(1 for i in self.incidents if i["class"] == "crash_loop")
        start = now + 2_000_000
        incident = (incidents.crash_loop(self.rng, start, number) if kind == "crash_loop"
                    else incidents.auth_rejected(self.rng, start))
        for entry in incident.entries:
            self._push(entry)
        self.planted += len(incident.entries)
        self.incidents.append(incident.truth())
        for n, (first, last) in enumerate(incident.unidentified):
            # a refused upgrade is a client of its own; the storm is its cause and its class
            key = f"rejected_{len(self.incidents)}_{n}"
            self.truth.setdefault(incident.cls, []).append(key)
            self.unidentified[key] = [first - SLACK_US, last + WRITE_DELAY_US + SLACK_US]

    def _flush_until(self, now: int, writer) -> int:
        written = 0
        heap = self.heap
        while heap and heap[0][0] <= now:
            written += writer.write(heapq.heappop(heap)[2])
        return written

    def _expected_findings(self) -> list[dict]:
        """The planted incidents. Scattered auth failures among many successful logins are
        individual clients, not a storm (the core rule stands down when logins outnumber them)."""
        return list(self.incidents)

    def _summary(self, written: int, end_us: int) -> dict:
        classes = {
            c: {"count": len(keys), "connections": sorted(keys)} for c, keys in self.truth.items()
        }
        return {
            "generator": "bench/generate.py",
            "format": self.args.format,
            "seed": self.args.seed,
            "bytes": written,
            "lines_planted": self.planted,
            "lines_noise": self.noise_lines,
            "client_connections": self.client_connections,
            "relevant_share": round(self.planted / max(1, self.planted + self.noise_lines), 4),
            "time_range": [_iso(START_US), _iso(end_us)],
            "shapes": self.shapes,
            "classes": classes,
            "aliases": dict(sorted(self.aliases.items())),
            "unidentified": {"prefix": UNIDENTIFIED, "spans_us": dict(sorted(
                self.unidentified.items()))},
            "idless_timeouts": self.idless_timeouts,
            "episodes_deferred": self.deferred,
            "findings": self._expected_findings(),
            "note": "text format drops non-backend noise lines, so its planted share is higher; "
                    "it holds no service incidents (no platform lines, no revision)",
        }


def _http(short: dict, rng: random.Random) -> dict:
    """A scenario's request line (method, path, status, agent, latency) as Cloud Run logs it."""
    return {
        "requestMethod": short["requestMethod"],
        "requestUrl": f"https://api.staging.netrasystems.ai{short['path']}",
        "requestSize": str(rng.randrange(200, 900)), "status": short["status"],
        "responseSize": str(rng.randrange(90, 400)), "userAgent": short["userAgent"],
        "remoteIp": f"34.{rng.randrange(1, 255)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "serverIp": "216.239.38.53", "latency": short["latency"], "protocol": "HTTP/1.1",
    }


def _iso(us: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(us // 1_000_000))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=parse_size, default=parse_size("100M"),
                   help="approximate output size: 1G, 300M … (default 100M)")
    p.add_argument("--format", choices=sorted(WRITERS), default="jsonl")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--relevant", type=float, default=0.03,
                   help="share of lines that belong to planted connections (default 0.03)")
    p.add_argument("--rate", type=float, default=400.0,
                   help="noise lines per second of log time (default 400)")
    p.add_argument("--mix", type=parse_mix, default=dict(DEFAULT_MIX),
                   help="shape weights, e.g. routing_failure=1,ws_error=1,healthy=3 "
                        f"(shapes: {', '.join(SHAPES)})")
    p.add_argument("--incidents", type=parse_incidents, default={},
                   help="service incidents to plant, e.g. crash_loop=2,auth_rejected=1 "
                        "(JSON formats only)")
    p.add_argument("--no-client", dest="client", action="store_false",
                   help="leave out the e2e runner's own log lines")
    p.add_argument("-o", "--output", type=Path, required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0 < args.relevant < 1:
        print("error: --relevant must be between 0 and 1", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    if args.output.suffix == ".gz":  # `x.jsonl.gz`: the same bytes, gzip-compressed on the way
        if args.format == "json-desc":
            print("error: json-desc cannot be written compressed", file=sys.stderr)
            return 2
        with gzip.open(args.output, "wb", compresslevel=6) as out:
            summary = Generator(args).run(out)
    else:
        with open(args.output, "wb", buffering=1 << 20) as out:
            summary = Generator(args).run(out)
    truth_path = args.output.with_name(args.output.name + ".truth.json")
    truth_path.write_text(json.dumps(summary, indent=1) + "\n")
    counts = ", ".join(f"{c}={v['count']}" for c, v in summary["classes"].items())
    print(f"wrote {args.output} ({summary['bytes'] / 1e6:.1f} MB, "
          f"{summary['lines_planted'] + summary['lines_noise']} lines, planted "
          f"{summary['relevant_share']:.1%}) in {time.perf_counter() - began:.1f}s; {counts}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
