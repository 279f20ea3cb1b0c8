"""How a post reads on a terminal: the facts an investigator looks for first."""

from __future__ import annotations

from typing import Any


def post_lines(post: dict[str, Any], checked: dict[str, Any] | None = None) -> list[str]:
    author = " ".join(x for x in (
        f"@{post['author_handle']}" if post.get("author_handle") else "",
        f"({post['author_name']})" if post.get("author_name") else "",
        f"id {post['author_id']}" if post.get("author_id") else "") if x)
    counts = ", ".join(f"{post[k]:,} {k}" for k in ("views", "likes", "comments", "shares")
                       if isinstance(post.get(k), int))
    rows = [("platform", post.get("platform")), ("post id", post.get("post_id")),
            ("post url", post.get("url")), ("author", author),
            ("posted at", post.get("posted_at")), ("caption", post.get("caption")),
            ("counts", counts),
            ("hashtags", " ".join(f"#{t}" for t in post.get("hashtags") or [])),
            ("mentions", " ".join(f"@{m}" for m in post.get("mentions") or [])),
            ("music", post.get("music")), ("language", post.get("language"))]
    lines = [f"{name:16} {value}" for name, value in rows if value]
    for item in post.get("media") or []:
        size = f" {item['width']}x{item['height']}" if item.get("width") else ""
        lines.append(f"{'media':16} {item.get('type')}{size} {item.get('url')}")
    if checked and checked.get("last_checked_at"):
        state = {"taken_down": f"TAKEN DOWN (first seen {checked['taken_down_at']})",
                 "changed": f"changed (first seen {checked['changed_at']})"}.get(
                     checked["state"], "still up")
        lines.append(f"{'re-checked':16} {state}; last check {checked['last_checked_at']}")
    return lines
