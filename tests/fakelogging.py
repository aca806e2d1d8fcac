"""A fake Cloud Logging REST API (`POST /v2/entries:list`) on 127.0.0.1, for tests.

The pull's real `google.cloud.logging.Client` (REST, anonymous credentials) is pointed at it, so
the tests exercise the real client and wire protocol: the client's JSON request bodies (POSTed to
`/v2/entries:list?prettyPrint=false`), page tokens, Google error envelopes. The fake serves the
given entries in order, honours only the `timestamp>=` / `timestamp<` terms of the filter, and
pages by `pageSize` (the page token is the offset). Every request body is recorded, and its
headers. Answers are gzipped when the request accepts it, as Google's are. Any request can be
scripted to misbehave: 429 (with the RESOURCE_EXHAUSTED ErrorInfo body the real API sends), 500,
503, 401, 403, 400, garbage JSON, a cut connection, a stall, an empty page, a page whose
`nextPageToken` repeats the token asked for (`repeat`), a 307 redirect to `redirect_to`
(`redirect`), a slow-loris body that drips one byte every `drip_s` seconds (`slowloris`), headers
that drip the same way and never end (`slowheaders`), or any status and body (`odd`).
`endless=True` makes every page full of fresh entries with a new token, forever.
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ACTIONS = (
    "429", "500", "503", "401", "403", "400", "garbage", "cut", "stall", "empty", "repeat", "redirect",
    "slowloris", "slowheaders", "odd",
)
MAX_BODY = 1 << 20  # a request body larger than this is refused (bounds the read)
_BOUND = re.compile(r'timestamp\s*(>=|<)\s*"([^"]+)"')

QUOTA_429 = {
    "error": {
        "code": 429,
        "message": "Quota exceeded for quota metric 'Read requests' and limit 'Read requests "
        "per minute' of service 'logging.googleapis.com' for consumer 'project_number:1'.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {
                    "quota_limit": "ReadRequestsPerMinutePerProject",
                    "quota_limit_value": "60",
                    "quota_metric": "logging.googleapis.com/read_requests",
                    "service": "logging.googleapis.com",
                    "consumer": "projects/1",
                },
            }
        ],
    }
}
_ERRORS = {
    "500": (500, "INTERNAL", "Internal error encountered."),
    "503": (503, "UNAVAILABLE", "The service is currently unavailable."),
    "401": (401, "UNAUTHENTICATED", "Request had invalid authentication credentials."),
    "403": (403, "PERMISSION_DENIED", "Permission 'logging.logEntries.list' denied on resource."),
    "400": (
        400,
        "INVALID_ARGUMENT",
        'Unparseable filter: syntax error at line 1, column 12, token ")"',
    ),
}


def ts_nanos(stamp: str) -> int:
    """RFC 3339 `…Z` → integer nanoseconds since the epoch (the fake's own time arithmetic)."""
    base, _, frac = stamp.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(base + "+00:00").timestamp())
    return seconds * 1_000_000_000 + int((frac or "0").ljust(9, "0")[:9])


