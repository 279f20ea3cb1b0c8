"""Browser capture speed and memory: Saksi against bare Playwright doing the same page work.

    python benchmarks/browser_capture.py [--posts 50] [--concurrency 1,2] [--long 300]
        [--long-concurrency 2] [--skip-long] [--long-bare] [--no-record]

The fixture "social post" site of the tests (`tests/fixtures/social_site.py`: a
JavaScript-built post with an XHR, a ranged autoplay video, an iframe, lazy images and
two sub-resources that must be refused) runs in its own process on 127.0.0.1, so its CPU
counts against neither contender. Each post URL (`/@warga/post/<n>`) is distinct.

Part 1, speed: for each concurrency, `saksi capture --mode browser --json` (recording
every exchange, artifacts, WARC, WACZ, sealing) against bare Playwright (this script's
`--bare` mode: one Chromium launched with Saksi's own flags, no proxy, the site reached
through `--host-resolver-rules`) doing the same page work per post in a fresh context:
goto (commit), load, network quiet, play media, scroll a viewport at a time, quiet again,
back to the top, full-page and viewport screenshots, DOM, visible text; it records and
seals nothing. The ratio of wall times is the price of the evidence (target ≤ 1.3).

Part 2, memory: one command capturing `--long` posts; the summed RSS of the whole process
tree (Python, Playwright's node driver, every Chromium process) is sampled every 200 ms
and mapped to progress by the JSON lines as they arrive (one line per finished capture).
The peak during the first 50 captures against the peak during the last 50 (target:
growth under 10%). Saksi restarts Chromium every `browser.recycle_after` captures.
`--long-bare` runs the same for bare Playwright (one browser for the whole run), which
tells Chromium's own growth from Saksi's; it doubles the time of part 2.

Every contender is a child process measured by `os.wait4` (wall and CPU seconds) and a
/proc sampler for the tree (Playwright starts Chromium in a session of its own).
Results are printed as markdown tables and appended to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import shutil
import signal
import statistics
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
    SAKSI,
    Measured,
    _kill_group,
    _proc_children,
    _proc_cpu_ticks,
    _proc_rss_kib,
    clean_env,
    machine,
    progress,
    record,
    source_state,
    tail,
    tree_bytes,
    verdict,
)

MiB = 1024 * 1024
SAKSI_VS_BARE_MAX = 1.3  # saksi wall / bare Playwright wall, per concurrency
RSS_GROWTH_MAX = 10.0  # % growth of the peak tree RSS, first 50 captures to last 50
WINDOW = 50  # captures per memory window
BUDGET_SECONDS = 30  # per capture, both contenders (SAKSI_LIMITS__MAX_CAPTURE_SECONDS)
SAMPLE_SECONDS = 0.2
VIEWPORT = {"width": 1280, "height": 900}
QUIET_MS = 800  # browser.network_quiet_ms default
MAX_SCROLL_HEIGHT = 20000  # browser.max_scroll_height default


# ---- the site, in its own process ----------------------------------------------------


def serve() -> int:
    """`--serve`: run the fixture site until stdin closes; one JSON line when ready, one
    when stopped (with any server-side errors)."""
    from tests.fixtures.social_site import SocialSite

    with SocialSite() as site:
        print(json.dumps({"host_map": site.host_map(), "resolver_rules": site.resolver_rules(),
                          "ca_pem_path": site.ca_pem_path,
                          "post_url": site.post_url("{n}")}), flush=True)
        sys.stdin.read()
        report = {"errors": site.errors[:10], "error_count": len(site.errors),
                  "requests": len(site.requests())}
    print(json.dumps(report), flush=True)
    return 0


@dataclass
class Site:
    pid: int
    host_map: str
    resolver_rules: str
    ca_pem_path: str
    post_url_template: str  # SocialSite.post_url("{n}")
    final: dict[str, Any] = field(default_factory=dict)

    def post_url(self, n: int) -> str:
        return self.post_url_template.format(n=n)

    def cpu_seconds(self) -> float:
        ticks = _proc_cpu_ticks(self.pid)
        return ticks / os.sysconf("SC_CLK_TCK") if ticks is not None else float("nan")


@contextmanager
def site_server() -> Iterator[Site]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=clean_env(), cwd=REPO)
    assert proc.stdout is not None and proc.stdin is not None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline().decode() if ready else ""
        if not line.startswith("{"):
            raise SystemExit(f"the fixture site did not start (got {line!r})")
        info = json.loads(line)
        site = Site(proc.pid, info["host_map"], info["resolver_rules"], info["ca_pem_path"],
                    info["post_url"])
        yield site
        proc.stdin.close()
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        last = proc.stdout.readline().decode() if ready else ""
        site.final = json.loads(last) if last.startswith("{") else {"stop": last[:200]}
    finally:
        if not proc.stdin.closed:
            proc.stdin.close()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- bare Playwright: the same page work, nothing kept --------------------------------


class Inflight:
    """Requests in flight on one page, and when the network last did anything (the
    same rule as Saksi's recorder: quiet = none in flight and no activity for 800 ms)."""

    def __init__(self) -> None:
        self.open: set[Any] = set()
        self.last = time.monotonic()

    def start(self, request: Any) -> None:
        if request.url.startswith(("http:", "https:")):
            self.open.add(request)
            self.last = time.monotonic()

    def end(self, request: Any) -> None:
        self.open.discard(request)
        self.last = time.monotonic()

    def touch(self, _: Any) -> None:
        self.last = time.monotonic()

    async def quiet(self, deadline: float, hit: list[str]) -> bool:
        while time.monotonic() < deadline:
            if not self.open and time.monotonic() - self.last >= QUIET_MS / 1000:
                return True
            await asyncio.sleep(min(0.05, max(deadline - time.monotonic(), 0)))
        hit.append("network never went quiet")
        return False


async def bare_capture(browser: Any, url: str) -> dict[str, Any]:
    """One post: what `crawlers/browser/page_work.py` does, minus recording and sealing."""
    from crawlers.browser.page_work import (
        MAX_SCREENSHOT_HEIGHT,
        PAGE_HEIGHT,
        PLAY_MEDIA,
        SCROLL_STEP_PAUSE_MS,
        VISIBLE_TEXT,
    )

    start = time.monotonic()
    deadline = start + BUDGET_SECONDS
    phases: dict[str, float] = {}
    mark = [start]

    def lap(name: str) -> None:
        now = time.monotonic()
        phases[name] = round(now - mark[0], 3)
        mark[0] = now

    hit: list[str] = []
    out: dict[str, Any] = {"requested_url": url, "status": "captured", "budget_hit": hit}
    context = await browser.new_context(viewport=VIEWPORT, service_workers="block",
                                        accept_downloads=False)
    try:
        page = await context.new_page()
        net = Inflight()
        page.on("request", net.start)
        page.on("response", net.touch)
        page.on("requestfinished", net.end)
        page.on("requestfailed", net.end)
        lap("open")
        out["work_started"] = time.time()
        await page.goto(url, wait_until="commit", timeout=BUDGET_SECONDS * 1000)
        lap("commit")
        loaded = True
        try:
            await page.wait_for_load_state(
                "load", timeout=max(deadline - time.monotonic(), 0.1) * 1000)
        except Exception:  # noqa: BLE001 - as Saksi: note it, keep going
            hit.append("page never finished loading")
            loaded = False
        lap("load")
        if loaded:
            await net.quiet(deadline, hit)
        lap("quiet")
        await page.evaluate(PLAY_MEDIA)
        viewport_height = (page.viewport_size or VIEWPORT)["height"]
        position, height = 0, 0
        while time.monotonic() < deadline:
            height = await page.evaluate(PAGE_HEIGHT)
            if position + viewport_height >= min(height, MAX_SCROLL_HEIGHT):
                break
            position += viewport_height
            await page.evaluate(f"() => window.scrollTo(0, {position})")
            await page.wait_for_timeout(SCROLL_STEP_PAUSE_MS)
        lap("scroll")
        await net.quiet(deadline, hit)
        await page.evaluate("() => window.scrollTo(0, 0)")
        lap("quiet2")
        await page.title()
        clip = None
        if height > MAX_SCREENSHOT_HEIGHT:
            clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": MAX_SCREENSHOT_HEIGHT}
        full = await page.screenshot(full_page=True, clip=clip, timeout=20000,
                                     animations="disabled")
        view = await page.screenshot(timeout=20000, animations="disabled")
        dom = await page.content()
        text = await page.evaluate(VISIBLE_TEXT)
        lap("artifacts")
        out["work_finished"] = time.time()
        out.update(scrolled_to=position, page_height=height, screenshot_bytes=len(full),
                   viewport_bytes=len(view), dom_chars=len(dom), text_chars=len(text))
    except Exception as exc:  # noqa: BLE001 - reported as a failed capture
        out.update(status="failed", error=" ".join(str(exc).split())[:300])
    finally:
        await context.close()
        lap("close")
    out.update(seconds=round(time.monotonic() - start, 3), phases=phases)
    return out


async def bare_run(urls: list[str], concurrency: int, resolver_rules: str) -> None:
    from playwright.async_api import async_playwright

    from crawlers.browser.launch import BASE_ARGS, executable

    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    args = [*BASE_ARGS, f"--host-resolver-rules={resolver_rules}",
            "--ignore-certificate-errors"]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable(""), headless=True,
                                           args=args)

        async def worker() -> None:
            while not queue.empty():
                result = await bare_capture(browser, queue.get_nowait())
                sys.stdout.write(json.dumps(result) + "\n")
                sys.stdout.flush()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        await browser.close()


