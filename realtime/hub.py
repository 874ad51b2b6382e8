"""The connection hub: subscriptions by routing key, fan-out through the policy, catch-up.

One task per process listens to the broker and feeds an inbox; one dispatcher puts events in id
order (realtime.sequence), fills gaps from the log, and fans each event out to the local
connections allowed to see it. The policy is asked once per class of viewers (Audience), a
frame is encoded and serialized once per audience (staff or not), never once per connection,
and its bytes are written straight to the transport of each socket that takes them at once
(realtime.wire); a socket that does not drain gets a writer task and a bounded queue, and a
connection whose queue is full is closed with 1013 so it can reconnect and catch up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from forum import policy
from forum.clock import SYSTEM, Clock
from forum.errors import log_failure
from forum.inputs import ascii_digits
from forum.models import Category, Topic, User
from forum.queries import live
from realtime import catchup, protocol
from realtime.broker import Broker
from realtime.channels import (
    INTERNAL_TYPES,
    LiveEvent,
    client_data,
    judged_alone,
    kind_of,
    label,
    may_receive,
    may_subscribe_simple,
    routes,
    routing_key,
    viewer_class,
)
from realtime.limits import Limits
from realtime.presence import Presence
from realtime.protocol import Channel
from realtime.sequence import Sequencer
from realtime.wire import Direct, text_frame

log = logging.getLogger(__name__)

Message = dict[str, Any]
Outgoing = tuple[Message, bytes]  # a frame as an ASGI message, and as bytes on the wire
_POLL = object()  # inbox marker: read the log now
CATEGORY_TTL = 60.0
# Account events that end sockets: all of a user's, those of some sessions, or of API tokens.
REVOKING = frozenset({"user.access_revoked", "session.revoked", "user.password_changed"})
POLL_LIMIT = 1000  # events per read of the log
REPLAYED_TTL = 30.0  # how long ids sent by a replay are remembered to drop late duplicates
# Events after which a followed topic's deletion is read again (a merge deletes the source).
TOPIC_STATE_TYPES = frozenset({"topic.merged", "topic.updated", "topic.deleted", "topic.restored"})


def as_message(text: str) -> Message:
    return {"type": "websocket.send", "text": text}


async def _finish(send: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Run to its end a coroutine that was started by hand and yielded `waiting`: what a Task
    does with what its coroutine yields (a future to wait for, or None to just yield once)."""
    while True:
        try:
            try:
                if waiting is None:
                    await asyncio.sleep(0)
                else:
                    waiting._asyncio_future_blocking = False  # taken over, as a Task does
                    await waiting
            except BaseException as exc:  # cancelled: let the coroutine clean up and re-raise
                waiting = send.throw(exc)
            else:
                waiting = send.send(None)
        except StopIteration:
            return


