"""Pull log entries live from Google Cloud Logging (`entries.list`), with our own retry and resume.

The `google-cloud-logging` client is imported lazily, inside functions: it costs ~0.3 s and
~600 modules, which `diagnose --help` and file-only runs must not pay.

Why not just iterate `client.list_entries()`: on the REST path it never retries (a 429 or 5xx
ends the generator), it hides page tokens, and it converts entries into objects that drop
fields (`split`, `errorGroups`) and reject a time stamp without `Z`. So pages are fetched with
the client's own authenticated JSON connection and api_core's `HTTPIterator` (exactly what
`list_entries` does inside), keeping each entry as the raw API dict. On a retryable failure we
back off (exponential, with jitter) and resume by re-querying from the last time stamp seen,
skipping the insertIds already delivered at that time stamp, so nothing is lost or repeated.
The REST path is used in production too (`_use_grpc=False`), so what the tests exercise against
the local fake server is the code path users run.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from ..errors import PullError, UsageError
from ..model import ParseStats, RawRecord, Unparsed
from .logentry import entry_to_record

ENDPOINT_ENV = "DIAGNOSE_LOGGING_ENDPOINT"
DEFAULT_ENDPOINT = "https://logging.googleapis.com"
MAX_PAGE_SIZE = 1000
UNPARSED_CAP = 200  # keep at most this many Unparsed details (the total is always counted)
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 32.0
LOGIN_HINT = "run `gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS)"
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x1f\x7f-\x9f]")
_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$")


def make_client(project: str, endpoint: str | None = None):
    """A `google.cloud.logging.Client` on the REST transport.

    `endpoint` (or $DIAGNOSE_LOGGING_ENDPOINT) is the test seam: a URL such as
    http://127.0.0.1:8080, used with anonymous credentials. Without it, Application Default
    Credentials are used; when there are none, PullError says how to log in.
    """
    if not project or not project.strip():
        raise UsageError("a Google Cloud project id is required (--project)")
    endpoint = resolve_endpoint(endpoint)
    from google.auth import exceptions as auth_exceptions
    from google.cloud import logging as gcl

    if endpoint != DEFAULT_ENDPOINT:
        from google.auth.credentials import AnonymousCredentials

        return gcl.Client(
            project=project,
            credentials=AnonymousCredentials(),
            _use_grpc=False,
            client_options={"api_endpoint": endpoint},
        )
    try:
        with warnings.catch_warnings():  # ADC from `gcloud auth` without a quota project: fine
            warnings.filterwarnings("ignore", message=".*end user credentials.*")
            return gcl.Client(project=project, _use_grpc=False)
    except auth_exceptions.DefaultCredentialsError as exc:
        raise PullError(
            f"no Google Cloud credentials found to read logs of project {project}",
            hint=LOGIN_HINT,
        ) from exc


def resolve_endpoint(endpoint: str | None) -> str:
    """The API base URL: the argument, else $DIAGNOSE_LOGGING_ENDPOINT, else Google's."""
    value = (endpoint or os.environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT).strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+$", value):
        raise UsageError(f"bad Logging API endpoint {value!r}: expected a URL like http://127.0.0.1:8080")
    return value


