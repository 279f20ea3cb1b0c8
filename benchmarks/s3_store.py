"""S3 store speed and memory: Saksi's upload against plain boto3 doing the same safety work.

    python benchmarks/s3_store.py [--small] [--rounds 2] [--concurrency 8] [--no-record]

The evidence is generated once per run (seeded random bytes, so incompressible and the
same every run): 1,000 files of 100 KiB and 4 of 200 MiB, the large ones spread evenly
through the list (`--small`: 100 x 100 KiB and 2 x 20 MiB, for a quick check). Both sides
send the same files, in the same order, to moto's standalone S3 server
(`python -m moto.server`), a fresh server process per side and per round so nothing one
side stored is in memory when the other runs, into a bucket made with
ObjectLockEnabledForBucket and a GOVERNANCE default retention of 1 day.

- saksi: a child process opens `Evidence` with the S3 backend, streams every file into the
  spool in 1 MiB chunks (one `store.batch()`, untimed: in a capture this is the sealing),
  then, timed, `store.upload_many` (single-pass SHA-256, ChecksumSHA256 per put and per
  part, a conditional put (If-None-Match) or a head first for retries and multipart
  uploads, a head of the exact version after it, Object Lock) and
  `catalog.record_versions` in one write transaction. Every result must be a StoredObject.
- baseline: a child process running plain boto3, timed: `sha256sum` over every file (a
  subprocess), then a pool of C workers, each `upload_file` with
  TransferConfig(max_concurrency=C) and ExtraArgs ChecksumAlgorithm=SHA256,
  ObjectLockMode=GOVERNANCE, ObjectLockRetainUntilDate, followed by a `head_object`
  (ChecksumMode=ENABLED) that checks size and lock.

The sides alternate which goes first, round by round. Each child reports its timed
window (CLOCK_MONOTONIC, shared by every process); this process samples the child's RSS
with psutil every 50 ms and keeps the peak inside that window. After each side the
bucket is listed (untimed) to check every object is there once, with the right size,
and the digests of the two sides are compared.

Targets: median Saksi wall / median baseline wall <= 1.15; Saksi's peak RSS during the
upload < 300 MB. Results are printed as markdown tables and appended to
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from machine_facts import (  # this folder (run as a script)
    load_average,
    machine_busy_s,
    package_versions,
    tool_version,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO)]

from static_capture import (  # noqa: E402 - after the path set-up above
    _group_members,
    _kill_group,
    clean_env,
    machine,
    progress,
    record,
    source_state,
    verdict,
)

KiB = 1024
MiB = 1024 * KiB
MB = 1000 * 1000
SAKSI_VS_BASELINE_MAX = 1.15  # median saksi wall / median baseline wall
RSS_MAX_MB = 300  # Saksi's peak RSS during the timed part, in MB (10^6 bytes)
SAMPLE_SECONDS = 0.05
CHUNK = MiB  # spool writes, and generation
BUCKET = "saksi-bench-evidence"
LOCK_MODE = "GOVERNANCE"
RETENTION_DAYS = 1
CHILD_TIMEOUT = 3600.0
FULL = ((1000, 100 * KiB), (4, 200 * MiB))
SMALL = ((100, 100 * KiB), (2, 20 * MiB))


# ---- the evidence ----------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceFile:
    path: str
    size: int

    @property
    def name(self) -> str:
        return Path(self.path).name


def generate(root: Path, shape: tuple[tuple[int, int], ...]) -> list[EvidenceFile]:
    """Seeded random files; the large ones spread evenly among the small ones."""
    (small_n, small_size), (large_n, large_size) = shape
    small = [EvidenceFile(str(root / f"small-{i:04d}.bin"), small_size) for i in range(small_n)]
    large = [EvidenceFile(str(root / f"large-{i}.bin"), large_size) for i in range(large_n)]
    ordered = list(small)
    step = max(1, len(small) // max(1, len(large)))
    for i, item in enumerate(large):
        ordered.insert(min(len(ordered), i * (step + 1)), item)
    root.mkdir(parents=True, exist_ok=True)
    for item in ordered:
        rng = random.Random(f"saksi-s3-bench:{item.name}")
        left = item.size
        with open(item.path, "wb") as f:
            while left:
                n = min(CHUNK, left)
                f.write(rng.randbytes(n))
                left -= n
    return ordered


def shape_text(shape: tuple[tuple[int, int], ...]) -> str:
    return " + ".join(f"{n:,} x {_size(size)}" for n, size in shape)


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB else f"{n // KiB} KiB"


# ---- moto's S3 server, a fresh process per side and round ------------------------------


@dataclass
class MotoServer:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_s(self) -> float:
        import psutil

        try:
            t = psutil.Process(self.proc.pid).cpu_times()
            return t.user + t.system
        except psutil.Error:
            return float("nan")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def moto_server(work: Path, label: str) -> Iterator[MotoServer]:
    port = free_port()
    tmp = work / f"moto-tmp-{label}"
    tmp.mkdir(parents=True, exist_ok=True)
    log = work / f"moto-{label}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=clean_env(TMPDIR=str(tmp)), start_new_session=True)
    server = MotoServer(proc, port, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise BenchmarkFailed(f"moto server exited with {proc.returncode}: "
                                      + log.read_text(errors="replace")[-500:])
            try:
                urllib.request.urlopen(server.endpoint, timeout=0.5).close()
                break
            except urllib.error.HTTPError:
                break  # any HTTP answer: it is serving
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise BenchmarkFailed(f"moto server did not answer on {server.endpoint}: "
                                          f"{exc}") from exc
                time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def s3_client(endpoint: str, pool: int = 10) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(max_pool_connections=pool,
                                      s3={"addressing_style": "path"}))


def make_bucket(endpoint: str) -> None:
    client = s3_client(endpoint)
    client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    client.put_object_lock_configuration(Bucket=BUCKET, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": LOCK_MODE, "Days": RETENTION_DAYS}}})


def bucket_contents(endpoint: str) -> tuple[int, int, int, Counter[int]]:
    """(versions, delete markers, bytes, versions per size) in the bucket."""
    client = s3_client(endpoint)
    versions = markers = total = 0
    sizes: Counter[int] = Counter()
    for page in client.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        for v in page.get("Versions", []):
            versions += 1
            total += int(v["Size"])
            sizes[int(v["Size"])] += 1
        markers += len(page.get("DeleteMarkers", []))
    return versions, markers, total, sizes


# ---- the two sides, each in a child process ----------------------------------------------


def count_requests(client: Any) -> Counter[str]:
    """Requests per S3 operation, counted by a botocore hook (one dict update each)."""
    seen: Counter[str] = Counter()

    def hook(model: Any, **_: Any) -> None:
        seen[model.name] += 1

    client.meta.events.register("before-call.s3", hook)
    return seen


def cpu_self_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_cpu_s(pid: int) -> float:
    import psutil

    try:
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except psutil.Error:
        return float("nan")


def saksi_side(job: dict[str, Any]) -> dict[str, Any]:
    """The product's S3 store. Settings come from the environment the parent set."""
    from archivers.evidence import Evidence
    from archivers.publish import retain_until
    from config import load_settings
    from storage.objects import StoredObject
    from storage.s3 import UploadRequest

    files = [EvidenceFile(**f) for f in job["files"]]
    settings = load_settings()
    evidence = Evidence.open(settings)
    requests_seen = count_requests(evidence.store.client)
    spool_start = time.monotonic()
    blobs = []
    with evidence.store.batch() as batch:
        for item in files:
            blob = batch.new_blob()
            with open(item.path, "rb") as f:
                while chunk := f.read(CHUNK):
                    blob.write(chunk)
            blob.close()  # commit would close it too; 1,004 open files are not needed
            blobs.append(blob)
    keys = [batch.result(b).key for b in blobs]
    spool_s = time.monotonic() - spool_start
    until = retain_until(settings.storage.retention_days)
    requests = [UploadRequest(k, until) for k in keys]

    cpu0, server0 = cpu_self_s(), server_cpu_s(job["server_pid"])
    t0 = time.monotonic()
    results = evidence.store.upload_many(requests)
    t_uploaded = time.monotonic()
    failures = [f"{r.key}: {type(x).__name__}: {x}" for r, x in zip(requests, results, strict=True)
                if not isinstance(x, StoredObject)]
    if failures:
        evidence.close()
        return {"ok": False, "errors": failures[:10], "failed": len(failures),
                "t0": t0, "t1": t_uploaded, "requests": dict(requests_seen)}
    with evidence.catalog.write() as conn:
        evidence.catalog.record_versions(conn, results)
    t1 = time.monotonic()
    cpu1, server1 = cpu_self_s(), server_cpu_s(job["server_pid"])
    evidence.close()
    return {"ok": True, "t0": t0, "t1": t1, "wall_s": t1 - t0, "cpu_s": cpu1 - cpu0,
            "server_cpu_s": server1 - server0,
            "phases": {"spool (untimed)": spool_s, "upload_many": t_uploaded - t0,
                       "record_versions": t1 - t_uploaded},
            "objects": len(results), "bytes": sum(r.bytes for r in results),
            "sha256": sorted(r.sha256 for r in results),
            "adopted": sum(1 for r in results if r.existed),
            "requests": dict(requests_seen)}


