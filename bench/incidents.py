"""Service-level incidents: failures of a revision or a service rather than of one connection.

Two shapes an on-call engineer meets in the real staging exports (netra.md §6, samples/), in the
entries Cloud Run writes for them:

- `crash_loop`: a new revision whose gunicorn worker cannot import a module. Every ~7 s a fresh
  instance starts, gunicorn logs `Worker failed to boot`, the platform logs
  `Container called exit(3).`, and health checks get 503 from it.
- `auth_rejected`: the backend verifies tokens with another JWT secret than the auth service
  signs them with, so every WebSocket upgrade is refused: `JWT=REDACTED verification failed -
  likely JWT=REDACTED between services`, `WebSocket connection rejected in staging: Invalid
  JWT=REDACTED`, a /ws 403 request log; the auth service sees a Service ID with a newline.

Their truth is a finding (class, scope, scope key) rather than a connection; the refused upgrades
of an auth burst are also connections no line names (`unidentified@…` in the report).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from noise import AUTH_SERVICE, BACKEND, Entry

KINDS = ("crash_loop", "auth_rejected")
BOOT_EVERY_US = 7_000_000
MISSING_MODULES = (
    "netra_backend.app.services.monitoring",
    "netra_backend.app.core.telemetry_bridge",
    "netra_backend.app.agents.tool_registry_v2",
)


@dataclass
class Incident:
    """The entries of one incident and the finding the report must carry for it."""

    cls: str
    scope: str
    scope_key: str
    entries: list[Entry]
    triggers: int  # lines of the finding rule's trigger kinds that were planted
    episodes: int  # failed boots / refused upgrades: the finding counts at least this many
    # refused upgrades: (first µs, last µs) of each client the logs never name
    unidentified: list[tuple[int, int]] = field(default_factory=list)

    def truth(self) -> dict:
        return {"class": self.cls, "scope": self.scope, "scope_key": self.scope_key,
                "triggers": self.triggers, "min_count": self.episodes,
                "first": self.entries[0].ts,
                "last": max(e.ts for e in self.entries)}


def crash_loop(rng: random.Random, start_us: int, number: int, boots: int = 12) -> Incident:
    """A rollout of revision 00155+n that never boots, beside the serving revision."""
    revision = f"{BACKEND}-{155 + number:05d}-{_tag(rng)}"
    module = rng.choice(MISSING_MODULES)
    entries: list[Entry] = []
    t = start_us
    for n in range(boots):
        instance = f"0069c7a988{rng.getrandbits(600):0150x}"
        pid = 11 + n % 3

        def add(dt_ms: float, kind: str, severity: str, message: str, module_name: str = "",
                *, at: int = t, inst: str = instance) -> None:
            entries.append(Entry(at + int(dt_ms * 1000), BACKEND, kind, severity, message,
                                 module_name, "", 0, revision=revision, instance_id=inst))

        stamp = _gunicorn_stamp(t)
        add(0, "system", "INFO", "Starting new instance. Reason: DEPLOYMENT_ROLLOUT - Instance "
            "started due to traffic shifting between revisions due to deployment, traffic split "
            "adjustment, or deployment health check.")
        for k, line in enumerate(("Starting gunicorn 23.0.0", "Listening at: http://0.0.0.0:8000 (1)",
                                  "Using worker: uvicorn.workers.UvicornWorker",
                                  f"Booting worker with pid: {pid}")):
            add(100 + k, "stderr", "", f"{stamp} [1] [INFO] {line}")
        add(3000, "app", "ERROR", f"CRITICAL: Enhanced middleware setup failed: No module named "
            f"'{module}'", "netra_backend.app.core.middleware_setup")
        add(3020, "stderr", "ERROR",
            "Traceback (most recent call last):\n"
            '  File "/usr/local/lib/python3.11/site-packages/gunicorn/arbiter.py", line 608, in '
            "spawn_worker\n    worker.init_process()\n"
            '  File "/app/netra_backend/app/middleware/gcp_auth_context_middleware.py", line 23, '
            f"in <module>\n    import {module}\n"
            f"ModuleNotFoundError: No module named '{module}'")
        add(3300, "stderr", "", f"{stamp} [{pid}] [ERROR] Exception in worker process")
        add(3700, "stderr", "", f"{stamp} [1] [ERROR] Worker (pid:{pid}) exited with code 3")
        add(3710, "stderr", "", f"{stamp} [1] [ERROR] Reason: Worker failed to boot.")
        add(4000, "system", "WARNING", "Container called exit(3).")
        if n % 2 == 0:  # the health checker knocks on the broken revision
            entries.append(_request(rng, t + 5_300_000, "/health", 503, "GoogleHC/1.0", revision,
                                    instance))
        t += BOOT_EVERY_US + rng.randrange(400_000)
    return Incident("crash_loop", "revision", revision, entries, triggers=2 * boots, episodes=boots)


def auth_rejected(rng: random.Random, start_us: int, attempts: int = 12) -> Incident:
    """Every e2e upgrade on one backend instance refused with 403 for a few minutes."""
    entries: list[Entry] = []
    windows: list[tuple[int, int]] = []
    instance = rng.randrange(4)
    triggers = 0
    t = start_us
    for n in range(attempts):
        no_token = n % 5 == 4
        first = len(entries)

        def app(dt_ms: float, severity: str, message: str, *, at: int = t) -> None:
            entries.append(Entry(at + int(dt_ms * 1000), BACKEND, "app", severity, message,
                                 "netra_backend.app.websocket_core.unified_websocket_auth",
                                 "authenticate_websocket_ssot", 214, instance=instance))

        app(0, "INFO", "E2E detection via headers: True, headers: {'x-test-type': 'e2e', "
            "'x-e2e-test': 'true'}")
        if not no_token:
            app(30, "ERROR", "JWT=REDACTED verification failed - likely JWT=REDACTED between "
                "services")
            triggers += 1
        reason = "No JWT=REDACTED" if no_token else "Invalid JWT=REDACTED"
        app(40, "WARNING", f"WebSocket connection rejected in staging: {reason}")
        triggers += 1
        entries.append(_request(rng, t + 45_000, "/ws", 403, "Netra-E2E-Tests/1.0", None,
                                None, instance))
        windows.append((entries[first].ts, entries[-1].ts))
        if n % 4 == 0:
            entries.append(Entry(t + 20_000, AUTH_SERVICE, "app", "WARNING",
                                 "Blacklist check - Service ID mismatch: expected 'netra-backend', "
                                 "got 'netra-backend\\n'", "auth_service.auth_core.routes.auth_routes",
                                 "blacklist_check", 311, instance=rng.randrange(2)))
        t += 10_000_000 + rng.randrange(10_000_000)
    return Incident("auth_rejected", "service", BACKEND, entries, triggers, attempts, windows)


def _request(rng: random.Random, ts: int, path: str, status: int, agent: str,
             revision: str | None, instance_id: str | None, instance: int = 0) -> Entry:
    http = {"requestMethod": "GET", "requestUrl": f"https://api.staging.netrasystems.ai{path}",
            "requestSize": str(rng.randrange(200, 900)), "status": status,
            "responseSize": str(rng.randrange(100, 3000)), "userAgent": agent,
            "remoteIp": f"68.5.{rng.randrange(1, 255)}.{rng.randrange(1, 255)}",
            "serverIp": "216.239.38.53", "latency": f"{rng.uniform(0.002, 2.5):.9f}s",
            "protocol": "HTTP/1.1"}
    severity = "ERROR" if status >= 500 else "WARNING"
    return Entry(ts, BACKEND, "request", severity, http=http, instance=instance,
                 revision=revision, instance_id=instance_id)


def _tag(rng: random.Random) -> str:
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=3))


def _gunicorn_stamp(us: int) -> str:
    return time.strftime("[%Y-%m-%d %H:%M:%S +0000]", time.gmtime(us // 1_000_000))
