"""YouTube: video and community-post URLs, their canonical form, and the post read from
the watch page's `ytInitialPlayerResponse` and `ytInitialData`.

Canonical forms:
  videos  https://www.youtube.com/watch?v=<id> for every form that names a video:
          watch?v=, /shorts/, /live/, /embed/, /v/, youtu.be/, youtube-nocookie.com/embed/,
          m. and music. hosts. A Short is one video with one id and the same player data,
          so it gets the same canonical URL (one post, one URL); the requested URL keeps
          the /shorts/ form as evidence of how it was shared.
  posts   https://www.youtube.com/post/<id> (community posts, text and images)
Only `v` is kept for videos. Dropped and reported: the tracking parameters
(`TRACKING_PARAMS`) and the view parameters (`VIEW_PARAMS`: `t` start time, `list`
playlist context, player options), which change where or how the video plays, not which
video it is. Channel URLs are kind "profile"; other YouTube URLs kind "page" (tracking
removed only).

Status comes from `playabilityStatus`: ERROR/UNPLAYABLE (removed, private, terminated,
not available in your country) and age checks are UNAVAILABLE with YouTube's reason;
LOGIN_REQUIRED is UNAVAILABLE only when the reason says private or age-restricted,
otherwise (the "not a bot" check, unknown reasons) BLOCKED; so are a sensitive-content
interstitial (CONTENT_CHECK_REQUIRED) and "playback on other websites disabled" (an embed
refused, the video itself is up). The consent page (consent.youtube.com), Google's
"unusual traffic" page and HTTP 429 are BLOCKED. Reasons are matched in English and
Indonesian. An age-gated video keeps its metadata: UNAVAILABLE with the post.

`caption` is the title, a blank line, then the description. `hashtags` are the #tags of
that text (the `keywords` list holds hidden search tags, not hashtags). `likes` and
`comments` come from ytInitialData's buttons and may be abbreviated there ("1,2 rb"),
and then are only as exact as displayed. `language` is the spoken language YouTube's
speech recognition detected (the `asr` caption track), when there is one.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

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

NAME = "youtube"
ORIGIN = "https://www.youtube.com"

# Share, referral and campaign markers.
TRACKING_PARAMS: tuple[str, ...] = (
    "si", "feature", "pp", "ab_channel", "app", "embeds_*", "utm_*", "fbclid", "gclid",
    "source_ve_path", "kw", "cbrd", "ucbcb", "themeRefresh",
)
# Where or how a video plays, not which video it is (dropped from video URLs only).
VIEW_PARAMS: tuple[str, ...] = (
    "t", "start", "end", "list", "index", "start_radio", "rv", "lc", "autoplay", "mute",
    "loop", "playlist", "controls", "rel", "enablejsapi", "origin", "hl", "cc_load_policy",
    "modestbranding", "playsinline", "widget_referrer", "disablekb", "fs", "iv_load_policy",
)

_VIDEO_ID = re.compile(r"^[0-9A-Za-z_-]{11}$")
_POST_ID = re.compile(r"^Ug[0-9A-Za-z_-]{10,}$")
_VIDEO_HOSTS = ("youtube.com", "youtube-nocookie.com")
_PLAYER = re.compile(r"(?:window\s*\[\s*[\"']ytInitialPlayerResponse[\"']\s*\]"
                     r"|\bytInitialPlayerResponse)\s*=")
_DATA = re.compile(r"(?:window\s*\[\s*[\"']ytInitialData[\"']\s*\]|\bytInitialData)\s*=")
_BROWSE_PATH = re.compile(r"/youtubei/v1/browse/?$")
_BOT = ("not a bot", "bukan bot", "unusual traffic")
_PRIVATE = ("private", "pribadi")
_AGE = ("confirm your age", "age-restricted", "inappropriate", "usia", "age_check",
        "age_verification")
_EMBED_OFF = ("other websites", "situs lain", "embedding", "disematkan")


def _text(value: Any) -> str | None:
    """YouTube's text objects: a string, `{simpleText}`, `{runs: [{text}]}`, `{content}`."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("simpleText"), str):
        return value["simpleText"]
    if isinstance(value.get("content"), str):
        return value["content"]
    runs = value.get("runs")
    if isinstance(runs, list):
        joined = "".join(r["text"] for r in runs
                         if isinstance(r, dict) and isinstance(r.get("text"), str))
        return joined or None
    return None


def _handle(url: Any) -> str | None:
    """`bawaslu_ri` from http://www.youtube.com/@bawaslu_ri or `/@bawaslu_ri`."""
    if not isinstance(url, str):
        return None
    match = re.search(r"/@([\w.\-%]+)", url)
    return unquote(match.group(1)) if match else None


