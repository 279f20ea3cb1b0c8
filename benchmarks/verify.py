"""Bundle verify speed and memory: `saksi verify BUNDLE.zip` against `sha256sum -c`.

    python benchmarks/verify.py [--small] [--rounds 2] [--profile] [--no-record]

One evidence bundle is made per run with the product itself (untimed): the fixture
server of the tests (`tests.fixtures.wire_server.FixtureServer`, in its own process on
127.0.0.1) serves ordinary pages (/page, /page2, /gzip, each asked with its own `?n=`)
and seeded incompressible bodies (/random/<n>); one `saksi capture --from FILE --case
BENCH` (static mode) captures 400 pages and 4 bodies of 128 MiB, the large ones spread
evenly through the list (`--small`: 40 pages and 2 x 12 MiB), and `saksi export --case
BENCH --language en` writes the bundle. Each capture's WARC is gzipped and its WACZ holds
the WARC again, so a 128 MiB body puts about 256 MiB into the bundle: about 1 GiB in all.
The bundle is then extracted (untimed) for the baseline, and both the bundle and the
extracted files are read once (untimed) so every side reads from the page cache.

Three sides, each a child process, run round by round, the order reversed every round:

- saksi full: `saksi verify BUNDLE.zip`: every file's SHA-256 against the signed bundle
  manifest, each capture's files against its sealed manifest, signatures, custody
  proofs, and every WARC record digest and WACZ hash;
- saksi quick: `saksi verify --quick BUNDLE.zip`: the same without the WARC record
  digests and WACZ hashes;
- baseline: `sha256sum -c SHA256SUMS` in the extracted directory.

Saksi runs as a person would run it elsewhere: a fresh working directory, an empty config
home, no SAKSI_ settings. Each child is timed from its start to its exit (so Saksi's
interpreter start-up and imports count); CPU is wait4's user + sys; its RSS is sampled
with psutil every 50 ms. Targets (issue 5): median full wall <= 1.5x the median sha256sum
wall, median quick wall <= 1.1x, Saksi's peak RSS < 200 MB. `--profile` adds one run of
each Saksi side under cProfile (untimed) and lists where the time went.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
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

from s3_store import (  # noqa: E402 - after the path set-up above
    BenchmarkFailed,
    whole_rss,
)
from static_capture import (  # noqa: E402
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
FULL_VS_SHA256SUM_MAX = 1.5  # median `saksi verify` wall / median `sha256sum -c` wall
QUICK_VS_SHA256SUM_MAX = 1.1  # median `saksi verify --quick` wall / the same
RSS_MAX_MB = 200  # Saksi's peak RSS, in MB (10^6 bytes)
SAMPLE_SECONDS = 0.05
SAKSI = Path(sys.executable).with_name("saksi")
CHILD_TIMEOUT = 1800.0
QUIET_LOAD = 0.5  # a 1-minute load average at or above it: say the machine was busy
BUSY_SHARE = 0.1  # other processes' CPU above this share of a run's wall: say so
CASE = "BENCH"
SIDES = ("saksi full", "saksi quick", "sha256sum")
PAGES = ("/page", "/page2", "/gzip")


@dataclass(frozen=True)
class Shape:
    pages: int
    large: int
    large_bytes: int

    def text(self) -> str:
        return (f"{self.pages:,} page captures + {self.large} x {self.large_bytes // MiB} MiB "
                "incompressible-body captures")


FULL = Shape(400, 4, 128 * MiB)
SMALL = Shape(40, 2, 12 * MiB)


# ---- the bundle, made with the product (untimed) -----------------------------------------


def serve_main() -> int:
    """Child: the tests' fixture server until stdin closes (its ports as a JSON line)."""
    from tests.fixtures.wire_server import FixtureServer

    with FixtureServer() as site:
        print(json.dumps({"http": site.http_url("")}), flush=True)
        sys.stdin.read()
        errors = list(site.errors)
    print(json.dumps({"errors": errors[:5]}), flush=True)
    return 0


