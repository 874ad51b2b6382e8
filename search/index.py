"""The search index: one row in `search_docs` per searchable thing, its terms beside it.

A row holds what a result shows and what the query filters and checks permission on: its
kind, the ids that reach it (`ref_id`, `topic_id`), `category_id` and `audience` (who may see
it: `category` means the category's visibility decides, `members` verified members, `public`
everyone, `directory` the directory's readers), author, administration, region, language,
creation time, the title and the plain text used for snippets. Only what its audience may
read is ever indexed: hidden, deleted or held posts, deleted or merged topics, draft and
submitted entries and deleted documents have no row.

Writers call one function from inside their own `atomic()` block, so the index changes in the
same transaction as the content: `reindex_post`, `reindex_topic` (a topic with all its posts:
moves, merges), `remove_topic`, `index_entry`, `index_document`, `index_member`. `rebuild`
(`forum reindex`) rewrites everything.

SQLite keeps the terms in the FTS5 table `search_fts` (rowid = `search_docs.id`) and titles
again in `search_titles` for suggestions; PostgreSQL in the `terms` tsvector (GIN index;
titles weighted A).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from forum.queries.sql import as_datetime, execute
from search.text import MAX_STORED_CHARS, plain_text, terms

KINDS = ("topic", "post", "entry", "document", "member")
BATCH = 500
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ID_SLOTS = 16  # ids per microsecond; a taken id moves to the next free one
MAX_TRIES = 256


def doc_id(when: datetime) -> int:
    """A row's id from its creation time: id order is time order, so "newest first" reads
    the full-text index backwards and stops early, and a date range is an id range."""
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    micros = (when - EPOCH) // timedelta(microseconds=1)
    return max(micros, 0) * ID_SLOTS


Progress = Callable[[str, int, int], None]  # kind, done, total


@dataclass(frozen=True)
class Doc:
    kind: str
    ref_id: int
    audience: str  # category | members | public | directory
    created_at: datetime
    title: str = ""
    body: str = ""  # plain text
    topic_id: int | None = None
    category_id: int | None = None
    author_id: int | None = None
    administration_id: int | None = None
    region: str | None = None
    language: str = ""


_COLUMNS = (
    "kind, ref_id, topic_id, category_id, author_id, administration_id, region, audience,"
    " language, created_at, title, body"
)


def _conn() -> BaseDBAsyncClient:
    conn: BaseDBAsyncClient = connections.get("default")  # inside atomic(): the transaction's
    return conn


def is_postgres(conn: BaseDBAsyncClient) -> bool:
    return bool(conn.capabilities.dialect == "postgres")


def stored_time(value: datetime, postgres: bool) -> Any:
    """Times in `search_docs`: timestamptz on PostgreSQL, fixed-width UTC text on SQLite (so
    text order is time order)."""
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value if postgres else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _values(doc: Doc, postgres: bool) -> list[Any]:
    return [
        doc.kind,
        doc.ref_id,
        doc.topic_id,
        doc.category_id,
        doc.author_id,
        doc.administration_id,
        doc.region,
        doc.audience,
        doc.language,
        stored_time(doc.created_at, postgres),
        doc.title[:MAX_STORED_CHARS],
        doc.body[:MAX_STORED_CHARS],
    ]


_PG_TERMS = (
    "setweight(to_tsvector('simple', ?), 'A') || setweight(to_tsvector('simple', ?), 'B')"
    " || setweight(to_tsvector('simple', ?), 'D')"
)


def category_token(category_id: int) -> str:
    """The category as a term of its own (FTS5 column `meta`, tsvector weight D), so a
    category filter is one more term for the engine to intersect, not a row read per match."""
    return f"zzcategory{int(category_id)}"


def _meta(doc: Doc) -> str:
    return category_token(doc.category_id) if doc.category_id is not None else ""


async def _insert(conn: BaseDBAsyncClient, docs: Sequence[Doc]) -> None:
    postgres = is_postgres(conn)
    for doc in docs:
        title_terms, body_terms = terms(doc.title), terms(doc.body)
        extra = (f", {_PG_TERMS}", [title_terms, body_terms, _meta(doc)]) if postgres else ("", [])
        wanted = doc_id(doc.created_at)
        for attempt in range(MAX_TRIES):  # another row of the same microsecond: the next id
            rows = await execute(
                conn,
                f"INSERT INTO search_docs (id, {_COLUMNS}{', terms' if postgres else ''})"
                f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?{extra[0]})"
                " ON CONFLICT (id) DO NOTHING RETURNING id",
                wanted + attempt,
                *_values(doc, postgres),
                *extra[1],
            )
            if rows:
                break
        else:
            raise RuntimeError(f"search: no free id near {wanted}")
        if not postgres:
            await execute(
                conn,
                "INSERT INTO search_fts (rowid, title, body, meta) VALUES (?, ?, ?, ?)",
                rows[0]["id"],
                title_terms,
                body_terms,
                _meta(doc),
            )


async def _delete_where(conn: BaseDBAsyncClient, condition: str, *args: Any) -> None:
    if not is_postgres(conn):
        await execute(
            conn,
            f"DELETE FROM search_fts WHERE rowid IN (SELECT id FROM search_docs WHERE {condition})",
            *args,
        )
    await execute(conn, f"DELETE FROM search_docs WHERE {condition}", *args)


async def put(docs: Sequence[Doc]) -> None:
    """Replace the rows of these things by these."""
    conn = _conn()
    for doc in docs:
        await _delete_where(conn, "kind = ? AND ref_id = ?", doc.kind, doc.ref_id)
    await _insert(conn, docs)


async def drop(kind: str, ref_ids: Iterable[int]) -> None:
    conn = _conn()
    for ref_id in ref_ids:
        await _delete_where(conn, "kind = ? AND ref_id = ?", kind, ref_id)


# --- forum content ---------------------------------------------------------------------------

_POSTS = (
    "SELECT p.id, p.topic_id, p.author_id, p.html, p.created_at, p.language, t.category_id,"
    " u.administration_id, a.region"
    " FROM posts p JOIN topics t ON t.id = p.topic_id JOIN users u ON u.id = p.author_id"
    " LEFT JOIN administrations a ON a.id = u.administration_id"
    " WHERE p.deleted_at IS NULL AND NOT p.hidden"
    " AND t.deleted_at IS NULL AND t.merged_into_id IS NULL"
)
_TOPICS = (
    "SELECT t.id, t.title, t.author_id, t.created_at, t.language, t.category_id,"
    " u.administration_id, a.region"
    " FROM topics t JOIN users u ON u.id = t.author_id"
    " LEFT JOIN administrations a ON a.id = u.administration_id"
    " WHERE t.deleted_at IS NULL AND t.merged_into_id IS NULL"
)


def _post_doc(row: dict[str, Any]) -> Doc:
    return Doc(
        kind="post",
        ref_id=int(row["id"]),
        audience="category",
        created_at=as_datetime(row["created_at"]) or datetime.now(UTC),
        body=plain_text(str(row["html"])),
        topic_id=int(row["topic_id"]),
        category_id=int(row["category_id"]),
        author_id=int(row["author_id"]),
        administration_id=row["administration_id"],
        region=row["region"],
        language=str(row["language"]),
    )


def _topic_doc(row: dict[str, Any]) -> Doc:
    return Doc(
        kind="topic",
        ref_id=int(row["id"]),
        audience="category",
        created_at=as_datetime(row["created_at"]) or datetime.now(UTC),
        title=str(row["title"]),
        topic_id=int(row["id"]),
        category_id=int(row["category_id"]),
        author_id=int(row["author_id"]),
        administration_id=row["administration_id"],
        region=row["region"],
        language=str(row["language"]),
    )


async def reindex_post(post_id: int) -> None:
    """A post was written, edited, hidden, shown, deleted or restored: its row follows."""
    conn = _conn()
    rows = await execute(conn, _POSTS + " AND p.id = ?", post_id)
    if rows:
        await put([_post_doc(rows[0])])
    else:
        await drop("post", [post_id])


async def reindex_topic(topic_id: int) -> None:
    """A topic and all its posts (created, retitled, moved, merged, deleted)."""
    conn = _conn()
    await _delete_where(conn, "kind IN ('topic', 'post') AND topic_id = ?", topic_id)
    topics = await execute(conn, _TOPICS + " AND t.id = ?", topic_id)
    if not topics:
        return
    docs = [_topic_doc(topics[0])]
    docs += [_post_doc(r) for r in await execute(conn, _POSTS + " AND p.topic_id = ?", topic_id)]
    await _insert(conn, docs)


async def reindex_topic_title(topic_id: int) -> None:
    """Only the topic's own row (a retitle or retag): its posts do not carry the title."""
    conn = _conn()
    rows = await execute(conn, _TOPICS + " AND t.id = ?", topic_id)
    if rows:
        await put([_topic_doc(rows[0])])
    else:
        await drop("topic", [topic_id])


