"""Instagram adapter: which links are Instagram posts, their canonical form, and the post
read from recorded pages and API answers (fixture pages built like Instagram's own)."""

from __future__ import annotations

import json

import pytest

from crawlers.platforms.base import BLOCKED, CAPTURED, UNAVAILABLE, Exchange
from crawlers.platforms.instagram import ADAPTER
from tests.fixtures.platform_pages import instagram as pages
from tests.platform_helpers import (
    assert_media_served,
    assert_outcome,
    assert_recognised,
    html_exchange,
    recorded,
)

CODE = pages.POST_CODE


# -- recognise ------------------------------------------------------------------------------

RECOGNISED = [
    (f"https://www.instagram.com/p/{CODE}/", "post", f"https://www.instagram.com/p/{CODE}/",
     CODE),
    (f"http://instagram.com/p/{CODE}", "post", f"https://www.instagram.com/p/{CODE}/", CODE),
    (f"https://m.instagram.com/p/{CODE}/?igsh=MTc4MmM1YmI2Ng==", "post",
     f"https://www.instagram.com/p/{CODE}/", CODE),
    (f"https://www.instagram.com/bawaslu_ri/p/{CODE}/?utm_source=ig_web_copy_link", "post",
     f"https://www.instagram.com/p/{CODE}/", CODE),
    (f"https://www.instagram.com/p/{CODE}/?img_index=2", "post",
     f"https://www.instagram.com/p/{CODE}/?img_index=2", CODE),
    (f"https://www.instagram.com/p/{CODE}/embed/captioned/", "post",
     f"https://www.instagram.com/p/{CODE}/", CODE),
    (f"https://instagr.am/p/{CODE}/", "post", f"https://www.instagram.com/p/{CODE}/", CODE),
    (f"https://www.instagram.com/tv/{CODE}/", "post", f"https://www.instagram.com/p/{CODE}/",
     CODE),
    (f"https://www.instagram.com/reel/{pages.REEL_CODE}/?igshid=NTc4MTIwNjQ2YQ==", "post",
     f"https://www.instagram.com/reel/{pages.REEL_CODE}/", pages.REEL_CODE),
    (f"https://www.instagram.com/reels/{pages.REEL_CODE}", "post",
     f"https://www.instagram.com/reel/{pages.REEL_CODE}/", pages.REEL_CODE),
    (f"https://www.instagram.com/cekfakta.id/reel/{pages.REEL_CODE}/", "post",
     f"https://www.instagram.com/reel/{pages.REEL_CODE}/", pages.REEL_CODE),
    ("https://www.instagram.com/share/p/BAGxK2mPqR/", "short",
     "https://www.instagram.com/share/p/BAGxK2mPqR/", None),
    ("https://instagram.com/share/reel/BAKq9Lm3Xz", "short",
     "https://www.instagram.com/share/reel/BAKq9Lm3Xz/", None),
    ("https://www.instagram.com/bawaslu_ri/?hl=id", "profile",
     "https://www.instagram.com/bawaslu_ri/?hl=id", None),
    ("https://instagram.com/bawaslu_ri", "profile", "https://www.instagram.com/bawaslu_ri/",
     None),
    ("https://www.instagram.com/explore/tags/pemilu2024/?igsh=abc", "hashtag",
     "https://www.instagram.com/explore/tags/pemilu2024/", None),
    ("https://www.instagram.com/reels/audio/1093847561203948/", "page",
     "https://www.instagram.com/reels/audio/1093847561203948/", None),
    ("https://www.instagram.com/stories/bawaslu_ri/3305434772207352956/", "page",
     "https://www.instagram.com/stories/bawaslu_ri/3305434772207352956/", None),
    ("https://www.instagram.com/accounts/login/", "page",
     "https://www.instagram.com/accounts/login/", None),
]


@pytest.mark.parametrize(("url", "kind", "canonical", "post_id"), RECOGNISED)
def test_recognises_real_link_forms(url: str, kind: str, canonical: str,
                                    post_id: str | None) -> None:
    assert_recognised(ADAPTER, url, kind=kind, canonical_url=canonical, post_id=post_id)


