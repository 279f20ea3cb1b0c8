"""Facebook adapter: URL forms, canonical URLs, and posts read from recorded pages."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from crawlers.platforms.base import BLOCKED, CAPTURED, UNAVAILABLE, Exchange
from crawlers.platforms.facebook import ADAPTER, TRACKING_PARAMS
from tests.fixtures.platform_pages import facebook as pages
from tests.platform_helpers import assert_outcome, assert_recognised, recorded

POST_CASES = [n for n, c in pages.CASES.items() if c.resolves_to is None]


def page(url: str, body: str, status: int = 200) -> list[Exchange]:
    return [Exchange(url, status, {"content-type": "text/html; charset=utf-8"}, body.encode())]


# --- recognise ---------------------------------------------------------------------------

POST = "https://www.facebook.com/bawaslu.ri/posts/812345678901234"
PERMALINK = ("https://www.facebook.com/permalink.php?story_fbid=823456789012345"
             "&id=100064812345678")
VIDEO = "https://www.facebook.com/bawaslu.ri/videos/1456789012345678/"
WATCH = "https://www.facebook.com/watch/?v=1456789012345678"


@pytest.mark.parametrize(
    ("url", "kind", "canonical", "post_id"),
    [
        (POST, "post", POST, "812345678901234"),
        ("http://m.facebook.com/bawaslu.ri/posts/812345678901234/?mibextid=Nif5oz",
         "post", POST, "812345678901234"),
        ("https://facebook.com/bawaslu.ri/posts/812345678901234/extra/bits", "post", POST,
         "812345678901234"),
        (f"https://www.facebook.com/bawaslu.ri/posts/{pages.POST_PFBID}", "post",
         f"https://www.facebook.com/bawaslu.ri/posts/{pages.POST_PFBID}", pages.POST_PFBID),
        ("https://web.facebook.com/permalink.php?story_fbid=823456789012345&id=100064812345678",
         "post", PERMALINK, "823456789012345"),
        ("https://mbasic.facebook.com/story.php?id=100064812345678&story_fbid=823456789012345"
         "&refid=52", "post", PERMALINK, "823456789012345"),
        ("https://www.facebook.com/permalink.php?story_fbid=pfbid0fqQuVEQyXRa9Dp4&id=100068",
         "post", "https://www.facebook.com/permalink.php?story_fbid=pfbid0fqQuVEQyXRa9Dp4"
         "&id=100068", "pfbid0fqQuVEQyXRa9Dp4"),
        ("https://www.facebook.com/bawaslu.ri/videos/1456789012345678", "post", VIDEO,
         "1456789012345678"),
        ("https://m.facebook.com/bawaslu.ri/videos/simulasi-tps/1456789012345678/?type=2"
         "&theater", "post", VIDEO, "1456789012345678"),
        (WATCH, "post", WATCH, "1456789012345678"),
        ("https://www.facebook.com/watch?v=1456789012345678&ref=sharing", "post", WATCH,
         "1456789012345678"),
        ("https://m.facebook.com/watch/live/?ref=watch_permalink&v=1456789012345678", "post",
         WATCH, "1456789012345678"),
        ("https://www.facebook.com/video.php?v=1456789012345678&fref=nf", "post", WATCH,
         "1456789012345678"),
        ("https://www.facebook.com/reel/1195289147628387?mibextid=rS40aB7S9Ucbxw6v&sfnsn=mo",
         "post", "https://www.facebook.com/reel/1195289147628387", "1195289147628387"),
        ("https://www.facebook.com/photo/?fbid=431209876543210&set=a.123456789", "post",
         "https://www.facebook.com/photo/?fbid=431209876543210&set=a.123456789",
         "431209876543210"),
        ("https://www.facebook.com/photo.php?fbid=431209876543210&set=pb.100.-2207520000"
         "&type=3", "post",
         "https://www.facebook.com/photo/?fbid=431209876543210&set=pb.100.-2207520000",
         "431209876543210"),
        ("https://www.facebook.com/bawaslu.ri/photos/a.123456789/431209876543210/", "post",
         "https://www.facebook.com/photo/?fbid=431209876543210&set=a.123456789",
         "431209876543210"),
        ("https://www.facebook.com/groups/relawanpemiluid/permalink/834567890123456/", "post",
         "https://www.facebook.com/groups/relawanpemiluid/posts/834567890123456/",
         "834567890123456"),
        ("https://www.facebook.com/share/p/1AbCdEfGhJ/?mibextid=WC7FNe", "short",
         "https://www.facebook.com/share/p/1AbCdEfGhJ/", None),
        ("http://m.facebook.com/share/v/9XyZabc", "short",
         "https://www.facebook.com/share/v/9XyZabc/", None),
        ("https://www.facebook.com/share/r/AbC123/", "short",
         "https://www.facebook.com/share/r/AbC123/", None),
        ("https://fb.watch/qR7sT2uVwX/?mibextid=Nif5oz", "short", "https://fb.watch/qR7sT2uVwX/",
         None),
        ("https://www.facebook.com/bawaslu.ri/", "profile", "https://www.facebook.com/bawaslu.ri",
         None),
        ("https://www.facebook.com/profile.php?id=100064812345678&fbclid=IwAR1", "profile",
         "https://www.facebook.com/profile.php?id=100064812345678", None),
    ],
)
def test_recognises_real_url_forms(
    url: str, kind: str, canonical: str, post_id: str | None
) -> None:
    assert_recognised(ADAPTER, url, kind=kind, canonical_url=canonical, post_id=post_id)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=Xk3pEmLu2Qs",
        "https://notfacebook.com/bawaslu.ri/posts/812345678901234",
        "https://facebook.com.evil.example/bawaslu.ri/posts/812345678901234",
        "https://fb.watch.example.id/qR7sT2uVwX/",
        "ftp://www.facebook.com/bawaslu.ri/posts/812345678901234",
        "not a url",
        "https://[::1",
    ],
)
def test_does_not_claim_other_urls(url: str) -> None:
    assert ADAPTER.recognise(url) is None


def test_other_facebook_pages_are_pages_not_posts() -> None:
    recognised = ADAPTER.recognise("https://www.facebook.com/login/?next=%2Fbawaslu.ri")
    assert recognised is not None and recognised.kind == "page"
    assert recognised.post_id is None


@pytest.mark.parametrize(
    "param",
    ["__cft__[0]", "__tn__", "mibextid", "rdid", "share_url", "sfnsn", "ref", "fref",
     "comment_tracking", "paipv", "eav", "fbclid", "utm_source", "utm_campaign"],
)
def test_tracking_parameter_is_removed(param: str) -> None:
    for clean in (PERMALINK, WATCH):
        assert_recognised(ADAPTER, f"{clean}&{param}=AZW1x", canonical_url=clean,
                          removed_params=(param,))
    assert_recognised(ADAPTER, f"https://www.facebook.com/bawaslu.ri?sk=about&{param}=x",
                      canonical_url="https://www.facebook.com/bawaslu.ri?sk=about",
                      removed_params=(param,))


def test_tracking_list_names_the_documented_parameters() -> None:
    for param in ("__cft__*", "__tn__", "mibextid", "rdid", "share_url", "fbclid", "utm_*"):
        assert param in TRACKING_PARAMS
    for content in ("story_fbid", "id", "v", "fbid", "set"):
        assert content not in TRACKING_PARAMS


def test_content_parameters_are_kept_in_order() -> None:
    recognised = ADAPTER.recognise(
        "https://www.facebook.com/photo.php?__tn__=EH-R&fbid=431209876543210&set=a.12345")
    assert recognised is not None
    assert recognised.canonical_url == ("https://www.facebook.com/photo/?fbid=431209876543210"
                                        "&set=a.12345")
    assert recognised.removed_params == ("__tn__",)


# --- extract: the fixture cases --------------------------------------------------------------


@pytest.mark.parametrize("name", POST_CASES)
def test_extract_fixture_case(name: str) -> None:
    case = pages.CASES[name]
    assert_outcome(ADAPTER.extract(*recorded(pages, case)), case)



def test_post_takes_the_story_the_url_names_not_the_first_blob() -> None:
    final_url, exchanges = recorded(pages, pages.CASES["post"])
    post = ADAPTER.extract(final_url, exchanges).post
    assert post is not None
    assert post.post_id == pages.POST_ID != pages.RELATED_STORY["post_id"]
    assert "data-sjs" in post.source
    assert [(m.type, m.width, m.height) for m in post.media] == [("image", 960, 720)]
    assert urlsplit(post.media[0].url).hostname == pages.SCONTENT


def test_hashtags_come_from_message_ranges_counted_in_utf16() -> None:
    # The caption starts with an emoji of 3 UTF-16 units but 2 characters: ranges read
    # as character offsets would cut "#pemilu2024" one character off.
    final_url, exchanges = recorded(pages, pages.CASES["post"])
    post = ADAPTER.extract(final_url, exchanges).post
    assert post is not None
    assert post.hashtags == ["pemilu2024", "AwasiPemilu"]
    assert post.mentions == ["KPURI"]  # a tagged Page, not an @ in the text


def test_album_lists_every_photo_in_order() -> None:
    case = pages.CASES["images"]
    final_url, exchanges = recorded(pages, case)
    post = ADAPTER.extract(final_url, exchanges).post
    assert post is not None
    assert [urlsplit(m.url).path for m in post.media] == [p for p, _, _ in pages.ALBUM_PHOTOS]
    assert all((m.type, m.width, m.height) == ("image", 2048, 1536) for m in post.media)


def test_video_prefers_the_hd_file_and_keeps_its_length() -> None:
    case = pages.CASES["video"]
    final_url, exchanges = recorded(pages, case)
    post = ADAPTER.extract(final_url, exchanges).post
    assert post is not None
    assert len(post.media) == 1
    video = post.media[0]
    assert video.type == "video"
    assert urlsplit(video.url).path == pages.VIDEO_HD
    assert (video.width, video.height, video.duration_s) == (1280, 720, 42.5)


@pytest.mark.parametrize("name", ["short", "short_video"])
def test_short_links_resolve_to_a_recognised_post(name: str) -> None:
    case = pages.CASES[name]
    short = ADAPTER.recognise(case.url)
    assert short is not None and short.is_short_link and short.post_id is None
    assert case.resolves_to is not None
    target = ADAPTER.recognise(case.resolves_to)
    assert target is not None and target.kind == "post"
    assert target.removed_params  # the redirect adds trackers; the canonical drops them
    final_url, exchanges = recorded(pages, case)
    assert final_url == case.resolves_to
    outcome = ADAPTER.extract(final_url, exchanges)
    assert outcome.status == CAPTURED
    assert outcome.post is not None and outcome.post.url == target.canonical_url


# --- extract: damaged data, fallbacks and walls --------------------------------------------------


def test_truncated_relay_data_falls_back_to_opengraph() -> None:
    # The unrelated story's blob stays intact: it must not be taken for the post.
    body = pages.ROUTES[("www.facebook.com", pages.POST_PATH)].body.decode()
    start = body.rindex(json.dumps(pages.POST_TEXT, ensure_ascii=False)[:30])
    damaged = body[:start] + "</script></body></html>"  # the story's blob cut mid-message
    outcome = ADAPTER.extract(pages.POST_URL, page(pages.POST_URL, damaged))
    assert outcome.status == CAPTURED
    post = outcome.post
    assert post is not None
    assert post.source == "opengraph"
    assert post.caption == pages.POST_TEXT
    assert post.post_id == pages.POST_PFBID
    assert post.hashtags == ["pemilu2024", "AwasiPemilu"]
    assert (post.likes, post.comments, post.shares) == (None, None, None)


def test_story_from_a_graphql_response_when_the_page_has_none() -> None:
    shell = pages.facebook_page("Facebook", {}, "")
    answer = "\n".join(json.dumps(part) for part in (
        {"data": {"node": pages.ALBUM_STORY}, "extensions": {"is_final": False}},
        {"label": "CometFeedStoryUFI$defer", "data": {}, "extensions": {"is_final": True}},
    ))
    exchanges = page(pages.ALBUM_URL, shell) + [Exchange(
        "https://www.facebook.com/api/graphql/", 200,
        {"content-type": "application/json; charset=utf-8"}, answer.encode(), "POST")]
    outcome = ADAPTER.extract(pages.ALBUM_URL, exchanges)
    assert outcome.status == CAPTURED
    assert outcome.post is not None
    assert outcome.post.post_id == pages.ALBUM_ID
    assert outcome.post.source.startswith("JSON response /api/graphql/")
    assert len(outcome.post.media) == 3


@pytest.mark.parametrize(
    "words",
    ["This content isn't available at the moment", "This content isn’t available right now",
     "This page isn't available", "Konten ini tidak tersedia saat ini"],
)
def test_removal_pages_are_unavailable_even_with_a_login_form(words: str) -> None:
    body = pages.facebook_page("Facebook", {}, f"<span>{words}</span><form id=\"login_form\">")
    outcome = ADAPTER.extract(POST, page(POST, body))
    assert outcome.status == UNAVAILABLE
    assert outcome.reason is not None
    assert outcome.reason.replace("’", "'") == words.replace("’", "'")


@pytest.mark.parametrize(
    ("url", "body", "status", "word"),
    [
        (POST, "<h2>You’re Temporarily Blocked</h2><p>It looks like you were misusing this "
               "feature by going too fast.</p>", 200, "rate limited"),
        (POST, "<p>ok</p>", 429, "429"),
        ("https://www.facebook.com/login/?next=https%3A%2F%2Fwww.facebook.com%2Fbawaslu.ri",
         '<form id="login_form" method="post"></form>', 200, "login"),
        ("https://www.facebook.com/checkpoint/1501092823525282/", "<p>Security check</p>", 200,
         "checkpoint"),
        (POST, '<form id="login_form"><button id="loginbutton">Log In</button></form>', 200,
         "login form"),
    ],
)
def test_walls_are_blocked_not_removed(url: str, body: str, status: int, word: str) -> None:
    outcome = ADAPTER.extract(url, page(url, pages.facebook_page("Facebook", {}, body), status))
    assert outcome.status == BLOCKED
    assert word in (outcome.reason or "").lower()


def test_a_page_without_data_or_signal_is_not_called_removed() -> None:
    body = pages.facebook_page("Facebook", {"og:site_name": "Facebook"}, "<div></div>")
    outcome = ADAPTER.extract(POST, page(POST, body))
    assert outcome == type(outcome)(CAPTURED, None, "no post data found in the page")


def test_data_sjs_json_is_parsed_not_evaluated() -> None:
    # A blob that is JavaScript rather than JSON must be skipped, never run.
    hostile = ('<script type="application/json" data-sjs>{"post_id": __import__("os")'
               '.system("false"), "message": {"text": "x"}}</script>')
    outcome = ADAPTER.extract(POST, page(POST, pages.facebook_page("Facebook", {}, "", hostile)))
    assert outcome.post is None
    assert re.search("no post data", outcome.reason or "")


def test_removal_words_inside_script_data_are_no_signal() -> None:
    # Facebook ships translation strings in script data; only what the page shows counts.
    strings = ('<script type="application/json" data-sjs>{"require":[["FbtStrings",[],'
               '{"t":"This content isn\'t available right now"}]]}</script>')
    outcome = ADAPTER.extract(POST, page(POST, pages.facebook_page("Facebook", {}, "", strings)))
    assert outcome.status == CAPTURED
    assert outcome.post is None


@pytest.mark.parametrize("name", ["post", "images", "video"])
def test_a_page_cut_anywhere_never_raises(name: str) -> None:
    final_url, exchanges = recorded(pages, pages.CASES[name])
    body = exchanges[-1].body
    for cut in range(0, len(body), max(1, len(body) // 40)):
        outcome = ADAPTER.extract(final_url, page(final_url, body[:cut].decode(errors="ignore")))
        assert outcome.status == CAPTURED, (cut, outcome.reason)  # never taken for a removal
