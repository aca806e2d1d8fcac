"""Planted connections: the few % of lines the benchmark's correctness check is about.

Each scenario returns the lines one client connection leaves in the backend's logs, as offsets
from the connection's start, in the real backend's own words (netra.md §1–§4, @0908 era with
the GCP JSON formatter and its redaction, e.g. `SSOT WEBSOCKET AUTH=REDACTED …`), plus the
outcome class the benchmark expects `diagnose` to find. The generator interleaves them with noise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

CLASSES = (
    "routing_failure",
    "connection_failure",
    "execution_timeout",
    "events_not_delivered",
    "lifecycle_incomplete",
    "healthy",
)
# Shape planted → the outcome class the truth records for it. Most shapes are their class; two
# are the harder forms of a class an independent generator found `diagnose` getting wrong:
#   ws_error       a connection whose only failure is the id-less catch-all `WebSocket error: <exc>`
#                  (with its /ws 500 request log): no connection or user id, only the instance.
#   timeout_idless `Agent X timed out after 30.0s` with no run id (no CRITICAL run_id line after
#                  it), while other runs are live on the same instance.
SHAPES = {
    "routing_failure": "routing_failure",
    "connection_failure": "connection_failure",
    "ws_error": "connection_failure",
    "execution_timeout": "execution_timeout",
    "timeout_idless": "execution_timeout",
    "events_not_delivered": "events_not_delivered",
    "lifecycle_incomplete": "lifecycle_incomplete",
    "healthy": "healthy",
}
DEFAULT_MIX = {
    "routing_failure": 0.25,
    "connection_failure": 0.06,
    "ws_error": 0.05,
    "execution_timeout": 0.05,
    "timeout_idless": 0.06,
    "events_not_delivered": 0.10,
    "lifecycle_incomplete": 0.10,
    "healthy": 0.33,
}
UNIDENTIFIED = "unidentified@"  # how the report names a connection no line identifies
WS_ERRORS = (  # exceptions the endpoint's catch-all logged in staging (netra.md §1, incident I-08)
    "'coroutine' object has no attribute 'get'",
    "'NoneType' object has no attribute 'send_json'",
    "Object of type datetime is not JSON serializable",
    'WebSocket is not connected. Need to call "accept" first.',
)
AGENTS = ("supervisor", "triage_agent", "data_helper", "optimization_agent")
UNKNOWN_TYPES = ("execute_agent", "agent_execute", "chat_message", "get_agent_status")
TOOLS = ("data_helper", "cost_analyzer", "log_fetcher", "optimization_planner")

ROUTES = "netra_backend.app.routes.websocket"
AUTH = "netra_backend.app.websocket_core.unified_websocket_auth"
ROUTER = "netra_backend.app.websocket_core.handlers"
HANDLER = "netra_backend.app.websocket_core.agent_handler"
SERVICE = "netra_backend.app.services.message_handlers"
BRIDGE = "netra_backend.app.services.agent_websocket_bridge"
CORE = "netra_backend.app.agents.supervisor.agent_execution_core"
MANAGER = "netra_backend.app.websocket_core.unified_manager"
SSOT = "netra_backend.app.routes.websocket_ssot"


@dataclass(slots=True)
class Line:
    """One planted log line: when (seconds after the connection began), how loud, where from."""

    offset: float
    severity: str
    module: str
    function: str
    lineno: int
    message: str
    source: str = "server"  # "client": the e2e test runner's own log (netra.md §5);
    # "request": Cloud Run's request log for the connection's upgrade (`http` holds it)
    http: dict | None = None


@dataclass(slots=True)
class Episode:
    """One connection's planted lines and the class the truth file records for it."""

    cls: str
    key: str  # the id the report should name: the user id, or the connection id on auth failure
    connection_id: str
    lines: list[Line]
    shape: str = ""
    # id-less shapes: the report names the connection `unidentified@HH:MM:SS.mmm` after its first
    # line that a rule reads, so the truth keeps the span (seconds after start) that name falls in
    unidentified: tuple[float, float] | None = None
    run_started: float | None = None  # seconds after start: the `Starting agent request` line
    timeout_at: float | None = None  # execution_timeout: when the id-less timeout line is written


