"""Tracking rules and their runs, in the catalog: what the monitoring desk follows, when
each rule runs next, and what each run saw.

Rule state lives here (not in a scheduler's memory) so a restart neither repeats nor
skips a run: a run is keyed by its rule and the window it was due for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.engine import Connection

from .records import iso


def define(metadata) -> tuple[Table, Table]:
    rules = Table(
        "tracking_rules", metadata,
        Column("name", String(200), primary_key=True),
        Column("platform", String(40), nullable=False),
        Column("kind", String(20), nullable=False),  # hashtag | account | recheck
        Column("target", String(300), nullable=False),  # tag or handle, without # or @
        Column("case_id", String(200)),
        Column("every_seconds", Integer),
        Column("cron", String(200)),
        Column("max_posts", Integer, nullable=False),
        Column("paused", Boolean, nullable=False, default=False),
        Column("created_by", String(200), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("next_run_at", DateTime(timezone=True), index=True),
        Column("last_run_at", DateTime(timezone=True)),
        Column("last_status", String(20)),
        Column("last_error", Text),
        Column("backoff_until", DateTime(timezone=True)),
    )
    runs = Table(
        "tracking_runs", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("rule", String(200), nullable=False, index=True),
        Column("due_at", DateTime(timezone=True), nullable=False),  # the window it ran for
        Column("started_at", DateTime(timezone=True), nullable=False),
        Column("finished_at", DateTime(timezone=True)),
        Column("status", String(20), nullable=False),  # running | done | failed
        Column("holder", String(200)),  # host:pid:start of the process running it
        Column("listing_capture", String(36)),
        Column("summary", JSON),
        UniqueConstraint("rule", "due_at", name="one_run_per_window"),
    )
    return rules, runs


@dataclass
class Rule:
    name: str
    platform: str
    kind: str
    target: str
    case_id: str | None
    every_seconds: int | None
    cron: str | None
    max_posts: int
    paused: bool
    created_by: str
    created_at: datetime
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    backoff_until: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "platform": self.platform, "kind": self.kind,
                "target": self.target, "case": self.case_id,
                "every_seconds": self.every_seconds, "cron": self.cron,
                "max_posts": self.max_posts, "paused": self.paused,
                "created_by": self.created_by, "created_at": iso(self.created_at),
                "next_run_at": iso(self.next_run_at), "last_run_at": iso(self.last_run_at),
                "last_status": self.last_status, "last_error": self.last_error,
                "backoff_until": iso(self.backoff_until)}


def rule_from_row(row: Any, aware) -> Rule:
    return Rule(name=row.name, platform=row.platform, kind=row.kind, target=row.target,
                case_id=row.case_id, every_seconds=row.every_seconds, cron=row.cron,
                max_posts=row.max_posts, paused=bool(row.paused), created_by=row.created_by,
                created_at=aware(row.created_at), next_run_at=aware(row.next_run_at),
                last_run_at=aware(row.last_run_at), last_status=row.last_status,
                last_error=row.last_error, backoff_until=aware(row.backoff_until))


def all_rules(conn: Connection, rules: Table, aware) -> list[Rule]:
    return [rule_from_row(r, aware) for r in conn.execute(select(rules).order_by(rules.c.name))]
