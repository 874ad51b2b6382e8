"""Searching the index as someone: the permission filter is part of the SQL, so counts and
pages hold only what the viewer may see.

The viewer's rights come from `forum.policy` (`searchable_category_ids`, `is_member`,
`can_see_directory`); the query text is parsed by `search.text.parse_query` into terms we
extracted ourselves, written into the engine's syntax here (quoted FTS5 strings, a tsquery of
quoted lexemes), never passed through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise import connections

from forum import policy
from forum.errors import BadRequest
from forum.i18n import _
from forum.models import Administration, Region, Tag, User
from forum.pagination import decode_cursor, encode_cursor
from forum.queries.categories import all_categories
from forum.queries.sql import as_datetime, fetch
from search.index import EPOCH, KINDS, category_token, doc_id
from search.text import MAX_QUERY_CHARS, Query, parse_query, snippet, stem, words

PAGE_SIZE = 20
MAX_OFFSET = 1000  # 50 pages: past that, narrow the search
COUNT_CAP = 1000  # "more than 1,000 results"
CANDIDATES = 2000  # relevance ranks the newest this many matches the viewer may see
SORTS = ("relevance", "date")


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    kind: str = ""
    category: str = ""  # slug
    author: str = ""  # username
    administration: str = ""  # ISO country code
    region: str = ""
    tag: str = ""
    date_from: date | None = None
    date_to: date | None = None
    topic: int | None = None
    sort: str = "relevance"
    offset: int = 0

    def params(self, **override: Any) -> dict[str, str]:
        values: dict[str, Any] = {
            "q": self.q,
            "kind": self.kind,
            "category": self.category,
            "author": self.author,
            "administration": self.administration,
            "region": self.region,
            "tag": self.tag,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "topic": str(self.topic) if self.topic else "",
            "sort": "" if self.sort == "relevance" else self.sort,
        }
        values.update(override)
        return {k: str(v) for k, v in values.items() if v}


def _text(params: Mapping[str, str], name: str, limit: int = 100) -> str:
    value = " ".join((params.get(name) or "").split())
    if "\x00" in value:
        raise BadRequest(_("The search cannot contain NUL characters."))
    if len(value) > limit:
        raise BadRequest(_("%(name)s is too long.") % {"name": name})
    return value


def _date(params: Mapping[str, str], name: str) -> date | None:
    value = _text(params, name, 10)
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise BadRequest(_("Give dates as YYYY-MM-DD.")) from None
    if not date(1970, 1, 1) <= parsed <= date(2999, 12, 30):
        raise BadRequest(_("Give a date between 1970 and 2999."))
    return parsed


def parse_request(params: Mapping[str, str], *, cursor_name: str = "cursor") -> SearchRequest:
    """A search from a query string; anything that cannot be right is a 400 with a message."""
    q = params.get("q") or ""
    if "\x00" in q or "\ufffd" in q:
        raise BadRequest(_("The search contains characters that are not valid text."))
    if len(q) > MAX_QUERY_CHARS:
        raise BadRequest(_("Search for at most %(count)d characters.") % {"count": MAX_QUERY_CHARS})
    kind = _text(params, "kind", 16)
    if kind and kind not in KINDS:
        raise BadRequest(_("Unknown kind: choose topic, post, entry, document or member."))
    sort = _text(params, "sort", 16) or "relevance"
    if sort not in SORTS:
        raise BadRequest(_("Sort by relevance or date."))
    region = _text(params, "region", 8).upper()
    if region and region not in {r.value for r in Region}:
        raise BadRequest(_("Unknown region."))
    administration = _text(params, "administration", 2).upper()
    if administration and not administration.isalpha():
        raise BadRequest(_("An administration is given by its two-letter country code."))
    topic_value = _text(params, "topic", 12)
    topic: int | None = None
    if topic_value:
        if not topic_value.isdigit() or not 0 < int(topic_value) < 2**31:
            raise BadRequest(_("A topic is given by its number."))
        topic = int(topic_value)
    date_from, date_to = _date(params, "from"), _date(params, "to")
    if date_from and date_to and date_from > date_to:
        raise BadRequest(_("The start date is after the end date."))
    offset = 0
    cursor = params.get(cursor_name) or ""
    if cursor:
        (offset,) = decode_cursor(cursor, int)
        if not 0 <= offset <= MAX_OFFSET:
            raise BadRequest(_("That page cursor is not valid."))
    page = _text(params, "page", 6)
    if page:
        if not page.isdigit() or not 1 <= int(page) <= MAX_OFFSET // PAGE_SIZE + 1:
            raise BadRequest(_("No such page of results."))
        offset = (int(page) - 1) * PAGE_SIZE
    return SearchRequest(
        q=q.strip(),
        kind=kind,
        category=_text(params, "category", 64),
        author=_text(params, "author", 40),
        administration=administration,
        region=region,
        tag=_text(params, "tag", 30).lower(),
        date_from=date_from,
        date_to=date_to,
        topic=topic,
        sort=sort,
        offset=offset,
    )


@dataclass(frozen=True)
class Result:
    kind: str
    ref_id: int
    title: str  # plain text
    title_html: str  # escaped, with <mark>
    snippet_html: str  # escaped, with <mark>
    url: str
    created_at: datetime
    topic_id: int | None
    category: str  # name, or ""
    author: str  # display name, or ""
    title_language: str = ""  # "en" / "fr" when known (the content's own), else ""
    language: str = ""  # the snippet's


@dataclass
class Page:
    request: SearchRequest
    query: Query
    results: list[Result] = field(default_factory=list)
    count: int = 0
    more_than: bool = False  # count is capped
    next_offset: int | None = None

    @property
    def next_cursor(self) -> str | None:
        return encode_cursor(self.next_offset) if self.next_offset is not None else None

    @property
    def page_number(self) -> int:
        return self.request.offset // PAGE_SIZE + 1


class _Sql:
    """A WHERE clause and its arguments, built up in order."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = []

    def add(self, part: str, *args: Any) -> None:
        self.parts.append(part)
        self.args.extend(args)

    @property
    def where(self) -> str:
        return " AND ".join(self.parts) or "1 = 1"


