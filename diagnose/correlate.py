"""Events (in time order) → per-connection timelines, with bounded state.

A timeline is found through any id it carries: the connection id, the user/client id the router's
ack names, and the thread and run ids of the agent it started. Lines that carry no id are placed
as the rule pack's `[[placement]]` entries say: paired with the next event of a kind on the same
instance (`MessageRouter detected unknown message type: X` ↔ its ack), put on the request just
received, on the agent run live on that instance, or made a connection of their own (an auth
failure, a `WebSocket error` before auth). A timeline is released once no event has touched it for
`release_after`, so memory follows the number of live connections, not the size of the input.
Live timelines are kept in order of their last event, so finding the expired ones reads only them,
not every live timeline (60,000 at once on a busy hour). When that many are live, the ones idle for
PACK_IDLE are packed (model.Connection.pack) until an event touches them or they are released.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .hashset import CountingHashSet
from .model import Connection, Event
from .rulepack.model import Placement

KEY_PREFERENCE = ("user", "connection", "thread", "run")
# The backend addresses some deliveries to a thread id in its `user` slot; treat those as threads.
THREAD_PREFIX = "thread_"
REQUEST_KINDS = ("message.received",)
RUN_START_KINDS = ("agent.run_started",)
RUN_END_KINDS = ("agent.run_completed", "lifecycle.agent_completed")
MAX_PENDING = 10_000  # id-less lines waiting for their pair; the oldest give up first
PACK_ABOVE = 10_000  # live timelines past which idle ones are packed (most inputs never get here)
PACK_IDLE = timedelta(seconds=10)


@dataclass(slots=True)
class CorrelationStats:
    uncorrelated: int = 0
    uncorrelated_kinds: dict[str, int] = field(default_factory=dict)

    def count(self, event: Event) -> None:
        self.uncorrelated += 1
        self.uncorrelated_kinds[event.kind] = self.uncorrelated_kinds.get(event.kind, 0) + 1


class Correlator:
    """Feed events in time order; completed timelines come out of `feed` and `finish`."""

    def __init__(
        self,
        release_after: timedelta,
        stats: CorrelationStats | None = None,
        placements: list[Placement] | None = None,
    ) -> None:
        self.release_after = release_after
        self.stats = stats or CorrelationStats()
        self.placements = placements or []
        self._placements_by_kind: dict[str, list[Placement]] = {}
        self.waited_for = {k for p in self.placements if p.strategy == "pair_next"
                           for k in p.pair_kinds}
        self.live: dict[int, Connection] = {}  # least recently touched first (see _touch)
        self.unpacked: dict[int, None] = {}  # the ones to pack when idle, in the same order
        self.alias: dict[tuple[str, str], int] = {}
        self.pending: list[tuple[Event, Placement]] = []  # id-less lines waiting for their pair
        self.last_request: dict[str | None, tuple[Event, int]] = {}  # per instance
        self.last_unnamed: dict[str | None, int] = {}  # per instance: the newest id-less timeline
        # per instance: timelines with a live run, and when that run started
        self.running: dict[str | None, dict[int, datetime]] = {}
        self.key_uses = CountingHashSet()  # names given so far: 8 bytes each, not ~120
        self._next = 0
        self._last_sweep = None

    def feed(self, event: Event) -> Iterator[Connection]:
        yield from self._sweep(event)
        keys = _id_keys(event)
        if not keys:
            self._place_idless(event)
            return
        conn_id = self._resolve(event, keys)
        conn = self._touch(conn_id)
        self._track(event, conn_id)
        _append(conn, event)
        self._attach_pending(event, conn)
        for key in keys:
            self.alias[key] = conn_id
        for name, value in keys:
            conn.ids.setdefault(name, set()).add(value)
        if conn.instance is None and event.ids.get("instance"):
            conn.instance = event.ids["instance"]

    def finish(self) -> Iterator[Connection]:
        for event, _ in self.pending:
            self.stats.count(event)
        self.pending.clear()
        for conn_id in sorted(self.live, key=lambda i: self.live[i].first_seen):
            yield self._release(self.live.pop(conn_id))  # let go of each (unpacked) as it goes
        self.unpacked.clear()
        self.alias.clear()

    # -- internals -------------------------------------------------------------------------

    def _place_idless(self, event: Event) -> None:
        """Lines that name no connection: the first placement of the pack that fits wins."""
        for placement in self._placements_for(event.kind):
            if self._place(event, placement):
                return
        self.stats.count(event)

    def _placements_for(self, kind: str) -> list[Placement]:
        """The pack's placements that apply to `kind`, in order (looked up once per kind)."""
        found = self._placements_by_kind.get(kind)
        if found is None:
            found = self._placements_by_kind[kind] = [
                p for p in self.placements if p.applies(kind)]
        return found

    def _place(self, event: Event, placement: Placement) -> bool:
        instance = event.ids.get("instance")
        within = timedelta(seconds=placement.within_seconds)
        if placement.strategy == "pair_next":
            if len(self.pending) >= MAX_PENDING:
                self.stats.count(self.pending.pop(0)[0])
            self.pending.append((event, placement))  # its pair follows within `within`
            return True
        if placement.strategy == "join_recent":
            # the lines one failure writes within milliseconds (gunicorn's access line, the
            # endpoint's rejection, the auth client's reason) are one client's story
            conn_id = self.last_unnamed.get(instance)
            conn = self.live[conn_id].unpack() if conn_id in self.live else None
            if conn is None or conn.ids or not timedelta(0) <= event.ts - conn.last_seen <= within:
                return False
            _append(self._touch(conn_id), event)
            self._attach_pending(event, conn)
            return True
        if placement.strategy == "new_connection":
            conn_id = self._create([])
            conn = self.live[conn_id]
            conn.instance = instance
            self.last_unnamed[instance] = conn_id
            _append(conn, event)  # a story of its own: nothing else will name this client
            self._attach_pending(event, conn)
            return True
        if placement.strategy == "last_request":
            recent = self.last_request.get(instance)
            if recent is None:
                return False
            request, conn_id = recent
            if conn_id in self.live and _same(event, request, placement.match) and (
                timedelta(0) <= event.ts - request.ts <= within
            ):
                _append(self._touch(conn_id), event)
                return True
            return False
        # live_run: the run on that instance this line is about
        runs = {c: t for c, t in self.running.get(instance, {}).items() if c in self.live}
        if not runs:
            return False
        _append(self._touch(_likeliest_run(event, runs)), event)
        return True

    def _touch(self, conn_id: int) -> Connection:
        """The timeline, unpacked and moved to the end of `live`: events come in time order, so
        `live` stays ordered by each timeline's last event and the expired ones are at its front."""
        conn = self.live[conn_id] = self.live.pop(conn_id)
        self.unpacked.pop(conn_id, None)
        self.unpacked[conn_id] = None
        return conn.unpack()

    def _track(self, event: Event, conn_id: int) -> None:
        instance = event.ids.get("instance")
        if event.kind in REQUEST_KINDS:
            self.last_request[instance] = (event, conn_id)
        elif event.kind in RUN_START_KINDS:
            self.running.setdefault(instance, {}).setdefault(conn_id, event.ts)
        elif event.kind in RUN_END_KINDS:
            self.running.get(instance, {}).pop(conn_id, None)

    def _resolve(self, event: Event, keys: list[tuple[str, str]]) -> int:
        found: list[int] = []
        for key in keys:
            conn_id = self.alias.get(key)
            if conn_id is not None and conn_id not in found:
                found.append(conn_id)
        new_conn = event.ids.get("connection")
        if new_conn and found:  # a reused user id on a different connection id is a new session
            found = [c for c in found if _may_hold(self.live[c].unpack(), "connection", new_conn)]
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
        self.unpacked[conn_id] = None
        return conn_id

    def _release(self, conn: Connection) -> Connection:
        """Name the timeline by the id a user knows best (the client/user id the ack names,
        else its connection id…); a reused id gets #2, #3 in time order."""
        base = _display_key(conn.unpack())
        uses = self.key_uses.add(base)
        conn.key = base if uses == 1 else f"{base}#{uses}"
        return conn

    def _merge(self, target: int, other: int) -> None:
        a, b = self.live[target].unpack(), self.live.pop(other).unpack()
        self.unpacked.pop(other, None)
        a.events = sorted(a.events + b.events, key=Event.sort_key)
        for name, values in b.ids.items():
            a.ids.setdefault(name, set()).update(values)
            for value in values:
                if self.alias.get((name, value)) == other:
                    self.alias[(name, value)] = target
        a.instance = a.instance or b.instance

    def _attach_pending(self, event: Event, conn: Connection) -> None:
        """A line waiting for this kind (same instance, within its window) joins this timeline."""
        if event.kind not in self.waited_for or not self.pending:
            return
        instance = event.ids.get("instance")
        for i, (line, placement) in enumerate(self.pending):
            if (
                event.kind in placement.pair_kinds
                and line.ids.get("instance") == instance
                and _same(line, event, placement.match)
                and timedelta(0) <= event.ts - line.ts <= timedelta(seconds=placement.within_seconds)
            ):
                _append(conn, self.pending.pop(i)[0])
                return

    def _sweep(self, event: Event) -> Iterator[Connection]:
        now = event.ts
        if self.pending:
            keep = []
            for line, placement in self.pending:
                if (now - line.ts).total_seconds() > placement.within_seconds:
                    self.stats.count(line)
                else:
                    keep.append((line, placement))
            self.pending = keep
        if self._last_sweep is not None and now - self._last_sweep < timedelta(seconds=5):
            return
        self._last_sweep = now
        expired = self._idle_front(self.live, now, self.release_after)
        for cid in sorted(expired, key=lambda i: self.live[i].first_seen):
            conn = self.live.pop(cid).unpack()
            self.unpacked.pop(cid, None)
            for name, values in conn.ids.items():
                for value in values:
                    if self.alias.get((name, value)) == cid:
                        del self.alias[(name, value)]
            for instance, (_, owner) in list(self.last_request.items()):
                if owner == cid:
                    del self.last_request[instance]
            for instance, owner in list(self.last_unnamed.items()):
                if owner == cid:
                    del self.last_unnamed[instance]
            for runs in self.running.values():
                runs.pop(cid, None)
            yield self._release(conn)
        if len(self.live) > PACK_ABOVE:
            self._pack_idle(now)

    def _pack_idle(self, now: datetime) -> None:
        """Pack the timelines no event touched for PACK_IDLE (the front of `unpacked`)."""
        for cid in self._idle_front(self.unpacked, now, PACK_IDLE):
            self.live[cid].pack()
            del self.unpacked[cid]

    def _idle_front(self, order: Iterable[int], now: datetime, idle: timedelta) -> list[int]:
        """The timelines at the front of `order` (least recently touched first) that no event
        touched for longer than `idle`: reading stops at the first one touched since."""
        front = []
        for cid in order:
            if now - self.live[cid].last_seen <= idle:
                break
            front.append(cid)
        return front


