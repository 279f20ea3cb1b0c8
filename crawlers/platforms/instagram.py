"""Instagram: post, reel and IGTV links in all their forms, and the post read from the
recorded page and its API answers.

The page embeds Relay data in `<script type="application/json" data-sjs>` elements; the
post is the first of `xdt_api__v1__media__shortcode__web_info.items[0]` (or
`xig_polaris_media.if_not_gated_logged_out`, the same media record), then the GraphQL
`xdt_shortcode_media` / older `shortcode_media` (also in `/api/graphql` answers the page
fetches). These names are searched at any depth because the wrapping (`require`,
`__bbox`, `RelayPrefetchedStreamCache`) moves between releases. A removed post is the
"Sorry, this page isn't available." page; the login page is a wall, not a removal.
"""

from __future__ import annotations

import re
from typing import Any

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
from .common import as_count, as_dict, as_list, as_seconds, as_text, dig

MAIN_HOST = "www.instagram.com"
_HOSTS = {"instagram.com", "www.instagram.com", "m.instagram.com", "instagr.am",
          "www.instagr.am"}

# Path words Instagram uses for its own pages; a first segment among them is no account.
_RESERVED = {
    "p", "reel", "reels", "tv", "explore", "accounts", "stories", "direct", "about",
    "legal", "developer", "api", "graphql", "web", "challenge", "share", "static",
    "emails", "session", "privacy", "terms", "directory", "topics", "locations", "ar",
}  # fmt: skip

_POST_PATH = re.compile(
    r"(?:/(?P<user>[\w.]+))?/(?P<kind>p|reels?|tv)/(?P<code>[\w-]+)(?:/.*)?")
_SHARE_PATH = re.compile(r"/share/(?:(?:p|reels?|tv)/)?(?P<code>[\w-]+)/?")
_TAG_PATH = re.compile(r"/explore/tags/(?P<tag>[^/]+)/?")
_PROFILE_PATH = re.compile(r"/(?P<user>[\w.]+)/?")
_MEDIA_INFO_PATH = re.compile(r"/api/v1/media/\d+/info/?$")
_USER_FEED_PATH = re.compile(r"/api/v1/feed/user/[^/]+(?:/username)?/?$")

# Share attribution only. `img_index` is kept: it picks which image of a carousel the
# page opens on, so it changes what a capture shows.
TRACKING_PARAMS = ("igsh", "igshid", "ig_rid", "ig_mid", "fbclid", "utm_*")

_ITEM_KEYS = ("xdt_api__v1__media__shortcode__web_info", "xig_polaris_media")
_GRAPHQL_KEYS = ("xdt_shortcode_media", "shortcode_media")
# Where a listing page's posts are, by kind of page: a hashtag's `sections` (top and
# recent grids of `/api/v1/tags/web_info/` and `/api/v1/tags/<tag>/sections/`), an
# account's timeline connection (GraphQL, also prefetched into the page), and the older
# GraphQL `edge_*` connections.
_LISTING_KEYS = {
    "hashtag": ("sections", "edge_hashtag_to_top_posts", "edge_hashtag_to_media"),
    "profile": ("xdt_api__v1__feed__user_timeline_graphql_connection",
                "edge_owner_to_timeline_media"),
}
_GONE_TEXTS = (
    "sorry, this page isn't available", "sorry, this page isn’t available",
    "restricted profile", "restricted video", "you must be 18 years old or over",
    "this account is private",
)
_OG_DESCRIPTION = re.compile(
    r"^(?P<likes>[\d,]+) likes?, (?P<comments>[\d,]+) comments? - (?P<user>[\w.]+) on "
    r"[^:]+: [\"“](?P<caption>.*)[\"”]\.?\s*$", re.S)


def post_url(code: str, reel: bool = False) -> str:
    return f"https://{MAIN_HOST}/{'reel' if reel else 'p'}/{code}/"