class YoutubeAdapter:
    """YouTube videos (including Shorts and lives) and community posts."""

    name = NAME
    tracking_params = TRACKING_PARAMS

    # --- URLs -----------------------------------------------------------------------------

    def recognise(self, url: str) -> Recognised | None:
        parts = common.split_http_url(url)
        if parts is None:
            return None
        host, segs, pairs = parts.host, parts.segments, parts.pairs
        if host in ("youtu.be", "www.youtu.be"):
            if segs and _VIDEO_ID.match(segs[0]):
                return self._video(segs[0], pairs)
            return None
        if not any(host == h or host.endswith("." + h) for h in _VIDEO_HOSTS):
            return None
        first = segs[0] if segs else ""
        if first in ("watch", "watch_popup") or (not segs and "v" in dict(pairs)):
            video = dict(pairs).get("v", "")
            if _VIDEO_ID.match(video):
                return self._video(video, pairs)
        if first in ("shorts", "live", "embed", "v", "e") and len(segs) >= 2:
            if _VIDEO_ID.match(segs[1]):
                return self._video(segs[1], pairs)
        if first == "post" and len(segs) >= 2 and _POST_ID.match(segs[1]):
            removed = tuple(dict.fromkeys(n for n, _ in pairs))
            return Recognised(NAME, "post", f"{ORIGIN}/post/{segs[1]}", segs[1], removed)
        if first == "channel" and len(segs) >= 2 and segs[1].startswith("UC"):
            return common.claimed(self, "profile", f"{ORIGIN}/channel/{segs[1]}", parts.query)
        if first.startswith("@") and len(first) > 1:
            return common.claimed(self, "profile", f"{ORIGIN}/{first}", parts.query)
        if first in ("c", "user") and len(segs) >= 2:
            return common.claimed(self, "profile", f"{ORIGIN}/{first}/{segs[1]}", parts.query)
        return common.claimed(self, "page", f"{ORIGIN}{parts.path}", parts.query)

    def _video(self, video_id: str, pairs: list[tuple[str, str]]) -> Recognised:
        removed = tuple(dict.fromkeys(n for n, _ in pairs if n != "v"))
        return Recognised(NAME, "post", f"{ORIGIN}/watch?v={video_id}", video_id, removed)

    # --- a listing (a channel's videos) -----------------------------------------------------

    def listing(self, page_url: str, exchanges: list[Exchange]) -> Listing | None:
        """The videos a channel's Videos tab (`/@<handle>/videos`, also `/channel/<id>/
        videos`) showed, in order (newest first, as the tab opens). The first ones are in
        the page's `ytInitialData` (`contents.twoColumnBrowseResultsRenderer.tabs[]
        .tabRenderer.content.richGridRenderer.contents[]`), the next ones in the
        `/youtubei/v1/browse` answers the page fetches as the visitor scrolls
        (`onResponseReceivedActions[].appendContinuationItemsAction.continuationItems`).
        An item is a `richItemRenderer` whose content is a `videoRenderer` (`videoId`) or,
        on newer pages, a video `lockupViewModel` (`contentId`). The page and each answer
        count as one page; a `continuationItemRenderer` at the end of the last one read
        means YouTube has more (`has_more`). A channel's other tabs are not read."""
        seen = self.recognise(page_url)
        if seen is None or seen.kind != "profile":
            return None
        target = seen.canonical_url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        found = Listing(NAME, "account", target.lstrip("@"),
                        source="ytInitialData + youtubei/v1/browse")
        page = common.page_exchange(page_url, exchanges)
        results: list[list[Any]] = []
        if page is not None and page.status == 200:
            data = common.json_after(page.text(), _DATA)
            tabs = as_list(dig(data, "contents", "twoColumnBrowseResultsRenderer", "tabs"))
            grids = [as_dict(dig(t, "tabRenderer", "content", "richGridRenderer"))
                     for t in tabs]
            selected = [g for t, g in zip(tabs, grids, strict=True)
                        if g and dig(t, "tabRenderer", "selected") is True]
            grid = next(iter(selected or [g for g in grids if g]), None)
            if grid is not None:
                results.append(as_list(grid.get("contents")))
        for exchange in exchanges:
            if (exchange is page or exchange.status != 200
                    or not _BROWSE_PATH.search(urlsplit(exchange.url).path)):
                continue
            for body in common.json_bodies([exchange]):
                actions = as_list(as_dict(body).get("onResponseReceivedActions")) + as_list(
                    as_dict(body).get("onResponseReceivedEndpoints"))
                items = [i for a in actions for i in as_list(dig(
                    a, "appendContinuationItemsAction", "continuationItems"))]
                if items:
                    results.append(items)
        for items in results:
            found.pages += 1
            found.has_more = False
            for item in items:
                item = as_dict(item)
                if "continuationItemRenderer" in item:
                    found.has_more = True
                    continue
                video_id = _listed_video(as_dict(dig(item, "richItemRenderer", "content")))
                if video_id and video_id not in {i for i, _ in found.posts}:
                    found.posts.append((video_id, f"{ORIGIN}/watch?v={video_id}"))
        return found

    # --- the post -------------------------------------------------------------------------

    def extract(self, page_url: str, exchanges: list[Exchange]) -> Outcome:
        page = common.page_or_outcome(page_url, exchanges, "YouTube")
        if isinstance(page, Outcome):
            return page
        html = page.text()
        target = self.recognise(page_url)
        player = common.json_after(html, _PLAYER)
        data = common.json_after(html, _DATA)
        # the app's own /youtubei/v1/player and /next answers
        for body in common.json_bodies(common.fetched_with(page, exchanges)):
            if not isinstance(body, dict):
                continue
            if player is None and ("playabilityStatus" in body or "videoDetails" in body):
                player = body
            elif data is None and ("contents" in body or "engagementPanels" in body):
                data = body

        if target and target.kind == "post" and target.post_id and target.post_id.startswith(
                "Ug"):
            outcome = self._community_post(target, data)
            if outcome is not None:
                return outcome
        elif isinstance(player, dict) and (player.get("videoDetails")
                                           or player.get("playabilityStatus")):
            status, reason = _playability(as_dict(player.get("playabilityStatus")))
            post = self._video_post(target, player, data)
            if status != CAPTURED or post is not None:
                return Outcome(status, post, reason)

        document = common.read_document(html)
        wall = _wall(page_url, html, document, exchanges)
        if wall:
            return Outcome(BLOCKED, None, wall)
        alert = _error_alert(data)
        if alert:
            return Outcome(UNAVAILABLE, None, alert)
        post = self._from_opengraph(target, document)
        if post is not None:
            return Outcome(CAPTURED, post)
        return common.status_outcome(page.status) or Outcome(CAPTURED, None, common.NO_POST)

    def _video_post(
        self, target: Recognised | None, player: dict[str, Any], data: Any
    ) -> Post | None:
        details = as_dict(player.get("videoDetails"))
        micro = as_dict(dig(player, "microformat", "playerMicroformatRenderer"))
        video_id = as_text(details.get("videoId")) or (target.post_id if target else None)
        if not video_id or not (details or micro):
            return None
        title = common.clean_text(details.get("title") or _text(micro.get("title")))
        description = common.clean_text(details.get("shortDescription")
                                        or _text(micro.get("description")))
        caption = "\n\n".join(t for t in (title, description) if t) or None
        handle = _handle(micro.get("ownerProfileUrl")) or _owner_handle(data)
        duration = as_count(details.get("lengthSeconds") or micro.get("lengthSeconds"))
        media: list[Media] = []
        for fmt in as_list(dig(player, "streamingData", "formats")):
            if isinstance(fmt, dict) and isinstance(fmt.get("url"), str):
                millis = as_count(fmt.get("approxDurationMs"))
                media.append(Media(fmt["url"], "video", as_count(fmt.get("width")),
                                   as_count(fmt.get("height")),
                                   millis / 1000 if millis else duration))
        thumbs = [t for t in as_list(dig(details, "thumbnail", "thumbnails")) or
                  as_list(dig(micro, "thumbnail", "thumbnails")) if isinstance(t, dict) and
                  isinstance(t.get("url"), str)]
        if thumbs:
            best = max(thumbs, key=lambda t: (as_count(t.get("width")) or 0))
            media.append(Media(best["url"], "image", as_count(best.get("width")),
                               as_count(best.get("height"))))
        return Post(
            platform=NAME,
            post_id=video_id,
            url=f"{ORIGIN}/watch?v={video_id}",
            author_id=as_text(details.get("channelId")) or as_text(micro.get("externalChannelId")),
            author_handle=handle,
            author_name=as_text(details.get("author")) or as_text(micro.get("ownerChannelName")),
            caption=caption,
            posted_at=common.iso_from_text(micro.get("publishDate"))
            or common.iso_from_text(micro.get("uploadDate"))
            or common.iso_from_text(dig(micro, "liveBroadcastDetails", "startTimestamp")),
            views=as_count(details.get("viewCount")) or as_count(micro.get("viewCount")),
            likes=_likes(data),
            comments=_comments(data),
            hashtags=common.hashtags_in(caption),
            mentions=common.mentions_in(description),
            media=media,
            language=_spoken_language(player),
            source="ytInitialPlayerResponse" + (" + ytInitialData" if data else ""),
        )

    def _community_post(self, target: Recognised, data: Any) -> Outcome | None:
        renderers = [n["backstagePostRenderer"] for n in common.walk(data)
                     if isinstance(n.get("backstagePostRenderer"), dict)]
        post = next((r for r in renderers if r.get("postId") == target.post_id),
                    renderers[0] if renderers else None)
        if post is None:
            return None
        runs = as_list(dig(post, "contentText", "runs"))
        caption = common.clean_text(_text(post.get("contentText")))
        tagged = [r["text"].lstrip("#") for r in runs if isinstance(r, dict) and
                  isinstance(r.get("text"), str) and r["text"].startswith("#")
                  and "navigationEndpoint" in r]
        endpoint = as_dict(dig(post, "authorEndpoint", "browseEndpoint"))
        media: list[Media] = []
        for image in common.walk(post.get("backstageAttachment")):
            thumbs = dig(image, "backstageImageRenderer", "image", "thumbnails")
            usable = [t for t in as_list(thumbs) if isinstance(t, dict) and as_text(t.get("url"))]
            if usable:
                best = max(usable, key=lambda t: as_count(t.get("width")) or 0)
                media.append(Media(best["url"], "image", as_count(best.get("width")),
                                   as_count(best.get("height"))))
        post_id = as_text(post.get("postId")) or target.post_id or ""
        return Outcome(CAPTURED, Post(
            platform=NAME,
            post_id=post_id,
            url=f"{ORIGIN}/post/{post_id}",
            author_id=as_text(endpoint.get("browseId")),
            author_handle=_handle(endpoint.get("canonicalBaseUrl")),
            author_name=_text(post.get("authorText")),
            caption=caption,
            likes=common.parse_count(_text(post.get("voteCount"))),
            comments=common.parse_count(_text(dig(
                post, "actionButtons", "commentActionButtonsRenderer", "replyButton",
                "buttonRenderer", "text"))),
            hashtags=list(dict.fromkeys(tagged)) or common.hashtags_in(caption),
            mentions=common.mentions_in(caption),
            media=media,
            source="ytInitialData backstagePostRenderer",
        ))

    def _from_opengraph(self, target: Recognised | None, document: common.Document) -> Post | None:
        meta = document.meta_first
        title = meta("og:title", "title")
        if target is None or target.kind != "post" or not target.post_id or not title:
            return None
        description = meta("og:description", "description")
        caption = "\n\n".join(common.clean_text(t) or "" for t in (title, description) if t)
        image = meta("og:image")
        media = [Media(image, "image", as_count(meta("og:image:width")),
                       as_count(meta("og:image:height")))] if image else []
        return Post(
            platform=NAME,
            post_id=target.post_id,
            url=target.canonical_url,
            author_id=meta("channelid"),
            caption=caption or None,
            posted_at=common.iso_from_text(meta("datepublished", "uploaddate")),
            views=as_count(meta("interactioncount")),
            hashtags=common.hashtags_in(caption),
            mentions=common.mentions_in(description),
            media=media,
            source="opengraph",
        )


