"""The catalog's index of posts: who posted what, when, under which hashtags, and
whether it is still up. What `search` filters on and `recheck` updates.

The post itself stays in the sealed capture (its `post` artifact and manifest); these
rows are an index, rebuilt from the captures by `reindex` like the rest of the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, String, Table, Text, delete, select
from sqlalchemy.engine import Connection

from .records import Capture, parse_iso

# The latest state of a post, as re-checks found it.
UP = "up"
TAKEN_DOWN = "taken_down"
CHANGED = "changed"


def define(metadata) -> tuple[Table, Table, Table]:
    posts = Table(
        "posts", metadata,
        Column("capture_id", String(36), primary_key=True),
        Column("platform", String(40), nullable=False, index=True),
        Column("post_id", String(300), index=True),
        Column("author_handle", String(300), index=True),  # lower-case, no "@"
        Column("author_id", String(300)),
        Column("posted_at", DateTime(timezone=True), index=True),
        Column("caption", Text),
        Column("state", String(20), nullable=False, default=UP),
        Column("last_checked_at", DateTime(timezone=True)),
        Column("taken_down_at", DateTime(timezone=True)),  # first check that found it gone
        Column("changed_at", DateTime(timezone=True)),  # first check that found it edited
    )
    tags = Table(
        "post_tags", metadata,
        Column("capture_id", String(36), nullable=False, index=True),
        Column("kind", String(10), nullable=False),  # hashtag | mention
        Column("tag", String(300), nullable=False, index=True),  # lower-case, no # or @
    )
    checks = Table(
        "post_checks", metadata,
        Column("capture_id", String(36), nullable=False, index=True),  # the post checked
        Column("checked_at", DateTime(timezone=True), nullable=False),
        Column("result", String(30), nullable=False),  # the custody action recorded
        Column("check_capture_id", String(36)),  # the light capture of what was served
        Column("detail", Text),
    )
    return posts, tags, checks


def tag_value(text: str) -> str:
    return text.strip().lstrip("#@").casefold()


def record_posts(conn: Connection, posts: Table, tags: Table, done: list[Capture]) -> None:
    """Index the posts of finished captures (re-indexing one replaces its rows)."""
    with_post = [c for c in done if c.post and c.post.get("post_id")]  # not listings
    if not with_post:
        return
    ids = [c.id for c in with_post]
    conn.execute(delete(posts).where(posts.c.capture_id.in_(ids)))
    conn.execute(delete(tags).where(tags.c.capture_id.in_(ids)))
    rows, tag_rows = [], []
    for capture in with_post:
        post = capture.post or {}
        handle = post.get("author_handle")
        rows.append({
            "capture_id": capture.id, "platform": post.get("platform") or capture.platform,
            "post_id": post.get("post_id"),
            "author_handle": tag_value(handle) if handle else None,
            "author_id": post.get("author_id"),
            "posted_at": _time(post.get("posted_at")), "caption": post.get("caption"),
            "state": UP})
        for kind, key in (("hashtag", "hashtags"), ("mention", "mentions")):
            for value in dict.fromkeys(tag_value(t) for t in post.get(key) or [] if t):
                tag_rows.append({"capture_id": capture.id, "kind": kind, "tag": value})
    conn.execute(posts.insert(), rows)
    if tag_rows:
        conn.execute(tags.insert(), tag_rows)


def set_state(conn: Connection, posts: Table, capture_id: str, state: str,
              at: datetime) -> None:
    """A re-check's finding on a post: its state now, and when it first went down or
    was first seen changed."""
    row = conn.execute(posts.select().where(posts.c.capture_id == capture_id)).first()
    if row is None:
        return
    values: dict[str, Any] = {"state": state, "last_checked_at": at}
    if state == TAKEN_DOWN and row.taken_down_at is None:
        values["taken_down_at"] = at
    if state == CHANGED and row.changed_at is None:
        values["changed_at"] = at
    conn.execute(posts.update().where(posts.c.capture_id == capture_id).values(**values))


def _time(text: Any) -> datetime | None:
    try:
        return parse_iso(text) if isinstance(text, str) else None
    except ValueError:
        return None


@dataclass
class PostFilter:
    platform: str | None = None
    author: str | None = None
    hashtag: str | None = None
    case: str | None = None
    status: str | None = None
    since: datetime | None = None  # posted at or after (captured at, for pages)
    until: datetime | None = None
    url_forms: tuple[str, ...] = ()  # "was this already captured?": the URL's forms
    post_key: tuple[str, str] | None = None  # (platform, post id) the URL names
    state: str | None = None  # up | taken_down | changed


def search_ids(conn: Connection, captures: Table, posts: Table, tags: Table,
               f: PostFilter) -> list[str]:
    """Capture ids matching every given filter, oldest first."""
    query = select(captures.c.id).select_from(
        captures.outerjoin(posts, posts.c.capture_id == captures.c.id))
    if f.platform:
        query = query.where(captures.c.platform == f.platform)
    if f.author:
        query = query.where(posts.c.author_handle == tag_value(f.author))
    if f.hashtag:
        query = query.where(captures.c.id.in_(select(tags.c.capture_id).where(
            tags.c.kind == "hashtag", tags.c.tag == tag_value(f.hashtag))))
    if f.case:
        query = query.where(captures.c.case_id == f.case)
    if f.status:
        query = query.where(captures.c.status == f.status)
    if f.state:
        query = query.where(posts.c.state == f.state)
    if f.since:
        query = query.where((posts.c.posted_at >= f.since) | (
            posts.c.posted_at.is_(None) & (captures.c.started_at >= f.since)))
    if f.until:
        query = query.where((posts.c.posted_at < f.until) | (
            posts.c.posted_at.is_(None) & (captures.c.started_at < f.until)))
    if f.url_forms or f.post_key:
        forms = list(f.url_forms)
        matches = [captures.c.requested_url.in_(forms), captures.c.canonical_url.in_(forms),
                   captures.c.final_url.in_(forms)]
        if f.post_key:
            matches.append((posts.c.platform == f.post_key[0])
                           & (posts.c.post_id == f.post_key[1]))
        condition = matches[0]
        for more in matches[1:]:
            condition = condition | more
        query = query.where(condition)
    return [row.id for row in conn.execute(query.order_by(captures.c.id))]
