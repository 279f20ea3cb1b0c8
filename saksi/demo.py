"""`saksi demo`: capture a bundled sample news page and hoax post, offline.

The pages are served on loopback under realistic host names through the host map; the
loopback address is allowed for this run only, as an explicit setting, never by
weakening the address rule for anything else.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

from rich.console import Console

from archivers.evidence import Evidence
from config import load_settings
from crawlers.session import recover_interrupted, register_captures
from saksi.runner import run_capture_crawl

PAGES = Path(__file__).with_name("demo")
console = Console(highlight=False, soft_wrap=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def run_demo() -> int:
    handler = functools.partial(_QuietHandler, directory=str(PAGES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings = load_settings()
        settings.network.allow_addresses = [*settings.network.allow_addresses, "127.0.0.1/32"]
        settings.network.host_map = {
            **settings.network.host_map,
            "berita-contoh.example": f"127.0.0.1:{port}",
            "kabar-kilat.example": f"127.0.0.1:{port}",
        }
        urls = ["http://berita-contoh.example/artikel.html?id=7",
                "http://kabar-kilat.example/hoaks.html?utm_source=wa"]
        evidence = Evidence.open(settings)
        try:
            recover_interrupted(evidence)
            mode = settings.capture.default_mode
            captures = register_captures(evidence, urls, "DEMO", "demo capture", mode)
            results = run_capture_crawl(evidence, captures, mode=mode)
        finally:
            evidence.close()
    finally:
        server.shutdown()
    failed = 0
    for c in results:
        colour = "green" if c.status == "captured" else "red"
        console.print(f"[{colour}]{c.status}[/] {c.id} {c.requested_url}")
        failed += c.status != "captured"
    console.print(f"\nData in {settings.data_dir}. Next: saksi show ID, saksi verify --all, "
                  "saksi get ID --out DIR")
    return 1 if failed else 0
