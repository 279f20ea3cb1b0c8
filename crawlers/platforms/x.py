"""X (Twitter): status links in all their forms, and the post read from the recorded
GraphQL answers.

x.com serves an empty application shell; the page's scripts fetch the post from
`/i/api/graphql/<queryId>/TweetResultByRestId` (signed out: `data.tweetResult.result`) or
`TweetDetail` (signed in: the focal entry of `threaded_conversation_with_injections_v2`).
A result's `__typename` says what it is: `Tweet`, `TweetWithVisibilityResults` (the tweet
under `tweet`), `TweetTombstone` (X's own sentence about a deleted or withheld post) or
`TweetUnavailable` (`reason`, e.g. "Suspended"). A rate limit or a login redirect leaves no
result, and is "blocked", not evidence of removal.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

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

MAIN_HOST = "x.com"
_HOSTS = {f"{prefix}{domain}" for prefix in ("", "www.", "m.", "mobile.")
          for domain in ("x.com", "twitter.com")}
_SHORT_HOST = "t.co"
_API_HOSTS = _HOSTS | {"api.x.com", "api.twitter.com"}

# Path words X uses for its own pages; a first segment among them is not an account.
_RESERVED = {
    "i", "home", "explore", "search", "notifications", "messages", "settings", "login",
    "logout", "signup", "compose", "intent", "share", "hashtag", "tos", "privacy", "about",
    "account", "oauth", "download", "lists", "bookmarks", "communities", "premium", "jobs",
    "who_to_follow", "statuses",
}  # fmt: skip

_STATUS_PATH = re.compile(r"/(?P<user>\w{1,50})/status(?:es)?/(?P<id>\d+)(?:/.*)?")
_WEB_STATUS_PATH = re.compile(r"/(?:i/web|i|statuses)/status(?:es)?/(?P<id>\d+)(?:/.*)?"
                              r"|/statuses/(?P<id2>\d+)(?:/.*)?")
_PROFILE_PATH = re.compile(r"/(?P<user>\w{1,50})/?")
_HASHTAG_PATH = re.compile(r"/hashtag/(?P<tag>[^/]+)/?")
_SHORT_PATH = re.compile(r"/(?P<code>[A-Za-z0-9]+)/?")
_GRAPHQL_PATH = re.compile(r"/graphql/[\w-]+/(?P<operation>TweetResultByRestId|TweetDetail)$")
_TIMELINE_PATH = re.compile(r"/graphql/[\w-]+/UserTweets$")
_USER_PATH = re.compile(r"/graphql/[\w-]+/UserByScreenName$")

# Share attribution: `s` (share sheet source), `t` (per-share token), `ref_src`/`ref_url`
# (embeds), `src` (e.g. hashtag_click), `cxt`, `cn`, `utm_*`, click ids. `lang` and `f`
# (a search tab) change what is shown and are kept.
TRACKING_PARAMS = ("s", "t", "ref_src", "ref_url", "src", "cxt", "cn", "utm_*", "twclid",
                   "fbclid")

_LOGIN_PATHS = ("/i/flow/login", "/login", "/i/flow/signup", "/account/access")
_LOGIN_TEXTS = ("something went wrong. try reloading", "sign in to x", "log in to x",
                "sign in to twitter", "log in to twitter")
# X's own words on a page (rendered DOM) that has no post to show.
_GONE_TEXTS = (
    "this post was deleted", "this tweet was deleted", "this page doesn’t exist",
    "this page doesn't exist", "account suspended", "this account doesn’t exist",
    "this account doesn't exist", "these posts are protected", "this post is unavailable",
    "this post is from a suspended account", "this post violated the x rules",
)
_UNAVAILABLE_REASONS = {
    "Suspended": "the account is suspended",
    "Protected": "the account's posts are protected",
    "NsfwLoggedOut": "age-restricted adult content",
    "NsfwViewerHasNoStatedAge": "age-restricted adult content",
    "NsfwViewerIsUnderage": "age-restricted adult content",
    "Unavailable": "the post is unavailable",
}
# GraphQL error codes: 144 "No status found with that ID", 179 "not authorized to see this
# status" (protected); 88 is the rate limit.
_GONE_CODES = {144, 179, 421, 422}
_RATE_LIMIT_CODE = 88


def post_url(handle: str | None, post_id: str) -> str:
    if handle:
        return f"https://{MAIN_HOST}/{handle}/status/{post_id}"
    return f"https://{MAIN_HOST}/i/web/status/{post_id}"


def parse_created_at(value: Any) -> str | None:
    """X's "Wed Feb 14 08:00:00 +0000 2024" as ISO UTC."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.strptime(value.strip(), "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        return None
    return moment.astimezone(UTC).strftime(common.ISO_UTC)