def correlate(
    events: Iterable[Event],
    release_after: timedelta,
    stats: CorrelationStats | None = None,
    placements: list[Placement] | None = None,
) -> Iterator[Connection]:
    """Group time-ordered events into connection timelines (yielded as they complete)."""
    correlator = Correlator(release_after, stats, placements)
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


def _may_hold(conn: Connection, name: str, value: str) -> bool:
    """The timeline has `value` among its `name` ids, or no `name` id at all."""
    values = conn.ids.get(name)
    return values is None or value in values


def _append(conn: Connection, event: Event) -> None:
    if conn.events and Event.sort_key(event) < Event.sort_key(conn.events[-1]):
        conn.events.append(event)
        conn.events.sort(key=Event.sort_key)
    else:
        conn.events.append(event)


def _same(a: Event, b: Event, names: list[str]) -> bool:
    """The attrs named agree wherever both events have them."""
    for name in names:
        x, y = a.attrs.get(name), b.attrs.get(name)
        if x is not None and y is not None and x != y:
            return False
    return True


def _likeliest_run(event: Event, runs: dict[int, datetime]) -> int:
    """`Agent X timed out after 30.0s` names no run: the one that started about 30 s earlier,
    else the latest one started."""
    seconds = event.attrs.get("seconds")
    try:
        expected = event.ts - timedelta(seconds=float(seconds)) if seconds else None
    except (ValueError, OverflowError):
        expected = None
    if expected is None:
        return max(runs, key=lambda c: (runs[c], c))
    return min(runs, key=lambda c: (abs((runs[c] - expected).total_seconds()), c))
