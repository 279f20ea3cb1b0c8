"""Alerts: a JSON message to the desk's webhook for each new post captured under a rule
and each takedown a re-check observes. Best effort: an alert that cannot be delivered is
reported and never holds up or undoes a capture."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def send(url: str, message: dict[str, Any], timeout: float) -> str | None:
    """None when delivered, else one line saying why not. This goes to the desk's own
    server (often on its private network), not to a platform: no egress guard."""
    if not url:
        return None
    request = urllib.request.Request(
        url, data=json.dumps(message, ensure_ascii=False).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "Saksi alerts"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no env proxies
    try:
        with opener.open(request, timeout=timeout) as answer:
            if answer.status >= 300:
                return f"webhook answered HTTP {answer.status}"
    except OSError as exc:
        return f"webhook not reached: {exc}"
    return None


def new_posts(rule: Any, summary: Any, captures: dict[str, Any]) -> list[dict[str, Any]]:
    """One message per new post captured under a rule."""
    out = []
    for capture_id in summary.new:
        c = captures.get(capture_id)
        if c is None or c.status != "captured":
            continue
        post = c.post or {}
        out.append({"type": "post.captured", "rule": rule.name, "platform": c.platform,
                    "capture": c.id, "url": post.get("url") or c.canonical_url,
                    "post_id": post.get("post_id"), "author": post.get("author_handle"),
                    "caption": post.get("caption"), "posted_at": post.get("posted_at"),
                    "case": c.case, "listing_capture": summary.listing_capture})
    return out