def _without_learn_more(text: str) -> str:
    return re.sub(r"\s*Learn more\.?$", "", text.strip())


class XAdapter:
    name = "x"
    tracking_params = TRACKING_PARAMS

    # -- links --------------------------------------------------------------------------

    def recognise(self, url: str) -> Recognised | None:
        parts = common.split_http_url(url, self.tracking_params)
        if parts is None:
            return None
        if parts.host == _SHORT_HOST:
            found = _SHORT_PATH.fullmatch(parts.path)
            if not found:
                return None
            return parts.recognised(self, "short", f"https://t.co/{found['code']}")
        if parts.host not in _HOSTS:
            return None
        found = _STATUS_PATH.fullmatch(parts.path)
        if found and found["user"].lower() not in _RESERVED:
            # /photo/1, /video/1, /analytics open views of the same post: not kept
            return parts.recognised(self, "post", post_url(found["user"], found["id"]),
                                    found["id"])
        if found := _WEB_STATUS_PATH.fullmatch(parts.path):
            post_id = found["id"] or found["id2"]
            return parts.recognised(self, "post", post_url(None, post_id), post_id)
        if found := _HASHTAG_PATH.fullmatch(parts.path):
            return parts.recognised(self, "hashtag", f"https://{MAIN_HOST}/hashtag/{found['tag']}")
        found = _PROFILE_PATH.fullmatch(parts.path)
        if found and found["user"].lower() not in _RESERVED:
            return parts.recognised(self, "profile", f"https://{MAIN_HOST}/{found['user']}")
        return parts.recognised(self, "page", f"https://{MAIN_HOST}{parts.path}")

    # -- a listing (account) ------------------------------------------------------------

    def listing(self, page_url: str, exchanges: list[Exchange]) -> Listing | None:
        """The posts an account page showed, in order. x.com loads the timeline by the
        GraphQL XHR `UserTweets`, a page of it each time the visitor scrolls (each answer
        read is one page): `data.user.result.timeline.timeline.instructions` (older
        answers: `timeline_v2`) hold the pinned post (`TimelinePinEntry`, listed first),
        then `TimelineAddEntries` with `tweet-<id>` entries, self-thread modules
        (`profile-conversation-…`) and cursors. Promoted entries (`promoted-tweet-…`, or
        an item with `promotedMetadata`) are ads placed by X, not the account's posts,
        and are skipped. A repost is listed as the post it reposts (that is what the
        timeline shows). `has_more`: the last answer read had posts and a bottom cursor
        (X sends a bottom cursor even at the end, with no posts)."""
        seen = self.recognise(page_url)
        if seen is None or seen.kind != "profile":
            return None
        handle = seen.canonical_url.split("?", 1)[0].rsplit("/", 1)[-1]
        found = Listing(self.name, "account", handle, source="graphql:UserTweets")
        user_id = _user_id(handle, exchanges)
        pinned: list[tuple[str, str]] = []
        shown: list[tuple[str, str]] = []
        for exchange in exchanges:
            parts = urlsplit(exchange.url)
            if (exchange.status != 200 or (parts.hostname or "") not in _API_HOSTS
                    or not _TIMELINE_PATH.search(parts.path)):
                continue
            asked = (parse_qs(parts.query).get("variables") or [""])[0]
            asked_user = as_text(as_dict(common.load_json(asked)).get("userId"))
            if user_id and asked_user and asked_user != user_id:
                continue  # another account's timeline (a hover card, a linked profile)
            answer = as_dict(common.load_json(exchange.body))
            timeline = as_dict(dig(answer, "data", "user", "result"))
            instructions = as_list(dig(timeline, "timeline", "timeline", "instructions")) or \
                as_list(dig(timeline, "timeline_v2", "timeline", "instructions"))
            if not instructions:
                continue
            found.pages += 1
            page_posts, bottom = _timeline_posts(instructions, pinned)
            shown += page_posts
            found.has_more = bottom and bool(page_posts)
        for post in pinned + shown:
            if post[0] not in {i for i, _ in found.posts}:
                found.posts.append(post)
        return found

    # -- the post -------------------------------------------------------------------------

    def extract(self, page_url: str, exchanges: list[Exchange]) -> Outcome:
        recognised = self.recognise(page_url)
        wanted = recognised.post_id if recognised else None
        blocked: str | None = None
        gone: Outcome | None = None
        for exchange in exchanges:
            parts = urlsplit(exchange.url)
            found = _GRAPHQL_PATH.search(parts.path)
            if not found or (parts.hostname or "") not in _API_HOSTS:
                continue
            operation = found["operation"]
            requested = _asked_id(exchange.url)
            if wanted and requested and requested != wanted:
                continue  # an answer about another post (a quoted or related one)
            asked = wanted or requested
            if exchange.status == 429:
                blocked = f"X is rate limiting ({operation} answered HTTP 429)"
                continue
            answer = as_dict(common.load_json(exchange.body))
            outcome = self._from_answer(answer, operation, asked)
            if outcome is None:
                continue
            if outcome.status == CAPTURED:
                if outcome.post is not None:
                    return outcome
            elif outcome.status == UNAVAILABLE:
                gone = gone or outcome
            else:
                blocked = blocked or outcome.reason
        if gone:
            return gone
        page = self._from_page(page_url, exchanges, recognised)
        if blocked and page.status == CAPTURED and page.post is None:
            return Outcome(BLOCKED, None, blocked)
        return page

    def _from_answer(self, answer: dict[str, Any], operation: str, asked: str | None
                     ) -> Outcome | None:
        data = as_dict(answer.get("data"))
        if operation == "TweetResultByRestId":
            holder = data.get("tweetResult")
            result = as_dict(dig(holder, "result"))
            if isinstance(holder, dict) and not result and not answer.get("errors"):
                # X's answer for an id it has no post for; the app shows "this page
                # doesn't exist".
                return Outcome(UNAVAILABLE, None, "Hmm...this page doesn't exist: X returned "
                               f"no post for id {asked or '?'} (empty tweetResult)")
        else:
            result = _focal_result(data, asked)
        if result:
            return self._from_result(result, operation)
        return _from_errors(as_list(answer.get("errors")))

    def _from_result(self, result: dict[str, Any], operation: str) -> Outcome:
        typename = result.get("__typename")
        if typename == "TweetWithVisibilityResults" or (
            "tweet" in result and "legacy" not in result
        ):
            result = as_dict(result.get("tweet"))
            typename = result.get("__typename") or "Tweet"
        if "tombstone" in result or typename == "TweetTombstone":
            text = as_text(dig(result, "tombstone", "text", "text"))
            return Outcome(UNAVAILABLE, None,
                           _without_learn_more(text) if text else "X shows a tombstone "
                           "instead of this post")
        if typename == "TweetUnavailable":
            reason = as_text(result.get("reason")) or "Unavailable"
            meaning = _UNAVAILABLE_REASONS.get(reason, "the post is unavailable")
            return Outcome(UNAVAILABLE, None, f"Post unavailable: {meaning} ({reason})")
        if not as_text(result.get("rest_id")) or not isinstance(result.get("legacy"), dict):
            return Outcome(CAPTURED, None, f"{common.NO_POST} (unreadable {operation} result)")
        return Outcome(CAPTURED, self._post(result, f"graphql:{operation}"))

    def _post(self, tweet: dict[str, Any], source: str) -> Post:
        legacy = as_dict(tweet.get("legacy"))
        user = as_dict(dig(tweet, "core", "user_results", "result"))
        # newer answers moved screen_name and name from user.legacy to user.core
        handle = as_text(dig(user, "core", "screen_name")) or as_text(
            dig(user, "legacy", "screen_name"))
        name = as_text(dig(user, "core", "name")) or as_text(dig(user, "legacy", "name"))
        post_id = str(tweet["rest_id"])
        note = as_dict(dig(tweet, "note_tweet", "note_tweet_results", "result"))
        caption = as_text(note.get("text")) or as_text(legacy.get("full_text"))
        entities = as_dict(note.get("entity_set")) if note.get("text") else as_dict(
            legacy.get("entities"))
        hashtags = common.unique(as_text(h.get("text")) or ""
                                 for h in as_list(entities.get("hashtags"))
                                 if isinstance(h, dict)) or common.hashtags_in(caption)
        mentions = common.unique(as_text(m.get("screen_name")) or ""
                                 for m in as_list(entities.get("user_mentions"))
                                 if isinstance(m, dict)) or common.mentions_in(caption)
        language = as_text(legacy.get("lang"))
        return Post(
            platform=self.name,
            post_id=post_id,
            url=post_url(handle, post_id),
            author_id=as_text(user.get("rest_id")) or as_text(legacy.get("user_id_str")),
            author_handle=handle,
            author_name=name,
            caption=caption,
            posted_at=parse_created_at(legacy.get("created_at")),
            views=as_count(dig(tweet, "views", "count")),
            likes=as_count(legacy.get("favorite_count")),
            comments=as_count(legacy.get("reply_count")),
            shares=as_count(legacy.get("retweet_count")),
            hashtags=hashtags,
            mentions=mentions,
            media=_media(legacy),
            language=_language(language),
            source=source,
        )

    def _from_page(self, page_url: str, exchanges: list[Exchange],
                   recognised: Recognised | None) -> Outcome:
        parts = common.split_http_url(page_url)
        if parts and parts.path.rstrip("/") in _LOGIN_PATHS:
            return Outcome(BLOCKED, None, "X redirected to its login page")
        page = common.page_exchange(page_url, exchanges)
        if page is None:
            return Outcome(CAPTURED, None, common.NO_POST)
        if page.status == 429:
            return Outcome(BLOCKED, None, "X is rate limiting (HTTP 429)")
        document = common.read_document(page.text())
        visible = document.text.lower()
        for text in _GONE_TEXTS:
            if text in visible:
                return Outcome(UNAVAILABLE, None, _sentence_with(document.text, text))
        for text in _LOGIN_TEXTS:
            if text in visible or text in document.title.lower():
                said = _sentence_with(f"{document.title}. {document.text}", text)
                return Outcome(BLOCKED, None, f"X shows a login wall ({said})")
        if recognised and recognised.post_id:
            post = self._from_opengraph(document, recognised)
            if post:
                return Outcome(CAPTURED, post)
        return Outcome(CAPTURED, None, common.NO_POST)

    def _from_opengraph(self, document: common.Document, recognised: Recognised) -> Post | None:
        caption = document.meta_first("og:description")
        image = document.meta_first("og:image")
        if not caption and not image:
            return None
        url = recognised.canonical_url.split("?", 1)[0]
        media = [Media(image, "image")] if image else []
        return common.opengraph_post(self.name, recognised.post_id or "", url, caption, media)


