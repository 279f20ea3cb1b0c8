"""Distributed jobs on a real redis-server and a real PostgreSQL catalog: `capture
--enqueue`, `saksi worker`, `saksi beat`, and a worker killed with SIGKILL mid-capture
whose job completes on the other worker with exactly one sealed capture."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.conftest import SAKSI, run_saksi, saksi_env
from tests.fixtures.platform_site import PlatformSite
from tests.test_platform_capture import platform_env

VISIBILITY = "10"  # seconds: above the 6 s capture budget of these tests


@pytest.fixture(scope="module")
def psite():
    with PlatformSite() as server:
        yield server


def _cluster(tmp_path, redis_server, postgres, make_env):
    """The environment shared by the processes of one test: a PostgreSQL catalog, the
    local store in one data dir, the broker; processes started are stopped at the end."""
    redis_server.flush()
    database = postgres.create_database(f"jobs_{tmp_path.name[-12:].lower()}")
    env = make_env(tmp_path / "data", SAKSI_JOBS__BROKER=redis_server.url,
                   SAKSI_CATALOG__URL=database.replace("+psycopg", ""),
                   SAKSI_JOBS__VISIBILITY_TIMEOUT_SECONDS=VISIBILITY,
                   SAKSI_LIMITS__MAX_CAPTURE_SECONDS="6", SAKSI_PLATFORMS__PACE_SECONDS="0")
    started: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        log = open(tmp_path / f"process-{len(started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen([SAKSI, *args], env=env, stdout=log,
                                   stderr=subprocess.STDOUT, cwd=tmp_path)
        process.log = tmp_path / f"process-{len(started)}.log"  # type: ignore[attr-defined]
        started.append(process)
        return process

    def worker(*queues: str) -> subprocess.Popen:
        return start("worker", *(["--queues", ",".join(queues)] if queues else []))

    yield env, worker, start
    for process in started:
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture()
def cluster(tmp_path, site, redis_server, postgres):
    yield from _cluster(tmp_path, redis_server, postgres,
                        lambda data, **extra: saksi_env(data, site, **extra))


@pytest.fixture()
def platform_cluster(tmp_path, psite, redis_server, postgres):
    yield from _cluster(tmp_path, redis_server, postgres,
                        lambda data, **extra: platform_env(data, psite, **extra))


def ready(*workers: subprocess.Popen) -> None:
    wait_until(lambda: all(b"ready" in w.log.read_bytes() for w in workers), 60,
               "the workers to be ready")


def jobs(env) -> list[dict]:
    return [j for j in run_saksi(env, "jobs", "--json").json_lines() if j.get("job")]


def wait_until(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def catalog_of(env):
    from config import load_settings
    from storage.catalog import Catalog

    return Catalog.at(load_settings(env).catalog.url)


def test_enqueued_captures_are_sealed_by_a_worker_once(cluster, site):
    env, worker, _ = cluster
    urls = ["https://news.example.id/page", "http://hoax.example.id/page2"]
    queued = run_saksi(env, "capture", "--enqueue", "--json", "--case", "K-1", *urls)
    assert queued.code == 0, queued.stderr
    lines = queued.json_lines()
    assert [line["queue"] for line in lines] == ["generic", "generic"]
    assert all(line["status"] == "queued" for line in lines)
    catalog = catalog_of(env)
    try:
        assert {c.status for c in catalog.list_captures()} == {"pending"}
    finally:
        catalog.close()

    worker("generic")
    done = wait_until(lambda: (found := jobs(env)) and all(
        j["status"] == "done" for j in found) and found, 90, "both jobs done")
    assert sorted(j["subject"] for j in done) == sorted(line["id"] for line in lines)
    for line in lines:
        shown = run_saksi(env, "show", line["id"], "--json").json()
        assert shown["status"] == "captured" and shown["case"] == "K-1"
    assert run_saksi(env, "verify", "--all").code == 0

    # The broker delivering a finished job again (a lost acknowledgement) runs nothing.
    from config import load_settings
    from saksi.distributed.app import make_app, send

    send(make_app(load_settings(env)), lines[0]["job"], "generic")
    time.sleep(3)
    catalog = catalog_of(env)
    try:
        assert len(catalog.list_captures()) == 2
        assert catalog.get_job(lines[0]["job"]).attempts == 1
    finally:
        catalog.close()


def test_a_worker_killed_mid_capture_leaves_exactly_one_sealed_capture(cluster, site):
    env, worker, _ = cluster
    first, second = worker("generic"), worker("generic")
    ready(first, second)
    slow = "https://news.example.id/slow"  # streams for longer than the capture budget
    queued = run_saksi(env, "capture", "--enqueue", "--json", slow).json_lines()
    key, original = queued[0]["job"], queued[0]["id"]

    catalog = catalog_of(env)
    try:
        running = wait_until(lambda: (job := catalog.get_job(key)) and job.state == "running"
                             and (c := catalog.get_capture(original)) and
                             c.status == "running" and job, 60, "the capture to start")
        victim = first if f":{first.pid}:" in running.holder else second
        assert f":{victim.pid}:" in running.holder
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)

        done = wait_until(lambda: (job := catalog.get_job(key)) and job.state in (
            "done", "failed") and job, 90, "the job to finish on the other worker")
        survivor = second if victim is first else first
        assert done.state == "done", done.error
        assert f":{survivor.pid}:" in done.holder and done.attempts == 2
        captures = catalog.list_captures()
    finally:
        catalog.close()

    sealed = [c for c in captures if c.status == "captured"]
    assert len(sealed) == 1 and sealed[0].id == done.detail["capture"] != original
    assert sealed[0].requested_url == slow and f"retry of {original}" in sealed[0].note
    lost = next(c for c in captures if c.id == original)
    assert lost.status == "failed" and lost.error.startswith("interrupted")
    assert done.detail["lost"] == [original]
    assert run_saksi(env, "verify", "--all").code == 0


def test_beat_enqueues_a_hashtag_rule_and_a_killed_run_completes_on_the_other_worker(
        platform_cluster):
    """The listing capture of a TikTok hashtag rule is cut by SIGKILL: the other worker
    runs that window (not a second one), with one sealed listing and each post once."""
    from tests.fixtures.platform_pages import tiktok_tag as tag

    env, worker, start = platform_cluster
    assert run_saksi(env, "track", "add", "tiktok", f"#{tag.TAG}", "--every", "1h",
                     "--case", "PEMILU").code == 0
    first, second = worker("tiktok"), worker("tiktok")
    ready(first, second)
    start("beat")
    catalog = catalog_of(env)
    try:
        listing = wait_until(lambda: next((c for c in catalog.list_captures()
                                           if c.status == "running"), None), 60,
                             "the listing capture to start")
        assert listing.requested_url == tag.LISTING_URL
        job = catalog.list_jobs(kind="rule")[0]
        assert job.key.startswith("rule:tiktok-pemilu2024:") and job.queue == "tiktok"
        victim = first if f":{first.pid}:" in job.holder else second
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        done = wait_until(lambda: (j := catalog.get_job(job.key)) and j.state in (
            "done", "failed") and j, 120, "the run to finish on the other worker")
        assert done.state == "done", done.error
        assert done.attempts == 2 and f":{victim.pid}:" not in done.holder
        assert [j.key for j in catalog.list_jobs()] == [job.key]  # one window, one job
        runs = catalog.runs("tiktok-pemilu2024")
        captures = catalog.list_captures()
    finally:
        catalog.close()
    assert [r["status"] for r in runs] == ["done"]
    summary = runs[0]["summary"]
    listings = [c for c in captures if c.requested_url == tag.LISTING_URL]
    assert sorted(c.status for c in listings) == ["captured", "failed"]
    assert summary["listing_capture"] == next(c.id for c in listings
                                              if c.status == "captured")
    posts = [c for c in captures if c.requested_url != tag.LISTING_URL]
    assert sorted((c.post or {}).get("post_id") for c in posts) == sorted(
        post_id for post_id, _, _ in tag.FIRST)
    assert {c.status for c in posts} == {"captured"} and summary["new"] == [
        c.id for c in sorted(posts, key=lambda c: c.id)]
    shown = [j for j in run_saksi(env, "jobs", "--json").json_lines()]
    assert [(j["job"], j["status"], len(j["summary"]["new"])) for j in shown] == [
        (job.key, "done", 2)]


def test_worker_beat_and_enqueue_refuse_bad_input_in_one_line(site, tmp_path):
    from tests.fixtures.postgres import _free_port

    env = saksi_env(tmp_path / "data", site)
    for args, needle in ((["worker"], "no broker"), (["beat", "--once"], "no broker"),
                         (["capture", "--enqueue", "https://news.example.id/page"],
                          "no broker")):
        refused = run_saksi(env, *args)
        assert refused.code == 2 and needle in refused.stderr, (args, refused.stderr)
        assert len(refused.stderr.strip().splitlines()) == 1
    dead = {**env, "SAKSI_JOBS__BROKER": f"redis://127.0.0.1:{_free_port()}/0"}
    bad_queue = run_saksi(dead, "worker", "--queues", "tiktok,myspace")
    assert bad_queue.code == 2 and "myspace" in bad_queue.stderr
    unreachable = run_saksi(dead, "capture", "--enqueue", "https://news.example.id/page")
    assert unreachable.code == 2 and "cannot reach the broker" in unreachable.stderr
    assert run_saksi(dead, "list", "--json").json_lines() == []  # nothing registered
    bad = run_saksi({**env, "SAKSI_JOBS__BROKER": "amqp://x"}, "jobs")
    assert bad.code == 2 and "jobs.broker" in bad.stderr
