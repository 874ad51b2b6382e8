"""Posts and topics through the API carry their language: `lang` is accepted (English or
French), refused otherwise with the 422 every invalid body field gets (naming the field; a
400 is a body that is not JSON at all), and returned; by default it is the language of the
author's requests."""

from __future__ import annotations

import httpx

from forum.models import Post, Topic
from tests.api.conftest import World


async def test_a_reply_in_french_is_stored_and_returned_with_its_language(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await client.post(
        f"/api/v1/topics/{world.topic_id}/posts",
        headers=world.bob,
        json={"body": "Nous utilisons des scellés depuis 2021.", "lang": "fr"},
    )
    assert created.status_code == 201, created.text
    post = created.json()
    assert post["lang"] == "fr"
    assert (await Post.get(id=post["id"])).language == "fr"
    again = await client.get(f"/api/v1/posts/{post['id']}", headers=world.alice)
    assert again.json()["lang"] == "fr"
    page = await client.get(f"/api/v1/topics/{world.topic_id}", headers=world.alice)
    assert [p["lang"] for p in page.json()["posts"]] == ["en", "en", "fr"]
    assert page.json()["lang"] == "en"  # the title's: its first post's


async def test_without_lang_a_post_is_in_the_language_of_the_authors_requests(
    client: httpx.AsyncClient, world: World
) -> None:
    path = f"/api/v1/topics/{world.topic_id}/posts"
    french = await client.post(
        path, headers={**world.bob, "Accept-Language": "fr-FR"}, json={"body": "Bonjour à tous"}
    )
    english = await client.post(path, headers=world.bob, json={"body": "Hello all"})
    assert french.json()["lang"] == "fr" and english.json()["lang"] == "en"


async def test_a_language_the_forum_does_not_speak_is_refused_naming_the_field(
    client: httpx.AsyncClient, world: World
) -> None:
    path = f"/api/v1/topics/{world.topic_id}/posts"
    for wrong in ("de", "FR", "", 3, None):
        refused = await client.post(path, headers=world.bob, json={"body": "Hallo", "lang": wrong})
        assert refused.status_code == 422, (wrong, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "invalid" and error["message"].startswith("lang "), error
    unknown = await client.post(path, headers=world.bob, json={"body": "Hallo", "lang": "de"})
    assert unknown.json()["error"]["message"] == "lang must be one of: en, fr"
    assert await Post.filter(topic_id=world.topic_id).count() == 2


async def test_a_topic_in_french_and_an_edit_that_changes_a_posts_language(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await client.post(
        "/api/v1/topics",
        headers=world.alice,
        json={
            "category": "iot",
            "title": "Scellés électroniques en transit",
            "body": "Qui les utilise ?",
            "lang": "fr",
        },
    )
    assert created.status_code == 201, created.text
    topic = created.json()
    assert topic["lang"] == "fr" and topic["post"]["lang"] == "fr"
    listed = await client.get("/api/v1/categories/iot/topics", headers=world.alice)
    assert {t["id"]: t["lang"] for t in listed.json()["topics"]}[topic["id"]] == "fr"

    # Written in English after all: only the language changes, no new revision.
    post_id = topic["post"]["id"]
    edited = await client.patch(
        f"/api/v1/posts/{post_id}",
        headers=world.alice,
        json={"body": "Qui les utilise ?", "lang": "en"},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["lang"] == "en" and edited.json()["version"] == 1
    assert (await Topic.get(id=topic["id"])).language == "en"
    kept = await client.patch(
        f"/api/v1/posts/{post_id}", headers=world.alice, json={"body": "Who uses them?"}
    )
    assert kept.json()["lang"] == "en" and kept.json()["version"] == 2
