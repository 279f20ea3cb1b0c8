"""Distributed jobs: embedded `saksi capture` against 1, 2 and 4 Celery workers, and how
long `saksi beat` takes to enqueue 1,000 tracking rules due at once.

    python benchmarks/workers.py [--captures 400] [--rounds 1] [--no-sequential]
        [--no-record]

The fixture site is generated here (seeded): 400 distinct news-like pages in Bahasa
Indonesia (a few KB each, one image link that static mode does not fetch) served by a
ThreadingHTTPServer in a child process on 127.0.0.1, which waits 50 ms before every
response (time.sleep, which releases the GIL). URLs: http://127.0.0.1:PORT/berita/N.

Capture throughput, every run in fresh directories:
- embedded: `saksi capture --from urls.txt --mode static --json`, one process and one
  Scrapy crawl of all links (16 concurrent requests, the default; and a second row with
  SAKSI_LIMITS__CONCURRENT_REQUESTS=1, one capture at a time, unless --no-sequential),
  with the default SQLite catalog; wall from start to exit;
- Celery: N = 1, 2, 4 `saksi worker --queues generic` processes (solo pool, one job at a
  time, prefetch 1) on a real redis-server, sharing a PostgreSQL catalog (a fresh
  database per run) and one data dir. The workers are started and awaited ("ready" in
  their log) untimed; the wall runs from just before `saksi capture --enqueue` starts to
  the largest `finished_at` of the capture jobs (the catalog polled every 0.5 s). Every
  capture must end `captured`, or the run fails.
captures/min = captures / wall * 60; target: rate(4 workers) / rate(1 worker) >= 1.8.
CPU: Saksi's own (its process trees, from /proc) and the machine's busy CPU
(/proc/stat) over the same window; the machine is shared, so the difference is others.

Beat: 1,000 rules (tiktok hashtag tag0001..., every hour) are added to a fresh
PostgreSQL catalog with next_run_at a day ahead; `saksi beat` is started and awaited
(its Redis lock taken); then one UPDATE sets every rule's next_run_at to T = now + 5 s.
Latency per rule = the job's enqueued_at (after the broker took it) - T; also
created_at - T (recorded in the catalog). Target: p99 < 5 s. Checked: 1,000 distinct
job keys, one per rule, due_at = T, 1,000 messages on the Redis queue `tiktok`.
"""

from __future__ import annotations

import argparse
import http.server
import itertools
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from machine_facts import load_average, machine_busy_s, package_versions, tool_version

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO)]

from static_capture import (  # noqa: E402 - after the path set-up above
    SAKSI,
    BenchmarkFailed,
    _proc_children,
    _proc_cpu_ticks,
    clean_env,
    machine,
    progress,
    record,
    run_measured,
    source_state,
    tail,
    verdict,
)

SEED = 20240301
LATENCY_S = 0.050
SCALING_MIN = 1.8  # rate(4 workers) / rate(1 worker)
BEAT_P99_MAX = 5.0  # seconds from due to enqueued
RULES = 1000
WORKER_COUNTS = (1, 2, 4)
POLL_S = 0.5
READY_TIMEOUT = 180.0
TICK = os.sysconf("SC_CLK_TCK")


# ---- the fixture site (a child process: python workers.py --serve N) ----------------------

WORDS = ("pemilu", "kampanye", "bawaslu", "pengawas", "calon", "presiden", "legislatif",
         "warga", "desa", "kabupaten", "provinsi", "suara", "tps", "relawan", "partai",
         "debat", "survei", "pemilih", "daftar", "tetap", "logistik", "kotak", "surat",
         "hoaks", "media", "sosial", "laporan", "dugaan", "pelanggaran", "netralitas",
         "aparatur", "sipil", "negara", "rapat", "pleno", "rekapitulasi", "hasil", "sengketa",
         "mahkamah", "konstitusi", "jadwal", "tahapan", "sosialisasi", "pendidikan",
         "politik", "uang", "serangan", "fajar", "money", "ibu", "kota", "nusantara")