class InstagramAdapter:
    name = "instagram"
    tracking_params = TRACKING_PARAMS

    # -- links --------------------------------------------------------------------------

    def recognise(self, url: str) -> Recognised | None:
        parts = common.split_http_url(url, self.tracking_params)
        if parts is None or parts.host not in _HOSTS:
            return None
        path = parts.path
        if found := _SHARE_PATH.fullmatch(path):  # a share link redirects to the post
            return parts.recognised(self, "short", f"https://{MAIN_HOST}{path.rstrip('/')}/")
        found = _POST_PATH.fullmatch(path)
        if found and (found["user"] or "").lower() not in _RESERVED and not (
            found["kind"] == "reels" and found["code"] == "audio"
        ):
            reel = found["kind"] in ("reel", "reels")
            return parts.recognised(self, "post", post_url(found["code"], reel), found["code"])
        if found := _TAG_PATH.fullmatch(path):
            tag = f"https://{MAIN_HOST}/explore/tags/{found['tag']}/"
            return parts.recognised(self, "hashtag", tag)
        found = _PROFILE_PATH.fullmatch(path)
        if found and found["user"].lower() not in _RESERVED:
            return parts.recognised(self, "profile", f"https://{MAIN_HOST}/{found['user']}/")
        return parts.recognised(self, "page", f"https://{MAIN_HOST}{path}")

    # -- a listing (hashtag, account) ---------------------------------------------------

    def listing(self, page_url: str, exchanges: list[Exchange]) -> Listing | None:
        """The posts a hashtag (`/explore/tags/<tag>/`) or account (`/<user>/`) page
        showed, in order. The web app loads them by XHR: a hashtag's grid from
        `/api/v1/tags/web_info/?tag_name=` (`data.top.sections[]`, then `data.recent`,
        each section's `layout_content` holding `medias[].media`, `fill_items[].media`
        or `one_by_two_item.clips.items[].media`) and `/api/v1/tags/<tag>/sections/`;
        an account's from GraphQL (`xdt_api__v1__feed__user_timeline_graphql_connection
        .edges[].node`, pinned posts first, as Instagram orders them; the first ones
        also prefetched into the page's `data-sjs` scripts) or `/api/v1/feed/user/<user>/
        username/` (`items`). Older GraphQL `edge_owner_to_timeline_media` and
        `edge_hashtag_to_*` edges are read too. The page and each answer holding posts
        count as one page; `has_more` is the last one's `more_available` /
        `page_info.has_next_page`. Post ids are shortcodes, as `extract` gives them."""
        seen = self.recognise(page_url)
        if seen is None or seen.kind not in _LISTING_KEYS:
            return None
        kind = "hashtag" if seen.kind == "hashtag" else "account"
        target = seen.canonical_url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        found = Listing(self.name, kind, target, source="")
        sources: list[str] = []
        page = common.page_exchange(page_url, exchanges)
        documents: list[tuple[Exchange, list[Any]]] = []
        if page is not None and page.status == 200:
            document = common.read_document(page.text())
            documents.append((page, [common.load_json(script.text) for script in
                                     document.scripts if "data-sjs" in script.attrs
                                     or script.attrs.get("type") == "application/json"]))
        for exchange in exchanges:
            if exchange is page or exchange.status != 200:
                continue
            path = exchange.url.split("?", 1)[0]
            if ("json" in exchange.content_type or "javascript" in exchange.content_type
                    or "/graphql" in path or "/api/v1/" in path):
                documents.append((exchange, [common.load_json(
                    exchange.text().lstrip().removeprefix("for (;;);"))]))
        for exchange, blobs in documents:
            media: list[dict[str, Any]] = []
            more: bool | None = None
            for blob in blobs:
                for holder, key in _listing_holders(blob, _LISTING_KEYS[seen.kind]):
                    media += _media_records(holder[key])
                    more = _more(holder, key, more)
                    sources.append("api/v1/tags sections" if key == "sections" else key)
                if (seen.kind == "profile" and isinstance(blob, dict)
                        and _USER_FEED_PATH.search(exchange.url.split("?", 1)[0])
                        and isinstance(blob.get("items"), list)):
                    media += _media_records(blob["items"])
                    more = _more(blob, "items", more)
                    sources.append("api/v1/feed/user")
            if not media and more is None:
                continue
            found.pages += 1
            found.has_more = more if more is not None else found.has_more
            for record in media:
                code = as_text(record.get("code")) or as_text(record.get("shortcode"))
                if code and code not in {i for i, _ in found.posts}:
                    found.posts.append((code, post_url(code,
                                                       record.get("product_type") == "clips")))
        found.source = ", ".join(dict.fromkeys(sources))
        return found

    # -- the post -------------------------------------------------------------------------

    def extract(self, page_url: str, exchanges: list[Exchange]) -> Outcome:
        parts = common.split_http_url(page_url)
        if parts and parts.path.startswith("/accounts/login"):
            return Outcome(BLOCKED, None, "Instagram redirected to its login page")
        if parts and parts.path.startswith("/challenge"):
            return Outcome(BLOCKED, None, "Instagram asked to confirm the visitor (challenge)")
        recognised = self.recognise(page_url)
        wanted = recognised.post_id if recognised else None
        page = common.page_exchange(page_url, exchanges)
        document = common.read_document(page.text()) if page else None

        blobs = list(self._json_blobs(document, exchanges))
        if post := self._from_blobs(blobs, wanted):
            return Outcome(CAPTURED, post)
        if page is None or document is None:
            return Outcome(CAPTURED, None, common.NO_POST)
        if page.status == 429:
            return Outcome(BLOCKED, None, "Instagram is rate limiting (HTTP 429)")
        visible = document.text.lower()
        for text in _GONE_TEXTS:
            if text in visible:
                return Outcome(UNAVAILABLE, None, _sentences_from(document.text, text))
        if "loginForm" in document.ids or document.title.lower().startswith("login •"):
            return Outcome(BLOCKED, None, "Instagram shows its login form instead of the post")
        if "please wait a few minutes before you try again" in visible:
            return Outcome(BLOCKED, None, "Instagram is rate limiting (Please wait a few "
                           "minutes before you try again)")
        if recognised and recognised.post_id and (post := self._from_opengraph(document,
                                                                                recognised)):
            return Outcome(CAPTURED, post)
        reason = common.NO_POST if page.status < 400 else f"{common.NO_POST} (HTTP {page.status})"
        return Outcome(CAPTURED, None, reason)

    @staticmethod
    def _json_blobs(document: common.Document | None, exchanges: list[Exchange]) -> list[Any]:
        """Parsed JSON of the page's data scripts, then of the JSON answers recorded."""
        blobs: list[Any] = []
        for script in document.scripts if document else ():
            if "data-sjs" in script.attrs or script.attrs.get("type") == "application/json":
                if (blob := common.load_json(script.text)) is not None:
                    blobs.append(blob)
        for exchange in exchanges:
            if exchange.content_type in ("application/json", "text/javascript") or "/graphql" \
                    in exchange.url or _MEDIA_INFO_PATH.search(exchange.url.split("?")[0]):
                text = exchange.text().removeprefix("for (;;);")
                if (blob := common.load_json(text)) is not None:
                    blobs.append(blob)
        return blobs

    def _from_blobs(self, blobs: list[Any], wanted: str | None) -> Post | None:
        items: list[tuple[dict[str, Any], str]] = []
        for blob in blobs:
            for key in _ITEM_KEYS:
                for value in common.walk_key(blob, key):
                    record = as_dict(value)
                    found = as_list(record.get("items")) or [record.get("if_not_gated_logged_out")]
                    items += [(i, key) for i in found if isinstance(i, dict) and i.get("code")]
            if isinstance(blob, dict) and isinstance(blob.get("items"), list):  # media/info
                items += [(i, "api/v1/media/info") for i in blob["items"]
                          if isinstance(i, dict) and i.get("code")]
        if item := _pick(items, wanted, "code"):
            return self._post_from_item(*item)
        graphql: list[tuple[dict[str, Any], str]] = []
        for blob in blobs:
            for key in _GRAPHQL_KEYS:
                graphql += [(v, key) for v in common.walk_key(blob, key)
                            if isinstance(v, dict) and v.get("shortcode")]
        if media := _pick(graphql, wanted, "shortcode"):
            return self._post_from_graphql(*media)
        return None

    def _post_from_item(self, item: dict[str, Any], source: str) -> Post:
        """A media record of the v1 API (`web_info`, `media/info`, `xig_polaris_media`)."""
        user = as_dict(item.get("user")) or as_dict(item.get("owner"))
        caption = as_text(dig(item, "caption", "text"))
        children = [as_dict(c) for c in as_list(item.get("carousel_media"))] or [item]
        music = as_dict(dig(item, "clips_metadata", "music_info", "music_asset_info")) or \
            as_dict(dig(item, "music_metadata", "music_info", "music_asset_info"))
        sound = as_dict(dig(item, "clips_metadata", "original_sound_info"))
        views = next((as_count(item.get(k)) for k in ("play_count", "ig_play_count",
                                                      "view_count")
                      if as_count(item.get(k)) is not None), None)
        return Post(
            platform=self.name,
            post_id=str(item["code"]),
            url=post_url(str(item["code"]), item.get("product_type") == "clips"),
            author_id=as_text(user.get("pk")) or as_text(user.get("id")),
            author_handle=as_text(user.get("username")),
            author_name=as_text(user.get("full_name")),
            caption=caption,
            posted_at=common.iso_from_epoch(item.get("taken_at")),
            views=views,
            likes=as_count(item.get("like_count")),
            comments=as_count(item.get("comment_count")),
            shares=None,
            hashtags=common.hashtags_in(caption),
            mentions=common.mentions_in(caption),
            music=common.music_label(as_text(music.get("title")),
                                     as_text(music.get("display_artist")))
            or common.music_label(as_text(sound.get("original_audio_title")),
                                  as_text(dig(sound, "ig_artist", "username"))),
            media=[m for c in children if (m := _item_media(c))],
            source=source,
        )

    def _post_from_graphql(self, node: dict[str, Any], source: str) -> Post:
        """A GraphQL `shortcode_media` node."""
        owner = as_dict(node.get("owner"))
        caption = as_text(dig(node, "edge_media_to_caption", "edges", 0, "node", "text"))
        children = [as_dict(dig(e, "node")) for e in
                    as_list(dig(node, "edge_sidecar_to_children", "edges"))] or [node]
        likes = next((c for c in (as_count(dig(node, k, "count")) for k in (
            "edge_media_preview_like", "edge_liked_by")) if c is not None), None)
        comments = next((c for c in (as_count(dig(node, k, "count")) for k in (
            "edge_media_to_parent_comment", "edge_media_to_comment",
            "edge_media_preview_comment")) if c is not None), None)
        views = next((c for c in (as_count(node.get(k)) for k in (
            "video_play_count", "video_view_count")) if c is not None), None)
        music = as_dict(node.get("clips_music_attribution_info"))
        return Post(
            platform=self.name,
            post_id=str(node["shortcode"]),
            url=post_url(str(node["shortcode"]), node.get("product_type") == "clips"),
            author_id=as_text(owner.get("id")),
            author_handle=as_text(owner.get("username")),
            author_name=as_text(owner.get("full_name")),
            caption=caption,
            posted_at=common.iso_from_epoch(node.get("taken_at_timestamp")),
            views=views,
            likes=likes,
            comments=comments,
            hashtags=common.hashtags_in(caption),
            mentions=common.mentions_in(caption),
            music=common.music_label(as_text(music.get("song_name")),
                                     as_text(music.get("artist_name"))),
            media=[m for c in children if (m := _node_media(c))],
            source=source,
        )

    def _from_opengraph(self, document: common.Document, recognised: Recognised) -> Post | None:
        description = document.meta_first("og:description")
        video = document.meta_first("og:video:secure_url", "og:video")
        image = document.meta_first("og:image")
        if not (description or video or image):
            return None
        # English pages say "12 likes, 3 comments - user on Month D, YYYY: "caption"."
        said = _OG_DESCRIPTION.match(description or "")
        caption = said["caption"] if said else None
        media = [Media(video, "video")] if video else [Media(image, "image")] if image else []
        return common.opengraph_post(
            self.name, recognised.post_id or "", recognised.canonical_url.split("?", 1)[0],
            caption, media,
            author_handle=said["user"] if said else None,
            likes=as_count(said["likes"]) if said else None,
            comments=as_count(said["comments"]) if said else None,
        )


