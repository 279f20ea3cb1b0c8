"""X adapter: which links are X posts, their canonical form, and the post read from the
recorded GraphQL answers (fixture pages and answers built like x.com's own)."""

from __future__ import annotations

import json

import pytest

from crawlers.platforms.base import BLOCKED, CAPTURED, UNAVAILABLE, Exchange
from crawlers.platforms.x import ADAPTER
from tests.fixtures.platform_pages import x as pages
from tests.platform_helpers import assert_media_served, assert_outcome, assert_recognised, recorded

POST = pages.POST_ID
API = "https://x.com/i/api/graphql/Xl5pEbN4QkCd6vW2M1nKjA"


def shell() -> Exchange:
    body = pages.ROUTES[("x.com", f"/bawaslu_ri/status/{POST}")].body
    return Exchange(pages.POST_URL, 200, {"content-type": "text/html; charset=utf-8"}, body)


def answer(operation: str, data: object, status: int = 200) -> Exchange:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return Exchange(f"{API}/{operation}?variables=%7B%22tweetId%22%3A%22{POST}%22%7D", status,
                    {"content-type": "application/json"}, body)


# -- recognise ------------------------------------------------------------------------------

RECOGNISED = [
    (f"https://x.com/bawaslu_ri/status/{POST}", "post",
     f"https://x.com/bawaslu_ri/status/{POST}", POST),
    (f"https://twitter.com/bawaslu_ri/status/{POST}?s=20&t=Jk8mQz3vX1bW5nR7", "post",
     f"https://x.com/bawaslu_ri/status/{POST}", POST),
    (f"http://www.twitter.com/bawaslu_ri/status/{POST}/", "post",
     f"https://x.com/bawaslu_ri/status/{POST}", POST),
    (f"https://mobile.twitter.com/bawaslu_ri/status/{POST}?ref_src=twsrc%5Etfw", "post",
     f"https://x.com/bawaslu_ri/status/{POST}", POST),
    (f"https://m.twitter.com/bawaslu_ri/statuses/{POST}", "post",
     f"https://x.com/bawaslu_ri/status/{POST}", POST),
    (f"https://www.x.com/Bawaslu_RI/status/{POST}/photo/1", "post",
     f"https://x.com/Bawaslu_RI/status/{POST}", POST),
    (f"https://x.com/bawaslu_ri/status/{POST}/video/1?lang=id", "post",
     f"https://x.com/bawaslu_ri/status/{POST}?lang=id", POST),
    (f"https://x.com/bawaslu_ri/status/{POST}/analytics", "post",
     f"https://x.com/bawaslu_ri/status/{POST}", POST),
    (f"https://twitter.com/i/web/status/{POST}", "post", f"https://x.com/i/web/status/{POST}",
     POST),
    (f"https://x.com/i/status/{POST}", "post", f"https://x.com/i/web/status/{POST}", POST),
    (f"https://twitter.com/statuses/{POST}", "post", f"https://x.com/i/web/status/{POST}", POST),
    ("https://t.co/Zq7Rk2PxVb", "short", "https://t.co/Zq7Rk2PxVb", None),
    ("http://t.co/Zq7Rk2PxVb/", "short", "https://t.co/Zq7Rk2PxVb", None),
    ("https://x.com/hashtag/pemilu2024?src=hashtag_click", "hashtag",
     "https://x.com/hashtag/pemilu2024", None),
    ("https://twitter.com/hashtag/Pemilu2024?f=live", "hashtag",
     "https://x.com/hashtag/Pemilu2024?f=live", None),
    ("https://twitter.com/bawaslu_ri", "profile", "https://x.com/bawaslu_ri", None),
    ("https://x.com/bawaslu_ri/?s=09", "profile", "https://x.com/bawaslu_ri", None),
    ("https://x.com/home", "page", "https://x.com/home", None),
    ("https://x.com/search?q=%23pemilu2024&src=typed_query", "page",
     "https://x.com/search?q=%23pemilu2024", None),
]


@pytest.mark.parametrize(("url", "kind", "canonical", "post_id"), RECOGNISED)
def test_recognises_real_link_forms(url: str, kind: str, canonical: str,
                                    post_id: str | None) -> None:
    assert_recognised(ADAPTER, url, kind=kind, canonical_url=canonical, post_id=post_id)


@pytest.mark.parametrize("canonical", sorted({c for _, _, c, _ in RECOGNISED}))
def test_canonical_form_is_stable(canonical: str) -> None:
    assert_recognised(ADAPTER, canonical, canonical_url=canonical, removed_params=())


