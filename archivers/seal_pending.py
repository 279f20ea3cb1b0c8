"""`saksi seal --pending`: add the seals a sealed capture is missing.

A signature is missing when the capture was sealed before `keys init`, or while a
passphrase-protected key had no `signing.passphrase_file`; a timestamp is missing when a
configured TSA was down, or was added later. The manifest is read back and re-hashed
first: only the bytes sealed at capture time are ever signed or timestamped.
"""

from __future__ import annotations

from storage.catalog import EventDraft
from storage.objects import StorageError
from storage.records import Capture

from .evidence import Evidence
from .keys import Signer
from .sealing import stamp_seal
from .signing import signature_seal
from .timestamps import TimestampError, load_roots, obtain


def seal_pending(evidence: Evidence, signer: Signer | None) -> list[tuple[str, str | None]]:
    """(capture id, problem or None) for every sealed capture that lacked a seal."""
    stamps = evidence.settings.timestamps
    results: list[tuple[str, str | None]] = []
    changed: list[Capture] = []
    for capture in evidence.catalog.list_captures():
        if capture.manifest_sha256 is None:
            continue
        need_signature = signer is not None and not any(
            s.get("kind") == "signature" for s in capture.seals)
        stamped = {s.get("tsa") for s in capture.seals if s.get("kind") == "timestamp"}
        need_stamps = [url for url in stamps.tsa_urls if url not in stamped]
        if not need_signature and not need_stamps:
            continue
        problems: list[str] = []
        drafts: list[EventDraft] = []
        try:
            manifest = _sealed_manifest(evidence, capture)
            if need_signature:
                assert signer is not None
                key, data, seal = signature_seal(signer, capture.id, manifest)
                evidence.store.put_named(key, data)
                capture.seals = [*capture.seals, seal]
                drafts.append(EventDraft(evidence.actor, "signature.made", capture.id, {
                    "key_fingerprint": signer.fingerprint, "seal": key,
                    "manifest_sha256": capture.manifest_sha256, "late": True}))
            roots = load_roots(stamps.ca_file) if need_stamps else []
            for url in need_stamps:
                try:
                    token = obtain(url, manifest, roots, stamps.timeout_seconds)
                except TimestampError as exc:
                    problems.append(str(exc))
                    drafts.append(EventDraft(evidence.actor, "timestamp.failed", capture.id,
                                             {"tsa": url, "error": str(exc)}))
                    continue
                capture.seals = [*capture.seals, stamp_seal(evidence.store, capture.id, token)]
                drafts.append(EventDraft(evidence.actor, "timestamp.obtained", capture.id, {
                    "tsa": url, "gen_time": token.gen_time, "serial": token.serial,
                    "manifest_sha256": capture.manifest_sha256, "late": True}))
        except (StorageError, TimestampError, ValueError) as exc:
            problems.append(str(exc))
        with evidence.catalog.write() as conn:
            evidence.catalog.set_seals(conn, capture.id, capture.seals)
            evidence.catalog.append_events(conn, drafts)
        changed.append(capture)
        results.append((capture.id, "; ".join(problems) or None))
    if changed and evidence.uploads:
        from .publish import Publisher

        Publisher(evidence).publish(changed)  # the new seal objects go up beside the rest
    return results


def _sealed_manifest(evidence: Evidence, capture: Capture) -> bytes:
    with evidence.store.open_verified(f"captures/{capture.id}/manifest.json") as reader:
        manifest = reader.read()
    if reader.sha256 != capture.manifest_sha256:
        raise ValueError("the stored manifest differs from the one sealed: not sealed again "
                         "(run 'saksi verify')")
    return manifest
