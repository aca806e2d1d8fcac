"""Large plain JSONL files: scan byte ranges in worker processes, results merged in order.

One worker per CPU this process may use ($DIAGNOSE_WORKERS overrides; 0 scans in-process): on
2 CPUs, 1 GiB of JSONL takes 8.1 s with one worker and 5.3 s with two. Workers find the
prefilter hits, decode those lines (a few percent) into records and match them against the
event rules; the main process numbers and counts them exactly as the serial reader
does, so line numbers and accounting are identical. textparallel.py and prettyparallel.py
hand text and gcloud-array ranges to the same workers, and spooled.py a .gz file's inflated
bytes, spooled to temporary files.

Workers are `python -P -c …worker…` subprocesses speaking pickle over pipes, not a
multiprocessing pool: fork is unsafe beside the progress bar's thread, and spawn re-imports the
caller's main module. If a worker fails, the remaining ranges are scanned in-process. At most
IN_FLIGHT ranges are outstanding, so memory stays bounded however slowly the consumer reads.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..consume import consumed
from ..errors import InputError
from ..model import RawRecord
from .context import SourceContext
from .jsonl import account
from .stream import GZIP_MAGIC
from .worker import RangeResult, from_pieces, scanner

if TYPE_CHECKING:
    from ..parse import RecordMatcher

MIN_SIZE = 64 << 20  # below this, starting workers costs more than it saves
MIN_COMPRESSED = 8 << 20  # the same for a gzip file (spooled.py), about 64 MiB inflated
RANGE = 32 << 20  # per task: small enough that in-flight results stay small
MAX_WORKERS = 16
WORKERS_ENV = "DIAGNOSE_WORKERS"
IN_FLIGHT = 4  # ranges outstanding per pool of two; scaled with the pool's size


def default_workers() -> int:
    """$DIAGNOSE_WORKERS if it is a whole number, else one per CPU this process may run on.

    Not one less for the main process: reading (the raw-byte scan, decoding the lines it picks)
    is the slow stage and the main process mostly waits on it, so on 2 CPUs two workers took the
    1 GiB bench from 10.0 s to 7.4 s (three: 8.4 s)."""
    setting = os.environ.get(WORKERS_ENV, "").strip()
    if setting.isdigit():
        return min(int(setting), MAX_WORKERS)
    try:
        cpus = len(os.sched_getaffinity(0))  # a container's CPU set, not the host's count
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


class WorkerPool:
    """Worker subprocesses (default_workers()), started on first use and shared by one
    read_records call."""

    def __init__(self, workers: int | None = None,
                 setup: tuple[bytes, RecordMatcher] | None = None) -> None:
        """`setup`: (key, parse.RecordMatcher) each worker receives once, pickled as it starts
        (tasks name it by its key: a task must stay small, or sending it could wait on a worker
        that waits on us to read its result)."""
        self.size = default_workers() if workers is None else workers
        self.in_flight = max(IN_FLIGHT, 2 * self.size)
        self.procs: list[subprocess.Popen] = []
        self.broken = self.size < 1  # no workers: every range is scanned in-process
        self.setup = setup
        self.set_up = False
        self.timeouts: dict[int, dict[str, int]] = {}  # per worker: its latest count by rule

    def spawn(self) -> None:
        """Start the processes now (they import while the caller loads its rules)."""
        if not self.broken and not self.procs:
            try:
                self.procs = [_spawn() for _ in range(self.size)]
            except OSError:
                self.close()
                self.broken = True

    def start(self) -> bool:
        """Workers ready for tasks (spawned, and given the setup once), or False."""
        self.spawn()
        if not self.broken and self.setup is not None and not self.set_up:
            key, matcher = self.setup
            blob = matcher.blob()  # None: a rule that cannot be pickled; the parse stage matches
            try:
                for worker in range(self.size if blob is not None else 0):
                    self.send(worker, (b"setup", key, blob))  # idle workers read it at once
                self.timeouts = {}  # a fresh copy of the rules in each worker
                self.set_up = True
            except OSError:
                self.close()
                self.broken = True
        return not self.broken

    def send(self, worker: int, task: tuple) -> None:
        stdin = self.procs[worker].stdin
        pickle.dump(task, stdin, protocol=pickle.HIGHEST_PROTOCOL)
        stdin.flush()

    def receive(self, worker: int) -> RangeResult:
        answer, self.timeouts[worker] = pickle.load(self.procs[worker].stdout)
        return answer

    def search_timeouts(self) -> dict[str, int]:
        """Rule id → searches of `engine = "re"` patterns that ran out of time in the workers."""
        total: dict[str, int] = {}
        for counts in self.timeouts.values():
            for rule, n in counts.items():
                total[rule] = total.get(rule, 0) + n
        return total

    def close(self) -> None:
        for proc in self.procs:
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []


@contextmanager
def early_pool(specs: list[str]) -> Iterator[WorkerPool | None]:
    """Workers started before the rules load, when an input is one they will read: their start
    (imports, ~0.3 s) overlaps the main process's own. None otherwise: for small inputs they
    would only take CPU from the main process."""
    if not any(_worth_workers(spec) for spec in specs):
        yield None
        return
    pool = WorkerPool()
    pool.spawn()
    try:
        yield pool
    finally:
        pool.close()


def _worth_workers(spec: str) -> bool:
    """A plain file over MIN_SIZE, or a gzip file over MIN_COMPRESSED (spooled.py)."""
    try:
        if spec == "-" or not os.path.isfile(spec):
            return False
        size = os.path.getsize(spec)
        with open(spec, "rb") as f:
            gzipped = f.read(len(GZIP_MAGIC)) == GZIP_MAGIC
        return size >= (MIN_COMPRESSED if gzipped else MIN_SIZE)
    except OSError:
        return False


def _spawn() -> subprocess.Popen:
    """`-P`: the working directory is not put on the path, so a `diagnose` folder there (a
    checkout of another version) cannot stand in for this package in the workers."""
    return subprocess.Popen(
        [sys.executable, "-P", "-c", "from diagnose.sources.worker import main; main()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # a failing worker is replaced by in-process scanning
        env={**os.environ, "PYTHONPATH": _package_root()},
    )


def _package_root() -> str:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    extra = os.environ.get("PYTHONPATH")
    return f"{root}{os.pathsep}{extra}" if extra else root


def can_split(path: str, size: int, ctx: SourceContext) -> bool:
    """Only regular, uncompressed files big enough to be worth it, and only with a prefilter."""
    return ctx.prefilter is not None and size >= MIN_SIZE and os.path.isfile(path)


def read_jsonl_parallel(
    path: str,
    ctx: SourceContext,
    pool: WorkerPool,
    progress: Callable[[int], None] | None,
    base: int,
    span: int = RANGE,
) -> Iterator[RawRecord]:
    """Same records, order, line numbers and counts as jsonl.read_jsonl, over worker processes."""
    ranges = split_points(path, span)
    line = 1
    for range_no, result in enumerate(_results(path, ranges, ctx, pool)):
        line = yield from records_of(result, line, ctx)
        if progress is not None:
            progress(base + ranges[range_no][1])


def records_of(result: RangeResult, line: int, ctx: SourceContext) -> Generator[
        RawRecord, None, int]:
    """Book one range's result (its first line is `line`) and yield its records; returns the
    line after the range."""
    for records, newlines, survivors, pieces, oversize in consumed(result):
        if oversize:
            ctx.count()
            ctx.unparsed(line, "line longer than 16 MiB")
            line += 1
            continue
        ctx.count(records)
        ctx.ignore(records - survivors)
        for index, decoded in from_pieces(pieces):
            record = account(decoded, line + index, ctx)
            if record is not None:
                yield record
        line += newlines
    return line


def _results(
    path: str, ranges: list[tuple[int, int]], ctx: SourceContext, pool: WorkerPool
) -> Iterator[RangeResult]:
    return ordered_results(
        path, ranges, pool, b"jsonl",
        lambda start, end: (path, start, end, ctx.prefilter, ctx.default_tz, ctx.matcher),
    )


def ordered_results(
    path: str,
    ranges: list[tuple[int, int]],
    pool: WorkerPool,
    kind: bytes,
    args: Callable[[int, int], tuple],
) -> Iterator:
    """Each range's result in order, read by `worker.scanner(kind)` with `args(start, end)`:
    in the workers while they work (up to pool.in_flight ranges ahead), else — no pool, or a
    broken worker — here in-process, with the same arguments."""
    tasks = (args(start, end) for start, end in ranges)
    for _, result in ordered_tasks(pool, kind, tasks, path):
        yield result


def ordered_tasks(
    pool: WorkerPool, kind: bytes, tasks: Iterable[tuple], path: str
) -> Iterator[tuple[tuple, object]]:
    """(arguments, result) of each task in order, `worker.scanner(kind)(*arguments)` run in
    the workers (up to pool.in_flight tasks ahead; `tasks` is drawn only that far), or here
    when there is no pool or a worker broke. `path` names the input in a read error."""
    tasks = iter(tasks)
    pending: deque[tuple] = deque()  # sent, not answered yet, oldest first
    sent = answered = 0
    while True:
        result = None
        if pool.start():
            try:
                while len(pending) < pool.in_flight and (task := next(tasks, None)) is not None:
                    pending.append(task)  # first: if sending fails, it is read here
                    pool.send(sent % pool.size, (kind, *task))
                    sent += 1
                if not pending:
                    return
                result = pool.receive(answered % pool.size)
                answered += 1
            except Exception:  # noqa: BLE001 - whatever a failed worker left in the pipe (a cut
                # or garbled pickle): its tasks are read here instead, the answer unchanged
                pool.broken = True
                pool.close()
        task = pending.popleft() if pending else next(tasks, None)
        if task is None:
            return
        if result is None:
            try:
                result = scanner(kind)(*task)
            except OSError as exc:
                raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
        yield task, result


def split_points(path: str, span: int = RANGE) -> list[tuple[int, int]]:
    """(start, end) byte ranges at line starts, about `span` bytes each, covering the file."""
    size = os.path.getsize(path)
    points = [0]
    with open(path, "rb") as f:
        target = span
        while target < size:
            f.seek(target)
            nl = _next_newline(f)
            if nl < 0 or nl + 1 >= size:
                break
            points.append(nl + 1)
            target = nl + 1 + span
    points.append(size)
    return list(zip(points, points[1:], strict=False))


def _next_newline(f) -> int:
    """Offset of the next b"\\n" at or after the current position, -1 if none."""
    pos = f.tell()
    while True:
        chunk = f.read(1 << 16)
        if not chunk:
            return -1
        i = chunk.find(b"\n")
        if i >= 0:
            return pos + i
        pos += len(chunk)