# X still writes some withdrawn ISO 639 codes (Indonesian as "in").
_LANGUAGE_CODES = {"in": "id", "iw": "he", "ji": "yi"}


def _language(code: str | None) -> str | None:
    """ISO 639-1 code of the post's language; "und", "zxx" and X's q* codes are none."""
    if not code or code in ("und", "zxx") or code.startswith("q"):
        return None
    return _LANGUAGE_CODES.get(code, code)


def _asked_id(url: str) -> str | None:
    """The post id a GraphQL request asked for, from its `variables` parameter."""
    asked = (parse_qs(urlsplit(url).query).get("variables") or [""])[0]
    variables = as_dict(common.load_json(asked))
    return as_text(variables.get("tweetId")) or as_text(variables.get("focalTweetId"))


def _focal_result(data: dict[str, Any], asked: str | None) -> dict[str, Any]:
    """The asked post's result among a TweetDetail conversation's entries."""
    instructions = as_list(dig(data, "threaded_conversation_with_injections_v2", "instructions"))
    candidates: list[tuple[str, dict[str, Any]]] = []
    for instruction in instructions:
        for entry in as_list(as_dict(instruction).get("entries")):
            entry = as_dict(entry)
            content = as_dict(entry.get("content"))
            items = [as_dict(content.get("itemContent"))] + [
                as_dict(dig(i, "item", "itemContent")) for i in as_list(content.get("items"))]
            for item in items:
                result = as_dict(dig(item, "tweet_results", "result"))
                if result:
                    candidates.append((as_text(entry.get("entryId")) or "", result))
    for entry_id, result in candidates:
        rest_id = as_text(result.get("rest_id")) or as_text(dig(result, "tweet", "rest_id"))
        if asked and (rest_id == asked or entry_id == f"tweet-{asked}"):
            return result
    return candidates[0][1] if candidates and not asked else {}


