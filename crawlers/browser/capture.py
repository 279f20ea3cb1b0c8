"""One browser capture inside the Scrapy crawl: recorder attached before navigation,
then settle, scroll, play and keep the page's artifacts, all within the budget.

scrapy-playwright opens the page (a fresh context per capture) and navigates; these
hooks run in its page-init callback and in the spider callback, so the browser's work
stays inside the crawl's concurrency (`browser.concurrency` contexts at once).
"""

from __future__ import annotations

import time
from typing import Any

from storage.records import iso, utcnow

from .page_work import (
    PageResult,
    page_info_artifact,
    scroll_and_play,
    settle,
    take_artifacts,
)
from .recorder import BrowserRecorder, CaptureBudget


async def attach_recorder(session: Any, capture_id: str, page: Any) -> None:
    """Before navigation: the capture's budget starts now, and so does recording."""
    active = session.active.get(capture_id)
    if active is None:
        return
    limits = session.settings.limits
    active.deadline = time.monotonic() + limits.max_capture_seconds
    budget = CaptureBudget(limits.max_response_bytes, limits.max_capture_bytes,
                           active.deadline)
    recorder = BrowserRecorder(active.work_dir, budget, session.address_of,
                               session.refusal_of)
    await recorder.attach(page)
    active.recorder = recorder
    browser = page.context.browser
    if browser is not session.last_browser:
        session.last_browser = browser
        session.browser_launches += 1
    active.page = PageResult(info={
        "requested_url": active.url, "started_at": iso(utcnow()),
        "browser": {"name": browser.browser_type.name if browser else "chromium",
                    "version": browser.version if browser else None,
                    # which browser process of this run (restarted every
                    # browser.recycle_after captures)
                    "instance": session.browser_launches},
        "viewport": page.viewport_size,
    })


async def browse(session: Any, capture_id: str, page: Any, status: int | None) -> None:
    """After navigation committed: behaviours, then artifacts (even when out of time)."""
    active = session.active.get(capture_id)
    if active is None or active.recorder is None:
        why = f": {active.attach_error}" if active is not None and active.attach_error else ""
        raise RuntimeError("the browser recorder could not attach to the page" + why)
    browser = session.settings.browser
    recorder, result = active.recorder, active.page
    budget = recorder.budget
    steps: list[str] = []
    await settle(page, recorder, budget, browser.network_quiet_ms, steps)
    behaviour = await scroll_and_play(page, recorder, budget, browser.max_scroll_height,
                                      browser.network_quiet_ms, steps)
    try:
        result.info["browser"]["user_agent"] = await page.evaluate("() => navigator.userAgent")
    except Exception:  # noqa: BLE001 - the page is gone; the request records still say it
        pass
    await take_artifacts(page, active.work_dir, result, behaviour.get("page_height", 0))
    await recorder.record_other_targets()
    await recorder.collect_certificates()
    finish_page_info(active, status, steps, behaviour)


def finish_page_info(active: Any, status: int | None, steps: list[str] | None = None,
                     behaviour: dict[str, Any] | None = None) -> None:
    """Page info is written last: it lists every request, including late ones."""
    result, recorder = active.page, active.recorder
    if result is None or recorder is None:
        return
    recorder.close()
    info = result.info
    requests = [r.to_json() for r in recorder.requests]
    info.update({
        "final_url": result.final_url or None,
        "title": result.title,
        "http_status": status,
        "finished_at": iso(utcnow()),
        "behaviour": {"steps": steps or [], **(behaviour or {})},
        "budget_hit": recorder.budget.hit,
        "recorded_bytes": recorder.budget.used_bytes,
        "resources": requests,
        "blocked": [r for r in requests if r["outcome"] == "blocked"],
        "failed": [r for r in requests if r["outcome"] in ("failed", "unfinished")],
    })
    result.artifacts.append(page_info_artifact(active.work_dir, result,
                                               result.final_url or active.url))
