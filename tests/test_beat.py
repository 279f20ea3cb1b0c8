"""Beat and the shared pace, on a real catalog and a real redis-server: due rules become
one job per rule and window, sent once; pacing holds across workers, not per worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from saksi.distributed.beat import Beat, BeatLock
from saksi.distributed.pace import SharedPace
from storage.catalog import Catalog
from storage.tracking import Rule

T0 = datetime(2024, 2, 14, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def catalog(tmp_path):
    cat = Catalog.in_data_dir(tmp_path)
    yield cat
    cat.close()


def rule(name: str, **values) -> Rule:
    base = dict(name=name, platform="tiktok", kind="hashtag", target=name, case_id=None,
                every_seconds=3600, cron=None, max_posts=10, paused=False,
                created_by="u", created_at=T0, next_run_at=T0)
    return Rule(**{**base, **values})


def test_due_rules_are_enqueued_once_per_window_and_missed_windows_coalesce(catalog):
    for made in (rule("a"), rule("b", paused=True), rule("c", next_run_at=T0 + timedelta(2)),
                 rule("r", platform="tiktok", kind="recheck", target="K-1")):
        catalog.add_rule(made)
    sent: list[tuple[str, str]] = []
    clock = Clock(T0 + timedelta(hours=3, minutes=10))  # beat was down for three windows
    beat = Beat(catalog, lambda key, queue: sent.append((key, queue)), clock, lambda: 0)
    keys = beat.tick()
    assert sorted(sent) == [("rule:a:2024-02-14T11:00:00.000000Z", "tiktok"),
                            ("rule:r:2024-02-14T11:00:00.000000Z", "recheck")]
    assert sorted(keys) == sorted(k for k, _ in sent)
    jobs = {j.subject: j for j in catalog.list_jobs()}
    assert jobs["a"].detail == {"missed": 3} and jobs["a"].enqueued_at == clock.now
    assert {r.name: r.next_run_at for r in catalog.rules()}["a"] == T0 + timedelta(hours=4)
    assert beat.tick() == []  # nothing new is due: nothing sent again
    clock.now = T0 + timedelta(hours=4, seconds=1)
    assert beat.tick() == ["rule:a:2024-02-14T12:00:00.000000Z",
                           "rule:r:2024-02-14T12:00:00.000000Z"]
    assert 0.05 <= beat.seconds_to_next(5) <= 5


def test_a_job_recorded_but_not_sent_and_a_lost_running_job_are_sent_again(catalog):
    catalog.add_rule(rule("a"))
    clock = Clock(T0 + timedelta(minutes=1))

    def broker_down(key: str, queue: str) -> None:
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        Beat(catalog, broker_down, clock, lambda: 0).tick()
    sent: list[str] = []
    beat = Beat(catalog, lambda key, queue: sent.append(key), clock, lambda: 0)
    assert beat.tick() == ["rule:a:2024-02-14T08:00:00.000000Z"] == sent  # recorded before
    key = sent[0]
    assert catalog.claim_job(key, "host:1:1", clock.now, clock.now + timedelta(minutes=5),
                             lambda holder: False).outcome == "claimed"
    assert beat.tick() == []  # a live worker runs it
    clock.now += timedelta(minutes=6)  # the worker's lease ran out: it is gone
    assert beat.tick() == [key] and len(sent) == 2
    assert catalog.get_job(key).state == "queued"


def test_pacing_is_shared_by_every_worker_and_a_backoff_holds_them_all(redis_server):
    import redis

    redis_server.flush()
    client = redis.Redis.from_url(redis_server.url)
    slept: list[float] = []
    first = SharedPace(client, 0.3, "host:1:1")
    second = SharedPace(client, 0.3, "host:2:2", sleep=lambda s: slept.append(s) or
                        __import__("time").sleep(s))
    assert first.wait_turn("tiktok") == 0.0
    assert second.wait_turn("tiktok") >= 0.2 and slept  # the other worker's turn counts
    assert second.wait_turn("generic") == 0.0  # other sites are not paced together
    assert first.wait_turn("x") == 0.0  # each platform has its own turn
    first.hold_off("x", 0.6)  # 429 Retry-After on x: every worker waits
    assert second.wait_turn("x") >= 0.5


def test_one_beat_at_a_time(redis_server):
    import redis

    redis_server.flush()
    client = redis.Redis.from_url(redis_server.url)
    one, other = BeatLock(client, "host:1:1", 5), BeatLock(client, "host:2:2", 5)
    assert one.take() and not other.take() and other.holder_now() == "host:1:1"
    assert one.take()  # renewing its own lock
    one.release()
    assert other.take()


def test_a_running_job_keeps_its_lease_while_its_worker_is_alive(tmp_path):
    """Redis hands a job on after the visibility timeout however long the job runs: the
    worker renews the job's lease meanwhile, so the second delivery finds it busy."""
    import time

    from config import load_settings
    from crawlers.session import holder_is_dead
    from saksi.distributed.execute import JobRunner
    from storage.jobs import Job
    from storage.records import utcnow

    settings = load_settings({"SAKSI_DATA_DIR": str(tmp_path / "data"),
                              "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
                              "SAKSI_JOBS__VISIBILITY_TIMEOUT_SECONDS": "15",
                              "SAKSI_LIMITS__MAX_CAPTURE_SECONDS": "4"})
    runner = JobRunner(settings)
    try:
        catalog = runner.evidence.catalog
        catalog.add_jobs([Job("rule:r:w", "rule", "tiktok", "r")], utcnow())
        lease = timedelta(seconds=15)
        first = catalog.claim_job("rule:r:w", runner.holder, utcnow(), utcnow() + lease,
                                  holder_is_dead).job.lease_until
        with runner._lease_kept("rule:r:w", lease):
            time.sleep(5.5)
            renewed = catalog.get_job("rule:r:w").lease_until
            # Redis hands the job on one visibility timeout after it was taken
            second = catalog.claim_job("rule:r:w", "elsewhere:1:1", first,
                                       first + lease, holder_is_dead)
        assert renewed > first and second.outcome == "busy"
    finally:
        runner.close()
