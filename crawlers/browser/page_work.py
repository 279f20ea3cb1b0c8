"""What the browser does with a page once it is open: settle, scroll, play, and keep
what a person saw (screenshots, rendered DOM, visible text, page info).

Every step is bounded by the capture's time budget; running out is written into page
info and the capture is still sealed with what was recorded.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archivers.exchange import PageArtifact
from storage.records import utcnow

from .recorder import BrowserRecorder, CaptureBudget

ARTIFACT_GRACE_SECONDS = 20.0  # artifacts are taken even after the budget ran out
MAX_SCREENSHOT_HEIGHT = 16000  # Chromium cannot paint taller images in one piece
SCROLL_STEP_PAUSE_MS = 150

PLAY_MEDIA = """() => { let n = 0;
  for (const m of document.querySelectorAll('video, audio')) {
    m.muted = true; n += 1; const p = m.play(); if (p) p.catch(() => {}); }
  return n; }"""
VISIBLE_TEXT = "() => document.body ? document.body.innerText : ''"
PAGE_HEIGHT = "() => Math.max(document.body ? document.body.scrollHeight : 0, " \
              "document.documentElement ? document.documentElement.scrollHeight : 0)"


@dataclass
class PageResult:
    title: str = ""
    text: str = ""
    final_url: str = ""
    artifacts: list[PageArtifact] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


async def settle(page: Any, recorder: BrowserRecorder, budget: CaptureBudget,
                 quiet_ms: int, steps: list[str]) -> None:
    """Wait for the load event, then for no request in flight for `quiet_ms`."""
    try:
        await page.wait_for_load_state("load", timeout=max(budget.remaining(), 0.1) * 1000)
        steps.append("load event")
    except Exception:  # noqa: BLE001 - a page that never finishes loading
        budget.note("time: the page never finished loading (limits.max_capture_seconds)")
        return
    await _network_quiet(recorder, budget, quiet_ms / 1000, steps)


async def _network_quiet(recorder: BrowserRecorder, budget: CaptureBudget, quiet: float,
                         steps: list[str]) -> None:
    while budget.remaining() > 0:
        idle = time.monotonic() - recorder.last_activity
        if recorder.inflight == 0 and idle >= quiet:
            steps.append("network quiet")
            return
        if idle >= quiet:
            recorder.reassign_finished_elsewhere()
        await asyncio.sleep(min(0.05, max(budget.remaining(), 0)))
    budget.note("time: the network never went quiet (limits.max_capture_seconds)")


async def scroll_and_play(page: Any, recorder: BrowserRecorder, budget: CaptureBudget,
                          max_height: int, quiet_ms: int, steps: list[str]) -> dict[str, Any]:
    """Scroll down a viewport at a time so lazy content loads, then back to the top;
    start every video and audio element so their first segments load."""
    done: dict[str, Any] = {"scrolled_to": 0, "page_height": 0, "media_started": 0}
    try:
        done["media_started"] = await page.evaluate(PLAY_MEDIA)
        viewport = page.viewport_size or {"height": 900}
        position = 0
        while budget.remaining() > 0:
            height = await page.evaluate(PAGE_HEIGHT)
            done["page_height"] = height
            if position + viewport["height"] >= min(height, max_height):
                break
            position += viewport["height"]
            await page.evaluate(f"() => window.scrollTo(0, {position})")
            await page.wait_for_timeout(SCROLL_STEP_PAUSE_MS)
        done["scrolled_to"] = position
        if done["page_height"] > max_height:
            budget.note(f"height: stopped scrolling at {max_height}px of "
                        f"{done['page_height']}px (browser.max_scroll_height)")
        steps.append(f"scrolled to {position}px")
        await _network_quiet(recorder, budget, quiet_ms / 1000, steps)
        await page.evaluate("() => window.scrollTo(0, 0)")
    except Exception as exc:  # noqa: BLE001 - the page navigated or closed meanwhile
        steps.append(f"scrolling stopped: {' '.join(str(exc).split())[:200]}")
    return done


async def take_artifacts(page: Any, work_dir: Path, result: PageResult,
                         full_page_height: int) -> None:
    """Screenshots, DOM and visible text: written to the capture's work folder and
    hashed there; the sealer copies them into the store and checks the hashes again."""
    timeout = ARTIFACT_GRACE_SECONDS * 1000
    url = page.url
    result.final_url = url
    jobs = []
    try:
        result.title = await page.title()
    except Exception:  # noqa: BLE001
        result.title = ""
    clip = None
    if full_page_height > MAX_SCREENSHOT_HEIGHT:
        width = (page.viewport_size or {"width": 1280})["width"]
        clip = {"x": 0, "y": 0, "width": width, "height": MAX_SCREENSHOT_HEIGHT}
        result.info.setdefault("notes", []).append(
            f"full-page screenshot cut at {MAX_SCREENSHOT_HEIGHT}px of {full_page_height}px")
    jobs.append(("screenshot", "screenshot.png", "image/png",
                 lambda: page.screenshot(full_page=True, clip=clip, timeout=timeout,
                                         animations="disabled")))
    jobs.append(("screenshot-viewport", "screenshot-viewport.png", "image/png",
                 lambda: page.screenshot(timeout=timeout, animations="disabled")))
    jobs.append(("dom", "dom.html", "text/html; charset=utf-8",
                 lambda: _text_bytes(page.content())))
    jobs.append(("text", "text.txt", "text/plain; charset=utf-8",
                 lambda: _text_bytes(page.evaluate(VISIBLE_TEXT))))
    for kind, name, media_type, make in jobs:
        try:
            data = await asyncio.wait_for(make(), ARTIFACT_GRACE_SECONDS)
        except Exception as exc:  # noqa: BLE001 - say what is missing, keep the rest
            result.info.setdefault("missing_artifacts", []).append(
                {"kind": kind, "reason": " ".join(str(exc).split())[:300]})
            continue
        if kind == "text":
            result.text = data.decode("utf-8")
        result.artifacts.append(write_artifact(work_dir, kind, name, media_type, data, url))


def page_info_artifact(work_dir: Path, result: PageResult, url: str) -> PageArtifact:
    data = json.dumps(result.info, indent=2, ensure_ascii=False).encode("utf-8")
    return write_artifact(work_dir, "page-info", "page-info.json", "application/json", data,
                          url)


def write_artifact(work_dir: Path, kind: str, name: str, media_type: str, data: bytes,
                   url: str) -> PageArtifact:
    path = work_dir / name
    with open(path, "wb") as f:
        f.write(data)
    return PageArtifact(kind=kind, path=path, name=name, media_type=media_type,
                        sha256=hashlib.sha256(data).hexdigest(), bytes=len(data),
                        page_url=url, made_at=utcnow())


async def _text_bytes(awaitable: Any) -> bytes:
    return str(await awaitable).encode("utf-8", "surrogatepass")