def capture_urls(base: str, shape: Shape) -> list[str]:
    """Pages, with the large bodies spread evenly among them (distinct sizes, so distinct
    seeded bytes)."""
    urls = [f"{base}{PAGES[i % len(PAGES)]}?n={i}" for i in range(shape.pages)]
    step = max(1, shape.pages // max(1, shape.large))
    for i in range(shape.large):
        urls.insert(min(len(urls), i * (step + 1) + step // 2),
                    f"{base}/random/{shape.large_bytes + i}")
    return urls


def saksi_env(work: Path, shape: Shape) -> dict[str, str]:
    return clean_env(
        SAKSI_DATA_DIR=str(work / "data"), XDG_CONFIG_HOME=str(work / "xdg"),
        SAKSI_ALLOW_ADDRESSES="127.0.0.1/32", SAKSI_CAPTURE__DEFAULT_MODE="static",
        SAKSI_LIMITS__MAX_RESPONSE_BYTES=str(shape.large_bytes + 16 * MiB),
        SAKSI_LIMITS__MAX_CAPTURE_SECONDS="120",
        SAKSI_COLLECTOR__NAME="bench", SAKSI_COLLECTOR__ORGANISATION="Saksi benchmark")


def saksi(env: dict[str, str], cwd: Path, *args: str, timeout: float = 1800
          ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(SAKSI), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise BenchmarkFailed(f"saksi {' '.join(args[:2])} exited {done.returncode}: "
                              + (done.stderr or done.stdout)[-1500:])
    return done


def build_bundle(work: Path, shape: Shape) -> Path:
    env = saksi_env(work, shape)
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=work,
                              env=clean_env(), start_new_session=True)
    assert server.stdin is not None and server.stdout is not None
    try:
        line = server.stdout.readline()
        if not line:
            raise BenchmarkFailed("the fixture server did not start")
        base = json.loads(line)["http"]
        urls = capture_urls(base, shape)
        (work / "urls.txt").write_text("\n".join(urls) + "\n")
        saksi(env, work, "keys", "init", "--json")
        started = time.monotonic()
        made = saksi(env, work, "capture", "--from", str(work / "urls.txt"), "--case", CASE,
                     "--json")
        captured = [json.loads(x) for x in made.stdout.splitlines() if x.startswith("{")]
        bad = [c for c in captured if c.get("status") != "captured" or c.get("truncated")]
        if len(captured) != len(urls) or bad:
            raise BenchmarkFailed(f"{len(captured)} capture results for {len(urls)} links; "
                                  f"not captured or truncated: {bad[:3]}")
        progress(f"captured {len(urls)} links in {time.monotonic() - started:.1f} s")
    finally:
        server.stdin.close()
        try:
            tail = server.stdout.read()
            server.wait(30)
        except subprocess.TimeoutExpired:
            _kill_group(server.pid)
            server.wait()
            tail = ""
    errors = [json.loads(x)["errors"] for x in tail.splitlines() if x.startswith("{")]
    if errors and errors[0]:
        raise BenchmarkFailed(f"fixture server errors: {errors[0]}")
    bundle = work / "bundle.zip"
    started = time.monotonic()
    saksi(env, work, "export", "--case", CASE, "--out", str(bundle), "--language", "en",
          "--json")
    progress(f"exported {bundle.stat().st_size / MiB:.0f} MiB in "
             f"{time.monotonic() - started:.1f} s")
    shutil.rmtree(work / "data")  # the store is not needed any more; keeps the disk light
    return bundle


@dataclass
class BundleFacts:
    bytes: int
    members: int
    listed: int  # lines of SHA256SUMS
    listed_bytes: int
    manifest_files: int  # files in the signed bundle manifest (SHA256SUMS among them)
    warc_bytes: int
    wacz_bytes: int
    deflated_in: int  # uncompressed bytes of members stored with deflate
    deflated_out: int  # their compressed bytes


def bundle_facts(bundle: Path, extracted: Path) -> BundleFacts:
    with zipfile.ZipFile(bundle) as zf:
        infos = zf.infolist()
        manifest = json.loads(zf.read("bundle-manifest.json"))
    listed = [line.partition("  ")[2] for line in
              (extracted / "SHA256SUMS").read_text().splitlines() if line.strip()]
    sizes = {i.filename: i.file_size for i in infos}
    deflated = [i for i in infos if i.compress_type == zipfile.ZIP_DEFLATED]
    return BundleFacts(
        bundle.stat().st_size, len(infos), len(listed), sum(sizes[n] for n in listed),
        len(manifest["files"]),
        sum(s for n, s in sizes.items() if n.endswith(".warc.gz")),
        sum(s for n, s in sizes.items() if n.endswith(".wacz")),
        sum(i.file_size for i in deflated), sum(i.compress_size for i in deflated))


def read_through(paths: list[Path]) -> None:
    """Read every byte once, so the timed runs find them in the page cache."""
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.read(4 * MiB):
                pass


@dataclass
class PassRates:
    """MiB/s of one single-threaded pass of each kind over the bundle's largest member."""

    member: str
    mib: float
    unzip: float  # zipfile read: inflate and CRC-32
    sha256: float  # hashlib (OpenSSL), in 1 MiB blocks


def pass_rates(bundle: Path, extracted: Path) -> PassRates:
    import hashlib

    with zipfile.ZipFile(bundle) as zf:
        info = max(zf.infolist(), key=lambda i: i.file_size)
        started = time.perf_counter()
        with zf.open(info) as member:
            while member.read(MiB):
                pass
        unzip = time.perf_counter() - started
    sha = hashlib.sha256()
    started = time.perf_counter()
    with open(extracted / info.filename, "rb") as f:
        while block := f.read(MiB):
            sha.update(block)
    hashing = time.perf_counter() - started
    mib = info.file_size / MiB
    return PassRates(info.filename, mib, mib / unzip, mib / hashing)


# ---- running and measuring a side ----------------------------------------------------------


class TreeSampler(threading.Thread):
    """The child and every process under it (Saksi's verify workers), every `interval`:
    the sum of their RSS (pages shared between them counted in each, so an upper bound),
    and each process's last CPU time seen, so workers that wait4 never reports count."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        import psutil

        self.root = psutil.Process(pid)
        self.interval = interval
        self.samples: list[tuple[float, int, int]] = []  # (time, RSS sum, processes)
        self.cpu: dict[int, float] = {}  # descendants only; the child's comes from wait4
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        while not self._stop_event.is_set():
            try:
                family = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return
            total = 0
            for proc in family:
                try:
                    total += proc.memory_info().rss
                    if proc.pid != self.root.pid:
                        times = proc.cpu_times()
                        self.cpu[proc.pid] = times.user + times.system
                except psutil.Error:
                    continue
            self.samples.append((time.monotonic(), total, len(family)))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def peak_between(self, t0: float, t1: float) -> tuple[float, int, int]:
        """(peak RSS sum in MiB, samples, most processes at once) inside the window."""
        inside = [(rss, n) for t, rss, n in self.samples if t0 <= t <= t1]
        if not inside:
            return float("nan"), 0, 0
        return max(r for r, _ in inside) / MiB, len(inside), max(n for _, n in inside)


@dataclass
class Run:
    side: str
    round: int
    position: int
    wall_s: float
    cpu_s: float  # the child's (wait4) and its descendants' (sampled)
    peak_rss_mib: float  # sampled every 50 ms: the sum over the child and its descendants
    samples: int
    max_rss_mib: float  # wait4 ru_maxrss
    rss_floor_mib: float
    other_cpu_s: float
    checked: str  # what the side says it checked
    processes: int = 1  # most processes in the tree at once


def side_command(side: str, bundle: Path) -> list[str]:
    if side == "saksi full":
        return [str(SAKSI), "verify", str(bundle)]
    if side == "saksi quick":
        return [str(SAKSI), "verify", "--quick", str(bundle)]
    return ["sha256sum", "-c", "SHA256SUMS"]


def offline_env(work: Path) -> dict[str, str]:
    """As in the tests' offline check: no SAKSI_ or AWS_ settings, an empty config home."""
    env = {k: v for k, v in clean_env().items() if not k.startswith("AWS_")}
    env["XDG_CONFIG_HOME"] = str(work / "empty-config")
    return env


OK_LINE = re.compile(r"OK (\d+) capture\(s\), (\d+) file\(s\), (\d+) WARC record\(s\), "
                     r"(\d+) custody event\(s\) verified")


def run_side(side: str, rnd: int, position: int, bundle: Path, extracted: Path,
             work: Path, facts: BundleFacts) -> Run:
    label = f"{side.replace(' ', '-')}-r{rnd}"
    stdout, stderr = work / f"{label}.out", work / f"{label}.err"
    if side == "sha256sum":
        cwd, env = extracted, clean_env(LC_ALL="C")
    else:
        cwd = work / f"fresh-{label}"
        cwd.mkdir()
        env = offline_env(work)
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        busy0 = machine_busy_s()
        start = time.monotonic()
        proc = subprocess.Popen(side_command(side, bundle), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, env=env, cwd=cwd,
                                start_new_session=True)
        sampler = TreeSampler(proc.pid, SAMPLE_SECONDS)
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
        end = time.monotonic()
        busy1 = machine_busy_s()
        sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if _group_members(proc.pid, grace=1.0):
        _kill_group(proc.pid)
    if proc.returncode != 0:
        raise BenchmarkFailed(f"{side} (round {rnd}) exited {proc.returncode}: "
                              + stderr.read_text(errors="replace")[-1500:])
    checked = check_output(side, stdout.read_text(errors="replace"), facts)
    cpu = usage.ru_utime + usage.ru_stime + sum(sampler.cpu.values())
    peak, samples, processes = sampler.peak_between(start, end)
    return Run(side, rnd, position, end - start, cpu, peak, samples, usage.ru_maxrss / 1024,
               floor, busy1 - busy0 - cpu, checked, processes)


def check_output(side: str, text: str, facts: BundleFacts) -> str:
    """What the side says it checked; a side that checked less than the bundle fails."""
    if side == "sha256sum":
        ok = sum(1 for line in text.splitlines() if line.endswith(": OK"))
        if ok != facts.listed:
            raise BenchmarkFailed(f"sha256sum -c said OK for {ok} of {facts.listed} files")
        return f"{ok:,} files OK"
    found = OK_LINE.search(text)
    if not found:
        raise BenchmarkFailed(f"{side}: no OK line in its output: {text[-500:]}")
    captures, files, records, events = (int(x) for x in found.groups())
    if files != facts.manifest_files or (side == "saksi full") != (records > 0):
        raise BenchmarkFailed(f"{side}: checked {files} files and {records} records; the "
                              f"bundle manifest lists {facts.manifest_files} files")
    return (f"{captures:,} captures, {files:,} files, {records:,} WARC records, "
            f"{events:,} events")


# ---- where Saksi's time goes (untimed, under cProfile) --------------------------------------


PHASES = (  # (label, file suffix, function): cumulative time, callees included
    ("`_verify_bundle` (the CLI command)", "saksi/cli.py", "_verify_bundle"),
    ("`verify_bundle`", "archivers/bundle_verify.py", "verify_bundle"),
    ("`_check_files` (every file read once and checked against the bundle manifest)",
     "archivers/bundle_verify.py", "_check_files"),
    ("`check_member` (one file: SHA-256, and the checks below)",
     "archivers/bundle_members.py", "check_member"),
    ("`warc_digest_faults` (WARC record digests, in `check_member`)",
     "archivers/digests.py", "warc_digest_faults"),
    ("`check_wacz` (WACZ contents, in `check_member`)", "archivers/digests.py",
     "check_wacz"),
    ("`_check_capture` (each capture's files against its sealed manifest, seals)",
     "archivers/bundle_verify.py", "_check_capture"),
    ("`_check_custody` (events, inclusion proofs, checkpoint)",
     "archivers/bundle_verify.py", "_check_custody"),
)


def profile_side(side: str, bundle: Path, work: Path, top: int = 10) -> list[str]:
    """One run under cProfile, with `--workers 1` so every file is read in the profiled
    process: time by phase, and the functions with the most own time."""
    label = side.replace(" ", "-")
    out = work / f"profile-{label}.pstats"
    cwd = work / f"fresh-profile-{label}"
    cwd.mkdir()
    # One worker: the profiler sees only its own process, so the files are read in it.
    argv = [*side_command(side, bundle)[1:-1], "--workers", "1", str(bundle)]
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m",
                           "saksi.cli", *argv], env=offline_env(work), cwd=cwd,
                          capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    wall = time.monotonic() - started
    shown = " ".join(["saksi", *argv[:-1], "BUNDLE.zip"])
    if done.returncode != 0 or not out.exists():
        return [f"- `{shown}` under cProfile exited {done.returncode}: {done.stderr[-300:]}"]
    # (file, line, function) -> (primitive calls, calls, own s, with callees s, callers)
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = \
        pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in stats.values())

    def cumulative(suffix: str, name: str) -> float:
        return sum(v[3] for (path, _, fn), v in stats.items()
                   if fn == name and path.endswith(suffix))

    command_s = cumulative("saksi/cli.py", "_verify_bundle")
    checks_s = cumulative("archivers/bundle_verify.py", "verify_bundle")
    lines = [f"- `{shown}` under cProfile: {wall:.1f} s wall, {total:.1f} s profiled", "",
             "| phase | s, with callees | share |", "|---|---:|---:|",
             f"| start-up: interpreter, imports, CLI parsing (outside `_verify_bundle`) "
             f"| {total - command_s:.2f} | {100 * (total - command_s) / total:.0f}% |"]
    for text, suffix, name in PHASES:
        spent = cumulative(suffix, name)
        if spent:
            lines.append(f"| {text} | {spent:.2f} | {100 * spent / total:.0f}% |")
    lines += [f"| printing the result (`_verify_bundle` less `verify_bundle`) "
              f"| {command_s - checks_s:.2f} | {100 * (command_s - checks_s) / total:.0f}% |",
              "", "| function, by own time | calls | own s | share |", "|---|---:|---:|---:|"]
    ranked = sorted(((v[2], v[1], _where(*key)) for key, v in stats.items()), reverse=True)
    for tt, calls, where in ranked[:top]:
        lines.append(f"| `{where}` | {calls:,} | {tt:.2f} | {100 * tt / total:.0f}% |")
    return lines


