"""Telegram: public channel post URLs, their canonical form, and the post read from the
public widget markup.

URL forms: t.me/<channel>/<id>, t.me/s/<channel>/<id> (channel preview), telegram.me and
telegram.dog, `?single`, `?embed=1`; forum topics t.me/<group>/<topic>/<id>; private
t.me/c/<internal id>/<id> links (recognised, but only members of the channel can open
them, so a capture without such an account ends BLOCKED). `post_id` is "<channel>/<id>"
(or "c/<n>/<id>"); the canonical URL is https://t.me/<channel>/<id>. Dropped: view
parameters (`VIEW_PARAMS`: `single`, `embed`, `mode`, …) and `TRACKING_PARAMS`; kept:
`comment` and `thread`, which point at a message in the discussion.

The post comes from the widget document t.me serves for `?embed=1&mode=tme` (also the
`/s/` preview, which lists several messages; the one named by `data-post` is taken):
`.tgme_widget_message[data-post]`, `.tgme_widget_message_text`, `_owner_name`,
`time[datetime]`, `_views`, photos as `background-image:url('…')` of
`.tgme_widget_message_photo_wrap`, `<video>` of `.tgme_widget_message_video`. The plain
t.me/<channel>/<id> page only has OpenGraph tags, the fallback. `embed_url()` gives the
widget URL a capture should fetch.

Views are shown abbreviated ("12.4K"); they are read as the displayed value times the
unit (12400), so they are only as exact as the page (±50 for one decimal of K).
"""

from __future__ import annotations

import re

from . import common
from .base import (
    BLOCKED,
    CAPTURED,
    UNAVAILABLE,
    Exchange,
    Listing,
    Media,
    Outcome,
    Post,
    Recognised,
)

NAME = "telegram"
ORIGIN = "https://t.me"
HOSTS = ("t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog")

TRACKING_PARAMS: tuple[str, ...] = ("utm_*", "fbclid", "igshid", "ref")
VIEW_PARAMS: tuple[str, ...] = ("single", "embed", "mode", "userpic", "color", "dark",
                                "before", "after", "q", "t", "media")
CONTENT_PARAMS: tuple[str, ...] = ("comment", "thread")

_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_RESERVED = frozenset(
    "joinchat addstickers addemoji addtheme share proxy socks login setlanguage "
    "confirmphone boost contact addlist giftcode invoice iv bg".split()
)
_BACKGROUND = re.compile(r"background-image:\s*url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")
_GENERIC_OG = ("You can view and join", "If you have Telegram, you can",
               "Telegram is a cloud-based")


def embed_url(post_id: str) -> str:
    """The widget document of a public post ("channel/id"), where the post data is."""
    return f"{ORIGIN}/{post_id}?embed=1&mode=tme"