class FakeLogging:
    """Start with `with FakeLogging(entries) as fake:`; point the client at `fake.url`."""

    def __init__(
        self,
        entries: Iterable[object],
        *,
        stall_s: float = 2.0,
        drip_s: float = 0.2,
        endless: bool = False,
        redirect_to: str | None = None,
    ):
        self.entries = list(entries)
        self.stall_s, self.drip_s = stall_s, drip_s
        self.endless = endless
        self.redirect_to = redirect_to
        self.script: dict[int, str] = {}  # 1-based request number → action
        self.errors = dict(_ERRORS)  # action → (HTTP code, status, message); tests may edit
        self.odd: tuple[int, bytes] = (500, b"")  # what the `odd` action answers: status, body
        self.requests: list[dict] = []  # every request body, in order
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []  # every request's headers, names lower-cased
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def fail(self, action: str, *numbers: int) -> FakeLogging:
        """Answer request number(s) `numbers` (1-based) with `action` instead of entries."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        for n in numbers:
            self.script[n] = action
        return self

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeLogging:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()  # releases stalled handlers at once
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- request handling (called from handler threads) --

    def answer(self, path: str, body: dict, headers: dict[str, str]) -> tuple[str, object]:
        with self._lock:
            self.requests.append(body)
            self.paths.append(path)
            self.headers.append(headers)
            action = self.script.get(len(self.requests))
        if urlsplit(path).path != "/v2/entries:list":
            return "error", (404, "NOT_FOUND", f"no such method {urlsplit(path).path}")
        if action in self.errors:
            return "error", self.errors[action]
        if action == "429":
            return "json", (429, QUOTA_429)
        if action in ("garbage", "cut", "stall", "redirect", "slowheaders"):
            return action, None
        if action == "odd":
            return "raw", self.odd
        page = self._page(body, empty=action == "empty")
        if action == "repeat":
            page["nextPageToken"] = str(body.get("pageToken") or 0)
        if action == "slowloris":
            return "slowloris", json.dumps(page).encode("utf-8")
        return "json", (200, page)

    def _page(self, body: dict, *, empty: bool) -> dict:
        size = int(body.get("pageSize") or 50)
        start = int(body.get("pageToken") or 0)
        if empty:  # "did not have time to search": no entries, same position next time
            return {"nextPageToken": str(start)}
        if self.endless:
            return {"entries": [_made_up(n) for n in range(start, start + size)],
                    "nextPageToken": str(start + size)}
        matching = self._in_window(str(body.get("filter", "")))
        page = {"entries": matching[start : start + size]}
        if start + size < len(matching):
            page["nextPageToken"] = str(start + size)
        return page

    def _in_window(self, filter_str: str) -> list[object]:
        lows = [ts_nanos(v) for op, v in _BOUND.findall(filter_str) if op == ">="]
        highs = [ts_nanos(v) for op, v in _BOUND.findall(filter_str) if op == "<"]
        low, high = max(lows, default=None), min(highs, default=None)

        def keep(entry: object) -> bool:
            if not isinstance(entry, dict) or not str(entry.get("timestamp", "")).endswith("Z"):
                return True  # odd entries are served as they are (tests of bad input)
            t = ts_nanos(entry["timestamp"])
            return (low is None or t >= low) and (high is None or t < high)

        return [e for e in self.entries if keep(e)]


def _made_up(n: int) -> dict:
    """Entry number n of an endless log: distinct ids, one second apart."""
    seconds = 1_757_375_000 + n
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"insertId": f"endless-{n:08d}", "timestamp": stamp, "textPayload": f"line {n}",
            "logName": "projects/endless/logs/run.googleapis.com%2Fstdout"}


def _handler_for(fake: FakeLogging) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send_json(413, {"error": {"code": 413, "message": "too large"}})
                return
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"_unparseable": raw.decode("utf-8", "replace")}
            headers = {k.lower(): v for k, v in self.headers.items()}
            kind, payload = fake.answer(self.path, body, headers)
            if kind == "json":
                self._send_json(*payload)
            elif kind == "error":
                code, status, message = payload
                self._send_json(code, {"error": {"code": code, "message": message, "status": status}})
            elif kind == "raw":
                self._send_raw(*payload)
            elif kind == "garbage":
                self._send_raw(200, b"<html><body>502 Bad Gateway</body></html>")
            elif kind == "cut":
                self._cut()
            elif kind == "stall":
                fake._stop.wait(fake.stall_s)
                self._send_json(200, {"entries": []})
            elif kind == "redirect":
                self.send_response(307)
                self.send_header("Location", f"{fake.redirect_to}{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif kind == "slowloris":
                self._drip(payload)
            elif kind == "slowheaders":
                self._drip_headers()

        def _send_json(self, code: int, obj: object) -> None:
            self._send_raw(code, json.dumps(obj).encode("utf-8"))

        def _send_raw(self, code: int, data: bytes) -> None:
            zipped = "gzip" in (self.headers.get("Accept-Encoding") or "")
            if zipped:  # as Google's front ends do for the client's `Accept-Encoding: gzip`
                data = gzip.compress(data)
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                if zipped:
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (timeout test): nothing to do

        def _cut(self) -> None:
            """Promise 4 KiB, send a few bytes, then drop the connection."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", "4096")
            self.end_headers()
            self.wfile.write(b'{"entries": [{"insertId": "trunc')
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

        def _drip(self, data: bytes) -> None:
            """Headers at once, then the body one byte per `drip_s` until done or stopped."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                for i in range(len(data)):
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                    if fake._stop.wait(fake.drip_s):
                        break
            except OSError:
                pass  # the client hung up: the point of the test
            self.close_connection = True

        def _drip_headers(self) -> None:
            """A status line, then one header whose value never ends, a byte per `drip_s`."""
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                self.wfile.flush()
                while not fake._stop.wait(fake.drip_s):
                    self.wfile.write(b"a")
                    self.wfile.flush()
            except OSError:
                pass  # the client hung up: the point of the test
            self.close_connection = True

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - keep test output quiet
            pass

    return Handler