class Ids:
    """Realistic, unique ids (netra.md §3.5); remembers users so no two connections share one."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.users: set[str] = set()

    def hex8(self) -> str:
        return f"{self.rng.getrandbits(32):08x}"

    def user(self, e2e: bool = False) -> str:
        while True:
            if e2e or self.rng.random() < 0.65:
                user = f"e2e-staging-{self.hex8()}"
            else:
                user = "10" + "".join(self.rng.choices("0123456789", k=19))
            if user not in self.users:
                self.users.add(user)
                return user

    def connection(self, user: str, unix: int) -> str:
        return f"ws_{user[:8]}_{unix}_{self.hex8()}"

    def thread(self, unix_ms: int) -> str:
        return f"thread_session_{unix_ms % 100000}_{self.hex8()}"

    def run(self, thread: str, unix_ms: int) -> str:
        return f"run_{thread}_{(unix_ms + 7) % 100000}_{self.hex8()}"


def make_episode(shape: str, ids: Ids, start_unix: float, client: bool = False) -> Episode:
    """Lines for one connection of `shape` (a key of SHAPES), starting at `start_unix` (epoch s).

    With `client`, the e2e test runner's own lines for it are planted too (an e2e user, and
    no auth failure: the runner knows no connection id for those).
    """
    episode = _make(shape, ids, start_unix, client)
    episode.shape = shape
    return episode


def _make(shape: str, ids: Ids, start_unix: float, client: bool) -> Episode:
    rng = ids.rng
    cls = SHAPES[shape]
    if shape == "connection_failure":
        return _auth_failure(ids)
    if shape == "ws_error":
        return _ws_error(ids)
    user = ids.user(e2e=client)
    conn = ids.connection(user, int(start_unix))
    lines = _open(user, conn, start_unix, rng)
    t = lines[-1].offset + rng.uniform(0.3, 2.5)
    if cls == "routing_failure":
        mtype = rng.choice(UNKNOWN_TYPES)
        lines += _unknown_type(user, mtype, t, rng)
        end = t + rng.uniform(62.0, 130.0)
        if client:
            lines += client_lines(user, mtype, t, [], t + 0.0015, end)
    else:
        ms = int((start_unix + t) * 1000)
        thread = ids.thread(ms)
        run = ids.run(thread, ms)
        agent_lines, end = _agent_run(shape, user, thread, run, t, rng)
        lines += agent_lines
        end += rng.uniform(12.0, 40.0)
        if client:
            lines += client_lines(user, "start_agent", t, agent_lines, None, end)
    lines.append(_loop_exit(user, conn, end, len(lines), rng))
    episode = Episode(cls=cls, key=user, connection_id=conn, lines=lines)
    if cls != "routing_failure":
        episode.run_started = t + 0.04
    if cls == "execution_timeout":  # both shapes write the id-less line first
        episode.timeout_at = next(x.offset for x in lines if "timed out after" in x.message)
    return episode


def _open(user: str, conn: str, start_unix: float, rng: random.Random) -> list[Line]:
    e2e = user.startswith("e2e-")
    at = datetime.fromtimestamp(start_unix + 0.19, tz=UTC).isoformat()
    lines = [
        Line(0.06, "INFO", ROUTES, "websocket_endpoint", 598,
             f"WebSocket auth check: env=staging, is_testing=False, is_e2e_testing={e2e}"),
        Line(0.064, "INFO", AUTH, "authenticate_websocket_ssot", 211,
             "SSOT WEBSOCKET AUTH=REDACTED authentication (state: WebSocketState.CONNECTED)"),
        Line(rng.uniform(0.11, 0.24), "INFO", ROUTES, "websocket_endpoint", 688,
             f"[OK] SSOT AUTHENTICATION SUCCESS: user={user[:8]}..., client_id={conn}"),
    ]
    t = lines[-1].offset
    lines += [
        Line(t + 0.003, "INFO", ROUTES, "websocket_endpoint", 741,
             f"WebSocket authenticated for user: {user} at {at}"),
        Line(t + 0.004, "INFO", ROUTES, "websocket_endpoint", 745,
             f"Registered connection with isolated manager: {conn}"),
        Line(t + 0.009, "INFO", ROUTES, "websocket_endpoint", 781,
             f"WebSocket connection fully established for user {user} in staging "
             "using FACTORY_PATTERN"),
        Line(t + 0.010, "INFO", ROUTES, "_handle_websocket_messages", 962,
             f"Entering message handling loop for connection: {conn} (user: {user})"),
    ]
    return lines


def _unknown_type(user: str, mtype: str, t: float, rng: random.Random) -> list[Line]:
    """netra.md §1.8: four INFO lines within ~1 ms on one instance; the second carries no id."""
    payload = {"id": f"req_{rng.getrandbits(32):08x}", "type": mtype,
               "session_id": f"test_session_{rng.getrandbits(32):08x}", "agent_type": "supervisor"}
    ack = t + rng.uniform(0.0008, 0.0014)
    return [
        Line(t, "INFO", ROUTES, "_handle_websocket_messages", 1014,
             f"Routing message type '{mtype}' from {user}: {str(payload)[:200]}"),
        Line(t + 0.0003, "INFO", ROUTER, "route_message", 939,
             f"MessageRouter detected unknown message type: {mtype}"),
        Line(ack, "INFO", ROUTER, "_send_unknown_message_ack", 1021,
             f"Sending ack for unknown message type '{mtype}' from {user}"),
        Line(ack + 0.0004, "INFO", ROUTES, "_handle_websocket_messages", 1019,
             f"Message routing successful for user {user}"),
    ]


def _agent_run(
    shape: str, user: str, thread: str, run: str, t: float, rng: random.Random
) -> tuple[list[Line], float]:
    """A start_agent request; what follows agent_started depends on the shape planted."""
    cls = SHAPES[shape]
    payload = {"type": "start_agent", "payload": {"user_request": "Analyze my AI spend"}}
    lines = [
        Line(t, "INFO", ROUTES, "_handle_websocket_messages", 1014,
             f"Routing message type 'start_agent' from {user}: {str(payload)[:200]}"),
        Line(t + 0.0004, "INFO", ROUTER, "route_message", 947,
             "MessageRouter processing message type: MessageType.START_AGENT "
             "from raw type: start_agent"),
        Line(t + 0.0007, "INFO", ROUTER, "route_message", 960,
             "Found handler AgentMessageHandler for message type MessageType.START_AGENT"),
        Line(t + 0.04, "INFO", SERVICE, "handle_start_agent", 98,
             f"🎯 Starting agent request processing for user={user}, thread={thread}"),
        Line(t + 0.06, "INFO", SERVICE, "handle_start_agent", 131,
             f"📝 Creating UserExecutionContext with: user_id={user}, thread_id={thread}, "
             f"run_id={run}, db_session=<class 'sqlalchemy.ext.asyncio.session.AsyncSession'>"),
        Line(t + 0.08, "INFO", SERVICE, "handle_start_agent", 152,
             f"🚀 Executing supervisor for run={run}"),
    ]
    started = t + rng.uniform(0.2, 0.6)
    lines.append(_emit("agent_started", thread, run, started, "INFO", "agent=supervisor"))
    if cls == "events_not_delivered":
        lines.append(_no_connection(thread, "agent_started", started + 0.001))
    thinking = started + rng.uniform(0.8, 2.5)
    lines.append(_emit("agent_thinking", thread, run, thinking, "DEBUG", "agent=supervisor"))
    if cls == "lifecycle_incomplete":
        return lines, thinking
    if shape == "timeout_idless":
        return lines + _timeout(run, started, rng.choice(AGENTS), with_run=False), started + 30.0
    if cls == "execution_timeout":
        return lines + _timeout(run, started), started + 30.0
    tool = f"tool={rng.choice(TOOLS)}"
    executing = thinking + rng.uniform(0.5, 3.0)
    completed = executing + rng.uniform(1.0, 8.0)
    finished = completed + rng.uniform(0.5, 6.0)
    lines += [
        _emit("tool_executing", thread, run, executing, "DEBUG", tool),
        _emit("tool_completed", thread, run, completed, "DEBUG", tool),
        _emit("agent_completed", thread, run, finished, "INFO", "agent=supervisor"),
    ]
    if cls == "events_not_delivered":
        lines.append(_no_connection(thread, "agent_completed", finished + 0.001))
    lines += _run_done(user, thread, run, finished)
    return lines, finished


def _emit(event: str, thread: str, run: str, t: float, severity: str, who: str) -> Line:
    return Line(t, severity, BRIDGE, f"notify_{event}", 412,
                f"✅ EMISSION SUCCESS: {event} → thread={thread} (run_id={run}, {who})")


def _no_connection(thread: str, event: str, t: float) -> Line:
    """netra.md §2.4: the bridge addresses the thread id as if it were a user id."""
    return Line(t, "CRITICAL", MANAGER, "send_to_user", 466,
                f"CRITICAL ERROR: No WebSocket connections found for user {thread}. "
                f"User will not receive message: {event}")


def _timeout(run: str, started: float, agent: str = "supervisor", with_run: bool = True
             ) -> list[Line]:
    """AgentExecutionCore's 30 s limit: its own line names no run; the supervisor's handler
    names the run in a CRITICAL line after it, which other agents' timeouts do not get."""
    at = started + 30.0
    lines = [Line(at, "ERROR", CORE, "_execute_with_timeout", 188,
                  f"Agent {agent} timed out after 30.0s")]
    if with_run:
        lines.append(Line(at + 0.002, "CRITICAL", SERVICE, "_execute_supervisor", 171,
                          f"🚨 CRITICAL: SupervisorAgent execution failed for run_id={run}: "
                          "Agent execution timeout after 30.0s"))
    return lines


