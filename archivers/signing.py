"""Signature seals: a detached Ed25519 signature over a capture's canonical manifest bytes.

The seal is its own write-once object beside the manifest
(`captures/<id>/signature-<first 16 hex of the key>.json`), never inside it: the manifest
is what is signed. Its entry in the capture's `seals` names the object and its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from storage.records import canonical_json, iso

from .keys import Signer, load_public_pem, verify_signature

SIGNATURE_TYPE = "saksi-signature/1"


def seal_key(capture_id: str, key_fingerprint: str) -> str:
    return f"captures/{capture_id}/signature-{key_fingerprint[:16]}.json"


def signature_seal(signer: Signer, capture_id: str, manifest_bytes: bytes
                   ) -> tuple[str, bytes, dict[str, Any]]:
    """(object key, object bytes, the capture's seal entry)."""
    made_at = iso(datetime.now(UTC))
    body = {"type": SIGNATURE_TYPE, "kind": "signature", "algorithm": "Ed25519",
            "capture": capture_id, "key_fingerprint": signer.fingerprint,
            "manifest_key": f"captures/{capture_id}/manifest.json",
            "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
            "signed_bytes": "the manifest file exactly as stored",
            "signature": signer.sign(manifest_bytes), "made_at": made_at}
    data = canonical_json(body)
    key = seal_key(capture_id, signer.fingerprint)
    return key, data, {"kind": "signature", "key": key,
                       "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                       "key_fingerprint": signer.fingerprint, "made_at": made_at}


def check_signature(seal_bytes: bytes, manifest_bytes: bytes, public_keys: dict[str, str]
                    ) -> str | None:
    """None if the seal signs these manifest bytes with a known key, else the problem."""
    try:
        seal = json.loads(seal_bytes)
        fp = seal["key_fingerprint"]
    except (ValueError, KeyError, TypeError):
        return "signature seal is not readable"
    if fp not in public_keys:
        return f"signed by key {fp}, which is not one of this installation's keys"
    if seal.get("manifest_sha256") != hashlib.sha256(manifest_bytes).hexdigest():
        return "signature seal names another manifest"
    if not verify_signature(load_public_pem(public_keys[fp]), seal.get("signature", ""),
                            manifest_bytes):
        return f"signature does not verify with key {fp}"
    return None
