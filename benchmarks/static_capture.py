"""Static capture speed: Saksi against plain Scrapy and `wget --warc-file`, side by side.

    python benchmarks/static_capture.py [--pages 2000] [--concurrency 16]
        [--latency-ms 0,50] [--skip-wget] [--writer-only] [--no-record]

Part 1 crawls one generated news site (gzip-encoded ~60 KB pages, served from memory by
`news_site.py` in its own process on 127.0.0.1) with each tool in turn, once per added
server latency. Every tool is a child process measured by `os.wait4` (wall seconds, CPU
seconds user + sys, peak RSS), with a /proc sampler for the helper processes a tool may
start, whose memory wait4 does not add up. Targets: Saksi within 1.2x of plain Scrapy's wall
time at 0 ms (the price of evidence), and at least 3x faster than sequential wget at
50 ms (what concurrency buys on a remote site).

Part 2 times Saksi's WARC writer against warcio's default writer on the same in-memory
responses (target: 5x), and runs `warcio check` on both outputs.

Results are printed as markdown tables and appended to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from machine_facts import package_versions, tool_version  # this folder (run as a script)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
BIN = Path(sys.executable).parent
SAKSI = BIN / "saksi"
WARCIO = BIN / "warcio"
MiB = 1024 * 1024

SAKSI_VS_SCRAPY_MAX = 1.2  # saksi wall / scrapy wall, at 0 ms latency
WGET_VS_SAKSI_MIN = 3.0  # wget wall / saksi wall, at 50 ms latency
WRITER_SPEEDUP_MIN = 5.0  # saksi writer MB/s / warcio writer MB/s


# ---- measuring child processes -------------------------------------------------------


@dataclass
class Measured:
    """One contender's run: the rusage of the child process, and what it fetched."""

    tool: str
    wall_s: float
    cpu_s: float  # wait4: the child plus the descendants it waited for
    rss_mib: float  # wait4 ru_maxrss: the largest single process, never below the floor
    returncode: int
    rss_floor_mib: float  # our own peak when the child started (see run_measured)
    tree_rss_mib: float = 0.0  # sampled: peak of the summed RSS of the child's process tree
    processes: int = 1
    unreaped_cpu_s: float = 0.0  # CPU of descendants wait4 could not count
    pages_ok: int = 0
    output_mib: float = 0.0
    server_cpu_s: float = 0.0
    note: str = ""

    @property
    def exit_text(self) -> str:
        return f"exit {self.returncode}" + (f", {self.note}" if self.note else "")