class Connection:
    """One client socket as the hub sees it."""

    __slots__ = (
        "websocket",
        "direct",
        "user",
        "session_id",
        "staff",
        "viewer",
        "viewer_until",
        "queue",
        "queue_size",
        "keys",
        "pending",
        "floors",
        "replayed",
        "replayed_until",
        "writer",
        "closer",
        "closing",
        "close_code",
    )

    def __init__(
        self, websocket: WebSocket, user: User | None, session_id: int | None, queue_size: int
    ) -> None:
        self.websocket = websocket
        self.direct = Direct.of(websocket)  # None: every frame goes through websocket.send()
        self.user = user
        self.session_id = session_id  # when authenticated by a session cookie
        self.staff = policy.is_staff(user)
        self.viewer, self.viewer_until = viewer_class(user)
        # Frames waiting behind a send the socket could not take at once (see put()); made
        # when first needed: an idle connection should hold as little as possible.
        self.queue: deque[Message] | None = None
        self.queue_size = queue_size
        self.keys: set[str] = set()
        # While a replay runs, live frames wait here so they follow it: (event id, frame).
        self.pending: list[tuple[int | None, Message]] | None = None
        # A client that resumed from an id this process has not reached yet: skip up to it.
        self.floors: dict[str, int] | None = None
        self.replayed: set[int] | None = None
        self.replayed_until = 0.0
        self.writer: asyncio.Task[None] | None = None  # only while the socket is not draining
        self.closer: asyncio.Task[None] | None = None
        self.closing = False
        self.close_code: int | None = None

    @property
    def user_id(self) -> int | None:
        return None if self.user is None else self.user.id

    def viewer_at(self, now: float) -> int:
        """The connection's viewer class (channels.viewer_class) at wall-clock time `now`:
        a membership that lapses while the socket is open counts from that moment."""
        if now >= self.viewer_until:
            self.viewer, self.viewer_until = viewer_class(self.user, now)
        return self.viewer

    def put(self, message: Message, frame: bytes | None = None) -> bool:
        """Send a frame; False when it cannot be queued (the client is too slow).

        `frame` is `message` already serialized as a WebSocket frame (realtime.wire), when the
        caller sends the same one to many connections. Usually the socket takes the frame at
        once: written straight to the transport (realtime.wire.Direct), or else the send
        coroutine is run right here and finishes without suspending (no task switch, no queue,
        nothing allocated that outlives the call). When the transport is paused (the client
        stopped reading), the send waits in a writer task, and later frames queue behind it,
        up to queue_size.
        """
        if self.closing:
            return True
        if self.writer is not None:
            if self.queue is None:
                self.queue = deque()
            elif len(self.queue) >= self.queue_size:
                return False
            self.queue.append(message)
            return True
        direct = self.direct
        if direct is not None and direct.write(
            text_frame(message["text"]) if frame is None else frame
        ):
            return True
        send = self.websocket.send(message)
        try:
            waiting = send.send(None)
        except StopIteration:
            return True
        except Exception:  # gone or broken: its read loop cleans up; the audience goes on
            return True
        self.writer = asyncio.get_running_loop().create_task(self._drain(send, waiting))
        return True

    async def _drain(self, send: Coroutine[Any, Any, None], waiting: Any) -> None:
        try:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await _finish(send, waiting)
                while self.queue:
                    await self.websocket.send(self.queue.popleft())
        finally:
            self.writer = None
            self.queue = None

    def push(
        self, message: Message, event_id: int | None = None, frame: bytes | None = None
    ) -> bool:
        if self.pending is not None:
            self.pending.append((event_id, message))
            return len(self.pending) <= self.queue_size
        return self.put(message, frame)

    def offer(self, event_id: int, key: str, message: Message, frame: bytes | None = None) -> bool:
        """A live event: skipped if the client already has it, else pushed."""
        if self.floors and event_id <= self.floors.get(key, 0):
            return True
        if self.replayed is not None:
            if time.monotonic() > self.replayed_until:
                self.replayed = None
            elif event_id in self.replayed:
                return True
        return self.push(message, event_id, frame)

    def flush_pending(self) -> bool:
        pending, self.pending = self.pending or [], None
        replayed = self.replayed or set()
        for event_id, message in pending:
            if (event_id is None or event_id not in replayed) and not self.put(message):
                return False
        return True


class Audience:
    """What one event on one routing key gives each connection: its frame (the ASGI message
    and the same serialized for realtime.wire), or None when the policy refuses.

    The policy is asked once per viewer class (channels.viewer_class) and the frame encoded
    once per side (staff or not), never once per connection; `user:<id>` keys, which only
    that user's sockets hear, are judged per connection.
    """

    __slots__ = (
        "key", "kind", "event", "category", "topic", "alone", "now", "_verdicts", "_frames"
    )  # fmt: skip

    def __init__(
        self,
        key: str,
        event: LiveEvent,
        category: Category | None,
        now: float,
        topic: Topic | None = None,
    ) -> None:
        self.key = key
        self.kind = kind_of(key)
        self.event = event
        self.category = category
        self.topic = topic  # on a topic key: the topic as last known (channels.may_receive)
        self.alone = self.kind == "user" or judged_alone(topic)
        self.now = now  # wall-clock time, for memberships that lapse
        self._verdicts: dict[int, Outgoing | None] = {}
        self._frames: dict[bool, Outgoing] = {}

    def of(self, conn: Connection) -> Outgoing | None:
        if self.alone:
            return self._judge(conn)
        viewer = conn.viewer_at(self.now)
        try:
            return self._verdicts[viewer]
        except KeyError:
            out = self._verdicts[viewer] = self._judge(conn)
            return out

    def _judge(self, conn: Connection) -> Outgoing | None:
        event = self.event
        if not may_receive(conn.user, self.key, event, self.category, self.kind, self.topic):
            return None
        out = self._frames.get(conn.staff)
        if out is None:
            data = client_data(event.data, conn.staff)
            text = protocol.event(event.id, label(self.key), event.type, data)
            out = self._frames[conn.staff] = (as_message(text), text_frame(text))
        return out


