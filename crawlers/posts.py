"""The post: what the platform's page said about it, read from what the capture recorded.

Runs in the crawl when a capture's page (and the post's media after it) is done, before
the capture goes to the sealer: the adapter's reading sets the capture's platform,
canonical URL, `post` and outcome (a removal page makes it `unavailable`, a login wall
`blocked`), and names the media files the sealer keeps as artifacts. The sealer then
seals all of it in the manifest. Nothing is fetched here: an adapter sees only bytes
the capture already recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archivers.bodies import read_body, spooled_headers
from archivers.exchange import Exchange
from archivers.posts import whole_media
from storage.records import BLOCKED as STATUS_BLOCKED
from storage.records import CAPTURED as STATUS_CAPTURED
from storage.records import UNAVAILABLE as STATUS_UNAVAILABLE

from .platforms import adapter, recognise
from .platforms.base import BLOCKED, UNAVAILABLE, Listing, Outcome
from .platforms.base import Exchange as SeenExchange
from .ytdlp_media import YTDLP_NOTE

# What an adapter may read: documents, data and scripts (embedded state), each capped.
READABLE = ("text/html", "application/xhtml+xml", "application/json", "text/json",
            "application/ld+json", "text/javascript", "application/javascript",
            "application/x-javascript", "text/plain", "text/xml", "application/xml")
BODY_LIMIT = 16 * 1024 * 1024
TOTAL_LIMIT = 96 * 1024 * 1024


@dataclass
class PostResult:
    outcome: Outcome | None
    platform: str
    canonical_url: str | None
    post_id: str | None
    notes: list[str] = field(default_factory=list)
    listing: Listing | None = None  # a hashtag or account page: the posts it showed
    retry_after: int | None = None  # seconds the platform asked to wait (429, 503)


def read_post(capture: Any, exchanges: list[Exchange], page_url: str | None = None
              ) -> PostResult:
    """Ask the platform's adapter what the recorded page says."""
    page_url = page_url or capture.final_url or capture.requested_url
    try:
        found = recognise(page_url)
    except ValueError:
        return PostResult(None, capture.platform, None, None, ["no platform for this URL"])
    seen, budget = [], TOTAL_LIMIT
    for ex in exchanges:
        if not ex.got_response or budget <= 0:
            continue
        headers = {name.lower(): value for name, value in spooled_headers(ex)}
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if kind and kind not in READABLE:
            continue
        body = read_body(ex, min(BODY_LIMIT, budget))
        if body is None:
            continue
        budget -= len(body[0])
        seen.append(SeenExchange(ex.url, int(ex.status or 0), headers, body[0], ex.method))
    notes = []
    try:
        outcome = adapter(found.platform).extract(page_url, seen)
    except Exception as exc:  # noqa: BLE001 - a parser bug must not lose the capture
        outcome = Outcome(STATUS_CAPTURED, None, f"the {found.platform} adapter failed: "
                          f"{type(exc).__name__}: {exc}"[:300])
        notes.append(outcome.reason or "")
    post_id = outcome.post.post_id if outcome.post else found.post_id
    result = PostResult(outcome, found.platform, found.canonical_url, post_id, notes)
    result.retry_after = _retry_after(page_url, seen)
    lister = getattr(adapter(found.platform), "listing", None)
    if found.kind in ("hashtag", "profile") and lister is not None:
        try:
            result.listing = lister(page_url, seen)
        except Exception as exc:  # noqa: BLE001 - the listing page itself is captured
            notes.append(f"the {found.platform} listing was not read: {exc}"[:300])
    return result


def _retry_after(page_url: str, seen: list[SeenExchange]) -> int | None:
    """The page's own Retry-After (seconds or an HTTP date), when it answered 429/503."""
    from email.utils import parsedate_to_datetime

    from storage.records import utcnow

    page = [ex for ex in seen if ex.url == page_url and ex.status in (429, 503)]
    value = page[-1].headers.get("retry-after", "").strip() if page else ""
    if value.isdigit():
        return int(value)
    try:
        return max(0, int((parsedate_to_datetime(value) - utcnow()).total_seconds()))
    except (TypeError, ValueError):
        return None


