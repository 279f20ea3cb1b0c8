"""Distributed jobs in the catalog: the idempotency key of every job a broker carries.

The broker (Redis) may deliver a job twice: after a worker died holding it, or when beat
re-sends one it could not confirm. The catalog row keyed by the job's idempotency key
decides who runs it: a worker claims the row before doing anything, so a job is run by
one live holder at a time, and a finished one is never run again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, Text, select, update
from sqlalchemy.engine import Connection

from .records import iso

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


def define(metadata) -> Table:
    return Table(
        "jobs", metadata,
        Column("key", String(300), primary_key=True),  # capture:<id> | rule:<name>:<window>
        Column("kind", String(20), nullable=False),  # capture | rule
        Column("queue", String(40), nullable=False),
        Column("subject", String(300), nullable=False),  # the capture id or the rule name
        Column("due_at", DateTime(timezone=True)),  # rule jobs: the window it is for
        Column("state", String(20), nullable=False, index=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("holder", String(200)),  # host:pid:start of the worker running it
        Column("lease_until", DateTime(timezone=True)),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("enqueued_at", DateTime(timezone=True)),  # None until the broker has it
        Column("started_at", DateTime(timezone=True)),
        Column("finished_at", DateTime(timezone=True)),
        Column("error", Text),
        Column("detail", JSON),  # missed windows, the capture attempts, the outcome
    )


@dataclass
class Job:
    key: str
    kind: str
    queue: str
    subject: str
    state: str = QUEUED
    due_at: datetime | None = None
    attempts: int = 0
    holder: str | None = None
    lease_until: datetime | None = None
    created_at: datetime | None = None
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"job": self.key, "kind": self.kind, "queue": self.queue,
                "subject": self.subject, "status": self.state, "due_at": iso(self.due_at),
                "attempts": self.attempts, "created_at": iso(self.created_at),
                "enqueued_at": iso(self.enqueued_at), "started_at": iso(self.started_at),
                "finished_at": iso(self.finished_at), "error": self.error,
                "detail": self.detail}


@dataclass
class Claim:
    """What a worker may do with a delivered job: `claimed` (run it now), `done` or
    `failed` (finished before: acknowledge and drop), `busy` (a live holder runs it: look
    again after `until`), `missing` (no such job)."""

    outcome: str
    job: Job | None = None
    until: datetime | None = None


def job_from_row(row: Any, aware) -> Job:
    return Job(key=row.key, kind=row.kind, queue=row.queue, subject=row.subject,
               state=row.state, due_at=aware(row.due_at), attempts=row.attempts or 0,
               holder=row.holder, lease_until=aware(row.lease_until),
               created_at=aware(row.created_at), enqueued_at=aware(row.enqueued_at),
               started_at=aware(row.started_at), finished_at=aware(row.finished_at),
               error=row.error, detail=dict(row.detail or {}))


def add(conn: Connection, jobs: Table, drafts: list[Job], now: datetime) -> list[str]:
    """Insert the jobs whose key is new; returns those keys (a key seen before is the
    same job, whatever state it is in)."""
    keys = [d.key for d in drafts]
    known: set[str] = set()
    for start in range(0, len(keys), 500):
        known.update(r.key for r in conn.execute(
            select(jobs.c.key).where(jobs.c.key.in_(keys[start:start + 500]))))
    fresh = [d for d in drafts if d.key not in known]
    if fresh:
        conn.execute(jobs.insert(), [
            {"key": d.key, "kind": d.kind, "queue": d.queue, "subject": d.subject,
             "due_at": d.due_at, "state": QUEUED, "attempts": 0, "created_at": now,
             "detail": d.detail} for d in fresh])
    return [d.key for d in fresh]


def claim(conn: Connection, jobs: Table, key: str, holder: str, now: datetime,
          until: datetime, holder_is_dead, aware) -> Claim:
    row = conn.execute(select(jobs).where(jobs.c.key == key).with_for_update()).first()
    if row is None:
        return Claim("missing")
    job = job_from_row(row, aware)
    if job.state in (DONE, FAILED):
        return Claim(job.state, job)
    if job.state == RUNNING and job.holder != holder and not (
            holder_is_dead(job.holder) or (job.lease_until and job.lease_until < now)):
        return Claim("busy", job, job.lease_until)
    job.state, job.holder, job.lease_until = RUNNING, holder, until
    job.attempts += 1
    job.started_at = job.started_at or now
    conn.execute(update(jobs).where(jobs.c.key == key).values(
        state=RUNNING, holder=holder, lease_until=until, attempts=job.attempts,
        started_at=job.started_at))
    return Claim("claimed", job)
