"""Bounded HTTP for a google-cloud client: no redirects, a total deadline, a size cap.

`BoundedHttp` is what the pull hands to `google.cloud.logging.Client(_http=...)`: an object with
`requests.Session.request`'s interface, over google-auth's `AuthorizedSession` (which adds and
refreshes the credentials). The client builds every request; this object decides how each may
run. `requests`' own timeout bounds each wait for bytes, not the whole answer: a server that
sends one byte every few seconds (slow loris) would hold a pull forever. So each request gets a
deadline for the whole exchange: a timer shuts the connection's socket when it passes (which
wakes a read blocked in the status line or the headers), and the body is read in small pieces
that check the deadline too; the answer handed back already holds its body, so the client's
own read cannot block. Redirects are never followed: the request carries the project and the
filter, and a 3xx pointing elsewhere (another host, or plain http) would hand them to whoever
answers there. Error answers (4xx/5xx) are returned for the client to turn into
`google.api_core.exceptions` (429 → TooManyRequests, 503 → ServiceUnavailable, …); api_core's
builder assumes Google's error envelope and raises AttributeError on any other JSON, so an
error body is first reduced to that envelope (`error_envelope`).
"""

from __future__ import annotations

import functools
import json
import socket
import threading
import time
from typing import Any

MAX_BODY_BYTES = 256 << 20  # one page of 1,000 entries is a few MB; anything near this is wrong
_READ_PIECE = 64 << 10


class BadResponse(Exception):
    """A 2xx answer we cannot use (not JSON, wrong shape, too large): worth a retry."""


class Redirected(Exception):
    """The server answered 3xx; the request is not repeated anywhere else."""

    def __init__(self, status: int, location: str | None):
        super().__init__(f"HTTP {status} redirect to {location or '(no Location)'}")
        self.status, self.location = status, location


class DeadlineExceeded(Exception):
    """The whole request (connect, headers, body) took longer than its deadline."""


class BoundedHttp:
    """`requests.Session.request`'s interface; every request bounded as the module says."""

    def __init__(self, credentials: Any, *, timeout_s: float, deadline_s: float):
        self.session = bounded_session(credentials)
        self.timeout_s, self.deadline_s = timeout_s, deadline_s

    @property
    def is_mtls(self) -> bool:  # asked by google-cloud-core when it picks an endpoint
        return bool(getattr(self.session, "is_mtls", False))

    def request(self, method: str, url: str, data: Any = None, headers: Any = None,
                timeout: Any = None, **kwargs: Any) -> Any:
        """The answer of any status but 3xx, its body already read; `timeout` is ours, not the caller's.

        Raises Redirected, DeadlineExceeded, BadResponse (body too large) or requests' and
        google-auth's network errors.
        """
        for forced in ("allow_redirects", "stream"):
            kwargs.pop(forced, None)
        started = time.monotonic()
        wait = min(self.timeout_s, self.deadline_s)
        with _Deadline(self.deadline_s) as deadline:
            try:
                response = self.session.request(
                    method, url, data=data, headers=headers, timeout=(wait, wait),
                    allow_redirects=False, stream=True, **kwargs,
                )
            except Exception as exc:
                deadline.check(exc)
                raise
            try:
                if 300 <= response.status_code < 400:
                    raise Redirected(response.status_code, response.headers.get("Location"))
                body = _read_body(response, started + self.deadline_s)
            except (BadResponse, Redirected):
                raise
            except Exception as exc:
                deadline.check(exc)
                raise
            finally:
                response.close()
            deadline.check(None)
        if response.status_code >= 400:
            body = error_envelope(response.status_code, body)
        return _loaded_class()(response, body)