class TelegramAdapter:
    """Posts of public Telegram channels and groups."""

    name = NAME
    tracking_params = TRACKING_PARAMS

    def recognise(self, url: str) -> Recognised | None:
        parts = common.split_http_url(url)
        if parts is None or parts.host not in HOSTS:
            return None
        segs, pairs = parts.segments, parts.pairs
        kept = [(n, v) for n, v in pairs if n in CONTENT_PARAMS]
        removed = tuple(dict.fromkeys(n for n, _ in pairs if n not in CONTENT_PARAMS))
        query = f"?{common.encode_query(kept)}" if kept else ""

        if segs and segs[0] == "s":
            segs = segs[1:]
        if len(segs) in (3, 4) and segs[0] == "c" and all(s.isdigit() for s in segs[1:]):
            path = "/".join(segs)
            post_id = f"c/{segs[1]}/{segs[-1]}"
            return Recognised(NAME, "post", f"{ORIGIN}/{path}{query}", post_id, removed)
        if segs and _USERNAME.match(segs[0]) and segs[0].lower() not in _RESERVED:
            channel = segs[0]
            if len(segs) in (2, 3) and all(s.isdigit() for s in segs[1:]):
                path = "/".join(segs)
                post_id = f"{channel}/{segs[-1]}"
                return Recognised(NAME, "post", f"{ORIGIN}/{path}{query}", post_id, removed,
                                  capture_url=embed_url(post_id))
            if len(segs) == 1:
                return Recognised(NAME, "profile", f"{ORIGIN}/{channel}", None, removed)
        return common.claimed(self, "page", f"{ORIGIN}{parts.path}", parts.query)

    def listing(self, page_url: str, exchanges: list[Exchange]) -> Listing | None:
        """The posts a channel preview (`t.me/s/<channel>`) showed, newest first.

        The preview lists `.tgme_widget_message[data-post="<channel>/<n>"]` oldest at the
        top and opens scrolled to the bottom, at the newest; scrolling up loads earlier
        ones above (`/s/<channel>?before=<n>`, answered with the same markup, as an HTML
        document or a JSON string of it). So the order a visitor meets them, and the one
        recorded, is newest first: by message number, descending, across every document
        read; the first `max_posts` of a tracking rule are then the latest posts, as on the
        other platforms. Service messages (`service_message`: "channel created", "pinned
        a message") are not posts and are left out. Each preview document with messages
        is one page; `has_more` is whether the last one read links earlier messages
        (`.tme_messages_more[data-before]`). Post ids are `data-post`, as `extract`
        gives them."""
        seen = self.recognise(page_url)
        if seen is None or seen.kind != "profile":
            return None
        channel = seen.canonical_url.split("?", 1)[0].rsplit("/", 1)[-1]
        found = Listing(NAME, "account", channel, source="t.me/s preview (tgme_widget_message)")
        numbered: dict[str, tuple[int, str]] = {}
        for exchange in exchanges:
            parts = common.split_http_url(exchange.url)
            if (exchange.status != 200 or parts is None or parts.host not in HOSTS
                    or [s.lower() for s in parts.segments] != ["s", channel.lower()]):
                continue
            text = _preview_markup(exchange)
            if text is None or "tgme_widget_message" not in text:
                continue
            tree = common.html_tree(text)
            messages = [m for m in tree.find_all("tgme_widget_message")
                        if "data-post" in m.attrs and "service_message" not in m.classes]
            if not messages:
                continue
            found.pages += 1
            found.has_more = any("data-before" in more.attrs
                                 for more in tree.find_all("tme_messages_more"))
            for message in messages:
                post_id = message.attrs["data-post"]
                name, _, number = post_id.partition("/")
                if name.lower() == channel.lower() and number.isdigit():
                    numbered.setdefault(post_id.lower(), (int(number), post_id))
        for _, post_id in sorted(numbered.values(), reverse=True):
            found.posts.append((post_id, f"{ORIGIN}/{post_id}"))
        return found

    def extract(self, page_url: str, exchanges: list[Exchange]) -> Outcome:
        page = common.page_or_outcome(page_url, exchanges, "Telegram")
        if isinstance(page, Outcome):
            return page
        target = self.recognise(page_url)
        wanted = (target.post_id or "").lower() if target else ""

        documents = [page] + [e for e in exchanges if e is not page and e.status == 200
                              and e.content_type == "text/html"]
        message, listed = _find_message(documents, wanted)
        if message is not None:
            error = message.find("tgme_widget_message_error")
            if error is not None:
                said = common.clean_text(error.text())
                return Outcome(UNAVAILABLE, None, said or "Post not found")
            return Outcome(CAPTURED, _post_from_widget(message, target))

        if listed:
            return Outcome(CAPTURED, None, "the channel preview does not show this post "
                                           "(no post data found in the page)")
        if wanted.startswith("c/"):
            return Outcome(BLOCKED, None, "private channel link (t.me/c/…): only members can "
                                          "see it; needs a member's Telegram account")
        post = _from_opengraph(target, page.text())
        if post is not None:
            return Outcome(CAPTURED, post)
        return common.status_outcome(page.status) or Outcome(CAPTURED, None, common.NO_POST)


def _preview_markup(exchange: Exchange) -> str | None:
    """The message markup of a preview document: the page itself, or what the page's
    script fetched for earlier messages (t.me answers that XHR with the HTML as a JSON
    string)."""
    if exchange.content_type in ("text/html", "application/xhtml+xml", ""):
        return exchange.text()
    if "json" in exchange.content_type:
        value = common.load_json(exchange.body)
        return value if isinstance(value, str) else None
    return None