@pytest.mark.parametrize("canonical", sorted({c for _, _, c, _ in RECOGNISED}))
def test_canonical_form_is_stable(canonical: str) -> None:
    assert_recognised(ADAPTER, canonical, canonical_url=canonical, removed_params=())


@pytest.mark.parametrize("url", [
    f"https://www.instagram.com.evil.example/p/{CODE}/",
    f"https://instagram.example/p/{CODE}/",
    f"https://www.threads.net/@bawaslu_ri/post/{CODE}",
    f"https://www.facebook.com/bawaslu.ri/posts/{CODE}",
    f"https://ddinstagram.com/p/{CODE}/",
    f"javascript:alert('/p/{CODE}/')",
])
def test_does_not_claim_other_links(url: str) -> None:
    assert ADAPTER.recognise(url) is None


@pytest.mark.parametrize("param", ADAPTER.tracking_params)
def test_every_documented_tracking_parameter_is_removed(param: str) -> None:
    name = param.replace("*", "source")
    assert_recognised(ADAPTER, f"https://www.instagram.com/p/{CODE}/?{name}=x1&img_index=3",
                      canonical_url=f"https://www.instagram.com/p/{CODE}/?img_index=3",
                      removed_params=(name,))


# -- extract: the fixture cases ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(pages.CASES))
def test_extract_gives_each_case_its_outcome(name: str) -> None:
    case = pages.CASES[name]
    assert_outcome(ADAPTER.extract(*recorded(pages, case)), case)


def test_removed_reason_is_instagrams_own_words() -> None:
    page_url, exchanges = recorded(pages, pages.CASES["removed"])
    assert ADAPTER.extract(page_url, exchanges).reason == (
        "Sorry, this page isn't available. The link you followed may be broken, or the page "
        "may have been removed.")


def test_short_link_leads_to_the_same_post() -> None:
    case = pages.CASES["short"]
    page_url, exchanges = recorded(pages, case)
    assert page_url == case.resolves_to
    assert ADAPTER.recognise(case.url).is_short_link
    assert ADAPTER.recognise(page_url).canonical_url == pages.POST_URL


def test_carousel_lists_every_image_at_its_largest() -> None:
    page_url, exchanges = recorded(pages, pages.CASES["images"])
    post = ADAPTER.extract(page_url, exchanges).post
    assert [(m.type, m.url, m.width, m.height) for m in post.media] == [
        ("image", images[0]["url"], 1080, 1080) for images in pages.CAROUSEL_IMAGES]


def test_reel_video_with_duration() -> None:
    page_url, exchanges = recorded(pages, pages.CASES["video"])
    post = ADAPTER.extract(page_url, exchanges).post
    assert [(m.type, m.url, m.width, m.height, m.duration_s) for m in post.media] == [
        ("video", pages.REEL_VIDEO, 1080, 1920, 29.966)]


def test_reel_page_without_its_fetch_falls_back_to_meta_tags() -> None:
    page_url, exchanges = recorded(pages, pages.CASES["video"])
    outcome = ADAPTER.extract(page_url, [e for e in exchanges if "/api/graphql" not in e.url])
    assert outcome.status == CAPTURED and outcome.post is not None
    assert outcome.post.source == "opengraph"  # the page's own meta tags, no counts
    assert outcome.post.likes is None


@pytest.mark.parametrize("name", ["post", "images", "video"])
def test_media_the_post_names_are_served_by_the_fixture_cdn(name: str) -> None:
    assert_media_served(pages, ADAPTER.extract(*recorded(pages, pages.CASES[name])).post)


# -- extract: damaged data and other signals --------------------------------------------------


def _post_page() -> str:
    return pages.ROUTES[("www.instagram.com", f"/p/{CODE}/")].body.decode()


def test_truncated_data_script_falls_back_to_opengraph() -> None:
    page = _post_page()
    start = page.index("xdt_api__v1__media__shortcode__web_info")
    end = page.index("</script>", start)
    damaged = page[:start + 200] + page[end:]
    outcome = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, damaged)])
    assert outcome.status == CAPTURED
    post = outcome.post
    assert (post.source, post.post_id, post.author_handle) == ("opengraph", CODE, "bawaslu_ri")
    assert (post.likes, post.comments) == (8741, 312)
    assert post.caption == pages.POST_CAPTION
    assert post.hashtags == ["Pemilu2024", "AwasiPemilu", "BawasluRI"]


