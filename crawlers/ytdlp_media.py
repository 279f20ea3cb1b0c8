"""A post's video through yt-dlp, when the page did not give it whole and its URL alone
does not (signed CDN links, cookies set by the page, stream formats).

yt-dlp is embedded as a library, but none of its own HTTP clients is used: every request
it makes goes through `RecordingRH`, which hands it to Saksi's wire recorder behind the
egress guard, so each exchange (the page it re-reads, the video it downloads) lands in
the capture's WARC like any other, refused addresses stay refused, and the capture's
byte and time budget applies. What yt-dlp writes to disk is thrown away: the evidence is
the recorded response, from which the `media` artifact is made when sealing.
"""

from __future__ import annotations

import io
import tempfile
import urllib.request
from collections.abc import Callable
from email.message import Message
from typing import Any
from urllib.parse import urljoin

from archivers.bodies import UndecodableBody, body_reader, spooled_headers
from archivers.exchange import Exchange

YTDLP_NOTE = "fetched by yt-dlp for the post's video (Saksi's recorder, egress guard)"
REDIRECTS = (301, 302, 303, 307, 308)
MAX_HOPS = 10
# One file with both audio and video: no merging step (which would need ffmpeg and
# would make a file that no recorded response holds).
FORMAT = "best[vcodec!=none][acodec!=none]/best"

Fetch = Callable[[str, list[tuple[bytes, bytes]]], Exchange]


def download_video(page_url: str, fetch: Fetch, max_bytes: int) -> str | None:
    """Let yt-dlp find and download the post's video through `fetch`; None when done,
    else one line saying why not (the page capture stands either way)."""
    from yt_dlp import YoutubeDL
    from yt_dlp.utils import DownloadError

    with tempfile.TemporaryDirectory(prefix="saksi-ytdlp-") as tmp:
        options = {"quiet": True, "no_warnings": True, "noprogress": True,
                   "noplaylist": True, "format": FORMAT, "max_filesize": max_bytes,
                   "outtmpl": f"{tmp}/%(id)s.%(ext)s", "cachedir": False,
                   "retries": 0, "fragment_retries": 0, "extractor_retries": 0,
                   "postprocessors": [], "logger": _Quiet()}
        try:
            with YoutubeDL(options) as ydl:
                director = ydl._request_director
                for handler in list(director.handlers.values()):
                    handler.close()
                director.handlers.clear()
                director.add_handler(_handler_class()(logger=ydl, fetch=fetch,
                                                      cookiejar=ydl.cookiejar))
                ydl.extract_info(page_url, download=True)
        except DownloadError as exc:
            return " ".join(str(exc).split())[:300]
        except Exception as exc:  # noqa: BLE001 - yt-dlp's own failures: the page stands
            return f"yt-dlp failed: {type(exc).__name__}: {exc}"[:300]
    return None


class _Quiet:
    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    warning = info

    def error(self, msg: str) -> None:
        pass


_HANDLER: Any = None


def _handler_class() -> Any:
    """Built on first use: importing yt-dlp's networking costs start-up time."""
    global _HANDLER
    if _HANDLER is not None:
        return _HANDLER
    from yt_dlp.networking.common import Features, RequestHandler, Response
    from yt_dlp.networking.exceptions import HTTPError, TransportError, UnsupportedRequest

    class RecordingRH(RequestHandler):
        _SUPPORTED_URL_SCHEMES = ("http", "https")
        _SUPPORTED_PROXY_SCHEMES = None  # proxies are Saksi's settings, not yt-dlp's
        _SUPPORTED_FEATURES = (Features.NO_PROXY, Features.ALL_PROXY)

        def __init__(self, *, fetch: Fetch, **kwargs: Any):
            super().__init__(**kwargs)
            self.fetch = fetch

        def _check_extensions(self, extensions: dict[str, Any]) -> None:
            super()._check_extensions(extensions)
            for name in ("cookiejar", "timeout", "legacy_ssl", "keep_header_casing",
                         "impersonate"):
                extensions.pop(name, None)

        def _send(self, request: Any) -> Any:
            if request.method != "GET" or request.data:
                raise UnsupportedRequest("only GET requests are recorded for yt-dlp")
            jar = request.extensions.get("cookiejar") or self.cookiejar
            url = request.url
            for _ in range(MAX_HOPS):
                headers = {**self.headers, **request.headers}
                probe = urllib.request.Request(url, headers=headers)
                if jar is not None:
                    jar.add_cookie_header(probe)
                pairs = [(k.encode("latin-1"), str(v).encode("latin-1"))
                         for k, v in probe.header_items()]
                try:
                    ex = self.fetch(url, pairs)
                except Exception as exc:  # noqa: BLE001 - refused, unresolvable, cut
                    raise TransportError(cause=exc) from exc
                got = spooled_headers(ex)
                if jar is not None:
                    jar.extract_cookies(_Headers(got), probe)
                location = next((v for k, v in got if k.lower() == "location"), None)
                if ex.status in REDIRECTS and location:
                    url = urljoin(url, location)
                    continue
                break
            shown = {k: v for k, v in got if k.lower() not in (
                "content-encoding", "transfer-encoding", "content-length")}
            try:
                body = body_reader(ex)
            except UndecodableBody:
                body = io.BytesIO(b"")
            response = Response(body, url, shown, ex.status or 0)
            if (ex.status or 0) >= 400:
                raise HTTPError(response, redirect_loop=False)
            return response

    _HANDLER = RecordingRH
    return _HANDLER


class _Headers:
    """What http.cookiejar reads Set-Cookie from."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self._message = Message()
        for name, value in pairs:
            self._message[name] = value

    def info(self) -> Message:
        return self._message