class TreeSampler(threading.Thread):
    """Samples a process tree from /proc every `interval` seconds.

    wait4 speaks for one process: its ru_maxrss is the largest of the child and its
    waited-for descendants, not their sum, and a descendant that is never waited for
    is not counted at all. A contender that spawns helpers (Saksi's sealer) is measured
    here too: the peak of the summed RSS, and the CPU of every process seen.
    """

    def __init__(self, root: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.peak_rss_kib = 0
        self.cpu_ticks: dict[int, int] = {}  # last seen user+sys per process
        self.parents: dict[int, int] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def sample(self) -> None:
        total = 0
        pending = [self.root]
        while pending:
            pid = pending.pop()
            total += _proc_rss_kib(pid)
            ticks = _proc_cpu_ticks(pid)
            if ticks is not None:
                self.cpu_ticks[pid] = ticks
            for child in _proc_children(pid):
                self.parents.setdefault(child, pid)
                pending.append(child)
        self.peak_rss_kib = max(self.peak_rss_kib, total)

    def cpu_not_waited_s(self, waited_cpu_s: float) -> float:
        """CPU seen in the tree beyond what wait4 reported (descendants never reaped)."""
        seen = sum(self.cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")
        return max(0.0, seen - waited_cpu_s)


def _proc_children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def _proc_rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _proc_cpu_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def run_measured(tool: str, cmd: list[str], stdout: Path, stderr: Path, timeout: float,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> Measured:
    """Run one child in its own process group; wait4 gives its rusage, a TreeSampler
    covers any processes it starts. On timeout or interrupt the whole group is killed.

    Linux carries the parent's peak RSS into a child's ru_maxrss at exec, so this
    process stays small until the contenders have run, and notes its peak as the floor.
    """
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                env=env, cwd=cwd, start_new_session=True)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        killer = threading.Timer(timeout, _kill_group, (proc.pid,))
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # interrupted: leave no contender running
            _kill_group(proc.pid)
            proc.wait()
            raise
        finally:
            killer.cancel()
            sampler.stop()
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
    note = f"killed after {timeout:.0f} s" if wall >= timeout else ""
    leftovers = _group_members(proc.pid, grace=3.0)
    if leftovers:
        note = (f"{len(leftovers)} process(es) still running 3 s after it exited, killed: "
                + "; ".join(leftovers))
        _kill_group(proc.pid)
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(tool, wall, cpu, usage.ru_maxrss / 1024, proc.returncode, floor,
                    tree_rss_mib=sampler.peak_rss_kib / 1024,
                    processes=1 + len(sampler.parents),
                    unreaped_cpu_s=sampler.cpu_not_waited_s(cpu), note=note)


def _group_members(pgid: int, grace: float) -> list[str]:
    """Command lines of processes still in the group after `grace` seconds."""
    deadline = time.monotonic() + grace
    while True:
        members = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                if int(fields[2]) != pgid or fields[0] == b"Z":
                    continue
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    members.append(f.read().replace(b"\0", b" ").decode(errors="replace")[:120])
            except (OSError, IndexError, ValueError):
                continue
        if not members or time.monotonic() > deadline:
            return members
        time.sleep(0.1)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without proxies or inherited Saksi settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SAKSI_") and not k.lower().endswith("_proxy")}
    env.update(extra)
    return env


# ---- the site server -----------------------------------------------------------------


@dataclass
class Site:
    ports: dict[float, int]
    pid: int
    info: dict[str, int] = field(default_factory=dict)

    def cpu_seconds(self) -> float:
        """The server's user+sys so far: near the wall time means it was the bottleneck."""
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def urls(self, latency_ms: float, pages: int) -> list[str]:
        return [f"http://127.0.0.1:{self.ports[latency_ms]}/news/{n}.html"
                for n in range(pages)]


@contextmanager
def site_server(pages: int, latencies_ms: list[float], max_seconds: float) -> Iterator[Site]:
    """Start news_site.py; it stops when we close its stdin (or at its own time limit)."""
    cmd = [sys.executable, str(HERE / "news_site.py"), "--pages", str(pages),
           "--latency-ms", ",".join(f"{x:g}" for x in latencies_ms),
           "--max-seconds", str(int(max_seconds))]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=clean_env())
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 300)
        line = proc.stdout.readline().decode() if ready else ""
        if not line.startswith("PORTS "):
            raise SystemExit(f"news_site.py did not start (got {line!r})")
        fields = dict(part.split("=") for part in line.split()[1:])
        info = {k: int(v) for k, v in fields.items() if not k[0].isdigit()}
        ports = {float(k): int(v) for k, v in fields.items() if k[0].isdigit()}
        yield Site(ports, proc.pid, info)
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- contenders ----------------------------------------------------------------------


class BenchmarkFailed(Exception):
    """A contender did not fetch every page: its numbers would mean nothing."""


def run_saksi(urls_file: Path, pages: int, concurrency: int, work: Path,
              timeout: float) -> Measured:
    """`saksi capture --json` into a fresh store; every line must say `captured`."""
    data = work / "saksi-data"
    home = work / "saksi-home"  # no user saksi.toml or keys: the default configuration
    home.mkdir()
    env = clean_env(SAKSI_DATA_DIR=str(data), SAKSI_ALLOW_ADDRESSES="127.0.0.1/32",
                    SAKSI_LIMITS__CONCURRENT_REQUESTS=str(concurrency),
                    XDG_CONFIG_HOME=str(home))
    cmd = [str(SAKSI), "capture", "--from", str(urls_file), "--mode", "static", "--json",
           "--case", "BENCH"]
    out, err = work / "saksi.jsonl", work / "saksi.err"
    result = run_measured("saksi", cmd, out, err, timeout, env=env, cwd=home)
    statuses: Counter[str] = Counter()
    errors = []
    with open(out, encoding="utf-8") as lines:  # line by line: this process stays small
        for line in lines:
            if not line.startswith("{"):
                continue
            capture = json.loads(line)
            statuses[capture.get("status", "?")] += 1
            if capture.get("status") != "captured":
                errors.append(f"{capture.get('requested_url')}: {capture.get('error')}")
    result.pages_ok = statuses["captured"]
    result.output_mib = tree_bytes(data) / MiB
    if result.pages_ok != pages or result.returncode != 0:
        raise BenchmarkFailed(
            f"saksi captured {result.pages_ok} of {pages} ({result.exit_text}, "
            f"statuses {dict(statuses)}); first errors: {errors[:5]}; "
            f"stderr: {tail(err)}")
    return result


