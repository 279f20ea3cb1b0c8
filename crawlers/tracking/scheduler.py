"""The embedded scheduler: runs due rules in this process, no other service needed.

All state is in the catalog, so a restart neither repeats nor skips a run:
- each run is keyed by its rule and the window it is for; a window that already has a
  finished run is not run again, and one whose process died is taken over;
- windows missed while nothing ran are coalesced into one run, for the latest of them;
- the next window is the first after now, plus a little jitter, so rules made together
  do not all hit a platform in the same second;
- a platform that answers 429/403 (the listing `blocked`) puts the rule in backoff,
  for its Retry-After when it gave one, else doubling from 15 minutes.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.catalog import EventDraft
from storage.records import BLOCKED, utcnow

from ..session import holder_is_dead, lease_holder
from .rules import next_after, next_window
from .run import Crawl, RunSummary, run_rule

JITTER_SECONDS = 30
BACKOFF_START = timedelta(minutes=15)
BACKOFF_MAX = timedelta(hours=12)
RETRY_AFTER = re.compile(r"Retry-After: (\d+) s")
MAX_WINDOWS = 100_000  # cron windows walked to find the latest missed one


@dataclass
class Due:
    rule: Any
    due_at: datetime  # the window this run is for
    missed: int  # windows coalesced into it (0: on time)


def latest_window(rule: Any, now: datetime) -> tuple[datetime, int]:
    """The last window at or before `now`, from the rule's next_run_at, and how many
    earlier windows it stands for."""
    first = rule.next_run_at
    if rule.every_seconds:
        steps = int((now - first).total_seconds() // rule.every_seconds)
        return first + timedelta(seconds=steps * rule.every_seconds), steps
    window, missed = first, 0
    for _ in range(MAX_WINDOWS):
        following = next_after(window, None, rule.cron)
        if following > now:
            break
        window, missed = following, missed + 1
    return window, missed


def due_rules(rules: list[Any], now: datetime) -> list[Due]:
    out = []
    for rule in rules:
        if rule.paused or rule.next_run_at is None:
            continue
        if rule.backoff_until is not None and rule.backoff_until > now:
            continue
        if rule.next_run_at <= now:
            out.append(Due(rule, *latest_window(rule, now)))
    return sorted(out, key=lambda d: d.due_at)


class Scheduler:
    def __init__(self, evidence: Any, crawl: Crawl,
                 clock: Callable[[], datetime] = utcnow,
                 jitter: Callable[[], float] = lambda: random.uniform(0, JITTER_SECONDS),
                 report: Callable[[str], None] = lambda line: None):
        self.evidence, self.crawl, self.clock = evidence, crawl, clock
        self.jitter, self.report = jitter, report
        self.holder = lease_holder()

    def tick(self) -> list[RunSummary]:
        """Run every rule due now, one after another; returns what ran."""
        done = []
        for due in due_rules(self.evidence.catalog.rules(), self.clock()):
            summary = self.run_due(due)
            if summary is not None:
                done.append(summary)
        return done

    def run_due(self, due: Due, abandoned_before: datetime | None = None
                ) -> RunSummary | None:
        """Run one rule for one window, unless that window ran already or runs elsewhere
        (None). A Celery worker calls this for the job beat enqueued; `abandoned_before`
        lets it take over a run another machine started and never finished."""
        rule, catalog = due.rule, self.evidence.catalog
        started = self.clock()
        run_id = catalog.start_run(rule.name, due.due_at, started, self.holder,
                                   holder_is_dead, abandoned_before)
        following = next_window(due.due_at, started, rule.every_seconds, rule.cron)
        following += timedelta(seconds=self.jitter())
        if run_id is None:  # this window ran already (or runs elsewhere): move on
            catalog.update_rule(rule.name, next_run_at=following)
            return None
        self.report(f"{rule.name}: run for {due.due_at:%Y-%m-%d %H:%M} UTC"
                    + (f" ({due.missed} missed window(s) coalesced)" if due.missed else ""))
        try:
            if rule.kind == "recheck":
                summary = self._recheck(rule, due.due_at)
            else:
                summary = run_rule(self.evidence, rule, due.due_at, self.crawl)
        except Exception as exc:  # noqa: BLE001 - one rule's failure must not stop the rest
            summary = RunSummary(rule.name, due.due_at, error=" ".join(str(exc).split()))
        finished = self.clock()
        values: dict[str, Any] = {"last_run_at": finished, "last_status": summary.status,
                                  "last_error": summary.error, "next_run_at": following,
                                  "backoff_until": None}
        if summary.listing_status == BLOCKED:
            values["backoff_until"] = finished + self._backoff(rule, summary)
            values["next_run_at"] = max(following, values["backoff_until"])
        result = summary.to_json()
        result["missed_windows"] = due.missed
        catalog.finish_run(run_id, summary.status, result, finished, values)
        self.report(f"{rule.name}: {summary.seen} shown, {len(summary.new)} new, "
                    f"{len(summary.known)} known" + (f"; {summary.error}"
                                                     if summary.error else ""))
        return summary

    def _recheck(self, rule: Any, due_at: datetime) -> RunSummary:
        """A re-check rule: every captured post of its case checked again."""
        from archivers.recheck import UNDECIDED, targets

        from .rechecks import recheck_posts

        summary = RunSummary(rule.name, due_at)
        chosen = targets(self.evidence.catalog.list_captures(case=rule.target))
        if not chosen:
            summary.error = f"no captured posts in case {rule.target}"
        else:
            findings, summary.alerts = recheck_posts(
                self.evidence, chosen, self.evidence.settings.platforms.recheck_mode,
                self.crawl)
            summary.seen = len(findings)
            summary.new = [f.check.id for f in findings]  # the check captures
            summary.failed = [{"capture": f.original.id, "status": f.result,
                               "error": f.reason} for f in findings if f.result == UNDECIDED]
            summary.findings = {f.original.id: f.result for f in findings}
        self.evidence.custody.record([EventDraft(self.evidence.actor, "tracking.run",
                                                 rule.name, summary.to_json())])
        self.evidence.custody.flush()
        return summary

    def _backoff(self, rule: Any, summary: RunSummary) -> timedelta:
        said = RETRY_AFTER.search(summary.error or "")
        if said:
            return timedelta(seconds=int(said[1]))
        if rule.backoff_until is not None and rule.last_run_at is not None:
            return min(BACKOFF_MAX, 2 * max(BACKOFF_START,
                                            rule.backoff_until - rule.last_run_at))
        return BACKOFF_START