def _in(values: list[int]) -> str:
    return ",".join(str(int(v)) for v in values) or "NULL"


def _users_time(value: datetime, postgres: bool) -> Any:
    """A time compared with `users` columns, as Tortoise stores them."""
    return value if postgres else str(value)


async def permission_filter(viewer: User | None, sql: _Sql, postgres: bool) -> None:
    """What `viewer` may see, as SQL over `search_docs d` (decided by forum.policy)."""
    visible = policy.searchable_category_ids(viewer, await all_categories())
    allowed = _in(visible)
    options = [
        f"(d.audience = 'category' AND d.category_id IN ({allowed}))",
        "d.audience = 'public'",
    ]
    args: list[Any] = []
    if policy.is_member(viewer):
        options.append(
            f"(d.audience = 'members' AND (d.category_id IS NULL OR d.category_id IN ({allowed})))"
        )
    if policy.can_see_directory(viewer):
        # Only members verified now are listed, as on the directory page.
        options.append(
            "(d.audience = 'directory' AND d.ref_id IN (SELECT u.id FROM users u"
            " WHERE u.is_active AND (u.role IN ('moderator', 'admin') OR (u.is_verified"
            " AND (u.verified_until IS NULL OR u.verified_until > ?)))))"
        )
        args.append(_users_time(datetime.now(UTC), postgres))
    sql.add("(" + " OR ".join(options) + ")", *args)


async def _filters(request: SearchRequest, sql: _Sql) -> tuple[int | None, int | None] | None:
    """The request's filters; None when one names something that does not exist (no
    results, rather than an error: a filter link may outlive its target). Returns the date
    range as an id range (from, to exclusive), which `_newest` applies."""
    if request.kind:
        sql.add("d.kind = ?", request.kind)
    if request.category:
        found = [c.id for c in await all_categories() if c.slug == request.category]
        if not found:
            return None
        sql.add("d.category_id = ?", found[0])
    if request.author:
        author = await User.filter(username=request.author).only("id").first()
        if author is None:
            return None
        sql.add("d.author_id = ?", author.id)
    if request.administration:
        adm = await Administration.filter(country_code=request.administration).only("id").first()
        if adm is None:
            return None
        sql.add("d.administration_id = ?", adm.id)
    if request.region:
        sql.add("d.region = ?", request.region)
    if request.tag:
        tag = await Tag.filter(name=request.tag).only("id").first()
        if tag is None:
            return None
        sql.add("d.topic_id IN (SELECT tt.topic_id FROM topic_tags tt WHERE tt.tag_id = ?)", tag.id)
    if request.topic is not None:
        sql.add("d.topic_id = ? AND d.kind IN ('topic', 'post')", request.topic)
    # Ids are made from creation times (search.index.doc_id): a date range is an id range,
    # which FTS5 and the primary key (or the BRIN index) narrow without reading rows.
    low = high = None
    if request.date_from is not None:
        low = doc_id(datetime.combine(request.date_from, time.min, UTC))
    if request.date_to is not None:
        high = doc_id(datetime.combine(request.date_to + timedelta(days=1), time.min, UTC))
    return low, high