def _listing_holders(blob: Any, keys: tuple[str, ...]) -> list[tuple[dict[str, Any], str]]:
    """The objects holding one of a listing's `keys`, outermost first, each with its
    key. `sections` is only taken where a section lays out media (`layout_content`)."""
    found = []
    for holder in common.walk(blob):
        for key in keys:
            value = holder.get(key)
            if key == "sections" and not any(isinstance(s, dict) and "layout_content" in s
                                             for s in as_list(value)):
                continue
            if isinstance(value, dict | list):
                found.append((holder, key))
    return found


def _media_records(value: Any) -> list[dict[str, Any]]:
    """The posts in `value`, in document order: objects with a shortcode (`code` in the
    v1 API, `shortcode` in GraphQL). A post's own insides (carousel children, comments)
    are not searched: they are not posts of the listing."""
    found: list[dict[str, Any]] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            code = item.get("code") if "code" in item else item.get("shortcode")
            if isinstance(code, str) and re.fullmatch(r"[\w-]+", code) and any(
                    k in item for k in ("pk", "id", "media_type", "taken_at", "__typename")):
                found.append(item)
                continue
            stack.extend(reversed([v for v in item.values() if isinstance(v, dict | list)]))
        elif isinstance(item, list):
            stack.extend(reversed([v for v in item if isinstance(v, dict | list)]))
    return found


