"""One page of `entries.list`, fetched through the real `google.cloud.logging.Client`.

The client's public `list_entries(page_token=...)` yields entries and follows page tokens by
itself; it does not say where one page ends or what the next token is. So the client is given
`PageHttp` as its `_http` object (a documented constructor argument): it lets one
`list_entries` call make exactly ONE request, checks that answer's shape and keeps it. A second
request (the client moving on to the next page) is refused with `PageEnd` before it is sent, so
the caller learns the next page token from the answer kept, and asks for that page — or the
same page again after a failure — with its own `Retry`.

Entries reach the analysis as the client's `LogEntry.to_api_repr()` dicts. Those keep what the
analysis reads (textPayload/jsonPayload/protoPayload, httpRequest, resource type and labels,
labels.instanceId, insertId, severity, timestamp, logName, trace); they drop `receiveTimestamp`,
`split`, `errorGroups` and other newer LogEntry fields, and cut time stamps to microseconds.
`--save` writes the entries as the API sent them (`Page.as_sent`).
The client refuses an entry it cannot turn into an object (no `logName`, a time stamp without
`Z`, not an object at all), and its generator stops there; the rest of that page is then taken
as the API sent it, so every entry is still counted (read, or unparsed with why).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .httpfetch import BadResponse, BoundedHttp

# What the client's entry conversion (or to_api_repr) raises on an odd entry.
_CONVERSION_ERRORS = (ValueError, TypeError, KeyError, AttributeError, OverflowError)


class PageEnd(Exception):
    """The client asked for a second page within one page fetch; not sent."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page: the entries to analyse, the next page token (None at the end), the entries as sent.

    `as_sent` is what `--save` keeps: every field the API sent, so a saved pull is complete.
    """

    entries: list
    next_token: str | None
    as_sent: list


@dataclass(frozen=True, slots=True)
class Query:
    """What every page request of one pull asks for."""

    resource_names: list[str]
    filter_str: str
    page_size: int


class PageHttp:
    """The client's `_http`: one request per page fetch, its 2xx answer checked and kept."""

    def __init__(self, http: BoundedHttp):
        self.http = http
        self.page: Page | None = None
        self._sent = False

    @property
    def is_mtls(self) -> bool:
        return self.http.is_mtls

    def expect_one(self) -> None:
        """Start a page fetch: the next request is sent, any after it refused."""
        self.page, self._sent = None, False

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        if self._sent:
            raise PageEnd("the client asked for the next page")
        self._sent = True
        response = self.http.request(method, url, **kwargs)
        if 200 <= response.status_code < 300:
            self.page = read_page(response.content)
        return response


def read_page(body: bytes) -> Page:
    """The entries and next token of an entries.list answer; BadResponse if it has another shape."""
    try:
        payload = json.loads(body) if body else None
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        raise BadResponse("the response was not a JSON object")
    entries = payload.get("entries", [])
    if not isinstance(entries, list):
        raise BadResponse("`entries` in the response was not a list")
    following = payload.get("nextPageToken")
    if following is not None and not isinstance(following, str):
        raise BadResponse("`nextPageToken` in the response was not a string")
    return Page(entries, following or None, entries)  # proto3 JSON: empty means no further page


def fetch_page(client: Any, http: PageHttp, query: Query, token: str | None) -> Page:
    """The page at `token`: entries as the client's to_api_repr() dicts (see module doc).

    Raises what the request raised: google.api_core exceptions for 4xx/5xx answers, BadResponse,
    Redirected, DeadlineExceeded, network errors.
    """
    from google.cloud.logging import ASCENDING

    http.expect_one()
    stream = client.list_entries(
        resource_names=query.resource_names,
        filter_=query.filter_str,
        order_by=ASCENDING,
        page_size=query.page_size,
        page_token=token,
    )
    entries: list = []
    try:
        for entry in stream:
            entries.append(entry.to_api_repr())  # noqa: PERF401 - one by one: a refusal keeps the prefix
    except PageEnd:
        pass
    except _CONVERSION_ERRORS:
        if http.page is None:  # not an entry the client refused: the request itself failed
            raise
    finally:
        stream.close()
    page = http.page
    if page is None:  # the client returned without asking: cannot happen with a page token set
        raise BadResponse("the client made no request for the page")
    entries.extend(page.entries[len(entries):])  # after a refused entry: the rest as sent
    return Page(entries, page.next_token, page.entries)
