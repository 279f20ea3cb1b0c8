"""`saksi replay`: show a capture as it was archived, with ReplayWeb.page on loopback.

The capture's WACZ is copied out of the store (re-hashed on the way), then served beside
ReplayWeb.page's `ui.js` and service worker from one loopback origin. Nothing reaches the
live site: the player reads only the WACZ, through HTTP range requests.
"""

from __future__ import annotations

import html
import http.server
import shutil
import tempfile
import threading
from pathlib import Path

from storage.objects import copy_verified
from storage.records import Capture

DEFAULT_ASSETS = Path(__file__).resolve().parent.parent / ".saksi-tools" / "replaywebpage"
TYPES = {".html": "text/html; charset=utf-8", ".js": "application/javascript",
         ".wacz": "application/wacz"}


PLAYER_FRAME = """<!doctype html>
<html><head><script src="./ui.js"></script></head>
<body><replay-app-main></replay-app-main></body></html>
"""


class ReplayUnavailable(Exception):
    """ReplayWeb.page is not installed, or the capture has no WACZ."""


def replay_page(url: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Saksi replay</title>
<script src="/ui.js"></script></head>
<body style="margin:0">
<replay-web-page style="display:block;height:100vh" source="/capture.wacz"
 url="{html.escape(url, quote=True)}" replayBase="/replay/" embed="replayonly">
</replay-web-page>
</body></html>
"""


def prepare(store, capture: Capture, assets: Path = DEFAULT_ASSETS) -> Path:
    """A folder to serve: the player, its service worker and a verified copy of the WACZ."""
    ui, sw = assets / "ui.js", assets / "sw.js"
    if not (ui.is_file() and sw.is_file()):
        raise ReplayUnavailable(f"ReplayWeb.page is not installed in {assets}: run make setup")
    wacz = next((a for a in capture.artifacts if a.kind == "wacz"), None)
    if wacz is None:
        raise ReplayUnavailable(f"capture {capture.id} has no WACZ to replay")
    root = Path(tempfile.mkdtemp(prefix="saksi-replay-"))
    (root / "replay").mkdir()
    shutil.copyfile(ui, root / "ui.js")
    shutil.copyfile(ui, root / "replay" / "ui.js")  # the player's frame loads it from there
    shutil.copyfile(sw, root / "replay" / "sw.js")
    # The service worker serves this page itself once it is active; the copy on disk
    # answers the player's first frame when Chromium asks the server before the worker
    # has taken control, which otherwise leaves an empty frame (seen on a cold start).
    (root / "replay" / "index.html").write_text(PLAYER_FRAME, encoding="utf-8")
    copy_verified(store, wacz.key, wacz.sha256, root / "capture.wacz")
    url = capture.canonical_url or capture.requested_url
    (root / "index.html").write_text(replay_page(url), encoding="utf-8")
    return root


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with byte ranges (the player reads the WACZ in ranges)."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def guess_type(self, path: str) -> str:
        return TYPES.get(Path(path).suffix, "application/octet-stream")

    def send_head(self):  # type: ignore[override]
        path = Path(self.translate_path(self.path))
        spec = self.headers.get("Range")
        if not spec or not path.is_file() or not spec.startswith("bytes="):
            return super().send_head()
        size = path.stat().st_size
        first_text, _, last_text = spec[6:].split(",")[0].partition("-")
        if first_text:
            first = int(first_text)
            last = min(int(last_text), size - 1) if last_text else size - 1
        else:
            first, last = max(0, size - int(last_text)), size - 1
        if first >= size or first > last:
            self.send_error(416)
            return None
        f = open(path, "rb")
        f.seek(first)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(last - first + 1))
        self.end_headers()
        return _Limited(f, last - first + 1)

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class _Limited:
    """A file object that yields at most `left` bytes (one range)."""

    def __init__(self, f, left: int):
        self.f, self.left = f, left

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        size = self.left if size < 0 else min(size, self.left)
        data = self.f.read(size)
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.f.close()


class ReplayServer:
    """Serves a prepared folder on 127.0.0.1 in a background thread."""

    def __init__(self, root: Path, port: int = 0):
        handler = lambda *a, **k: _RangeHandler(*a, directory=str(root), **k)  # noqa: E731
        self.root = root
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self) -> ReplayServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        shutil.rmtree(self.root, ignore_errors=True)


__all__ = ["ReplayServer", "ReplayUnavailable", "prepare"]
