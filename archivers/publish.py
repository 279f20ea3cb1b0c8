"""Publishing: sealed captures go from the local spool to the bucket, with custody events.

With the S3 backend a capture is sealed into the spool first (durable, write-once), then
published: every artifact and the manifest are uploaded (or found already there), their
version ids recorded in the catalog and in `object.stored` events, and the capture's
`storage_state` becomes `stored`. When S3 stays unreachable the capture stays
`pending_upload` with an `upload.pending` event, and `saksi sync` publishes it later.
Publishing again is harmless: the store re-checks the bucket before every put.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from storage.catalog import EventDraft
from storage.objects import IntegrityError, StorageError, StoredObject
from storage.records import PENDING_UPLOAD, STORED, Capture, iso
from storage.s3 import ForeignVersionError, UploadRequest

from .evidence import Evidence


@dataclass
class PublishReport:
    stored: list[str] = field(default_factory=list)  # capture ids now in the bucket
    pending: list[str] = field(default_factory=list)  # still waiting in the spool
    uploaded: int = 0  # objects written to the bucket
    reused: int = 0  # objects that were already there
    bytes: int = 0
    segments: int = 0  # custody segments uploaded
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def retain_until(days: int, now: datetime | None = None) -> datetime:
    """The lock date for objects stored now: `days` ahead, rounded up to a whole UTC day,
    so captures made the same day share one date and reuse needs no extension."""
    moment = (now or datetime.now(UTC)) + timedelta(days=days)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if day == moment else day + timedelta(days=1)


class Publisher:
    def __init__(self, evidence: Evidence):
        self.evidence = evidence
        self.store = evidence.store
        self.catalog = evidence.catalog
        self.cfg = evidence.settings.storage

    def _retain_until(self) -> datetime | None:
        return retain_until(self.cfg.retention_days) if self.store.locked else None

    # ---- captures ------------------------------------------------------------------

    def publish(self, captures: list[Capture]) -> PublishReport:
        """Upload what these captures need; updates each capture's `storage_state`."""
        report = PublishReport()
        captures = [c for c in captures if c.artifacts]
        if not captures:
            return report
        until = self._retain_until()
        holds = self.catalog.holds([c.id for c in captures])
        held = {c.id: holds.get(c.id, self.cfg.legal_hold_by_default) for c in captures}
        wanted: dict[str, UploadRequest] = {}
        for capture in captures:
            for key, sha in _stored_keys(capture):
                old = wanted.get(key)
                wanted[key] = UploadRequest(
                    key, until, held[capture.id] or bool(old and old.legal_hold), sha)
        recorded = self.catalog.recorded_versions(list(wanted))
        results: dict[str, StoredObject | StorageError] = {}
        # Blobs first, manifests last: a manifest in the bucket means its objects are too.
        for phase in (False, True):
            batch = [r for k, r in wanted.items() if _is_manifest(k) is phase]
            fresh = [r for r in batch if r.key not in recorded]
            for request, result in zip(fresh, self.store.upload_many(fresh), strict=True):
                results[request.key] = result
            for request in batch:
                if request.key in recorded:
                    results[request.key] = self._reuse(request, recorded[request.key])
            if not phase and any(isinstance(r, StorageError) for r in results.values()):
                break  # keep the manifests back until every blob is up
        self._record(captures, results, report)
        return report

    def _reuse(self, request: UploadRequest, row: Any) -> StoredObject | StorageError:
        """An object uploaded before: lengthen its lock or hold it only if needed."""
        until = _aware(row.retain_until)
        if (request.retain_until is None or (until and until >= request.retain_until)) \
                and (row.legal_hold or not request.legal_hold):
            return StoredObject(request.key, row.sha256, row.bytes, row.version_id,
                                existed=True, retain_until=until, legal_hold=row.legal_hold)
        try:
            return self.store.extend(request.key, row.version_id, request.retain_until,
                                     request.legal_hold)
        except StorageError as exc:
            return exc

    def _record(self, captures: list[Capture], results: dict[str, StoredObject | StorageError],
                report: PublishReport) -> None:
        actor = self.evidence.actor
        drafts: list[EventDraft] = []
        stored_objects = [r for r in results.values() if isinstance(r, StoredObject)]
        for capture in captures:
            kinds = {a.key: a.kind for a in capture.artifacts}
            kinds.update({s["key"]: s["kind"] for s in capture.seals if s.get("key")})
            kinds.update({s["chain_key"]: "timestamp" for s in capture.seals
                          if s.get("chain_key")})
            problems = [(k, results.get(k)) for k in kinds
                        if not isinstance(results.get(k), StoredObject)]
            for key, kind in kinds.items():
                obj = results.get(key)
                if isinstance(obj, StoredObject):
                    drafts.append(_stored_event(actor, capture, kind, obj))
            if not problems:
                capture.storage_state = STORED
                report.stored.append(capture.id)
                continue
            capture.storage_state = PENDING_UPLOAD
            report.pending.append(capture.id)
            first = next((str(e) for _, e in problems if e is not None),
                         "manifest held back until every object is uploaded")
            report.errors.append(f"capture {capture.id}: {first}")
            drafts.append(EventDraft(actor, "upload.pending", capture.id, {
                "reason": first, "waiting": [k for k, _ in problems],
                "spool": str(self.store.spool.root)}))
            drafts += [EventDraft(actor, "integrity.failed", capture.id, {
                "key": key, "problem": str(error)}) for key, error in problems
                if isinstance(error, (IntegrityError, ForeignVersionError))]
        for obj in stored_objects:
            if obj.existed:
                report.reused += 1
            else:
                report.uploaded += 1
                report.bytes += obj.bytes
        with self.catalog.write() as conn:
            self.catalog.record_versions(conn, stored_objects)
            self.catalog.set_storage_state(conn, report.stored, STORED)
            self.catalog.set_storage_state(conn, report.pending, PENDING_UPLOAD)
            self.catalog.append_events(conn, drafts)
        for obj in stored_objects:  # recorded: the bucket holds them now
            self.store.spool.release(obj.key)

    # ---- custody segments and the rest of the spool -------------------------------

    def publish_segments(self, report: PublishReport | None = None) -> PublishReport:
        """Upload custody segments and checkpoints waiting in the spool (versions go in the
        catalog;
        an event about storing the log would itself need storing, so there is none)."""
        report = report or PublishReport()
        waiting = list(self.store.spool.keys("custody/"))  # segments and checkpoints
        if not waiting:
            return report
        known = {key: sha for _, _, key, sha in self.catalog.segments()}
        until = self._retain_until()
        requests = [UploadRequest(k, until, self.cfg.legal_hold_by_default, known.get(k))
                    for k in waiting]
        for request, result in zip(requests, self.publish_objects(requests), strict=True):
            if isinstance(result, StoredObject):
                report.segments += 1
            else:
                report.errors.append(f"custody segment {request.key}: {result}")
        return report

    def publish_objects(self, requests: list[UploadRequest]
                        ) -> list[StoredObject | StorageError]:
        """Upload spooled objects, record their versions, release their spool copies."""
        results = self.store.upload_many(requests)
        stored = [r for r in results if isinstance(r, StoredObject)]
        with self.catalog.write() as conn:
            self.catalog.record_versions(conn, stored)
        for obj in stored:
            self.store.spool.release(obj.key)
        return results

    def sync(self) -> PublishReport:
        """Publish everything still waiting: pending captures, then custody segments."""
        report = PublishReport()
        pending = self.catalog.pending_upload_ids()
        for start in range(0, len(pending), 64):
            captures = [c for c in (self.catalog.get_capture(i)
                                    for i in pending[start:start + 64]) if c]
            part = self.publish(captures)
            for name in ("stored", "pending", "errors"):
                getattr(report, name).extend(getattr(part, name))
            report.uploaded += part.uploaded
            report.reused += part.reused
            report.bytes += part.bytes
        return self.publish_segments(report)


def _stored_event(actor: str, capture: Capture, kind: str, obj: StoredObject) -> EventDraft:
    return EventDraft(actor or "saksi", "object.stored", obj.sha256, {
        "key": obj.key, "bytes": obj.bytes, "kind": kind, "capture": capture.id,
        "new": not obj.existed, "version_id": obj.version_id,
        "retain_until": iso(obj.retain_until), "legal_hold": obj.legal_hold,
        "retention_extended": obj.retention_extended})


def _stored_keys(capture: Capture) -> list[tuple[str, str | None]]:
    """Every object of a capture in the store: artifacts, manifest, and seal objects."""
    return [(a.key, a.sha256) for a in capture.artifacts] + [
        (s["key"], s.get("sha256")) for s in capture.seals if s.get("key")] + [
        (s["chain_key"], s.get("chain_sha256")) for s in capture.seals if s.get("chain_key")]


def _is_manifest(key: str) -> bool:
    """Manifests and their seals: uploaded once every blob they name is up."""
    return key.startswith("captures/")


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
