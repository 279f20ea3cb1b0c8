"""YouTube adapter: URL forms, canonical URLs, playability, and posts from recorded pages."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from crawlers.platforms.base import BLOCKED, CAPTURED, UNAVAILABLE, Exchange
from crawlers.platforms.youtube import ADAPTER, TRACKING_PARAMS, VIEW_PARAMS
from tests.fixtures.platform_pages import youtube as pages
from tests.platform_helpers import assert_outcome, assert_recognised, listed, recorded

ID = pages.POST_ID
WATCH = f"https://www.youtube.com/watch?v={ID}"


def page(url: str, body: str, status: int = 200) -> list[Exchange]:
    return [Exchange(url, status, {"content-type": "text/html; charset=utf-8"}, body.encode())]


# --- recognise ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "post_id", "removed"),
    [
        (WATCH, ID, ()),
        (f"http://youtube.com/watch?v={ID}&feature=youtu.be", ID, ("feature",)),
        (f"https://m.youtube.com/watch?v={ID}&list=PLx9Kq3&index=2", ID, ("list", "index")),
        (f"https://music.youtube.com/watch?v={ID}&si=Hn2kV8xL", ID, ("si",)),
        (f"https://www.youtube.com/watch?app=desktop&v={ID}", ID, ("app",)),
        (f"https://www.youtube.com/watch/?v={ID}#comments", ID, ()),
        ("https://www.youtube.com/shorts/Sh0rTpMl24a?feature=share", "Sh0rTpMl24a",
         ("feature",)),
        ("https://youtube.com/shorts/Sh0rTpMl24a/", "Sh0rTpMl24a", ()),
        ("https://m.youtube.com/shorts/Sh0rTpMl24a?si=aB3", "Sh0rTpMl24a", ("si",)),
        ("https://www.youtube.com/live/Rm0vEdVid01?si=x1&t=120", "Rm0vEdVid01", ("si", "t")),
        (f"https://www.youtube.com/embed/{ID}?start=30&autoplay=1", ID, ("start", "autoplay")),
        (f"https://www.youtube-nocookie.com/embed/{ID}?rel=0", ID, ("rel",)),
        (f"https://www.youtube.com/v/{ID}", ID, ()),
        (f"https://youtu.be/{ID}?si=Hn2kV8xLq0pZ3wYb&t=42", ID, ("si", "t")),
        (f"http://www.youtu.be/{ID}/", ID, ()),
    ],
)
def test_every_video_form_gets_the_watch_url(
    url: str, post_id: str, removed: tuple[str, ...]
) -> None:
    # kind "post", not "short": youtu.be carries the id, there is nothing to resolve
    assert_recognised(ADAPTER, url, kind="post",
                      canonical_url=f"https://www.youtube.com/watch?v={post_id}",
                      post_id=post_id, removed_params=removed)


@pytest.mark.parametrize(
    ("url", "kind", "canonical"),
    [
        (f"https://www.youtube.com/post/{pages.COMMUNITY_ID}?si=aBcD", "post",
         f"https://www.youtube.com/post/{pages.COMMUNITY_ID}"),
        ("https://www.youtube.com/@bawaslu_ri/videos", "profile",
         "https://www.youtube.com/@bawaslu_ri"),
        ("https://m.youtube.com/@bawaslu_ri?si=Zz9&view=0", "profile",
         "https://www.youtube.com/@bawaslu_ri?view=0"),
        (f"https://www.youtube.com/channel/{pages.CHANNEL_ID}/featured", "profile",
         f"https://www.youtube.com/channel/{pages.CHANNEL_ID}"),
        ("https://www.youtube.com/c/BawasluRI", "profile", "https://www.youtube.com/c/BawasluRI"),
        ("https://www.youtube.com/results?search_query=pemilu+2024&si=x", "page",
         "https://www.youtube.com/results?search_query=pemilu+2024"),
    ],
)
def test_posts_channels_and_other_pages(url: str, kind: str, canonical: str) -> None:
    assert_recognised(ADAPTER, url, kind=kind, canonical_url=canonical)


@pytest.mark.parametrize(
    "url",
    [
        "https://youtu.be/",
        "https://youtu.be/tooshort",
        f"https://notyoutube.com/watch?v={ID}",
        f"https://youtube.com.evil.example/watch?v={ID}",
        "https://www.facebook.com/watch/?v=1456789012345678",
        f"ftp://www.youtube.com/watch?v={ID}",
        "https://[::1",
    ],
)
def test_does_not_claim_other_urls(url: str) -> None:
    assert ADAPTER.recognise(url) is None


def test_a_watch_page_without_a_valid_id_is_only_a_page() -> None:
    recognised = ADAPTER.recognise("https://www.youtube.com/watch?v=short")
    assert recognised is not None
    assert (recognised.kind, recognised.post_id) == ("page", None)


@pytest.mark.parametrize(
    "param", ["si", "feature", "pp", "ab_channel", "app", "embeds_referring_euri",
              "embeds_referring_origin", "utm_source", "fbclid"],
)
def test_tracking_parameter_is_removed(param: str) -> None:
    assert_recognised(ADAPTER, f"{WATCH}&{param}=Xy12", canonical_url=WATCH,
                      removed_params=(param,))
    assert listed(param, TRACKING_PARAMS)


def test_start_time_and_playlist_are_view_parameters_not_the_video() -> None:
    assert {"t", "list"} <= set(VIEW_PARAMS)
    assert not {"t", "list", "v"} & set(TRACKING_PARAMS)
    assert_recognised(ADAPTER, f"{WATCH}&t=1m30s&list=PLx9Kq3", canonical_url=WATCH,
                      removed_params=("t", "list"))


# --- extract: the fixture cases --------------------------------------------------------------


@pytest.mark.parametrize("name", list(pages.CASES))
def test_extract_fixture_case(name: str) -> None:
    case = pages.CASES[name]
    assert_outcome(ADAPTER.extract(*recorded(pages, case)), case)



def test_watch_page_media_are_the_direct_stream_and_the_largest_thumbnail() -> None:
    final_url, exchanges = recorded(pages, pages.CASES["post"])
    post = ADAPTER.extract(final_url, exchanges).post
    assert post is not None
    video, thumbnail = post.media  # the signatureCipher stream has no usable URL
    assert (video.type, video.width, video.height) == ("video", 640, 360)
    assert urlsplit(video.url).hostname == pages.CDN_1
    assert video.duration_s == pytest.approx(312.021)
    assert (thumbnail.type, thumbnail.width) == ("image", 1280)
    assert thumbnail.url.endswith(f"/vi/{ID}/maxresdefault.jpg")


def test_community_post_lists_every_image_at_full_size() -> None:
    case = pages.CASES["images"]
    final_url, exchanges = recorded(pages, case)
    post = ADAPTER.extract(final_url, exchanges).post
    assert post is not None
    assert [urlsplit(m.url).path for m in post.media] == pages.COMMUNITY_IMAGES
    assert {(m.type, m.width, m.height) for m in post.media} == {("image", 1080, 1080)}


def test_removed_and_blocked_outcomes_carry_no_post() -> None:
    for name in ("removed", "private", "login", "consent"):
        case = pages.CASES[name]
        outcome = ADAPTER.extract(*recorded(pages, case))
        assert outcome.post is None, name


# --- playability: removed versus blocked -------------------------------------------------------


def status_page(status: dict[str, Any], details: bool = False) -> list[Exchange]:
    player = pages.player_response(ID, "Judul", "Deskripsi", status=status, details=details)
    return page(WATCH, pages.watch_page("YouTube", None, player, {}))


@pytest.mark.parametrize(
    ("status", "expected", "word"),
    [
        (pages.error_status("ERROR", "Video unavailable"), UNAVAILABLE, "Video unavailable"),
        (pages.error_status("ERROR", "Video ini telah dihapus oleh pengupload"), UNAVAILABLE,
         "dihapus"),
        (pages.error_status("UNPLAYABLE", "Video unavailable", "The uploader has not made "
                            "this video available in your country"), UNAVAILABLE, "country"),
        (pages.error_status("ERROR", "This video has been removed for violating YouTube's "
                            "Terms of Service"), UNAVAILABLE, "Terms of Service"),
        (pages.error_status("LOGIN_REQUIRED", "This video is private"), UNAVAILABLE, "private"),
        (pages.error_status("LOGIN_REQUIRED", "Video pribadi"), UNAVAILABLE, "pribadi"),
        (pages.error_status("AGE_CHECK_REQUIRED", "This video is age-restricted"), UNAVAILABLE,
         "age-restricted"),
        (pages.error_status("LOGIN_REQUIRED", "Sign in to confirm you’re not a bot"), BLOCKED,
         "not a bot"),
        (pages.error_status("LOGIN_REQUIRED", "Login untuk mengonfirmasi bahwa Anda bukan bot"),
         BLOCKED, "bukan bot"),
        (pages.error_status("LOGIN_REQUIRED", "Sign in"), BLOCKED, "login required"),
        (pages.error_status("UNPLAYABLE", "Playback on other websites has been disabled by the "
                            "video owner"), BLOCKED, "other websites"),
        (pages.error_status("CONTENT_CHECK_REQUIRED", "The following content may contain "
                            "suicide or self-harm topics."), BLOCKED, "content warning"),
    ],
)
def test_playability_status_decides_removed_or_blocked(
    status: dict[str, Any], expected: str, word: str
) -> None:
    outcome = ADAPTER.extract(WATCH, status_page(status))
    assert outcome.status == expected
    assert word in (outcome.reason or "")


def test_google_unusual_traffic_page_is_blocked() -> None:
    sorry = "https://www.google.com/sorry/index?continue=https://www.youtube.com/watch%3Fv%3D"
    exchanges = [
        Exchange(WATCH, 302, {"location": sorry}, b""),
        *page(sorry, "<html><body><div id=recaptcha></div>Our systems have detected unusual "
                     "traffic from your computer network.</body></html>"),
    ]
    outcome = ADAPTER.extract(sorry, exchanges)
    assert outcome.status == BLOCKED
    assert "captcha" in (outcome.reason or "")


def test_rate_limit_is_blocked() -> None:
    outcome = ADAPTER.extract(WATCH, page(WATCH, "<html>Too Many Requests</html>", 429))
    assert outcome.status == BLOCKED and "429" in (outcome.reason or "")


# --- damaged data and other layouts ------------------------------------------------------------


def test_truncated_player_response_falls_back_to_opengraph() -> None:
    body = pages.ROUTES[("www.youtube.com", "/watch")].body.decode()
    cut = body.index('"videoDetails"')
    outcome = ADAPTER.extract(WATCH, page(WATCH, body[:cut]))
    assert outcome.status == CAPTURED
    post = outcome.post
    assert post is not None
    assert post.source == "opengraph"
    assert (post.post_id, post.url) == (ID, WATCH)
    assert post.caption is not None and post.caption.startswith(pages.POST_TITLE)
    assert post.views is None and post.likes is None


def test_damaged_initial_data_only_loses_the_counts_it_holds() -> None:
    body = pages.ROUTES[("www.youtube.com", "/watch")].body.decode()
    start = body.index("var ytInitialData = ") + len("var ytInitialData = ")
    damaged = body[:start] + body[start:start + 300] + "</script></body></html>"
    post = ADAPTER.extract(WATCH, page(WATCH, damaged)).post
    assert post is not None
    assert (post.likes, post.comments) == (None, None)
    assert (post.views, post.author_handle) == (48213, "bawaslu_ri")  # from the player


def test_english_like_label_and_abbreviated_comments() -> None:
    data = pages.watch_data(ID, "like this video along with 12,345 other people", "12K", "1.2K")
    body = pages.watch_page(pages.POST_TITLE, ID, pages.POST_PLAYER, data)
    post = ADAPTER.extract(WATCH, page(WATCH, body)).post
    assert post is not None
    assert (post.likes, post.comments) == (12345, 1200)


def test_player_and_next_responses_fetched_by_the_app_are_read() -> None:
    shell = pages.watch_page("YouTube", None, None, None)
    exchanges = page(WATCH, shell) + [
        Exchange("https://www.youtube.com/youtubei/v1/player?prettyPrint=false", 200,
                 {"content-type": "application/json; charset=UTF-8"},
                 json.dumps(pages.POST_PLAYER).encode(), "POST"),
        Exchange("https://www.youtube.com/youtubei/v1/next?prettyPrint=false", 200,
                 {"content-type": "application/json; charset=UTF-8"},
                 json.dumps(pages.POST_DATA).encode(), "POST"),
    ]
    post = ADAPTER.extract(WATCH, exchanges).post
    assert post is not None
    assert (post.post_id, post.views, post.likes, post.comments) == (ID, 48213, 1234, 312)


def test_a_page_without_data_or_signal_is_not_called_removed() -> None:
    outcome = ADAPTER.extract(WATCH, page(WATCH, "<html><body>YouTube</body></html>"))
    assert (outcome.status, outcome.post) == (CAPTURED, None)
    assert outcome.reason == "no post data found in the page"


@pytest.mark.parametrize("name", ["post", "video", "images", "age_restricted"])
def test_a_page_cut_anywhere_never_raises(name: str) -> None:
    final_url, exchanges = recorded(pages, pages.CASES[name])
    body = exchanges[-1].body
    for cut in range(0, len(body), max(1, len(body) // 40)):
        outcome = ADAPTER.extract(final_url, page(final_url, body[:cut].decode(errors="ignore")))
        assert outcome.status in (CAPTURED, UNAVAILABLE, BLOCKED)
        if name != "age_restricted":  # a cut page of a live post is never taken for a removal
            assert outcome.status == CAPTURED, (cut, outcome.reason)