def run_scrapy(urls_file: Path, pages: int, concurrency: int, work: Path,
               timeout: float) -> Measured:
    """plain_scrapy.py; its last stdout line counts the responses by status."""
    cmd = [sys.executable, str(HERE / "plain_scrapy.py"), "--from", str(urls_file),
           "--concurrency", str(concurrency)]
    out, err = work / "scrapy.json", work / "scrapy.err"
    result = run_measured("plain scrapy", cmd, out, err, timeout, env=clean_env(), cwd=work)
    lines = out.read_text(encoding="utf-8").splitlines()
    try:
        report = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        report = {"stdout": lines[-1][:200]}
    result.pages_ok = report.get("statuses", {}).get("200", 0)
    if result.pages_ok != pages or result.returncode != 0:
        raise BenchmarkFailed(f"plain scrapy fetched {result.pages_ok} of {pages} "
                              f"({result.exit_text}, {report}); stderr: {tail(err)}")
    return result


def run_wget(urls_file: Path, pages: int, work: Path, timeout: float) -> Measured:
    """Sequential wget writing a WARC; its response records are counted afterwards."""
    warc = work / "bench"
    cmd = ["wget", f"--warc-file={warc}", "-i", str(urls_file), "-O", "/dev/null", "-q"]
    out, err = work / "wget.out", work / "wget.err"
    result = run_measured("wget", cmd, out, err, timeout, env=clean_env(), cwd=work)
    path = work / "bench.warc.gz"
    result.pages_ok = count_warc_responses(path) if path.exists() else 0
    result.output_mib = path.stat().st_size / MiB if path.exists() else 0
    if result.pages_ok != pages or result.returncode != 0:
        raise BenchmarkFailed(f"wget archived {result.pages_ok} of {pages} "
                              f"({result.exit_text}); stderr: {tail(err)}")
    return result


def count_warc_responses(path: Path) -> int:
    """Response records in a gzipped WARC, streamed (keeps this process small)."""
    marker = b"WARC-Type: response\r\n"
    count, carry = 0, b""
    with gzip.open(path, "rb") as f:
        while chunk := f.read(MiB):
            data = carry + chunk
            count += data.count(marker)
            carry = data[-(len(marker) - 1):]
    return count


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def tail(path: Path, lines: int = 5) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return " | ".join(text[-lines:]) or "(empty)"


@dataclass
class LatencyRun:
    latency_ms: float
    results: list[Measured]

    def get(self, tool: str) -> Measured | None:
        return next((m for m in self.results if m.tool == tool), None)