def _user_id(handle: str, exchanges: list[Exchange]) -> str | None:
    """The account's rest_id, from the page's `UserByScreenName` answer, if recorded."""
    for exchange in exchanges:
        parts = urlsplit(exchange.url)
        if (parts.hostname or "") not in _API_HOSTS or not _USER_PATH.search(parts.path):
            continue
        user = as_dict(dig(common.load_json(exchange.body), "data", "user", "result"))
        name = as_text(dig(user, "core", "screen_name")) or as_text(
            dig(user, "legacy", "screen_name"))
        if name and name.lower() == handle.lower() and as_text(user.get("rest_id")):
            return as_text(user.get("rest_id"))
    return None


def _timeline_posts(instructions: list[Any], pinned: list[tuple[str, str]]
                    ) -> tuple[list[tuple[str, str]], bool]:
    """A UserTweets page's posts in order (the pinned one added to `pinned`), and whether
    it ended with a bottom cursor."""
    posts: list[tuple[str, str]] = []
    bottom = False
    for instruction in instructions:
        instruction = as_dict(instruction)
        kind = instruction.get("type")
        if kind == "TimelinePinEntry":
            pinned += _entry_posts(as_dict(instruction.get("entry")))
            continue
        entries = as_list(instruction.get("entries"))
        if kind == "TimelineReplaceEntry":
            entries = [instruction.get("entry")]
        elif kind == "TimelineAddToModule":
            entries = [{"entryId": as_text(i.get("entryId")) or "", "content": {"items": [i]}}
                       for i in as_list(instruction.get("moduleItems")) if isinstance(i, dict)]
        for entry in entries:
            entry = as_dict(entry)
            if dig(entry, "content", "cursorType") == "Bottom":
                bottom = True
            posts += _entry_posts(entry)
    return posts, bottom


