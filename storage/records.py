"""The records every part shares: Capture, Artifact, Case, CustodyEvent.

Their JSON forms are contracts (see ARCHITECTURE.md, "Contracts every part keeps"):
names are added to, never renamed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Capture status
PENDING = "pending"
RUNNING = "running"
CAPTURED = "captured"
UNAVAILABLE = "unavailable"
BLOCKED = "blocked"
FAILED = "failed"
STATUSES = (PENDING, RUNNING, CAPTURED, UNAVAILABLE, BLOCKED, FAILED)
FINISHED = (CAPTURED, UNAVAILABLE, BLOCKED, FAILED)

# storage_state
STORED = "stored"
PENDING_UPLOAD = "pending_upload"

ARTIFACT_KINDS = (
    "warc", "wacz", "manifest", "screenshot", "screenshot-viewport", "dom", "text",
    "page-info", "pdf", "media", "post", "certificate", "source",
)
SEAL_KINDS = ("signature", "timestamp")

CUSTODY_ACTIONS = (
    "case.created", "capture.requested", "capture.sealed", "capture.failed",
    "object.stored", "upload.pending", "signature.made", "timestamp.obtained",
    "timestamp.failed", "checkpoint.signed", "archive.accessed", "export.created",
    "verify.run", "integrity.failed", "legal_hold.changed", "key.rotated",
    "takedown.observed", "post.still_available", "post.changed", "tracking.run",
    "source.added",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with microseconds and a Z, or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the exact bytes that hashes and signatures cover."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Artifact:
    kind: str
    sha256: str
    bytes: int
    media_type: str
    key: str
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "sha256": self.sha256, "bytes": self.bytes,
            "media_type": self.media_type, "key": self.key, "name": self.name,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Artifact:
        return cls(
            kind=data["kind"], sha256=data["sha256"], bytes=int(data["bytes"]),
            media_type=data["media_type"], key=data["key"], name=data.get("name", ""),
        )


@dataclass
class Capture:
    id: str
    case: str | None
    requested_url: str
    mode: str = "static"
    status: str = PENDING
    canonical_url: str | None = None
    final_url: str | None = None
    platform: str = "generic"
    requested_by: str = ""
    requested_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    note: str | None = None
    truncated: str | None = None
    http_status: int | None = None
    storage_state: str = STORED
    manifest_sha256: str | None = None
    artifacts: list[Artifact] = field(default_factory=list)
    seals: list[dict[str, Any]] = field(default_factory=list)
    post: dict[str, Any] | None = None
    legal_hold: dict[str, Any] | None = None  # on, reason, changed_by, changed_at

    def to_json(self) -> dict[str, Any]:
        """The capture object of the contracts (`capture --json`, `show --json`)."""
        return {
            "id": self.id,
            "case": self.case,
            "status": self.status,
            "mode": self.mode,
            "requested_url": self.requested_url,
            "canonical_url": self.canonical_url,
            "final_url": self.final_url,
            "platform": self.platform,
            "requested_by": self.requested_by,
            "requested_at": iso(self.requested_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "error": self.error,
            "note": self.note,
            "truncated": self.truncated,
            "http_status": self.http_status,
            "storage_state": self.storage_state,
            "manifest_sha256": self.manifest_sha256,
            "artifacts": [a.to_json() for a in self.artifacts],
            "seals": list(self.seals),
            "post": self.post,
            "legal_hold": self.legal_hold,
        }


@dataclass
class Case:
    id: str
    title: str = ""
    created_by: str = ""
    created_at: datetime | None = None


@dataclass
class CustodyEvent:
    """One leaf of the custody log. `hash` covers every other field, `prev_hash` chains
    it to the event before, so a removed, edited or reordered event is detectable."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str

    def body(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "at": iso(self.at), "actor": self.actor, "action": self.action,
            "subject": self.subject, "details": self.details, "prev_hash": self.prev_hash,
        }

    @property
    def hash(self) -> str:
        return hashlib.sha256(canonical_json(self.body())).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash}

    def line(self) -> bytes:
        """Its line in a custody segment: ASCII-only JSON, so no Unicode line separator
        inside a value can split the line for a reader; parsing gives the hashed data."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=True).encode("ascii") + b"\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CustodyEvent:
        return cls(
            seq=int(data["seq"]), at=parse_iso(data["at"]) or utcnow(), actor=data["actor"],
            action=data["action"], subject=data["subject"], details=data.get("details") or {},
            prev_hash=data["prev_hash"],
        )


GENESIS_HASH = "0" * 64