async def remove_topic(topic_id: int) -> None:
    await _delete_where(_conn(), "kind IN ('topic', 'post') AND topic_id = ?", topic_id)


# --- the knowledge space ---------------------------------------------------------------------

_ENTRY_TEXT = ("summary", "context", "what_was_done", "outcome", "lessons", "costs_risks")
_ENTRIES = "SELECT e.* FROM knowledge_entries e WHERE e.status IN ('published', 'superseded')"
_DOCUMENTS = (
    "SELECT d.id, d.title, d.abstract_html, d.authors, d.administration_id, d.language,"
    " d.visibility, d.uploaded_by_id, d.created_at, d.current_version, a.region,"
    " (SELECT MIN(dt.technology_id) FROM knowledge_document_technologies dt"
    "  WHERE dt.document_id = d.id) AS technology_id,"
    " (SELECT v.text FROM knowledge_document_versions v"
    "  WHERE v.document_id = d.id ORDER BY v.number DESC LIMIT 1) AS text"
    " FROM knowledge_documents d LEFT JOIN administrations a ON a.id = d.administration_id"
    " WHERE NOT d.is_deleted AND d.visibility IN ('public', 'members')"
)


def _entry_doc(row: dict[str, Any]) -> Doc:
    html = row.get("html")
    if isinstance(html, str):
        import json

        try:
            html = json.loads(html)
        except ValueError:
            html = {}
    rendered: dict[str, str] = html if isinstance(html, dict) else {}
    parts = [str(row.get("summary") or "")]
    for name in _ENTRY_TEXT[1:]:
        parts.append(plain_text(str(rendered.get(name) or row.get(name) or "")))
    return Doc(
        kind="entry",
        ref_id=int(row["id"]),
        audience="members",
        created_at=as_datetime(row.get("published_at") or row["created_at"]) or datetime.now(UTC),
        title=str(row["title"]),
        body=" ".join(p for p in parts if p),
        category_id=int(row["technology_id"]),
        author_id=int(row["author_id"]),
        administration_id=row["administration_id"],
        region=row["region"],
        language=str(row["language"] or ""),
    )


