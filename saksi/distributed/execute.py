"""One delivered job, in a worker: claim it in the catalog, wait for the platform's turn,
run it through the worker's crawler process, record how it ended.

Exactly one sealed capture per capture job, even when a worker is killed mid-capture:
- the claim lets one live holder run a job; a finished job is dropped when delivered
  again;
- the killed worker's crawler process dies with it, so nobody finishes that capture
  behind our back: its open capture is quarantined as interrupted (recover_interrupted),
  and the retry is a new capture of the same link, noted as a retry of the lost one;
- the job remembers which capture it is on, so a second loss continues from there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from storage.jobs import DONE, FAILED, QUEUED, Job
from storage.records import CAPTURED, PENDING, RUNNING, utcnow

log = logging.getLogger("saksi.worker")
INTERRUPTED = "interrupted"
# A worker signs a checkpoint of the custody log after a job that captured, at most this
# often: each is a signature (and a TSA request); events after it are covered by the next
# one, or by the checkpoint `export` and `custody checkpoint` make.
CHECKPOINT_EVERY_SECONDS = 60.0


class Busy(Exception):
    """A live holder elsewhere runs this capture: look again later."""

    def __init__(self, seconds: float):
        super().__init__(f"busy for {seconds:.0f} s")
        self.seconds = seconds


class JobRunner:
    """The worker's handler for `saksi.job`: evidence and crawler opened once, used for
    every job this worker takes."""

    def __init__(self, settings: Any, pace: Any = None, checkpoint: Any = None):
        from crawlers.session import lease_holder
        from saksi.crawl_host import CrawlHost

        self.settings = settings
        self.holder = lease_holder()
        self.host = CrawlHost(settings)
        self.pace = pace
        self._checkpoint = checkpoint  # signs the custody log after a job that captured
        self._checkpointed_at = float("-inf")
        self._evidence: Any = None

    @property
    def evidence(self) -> Any:
        if self._evidence is None:
            from archivers.evidence import Evidence
            from crawlers.session import load_accounts

            self._evidence = Evidence.open(self.settings)
            load_accounts(self.settings)
        return self._evidence

    def close(self) -> None:
        self.host.close()
        if self._evidence is not None:
            self._evidence.close()

    def __call__(self, key: str, task: Any = None) -> str:
        """Run the job `key`; returns how it ended (done, failed, or why it did not run).
        With a Celery `task`, a job to look at again later is retried through the broker."""
        from crawlers.session import holder_is_dead

        catalog = self.evidence.catalog
        now = utcnow()
        lease = timedelta(seconds=self.settings.jobs.visibility_timeout_seconds)
        claim = catalog.claim_job(key, self.holder, now, now + lease, holder_is_dead)
        if claim.outcome == "busy":
            wait = (claim.until - now).total_seconds() if claim.until else 60.0
            return self._later(key, task, wait, requeue=False)
        if claim.outcome != "claimed":
            log.info("%s: not run (%s)", key, claim.outcome)
            return claim.outcome
        job = claim.job
        assert job is not None
        if job.attempts > self.settings.jobs.max_attempts:
            return self._finish(job, FAILED, f"gave up after {job.attempts - 1} attempts: "
                                             f"{job.error or 'the worker was lost'}")
        from crawlers.session import recover_interrupted
        from saksi.crawl_host import CrawlHostLost

        recover_interrupted(self.evidence)  # captures a killed worker left open
        try:
            with self._lease_kept(key, lease):
                if job.kind == "capture":
                    state, error = self._capture(job)
                else:
                    state, error = self._rule(job)
        except Busy as busy:
            return self._later(key, task, busy.seconds)
        except CrawlHostLost as lost:
            catalog.update_job(key, error=str(lost))
            return self._later(key, task, 1.0)
        except Exception as exc:  # noqa: BLE001 - one job's failure must not stop the worker
            log.exception("%s failed", key)
            state, error = FAILED, " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
        return self._finish(job, state, error)

    # ---- the two kinds of job --------------------------------------------------------

    def _capture(self, job: Job) -> tuple[str, str | None]:
        from crawlers.session import register_captures
        from saksi.crawl_host import CrawlHostLost

        evidence = self.evidence
        catalog = evidence.catalog
        capture = catalog.get_capture(job.detail.get("capture", job.subject))
        if capture is None:
            return FAILED, f"no capture {job.subject} in the catalog"
        if capture.status == RUNNING:  # recover_interrupted left it: a live holder has it
            lease = next((until for cid, _, until in catalog.running() if cid == capture.id),
                         None)
            raise Busy(max(5.0, (lease - utcnow()).total_seconds()) if lease else 60.0)
        if capture.status == "failed" and (capture.error or "").startswith(INTERRUPTED):
            note = f"retry of {capture.id}: {capture.error}"
            retry, = register_captures(evidence, [capture.requested_url], capture.case,
                                       f"{capture.note}; {note}" if capture.note else note,
                                       job.detail.get("mode", "static"))
            job.detail["lost"] = [*job.detail.get("lost", []), capture.id]
            job.detail["capture"] = retry.id
            catalog.update_job(job.key, detail=job.detail)  # a second loss continues here
            capture = retry
        if capture.status == PENDING:
            if self.pace is not None:
                self.pace.wait_turn(capture.platform)
            try:
                results = self.host.crawl([capture], job.detail.get("mode", "static"))
            except CrawlHostLost:
                raise
            except RuntimeError as exc:  # after sealing (custody, upload): say so, keep it
                job.detail["warning"] = str(exc)[:500]
                results = []
            capture = next((c for c in results if c.id == capture.id), None) or \
                catalog.get_capture(capture.id) or capture
            self._after_captures()
        job.detail.update(capture=capture.id, status=capture.status)
        if capture.status == "failed":
            return FAILED, capture.error
        return DONE, None

    def _rule(self, job: Job) -> tuple[str, str | None]:
        from crawlers.tracking.scheduler import RETRY_AFTER, Due, Scheduler

        evidence = self.evidence
        rule = next((r for r in evidence.catalog.rules() if r.name == job.subject), None)
        if rule is None:
            job.detail["note"] = "the rule was removed before its run"
            return DONE, None
        if self.pace is not None and rule.kind != "recheck":
            self.pace.wait_turn(rule.platform)
        scheduler = Scheduler(evidence, self.host.crawl,
                              report=lambda line: log.info("%s", line))
        scheduler.holder = self.holder
        lease = timedelta(seconds=self.settings.jobs.visibility_timeout_seconds)
        summary = scheduler.run_due(Due(rule, job.due_at or utcnow(),
                                        int(job.detail.get("missed", 0))),
                                    abandoned_before=utcnow() - lease)
        if summary is None:
            job.detail["note"] = "this window had run already"
            return DONE, None
        self._after_captures()
        job.detail.update(listing_capture=summary.listing_capture, seen=summary.seen,
                          new=len(summary.new), known=len(summary.known),
                          failed=len(summary.failed))
        said = RETRY_AFTER.search(summary.error or "")
        if said and self.pace is not None and summary.listing_status != CAPTURED:
            self.pace.hold_off(rule.platform, float(said[1]))
        return (FAILED if summary.error else DONE), summary.error

    # ---- bookkeeping -----------------------------------------------------------------

    @contextmanager
    def _lease_kept(self, key: str, lease: timedelta) -> Iterator[None]:
        """Renew the job's lease while it runs: Redis hands the job to another worker
        after the visibility timeout whatever happens, and that worker must find the
        job still held (busy), not abandoned, while this one is alive and working."""
        import threading

        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(max(5.0, lease.total_seconds() / 3)):
                self.evidence.catalog.renew_job(key, self.holder, utcnow() + lease)

        keeper = threading.Thread(target=renew, name="job-lease", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            stop.set()
            keeper.join()

    def _after_captures(self) -> None:
        import time

        if self._checkpoint is None:
            return
        if time.monotonic() - self._checkpointed_at >= CHECKPOINT_EVERY_SECONDS:
            self._checkpoint(self.evidence)
            self._checkpointed_at = time.monotonic()

    def _finish(self, job: Job, state: str, error: str | None) -> str:
        self.evidence.catalog.update_job(job.key, state=state, error=error,
                                         detail=job.detail, finished_at=utcnow(),
                                         lease_until=None)
        log.info("%s: %s%s", job.key, state, f" ({error})" if error else "")
        return state

    def _later(self, key: str, task: Any, seconds: float, requeue: bool = True) -> str:
        """Hand the job back to look at it again in `seconds` (through the broker)."""
        if requeue:
            self.evidence.catalog.update_job(key, state=QUEUED, holder=None,
                                             lease_until=None)
        if task is None:
            return "later"
        raise task.retry(countdown=max(1.0, seconds), max_retries=None)
