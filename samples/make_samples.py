"""Write the bundled sample logs in samples/: deterministic (seeded), so a diff shows real changes.

Each sample is a different input shape with a known outcome (samples/README.md says which). The
log lines follow the real Netra backend templates (netra-systems/zen, Sept 2025): loguru/GCP JSON
message text, Cloud Run envelopes, id shapes; users, ids and timings are invented.

    python samples/make_samples.py           # rewrite the samples next to this script
    python samples/make_samples.py --check   # exit 1 if regenerating would change any file
"""

from __future__ import annotations

import gzip
import io
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20250908
PROJECT = "netra-staging"
SERVICE = "netra-backend-staging"
SEV_OF_STATUS = {1: "INFO", 2: "INFO", 3: "INFO", 4: "WARNING", 5: "ERROR"}

# Where each template is logged from (module:function:line), as loguru/GCP labels show it.
WS = "netra_backend.app.routes.websocket"
WHERE = {
    "auth_check": f"{WS}:websocket_endpoint:402",
    "e2e": f"{WS}:websocket_endpoint:409",
    "ssot_start": f"{WS}:websocket_endpoint:497",
    "ssot_auth": "netra_backend.app.websocket_core.unified_websocket_auth:authenticate:212",
    "auth_fail": f"{WS}:websocket_endpoint:551",
    "auth_ok": f"{WS}:websocket_endpoint:571",
    "factory": f"{WS}:websocket_endpoint:577",
    "deps": f"{WS}:websocket_endpoint:671",
    "handlers": f"{WS}:websocket_endpoint:742",
    "authed": f"{WS}:websocket_endpoint:838",
    "registered": f"{WS}:websocket_endpoint:851",
    "established": f"{WS}:websocket_endpoint:889",
    "loop": f"{WS}:_handle_websocket_messages:968",
    "route": f"{WS}:_handle_websocket_messages:1014",
    "route_ok": f"{WS}:_handle_websocket_messages:1019",
    "route_fail": f"{WS}:_handle_websocket_messages:1017",
    "loop_crash": f"{WS}:_handle_websocket_messages:1088",
    "ws_error": f"{WS}:websocket_endpoint:1160",
    "loop_exit": f"{WS}:_handle_websocket_messages:1102",
    "cleanup": f"{WS}:websocket_endpoint:1187",
    "unknown": "netra_backend.app.websocket_core.handlers:route_message:939",
    "normalized": "netra_backend.app.websocket_core.handlers:route_message:947",
    "found": "netra_backend.app.websocket_core.handlers:route_message:960",
    "ack": "netra_backend.app.websocket_core.handlers:_send_unknown_message_ack:1021",
    "reject": "netra_backend.app.websocket_core.agent_handler:_handle_message_v3:301",
    "processed": "netra_backend.app.websocket_core.agent_handler:_handle_message_v3:386",
    "msh": "netra_backend.app.services.message_handlers:_process_agent_request:141",
    "bridge": "netra_backend.app.services.agent_websocket_bridge:notify_{event}:1042",
    "core": "netra_backend.app.agents.supervisor.agent_execution_core:execute_agent:118",
    "manager": "netra_backend.app.websocket_core.unified_manager:send_to_user:466",
    "heartbeat": "netra_backend.app.websocket_core.utils:_heartbeat_loop:212",
}


@dataclass(slots=True)
class Line:
    """One log line before it is dressed in a file format."""

    ts: datetime
    severity: str
    where: str  # module:function:line
    message: str
    instance: str = ""
    http: dict | None = None  # a Cloud Run request log instead of an app line
    text: bool = False  # platform text line (varlog/system), not app JSON
    error: dict | None = None  # GCP formatter's exception object


