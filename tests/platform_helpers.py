"""What the platform adapters' tests share: a fixture case recorded as a capture would
record it, in the form adapters get it, and the checks every adapter's cases go through."""

from __future__ import annotations

from types import ModuleType

from crawlers.platforms.base import CAPTURED, Adapter, Exchange, Outcome, Post, Recognised
from tests.fixtures.platform_pages import Case


def recorded(pages: ModuleType, case: Case) -> tuple[str, list[Exchange]]:
    """The final page URL and the exchanges a capture of `case` (a case of the fixture
    module `pages`) records, header names lower-cased as the pipeline gives them."""
    capture = pages.exchanges_for(case)
    return capture.page_url, [
        Exchange(url, r.status, {"content-type": r.content_type,
                                 **{k.lower(): v for k, v in r.headers}}, r.body)
        for url, r in capture.items
    ]


def html_exchange(url: str, body: bytes | str, status: int = 200) -> Exchange:
    """A recorded HTML page."""
    data = body.encode() if isinstance(body, str) else body
    return Exchange(url, status, {"content-type": "text/html; charset=utf-8"}, data)


def assert_outcome(outcome: Outcome, case: Case) -> None:
    """The outcome `case` says the adapter must give: its status, a word of its reason,
    the post fields it lists; and no post for a removal or a wall unless it lists one."""
    assert outcome.status == case.status, outcome.reason
    if case.reason:
        assert case.reason.lower() in (outcome.reason or "").lower()
    if case.post:
        assert outcome.post is not None
        got = outcome.post.to_json()
        assert {key: got[key] for key in case.post} == case.post
    elif case.status != CAPTURED:
        assert outcome.post is None


def assert_recognised(adapter: Adapter, url: str, **expected: object) -> Recognised:
    """`adapter` claims `url` as its own platform's, with the `Recognised` fields that
    `expected` names (`kind`, `canonical_url`, `post_id`, `removed_params`)."""
    found = adapter.recognise(url)
    assert found is not None, url
    got = {"platform": found.platform, **{name: getattr(found, name) for name in expected}}
    assert got == {"platform": adapter.name, **expected}, url
    return found


def listed(param: str, patterns: tuple[str, ...]) -> bool:
    """Whether a parameter is in a documented list, where `utm_*` stands for a prefix."""
    return any(param == p or (p.endswith("*") and param.startswith(p[:-1])) for p in patterns)


def assert_media_served(pages: ModuleType, post: Post) -> None:
    """Every media file the post names is served by the fixture site as media."""
    assert post.media
    for media in post.media:
        host, path = media.url.split("://", 1)[1].split("?", 1)[0].split("/", 1)
        response = pages.ROUTES[(host, f"/{path}")]
        assert response.status == 200 and response.content_type.split("/")[0] in (
            "video", "image", "audio"), media.url