def baseline_side(job: dict[str, Any]) -> dict[str, Any]:
    """Plain boto3 and sha256sum doing the same safety work."""
    from concurrent.futures import ThreadPoolExecutor

    from boto3.s3.transfer import TransferConfig

    from archivers.publish import retain_until

    files = [EvidenceFile(**f) for f in job["files"]]
    c = job["concurrency"]
    # Enough pooled connections for every part in flight (C files x C parts), so plain
    # boto3 is not slowed by connections opened and thrown away.
    client = s3_client(job["endpoint"], pool=c * c + c)
    requests_seen = count_requests(client)
    transfer = TransferConfig(max_concurrency=c)
    until = retain_until(RETENTION_DAYS)
    extra = {"ChecksumAlgorithm": "SHA256", "ObjectLockMode": LOCK_MODE,
             "ObjectLockRetainUntilDate": until}

    def upload(item: EvidenceFile) -> str:
        key = f"evidence/{item.name}"
        client.upload_file(item.path, BUCKET, key, ExtraArgs=extra, Config=transfer)
        head = client.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        if head.get("ObjectLockMode") != LOCK_MODE:
            # As Saksi does: a server that ignored the lock sent with the upload (moto
            # does on multipart uploads) gets it set on the version, then checked again.
            client.put_object_retention(
                Bucket=BUCKET, Key=key, VersionId=head["VersionId"],
                Retention={"Mode": LOCK_MODE, "RetainUntilDate": until})
            head = client.head_object(Bucket=BUCKET, Key=key, VersionId=head["VersionId"],
                                      ChecksumMode="ENABLED")
        problems = []
        if head.get("ContentLength") != item.size:
            problems.append(f"size {head.get('ContentLength')}, sent {item.size}")
        if head.get("ObjectLockMode") != LOCK_MODE or not head.get("ObjectLockRetainUntilDate"):
            problems.append(f"lock {head.get('ObjectLockMode')} "
                            f"{head.get('ObjectLockRetainUntilDate')}")
        if not head.get("ChecksumSHA256"):
            problems.append("no SHA-256 checksum")
        if problems:
            raise RuntimeError(f"{key}: " + "; ".join(problems))
        return head.get("VersionId") or ""

    cpu0, server0 = cpu_self_s(), server_cpu_s(job["server_pid"])
    t0 = time.monotonic()
    # sha256sum's CPU is a child's: counted by RUSAGE_CHILDREN, added below.
    hashed = subprocess.run(["sha256sum", *(f.path for f in files)], capture_output=True,
                            text=True, check=True).stdout.split("\n")
    t_hashed = time.monotonic()
    errors: list[str] = []
    versions: list[str] = []
    with ThreadPoolExecutor(c, "baseline-put") as pool:
        for item, future in zip(files, [pool.submit(upload, f) for f in files], strict=True):
            try:
                versions.append(future.result())
            except Exception as exc:  # noqa: BLE001 - reported, the run fails
                errors.append(f"{item.name}: {type(exc).__name__}: {exc}"[:300])
    t1 = time.monotonic()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu1, server1 = cpu_self_s(), server_cpu_s(job["server_pid"])
    digests = sorted(line.split()[0] for line in hashed if line.strip())
    if len(digests) != len(files):
        errors.append(f"sha256sum printed {len(digests)} digests for {len(files)} files")
    return {"ok": not errors, "errors": errors[:10], "failed": len(errors),
            "t0": t0, "t1": t1, "wall_s": t1 - t0,
            "cpu_s": cpu1 - cpu0 + children.ru_utime + children.ru_stime,
            "server_cpu_s": server1 - server0,
            "phases": {"sha256sum": t_hashed - t0, "upload_file + head": t1 - t_hashed},
            "objects": sum(1 for v in versions if v), "bytes": sum(f.size for f in files),
            "sha256": digests, "requests": dict(requests_seen)}