@dataclass
class Gen:
    """Seeded id/time source plus the lines written so far for one sample."""

    rng: random.Random
    debug: bool = True  # DEBUG lines (agent_thinking, tool_*) are in the export
    era: str = "0908"  # 0908: emoji text; 0903: loguru era; 0915: ASCII tokens, SSOT routes
    lines: list[Line] = field(default_factory=list)
    instance: str = ""
    written: dict[str, datetime] = field(default_factory=dict)  # last entry time per instance

    def hex(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def log(self, ts: datetime, severity: str, where: str, message: str, **kw) -> None:
        if severity == "DEBUG" and not self.debug:
            return
        self.lines.append(Line(ts, severity, where, message, kw.pop("instance", self.instance), **kw))

    def ms(self, lo: int, hi: int) -> timedelta:
        return timedelta(milliseconds=self.rng.randint(lo, hi), microseconds=self.rng.randint(0, 999))

    def uuid(self) -> str:
        variant = self.rng.choice("89ab")
        return f"{self.hex(8)}-{self.hex(4)}-4{self.hex(3)}-{variant}{self.hex(3)}-{self.hex(12)}"

    def emo(self, emoji: str, token: str) -> str:
        """The message prefix the era prints: literal emoji before 09-11, ASCII token after."""
        return emoji if self.era != "0915" else token


# ---------------------------------------------------------------------------------------------
# Ids


def instance_id(g: Gen) -> str:
    return "0069c7a9" + g.hex(88)


def google_user(g: Gen) -> str:
    return "10" + "".join(g.rng.choice("0123456789") for _ in range(19))


def e2e_user(g: Gen) -> str:
    return f"e2e-staging-{g.hex(8)}"


def conn_id(g: Gen, user: str, ts: datetime) -> str:
    return f"ws_{user[:8]}_{int(ts.timestamp())}_{g.hex(8)}"


def thread_id(g: Gen, ts: datetime) -> str:
    if g.era == "0903":
        return f"thread_{g.hex(16)}"
    return f"thread_session_{int(ts.timestamp() * 1000) % 100000}_{g.hex(8)}"


def run_id(g: Gen, thread: str, ts: datetime) -> str:
    ms = int(ts.timestamp() * 1000)
    if g.era == "0903":
        return f"{thread}_run_{ms}_{g.hex(8)}"
    return f"run_{thread}_{ms % 100000}_{g.hex(8)}"


# ---------------------------------------------------------------------------------------------
# Backend behaviour, one function per stretch of the real code path (routes/websocket.py @0908)


def ws_connect(g: Gen, t: datetime, user: str, e2e: bool) -> tuple[datetime, str]:
    """Accept + SSOT auth + factory + handler registration + loop entry; returns (t, conn id)."""
    conn = conn_id(g, user, t)
    g.log(t, "INFO", WHERE["auth_check"],
          f"WebSocket auth check: env=staging, is_testing=False, is_e2e_testing={e2e}")
    if e2e:
        hdrs = "{'x-test-type': 'E2E', 'x-test-environment': 'staging', 'x-e2e-test': 'true'}"
        g.log(t, "INFO", WHERE["e2e"], f"E2E detection via headers: True, headers: {hdrs}")
    t += g.ms(3, 12)
    g.log(t, "INFO", WHERE["ssot_start"], g.emo("🔒", "[U+1F512]")
          + " SSOT AUTHENTICATION: Starting WebSocket authentication using unified service")
    g.log(t, "INFO", WHERE["ssot_auth"],
          "SSOT WEBSOCKET AUTH=REDACTED authentication (state: WebSocketState.CONNECTED)")
    t += g.ms(20, 90)
    g.log(t, "INFO", WHERE["auth_ok"],
          f"[OK] SSOT AUTHENTICATION SUCCESS: user={user[:8]}..., client_id={conn}")
    t += g.ms(2, 8)
    g.log(t, "INFO", WHERE["factory"], g.emo("🏭", "[U+1F3ED]")
          + f" FACTORY PATTERN: Created isolated WebSocket manager (id: {g.rng.randint(10**14, 10**15)})")
    g.log(t, "INFO", WHERE["handlers"],
          "WebSocket message router has 8 handlers before agent handler registration")
    g.log(t, "INFO", WHERE["deps"], "WebSocket dependency check - Supervisor: True, ThreadService: True")
    g.log(t, "INFO", WHERE["handlers"],
          "Registered new AgentMessageHandler for connection (will cleanup on disconnect)")
    g.log(t, "INFO", WHERE["handlers"], "Total handlers after registration: 9")
    t += g.ms(2, 10)
    g.log(t, "INFO", WHERE["authed"], f"WebSocket authenticated for user: {user} at {t.isoformat()}")
    g.log(t, "INFO", WHERE["registered"], f"Registered connection with isolated manager: {conn}")
    g.log(t, "INFO", WHERE["established"],
          f"WebSocket connection fully established for user {user} in staging using FACTORY_PATTERN")
    t += g.ms(5, 30)
    g.log(t, "INFO", WHERE["loop"], f"Entering message handling loop for connection: {conn} (user: {user})")
    g.log(t, "INFO", WHERE["loop"], "WebSocket state at loop entry - client_state: "
          "WebSocketState.CONNECTED, application_state: WebSocketState.CONNECTED")
    return t, conn


def ws_close(g: Gen, t: datetime, opened: datetime, conn: str, user: str, msgs: int = 1,
             errors: int = 0) -> None:
    dur = (t - opened).total_seconds()
    g.log(t, "INFO", WHERE["loop_exit"],
          f"Exiting message handling loop for connection: {conn} | Duration: {dur:.1f}s | "
          f"Messages processed: {msgs} | Errors: {errors} | User: {user}")
    t += g.ms(1, 5)
    g.log(t, "INFO", WHERE["cleanup"], "Removed AgentMessageHandler for disconnected WebSocket")
    g.log(t, "INFO", WHERE["cleanup"], "Handler cleanup complete. Remaining handlers: 8")
    g.log(t, "INFO", WHERE["cleanup"], f"Cleaning up isolated WebSocket manager for user {user[:8]}...")
    g.log(t, "INFO", "", "", http=ws_request(g, dur, user))


def ws_request(g: Gen, seconds: float, user: str) -> dict:
    e2e = user.startswith(("e2e-", "staging-e2e"))
    agent = "Netra-E2E-Tests/1.0" if e2e else BROWSER
    return http_req(g, "GET", "/ws", 101, seconds, agent)


def route_line(g: Gen, t: datetime, user: str, mtype: str, body: str) -> None:
    raw = f"{{'type': '{mtype}', {body}}}"[:200]
    g.log(t, "INFO", WHERE["route"], f"Routing message type '{mtype}' from {user}: {raw}")


def unknown_type(g: Gen, t: datetime, user: str, mtype: str, body: str) -> datetime:
    """The four INFO lines of an unknown type (routes/websocket.py + handlers.py @0908)."""
    route_line(g, t, user, mtype, body)
    t += g.ms(1, 2)
    g.log(t, "INFO", WHERE["unknown"], f"MessageRouter detected unknown message type: {mtype}")
    t += g.ms(1, 2)
    g.log(t, "INFO", WHERE["ack"], f"Sending ack for unknown message type '{mtype}' from {user}")
    t += g.ms(1, 3)
    g.log(t, "INFO", WHERE["route_ok"], f"Message routing successful for user {user}")
    return t


def known_type(g: Gen, t: datetime, user: str, mtype: str, body: str) -> datetime:
    route_line(g, t, user, mtype, body)
    t += g.ms(1, 2)
    norm = {"chat": "CHAT", "user_message": "USER_MESSAGE"}.get(mtype, "START_AGENT")
    g.log(t, "INFO", WHERE["normalized"],
          f"MessageRouter processing message type: MessageType.{norm} from raw type: {mtype}")
    g.log(t, "INFO", WHERE["found"], f"Found handler AgentMessageHandler for message type MessageType.{norm}")
    return t + g.ms(40, 120)


def bridge(g: Gen, t: datetime, event: str, thread: str, user: str, run: str, who: str) -> None:
    level = "INFO" if event in ("agent_started", "agent_completed") else "DEBUG"
    kind = "tool" if event.startswith("tool_") else "agent"
    where = WHERE["bridge"].format(event=event)
    if g.era == "0915":
        msg = f" PASS:  EMISSION SUCCESS: {event}  ->  user={user} (run_id={run}, {kind}={who})"
    else:
        msg = f"✅ EMISSION SUCCESS: {event} → thread={thread} (run_id={run}, {kind}={who})"
    g.log(t, level, where, msg)


def start_run(g: Gen, t: datetime, user: str) -> tuple[datetime, str, str]:
    """MessageHandlerService lines up to the supervisor call; returns (t, thread, run)."""
    thread = thread_id(g, t)
    tgt, note, rocket, ok = (g.emo(e, tok) for e, tok in (
        ("🎯", "[U+1F3AF]"), ("📝", "[U+1F4DD]"), ("🚀", "[U+1F680]"), ("✅", " PASS: ")))
    g.log(t, "INFO", WHERE["msh"],
          f"{tgt} Starting agent request processing for user={user}, thread={thread}")
    g.log(t, "INFO", WHERE["msh"], f"{note} Configuring supervisor for user={user}")
    t += g.ms(4, 12)
    run = run_id(g, thread, t)
    g.log(t, "INFO", WHERE["msh"], f"{note} Creating UserExecutionContext with: user_id={user}, "
          f"thread_id={thread}, run_id={run}, db_session=<class "
          "'sqlalchemy.ext.asyncio.session.AsyncSession'>")
    g.log(t, "INFO", WHERE["msh"],
          f"{ok} Successfully created UserExecutionContext for user={user}, thread={thread}, run={run}")
    t += g.ms(5, 20)
    g.log(t, "INFO", WHERE["msh"], f"{rocket} Executing supervisor for run={run}")
    return t + g.ms(30, 90), thread, run


def finish_run(g: Gen, t: datetime, user: str, thread: str, run: str, mtype: str) -> datetime:
    ok = g.emo("✅", " PASS: ")
    g.log(t, "INFO", WHERE["msh"], f"{ok} SupervisorAgent executed successfully for run_id={run}")
    g.log(t, "INFO", WHERE["msh"], f"{g.emo('💾', '[U+1F4BE]')} Saving response for run={run}")
    t += g.ms(20, 60)
    g.log(t, "INFO", WHERE["msh"],
          f"{ok} Agent request processing completed for user={user}, thread={thread}")
    norm = {"chat": "CHAT", "user_message": "USER_MESSAGE"}.get(mtype, "START_AGENT")
    g.log(t, "INFO", WHERE["processed"],
          f"{ok} Successfully processed MessageType.{norm} for {user} with v3 clean pattern")
    g.log(t, "INFO", WHERE["route_ok"], f"Message routing successful for user {user}")
    return t


def healthy_run(g: Gen, t: datetime, user: str, mtype: str) -> datetime:
    """start_agent/user_message/chat → the full lifecycle (agent_started … agent_completed)."""
    t, thread, run = start_run(g, t, user)
    bridge(g, t, "agent_started", thread, user, run, "supervisor")
    t += g.ms(400, 1500)
    bridge(g, t, "agent_thinking", thread, user, run, "supervisor")
    for tool in g.rng.sample(TOOLS, g.rng.randint(1, 2)):
        t += g.ms(500, 2500)
        bridge(g, t, "tool_executing", thread, user, run, tool)
        t += g.ms(800, 6000)
        bridge(g, t, "tool_completed", thread, user, run, tool)
    t += g.ms(1000, 4000)
    bridge(g, t, "agent_completed", thread, user, run, "supervisor")
    return finish_run(g, t + g.ms(5, 30), user, thread, run, mtype)


def timeout_run(g: Gen, t: datetime, user: str) -> datetime:
    t, thread, run = start_run(g, t, user)
    bridge(g, t, "agent_started", thread, user, run, "supervisor")
    bridge(g, t + g.ms(400, 900), "agent_thinking", thread, user, run, "supervisor")
    t += timedelta(seconds=30, milliseconds=g.rng.randint(1, 40))
    g.log(t, "ERROR", WHERE["core"], "Agent supervisor timed out after 30.0s")
    t += g.ms(5, 20)
    g.log(t, "CRITICAL", WHERE["msh"], f"{g.emo('🚨', ' ALERT: ')} CRITICAL: SupervisorAgent execution "
          f"failed for run_id={run}: Agent execution timeout after 30.0s")
    return t


def stalled_run(g: Gen, t: datetime, user: str) -> datetime:
    """agent_started + agent_thinking, then nothing: the run died silently."""
    t, thread, run = start_run(g, t, user)
    bridge(g, t, "agent_started", thread, user, run, "supervisor")
    t += g.ms(600, 1500)
    bridge(g, t, "agent_thinking", thread, user, run, "supervisor")
    return t


def bridgeless_run(g: Gen, t: datetime, user: str, mtype: str) -> datetime:
    """The supervisor ran with websocket_bridge=None: AgentExecutionCore emits nothing, says nothing."""
    t, thread, run = start_run(g, t, user)
    return finish_run(g, t + timedelta(seconds=g.rng.randint(9, 16)), user, thread, run, mtype)


def misaddressed_run(g: Gen, t: datetime, user: str, mtype: str) -> datetime:
    """send_to_thread treats the thread id as a user id: every emission finds no connection."""
    t, thread, run = start_run(g, t, user)
    for event in ("agent_started", "agent_completed"):
        g.log(t, "CRITICAL", WHERE["manager"], f"CRITICAL ERROR: No WebSocket connections found for user "
              f"{thread}. User will not receive message: {event}")
        g.log(t, "INFO", WHERE["manager"], f"Stored failed message for user {thread}: no_connections")
        g.log(t, "ERROR", WHERE["bridge"].format(event=event),
              f"🚨 EMISSION FAILED: {event} send failed (run_id={run}, agent=supervisor)")
        t += timedelta(seconds=g.rng.randint(6, 14))
    return finish_run(g, t, user, thread, run, mtype)


def rejected_payload(g: Gen, t: datetime, user: str) -> datetime:
    g.log(t, "WARNING", WHERE["reject"], f"Missing user_request in start_agent payload for {user}")
    t += g.ms(1, 3)
    g.log(t, "ERROR", WHERE["route_fail"], f"Message routing failed for user {user}")
    return t


def auth_failure(g: Gen, t: datetime) -> datetime:
    """@0908 SSOT auth failure: no user, no connection id anywhere in these lines."""
    g.log(t, "INFO", WHERE["auth_check"],
          "WebSocket auth check: env=staging, is_testing=False, is_e2e_testing=False")
    g.log(t, "INFO", WHERE["ssot_start"],
          "🔒 SSOT AUTHENTICATION: Starting WebSocket authentication using unified service")
    g.log(t, "INFO", WHERE["ssot_auth"],
          "SSOT WEBSOCKET AUTH=REDACTED authentication (state: WebSocketState.CONNECTED)")
    t += g.ms(3, 9)
    g.log(t, "ERROR", WHERE["auth_fail"], "🔒 SSOT AUTHENTICATION FAILED: NO_TOKEN=REDACTED "
          "Token=REDACTED failed on staging")
    port = g.rng.randint(30000, 60000)
    ctx = ("{\\n  \"error_code\": \"NO_TOKEN\",\\n  \"error_message\": \"No JWT=REDACTED in WebSocket "
           "headers or subprotocols\",\\n  \"environment\": \"staging\",\\n  \"client_info\": {\\n    "
           f"\"host\": \"169.254.8.1\",\\n    \"port\": {port},\\n    \"user_agent\": \"{BROWSER}\"\\n"
           "  },\\n  \"auth_headers\": {\\n    \"authorization_present\": false,\\n    "
           "\"authorization_preview\": \"[MISSING]\",\\n    \"websocket_protocol\": \"[MISSING]\"\\n  }"
           "\\n}")
    g.log(t, "ERROR", WHERE["auth_fail"], f"🔍 FULL FAILURE CONTEXT: {ctx}")
    t += g.ms(100, 130)
    g.log(t, "INFO", "", "", http=http_req(g, "GET", "/ws", 101, 0.13, BROWSER))
    return t


def dropped_loop(g: Gen, t: datetime, conn: str) -> datetime:
    err = "Object of type datetime is not JSON serializable"
    tb = ("Traceback (most recent call last):\n  File \"/app/netra_backend/app/routes/websocket.py\", "
          "line 1051, in _handle_websocket_messages\n    await websocket.send_json(response)\n"
          "  File \"/usr/local/lib/python3.11/json/encoder.py\", line 180, in default\n"
          f"    raise TypeError(f'Object of type {{o.__class__.__name__}} '\nTypeError: {err}")
    g.log(t, "ERROR", WHERE["loop_crash"], f"Critical error in message handling loop for {conn}: {err}",
          error={"type": "TypeError", "value": err, "traceback": tb})
    t += g.ms(1, 3)
    g.log(t, "ERROR", WHERE["ws_error"], f"WebSocket error: {err}")
    return t


# ---------------------------------------------------------------------------------------------
# Unrelated traffic: health checks, REST calls, DB/redis, middleware, heartbeats, startup

BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/139.0.0.0 Safari/537.36")
UPTIME = "GoogleStackdriverMonitoring-UptimeChecks(https://cloud.google.com/monitoring)"
TOOLS = ["cost_analyzer", "usage_query", "data_helper", "latency_report", "optimization_planner"]
API = [("GET", "/api/threads", 200), ("GET", "/api/threads/{t}/messages", 200),
       ("GET", "/api/user/me", 200), ("POST", "/api/threads", 201), ("GET", "/api/agents/status", 200),
       ("GET", "/api/config/public", 200), ("POST", "/api/auth/refresh", 401),
       ("GET", "/api/threads/{t}", 404), ("GET", "/api/metrics/usage", 200)]
NOISE_APP = [
    ("DEBUG", "netra_backend.app.db.postgres_core:get_session:88", "Database session acquired from pool"),
    ("INFO", "netra_backend.app.db.postgres_core:_log_pool_status:141",
     "Database connection pool status: size=20, checked_out={n}, overflow=0"),
    ("INFO", "netra_backend.app.redis_manager:health_check:203", "Redis health check OK ({ms}ms)"),
    ("INFO", "netra_backend.app.db.clickhouse:execute_query:317",
     "ClickHouse query completed in {ms}ms (rows={n})"),
    ("WARNING", "netra_backend.app.middleware.fastapi_auth_middleware:dispatch:164",
     "Session access failed (middleware not installed?)"),
    ("INFO", "netra_backend.app.services.thread_service:get_threads:77", "Loaded {n} threads for user {u}"),
    ("WARNING", "netra_backend.app.core.health_checkers:check_clickhouse:58",
     "ClickHouse health check slow: {ms}ms (threshold 250ms)"),
    ("INFO", "netra_backend.app.core.unified_logging:_emit_log:204",
     "Component agent_websocket_bridge reported healthy status: active"),
]


def http_req(g: Gen, method: str, path: str, status: int, seconds: float, agent: str) -> dict:
    return {"requestMethod": method, "requestUrl": f"https://api.staging.netrasystems.ai{path}",
            "requestSize": str(g.rng.randint(300, 1800)), "status": status,
            "responseSize": str(g.rng.randint(80, 9000)), "userAgent": agent,
            "remoteIp": f"{g.rng.randint(20, 200)}.{g.rng.randint(0, 255)}.{g.rng.randint(0, 255)}."
                        f"{g.rng.randint(1, 254)}",
            "serverIp": "34.143.72.2", "latency": f"{seconds:.9f}s", "protocol": "HTTP/1.1"}


def noise(g: Gen, start: datetime, end: datetime, instances: list[str], rate: float) -> None:
    """Unrelated lines at about `rate` per second across `instances`, plus 15 s uptime checks."""
    for inst in instances:
        t = start + g.ms(0, 15000)
        while t < end:
            health(g, t, inst)
            t += g.ms(14000, 16000)
    t = start
    while True:
        t += timedelta(seconds=g.rng.expovariate(rate))
        if t >= end:
            break
        inst = g.rng.choice(instances)
        if g.rng.random() < 0.45:
            api_call(g, t, inst)
        else:
            sev, where, msg = g.rng.choice(NOISE_APP)
            msg = msg.format(n=g.rng.randint(1, 40), ms=g.rng.randint(1, 400), u=google_user(g))
            g.log(t, sev, where, msg, instance=inst)


def health(g: Gen, t: datetime, inst: str) -> None:
    ms = g.rng.uniform(1.5, 6.0)
    trace = g.uuid()
    g.log(t, "INFO", "netra_backend.app.core.request_context:log_request_details:69",
          f"Request: GET /health | Status: 200 | Duration: {ms:.2f}ms | Trace: {trace}", instance=inst)
    g.log(t, "INFO", "netra_backend.app.middleware.security_response_middleware:dispatch:47",
          "Response for /health: status=200, is_api=False, has_auth=False", instance=inst)
    g.log(t, "INFO", "", "", instance=inst, http=http_req(g, "GET", "/health", 200, ms / 1000, UPTIME))


def api_call(g: Gen, t: datetime, inst: str) -> None:
    method, path, status = g.rng.choice(API)
    path = path.format(t=f"thread_session_{g.rng.randint(1000, 99999)}_{g.hex(8)}")
    ms = g.rng.uniform(8, 450)
    g.log(t, "INFO", "netra_backend.app.core.request_context:log_request_details:69",
          f"Request: {method} {path} | Status: {status} | Duration: {ms:.2f}ms | "
          f"Trace: {g.uuid()}", instance=inst)
    g.log(t, "INFO", "", "", instance=inst, http=http_req(g, method, path, status, ms / 1000, BROWSER))


def startup(g: Gen, t: datetime, inst: str) -> None:
    """A new instance: platform line, app startup, router singleton, the benign grace warning."""
    g.log(t, "INFO", "", "Starting new instance. Reason: AUTOSCALING - Instance started due to "
          "configured scaling factors (e.g. CPU utilization, request throughput, etc.).",
          instance=inst, text=True)
    steps = [
        ("INFO", "netra_backend.app.smd:_run_phase:96", "PHASE 1/7: INIT - environment=staging"),
        ("INFO", "netra_backend.app.smd:_run_phase:96", "PHASE 2/7: DATABASE - connected in 412ms"),
        ("INFO", "netra_backend.app.redis_manager:connect:88", "Redis connected: 10.128.0.3:6379 db=0"),
        ("INFO", "netra_backend.app.websocket_core.handlers:get_message_router:1133",
         "MessageRouter singleton created with 8 handlers"),
        ("WARNING", "netra_backend.app.websocket_core.handlers:check_handler_status:1079",
         "⚠️ ZERO WebSocket message handlers after 10.0s grace period"),
        ("INFO", "logging:callHandlers:1706", "Application startup complete."),
        ("INFO", "logging:callHandlers:1706",
         "Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)"),
    ]
    for sev, where, msg in steps:
        t += g.ms(200, 3000)
        g.log(t, sev, where, msg, instance=inst)


def heartbeat_timeouts(g: Gen, opened: datetime, closed: datetime, inst: str) -> None:
    """Test clients never answer app-level pings: a benign warning ~100 s in (25 s + 75 s)."""
    t = opened + timedelta(seconds=100) + g.ms(0, 900)
    if t < closed:
        g.log(t, "WARNING", WHERE["heartbeat"], "WebSocket heartbeat timeout", instance=inst)


# ---------------------------------------------------------------------------------------------
# Formats


def z(ts: datetime, digits: int = 6) -> str:
    text = ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    if digits == 9:
        text += "000"
    return text + "Z"


def resource(revision: str) -> dict:
    return {"type": "cloud_run_revision", "labels": {
        "project_id": PROJECT, "configuration_name": SERVICE, "service_name": SERVICE,
        "location": "us-central1", "revision_name": revision}}


def log_entry(g: Gen, line: Line, revision: str, context_service: bool) -> dict:
    """A Cloud Run LogEntry in API field order (payload, insertId, httpRequest, resource, …)."""
    write = line.ts if line.http else write_time(g, line)
    labels = {"instanceId": line.instance, "migration-run": "1757350810", "vpc-connectivity": "enabled"}
    entry: dict = {}
    if line.http:
        entry["insertId"] = g.hex(12)
        entry["httpRequest"] = line.http
        log = "requests"
    elif line.text:
        entry["textPayload"] = line.message
        entry["insertId"] = g.hex(16)
        log = "varlog%2Fsystem"
    else:
        module, function, lineno = line.where.split(":")
        context = {"name": module, "service": "netra-service"} if context_service else {"name": module}
        payload = {"context": context, "message": line.message, "timestamp": line.ts.isoformat(),
                   "labels": {"line": lineno, "module": module, "function": function}}
        if line.error:
            payload["error"] = line.error
        entry["jsonPayload"] = payload
        entry["insertId"] = f"{int(line.ts.timestamp()):08x}{g.hex(16)}"
        log = "stderr"
    entry["resource"] = resource(revision)
    entry["timestamp"] = z(write)
    entry["severity"] = line.severity
    entry["labels"] = labels
    entry["logName"] = f"projects/{PROJECT}/logs/run.googleapis.com%2F{log}"
    if line.http:
        entry["trace"] = f"projects/{PROJECT}/traces/{g.hex(32)}"
    entry["receiveTimestamp"] = z(write + g.ms(40, 400), 9)
    if line.http:
        entry["spanId"] = g.hex(16)
        entry["traceSampled"] = g.rng.random() < 0.1
    return entry


def write_time(g: Gen, line: Line) -> datetime:
    """The entry time is the write: 1-5 ms after the app's stamp, in order (loguru enqueue=True)."""
    floor = g.written.get(line.instance, line.ts) + timedelta(microseconds=1)
    write = max(line.ts + g.ms(1, 5), floor)
    g.written[line.instance] = write
    return write


def ordered(lines: list[Line]) -> list[Line]:
    """Time order; lines logged at the same instant on one instance get distinct, rising stamps."""
    out = sorted(lines, key=lambda ln: ln.ts)  # stable: same-instant lines keep their call order
    last: dict[str, datetime] = {}
    for line in out:
        prev = last.get(line.instance)
        if prev is not None and line.ts <= prev and not line.http:
            line.ts = prev + timedelta(microseconds=37)
        if not line.http:
            last[line.instance] = line.ts
    return out


def to_entries(g: Gen, lines: list[Line], revision: Callable[[str], str], service: bool) -> list[dict]:
    return [log_entry(g, ln, revision(ln.instance), service) for ln in ordered(lines)]


def jsonl(entries: list[dict]) -> bytes:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries).encode()


