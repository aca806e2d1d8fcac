"""Read log entries from BigQuery (a dataset linked to a Log Analytics bucket), page by page.

For a day of production logs or a month of history, BigQuery scans in parallel what the Logging
API would hand out at 60–120 pages a minute. The query comes from sqlcompile.py; it runs with
the real `google-cloud-bigquery` client, and each result page is turned back into the
LogEntry dict the Logging API would have sent (row_to_entry) and read by the same
entry_to_record as a file or an API pull: same entries, same report. `--save` writes those
dicts, so the saved file re-analyses to the same report too.

The client is imported lazily (it is heavy). $DIAGNOSE_BIGQUERY_ENDPOINT (a URL such as
http://127.0.0.1:9050, used with anonymous credentials) is the test seam, like the Logging one.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import PullError, UsageError
from ..model import ParseStats, RawRecord
from .pulled import DEFAULT_MAX_ENTRIES, LOGIN_HINT, saved_hint, to_record
from .retrying import api_message, short
from .savefile import SaveFile
from .sqlcompile import SqlPlan

ENDPOINT_ENV = "DIAGNOSE_BIGQUERY_ENDPOINT"
PAGE_ROWS = 10_000
QUERY_TIMEOUT_S = 600.0  # the job, and the client's own retries of each API call
REQUEST_TIMEOUT_S = 60.0
ROLES_HINT = (
    "grant roles/bigquery.dataViewer on the linked dataset and roles/bigquery.jobUser on the project"
)
_HTTP_KEYS = {  # http_request STRUCT fields → LogEntry.httpRequest keys
    "request_method": "requestMethod", "request_url": "requestUrl", "request_size": "requestSize",
    "status": "status", "response_size": "responseSize", "user_agent": "userAgent",
    "remote_ip": "remoteIp", "server_ip": "serverIp", "referer": "referer", "latency": "latency",
    "protocol": "protocol",
}


def make_client(project: str, endpoint: str | None = None):
    """A `google.cloud.bigquery.Client` billing jobs to `project`."""
    endpoint = resolve_endpoint(endpoint)
    from google.cloud import bigquery

    if endpoint is not None:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(
            project=project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=endpoint),
        )
    import google.auth
    from google.auth import exceptions as auth_exceptions

    try:
        with warnings.catch_warnings():  # ADC from `gcloud auth` without a quota project: fine
            warnings.filterwarnings("ignore", message=".*end user credentials.*")
            credentials, _ = google.auth.default(
                scopes=["https://www.googleapis.com/auth/bigquery.readonly",
                        "https://www.googleapis.com/auth/cloud-platform.read-only"]
            )
    except auth_exceptions.DefaultCredentialsError as exc:
        raise PullError(
            f"no Google Cloud credentials found to query BigQuery in project {project}",
            hint=LOGIN_HINT,
        ) from exc
    return bigquery.Client(project=project, credentials=credentials)


def resolve_endpoint(endpoint: str | None) -> str | None:
    value = (endpoint or os.environ.get(ENDPOINT_ENV) or "").strip().rstrip("/")
    if not value:
        return None
    if not re.match(r"^https?://[^/\s]+$", value):
        raise UsageError(f"bad BigQuery endpoint {value!r}: expected a URL like http://127.0.0.1:9050")
    return value


def dry_run_bytes(plan: SqlPlan, endpoint: str | None = None) -> int:
    """The bytes BigQuery would scan (and bill) for the query; nothing is run."""
    from google.cloud import bigquery

    client = make_client(plan.project, endpoint)
    config = _config(plan, bigquery)
    config.dry_run = True
    config.use_query_cache = False
    with _errors(plan, client):
        job = client.query(plan.sql, job_config=config, project=plan.project,
                           timeout=REQUEST_TIMEOUT_S)
        return int(job.total_bytes_processed or 0)


def pull_rows(
    plan: SqlPlan,
    *,
    stats: ParseStats,
    save_path: Path | None = None,
    endpoint: str | None = None,
    page_rows: int = PAGE_ROWS,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[RawRecord]:
    """Run the query and yield one RawRecord per row, page by page, oldest first.

    More than `max_entries` rows ends the pull with PullError (exit 5), like the API pull;
    `save_path` gets each row as a LogEntry JSON line (atomically, see savefile.py).
    """
    from google.cloud import bigquery

    if max_entries < 1:
        raise UsageError(f"--max-entries must be at least 1, not {max_entries}")
    client = make_client(plan.project, endpoint)
    source = f"bigquery:{plan.table}"
    entries = pages = 0
    save = SaveFile(save_path)
    with save:
        try:
            with _errors(plan, client):
                job = client.query(plan.sql, job_config=_config(plan, bigquery),
                                   project=plan.project, timeout=REQUEST_TIMEOUT_S)
                rows = job.result(page_size=page_rows, timeout=QUERY_TIMEOUT_S)
                for page in rows.pages:
                    batch = [row_to_entry(row) for row in page]
                    pages += 1
                    entries += len(batch)
                    for entry in batch:
                        save.write(entry)
                    save.flush()
                    records = [r for r in (to_record(e, source, stats) for e in batch) if r]
                    if progress is not None:
                        progress(entries, pages)
                    yield from records
                    if entries >= max_entries and rows.next_page_token:
                        raise PullError(
                            f"stopped at the cap of {max_entries:,} rows ({entries:,} rows in "
                            f"{pages:,} pages read) before the end of the window",
                            hint="narrow --since/--until or raise --max-entries",
                        )
        except PullError as error:
            raise saved_hint(error, save_path, save.count) from error.__cause__


def row_to_entry(row: Mapping[str, Any]) -> dict:
    """A Log Analytics row → the LogEntry dict the Logging API returns for it (no null keys)."""
    entry: dict[str, Any] = {}
    stamp = row.get("timestamp")
    if isinstance(stamp, datetime):
        stamp = stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    simple = {"insert_id": "insertId", "log_name": "logName", "severity": "severity",
              "text_payload": "textPayload", "trace": "trace", "span_id": "spanId"}
    if stamp is not None:
        entry["timestamp"] = stamp
    for column, key in simple.items():
        if row.get(column) is not None:
            entry[key] = row.get(column)
    for column, key in (("json_payload", "jsonPayload"), ("proto_payload", "protoPayload"),
                        ("labels", "labels")):
        value = _json(row.get(column))
        if value is not None:
            entry[key] = value
    resource = row.get("resource")
    if isinstance(resource, Mapping):
        entry["resource"] = {k: v for k, v in (("type", resource.get("type")),
                                               ("labels", _json(resource.get("labels"))))
                             if v is not None}
    http = row.get("http_request")
    if isinstance(http, Mapping):
        request = {_HTTP_KEYS.get(k, k): v for k, v in http.items() if v is not None}
        if request:
            entry["httpRequest"] = request
    return entry


def _json(value: Any) -> Any:
    """A JSON column arrives parsed; tolerate a string from an older client or another view."""
    if isinstance(value, str):
        import json

        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _config(plan: SqlPlan, bigquery):
    return bigquery.QueryJobConfig(
        query_parameters=[bigquery.ScalarQueryParameter(name, kind, value)
                          for name, kind, value in plan.parameters()],
        use_legacy_sql=False,
    )


class _errors:
    """Turn client failures into one-line PullErrors that say what to do."""

    def __init__(self, plan: SqlPlan, client: Any):
        self.plan, self.client = plan, client

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None or isinstance(exc, PullError | GeneratorExit) or not isinstance(exc, Exception):
            return False
        error = _to_pull_error(exc, self.plan)
        if error is None:
            return False
        raise error from exc


def _to_pull_error(exc: Exception, plan: SqlPlan) -> PullError | None:
    import concurrent.futures

    import requests
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    if isinstance(exc, api.RetryError) and exc.cause is not None:
        exc = exc.cause  # type: ignore[assignment]
    table, project = plan.table, plan.project
    if isinstance(exc, auth.RefreshError | api.Unauthorized):
        return PullError(f"BigQuery refused the credentials: {short(exc)}", hint=LOGIN_HINT)
    if isinstance(exc, api.Forbidden):
        return PullError(
            f"permission denied querying {table}: the account needs roles/bigquery.dataViewer "
            f"on the dataset and roles/bigquery.jobUser on project {project} ({api_message(exc)})",
            hint=ROLES_HINT,
        )
    if isinstance(exc, api.NotFound):
        return PullError(
            f"BigQuery has no table {table}: {api_message(exc)}",
            hint="give the dataset linked to a Log Analytics bucket: --bigquery PROJECT.DATASET",
        )
    if isinstance(exc, api.BadRequest):
        return PullError(f"BigQuery rejected the query: {api_message(exc)}",
                         hint="--show-sql prints the query that was sent")
    if isinstance(exc, api.GoogleAPICallError):
        return PullError(f"BigQuery answered HTTP {exc.code}: {api_message(exc)}",
                         hint="try again later; https://status.cloud.google.com shows incidents")
    if isinstance(exc, concurrent.futures.TimeoutError):
        return PullError(f"the BigQuery query did not finish within {QUERY_TIMEOUT_S:g}s",
                         hint="narrow --since/--until")
    if isinstance(exc, requests.exceptions.RequestException | auth.TransportError | ConnectionError):
        return PullError(f"cannot reach BigQuery: {short(exc)}",
                         hint="check the network, proxy settings and the endpoint")
    return None