def crawl_benchmark(args: argparse.Namespace, work: Path) -> list[str]:
    """Serve the site, run every contender once per latency; the report sections."""
    latencies = args.latency_ms
    # Bounds: generous for sequential wget, which pays the latency on every page.
    timeouts = {lat: 120 + args.pages * (lat / 1000 + 0.05) * 3 for lat in latencies}
    sections = []
    with site_server(args.pages, latencies, sum(timeouts.values()) * 3 + 600) as site:
        html, packed = site.info["html_bytes"], site.info["gzip_bytes"]
        sections.append(
            f"Site: {args.pages} generated pages, {html / args.pages / 1000:.1f} KB of HTML "
            f"each, served gzip-encoded ({html / packed:.2f}x, {packed / args.pages / 1000:.1f}"
            " KB on the wire) from another process on 127.0.0.1. All three keep connections "
            "alive; every Saksi page is its own "
            "sealed capture, and plain Scrapy stores nothing. CPU s is wait4's user + sys of "
            "the tool and the processes it waited for. Peak RSS is wait4's ru_maxrss: the "
            "largest single process, never reported below the benchmark process's own peak "
            "at exec (the floor; '≤' marks a tool that stayed under it). Tree RSS is the peak "
            "of the summed RSS of all the tool's processes, sampled every 50 ms.\n")
        print(sections[-1], flush=True)
        for latency in latencies:
            run_dir = Path(tempfile.mkdtemp(prefix=f"lat{latency:g}-", dir=work))
            urls_file = run_dir / "urls.txt"
            urls_file.write_text("\n".join(site.urls(latency, args.pages)) + "\n")
            timeout = timeouts[latency]
            results = []
            for tool in ("plain scrapy", "saksi", "wget"):
                if tool == "wget" and args.skip_wget:
                    continue
                tool_dir = run_dir / tool.replace(" ", "-")
                tool_dir.mkdir()
                progress(f"[{latency:g} ms] {tool}: {args.pages} pages ...")
                server_before = site.cpu_seconds()
                if tool == "plain scrapy":
                    m = run_scrapy(urls_file, args.pages, args.concurrency, tool_dir, timeout)
                elif tool == "saksi":
                    m = run_saksi(urls_file, args.pages, args.concurrency, tool_dir, timeout)
                else:
                    m = run_wget(urls_file, args.pages, tool_dir, timeout)
                m.server_cpu_s = site.cpu_seconds() - server_before
                progress(f"[{latency:g} ms] {tool}: {m.wall_s:.2f} s wall, "
                         f"{m.cpu_s:.2f} s CPU, {m.rss_mib:.0f} MiB")
                results.append(m)
                shutil.rmtree(tool_dir, ignore_errors=True)
            shutil.rmtree(run_dir, ignore_errors=True)
            sections.append(crawl_table(LatencyRun(latency, results), args))
            print(sections[-1], flush=True)
    return sections


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def crawl_ratios(run: LatencyRun) -> list[str]:
    saksi, scrapy, wget = run.get("saksi"), run.get("plain scrapy"), run.get("wget")
    lines = []
    if saksi and scrapy:
        ratio = saksi.wall_s / scrapy.wall_s
        target = (f" (target ≤ {SAKSI_VS_SCRAPY_MAX} at 0 ms: "
                  f"{verdict(ratio <= SAKSI_VS_SCRAPY_MAX)})" if run.latency_ms == 0 else "")
        lines.append(f"saksi wall / plain scrapy wall = **{ratio:.2f}**{target}")
        lines.append(f"saksi CPU / plain scrapy CPU = {saksi.cpu_s / scrapy.cpu_s:.2f}")
    if saksi and wget:
        ratio = wget.wall_s / saksi.wall_s
        target = (f" (target ≥ {WGET_VS_SAKSI_MIN} at 50 ms: "
                  f"{verdict(ratio >= WGET_VS_SAKSI_MIN)})" if run.latency_ms == 50 else "")
        lines.append(f"wget wall / saksi wall = **{ratio:.2f}**{target}")
    return lines


