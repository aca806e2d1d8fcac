"""One bounded JSON POST to a Google REST API: no redirects, a total deadline, a size cap.

`requests`' own timeout bounds each wait for bytes, not the whole answer: a server that sends
one byte every few seconds (slow loris) would hold a pull forever. So the body is read in
small pieces against a deadline for the whole request. Redirects are never followed: the
request carries the project and the filter, and a 3xx pointing elsewhere (another host, or
plain http) would hand them to whoever answers there. Error answers become the matching
`google.api_core.exceptions` class (429 → TooManyRequests, 503 → ServiceUnavailable, …), built
with api_core's public helper, so retry predicates and messages work on standard types.
"""

from __future__ import annotations

import json
import time
from typing import Any

MAX_BODY_BYTES = 256 << 20  # one page of 1,000 entries is a few MB; anything near this is wrong
_READ_PIECE = 64 << 10


class BadResponse(Exception):
    """A 2xx answer we cannot use (not JSON, wrong shape, cut short): worth a retry."""


class Redirected(Exception):
    """The server answered 3xx; the request is not repeated anywhere else."""

    def __init__(self, status: int, location: str | None):
        super().__init__(f"HTTP {status} redirect to {location or '(no Location)'}")
        self.status, self.location = status, location


class DeadlineExceeded(Exception):
    """The whole request (connect, headers, body) took longer than its deadline."""


def post_json(session: Any, url: str, body: dict, *, timeout_s: float, deadline_s: float) -> dict:
    """POST `body` as JSON, return the decoded JSON object of a 2xx answer.

    `timeout_s` bounds each wait for bytes (connect, then every read); `deadline_s` bounds the
    whole request. Raises Redirected, DeadlineExceeded, BadResponse, requests' network errors,
    or a google.api_core.exceptions.GoogleAPICallError for a 4xx/5xx answer.
    """
    started = time.monotonic()
    wait = min(timeout_s, deadline_s)
    response = session.request(
        "POST", url, json=body, timeout=(wait, wait), allow_redirects=False, stream=True
    )
    try:
        if 300 <= response.status_code < 400:
            raise Redirected(response.status_code, response.headers.get("Location"))
        raw = _read_body(response, started + deadline_s)
    finally:
        response.close()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = None
    if response.status_code >= 400:
        from google.api_core import exceptions

        if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
            text = raw[:300].decode("utf-8", "replace") or "no error details"
            payload = {"error": {"message": text}}
        raise exceptions.format_http_response_error(response, "POST", url, payload)
    if not isinstance(payload, dict):
        raise BadResponse("the response was not a JSON object")
    return payload


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
            raise BadResponse(f"the response was larger than {MAX_BODY_BYTES >> 20} MiB")
        pieces.append(piece)


def _network_error(exc: Exception) -> Exception:
    import requests
    from urllib3 import exceptions as u3

    if isinstance(exc, u3.ReadTimeoutError):
        return requests.exceptions.ReadTimeout(str(exc))
    if isinstance(exc, u3.HTTPError):
        return requests.exceptions.ConnectionError(f"the connection broke mid-answer: {exc}")
    return exc
