"""Beat: enqueues due rules, reading them from the catalog at every tick.

Celery's own beat keeps a static schedule; tracking rules are added, paused and backed
off at any time by people and by runs, so beat here is a loop over the catalog:
- each due rule becomes a job keyed by its rule and window (`rule:<name>:<window>`),
  recorded with the rule's next window in one transaction: a restarted beat, or a
  second one, cannot enqueue a window twice;
- windows missed while beat was down are coalesced into one job for the latest;
- a job is sent to the broker after it is recorded, and marked sent after; one recorded
  but not sent (beat died in between) is sent at the next tick;
- a running job whose lease ran out (its worker is gone) is sent again;
- it sleeps until the next rule is due, at most `jobs.beat_tick_seconds`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from crawlers.tracking.rules import next_window
from crawlers.tracking.scheduler import JITTER_SECONDS, due_rules
from storage.jobs import QUEUED, Job
from storage.records import iso, utcnow

from .app import queue_for

LOCK_KEY = "saksi:beat"


def rule_job_key(name: str, window: datetime) -> str:
    return f"rule:{name}:{iso(window)}"


class Beat:
    def __init__(self, catalog: Any, send: Callable[[str, str], None],
                 clock: Callable[[], datetime] = utcnow,
                 jitter: Callable[[], float] = lambda: random.uniform(0, JITTER_SECONDS)):
        self.catalog, self.send, self.clock, self.jitter = catalog, send, clock, jitter

    def tick(self) -> list[str]:
        """Record and send the jobs due now; the keys sent."""
        catalog = self.catalog
        now = self.clock()
        drafts, following = [], {}
        for due in due_rules(catalog.rules(), now):
            rule = due.rule
            drafts.append(Job(rule_job_key(rule.name, due.due_at), "rule",
                              queue_for(rule.platform, rule.kind == "recheck"), rule.name,
                              due_at=due.due_at, detail={"missed": due.missed}))
            following[rule.name] = next_window(due.due_at, now, rule.every_seconds,
                                               rule.cron) + timedelta(seconds=self.jitter())
        if drafts:
            catalog.add_jobs(drafts, now, following)
        for job in catalog.stale_jobs(now):
            catalog.update_job(job.key, state=QUEUED, holder=None, lease_until=None,
                               enqueued_at=None)
        sent: dict[str, datetime] = {}
        for job in catalog.unsent_jobs():
            self.send(job.key, job.queue)
            sent[job.key] = self.clock()
        catalog.mark_sent(sent)
        return list(sent)

    def seconds_to_next(self, longest: float) -> float:
        """How long to sleep: until the next rule is due, at most `longest`."""
        now = self.clock()
        waits = [(r.next_run_at - now).total_seconds() for r in self.catalog.rules()
                 if not r.paused and r.next_run_at is not None]
        return max(0.05, min([longest, *waits]))


class BeatLock:
    """One beat at a time across machines: a Redis key this beat renews while it runs."""

    def __init__(self, redis: Any, holder: str, seconds: float):
        self.redis, self.holder, self.ms = redis, holder, int(seconds * 1000)

    def take(self) -> bool:
        if self.redis.set(LOCK_KEY, self.holder, nx=True, px=self.ms):
            return True
        if self._mine():
            self.redis.pexpire(LOCK_KEY, self.ms)
            return True
        return False

    def holder_now(self) -> str | None:
        value = self.redis.get(LOCK_KEY)
        return value.decode() if isinstance(value, bytes) else value

    def release(self) -> None:
        if self._mine():
            self.redis.delete(LOCK_KEY)

    def _mine(self) -> bool:
        return self.holder_now() == self.holder
