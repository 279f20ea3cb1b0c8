"""Rebuild the catalog from the object store alone.

The store is the source of truth: sealed manifests give the captures and their
artifacts, custody segments give the events (and, for captures that were never sealed,
their request and failure). The new catalog is built beside the old one and swapped in
only when complete.
"""

from __future__ import annotations

import json
import os
from datetime import UTC
from pathlib import Path

from storage.catalog import Catalog
from storage.objects import StorageError, StoredObject
from storage.records import FAILED, Artifact, Capture, iso, parse_iso

from .custody import CustodyLog
from .recheck import restore_states


class TargetNotEmpty(ValueError):
    """A database to rebuild into already holds captures or custody events."""


def rebuild_catalog(data_dir: Path, store, custody: CustodyLog,
                    into: str | None = None) -> tuple[int, int]:
    """Returns (captures, custody events) in the rebuilt catalog: the SQLite catalog in
    the data dir, swapped in when complete, or the empty database at `into` (PostgreSQL:
    a shared catalog is not swapped under running workers; point catalog.url at it)."""
    spool = getattr(store, "spool", None)
    if spool is not None and spool.waiting():
        raise StorageError(f"{len(spool.waiting())} object(s) still wait in the local spool "
                           f"{spool.root}: run 'saksi sync' before 'saksi reindex'")
    events, segment_rows = custody.load_from_store()
    captures: dict[str, Capture] = {}
    cases: dict[str, dict] = {}
    seal_keys = []
    for key in store.keys("captures"):
        if ("/signature-" in key and key.endswith(".json")) or key.endswith(".tsr"):
            seal_keys.append(key)
            continue
        if not key.endswith("/manifest.json"):
            continue
        with store.open_verified(key) as reader:
            manifest = json.loads(reader.read())
        capture = _capture_from_manifest(manifest)
        capture.manifest_sha256 = reader.sha256
        capture.artifacts.append(Artifact("manifest", reader.sha256, reader.bytes,
                                          "application/json", key, "manifest.json"))
        captures[capture.id] = capture
    tsa_of = {(ev.subject, ev.details.get("serial")): ev.details.get("tsa") for ev in events
              if ev.action == "timestamp.obtained"}
    for key in seal_keys:
        capture = captures.get(key.split("/")[1])
        if capture is not None:
            capture.seals.append(_seal_entry(store, key, capture.id, tsa_of))
    for ev in events:
        if ev.action == "case.created":
            cases.setdefault(ev.subject, {"id": ev.subject, "title": "",
                                          "created_by": ev.actor, "created_at": ev.at})
        elif ev.action == "capture.requested" and ev.subject not in captures:
            captures[ev.subject] = Capture(
                id=ev.subject, case=ev.details.get("case"), requested_url=ev.details["url"],
                mode=ev.details.get("mode", "static"), requested_by=ev.actor,
                requested_at=ev.at, note=ev.details.get("note"), status=FAILED,
                error="no sealed manifest in the store")
        elif ev.action == "capture.failed" and ev.subject in captures:
            capture = captures[ev.subject]
            if capture.manifest_sha256 is None:
                capture.error = ev.details.get("error") or capture.error
                capture.finished_at = ev.at
    for capture in captures.values():
        if capture.case and capture.case not in cases:
            cases[capture.case] = {"id": capture.case, "title": "",
                                   "created_by": capture.requested_by,
                                   "created_at": capture.requested_at}
    versions = _versions(store, events) if spool is not None else []
    holds = {ev.subject: (ev.details.get("status") == "on", ev.details.get("reason", ""),
                          ev.actor, ev.at)
             for ev in events if ev.action == "legal_hold.changed"}
    def fill(fresh: Catalog) -> None:
        fresh.load_rebuilt(sorted(captures.values(), key=lambda c: c.id),
                           list(cases.values()), events, segment_rows, versions, holds)
        restore_states(fresh, events)  # re-check findings: taken down, changed, still up

    if into:
        fresh = Catalog.at(into)
        try:
            if fresh.head()[0] or fresh.list_captures(limit=1):
                raise TargetNotEmpty(f"{fresh.engine.url.render_as_string()} is not empty: "
                                     "rebuild into a new, empty database")
            fill(fresh)
        finally:
            fresh.close()
        return len(captures), len(events)
    target = data_dir / "catalog.sqlite"
    building = data_dir / "catalog.rebuild.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{building}{suffix}").unlink(missing_ok=True)
    fresh = Catalog(f"sqlite:///{building.resolve()}")
    fill(fresh)
    fresh.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(building, target)
    return len(captures), len(events)


def _seal_entry(store, key: str, capture_id: str, tsa_of: dict) -> dict:
    """A seal's entry in the capture's `seals`, from the stored objects (the TSA's address
    from the custody event that recorded the token)."""
    with store.open_verified(key) as reader:
        data = reader.read()
    if key.endswith(".tsr"):
        from rfc3161_client import decode_timestamp_response

        info = decode_timestamp_response(data).tst_info
        chain_key = key[:-len(".tsr")] + "-chain.pem"
        with store.open_verified(chain_key) as chain:
            chain.drain()
        serial = str(info.serial_number)
        return {"kind": "timestamp", "key": key, "sha256": reader.sha256,
                "bytes": reader.bytes, "tsa": tsa_of.get((capture_id, serial)),
                "gen_time": iso(info.gen_time.astimezone(UTC)), "serial": serial,
                "chain_key": chain_key, "chain_sha256": chain.sha256}
    seal = json.loads(data)
    return {"kind": "signature", "key": key, "sha256": reader.sha256, "bytes": reader.bytes,
            "key_fingerprint": seal.get("key_fingerprint"), "made_at": seal.get("made_at")}


def _versions(store, events: list) -> list[StoredObject]:
    """The version Saksi wrote at each key: as its `object.stored` events recorded it, else
    (manifests, custody segments) the oldest version, since Saksi writes each key once."""
    found: dict[str, StoredObject] = {}
    for ev in events:
        d = ev.details
        if ev.action == "object.stored" and d.get("version_id"):
            found[d["key"]] = StoredObject(
                d["key"], ev.subject, int(d.get("bytes") or 0), d["version_id"],
                retain_until=parse_iso(d.get("retain_until")),
                legal_hold=bool(d.get("legal_hold")))
    for prefix in ("captures/", "custody/"):
        for key, infos in store.versions(prefix).items():
            first = next((v for v in infos if not v.delete_marker), None)
            if key not in found and first is not None:
                with store.open_verified(key) as reader:
                    reader.drain()
                found[key] = StoredObject(key, reader.sha256, reader.bytes, first.version_id)
    return list(found.values())


def _capture_from_manifest(manifest: dict) -> Capture:
    c = manifest["capture"]
    return Capture(
        id=c["id"], case=c.get("case"), requested_url=c["requested_url"], mode=c["mode"],
        status=c["status"], canonical_url=c.get("canonical_url"), final_url=c.get("final_url"),
        platform=c.get("platform", "generic"), requested_by=c.get("requested_by", ""),
        requested_at=parse_iso(c.get("requested_at")), started_at=parse_iso(c.get("started_at")),
        finished_at=parse_iso(c.get("finished_at")), error=c.get("error"), note=c.get("note"),
        truncated=c.get("truncated"), http_status=c.get("http_status"), post=c.get("post"),
        artifacts=[Artifact.from_json(a) for a in manifest.get("artifacts", [])],
    )
