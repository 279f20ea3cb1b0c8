"""Sealing: turns a finished capture's exchanges into stored, hashed evidence.

For each capture: one WARC (warcinfo, request/response per exchange, a metadata record
with the redirect chain, timings, TLS details and certificate chain), the certificate
chain as its own artifact, and the manifest (canonical JSON listing every artifact with
SHA-256, size and media type). Objects are written into a DurableBatch; the caller
commits the batch and only then marks the capture sealed in the catalog, so nothing is
reported sealed before it is durable.
"""

from __future__ import annotations

import hashlib
import json
import platform
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from storage.catalog import EventDraft
from storage.objects import DurableBatch, PendingObject, StoredObject, blob_key
from storage.records import FAILED, Artifact, Capture, canonical_json, iso, utcnow

from .exchange import Exchange, PageArtifact
from .keys import Signer
from .signing import signature_seal
from .timestamps import TimestampError, Token, load_roots, obtain_all, seal_entry
from .wacz import write_wacz
from .warc import (
    WarcWriter,
    exchange_records,
    metadata_record,
    page_record,
    spool_blocks,
    warcinfo_record,
)

MANIFEST_VERSION = 1


@dataclass
class CaptureRun:
    """Everything one capture produced, handed from the crawler to the sealer."""

    capture: Capture
    exchanges: list[Exchange] = field(default_factory=list)
    redirect_chain: list[dict[str, Any]] = field(default_factory=list)
    robots_txt: str = "not consulted (URL requested explicitly)"
    work_dir: Path | None = None  # spool files, removed once sealed
    mode_choice: dict[str, str] | None = None  # how auto chose (manifest)
    page_artifacts: list[PageArtifact] = field(default_factory=list)  # browser mode
    page_title: str = ""
    page_text: str = ""
    post_reading: dict[str, Any] | None = None  # what the platform adapter made of it
    media_urls: list[str] = field(default_factory=list)  # the post's media to keep
    media_limit: int = 512 * 1024 * 1024  # largest media file kept as an artifact


@dataclass
class SealContext:
    """What every seal needs to say about where and how it was made."""

    collector: str
    organisation: str
    software: dict[str, str]
    settings: dict[str, Any]
    store: dict[str, Any]
    host: str = field(default_factory=socket.gethostname)
    signer: Signer | None = None  # this installation's key, unlocked; None: not signing
    signature_note: str = "none: no signing key configured"  # the manifest says it
    tsa_urls: list[str] = field(default_factory=list)
    tsa_ca_file: str = ""
    tsa_timeout: float = 15.0


@dataclass
class SealedCapture:
    capture: Capture
    manifest_bytes: bytes
    events: list[EventDraft]
    _pending: list[tuple[PendingObject, Artifact]] = field(default_factory=list)

    def resolve(self, batch: DurableBatch, local: bool = True) -> None:
        """After commit: note which objects were new (for object.stored events). Objects
        bound for S3 get their events when uploaded, with their version ids."""
        for pending, artifact in self._pending:
            stored: StoredObject = batch.result(pending)
            artifact.key = stored.key
            if not local:
                continue
            self.events.insert(0, EventDraft(
                actor=self.capture.requested_by or "saksi", action="object.stored",
                subject=stored.sha256,
                details={"key": stored.key, "bytes": stored.bytes, "kind": artifact.kind,
                         "capture": self.capture.id, "new": not stored.existed},
            ))