MAX_MEDIA_FETCHES = 20  # per post: a carousel, not a crawl


def media_wanted(capture: Any, exchanges: list[Exchange], page_url: str) -> list[str]:
    """URLs of the post's media not yet recorded whole (status 200, finished)."""
    result = read_post(capture, exchanges, page_url)
    outcome = result.outcome
    if outcome is None or outcome.post is None or outcome.status != STATUS_CAPTURED:
        return []
    whole = {ex.url for ex in exchanges if ex.got_response and ex.status == 200
             and not ex.truncated and ex.block_sha256}
    urls = [m.url for m in outcome.post.media
            if m.url and m.url.startswith(("https://", "http://")) and m.url not in whole]
    return list(dict.fromkeys(urls))[:MAX_MEDIA_FETCHES]


def video_missing(capture: Any, exchanges: list[Exchange], page_url: str) -> str | None:
    """The post's URL when it has a video that no recorded response holds whole (for
    yt-dlp to fetch), else None."""
    result = read_post(capture, exchanges, page_url)
    outcome = result.outcome
    if outcome is None or outcome.post is None or outcome.status != STATUS_CAPTURED:
        return None
    if not any(m.type == "video" for m in outcome.post.media) and result.platform not in (
            "youtube",):  # a YouTube post is a video even when no stream URL is readable
        return None
    if any(whole_media(ex, "video/") for ex in exchanges):
        return None
    return outcome.post.url or None


def apply_post(capture: Any, result: PostResult) -> None:
    """The capture's platform, canonical URL, post and status from the adapter."""
    capture.platform = result.platform
    # A platform post's canonical URL is the post's own (a short link resolved, tracking
    # parameters removed); any other page keeps the URL it was fetched at.
    platform_post = result.platform != "generic"
    if platform_post and result.canonical_url and result.outcome is not None:
        capture.canonical_url = result.canonical_url
    outcome = result.outcome
    if outcome is None or capture.status != STATUS_CAPTURED:
        return
    if outcome.post is not None:
        capture.post = outcome.post.to_json()
        if platform_post and outcome.post.url:
            capture.canonical_url = outcome.post.url
    if outcome.status == UNAVAILABLE:
        capture.status = STATUS_UNAVAILABLE
        capture.error = f"the platform says: {outcome.reason or 'not available'}"[:500]
    elif outcome.status == BLOCKED:
        capture.status = STATUS_BLOCKED
        wait = f"; Retry-After: {result.retry_after} s" if result.retry_after is not None \
            else ""
        capture.error = (f"blocked ({outcome.reason or 'login wall or rate limit'}{wait}); not "
                         "evidence of removal")[:500]


def finish_post(capture: Any, exchanges: list[Exchange]) -> tuple[dict[str, Any], list[str]]:
    """Read the post into the capture; returns what the manifest says of the reading, and
    the URLs of the media files to keep as artifacts."""
    result = read_post(capture, exchanges)
    apply_post(capture, result)
    outcome = result.outcome
    reading: dict[str, Any] = {
        "platform": result.platform, "post_id": result.post_id,
        "outcome": outcome.status if outcome else None,
        "reason": outcome.reason if outcome else None, "notes": result.notes}
    if result.listing is not None and capture.status == STATUS_CAPTURED:
        # What a hashtag or account page showed, in order: sealed as the capture's `post`
        # (and post.json), so a tracking run's evidence says what it saw.
        reading["listing"] = result.listing.to_json()
        capture.post = {"platform": result.platform, "post_id": None,
                        "url": result.canonical_url, "listing": reading["listing"]}
        return reading, []
    if not capture.post:
        return reading, []
    urls = [m.get("url") for m in capture.post.get("media", []) if m.get("url")]
    # what yt-dlp downloaded for the post is its video, whatever URL it came from
    urls += [ex.url for ex in exchanges if YTDLP_NOTE in ex.notes
             and whole_media(ex, ("video/", "audio/"))]
    return reading, list(dict.fromkeys(urls))