@pytest.mark.parametrize("url", [
    f"https://fxtwitter.com/bawaslu_ri/status/{POST}",
    f"https://vxtwitter.com/bawaslu_ri/status/{POST}",
    f"https://fixupx.com/bawaslu_ri/status/{POST}",
    f"https://nitter.net/bawaslu_ri/status/{POST}",
    f"https://twitter.com.evil.example/bawaslu_ri/status/{POST}",
    f"https://notx.com/bawaslu_ri/status/{POST}",
    f"https://x.company/bawaslu_ri/status/{POST}",
    f"mailto:bawaslu_ri@x.com?subject={POST}",
    "https://t.co/",
])
def test_does_not_claim_other_links(url: str) -> None:
    assert ADAPTER.recognise(url) is None


@pytest.mark.parametrize("param", ADAPTER.tracking_params)
def test_every_documented_tracking_parameter_is_removed(param: str) -> None:
    name = param.replace("*", "source")
    assert_recognised(ADAPTER, f"https://x.com/bawaslu_ri/status/{POST}?{name}=20&lang=id",
                      canonical_url=f"https://x.com/bawaslu_ri/status/{POST}?lang=id",
                      removed_params=(name,))


# -- extract: the fixture cases ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(pages.CASES))
def test_extract_gives_each_case_its_outcome(name: str) -> None:
    case = pages.CASES[name]
    assert_outcome(ADAPTER.extract(*recorded(pages, case)), case)


def test_removed_reason_is_xs_own_sentence() -> None:
    page_url, exchanges = recorded(pages, pages.CASES["removed"])
    assert ADAPTER.extract(page_url, exchanges).reason == (
        "This Post was deleted by the Post author.")


def test_short_link_leads_to_the_same_post() -> None:
    case = pages.CASES["short"]
    page_url, exchanges = recorded(pages, case)
    assert page_url == case.resolves_to
    assert ADAPTER.recognise(page_url).canonical_url == pages.POST_URL


def test_photos_at_original_size() -> None:
    page_url, exchanges = recorded(pages, pages.CASES["images"])
    post = ADAPTER.extract(page_url, exchanges).post
    assert [m.url for m in post.media] == [
        f"{p['media_url_https']}?name=orig" for p in pages.IMAGES_PHOTOS]
    assert {(m.type, m.width, m.height) for m in post.media} == {("image", 1536, 2048)}


def test_video_is_the_best_mp4_rendition() -> None:
    page_url, exchanges = recorded(pages, pages.CASES["video"])
    post = ADAPTER.extract(page_url, exchanges).post
    assert [(m.type, m.url, m.width, m.height, m.duration_s) for m in post.media] == [
        ("video", pages.VIDEO_BEST, 720, 1280, 45.12)]


@pytest.mark.parametrize("name", ["post", "images", "video"])
def test_media_the_post_names_are_served_by_the_fixture_cdn(name: str) -> None:
    assert_media_served(pages, ADAPTER.extract(*recorded(pages, pages.CASES[name])).post)


def test_shell_fetches_the_answer_the_case_lists() -> None:
    for case in pages.CASES.values():
        page_url, exchanges = recorded(pages, case)
        page = next(e for e in exchanges if e.url == page_url)
        for _host, path in case.fetches:
            assert path.encode() in page.body


# -- extract: damaged data and other signals --------------------------------------------------


def test_answers_from_other_hosts_are_ignored() -> None:
    elsewhere = answer("TweetResultByRestId", pages.by_rest_id(pages.POST_TWEET))
    elsewhere = Exchange(elsewhere.url.replace("https://x.com/", "https://x.com.evil.example/"),
                         200, elsewhere.headers, elsewhere.body)
    assert ADAPTER.extract(pages.POST_URL, [shell(), elsewhere]).post is None


def test_answers_asked_for_another_post_are_not_this_one() -> None:
    other = pages.by_rest_id(pages.VIDEO_TWEET)
    asked = Exchange(f"{API}/TweetResultByRestId?variables=%7B%22tweetId%22%3A%22"
                     f"{pages.VIDEO_ID}%22%7D", 200, {"content-type": "application/json"}, other)
    assert ADAPTER.extract(pages.POST_URL, [shell(), asked]).post is None


