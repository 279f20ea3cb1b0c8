"""Generic pages (news sites and anything no platform adapter claims).

The registry asks this adapter last, so it claims every http(s) URL as kind "page". The
canonical URL is the URL as given with only well-known tracking parameters removed
(`TRACKING_PARAMS`, `utm_*` meaning every `utm_` name); scheme, port, path, the other
parameters and the fragment stay, because on an unknown site any of them may select
the content. Host and scheme are lower-cased.

The post is read from, in order of authority: JSON-LD (`<script type="application/ld+json">`,
objects, lists and `@graph`; the first NewsArticle-like node, else Article, posting or
VideoObject), then OpenGraph (`og:*`, `article:published_time`, `article:author`), then
`<meta name="author">`, `<html lang>`, `<title>`, and the first `<time datetime>`.
Each field comes from the first of these that has it. The caption is the headline, a
blank line, then the description (the standfirst), or just one of them when the other
is missing or repeats it. `post_id` is the canonical URL. A time without a zone is not
turned into UTC (the moment is unknown), so `posted_at` stays None for it.

Status: the page's own HTTP status decides: 404/410 is UNAVAILABLE, 401/403/429 BLOCKED,
anything else CAPTURED (a generic site has no removal page we could know).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlunsplit

from . import common
from .base import CAPTURED, Exchange, Media, Outcome, Post, Recognised
from .common import as_count

NAME = "generic"

# Analytics and ad-click parameters that never change what a page shows.
TRACKING_PARAMS: tuple[str, ...] = (
    "utm_*", "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
    "twclid", "ttclid", "li_fat_id", "mc_cid", "mc_eid", "igshid", "igsh", "ref_src",
    "ref_url", "_hsenc", "_hsmi", "mkt_tok", "_gl", "oly_anon_id", "oly_enc_id", "vero_id",
    "wickedid", "rb_clickid", "spm", "share_source",
)

_NEWS_TYPES = ("NewsArticle", "ReportageNews", "AnalysisNewsArticle", "OpinionNewsArticle",
               "BackgroundNewsArticle", "ReviewNewsArticle", "LiveBlogPosting")
_OTHER_TYPES = ("Article", "BlogPosting", "SocialMediaPosting", "DiscussionForumPosting",
                "Report", "VideoObject")


class GenericAdapter:
    """Any web page: the article or item it presents, from its structured metadata."""

    name = NAME
    tracking_params = TRACKING_PARAMS

    def recognise(self, url: str) -> Recognised | None:
        parts = common.split_http_url(url, self.tracking_params)
        if parts is None:
            return None
        canonical = urlunsplit((parts.scheme, parts.authority, parts.path, parts.query,
                                parts.fragment))
        return Recognised(NAME, "page", canonical, None, parts.removed)

    def extract(self, page_url: str, exchanges: list[Exchange]) -> Outcome:
        page = common.page_exchange(page_url, exchanges)
        if page is None:
            return Outcome(CAPTURED, None, common.NO_PAGE)
        refused_or_gone = common.status_outcome(page.status)
        if refused_or_gone is not None:
            return refused_or_gone
        recognised = self.recognise(page_url)
        document = common.read_document(page.text())
        post = _read_page(recognised.canonical_url if recognised else page_url, document)
        if post is None:
            return Outcome(CAPTURED, None, common.NO_POST)
        return Outcome(CAPTURED, post)


def json_ld_nodes(html: str | common.Document) -> list[dict[str, Any]]:
    """Every JSON-LD object in the page, `@graph` members and list items flattened, in
    document order. Damaged blocks are skipped; HTML comment and CDATA wrappers (still
    common in CMS templates) are tolerated."""
    document = common.read_document(html) if isinstance(html, str) else html
    nodes: list[dict[str, Any]] = []

    def add(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                add(item)
        elif isinstance(value, dict):
            if "@graph" in value:
                add(value["@graph"])
            if "@type" in value:
                nodes.append(value)

    for script in document.scripts:
        if script.attrs.get("type", "").strip().lower() != "application/ld+json":
            continue
        text = re.sub(r"^\s*(?:<!--|/\*\s*<!\[CDATA\[\s*\*/)|(?:-->|/\*\s*\]\]>\s*\*/)\s*$",
                      "", script.text.strip())
        add(common.load_json(text))
    return nodes


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("@type")
    names = kind if isinstance(kind, list) else [kind]
    return [n.rsplit("/", 1)[-1] for n in names if isinstance(n, str)]


def _main_node(nodes: list[dict[str, Any]]) -> dict[str, Any] | None:
    def rank(node: dict[str, Any]) -> int:
        types = _types(node)
        if any(t in _NEWS_TYPES for t in types):
            return 0
        if any(t.endswith("Article") for t in types):
            return 1
        for index, name in enumerate(_OTHER_TYPES):
            if name in types:
                return 2 + index
        return 99

    ranked = sorted((rank(node), index) for index, node in enumerate(nodes))
    if not ranked or ranked[0][0] == 99:
        return None
    return nodes[ranked[0][1]]


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str | dict)), None)
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    return common.clean_text(value) if isinstance(value, str) else None


def _authors(value: Any, by_id: dict[str, dict[str, Any]]) -> str | None:
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        if isinstance(item, dict) and "name" not in item and item.get("@id") in by_id:
            item = by_id[item["@id"]]
        name = _text(item)
        if name and name not in names:
            names.append(name)
    return ", ".join(names) or None


def _images(value: Any) -> list[Media]:
    items = value if isinstance(value, list) else [value]
    media: list[Media] = []
    for item in items:
        if isinstance(item, str):
            media.append(Media(item, "image"))
        elif isinstance(item, dict):
            url = item.get("url") or item.get("contentUrl")
            if isinstance(url, str):
                media.append(Media(url, "image", as_count(item.get("width")),
                                   as_count(item.get("height"))))
    return media


def _videos(node: dict[str, Any]) -> list[Media]:
    candidates = [node] if "VideoObject" in _types(node) else []
    video = node.get("video")
    candidates += [v for v in (video if isinstance(video, list) else [video])
                   if isinstance(v, dict)]
    media: list[Media] = []
    for item in candidates:
        url = item.get("contentUrl")
        if isinstance(url, str):
            media.append(Media(url, "video", as_count(item.get("width")),
                               as_count(item.get("height"))))
    return media


def _caption(headline: str | None, description: str | None) -> str | None:
    if headline and description and not description.startswith(headline):
        return f"{headline}\n\n{description}"
    return headline or description


def _read_page(url: str, document: common.Document) -> Post | None:
    nodes = json_ld_nodes(document)
    main = _main_node(nodes) or {}
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    meta = document.meta
    first_meta = document.meta_first

    headline = _text(main.get("headline")) or _text(main.get("name"))
    description = _text(main.get("description"))
    author = _authors(main.get("author"), by_id)
    posted = common.iso_from_text(main.get("datePublished") or main.get("uploadDate")
                                  or main.get("dateCreated"))
    language = _text(main.get("inLanguage"))
    media = _videos(main) + _images(main.get("image") or main.get("thumbnailUrl"))
    source = f"json-ld {next(iter(_types(main)), '')}".strip() if main else ""

    og_used = False
    if not headline and (headline := first_meta("og:title", "twitter:title")):
        og_used = True
    if not description and (description := first_meta("og:description",
                                                      "twitter:description")):
        og_used = True
    if not author:
        named = [a for a in meta.get("article:author", []) if not a.startswith("http")]
        if named:
            author, og_used = ", ".join(named), True
    if not posted and (posted := common.iso_from_text(first_meta("article:published_time"))):
        og_used = True
    if not any(m.type == "video" for m in media):
        video = first_meta("og:video:secure_url", "og:video:url", "og:video")
        if video:
            media.insert(0, Media(video, "video", as_count(first_meta("og:video:width")),
                                  as_count(first_meta("og:video:height"))))
            og_used = True
    if not any(m.type == "image" for m in media) and meta.get("og:image"):
        widths, heights = meta.get("og:image:width", []), meta.get("og:image:height", [])
        for index, image in enumerate(meta["og:image"]):
            media.append(Media(image, "image",
                               as_count(widths[index]) if index < len(widths) else None,
                               as_count(heights[index]) if index < len(heights) else None))
        og_used = True

    author = author or first_meta("author")
    description = description or first_meta("description")
    headline = headline or document.title or None
    language = language or document.lang
    if not language and (locale := first_meta("og:locale")):
        language = locale.replace("_", "-")
    if not posted:
        posted = next((iso for moment in document.times if (iso := common.iso_from_text(moment))),
                      None)

    caption = _caption(common.clean_text(headline), common.clean_text(description))
    if caption is None and not media:
        return None
    unique: dict[tuple[str, str], Media] = {}
    for item in media:
        unique.setdefault((item.url, item.type), item)
    return Post(
        platform=NAME,
        post_id=url,
        url=url,
        author_name=author,
        caption=caption,
        posted_at=posted,
        hashtags=common.hashtags_in(caption),
        mentions=common.mentions_in(caption),
        media=list(unique.values()),
        language=language,
        source=source or ("opengraph" if og_used else "html-meta"),
    )


ADAPTER = GenericAdapter()
