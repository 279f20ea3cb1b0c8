"""The intake plan: every link found, where it came from, what it is, and which ones
will be captured.

Links are normalised and recognised (platform, post id, canonical URL with tracking
parameters removed), then de-duplicated by canonical URL: the first occurrence is
captured and every other place the same post was named is kept with it, because a
lawyer may need to show that two reports named the same post. Short links cannot be
de-duplicated before they are resolved; that happens at capture time (by post id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .intake import IntakeError, normalise_url
from .platforms import recognise


@dataclass
class Origin:
    """Where a link was found: the command line, or a place in a report file."""

    source: str | None = None  # report file name; None for the command line
    where: str | None = None  # "line 4", "sheet Laporan row 7 column C", "page 2", …
    wrapped_by: str | None = None  # a safe-link wrapper it was taken out of

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in (("source", self.source), ("where", self.where),
                                  ("wrapped_by", self.wrapped_by)) if v}

    def text(self) -> str:
        place = ", ".join(x for x in (self.source, self.where) if x) or "command line"
        return place + (f" (inside a {self.wrapped_by} link)" if self.wrapped_by else "")


@dataclass
class PlannedLink:
    text: str  # as found
    origin: Origin
    url: str | None = None  # normalised (what is fetched unless a canonical post URL)
    platform: str | None = None
    kind: str | None = None  # post | short | profile | hashtag | page
    post_id: str | None = None
    canonical_url: str | None = None
    removed_params: tuple[str, ...] = ()
    capture_url: str | None = None  # the adapter's choice of what to fetch, if not canonical
    error: str | None = None  # malformed or refused: recorded, not fetched
    duplicates: list[Origin] = field(default_factory=list)  # same canonical URL elsewhere

    @property
    def fetch_url(self) -> str | None:
        """Posts are fetched in their canonical form: share-tracking parameters can name
        whoever passed the link on, and are not part of the post. Everything else is
        fetched as given (normalised only). An adapter may name a better document for
        the post (Telegram's widget page)."""
        if self.kind == "post" and self.platform != "generic" and self.canonical_url:
            return self.capture_url or self.canonical_url
        return self.url

    def to_json(self) -> dict[str, Any]:
        return {"url": self.text, "found": self.origin.to_json(), "platform": self.platform,
                "kind": self.kind, "post_id": self.post_id,
                "canonical_url": self.canonical_url, "fetch_url": self.fetch_url,
                "removed_params": list(self.removed_params), "error": self.error,
                "to_resolve": self.kind == "short",
                "also_found": [d.to_json() for d in self.duplicates]}


def plan(found: list[tuple[str, Origin]]) -> list[PlannedLink]:
    """One entry per distinct link, in the order first found; refused links included."""
    planned: list[PlannedLink] = []
    by_canonical: dict[str, PlannedLink] = {}
    for text, origin in found:
        item = PlannedLink(text.strip(), origin)
        try:
            item.url = normalise_url(text)
            seen = recognise(item.url)
            item.platform, item.kind, item.post_id = seen.platform, seen.kind, seen.post_id
            item.canonical_url, item.removed_params = seen.canonical_url, seen.removed_params
            item.capture_url = seen.capture_url
        except (IntakeError, ValueError) as exc:
            item.error = " ".join(str(exc).split())
            planned.append(item)
            continue
        key = item.canonical_url or item.url
        first = by_canonical.get(key)
        if first is not None:
            first.duplicates.append(origin)
            continue
        by_canonical[key] = item
        planned.append(item)
    return planned