def test_truncated_graphql_answer_does_not_raise_or_claim() -> None:
    whole = pages.by_rest_id(pages.POST_TWEET)
    outcome = ADAPTER.extract(pages.POST_URL, [shell(), answer("TweetResultByRestId",
                                                               whole[: len(whole) // 2])])
    assert (outcome.status, outcome.post) == (CAPTURED, None)
    assert "no post data" in outcome.reason


def test_shell_alone_is_no_claim() -> None:
    # the shell says "Something went wrong, but don't fret" in hidden markup: not a wall
    outcome = ADAPTER.extract(pages.POST_URL, [shell()])
    assert (outcome.status, outcome.post) == (CAPTURED, None)


def test_opengraph_fallback_when_no_answer_was_recorded() -> None:
    body = ('<html><head><meta property="og:description" content="Ayo awasi #pemilu2024 '
            'bersama @bawaslu_ri" /><meta property="og:image" '
            'content="https://pbs.twimg.com/media/GGSn2xWaIAAq3Zb.jpg" /></head></html>')
    page = Exchange(pages.POST_URL, 200, {"content-type": "text/html"}, body.encode())
    post = ADAPTER.extract(pages.POST_URL, [page]).post
    assert (post.post_id, post.source, post.hashtags, post.mentions) == (
        POST, "opengraph", ["pemilu2024"], ["bawaslu_ri"])


def test_empty_tweet_result_means_no_such_post() -> None:
    outcome = ADAPTER.extract(pages.POST_URL, [shell(), answer("TweetResultByRestId",
                                                               {"data": {"tweetResult": {}}})])
    assert outcome.status == UNAVAILABLE and "doesn't exist" in outcome.reason


@pytest.mark.parametrize(("errors", "status", "word"), [
    ([{"code": 88, "message": "Rate limit exceeded."}], BLOCKED, "rate limit"),
    ([{"code": 144, "message": "_Missing: No status found with that ID."}], UNAVAILABLE,
     "No status found"),
    ([{"code": 179, "message": "Sorry, you are not authorized to see this status."}],
     UNAVAILABLE, "not authorized"),
    ([{"code": 239, "message": "Bad guest token."}], BLOCKED, "guest token"),
])
def test_api_errors(errors: list[dict[str, object]], status: str, word: str) -> None:
    outcome = ADAPTER.extract(pages.POST_URL, [shell(), answer("TweetResultByRestId",
                                                               {"errors": errors})])
    assert outcome.status == status and word.lower() in outcome.reason.lower()


def test_tombstone_in_a_conversation() -> None:
    detail = {"data": {"threaded_conversation_with_injections_v2": {"instructions": [
        {"type": "TimelineAddEntries", "entries": [
            {"entryId": f"tweet-{POST}", "content": {"itemContent": {"tweet_results": {
                "result": {"__typename": "TweetTombstone", "tombstone": {"text": {
                    "text": "This Post is from a suspended account. Learn more"}}}}}}},
        ]}]}}}
    outcome = ADAPTER.extract(pages.POST_URL, [shell(), answer("TweetDetail", detail)])
    assert (outcome.status, outcome.reason) == (
        UNAVAILABLE, "This Post is from a suspended account.")


def test_answers_about_other_posts_are_not_taken_for_this_one() -> None:
    detail = json.loads(pages.ROUTES[("x.com", pages.IMAGES_FETCH[1])].body)
    outcome = ADAPTER.extract(pages.POST_URL, [shell(), answer("TweetDetail", detail)])
    assert outcome.post is None


def test_rendered_removal_page() -> None:
    dom = ('<html><body><div id="react-root"><span>Hmm...this page doesn’t exist. Try '
           "searching for something else.</span></div></body></html>")
    page = Exchange(pages.POST_URL, 200, {"content-type": "text/html"}, dom.encode())
    outcome = ADAPTER.extract(pages.POST_URL, [page])
    assert outcome.status == UNAVAILABLE and "doesn’t exist" in outcome.reason


def test_rendered_error_without_data_is_blocked() -> None:
    dom = ('<html><body><div id="react-root"><span>Something went wrong. Try reloading.</span>'
           "<span>Retry</span></div></body></html>")
    page = Exchange(pages.POST_URL, 200, {"content-type": "text/html"}, dom.encode())
    assert ADAPTER.extract(pages.POST_URL, [page]).status == BLOCKED


def test_page_rate_limit_is_blocked() -> None:
    page = Exchange(pages.POST_URL, 429, {"content-type": "text/html"}, b"Rate limit exceeded")
    outcome = ADAPTER.extract(pages.POST_URL, [page])
    assert outcome.status == BLOCKED and "429" in outcome.reason


def test_counts_not_given_stay_unknown() -> None:
    tweet = json.loads(json.dumps(pages.POST_TWEET))
    del tweet["views"]
    for key in ("favorite_count", "retweet_count", "reply_count"):
        del tweet["legacy"][key]
    post = ADAPTER.extract(pages.POST_URL, [answer("TweetResultByRestId", {
        "data": {"tweetResult": {"result": tweet}}})]).post
    assert (post.views, post.likes, post.comments, post.shares) == (None, None, None, None)
