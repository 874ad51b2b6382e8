"""Reads for the real-time hub (realtime/hub.py) and live pages, as plain SQL through
forum.queries.sql.

Every client that follows a topic asks for that topic once when it subscribes; after a restart
all of a process's clients come back within seconds and ask at once. Through the ORM each ask
built a query and (on SQLite) hopped to aiosqlite's thread; here it is one indexed read of a
row that is, for a popular topic, usually already remembered (forum.queries.sql.fetch).
"""

from __future__ import annotations

from forum.auth import Identity
from forum.models import Topic
from forum.queries.sql import fetch, from_row, select_list

_TOPIC_SQL = "SELECT {columns} FROM topics t WHERE t.id = ?"


async def live_since(ident: Identity) -> int:
    """`last_event_id()` as of the start of the request: read with the viewer's session when
    there is one (forum.actions.users.live_session), so the page pays no query of its own."""
    if ident.live_since is not None:
        return ident.live_since
    return await last_event_id()


async def last_event_id() -> int:
    """The newest event's id (0 before any). A live page reads it before what it shows and
    hands it to live.js as its first `since`, so what happens between the page's reads and the
    socket's subscription is replayed, not lost."""
    rows = await fetch("SELECT MAX(id) AS last FROM events")
    return int(rows[0]["last"] or 0) if rows else 0


async def topic_by_id(topic_id: int) -> Topic | None:
    """The topic row as a model (every column, deleted or not), or None when there is none;
    whether the caller may see it is the policy's question."""
    if not 0 < topic_id < 2**31:
        return None
    rows = await fetch(_TOPIC_SQL.format(columns=select_list(Topic, "t")), topic_id)
    return from_row(Topic, rows[0]) if rows else None
