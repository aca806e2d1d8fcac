"""Unrelated traffic: the ~97 % of a real staging export that `diagnose` must skip quickly.

Cloud Run request logs (httpRequest only), health checks, DB / redis / pool lines, startup
chatter, the auth service, heartbeat DEBUG lines, and a few near misses that share words with
the rules (`MessageRouter initialized…`, routed pings, `authentication`) so prefilters are
exercised, not just bypassed. Shapes follow cloud-logging.md §1 and netra.md §4.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

BACKEND = "netra-backend-staging"
AUTH_SERVICE = "netra-auth-service"
FRONTEND = "netra-frontend-staging"
E2E_JOB = "netra-e2e-staging-tests"  # the e2e test runner, a Cloud Run job


@dataclass(slots=True)
class Entry:
    """A log entry before it is written in one of the output formats."""

    ts: int  # epoch microseconds: the time the application logged it
    service: str
    kind: str  # "app" (jsonPayload, GCP formatter), "request" (httpRequest), "system" and
    # "client" (textPayload: the platform's lines, and the e2e runner's Python logging),
    # "stderr" (textPayload on stderr: gunicorn's own lines and uncaught tracebacks)
    severity: str
    message: str = ""
    module: str = ""
    function: str = ""
    lineno: int = 0
    http: dict | None = None
    instance: int = 0  # index into the service's instance list
    revision: str | None = None  # another revision than the service's usual one (a rollout)
    instance_id: str | None = None  # an instance id of its own (a fresh crash-looping instance)


_APP = (
    # weight, severity, module, function, line, message template
    (14, "INFO", "netra_backend.app.middleware.security_response_middleware", "dispatch", 47,
     "Response for {path}: status=200, is_api={is_api}, has_auth={has_auth}"),
    (14, "INFO", "netra_backend.app.core.request_context", "log_request_details", 69,
     "Request: GET {path} | Status: 200 | Duration: {ms}ms | Trace: {uuid}"),
    (8, "WARNING", "netra_backend.app.middleware.gcp_auth_context_middleware", "dispatch", 122,
     "Session access failed (middleware not installed?)"),
    (7, "INFO", "netra_backend.app.db.postgres_core", "log_pool_status", 311,
     "Database connection pool status: size=20, checked_in={cin}, checked_out={cout}, "
     "overflow=0"),
    (6, "INFO", "netra_backend.app.redis_manager", "health_check", 204,
     "Redis health check ok: ping {ms}ms, pool {cout}/50 in use"),
    (5, "INFO", "netra_backend.app.db.clickhouse", "execute_query", 418,
     "ClickHouse query completed in {ms}ms (rows={rows})"),
    (6, "DEBUG", "netra_backend.app.routes.websocket", "_handle_websocket_messages", 1003,
     "Heartbeat timeout for connection: {conn}, continuing loop"),
    (4, "DEBUG", "netra_backend.app.routes.websocket", "_handle_websocket_messages", 1011,
     "Received pong from {conn}"),
    (4, "INFO", "netra_backend.app.services.thread_service", "get_threads", 77,
     "Retrieved {rows} threads for user {numeric}"),
    (2, "WARNING", "netra_backend.app.core.health_monitor", "_check_component", 143,
     "Component agent_websocket_bridge reported unhealthy status: uninitialized"),
    (2, "INFO", "netra_backend.app.services.llm_manager", "ask_llm", 265,
     "LLM request completed: model=gemini-2.5-flash, tokens={rows}, latency={ms}ms"),
    (1, "INFO", "netra_backend.app.websocket_core.handlers", "route_message", 947,
     "MessageRouter processing message type: MessageType.PING from raw type: ping"),
    (1, "INFO", "netra_backend.app.websocket_core.handlers", "route_message", 960,
     "Found handler HeartbeatHandler for message type MessageType.PING"),
    (1, "WARNING", "netra_backend.app.websocket_core.utils", "_heartbeat_loop", 88,
     "WebSocket heartbeat timeout"),
)
_STARTUP = (
    ("INFO", "logging", "handle", 978, "Started server process [1]"),
    ("INFO", "netra_backend.app.smd", "_run_phase", 121,
     "PHASE COMPLETE: DATABASE - connected to postgres in {ms}ms"),
    ("INFO", "netra_backend.app.websocket_core.handlers", "__init__", 917,
     "MessageRouter initialized with 9 base handlers"),
    ("INFO", "netra_backend.app.websocket_core.handlers", "get_message_router", 1118,
     "MessageRouter singleton created with 9 handlers"),
    ("INFO", "logging", "handle", 978, "Application startup complete."),
)
_AUTH = (
    (5, "INFO", "auth_service.auth_core.routes.auth_routes", "validate_token", 402,
     "Token=REDACTED validated for user ***@netrasystems.ai"),
    (3, "INFO", "auth_service.auth_core.services.auth_service", "authenticate_service", 188,
     "Service-to-service authentication successful for netra-backend"),
    (2, "WARNING", "auth_service.auth_core.oauth_manager", "validate_redirect", 97,
     "OAuth=REDACTED URI mismatch (non-critical in staging)"),
    (1, "INFO", "auth_service.auth_core.database.connection", "get_session", 64,
     "Auth database session opened (pool 3/10)"),
)
_REQUESTS = (
    # weight, service, method, path, statuses, user agent
    (30, BACKEND, "GET", "/health", (200,), "GoogleHC/1.0"),
    (12, BACKEND, "GET", "/api/threads", (200, 200, 200, 401), "Mozilla/5.0"),
    (8, BACKEND, "GET", "/api/agents/status", (200, 200, 404), "Mozilla/5.0"),
    (6, BACKEND, "POST", "/api/chat/history", (200, 200, 500), "Mozilla/5.0"),
    (4, BACKEND, "GET", "/ws", (101,), "Netra-E2E-Tests/1.0"),  # refusals: bench/incidents.py
    (8, AUTH_SERVICE, "POST", "/auth/validate", (200, 200, 200, 401), "python-httpx/0.27.0"),
    (3, AUTH_SERVICE, "GET", "/health", (200,), "GoogleHC/1.0"),
    (14, FRONTEND, "GET", "/_next/static/chunks/{hex}.js", (200, 200, 304), "Mozilla/5.0"),
    (5, FRONTEND, "GET", "/chat", (200,), "Mozilla/5.0"),
)
_PATHS = ("/health", "/api/threads", "/api/agents/status", "/ws")


class NoiseMaker:
    """Draws one unrelated entry at a time; the mix is fixed, the content seeded."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._app_w = [w for w, *_ in _APP]
        self._auth_w = [w for w, *_ in _AUTH]
        self._req_w = [w for w, *_ in _REQUESTS]
        self.startup_left: list[tuple] = []

    def entry(self, ts: float) -> Entry:
        r = self.rng.random()
        if self.startup_left:
            return self._startup(ts)
        if r < 0.42:
            return self._request(ts)
        if r < 0.90:
            return self._app(ts)
        if r < 0.99995:
            return self._auth(ts)
        self.startup_left = list(_STARTUP)  # a new instance: its startup lines follow
        return self._system(ts)

    def _fill(self, template: str) -> str:
        rng = self.rng
        if "{" not in template:
            return template
        return template.format(
            path=rng.choice(_PATHS), is_api=rng.random() < 0.5, has_auth=rng.random() < 0.3,
            ms=f"{rng.uniform(0.4, 60.0):.2f}", uuid=_uuid(rng), cin=rng.randrange(10, 20),
            cout=rng.randrange(0, 10), rows=rng.randrange(1, 500),
            conn=f"ws_{rng.getrandbits(32):08x}_{1757370000 + rng.randrange(90000)}_"
            f"{rng.getrandbits(32):08x}",
            numeric="10" + "".join(rng.choices("0123456789", k=19)),
        )

    def _app(self, ts: float) -> Entry:
        _, sev, module, func, line, tmpl = self.rng.choices(_APP, self._app_w)[0]
        return Entry(ts, BACKEND, "app", sev, self._fill(tmpl), module, func, line,
                     instance=self.rng.randrange(4))

    def _auth(self, ts: float) -> Entry:
        _, sev, module, func, line, tmpl = self.rng.choices(_AUTH, self._auth_w)[0]
        return Entry(ts, AUTH_SERVICE, "app", sev, tmpl, module, func, line,
                     instance=self.rng.randrange(2))

    def _startup(self, ts: float) -> Entry:
        sev, module, func, line, tmpl = self.startup_left.pop(0)
        return Entry(ts, BACKEND, "app", sev, self._fill(tmpl), module, func, line, instance=0)

    def _system(self, ts: float) -> Entry:
        return Entry(ts, BACKEND, "system", "INFO",
                     "Starting new instance. Reason: AUTOSCALING - Instance started due to "
                     "configured scaling factors (e.g. CPU utilization, request throughput, etc.) "
                     "or no existing capacity for current traffic.")

    def _request(self, ts: float) -> Entry:
        rng = self.rng
        _, service, method, path, statuses, agent = rng.choices(_REQUESTS, self._req_w)[0]
        status = rng.choice(statuses)
        latency = rng.uniform(30.0, 900.0) if status == 101 else rng.uniform(0.001, 0.4)
        http = {
            "requestMethod": method,
            "requestUrl": f"https://{_host(service)}{path.format(hex=f'{rng.getrandbits(48):012x}')}",
            "requestSize": str(rng.randrange(200, 2400)),
            "status": status,
            "responseSize": str(rng.randrange(90, 40000)),
            "userAgent": agent,
            "remoteIp": f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}."
            f"{rng.randrange(1, 255)}",
            "serverIp": "216.239.38.53",
            "latency": f"{latency:.9f}s",
            "protocol": "HTTP/1.1",
        }
        severity = "ERROR" if status >= 500 else "WARNING" if status >= 400 else "INFO"
        return Entry(ts, service, "request", severity, http=http,
                     instance=rng.randrange(4 if service == BACKEND else 2))


def _host(service: str) -> str:
    return {
        BACKEND: "api.staging.netrasystems.ai",
        AUTH_SERVICE: "auth.staging.netrasystems.ai",
        FRONTEND: "app.staging.netrasystems.ai",
    }[service]


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-9{h[17:20]}-{h[20:]}"