CONNECTORS = ("yang", "dan", "di", "ke", "dari", "untuk", "dengan", "pada", "oleh", "dalam",
              "bahwa", "akan", "telah", "sudah", "masih", "juga")
PLACES = ("Jakarta", "Surabaya", "Medan", "Makassar", "Bandung", "Semarang", "Palembang",
          "Denpasar", "Pontianak", "Kupang", "Jayapura", "Ambon", "Mataram", "Padang")


def make_pages(count: int, seed: int = SEED) -> list[bytes]:
    """`count` distinct HTML pages of a few KB, deterministic for `seed`."""
    rng = random.Random(seed)

    def sentence() -> str:
        words = [rng.choice(WORDS if rng.random() < 0.6 else CONNECTORS)
                 for _ in range(rng.randint(9, 18))]
        return " ".join(words).capitalize() + "."

    pages = []
    for n in range(count):
        place = rng.choice(PLACES)
        title = f"{sentence()[:-1]} di {place}"
        paragraphs = "\n".join(
            f"<p>{place}, {rng.randint(1, 28)} Februari 2024 - "
            + " ".join(sentence() for _ in range(rng.randint(3, 6))) + "</p>"
            for _ in range(rng.randint(4, 8)))
        html = (f"<!DOCTYPE html>\n<html lang=\"id\"><head><meta charset=\"utf-8\">"
                f"<title>{title}</title></head>\n<body><header><a href=\"/\">Kabar "
                f"Nusantara</a></header>\n<article><h1>{title}</h1>\n"
                f"<img src=\"/gambar/{n}.jpg\" alt=\"Ilustrasi\" width=\"640\">\n{paragraphs}\n"
                f"<p>Baca juga: <a href=\"/berita/{(n + 1) % count}\">berita berikutnya</a>"
                f"</p></article>\n<footer>Berita nomor {n}</footer></body></html>\n")
        pages.append(html.encode())
    return pages


def serve_main(count: int) -> int:
    """Serve the pages until stdin closes; print the port, then the request counts."""
    pages = make_pages(count)
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            time.sleep(LATENCY_S)
            parts = self.path.split("/")
            page = None
            if len(parts) == 3 and parts[1] == "berita" and parts[2].isdigit():
                n = int(parts[2])
                page = pages[n] if n < len(pages) else None
            with lock:
                counts["page" if page else parts[1] or "/"] += 1
            body = page or b"tidak ditemukan\n"
            self.send_response(200 if page else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8" if page
                             else "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    http.server.ThreadingHTTPServer.request_queue_size = 256
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {server.server_address[1]} BYTES {sum(len(p) for p in pages)}", flush=True)
    sys.stdin.read()  # until the parent closes it
    server.shutdown()
    with lock:
        print("COUNTS " + json.dumps(dict(counts)), flush=True)
    return 0


class Site:
    """The fixture site's child process."""

    def __init__(self, count: int):
        self.count = count
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", str(count)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=clean_env())
        assert self.proc.stdout is not None
        fields = self.proc.stdout.readline().decode().split()
        if len(fields) != 4 or fields[0] != "PORT":
            self.proc.kill()
            raise BenchmarkFailed(f"the fixture site did not start (said {fields})")
        self.port, self.bytes = int(fields[1]), int(fields[3])
        self.counts: dict[str, int] = {}

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.port}/berita/{n}" for n in range(self.count)]

    def cpu_s(self) -> float:
        return (_proc_cpu_ticks(self.proc.pid) or 0) / TICK

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        for line in self.proc.stdout.read().decode().splitlines():
            if line.startswith("COUNTS "):
                self.counts = json.loads(line[7:])
        self.proc.wait(10)


# ---- measuring ---------------------------------------------------------------------------


def tree_cpu_s(roots: list[int]) -> float:
    """User + sys of every live process in the trees under `roots`."""
    total, pending = 0, list(roots)
    while pending:
        pid = pending.pop()
        total += _proc_cpu_ticks(pid) or 0
        pending += _proc_children(pid)
    return total / TICK


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class CaptureRun:
    mode: str  # embedded | celery
    workers: int  # 0 for embedded; concurrent requests in `label`
    label: str
    round: int
    captures: int
    wall_s: float
    saksi_cpu_s: float
    machine_cpu_s: float
    server_cpu_s: float
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def per_min(self) -> float:
        return self.captures / self.wall_s * 60


