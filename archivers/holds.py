"""Legal hold: keep a capture's objects beyond any retention date until a person lifts it.

On S3 the hold is S3's own legal hold on the exact version of every object of the capture;
an object that another held capture shares stays held when one capture is released. On the
local store nothing in Saksi can delete evidence at all, so the hold is recorded (catalog
and custody) and shown, and applied to the bucket if the store moves to S3 later.
Every change is a `legal_hold.changed` event saying who, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storage.catalog import EventDraft
from storage.objects import StorageError
from storage.records import Capture

from .evidence import Evidence


@dataclass
class HoldChange:
    capture_id: str
    on: bool
    reason: str
    objects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["state"].startswith("failed")]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.capture_id, "legal_hold": "on" if self.on else "off",
                "reason": self.reason, "objects": self.objects, "ok": not self.failed}


def is_held(evidence: Evidence, capture_id: str) -> bool:
    holds = evidence.catalog.holds([capture_id])
    return holds.get(capture_id, evidence.settings.storage.legal_hold_by_default)


def change_hold(evidence: Evidence, capture: Capture, on: bool, reason: str) -> HoldChange:
    catalog = evidence.catalog
    change = HoldChange(capture.id, on, reason)
    keys = list(dict.fromkeys([a.key for a in capture.artifacts]
                              + [s["key"] for s in capture.seals if s.get("key")]))
    keep: dict[str, list[str]] = {}
    if not on:
        sharing = catalog.captures_sharing(keys, capture.id)
        others = sorted({c for ids in sharing.values() for c in ids})
        holds = catalog.holds(others)
        default = evidence.settings.storage.legal_hold_by_default
        for key, ids in sharing.items():
            held = sorted(c for c in ids if holds.get(c, default))
            if held:
                keep[key] = held
    versions = catalog.recorded_versions(keys)
    applied: list[tuple[str, bool]] = []
    for key in keys:
        item: dict[str, Any] = {"key": key}
        row = versions.get(key)
        if key in keep:
            item["state"] = "kept on: shared with held capture(s) " + ", ".join(keep[key])
        elif not evidence.uploads:
            item["state"] = "recorded (local store: nothing in Saksi deletes evidence)"
        elif row is None:
            item["state"] = "waiting in the spool: applied when uploaded"
        else:
            item["version_id"] = row.version_id
            try:
                evidence.store.set_legal_hold(key, row.version_id, on)
                item["state"] = "on" if on else "off"
                applied.append((key, on))
            except (StorageError, Exception) as exc:  # noqa: BLE001 - reported per object
                item["state"] = f"failed: {' '.join(str(exc).split())[:200]}"
        change.objects.append(item)
    with catalog.write() as conn:
        catalog.set_hold(conn, capture.id, on, reason, evidence.actor)
        for key, state in applied:
            catalog.set_object_hold(conn, key, state)
        catalog.append_events(conn, [EventDraft(evidence.actor, "legal_hold.changed",
                                                capture.id, {
                                                    "status": "on" if on else "off",
                                                    "reason": reason,
                                                    "objects": change.objects})])
    return change