def bare_args(urls_file: Path, concurrency: int, site: Site) -> list[str]:
    return [sys.executable, __file__, "--bare", "--from", str(urls_file),
            "--concurrency", str(concurrency), "--resolver-rules", site.resolver_rules]


# ---- measuring a process tree over time ----------------------------------------------


@dataclass
class Sample:
    t: float  # seconds since the child started
    done: int  # capture lines seen on its stdout so far
    python_kib: int
    driver_kib: int  # Playwright's node driver
    browser_kib: int  # every Chromium process

    @property
    def total_kib(self) -> int:
        return self.python_kib + self.driver_kib + self.browser_kib


class ProgressSampler(threading.Thread):
    """Every `interval`: the summed RSS of the child's process tree by kind, the CPU
    ticks of every process seen, and how many capture lines the child has printed."""

    def __init__(self, root: int, stdout: Path, interval: float = SAMPLE_SECONDS):
        super().__init__(daemon=True)
        self.root, self.stdout, self.interval = root, stdout, interval
        self.started = time.perf_counter()
        self.samples: list[Sample] = []
        self.cpu_ticks: dict[int, int] = {}
        self.seen: dict[int, tuple[str, int, bytes]] = {}  # pid: kind, parent, start time
        self.done = 0
        self._carry = b""
        self._offset = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.read_progress()

    def read_progress(self) -> None:
        try:
            with open(self.stdout, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return
        self._offset += len(data)
        *lines, self._carry = (self._carry + data).split(b"\n")
        self.done += sum(1 for line in lines if line.startswith(b"{"))

    def sample(self) -> None:
        self.read_progress()
        sizes = {"python": 0, "driver": 0, "browser": 0}
        pending = [(self.root, 0)]
        while pending:
            pid, parent = pending.pop()
            kind = _kind(pid)  # each time: a child seen before its exec has its parent's
            if kind is None:
                continue
            started = self.seen[pid][2] if pid in self.seen else _start_time(pid)
            self.seen[pid] = (kind, parent, started)
            sizes[kind] += _proc_rss_kib(pid)
            ticks = _proc_cpu_ticks(pid)
            if ticks is not None:
                self.cpu_ticks[pid] = ticks
            pending += [(child, pid) for child in _proc_children(pid)]
        self.samples.append(Sample(time.perf_counter() - self.started, self.done,
                                   sizes["python"], sizes["driver"], sizes["browser"]))

    def cpu_seen_s(self) -> float:
        return sum(self.cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")

    def drivers(self) -> int:
        return sum(1 for kind, _, _ in self.seen.values() if kind == "driver")

    def browsers_launched(self) -> int:
        """Chromium main processes: a browser-kind process whose parent is the driver
        (Debian's wrapper script execs into Chromium, keeping the pid)."""
        return sum(1 for kind, parent, _ in self.seen.values() if kind == "browser"
                   and self.seen.get(parent, ("",))[0] == "driver")

    def still_running(self) -> list[int]:
        return [pid for pid, (_, _, started) in list(self.seen.items())
                if started and _start_time(pid) == started and not _zombie(pid)]


def _kind(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
    except OSError:
        return None
    if comm.startswith(("python", "saksi")):
        return "python"
    return "driver" if comm.startswith("node") else "browser"


def _stat_fields(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _start_time(pid: int) -> bytes:
    fields = _stat_fields(pid)
    return fields[19] if len(fields) > 19 else b""


def _zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return not fields or fields[0] in (b"Z", b"X")


@dataclass
class Run:
    """One contender's run: rusage, tree samples, and what its JSON lines said."""

    m: Measured
    concurrency: int
    samples: list[Sample]
    python_peak_mib: float = 0.0
    browser_peak_mib: float = 0.0  # driver + Chromium
    browsers: int = 0
    drivers: int = 0  # Playwright node drivers started
    lines: list[dict[str, Any]] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    truncated: int = 0
    phases: dict[str, float] = field(default_factory=dict)  # bare: median per phase
    marks: list[tuple[float, float]] = field(default_factory=list)  # page work, epoch s
    other_cpu_s: float = 0.0  # CPU the rest of the machine used meanwhile
    span: tuple[float, float] = (0.0, 0.0)  # the child's start and end, epoch s

    @property
    def work_s(self) -> list[float]:
        return [end - begin for begin, end in self.marks]

    @property
    def per_minute(self) -> float:
        return self.m.pages_ok / self.m.wall_s * 60 if self.m.wall_s else 0.0


def run_sampled(tool: str, cmd: list[str], work: Path, timeout: float, concurrency: int,
                env: dict[str, str], site: Site) -> Run:
    """Run one child in its own session; wait4 gives its rusage, a ProgressSampler its
    tree. On timeout or interrupt the group and every process seen in the tree are
    killed; any process of the tree still alive 3 s after the child exited is too."""
    out, err = work / "out.jsonl", work / "err.txt"
    server_before = site.cpu_seconds()
    machine_before = machine_busy_s()
    self_before = time.process_time()
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        start, started_epoch = time.perf_counter(), time.time()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                env=env, cwd=work, start_new_session=True)
        sampler = ProgressSampler(proc.pid, out)
        sampler.start()

        def kill_all() -> None:
            _kill_group(proc.pid)
            for pid in sampler.still_running():
                _kill_pid(pid)

        killer = threading.Timer(timeout, kill_all)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            kill_all()
            proc.wait()
            raise
        finally:
            killer.cancel()
            sampler.stop()
        wall = time.perf_counter() - start
        ended_epoch = time.time()
    proc.returncode = os.waitstatus_to_exitcode(status)
    note = f"killed after {timeout:.0f} s" if wall >= timeout else ""
    deadline = time.monotonic() + 3
    while (left := sampler.still_running()) and time.monotonic() < deadline:
        time.sleep(0.1)
    if left:
        note += f"; {len(left)} process(es) of its tree still running 3 s after it exited"
        for pid in left:
            _kill_pid(pid)
    # Chromium's renderers are often not reaped by a process wait4 reaches: the CPU
    # counted is the larger of wait4's and the sum of every process the sampler saw.
    cpu = max(usage.ru_utime + usage.ru_stime, sampler.cpu_seen_s())
    peak = max(sampler.samples, key=lambda s: s.total_kib, default=Sample(0, 0, 0, 0, 0))
    m = Measured(tool, wall, cpu, usage.ru_maxrss / 1024, proc.returncode, 0.0,
                 tree_rss_mib=peak.total_kib / 1024, processes=len(sampler.seen),
                 note=note.strip("; "))
    m.server_cpu_s = site.cpu_seconds() - server_before
    own = time.process_time() - self_before  # this process: the sampler, mostly
    other = machine_busy_s() - machine_before - cpu - m.server_cpu_s - own
    run = Run(m, concurrency, sampler.samples,
              python_peak_mib=max((s.python_kib for s in sampler.samples), default=0) / 1024,
              browser_peak_mib=max((s.driver_kib + s.browser_kib for s in sampler.samples),
                                   default=0) / 1024,
              browsers=sampler.browsers_launched(), drivers=sampler.drivers(),
              other_cpu_s=max(0.0, other),
              span=(started_epoch, ended_epoch))
    with open(out, encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("{"):
                continue
            capture = json.loads(line)
            run.lines.append(capture)
            run.statuses[capture.get("status", "?")] += 1
            if capture.get("status") != "captured":
                run.errors.append(f"{capture.get('requested_url')}: {capture.get('error')}")
            if capture.get("truncated") or capture.get("budget_hit"):
                run.truncated += 1
    m.pages_ok = run.statuses["captured"]
    if m.returncode != 0 or run.errors:
        run.errors.append(f"exit {m.returncode}; stderr: {tail(err, 8)}")
    return run


def _kill_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# ---- the contenders ------------------------------------------------------------------


def saksi_env(work: Path, site: Site, concurrency: int) -> dict[str, str]:
    home = work / "home"  # no user saksi.toml or keys: the default configuration
    home.mkdir(exist_ok=True)
    return clean_env(SAKSI_DATA_DIR=str(work / "data"), SAKSI_ALLOW_ADDRESSES="127.0.0.1/32",
                     SAKSI_EXTRA_CA=site.ca_pem_path, SAKSI_HOST_MAP=site.host_map,
                     SAKSI_BROWSER__CONCURRENCY=str(concurrency),
                     SAKSI_LIMITS__MAX_CAPTURE_SECONDS=str(BUDGET_SECONDS),
                     XDG_CONFIG_HOME=str(home))


def run_tool(tool: str, posts: int, concurrency: int, site: Site, work: Path) -> Run:
    run_dir = Path(tempfile.mkdtemp(prefix=f"{tool}-{posts}-c{concurrency}-", dir=work))
    urls_file = run_dir / "urls.txt"
    urls_file.write_text("".join(site.post_url(n) + "\n" for n in range(1, posts + 1)))
    timeout = 180 + posts * (BUDGET_SECONDS + 25) / concurrency
    if tool == "saksi":
        cmd = [str(SAKSI), "capture", "--from", str(urls_file), "--mode", "browser",
               "--json", "--case", "BENCH"]
        run = run_sampled("saksi", cmd, run_dir, timeout, concurrency,
                          saksi_env(run_dir, site, concurrency), site)
        run.m.output_mib = tree_bytes(run_dir / "data") / MiB if (run_dir / "data").exists() \
            else 0.0
        run.marks = saksi_page_marks(run, run_dir / "data")
    else:
        run = run_sampled("bare playwright", bare_args(urls_file, concurrency, site), run_dir,
                          timeout, concurrency, clean_env(), site)
        run.marks = [(c["work_started"], c["work_finished"]) for c in run.lines
                     if "work_finished" in c]
        names = dict.fromkeys(p for c in run.lines for p in c.get("phases", {}))
        run.phases = {name: statistics.median(c["phases"].get(name, 0.0) for c in run.lines)
                      for name in names}
    shutil.rmtree(run_dir, ignore_errors=True)
    return run


def saksi_page_marks(run: Run, data: Path) -> list[tuple[float, float]]:
    """Per capture: page info's started_at (recorder attached, before navigation) and
    finished_at (after the artifacts): Saksi's page work, without sealing."""
    marks = []
    for capture in run.lines:
        for artifact in capture.get("artifacts") or []:
            if artifact.get("kind") != "page-info":
                continue
            try:
                info = json.loads((data / artifact["key"]).read_text(encoding="utf-8"))
                began = datetime.fromisoformat(info["started_at"].replace("Z", "+00:00"))
                ended = datetime.fromisoformat(info["finished_at"].replace("Z", "+00:00"))
            except (OSError, KeyError, ValueError):
                continue
            marks.append((began.timestamp(), ended.timestamp()))
    return marks


def time_split(run: Run) -> str:
    """Where the wall time went: before the first page, page work, between pages (at
    concurrency 1), after the last page (sealing the last capture, shutting down)."""
    if not run.marks:
        return f"{run.m.tool} (concurrency {run.concurrency}): no page timings"
    marks = sorted(run.marks)
    work = [end - begin for begin, end in marks]
    text = (f"{run.m.tool} (concurrency {run.concurrency}): first page began "
            f"{marks[0][0] - run.span[0]:.1f} s after start; page work median "
            f"{statistics.median(work):.2f} s (sum {sum(work):.0f} s)")
    if run.concurrency == 1 and len(marks) > 1:
        gaps = [b[0] - a[1] for a, b in zip(marks, marks[1:], strict=False)]
        text += f"; between pages median {statistics.median(gaps):.2f} s"
    last = max(end for _, end in marks)
    return text + f"; exit {run.span[1] - last:.1f} s after the last page's artifacts"


# ---- report --------------------------------------------------------------------------


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "n/a"


def speed_table(posts: int, runs: list[Run]) -> str:
    levels = ", ".join(str(c) for c in sorted({r.concurrency for r in runs}))
    rows = [f"#### {posts} posts, concurrency {levels}",
            "",
            "| tool | concurrency | captures ok | wall s | captures/min | CPU s "
            "| tree RSS MiB | Python MiB | node + Chromium MiB | processes "
            "| median page work s | output MiB | server CPU s | other CPU s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        m = r.m
        output = f"{m.output_mib:.1f}" if m.output_mib else "none"
        rows.append(f"| {m.tool} | {r.concurrency} | {m.pages_ok} of {posts} | {m.wall_s:.1f} "
                    f"| {r.per_minute:.1f} | {m.cpu_s:.1f} | {m.tree_rss_mib:.0f} "
                    f"| {r.python_peak_mib:.0f} | {r.browser_peak_mib:.0f} "
                    f"| {m.processes} ({r.drivers} node) "
                    f"| {median(r.work_s)} | {output} | {m.server_cpu_s:.1f} "
                    f"| {r.other_cpu_s:.1f} |")
    rows.append("")
    for c in sorted({r.concurrency for r in runs}):
        saksi = next((r for r in runs if r.concurrency == c and r.m.tool == "saksi"), None)
        bare = next((r for r in runs if r.concurrency == c and r.m.tool != "saksi"), None)
        if not (saksi and bare):
            continue
        ratio = saksi.m.wall_s / bare.m.wall_s
        complete = saksi.m.pages_ok == bare.m.pages_ok == posts
        judged = verdict(ratio <= SAKSI_VS_BARE_MAX) if complete else "n/a: captures failed"
        rows.append(f"- concurrency {c}: saksi wall / bare Playwright wall = **{ratio:.2f}** "
                    f"(target ≤ {SAKSI_VS_BARE_MAX}: {judged}); CPU ratio "
                    f"{saksi.m.cpu_s / bare.m.cpu_s:.2f}")
    rows += notes(runs)
    rows += [f"- time split, {time_split(r)}" for r in runs]
    bare_runs = [r for r in runs if r.phases]
    if bare_runs:
        r = bare_runs[0]
        rows.append(f"- bare Playwright per capture at concurrency {r.concurrency}, median s: "
                    + ", ".join(f"{k} {v:.2f}" for k, v in r.phases.items()))
    return "\n".join(rows) + "\n"


def notes(runs: list[Run]) -> list[str]:
    rows = []
    for r in runs:
        label = f"{r.m.tool} (concurrency {r.concurrency})"
        if r.errors:
            rows.append(f"- {label}: statuses {dict(r.statuses)}; "
                        + " | ".join(e[:300] for e in r.errors[:4]))
        if r.truncated:
            rows.append(f"- {label}: {r.truncated} capture(s) hit the {BUDGET_SECONDS} s budget")
        if r.m.note:
            rows.append(f"- {label}: {r.m.note}")
    return rows


@dataclass
class Window:
    first: int
    last: int
    samples: list[Sample]

    def peak(self, part: str = "total_kib") -> float:
        return max((getattr(s, part) for s in self.samples), default=0) / 1024


def windows(run: Run) -> tuple[Window, Window, int]:
    """Samples while captures [0, w) were being made, and while the last w were."""
    total = len(run.lines)
    w = min(WINDOW, max(1, total // 2))
    first = Window(1, w, [s for s in run.samples if s.done < w])
    last = Window(total - w + 1, total,
                  [s for s in run.samples if total - w <= s.done < total])
    return first, last, w


def memory_table(runs: list[Run], long: int) -> str:
    rows = [f"#### Memory over {long} consecutive captures, concurrency "
            f"{runs[0].concurrency}",
            "",
            "| tool | captures ok | wall s | captures/min | browsers launched "
            "| peak tree RSS MiB, first | last | growth | Python MiB, first → last "
            "| node + Chromium MiB, first → last | samples first / last |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines = []
    for r in runs:
        first, last, w = windows(r)
        growth = (last.peak() / first.peak() - 1) * 100 if first.peak() else float("nan")
        browser = (first.peak("driver_kib") + first.peak("browser_kib"),
                   last.peak("driver_kib") + last.peak("browser_kib"))
        rows.append(f"| {r.m.tool} | {r.m.pages_ok} of {long} | {r.m.wall_s:.1f} "
                    f"| {r.per_minute:.1f} | {r.browsers} | {first.peak():.0f} "
                    f"| {last.peak():.0f} | {growth:+.1f}% "
                    f"| {first.peak('python_kib'):.0f} → {last.peak('python_kib'):.0f} "
                    f"| {browser[0]:.0f} → {browser[1]:.0f} "
                    f"| {len(first.samples)} / {len(last.samples)} |")
        complete = r.m.pages_ok == long
        if r.m.tool == "saksi":
            judged = verdict(growth < RSS_GROWTH_MAX) if complete else "n/a: captures failed"
            lines.append(f"- saksi: peak tree RSS during captures {first.first}–{first.last} "
                         f"{first.peak():.0f} MiB, during {last.first}–{last.last} "
                         f"{last.peak():.0f} MiB: growth **{growth:+.1f}%** "
                         f"(target < {RSS_GROWTH_MAX:g}%: {judged})")
        lines.append(f"- {r.m.tool}: peak over the whole run {r.m.tree_rss_mib:.0f} MiB; "
                     f"CPU {r.m.cpu_s:.1f} s; server CPU {r.m.server_cpu_s:.1f} s; other CPU "
                     f"on the machine {r.other_cpu_s:.1f} s; time split, {time_split(r)}")
    rows.append("")
    rows += lines + notes(runs)
    rows.append("- the first window includes start-up (Python imports, the first Chromium "
                "launch); windows are cut at the moment the capture's JSON line arrived. "
                "Saksi restarts Chromium every `browser.recycle_after` (50) captures, so its "
                "two windows are two different browsers"
                + ("; bare Playwright keeps one." if len(runs) > 1 else "."))
    rows.append("- tree RSS sums VmRSS over every process, so pages shared between Chromium's "
                "processes (the binary, fonts, shared memory) count once per process.")
    return "\n".join(rows) + "\n"


def profile_lines(run: Run) -> list[str]:
    """A coarse timeline of the long run's tree RSS: the peak per tenth of the captures."""
    total = len(run.lines)
    if not total:
        return []
    step = max(1, -(-total // 10))
    cells = []
    for lo in range(0, total, step):
        peak = max((s.total_kib for s in run.samples if lo <= s.done < lo + step), default=0)
        cells.append(f"{lo + 1}–{min(lo + step, total)}: {peak / 1024:.0f}")
    return [f"- {run.m.tool} peak tree RSS MiB by captures done: " + ", ".join(cells)]


# ---- main ----------------------------------------------------------------------------


def versions() -> dict[str, str]:
    from crawlers.browser.launch import executable

    found = package_versions(("saksi", "playwright", "scrapy-playwright", "scrapy"))
    found["chromium"] = tool_version(
        [executable("") or "chromium", "--version"],
        lambda line: line.split(" built on ")[0].removeprefix("Chromium ").strip())
    return found


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--concurrency", default=[1, 2],
                        type=lambda s: [int(x) for x in s.split(",") if x.strip()],
                        help="comma-separated (default 1,2); also --bare's worker count")
    parser.add_argument("--long", type=int, default=300, help="captures in the memory run")
    parser.add_argument("--long-concurrency", type=int, default=2)
    parser.add_argument("--skip-long", action="store_true", help="no memory run")
    parser.add_argument("--long-bare", action="store_true",
                        help="the memory run for bare Playwright too (as long again)")
    parser.add_argument("--no-record", action="store_true",
                        help="print only; do not append to RESULTS.md")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--from", dest="from_file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--resolver-rules", default="", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.serve:
        return serve()
    if args.bare:
        urls = args.from_file.read_text(encoding="utf-8").split()
        asyncio.run(bare_run(urls, args.concurrency[0], args.resolver_rules))
        return 0
    from crawlers.browser.launch import BASE_ARGS

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python benchmarks/browser_capture.py " + " ".join(sys.argv[1:])
    header = [f"## browser_capture, {when}", "",
              f"- command: `{command.strip()}`",
              f"- machine: {machine()}; load average at start {load_average()}",
              f"- source: {source_state()}",
              "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
              f"- targets: saksi wall / bare Playwright wall ≤ {SAKSI_VS_BARE_MAX} at each "
              f"concurrency; peak tree RSS growth < {RSS_GROWTH_MAX:g}% from the first "
              f"{WINDOW} to the last {WINDOW} of {args.long} captures"]
    progress("\n".join(header))
    intro = (
        "Site: the tests' fixture social post (`tests/fixtures/social_site.py`: HTML shell, "
        "XHR-rendered post, ranged autoplay video, iframe with its own XHR, three lazy "
        "images, two sub-resources that must be refused), HTTPS on 127.0.0.1, served from "
        "a separate process (its CPU is the server CPU column, counted against neither "
        "tool); post n is `/@warga/post/n`, every URL distinct. "
        f"Saksi: `saksi capture --from FILE --mode browser --json` with "
        f"`SAKSI_BROWSER__CONCURRENCY`, a {BUDGET_SECONDS} s capture budget, a fresh data "
        "dir per run, default settings otherwise (egress proxy, CDP recording, artifacts, "
        "WARC, WACZ, sealing). Bare Playwright: one async Python process, one Chromium "
        "(`/usr/bin/chromium`, Saksi's own flags without the proxy, plus "
        "`--host-resolver-rules` and `--ignore-certificate-errors`), a fresh 1280x900 "
        "context per post doing Saksi's page work (goto commit, load, 800 ms network "
        "quiet, play media, 900 px scroll steps with 150 ms pauses, quiet, top, full-page "
        "+ viewport screenshots, DOM, innerText), keeping nothing. Wall time includes "
        "start-up (Python, Playwright, Chromium launch). CPU s is user + sys of the tool: "
        "the larger of wait4's (which misses Chromium processes nobody reaps) and the sum "
        "over every process the sampler saw. Other CPU s is what the rest of the machine "
        "used meanwhile (/proc/stat less the tool, the server and the benchmark itself): "
        "near 0 when nothing else ran. Tree RSS is the peak of the summed RSS of all the "
        "tool's processes (Python, Playwright's node driver, Chromium), sampled every "
        f"{SAMPLE_SECONDS * 1000:.0f} ms. Median page work: per capture, from the page "
        "made (before goto; Saksi: page info started_at, recorder attached) to the "
        "artifacts taken (Saksi: finished_at), so context set-up, context close and "
        "Saksi's sealing are outside it. "
        f"Chromium flags: `{' '.join(BASE_ARGS)}`.\n")
    sections = [intro]
    print(intro, flush=True)
    with tempfile.TemporaryDirectory(prefix="saksi-bench-browser-") as tmp:
        work = Path(tmp)
        with site_server() as site:
            progress("warm-up: 2 posts with each tool (not measured) ...")
            for tool in ("bare", "saksi"):
                warm = run_tool(tool, 2, 1, site, work)
                if warm.m.pages_ok != 2:
                    progress(f"warm-up {tool} failed: {warm.errors}")
                    sections.append(f"- warm-up (2 posts, not measured): {tool} captured "
                                    f"{warm.m.pages_ok} of 2: " + " | ".join(warm.errors)
                                    + "\n")
            runs = []
            for c in args.concurrency:
                for tool in ("bare", "saksi"):
                    progress(f"[c={c}] {tool}: {args.posts} posts ...")
                    r = run_tool(tool, args.posts, c, site, work)
                    progress(f"[c={c}] {tool}: {r.m.pages_ok} ok, {r.m.wall_s:.1f} s wall, "
                             f"{r.m.cpu_s:.1f} s CPU, tree {r.m.tree_rss_mib:.0f} MiB"
                             + (f"; errors: {r.errors[:3]}" if r.errors else ""))
                    runs.append(r)
            sections.append(speed_table(args.posts, runs))
            print(sections[-1], flush=True)
            if not args.skip_long:
                long_runs = []
                for tool in ("saksi", "bare"):
                    if tool == "bare" and not args.long_bare:
                        continue
                    progress(f"[memory] {tool}: {args.long} posts at concurrency "
                             f"{args.long_concurrency} ...")
                    r = run_tool(tool, args.long, args.long_concurrency, site, work)
                    progress(f"[memory] {tool}: {r.m.pages_ok} ok, {r.m.wall_s:.1f} s wall, "
                             f"tree {r.m.tree_rss_mib:.0f} MiB"
                             + (f"; errors: {r.errors[:3]}" if r.errors else ""))
                    long_runs.append(r)
                table = memory_table(long_runs, args.long)
                table += "\n".join(line for r in long_runs for line in profile_lines(r)) + "\n"
                sections.append(table)
                print(sections[-1], flush=True)
        served = site.final
        if served.get("error_count") or "stop" in served:
            sections.append(f"- fixture site: {served}\n")
        else:
            sections.append(f"- fixture site: {served.get('requests', '?')} requests served, "
                            "no server-side errors\n")
        print(sections[-1], flush=True)
    if not args.no_record:
        record(sections, header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