@dataclass
class BeatRun:
    round: int
    recorded: list[float]  # created_at - T per job
    enqueued: list[float]  # enqueued_at - T per job
    startup_s: float
    beat_cpu_s: float
    machine_cpu_s: float
    queue_length: int


# ---- the environment of a run ----------------------------------------------------------


class Services:
    """One redis-server and one PostgreSQL for the whole benchmark (tests/fixtures)."""

    def __init__(self) -> None:
        from tests.fixtures.postgres import Postgres
        from tests.fixtures.redis_server import RedisServer

        try:
            self.redis = RedisServer().__enter__()
        except RuntimeError as exc:
            raise BenchmarkFailed(str(exc)) from None
        try:
            self.postgres = Postgres().__enter__()
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            self.redis.__exit__()
            raise BenchmarkFailed(f"PostgreSQL: {exc}") from None
        self.databases = 0

    def fresh(self) -> tuple[str, str]:
        """(broker URL, catalog URL): Redis flushed, a new empty database."""
        self.redis.flush()
        self.databases += 1
        url = self.postgres.create_database(f"bench_{os.getpid()}_{self.databases}")
        return self.redis.url, url.replace("+psycopg", "")

    def close(self) -> None:
        self.postgres.__exit__()
        self.redis.__exit__()


def saksi_env(work: Path, **extra: str) -> dict[str, str]:
    home = work / "home"  # no user saksi.toml and no signing key
    home.mkdir(parents=True, exist_ok=True)
    return clean_env(SAKSI_DATA_DIR=str(work / "data"), SAKSI_ALLOW_ADDRESSES="127.0.0.1/32",
                     SAKSI_CAPTURE__DEFAULT_MODE="static", SAKSI_COLLECTOR__NAME="benchmark",
                     XDG_CONFIG_HOME=str(home), **extra)


class Processes:
    """Long-running saksi processes of one run, each in its own session; stopped at the
    end (the signal, then SIGKILL to the group we started)."""

    def __init__(self, work: Path, env: dict[str, str]):
        self.work, self.env, self.started = work, env, []

    def start(self, *args: str) -> subprocess.Popen:
        log_path = self.work / f"{args[0]}-{len(self.started)}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([str(SAKSI), *args], env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=self.work, start_new_session=True)
        proc.log = log_path  # type: ignore[attr-defined]
        self.started.append(proc)
        return proc

    def pids(self) -> list[int]:
        return [p.pid for p in self.started]

    def check_alive(self) -> None:
        for proc in self.started:
            if proc.poll() is not None:
                raise BenchmarkFailed(f"saksi {proc.args[1]} (pid {proc.pid}) exited with "
                                      f"{proc.returncode}: {tail(proc.log)}")

    def wait_for(self, condition, what: str, seconds: float = READY_TIMEOUT) -> float:
        started = time.monotonic()
        while not condition():
            self.check_alive()
            if time.monotonic() - started > seconds:
                raise BenchmarkFailed(f"timed out after {seconds:.0f} s waiting for {what}")
            time.sleep(0.1)
        return time.monotonic() - started

    def stop(self, sig: int = signal.SIGTERM) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(sig)
        for proc in self.started:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                progress(f"  pid {proc.pid} did not stop within 30 s: killed")
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # its crawler and sealer, if left
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()


def open_catalog(url: str):
    from storage.catalog import Catalog

    return Catalog.at(url)


# ---- embedded ------------------------------------------------------------------------------


