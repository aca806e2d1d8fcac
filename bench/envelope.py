"""Entries → bytes in the three shapes users hand `diagnose`: sink JSONL, gcloud JSON array, text.

The LogEntry envelope is the real one (cloud-logging.md §1, netra.md §4.2): jsonPayload.message
under the backend's GCP formatter, resource cloud_run_revision, labels.instanceId, insertId,
logName, µs `Z` timestamps, and the payload's own `+00:00` time a little before the entry's.
Times are integer microseconds so nothing drifts over a multi-hour file.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path

from noise import AUTH_SERVICE, BACKEND, E2E_JOB, FRONTEND, Entry

PROJECT = "netra-staging"
REVISIONS = {
    BACKEND: "netra-backend-staging-00154-2tw",
    AUTH_SERVICE: "netra-auth-service-00087-vq4",
    FRONTEND: "netra-frontend-staging-00121-k7d",
}
_LOG = f"projects/{PROJECT}/logs/run.googleapis.com%2F"
_LOG_IDS = {"app": "stderr", "request": "requests", "system": "varlog%2Fsystem",
            "client": "stdout", "stderr": "stderr"}
WRITE_DELAY_US = 1200  # the formatter's time → Cloud Logging's entry time (1–5 ms in real exports)


class Stamp:
    """Fast RFC 3339 for epoch microseconds, caching the per-second prefix."""

    def __init__(self) -> None:
        self._sec = -1
        self._prefix = ""

    def prefix(self, sec: int) -> str:
        if sec != self._sec:
            self._sec = sec
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        return self._prefix

    def z(self, us: int) -> str:
        sec, frac = divmod(us, 1_000_000)
        return f"{self.prefix(sec)}.{frac:06d}Z"

    def offset(self, us: int) -> str:
        sec, frac = divmod(us, 1_000_000)
        return f"{self.prefix(sec)}.{frac:06d}+00:00"

    def nanos(self, us: int, extra_ns: int) -> str:
        sec, frac = divmod(us, 1_000_000)
        return f"{self.prefix(sec)}.{frac * 1000 + extra_ns:09d}Z"

    def text(self, us: int) -> str:
        sec, frac = divmod(us, 1_000_000)
        return f"{self.prefix(sec).replace('T', ' ')}.{frac // 1000:03d}"


class Enveloper:
    """Builds LogEntry dicts (API key order) with unique insertIds and stable instance ids."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.stamp = Stamp()
        self.seq = 0
        self.instances = {
            svc: [f"0069c7a9{rng.getrandbits(224):056x}" for _ in range(4)] for svc in REVISIONS
        }
        self.resources = {svc: _resource(svc) for svc in REVISIONS}
        self.resources[E2E_JOB] = {
            "type": "cloud_run_job",
            "labels": {"project_id": PROJECT, "job_name": E2E_JOB, "location": "us-central1"},
        }
        self.instances[E2E_JOB] = [f"0087be{rng.getrandbits(232):058x}"]

    def entry_time(self, e: Entry) -> int:
        """The LogEntry `timestamp`: write time, a constant step after the app's own time."""
        return e.ts + WRITE_DELAY_US if e.kind == "app" else e.ts

    def log_entry(self, e: Entry) -> dict:
        self.seq += 1
        ts = self.entry_time(e)
        st = self.stamp
        insert_id = f"{ts // 1_000_000:08x}{self.seq:08x}{self.rng.getrandbits(32):08x}"
        d: dict = {}
        if e.kind == "app":
            d["jsonPayload"] = {
                "context": {"name": e.module, "service": "netra-service"},
                "labels": {"function": e.function, "line": str(e.lineno), "module": e.module},
                "message": e.message,
                "timestamp": st.offset(e.ts),
            }
        elif e.kind in ("system", "stderr"):
            d["textPayload"] = e.message
        elif e.kind == "client":  # pytest's log format
            d["textPayload"] = f"{e.severity:<8} {e.module}:{e.function}:{e.lineno} {e.message}"
        d["insertId"] = insert_id
        if e.http is not None:
            d["httpRequest"] = e.http
        d["resource"] = self.resources[e.service] if e.revision is None else _resource(
            e.service, e.revision)
        d["timestamp"] = st.z(ts)
        if e.kind != "client" and e.severity:  # plain text has no severity (DEFAULT, key absent)
            d["severity"] = e.severity
        d["labels"] = {"instanceId": e.instance_id or self.instances[e.service][e.instance]}
        if e.service == BACKEND and e.kind == "app":
            d["labels"].update({"migration-run": "1757350810", "vpc-connectivity": "enabled"})
        d["logName"] = _LOG + _LOG_IDS[e.kind]
        if e.kind == "request":
            d["trace"] = f"projects/{PROJECT}/traces/{self.rng.getrandbits(128):032x}"
        d["receiveTimestamp"] = st.nanos(ts + self.rng.randrange(40_000, 400_000),
                                         self.rng.randrange(1000))
        if e.kind == "request":
            d["spanId"] = f"{self.rng.getrandbits(64):016x}"
            d["traceSampled"] = True
        return d