def _more(holder: dict[str, Any], key: str, said: bool | None) -> bool | None:
    """Whether a listing's container says there is more (`more_available` beside the
    sections or items, `page_info.has_next_page` of a connection)."""
    value = holder.get(key)
    flag = dig(value, "page_info", "has_next_page") if isinstance(value, dict) else None
    if flag is None:
        flag = holder.get("more_available")
    if not isinstance(flag, bool):
        return said
    return flag or bool(said)


def _pick(found: list[tuple[dict[str, Any], str]], wanted: str | None, key: str
          ) -> tuple[dict[str, Any], str] | None:
    """The record of the asked post, else the first (a page is about one post)."""
    for record in found:
        if wanted and record[0].get(key) == wanted:
            return record
    return found[0] if found else None


def _largest(candidates: list[Any]) -> dict[str, Any]:
    sized = [as_dict(c) for c in candidates if as_text(as_dict(c).get("url"))]
    return max(sized, key=lambda c: as_count(c.get("width")) or 0) if sized else {}


def _item_media(item: dict[str, Any]) -> Media | None:
    video = _largest(as_list(item.get("video_versions")))
    if video:
        return Media(video["url"], "video", as_count(video.get("width")),
                     as_count(video.get("height")), as_seconds(item.get("video_duration")))
    image = _largest(as_list(dig(item, "image_versions2", "candidates")))
    if image:
        return Media(image["url"], "image", as_count(image.get("width")),
                     as_count(image.get("height")))
    return None


def _node_media(node: dict[str, Any]) -> Media | None:
    width = as_count(dig(node, "dimensions", "width"))
    height = as_count(dig(node, "dimensions", "height"))
    if node.get("is_video") and as_text(node.get("video_url")):
        return Media(node["video_url"], "video", width, height,
                     as_seconds(node.get("video_duration")))
    if url := as_text(node.get("display_url")):
        return Media(url, "image", width, height)
    return None


def _sentences_from(text: str, needle: str) -> str:
    """Instagram's sentence holding `needle` and the one after it (the explanation)."""
    start = text.lower().find(needle)
    end = start
    for _ in range(2):
        stop = text.find(". ", end + 1)
        end = stop + 1 if stop >= 0 else len(text)
    return text[start:end].strip()


ADAPTER = InstagramAdapter()
