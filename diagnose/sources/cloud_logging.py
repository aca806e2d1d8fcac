"""Pull log entries live from Google Cloud Logging (`entries.list`), page token by page token.

The Google client libraries are imported lazily, inside functions: google-cloud-logging costs
~0.6 s and hundreds of modules (grpc among them), which `diagnose --help` and file-only runs
must not pay.

Pages come through the real `google.cloud.logging.Client` and its public `list_entries`
(REST, `_use_grpc=False`), one page per call (sources/logpages.py). The client's requests go
through the `_http` object we give it (sources/httpfetch.py): no redirects, a total deadline
per request, a size cap. A failed page is asked for again with the SAME page token through
`google.api_core.retry.Retry` (sources/retrying.py), so nothing is skipped or repeated. The
pull ends on a repeated page token (a server loop) and at `max_entries`, and `--save` is
written atomically (sources/savefile.py).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import PullError, UsageError
from ..model import ParseStats, RawRecord
from .httpfetch import BoundedHttp, Redirected
from .logpages import Page, PageHttp, Query, fetch_page
from .pulled import DEFAULT_MAX_ENTRIES, LOGIN_HINT, saved_hint, to_record
from .retrying import GaveUp, NoProgress, RetryPolicy, api_message, describe, failure_kind, short
from .savefile import SaveFile

ENDPOINT_ENV = "DIAGNOSE_LOGGING_ENDPOINT"
DEFAULT_ENDPOINT = "https://logging.googleapis.com"
MAX_PAGE_SIZE = 1000
READ_SCOPES = ("https://www.googleapis.com/auth/logging.read",)


@dataclass(slots=True)
class Session:
    """The Logging client for one project and API base URL, and the HTTP object it uses."""

    project: str
    base_url: str
    client: Any  # google.cloud.logging.Client
    http: PageHttp


def make_client(
    project: str,
    endpoint: str | None = None,
    *,
    request_timeout_s: float = 30.0,
    request_deadline_s: float = 90.0,
) -> Session:
    """A `google.cloud.logging.Client` for the Logging API, its requests bounded (httpfetch).

    `endpoint` (or $DIAGNOSE_LOGGING_ENDPOINT) is the test seam: a URL such as
    http://127.0.0.1:8080, used with anonymous credentials. Without it, Application Default
    Credentials are used; when there are none, PullError says how to log in. No request is
    made here.
    """
    if not project or not project.strip():
        raise UsageError("a Google Cloud project id is required (--project)")
    base_url = resolve_endpoint(endpoint)
    credentials = _credentials(project, base_url)
    from google.cloud import logging as cloud_logging

    http = PageHttp(BoundedHttp(credentials, timeout_s=request_timeout_s, deadline_s=request_deadline_s))
    client = cloud_logging.Client(
        project=project,
        credentials=credentials,
        client_options={"api_endpoint": base_url},
        _use_grpc=False,  # REST: the requests go through `http`, bounded
        _http=http,
    )
    return Session(project, base_url, client, http)


def _credentials(project: str, base_url: str) -> Any:
    import google.auth
    from google.auth import exceptions as auth_exceptions

    if base_url != DEFAULT_ENDPOINT:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    try:
        with warnings.catch_warnings():  # ADC from `gcloud auth` without a quota project: fine
            warnings.filterwarnings("ignore", message=".*end user credentials.*")
            credentials, _ = google.auth.default(scopes=list(READ_SCOPES))
    except auth_exceptions.DefaultCredentialsError as exc:
        raise PullError(
            f"no Google Cloud credentials found to read logs of project {project}",
            hint=LOGIN_HINT,
        ) from exc
    return credentials


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
    max_entries: int = DEFAULT_MAX_ENTRIES,
    max_retries: int = 6,
    retry_budget_s: float = 120.0,
    request_timeout_s: float = 30.0,
    request_deadline_s: float = 90.0,
    backoff_initial_s: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> Iterator[RawRecord]:
    """Yield one RawRecord per entry matching `filter_str`, oldest first.

    `since`/`until` must be the window the filter states (see logfilter.build_filter); a filter
    without any `timestamp` term gets that window added, never the client's silent 24 hours.
    A page that fails transiently (429, 5xx, network, a bad body, a request past
    `request_deadline_s`) is asked for again with the same page token, with exponential backoff
    and jitter, at most `max_retries` times and `retry_budget_s` seconds per page; then
    PullError (exit 5). `on_retry(reason)` is told before each retry. More than `max_entries`
    entries, or a page token the server already gave, ends the pull with PullError too. Entries
    go to `save_path` (JSON lines, API shape, flushed per page) before they are yielded.
    """
    _check_args(page_size, max_entries, max_retries, retry_budget_s, request_timeout_s,
                request_deadline_s)
    filter_str = _with_window(filter_str, since, until)
    session = make_client(project, endpoint, request_timeout_s=request_timeout_s,
                          request_deadline_s=request_deadline_s)
    query = Query([f"projects/{session.project}"], filter_str, page_size)
    pager = _Pager(session, query)
    policy = RetryPolicy(max_retries, retry_budget_s, backoff_initial_s, on_retry)
    save = SaveFile(save_path)
    with save:
        try:
            yield from _pull(pager, policy, stats, save, max_entries, progress)
        except PullError as error:
            raise saved_hint(error, save_path, save.count) from error.__cause__
    if policy.total:
        stats.warnings.append(f"Cloud Logging pull: {policy.total} request(s) retried ({policy.summary()})")


@dataclass(slots=True)
class _Pager:
    """The query and the page tokens asked for so far."""

    session: Session
    query: Query
    entries: int = 0
    pages: int = 0
    requested: set[str | None] = field(default_factory=set)

    @property
    def page_size(self) -> int:
        return self.query.page_size

    def fetch(self, token: str | None) -> Page:
        """One page through the client. Raises on anything unusable."""
        page = fetch_page(self.session.client, self.session.http, self.query, token)
        following = page.next_token
        if not page.entries and following is not None and (following == token or following in self.requested):
            raise NoProgress("an empty page pointing back at a page already asked for")
        return page


def _pull(
    pager: _Pager,
    policy: RetryPolicy,
    stats: ParseStats,
    save: SaveFile,
    max_entries: int,
    progress: Callable[[int, int], None] | None,
) -> Iterator[RawRecord]:
    source = f"cloud-logging:{pager.session.project}"
    max_pages = _page_cap(max_entries, pager.page_size)
    token: str | None = None
    while True:
        page = _fetch_page(pager, policy, token)
        entries, following = page.entries, page.next_token
        pager.requested.add(token)
        pager.pages += 1
        pager.entries += len(entries)
        for entry in page.as_sent:
            save.write(entry)
        save.flush()  # a later failure or a kill keeps every page received
        records = [r for r in (to_record(e, source, stats) for e in entries) if r is not None]
        if progress is not None:
            progress(pager.entries, pager.pages)
        yield from records
        if following is None:
            return
        if following in pager.requested:
            raise PullError(
                f"the Logging API at {pager.session.base_url} sent page token {short(following, 60)!r} "
                f"a second time; stopped after {pager.entries} entries rather than loop",
                hint="try again later; the server is paging in a circle",
            )
        if pager.entries >= max_entries or pager.pages >= max_pages:
            raise PullError(
                f"stopped at the cap of {max_entries:,} entries ({pager.entries:,} entries in "
                f"{pager.pages:,} pages fetched) before the end of the window",
                hint="narrow --since/--until, add --filter terms, or raise --max-entries",
            )
        token = following


def _page_cap(max_entries: int, page_size: int) -> int:
    """Pages allowed: enough for max_entries at half-full pages, plus room for empty ones."""
    return 2 * -(-max_entries // page_size) + 1000


def _fetch_page(pager: _Pager, policy: RetryPolicy, token: str | None) -> Page:
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions

    base_url = pager.session.base_url
    try:
        return policy.call(pager.fetch, token)
    except GaveUp as exc:
        raise _gave_up(exc, pager) from exc.last
    except Redirected as exc:
        raise PullError(
            f"the Logging API at {base_url} answered {short(exc, 200)}; not followed, since the "
            "request carries the project and the filter",
            hint=f"check the endpoint ({ENDPOINT_ENV}) and any proxy in between",
        ) from exc
    except auth_exceptions.GoogleAuthError as exc:  # a failed refresh, after a 401 too
        if base_url != DEFAULT_ENDPOINT:  # the test seam's anonymous credentials cannot refresh
            raise PullError(
                f"the Logging API at {base_url} asked for credentials (HTTP 401); requests to "
                f"a custom endpoint are anonymous: {short(exc)}",
                hint=f"point {ENDPOINT_ENV} at an endpoint that needs no credentials, or unset it",
            ) from exc
        raise PullError(
            f"the Google Cloud credentials could not be refreshed: {short(exc)}", hint=LOGIN_HINT
        ) from exc
    except api_exceptions.GoogleAPICallError as exc:
        raise _http_error(exc, pager.session.project, base_url) from exc


def _gave_up(exc: GaveUp, pager: _Pager) -> PullError:
    kind, detail = failure_kind(exc.last), describe(exc.last)
    base_url, project = pager.session.base_url, pager.session.project
    if kind == "network":
        return PullError(
            f"cannot reach the Logging API at {base_url}: {detail} ({exc.reason})",
            hint="check the network, proxy settings and the endpoint",
        )
    if kind == "429":
        return PullError(
            f"Cloud Logging read quota exhausted for project {project}: {detail} ({exc.reason})",
            hint="wait a minute, or narrow --since/--until so fewer pages are needed",
        )
    return PullError(
        f"the Logging API at {base_url} kept failing: {detail} ({exc.reason})",
        hint="try again later; https://status.cloud.google.com shows Google-side incidents",
    )


def _http_error(exc, project: str, base_url: str) -> PullError:
    """A 4xx/5xx answer that is not retried (or not any more) → what the user should do."""
    from google.api_core import exceptions as api_exceptions

    message = api_message(exc)
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
    return PullError(f"the Logging API at {base_url} answered HTTP {exc.code}: {message}")


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


def _with_window(filter_str: str, since, until) -> str:
    from .logfilter import window_terms

    terms = window_terms(since, until)  # also validates the window
    if "timestamp" in filter_str.lower():
        return filter_str
    return " AND ".join(terms + ([f"({filter_str})"] if filter_str.strip() else []))


def _check_args(page_size: int, max_entries: int, max_retries: int, budget_s: float,
                timeout_s: float, deadline_s: float) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise UsageError(f"page size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
    if max_entries < 1:
        raise UsageError(f"--max-entries must be at least 1, not {max_entries}")
    if max_retries < 0 or budget_s < 0 or timeout_s <= 0 or deadline_s <= 0:
        raise UsageError("retry limits must not be negative and request time limits must be > 0")