# Matches are gathered newest first, window by window. PostgreSQL reads every row the GIN
# bitmap of a search names (to check the permission columns, a phrase's positions, and to
# rank), so a phrase found 10,000 times costs 10,000 scattered page reads even though only
# the newest CANDIDATES are ranked. Ids are creation times: the first window is the last
# FIRST_WINDOW of ids, the next one reaches as far back as the density of matches found so
# far says the missing ones need (with a margin), the last one everything older; the BRIN
# index on id (migration 0013) ANDs the window into the GIN bitmap. A common word takes one
# window (the planner walks the primary key backwards, stopping at the limit), a rare one
# a few cheap ones. SQLite's FTS5 walks its rowids newest first and stops at the limit by
# itself: one unbounded window there.
FIRST_WINDOW: dict[str, timedelta | None] = {"postgres": timedelta(days=30), "sqlite": None}
MAX_WINDOWS = 4  # the last one is unbounded
WINDOW_MARGIN = 1.25  # reach this much further back than the density seen says
WINDOW_GROWTH = 16  # a window spans at most this many times the span searched before it


async def _newest(
    select: str,
    args: list[Any],
    id_column: str,
    newest: str,
    limit: int,
    bounds: tuple[int | None, int | None],
    first_window: timedelta | None,
) -> list[dict[str, Any]]:
    """The newest `limit` rows of `select` (a SELECT ... WHERE ... without ORDER BY) whose
    id is within `bounds` (from, to exclusive; None: open), newest first, gathered in
    disjoint windows of ids going back in time (see FIRST_WINDOW)."""
    low, high = bounds
    now = doc_id(datetime.now(UTC))
    top = min(high, now) if high is not None else now
    span = doc_id(EPOCH + first_window) if first_window is not None else None
    upper = high
    found: list[dict[str, Any]] = []
    oldest = 0  # ids are never negative
    for window in range(MAX_WINDOWS):  # bounded: the last window is open below
        lower = low  # the last window: everything older (than the oldest row, say)
        if span is not None and window < MAX_WINDOWS - 1 and top - span > max(low or 0, oldest):
            lower = top - span
        # The bounds are integers of ours, written into the SQL: each search is planned for
        # its own words (a prepared statement's generic plan, chosen after a few runs of the
        # same text, would read all 450,000 matches of a common word through the GIN index).
        conditions = ""
        if lower is not None:
            conditions += f" AND {id_column} >= {int(lower)}"
        if upper is not None:
            conditions += f" AND {id_column} < {int(upper)}"
        found += await fetch(
            f"{select}{conditions} ORDER BY {newest} LIMIT {int(limit - len(found))}",
            *args,
            remember=False,
        )
        if len(found) >= limit or lower is None or lower == low:
            break
        if not window:  # a window reaching past the oldest row is the last, open one
            first = await fetch("SELECT MIN(d.id) AS id FROM search_docs d", remember=False)
            oldest = int(first[0]["id"] or 0)
        searched = top - lower
        missing = limit - len(found)
        growth = missing / len(found) * WINDOW_MARGIN if found else WINDOW_GROWTH
        span = searched + int(searched * min(max(growth, 1.0), WINDOW_GROWTH))
        upper = lower
    return found


def fts5_expression(query: Query, prefix_last: bool = False, column: str = "") -> str:
    """An FTS5 MATCH expression of our own terms, each quoted (they are letters and digits
    only, so no quote can occur inside)."""
    parts = []
    for i, group in enumerate(query.groups):
        text = '"' + " ".join(group) + '"'
        if prefix_last and i == len(query.groups) - 1:
            text += "*"
        parts.append(text)
    joined = " AND ".join(parts)
    return f"{column} : ({joined})" if column else joined


