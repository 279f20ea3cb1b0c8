"""Listings of X, Instagram, Facebook, YouTube and Telegram: the posts an account or
hashtag page showed, read from what a browser capture of the page records (fixture pages
and API answers built like the real ones), in the order shown, with the same post ids a
capture of each post gives (tracking decides "already captured" by platform and id)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from crawlers.platforms import adapter
from crawlers.platforms.base import Exchange, Listing
from tests.fixtures.platform_pages import Response
from tests.fixtures.platform_pages import facebook as fb
from tests.fixtures.platform_pages import facebook_listing as fbl
from tests.fixtures.platform_pages import instagram as ig
from tests.fixtures.platform_pages import instagram_listing as igl
from tests.fixtures.platform_pages import telegram as tg
from tests.fixtures.platform_pages import telegram_listing as tgl
from tests.fixtures.platform_pages import x as xp
from tests.fixtures.platform_pages import x_listing as xl
from tests.fixtures.platform_pages import youtube as yt
from tests.fixtures.platform_pages import youtube_listing as ytl
from tests.platform_helpers import recorded

JSON = "application/json; charset=utf-8"


def served(url: str, response: Response) -> Exchange:
    """`response` recorded for `url`, as the capture pipeline hands it to adapters."""
    return Exchange(url, response.status, {"content-type": response.content_type,
                                           **{k.lower(): v for k, v in response.headers}},
                    response.body)


def answer(url: str, body: bytes | str, kind: str = JSON, status: int = 200) -> Exchange:
    data = body.encode() if isinstance(body, str) else body
    return Exchange(url, status, {"content-type": kind}, data)


def html(url: str, body: bytes | str) -> Exchange:
    return answer(url, body, "text/html; charset=utf-8")


def ids(listing: Listing | None) -> list[str]:
    assert listing is not None
    return [post_id for post_id, _ in listing.posts]


# -- what each platform's capture of a listing records ------------------------------------

X_USER = answer(f"https://x.com{xl.USER_PATH}?variables=%7B%7D", xl.USER_ANSWER)
X_PAGES = [answer(xl.tweets_url(), xl.FIRST_ANSWER),
           answer(xl.tweets_url("DAABCgABGG3xkYA__-gKAAIYbGDNOZpAAAgAAwAAAAIAAA"),
                  xl.SECOND_ANSWER),
           answer(xl.tweets_url("DAABCgABGG3xkYA__-gKAAIYbFW4jJpAAAgAAwAAAAIAAB"),
                  xl.LAST_ANSWER)]


def x_capture(pages: int = 3) -> list[Exchange]:
    return [html(xl.LISTING_URL, xl.PAGE), X_USER, *X_PAGES[:pages]]


_IG = f"https://{igl.HOST}"


def ig_tag_capture(pages: int = 2) -> list[Exchange]:
    return [served(igl.TAG_URL, igl.ROUTES[(igl.HOST, f"/explore/tags/{igl.TAG}/")]),
            served(f"{_IG}{igl.WEB_INFO_PATH}?tag_name={igl.TAG}",
                   igl.ROUTES[(igl.HOST, igl.WEB_INFO_PATH)]),
            served(f"{_IG}{igl.SECTIONS_PATH}", igl.ROUTES[(igl.HOST, igl.SECTIONS_PATH)]),
            ][:pages + 1]


def ig_account_capture(pages: int = 2) -> list[Exchange]:
    return [served(igl.ACCOUNT_URL, igl.ROUTES[(igl.HOST, f"/{igl.HANDLE}/")]),
            served(f"{_IG}{igl.GRAPHQL_PATH}", igl.ROUTES[(igl.HOST, igl.GRAPHQL_PATH)]),
            ][:pages]


def fb_capture(pages: int = 2) -> list[Exchange]:
    return [served(fbl.LISTING_URL, fbl.ROUTES[(fbl.WWW, f"/{fbl.HANDLE}")]),
            served(f"https://{fbl.WWW}{fbl.GRAPHQL_PATH}",
                   fbl.ROUTES[(fbl.WWW, fbl.GRAPHQL_PATH)])][:pages]


def yt_capture(pages: int = 2) -> list[Exchange]:
    return [html(ytl.LISTING_URL, ytl.PAGE),
            served(f"https://{ytl.WWW}{ytl.BROWSE_PATH}?prettyPrint=false",
                   ytl.ROUTES[(ytl.WWW, ytl.BROWSE_PATH)])][:pages]


def tg_capture(pages: int = 2) -> list[Exchange]:
    return [html(tgl.LISTING_URL, tgl.PAGE),
            answer(f"{tgl.LISTING_URL}?before={tgl.BEFORE}", tgl.EARLIER, "application/json")
            ][:pages]


@dataclass(frozen=True)
class Shown:
    """A listing capture and what it must read: posts in order, pages, has_more."""

    platform: str
    url: str
    capture: Callable[[int], list[Exchange]]
    kind: str
    target: str
    first: list[tuple[str, str]]  # (post id, URL) of the first page
    later: list[tuple[str, str]]  # of the pages read after it
    pages: int
    more_after_first: bool
    more_at_end: bool


SHOWN = {
    "x": Shown("x", xl.LISTING_URL, x_capture, "account", "bawaslu_ri",
               [(i, f"https://x.com/{h}/status/{i}") for i, h in xl.FIRST_PAGE],
               [(i, f"https://x.com/{h}/status/{i}") for i, h in xl.SECOND_PAGE], 3, True,
               False),
    "instagram_tag": Shown("instagram", igl.TAG_URL, ig_tag_capture, "hashtag", igl.TAG,
                           [(igl.code(i), igl.url(i)) for i in igl.TAG_FIRST],
                           [(igl.code(i), igl.url(i)) for i in igl.TAG_SECOND], 2, True,
                           False),
    "instagram_account": Shown("instagram", igl.ACCOUNT_URL, ig_account_capture, "account",
                               igl.HANDLE,
                               [(igl.code(i), igl.url(i)) for i in igl.ACCOUNT_FIRST],
                               [(igl.code(i), igl.url(i)) for i in igl.ACCOUNT_SECOND], 2,
                               True, False),
    "facebook": Shown("facebook", fbl.LISTING_URL, fb_capture, "account", fbl.HANDLE,
                      fbl.FIRST_PAGE, fbl.SECOND_PAGE, 2, True, False),
    "youtube": Shown("youtube", ytl.LISTING_URL, yt_capture, "account", yt.HANDLE,
                     [(i, f"https://www.youtube.com/watch?v={i}") for i in ytl.FIRST_PAGE],
                     [(i, f"https://www.youtube.com/watch?v={i}") for i in ytl.SECOND_PAGE],
                     2, True, False),
    # the earlier page of the preview links earlier messages still
    "telegram": Shown("telegram", tgl.LISTING_URL, tg_capture, "account", tg.CHANNEL,
                      [(i, f"https://t.me/{i}") for i in tgl.FIRST_PAGE],
                      [(i, f"https://t.me/{i}") for i in tgl.SECOND_PAGE], 2, True, True),
}


@pytest.mark.parametrize("name", SHOWN)
def test_listing_gives_the_posts_in_the_order_shown(name: str) -> None:
    shown = SHOWN[name]
    listing = adapter(shown.platform).listing(shown.url, shown.capture(shown.pages))
    assert listing is not None
    assert (listing.platform, listing.kind, listing.target) == (shown.platform, shown.kind,
                                                                shown.target)
    assert listing.posts == shown.first + shown.later
    assert listing.pages == shown.pages
    assert listing.has_more is shown.more_at_end
    assert listing.source
    assert listing.to_json()["seen"] == len(shown.first + shown.later)


@pytest.mark.parametrize("name", SHOWN)
def test_first_page_alone_says_there_is_more(name: str) -> None:
    shown = SHOWN[name]
    listing = adapter(shown.platform).listing(shown.url, shown.capture(1))
    assert listing is not None
    assert listing.posts == shown.first
    assert listing.pages == 1
    assert listing.has_more is shown.more_after_first


@pytest.mark.parametrize("name", SHOWN)
def test_listed_ids_are_the_ids_their_urls_are_recognised_with(name: str) -> None:
    """Where the URL carries the id, it is the listed one (Facebook's pfbid links carry an
    alias, checked against extract() below)."""
    shown = SHOWN[name]
    platform = adapter(shown.platform)
    for post_id, url in shown.first + shown.later:
        found = platform.recognise(url)
        assert found is not None and found.kind == "post", url
        if not (found.post_id or "").startswith("pfbid"):
            assert found.post_id == post_id, url


@pytest.mark.parametrize("name", SHOWN)
def test_a_page_that_lists_nothing_is_none(name: str) -> None:
    shown = SHOWN[name]
    post_url = (shown.first + shown.later)[0][1]
    assert adapter(shown.platform).listing(post_url, shown.capture(shown.pages)) is None
    assert adapter(shown.platform).listing("https://example.org/", []) is None


@pytest.mark.parametrize("name", SHOWN)
def test_nothing_recorded_is_an_empty_listing(name: str) -> None:
    shown = SHOWN[name]
    listing = adapter(shown.platform).listing(shown.url, [])
    assert listing is not None
    assert (listing.posts, listing.pages, listing.has_more) == ([], 0, None)


# Each capture with its data cut short or not JSON at all.
def _cut(exchange: Exchange, at: int | None = None) -> Exchange:
    body = exchange.body[:at if at is not None else len(exchange.body) // 2]
    return Exchange(exchange.url, exchange.status, exchange.headers, body)


DAMAGED = {
    "x": [html(xl.LISTING_URL, xl.PAGE), _cut(X_USER), _cut(X_PAGES[0]),
          answer(X_PAGES[1].url, b'{"data":{"user":{"result":{"timeline":{"timeline":'
                                 b'{"instructions":[{"type":"TimelineAddEntries","entries":'
                                 b'[{"entryId":"tweet-1","content":7},null,"x"]}]}}}}}}'),
          answer(X_PAGES[2].url, b"[1, 2")],
    "instagram_tag": [_cut(e) for e in ig_tag_capture()] + [answer(
        f"{_IG}{igl.SECTIONS_PATH}", b'{"sections":[{"layout_content":{"medias":'
                                     b'[{"media":{"code":42,"pk":1}},null]}}]}')],
    "instagram_account": [_cut(e) for e in ig_account_capture()],
    "facebook": [_cut(e, 300) for e in fb_capture()] + [answer(
        f"https://{fbl.WWW}{fbl.GRAPHQL_PATH}", b'for (;;);{"data":{"node":{"post_id":'
                                                 b'"pfbidX","message":null}}}')],
    "youtube": [_cut(e) for e in yt_capture()] + [answer(
        f"https://{ytl.WWW}{ytl.BROWSE_PATH}", b'{"onResponseReceivedActions":[{"append'
                                                b'ContinuationItemsAction":{"continuation'
                                                b'Items":[{"richItemRenderer":{"content":'
                                                b'{"videoRenderer":{"videoId":"bad id"}}}}'
                                                b']}}]}')],
    "telegram": [_cut(e, 600) for e in tg_capture()] + [answer(
        f"{tgl.LISTING_URL}?before=1", b'{"not": "markup"}', "application/json")],
}


@pytest.mark.parametrize("name", SHOWN)
def test_damaged_data_gives_an_empty_listing_not_an_error(name: str) -> None:
    shown = SHOWN[name]
    listing = adapter(shown.platform).listing(shown.url, DAMAGED[name])
    assert listing is not None
    assert listing.posts == []


# -- the same ids as a capture of the post ----------------------------------------------------


def _extracted(platform: str, url: str, capture: list[Exchange]) -> tuple[str, str]:
    outcome = adapter(platform).extract(url, capture)
    assert outcome.post is not None, outcome.reason
    return outcome.post.post_id, outcome.post.url


@pytest.mark.parametrize(("platform", "pages", "case"), [
    ("x", xp, "post"), ("x", xp, "video"),
    ("instagram", ig, "post"), ("instagram", ig, "images"), ("instagram", ig, "video"),
    ("youtube", yt, "post"),
    ("telegram", tg, "post"), ("telegram", tg, "images"), ("telegram", tg, "video"),
])
def test_a_listed_post_has_the_id_and_url_its_capture_gives(platform, pages, case) -> None:
    page_url, capture = recorded(pages, pages.CASES[case])
    post_id, url = _extracted(platform, page_url, capture)
    listed = {i: u for shown in SHOWN.values() if shown.platform == platform
              for i, u in shown.first + shown.later}
    assert post_id in listed, post_id
    assert listed[post_id] == url
    assert adapter(platform).recognise(listed[post_id]).post_id == post_id


@pytest.mark.parametrize(("listed_url", "page"), [
    (fb.POST_URL, fb.POST_PAGE), (fbl.ALBUM_POST_URL, fb.ALBUM_PAGE),
    (fb.VIDEO_URL, fb.VIDEO_PAGE),
])
def test_a_listed_facebook_post_has_the_id_its_capture_gives(listed_url, page) -> None:
    """The story's numeric id for a post (also behind a pfbid link), the video's id for a
    video: what extract() gives when the listed URL is captured."""
    listed = dict((u, i) for i, u in SHOWN["facebook"].first)
    post_id, url = _extracted("facebook", listed_url, [html(listed_url, page)])
    assert listed[listed_url] == post_id and url == listed_url


# -- what each platform's listing leaves out ----------------------------------------------------


def test_x_skips_promoted_posts_and_lists_a_repost_as_the_post_it_reposts() -> None:
    listing = adapter("x").listing(xl.LISTING_URL, x_capture(1))
    assert xl.AD_ID not in ids(listing)
    assert xl.REPOST_ID not in ids(listing)
    assert (xp.VIDEO_ID, xp.VIDEO_URL) in listing.posts
    assert ids(listing)[0] == xp.POST_ID  # pinned, though also shown in its place
    assert ids(listing).count(xp.POST_ID) == 1


def test_x_reads_older_timeline_v2_answers() -> None:
    older = xl.user_tweets([], pinned=xp.POST_TWEET, key="timeline_v2")
    listing = adapter("x").listing(xl.LISTING_URL, [answer(xl.tweets_url(), older)])
    assert ids(listing) == [xp.POST_ID] and listing.has_more is False


def test_x_ignores_another_accounts_timeline() -> None:
    other = answer(xl.tweets_url(user_id="1302345678901234567"), xl.SECOND_ANSWER)
    listing = adapter("x").listing(xl.LISTING_URL, [X_USER, other, X_PAGES[0]])
    assert listing.posts == SHOWN["x"].first and listing.pages == 1


def test_instagram_hashtag_lists_top_then_recent_once_each() -> None:
    listing = adapter("instagram").listing(igl.TAG_URL, ig_tag_capture(1))
    assert ids(listing) == [igl.code(i) for i in igl.TAG_FIRST]
    reel = dict(listing.posts)[ig.REEL_CODE]
    assert reel == ig.REEL_URL  # a reel listed under /reel/, as its capture names it


def test_instagram_account_from_the_older_feed_api() -> None:
    feed = served(f"{_IG}{igl.FEED_PATH}?count=12", igl.ROUTES[(igl.HOST, igl.FEED_PATH)])
    shell = html(igl.ACCOUNT_URL, ig.page("Bawaslu RI", {}).body)
    listing = adapter("instagram").listing(igl.ACCOUNT_URL, [shell, feed])
    assert ids(listing) == [igl.code(i) for i in igl.ACCOUNT_FIRST]
    assert (listing.pages, listing.has_more) == (1, True)


def test_instagram_account_does_not_read_a_hashtag_grid() -> None:
    grid = served(f"{_IG}{igl.WEB_INFO_PATH}?tag_name={igl.TAG}",
                  igl.ROUTES[(igl.HOST, igl.WEB_INFO_PATH)])
    listing = adapter("instagram").listing(igl.ACCOUNT_URL, ig_account_capture(1) + [grid])
    assert listing.posts == SHOWN["instagram_account"].first


def test_facebook_lists_a_share_but_not_the_post_it_shares() -> None:
    listing = adapter("facebook").listing(fbl.LISTING_URL, fb_capture(1))
    assert fbl.SHARE_ID in ids(listing)
    assert fbl.SHARED_ORIGINAL["post_id"] not in ids(listing)
    assert fbl.VIDEO_STORY_ID not in ids(listing)  # listed by its video's id


def test_youtube_lists_videos_not_playlists_and_each_once() -> None:
    listing = adapter("youtube").listing(ytl.LISTING_URL, yt_capture())
    assert ytl.PLAYLIST_ID not in ids(listing)
    assert ids(listing).count(yt.POST_ID) == 1


def test_youtube_reads_only_the_selected_tab() -> None:
    data = json.loads(json.dumps(ytl.INITIAL_DATA))
    tabs = data["contents"]["twoColumnBrowseResultsRenderer"]["tabs"]
    tabs[0]["tabRenderer"]["content"] = {"richGridRenderer": {"contents": [
        ytl.video_item(yt.AGE_ID, "featured", "1", "kemarin")]}}
    listing = adapter("youtube").listing(ytl.LISTING_URL, [html(ytl.LISTING_URL,
                                                                ytl.page(data))])
    assert ids(listing) == ytl.FIRST_PAGE


def test_telegram_lists_newest_first_without_service_messages() -> None:
    listing = adapter("telegram").listing(tgl.LISTING_URL, tg_capture(1))
    assert ids(listing) == tgl.FIRST_PAGE
    assert f"{tg.CHANNEL}/{tgl.SERVICE_ID}" not in ids(listing)


def test_telegram_preview_without_earlier_messages_has_no_more() -> None:
    preview = html(tgl.LISTING_URL, tg.PREVIEW_PAGE)
    listing = adapter("telegram").listing(tgl.LISTING_URL, [preview])
    assert ids(listing) == [f"{tg.CHANNEL}/{n}" for n in (1251, 1250, 1249)]
    assert listing.has_more is False


def test_telegram_does_not_read_another_channels_preview() -> None:
    other = html(f"https://t.me/s/akun_lain?before={tgl.BEFORE}", tgl.PAGE)
    listing = adapter("telegram").listing(tgl.LISTING_URL, tg_capture(1) + [other])
    assert listing.pages == 1

