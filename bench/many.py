"""A log with very many short connections: does memory stay bounded however many there are?

`generate.py` writes realistic traffic (a few thousand connections per GB); this writes the
opposite extreme cheaply — millions of connections of two or three loguru lines each, one
starting every `--every` milliseconds — so the per-connection state diagnose keeps can be
measured (issue #16: 2 million connections within 300 MB). Every `--fail-every`-th connection
sends an unknown message type (a routing failure); the rest open and close cleanly (healthy).
The truth (`<file>.truth.json`) holds the exact count per class.

    .venv/bin/python bench/many.py --connections 2000000 -o bench/out/many2m.log
"""

from __future__ import annotations

import argparse
import heapq
import json
import time
from pathlib import Path

ROUTES = "netra_backend.app.routes.websocket"
ROUTER = "netra_backend.app.websocket_core.handlers"
START = 1_764_583_200  # 2025-12-01T10:00:00Z
UNKNOWN_TYPES = ("execute_agent", "agent_execute", "get_agent_status")


def _stamp(ms: int) -> str:
    sec, frac = divmod(ms, 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(sec)) + f".{frac:03d}"


def _line(ms: int, where: str, message: str) -> str:
    return f"{_stamp(ms)} | INFO     | {where} - {message}\n"


def _entry(ms: int, where: str, message: str) -> str:
    """The same line as a sink JSONL LogEntry (the backend's GCP formatter, one instance).
    The insertId is unique per line: time and where the line comes from."""
    stamp = _stamp(ms).replace(" ", "T") + "Z"
    return json.dumps({
        "insertId": f"{ms:x}{where.rsplit(':', 1)[-1]}",
        "jsonPayload": {"message": message, "logger": where.rsplit(":", 2)[0]},
        "labels": {"instanceId": "00f46b9270"},
        "logName": "projects/netra-staging/logs/run.googleapis.com%2Fstderr",
        "resource": {"type": "cloud_run_revision", "labels": {
            "service_name": "netra-backend-staging",
            "revision_name": "netra-backend-staging-00154-2tw"}},
        "severity": "INFO",
        "timestamp": stamp,
    }) + "\n"


RENDER = {"text": _line, "jsonl": _entry}


def connection_lines(n: int, start_ms: int, failing: bool, render=_line) -> list[str]:
    """Connection number `n`: a healthy open/close, or an acked unknown type (3 lines), each
    made by `render(ms, where, message)`."""
    user = f"user_{n:08x}"
    if failing:
        mtype = UNKNOWN_TYPES[n % len(UNKNOWN_TYPES)]
        return [
            render(start_ms, f"{ROUTES}:_handle_websocket_messages:1014",
                  f"Routing message type '{mtype}' from {user}: {{'type': '{mtype}'}}"),
            render(start_ms + 1, f"{ROUTER}:route_message:939",
                  f"MessageRouter detected unknown message type: {mtype}"),
            render(start_ms + 2, f"{ROUTER}:_send_unknown_message_ack:1021",
                  f"Sending ack for unknown message type '{mtype}' from {user}"),
        ]
    conn = f"ws_conn_{n:08x}"
    return [
        render(start_ms, f"{ROUTES}:websocket_endpoint:745",
              f"Registered connection with isolated manager: {conn}"),
        render(start_ms + 2000, f"{ROUTES}:_handle_websocket_messages:1094",
              f"Exiting message handling loop for connection: {conn} | Duration: 2.0s | "
              f"Messages processed: 1 | Errors: 0 | User: {user}"),
    ]


def write(path: Path, connections: int, every_ms: int, fail_every: int,
          form: str = "text") -> dict:
    """Lines are written in time order through a small look-ahead buffer (closes come later)."""
    pending: list[tuple[int, int, str]] = []  # (ms, seq, line), kept sorted by a heap
    seq = 0
    failing = 0
    with path.open("w", encoding="utf-8") as out:
        for n in range(connections):
            start = START * 1000 + n * every_ms
            while pending and pending[0][0] < start:
                out.write(heapq.heappop(pending)[2])
            fails = fail_every > 0 and n % fail_every == 0
            failing += fails
            for line in connection_lines(n, start, fails, RENDER[form]):
                ms = start + (2000 if "Exiting" in line else 0)
                seq += 1
                heapq.heappush(pending, (ms, seq, line))
        while pending:
            out.write(heapq.heappop(pending)[2])
    return {"connections": connections, "classes": {
        "routing_failure": failing, "healthy": connections - failing}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--connections", type=int, default=100_000)
    p.add_argument("--every", type=int, default=5, help="ms between connection starts")
    p.add_argument("--fail-every", type=int, default=20,
                   help="every Nth connection is a routing failure (0: none)")
    p.add_argument("--format", choices=sorted(RENDER), default="text",
                   help="loguru text lines, or sink JSONL LogEntries of the same messages")
    p.add_argument("-o", "--output", type=Path, required=True)
    args = p.parse_args(argv)
    truth = write(args.output, args.connections, args.every, args.fail_every, args.format)
    Path(f"{args.output}.truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB): {truth['classes']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