def _document_doc(row: dict[str, Any]) -> Doc:
    parts = [str(row["authors"] or ""), plain_text(str(row["abstract_html"] or ""))]
    parts.append(str(row["text"] or ""))
    public = row["visibility"] == "public"
    return Doc(
        kind="document",
        ref_id=int(row["id"]),
        audience="public" if public else "members",
        created_at=as_datetime(row["created_at"]) or datetime.now(UTC),
        title=str(row["title"]),
        body=" ".join(p for p in parts if p),
        category_id=row["technology_id"],
        author_id=int(row["uploaded_by_id"]),
        administration_id=row["administration_id"],
        region=row["region"],
        language=str(row["language"] or ""),
    )


async def index_entry(entry_id: int) -> None:
    """A knowledge entry changed status or content: published and superseded entries are
    searchable by members, anything else (draft, submitted, deleted) has no row."""
    rows = await execute(_conn(), _ENTRIES + " AND e.id = ?", entry_id)
    if rows:
        await put([_entry_doc(rows[0])])
    else:
        await drop("entry", [entry_id])


async def index_document(document_id: int) -> None:
    """A document, its metadata or a new version (its extracted text) changed, or it was
    deleted: public ones are searchable by everyone, members ones by members."""
    rows = await execute(_conn(), _DOCUMENTS + " AND d.id = ?", document_id)
    if rows:
        await put([_document_doc(rows[0])])
    else:
        await drop("document", [document_id])


# --- the directory ---------------------------------------------------------------------------

_MEMBERS = (
    "SELECT u.id, u.username, u.display_name, u.position, u.languages, u.expertise,"
    " u.administration_id, u.created_at, a.region, a.name AS administration"
    " FROM users u LEFT JOIN administrations a ON a.id = u.administration_id"
    " WHERE u.is_active"
)


def _member_doc(row: dict[str, Any], expertise_names: dict[str, str]) -> Doc:
    raw = row["expertise"]
    if isinstance(raw, str):
        import json

        try:
            raw = json.loads(raw)
        except ValueError:
            raw = []
    slugs = [str(s) for s in raw] if isinstance(raw, list) else []
    body = " ".join(
        [
            str(row["username"]),
            str(row["position"] or ""),
            str(row["administration"] or ""),
            str(row["languages"] or ""),
            *(expertise_names.get(s, "") for s in slugs),
        ]
    )
    return Doc(
        kind="member",
        ref_id=int(row["id"]),
        audience="directory",
        created_at=as_datetime(row["created_at"]) or datetime.now(UTC),
        title=str(row["display_name"]),
        body=" ".join(body.split()),
        author_id=int(row["id"]),
        administration_id=row["administration_id"],
        region=row["region"],
    )


async def _expertise_names(conn: BaseDBAsyncClient) -> dict[str, str]:
    rows = await execute(conn, "SELECT slug, name FROM categories")
    return {str(r["slug"]): str(r["name"]) for r in rows}