def loguru_line(line: Line) -> str:
    """loguru's staging format: {time} | {level: <8} | {name}:{function}:{line} | {message}."""
    stamp = line.ts.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return f"{stamp} | {line.severity:<8} | {line.where} | {line.message}"


def gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as fh:
        fh.write(data)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# 1. The seed incident: execute_agent / agent_execute acked as unknown (2025-09-08 16:49 PDT)

INCIDENT_USERS = [  # (user, type sent, test, how the test waits)
    ("e2e-staging-49066fc8", "execute_agent", "test_priority1_critical.py", "recv"),
    ("staging-e2e-user-001", "execute_agent", "test_priority1_critical.py", "recv"),
    ("staging-e2e-user-002", "agent_execute", "test_real_agent_execution_staging.py", "listen"),
]
PDT = timedelta(hours=-7)


def incident() -> dict[str, bytes]:
    g = Gen(random.Random(SEED + 1), debug=False)
    inst = [instance_id(g), instance_id(g)]
    start = datetime(2025, 9, 8, 23, 46, 0, tzinfo=UTC)
    client: list[str] = []
    t = datetime(2025, 9, 8, 23, 49, 20, 871000, tzinfo=UTC)
    for user, mtype, test, wait in INCIDENT_USERS:
        g.instance = g.rng.choice(inst)
        t = incident_test(g, t, user, mtype, test, wait, client)
        t += timedelta(seconds=g.rng.randint(2, 4))
    noise(g, start, t + timedelta(minutes=2), inst, rate=1.2)
    entries = to_entries(g, g.lines, lambda _: "netra-backend-staging-00154-2tw", False)
    entries.reverse()  # gcloud logging read prints newest first
    backend = json.dumps(entries, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return {"incident-execute-agent/backend.json": backend.encode(),
            "incident-execute-agent/e2e-client.log": ("\n".join(client) + "\n").encode()}


def incident_test(g: Gen, t: datetime, user: str, mtype: str, test: str, wait: str,
                  client: list[str]) -> datetime:
    """One e2e test: the client's own log (CI runner, naive UTC) and the server lines it caused."""
    mod = f"tests.e2e.staging.{test[:-3]}"
    say = client_logger(client, mod)
    say(t, "INFO", f"Starting {test[:-3]} against https://api.staging.netrasystems.ai")
    say(t + g.ms(20, 40), "INFO", "Auth service login not available for test user; creating "
        "staging-compatible JWT")
    client += [f"[FALLBACK] Created staging-compatible JWT token for: {user}@netratesting.com",
               f"[FALLBACK] User ID: {user}", f"[FALLBACK] Token hash: {g.hex(8)}",
               "[INFO] Token works with E2E WebSocket detection headers"]
    t += g.ms(100, 160)
    say(t, "INFO", "Connecting to wss://api.staging.netrasystems.ai/ws")
    opened, conn = ws_connect(g, t + g.ms(30, 60), user, e2e=True)
    say(opened + g.ms(20, 40), "INFO", "WebSocket connected; welcome: {\"type\": \"system_message\", "
        f"\"data\": {{\"event\": \"connection_established\", \"connection_id\": \"{conn}\"}}}}")
    t = opened + timedelta(seconds=3) + g.ms(100, 400)
    if mtype == "agent_execute":
        body = (f"'id': 'req_{g.hex(8)}', 'agent_type': 'supervisor', 'session_id': 'test_session_"
                f"{g.hex(8)}', 'data': {{'query': 'Analyze the cost of my top 3 workloads'}}")
        sent = (f"{{\"id\": \"req_{g.hex(8)}\", \"type\": \"agent_execute\", \"agent_type\": "
                "\"supervisor\", \"data\": {\"query\": \"Analyze the cost of my top 3 workloads\"}}")
    else:
        body = "'content': 'Test message to trigger critical events'"
        sent = ("{\"type\": \"execute_agent\", \"content\": \"Test message to trigger critical "
                f"events\", \"timestamp\": {t.timestamp():.2f}}}")
    say(t - g.ms(10, 20), "INFO", f"Sending message: {sent}")
    acked = unknown_type(g, t, user, mtype, body)
    say(acked + g.ms(5, 15), "INFO", "Received: {\"type\": \"ack\", \"received_type\": "
        f"\"{mtype}\", \"timestamp\": {acked.timestamp():.4f}, \"user_id\": \"{user}\", "
        "\"status\": \"acknowledged\"}")
    if wait == "recv":
        t = acked + timedelta(seconds=10) + g.ms(5, 20)
        say(t, "ERROR", "Timed out waiting for agent_started: recv() timed out after 10s\n"
            + recv_traceback(test))
        say(t + g.ms(1, 3), "WARNING", "Missing critical events: {'agent_started', 'tool_completed', "
            "'tool_executing', 'agent_thinking', 'agent_completed'}")
    else:
        t = acked + timedelta(seconds=120) + g.ms(50, 150)
        heartbeat_timeouts(g, opened, t, g.instance)
        say(t, "ERROR", f"Overall timeout reached: {(t - acked).total_seconds():.1f}s")
        say(t + g.ms(1, 3), "WARNING", "Missing events: ['agent_started', 'agent_thinking', "
            "'tool_executing', 'tool_completed', 'agent_completed']")
        say(t + g.ms(2, 4), "WARNING", "Note: Some WebSocket events missing in staging - this "
            "indicates auth or connectivity issues")
    closed = t + g.ms(40, 90)
    ws_close(g, closed, opened, conn, user)
    say(closed + g.ms(2, 6), "INFO", "WebSocket closed by test teardown")
    return closed


def client_logger(out: list[str], name: str) -> Callable[[datetime, str, str], None]:
    """Python logging '%(asctime)s - %(name)s - %(levelname)s - %(message)s' on the CI runner.

    The runner's clock is UTC and Python logging prints it naive, which is what `--tz`
    defaults to; a laptop's log would need `--tz America/Los_Angeles`.
    """
    def say(ts: datetime, level: str, msg: str) -> None:
        local = ts.astimezone(UTC).replace(tzinfo=None)
        stamp = local.strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        out.append(f"{stamp} - {name} - {level} - {msg}")
    return say


def recv_traceback(test: str) -> str:
    return "\n".join([
        "Traceback (most recent call last):",
        '  File "/usr/lib/python3.10/asyncio/tasks.py", line 456, in wait_for',
        "    return fut.result()",
        "asyncio.exceptions.CancelledError",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        f'  File "/home/runner/work/netra-apex/netra-apex/tests/e2e/staging/{test}", line 212, in '
        "test_websocket_event_flow_real",
        "    event = await asyncio.wait_for(ws.recv(), timeout=10)",
        '  File "/usr/lib/python3.10/asyncio/tasks.py", line 458, in wait_for',
        "    raise exceptions.TimeoutError() from exc",
        "asyncio.exceptions.TimeoutError",
    ])


# ---------------------------------------------------------------------------------------------
# 2. A healthy stretch: five full agent runs, exported at DEBUG (2025-09-09, after the fixes)


def healthy() -> dict[str, bytes]:
    g = Gen(random.Random(SEED + 2), debug=True)
    inst = [instance_id(g), instance_id(g)]
    start = datetime(2025, 9, 9, 18, 0, 0, tzinfo=UTC)
    users = [(google_user(g), "start_agent", False), (e2e_user(g), "start_agent", True),
             (google_user(g), "user_message", False), ("staging-e2e-user-003", "chat", True),
             (e2e_user(g), "user_message", True)]
    t = start + timedelta(seconds=20)
    for user, mtype, e2e in users:
        g.instance = g.rng.choice(inst)
        t = one_session(g, t, user, mtype, e2e, healthy_run)
        t += timedelta(seconds=g.rng.randint(15, 40))
    noise(g, start, t + timedelta(seconds=30), inst, rate=0.6)
    entries = to_entries(g, g.lines, lambda _: "netra-backend-staging-00161-q5d", False)
    return {"healthy-run.jsonl": jsonl(entries)}


PROMPTS = ["Summarize my GPU spend for last week", "Which models had the highest p95 latency?",
           "Find idle inference endpoints", "Compare batch vs on-demand cost for job etl-nightly",
           "Why did my token usage double yesterday?"]


def request_body(g: Gen, mtype: str) -> str:
    prompt = g.rng.choice(PROMPTS)
    if mtype == "start_agent":
        return f"'payload': {{'user_request': '{prompt}', 'thread_id': None}}"
    if mtype == "chat_message":
        return f"'content': '{prompt}', 'timestamp': {1757370000 + g.rng.randint(0, 3600)}.{g.hex(3)}"
    return f"'payload': {{'message': '{prompt}', 'thread_id': None}}"


def one_session(g: Gen, t: datetime, user: str, mtype: str, e2e: bool,
                run: Callable[..., datetime]) -> datetime:
    """Connect, send one agent request handled by `run`, close a little later."""
    opened, conn = ws_connect(g, t, user, e2e)
    t = known_type(g, opened + g.ms(600, 2500), user, mtype, request_body(g, mtype))
    t = run(g, t, user, mtype)
    closed = t + g.ms(1500, 6000)
    ws_close(g, closed, opened, conn, user)
    return closed


# ---------------------------------------------------------------------------------------------
# 3. A mixed staging hour: ~20 sessions among ~8k unrelated entries (2025-09-08 23:00-24:00 UTC)


def staging_hour() -> dict[str, bytes]:
    g = Gen(random.Random(SEED + 3), debug=True)
    inst = [instance_id(g), instance_id(g)]
    late = instance_id(g)
    start = datetime(2025, 9, 8, 23, 0, 0, tzinfo=UTC)
    end = start + timedelta(hours=1)
    startup(g, start + timedelta(minutes=21), late)
    plan = hour_plan(g)
    for minute, kind, user in plan:
        g.instance = g.rng.choice(inst + [late] if minute > 23 else inst)
        hour_session(g, start + timedelta(minutes=minute, seconds=g.rng.randint(0, 50)), kind, user)
    noise(g, start, end, inst, rate=0.85)
    noise(g, start + timedelta(minutes=23), end, [late], rate=0.3)
    lines = [ln for ln in g.lines if ln.ts < end]
    entries = to_entries(g, lines, lambda _: "netra-backend-staging-00154-2tw", False)
    data = jsonl(entries).split(b"\n")
    for at in (1234, 5321):  # an export cut by a crashed copy: two lines truncated mid-entry
        data[at - 1] = data[at - 1][: len(data[at - 1]) * 3 // 5]
    return {"staging-hour.jsonl.gz": gzip_bytes(b"\n".join(data))}


def hour_plan(g: Gen) -> list[tuple[int, str, str]]:
    kinds = ["healthy"] * 9 + ["chat_message", "chat_message", "get_agent_status", "auth",
                               "dropped", "timeout", "misaddressed", "stalled", "bridgeless",
                               "rejected"]
    minutes = sorted(g.rng.sample(range(1, 56), len(kinds)))
    g.rng.shuffle(kinds)
    plan = []
    for minute, kind in zip(minutes, kinds, strict=True):
        user = google_user(g) if g.rng.random() < 0.5 and kind != "rejected" else e2e_user(g)
        plan.append((minute, kind, user))
    return plan


def hour_session(g: Gen, t: datetime, kind: str, user: str) -> None:
    e2e = user.startswith("e2e-")
    if kind == "auth":
        auth_failure(g, t)
        return
    opened, conn = ws_connect(g, t, user, e2e)
    t = opened + g.ms(500, 2500)
    if kind == "dropped":
        t = dropped_loop(g, t, conn)
        ws_close(g, t + g.ms(2, 6), opened, conn, user, msgs=0, errors=1)
        return
    if kind in ("chat_message", "get_agent_status"):
        body = request_body(g, kind) if kind == "chat_message" else "'agent_id': 'supervisor'"
        t = unknown_type(g, t, user, kind, body) + timedelta(seconds=g.rng.randint(65, 100))
    elif kind == "rejected":
        body = ("'payload': {'query': 'Analyze test data for pipeline validation', 'user_id': "
                f"'{g.hex(8)}'}}, 'thread_id': 'pipeline_test_{int(t.timestamp())}'")
        t = rejected_payload(g, known_type(g, t, user, "start_agent", body), user)
        t += timedelta(seconds=15)
    else:
        mtype = "start_agent"  # before 19:03 PDT user_message/chat were ack-only (handler order)
        t = known_type(g, t, user, mtype, request_body(g, mtype))
        t = HOUR_RUNS[kind](g, t, user, mtype)
        t += timedelta(seconds=130) if kind in ("stalled", "timeout") else g.ms(1500, 5000)
    heartbeat_timeouts(g, opened, t, g.instance)
    ws_close(g, t, opened, conn, user)


HOUR_RUNS: dict[str, Callable[..., datetime]] = {
    "healthy": healthy_run,
    "timeout": lambda g, t, user, _m: timeout_run(g, t, user),
    "stalled": lambda g, t, user, _m: stalled_run(g, t, user),
    "bridgeless": bridgeless_run,
    "misaddressed": misaddressed_run,
}


# ---------------------------------------------------------------------------------------------
# 4. Plain-text loguru era (2025-09-03): get_agent_status unknown + events with no connection


def loguru_text() -> dict[str, bytes]:
    g = Gen(random.Random(SEED + 4), debug=False, era="0903")
    g.instance = instance_id(g)
    start = datetime(2025, 9, 3, 22, 56, 0, tzinfo=UTC)
    u1, u2 = "101463487227881885914", "105945141827451681156"
    opened1, c1 = ws_connect(g, start + timedelta(seconds=41), u1, e2e=False)
    t = opened1 + timedelta(seconds=1, milliseconds=305)
    console = unknown_status(g, t, u1)
    ws_close(g, t + timedelta(seconds=71), opened1, c1, u1)
    opened2, c2 = ws_connect(g, start + timedelta(minutes=3, seconds=12), u2, e2e=False)
    t = known_type(g, opened2 + g.ms(900, 1500), u2, "start_agent", request_body(g, "start_agent"))
    t, thread, run = start_run(g, t, u2)
    g.log(t, "WARNING", "netra_backend.app.websocket_core.manager:send_to_thread:412",
          f"No connections found for thread {thread}. Active connections: 1")
    g.log(t + g.ms(1, 3), "ERROR", "netra_backend.app.websocket_core.manager:send_to_thread:431",
          f"CRITICAL: Cannot deliver message for thread {thread} - no connections and no fallback available")
    t = finish_run(g, t + timedelta(seconds=11), u2, thread, run, "start_agent")
    formatter_error(g, t + g.ms(200, 900))
    ws_close(g, t + timedelta(seconds=4), opened2, c2, u2)
    noise(g, start, start + timedelta(minutes=9), [g.instance], rate=0.5)
    out = []
    for line in ordered([ln for ln in g.lines if not ln.http]):
        if id(line) in console:
            local = (line.ts + PDT).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            out += [f"{local} PDT", line.message]
        elif line.text:
            continue
        else:
            out.append(tagged(loguru_line(line)))
    return {"loguru-text.log": ("\n".join(out) + "\n").encode()}


def unknown_status(g: Gen, t: datetime, user: str) -> set[int]:
    """The router lines that reached us only as Cloud Console copy-paste (PDT time + message)."""
    before = len(g.lines)
    unknown_type(g, t, user, "get_agent_status", "'agent_id': 'supervisor'")
    return {id(ln) for ln in g.lines[before + 1:before + 3]}


def formatter_error(g: Gen, t: datetime) -> None:
    """loguru ran str.format on an f-string with braces: the real 2025-09-03 format_map failure."""
    g.log(t, "ERROR", "netra_backend.app.core.unified_logging:_emit_log:204",
          "Logging formatter error: KeyError: '\"timestamp\"'\n"
          "Traceback (most recent call last):\n"
          '  File "/app/netra_backend/app/core/unified_logging.py", line 198, in _emit_log\n'
          "    log_func(message, **kwargs)\n"
          '  File "/usr/local/lib/python3.11/site-packages/loguru/_logger.py", line 2061, in _log\n'
          "    message = message.format(*args, **kwargs)\n"
          "KeyError: '\"timestamp\"'")


def tagged(text: str) -> str:
    """Staging textPayload kept loguru's <white> tag around INFO messages."""
    stamp, level, where, message = text.split(" | ", 3)
    return f"{stamp} | {level} | {where} | <white>{message}</white>" if level.strip() == "INFO" else text


# ---------------------------------------------------------------------------------------------
# 5. Cloud Run structured stdout, SSOT logging shape (2025-09-15): one healthy, one unknown type


def cloud_run_stdout() -> dict[str, bytes]:
    g = Gen(random.Random(SEED + 5), debug=True, era="0915")
    g.instance = instance_id(g)
    start = datetime(2025, 9, 15, 20, 10, 0, tzinfo=UTC)
    ok_user, bad_user = google_user(g), e2e_user(g)
    g.log(start, "WARNING", "shared.logging.unified_logging_ssot:_sanitize:88",
          "SERVICE_ID contained whitespace - sanitized from 'netra-backend\\n' to 'netra-backend'")
    t = ssot_session(g, start + timedelta(seconds=12), ok_user, "start_agent")
    ssot_session(g, t + timedelta(seconds=9), bad_user, "agent_execute")
    noise(g, start, start + timedelta(minutes=4), [g.instance], rate=0.3)
    rows = [ssot_line(g, ln) for ln in ordered(g.lines) if not ln.http and not ln.text]
    return {"cloud-run-stdout.jsonl": "".join(r + "\n" for r in rows).encode()}


def ssot_session(g: Gen, t: datetime, user: str, mtype: str) -> datetime:
    """websocket_ssot.py (main mode) lines: the connection is named, the user only by prefix."""
    ssot, main = f"ssot_{g.hex(8)}", f"main_{g.hex(8)}"
    where = "netra_backend.app.routes.websocket_ssot:_handle_main_mode:{}"
    g.log(t, "INFO", where.format(559), f"[U+1F517] GOLDEN PATH CONNECTION: WebSocket connection "
          f"initiated - connection_id: {ssot}, mode: main")
    g.log(t, "INFO", where.format(672), f"[MAIN MODE] Starting WebSocket connection {main}")
    t += g.ms(30, 80)
    g.log(t, "INFO", where.format(741), f" PASS:  GOLDEN PATH AUTH SUCCESS: User {user[:8]}... "
          f"authenticated successfully for connection {main}")
    g.log(t, "INFO", where.format(802), f" PASS:  GOLDEN PATH ESTABLISHED: Connection {main} ready for "
          f"user {user[:8]}... with all 5 critical events")
    opened = t
    t += g.ms(800, 2000)
    agent_msg = "AGENT MESSAGE" if mtype == "start_agent" else "MESSAGE"
    icon = "[U+1F916]" if mtype == "start_agent" else "[U+1F4E8]"
    g.log(t, "INFO", where.format(934), f"{icon} GOLDEN PATH {agent_msg}: Received {mtype} from user "
          f"{user[:8]}... connection {main}")
    if mtype == "start_agent":
        t = healthy_run(g, known_type(g, t, user, mtype, request_body(g, mtype)), user, mtype)
    else:
        body = f"'agent_type': 'supervisor', 'data': {{'query': '{g.rng.choice(PROMPTS)}'}}"
        t = unknown_type(g, t, user, mtype, body) + timedelta(seconds=75)
    t += g.ms(1000, 3000)
    g.log(t, "INFO", where.format(1187), f"[U+1F44B] GOLDEN PATH CLIENT DISCONNECT: User {user[:8]}... "
          f"disconnected connection {main}")
    lasted = (t - opened).total_seconds()
    g.log(t, "INFO", where.format(1204), f"Connection {main} closed after {lasted:.1f}s")
    return t


def ssot_line(g: Gen, line: Line) -> str:
    """shared/logging/unified_logging_ssot.py stdout JSON: unfiltered, with its bogus `error`."""
    module = line.where.split(":")[0] if line.where else "netra_backend"
    stamp = z(line.ts)
    row = {"timestamp": stamp, "severity": line.severity, "service": "netra-service",
           "logger": module, "message": line.message,
           "error": {"type": "str", "message": "Missing field", "severity": "ERROR",
                     "timestamp": stamp, "traceback": ""},
           "textPayload": line.message,
           "validation": {"validated_at": z(line.ts + g.ms(0, 1)),
                          "message_length": float(len(line.message)), "severity": line.severity,
                          "zero_empty_guarantee": True}}
    return json.dumps(row, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------


def build() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for make in (incident, healthy, staging_hour, loguru_text, cloud_run_stdout):
        files.update(make())
    return files


def main(argv: list[str]) -> int:
    check = "--check" in argv
    changed = []
    for rel, data in sorted(build().items()):
        path = HERE / rel
        if path.exists() and path.read_bytes() == data:
            continue
        changed.append(rel)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        print(f"{'differs' if check else 'wrote'}: samples/{rel} ({len(data):,} bytes)")
    if check and changed:
        print("samples are out of date: run python samples/make_samples.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
