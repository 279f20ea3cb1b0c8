"""Re-checks: is a captured post still up, and still the same?

Each re-check is itself a capture (what the platform served now, sealed like any other),
compared with the original: a removal page is `takedown.observed`, a different caption or
different media is `post.changed`, the same post is `post.still_available`. A login wall
or a page without post data decides nothing (a block is not evidence of removal), and
says so. The finding goes into the custody log on the original capture, and into the
catalog so a search can show when a reported post went down or was edited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storage.catalog import EventDraft
from storage.records import CAPTURED, UNAVAILABLE, Capture, iso, utcnow

STILL = "post.still_available"
DOWN = "takedown.observed"
CHANGED = "post.changed"
UNDECIDED = "undecided"


@dataclass
class Finding:
    original: Capture
    check: Capture
    result: str  # STILL, DOWN, CHANGED or UNDECIDED
    reason: str = ""
    differences: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"capture": self.original.id, "check_capture": self.check.id,
                "result": self.result, "reason": self.reason,
                "differences": self.differences, "url": self.check.requested_url}


def recheck_url(capture: Capture) -> str:
    """Where the post lives now: its canonical post URL, else the page's."""
    post = capture.post or {}
    return post.get("url") or capture.canonical_url or capture.final_url or \
        capture.requested_url


def targets(captures: list[Capture]) -> list[Capture]:
    """The captures worth re-checking: sealed posts and pages that were up."""
    return [c for c in captures if c.status == CAPTURED and c.manifest_sha256
            and "recheck of " not in (c.note or "")]


def compare(original: Capture, check: Capture) -> Finding:
    if check.status == UNAVAILABLE:
        return Finding(original, check, DOWN, check.error or "the platform says it is gone")
    if check.status != CAPTURED:
        return Finding(original, check, UNDECIDED,
                       f"the re-check was {check.status}: {check.error or 'no answer'}; "
                       "not evidence of removal")
    if original.post and not check.post:
        return Finding(original, check, UNDECIDED, "the page served no post data now")
    differences: dict[str, Any] = {}
    before, after = original.post or {}, check.post or {}
    if _text(before.get("caption")) != _text(after.get("caption")):
        differences["caption"] = {"before": before.get("caption"),
                                  "after": after.get("caption")}
    old_media, new_media = _media_hashes(original), _media_hashes(check)
    if old_media and new_media and old_media != new_media:
        differences["media_sha256"] = {"before": sorted(old_media),
                                       "after": sorted(new_media)}
    if differences:
        return Finding(original, check, CHANGED, "the post differs from the capture",
                       differences)
    return Finding(original, check, STILL)


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _media_hashes(capture: Capture) -> set[str]:
    return {a.sha256 for a in capture.artifacts if a.kind == "media"}


# The catalog state each custody finding puts a post in.
STATES = {DOWN: "taken_down", CHANGED: "changed", STILL: "up"}


def record(evidence: Any, findings: list[Finding]) -> None:
    """Custody events on the original captures, and the catalog's post state."""
    from storage.catalog import post_checks, posts
    from storage.post_index import set_state

    now = utcnow()
    drafts = []
    with evidence.catalog.write() as conn:
        for f in findings:
            conn.execute(post_checks.insert().values(
                capture_id=f.original.id, checked_at=now, result=f.result,
                check_capture_id=f.check.id, detail=f.reason[:1000]))
            if f.result == UNDECIDED:
                continue
            drafts.append(EventDraft(evidence.actor, f.result, f.original.id, {
                "check_capture": f.check.id, "checked_at": iso(now), "reason": f.reason,
                "differences": f.differences,
                "check_manifest_sha256": f.check.manifest_sha256}))
            set_state(conn, posts, f.original.id, STATES[f.result], now)
        evidence.catalog.append_events(conn, drafts)


def restore_states(catalog: Any, events: list[Any]) -> None:
    """After a reindex: each post's re-check state again, from the custody log."""
    from storage.catalog import post_checks, posts
    from storage.post_index import set_state

    findings = [ev for ev in events if ev.action in STATES]
    if not findings:
        return
    with catalog.write() as conn:
        for ev in findings:
            conn.execute(post_checks.insert().values(
                capture_id=ev.subject, checked_at=ev.at, result=ev.action,
                check_capture_id=ev.details.get("check_capture"),
                detail=str(ev.details.get("reason", ""))[:1000]))
            set_state(conn, posts, ev.subject, STATES[ev.action], ev.at)