def run_embedded(site: Site, urls_file: Path, work: Path, rnd: int,
                 concurrency: int | None) -> CaptureRun:
    extra = {} if concurrency is None else {
        "SAKSI_LIMITS__CONCURRENT_REQUESTS": str(concurrency)}
    env = saksi_env(work, **extra)
    cmd = [str(SAKSI), "capture", "--from", str(urls_file), "--mode", "static", "--json",
           "--case", "BENCH"]
    busy, server = machine_busy_s(), site.cpu_s()
    measured = run_measured("saksi", cmd, work / "capture.jsonl", work / "capture.err",
                            timeout=3600, env=env, cwd=work)
    busy, server = machine_busy_s() - busy, site.cpu_s() - server
    statuses: Counter[str] = Counter()
    errors = []
    for line in (work / "capture.jsonl").read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            capture = json.loads(line)
            statuses[capture.get("status", "?")] += 1
            if capture.get("status") != "captured":
                errors.append(f"{capture.get('requested_url')}: {capture.get('error')}")
    if statuses["captured"] != site.count or measured.returncode != 0:
        raise BenchmarkFailed(f"embedded captured {statuses['captured']} of {site.count} "
                              f"({measured.exit_text}, {dict(statuses)}); first errors "
                              f"{errors[:3]}; stderr: {tail(work / 'capture.err')}")
    label = ("embedded, 16 concurrent requests (default)" if concurrency is None
             else f"embedded, {concurrency} request at a time")
    return CaptureRun("embedded", 0, label, rnd, site.count, measured.wall_s,
                      measured.cpu_s + measured.unreaped_cpu_s, busy, server,
                      {"peak RSS": f"{measured.tree_rss_mib:.0f} MiB"})


# ---- Celery workers ------------------------------------------------------------------------


def run_celery(site: Site, services: Services, urls_file: Path, work: Path, rnd: int,
               workers: int) -> CaptureRun:
    broker, catalog_url = services.fresh()
    env = saksi_env(work, SAKSI_JOBS__BROKER=broker, SAKSI_CATALOG__URL=catalog_url)
    procs = Processes(work, env)
    catalog = open_catalog(catalog_url)  # creates the schema before the workers start
    try:
        for _ in range(workers):
            procs.start("worker", "--queues", "generic")
        ready_s = procs.wait_for(lambda: all(b"ready" in p.log.read_bytes()
                                             for p in procs.started),
                                 f"{workers} worker(s) to be ready")
        progress(f"  {workers} worker(s) ready in {ready_s:.1f} s (untimed)")
        cpu, busy, server = tree_cpu_s(procs.pids()), machine_busy_s(), site.cpu_s()
        began = datetime.now(UTC)
        enqueue_s, enqueue_cpu = enqueue(env, urls_file, work, site.count)
        jobs = wait_finished(catalog, procs, site.count)
        cpu = tree_cpu_s(procs.pids()) - cpu + enqueue_cpu
        busy, server = machine_busy_s() - busy, site.cpu_s() - server
        end = max(j.finished_at for j in jobs)
        check_captured(catalog, jobs, site.count)
    finally:
        procs.stop()
        catalog.close()
    notes = job_notes(jobs)
    notes["enqueue"] = f"{enqueue_s:.1f} s"
    notes["ready"] = f"{ready_s:.1f} s"
    return CaptureRun("celery", workers, f"Celery, {workers} worker(s)", rnd, site.count,
                      (end - began).total_seconds(), cpu, busy, server, notes)


def enqueue(env: dict[str, str], urls_file: Path, work: Path, count: int
            ) -> tuple[float, float]:
    """`saksi capture --enqueue`: (its wall, its CPU)."""
    started = time.perf_counter()
    with open(work / "enqueue.jsonl", "wb") as out, open(work / "enqueue.err", "wb") as err:
        proc = subprocess.Popen([str(SAKSI), "capture", "--enqueue", "--from", str(urls_file),
                                 "--mode", "static", "--json", "--case", "BENCH"],
                                env=env, stdout=out, stderr=err, cwd=work)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    lines = [json.loads(x) for x in (work / "enqueue.jsonl").read_text().splitlines()
             if x.startswith("{")]
    queued = [x for x in lines if x.get("status") == "queued" and x.get("queue") == "generic"]
    if proc.returncode != 0 or len(queued) != count:
        raise BenchmarkFailed(f"capture --enqueue queued {len(queued)} of {count} (exit "
                              f"{proc.returncode}): {tail(work / 'enqueue.err')}")
    return wall, usage.ru_utime + usage.ru_stime