def _entry_posts(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """(post id, URL) of the tweets of one timeline entry (an item or a module)."""
    if (as_text(entry.get("entryId")) or "").startswith("promoted-"):
        return []
    content = as_dict(entry.get("content"))
    items = [as_dict(content.get("itemContent"))] + [
        as_dict(dig(i, "item", "itemContent")) for i in as_list(content.get("items"))]
    posts = []
    for item in items:
        if item.get("promotedMetadata"):
            continue
        result = as_dict(dig(item, "tweet_results", "result"))
        if result.get("__typename") == "TweetWithVisibilityResults" or (
                "tweet" in result and "legacy" not in result):
            result = as_dict(result.get("tweet"))
        reposted = as_dict(dig(result, "legacy", "retweeted_status_result", "result"))
        if reposted:
            result = as_dict(reposted.get("tweet")) if "tweet" in reposted and \
                "legacy" not in reposted else reposted
        post_id = as_text(result.get("rest_id"))
        if not post_id or not post_id.isdigit():
            continue  # a tombstone or an unavailable post has no id to capture
        user = as_dict(dig(result, "core", "user_results", "result"))
        handle = as_text(dig(user, "core", "screen_name")) or as_text(
            dig(user, "legacy", "screen_name"))
        posts.append((post_id, post_url(handle, post_id)))
    return posts


def _from_errors(errors: list[Any]) -> Outcome | None:
    for error in errors:
        error = as_dict(error)
        code, message = error.get("code"), as_text(error.get("message")) or ""
        if code == _RATE_LIMIT_CODE or "rate limit" in message.lower():
            return Outcome(BLOCKED, None, f"X is rate limiting ({message or 'code 88'})")
        if code in _GONE_CODES:
            return Outcome(UNAVAILABLE, None, message.removeprefix("_Missing: ").strip()
                           or f"X error {code}")
    messages = [as_text(as_dict(e).get("message")) for e in errors]
    if any(messages):
        said = "; ".join(m for m in messages if m)
        return Outcome(BLOCKED, None, f"X refused to answer without a session ({said})")
    return None


def _media(legacy: dict[str, Any]) -> list[Media]:
    """Photos at their original size, videos and GIFs as their best MP4 rendition."""
    found = as_list(dig(legacy, "extended_entities", "media")) or as_list(
        dig(legacy, "entities", "media"))
    media = []
    for item in found:
        item = as_dict(item)
        kind = item.get("type")
        width = as_count(dig(item, "original_info", "width"))
        height = as_count(dig(item, "original_info", "height"))
        if kind in ("video", "animated_gif"):
            variants = [as_dict(v) for v in as_list(dig(item, "video_info", "variants"))]
            mp4 = [v for v in variants if v.get("content_type") == "video/mp4" and v.get("url")]
            best = max(mp4, key=lambda v: as_count(v.get("bitrate")) or 0) if mp4 else next(
                (v for v in variants if v.get("url")), None)
            if best:
                duration = as_seconds(dig(item, "video_info", "duration_millis"))
                media.append(Media(best["url"], "video", width, height,
                                   duration / 1000 if duration else None))
        elif url := as_text(item.get("media_url_https")):
            original = url if "?" in url else f"{url}?name=orig"
            media.append(Media(original, "image", width, height))
    return media


def _sentence_with(text: str, needle: str) -> str:
    """The sentence of `text` that holds `needle`, as the platform wrote it."""
    start = text.lower().find(needle)
    if start < 0:
        return needle
    begin = text.rfind(". ", 0, start)
    begin = begin + 2 if begin >= 0 else 0
    end = text.find(". ", start + len(needle))
    return text[begin:end + 1 if end >= 0 else len(text)].strip()


ADAPTER = XAdapter()
