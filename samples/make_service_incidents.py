#!/usr/bin/env python3
"""Write the two service-level samples: a crash-looping revision and an auth-rejection hour.

Synthetic, seeded (byte-identical on every run), in the real backend's export formats: the
message texts, envelopes and id shapes are those of the real staging exports (September 2025);
times, ids and counts are made up.

    python samples/make_service_incidents.py           # rewrite the files
    python samples/make_service_incidents.py --check   # exit 1 if a file differs
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = "netra-staging"
BACKEND = "netra-backend-staging"
AUTH = "netra-auth-service"
HOST = "https://api.staging.netrasystems.ai"


class Export:
    """Entries of one sample, with seeded ids."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.entries: list[dict] = []

    def hexid(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def instance(self) -> str:
        return "0069c7a988" + self.hexid(150)

    def add(self, ts: datetime, *, revision: str, instance: str, log: str = "stderr",
            severity: str | None = None, text: str | None = None, message: str | None = None,
            http: dict | None = None, service: str = BACKEND, extra: dict | None = None) -> None:
        entry: dict = {
            "insertId": self.hexid(24),
            "labels": {"instanceId": instance},
            "logName": f"projects/{PROJECT}/logs/run.googleapis.com%2F{log}",
            "receiveTimestamp": _z(ts + timedelta(milliseconds=self.rng.randint(40, 400))),
            "resource": {"labels": {"configuration_name": service, "location": "us-central1",
                                    "project_id": PROJECT, "revision_name": revision,
                                    "service_name": service}, "type": "cloud_run_revision"},
            "timestamp": _z(ts),
        }
        if severity:
            entry["severity"] = severity
        if text is not None:
            entry["textPayload"] = text
        if message is not None:
            entry["jsonPayload"] = {"message": message, "timestamp": ts.isoformat(),
                                    **(extra or {})}
        if http is not None:
            entry["httpRequest"] = http
        self.entries.append(entry)

    def request(self, ts: datetime, path: str, status: int, *, revision: str, instance: str,
                agent: str = "python-httpx/0.28.1", method: str = "GET") -> None:
        self.add(ts, revision=revision, instance=instance, log="requests",
                 severity="ERROR" if status >= 500 else ("WARNING" if status >= 400 else "INFO"),
                 http={"latency": f"{self.rng.uniform(0.002, 2.5):.6f}s", "protocol": "HTTP/1.1",
                       "remoteIp": f"68.5.{self.rng.randint(1, 254)}.{self.rng.randint(1, 254)}",
                       "requestMethod": method, "requestUrl": f"{HOST}{path}",
                       "requestSize": str(self.rng.randint(200, 900)),
                       "responseSize": str(self.rng.randint(100, 3000)), "status": status,
                       "userAgent": agent})


def _z(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def crash_loop() -> list[dict]:
    """Revision 00740-47l never boots: a module it imports was not in the image (gunicorn worker
    fails, the container exits 3 every ~7 s on a fresh instance); 00739 served before it."""
    x = Export(740)
    good, bad = f"{BACKEND}-00739-k2p", f"{BACKEND}-00740-47l"
    start = datetime(2025, 9, 16, 0, 40, 0, tzinfo=UTC)
    old = x.instance()
    for i in range(60):  # the old revision answers health checks and API calls
        t = start + timedelta(seconds=2 * i)
        x.request(t, "/health", 200, revision=good, instance=old, agent="GoogleHC/1.0")
        if i % 6 == 0:
            x.add(t + timedelta(milliseconds=5), revision=good, instance=old, severity="INFO",
                  message="ClickHouse unavailable - using mock client (non-critical in staging)")
    t = start + timedelta(minutes=1, seconds=13)
    for n in range(16):
        inst = x.instance()
        pid = 11 + n % 3
        stamp = f"[{t:%Y-%m-%d %H:%M:%S} +0000]"
        x.add(t, revision=bad, instance=inst, log="varlog%2Fsystem", severity="INFO",
              text="Starting new instance. Reason: DEPLOYMENT_ROLLOUT - Instance started due to "
                   "traffic shifting between revisions due to deployment, traffic split adjustment, "
                   "or deployment health check.")
        for k, line in enumerate(("Starting gunicorn 23.0.0", "Listening at: http://0.0.0.0:8000 (1)",
                                  "Using worker: uvicorn.workers.UvicornWorker",
                                  f"Booting worker with pid: {pid}")):
            x.add(t + timedelta(milliseconds=100 + k), revision=bad, instance=inst,
                  text=f"{stamp} [1] [INFO] {line}")
        x.add(t + timedelta(seconds=2), revision=bad, instance=inst, severity="INFO",
              message="Database URL (staging/Cloud SQL): postgresql+asyncpg://***@/netra_staging"
                      "?host=/cloudsql/netra-staging:us-central1:staging-shared-postgres")
        x.add(t + timedelta(seconds=3), revision=bad, instance=inst, severity="ERROR",
              message="CRITICAL: Enhanced middleware setup failed: No module named "
                      "'netra_backend.app.services.monitoring'")
        x.add(t + timedelta(seconds=3, milliseconds=8), revision=bad, instance=inst,
              severity="ERROR",
              message="Middleware setup failure details: ModuleNotFoundError: No module named "
                      "'netra_backend.app.services.monitoring'",
              extra={"error": {"traceback": None, "type": "ModuleNotFoundError",
                               "value": "No module named 'netra_backend.app.services.monitoring'"}})
        x.add(t + timedelta(seconds=3, milliseconds=20), revision=bad, instance=inst,
              severity="ERROR", text=(
                  "Traceback (most recent call last):\n"
                  '  File "/usr/local/lib/python3.11/site-packages/gunicorn/arbiter.py", line 608, '
                  "in spawn_worker\n    worker.init_process()\n"
                  '  File "/app/netra_backend/app/main.py", line 41, in <module>\n'
                  "    from netra_backend.app.core.app_factory import create_app\n"
                  '  File "/app/netra_backend/app/middleware/gcp_auth_context_middleware.py", '
                  "line 23, in <module>\n"
                  "    from netra_backend.app.services.monitoring.gcp_error_reporter import "
                  "GCPErrorReporter\n"
                  "ModuleNotFoundError: No module named 'netra_backend.app.services.monitoring'"))
        x.add(t + timedelta(seconds=3, milliseconds=300), revision=bad, instance=inst,
              text=f"{stamp} [{pid}] [ERROR] Exception in worker process")
        x.add(t + timedelta(seconds=3, milliseconds=700), revision=bad, instance=inst,
              text=f"{stamp} [1] [ERROR] Worker (pid:{pid}) exited with code 3")
        x.add(t + timedelta(seconds=3, milliseconds=710), revision=bad, instance=inst,
              text=f"{stamp} [1] [ERROR] Reason: Worker failed to boot.")
        x.add(t + timedelta(seconds=4), revision=bad, instance=inst, log="varlog%2Fsystem",
              severity="WARNING", text="Container called exit(3).")
        if n % 2 == 0:  # the e2e suite and the health checker knock on the broken revision
            x.request(t + timedelta(seconds=5), "/ws", 503, revision=bad, instance=inst,
                      agent="Netra-E2E-Tests/1.0")
            x.request(t + timedelta(seconds=5, milliseconds=300), "/health", 503, revision=bad,
                      instance=inst, agent="GoogleHC/1.0")
        t += timedelta(seconds=7, milliseconds=x.rng.randint(0, 400))
    # gcloud logging read returns newest first
    return sorted(x.entries, key=lambda e: (e["timestamp"], e["insertId"]), reverse=True)


def auth_rejections() -> list[dict]:
    """Every WebSocket upgrade refused with 403: the backend verifies tokens with another JWT
    secret than the auth service signs them with; the auth service also rejects the backend's
    stale SERVICE_ID."""
    x = Export(83)
    rev, auth_rev = f"{BACKEND}-00083-5xw", f"{AUTH}-00061-q7d"
    start = datetime(2025, 9, 7, 13, 20, 0, tzinfo=UTC)
    inst, auth_inst = x.instance(), x.instance()
    for i in range(150):
        t = start + timedelta(seconds=6 * i)
        x.request(t, "/health", 200, revision=rev, instance=inst, agent="GoogleHC/1.0")
        if i % 10 == 3:
            x.request(t + timedelta(seconds=1), "/api/threads", 200, revision=rev, instance=inst)
    for n in range(24):
        t = start + timedelta(seconds=30 * n + x.rng.randint(0, 20))
        no_token = n % 5 == 4
        x.add(t, revision=rev, instance=inst, severity="INFO",
              message="E2E detection via headers: True, headers: {'x-test-type': 'e2e', "
                      "'x-e2e-test': 'true'}")
        if not no_token:
            x.add(t + timedelta(milliseconds=30), revision=rev, instance=inst, severity="ERROR",
                  message="JWT=REDACTED verification failed - likely JWT=REDACTED between services")
        reason = "No JWT=REDACTED" if no_token else "Invalid JWT=REDACTED"
        x.add(t + timedelta(milliseconds=40), revision=rev, instance=inst, severity="WARNING",
              message=f"WebSocket connection rejected in staging: {reason}")
        x.request(t + timedelta(milliseconds=45), "/ws", 403, revision=rev, instance=inst,
                  agent="Netra-E2E-Tests/1.0")
        if n % 4 == 0:  # the auth service's own view, as its stdlib formatter writes it
            expected = f"netra-auth-staging-{1757251259 + 30 * n}"
            x.add(t + timedelta(milliseconds=20), revision=auth_rev, instance=auth_inst,
                  service=AUTH, severity="WARNING",
                  text=f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} - auth-service - "
                       "auth_service.auth_core.routes.auth_routes - WARNING - Blacklist check - "
                       "Service ID mismatch: received 'netra-auth-staging-1757251019', expected "
                       f"'{expected}'. Backend should use SERVICE_ID='{expected}'")
    return sorted(x.entries, key=lambda e: (e["timestamp"], e["insertId"]))


def outputs() -> dict[Path, bytes]:
    array = json.dumps(crash_loop(), indent=2, ensure_ascii=False) + "\n"
    lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in auth_rejections())
    return {HERE / "crash-loop-hour.json": array.encode(),
            HERE / "auth-rejection-hour.jsonl": lines.encode()}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, data in outputs().items():
        if check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(path.name)
        else:
            path.write_bytes(data)
    if stale:
        print(f"out of date: {', '.join(stale)} (run python samples/make_service_incidents.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
