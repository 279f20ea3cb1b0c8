"""`saksi seal --pending`: sign captures sealed while no key was usable (none made yet,
or a passphrase-protected key without `signing.passphrase_file`). The manifest is read
back and re-hashed first: only the bytes sealed at capture time are ever signed."""

from __future__ import annotations

from storage.catalog import EventDraft
from storage.objects import StorageError

from .evidence import Evidence
from .keys import Signer
from .signing import signature_seal


def seal_pending(evidence: Evidence, signer: Signer) -> list[tuple[str, str | None]]:
    """(capture id, problem or None) for every sealed capture that had no signature."""
    results: list[tuple[str, str | None]] = []
    signed = []
    for capture in evidence.catalog.list_captures():
        if capture.manifest_sha256 is None or any(
                s.get("kind") == "signature" for s in capture.seals):
            continue
        try:
            with evidence.store.open_verified(f"captures/{capture.id}/manifest.json") as reader:
                manifest = reader.read()
            if reader.sha256 != capture.manifest_sha256:
                results.append((capture.id, "the stored manifest differs from the one sealed: "
                                "not signed (run 'saksi verify')"))
                continue
            key, data, seal = signature_seal(signer, capture.id, manifest)
            evidence.store.put_named(key, data)
        except StorageError as exc:
            results.append((capture.id, str(exc)))
            continue
        capture.seals = [*capture.seals, seal]
        with evidence.catalog.write() as conn:
            evidence.catalog.set_seals(conn, capture.id, capture.seals)
            evidence.catalog.append_events(conn, [EventDraft(
                evidence.actor, "signature.made", capture.id,
                {"key_fingerprint": signer.fingerprint, "seal": key,
                 "manifest_sha256": capture.manifest_sha256, "late": True})])
        signed.append(capture)
        results.append((capture.id, None))
    if signed and evidence.uploads:
        from .publish import Publisher

        Publisher(evidence).publish(signed)  # the new seal objects go up beside the rest
    return results
