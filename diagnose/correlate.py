"""Events (in time order) → per-connection timelines, with bounded state.

A timeline is found through any id it carries: the connection id, the user/client id the router's
ack names, and the thread and run ids of the agent it started. Lines that carry no id — the
router's `detected unknown message type: X` — are paired with the next ack for X on the same
instance within a second. A timeline is released once no event has touched it for `release_after`,
so memory follows the number of live connections, not the size of the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from .model import Connection, Event

PAIR_WINDOW = timedelta(seconds=1)
STANDALONE_KINDS = ("auth.failed",)  # id-less events that are a whole connection's story
KEY_PREFERENCE = ("user", "connection", "thread", "run")
# The backend addresses some deliveries to a thread id in its `user` slot; treat those as threads.
THREAD_PREFIX = "thread_"


@dataclass(slots=True)
class CorrelationStats:
    uncorrelated: int = 0
    uncorrelated_kinds: dict[str, int] = field(default_factory=dict)

    def count(self, event: Event) -> None:
        self.uncorrelated += 1
        self.uncorrelated_kinds[event.kind] = self.uncorrelated_kinds.get(event.kind, 0) + 1


class Correlator:
    """Feed events in time order; completed timelines come out of `feed` and `finish`."""

    def __init__(self, release_after: timedelta, stats: CorrelationStats | None = None) -> None:
        self.release_after = release_after
        self.stats = stats or CorrelationStats()
        self.live: dict[int, Connection] = {}
        self.alias: dict[tuple[str, str], int] = {}
        self.pending: list[Event] = []  # id-less unknown-type lines waiting for their ack
        self.last_request: dict[str | None, tuple[Event, int]] = {}  # per instance
        self.running: dict[str | None, list[int]] = {}  # per instance: timelines with a live run
        self.key_uses: dict[str, int] = {}
        self._next = 0
        self._last_sweep = None

    def feed(self, event: Event) -> Iterator[Connection]:
        yield from self._sweep(event)
        keys = _id_keys(event)
        if not keys:
            self._place_idless(event)
            return
        conn_id = self._resolve(event, keys)
        conn = self.live[conn_id]
        self._track(event, conn_id)
        if event.kind == "router.unknown_ack":
            self._attach_pending(event, conn)
        _append(conn, event)
        for key in keys:
            self.alias[key] = conn_id
        for name, value in keys:
            conn.ids.setdefault(name, set()).add(value)
        if conn.instance is None and event.ids.get("instance"):
            conn.instance = event.ids["instance"]

    def finish(self) -> Iterator[Connection]:
        for event in self.pending:
            self.stats.count(event)
        self.pending.clear()
        for conn_id in sorted(self.live, key=lambda i: self.live[i].first_seen):
            yield self._release(self.live[conn_id])
        self.live.clear()
        self.alias.clear()

    # -- internals -------------------------------------------------------------------------

    def _place_idless(self, event: Event) -> None:
        """Router lines name no connection: tie them to the request they belong to."""
        if event.kind == "router.unknown_type":
            self.pending.append(event)  # its ack, which names the client, follows within ~1 ms
            return
        if event.kind in STANDALONE_KINDS:
            # An auth failure ends its connection: nothing else will name it, but the
            # failure still happened to some client and belongs in the outcome table.
            _append(self.live[self._create([])], event)
            return
        recent = self.last_request.get(event.ids.get("instance"))
        if recent is not None and event.kind.startswith("router."):
            request, conn_id = recent
            mtype = event.attrs.get("message_type")
            same_type = mtype is None or mtype == request.attrs.get("message_type")
            if conn_id in self.live and same_type and event.ts - request.ts <= PAIR_WINDOW:
                _append(self.live[conn_id], event)
                return
        runs = [c for c in self.running.get(event.ids.get("instance"), []) if c in self.live]
        if event.kind.startswith(("agent.", "lifecycle.")) and len(runs) == 1:
            _append(self.live[runs[0]], event)  # the only agent running on that instance
            return
        self.stats.count(event)

    def _track(self, event: Event, conn_id: int) -> None:
        instance = event.ids.get("instance")
        if event.kind == "message.received":
            self.last_request[instance] = (event, conn_id)
        elif event.kind == "agent.run_started":
            runs = self.running.setdefault(instance, [])
            if conn_id not in runs:
                runs.append(conn_id)
        elif event.kind in ("agent.run_completed", "lifecycle.agent_completed"):
            runs = self.running.get(instance, [])
            if conn_id in runs:
                runs.remove(conn_id)

    def _resolve(self, event: Event, keys: list[tuple[str, str]]) -> int:
        found: list[int] = []
        for key in keys:
            conn_id = self.alias.get(key)
            if conn_id is not None and conn_id not in found:
                found.append(conn_id)
        new_conn = event.ids.get("connection")
        if new_conn:  # a reused user id on a different connection id is a new session
            found = [
                c for c in found
                if new_conn in self.live[c].ids.get("connection", {new_conn})
            ]
        if not found:
            return self._create(keys)
        target = found[0]
        for other in found[1:]:
            self._merge(target, other)
        return target

    def _create(self, keys: list[tuple[str, str]]) -> int:
        conn_id = self._next
        self._next += 1
        self.live[conn_id] = Connection(key="")  # named when released, from all its ids
        return conn_id

    def _release(self, conn: Connection) -> Connection:
        """Name the timeline by the id a user knows best (the client/user id the ack names,
        else its connection id…); a reused id gets #2, #3 in time order."""
        base = _display_key(conn)
        uses = self.key_uses.get(base, 0) + 1
        self.key_uses[base] = uses
        conn.key = base if uses == 1 else f"{base}#{uses}"
        return conn

    def _merge(self, target: int, other: int) -> None:
        a, b = self.live[target], self.live.pop(other)
        a.events = sorted(a.events + b.events, key=Event.sort_key)
        for name, values in b.ids.items():
            a.ids.setdefault(name, set()).update(values)
            for value in values:
                if self.alias.get((name, value)) == other:
                    self.alias[(name, value)] = target
        a.instance = a.instance or b.instance

    def _attach_pending(self, ack: Event, conn: Connection) -> None:
        mtype = ack.attrs.get("message_type")
        instance = ack.ids.get("instance")
        for i, line in enumerate(self.pending):
            if (
                line.attrs.get("message_type") == mtype
                and line.ids.get("instance") == instance
                and timedelta(0) <= ack.ts - line.ts <= PAIR_WINDOW
            ):
                _append(conn, self.pending.pop(i))
                return

    def _sweep(self, event: Event) -> Iterator[Connection]:
        now = event.ts
        keep = []
        for line in self.pending:
            if now - line.ts > PAIR_WINDOW:
                self.stats.count(line)
            else:
                keep.append(line)
        self.pending = keep
        if self._last_sweep is not None and now - self._last_sweep < timedelta(seconds=5):
            return
        self._last_sweep = now
        expired = [
            cid for cid, conn in self.live.items() if now - conn.last_seen > self.release_after
        ]
        for cid in sorted(expired, key=lambda i: self.live[i].first_seen):
            conn = self.live.pop(cid)
            for name, values in conn.ids.items():
                for value in values:
                    if self.alias.get((name, value)) == cid:
                        del self.alias[(name, value)]
            for instance, (_, owner) in list(self.last_request.items()):
                if owner == cid:
                    del self.last_request[instance]
            for runs in self.running.values():
                if cid in runs:
                    runs.remove(cid)
            yield self._release(conn)


def correlate(
    events: Iterable[Event], release_after: timedelta, stats: CorrelationStats | None = None
) -> Iterator[Connection]:
    """Group time-ordered events into connection timelines (yielded as they complete)."""
    correlator = Correlator(release_after, stats)
    for event in events:
        yield from correlator.feed(event)
    yield from correlator.finish()


def _id_keys(event: Event) -> list[tuple[str, str]]:
    keys = []
    for name in KEY_PREFERENCE:
        value = event.ids.get(name)
        if not value:
            continue
        if name == "user" and value.startswith(THREAD_PREFIX):
            name = "thread"
        keys.append((name, value))
    return keys


def _display_key(conn: Connection) -> str:
    for name in KEY_PREFERENCE:
        for event in conn.events:
            for key_name, value in _id_keys(event):
                if key_name == name:
                    return value
    first = conn.events[0]
    return f"unidentified@{first.ts:%H:%M:%S.%f}"[:-3]


def _append(conn: Connection, event: Event) -> None:
    if conn.events and Event.sort_key(event) < Event.sort_key(conn.events[-1]):
        conn.events.append(event)
        conn.events.sort(key=Event.sort_key)
    else:
        conn.events.append(event)