def tsquery_expression(query: Query, prefix_last: bool = False, weight: str = "") -> str:
    """A tsquery of quoted lexemes: `'a' & ('b' <-> 'c')`."""
    parts = []
    for i, group in enumerate(query.groups):
        suffix = ""
        if prefix_last and i == len(query.groups) - 1:
            suffix = ":*" + weight
        elif weight:
            suffix = ":" + weight
        lexemes = [f"'{term}'{suffix}" for term in group]
        parts.append("(" + " <-> ".join(lexemes) + ")" if len(lexemes) > 1 else lexemes[0])
    return " & ".join(parts)


_SELECT = (
    "d.id, d.kind, d.ref_id, d.topic_id, d.category_id, d.author_id, d.created_at, d.title, d.body,"
    " d.language"
)


async def search(viewer: User | None, request: SearchRequest) -> Page:
    """One page of results and their count, as `viewer` may see them."""
    query = parse_query(request.q)
    page = Page(request=request, query=query)
    if query.empty:
        return page
    postgres = connections.get("default").capabilities.dialect == "postgres"
    sql = _Sql()
    await permission_filter(viewer, sql, postgres)
    # A category filter is also a term of the match (search.index.category_token).
    category = next((c.id for c in await all_categories() if c.slug == request.category), None)
    token = category_token(category) if request.category and category is not None else ""
    if postgres:
        source = "search_docs d"
        match = "d.terms @@ to_tsquery('simple', ?)"
        expression = tsquery_expression(query)
        match_args: list[Any] = [f"({expression}) & '{token}':D" if token else expression]
        rank = "ts_rank(d.terms, to_tsquery('simple', ?))"
        rank_args: list[Any] = [expression]
        newest = "d.id DESC"
        id_column = "d.id"
    else:
        # CROSS JOIN: the full-text index drives, in rowid order; left to itself the planner
        # may scan every row and ask the index about each.
        source = "search_fts f CROSS JOIN search_docs d ON d.id = f.rowid"
        match = "search_fts MATCH ?"
        expression = fts5_expression(query, column="{title body}")
        match_args = [f'{expression} AND meta : "{token}"' if token else expression]
        rank = "bm25(search_fts, 4.0, 1.0, 0.0)"
        rank_args = []
        newest = "f.rowid DESC"
        id_column = "f.rowid"
    bounds = await _filters(request, sql)
    if bounds is None:
        return page
    where = f"{match} AND {sql.where}"
    offset = int(request.offset)
    scored = request.sort != "date"
    # Relevance ranks the newest CANDIDATES matches the viewer may see (a word found in half
    # the forum is not scored half a million times; older ones: sort by date); by date, the
    # newest are the pages. Either way the matches gathered are the count too: exact up to
    # COUNT_CAP, which is below both limits.
    limit = CANDIDATES if scored else max(COUNT_CAP + 1, offset + PAGE_SIZE + 1)
    columns = f"d.id AS id, {rank} AS score" if scored else "d.id AS id"
    newest_matches = await _newest(
        f"SELECT {columns} FROM {source} WHERE {where}",
        [*(rank_args if scored else []), *match_args, *sql.args],
        id_column,
        newest,
        limit,
        bounds,
        FIRST_WINDOW.get("postgres" if postgres else "sqlite"),
    )
    total = len(newest_matches)
    if scored:
        sign = -1 if postgres else 1  # ts_rank: higher is better; bm25: lower is better
        newest_matches.sort(key=lambda r: (sign * float(r["score"]), -int(r["id"])))
    wanted = [int(r["id"]) for r in newest_matches[offset : offset + PAGE_SIZE + 1]]
    rows = []
    if wanted:
        by_id = {
            int(r["id"]): r
            for r in await fetch(
                f"SELECT {_SELECT} FROM search_docs d WHERE d.id IN ({_in(wanted)})",
                remember=False,
            )
        }
        rows = [by_id[i] for i in wanted if i in by_id]
    page.count = min(total, COUNT_CAP)
    page.more_than = total > COUNT_CAP
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        if request.offset + PAGE_SIZE <= MAX_OFFSET:
            page.next_offset = request.offset + PAGE_SIZE
    page.results = await _results(rows, query)
    return page