def _resource(service: str, revision: str | None = None) -> dict:
    return {
        "type": "cloud_run_revision",
        "labels": {
            "project_id": PROJECT,
            "configuration_name": service,
            "service_name": service,
            "location": "us-central1",
            "revision_name": revision or REVISIONS[service],
        },
    }


class JsonlWriter:
    """Sink export: one compact LogEntry a line, API key order."""

    def __init__(self, out, env: Enveloper) -> None:
        self.out, self.env = out, env
        self.dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def write(self, e: Entry) -> int:
        data = (self.dumps(self.env.log_entry(e)) + "\n").encode()
        self.out.write(data)
        return len(data)

    def close(self) -> int:
        return 0


class JsonArrayWriter:
    """`gcloud logging read --format=json`: an array, sorted keys, indent 2 (cloud-logging §1.2)."""

    def __init__(self, out, env: Enveloper) -> None:
        self.out, self.env = out, env
        self.first = True
        self.dumps = json.JSONEncoder(ensure_ascii=False, indent=2, sort_keys=True).encode

    def write(self, e: Entry) -> int:
        body = self.dumps(self.env.log_entry(e)).replace("\n", "\n  ")
        data = (("[\n  " if self.first else ",\n  ") + body).encode()
        self.first = False
        self.out.write(data)
        return len(data)

    def close(self) -> int:
        data = b"[]\n" if self.first else b"\n]\n"
        self.out.write(data)
        return len(data)


class JsonArrayDescWriter(JsonArrayWriter):
    """The same array, newest first: what `gcloud logging read` prints by default (--order=desc).

    Entries go to a scratch file as they come (one JSON-escaped body a line), then are copied
    out in reverse by reading that file backwards in blocks, so memory stays constant.
    """

    def __init__(self, out, env: Enveloper) -> None:
        super().__init__(out, env)
        self.scratch = tempfile.TemporaryFile(dir=Path(out.name).parent)

    def write(self, e: Entry) -> int:
        body = self.dumps(self.env.log_entry(e)).replace("\n", "\n  ")
        self.scratch.write(json.dumps(body).encode() + b"\n")
        return len(body.encode()) + 4

    def close(self) -> int:
        """Copy the bodies out newest first; their bytes were already counted by `write`."""
        for line in _lines_backwards(self.scratch):
            prefix = "[\n  " if self.first else ",\n  "
            self.first = False
            self.out.write((prefix + json.loads(line)).encode())
        self.scratch.close()
        return super().close()


def _lines_backwards(f, block: int = 1 << 20):
    """Lines of a binary file from last to first, reading fixed-size blocks from the end."""
    f.seek(0, 2)
    pos, tail = f.tell(), b""
    while pos > 0:
        step = min(block, pos)
        pos -= step
        f.seek(pos)
        parts = (f.read(step) + tail).split(b"\n")
        tail = parts.pop(0)
        for part in reversed(parts):
            if part:
                yield part
    if tail:
        yield tail


class TextWriter:
    """Loguru staging text (netra.md §4.4) of the backend service; other services are not in it."""

    def __init__(self, out, env: Enveloper) -> None:
        self.out, self.env = out, env

    def write(self, e: Entry) -> int:
        if e.service != BACKEND or e.kind in ("system", "stderr"):
            return 0
        if e.kind == "request":
            module, func, line = "netra_backend.app.core.request_context", "log_request_details", 69
            url = e.http["requestUrl"].split("/", 3)[-1]
            message = (f"Request: {e.http['requestMethod']} /{url} | Status: {e.http['status']} | "
                       f"Duration: {float(e.http['latency'][:-1]) * 1000:.2f}ms")
            severity = "INFO"
        else:
            module, func, line, message, severity = (
                e.module, e.function, e.lineno, e.message, e.severity)
        stamp = self.env.stamp.text(self.env.entry_time(e))
        data = f"{stamp} | {severity:<8} | {module}:{func}:{line} | {message}\n".encode()
        self.out.write(data)
        return len(data)

    def close(self) -> int:
        return 0


WRITERS = {"jsonl": JsonlWriter, "json": JsonArrayWriter, "json-desc": JsonArrayDescWriter,
           "text": TextWriter}
