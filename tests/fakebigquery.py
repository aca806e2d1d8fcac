"""A BigQuery emulator on 127.0.0.1 for tests: `crucible serve` behind a small recording proxy.

Crucible (pip `crucible-emulator[server]`, DuckDB behind the BigQuery REST API) answers the real
google-cloud-bigquery client for tables, DML and queries. Two things it refuses, which our
query needs, the proxy supplies, and says so:
- query parameters (`@since`, `@until`): the proxy records the request exactly as the client sent
  it (SQL text and parameters, `self.queries`), then inlines each parameter as a typed literal
  before passing the query on — what BigQuery itself does with a parameter's value;
- dry runs: answered by the proxy itself with `dry_run_bytes` (Crucible reports 0 bytes for
  everything anyway), so a test can check that the number reaches the user and nothing ran.
Everything else is forwarded untouched. Only 127.0.0.1 is used; the emulator process is started
on a free port, waited for with a bounded loop, and killed at exit.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

READY_TRIES = 300  # × 0.1 s
_JOBS = re.compile(r"^/bigquery/v2/projects/[^/]+/jobs(?:\?|$)")
_PARAM_VALUE = re.compile(r"^[0-9T:. +Z-]{10,40}$")
_HOP = {"connection", "transfer-encoding", "content-length", "keep-alive", "host"}


def crucible_command() -> list[str] | None:
    """How to start the emulator, or None when it is not installed."""
    try:
        import crucible  # noqa: F401
    except ImportError:
        return None
    exe = Path(sys.executable).with_name("crucible")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("crucible")
    return [found] if found else [sys.executable, "-m", "crucible.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BigQueryEmulator:
    """`with BigQueryEmulator() as bq:`; point clients at `bq.url`."""

    def __init__(self, *, dry_run_bytes: int = 0):
        self.dry_run_bytes = dry_run_bytes
        self.queries: list[dict] = []  # {"sql", "parameters", "dry_run"} as the client sent them
        self._proc: subprocess.Popen | None = None
        self._backend = 0
        self._proxy: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        assert self._proxy is not None
        return f"http://127.0.0.1:{self._proxy.server_address[1]}"

    def __enter__(self) -> BigQueryEmulator:
        command = crucible_command()
        if command is None:
            raise RuntimeError("crucible-emulator is not installed")
        self._backend = free_port()
        self._proc = subprocess.Popen(
            [*command, "serve", "--dialect", "bigquery", "--host", "127.0.0.1",
             "--port", str(self._backend)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self._proxy = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(self))
        self._proxy.daemon_threads = True
        threading.Thread(target=self._proxy.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._proxy is not None:
            self._proxy.shutdown()
            self._proxy.server_close()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        if self._proc is not None and self._proc.stderr is not None:
            self._proc.stderr.close()

    def client(self, project: str):
        """A real google-cloud-bigquery client on the proxy (for loading test data)."""
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(project=project, credentials=AnonymousCredentials(),
                               client_options=ClientOptions(api_endpoint=self.url))

    def _wait_ready(self) -> None:
        url = f"http://127.0.0.1:{self._backend}/_crucible/health"
        for _ in range(READY_TRIES):
            if self._proc is not None and self._proc.poll() is not None:
                err = self._proc.stderr.read().decode("utf-8", "replace") if self._proc.stderr else ""
                raise RuntimeError(f"crucible exited with {self._proc.returncode}: {err[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"crucible did not answer {url} within {READY_TRIES / 10:g}s")

    # -- the proxy's job -------------------------------------------------------------------------

    def rewrite(self, path: str, body: bytes) -> tuple[bytes, dict | None]:
        """Record a query job; inline its parameters; a dry run is answered here (dict)."""
        if not _JOBS.match(path):
            return body, None
        try:
            doc = json.loads(body)
            config = doc["configuration"]
            query = config["query"]
        except (ValueError, KeyError, TypeError):
            return body, None
        params = {p["name"]: (p["parameterType"]["type"], p["parameterValue"]["value"])
                  for p in query.get("queryParameters", [])}
        dry = bool(config.get("dryRun"))
        with self._lock:
            self.queries.append({"sql": query["query"], "parameters": params, "dry_run": dry})
        if dry:
            return body, _dry_run_job(doc, self.dry_run_bytes)
        if params:
            query["query"] = _inline(query["query"], params)
            query.pop("queryParameters")
            query.pop("parameterMode", None)
        return json.dumps(doc).encode("utf-8"), None


def _inline(sql: str, params: dict[str, tuple[str, str]]) -> str:
    def literal(m: re.Match) -> str:
        kind, value = params[m.group(1)]
        if kind != "TIMESTAMP" or not _PARAM_VALUE.match(value):
            raise ValueError(f"test proxy: cannot inline @{m.group(1)} ({kind} {value!r})")
        return f"TIMESTAMP '{value}'"

    return re.sub(r"@(\w+)\b", literal, sql)


def _dry_run_job(doc: dict, scanned: int) -> dict:
    ref = doc.get("jobReference") or {}
    stats = {"totalBytesProcessed": str(scanned)}
    return {
        "kind": "bigquery#job",
        "jobReference": ref,
        "configuration": doc["configuration"],
        "status": {"state": "DONE"},
        "statistics": {**stats, "query": {**stats, "totalBytesBilled": "0", "cacheHit": False}},
    }


def _proxy_handler(emulator: BigQueryEmulator) -> type[BaseHTTPRequestHandler]:
    class Proxy(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = None
            if self.command == "POST":
                body, answer = emulator.rewrite(self.path, body)
            if answer is not None:
                self._send(200, [("Content-Type", "application/json")], json.dumps(answer).encode())
                return
            conn = http.client.HTTPConnection("127.0.0.1", emulator._backend, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                headers["Content-Length"] = str(len(body))
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP]
                self._send(resp.status, kept, data)
            finally:
                conn.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward  # noqa: N815

        def _send(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet tests
            pass

    return Proxy
