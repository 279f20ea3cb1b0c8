"""Telegram adapter: URL forms, canonical URLs, and posts read from the widget markup."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from crawlers.platforms.base import BLOCKED, CAPTURED, UNAVAILABLE, Exchange
from crawlers.platforms.telegram import ADAPTER, TRACKING_PARAMS, VIEW_PARAMS, embed_url
from tests.fixtures.platform_pages import telegram as pages
from tests.platform_helpers import assert_outcome, assert_recognised, listed, recorded

CHANNEL = pages.CHANNEL
POST = f"https://t.me/{CHANNEL}/1234"


def page(url: str, body: str, status: int = 200) -> list[Exchange]:
    return [Exchange(url, status, {"content-type": "text/html; charset=utf-8"}, body.encode())]


# --- recognise ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical", "post_id", "removed"),
    [
        (POST, POST, f"{CHANNEL}/1234", ()),
        (f"http://t.me/{CHANNEL}/1234/", POST, f"{CHANNEL}/1234", ()),
        (f"https://t.me/s/{CHANNEL}/1234", POST, f"{CHANNEL}/1234", ()),
        (f"https://telegram.me/{CHANNEL}/1234?single", POST, f"{CHANNEL}/1234", ("single",)),
        (f"https://www.telegram.me/{CHANNEL}/1234", POST, f"{CHANNEL}/1234", ()),
        (f"https://telegram.dog/{CHANNEL}/1234", POST, f"{CHANNEL}/1234", ()),
        (f"https://t.me/{CHANNEL}/1234?embed=1&mode=tme", POST, f"{CHANNEL}/1234",
         ("embed", "mode")),
        (f"https://t.me/{CHANNEL}/1234?utm_source=wa&comment=56", f"{POST}?comment=56",
         f"{CHANNEL}/1234", ("utm_source",)),
        ("https://t.me/relawan_forum/3/45", "https://t.me/relawan_forum/3/45",
         "relawan_forum/45", ()),
        ("https://t.me/c/1987654321/55", "https://t.me/c/1987654321/55", "c/1987654321/55", ()),
        ("https://t.me/c/1987654321/7/55?single", "https://t.me/c/1987654321/7/55",
         "c/1987654321/55", ("single",)),
    ],
)
def test_recognises_post_url_forms(
    url: str, canonical: str, post_id: str, removed: tuple[str, ...]
) -> None:
    assert_recognised(ADAPTER, url, kind="post", canonical_url=canonical, post_id=post_id,
                      removed_params=removed)


@pytest.mark.parametrize(
    ("url", "kind", "canonical"),
    [
        (f"https://t.me/{CHANNEL}", "profile", f"https://t.me/{CHANNEL}"),
        (f"https://t.me/s/{CHANNEL}?before=1300", "profile", f"https://t.me/{CHANNEL}"),
        ("https://t.me/+AbCdEf12345", "page", "https://t.me/+AbCdEf12345"),
        ("https://t.me/joinchat/AAAAAEkk2WdoDrB4", "page", "https://t.me/joinchat/AAAAAEkk2WdoDrB4"),
        ("https://t.me/share/url?url=https%3A%2F%2Fberita.example.id&fbclid=x", "page",
         "https://t.me/share/url?url=https%3A%2F%2Fberita.example.id"),
    ],
)
def test_channels_and_other_pages(url: str, kind: str, canonical: str) -> None:
    assert_recognised(ADAPTER, url, kind=kind, canonical_url=canonical, post_id=None)


@pytest.mark.parametrize(
    "url",
    [
        "https://telegram.org/blog/pemilu",
        f"https://t.me.evil.example/{CHANNEL}/1234",
        f"https://web.telegram.org/k/#@{CHANNEL}",
        f"https://notelegram.me/{CHANNEL}/1234",
        f"tg://resolve?domain={CHANNEL}&post=1234",
        "https://[::1",
    ],
)
def test_does_not_claim_other_urls(url: str) -> None:
    assert ADAPTER.recognise(url) is None


@pytest.mark.parametrize("param", ["utm_source", "utm_medium", "fbclid", "single", "embed",
                                   "mode", "userpic", "t"])
def test_tracking_and_view_parameters_are_removed(param: str) -> None:
    assert param in VIEW_PARAMS or listed(param, TRACKING_PARAMS)
    assert_recognised(ADAPTER, f"{POST}?{param}=1", canonical_url=POST, removed_params=(param,))


def test_embed_url_is_the_widget_address_of_the_post() -> None:
    recognised = ADAPTER.recognise(embed_url(f"{CHANNEL}/1234"))
    assert recognised is not None and recognised.canonical_url == POST
    assert urlsplit(embed_url(f"{CHANNEL}/1234")).query == "embed=1&mode=tme"


# --- extract: the fixture cases --------------------------------------------------------------


@pytest.mark.parametrize("name", list(pages.CASES))
def test_extract_fixture_case(name: str) -> None:
    case = pages.CASES[name]
    assert_outcome(ADAPTER.extract(*recorded(pages, case)), case)



def test_album_lists_every_photo() -> None:
    case = pages.CASES["images"]
    post = ADAPTER.extract(*recorded(pages, case)).post
    assert post is not None
    assert [(m.type, urlsplit(m.url).path) for m in post.media] == [
        ("image", path) for path in pages.ALBUM]


def test_preview_takes_the_named_message_and_its_video() -> None:
    case = pages.CASES["video"]
    post = ADAPTER.extract(*recorded(pages, case)).post
    assert post is not None
    assert post.post_id == f"{CHANNEL}/{pages.VIDEO_ID}"
    assert post.mentions == []  # @kpu_ri is in the next message, not this one
    (video,) = post.media
    assert (video.type, urlsplit(video.url).path, video.duration_s) == (
        "video", pages.VIDEO, 42.0)


def test_preview_without_the_post_does_not_borrow_the_channel_description() -> None:
    url = f"https://t.me/s/{CHANNEL}/1300"
    body = pages.ROUTES[("t.me", f"/s/{CHANNEL}/{pages.VIDEO_ID}")].body.decode()
    outcome = ADAPTER.extract(url, page(url, body))
    assert (outcome.status, outcome.post) == (CAPTURED, None)
    assert "no post data" in (outcome.reason or "")


@pytest.mark.parametrize(
    ("shown", "count"),
    [("980", 980), ("12.4K", 12400), ("1.2K", 1200), ("3K", 3000), ("1.5M", 1500000),
     ("1,2 rb", 1200), ("", None)],
)
def test_displayed_views_are_read_to_their_shown_precision(shown: str, count: int | None) -> None:
    body = pages.widget(pages.message(77, pages.text_block("Halo"), shown,
                                      "2024-02-12T03:15:42+00:00", "03:15"))
    url = f"https://t.me/{CHANNEL}/77?embed=1"
    post = ADAPTER.extract(url, page(url, body)).post
    assert post is not None
    assert post.views == count


def test_truncated_widget_does_not_raise_and_keeps_what_arrived() -> None:
    body = pages.POST_WIDGET
    cut = body.index("tgme_widget_message_footer")
    outcome = ADAPTER.extract(POST, page(POST, body[:cut]))
    assert outcome.status == CAPTURED
    post = outcome.post
    assert post is not None
    assert post.caption == pages.POST_TEXT
    assert (post.views, post.posted_at) == (None, None)


def test_private_channel_link_without_access_is_blocked_not_removed() -> None:
    url = "https://t.me/c/1987654321/55"
    body = ("<html><head><title>Telegram Messenger</title></head><body><div class=\"tgme_page\">"
            "<a class=\"tgme_action_button_new\" href=\"tg://privatepost?channel=1987654321"
            "&amp;post=55\">View in Telegram</a></div></body></html>")
    outcome = ADAPTER.extract(url, page(url, body))
    assert outcome.status == BLOCKED
    assert "member" in (outcome.reason or "")


def test_generic_telegram_description_is_not_taken_for_the_post() -> None:
    body = pages.OG_PAGE.replace(pages.OG_TEXT, f"You can view and join @{CHANNEL} right away.")
    url = f"https://t.me/{CHANNEL}/{pages.OG_ID}"
    outcome = ADAPTER.extract(url, page(url, body))
    assert (outcome.status, outcome.post) == (CAPTURED, None)


@pytest.mark.parametrize(("status", "expected"), [(429, BLOCKED), (404, UNAVAILABLE)])
def test_http_status_without_widget(status: int, expected: str) -> None:
    outcome = ADAPTER.extract(POST, page(POST, "<html><body></body></html>", status))
    assert outcome.status == expected
    assert str(status) in (outcome.reason or "")


@pytest.mark.parametrize("name", ["post", "images", "video", "removed"])
def test_a_page_cut_anywhere_never_raises(name: str) -> None:
    case = pages.CASES[name]
    body = recorded(pages, case)[1][0].body
    for cut in range(0, len(body), max(1, len(body) // 40)):
        outcome = ADAPTER.extract(case.url, page(case.url, body[:cut].decode(errors="ignore")))
        assert outcome.status in (CAPTURED, UNAVAILABLE, BLOCKED)
        if name != "removed":  # a cut page of a live post is never taken for a removal
            assert outcome.status == CAPTURED, (cut, outcome.reason)
