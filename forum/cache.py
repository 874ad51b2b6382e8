"""The app's caches of content every viewer shares, and the one call that invalidates them.

Pages are rendered per request: what differs between viewers (their read position, their own
reactions and bookmarks, their rights, their CSRF token) is read per request and merged in.
What every viewer of a topic sees alike is kept here, each entry keyed by the version of what
it shows:

- `topic_pages`: one page of a topic's posts with their tags and reaction counts
  (`forum.queries.topics`), by topic id, incarnation, `topics.version` and page;
- `posts`: each post's rendered markup (`forum.web.fragments`), by everything it shows;
- `topic_rows`: each row of a topic list (`forum.web.fragments`), by everything it shows;
- `topic_tags`: each listed topic's tags (`forum.queries.topics.list_topics`), by topic id,
  incarnation and `topics.version`;
- `categories`: every category, by the categories' version read with the session
  (PostgreSQL; `forum.queries.categories.all_categories`);
- `shared_pages`: a whole page as every viewer with the same rights sees it, cut at the marks
  where each viewer's own parts go (`forum.web.templating.render_shared`), by its page's key
  (a topic page: topic id, incarnation, version, page, the viewer's rights).

`topics.version` is read on every request with the topic (the policy needs the row anyway), so
an entry is never shown after its topic changed, in this worker or any other. An action that
changes what a topic's pages show calls `touch_topics()` inside its transaction: that is the
one invalidation point, and a page author needs to know nothing else.

`Caches` is created with the app (`app.state.caches`) and installed for the queries and
fragments while the app runs (`install`, `current`).
"""

from __future__ import annotations

import os
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from tortoise.expressions import F, Subquery

from forum.events import in_atomic
from forum.models import Category, Post, Topic

V = TypeVar("V")


class Key:
    """A large cache key (a whole list's rows, say) that hashes once, and is one object for
    equal values while any cache holds it: a tuple hashes all its items again on every dict
    lookup, and a dict holding an equal but other object compares the two item by item (a
    list's key: its 30 rows' columns, looked up in several caches by every request). Made
    with an equal value, `Key(value)` is the key already held (a weak table: a key no longer
    held anywhere is forgotten), so lookups find it by identity."""

    __slots__ = ("value", "_hash", "__weakref__")
    value: Hashable
    _hash: int

    def __new__(cls, value: Hashable) -> Key:
        held = _keys.get(value)
        if held is not None:
            return held
        key = super().__new__(cls)
        key.value = value
        key._hash = hash(value)
        _keys[value] = key
        return key

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Key):
            return NotImplemented
        return self._hash == other._hash and self.value == other.value

    def __repr__(self) -> str:
        return f"Key({self.value!r})"


_keys: weakref.WeakValueDictionary[Hashable, Key] = weakref.WeakValueDictionary()


class Lru(Generic[V]):
    """A least-recently-used map bounded by a total size (`size(value)`, default 1 each)."""

    def __init__(self, limit: int, size: Callable[[V], int] | None = None) -> None:
        self.limit = limit
        self._sized = size is not None
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._total = 0
        self.hits = 0
        self.misses = 0

    def _size(self, value: V) -> int:
        return len(value) if self._sized else 1  # type: ignore[arg-type]

    def get(self, key: Hashable) -> V | None:
        value = self._items.get(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> None:
        size = self._size(value)
        if size > self.limit // 8 or not self.limit:
            return  # one huge entry would push out everything else
        old = self._items.pop(key, None)
        if old is not None:
            self._total -= self._size(old)
        self._items[key] = value
        self._total += size
        while self._total > self.limit:
            _key, dropped = self._items.popitem(last=False)
            self._total -= self._size(dropped)

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()
        self._total = 0


DEFAULT_MB = 256


class Caches:
    """Everything the app caches of shared content; see the module's docstring.

    `megabytes` bounds the rendered markup (seven tenths for posts, a tenth for shared pages,
    the rest for topic rows and category cards); 0 turns every cache here off (for measuring
    what they earn)."""

    def __init__(self, megabytes: int = DEFAULT_MB) -> None:
        from forum.queries.topics import SharedPage

        size = megabytes * 1024 * 1024
        self.topic_pages: Lru[SharedPage] = Lru(4096 if megabytes else 0)
        self.posts: Lru[Any] = Lru(size * 7 // 10, len)  # rendered posts (forum.web.fragments)
        # pages cut at their viewers' slots (forum.web.templating.render_shared)
        self.shared_pages: Lru[Any] = Lru(size // 10, _cut_length)
        self.topic_rows: Lru[Any] = Lru(size // 5, _length)
        self.topic_tags: Lru[tuple[str, ...]] = Lru(50_000 if megabytes else 0)  # by version
        # every category, by the categories' version (forum.queries.categories, PostgreSQL)
        self.categories: Lru[tuple[Category, ...]] = Lru(8 if megabytes else 0)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Caches:
        """FORUM_CACHE_MB: megabytes of rendered markup kept per process (default 256)."""
        from forum.settings import SettingsError

        value = (os.environ if env is None else env).get("FORUM_CACHE_MB", "")
        if not value:
            return cls()
        try:
            megabytes = int(value)
        except ValueError:
            megabytes = -1
        if megabytes < 0:
            raise SettingsError(f"FORUM_CACHE_MB: {value!r} is not a whole number of megabytes")
        return cls(megabytes)

    def clear(self) -> None:
        self.topic_pages.clear()
        self.posts.clear()
        self.topic_rows.clear()
        self.topic_tags.clear()
        self.shared_pages.clear()


def _length(value: Any) -> int:
    """A row's pieces (a tuple of strings) by their length; anything else by its `len`."""
    return sum(map(len, value)) if isinstance(value, tuple) else len(value)


def _cut_length(value: Any) -> int:
    """A page cut at its slots, (pieces, names), by the length of its pieces."""
    return sum(map(len, value[0]))


_active: Caches | None = None


def install(caches: Caches | None) -> None:
    global _active
    _active = caches


def current() -> Caches:
    """The running app's caches (a process without an app gets one of its own)."""
    global _active
    if _active is None:
        _active = Caches()
    return _active


async def touch_topics(topic_ids: Iterable[int]) -> None:
    """Inside the action's transaction: what these topics' pages show has changed.

    Bumps `topics.version`, which every cached entry about a topic is keyed by, so each worker
    misses on its next read, after the commit and not before."""
    ids = sorted(set(topic_ids))
    if ids:
        await _bump(ids)


async def touch_topics_written_by(user_id: int) -> None:
    """`touch_topics()` for every topic the user wrote in (their name shows on its pages)."""
    written_in = Post.filter(author_id=user_id).distinct().values_list("topic_id", flat=True)
    await _bump(Subquery(written_in))


async def _bump(ids: list[int] | Subquery) -> None:
    if not in_atomic():
        raise RuntimeError("topics are touched inside forum.events.atomic(), by the action")
    await Topic.filter(id__in=ids).update(version=F("version") + 1)