def _run_done(user: str, thread: str, run: str, t: float) -> list[Line]:
    return [
        Line(t + 0.01, "INFO", SERVICE, "_execute_supervisor", 168,
             f"✅ SupervisorAgent executed successfully for run_id={run}"),
        Line(t + 0.05, "INFO", SERVICE, "handle_start_agent", 118,
             f"✅ Agent request processing completed for user={user}, thread={thread}"),
        Line(t + 0.06, "INFO", HANDLER, "_handle_message_v3", 386,
             f"✅ Successfully processed MessageType.START_AGENT for {user} with v3 clean pattern"),
        Line(t + 0.061, "INFO", ROUTES, "_handle_websocket_messages", 1019,
             f"Message routing successful for user {user}"),
    ]


def _loop_exit(user: str, conn: str, t: float, n: int, rng: random.Random) -> Line:
    return Line(t, "INFO", ROUTES, "_handle_websocket_messages", 1094,
                f"Exiting message handling loop for connection: {conn} | Duration: {t:.1f}s | "
                f"Messages processed: {1 + rng.randrange(2)} | Errors: 0 | User: {user}")


def _auth_failure(ids: Ids) -> Episode:
    """@0918 /ws route: the only auth-failure line that names its connection (netra.md §3.2).

    The redaction filter turns `AUTH FAILURE:` into `AUTH=REDACTED` (netra.md §4.5), so the
    real line reads `GOLDEN PATH AUTH=REDACTED WebSocket authentication failed for connection …`.
    """
    prelim, conn = f"ssot_{ids.hex8()}", f"main_{ids.hex8()}"
    rng = ids.rng
    t = rng.uniform(0.05, 0.3)
    # Half as the filter would print it, half as the template reads (the redaction is derived).
    failure = "AUTH=REDACTED" if rng.random() < 0.5 else "AUTH FAILURE:"
    lines = [
        Line(0.0, "INFO", SSOT, "websocket_endpoint", 559,
             f"[U+1F517] GOLDEN PATH CONNECTION: WebSocket connection initiated - connection_id: "
             f"{prelim}, mode: main"),
        Line(0.001, "INFO", SSOT, "_handle_main_mode", 672,
             f"[MAIN MODE] Starting WebSocket connection {conn}"),
        Line(0.004, "CRITICAL", SSOT, "_handle_main_mode", 731,
             f"[U+1F511] GOLDEN PATH AUTH=REDACTED permissive authentication with circuit "
             f"breaker for connection {conn} - user_id: pending, connection_state: "
             "WebSocketState.CONNECTED"),
        Line(t, "CRITICAL", SSOT, "_handle_main_mode", 752,
             f" ALERT:  GOLDEN PATH {failure} WebSocket authentication failed for connection "
             f"{conn} - No JWT=REDACTED in WebSocket headers or subprotocols"),
        Line(t + 0.001, "ERROR", AUTH, "_extract_token", 322,
             "[U+1F511] TOKEN=REDACTED FAILURE: No JWT=REDACTED in WebSocket headers or "
             "subprotocols"),
    ]
    return Episode(cls="connection_failure", key=conn, connection_id=conn, lines=lines)