def _listed_video(content: dict[str, Any]) -> str | None:
    """The video id of a grid item's content (`videoRenderer`, or a `lockupViewModel` of
    a video: playlists and other lockups are not posts)."""
    video_id = as_text(dig(content, "videoRenderer", "videoId"))
    lockup = as_dict(content.get("lockupViewModel"))
    if video_id is None and lockup.get("contentType") in (None, "LOCKUP_CONTENT_TYPE_VIDEO"):
        video_id = as_text(lockup.get("contentId"))
    return video_id if video_id and _VIDEO_ID.match(video_id) else None


def _playability(status: dict[str, Any]) -> tuple[str, str | None]:
    code = status.get("status")
    screen = as_dict(dig(status, "errorScreen", "playerErrorMessageRenderer"))
    reason = (_text(status.get("reason")) or _text(screen.get("reason"))
              or next((m for m in as_list(status.get("messages")) if isinstance(m, str)), None))
    sub = _text(screen.get("subreason"))
    said = " — ".join(common.clean_text(t) or "" for t in (reason, sub) if t) or None
    low = (said or "").lower()
    if code in (None, "OK", "LIVE_STREAM_OFFLINE"):
        return CAPTURED, None
    if any(w in low for w in _BOT):
        return BLOCKED, said
    if code in ("AGE_CHECK_REQUIRED", "AGE_VERIFICATION_REQUIRED") or (
        status.get("desktopLegacyAgeGateReason")
    ):
        return UNAVAILABLE, said or "age-restricted"
    if code == "LOGIN_REQUIRED":
        if any(w in low for w in _PRIVATE + _AGE):
            return UNAVAILABLE, said
        return BLOCKED, f"login required: {said}" if said else "login required"
    if code == "CONTENT_CHECK_REQUIRED":
        return BLOCKED, f"content warning to confirm: {said}" if said else "content warning"
    if code in ("ERROR", "UNPLAYABLE"):
        if any(w in low for w in _EMBED_OFF):
            return BLOCKED, said
        return UNAVAILABLE, said or "Video unavailable"
    return CAPTURED, f"unknown playability status {code}: {said}"