def child_main(side: str, job_path: Path) -> int:
    job = json.loads(job_path.read_text())
    result = saksi_side(job) if side == "saksi" else baseline_side(job)
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


# ---- running and measuring a child ---------------------------------------------------------


class RssSampler(threading.Thread):
    """The child's RSS every `interval`, with CLOCK_MONOTONIC times to cut the window."""

    def __init__(self, pid: int, interval: float = SAMPLE_SECONDS):
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.busy: list[tuple[float, float]] = []  # the whole machine's busy CPU seconds
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        while not self._stop_event.is_set():
            try:
                rss = self.process.memory_info().rss
            except psutil.Error:
                return
            now = time.monotonic()
            self.samples.append((now, rss))
            self.busy.append((now, machine_busy_s()))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def busy_between(self, t0: float, t1: float) -> float:
        """Machine-wide busy CPU seconds from the last sample before t0 to the first
        after t1 (so a little more than the window)."""
        before = [b for t, b in self.busy if t <= t0]
        after = [b for t, b in self.busy if t >= t1]
        if not before or not after:
            return float("nan")
        return after[0] - before[-1]

    def peak_between(self, t0: float, t1: float) -> tuple[float, int]:
        inside = [rss for t, rss in self.samples if t0 <= t <= t1]
        return (max(inside) / MiB if inside else float("nan")), len(inside)