def _find_message(documents: list[Exchange], wanted: str) -> tuple[common.Node | None, bool]:
    """The widget message the URL names (by `data-post`), else a lone one; and whether
    the documents list widget messages at all (a channel preview without this post
    must not fall back to the channel's OpenGraph description)."""
    candidates: list[common.Node] = []
    for document in documents:
        text = document.text()
        if "tgme_widget_message" not in text:
            continue
        for node in common.html_tree(text).find_all("tgme_widget_message"):
            if "data-post" in node.attrs:
                if node.attrs["data-post"].lower() == wanted:
                    return node, True
                candidates.append(node)
    return (candidates[0] if len(candidates) == 1 else None), bool(candidates)


def _inside(node: common.Node, *classes: str) -> bool:
    parent = node.parent
    while parent is not None:
        if any(c in parent.classes for c in classes):
            return True
        parent = parent.parent
    return False


def _post_from_widget(message: common.Node, target: Recognised | None) -> Post:
    post_id = message.attrs["data-post"]
    texts = [n for n in message.find_all("tgme_widget_message_text")
             if not _inside(n, "tgme_widget_message_reply", "link_preview_description")]
    caption = common.clean_text(texts[0].text()) if texts else None
    tagged = [common.clean_text(a.text()) or "" for a in texts[0].find_all(tag="a")
              if a.attrs.get("href", "").startswith("?q=%23")] if texts else []

    owner = message.find("tgme_widget_message_owner_name")
    handle = None
    if owner is not None:
        match = re.match(r"https?://t\.me/([A-Za-z0-9_]+)/?$", owner.attrs.get("href", ""))
        handle = match.group(1) if match else None
    peer = re.match(r"c(\d+)_", message.attrs.get("data-peer", ""))
    date = message.find("tgme_widget_message_date")
    moment = date.find(tag="time") if date is not None else None
    views = message.find("tgme_widget_message_views")

    media: list[Media] = []
    for wrap in message.find_all("tgme_widget_message_photo_wrap"):
        found = _BACKGROUND.search(wrap.attrs.get("style", ""))
        if found:
            media.append(Media(found.group(1), "image"))
    for player in message.find_all("tgme_widget_message_video_player"):
        video = player.find(tag="video")
        if video is not None and video.attrs.get("src"):
            length = player.find("message_video_duration")
            media.append(Media(video.attrs["src"], "video",
                               duration_s=_seconds(length.text() if length else "")))
    for audio in message.find_all(tag="audio"):
        if audio.attrs.get("src"):
            media.append(Media(audio.attrs["src"], "audio"))

    canonical = target.canonical_url if target and target.kind == "post" else (
        f"{ORIGIN}/{post_id}")
    return Post(
        platform=NAME,
        post_id=post_id,
        url=canonical,
        author_id=peer.group(1) if peer else None,
        author_handle=handle or (None if post_id.startswith("c/") else post_id.split("/")[0]),
        author_name=common.clean_text(owner.text()) if owner is not None else None,
        caption=caption,
        posted_at=(common.iso_from_text(moment.attrs.get("datetime")) if moment is not None
                   else None),
        views=common.parse_count(views.text()) if views is not None else None,
        hashtags=[t.lstrip("#") for t in tagged if t] or common.hashtags_in(caption),
        mentions=common.mentions_in(caption),
        media=media,
        source="t.me widget (tgme_widget_message)",
    )


def _seconds(text: str) -> float | None:
    parts = text.strip().split(":")
    if not parts or not all(p.isdigit() for p in parts):
        return None
    total = 0
    for part in parts:
        total = total * 60 + int(part)
    return float(total)


def _from_opengraph(target: Recognised | None, html: str) -> Post | None:
    if target is None or target.kind != "post" or not target.post_id:
        return None
    meta = common.read_document(html).meta_first
    description = meta("og:description", "twitter:description")
    if not description or description.startswith(_GENERIC_OG):
        return None
    image = meta("og:image", "twitter:image")
    return common.opengraph_post(
        NAME, target.post_id, target.canonical_url, common.clean_text(description),
        [Media(image, "image")] if image else [],
        author_handle=target.post_id.split("/")[0] if "/" in target.post_id else None,
        author_name=meta("og:title", "twitter:title"),
    )


ADAPTER = TelegramAdapter()
