"""The review queue: what enters it, who sees it, and decisions taken exactly once."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from forum.actions.posts import do_create_post
from forum.actions.topics import do_create_topic
from forum.errors import Conflict, Forbidden, Held
from forum.models import (
    Category,
    Event,
    Post,
    ReviewItem,
    ReviewStatus,
    Role,
    Topic,
    User,
)
from moderation import review
from moderation import settings as moderation_settings
from moderation.watched import do_add_watched_word
from tests.helpers import bearer, categories, log_in, make_user

SECRET_TEXT = "Our risk engine thresholds are 0.73 for seals"


async def _setup() -> tuple[dict[str, Category], User, User, Topic]:
    cats = await categories()
    alice = await make_user("alice")
    mod = await make_user("mod", role=Role.MODERATOR)
    topic, _first = await do_create_topic(alice, cats["iot"], "Electronic seals", "first words")
    return cats, alice, mod, topic


async def _events_mentioning(text: str) -> list[Event]:
    return [e for e in await Event.all() if text in str(e.payload)]


@pytest.mark.moderation_defaults
async def test_a_new_members_first_reply_waits_for_approval_and_only_they_and_moderators_see_it(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    mod = await make_user("mod", role=Role.MODERATOR)
    topic, _ = await do_create_topic(mod, cats["iot"], "Electronic seals", "first words")
    newcomer, bob = await make_user("newcomer"), await make_user("bob")
    await moderation_settings.store({"posts_per_interval": 100, "new_posts_per_interval": 100})

    held = await client.post(
        f"/api/v1/topics/{topic.id}/posts",
        headers=await bearer(newcomer),
        json={"body": SECRET_TEXT},
    )
    assert held.status_code == 202
    assert held.json()["status"] == "awaiting_approval"
    item_id = held.json()["review_item"]
    assert not await Post.filter(source=SECRET_TEXT).exists()

    # Nobody else sees it: not the topic page, the API, the latest list, nor any event.
    await log_in(client, bob)
    page = await client.get(f"/t/{topic.id}")
    assert SECRET_TEXT not in page.text and "Awaiting approval" not in page.text
    api = await client.get(f"/api/v1/topics/{topic.id}", headers=await bearer(bob))
    assert SECRET_TEXT not in api.text
    assert await _events_mentioning(SECRET_TEXT) == []
    assert (await Topic.get(id=topic.id)).post_count == 1

    # Its author sees it, marked, on the topic and on their pending page.
    await log_in(client, newcomer)
    own = await client.get(f"/t/{topic.id}")
    assert SECRET_TEXT in own.text and "Awaiting approval" in own.text
    mine = await client.get("/pending")
    assert SECRET_TEXT in mine.text

    # The moderator finds it in the queue, approves, and it is a post like any other.
    await log_in(client, mod)
    queue = await client.get("/review")
    assert SECRET_TEXT in queue.text and "first posts" in queue.text
    decided = await client.post(
        f"/api/v1/review/{item_id}/decisions", headers=await bearer(mod), json={"action": "approve"}
    )
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    post = await Post.get(source=SECRET_TEXT)
    assert post.author_id == newcomer.id and post.number == 2
    await log_in(client, bob)
    assert SECRET_TEXT in (await client.get(f"/t/{topic.id}")).text

    # Approved once, the member's next reply is published at once.
    after = await client.post(
        f"/api/v1/topics/{topic.id}/posts", headers=await bearer(newcomer), json={"body": "next"}
    )
    assert after.status_code == 201


@pytest.mark.moderation_defaults
async def test_a_new_members_first_topic_waits_and_approval_creates_it(
    client: httpx.AsyncClient,
) -> None:
    cats = await categories()
    mod = await make_user("mod", role=Role.MODERATOR)
    newcomer = await make_user("newcomer")
    token = await log_in(client, newcomer)
    form = {"csrf_token": token, "title": "Drones at the border", "body": SECRET_TEXT, "tags": "x"}

    sent = await client.post("/c/drones/new", data=form)

    assert sent.status_code == 303 and sent.headers["location"].startswith("/pending?held=")
    assert not await Topic.filter(title="Drones at the border").exists()
    listing = await client.get("/c/drones")
    assert "Drones at the border" not in listing.text
    item = await ReviewItem.get(author_id=newcomer.id)
    await review.do_decide(mod, item.id, "approve")
    topic = await Topic.get(title="Drones at the border")
    assert topic.author_id == newcomer.id and topic.category_id == cats["drones"].id
    assert (await Post.get(topic_id=topic.id)).source == SECRET_TEXT


async def test_a_category_marked_for_approval_holds_every_members_post_but_not_staff(
    db: str,
) -> None:
    cats, alice, mod, topic = await _setup()
    await Category.filter(id=cats["iot"].id).update(requires_approval=True)
    iot = await Category.get(id=cats["iot"].id)

    with pytest.raises(Held) as held:
        await do_create_post(alice, topic, iot, "an established member's reply")
    item = await ReviewItem.get(id=held.value.item_id)
    assert item.reason == "category" and item.status == ReviewStatus.PENDING
    staff_post = await do_create_post(mod, topic, iot, "the moderator's own reply")
    assert staff_post.id


async def test_flags_merge_into_one_item_and_hide_the_post_at_the_threshold(
    client: httpx.AsyncClient,
) -> None:
    cats, alice, mod, topic = await _setup()
    post = await do_create_post(alice, topic, cats["iot"], SECRET_TEXT)
    flaggers = [await make_user(name) for name in ("bob", "carol", "dave")]
    url = f"/api/v1/posts/{post.id}/flags"

    own = await client.post(url, headers=await bearer(alice), json={"reason": "spam"})
    assert own.status_code == 403
    first = await client.post(url, headers=await bearer(flaggers[0]), json={"reason": "spam"})
    assert first.status_code == 201 and first.json()["post_hidden"] is False
    again = await client.post(url, headers=await bearer(flaggers[0]), json={"reason": "spam"})
    assert again.status_code == 409
    other = await client.post(url, headers=await bearer(flaggers[1]), json={"reason": "other"})
    assert other.status_code == 422  # "something else" needs a note
    second = await client.post(
        url,
        headers=await bearer(flaggers[1]),
        json={"reason": "sensitive", "note": "names an officer"},
    )
    assert second.json()["review_item"] == first.json()["review_item"]
    third = await client.post(url, headers=await bearer(flaggers[2]), json={"reason": "off_topic"})
    assert third.json()["post_hidden"] is True

    item = await ReviewItem.get(id=first.json()["review_item"])
    assert item.score == 3 and await ReviewItem.filter(post_id=post.id).count() == 1
    hidden = await Event.filter(type="post.hidden").first()
    assert hidden is not None and hidden.payload["post_id"] == post.id
    told = await Event.filter(type="notification.created", channel=f"user:{alice.id}").first()
    assert told is not None and "hidden" in told.payload["message"]

    # Members see the placeholder everywhere; the moderator sees the flags and reasons.
    await log_in(client, flaggers[0])
    assert SECRET_TEXT not in (await client.get(f"/t/{topic.id}")).text
    assert SECRET_TEXT not in (await client.get(f"/p/{post.id}/fragment")).text
    assert SECRET_TEXT not in (await client.get("/u/alice")).text
    api = await client.get(f"/api/v1/posts/{post.id}", headers=await bearer(flaggers[0]))
    assert SECRET_TEXT not in api.text and api.json()["hidden"] is True
    detail = await client.get(f"/api/v1/review/{item.id}", headers=await bearer(mod))
    body = detail.json()
    assert [f["reason"] for f in body["flags"]] == ["spam", "sensitive", "off_topic"]
    assert body["flags"][1]["note"] == "names an officer" and body["post_hidden"] is True
    assert body["author"]["username"] == "alice"


async def test_a_moderators_flag_counts_as_the_threshold(db: str) -> None:
    cats, alice, mod, topic = await _setup()
    post = await do_create_post(alice, topic, cats["iot"], "something sensitive")
    await review.do_flag(mod, post, topic, cats["iot"], "sensitive")
    assert (await Post.get(id=post.id)).hidden is True


async def test_each_decision_on_a_flagged_post(client: httpx.AsyncClient) -> None:
    cats, alice, mod, topic = await _setup()
    bob = await make_user("bob")
    headers = await bearer(mod)

    async def flagged(text: str) -> tuple[Post, int]:
        post = await do_create_post(alice, topic, cats["iot"], text)
        item = await review.do_flag(bob, post, topic, cats["iot"], "spam")
        return post, item.id

    post, item = await flagged("to hide")
    refused = await client.post(
        f"/api/v1/review/{item}/decisions", headers=headers, json={"action": "reject"}
    )
    assert refused.status_code == 422  # a rejection tells the author why
    hide = await client.post(
        f"/api/v1/review/{item}/decisions",
        headers=headers,
        json={"action": "hide", "reason": "advertising"},
    )
    assert hide.json()["status"] == "rejected" and (await Post.get(id=post.id)).hidden
    told = await Event.filter(type="notification.created", channel=f"user:{alice.id}").first()
    assert told is not None and "advertising" in told.payload["message"]
    twice = await client.post(
        f"/api/v1/review/{item}/decisions", headers=headers, json={"action": "unhide"}
    )
    assert twice.status_code == 409
    assert twice.json()["error"]["detail"]["status"] == "rejected"

    post, item = await flagged("to keep")
    await review.do_decide(mod, item, "approve")
    assert not (await Post.get(id=post.id)).hidden
    assert (await ReviewItem.get(id=item)).status == ReviewStatus.APPROVED

    post, item = await flagged("to delete")
    await review.do_decide(mod, item, "delete", "duplicate")
    assert (await Post.get(id=post.id)).deleted_at is not None

    post, item = await flagged("to ignore")
    await review.do_decide(mod, item, "ignore")
    ignored = await ReviewItem.get(id=item)
    assert ignored.status == ReviewStatus.IGNORED and not (await Post.get(id=post.id)).hidden

    # A decided item is never reopened: new flags start a new one.
    carol = await make_user("carol")
    newer = await review.do_flag(carol, await Post.get(id=post.id), topic, cats["iot"], "spam")
    assert newer.id != item and newer.status == ReviewStatus.PENDING
    await review.do_decide(mod, newer.id, "hide", "still spam")
    assert (await Post.get(id=post.id)).hidden


@pytest.mark.moderation_defaults
async def test_rejecting_a_held_post_tells_its_author_why(client: httpx.AsyncClient) -> None:
    cats = await categories()
    mod = await make_user("mod", role=Role.MODERATOR)
    topic, _ = await do_create_topic(mod, cats["iot"], "Electronic seals", "first words")
    newcomer = await make_user("newcomer")
    with pytest.raises(Held) as held:
        await do_create_post(newcomer, topic, cats["iot"], SECRET_TEXT)

    await review.do_decide(mod, held.value.item_id, "reject", "Please do not share thresholds")

    assert not await Post.filter(source=SECRET_TEXT).exists()
    await log_in(client, newcomer)
    mine = await client.get("/pending")
    assert "Not approved" in mine.text and "Please do not share thresholds" in mine.text


async def test_a_claimed_item_is_decided_by_its_claimer_unless_taken_over(db: str) -> None:
    cats, alice, mod, topic = await _setup()
    other = await make_user("other", role=Role.MODERATOR)
    post = await do_create_post(alice, topic, cats["iot"], "flag me")
    item = await review.do_flag(await make_user("bob"), post, topic, cats["iot"], "spam")

    await review.do_claim(mod, item.id)
    with pytest.raises(Conflict):
        await review.do_decide(other, item.id, "ignore")
    with pytest.raises(Conflict):
        await review.do_claim(other, item.id)
    await review.do_claim(other, item.id, take_over=True)
    assert (await ReviewItem.get(id=item.id)).claimed_by_id == other.id
    with pytest.raises(Conflict):
        await review.do_decide(mod, item.id, "ignore")
    decided = await review.do_decide(other, item.id, "ignore")
    assert decided.decided_by_id == other.id


async def test_two_decisions_at_the_same_instant_exactly_one_wins(db: str) -> None:
    cats, alice, mod, topic = await _setup()
    other = await make_user("other", role=Role.MODERATOR)
    post = await do_create_post(alice, topic, cats["iot"], "flag me")
    item = await review.do_flag(await make_user("bob"), post, topic, cats["iot"], "spam")

    results = await asyncio.gather(
        review.do_decide(mod, item.id, "hide", "spam"),
        review.do_decide(other, item.id, "approve"),
        return_exceptions=True,
    )

    wins = [r for r in results if isinstance(r, ReviewItem)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1
    stored = await ReviewItem.get(id=item.id)
    assert stored.decision == wins[0].decision
    assert (await Post.get(id=post.id)).hidden == (stored.decision == "hide")
    decided = [e for e in await Event.filter(type="review.counts") if "decided_by" in e.payload]
    assert len(decided) == 2  # one decision, told to each of the two moderators


async def test_a_category_moderator_sees_and_decides_only_their_categories(
    client: httpx.AsyncClient,
) -> None:
    cats, alice, mod, topic = await _setup()
    scoped = await make_user("scoped", role=Role.MODERATOR)
    await User.filter(id=scoped.id).update(moderator_categories=[cats["drones"].id])
    drones, _ = await do_create_topic(alice, cats["drones"], "Drone patrols", "first words")
    bob = await make_user("bob")
    in_iot = await review.do_flag(
        bob, await do_create_post(alice, topic, cats["iot"], "iot post"), topic, cats["iot"], "spam"
    )
    in_drones = await review.do_flag(
        bob,
        await do_create_post(alice, drones, cats["drones"], "drone post"),
        drones,
        cats["drones"],
        "spam",
    )
    headers = await bearer(scoped)

    listed = await client.get("/api/v1/review", headers=headers)
    assert [i["id"] for i in listed.json()["items"]] == [in_drones.id]
    assert (await client.get(f"/api/v1/review/{in_iot.id}", headers=headers)).status_code == 404
    other = await client.get("/api/v1/review?category=iot", headers=headers)
    assert other.status_code == 404
    refused = await client.post(
        f"/api/v1/review/{in_iot.id}/decisions", headers=headers, json={"action": "ignore"}
    )
    assert refused.status_code == 404
    assert (await ReviewItem.get(id=in_iot.id)).status == ReviewStatus.PENDING
    await log_in(client, scoped)
    page = await client.get("/review")
    assert "drone post" in page.text and "iot post" not in page.text
    assert (await client.get(f"/review/{in_iot.id}")).status_code == 404
    # Their live count is their categories' only; the global moderator's is everything.
    counts = {e.channel: e.payload["pending"] for e in await Event.filter(type="review.counts")}
    assert counts[f"user:{scoped.id}"] == 1 and counts[f"user:{mod.id}"] == 2
    global_list = await client.get("/api/v1/review", headers=await bearer(mod))
    assert len(global_list.json()["items"]) == 2


async def test_staff_without_two_factor_cannot_work_the_queue(client: httpx.AsyncClient) -> None:
    cats, alice, mod, topic = await _setup()
    item = await review.do_flag(
        await make_user("bob"),
        await do_create_post(alice, topic, cats["iot"], "flag me"),
        topic,
        cats["iot"],
        "spam",
    )
    lax = await make_user("lax", role=Role.MODERATOR, two_factor=False)
    headers = await bearer(lax)

    listed = await client.get("/api/v1/review", headers=headers)
    assert listed.status_code == 403
    assert listed.json()["error"]["code"] == "two_factor_setup_required"
    decided = await client.post(
        f"/api/v1/review/{item.id}/decisions", headers=headers, json={"action": "ignore"}
    )
    assert decided.json()["error"]["code"] == "two_factor_setup_required"
    await log_in(client, lax)
    page = await client.get("/review")
    assert page.status_code == 303 and "staff_two_factor" in page.headers["location"]
    member = await bearer(alice)
    assert (await client.get("/api/v1/review", headers=member)).status_code == 403


async def _member_replying(limits: dict[str, int]) -> tuple[User, str, dict[str, str]]:
    """A moderator's topic and a new member about to reply to it through the API, first posts
    not held, with these posting limits: (the moderator, the replies' URL, the member's
    headers)."""
    cats = await categories()
    mod = await make_user("mod", role=Role.MODERATOR)
    topic, _ = await do_create_topic(mod, cats["iot"], "Electronic seals", "first words")
    member = await make_user("member")
    await moderation_settings.store({"approve_first_posts": 0, **limits})
    return mod, f"/api/v1/topics/{topic.id}/posts", await bearer(member)


@pytest.mark.moderation_defaults
async def test_the_hourly_posting_limit_counts_every_post_of_the_hour(
    client: httpx.AsyncClient,
) -> None:
    limits = {"new_posts_per_interval": 100, "new_posts_per_hour": 2}  # a new member's
    _mod, url, headers = await _member_replying(limits)

    answers = [await client.post(url, headers=headers, json={"body": b}) for b in "abc"]

    assert [a.status_code for a in answers] == [201, 201, 429]
    # the first of the hour's two posts leaves the window in about an hour, not a minute
    assert 3500 <= int(answers[2].headers["retry-after"]) <= 3600
    assert not await Post.filter(source="c").exists()


@pytest.mark.moderation_defaults
async def test_posting_too_fast_is_refused_with_retry_after(client: httpx.AsyncClient) -> None:
    mod, url, headers = await _member_replying({})

    first = await client.post(url, headers=headers, json={"body": "one"})
    second = await client.post(url, headers=headers, json={"body": "two"})

    assert first.status_code == 201
    assert second.status_code == 429 and 1 <= int(second.headers["retry-after"]) <= 60
    assert "too fast" in second.json()["error"]["message"]
    assert not await Post.filter(source="two").exists()
    # Staff are exempt.
    staff = await bearer(mod)
    for body in ("a", "b", "c"):
        assert (await client.post(url, headers=staff, json={"body": body})).status_code == 201


async def test_members_flag_from_the_post_and_never_their_own(client: httpx.AsyncClient) -> None:
    cats, alice, mod, topic = await _setup()
    post = await do_create_post(alice, topic, cats["iot"], "a reply to flag")
    bob = await make_user("bob")
    token = await log_in(client, bob)
    page = await client.get(f"/t/{topic.id}")
    assert f'href="/p/{post.id}/flag"' in page.text
    form = await client.get(f"/p/{post.id}/flag")
    assert "sensitive or confidential information" in form.text
    sent = await client.post(
        f"/p/{post.id}/flag", data={"csrf_token": token, "reason": "other", "note": ""}
    )
    assert sent.status_code == 422 and "Say what is wrong" in sent.text
    done = await client.post(
        f"/p/{post.id}/flag", data={"csrf_token": token, "reason": "spam", "note": "ads"}
    )
    assert done.status_code == 303 and "flagged=1" in done.headers["location"]
    await log_in(client, alice)
    own = await client.get(f"/t/{topic.id}")
    assert f'href="/p/{post.id}/flag" class="flag-link" hidden' in own.text


async def test_watched_words_block_hold_or_flag_a_new_post(client: httpx.AsyncClient) -> None:
    cats, alice, mod, topic = await _setup()
    admin = await make_user("admin", role=Role.ADMIN)
    for word, action in (
        ("contraband*", "block"),
        ("tariff", "require_approval"),
        ("leak", "flag"),
    ):
        await do_add_watched_word(admin, word, action)
    token = await log_in(client, alice)

    blocked = await client.post(
        f"/t/{topic.id}/reply", data={"csrf_token": token, "body": "Selling CONTRABANDS here"}
    )
    assert blocked.status_code == 422
    assert "contraband*" in blocked.text and "Selling CONTRABANDS here" in blocked.text
    held = await client.post(
        f"/api/v1/topics/{topic.id}/posts",
        headers=await bearer(alice),
        json={"body": "The new Tariff schedule"},
    )
    assert held.status_code == 202
    item = await ReviewItem.get(id=held.json()["review_item"])
    assert item.reason == "watched_word:tariff"
    flagged = await client.post(
        f"/api/v1/topics/{topic.id}/posts", headers=await bearer(alice), json={"body": "a léak?"}
    )
    assert flagged.status_code == 201
    queued = await ReviewItem.get(post_id=flagged.json()["id"])
    assert queued.reason == "watched_word:leak" and queued.status == ReviewStatus.PENDING
    assert not await Post.filter(source__icontains="contraband").exists()
    # The category's moderators are not screened.
    staff = await client.post(
        f"/api/v1/topics/{topic.id}/posts", headers=await bearer(mod), json={"body": "tariff"}
    )
    assert staff.status_code == 201


async def test_a_moderator_never_decides_about_their_own_post(db: str) -> None:
    cats, alice, mod, topic = await _setup()
    own = await do_create_post(mod, topic, cats["iot"], "the moderator's own words")
    item = await review.do_flag(alice, own, topic, cats["iot"], "inappropriate")
    with pytest.raises(Forbidden, match="another moderator"):
        await review.do_decide(mod, item.id, "ignore")
    other = await make_user("other", role=Role.MODERATOR)
    assert (await review.do_decide(other, item.id, "ignore")).status == ReviewStatus.IGNORED


async def test_the_author_of_a_hidden_post_finds_the_reason(client: httpx.AsyncClient) -> None:
    cats, alice, mod, topic = await _setup()
    post = await do_create_post(alice, topic, cats["iot"], "an advert")
    item = await review.do_flag(await make_user("bob"), post, topic, cats["iot"], "spam")
    await review.do_decide(mod, item.id, "hide", "Adverts are not allowed here")
    await log_in(client, alice)
    page = await client.get("/pending")
    assert "Hidden" in page.text and "Adverts are not allowed here" in page.text