def test_page_cut_inside_the_data_script_does_not_raise() -> None:
    page = _post_page()
    cut = page[: page.index("xdt_api__v1__media__shortcode__web_info") + 50]
    outcome = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, cut)])
    assert outcome.status == CAPTURED and outcome.post.source == "opengraph"


def test_media_info_api_answer() -> None:
    info = {"items": [pages.POST_ITEM], "num_results": 1, "more_available": False,
            "status": "ok"}
    api = Exchange(f"https://www.instagram.com/api/v1/media/{pages.POST_PK}/info/", 200,
                   {"content-type": "application/json"}, json.dumps(info).encode())
    page = html_exchange(pages.POST_URL, "<html><title>Instagram</title></html>")
    post = ADAPTER.extract(pages.POST_URL, [page, api]).post
    assert (post.post_id, post.likes, post.source) == (CODE, 8741, "api/v1/media/info")


def test_polaris_media_record() -> None:
    blob = {"data": {"xig_polaris_media": {"if_not_gated_logged_out": pages.POST_ITEM}}}
    answer = Exchange("https://www.instagram.com/api/graphql", 200,
                      {"content-type": "text/javascript"},
                      b"for (;;);" + json.dumps(blob).encode())
    post = ADAPTER.extract(pages.POST_URL, [answer]).post
    assert (post.post_id, post.author_handle, post.source) == (
        CODE, "bawaslu_ri", "xig_polaris_media")


def test_graphql_sidecar_lists_every_child() -> None:
    node = {"shortcode": CODE, "__typename": "GraphSidecar", "taken_at_timestamp": 1708121150,
            "owner": {"id": "1432598106", "username": "bawaslu_ri"},
            "edge_media_to_caption": {"edges": [{"node": {"text": "Lapor! #pemilu2024"}}]},
            "edge_sidecar_to_children": {"edges": [
                {"node": {"is_video": False, "display_url": "https://cdn.example/1.jpg",
                          "dimensions": {"width": 1080, "height": 1350}}},
                {"node": {"is_video": True, "video_url": "https://cdn.example/2.mp4",
                          "display_url": "https://cdn.example/2.jpg",
                          "dimensions": {"width": 720, "height": 1280}}}]}}
    answer = Exchange("https://www.instagram.com/graphql/query/?query_hash=2b0673e0", 200,
                      {"content-type": "application/json"},
                      json.dumps({"data": {"shortcode_media": node}}).encode())
    post = ADAPTER.extract(pages.POST_URL, [answer]).post
    assert [(m.type, m.url) for m in post.media] == [
        ("image", "https://cdn.example/1.jpg"), ("video", "https://cdn.example/2.mp4")]
    assert (post.posted_at, post.hashtags, post.likes) == (
        "2024-02-16T22:05:50Z", ["pemilu2024"], None)


def test_rate_limit_is_blocked() -> None:
    outcome = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, "", 429)])
    assert outcome.status == BLOCKED and "429" in outcome.reason


def test_please_wait_page_is_blocked() -> None:
    body = ("<html><body><h2>Please wait a few minutes before you try again.</h2>"
            "</body></html>")
    outcome = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, body)])
    assert outcome.status == BLOCKED


def test_challenge_page_is_blocked() -> None:
    url = "https://www.instagram.com/challenge/?next=/p/C3bKx7LyQ2n/"
    outcome = ADAPTER.extract(url, [html_exchange(url, "<html></html>")])
    assert outcome.status == BLOCKED


def test_login_form_served_at_the_post_url_is_blocked() -> None:
    body = pages.ROUTES[("www.instagram.com", "/accounts/login/")].body
    outcome = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, body)])
    assert outcome.status == BLOCKED and "login" in outcome.reason


def test_private_account() -> None:
    body = "<html><body><h2>This account is private</h2><div>Follow to see their photos."
    outcome = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, body)])
    assert outcome.status == UNAVAILABLE and "private" in outcome.reason


def test_plain_404_without_instagrams_words_is_no_claim() -> None:
    outcome = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, "<html></html>",
                                                             404)])
    assert (outcome.status, outcome.post) == (CAPTURED, None)
    assert "404" in outcome.reason
