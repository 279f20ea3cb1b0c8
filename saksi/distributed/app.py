"""The Celery application: one task, `saksi.job`, carrying a job's idempotency key.

Delivery is at least once: a job is acknowledged only after it ran (`acks_late`), is
handed back if its worker process is lost (`task_reject_on_worker_lost`), and Redis
hands an unacknowledged job to another worker after the visibility timeout, which the
settings keep above the capture budget. Each worker takes one job at a time
(prefetch 1), so a killed worker holds at most the job it was running.
"""

from __future__ import annotations

from typing import Any

from config import PLATFORMS

TASK = "saksi.job"
QUEUES = (*PLATFORMS, "generic", "recheck")


def queue_for(platform: str | None, recheck: bool = False) -> str:
    """One queue per platform, so a desk can give a busy platform its own workers."""
    if recheck:
        return "recheck"
    return platform if platform in PLATFORMS else "generic"


def make_app(settings: Any, run_job: Any = None):
    """The Celery app for `jobs.broker`; `run_job(key, task)` is the worker's handler
    (the sending side, beat and `capture --enqueue`, registers none)."""
    from celery import Celery

    jobs = settings.jobs
    timeout = jobs.visibility_timeout_seconds
    app = Celery("saksi", broker=jobs.broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        task_default_queue="generic",
        task_create_missing_queues=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        broker_transport_options={
            "visibility_timeout": timeout,
            # look for jobs of lost workers often enough to honour the timeout closely
            "unacked_restore_interval": max(1, min(60, int(timeout // 10))),
            "unacked_restore_throttle": 1,
        },
    )
    if run_job is not None:
        @app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
        def job(task: Any, key: str) -> None:
            run_job(key, task)
    return app


def send(app: Any, key: str, queue: str, producer: Any = None) -> None:
    """Put the job `key` on `queue` (through `producer`'s connection when given)."""
    app.send_task(TASK, args=[key], queue=queue, producer=producer)