def error_envelope(status: int, body: bytes) -> bytes:
    """`{"error": {...}}` with the shapes api_core reads, from whatever an error answer holds.

    Google's own envelope keeps its message, status and well-formed details (the 429's ErrorInfo
    names the quota); a proxy's HTML page or odd JSON becomes its first 300 characters.
    """
    try:
        payload = json.loads(body) if body else None
    except (ValueError, RecursionError):
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        text = body[:300].decode("utf-8", "replace").strip() or "no error details"
        return json.dumps({"error": {"code": status, "message": text}}).encode("utf-8")
    clean: dict[str, Any] = {"code": status, "message": str(error.get("message", "no error details"))}
    if isinstance(error.get("status"), str):
        clean["status"] = error["status"]
    details = error.get("details")
    if isinstance(details, list):
        clean["details"] = [
            d for d in details if isinstance(d, dict) and isinstance(d.get("metadata", {}), dict)
        ]
    return json.dumps({"error": clean}).encode("utf-8")


@functools.cache
def _loaded_class() -> type:
    """requests.Response whose body is bytes already read (requests is imported only when used)."""
    import requests

    class LoadedResponse(requests.Response):
        def __init__(self, original: Any, body: bytes):
            super().__init__()
            for name in ("status_code", "headers", "url", "reason", "request", "encoding",
                         "history", "elapsed", "cookies"):
                setattr(self, name, getattr(original, name))
            self._body = body

        @property
        def content(self) -> bytes:
            return self._body

        def close(self) -> None:  # the connection was released when the body was read
            pass

    return LoadedResponse


def _read_body(response: Any, deadline: float) -> bytes:
    raw = response.raw
    read = getattr(raw, "read1", None) or raw.read  # urllib3 ≥ 2 has read1: at most one recv
    pieces: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise DeadlineExceeded("the answer did not arrive within the request deadline")
        try:
            piece = read(_READ_PIECE, decode_content=True)
        except Exception as exc:  # urllib3 ProtocolError / ReadTimeoutError: a cut or stalled body
            raise _network_error(exc) from exc
        if not piece:
            return b"".join(pieces)
        size += len(piece)
        if size > MAX_BODY_BYTES:
            raise BadResponse(f"the response was larger than {MAX_BODY_BYTES:,} bytes")
        pieces.append(piece)


class _Deadline:
    """A timer that shuts the socket of this thread's request in flight when the time is up."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.connection: Any = None
        self.expired = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _in_flight.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        with self._lock:
            _in_flight.deadline = None
            self.connection = None

    def check(self, exc: BaseException | None) -> None:
        """After a failure (or at the end): a shut socket means the deadline, not the network."""
        if self.expired:
            raise DeadlineExceeded("the answer did not arrive within the request deadline") from exc

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sock = getattr(self.connection, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked recv in the other thread
                except OSError:
                    pass


_in_flight = threading.local()


def _register(connection: Any) -> None:
    deadline = getattr(_in_flight, "deadline", None)
    if deadline is not None:
        with deadline._lock:
            deadline.connection = connection
            expired = deadline.expired
        if expired:
            raise DeadlineExceeded("the answer did not arrive within the request deadline")


def bounded_session(credentials: Any) -> Any:
    """An AuthorizedSession whose requests BoundedHttp can cut at their deadline."""
    from google.auth.transport.requests import AuthorizedSession

    session = AuthorizedSession(credentials)
    adapter = _deadline_adapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _deadline_adapter() -> Any:
    """requests' HTTPAdapter whose connections tell the current _Deadline who they are."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class Conn(HTTPConnection):
        def request(self, *args: Any, **kwargs: Any) -> Any:
            _register(self)
            return super().request(*args, **kwargs)

    class TLSConn(HTTPSConnection):
        def request(self, *args: Any, **kwargs: Any) -> Any:
            _register(self)
            return super().request(*args, **kwargs)

    class Pool(HTTPConnectionPool):
        ConnectionCls = Conn

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = TLSConn

    pools = {"http": Pool, "https": TLSPool}

    class DeadlineAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = dict(pools)

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            manager.pool_classes_by_scheme = dict(pools)
            return manager

    return DeadlineAdapter()


def _network_error(exc: Exception) -> Exception:
    import requests
    from urllib3 import exceptions as u3

    if isinstance(exc, u3.ReadTimeoutError):
        return requests.exceptions.ReadTimeout(str(exc))
    if isinstance(exc, u3.HTTPError):
        return requests.exceptions.ConnectionError(f"the connection broke mid-answer: {exc}")
    return exc