class BenchmarkFailed(Exception):
    pass


@dataclass
class Run:
    side: str
    round: int
    position: int  # 1: went first in its round
    result: dict[str, Any]
    peak_rss_mib: float  # sampled, inside the timed window
    samples: int
    max_rss_mib: float  # wait4 ru_maxrss: the whole child, imports and spooling included
    rss_floor_mib: float
    other_cpu_s: float  # the rest of the machine in the timed window (near 0 if quiet)
    server_log_errors: list[str] = field(default_factory=list)
    bucket: tuple[int, int, int] = (0, 0, 0)  # versions, delete markers, bytes

    @property
    def wall_s(self) -> float:
        return float(self.result["wall_s"])

    def mib_s(self) -> float:
        return self.result["bytes"] / MiB / self.wall_s


def run_side(side: str, rnd: int, position: int, files: list[EvidenceFile], work: Path,
             concurrency: int) -> Run:
    label = f"{side}-r{rnd}"
    with moto_server(work, label) as server:
        make_bucket(server.endpoint)
        data_dir = work / f"data-{label}"
        job = {"files": [f.__dict__ for f in files], "endpoint": server.endpoint,
               "concurrency": concurrency, "server_pid": server.proc.pid}
        job_path = work / f"job-{label}.json"
        job_path.write_text(json.dumps(job))
        env = clean_env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                        AWS_DEFAULT_REGION="us-east-1", XDG_CONFIG_HOME=str(work / "config"))
        if side == "saksi":
            env.update(SAKSI_DATA_DIR=str(data_dir), SAKSI_STORAGE__BACKEND="s3",
                       SAKSI_STORAGE__BUCKET=BUCKET,
                       SAKSI_STORAGE__ENDPOINT_URL=server.endpoint,
                       SAKSI_STORAGE__LOCK_MODE=LOCK_MODE,
                       SAKSI_STORAGE__RETENTION_DAYS=str(RETENTION_DAYS),
                       SAKSI_STORAGE__UPLOAD_CONCURRENCY=str(concurrency))
        stdout, stderr = work / f"{label}.out", work / f"{label}.err"
        floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with open(stdout, "wb") as out, open(stderr, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, __file__, "--side", side, "--job", str(job_path)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=work,
                start_new_session=True)
            sampler = RssSampler(proc.pid)
            sampler.start()
            killer = threading.Timer(CHILD_TIMEOUT, _kill_group, (proc.pid,))
            killer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            except BaseException:
                _kill_group(proc.pid)
                proc.wait()
                raise
            finally:
                killer.cancel()
                sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if _group_members(proc.pid, grace=1.0):
            _kill_group(proc.pid)
        lines = [line for line in stdout.read_text().splitlines() if line.startswith("{")]
        if not lines:
            raise BenchmarkFailed(f"{side} (round {rnd}) exited {proc.returncode} without a "
                                  "result: " + stderr.read_text(errors="replace")[-1500:])
        result = json.loads(lines[-1])
        if not result["ok"]:
            raise BenchmarkFailed(f"{side} (round {rnd}): {result['failed']} object(s) not "
                                  "stored: " + " | ".join(result["errors"]))
        peak, samples = sampler.peak_between(result["t0"], result["t1"])
        other = sampler.busy_between(result["t0"], result["t1"]) - result["cpu_s"] \
            - result["server_cpu_s"]
        versions, markers, total, _ = bucket_contents(server.endpoint)
        log_errors = [line for line in server.log.read_text(errors="replace").splitlines()
                      if "Traceback" in line or "Error" in line][:5]
        shutil.rmtree(data_dir, ignore_errors=True)
    return Run(side, rnd, position, result, peak, samples, usage.ru_maxrss / 1024, floor,
               other, log_errors, (versions, markers, total))


