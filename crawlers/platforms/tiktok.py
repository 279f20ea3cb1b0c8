"""TikTok: post links in all their forms, and the post read from the recorded page.

The web page carries the post as JSON in `<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__">`
(`__DEFAULT_SCOPE__["webapp.video-detail"]`: `itemInfo.itemStruct`, or `statusCode` and
`statusMsg` when there is no post); pages served before 2023 used `SIGI_STATE`
(`ItemModule`). OpenGraph tags are the last resort. A removed or private post is said in
`statusCode`; a captcha or bot challenge page carries no data at all, so it is "blocked",
never "removed".
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

MAIN_HOST = "www.tiktok.com"
_HOSTS = {"tiktok.com", "www.tiktok.com", "m.tiktok.com", "tiktokv.com", "www.tiktokv.com"}
_SHORT_HOSTS = {"vm.tiktok.com", "vt.tiktok.com"}

_POST_PATHS = (
    re.compile(r"/@(?P<user>[\w.-]*)/(?P<kind>video|photo)/(?P<id>\d+)(?:/.*)?"),
    re.compile(r"/(?:share/)?video/(?P<id>\d+)(?:/.*)?"),
    re.compile(r"/embed(?:/v2)?/(?P<id>\d+)(?:/.*)?"),
    re.compile(r"/v/(?P<id>\d+)(?:\.html)?/?"),  # m.tiktok.com/v/ID.html
)
_SHORT_PATH = re.compile(r"/(?:t/)?(?P<code>[A-Za-z0-9]+)/?")
_PROFILE_PATH = re.compile(r"/@(?P<user>[\w.-]+)/?")
_TAG_PATH = re.compile(r"/tag/(?P<tag>[^/]+)/?")
_ITEM_DETAIL_PATH = re.compile(r"/api/item/detail/?")

# statusCode values of webapp.video-detail that are TikTok saying there is no post to
# show (as yt-dlp's extractor and TikTok-Api read them). 10204 is also reported for posts
# withheld from some regions; the reason carries TikTok's own statusMsg either way.
_UNAVAILABLE_STATUS = {
    10204: "Video currently unavailable",
    10216: "This post is private",
    10222: "This account is private",
    10219: "This video is not available in your region",
}

# Share and attribution parameters the app and web add to links. Everything else is kept:
# a parameter we do not know might change what is shown (e.g. `lang`).
TRACKING_PARAMS = (
    "_r", "_t", "_d", "is_from_webapp", "is_copy_url", "sender_device", "sender_web_id",
    "web_id", "share_*", "social_share_type", "u_code", "ug_btm", "ugbiz_name", "utm_*",
    "tt_from", "checksum", "enable_checksum", "timestamp", "user_id", "sec_user_id",
    "source", "refer", "referer_url", "referer_video_id", "enter_from", "enter_method",
    "preview_pb",
)  # fmt: skip

_CHALLENGE_IDS = {"captcha_container", "captcha-verify-container", "tiktok-verify-ele"}
_CHALLENGE_TEXTS = ("verify to continue", "drag the slider", "security check")
# Older pages assign the state in a script (`window['SIGI_STATE']={...}`): the state is the
# script's first object, as yt-dlp reads it.
_FIRST_OBJECT = re.compile(r"^[^{]*")


_ITEM_LIST = re.compile(r"/api/(?:challenge|post)/item_list/")


def post_url(handle: str | None, post_id: str, kind: str = "video") -> str:
    """TikTok's own form of a post link; without the author, TikTok resolves `@`."""
    return f"https://{MAIN_HOST}/@{handle or ''}/{kind}/{post_id}"


def _https(url: Any) -> str | None:
    url = as_text(url)
    if url and url.startswith("//"):
        return "https:" + url
    return url if url and url.startswith(("https://", "http://")) else None


