"""Which fetcher takes a link: `static` (Scrapy on the wire) or `browser` (Chromium).

The `auto` rule, documented in the README and recorded in every manifest: a link whose
path ends in a document or binary extension goes to static mode, which keeps the file
byte for byte as served; everything else is a web page and goes to the browser, which
records what a person would have seen. The rule reads only the link, so the choice is
made before anything is fetched and is the same on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

STATIC_EXTENSIONS = frozenset({
    # documents
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf",
    "csv", "txt", "json", "xml", "rss", "atom",
    # images
    "jpg", "jpeg", "png", "gif", "webp", "avif", "bmp", "tif", "tiff", "svg", "ico",
    # audio and video
    "mp4", "m4v", "mov", "webm", "mkv", "avi", "mp3", "m4a", "ogg", "oga", "opus",
    "wav", "flac", "m3u8", "mpd", "ts",
    # archives and binaries
    "zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "tar", "apk", "exe", "bin", "iso",
})


@dataclass(frozen=True)
class ModeChoice:
    requested: str  # what the user asked for: auto | browser | static
    used: str  # browser | static
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"requested": self.requested, "used": self.used, "reason": self.reason}


def choose_mode(requested: str, url: str) -> ModeChoice:
    if requested in ("browser", "static"):
        return ModeChoice(requested, requested, f"--mode {requested} was asked for")
    path = urlsplit(url).path
    name = path.rsplit("/", 1)[-1]
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension in STATIC_EXTENSIONS:
        return ModeChoice("auto", "static",
                          f"auto: the path ends in .{extension}, a document or binary file")
    return ModeChoice("auto", "browser", "auto: a web page (no document or binary extension)")
