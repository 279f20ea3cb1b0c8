"""Facebook: which URLs are posts, their canonical form, and the post read from the page.

The page carries its data as Relay payloads in `<script type="application/json" data-sjs>`
blobs (`ScheduledServerJS` -> `__bbox.require` -> `RelayPrefetchedStreamCache` ->
`__bbox.result.data`); a browser capture may also hold `/api/graphql/` answers. The post
is the story object (`post_id`, `message.text`, `creation_time`, `actors`, `attachments`,
feedback counts); OpenGraph tags are the fallback when the data is missing or damaged.

Canonical forms (all on `https://www.facebook.com`):
  posts      /<page>/posts/<id|pfbid…>, /groups/<g>/posts/<id>/, /permalink.php?story_fbid=…&id=…
             (`story.php` is the same page under another name and becomes `permalink.php`)
  videos     /<page>/videos/<id>/, /watch/?v=<id> (also for `video.php?v=`), /reel/<id>
  photos     /photo/?fbid=<id>[&set=<album>] (also for `photo.php` and /<page>/photos/<set>/<id>)
  short      /share/p|v|r/<x>/ and https://fb.watch/<x>/ as given (they redirect)
For post forms only the parameters that select the content are kept (`CONTENT_PARAMS`);
Facebook ignores the others on those pages, and every dropped name is reported.
On other Facebook URLs only `TRACKING_PARAMS` are removed.

`Post.post_id` is the numeric story id for posts (a `pfbid…` link is an obfuscated,
changeable alias of it), the video id for videos and reels, the photo id for photos.
`likes` counts all reactions (Facebook's `reaction_count`), not only "Like".
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

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
from .common import as_count, as_dict, as_list, as_text, dig

NAME = "facebook"
ORIGIN = "https://www.facebook.com"

# Click, share and referral trackers Facebook and others append to post links.
TRACKING_PARAMS: tuple[str, ...] = (
    "__cft__*", "__tn__", "__xts__*", "__eep__", "mibextid", "rdid", "share_url", "sfnsn",
    "ref", "fref", "hc_ref", "hc_location", "comment_tracking", "paipv", "eav", "fbclid",
    "refid", "notif_id", "notif_t", "ref_component", "ref_page", "acontext", "extid",
    "wtsid", "_rdr", "_rdc", "app", "utm_*", "igshid",
)
# Parameters that say which post, video or photo a URL shows.
CONTENT_PARAMS: tuple[str, ...] = ("story_fbid", "id", "v", "fbid", "set")

_ID = r"(?:pfbid[A-Za-z0-9]+|\d+)"
_ID_RE = re.compile(rf"^{_ID}$")
# First path segments that are Facebook's own pages, never a page or person's name.
_RESERVED = frozenset(
    "login login.php logout.php recover checkpoint help privacy policies policy.php terms "
    "settings home.php marketplace gaming events hashtag search pages pg business ads "
    "notifications messages friends bookmarks saved stories dialog plugins sharer "
    "sharer.php share.php l.php flx legal about careers watch reel photo photo.php "
    "video.php permalink.php story.php profile.php groups share".split()
)

_REMOVED = re.compile(
    r"This content isn't available (?:right now|at the moment|at this time)"
    r"|This page isn't available(?: right now| at the moment)?"
    r"|This video (?:isn't available|is no longer available)(?: anymore)?"
    r"|The link you followed may be broken, or the page may have been removed"
    r"|Konten ini tidak tersedia(?: saat ini)?",
    re.I,
)
_WALLS = (
    (re.compile(r"You(?:'re| are) temporarily blocked|misusing this feature by going too fast"
                r"|Anda diblokir sementara", re.I), "rate limited"),
    (re.compile(r"You must log in (?:to continue|first)|Log in to continue"
                r"|Anda harus masuk untuk melanjutkan", re.I), "login wall"),
)
_LOGIN_FORM_IDS = {"login_form", "loginbutton"}
# Keys of a story object (as `_from_relay` tells a story from other objects with a post_id).
_STORY_KEYS = ("message", "actors", "attachments", "creation_time", "comet_sections",
               "feedback")
# Inside a story, the parts that are about other things than the story's own link: its
# authors, a shared post (`attached_story`), the text's mentions and hashtags.
_NOT_THE_STORY = frozenset({"attached_story", "actors", "owner", "message", "ranges",
                            "comet_ufi_summary_and_actions_renderer", "to"})


def _is_facebook_host(host: str) -> bool:
    return host == "facebook.com" or host.endswith(".facebook.com") or host in ("fb.com",
                                                                               "www.fb.com")


def _first(pairs: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in pairs if key == name and value), None)


class FacebookAdapter:
    """Facebook posts, videos, reels and photos."""

    name = NAME
    tracking_params = TRACKING_PARAMS

    # --- URLs -------------------------------------------------------------------------------

    def recognise(self, url: str) -> Recognised | None:
        read = self._read_url(url)
        return read[0] if read else None

    def _read_url(self, url: str) -> tuple[Recognised, str] | None:
        """The Recognised URL and its form: post, video, photo, short, profile or page."""
        parts = common.split_http_url(url)
        if parts is None:
            return None
        host, segs, pairs = parts.host, parts.segments, parts.pairs
        if host in ("fb.watch", "www.fb.watch") and len(segs) == 1:
            return self._claimed("short", f"https://fb.watch/{segs[0]}/", parts.query)
        if not _is_facebook_host(host):
            return None
        first = segs[0].lower() if segs else ""

        if first == "share" and 2 <= len(segs) <= 3:
            return self._claimed("short", f"{ORIGIN}/{'/'.join(segs)}/", parts.query)
        if first in ("permalink.php", "story.php"):
            story, owner = _first(pairs, "story_fbid"), _first(pairs, "id")
            if story and _ID_RE.match(story):
                keep = [("story_fbid", story)] + ([("id", owner)] if owner else [])
                return self._post(f"{ORIGIN}/permalink.php", keep, story, pairs), "post"
        if first in ("photo.php", "photo") and len(segs) == 1:
            fbid = _first(pairs, "fbid")
            if fbid and fbid.isdigit():
                album = _first(pairs, "set")
                keep = [("fbid", fbid)] + ([("set", album)] if album else [])
                return self._post(f"{ORIGIN}/photo/", keep, fbid, pairs), "photo"
        if first in ("watch", "video.php") or segs[:2] == ["video", "video.php"]:
            video = _first(pairs, "v") or _first(pairs, "video_id")
            if video and video.isdigit():
                return self._post(f"{ORIGIN}/watch/", [("v", video)], video, pairs), "video"
        if first == "reel" and len(segs) >= 2 and segs[1].isdigit():
            return self._post(f"{ORIGIN}/reel/{segs[1]}", [], segs[1], pairs), "video"
        if first == "groups" and len(segs) >= 4 and segs[2] in ("posts", "permalink"):
            if _ID_RE.match(segs[3]):
                path = f"{ORIGIN}/groups/{segs[1]}/posts/{segs[3]}/"
                return self._post(path, [], segs[3], pairs), "post"
        if first == "profile.php" and _first(pairs, "id"):
            return self._claimed("profile", f"{ORIGIN}/profile.php", parts.query)
        if len(segs) >= 3 and first not in _RESERVED:
            page, section, last = segs[0], segs[1].lower(), segs[-1]
            if section == "posts" and _ID_RE.match(segs[2]):
                return self._post(f"{ORIGIN}/{page}/posts/{segs[2]}", [], segs[2], pairs), "post"
            if section == "videos" and last.isdigit():
                return self._post(f"{ORIGIN}/{page}/videos/{last}/", [], last, pairs), "video"
            if section == "photos" and last.isdigit():
                keep = [("fbid", last)] + ([("set", segs[2])] if len(segs) >= 4 else [])
                return self._post(f"{ORIGIN}/photo/", keep, last, pairs), "photo"
        if len(segs) == 1 and first not in _RESERVED and re.fullmatch(r"[\w.\-]+", segs[0]):
            return self._claimed("profile", f"{ORIGIN}/{segs[0]}", parts.query)
        if first == "groups" and len(segs) == 2:
            return self._claimed("profile", f"{ORIGIN}/groups/{segs[1]}/", parts.query)
        return self._claimed("page", f"{ORIGIN}{parts.path}", parts.query)

    def _claimed(self, form: str, base: str, query: str) -> tuple[Recognised, str]:
        """A Facebook URL that names no post: only tracking parameters go."""
        return common.claimed(self, form, base, query), form

    def _post(
        self, base: str, keep: list[tuple[str, str]], post_id: str, pairs: list[tuple[str, str]]
    ) -> Recognised:
        kept_names = {name for name, _ in keep}
        removed = tuple(dict.fromkeys(name for name, _ in pairs if name not in kept_names))
        url = f"{base}?{common.encode_query(keep)}" if keep else base
        return Recognised(NAME, "post", url, post_id, removed)

    # --- a listing (a page or profile's timeline) ----------------------------------------------

    def listing(self, page_url: str, exchanges: list[Exchange]) -> Listing | None:
        """The posts a page or profile (`/<page>`) showed, in order. The first stories
        come in the page's Relay payloads (`data-sjs` scripts), the next ones in the
        `/api/graphql/` answers the page fetches as the visitor scrolls (streamed: one JSON
        document a line, a story each); the page and each answer with stories count as one
        page. A story is an object with `post_id` (and content): the outermost one is the
        timeline's, those inside it (its sections, a shared post) are not listed apart.
        Each is listed under the link it carries (`wwwURL`, `url`, `permalink_url`) with
        the id `extract` gives that link: the video or photo id for a video, reel or photo
        link, else the story's numeric `post_id` (also for `pfbid…` links). A story without
        a usable link is listed as `permalink.php?story_fbid=<post_id>&id=<author id>`.
        `has_more` is the timeline connection's `page_info.has_next_page` (beside its
        `edges`, or in a streamed `…page_info` part), the last one read."""
        seen = self._read_url(page_url)
        if seen is None or seen[1] != "profile":
            return None
        parts = urlsplit(seen[0].canonical_url)
        target = parts.path.rstrip("/").rsplit("/", 1)[-1]
        if target == "profile.php":  # a profile without a vanity name: its numeric id
            target = next((v for k, v in parse_qsl(parts.query) if k == "id"), target)
        found = Listing(NAME, "account", target, source="Relay data (data-sjs, /api/graphql/)")
        page = common.page_exchange(page_url, exchanges)
        pages: list[list[Any]] = []
        if page is not None and page.status == 200:
            document = common.read_document(page.text())
            pages.append([common.load_json(script.text) for script in document.scripts
                          if "data-sjs" in script.attrs])
        for exchange in exchanges:
            if exchange is not page and exchange.status == 200:
                pages.append(list(common.json_bodies([exchange])))
        for blobs in pages:
            stories: list[dict[str, Any]] = []
            more: bool | None = None
            for blob in blobs:
                found_here, said = _timeline_stories(blob)
                stories += found_here
                more = said if said is not None else more
            if not stories and more is None:
                continue
            found.pages += 1
            found.has_more = more if more is not None else found.has_more
            for story in stories:
                post = self._listed_post(story)
                if post and post[0] not in {i for i, _ in found.posts}:
                    found.posts.append(post)
        return found

    def _listed_post(self, story: dict[str, Any]) -> tuple[str, str] | None:
        """(post id, URL) for a timeline story, as `extract` would give them."""
        story_id = as_text(story.get("post_id"))
        if not story_id or not story_id.isdigit():  # a story's own id is numeric
            return None
        for link in _story_links(story):
            read = self._read_url(link)
            if read is None or read[0].kind != "post":
                continue
            recognised, form = read
            if form in ("video", "photo") and recognised.post_id:
                return recognised.post_id, recognised.canonical_url
            if recognised.post_id == story_id or (recognised.post_id or "").startswith("pfbid"):
                return story_id, recognised.canonical_url
        author = next((as_text(a.get("id")) for a in as_list(story.get("actors"))
                       if isinstance(a, dict) and as_text(a.get("id"))), None)
        if author is None:
            author = as_text(dig(story, "comet_sections", "content", "story", "actors", 0, "id"))
        query = common.encode_query([("story_fbid", story_id)] + (
            [("id", author)] if author else []))
        return story_id, f"{ORIGIN}/permalink.php?{query}"

    # --- the post -----------------------------------------------------------------------------

    def extract(self, page_url: str, exchanges: list[Exchange]) -> Outcome:
        page = common.page_or_outcome(page_url, exchanges, "Facebook")
        if isinstance(page, Outcome):
            return page
        document = common.read_document(page.text())
        target = self._read_url(page_url)

        post = self._from_relay(page_url, target, document, common.fetched_with(page, exchanges))
        if post is not None:
            return Outcome(CAPTURED, post)

        text = document.text.replace("\u2019", "'")
        removed = _REMOVED.search(text)
        if removed:
            return Outcome(UNAVAILABLE, None, removed.group(0))
        path = urlsplit(page_url).path
        if path.startswith(("/login", "/checkpoint", "/two_step_verification")):
            return Outcome(BLOCKED, None, f"login wall: redirected to {path}")
        for pattern, kind in _WALLS:
            wall = pattern.search(text)
            if wall:
                return Outcome(BLOCKED, None, f"{kind}: {wall.group(0)}")

        post = self._from_opengraph(target, document)
        if post is not None:
            return Outcome(CAPTURED, post)
        if document.ids & _LOGIN_FORM_IDS:
            return Outcome(BLOCKED, None, "login wall: a login form instead of the post")
        return common.status_outcome(page.status) or Outcome(CAPTURED, None, common.NO_POST)

    def _relay_data(self, document: common.Document, others: list[Exchange]
                    ) -> list[tuple[str, Any]]:
        found: list[tuple[str, Any]] = []
        for script in document.scripts:
            if "data-sjs" in script.attrs and "json" in script.attrs.get("type", "json"):
                value = common.load_json(script.text)
                if value is not None:
                    found.append(("data-sjs", value))
        for exchange in others:
            for value in common.json_bodies([exchange]):
                found.append((f"JSON response {urlsplit(exchange.url).path}", value))
        return found

    def _from_relay(
        self,
        page_url: str,
        target: tuple[Recognised, str] | None,
        document: common.Document,
        others: list[Exchange],
    ) -> Post | None:
        blobs = self._relay_data(document, others)
        wanted = {target[0].post_id} if target and target[0].post_id else set()
        stories: list[tuple[str, dict[str, Any]]] = []
        videos: list[tuple[str, dict[str, Any]]] = []
        for source, blob in blobs:
            for node in common.walk(blob):
                if isinstance(node.get("post_id"), str | int) and any(
                    k in node for k in ("message", "actors", "attachments", "creation_time",
                                        "comet_sections", "feedback")
                ):
                    stories.append((source, node))
                elif node.get("__typename") == "Video" and str(node.get("id")) in wanted:
                    videos.append((source, node))
        chosen = _choose_story(stories, wanted)
        if chosen is None and videos:
            source, video = videos[0]
            story = video.get("creation_story") or video.get("story")
            chosen = (source, story if isinstance(story, dict) else video)
        if chosen is None:
            return None
        source, root = chosen
        story_id = str(root.get("post_id") or "")
        scope = [root] + [n for _, n in stories if n is not root and story_id and
                          str(n.get("post_id")) == story_id]
        return self._post_from_story(page_url, target, root, scope, source)

    def _post_from_story(
        self,
        page_url: str,
        target: tuple[Recognised, str] | None,
        root: dict[str, Any],
        scope: list[dict[str, Any]],
        source: str,
    ) -> Post:
        nodes = [n for s in scope for n in common.walk(s)]
        message = next((n["message"] for n in nodes if isinstance(dig(n, "message", "text"),
                                                                  str)), None)
        caption = common.clean_text(message["text"]) if message else None
        media = _media(scope)
        if caption is None:
            saved = (dig(n, "savable_description", "text") for n in nodes)
            caption = common.clean_text(next((t for t in saved if isinstance(t, str)), None))
        actor = next((a[0] for n in nodes if isinstance(a := n.get("actors"), list) and a
                      and isinstance(a[0], dict) and a[0].get("name")), None)
        if actor is None:
            actor = next((n["owner"] for n in nodes if isinstance(n.get("owner"), dict)
                          and n["owner"].get("name")), None)
        actor = as_dict(actor)
        posted = next((iso for n in nodes for key in ("creation_time", "publish_time")
                       if (iso := common.iso_from_epoch(n.get(key)))), None)
        hashtags, mentions = _entities(message) if message else ([], [])

        recognised, form = target if target else (None, "page")
        if recognised is None or recognised.kind != "post":
            for n in nodes:
                for key in ("wwwURL", "url", "permalink_url"):
                    read = self._read_url(str(n.get(key) or ""))
                    if read and read[0].kind == "post":
                        recognised, form = read
                        break
                if recognised is not None and recognised.kind == "post":
                    break
        if form in ("video", "photo") and recognised is not None and recognised.post_id:
            post_id = recognised.post_id
        else:
            post_id = str(root.get("post_id") or (recognised.post_id if recognised else "")
                          or root.get("id") or "")
        url = recognised.canonical_url if recognised and recognised.kind == "post" else page_url

        return Post(
            platform=NAME,
            post_id=post_id,
            url=url,
            author_id=str(actor["id"]) if isinstance(actor.get("id"), str | int) else None,
            author_handle=_vanity(actor.get("url") or actor.get("profile_url")),
            author_name=as_text(actor.get("name")),
            caption=caption,
            posted_at=posted,
            views=_count(nodes, ("video_view_count",), ("play_count",)),
            likes=_count(nodes, ("reaction_count", "count"), ("reactors", "count"),
                         ("likers", "count")),
            comments=_count(nodes, ("comment_count", "total_count"), ("total_comment_count",),
                            ("comments", "total_count")),
            shares=_count(nodes, ("share_count", "count"), ("share_count_reduced",)),
            hashtags=hashtags or common.hashtags_in(caption),
            mentions=mentions or common.mentions_in(caption),
            media=media,
            language=_language(nodes),
            source=f"{source} Relay data (story {root.get('post_id') or root.get('id')})",
        )

    def _from_opengraph(
        self, target: tuple[Recognised, str] | None, document: common.Document
    ) -> Post | None:
        meta = document.meta
        description = document.meta_first("og:description", "twitter:description")
        video = document.meta_first("og:video:secure_url", "og:video:url", "og:video")
        read = target if target and target[0].kind == "post" else None
        if read is None:
            read = self._read_url(document.meta_first("og:url") or "")
            read = read if read and read[0].kind == "post" else None
        if read is None or not (description or video):
            return None
        media: list[Media] = []
        if video:
            media.append(Media(video, "video", as_count(document.meta_first("og:video:width")),
                               as_count(document.meta_first("og:video:height"))))
        for index, image in enumerate(meta.get("og:image", [])):
            sizes = (meta.get("og:image:width", []), meta.get("og:image:height", []))
            width = as_count(sizes[0][index]) if index < len(sizes[0]) else None
            height = as_count(sizes[1][index]) if index < len(sizes[1]) else None
            media.append(Media(image, "image", width, height))
        return common.opengraph_post(NAME, read[0].post_id or "", read[0].canonical_url,
                                     common.clean_text(description), media)


def _is_story(node: dict[str, Any]) -> bool:
    return isinstance(node.get("post_id"), str | int) and any(k in node for k in _STORY_KEYS)


def _timeline_stories(blob: Any) -> tuple[list[dict[str, Any]], bool | None]:
    """The outermost story objects of a Relay payload in document order, and what the
    timeline connection's `page_info` says about more (None: not said)."""
    stories: list[dict[str, Any]] = []
    more: bool | None = None
    label = as_text(dig(blob, "label")) or ""
    if "page_info" in label:  # a streamed part: `data.page_info` of the connection
        flag = dig(blob, "data", "page_info", "has_next_page")
        more = flag if isinstance(flag, bool) else None
    stack: list[Any] = [blob]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if _is_story(item):
                stories.append(item)
                continue
            edges = item.get("edges")
            flag = dig(item, "page_info", "has_next_page")
            if isinstance(flag, bool) and isinstance(edges, list) and any(
                    _is_story(as_dict(dig(e, "node"))) for e in edges):
                more = flag
            stack.extend(reversed([v for v in item.values() if isinstance(v, dict | list)]))
        elif isinstance(item, list):
            stack.extend(reversed([v for v in item if isinstance(v, dict | list)]))
    return stories, more