def crawl_table(run: LatencyRun, args: argparse.Namespace) -> str:
    rows = [f"#### {args.pages} pages, concurrency {args.concurrency}, "
            f"server latency {run.latency_ms:g} ms",
            "",
            "| tool | pages ok | wall s | pages/s | CPU s | peak RSS MiB | tree RSS MiB "
            "| processes | output MiB | server CPU s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in run.results:
        output = f"{m.output_mib:.1f}" if m.output_mib else "none"
        # At the floor, the number is this process's peak, not the tool's (run_measured).
        rss = f"≤ {m.rss_mib:.0f}" if m.rss_mib <= m.rss_floor_mib + 1 else f"{m.rss_mib:.0f}"
        rows.append(f"| {m.tool} | {m.pages_ok} | {m.wall_s:.2f} | {m.pages_ok / m.wall_s:.0f} "
                    f"| {m.cpu_s:.2f} | {rss} | {m.tree_rss_mib:.0f} | {m.processes} "
                    f"| {output} | {m.server_cpu_s:.2f} |")
    rows.append("")
    rows += [f"- {line}" for line in crawl_ratios(run)]
    for m in run.results:
        if m.unreaped_cpu_s > 0.1 + 0.05 * m.cpu_s:
            rows.append(f"- {m.tool}: {m.unreaped_cpu_s:.2f} s more CPU was seen in its "
                        "processes than wait4 reports (a descendant it never waited for)")
        if m.note:
            rows.append(f"- {m.tool}: {m.note}")
    rows.append(f"- peak RSS floor: {max(m.rss_floor_mib for m in run.results):.0f} MiB")
    return "\n".join(rows) + "\n"


# ---- WARC writer alone ---------------------------------------------------------------


@dataclass
class RawResponse:
    url: str
    raw: bytes  # status line, headers, body: as it came off the wire
    head_length: int


def build_responses(html: int = 285, binary: int = 15) -> list[RawResponse]:
    """Gzip-encoded ~60 KB news pages and incompressible ~1 MB "images", interleaved."""
    import random

    from news_site import SEED, NewsText, response_head

    text = NewsText(SEED)
    rng = random.Random(SEED + 1)
    out = []
    every = (html + binary) // max(1, binary)
    for n in range(html + binary):
        if binary and n % every == every // 2:
            body = rng.randbytes(rng.randint(900_000, 1_100_000))
            head = response_head(len(body), content_type="image/jpeg", encoding=None)
            url = f"http://berita.example/img/{n}.jpg"
        else:
            body = gzip.compress(text.page(n, html), compresslevel=6, mtime=0)
            head = response_head(len(body))
            url = f"http://berita.example/news/{n}.html"
        out.append(RawResponse(url, head + body, len(head)))
    return out


def write_with_saksi(responses: list[RawResponse], path: Path) -> None:
    """Saksi's writer, with the SHA-256 digests it computes during capture."""
    import hashlib

    from archivers.warc import WarcWriter, record_id, sha256_label, warc_date

    with open(path, "wb") as sink:
        writer = WarcWriter(sink)
        for r in responses:
            raw = r.raw
            headers = [
                ("WARC-Type", "response"),
                ("WARC-Record-ID", record_id()),
                ("WARC-Target-URI", r.url),
                ("WARC-Date", warc_date(datetime.now(UTC))),
                ("Content-Type", "application/http;msgtype=response"),
                ("WARC-Block-Digest", sha256_label(hashlib.sha256(raw).hexdigest())),
                ("WARC-Payload-Digest", sha256_label(
                    hashlib.sha256(memoryview(raw)[r.head_length:]).hexdigest())),
            ]
            writer.write_record(headers, [raw], len(raw))


def write_with_warcio(responses: list[RawResponse], path: Path) -> None:
    """warcio as its README shows it: WARCWriter(gzip=True), create_warc_record."""
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as sink:
        writer = WARCWriter(sink, gzip=True)
        for r in responses:
            lines = r.raw[:r.head_length].decode("iso-8859-1").split("\r\n")
            protocol, statusline = lines[0].split(" ", 1)
            headers = [tuple(line.split(": ", 1)) for line in lines[1:] if line]
            http_headers = StatusAndHeaders(statusline, headers, protocol=protocol)
            record = writer.create_warc_record(
                r.url, "response", payload=BytesIO(r.raw[r.head_length:]),
                http_headers=http_headers)
            writer.write_record(record)


@dataclass
class WriterResult:
    name: str
    best_s: float
    output_bytes: int
    check: str


def warcio_check(path: Path) -> str:
    proc = subprocess.run([str(WARCIO), "check", "-v", str(path)], capture_output=True,
                          text=True, timeout=600)
    passed = proc.stdout.count("digest pass")
    records = proc.stdout.count("WARC-Record-ID")
    state = "valid" if proc.returncode == 0 else f"INVALID (exit {proc.returncode})"
    return f"{state}: {passed} of {records} records digest pass"


def writer_benchmark(work: Path, repeat: int = 3) -> tuple[list[WriterResult], int, int]:
    # Both writers are imported before the clock starts, not during the first round.
    import warcio.warcwriter  # noqa: F401

    import archivers.warc  # noqa: F401

    progress("WARC writer: building responses ...")
    responses = build_responses()
    input_bytes = sum(len(r.raw) for r in responses)
    writers = {"saksi WarcWriter (isal level 1, SHA-256)": write_with_saksi,
               "warcio WARCWriter (zlib level 9, SHA-1)": write_with_warcio}
    best = dict.fromkeys(writers, float("inf"))
    paths = {name: work / f"writer-{i}.warc.gz" for i, name in enumerate(writers)}
    for _ in range(repeat):  # interleaved, so noise from other load hits both alike
        for name, write in writers.items():
            start = time.perf_counter()
            write(responses, paths[name])
            best[name] = min(best[name], time.perf_counter() - start)
    results = []
    for name in writers:
        progress(f"WARC writer: warcio check {paths[name].name} ...")
        results.append(WriterResult(name, best[name], paths[name].stat().st_size,
                                    warcio_check(paths[name])))
    return results, input_bytes, len(responses)


def writer_table(results: list[WriterResult], input_bytes: int, records: int) -> str:
    rows = [f"#### WARC writer alone: {records} response records, "
            f"{input_bytes / 1e6:.1f} MB of HTTP bytes in memory, written to a file "
            "(best of 3)",
            "",
            "| writer | best s | MB/s in | output MB | `warcio check` |",
            "|---|---:|---:|---:|---|"]
    for r in results:
        rows.append(f"| {r.name} | {r.best_s:.3f} | {input_bytes / 1e6 / r.best_s:.0f} | "
                    f"{r.output_bytes / 1e6:.1f} | {r.check} |")
    ratio = results[1].best_s / results[0].best_s
    rows += ["", f"- saksi writer / warcio writer speed = **{ratio:.1f}x** "
                 f"(target ≥ {WRITER_SPEEDUP_MIN:g}x: {verdict(ratio >= WRITER_SPEEDUP_MIN)})"]
    return "\n".join(rows) + "\n"


# ---- context and report --------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions() -> dict[str, str]:
    found = package_versions(("scrapy", "saksi", "warcio", "isal", "twisted"))
    found["wget"] = tool_version(["wget", "--version"],
                                 lambda line: re.sub(r"^GNU Wget\s+", "", line).rstrip("."))
    return found


def source_state() -> str:
    """The commit measured, and whether the working tree differed from it (others edit
    the repository while benchmarks run)."""
    repo = HERE.parent
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain",
                                 "--untracked-files=no"], capture_output=True, text=True,
                                timeout=10).stdout.splitlines()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    changed = [line[3:] for line in status if not line[3:].startswith("benchmarks/")]
    if not changed:
        return head or "unknown"
    more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
    return f"{head} with uncommitted changes to {', '.join(changed[:5])}{more}"