def _wall(page_url: str, html: str, document: common.Document, exchanges: list[Exchange]
          ) -> str | None:
    hosts = {parts.host for url in [page_url, *(e.url for e in exchanges)]
             if (parts := common.split_http_url(url))}
    if "consent.youtube.com" in hosts or "consent.google.com" in hosts or (
        "consent.youtube.com/save" in html
    ):
        words = document.title
        return f"consent wall: {words}" if words else "consent wall (consent.youtube.com)"
    if any(urlsplit(e.url).path.startswith("/sorry/") for e in exchanges) or (
        "/sorry/" in urlsplit(page_url).path
    ):
        return "captcha: Google's unusual-traffic page"
    return None


def _error_alert(data: Any) -> str | None:
    for node in common.walk(dig(data, "alerts")):
        alert = node.get("alertRenderer")
        if isinstance(alert, dict) and alert.get("type") == "ERROR":
            return common.clean_text(_text(alert.get("text"))) or "YouTube reported an error"
    return None


def _owner_handle(data: Any) -> str | None:
    for node in common.walk(data):
        owner = node.get("videoOwnerRenderer") or node.get("reelPlayerHeaderRenderer")
        if isinstance(owner, dict):
            for inner in common.walk(owner):
                handle = _handle(dig(inner, "browseEndpoint", "canonicalBaseUrl"))
                if handle:
                    return handle
    return None