def _story_links(story: dict[str, Any]) -> list[str]:
    """The story's own links, shallowest first (its `wwwURL`, then the timestamp's `url`
    in the metadata section), leaving out its authors', a shared post's and mentions'."""
    links: list[str] = []
    queue: list[Any] = [story]
    index = 0
    while index < len(queue):
        item = queue[index]
        index += 1
        if isinstance(item, dict):
            for key in ("wwwURL", "url", "permalink_url"):
                if isinstance(item.get(key), str):
                    links.append(item[key])
            queue.extend(v for k, v in item.items()
                         if k not in _NOT_THE_STORY and isinstance(v, dict | list))
        elif isinstance(item, list):
            queue.extend(v for v in item if isinstance(v, dict | list))
    return links


def _choose_story(
    stories: list[tuple[str, dict[str, Any]]], wanted: set[str]
) -> tuple[str, dict[str, Any]] | None:
    """The page's own story: the one the URL names (by id, link or attached media). Only
    when the URL names no id is the first story with content taken: a page also carries
    other stories (suggestions, shared posts), and a post credited to the wrong story is
    worse than the OpenGraph fallback."""
    for source, story in stories:
        if str(story.get("post_id")) in wanted:
            return source, story
        links = " ".join(str(story.get(k) or "") for k in ("url", "wwwURL", "permalink_url"))
        if any(w and w in links for w in wanted):
            return source, story
    for source, story in stories:
        if any(str(n.get("id")) in wanted and n.get("__typename") in ("Video", "Photo")
               for n in common.walk(story.get("attachments"))):
            return source, story
    if wanted:
        return None
    for source, story in stories:
        if any(k in story for k in ("message", "attachments", "actors")):
            return source, story
    return None


