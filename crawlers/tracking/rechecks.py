"""Re-checking captured posts, by hand (`saksi recheck`) or on a rule's schedule: a check
capture of each post, compared with the original; findings recorded on the originals and
takedowns sent to the desk's webhook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archivers.recheck import DOWN, Finding, compare, recheck_url, record
from storage.records import Capture

from ..session import register_captures
from .alerts import send

Crawl = Callable[[list[Capture], str], list[Capture]]


def recheck_posts(evidence: Any, chosen: list[Capture], mode: str, crawl: Crawl
                  ) -> tuple[list[Finding], list[str]]:
    """(findings, alerts not delivered). Each original gets its own check capture, even
    when two name the same post, so every finding answers for one capture."""
    checks = [register_captures(evidence, [recheck_url(original)], original.case,
                                f"recheck of {original.id}", mode)[0] for original in chosen]
    results = {c.id: c for c in crawl(checks, mode)}
    findings = [compare(original, results.get(check.id, check))
                for original, check in zip(chosen, checks, strict=True)]
    record(evidence, findings)
    return findings, alert_takedowns(evidence, [f for f in findings if f.result == DOWN])


def alert_takedowns(evidence: Any, findings: list[Finding]) -> list[str]:
    settings = evidence.settings.alerts
    problems = []
    for f in findings:
        post = f.original.post or {}
        problem = send(settings.webhook_url, {
            "type": "takedown.observed", "capture": f.original.id, "case": f.original.case,
            "platform": f.original.platform, "url": post.get("url") or f.original.canonical_url,
            "post_id": post.get("post_id"), "author": post.get("author_handle"),
            "reason": f.reason, "check_capture": f.check.id}, settings.timeout_seconds)
        if problem:
            problems.append(f"alert for {f.original.id} not delivered: {problem}")
    return problems