def _ws_error(ids: Ids) -> Episode:
    """The endpoint's catch-all (routes/websocket.py @0908, `except Exception as e`): the upgrade
    fails before authentication, Cloud Run logs GET /ws 500, and the only backend line is
    `WebSocket error: <exc>` with no connection or user id (a real export: incident I-08)."""
    rng = ids.rng
    err = rng.uniform(0.008, 0.016)
    http = {"requestMethod": "GET", "path": "/ws", "status": 500, "userAgent": "Netra-E2E-Tests/1.0",
            "latency": f"{err + rng.uniform(0.0005, 0.003):.9f}s"}
    lines = [
        Line(0.0, "INFO", "", "", 0, "", "request", http),
        Line(err - 0.004, "INFO", ROUTES, "websocket_endpoint", 598,
             "WebSocket auth check: env=staging, is_testing=False, is_e2e_testing=True"),
        Line(err, "ERROR", ROUTES, "websocket_endpoint", 557,
             f"WebSocket error: {rng.choice(WS_ERRORS)}"),
    ]
    name = f"idless_{ids.hex8()}"  # the truth's own handle; the report's name is time based
    return Episode(cls="connection_failure", key=name, connection_id=name, lines=lines,
                   unidentified=(0.0, err))


LIFECYCLE = ("agent_started", "agent_thinking", "tool_executing", "tool_completed",
             "agent_completed")