def wait_finished(catalog, procs: Processes, count: int, timeout: float = 3600.0) -> list:
    """The capture jobs, once all `count` are done or failed."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = catalog.list_jobs(kind="capture")
        if len(jobs) == count and all(j.state in ("done", "failed") for j in jobs):
            return jobs
        procs.check_alive()
        if time.monotonic() > deadline:
            states = Counter(j.state for j in jobs)
            raise BenchmarkFailed(f"timed out after {timeout:.0f} s: jobs {dict(states)}")
        time.sleep(POLL_S)


def check_captured(catalog, jobs: list, count: int) -> None:
    """Every capture sealed, or the run fails (a failed job whose capture was sealed is
    counted in the table and its error shown in the notes, not a failure of the run)."""
    captures = catalog.list_captures()
    statuses = Counter(c.status for c in captures)
    if statuses != Counter({"captured": count}):
        first = [f"{c.requested_url}: {c.error}" for c in captures if c.status != "captured"]
        raise BenchmarkFailed(f"captures {dict(statuses)} (not {count} captured); first "
                              f"errors {first[:3]}")


def short(text: str | None, limit: int = 160) -> str:
    return " ".join((text or "").split())[:limit]


def job_notes(jobs: list) -> dict[str, str]:
    """How the jobs spread over the workers, and where a worker's time went."""
    by_holder: dict[str, list] = {}
    failed = [j for j in jobs if j.state != "done"]
    for job in jobs:
        by_holder.setdefault(job.holder or "?", []).append(job)
    run_s, gaps, first_s = [], [], []
    for mine in by_holder.values():
        mine.sort(key=lambda j: j.started_at)
        first_s.append((mine[0].finished_at - mine[0].started_at).total_seconds())
        run_s += [(j.finished_at - j.started_at).total_seconds() for j in mine[1:]]
        gaps += [(b.started_at - a.finished_at).total_seconds()
                 for a, b in itertools.pairwise(mine)]
    return {
        "jobs per worker": "/".join(str(len(v)) for v in sorted(by_holder.values(), key=len,
                                                                  reverse=True)),
        "retried": str(sum(1 for j in jobs if j.attempts > 1)),
        "failed": str(len(failed)),
        "failed error": short(failed[0].error) if failed else "",
        "job s (median)": f"{statistics.median(run_s):.3f}" if run_s else "-",
        "first job s": "/".join(f"{s:.1f}" for s in first_s),
        "gap s (median)": f"{statistics.median(gaps):.3f}" if gaps else "-",
    }


# ---- beat ----------------------------------------------------------------------------------


def run_beat(services: Services, work: Path, rnd: int) -> BeatRun:
    from sqlalchemy import update

    from saksi.distributed.beat import LOCK_KEY
    from storage.catalog import tracking_rules

    broker, catalog_url = services.fresh()
    env = saksi_env(work, SAKSI_JOBS__BROKER=broker, SAKSI_CATALOG__URL=catalog_url)
    catalog = open_catalog(catalog_url)
    procs = Processes(work, env)
    try:
        add_rules(catalog)
        import redis

        client = redis.Redis.from_url(broker)
        beat = procs.start("beat")
        startup = procs.wait_for(lambda: client.exists(LOCK_KEY), "beat to take its lock")
        progress(f"  beat running in {startup:.1f} s (untimed)")
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
        with catalog.write() as conn:
            conn.execute(update(tracking_rules).values(next_run_at=due))
        if datetime.now(UTC) >= due - timedelta(seconds=1):
            raise BenchmarkFailed("setting the rules due took too long to leave beat time")
        cpu, busy = tree_cpu_s([beat.pid]), machine_busy_s()
        wait_enqueued(catalog, procs)
        cpu, busy = tree_cpu_s([beat.pid]) - cpu, machine_busy_s() - busy
        time.sleep(2 * POLL_S)  # anything sent twice would show by now
        jobs = catalog.list_jobs(kind="rule")
        queue_length = client.llen("tiktok")
        check_rules(jobs, due, queue_length)
    finally:
        procs.stop(signal.SIGTERM)  # beat releases its lock on SIGTERM (and Ctrl-C)
        catalog.close()
    return BeatRun(rnd, [(j.created_at - due).total_seconds() for j in jobs],
                   [(j.enqueued_at - due).total_seconds() for j in jobs], startup, cpu, busy,
                   queue_length)