def pull_records(
    project: str,
    since: datetime,
    until: datetime,
    *,
    filter_str: str,
    stats: ParseStats,
    save_path: Path | None = None,
    endpoint: str | None = None,
    page_size: int = 1000,
    max_retries: int = 6,
    retry_budget_s: float = 120.0,
    progress: Callable[[int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    request_timeout_s: float = 30.0,
    on_retry: Callable[[str, float], None] | None = None,
) -> Iterator[RawRecord]:
    """Yield one RawRecord per entry matching `filter_str`, oldest first.

    `since`/`until` must be the window the filter states (see logfilter.build_filter); a filter
    without any `timestamp` term gets that window added, never the client's silent 24 hours.
    Retries (429, 5xx, connection errors, bad JSON, stalls longer than `request_timeout_s`) are
    bounded per failure streak by `max_retries` and `retry_budget_s` (time spent, sleeps
    included); a page received ends the streak. Then PullError (exit 5). `on_retry(reason,
    delay_s)` is told before each backoff sleep. Each entry is written to `save_path` (JSON
    lines, API shape) before it is yielded, flushed per page.
    """
    _check_args(page_size, max_retries, retry_budget_s, request_timeout_s)
    filter_str = _with_window(filter_str, since, until)
    base_url = resolve_endpoint(endpoint)
    client = make_client(project, endpoint)
    puller = _Puller(project, base_url, client, filter_str, page_size, request_timeout_s)
    backoff = _Backoff(max_retries, retry_budget_s, sleep, on_retry)
    source = f"cloud-logging:{project}"
    with _save_file(save_path) as out:
        while True:
            try:
                for page in puller.pages():
                    backoff.reset()
                    yield from _take_page(page, puller, source, stats, out)
                    if progress is not None:
                        progress(puller.entries, puller.pages_read)
                break
            except Exception as exc:  # classified below; anything unknown is re-raised as is
                failure = _classify(exc, project, base_url)
                if failure is None:
                    raise
                if isinstance(failure, PullError):
                    raise _with_saved_hint(failure, save_path, puller.entries) from exc
                backoff.wait(failure, puller, save_path)
    if backoff.total:
        stats.warnings.append(f"Cloud Logging pull: {backoff.total} request(s) retried ({backoff.summary()})")


@dataclass(slots=True)
class _Puller:
    """One logical pull: the query, the resume cursor and the counters."""

    project: str
    base_url: str
    client: Any
    filter_str: str
    page_size: int
    timeout_s: float
    entries: int = 0  # unique entries delivered
    pages_read: int = 0
    skipped: int = 0  # entries re-sent after a resume and dropped as already delivered
    last_key: str | None = None  # canonical time stamp of the newest entry delivered
    seen_at_last: set[str] = field(default_factory=set)

    def query(self) -> str:
        if self.last_key is None:
            return self.filter_str
        # AND binds loosest in the Logging query language, so appending is always safe.
        return f'{self.filter_str} AND timestamp>="{self.last_key}"'

    def pages(self) -> Iterator[list]:
        """Raw entry lists, one per page, from a fresh query at the resume point."""
        from google.api_core import page_iterator

        iterator = page_iterator.HTTPIterator(
            client=self.client,
            api_request=self._request,
            path="/entries:list",
            item_to_value=lambda _iterator, item: item,
            items_key="entries",
            extra_params={
                "resourceNames": [f"projects/{self.project}"],
                "filter": self.query(),
                "orderBy": "timestamp asc",
                "pageSize": self.page_size,
            },
        )
        iterator._HTTP_METHOD = "POST"  # entries.list is a POST; list_entries does the same
        for page in iterator.pages:
            self.pages_read += 1
            yield list(page)

    def _request(self, **kwargs) -> dict:
        response = self.client._connection.api_request(timeout=self.timeout_s, **kwargs)
        if not isinstance(response, dict):
            raise _BadResponse("the response was not a JSON object")
        if not isinstance(response.get("entries", []), list):
            raise _BadResponse("`entries` in the response was not a list")
        token = response.get("nextPageToken")
        if token is not None and not isinstance(token, str):
            raise _BadResponse("`nextPageToken` in the response was not a string")
        if token == "":
            response.pop("nextPageToken")  # proto3 JSON: empty means no further page
        return response

    def is_new(self, entry: object) -> bool:
        """False for an entry already delivered before a resume; advances the cursor."""
        if not isinstance(entry, dict):
            return True
        key = _ts_key(entry.get("timestamp"))
        if key is None:
            return True
        ident = _identity(entry)
        if self.last_key is not None and key < self.last_key:
            self.skipped += 1
            return False
        if key == self.last_key:
            if ident in self.seen_at_last:
                self.skipped += 1
                return False
            self.seen_at_last.add(ident)
            return True
        self.last_key, self.seen_at_last = key, {ident}
        return True


def _take_page(
    page: list, puller: _Puller, source: str, stats: ParseStats, out: IO[str] | None
) -> Iterator[RawRecord]:
    records: list[RawRecord] = []
    for entry in page:
        if not puller.is_new(entry):
            continue
        puller.entries += 1
        if out is not None:
            out.write(json.dumps(entry, separators=(",", ":")) + "\n")
        record = _to_record(entry, source, stats)
        if record is not None:
            records.append(record)
    if out is not None:
        out.flush()  # a later failure keeps what was fetched (issue #6)
    yield from records


def _to_record(entry: object, source: str, stats: ParseStats) -> RawRecord | None:
    stats.records_read += 1
    stats.by_source[source] = stats.by_source.get(source, 0) + 1
    try:
        record, _naive = entry_to_record(entry, source=source, line=0)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:  # log data is untrusted
        where = entry.get("insertId") if isinstance(entry, dict) else None
        reason = f"insertId={where}: {exc}" if where else str(exc)
        stats.unparsed_total += 1
        if len(stats.unparsed) < UNPARSED_CAP:
            stats.unparsed.append(Unparsed(source=source, line=0, reason=reason))
        return None
    return record


class _BadResponse(Exception):
    """A 200 answer we cannot use (not JSON, wrong shape): retried like a 5xx."""


@dataclass(slots=True)
class _Retry:
    """A failure worth retrying, in words for the final message."""

    kind: str  # "429", "5xx", "network", "bad response"
    detail: str


class _Backoff:
    """Exponential backoff with jitter, bounded per failure streak by count and time."""

    def __init__(
        self,
        max_retries: int,
        budget_s: float,
        sleep: Callable[[float], None],
        notify: Callable[[str, float], None] | None,
    ):
        self.max_retries, self.budget_s = max_retries, budget_s
        self.sleep, self.notify = sleep, notify
        self.total = 0
        self.kinds: dict[str, int] = {}
        self.reset()

    def reset(self) -> None:
        self.streak = 0
        self.slept = 0.0  # delays asked for in this streak
        self.sleep_wall = 0.0  # wall time the sleep calls took (0 with an injected fake sleep)
        self.started = time.monotonic()

    def spent(self) -> float:
        """Time this streak has cost: requests (wall clock) plus the delays we asked for."""
        return (time.monotonic() - self.started - self.sleep_wall) + self.slept

    def wait(self, failure: _Retry, puller: _Puller, save_path: Path | None) -> None:
        delay = self.delay(self.streak)
        if self.streak >= self.max_retries or self.spent() + delay > self.budget_s:
            raise _with_saved_hint(_gave_up(failure, self, puller), save_path, puller.entries)
        self.streak += 1
        self.total += 1
        self.kinds[failure.kind] = self.kinds.get(failure.kind, 0) + 1
        self.slept += delay
        if self.notify is not None:
            self.notify(failure.detail, delay)
        before = time.monotonic()
        self.sleep(delay)
        self.sleep_wall += time.monotonic() - before

    @staticmethod
    def delay(attempt: int) -> float:
        """Equal jitter: half the exponential step fixed, half random, so delays never shrink."""
        step = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt)
        return step / 2 + random.uniform(0, step / 2)

    def summary(self) -> str:
        return ", ".join(f"{kind} ×{n}" for kind, n in sorted(self.kinds.items()))


def _gave_up(failure: _Retry, backoff: _Backoff, puller: _Puller) -> PullError:
    tries = f"after {backoff.streak} retr{'y' if backoff.streak == 1 else 'ies'}"
    if failure.kind == "network":
        return PullError(
            f"cannot reach the Logging API at {puller.base_url}: {failure.detail} ({tries})",
            hint="check the network, proxy settings and the endpoint",
        )
    if failure.kind == "429":
        return PullError(
            f"Cloud Logging read quota exhausted for project {puller.project}: {failure.detail} ({tries})",
            hint="wait a minute, or narrow --since/--until so fewer pages are needed",
        )
    return PullError(
        f"the Logging API at {puller.base_url} kept failing: {failure.detail} ({tries})",
        hint="try again later; https://status.cloud.google.com shows Google-side incidents",
    )


def _classify(exc: Exception, project: str, base_url: str) -> _Retry | PullError | None:
    """A retryable failure, a final PullError, or None for an exception we do not know."""
    import requests
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions

    if isinstance(exc, _BadResponse):
        return _Retry("bad response", str(exc))
    if isinstance(exc, requests.exceptions.JSONDecodeError):
        return _Retry("bad response", "the response was not valid JSON")
    if isinstance(exc, requests.exceptions.Timeout):
        return _Retry("network", "no answer within the request timeout")
    if isinstance(exc, requests.exceptions.RequestException | auth_exceptions.TransportError):
        return _Retry("network", _short(exc))
    if isinstance(exc, auth_exceptions.RefreshError):
        return PullError(
            f"the Google Cloud credentials could not be refreshed: {_short(exc)}", hint=LOGIN_HINT
        )
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        return _classify_http(exc, project, base_url)
    return None


def _classify_http(exc, project: str, base_url: str) -> _Retry | PullError:
    from google.api_core import exceptions as api_exceptions

    message = _api_message(exc)
    code = getattr(exc, "code", None)
    if isinstance(exc, api_exceptions.TooManyRequests):
        return _Retry("429", f"HTTP 429 {_quota_detail(exc) or message}")
    if isinstance(exc, api_exceptions.ServerError):
        return _Retry("5xx", f"HTTP {code} {message}")
    if isinstance(exc, api_exceptions.Unauthorized):
        return PullError(f"the Logging API refused the credentials: {message}", hint=LOGIN_HINT)
    if isinstance(exc, api_exceptions.Forbidden):
        return _forbidden(exc, project, message)
    if isinstance(exc, api_exceptions.BadRequest):
        return PullError(
            f"the Logging API rejected the filter: {message}",
            hint="check the --filter expression (Logging query language)",
        )
    if isinstance(exc, api_exceptions.NotFound):
        return PullError(
            f"the Logging API at {base_url} answered 404 for project {project}: {message}",
            hint="check the project id and the endpoint",
        )
    return PullError(f"the Logging API at {base_url} answered HTTP {code}: {message}")


def _api_message(exc) -> str:
    """The server's own error text, without api_core's `POST <url>: ` prefix."""
    try:
        message = exc.response.json()["error"]["message"]
    except Exception:  # no response, not JSON, other shape: fall back to the exception text
        message = re.sub(r"^[A-Z]+ \S+: ", "", str(getattr(exc, "message", None) or exc))
    return _short(message)


def _forbidden(exc, project: str, message: str) -> PullError:
    if getattr(exc, "reason", None) == "SERVICE_DISABLED":
        return PullError(
            f"the Cloud Logging API is not enabled for project {project}: {message}",
            hint=f"gcloud services enable logging.googleapis.com --project {project}",
        )
    return PullError(
        f"permission denied reading logs: the account needs roles/logging.viewer on project "
        f"{project} ({message})",
        hint=f"gcloud projects add-iam-policy-binding {project} "
        "--member=user:YOU --role=roles/logging.viewer",
    )


def _quota_detail(exc) -> str:
    reason = getattr(exc, "reason", None)
    meta = getattr(exc, "metadata", None) or {}
    limit, value = meta.get("quota_limit"), meta.get("quota_limit_value")
    quota = f", {limit}={value}" if limit and value else ""
    return f"rate limited ({reason}{quota})" if reason else ""


def _with_saved_hint(error: PullError, save_path: Path | None, entries: int) -> PullError:
    if save_path is not None and entries:
        kept = f"the {entries} entries fetched before the failure are in {save_path}"
        error.hint = f"{error.hint}; {kept}" if error.hint else kept
    return error


def _with_window(filter_str: str, since, until) -> str:
    from .logfilter import window_terms

    terms = window_terms(since, until)  # also validates the window
    if "timestamp" in filter_str.lower():
        return filter_str
    return " AND ".join(terms + ([f"({filter_str})"] if filter_str.strip() else []))


def _check_args(page_size: int, max_retries: int, budget_s: float, timeout_s: float) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise UsageError(f"page size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
    if max_retries < 0 or budget_s < 0 or timeout_s <= 0:
        raise UsageError("retry limits must not be negative and the request timeout must be > 0")


def _ts_key(value: object) -> str | None:
    """The API's RFC 3339 Z time stamp → a string that sorts in time order (9 fraction digits)."""
    if not isinstance(value, str):
        return None
    m = _TS.match(value)
    if m is None:
        return None
    return f"{m.group(1)}.{(m.group(2) or '').ljust(9, '0')}Z"


def _identity(entry: dict) -> str:
    ident = entry.get("insertId")
    if isinstance(ident, str) and ident:
        return ident
    return json.dumps(entry, sort_keys=True, separators=(",", ":"))


def _short(value: object, limit: int = 300) -> str:
    """Server text for a one-line message: control characters (ANSI escapes too) removed."""
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextmanager
def _save_file(path: Path | None) -> Iterator[IO[str] | None]:
    if path is None:
        yield None
        return
    try:
        handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    with handle:
        yield handle
