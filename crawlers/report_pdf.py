"""The bundle's report as PDF: the HTML report printed by the same Chromium that captures.

Here, beside the browser it drives, and handed to the bundle writer (archivers) by the
command line, since archivers do not start browsers.

A court clerk files PDFs, not web pages. Printing the HTML report (rather than laying out
a second document with a PDF library) keeps one source for both, in either language.
The page is opened from a private temporary directory holding the report and the
screenshots it shows, each copied out of the store and re-hashed; the browser gets no
network at all (every non-file request is aborted, and its proxy leads nowhere), so the
report cannot fetch anything a captured URL names.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .browser.launch import BASE_ARGS, executable

# A proxy on the discard port of loopback: a request that slipped past the route below
# would fail there rather than reach the network.
NOWHERE = "http://127.0.0.1:9"


class ReportPdfError(RuntimeError):
    """The PDF could not be printed (no browser, or it failed)."""


def print_report(html: str, images: Iterable[tuple[str, Any]], out: Path,
                 browser_settings: Any, timeout_s: float = 120) -> None:
    """Write `out` (PDF) from the report `html`; `images` are (relative path in the
    report, copy(dest) callable that writes and re-hashes the file) pairs."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="saksi-report-") as tmp:
        root = Path(tmp)
        for relative, copy in images:
            dest = root / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            copy(dest)
        page_file = root / "report.html"
        page_file.write_text(html, encoding="utf-8")
        options: dict[str, Any] = {"headless": True, "args": list(BASE_ARGS),
                                   "proxy": {"server": NOWHERE, "bypass": "<-loopback>"}}
        path = executable(browser_settings.executable)
        if path:
            options["executable_path"] = path
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(**options)
                try:
                    context = browser.new_context(java_script_enabled=False,
                                                  service_workers="block")
                    context.route("**/*", lambda route: route.continue_()
                                  if route.request.url.startswith("file:")
                                  else route.abort())
                    page = context.new_page()
                    page.goto(page_file.as_uri(), wait_until="load",
                              timeout=timeout_s * 1000)
                    page.pdf(path=str(out), format="A4", print_background=True,
                             margin={"top": "15mm", "bottom": "15mm", "left": "12mm",
                                     "right": "12mm"},
                             display_header_footer=True, header_template="<span></span>",
                             footer_template="<div style='font-size:8px;width:100%;"
                             "text-align:center'><span class='pageNumber'></span> / "
                             "<span class='totalPages'></span></div>")
                finally:
                    browser.close()
        except PlaywrightError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise ReportPdfError(f"could not print the report as PDF: {first}") from exc