def add_rules(catalog) -> None:
    from storage.tracking import Rule

    now = datetime.now(UTC)
    later = now + timedelta(days=1)  # not due until the single UPDATE makes them due
    for n in range(1, RULES + 1):
        catalog.add_rule(Rule(name=f"tiktok-tag{n:04d}", platform="tiktok", kind="hashtag",
                              target=f"tag{n:04d}", case_id=None, every_seconds=3600,
                              cron=None, max_posts=20, paused=False, created_by="benchmark",
                              created_at=now, next_run_at=later))


def wait_enqueued(catalog, procs: Processes, timeout: float = 300.0) -> list:
    deadline = time.monotonic() + timeout
    while True:
        jobs = catalog.list_jobs(kind="rule")
        if len(jobs) >= RULES and all(j.enqueued_at is not None for j in jobs):
            return jobs
        procs.check_alive()
        if time.monotonic() > deadline:
            raise BenchmarkFailed(f"timed out: {len(jobs)} rule jobs, "
                                  f"{sum(j.enqueued_at is not None for j in jobs)} enqueued")
        time.sleep(POLL_S)


def check_rules(jobs: list, due: datetime, queue_length: int) -> None:
    keys = {j.key for j in jobs}
    rules = Counter(j.subject for j in jobs)
    wrong_due = [j.key for j in jobs if j.due_at != due]
    if len(jobs) != RULES or len(keys) != RULES or len(rules) != RULES or wrong_due:
        raise BenchmarkFailed(f"{len(jobs)} rule jobs, {len(keys)} distinct keys, "
                              f"{len(rules)} rules; due_at not T: {wrong_due[:3]}")
    if queue_length != RULES:
        raise BenchmarkFailed(f"{queue_length} messages on the tiktok queue, not {RULES}")


# ---- report --------------------------------------------------------------------------------


def capture_table(runs: list[CaptureRun]) -> str:
    rows = ["| round | mode | captures | wall s | captures/min | Saksi CPU s | Saksi CPU "
            "ms per capture | machine busy CPU s | site CPU s | jobs per worker | job s "
            "(median) | gap between jobs s (median) | first job s | retried | jobs failed |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---:|"]
    for r in runs:
        n = r.notes
        rows.append(f"| {r.round} | {r.label} | {r.captures} | {r.wall_s:.1f} "
                    f"| {r.per_min:,.0f} | {r.saksi_cpu_s:.1f} "
                    f"| {r.saksi_cpu_s / r.captures * 1000:.0f} | {r.machine_cpu_s:.1f} "
                    f"| {r.server_cpu_s:.1f} | {n.get('jobs per worker', '-')} "
                    f"| {n.get('job s (median)', '-')} | {n.get('gap s (median)', '-')} "
                    f"| {n.get('first job s', '-')} | {n.get('retried', '-')} "
                    f"| {n.get('failed', '-')} |")
    return "\n".join(rows) + "\n"


def rate(runs: list[CaptureRun], label: str) -> float | None:
    mine = [r.per_min for r in runs if r.label == label]
    return statistics.median(mine) if mine else None


def capture_verdicts(runs: list[CaptureRun]) -> list[str]:
    rates = {n: rate(runs, f"Celery, {n} worker(s)") for n in WORKER_COUNTS}
    lines = ["- median captures/min: " + ", ".join(
        f"{label} **{rate(runs, label):,.0f}**" for label in dict.fromkeys(
            r.label for r in runs))]
    if rates[1] and rates[4]:
        ratio = rates[4] / rates[1]
        lines.append(f"- scaling 1 → 4 workers: **{ratio:.2f}x** (target ≥ {SCALING_MIN}: "
                     f"{verdict(ratio >= SCALING_MIN)}); 1 → 2 workers: "
                     f"{rates[2] / rates[1]:.2f}x")
    for r in runs:
        if r.notes.get("failed", "0") != "0":
            lines.append(f"- WARNING: round {r.round}, {r.label}: {r.notes['failed']} job(s) "
                         f"ended failed though every capture was sealed; first error: "
                         f"`{r.notes['failed error']}`")
    embedded = rate(runs, "embedded, 16 concurrent requests (default)")
    if embedded and rates[4]:
        lines.append(f"- embedded (16 concurrent) / 4 workers: {embedded / rates[4]:.2f}x")
    return lines