def _likes(data: Any) -> int | None:
    """The like count, exact where the page gives it (accessibility text, `likeCount`),
    else the abbreviated button title."""
    abbreviated: int | None = None
    for node in common.walk(data):
        model = node.get("segmentedLikeDislikeButtonViewModel")
        if isinstance(model, dict):
            button = as_dict(dig(model, "likeButtonViewModel", "likeButtonViewModel",
                             "toggleButtonViewModel", "toggleButtonViewModel",
                             "defaultButtonViewModel", "buttonViewModel"))
            exact = common.parse_count(as_text(button.get("accessibilityText")))
            if exact is not None:
                return exact
            abbreviated = abbreviated or common.parse_count(as_text(button.get("title")))
        renderer = node.get("likeButtonRenderer")
        if isinstance(renderer, dict) and as_count(renderer.get("likeCount")) is not None:
            return as_count(renderer.get("likeCount"))
        toggle = node.get("toggleButtonRenderer")
        if isinstance(toggle, dict) and dig(toggle, "defaultIcon", "iconType") == "LIKE":
            label = as_text(dig(toggle, "defaultText", "accessibility", "accessibilityData",
                               "label"))
            if common.parse_count(label) is not None:
                return common.parse_count(label)
    return abbreviated


def _comments(data: Any) -> int | None:
    for node in common.walk(data):
        panel = node.get("engagementPanelSectionListRenderer")
        if isinstance(panel, dict) and "comments" in str(panel.get("panelIdentifier", "")):
            info = dig(panel, "header", "engagementPanelTitleHeaderRenderer", "contextualInfo")
            count = common.parse_count(_text(info))
            if count is not None:
                return count
        header = node.get("commentsEntryPointHeaderRenderer")
        if isinstance(header, dict):
            count = common.parse_count(_text(header.get("commentCount")))
            if count is not None:
                return count
    return None


def _spoken_language(player: dict[str, Any]) -> str | None:
    tracks = as_list(dig(player, "captions", "playerCaptionsTracklistRenderer", "captionTracks"))
    for track in tracks:
        if isinstance(track, dict) and track.get("kind") == "asr":
            code = track.get("languageCode")
            return code if isinstance(code, str) else None
    return None


ADAPTER = YoutubeAdapter()
