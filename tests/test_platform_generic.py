"""Generic adapter: any page's canonical URL, and the article read from its metadata."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from crawlers.platforms.base import BLOCKED, CAPTURED, UNAVAILABLE, Exchange
from crawlers.platforms.generic import ADAPTER, TRACKING_PARAMS, json_ld_nodes
from tests.fixtures.platform_pages import generic as pages
from tests.platform_helpers import assert_outcome, assert_recognised, listed, recorded

URL = "https://berita.example.id/nasional/2024/02/12/artikel"


def page(body: str, status: int = 200, url: str = URL) -> list[Exchange]:
    return [Exchange(url, status, {"content-type": "text/html; charset=utf-8"}, body.encode())]


def article(*ld: Any, head: str = "", body: str = "", lang: str = "id") -> str:
    scripts = "".join(f'<script type="application/ld+json">{json.dumps(x)}</script>' for x in ld)
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">{head}{scripts}'
            f"</head><body>{body}</body></html>")


# --- recognise ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical", "removed"),
    [
        (URL, URL, ()),
        (f"{URL}?utm_source=wa&utm_medium=social&utm_campaign=pemilu", URL,
         ("utm_source", "utm_medium", "utm_campaign")),
        (f"{URL}?page=2&fbclid=IwAR0abc&ref=home", f"{URL}?page=2&ref=home", ("fbclid",)),
        (f"{URL}?q=politik%20uang&gclid=Cj0K&id=77", f"{URL}?q=politik%20uang&id=77",
         ("gclid",)),
        ("HTTP://Berita.Example.ID:8080/a?mc_cid=1&mc_eid=2#komentar",
         "http://berita.example.id:8080/a#komentar", ("mc_cid", "mc_eid")),
        ("https://berita.example.id", "https://berita.example.id/", ()),
        ("https://berita.example.id/a?igshid=x&ref_src=twsrc", "https://berita.example.id/a",
         ("igshid", "ref_src")),
    ],
)
def test_canonical_url_only_drops_tracking(
    url: str, canonical: str, removed: tuple[str, ...]
) -> None:
    assert_recognised(ADAPTER, url, kind="page", post_id=None, canonical_url=canonical,
                      removed_params=removed)


@pytest.mark.parametrize(
    "param", ["utm_source", "utm_content", "fbclid", "gclid", "mc_cid", "mc_eid", "igshid",
              "ref_src", "msclkid", "yclid"],
)
def test_each_tracking_parameter_is_listed_and_removed(param: str) -> None:
    assert_recognised(ADAPTER, f"{URL}?{param}=abc&id=5", canonical_url=f"{URL}?id=5",
                      removed_params=(param,))
    assert listed(param, TRACKING_PARAMS)


@pytest.mark.parametrize("url", ["ftp://berita.example.id/a", "mailto:redaksi@example.id",
                                 "berita.example.id/a", "https:///nohost", "https://[::1"])
def test_non_http_urls_are_not_claimed(url: str) -> None:
    assert ADAPTER.recognise(url) is None


# --- extract: the fixture cases --------------------------------------------------------------


@pytest.mark.parametrize("name", list(pages.CASES))
def test_extract_fixture_case(name: str) -> None:
    case = pages.CASES[name]
    assert_outcome(ADAPTER.extract(*recorded(pages, case)), case)



def test_article_image_comes_from_json_ld_with_its_size() -> None:
    case = pages.CASES["post"]
    post = ADAPTER.extract(*recorded(pages, case)).post
    assert post is not None
    assert [(m.type, urlsplit(m.url).path, m.width, m.height) for m in post.media] == [
        ("image", pages.HERO, 1200, 675)]


# --- JSON-LD shapes ------------------------------------------------------------------------------


def test_json_ld_list_with_string_author_and_zone_less_date() -> None:
    body = article([
        {"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": []},
        {"@context": "https://schema.org", "@type": "BlogPosting", "headline": "Catatan Relawan",
         "author": "Sari Wulandari", "datePublished": "2024-02-14T08:00:00",
         "image": ["https://berita.example.id/a.png", "https://berita.example.id/b.png"]},
    ], body='<time datetime="2024-02-14T08:00:00+07:00">14 Feb</time>')
    post = ADAPTER.extract(URL, page(body)).post
    assert post is not None
    assert (post.caption, post.author_name, post.source) == (
        "Catatan Relawan", "Sari Wulandari", "json-ld BlogPosting")
    # A time without a zone is not guessed; the page's <time> element has one.
    assert post.posted_at == "2024-02-14T01:00:00Z"
    assert [m.url.rsplit("/", 1)[-1] for m in post.media] == ["a.png", "b.png"]
    assert post.language == "id"


def test_author_by_reference_in_the_graph() -> None:
    body = article({"@context": "https://schema.org", "@graph": [
        {"@type": "Person", "@id": "#/schema/person/1", "name": "Budi Santoso"},
        {"@type": "Article", "headline": "Judul", "author": {"@id": "#/schema/person/1"},
         "datePublished": "2024-02-15T10:00:00Z", "inLanguage": "id-ID"},
    ]})
    post = ADAPTER.extract(URL, page(body)).post
    assert post is not None
    assert (post.author_name, post.posted_at, post.language) == (
        "Budi Santoso", "2024-02-15T10:00:00Z", "id-ID")


def test_news_article_wins_over_other_nodes_and_video_object_gives_the_video() -> None:
    video = {"@context": "https://schema.org", "@type": "VideoObject", "name": "Video TPS",
             "contentUrl": "https://berita.example.id/video/tps.mp4", "width": "1280",
             "height": "720", "uploadDate": "2024-02-14T09:00:00+07:00"}
    news = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Berita TPS",
            "description": "Berita TPS", "video": video}
    post = ADAPTER.extract(URL, page(article(video, news))).post
    assert post is not None
    assert post.source == "json-ld NewsArticle"
    assert post.caption == "Berita TPS"  # a description repeating the headline is not doubled
    assert [(m.type, m.width, m.height) for m in post.media] == [("video", 1280, 720)]


def test_damaged_json_ld_is_skipped_and_opengraph_used() -> None:
    head = ('<meta property="og:title" content="Judul dari OG">'
            '<meta property="og:video" content="https://berita.example.id/v.mp4">'
            '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Pot</script>')
    post = ADAPTER.extract(URL, page(article(head=head))).post
    assert post is not None
    assert (post.caption, post.source) == ("Judul dari OG", "opengraph")
    assert [m.type for m in post.media] == ["video"]


def test_json_ld_in_html_comment_wrappers_is_read() -> None:
    body = ('<html><head><script type="application/ld+json"><!--\n{"@type": "Article", '
            '"headline": "Dibungkus komentar"}\n--></script></head></html>')
    assert [n["headline"] for n in json_ld_nodes(body)] == ["Dibungkus komentar"]


def test_meta_author_and_title_when_nothing_richer() -> None:
    body = ('<html lang="en"><head><title>  Laporan   Pemantauan </title>'
            '<meta name="author" content="Tim Pemantau"></head><body></body></html>')
    post = ADAPTER.extract(URL, page(body)).post
    assert post is not None
    assert (post.caption, post.author_name, post.language, post.source) == (
        "Laporan Pemantauan", "Tim Pemantau", "en", "html-meta")


def test_empty_page_has_no_post_but_is_still_captured() -> None:
    outcome = ADAPTER.extract(URL, page("<html><body></body></html>"))
    assert outcome == type(outcome)(CAPTURED, None, "no post data found in the page")


@pytest.mark.parametrize(
    ("status", "expected"),
    [(404, UNAVAILABLE), (410, UNAVAILABLE), (401, BLOCKED), (403, BLOCKED), (429, BLOCKED),
     (500, CAPTURED)],
)
def test_http_status_of_the_page_decides(status: int, expected: str) -> None:
    outcome = ADAPTER.extract(URL, page(article(), status))
    assert outcome.status == expected
    if expected != CAPTURED:
        assert outcome.reason == f"HTTP {status}"


def test_the_page_is_found_after_a_redirect() -> None:
    exchanges = [Exchange("http://berita.example.id/x", 301, {"location": URL}, b""),
                 *page(article({"@type": "Article", "headline": "Sesudah pindah"}))]
    outcome = ADAPTER.extract(URL, exchanges)
    assert outcome.post is not None and outcome.post.caption == "Sesudah pindah"