def seal_capture(run: CaptureRun, ctx: SealContext, batch: DurableBatch) -> SealedCapture:
    capture = run.capture
    # The report files that named it, stored when it was registered.
    artifacts: list[Artifact] = [a for a in capture.artifacts if a.kind == "source"]
    pending_list: list[tuple[PendingObject, Artifact]] = []
    recorded = [ex for ex in run.exchanges if ex.response_spool is not None or ex.request_head]
    if recorded:
        pending, artifact, index = _write_warc(run, ctx, batch, recorded)
        artifacts.append(artifact)
        pending_list.append((pending, artifact))
        wacz_pending, wacz_artifact = _write_wacz(run, ctx, batch, pending, artifact, index)
        artifacts.append(wacz_artifact)
        pending_list.append((wacz_pending, wacz_artifact))
    for page_artifact in run.page_artifacts:
        pending, artifact = _store_page_artifact(batch, page_artifact)
        artifacts.append(artifact)
        pending_list.append((pending, artifact))
    chain = _certificate_chain(recorded)
    if chain:
        pending = batch.new_blob()
        pending.write(chain)
        pending.close()
        artifact = Artifact("certificate", pending.writer.sha256, pending.writer.bytes,
                            "application/x-pem-file", blob_key(pending.writer.sha256),
                            "certificate-chain.pem")
        artifacts.append(artifact)
        pending_list.append((pending, artifact))
    if recorded:
        pending_list += _post_artifacts(run, batch, recorded, artifacts)
    capture.artifacts = artifacts
    manifest = build_manifest(run, ctx)
    manifest_bytes = canonical_json(manifest)
    manifest_key = f"captures/{capture.id}/manifest.json"
    batch.add_named(manifest_key, manifest_bytes)
    capture.manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
    capture.artifacts = artifacts + [Artifact(
        "manifest", capture.manifest_sha256, len(manifest_bytes), "application/json",
        manifest_key, "manifest.json")]
    events_extra: list[EventDraft] = []
    if ctx.signer is not None:
        key, data, seal = signature_seal(ctx.signer, capture.id, manifest_bytes)
        batch.add_named(key, data)
        capture.seals = [seal]
        events_extra.append(EventDraft(capture.requested_by or "saksi", "signature.made",
                                       capture.id, {"key_fingerprint": seal["key_fingerprint"],
                                                    "seal": key,
                                                    "manifest_sha256": capture.manifest_sha256}))
    action = "capture.failed" if capture.status == FAILED else "capture.sealed"
    details: dict[str, Any] = {"status": capture.status, "manifest_sha256":
                               capture.manifest_sha256, "manifest_key": manifest_key}
    if capture.error:
        details["error"] = capture.error
    events = [EventDraft(actor=capture.requested_by or "saksi", action=action,
                         subject=capture.id, details=details)] + events_extra
    return SealedCapture(capture, manifest_bytes, events, pending_list)


def add_timestamps(items: list[SealedCapture], ctx: SealContext, batch: DurableBatch) -> None:
    """RFC 3161 tokens for a group of sealed manifests, from every configured TSA, stored
    in the same batch; a TSA that fails leaves `timestamp.failed` (seal --pending retries)."""
    if not ctx.tsa_urls or not items:
        return
    try:
        roots = load_roots(ctx.tsa_ca_file)
        tokens = obtain_all([(i.capture.id, i.manifest_bytes) for i in items], ctx.tsa_urls,
                            roots, ctx.tsa_timeout)
    except TimestampError as exc:
        tokens = {(i.capture.id, url): exc for i in items for url in ctx.tsa_urls}
    for item in items:
        actor = item.capture.requested_by or "saksi"
        for url in ctx.tsa_urls:
            result = tokens[(item.capture.id, url)]
            if isinstance(result, TimestampError):
                item.events.append(EventDraft(actor, "timestamp.failed", item.capture.id,
                                              {"tsa": url, "error": str(result)}))
                continue
            item.capture.seals = [*item.capture.seals, stamp_seal(batch, item.capture.id,
                                                                  result)]
            item.events.append(EventDraft(actor, "timestamp.obtained", item.capture.id, {
                "tsa": url, "gen_time": result.gen_time, "serial": result.serial,
                "manifest_sha256": item.capture.manifest_sha256}))


def stamp_seal(batch_or_store, capture_id: str, token: Token) -> dict[str, Any]:
    """Store a token and its chain as named objects; returns the capture's seal entry."""
    key, chain_key = token.seal_keys(capture_id)
    if isinstance(batch_or_store, DurableBatch):
        batch_or_store.add_named(key, token.reply)
        batch_or_store.add_named(chain_key, token.chain_pem)
    else:
        batch_or_store.put_named(key, token.reply)
        batch_or_store.put_named(chain_key, token.chain_pem)
    return seal_entry(token, key, chain_key)


