"""The post's artifacts: its metadata as `post.json`, and its media files as `media`
artifacts copied out of the recorded responses (decoded), so a lawyer gets the video
itself beside the WARC that holds it. Which post and which files is decided in the
crawl (crawlers/posts.py); this only writes and hashes them.
"""

from __future__ import annotations

import json
from typing import Any

from storage.objects import DurableBatch, PendingObject, blob_key
from storage.records import Artifact

from .bodies import UndecodableBody, open_body, spooled_headers
from .exchange import Exchange

MEDIA_TYPES = ("video/", "image/", "audio/")


def whole_media(ex: Exchange, prefix: str | tuple[str, ...]) -> bool:
    if not (ex.got_response and ex.status == 200 and not ex.truncated and ex.block_sha256):
        return False
    headers = {name.lower(): value for name, value in spooled_headers(ex)}
    return headers.get("content-type", "").lower().startswith(prefix)


def post_artifact(batch: DurableBatch, capture: Any) -> tuple[PendingObject, Artifact]:
    data = json.dumps(capture.post, indent=2, ensure_ascii=False, sort_keys=True).encode()
    pending = batch.new_blob()
    pending.write(data)
    pending.close()
    sha = pending.writer.sha256
    return pending, Artifact("post", sha, len(data), "application/json", blob_key(sha),
                             "post.json")


def media_artifacts(batch: DurableBatch, wanted: list[str], exchanges: list[Exchange],
                    limit: int) -> tuple[list[tuple[PendingObject, Artifact]], list[str]]:
    """Each wanted media file that the capture recorded whole (status 200, not cut
    short), decoded, as a `media` artifact; returns them and the URLs not recorded."""
    whole = {ex.url: ex for ex in exchanges
             if ex.got_response and ex.status == 200 and not ex.truncated}
    out, missing = [], []
    for number, url in enumerate(dict.fromkeys(wanted), start=1):
        ex = whole.get(url)
        if ex is None:
            missing.append(url)
            continue
        headers = {name.lower(): value for name, value in spooled_headers(ex)}
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if not media_type.startswith(MEDIA_TYPES):
            missing.append(url)
            continue
        pending = batch.new_blob()
        try:
            with open_body(ex) as body:
                size = 0
                while block := body.read(1024 * 1024):
                    size += len(block)
                    if size > limit:
                        raise UndecodableBody(f"larger than {limit} bytes")
                    pending.write(block)
        except Exception:  # noqa: BLE001 - the WARC keeps the bytes; this copy is a convenience
            batch.drop(pending)
            missing.append(url)
            continue
        pending.close()
        sha = pending.writer.sha256
        extension = media_type.split("/")[1].split("+")[0][:8]
        out.append((pending, Artifact("media", sha, pending.writer.bytes, media_type,
                                      blob_key(sha), f"media-{number}.{extension}")))
    return out, missing