def beat_table(runs: list[BeatRun]) -> tuple[str, list[str]]:
    rows = ["| round | rules | recorded p50 s | enqueued p50 s | enqueued p99 s | enqueued "
            "max s | all recorded by s | beat CPU s | machine busy CPU s | messages on queue |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        rows.append(f"| {r.round} | {len(r.enqueued):,} | {percentile(r.recorded, 50):.2f} "
                    f"| {percentile(r.enqueued, 50):.2f} | {percentile(r.enqueued, 99):.2f} "
                    f"| {max(r.enqueued):.2f} | {max(r.recorded):.2f} | {r.beat_cpu_s:.1f} "
                    f"| {r.machine_cpu_s:.1f} | {r.queue_length:,} |")
    worst = max(percentile(r.enqueued, 99) for r in runs)
    lines = [f"- beat, {RULES:,} rules due at once: due → enqueued p99 **{worst:.2f} s** "
             f"(worst round; target < {BEAT_P99_MAX:g} s: {verdict(worst < BEAT_P99_MAX)}); "
             f"every rule enqueued once ({RULES:,} distinct keys, due_at = T)"]
    return "\n".join(rows) + "\n", lines


def notes(site: Site, args: argparse.Namespace, load_before: str, load_after: str,
          runs: list[CaptureRun], beats: list[BeatRun]) -> list[str]:
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(site.counts.items()))
    expected = site.count * len(runs)
    return [
        f"- site: {site.count} pages, {site.bytes / site.count / 1024:.1f} KB each on "
        f"average (seeded {SEED}), {LATENCY_S * 1000:.0f} ms before every response, "
        f"ThreadingHTTPServer in a child process; requests served: {counts} "
        f"({expected:,} pages expected; `gambar` would be the image, not fetched in "
        "static mode)",
        "- embedded uses its default SQLite catalog in its data dir; the Celery runs share "
        "a PostgreSQL catalog (fresh database per run, fsync off) and one local data dir, "
        "with a redis-server broker (flushed per run), all on this machine",
        "- Celery wall: from just before `capture --enqueue` starts (its start-up and the "
        "registering of the captures included) to the last job's finished_at; worker "
        "start-up excluded (\"ready\" in its log), but each worker starts its crawler "
        "process on its first job, so that is inside the window (first job s); job s: "
        "started_at → finished_at of a worker's other jobs; gap: its finished_at → the "
        "next started_at (Celery delivery, claim)",
        "- Saksi CPU s: user + sys of Saksi's processes over the window (the workers with "
        "their crawler and sealer children, plus `capture --enqueue`; for embedded, the "
        "capture process tree); machine busy CPU s: all cores, everyone (the machine is "
        "shared: the rest is other work, the site, PostgreSQL and Redis)",
        f"- beat: {RULES:,} rules added (untimed) a day ahead, beat started and awaited, "
        "then one UPDATE made them all due at T (about 6 s later); enqueued = the job's "
        "enqueued_at (set after the broker took the message) - T; recorded = created_at - T",
        f"- rounds: {args.rounds}; load average before {load_before}, after {load_after} "
        f"on {os.cpu_count()} cores",
    ] + ([f"- beat start-up (untimed): {', '.join(f'{b.startup_s:.1f} s' for b in beats)}"]
         if beats else [])


def versions() -> dict[str, str]:
    from tests.fixtures.postgres import binaries

    found = package_versions(("saksi", "celery", "kombu", "redis", "scrapy", "twisted",
                              "sqlalchemy", "psycopg"))
    found["redis-server"] = tool_version(["redis-server", "--version"],
                                         lambda line: line.split()[2].removeprefix("v="))
    pg = binaries()
    found["postgresql"] = (tool_version([str(pg / "postgres"), "--version"],
                                        lambda line: line.split()[2]) if pg
                           else "not installed")
    return found


