"""TikTok adapter: which links are TikTok posts, their canonical form, and the post read
from recorded pages (fixture pages built like TikTok's own)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from crawlers.platforms.base import BLOCKED, CAPTURED, UNAVAILABLE, Exchange
from crawlers.platforms.tiktok import ADAPTER
from tests.fixtures.platform_pages import tiktok as pages
from tests.platform_helpers import (
    assert_media_served,
    assert_outcome,
    assert_recognised,
    html_exchange,
    recorded,
)

POST = pages.POST_ID


# -- recognise ------------------------------------------------------------------------------

RECOGNISED = [
    # (url as pasted, kind, canonical url, post id)
    (f"https://www.tiktok.com/@pantau.tps07/video/{POST}", "post",
     f"https://www.tiktok.com/@pantau.tps07/video/{POST}", POST),
    (f"http://tiktok.com/@pantau.tps07/video/{POST}/", "post",
     f"https://www.tiktok.com/@pantau.tps07/video/{POST}", POST),
    (f"https://m.tiktok.com/@pantau.tps07/video/{POST}?is_from_webapp=1&sender_device=pc",
     "post", f"https://www.tiktok.com/@pantau.tps07/video/{POST}", POST),
    (f"HTTPS://WWW.TIKTOK.COM/@pantau.tps07/video/{POST}#comments", "post",
     f"https://www.tiktok.com/@pantau.tps07/video/{POST}", POST),
    (f"https://www.tiktok.com/@pantau.tps07/video/{POST}/comments?lang=id", "post",
     f"https://www.tiktok.com/@pantau.tps07/video/{POST}?lang=id", POST),
    (f"https://www.tiktok.com/@infopemilu.id/photo/{pages.PHOTO_ID}?_r=1&_t=8jZ3kQ2xYpL",
     "post", f"https://www.tiktok.com/@infopemilu.id/photo/{pages.PHOTO_ID}", pages.PHOTO_ID),
    (f"https://m.tiktok.com/v/{POST}.html", "post", f"https://www.tiktok.com/@/video/{POST}",
     POST),
    (f"https://www.tiktok.com/embed/v2/{POST}", "post",
     f"https://www.tiktok.com/@/video/{POST}", POST),
    (f"https://www.tiktok.com/embed/{POST}?lang=id", "post",
     f"https://www.tiktok.com/@/video/{POST}?lang=id", POST),
    (f"https://www.tiktokv.com/share/video/{POST}/", "post",
     f"https://www.tiktok.com/@/video/{POST}", POST),
    (f"https://www.tiktok.com/@/video/{POST}", "post", f"https://www.tiktok.com/@/video/{POST}",
     POST),
    ("https://vt.tiktok.com/ZSe4FqkKd/", "short", "https://vt.tiktok.com/ZSe4FqkKd/", None),
    ("http://vm.tiktok.com/ZMhvqKx3E", "short", "https://vm.tiktok.com/ZMhvqKx3E/", None),
    ("https://vm.tiktok.com/ZMhvqKx3E/?_r=1", "short", "https://vm.tiktok.com/ZMhvqKx3E/",
     None),
    ("https://www.tiktok.com/t/ZTRC5xgJp/", "short", "https://www.tiktok.com/t/ZTRC5xgJp/",
     None),
    ("https://tiktok.com/t/ZTRC5xgJp", "short", "https://www.tiktok.com/t/ZTRC5xgJp/", None),
    ("https://www.tiktok.com/@bawaslu_ri?lang=id", "profile",
     "https://www.tiktok.com/@bawaslu_ri?lang=id", None),
    ("https://m.tiktok.com/@bawaslu_ri/", "profile", "https://www.tiktok.com/@bawaslu_ri", None),
    ("https://www.tiktok.com/tag/pemilu2024?is_from_webapp=1", "hashtag",
     "https://www.tiktok.com/tag/pemilu2024", None),
    ("https://www.tiktok.com/music/suara-asli-7334659211123456789", "page",
     "https://www.tiktok.com/music/suara-asli-7334659211123456789", None),
]


@pytest.mark.parametrize(("url", "kind", "canonical", "post_id"), RECOGNISED)
def test_recognises_real_link_forms(url: str, kind: str, canonical: str,
                                    post_id: str | None) -> None:
    found = assert_recognised(ADAPTER, url, kind=kind, canonical_url=canonical, post_id=post_id)
    assert found.is_short_link == (kind == "short")


@pytest.mark.parametrize("canonical", sorted({c for _, _, c, _ in RECOGNISED}))
def test_canonical_form_is_stable(canonical: str) -> None:
    assert_recognised(ADAPTER, canonical, canonical_url=canonical, removed_params=())


@pytest.mark.parametrize("url", [
    f"https://www.tiktok.com.evil.example/@u/video/{POST}",
    f"https://nottiktok.com/@u/video/{POST}",
    f"https://tiktok.example/@u/video/{POST}",
    f"https://www.douyin.com/video/{POST}",
    f"ftp://www.tiktok.com/@u/video/{POST}",
    f"www.tiktok.com/@u/video/{POST}",
    f"https://x.com/u/status/{POST}",
    "https://vm.tiktok.com/",
    "not a url",
])
def test_does_not_claim_other_links(url: str) -> None:
    assert ADAPTER.recognise(url) is None


def _example(pattern: str) -> str:
    return pattern.replace("*", "source")


@pytest.mark.parametrize("param", ADAPTER.tracking_params)
def test_every_documented_tracking_parameter_is_removed(param: str) -> None:
    name = _example(param)
    assert_recognised(ADAPTER, f"https://www.tiktok.com/@u/video/{POST}?{name}=abc&lang=id",
                      canonical_url=f"https://www.tiktok.com/@u/video/{POST}?lang=id",
                      removed_params=(name,))


def test_share_link_parameters_all_go_and_content_parameters_stay() -> None:
    url = (f"https://www.tiktok.com/@u/video/{POST}?q=pemilu&u_code=e1b2&preview_pb=0"
           "&language=id&_d=e5k&share_item_id=733&source=h5_m&timestamp=1707733500"
           "&user_id=6802&sec_user_id=MS4w&utm_source=copy&utm_campaign=client_share"
           "&utm_medium=android&share_iid=7334&share_link_id=9c1e&share_app_id=1233"
           "&ugbiz_name=Main&ug_btm=b8727%2Cb0&social_share_type=0&enable_checksum=1")
    found = ADAPTER.recognise(url)
    assert found is not None
    assert found.canonical_url == f"https://www.tiktok.com/@u/video/{POST}?q=pemilu&language=id"
    assert "utm_source" in found.removed_params and "share_item_id" in found.removed_params
    assert "q" not in found.removed_params and "language" not in found.removed_params


# -- extract: the fixture cases ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(pages.CASES))
def test_extract_gives_each_case_its_outcome(name: str) -> None:
    case = pages.CASES[name]
    assert_outcome(ADAPTER.extract(*recorded(pages, case)), case)


def test_short_link_leads_to_the_same_post() -> None:
    case = pages.CASES["short"]
    page_url, exchanges = recorded(pages, case)
    assert page_url == case.resolves_to
    assert ADAPTER.recognise(case.url).is_short_link
    assert ADAPTER.recognise(page_url).post_id == pages.POST_ID
    assert ADAPTER.extract(page_url, exchanges).post.url == pages.POST_URL


def test_video_post_media_and_time() -> None:
    page_url, exchanges = recorded(pages, pages.CASES["post"])
    post = ADAPTER.extract(page_url, exchanges).post
    assert [(m.type, m.url, m.width, m.height, m.duration_s) for m in post.media] == [
        ("video", pages.POST_VIDEO, 576, 1024, 34.0)]
    # TikTok ids carry their post time
    posted = datetime.fromisoformat(post.posted_at.replace("Z", "+00:00")).timestamp()
    assert int(post.post_id) >> 32 == posted


def test_photo_mode_lists_every_image_then_the_sound() -> None:
    page_url, exchanges = recorded(pages, pages.CASES["images"])
    post = ADAPTER.extract(page_url, exchanges).post
    images = [m for m in post.media if m.type == "image"]
    assert [m.url for m in images] == pages.PHOTO_IMAGES
    assert {(m.width, m.height) for m in images} == {(1080, 1440)}
    assert [m.url for m in post.media if m.type == "audio"] == [pages.PHOTO_MUSIC]


@pytest.mark.parametrize("name", ["post", "images", "video"])
def test_media_the_post_names_are_served_by_the_fixture_cdn(name: str) -> None:
    assert_media_served(pages, ADAPTER.extract(*recorded(pages, pages.CASES[name])).post)


# -- extract: damaged data and other signals --------------------------------------------------


def _post_page_with(data_json: str) -> bytes:
    page = pages.ROUTES[("www.tiktok.com", f"/@pantau.tps07/video/{POST}")].body.decode()
    start = page.index('type="application/json">') + len('type="application/json">')
    end = page.index("</script>", start)
    return (page[:start] + data_json + page[end:]).encode()


def test_truncated_rehydration_json_falls_back_to_opengraph() -> None:
    full = pages.rehydration_json({"webapp.video-detail": {"itemInfo": {
        "itemStruct": pages.POST_ITEM}, "statusCode": 0}})
    body = _post_page_with(full[: len(full) // 2])
    outcome = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, body)])
    assert outcome.status == CAPTURED
    assert outcome.post.source == "opengraph"
    assert outcome.post.post_id == POST and outcome.post.url == pages.POST_URL
    assert outcome.post.caption == pages.POST_CAPTION
    assert outcome.post.hashtags == ["pemilu2024", "TolakPolitikUang", "awasipemilu"]
    assert outcome.post.likes is None  # not guessed


def test_page_cut_inside_the_data_script_does_not_raise() -> None:
    body = pages.ROUTES[("www.tiktok.com", f"/@pantau.tps07/video/{POST}")].body
    cut = body[: body.index(b"__UNIVERSAL_DATA_FOR_REHYDRATION__") + 400]
    outcome = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, cut)])
    assert outcome.status == CAPTURED
    assert outcome.post is not None and outcome.post.source == "opengraph"


def test_counts_not_given_stay_unknown() -> None:
    item = {k: v for k, v in pages.POST_ITEM.items() if k not in ("stats", "statsV2")}
    body = pages.universal_page("t", {"itemInfo": {"itemStruct": item}, "statusCode": 0})
    post = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, body)]).post
    assert (post.views, post.likes, post.comments, post.shares) == (None, None, None, None)


def test_hashtags_come_from_the_caption_without_structured_data() -> None:
    item = {k: v for k, v in pages.POST_ITEM.items() if k not in ("textExtra", "challenges")}
    body = pages.universal_page("t", {"itemInfo": {"itemStruct": item}, "statusCode": 0})
    post = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, body)]).post
    assert post.hashtags == ["pemilu2024", "TolakPolitikUang", "awasipemilu"]
    assert post.mentions == ["bawaslu_ri"]


def test_item_detail_answer_when_the_page_has_no_data() -> None:
    shell = pages.page("TikTok - Make Your Day", "")
    detail = json.dumps({"itemInfo": {"itemStruct": pages.POST_ITEM}, "statusCode": 0})
    api = Exchange(f"https://www.tiktok.com/api/item/detail/?aid=1988&itemId={POST}", 200,
                   {"content-type": "application/json"}, detail.encode())
    post = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, shell), api]).post
    assert (post.post_id, post.likes, post.source) == (POST, 15234, "api/item/detail")


def test_unknown_status_code_is_not_called_a_removal() -> None:
    body = pages.universal_page("t", {"statusCode": 10101, "statusMsg": "server busy"})
    outcome = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, body)])
    assert outcome.status == CAPTURED and outcome.post is None
    assert "10101" in outcome.reason and "no post data" in outcome.reason


def test_private_account_status() -> None:
    body = pages.universal_page("t", {"statusCode": 10222, "statusMsg": "author_secret"})
    outcome = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, body)])
    assert outcome.status == UNAVAILABLE and "private" in outcome.reason


def test_age_restricted_post_is_unavailable_with_what_was_shown() -> None:
    item = dict(pages.POST_ITEM, isContentClassified=True, video={"id": POST})
    body = pages.universal_page("t", {"itemInfo": {"itemStruct": item}, "statusCode": 0})
    outcome = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, body)])
    assert outcome.status == UNAVAILABLE and "Age-restricted" in outcome.reason
    assert outcome.post.caption == pages.POST_CAPTION


def test_rate_limit_is_blocked() -> None:
    outcome = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, "", 429)])
    assert outcome.status == BLOCKED and "429" in outcome.reason


def test_login_redirect_is_blocked() -> None:
    login = "https://www.tiktok.com/login?redirect_url=https%3A%2F%2Fwww.tiktok.com%2F"
    exchanges = [
        Exchange(pages.POST_URL, 302, {"location": login}, b""),
        html_exchange(login, "<html><title>Masuk | TikTok</title></html>"),
    ]
    outcome = ADAPTER.extract(login, exchanges)
    assert outcome.status == BLOCKED and "login" in outcome.reason


def test_bot_challenge_page_is_blocked() -> None:
    challenge = ('<html><head><title>Please wait...</title></head><body>'
                 '<p id="cs" class="eyJ2Ijp7ImEiOiJ"></p><p id="wci" class="_wafchallengeid">'
                 "</p><p>Please wait...</p></body></html>")
    outcome = ADAPTER.extract(pages.POST_URL, [html_exchange(pages.POST_URL, challenge)])
    assert outcome.status == BLOCKED


def test_nothing_recorded_is_no_claim() -> None:
    outcome = ADAPTER.extract(pages.POST_URL, [])
    assert (outcome.status, outcome.post) == (CAPTURED, None)
    assert outcome.reason == "no post data found in the page"


def test_post_json_is_plain_data() -> None:
    page_url, exchanges = recorded(pages, pages.CASES["images"])
    data = ADAPTER.extract(page_url, exchanges).post.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["platform"] == "tiktok" and data["media"][0]["type"] == "image"
