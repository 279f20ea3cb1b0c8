"""`saksi worker`, `saksi beat` and `capture --enqueue`: jobs on Celery and Redis.

Only with `[jobs] broker` set; without it every job runs in the process that asks.
"""

from __future__ import annotations

import os
import socket
from typing import Annotated, Any

import typer

from saksi.cli import UsageProblem, _print_json, _settings, app, err, out


def _broker_settings() -> Any:
    settings = _settings()
    reach_broker(settings, ping=False)
    return settings


def reach_broker(settings: Any, ping: bool = True) -> Any:
    if not settings.jobs.broker:
        raise UsageProblem("no broker: set [jobs] broker = \"redis://host:6379/0\" (or "
                           "SAKSI_JOBS__BROKER); without one, 'saksi schedule' runs jobs "
                           "in process")
    return _redis(settings) if ping else None


def _redis(settings: Any) -> Any:
    import redis

    client = redis.Redis.from_url(settings.jobs.broker, socket_connect_timeout=10)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise UsageProblem(f"cannot reach the broker {settings.jobs.broker}: {exc}") from None
    return client


def _queues(text: str | None) -> list[str]:
    from saksi.distributed.app import QUEUES

    if not text:
        return list(QUEUES)
    wanted = [q.strip() for q in text.split(",") if q.strip()]
    unknown = [q for q in wanted if q not in QUEUES]
    if unknown or not wanted:
        raise UsageProblem(f"unknown queue(s) {', '.join(unknown) or text!r}: use "
                           + ", ".join(QUEUES))
    return wanted


@app.command()
def worker(
    queues: Annotated[str | None, typer.Option(
        help="Comma-separated queues to take jobs from: tiktok, x, instagram, facebook, "
             "youtube, telegram, generic, recheck (default: all).")] = None,
    name: Annotated[str | None, typer.Option(help="This worker's name in Celery.")] = None,
) -> None:
    """A Celery worker: takes one job at a time from the broker and runs it through its
    own long-lived crawler process. Start several for more throughput."""
    settings = _broker_settings()
    chosen = _queues(queues)
    client = _redis(settings)
    from celery.signals import worker_shutdown

    from crawlers.session import lease_holder
    from saksi.cli import _checkpoint_after_captures
    from saksi.distributed.app import make_app
    from saksi.distributed.execute import JobRunner
    from saksi.distributed.pace import SharedPace

    runner = JobRunner(settings, SharedPace(client, settings.platforms.pace_seconds,
                                            lease_holder()), _checkpoint_after_captures)
    runner.host.start()  # warm before the first job: Python, Scrapy, the sealer
    celery = make_app(settings, runner)
    worker_shutdown.connect(lambda **_: runner.close(), weak=False)
    err.print(f"worker {os.getpid()}: queues {', '.join(chosen)} on {settings.jobs.broker}",
              markup=False)
    celery.worker_main(["worker", "--pool=solo", "--concurrency=1", "--loglevel=INFO",
                        "--without-gossip", "--without-mingle", "--without-heartbeat",
                        "-Q", ",".join(chosen),
                        "-n", name or f"saksi-{os.getpid()}@{socket.gethostname()}"])


@app.command()
def beat(
    once: Annotated[bool, typer.Option("--once", help="Enqueue what is due now, then stop.")]
    = False,
) -> None:
    """Enqueues due tracking rules for the workers, reading the rules from the catalog at
    every tick. One beat runs at a time (a lock in Redis); Ctrl-C stops it."""
    import time

    settings = _broker_settings()
    client = _redis(settings)
    import signal

    from crawlers.session import lease_holder
    from saksi.cli import _open
    from saksi.distributed.app import make_app, send
    from saksi.distributed.beat import Beat, BeatLock

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # a service manager's SIGTERM stops beat like Ctrl-C

    signal.signal(signal.SIGTERM, stop)
    celery = make_app(settings)
    tick = settings.jobs.beat_tick_seconds
    lock = BeatLock(client, lease_holder(), max(30.0, 3 * tick))
    evidence = _open()
    try:
        with celery.producer_or_acquire() as producer:
            scheduler = Beat(evidence.catalog, lambda key, queue: send(celery, key, queue,
                                                                   producer))
            while True:
                if lock.take():
                    sent = scheduler.tick()
                    if sent:
                        err.print(f"beat: enqueued {len(sent)} job(s)", markup=False)
                elif once:
                    raise UsageProblem(f"another beat is running ({lock.holder_now()})")
                if once:
                    break
                time.sleep(scheduler.seconds_to_next(tick))
    except KeyboardInterrupt:
        err.print("beat stopped", markup=False)
    finally:
        lock.release()
        evidence.close()


def enqueue_captures(evidence: Any, captures: list[Any], mode: str, as_json: bool) -> None:
    """`capture --enqueue`: each registered capture becomes a job on its platform's queue."""
    from saksi.distributed.app import make_app, queue_for, send
    from storage.jobs import Job
    from storage.records import PENDING, utcnow

    settings = evidence.settings
    pending = [c for c in captures if c.status == PENDING]
    drafts = [Job(f"capture:{c.id}", "capture", queue_for(c.platform), c.id,
                  detail={"mode": mode, "url": c.requested_url}) for c in pending]
    evidence.catalog.add_jobs(drafts, utcnow())
    celery = make_app(settings)
    sent = {}
    with celery.producer_or_acquire() as producer:
        for job in drafts:
            send(celery, job.key, job.queue, producer)
            sent[job.key] = utcnow()
    evidence.catalog.mark_sent(sent)
    for job in drafts:
        if as_json:
            _print_json({"id": job.subject, "job": job.key, "queue": job.queue,
                         "url": job.detail["url"], "status": "queued"})
        else:
            out.print(f"{job.subject}  queued on {job.queue}  {job.detail['url']}",
                      markup=False)
    for capture in captures:
        if capture.status != PENDING:
            err.print(f"error: {capture.requested_url}: {capture.error}", markup=False)