class Hub:
    def __init__(self, limits: Limits | None = None, clock: Clock = SYSTEM) -> None:
        self.limits = limits or Limits.from_env()
        self.clock = clock  # what the clients' rate limits read (realtime.endpoint)
        self.node = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.accepting = False
        self.broker_live = False
        self._broker: Broker | None = None
        self._conns: set[Connection] = set()
        self._subs: dict[str, set[Connection]] = {}
        self._by_user: dict[int, set[Connection]] = {}
        self._categories: dict[int, Category] = {}
        self._by_slug: dict[str, Category] = {}
        self._categories_at = 0.0
        self._misses: dict[object, float] = {}
        # The topics local sockets follow, as last known: the row read at subscribe, its
        # category kept up by events, its deletion re-read after a topic event.
        self._topics: dict[int, Topic] = {}
        self._sequencer: Sequencer[LiveEvent] = Sequencer(0, self.limits.hold)
        self._inbox: asyncio.Queue[LiveEvent | object] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closers: set[asyncio.Task[None]] = set()
        self._next_poll = 0.0
        # Process-level notices carried by the broker beside events (no "channel": they reach
        # no socket), by type: e.g. read positions noted by another worker (forum.reads).
        self.listeners: dict[str, Callable[[dict[str, Any]], None]] = {}
        self.presence = Presence(
            self.node,
            self._publish,
            self._presence_changed,
            debounce=self.limits.presence_debounce,
            ttl=self.limits.presence_ttl,
            frames_per_second=self.limits.presence_frames_per_second,
        )

    @property
    def delivered_up_to(self) -> int:
        """The highest event id this worker has delivered (or given up on): everything at or
        below it has reached, or will never reach, its sockets."""
        return self._sequencer.high

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self, broker: Broker) -> None:
        self._broker = broker
        self._inbox = asyncio.Queue(maxsize=10_000)
        self._sequencer = Sequencer(await catchup.last_id(), self.limits.hold)
        await self._load_categories()
        ready = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._next_poll = loop.time() + self.limits.poll_interval
        self._tasks = [
            asyncio.create_task(self._receive(ready), name="realtime-receive"),
            asyncio.create_task(self._dispatch(), name="realtime-dispatch"),
            asyncio.create_task(self._tick(), name="realtime-tick"),
        ]
        try:
            async with asyncio.timeout(5):
                await ready.wait()
        except TimeoutError:
            log.warning("broker subscription not ready; live events come from the log for now")
        self.accepting = True

    async def stop(self) -> None:
        """Close every socket with 1012 (clients reconnect and catch up), then stop."""
        self.accepting = False
        for conn in list(self._conns):
            self.close(conn, protocol.CLOSE_RESTART, "server restart")
        if self._closers:
            await asyncio.wait(list(self._closers), timeout=self.limits.close_timeout)
        with contextlib.suppress(Exception):
            await self.presence.flush()
        await self.presence.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    # -- connections ----------------------------------------------------------------------------

    @property
    def connection_count(self) -> int:
        return len(self._conns)

    def connections_of(self, user_id: int) -> int:
        return len(self._by_user.get(user_id, ()))

    def connect(
        self, websocket: WebSocket, user: User | None, session_id: int | None = None
    ) -> Connection:
        conn = Connection(websocket, user, session_id, self.limits.queue_size)
        self._conns.add(conn)
        if user is not None:
            self._by_user.setdefault(user.id, set()).add(conn)
        return conn

    async def disconnect(self, conn: Connection) -> None:
        """The socket is done (the endpoint returns): forget it; let a pending close finish."""
        self._forget(conn)
        if conn.closer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await conn.closer

    def close(self, conn: Connection, code: int, reason: str) -> None:
        """Stop delivering to `conn` now and close it with `code` (bounded by close_timeout)."""
        if conn.closing:
            return
        conn.closing = True
        conn.close_code = code
        self._forget(conn)
        conn.closer = asyncio.create_task(self._close(conn, code, reason))
        self._closers.add(conn.closer)
        conn.closer.add_done_callback(self._closers.discard)

    def disconnect_user(self, user_id: int) -> int:
        """Close every local socket of this user (access revoked); returns how many."""
        conns = list(self._by_user.get(user_id, ()))
        for conn in conns:
            self.close(conn, protocol.CLOSE_POLICY, "access revoked")
        return len(conns)

    def disconnect_sessions(self, user_id: int, session_ids: list[int]) -> int:
        """Close the local sockets opened with these (now ended) login sessions."""
        ended = set(session_ids)
        conns = [c for c in self._by_user.get(user_id, ()) if c.session_id in ended]
        for conn in conns:
            self.close(conn, protocol.CLOSE_POLICY, "session ended")
        return len(conns)

    async def _close(self, conn: Connection, code: int, reason: str) -> None:
        # The writer is cancelled first: a close may wait for a full socket buffer to drain,
        # and a client that never reads again is given up after close_timeout.
        # If even the close frame cannot be written in time (the client stopped reading and the
        # transport is paused), the transport is aborted: the client sees the connection end
        # and reconnects with `since`, and the read loop wakes to its disconnect.
        try:
            async with asyncio.timeout(self.limits.close_timeout):
                await conn.websocket.close(code, reason)
        except TimeoutError:
            if conn.direct is not None:
                conn.direct.abort()
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass

    def _forget(self, conn: Connection) -> None:
        for key in list(conn.keys):
            self._remove(conn, key)
        self._conns.discard(conn)
        user_id = conn.user_id
        if user_id is not None and (mine := self._by_user.get(user_id)) is not None:
            mine.discard(conn)
            if not mine:
                del self._by_user[user_id]
        if conn.writer is not None:
            conn.writer.cancel()
        conn.pending = None

    def _add(self, conn: Connection, key: str) -> None:
        conn.keys.add(key)
        self._subs.setdefault(key, set()).add(conn)
        if key.startswith("topic:") and conn.user is not None:
            self.presence.join(int(key[6:]), conn.user.id)

    def _remove(self, conn: Connection, key: str) -> None:
        conn.keys.discard(key)
        if conn.floors:
            conn.floors.pop(key, None)
        subs = self._subs.get(key)
        if subs is not None:
            subs.discard(conn)
            if not subs:
                del self._subs[key]
        if key.startswith("topic:"):
            topic_id = int(key[6:])
            if conn.user is not None:
                self.presence.leave(topic_id, conn.user.id)
            if key not in self._subs:
                self._topics.pop(topic_id, None)

    # -- subscriptions -------------------------------------------------------------------------

    def labels(self, conn: Connection) -> list[str]:
        return sorted(label(key) for key in conn.keys)

    async def subscribe(
        self, conn: Connection, channels: tuple[Channel, ...], since: int | None
    ) -> None:
        new: list[str] = []
        for channel in channels:
            key = routing_key(channel, conn.user)
            if key is not None and key in conn.keys:
                continue
            if key is None or not await self._may_subscribe(conn.user, channel):
                text = protocol.error("forbidden", "You may not follow this channel.", channel.name)
                conn.push(as_message(text))
                continue
            if len(conn.keys) + len(new) >= self.limits.max_channels:
                text = protocol.error("bad_request", "Too many channels on one connection.")
                conn.push(as_message(text))
                break
            new.append(key)
        if conn.closing:
            return
        for key in new:
            self._add(conn, key)
        upto = self._sequencer.high
        if since is None or not new:
            conn.push(as_message(protocol.subscribed(self.labels(conn), upto)))
            self._send_presence(conn, new)
            return
        conn.pending = []
        try:
            await self._catch_up(conn, new, since, upto)
        finally:
            if not conn.closing and not conn.flush_pending():
                self.close(conn, protocol.CLOSE_TRY_AGAIN, "slow consumer")
        self._send_presence(conn, new)

    async def _catch_up(self, conn: Connection, keys: list[str], since: int, upto: int) -> None:
        limit = max(1, min(self.limits.replay_limit, self.limits.queue_size // 2))
        events: list[LiveEvent] | None = []
        if since > upto:
            if await catchup.exists_at_or_after(since):
                conn.floors = conn.floors or {}
                for key in keys:  # another worker is ahead of this one: skip what it sent
                    conn.floors[key] = since
            else:
                events = None  # an id this log never had (another database?): start over
        elif since < upto:
            if await catchup.beyond_log(since, self.limits.retention):
                events = None
            else:
                events = await catchup.replay(keys, since, upto, limit)
        for category_id in {e.category_id for e in events or () if e.category_id is not None}:
            await self._category(category_id)  # a category created since the last load
        if conn.closing:
            return
        wanted = set(keys)
        replayed: set[int] = set()
        frames: list[str] = []
        for event in events or ():
            if event.type in INTERNAL_TYPES:
                continue
            category = self._categories.get(event.category_id or 0)
            for key in routes(event):
                if key not in wanted:
                    continue
                topic = self._topic_of_key(key)
                if not may_receive(conn.user, key, event, category, "", topic):
                    continue
                assert event.id is not None
                data = client_data(event.data, conn.staff)
                frames.append(protocol.event(event.id, label(key), event.type, data))
                replayed.add(event.id)
        if events is None:
            frames.extend(protocol.resync(label(key)) for key in keys)
        conn.replayed = replayed or None
        conn.replayed_until = time.monotonic() + REPLAYED_TTL
        last = max(upto, since) if events is not None else upto
        frames.append(protocol.subscribed(self.labels(conn), last))
        if not all(conn.put(as_message(text)) for text in frames):
            self.close(conn, protocol.CLOSE_TRY_AGAIN, "slow consumer")

    def unsubscribe(self, conn: Connection, channels: tuple[Channel, ...]) -> None:
        for channel in channels:
            key = routing_key(channel, conn.user)
            if key is not None and key in conn.keys:
                self._remove(conn, key)
        conn.push(as_message(protocol.subscribed(self.labels(conn), self._sequencer.high)))

    async def _may_subscribe(self, user: User | None, channel: Channel) -> bool:
        if channel.kind == "category":
            assert channel.slug is not None
            category = await self._category_by_slug(channel.slug)
            return category is not None and policy.can_see_category(user, category)
        if channel.kind == "topic":
            assert channel.topic_id is not None
            topic = await live.topic_by_id(channel.topic_id)
            if topic is None:
                return False
            category = await self._category(topic.category_id)
            if category is None or not policy.can_see_topic(user, topic, category):
                return False
            self._topics[topic.id] = topic
            return True
        return may_subscribe_simple(user, channel)

    # -- typing and presence -------------------------------------------------------------------

    async def typing(self, conn: Connection, topic_id: int) -> str | None:
        """Tell the topic's other readers; returns an error message when not allowed."""
        key = f"topic:{topic_id}"
        if conn.user is None or not policy.is_member(conn.user) or key not in conn.keys:
            return "Subscribe to the topic as a member first."
        await self._publish(
            {
                "ephemeral": True,
                "type": "typing",
                "channel": key,
                "category_id": self._category_of_topic(topic_id),
                "user_id": conn.user.id,
                "data": {"username": conn.user.username},
            }
        )
        return None

    async def _publish(self, message: dict[str, Any]) -> None:
        if self._broker is not None:
            await self._broker.publish(message)

    def _presence_changed(self, topic_id: int, total: int) -> int:
        key = f"topic:{topic_id}"
        event = LiveEvent(
            None, "presence", key, self._category_of_topic(topic_id), None, {"reading": total}
        )
        return self._fan_out_ephemeral(event, exclude_user=None)

    def _send_presence(self, conn: Connection, keys: list[str]) -> None:
        for key in keys:
            if key.startswith("topic:") and (total := self.presence.total(int(key[6:]))):
                conn.push(as_message(protocol.event(None, key, "presence", {"reading": total})))

    # -- the event stream ----------------------------------------------------------------------

    async def _receive(self, ready: asyncio.Event) -> None:
        """The one broker subscription of this process; on failure, retry with back-off."""
        assert self._broker is not None and self._inbox is not None
        inbox, backoff = self._inbox, 0.2

        def on_ready() -> None:
            ready.set()
            self.broker_live = True
            with contextlib.suppress(asyncio.QueueFull):
                inbox.put_nowait(_POLL)  # catch what was published while we were away

        while True:
            stream = self._broker.subscribe(on_ready)
            try:
                async for message in stream:
                    backoff = 0.2
                    listener = self.listeners.get(message.get("type"))  # type: ignore[arg-type]
                    if listener is not None and "channel" not in message:
                        try:
                            listener(message)
                        except Exception:
                            log.exception("a broker notice listener failed; continuing")
                        continue
                    event = LiveEvent.from_message(message)
                    if event is not None:
                        await inbox.put(event)
            except Exception as exc:
                log.warning("broker subscription lost (%s); reading the event log meanwhile", exc)
            finally:
                self.broker_live = False
                with contextlib.suppress(Exception):
                    await stream.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _dispatch(self) -> None:
        assert self._inbox is not None
        inbox, loop, seq = self._inbox, asyncio.get_running_loop(), self._sequencer
        while True:
            item: object = None
            if not inbox.empty():
                item = inbox.get_nowait()
            else:
                wake = (
                    self._next_poll if seq.deadline is None else min(self._next_poll, seq.deadline)
                )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, wake - loop.time())):
                        item = await inbox.get()
            try:
                now = loop.time()
                if isinstance(item, LiveEvent):
                    if item.id is None:
                        self._ephemeral(item, now)
                    else:
                        for ready in seq.push(item, now):
                            await self._deliver(ready)
                if item is _POLL or now >= self._next_poll:
                    await self._poll()
                if seq.expired(loop.time()):
                    await self._fill_gap()
            except Exception as exc:
                log_failure(log, "real-time dispatch failed; continuing", exc)
                await asyncio.sleep(0.1)

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.limits.poll_interval
        self._next_poll = loop.time() + (interval if self.broker_live else min(interval, 1.0))
        found = await catchup.after(self._sequencer.high, limit=POLL_LIMIT)
        if len(found) == POLL_LIMIT:
            self._next_poll = loop.time()  # more where these came from: read on at once
        for event in found:
            for ready in self._sequencer.push(event, loop.time()):
                await self._deliver(ready)

    async def _fill_gap(self) -> None:
        seq = self._sequencer
        now = asyncio.get_running_loop().time()
        ready: list[LiveEvent] = []
        found = await catchup.after(seq.high, upto=seq.held_up_to, limit=POLL_LIMIT)
        if len(found) < POLL_LIMIT:
            # Events are published after they commit, so the log has every genuine one: an
            # event it lacks came from elsewhere (another forum on the same channel?).
            dropped = seq.discard_held({e.id for e in found if e.id is not None})
            if dropped:
                log.warning("ignoring events %s: not in this forum's log", dropped[:5])
        for event in found:
            ready.extend(seq.push(event, now))
        ready.extend(seq.release())
        for event in ready:
            await self._deliver(event)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.limits.presence_refresh)
            self.presence.refresh(loop.time())

    async def _deliver(self, event: LiveEvent) -> None:
        await self._ensure_category(event)
        if event.type.startswith("category.") and event.category_id is not None:
            self._recheck_category(event.category_id)
        if event.type in REVOKING and event.channel.startswith("user:"):
            self._revoke(event)
        topic_id: object = event.data.get("topic_id")
        if event.channel.startswith("topic:") and ascii_digits(event.channel[6:]):
            topic_id = int(event.channel[6:])  # the channel's topic, not one the data names
        known = self._topics.get(topic_id) if isinstance(topic_id, int) else None
        if known is not None and event.category_id is not None:
            known.category_id = event.category_id
        self._fan_out(event)
        if known is not None and event.type in TOPIC_STATE_TYPES:
            # The event that changes a topic's state reached those who could see it before;
            # from now on the policy judges by the state the database has.
            await self._reload_topic(known)
        await asyncio.sleep(0)  # let the writers drain between events

    def _revoke(self, event: LiveEvent) -> None:
        """Close the sockets whose credentials an account event just took away."""
        user_id = event.user_id
        if user_id is None and ascii_digits(event.channel[5:]):
            user_id = int(event.channel[5:])
        if user_id is None:
            return
        if event.type == "user.access_revoked":
            self.disconnect_user(user_id)
            return
        ended = event.data.get("ended_sessions")
        if isinstance(ended, list):
            self.disconnect_sessions(user_id, [i for i in ended if isinstance(i, int)])
        if event.type == "user.password_changed":  # every API token of the account went too
            for conn in [c for c in self._by_user.get(user_id, ()) if c.session_id is None]:
                self.close(conn, protocol.CLOSE_POLICY, "credentials changed")

    def _recheck_category(self, category_id: int) -> None:
        """A category changed (its visibility, say): the sockets that may no longer see it
        lose their subscriptions to it and to its topics at once, not at its next event."""
        category = self._categories.get(category_id)
        if category is None:
            return
        keys = [f"category:{category.slug}"] + [
            f"topic:{topic_id}"
            for topic_id, topic in self._topics.items()
            if topic.category_id == category_id
        ]
        for key in keys:
            conns = self._subs.get(key, ())
            lost = [c for c in conns if not policy.can_see_category(c.user, category)]
            if not lost:
                continue
            text = protocol.error("forbidden", "You may no longer follow this channel.", key)
            for conn in lost:
                self._remove(conn, key)
                if not conn.push(as_message(text)):
                    self.close(conn, protocol.CLOSE_TRY_AGAIN, "slow consumer")

    def _fan_out(self, event: LiveEvent) -> None:
        if event.type in INTERNAL_TYPES:
            return
        assert event.id is not None
        event_id = event.id
        category = self._categories.get(event.category_id or 0)
        now = self.clock.time()  # memberships lapse by it
        for key in routes(event):
            conns = self._subs.get(key)
            if not conns:
                continue
            audience = Audience(key, event, category, now, self._topic_of_key(key))
            lost: list[Connection] = []
            full: list[Connection] = []
            for conn in conns:
                out = audience.of(conn)
                if out is None:
                    if audience.kind in ("topic", "category"):
                        lost.append(conn)
                    continue
                if not conn.offer(event_id, key, out[0], out[1]):
                    full.append(conn)
            if lost:
                text = protocol.error("forbidden", "You may no longer follow this channel.", key)
                for conn in lost:
                    self._remove(conn, key)
                    if not conn.push(as_message(text)):
                        full.append(conn)
            for conn in full:
                self.close(conn, protocol.CLOSE_TRY_AGAIN, "slow consumer")

    def _ephemeral(self, event: LiveEvent, now: float) -> None:
        if event.type == "presence":
            self.presence.receive(event.data, now)
        elif event.type == "typing" and event.channel.startswith("topic:"):
            username = event.data.get("username")
            topic = event.channel[6:]
            if isinstance(username, str) and ascii_digits(topic):
                event.data = {"username": username}
                # Judge by what this process knows of the topic's category, if anything.
                event.category_id = self._category_of_topic(int(topic)) or event.category_id
                self._fan_out_ephemeral(event, exclude_user=event.user_id)

    def _fan_out_ephemeral(self, event: LiveEvent, exclude_user: int | None) -> int:
        """Send a typing or presence event to the topic's readers; returns how many got it."""
        key = event.channel
        conns = self._subs.get(key)
        if not conns:
            return 0
        category = self._categories.get(event.category_id or 0)
        audience = Audience(key, event, category, self.clock.time(), self._topic_of_key(key))
        sent = 0
        full: list[Connection] = []
        for conn in conns:
            if exclude_user is not None and conn.user_id == exclude_user:
                continue
            out = audience.of(conn)
            if out is None:
                continue
            sent += 1
            if not conn.push(out[0], None, out[1]):
                full.append(conn)
        for conn in full:
            self.close(conn, protocol.CLOSE_TRY_AGAIN, "slow consumer")
        return sent

    # -- topics --------------------------------------------------------------------------------

    def _topic_of_key(self, key: str) -> Topic | None:
        if not key.startswith("topic:") or not ascii_digits(key[6:]):
            return None
        return self._topics.get(int(key[6:]))

    def _category_of_topic(self, topic_id: int) -> int | None:
        topic = self._topics.get(topic_id)
        return None if topic is None else topic.category_id

    async def _reload_topic(self, known: Topic) -> None:
        """Re-read whether a followed topic is deleted (merged), and take the channel from the
        sockets that may no longer see it, at once, as a category change does."""
        try:
            row = await live.topic_by_id(known.id)
        except Exception as exc:  # judge with what we have
            log.warning("could not reload topic %s: %s", known.id, exc)
            return
        if row is None:
            known.deleted_at = known.deleted_at or datetime.now(UTC)
        else:
            known.deleted_at, known.merged_into_id = row.deleted_at, row.merged_into_id
        category = self._categories.get(known.category_id)
        key = f"topic:{known.id}"
        lost = [
            conn
            for conn in self._subs.get(key, ())
            if category is None or not policy.can_see_topic(conn.user, known, category)
        ]
        text = protocol.error("forbidden", "You may no longer follow this channel.", key)
        for conn in lost:
            self._remove(conn, key)
            if not conn.push(as_message(text)):
                self.close(conn, protocol.CLOSE_TRY_AGAIN, "slow consumer")

    # -- categories ------------------------------------------------------------------------------

    async def _load_categories(self) -> None:
        categories = await Category.all()
        self._categories = {c.id: c for c in categories}
        self._by_slug = {c.slug: c for c in categories}
        self._categories_at = time.monotonic()

    def _worth_reloading(self, missing: object) -> bool:
        """Reload for an unknown category at once, but for the same unknown one every 10 s."""
        now = time.monotonic()
        if self._misses.get(missing, 0.0) > now:
            return False
        if len(self._misses) > 1000:
            self._misses.clear()
        self._misses[missing] = now + 10.0
        return True

    async def _ensure_category(self, event: LiveEvent) -> None:
        """Fresh enough to judge this event: reload on category changes and unknown ids."""
        try:
            if event.type.startswith("category."):
                await self._load_categories()
            elif event.category_id is not None and event.category_id not in self._categories:
                await self._category(event.category_id)
            elif time.monotonic() - self._categories_at > CATEGORY_TTL:
                await self._load_categories()
        except Exception as exc:  # judge with what we have; unknown categories fail closed
            log.warning("could not reload categories: %s", exc)

    async def _category(self, category_id: int) -> Category | None:
        if category_id not in self._categories and self._worth_reloading(category_id):
            await self._load_categories()
        return self._categories.get(category_id)

    async def _category_by_slug(self, slug: str) -> Category | None:
        if slug not in self._by_slug and self._worth_reloading(slug):
            await self._load_categories()
        return self._by_slug.get(slug)