def _media(scope: list[dict[str, Any]]) -> list[Media]:
    """Every photo and video attached to the story, once each, in page order (albums
    list each photo via `all_subattachments.nodes`)."""
    seen: set[str] = set()
    media: list[Media] = []
    for story in scope:
        for node in common.walk(story.get("attachments")):
            fields: dict[str, Any]
            kind = node.get("__typename")
            key = str(node.get("id") or "")
            if kind not in ("Photo", "Video") or not key or key in seen:
                continue
            if kind == "Video":
                fields = as_dict(node.get("videoDeliveryLegacyFields")) or node
                url = next((url for k in ("browser_native_hd_url", "playable_url_quality_hd",
                                          "browser_native_sd_url", "playable_url")
                            if (url := as_text(fields.get(k)))), None)
                if url:
                    seen.add(key)
                    millis = as_count(node.get("playable_duration_in_ms"))
                    seconds = node.get("length_in_second")
                    media.append(Media(
                        url, "video",
                        as_count(node.get("width") or node.get("original_width")),
                        as_count(node.get("height") or node.get("original_height")),
                        millis / 1000 if millis else
                        float(seconds) if isinstance(seconds, int | float) else None,
                    ))
            else:
                image = next((node[k] for k in ("image", "photo_image", "viewer_image")
                              if as_text(dig(node, k, "uri"))), None)
                if image:
                    seen.add(key)
                    media.append(Media(str(image["uri"]), "image", as_count(image.get("width")),
                                       as_count(image.get("height"))))
    return media