def _store_page_artifact(batch: DurableBatch, item: PageArtifact
                         ) -> tuple[PendingObject, Artifact]:
    """Copy a browser artifact into the store, hashing it again on the way."""
    pending = batch.new_blob()
    for chunk in spool_blocks(str(item.path), item.sha256, item.bytes):
        pending.write(chunk)
    pending.close()
    sha = pending.writer.sha256
    return pending, Artifact(item.kind, sha, pending.writer.bytes, item.media_type,
                             blob_key(sha), item.name)


def _post_artifacts(run: CaptureRun, batch: DurableBatch, recorded: list[Exchange],
                    artifacts: list[Artifact]) -> list[tuple[PendingObject, Artifact]]:
    """The post the crawl read (`post.json`) and its media recorded whole."""
    from .posts import media_artifacts, post_artifact

    if not run.capture.post:
        return []
    made = [post_artifact(batch, run.capture)]
    media, missing = media_artifacts(batch, run.media_urls, recorded, run.media_limit)
    made += media
    if run.post_reading is not None:
        run.post_reading["media_recorded"] = len(media)
        run.post_reading["media_not_recorded"] = missing
    artifacts += [artifact for _, artifact in made]
    return made


def build_manifest(run: CaptureRun, ctx: SealContext) -> dict[str, Any]:
    capture = run.capture
    body = capture.to_json()
    for key in ("artifacts", "seals", "storage_state", "manifest_sha256", "legal_hold"):
        body.pop(key, None)
    return {
        "manifest_version": MANIFEST_VERSION,
        "capture": body,
        "artifacts": [a.to_json() for a in capture.artifacts],
        "exchanges": [_exchange_summary(ex) for ex in run.exchanges],
        "collector": {"name": ctx.collector, "organisation": ctx.organisation,
                      "host": ctx.host},
        "software": ctx.software,
        "store": ctx.store,
        "robots_txt": run.robots_txt,
        "mode_choice": run.mode_choice,
        "post_reading": run.post_reading,
        "seals": {
            "signature": ctx.signature_note,
            "timestamps": (f"RFC 3161 tokens over this manifest's SHA-256 from "
                           f"{', '.join(ctx.tsa_urls)}, stored beside it" if ctx.tsa_urls
                           else "none: no RFC 3161 timestamp authority configured"),
        },
    }


def _exchange_summary(ex: Exchange) -> dict[str, Any]:
    return {
        "url": ex.url, "method": ex.method, "sent_at": iso(ex.sent_at),
        "ip_address": ex.ip_address, "status": ex.status, "reason": ex.reason,
        "response_bytes": ex.response_bytes, "block_sha256": ex.block_sha256 or None,
        "truncated": ex.truncated, "error": ex.error, "notes": ex.notes,
    }


def _write_warc(run: CaptureRun, ctx: SealContext, batch: DurableBatch,
                exchanges: list[Exchange]) -> tuple[PendingObject, Artifact, bytes]:
    """The capture's WARC, and its CDXJ index made while writing it."""
    # surt (for index keys) pulls in tldextract and requests: imported here, so only the
    # sealer process pays for it, not every CLI start.
    from .cdxj import response_line, sorted_index

    capture = run.capture
    pending = batch.new_blob()
    writer = WarcWriter(pending)
    filename = f"saksi-{capture.id}.warc.gz"
    started = capture.started_at or exchanges[0].sent_at
    info_id = warcinfo_record(writer, filename, _warcinfo_fields(run, ctx), started)
    last_response: str | None = None
    index: list[str] = []
    for ex in exchanges:
        last_response, span = exchange_records(writer, ex, info_id)
        if span is not None:
            index.append(response_line(ex, span[0], span[1], filename))
    meta = {
        "capture_id": capture.id,
        "requested_url": capture.requested_url,
        "final_url": capture.final_url,
        "redirect_chain": run.redirect_chain,
        "exchanges": [
            {**_exchange_summary(ex), "timings_ms": ex.timings_ms,
             "tls": _tls_summary(ex)} for ex in exchanges
        ],
        "truncated": capture.truncated,
        "error": capture.error,
    }
    metadata_record(writer, capture.final_url or capture.requested_url, last_response, info_id,
                    json.dumps(meta, indent=2, ensure_ascii=False).encode(), _now(capture))
    for item in run.page_artifacts:
        page_record(writer, item, capture.id, info_id, last_response)
    pending.close()
    sha = pending.writer.sha256
    return pending, Artifact("warc", sha, pending.writer.bytes, "application/warc",
                             blob_key(sha), filename), sorted_index(index)