def _where(path: str, line: int, name: str) -> str:
    if path == "~":
        return name  # a built-in: "<method 'update' of '_hashlib.HASH' objects>"
    parts = Path(path).parts
    for anchor in ("site-packages", "lib", "main"):
        if anchor in parts:
            parts = parts[len(parts) - parts[::-1].index(anchor):]
            break
    return f"{'/'.join(parts)}:{line}({name})"


# ---- report ------------------------------------------------------------------------------


def runs_table(runs: list[Run], facts: BundleFacts) -> str:
    rows = ["| round | side | order | wall s | MiB/s | CPU s | other CPU s | processes "
            "| peak RSS MiB (sampled, summed) | max RSS MiB (wait4) | checked |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        rows.append(f"| {r.round} | {r.side} | {r.position} | {r.wall_s:.2f} "
                    f"| {facts.listed_bytes / MiB / r.wall_s:.0f} | {r.cpu_s:.2f} "
                    f"| {r.other_cpu_s:.1f} | {r.processes} | {r.peak_rss_mib:.0f} "
                    f"| {whole_rss(r)} | {r.checked} |")
    return "\n".join(rows) + "\n"


def summary(runs: list[Run], facts: BundleFacts) -> tuple[str, list[str]]:
    rows = ["| side | rounds | median wall s | min | max | ratio to sha256sum "
            "| median MiB/s | median CPU s | peak RSS MiB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    medians = {s: statistics.median(r.wall_s for r in runs if r.side == s) for s in SIDES}
    for side in SIDES:
        mine = [r for r in runs if r.side == side]
        walls = [r.wall_s for r in mine]
        rows.append(f"| {side} | {len(mine)} | {medians[side]:.2f} | {min(walls):.2f} "
                    f"| {max(walls):.2f} | {medians[side] / medians['sha256sum']:.2f} "
                    f"| {facts.listed_bytes / MiB / medians[side]:.0f} "
                    f"| {statistics.median(r.cpu_s for r in mine):.2f} "
                    f"| {max(r.peak_rss_mib for r in mine):.0f} |")
    full = medians["saksi full"] / medians["sha256sum"]
    quick = medians["saksi quick"] / medians["sha256sum"]
    peak = max(max(r.peak_rss_mib, r.max_rss_mib if r.max_rss_mib > r.rss_floor_mib else 0)
               for r in runs if r.side != "sha256sum")
    lines = [f"- `saksi verify` / `sha256sum -c` median wall = **{full:.2f}** "
             f"(target ≤ {FULL_VS_SHA256SUM_MAX}: {verdict(full <= FULL_VS_SHA256SUM_MAX)})",
             f"- `saksi verify --quick` / `sha256sum -c` median wall = **{quick:.2f}** "
             f"(target ≤ {QUICK_VS_SHA256SUM_MAX}: "
             f"{verdict(quick <= QUICK_VS_SHA256SUM_MAX)})",
             f"- saksi peak RSS, both modes, every round = **{peak:.0f} MiB** "
             f"({peak * MiB / MB:.0f} MB; target < {RSS_MAX_MB} MB: "
             f"{verdict(peak * MiB / MB < RSS_MAX_MB)})"]
    return "\n".join(rows) + "\n", lines


def notes(runs: list[Run], facts: BundleFacts, build_s: float, rates: PassRates,
          load_before: str) -> list[str]:
    sha256sum_cpu = statistics.median(r.cpu_s for r in runs if r.side == "sha256sum")
    out = [f"- bundle: {facts.bytes / MiB:,.0f} MiB, {facts.members:,} members, "
           f"{facts.listed:,} of them in SHA256SUMS ({facts.listed_bytes / MiB:,.0f} MiB "
           f"extracted: WARCs {facts.warc_bytes / MiB:,.0f} MiB, WACZs "
           f"{facts.wacz_bytes / MiB:,.0f} MiB); members stored with deflate: "
           f"{facts.deflated_in / MiB:,.0f} MiB → {facts.deflated_out / MiB:,.0f} MiB; made "
           f"(captures and export, untimed) in {build_s:.0f} s",
           f"- load average when the rounds began (after the build): {load_before}",
           "- MiB/s: the MiB of the files in SHA256SUMS over the wall time",
           f"- one pass over the largest member ({rates.mib:.0f} MiB, single-threaded, from "
           f"the page cache): zipfile read (inflate + CRC-32) {rates.unzip:,.0f} MiB/s; "
           f"hashlib SHA-256 {rates.sha256:,.0f} MiB/s; sha256sum over all files "
           f"{facts.listed_bytes / MiB / sha256sum_cpu:,.0f} MiB/s of CPU",
           "- wall is the whole process, start to exit: Saksi's interpreter start-up and "
           "imports, and the start of its worker processes, are in it; CPU is user + sys of "
           "the child (wait4) and of every process under it (sampled, the last reading of "
           "each); other CPU s is what the rest of the machine used meanwhile (/proc/stat "
           "less that CPU; this script's sampler included), near 0 when nothing else ran",
           "- peak RSS (sampled, summed) is the sum of psutil's RSS over the child and every "
           f"process under it (processes: the most at once), every {SAMPLE_SECONDS * 1000:.0f}"
           " ms; pages the processes share (the interpreter, libraries) count once in each, "
           "so the sum is an upper bound of the memory used; max RSS (wait4) is the kernel's "
           "ru_maxrss of the child alone (\"≤ n\" when it did not rise above this script's "
           "own peak, which Linux carries into a child at exec)"]
    busy = [r for r in runs if r.other_cpu_s > BUSY_SHARE * r.wall_s + 0.5]
    if busy:
        out.append("- WARNING: the machine was not quiet: other CPU above "
                   f"{BUSY_SHARE:.0%} of the wall in " + ", ".join(
                       f"round {r.round} {r.side} ({r.other_cpu_s:.1f} s in {r.wall_s:.1f} s)"
                       for r in busy))
    distinct = {s: {r.checked for r in runs if r.side == s} for s in SIDES}
    if any(len(v) > 1 for v in distinct.values()):
        out.append(f"- WARNING: a side reported different counts across rounds: {distinct}")
    return out


def versions() -> dict[str, str]:
    found = package_versions(("saksi", "warcio", "cryptography", "isal"))
    found["sha256sum"] = tool_version(["sha256sum", "--version"],
                                      lambda line: line.rsplit(" ", 1)[-1] + " (coreutils)")
    return found


# ---- main ------------------------------------------------------------------------------


def one_minute_load() -> float:
    try:
        return float(load_average().split()[0])
    except ValueError:
        return float("nan")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true",
                        help="40 pages + 2 x 12 MiB (a ~50 MiB bundle) instead of 400 pages "
                             "+ 4 x 128 MiB (~1 GiB), for a quick check")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds, each running every side, the order reversed every "
                             "round (default 2)")
    parser.add_argument("--profile", action="store_true",
                        help="after the rounds, run each Saksi side once under cProfile "
                             "(untimed) and report where its time went")
    parser.add_argument("--no-record", action="store_true",
                        help="print only; do not append to RESULTS.md")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.serve:
        return serve_main()
    shape = SMALL if args.small else FULL
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python benchmarks/verify.py " + " ".join(sys.argv[1:])
    header = [f"## Bundle verify (issue 5): verify, {when}", "",
              f"- command: `{command.strip()}`",
              f"- machine: {machine()}; load average at start {load_average()}",
              f"- source: {source_state()}",
              "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
              f"- targets: median `saksi verify` wall ≤ {FULL_VS_SHA256SUM_MAX}x and median "
              f"`saksi verify --quick` wall ≤ {QUICK_VS_SHA256SUM_MAX}x the median "
              f"`sha256sum -c SHA256SUMS` wall; saksi peak RSS < {RSS_MAX_MB} MB"]
    progress("\n".join(header))
    if one_minute_load() >= QUIET_LOAD:
        progress(f"warning: the load average is {QUIET_LOAD} or more: another process is "
                 "using the cores, and the timings will show it")
    intro = (
        f"Bundle: {shape.text()} (static mode, from the tests' fixture server on "
        "127.0.0.1; the large ones spread evenly among the pages), made once with `saksi "
        f"capture --case {CASE}` and `saksi export --language en` and used for every "
        "round. Sides, each a child process, the order reversed every round: `saksi verify "
        "BUNDLE.zip` (every file's SHA-256, seals, signatures, custody proofs, every WARC "
        "record digest and WACZ hash), `saksi verify --quick BUNDLE.zip` (the same without "
        "the record digests and WACZ hashes), both in a fresh directory with an empty "
        "config home; and `sha256sum -c SHA256SUMS` over the same files extracted from the "
        "bundle (extraction untimed). Before the rounds the bundle and the extracted files "
        "are read once, so every side reads from the page cache.\n")
    sections = [intro]
    print(intro, flush=True)
    failed: str | None = None
    profile: list[str] = []
    with tempfile.TemporaryDirectory(prefix="saksi-bench-verify-") as tmp:
        work = Path(tmp)
        runs: list[Run] = []
        try:
            progress(f"building the bundle: {shape.text()} ...")
            started = time.monotonic()
            bundle = build_bundle(work, shape)
            build_s = time.monotonic() - started
            extracted = work / "extracted"
            with zipfile.ZipFile(bundle) as zf:
                zf.extractall(extracted)
            facts = bundle_facts(bundle, extracted)
            read_through([bundle, *sorted(p for p in extracted.rglob("*") if p.is_file())])
            rates = pass_rates(bundle, extracted)
            load_before = load_average()
            progress(f"bundle {facts.bytes / MiB:.0f} MiB, {facts.listed} files in "
                     f"SHA256SUMS ({facts.listed_bytes / MiB:.0f} MiB extracted)")
            for rnd in range(1, args.rounds + 1):
                order = SIDES if rnd % 2 else tuple(reversed(SIDES))
                for position, side in enumerate(order, 1):
                    r = run_side(side, rnd, position, bundle, extracted, work, facts)
                    progress(f"[round {rnd}] {side}: {r.wall_s:.2f} s, CPU {r.cpu_s:.2f} s, "
                             f"peak RSS {r.peak_rss_mib:.0f} MiB, other CPU "
                             f"{r.other_cpu_s:.1f} s; {r.checked}")
                    runs.append(r)
            if args.profile:
                for side in SIDES[:2]:
                    progress(f"profiling {side} ...")
                    profile += profile_side(side, bundle, work) + [""]
        except BenchmarkFailed as exc:
            failed = str(exc)
            progress(f"FAILED: {failed}")
    if failed:
        return 1
    table, verdicts = summary(runs, facts)
    lines = verdicts + notes(runs, facts, build_s, rates, load_before)
    section = (f"#### {shape.text()}, {args.rounds} rounds\n\n" + runs_table(runs, facts)
               + "\n" + table + "\n" + "\n".join(lines) + "\n")
    if profile:
        section += ("\nWhere Saksi's time goes (one run each under cProfile, untimed; the "
                    "profiler adds a cost per Python call, so these are shares, not "
                    "timings):\n\n" + "\n".join(profile).rstrip() + "\n")
    section += ("\n- scope: " + SCOPE + "\n")
    sections.append(section)
    print(section, flush=True)
    if not args.no_record:
        record(sections, header)
    return 0


SCOPE = ("both sides read the same files from the page cache of one machine, so this "
         "compares the CPU cost of checking a bundle (Saksi reading every member out of the "
         "deflated zip and checking hashes, seals, proofs and WARC records; sha256sum only "
         "hashing files already extracted, the extraction not timed), not disk speed, and "
         "the ratios rest on the one-pass rates above: this sha256sum does not use the "
         "CPU's SHA extensions and Python's hashlib (OpenSSL) does, so a sha256sum that "
         "used them would make every ratio larger.")


if __name__ == "__main__":
    sys.exit(main())