def machine() -> str:
    mem = ""
    try:
        kb = int(open("/proc/meminfo").readline().split()[1])
        mem = f", {kb / MiB:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores, {cpu_model()}{mem}, {platform.system()} {platform.release()}"


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def record(sections: list[str], header: list[str]) -> None:
    fresh = not RESULTS.exists()
    with open(RESULTS, "a", encoding="utf-8") as f:
        if fresh:
            f.write("# Benchmark results\n\nAppended by the scripts in this directory, newest "
                    "last. The machines are shared: compare the ratios within one run rather "
                    "than absolute numbers across runs.\n")
        f.write("\n" + "\n".join(header) + "\n\n" + "\n".join(sections))
    progress(f"appended to {RESULTS}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", default="0,50",
                        type=lambda s: [float(x) for x in s.split(",") if x.strip()],
                        help="server latencies to run, comma-separated (default 0,50)")
    parser.add_argument("--skip-wget", action="store_true")
    parser.add_argument("--writer-only", action="store_true",
                        help="only the WARC writer comparison")
    parser.add_argument("--no-record", action="store_true",
                        help="print only; do not append to RESULTS.md")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    sys.path.insert(0, str(HERE))
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    found = versions()
    command = "python benchmarks/static_capture.py " + " ".join(sys.argv[1:])
    header = [f"## static_capture, {when}", "",
              f"- command: `{command.strip()}`",
              f"- machine: {machine()}",
              f"- source: {source_state()}",
              "- versions: " + ", ".join(f"{k} {v}" for k, v in found.items()),
              f"- targets: saksi wall / plain scrapy wall ≤ {SAKSI_VS_SCRAPY_MAX} at 0 ms; "
              f"wget wall / saksi wall ≥ {WGET_VS_SAKSI_MIN:g} at 50 ms; saksi WARC writer "
              f"≥ {WRITER_SPEEDUP_MIN:g}x warcio's"]
    progress("\n".join(header))
    sections = []
    with tempfile.TemporaryDirectory(prefix="saksi-bench-") as tmp:
        work = Path(tmp)
        try:
            if not args.writer_only:
                sections += crawl_benchmark(args, work)
            writer, input_bytes, records = writer_benchmark(work)
        except BenchmarkFailed as exc:
            progress(f"FAILED: {exc}")
            return 1
    sections.append(writer_table(writer, input_bytes, records))
    print(sections[-1], flush=True)
    if not args.no_record:
        record(sections, header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
