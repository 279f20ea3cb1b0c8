"""One run of a tracking rule: capture the listing as evidence of what the platform showed
then, take the posts in the order shown, link those already captured (by platform post
id) and capture the new ones, linked to the rule, the run and the listing capture. The
run is a `tracking.run` custody event saying what it saw, what was new and what failed.

Scrapy's reactor runs once per process, so each crawl of a run (the listing, then the
new posts) goes through `crawl`, which runs it in a child process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.catalog import EventDraft
from storage.post_index import PostFilter
from storage.records import CAPTURED, Capture, iso

from ..session import register_captures

# (captures already registered, mode) -> their final records
Crawl = Callable[[list[Capture], str], list[Capture]]

LISTING_URLS = {
    ("tiktok", "hashtag"): "https://www.tiktok.com/tag/{}",
    ("tiktok", "account"): "https://www.tiktok.com/@{}",
    ("x", "account"): "https://x.com/{}",
    ("instagram", "hashtag"): "https://www.instagram.com/explore/tags/{}/",
    ("instagram", "account"): "https://www.instagram.com/{}/",
    ("facebook", "account"): "https://www.facebook.com/{}",
    ("youtube", "account"): "https://www.youtube.com/@{}/videos",
    ("telegram", "account"): "https://t.me/s/{}",
}


@dataclass
class RunSummary:
    rule: str
    due_at: datetime
    listing_capture: str | None = None
    listing_status: str | None = None
    seen: int = 0
    pages: int = 0
    has_more: bool | None = None
    new: list[str] = field(default_factory=list)  # capture ids made for new posts
    known: dict[str, str] = field(default_factory=dict)  # post id -> earlier capture id
    failed: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    alerts: list[str] = field(default_factory=list)  # webhook messages not delivered
    findings: dict[str, str] = field(default_factory=dict)  # re-check rules: per capture

    @property
    def status(self) -> str:
        return "failed" if self.error else "done"

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "due_at": iso(self.due_at), "status": self.status,
                "listing_capture": self.listing_capture,
                "listing_status": self.listing_status, "seen": self.seen,
                "pages": self.pages, "has_more": self.has_more, "new": self.new,
                "known": self.known, "failed": self.failed, "error": self.error,
                "alerts_not_delivered": self.alerts,
                **({"findings": self.findings} if self.findings else {}),
                "note": "a listing is ranked, not complete: 'seen' is what this run was "
                        "shown, not every post under the target"}


def listing_url(rule: Any) -> str:
    try:
        return LISTING_URLS[(rule.platform, rule.kind)].format(rule.target)
    except KeyError:
        raise ValueError(f"{rule.platform} {rule.kind}s cannot be listed") from None


def run_rule(evidence: Any, rule: Any, due_at: datetime, crawl: Crawl) -> RunSummary:
    summary = RunSummary(rule.name, due_at)
    note = f"tracking {rule.name}"
    listing, = register_captures(evidence, [listing_url(rule)], rule.case_id,
                                 f"{note}: listing", "browser")
    summary.listing_capture = listing.id
    result = {c.id: c for c in crawl([listing], "browser")}.get(listing.id, listing)
    summary.listing_status = result.status
    shown = (result.post or {}).get("listing") if result.status == CAPTURED else None
    if not shown:
        summary.error = (f"the listing was {result.status}: {result.error}"
                         if result.status != CAPTURED else "the listing showed no posts")
        _record(evidence, summary)
        return summary
    summary.seen, summary.pages = shown["seen"], shown["pages"]
    summary.has_more = shown["has_more"]
    wanted = []
    for item in shown["posts"][:rule.max_posts]:
        earlier = evidence.catalog.search(PostFilter(post_key=(rule.platform, item["post_id"]),
                                                     status=CAPTURED))
        if earlier:
            summary.known[item["post_id"]] = earlier[0].id
        else:
            wanted.append(item)
    if wanted:
        mode = evidence.settings.capture.default_mode  # as any capture of a post
        made = register_captures(evidence, [i["url"] for i in wanted], rule.case_id,
                                 f"{note}: from listing {listing.id}", mode)
        results = {c.id: c for c in crawl(made, mode)}
        for capture in made:
            final = results.get(capture.id, capture)
            summary.new.append(capture.id)
            if final.status != CAPTURED:
                summary.failed.append({"capture": capture.id, "url": capture.requested_url,
                                       "status": final.status, "error": final.error or ""})
        _alert(evidence, rule, summary, results)
    _record(evidence, summary)
    return summary


def _alert(evidence: Any, rule: Any, summary: RunSummary, results: dict[str, Any]) -> None:
    from .alerts import new_posts, send

    settings = evidence.settings.alerts
    for message in new_posts(rule, summary, results):
        problem = send(settings.webhook_url, message, settings.timeout_seconds)
        if problem:
            summary.alerts.append(problem)


def _record(evidence: Any, summary: RunSummary) -> None:
    evidence.custody.record([EventDraft(evidence.actor, "tracking.run", summary.rule,
                                        summary.to_json())])
    evidence.custody.flush()
