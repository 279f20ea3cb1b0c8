"""Item pipeline: a finished capture goes to the session's sealer."""

from __future__ import annotations

from typing import Any


class SealPipeline:
    """Receives `CaptureDone` items from the capture spider and hands them on for
    sealing. Sealing itself runs on the session's sealer thread, off the crawl."""

    def process_item(self, item: dict[str, Any], spider: Any = None) -> dict[str, Any]:
        if item.get("type") == "capture_done":
            session = item["session"]
            session.complete(item["capture_id"], error=item.get("error"))
        return item