CLIENT = "tests.e2e.staging.test_real_agent_execution_staging"


def client_lines(
    user: str, mtype: str, sent: float, server: list[Line], ack: float | None, end: float
) -> list[Line]:
    """The e2e test's log for one connection (netra.md §5): who it is, what it sent, what came
    back, and the `recv()` timeout when the lifecycle never completed. The runner is sequential,
    so its `[FALLBACK] User ID:` line names the connection its next lines belong to."""
    lines = [
        Line(0.0, "INFO", CLIENT, "", 0, f"[FALLBACK] User ID: {user}", "client"),
        Line(sent - 0.001, "INFO", CLIENT, "", 0,
             f'Sending message: {{"type": "{mtype}", "user_request": "Analyze my AI spend"}}',
             "client"),
    ]
    if ack is not None:
        lines.append(Line(ack + 0.02, "INFO", CLIENT, "", 0,
                          f"Received: {{'type': 'ack', 'received_type': '{mtype}', "
                          f"'user_id': '{user}', 'status': 'acknowledged'}}", "client"))
    seen: list[str] = []
    undelivered = any("No WebSocket connections found" in x.message for x in server)
    for line in [] if undelivered else server:
        for event in LIFECYCLE:
            if f"SUCCESS: {event} →" in line.message and event not in seen:
                seen.append(event)
                lines.append(Line(line.offset + 0.015, "INFO", CLIENT, "", 0,
                                  f"✅ Received critical event: {event}", "client"))
    if "agent_completed" not in seen:
        missing = ", ".join(repr(e) for e in LIFECYCLE if e not in seen)
        last = max([sent] + [x.offset for x in lines])
        at = min(last + 10.0, end - 0.5)
        lines += [
            Line(at, "WARNING", CLIENT, "", 0, "Timeout waiting for events after 10.0s", "client"),
            Line(at + 0.001, "ERROR", CLIENT, "", 0,
                 f"Missing critical events: {{{missing}}}", "client"),
        ]
    return lines