class TikTokAdapter:
    name = "tiktok"
    tracking_params = TRACKING_PARAMS

    # -- links --------------------------------------------------------------------------

    def recognise(self, url: str) -> Recognised | None:
        parts = common.split_http_url(url, self.tracking_params)
        if parts is None or parts.host not in _HOSTS | _SHORT_HOSTS:
            return None
        if parts.host in _SHORT_HOSTS or parts.path.startswith("/t/"):
            short = _SHORT_PATH.fullmatch(parts.path)
            if short is None:
                return None
            prefix = "/t" if parts.path.startswith("/t/") else ""
            host = parts.host if parts.host in _SHORT_HOSTS else MAIN_HOST
            return parts.recognised(self, "short", f"https://{host}{prefix}/{short['code']}/")
        for pattern in _POST_PATHS:
            found = pattern.fullmatch(parts.path)
            if found:
                groups = found.groupdict()
                canonical = post_url(groups.get("user"), found["id"], groups.get("kind") or "video")
                return parts.recognised(self, "post", canonical, found["id"])
        if found := _PROFILE_PATH.fullmatch(parts.path):
            return parts.recognised(self, "profile", f"https://{MAIN_HOST}/@{found['user']}")
        if found := _TAG_PATH.fullmatch(parts.path):
            return parts.recognised(self, "hashtag", f"https://{MAIN_HOST}/tag/{found['tag']}")
        return parts.recognised(self, "page", f"https://{MAIN_HOST}{parts.path}")

    # -- a listing (hashtag, account) ---------------------------------------------------

    def listing(self, page_url: str, exchanges: list[Exchange]) -> Listing | None:
        """The posts a hashtag or account page showed, in order: TikTok's pages load them
        by XHR (`/api/challenge/item_list/`, `/api/post/item_list/`), page by page as
        the visitor scrolls; each response read is one page of the listing."""
        seen = self.recognise(page_url)
        if seen is None or seen.kind not in ("hashtag", "profile"):
            return None
        kind = "hashtag" if seen.kind == "hashtag" else "account"
        target = seen.canonical_url.rstrip("/").rsplit("/", 1)[-1].lstrip("@")
        found = Listing(self.name, kind, target, source="item_list")
        api = [ex for ex in exchanges if _ITEM_LIST.search(ex.url) and ex.status == 200]
        for body in common.json_bodies(api):
            found.pages += 1
            for item in as_list(as_dict(body).get("itemList")):
                item = as_dict(item)
                post_id = as_text(item.get("id"))
                handle = as_text(dig(item, "author", "uniqueId"))
                if post_id and post_id not in {i for i, _ in found.posts}:
                    kind_of = "photo" if item.get("imagePost") else "video"
                    found.posts.append((post_id, post_url(handle, post_id, kind_of)))
            more = as_dict(body).get("hasMore")
            found.has_more = bool(more) if more is not None else found.has_more
        return found

    # -- the post -------------------------------------------------------------------------

    def extract(self, page_url: str, exchanges: list[Exchange]) -> Outcome:
        page = common.page_exchange(page_url, exchanges)
        if page is None:
            return Outcome(CAPTURED, None, common.NO_POST)
        if page.status == 429:
            return Outcome(BLOCKED, None, "TikTok is rate limiting (HTTP 429)")
        parts = common.split_http_url(page_url)
        if parts and parts.path.rstrip("/") == "/login":
            return Outcome(BLOCKED, None, "TikTok redirected to its login page")
        document = common.read_document(page.text())
        recognised = self.recognise(page_url)
        wanted = recognised.post_id if recognised else None

        outcome = self._from_universal_data(document)
        if outcome is None:
            outcome = self._from_sigi_state(document, wanted)
        if outcome is None or (outcome.status == CAPTURED and outcome.post is None):
            outcome = self._from_item_detail(exchanges) or outcome
        if outcome is not None and (outcome.post is not None or outcome.status != CAPTURED):
            return outcome
        if blocked := self._challenge(document):
            return Outcome(BLOCKED, None, blocked)
        if fallback := self._from_opengraph(document, recognised):
            return Outcome(CAPTURED, fallback)
        return outcome or Outcome(CAPTURED, None, common.NO_POST)

    def _from_universal_data(self, document: common.Document) -> Outcome | None:
        for script in document.scripts_where(id="__UNIVERSAL_DATA_FOR_REHYDRATION__"):
            detail = dig(common.load_json(script.text), "__DEFAULT_SCOPE__", "webapp.video-detail")
            if not isinstance(detail, dict):
                continue
            item = dig(detail, "itemInfo", "itemStruct")
            if isinstance(item, dict) and as_text(item.get("id")):
                post = self._post(item, "__UNIVERSAL_DATA_FOR_REHYDRATION__")
                if item.get("isContentClassified") is True and not self._has_media(item):
                    return Outcome(UNAVAILABLE, post, "Age-restricted: TikTok shows this post "
                                   "only to signed-in adults (isContentClassified)")
                return Outcome(CAPTURED, post)
            return self._status_outcome(detail.get("statusCode"), detail.get("statusMsg"))
        return None

    def _from_item_detail(self, exchanges: list[Exchange]) -> Outcome | None:
        """The web app's own `/api/item/detail/` answer, when the page fetched one."""
        for exchange in exchanges:
            parts = common.split_http_url(exchange.url)
            if parts is None or parts.host not in _HOSTS or not _ITEM_DETAIL_PATH.fullmatch(
                    parts.path):
                continue
            answer = as_dict(common.load_json(exchange.body))
            item = dig(answer, "itemInfo", "itemStruct")
            if isinstance(item, dict) and as_text(item.get("id")):
                return Outcome(CAPTURED, self._post(item, "api/item/detail"))
            if found := self._status_outcome(answer.get("statusCode"), answer.get("statusMsg")):
                return found
        return None

    @staticmethod
    def _status_outcome(code: Any, message: Any) -> Outcome | None:
        if not isinstance(code, int) or code == 0:
            return None
        said = f": {message}" if as_text(message) else ""
        if code in _UNAVAILABLE_STATUS:
            return Outcome(UNAVAILABLE, None,
                           f"{_UNAVAILABLE_STATUS[code]}{said} (TikTok statusCode {code})")
        # A code we do not know is not a claim of removal; the capture still stands.
        return Outcome(CAPTURED, None, f"{common.NO_POST} (TikTok statusCode {code}{said})")

    def _from_sigi_state(self, document: common.Document, wanted: str | None) -> Outcome | None:
        for attrs in ({"id": "SIGI_STATE"}, {"id": "sigi-persisted-data"}):
            for script in document.scripts_where(**attrs):
                state = (common.load_json(script.text)
                         or common.json_after(script.text, _FIRST_OBJECT))
                items = as_dict(dig(state, "ItemModule"))
                item = items.get(wanted) if wanted else None
                if not isinstance(item, dict):
                    item = next((v for v in items.values() if isinstance(v, dict)), None)
                if item and as_text(item.get("id")):
                    users = as_dict(dig(state, "UserModule", "users"))
                    return Outcome(CAPTURED, self._post(item, "SIGI_STATE", users))
        return None

    @staticmethod
    def _has_media(item: dict[str, Any]) -> bool:
        video = as_dict(item.get("video"))
        return bool(video.get("playAddr") or video.get("downloadAddr") or item.get("imagePost"))

    def _post(self, item: dict[str, Any], source: str, users: dict[str, Any] | None = None
              ) -> Post:
        post_id = str(item["id"])
        author = item.get("author")
        if isinstance(author, dict):
            handle, author_id = as_text(author.get("uniqueId")), as_text(author.get("id"))
            name = as_text(author.get("nickname"))
        else:  # SIGI_STATE: the author is the handle, details in UserModule
            handle = as_text(author)
            user = as_dict((users or {}).get(handle or ""))
            author_id = as_text(item.get("authorId")) or as_text(user.get("id"))
            name = as_text(item.get("nickname")) or as_text(user.get("nickname"))
        caption = item.get("desc") if isinstance(item.get("desc"), str) else None
        stats, stats_v2 = as_dict(item.get("stats")), as_dict(item.get("statsV2"))

        def count(key: str) -> int | None:
            # statsV2 holds exact counts as strings; stats may be rounded or missing
            exact = as_count(stats_v2.get(key))
            return exact if exact is not None else as_count(stats.get(key))

        extras = as_list(item.get("textExtra"))
        hashtags = common.unique(
            [as_text(e.get("hashtagName")) or "" for e in extras if isinstance(e, dict)]
            + [as_text(c.get("title")) or "" for c in as_list(item.get("challenges"))
               if isinstance(c, dict)]
        ) or common.hashtags_in(caption)
        mentions = common.unique(
            [as_text(e.get("userUniqueId")) or "" for e in extras if isinstance(e, dict)]
        ) or common.mentions_in(caption)
        music = as_dict(item.get("music"))
        media = self._media(item)
        kind = "photo" if any(m.type == "image" for m in media) else "video"
        language = as_text(item.get("textLanguage"))
        return Post(
            platform=self.name,
            post_id=post_id,
            url=post_url(handle, post_id, kind),
            author_id=author_id,
            author_handle=handle,
            author_name=name,
            caption=caption,
            posted_at=common.iso_from_epoch(item.get("createTime")),
            views=count("playCount"),
            likes=count("diggCount"),
            comments=count("commentCount"),
            shares=count("shareCount"),
            hashtags=hashtags,
            mentions=mentions,
            music=common.music_label(as_text(music.get("title")), as_text(music.get("authorName"))),
            media=media,
            language=language if language and language != "un" else None,
            source=source,
        )

    @staticmethod
    def _media(item: dict[str, Any]) -> list[Media]:
        images = as_list(dig(item, "imagePost", "images"))
        if images:  # photo mode: every image, then the sound that plays over them
            media = []
            for image in images:
                url = _https(dig(image, "imageURL", "urlList", 0))
                if url:
                    media.append(Media(url, "image", as_count(dig(image, "imageWidth")),
                                       as_count(dig(image, "imageHeight"))))
            if audio := _https(dig(item, "music", "playUrl")):
                duration = as_seconds(dig(item, "music", "duration"))
                media.append(Media(audio, "audio", duration_s=duration))
            return media
        video = as_dict(item.get("video"))
        play = video.get("playAddr")
        if isinstance(play, list):  # newer pages: [{"src": ...}, ...]
            play = dig(play, 0, "src")
        url = (
            _https(play)
            or _https(video.get("downloadAddr"))
            or _https(dig(video, "bitrateInfo", 0, "PlayAddr", "UrlList", 0))
        )
        if not url:
            return []
        return [Media(url, "video", as_count(video.get("width")), as_count(video.get("height")),
                      as_seconds(video.get("duration")))]

    @staticmethod
    def _challenge(document: common.Document) -> str | None:
        """Why the page is a bot check rather than a post, if it is one."""
        if {"cs", "wci"} <= document.ids:
            return "TikTok served its bot challenge page instead of the post"
        text = f"{document.title} {document.text}".lower()
        if document.ids & _CHALLENGE_IDS or any(t in text for t in _CHALLENGE_TEXTS):
            return "TikTok asked to verify (captcha) instead of showing the post"
        if any("captcha" in s.attrs.get("src", "") for s in document.scripts):
            return "TikTok asked to verify (captcha) instead of showing the post"
        return None

    def _from_opengraph(self, document: common.Document, page: Recognised | None) -> Post | None:
        og_url = document.meta_first("og:url")
        for recognised in (page, self.recognise(og_url) if og_url else None):
            if recognised is not None and recognised.post_id:
                break
        else:
            return None
        post_id = recognised.post_id
        caption = document.meta_first("og:description", "description")
        video = _https(document.meta_first("og:video:secure_url", "og:video"))
        image = _https(document.meta_first("og:image"))
        if not (caption or video or image):
            return None
        media = [Media(video, "video")] if video else []
        if image and not video:
            media.append(Media(image, "image"))
        url = recognised.canonical_url.split("?", 1)[0]
        return common.opengraph_post(self.name, post_id, url, caption, media)


ADAPTER = TikTokAdapter()
