"""What every platform adapter provides, and the records it hands back.

An adapter knows one site: which URLs are its posts (in all their real forms), the
canonical form of such a URL (tracking parameters removed, documented per platform),
and how to read the post (the `post` object of the contracts) out of what a capture
already recorded — the page's own embedded data and API responses — without a second
request. It also tells a post apart from a removal page and from a login wall or
captcha, because "removed" is evidence and "blocked" is not.

Adapters are pure: no network, no storage, no clock. The capture pipeline gives them
the recorded exchanges; tests give them fixture documents.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

# Outcome statuses (the capture statuses of the contracts they map to)
CAPTURED = "captured"
UNAVAILABLE = "unavailable"  # the platform says removed, private, restricted
BLOCKED = "blocked"  # login wall, captcha, rate limit: not evidence of removal


@dataclass(frozen=True)
class Recognised:
    """A URL an adapter claims."""

    platform: str  # "tiktok", "x", "instagram", "facebook", "youtube", "telegram", "generic"
    kind: str  # "post", "short" (a short link to resolve), "profile", "hashtag", "page"
    canonical_url: str  # tracking parameters removed; for "short", the link as given
    post_id: str | None = None  # the platform's own id, when the URL carries it
    removed_params: tuple[str, ...] = ()  # query parameters canonicalisation dropped
    # Where the post's data is best captured, when not at its canonical URL (Telegram's
    # widget document); None: the canonical URL.
    capture_url: str | None = None

    @property
    def is_short_link(self) -> bool:
        return self.kind == "short"


@dataclass(frozen=True)
class Exchange:
    """One recorded response, as adapters see it: body decoded (no Content-Encoding),
    header names lower-cased. Bodies are capped by the pipeline."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    method: str = "GET"

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Media:
    url: str
    type: str  # "video", "image", "audio"
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None


@dataclass
class Post:
    """The `post` object of the contracts. Times are ISO 8601 UTC ("...Z"); counts are
    None when the page did not say (never guessed as 0)."""

    platform: str
    post_id: str
    url: str  # canonical post URL
    author_id: str | None = None
    author_handle: str | None = None  # without "@"
    author_name: str | None = None
    caption: str | None = None
    posted_at: str | None = None
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    hashtags: list[str] = field(default_factory=list)  # without "#", as written
    mentions: list[str] = field(default_factory=list)  # without "@"
    music: str | None = None  # title (and author) of the sound, when the post has one
    media: list[Media] = field(default_factory=list)
    language: str | None = None
    source: str = ""  # where it was read from, e.g. "__UNIVERSAL_DATA_FOR_REHYDRATION__"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Outcome:
    status: str  # CAPTURED, UNAVAILABLE or BLOCKED
    post: Post | None = None
    reason: str | None = None  # for UNAVAILABLE/BLOCKED: one line, the platform's words


@dataclass
class Listing:
    """What a listing page (a hashtag, an account) showed, in the order shown. Listings
    are ranked, not complete: `pages` and `has_more` say how far the capture got."""

    platform: str
    kind: str  # hashtag | account
    target: str
    posts: list[tuple[str, str]] = field(default_factory=list)  # (post id, post URL)
    pages: int = 0  # result pages (API responses, or the page itself) read
    has_more: bool | None = None  # the platform said there were more
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"platform": self.platform, "kind": self.kind, "target": self.target,
                "posts": [{"post_id": i, "url": u} for i, u in self.posts],
                "seen": len(self.posts), "pages": self.pages, "has_more": self.has_more,
                "source": self.source}


class Adapter(Protocol):
    name: str
    # Query parameters removed from this platform's post URLs (documented in README).
    tracking_params: tuple[str, ...]

    def recognise(self, url: str) -> Recognised | None:
        """This platform's reading of an absolute http(s) URL, or None if not its own."""

    def extract(self, page_url: str, exchanges: list[Exchange]) -> Outcome:
        """The post (or why there is none) from what the capture recorded. `page_url` is
        the final URL of the page; `exchanges` are in recorded order, the page itself
        among them."""