async def index_member(user_id: int) -> None:
    """An account's directory row (name, position, administration, expertise). Whether it is
    shown is decided at query time: only verified members appear, to verified members."""
    conn = _conn()
    rows = await execute(conn, _MEMBERS + " AND u.id = ?", user_id)
    if rows:
        await put([_member_doc(rows[0], await _expertise_names(conn))])
    else:
        await drop("member", [user_id])


# --- rebuilding everything -------------------------------------------------------------------


def _free_ids(docs: list[Doc], taken: set[int]) -> list[int]:
    ids = []
    for doc in docs:
        wanted = doc_id(doc.created_at)
        for _attempt in range(MAX_TRIES * 64):  # bounded: a rebuild's own ids only
            if wanted not in taken:
                break
            wanted += 1
        taken.add(wanted)
        ids.append(wanted)
    return ids


async def _bulk(conn: BaseDBAsyncClient, docs: list[Doc], taken: set[int]) -> None:
    postgres = is_postgres(conn)
    ids = _free_ids(docs, taken)
    if postgres:
        sql = (
            f"INSERT INTO search_docs (id, {_COLUMNS}, terms) VALUES"
            " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
            " setweight(to_tsvector('simple', $14), 'A')"
            " || setweight(to_tsvector('simple', $15), 'B')"
            " || setweight(to_tsvector('simple', $16), 'D'))"
        )
        await conn.execute_many(
            sql,
            [
                [ids[i], *_values(d, True), terms(d.title), terms(d.body), _meta(d)]
                for i, d in enumerate(docs)
            ],
        )
        return
    await conn.execute_many(
        f"INSERT INTO search_docs (id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [[ids[i], *_values(d, False)] for i, d in enumerate(docs)],
    )
    await conn.execute_many(
        "INSERT INTO search_fts (rowid, title, body, meta) VALUES (?, ?, ?, ?)",
        [[ids[i], terms(d.title), terms(d.body), _meta(d)] for i, d in enumerate(docs)],
    )


async def _count(conn: BaseDBAsyncClient, sql: str) -> int:
    rows = await execute(conn, f"SELECT COUNT(*) AS n FROM ({sql}) AS q")
    return int(rows[0]["n"])


async def rebuild(progress: Progress | None = None, batch: int = BATCH) -> dict[str, int]:
    """Empty the index and index everything searchable, in one transaction (searches see
    the old index until it commits). Reads go by id in batches, so memory stays bounded."""
    from forum.events import atomic

    counts: dict[str, int] = {}
    async with atomic():
        conn = _conn()
        postgres = is_postgres(conn)
        if postgres:  # fresh statistics, or a bulk-loaded forum's reads plan as if empty
            await execute(conn, "ANALYZE posts, topics, users, knowledge_entries")
        else:
            await execute(conn, "DELETE FROM search_fts")
        await execute(conn, "DELETE FROM search_docs")
        taken: set[int] = set()
        names = await _expertise_names(conn)
        sources: list[tuple[str, str, str, Callable[[dict[str, Any]], Doc]]] = [
            ("topic", _TOPICS, "t.id", _topic_doc),
            ("post", _POSTS, "p.id", _post_doc),
            ("entry", _ENTRIES, "e.id", _entry_doc),
            ("document", _DOCUMENTS, "d.id", _document_doc),
            ("member", _MEMBERS, "u.id", lambda row: _member_doc(row, names)),
        ]
        for kind, sql, key, build in sources:
            total = await _count(conn, sql)
            done, last = 0, 0
            for _round in range(total // max(batch, 1) + 2):  # bounded: ids only grow
                rows = await execute(
                    conn, f"{sql} AND {key} > ? ORDER BY {key} LIMIT {int(batch)}", last
                )
                if not rows:
                    break
                docs = [build(row) for row in rows]
                await _bulk(conn, docs, taken)
                done += len(docs)
                last = int(rows[-1]["id"])
                if progress is not None:
                    progress(kind, done, total)
            counts[kind] = done
            if progress is not None and not done:
                progress(kind, 0, 0)
        if not postgres:
            await execute(conn, "INSERT INTO search_fts (search_fts) VALUES ('optimize')")
        else:  # migration 0013: the new rows' block ranges into the BRIN index on id (or
            # every window of a search would read them all until autovacuum came by), and
            # the GIN pending list emptied (every search reads it through)
            await execute(
                conn, "SELECT brin_summarize_new_values(to_regclass('idx_search_docs_id_brin'))"
            )
            await execute(conn, "SELECT gin_clean_pending_list('idx_search_docs_terms')")
        # The planner must know the new rows: with statistics of an empty table it would scan
        # every row for each match instead of reading rows by id.
        await execute(conn, "ANALYZE search_docs")
    return counts