# ---- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=400,
                        help="pages on the fixture site, each captured once per run "
                             "(default 400)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds of every run, the worker counts reversed every other "
                             "round (default 1)")
    parser.add_argument("--no-sequential", action="store_true",
                        help="skip the embedded run with one request at a time")
    parser.add_argument("--no-beat", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-record", action="store_true",
                        help="print only; do not append to RESULTS.md")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    return parser.parse_args()


def run_all(args: argparse.Namespace, site: Site, services: Services, root: Path
            ) -> tuple[list[CaptureRun], list[BeatRun]]:
    urls_file = root / "urls.txt"
    urls_file.write_text("\n".join(site.urls()) + "\n")
    runs: list[CaptureRun] = []
    beats: list[BeatRun] = []

    def fresh(name: str) -> Path:
        work = root / name
        work.mkdir()
        return work

    for rnd in range(1, args.rounds + 1):
        counts = WORKER_COUNTS if rnd % 2 else tuple(reversed(WORKER_COUNTS))
        plan = [("embedded", None)] + ([] if args.no_sequential else [("embedded", 1)])
        plan += [("celery", n) for n in counts]
        for mode, n in plan:
            progress(f"[round {rnd}] {mode} {n or ''}...")
            work = fresh(f"r{rnd}-{mode}-{n}")
            r = (run_embedded(site, urls_file, work, rnd, n) if mode == "embedded"
                 else run_celery(site, services, urls_file, work, rnd, n))
            progress(f"  {r.label}: {r.wall_s:.1f} s, {r.per_min:,.0f} captures/min, Saksi "
                     f"CPU {r.saksi_cpu_s:.1f} s, machine {r.machine_cpu_s:.1f} s "
                     f"{r.notes}")
            runs.append(r)
        if not args.no_beat:
            progress(f"[round {rnd}] beat, {RULES} rules...")
            b = run_beat(services, fresh(f"r{rnd}-beat"), rnd)
            progress(f"  enqueued p50 {percentile(b.enqueued, 50):.2f} s, p99 "
                     f"{percentile(b.enqueued, 99):.2f} s, max {max(b.enqueued):.2f} s")
            beats.append(b)
    return runs, beats


def main() -> int:
    args = parse_args()
    if args.serve:
        return serve_main(args.serve)
    if args.rounds < 1 or args.captures < 1:
        progress("--rounds and --captures must be at least 1")
        return 2
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python benchmarks/workers.py " + " ".join(sys.argv[1:])
    header = [f"## workers, {when}", "",
              f"- command: `{command.strip()}`",
              f"- machine: {machine()}; load average at start {load_average()}",
              f"- source: {source_state()}",
              "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
              f"- targets: captures/min with 4 workers ≥ {SCALING_MIN}x with 1 worker "
              f"({LATENCY_S * 1000:.0f} ms latency); {RULES:,} rules due at once: due → "
              f"enqueued p99 < {BEAT_P99_MAX:g} s"]
    progress("\n".join(header))
    load_before = load_average()
    site = Site(args.captures)
    services: Services | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="saksi-bench-workers-") as tmp:
            services = Services()
            runs, beats = run_all(args, site, services, Path(tmp))
    except BenchmarkFailed as exc:
        progress(f"FAILED: {exc}")
        return 1
    finally:
        if services is not None:
            services.close()
        site.close()
    load_after = load_average()
    section = (f"#### {args.captures} static captures, {LATENCY_S * 1000:.0f} ms latency; "
               f"{RULES:,} rules due at once\n\n" + capture_table(runs) + "\n")
    lines = capture_verdicts(runs)
    if beats:
        table, beat_lines = beat_table(beats)
        section += table + "\n"
        lines += beat_lines
    section += "\n".join(lines + notes(site, args, load_before, load_after, runs, beats)) + "\n"
    print(section, flush=True)
    if not args.no_record:
        record([section], header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