def _write_wacz(run: CaptureRun, ctx: SealContext, batch: DurableBatch,
                warc: PendingObject, warc_artifact: Artifact, index: bytes
                ) -> tuple[PendingObject, Artifact]:
    capture = run.capture
    first = next((ex for ex in run.exchanges if ex.got_response), run.exchanges[0])
    page = {"id": capture.id, "url": capture.canonical_url or capture.requested_url,
            "ts": iso(first.sent_at), "title": run.page_title or capture.requested_url}
    if run.page_text:
        page["text"] = run.page_text
    package = {
        "title": f"Saksi capture {capture.id}",
        "software": f"Saksi {ctx.software.get('saksi', '?')}",
        "saksi": {"capture_id": capture.id, "case": capture.case, "mode": capture.mode,
                  "requested_url": capture.requested_url, "collector": ctx.collector,
                  "organisation": ctx.organisation},
    }
    pending = batch.new_blob()
    write_wacz(pending, warc.temp_path, warc_artifact.name, warc_artifact.sha256, index,
               page, package, _now(capture))
    pending.close()
    sha = pending.writer.sha256
    return pending, Artifact("wacz", sha, pending.writer.bytes, "application/wacz",
                             blob_key(sha), f"saksi-{capture.id}.wacz")


def _now(capture: Capture) -> datetime:
    return capture.finished_at or utcnow()


def _tls_summary(ex: Exchange) -> dict[str, Any] | None:
    if ex.tls is None:
        return None
    return {"version": ex.tls.version, "cipher": ex.tls.cipher, "alpn": ex.tls.alpn,
            "verified": ex.tls.verified, "certificate_chain_pem": ex.tls.chain_pem,
            "certificate": ex.tls.details}


def _certificate_chain(exchanges: list[Exchange]) -> bytes:
    """Every distinct certificate the capture's TLS servers presented, in PEM."""
    seen: list[str] = []
    for ex in exchanges:
        for pem in ex.tls.chain_pem if ex.tls else []:
            if pem not in seen:
                seen.append(pem)
    return "".join(seen).encode("ascii")


def _warcinfo_fields(run: CaptureRun, ctx: SealContext) -> list[tuple[str, str]]:
    capture = run.capture
    fields = [
        ("software", f"Saksi/{ctx.software.get('saksi', '?')}"),
        ("format", "WARC File Format 1.1"),
        ("conformsTo", "https://iipc.github.io/warc-specifications/specifications/"
                       "warc-format/warc-1.1/"),
        ("python", platform.python_version()),
    ]
    fields += [(name, version) for name, version in sorted(ctx.software.items())
               if name not in ("saksi", "python")]
    fields += [
        ("operator", ctx.collector),
        ("organisation", ctx.organisation),
        ("hostname", ctx.host),
        ("case", capture.case or ""),
        ("capture-id", capture.id),
        ("capture-mode", capture.mode),
        ("requested-url", capture.requested_url),
        ("robots", run.robots_txt),
        ("payload-digest-scope", "bytes after the HTTP head as received, transfer "
                                 "coding included"),
        ("http-block", "bytes as received from the socket; nothing re-serialised"),
        ("settings", json.dumps(ctx.settings, sort_keys=True)),
    ]
    if capture.note:
        fields.append(("note", capture.note))
    return fields