def url_of(kind: str, ref_id: int, username: str = "") -> str:
    """Where a result leads. Entries and documents live in the knowledge space."""
    if kind == "topic":
        return f"/t/{ref_id}"
    if kind == "post":
        return f"/p/{ref_id}"
    if kind == "entry":
        return f"/knowledge/entries/{ref_id}"
    if kind == "document":
        return f"/knowledge/documents/{ref_id}"
    return f"/u/{username}"


async def _results(rows: list[dict[str, Any]], query: Query) -> list[Result]:
    """The rows as results: current topic titles, category and author names (2 queries)."""
    topic_ids = sorted({int(r["topic_id"]) for r in rows if r["topic_id"]})
    user_ids = sorted({int(r["author_id"]) for r in rows if r["author_id"]})
    titles: dict[int, tuple[str, str]] = {}
    if topic_ids:
        for t in await fetch(
            f"SELECT id, title, language FROM topics WHERE id IN ({_in(topic_ids)})",
            remember=False,
        ):
            titles[int(t["id"])] = (str(t["title"]), str(t["language"]))
    people: dict[int, tuple[str, str]] = {}
    if user_ids:
        for u in await fetch(
            f"SELECT id, username, display_name FROM users WHERE id IN ({_in(user_ids)})",
            remember=False,
        ):
            people[int(u["id"])] = (str(u["username"]), str(u["display_name"]))
    names = {c.id: c.name for c in await all_categories()}
    results = []
    for r in rows:
        kind = str(r["kind"])
        topic_id = int(r["topic_id"]) if r["topic_id"] else None
        language = str(r["language"] or "")
        title, title_language = str(r["title"]), language
        if not title:  # a post: its topic's current title, in the topic's language
            title, title_language = titles.get(topic_id or 0, ("", ""))
        username, display = people.get(int(r["author_id"] or 0), ("", ""))
        body = str(r["body"])
        results.append(
            Result(
                kind=kind,
                ref_id=int(r["ref_id"]),
                title=title,
                title_html=snippet(title, query, size=300),
                snippet_html=snippet(body, query) if body else "",
                url=url_of(kind, int(r["ref_id"]), username),
                created_at=as_datetime(_parse_time(r["created_at"])) or datetime.now(UTC),
                topic_id=topic_id,
                category=names.get(int(r["category_id"] or 0), ""),
                author=display,
                title_language=title_language,
                language=language,
            )
        )
    return results


def _parse_time(value: Any) -> Any:
    if isinstance(value, str) and "T" in value and "+" not in value:
        return value + "+00:00"
    return value


@dataclass(frozen=True)
class Suggestion:
    kind: str  # topic | member
    label: str
    url: str


SUGGEST_LIMIT = 5


async def suggest(viewer: User | None, raw: str) -> list[Suggestion]:
    """Topic titles (and, for directory readers, people) starting with what was typed."""
    if "\x00" in raw or len(raw) > MAX_QUERY_CHARS:
        raise BadRequest(_("Search for at most %(count)d characters.") % {"count": MAX_QUERY_CHARS})
    found = words(raw)
    if not found or len(found[-1]) < 2:
        return []
    query = Query(tuple((stem(w),) for w in found[-6:]), tuple(found))
    postgres = connections.get("default").capabilities.dialect == "postgres"
    out: list[Suggestion] = []
    kinds = ["topic"] + (["member"] if policy.can_see_directory(viewer) else [])
    for kind in kinds:
        sql = _Sql()
        await permission_filter(viewer, sql, postgres)
        sql.add("d.kind = ?", kind)
        if postgres:
            source = "search_docs d"
            match = "d.terms @@ to_tsquery('simple', ?)"
            expression = tsquery_expression(query, prefix_last=True, weight="A")
            order = "d.created_at DESC"
        else:
            source = "search_fts f CROSS JOIN search_docs d ON d.id = f.rowid"
            match = "search_fts MATCH ?"
            expression = fts5_expression(query, prefix_last=True, column="title")
            order = "f.rank"
        rows = await fetch(
            f"SELECT d.ref_id, d.title, d.kind, d.body FROM {source} WHERE {match}"
            f" AND {sql.where} ORDER BY {order} LIMIT {SUGGEST_LIMIT}",
            expression,
            *sql.args,
            remember=False,
        )
        for r in rows:
            username = str(r["body"]).split(" ", 1)[0] if kind == "member" else ""
            out.append(Suggestion(kind, str(r["title"]), url_of(kind, int(r["ref_id"]), username)))
    return out