def _count(nodes: list[dict[str, Any]], *paths: tuple[str, ...]) -> int | None:
    for path in paths:
        for node in nodes:
            value = dig(node, *path)
            count = common.parse_count(value) if isinstance(value, str) else as_count(value)
            if count is not None:
                return count
    return None


def _utf16_slice(text: str, offset: int, length: int) -> str:
    """Facebook's ranges count UTF-16 code units (JavaScript strings), not characters."""
    raw = text.encode("utf-16-le")
    return raw[2 * offset: 2 * (offset + length)].decode("utf-16-le", errors="ignore")


def _entities(message: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Hashtags and mentions as Facebook marked them in `message.ranges`."""
    text = as_text(message.get("text")) or ""
    hashtags: list[str] = []
    mentions: list[str] = []
    for item in as_list(message.get("ranges")):
        offset, length = as_count(dig(item, "offset")), as_count(dig(item, "length"))
        entity = as_dict(dig(item, "entity"))
        if offset is None or length is None or offset < 0 or length <= 0:
            continue
        written = _utf16_slice(text, offset, length)
        if entity.get("__typename") == "Hashtag":
            hashtags.append(written.lstrip("#"))
        elif entity.get("__typename") in ("User", "Page", "Group"):
            mentions.append(_vanity(entity.get("url")) or written.lstrip("@"))
    return list(dict.fromkeys(hashtags)), list(dict.fromkeys(mentions))


def _vanity(url: Any) -> str | None:
    """`bawaslu.ri` from https://www.facebook.com/bawaslu.ri (not from profile.php?id=)."""
    if not isinstance(url, str):
        return None
    try:
        segs = [s for s in urlsplit(url).path.split("/") if s]
    except ValueError:
        return None
    if len(segs) == 1 and segs[0].lower() not in _RESERVED:
        return segs[0]
    return None


def _language(nodes: list[dict[str, Any]]) -> str | None:
    for node in nodes:
        dialect = as_text(dig(node, "translatability_for_viewer", "source_dialect"))
        if dialect:
            return dialect.replace("_", "-")
    return None


ADAPTER = FacebookAdapter()
