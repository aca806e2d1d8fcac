"""Which failures of a Google API request are worth repeating, and the bounded retry around one.

Built on `google.api_core.retry.Retry` (exponential backoff with full jitter, an overall
deadline per call) rather than a loop of our own; which failures are transient is api_core's
`if_exception_type` over `transient_types()`. What Retry does not bound — the number of
attempts — the predicate does: it counts, and refuses once `max_retries` were spent. The caller
then gets `GaveUp` carrying the last failure and the count, and says it in one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from .httpfetch import BadResponse, DeadlineExceeded

T = TypeVar("T")
BACKOFF_CAP_S = 32.0
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x1f\x7f-\x9f]")


class NoProgress(Exception):
    """An empty page pointing back at a page token already asked for: ask again, later."""


class GaveUp(Exception):
    """Retries ran out (count or deadline); `last` is the final failure."""

    def __init__(self, last: BaseException, retries: int, reason: str):
        super().__init__(f"{describe(last)} ({reason})")
        self.last, self.retries, self.reason = last, retries, reason


def transient_types() -> tuple[type[BaseException], ...]:
    """Failures worth asking again for: rate limits, 5xx, bad or cut answers, the network."""
    import requests
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    return (
        api.TooManyRequests, api.InternalServerError, api.BadGateway, api.ServiceUnavailable,
        api.GatewayTimeout, BadResponse, NoProgress, DeadlineExceeded,
        requests.exceptions.RequestException, auth.TransportError, ConnectionError, TimeoutError,
    )


def failure_kind(exc: BaseException) -> str | None:
    """"429", "5xx", "network", "bad response", "no progress", or None when not transient."""
    import requests
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    if isinstance(exc, api.TooManyRequests):
        return "429"
    if isinstance(exc, api.InternalServerError | api.BadGateway | api.ServiceUnavailable
                  | api.GatewayTimeout):
        return "5xx"
    if isinstance(exc, BadResponse | requests.exceptions.JSONDecodeError):
        return "bad response"
    if isinstance(exc, NoProgress):
        return "no progress"
    if isinstance(exc, DeadlineExceeded | requests.exceptions.RequestException
                  | auth.TransportError | ConnectionError | TimeoutError):
        return "network"
    return None


def describe(exc: BaseException) -> str:
    """One clean line for a failure, in the user's terms."""
    import requests
    from google.api_core import exceptions as api

    if isinstance(exc, api.TooManyRequests):
        return f"HTTP 429 {quota_detail(exc) or api_message(exc)}"
    if isinstance(exc, api.GoogleAPICallError):
        return f"HTTP {exc.code} {api_message(exc)}"
    if isinstance(exc, requests.exceptions.Timeout):
        return "no answer within the request timeout"
    if isinstance(exc, requests.exceptions.JSONDecodeError):
        return "the response was not valid JSON"
    return short(exc)


class RetryPolicy:
    """Retries for one logical operation (a pull); the streak limits apply per call."""

    def __init__(
        self,
        max_retries: int,
        budget_s: float,
        initial_s: float = 1.0,
        on_retry: Callable[[str], None] | None = None,
    ):
        self.max_retries, self.budget_s, self.initial_s = max_retries, budget_s, initial_s
        self.on_retry = on_retry
        self.total = 0
        self.kinds: dict[str, int] = {}
        self._streak = 0
        self._exhausted = False

    def call(self, target: Callable[..., T], *args: Any) -> T:
        """target(*args), repeated on transient failures; GaveUp when the limits are reached."""
        from google.api_core import exceptions as api
        from google.api_core.retry import Retry, if_exception_type

        self._streak, self._exhausted = 0, False
        transient = if_exception_type(*transient_types())
        retry = Retry(
            predicate=lambda exc: transient(exc) and self._within_limit(),
            initial=self.initial_s,
            maximum=max(self.initial_s, BACKOFF_CAP_S),
            multiplier=2.0,
            timeout=self.budget_s,
            on_error=self._note,
        )
        try:
            return retry(target)(*args)
        except api.RetryError as exc:
            last = exc.cause if exc.cause is not None else exc
            raise GaveUp(last, self._streak, f"gave up after {self.budget_s:g}s of retries") from last
        except Exception as exc:
            if self._exhausted:
                raise GaveUp(exc, self._streak, f"after {_retries(self._streak)}") from exc
            raise

    def summary(self) -> str:
        return ", ".join(f"{kind} ×{n}" for kind, n in sorted(self.kinds.items()))

    def _within_limit(self) -> bool:
        if self._streak >= self.max_retries:
            self._exhausted = True
            return False
        return True

    def _note(self, exc: Exception) -> None:
        kind = failure_kind(exc) or "other"
        self._streak += 1
        self.total += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if self.on_retry is not None:
            self.on_retry(describe(exc))


def _retries(n: int) -> str:
    return f"{n} retr{'y' if n == 1 else 'ies'}"


def api_message(exc: Any) -> str:
    """The server's own error text, without api_core's `POST <url>: ` prefix."""
    try:
        message = exc.response.json()["error"]["message"]
    except Exception:  # no response, not JSON, other shape: fall back to the exception text
        message = re.sub(r"^[A-Z]+ \S+: ", "", str(getattr(exc, "message", None) or exc))
    return short(message)


def quota_detail(exc: Any) -> str:
    reason = getattr(exc, "reason", None)
    meta = getattr(exc, "metadata", None)
    meta = meta if isinstance(meta, dict) else {}
    limit, value = meta.get("quota_limit"), meta.get("quota_limit_value")
    quota = f", {limit}={value}" if limit and value else ""
    return f"rate limited ({reason}{quota})" if reason else ""


def short(value: object, limit: int = 300) -> str:
    """Server text for a one-line message: control characters (ANSI escapes too) removed."""
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