# ---- report ----------------------------------------------------------------------------


def phases_text(run: Run) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in run.result["phases"].items())


def requests_text(run: Run) -> str:
    seen = run.result["requests"]
    return f"{sum(seen.values()):,}"


def whole_rss(run: Run) -> str:
    """wait4's ru_maxrss, which on Linux starts at the parent's peak when it execs."""
    if run.max_rss_mib <= run.rss_floor_mib:
        return f"≤ {run.rss_floor_mib:.0f}"
    return f"{run.max_rss_mib:.0f}"


def runs_table(runs: list[Run], expected: tuple[int, int]) -> str:
    rows = ["| round | side | order | objects stored | timed wall s | MiB/s | phases s "
            "| requests | CPU s | moto CPU s | other CPU s | peak RSS MiB, timed part "
            "| whole child max RSS MiB |",
            "|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        rows.append(f"| {r.round} | {r.side} | {'first' if r.position == 1 else 'second'} "
                    f"| {r.result['objects']:,} of {expected[0]:,} | {r.wall_s:.2f} "
                    f"| {r.mib_s():.0f} | {phases_text(r)} | {requests_text(r)} "
                    f"| {r.result['cpu_s']:.1f} | {r.result['server_cpu_s']:.1f} "
                    f"| {r.other_cpu_s:.1f} | {r.peak_rss_mib:.0f} | {whole_rss(r)} |")
    return "\n".join(rows) + "\n"


def summary(runs: list[Run], concurrency: int) -> tuple[str, list[str]]:
    rows = ["| side | rounds | median timed wall s | min | max | median MiB/s "
            "| median CPU s | median moto CPU s | peak RSS MiB, timed part |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    medians: dict[str, float] = {}
    for side in ("saksi", "baseline"):
        mine = [r for r in runs if r.side == side]
        walls = [r.wall_s for r in mine]
        medians[side] = statistics.median(walls)
        rows.append(f"| {side} | {len(mine)} | {medians[side]:.2f} | {min(walls):.2f} "
                    f"| {max(walls):.2f} | {statistics.median(r.mib_s() for r in mine):.0f} "
                    f"| {statistics.median(r.result['cpu_s'] for r in mine):.1f} "
                    f"| {statistics.median(r.result['server_cpu_s'] for r in mine):.1f} "
                    f"| {max(r.peak_rss_mib for r in mine):.0f} |")
    ratio = medians["saksi"] / medians["baseline"]
    peak = max(r.peak_rss_mib for r in runs if r.side == "saksi")
    lines = [f"- saksi / baseline median timed wall at concurrency {concurrency} = "
             f"**{ratio:.2f}** (target ≤ {SAKSI_VS_BASELINE_MAX}: "
             f"{verdict(ratio <= SAKSI_VS_BASELINE_MAX)})",
             f"- saksi peak RSS during the upload = **{peak:.0f} MiB** "
             f"({peak * MiB / MB:.0f} MB; target < {RSS_MAX_MB} MB: "
             f"{verdict(peak * MiB / MB < RSS_MAX_MB)})"]
    return "\n".join(rows) + "\n", lines


def notes(runs: list[Run], expected: tuple[int, int]) -> list[str]:
    out = []
    for side in ("saksi", "baseline"):
        mine = [r for r in runs if r.side == side]
        ops: Counter[str] = Counter()
        for r in mine:
            ops.update(r.result["requests"])
        per_round = ", ".join(f"{op} {n // len(mine):,}" for op, n in ops.most_common())
        out.append(f"- {side} requests per round: {per_round}")
    for r in runs:
        versions, markers, total = r.bucket
        if (versions, markers, total) != (expected[0], 0, expected[1]):
            out.append(f"- round {r.round} {r.side}: the bucket held {versions} versions, "
                       f"{markers} delete markers, {total:,} bytes; expected {expected[0]} "
                       f"and {expected[1]:,} bytes")
        if r.result.get("adopted"):
            out.append(f"- round {r.round} {r.side}: {r.result['adopted']} object(s) were "
                       "already in the bucket (adopted, not uploaded)")
        if r.server_log_errors:
            out.append(f"- round {r.round} {r.side}: moto log: "
                       + " | ".join(e[:200] for e in r.server_log_errors))
    if any(r.result["requests"].get("PutObjectRetention") for r in runs):
        out.append("- moto 5 ignores the Object Lock headers of CreateMultipartUpload (and "
                   "the bucket's default retention for multipart objects), so each "
                   "multipart object came out unlocked; both sides then set the retention "
                   "on the version (PutObjectRetention) and head it again")
    digests = {tuple(r.result["sha256"]) for r in runs}
    out.append("- every side and round stored all objects once (bucket listed after each) "
               "and the SHA-256 digests of both sides agree" if len(digests) == 1 and
               not any("bucket held" in line for line in out)
               else "- DIGESTS OR BUCKET CONTENTS DIFFER between runs: see above")
    out.append("- scope: this compares what each side asks of an S3 server on loopback "
               "(requests, checksums, client CPU and memory) with moto as the server, "
               "whose own CPU is most of the wall time; it says nothing about real S3 over "
               "a network (latency, throughput, throttling, how AWS applies Object Lock to "
               "multipart uploads), and Saksi's copy into its spool is not timed.")
    return out


def versions() -> dict[str, str]:
    found = package_versions(("saksi", "boto3", "botocore", "s3transfer", "moto", "werkzeug"))
    found["sha256sum"] = tool_version(["sha256sum", "--version"],
                                      lambda line: line.rsplit(" ", 1)[-1] + " (coreutils)")
    return found


# ---- main ------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true",
                        help="100 x 100 KiB + 2 x 20 MiB instead of 1,000 x 100 KiB + "
                             "4 x 200 MiB, for a quick check")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds, each running both sides, alternating which goes "
                             "first (default 2)")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="C: storage.upload_concurrency for Saksi; workers and "
                             "TransferConfig.max_concurrency for boto3 (default 8)")
    parser.add_argument("--no-record", action="store_true",
                        help="print only; do not append to RESULTS.md")
    parser.add_argument("--side", choices=("saksi", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--job", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.side:
        return child_main(args.side, args.job)
    shape = SMALL if args.small else FULL
    expected = (sum(n for n, _ in shape), sum(n * size for n, size in shape))
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python benchmarks/s3_store.py " + " ".join(sys.argv[1:])
    header = [f"## S3 store (issue 4): s3_store, {when}", "",
              f"- command: `{command.strip()}`",
              f"- machine: {machine()}; load average at start {load_average()}",
              f"- source: {source_state()}",
              "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
              f"- targets: median saksi timed wall / median baseline timed wall ≤ "
              f"{SAKSI_VS_BASELINE_MAX}; saksi peak RSS during the upload < {RSS_MAX_MB} MB"]
    progress("\n".join(header))
    intro = (
        f"Evidence: {shape_text(shape)} ({expected[1] / MiB:.0f} MiB, {expected[0]:,} "
        "objects), seeded random bytes, the large files spread evenly through the list; "
        "both sides send the same files in the same order at concurrency "
        f"{args.concurrency}, into moto's standalone S3 server on 127.0.0.1 (a fresh "
        "process per side and round) with a bucket made with ObjectLockEnabledForBucket "
        f"and a {LOCK_MODE} default retention of {RETENTION_DAYS} day. Saksi: a child "
        "process opens `Evidence` (S3 backend, default part size 8 MiB and multipart "
        "threshold 16 MiB), streams the files into its spool in 1 MiB chunks in one "
        "batch (untimed, same child, before the timed part), then, timed, "
        "`store.upload_many` (SHA-256 in the pass that reads each object, "
        "ChecksumSHA256 per put and part, a head before each put, a head of the version "
        "after, Object Lock) and `catalog.record_versions` in one transaction. Baseline: "
        "a child process running plain boto3, timed: `sha256sum` over all files, then "
        f"{args.concurrency} workers each calling `upload_file` (TransferConfig("
        f"max_concurrency={args.concurrency}), 8 MiB parts; ExtraArgs ChecksumAlgorithm "
        f"SHA256, ObjectLockMode {LOCK_MODE}, ObjectLockRetainUntilDate) and then "
        "`head_object` (ChecksumMode ENABLED; size, lock and checksum checked). Timed "
        "wall: from the child's first timed call to its last, excluding imports, client "
        "set-up and Saksi's spooling. CPU s is the child's user + sys in that window "
        "(the baseline's includes sha256sum); moto CPU s is the server's in that window. "
        "Peak RSS, timed part: the child's RSS sampled with psutil every "
        f"{SAMPLE_SECONDS * 1000:.0f} ms during the timed window; whole child max RSS is "
        "wait4's ru_maxrss (imports and spooling included). moto and both contenders "
        "share the machine's cores; other CPU s is what the rest of the machine used in "
        "the window (/proc/stat less the child and moto; this script's sampler "
        "included): near 0 when nothing else ran, within ±0.5 s because /proc/stat and the "
        "per-process counters tick separately.\n")
    sections = [intro]
    print(intro, flush=True)
    failed: str | None = None
    with tempfile.TemporaryDirectory(prefix="saksi-bench-s3-") as tmp:
        work = Path(tmp)
        progress(f"generating {shape_text(shape)} ...")
        started = time.monotonic()
        files = generate(work / "evidence", shape)
        progress(f"generated {expected[1] / MiB:.0f} MiB in {time.monotonic() - started:.1f} s")
        runs: list[Run] = []
        try:
            for rnd in range(1, args.rounds + 1):
                order = ("saksi", "baseline") if rnd % 2 else ("baseline", "saksi")
                for position, side in enumerate(order, 1):
                    progress(f"[round {rnd}] {side} ...")
                    r = run_side(side, rnd, position, files, work, args.concurrency)
                    progress(f"[round {rnd}] {side}: {r.result['objects']} objects, "
                             f"{r.wall_s:.2f} s timed ({phases_text(r)}), CPU "
                             f"{r.result['cpu_s']:.1f} s, moto CPU "
                             f"{r.result['server_cpu_s']:.1f} s, peak RSS "
                             f"{r.peak_rss_mib:.0f} MiB")
                    runs.append(r)
        except BenchmarkFailed as exc:
            failed = str(exc)
            progress(f"FAILED: {failed}")
    if failed:
        return 1
    table, verdicts = summary(runs, args.concurrency)
    section = (f"#### {shape_text(shape)}, concurrency {args.concurrency}, "
               f"{args.rounds} rounds\n\n" + runs_table(runs, expected) + "\n" + table + "\n"
               + "\n".join(verdicts + notes(runs, expected)) + "\n")
    sections.append(section)
    print(section, flush=True)
    if not args.no_record:
        record(sections, header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
