"""Signed checkpoints of the custody log, and proofs against them.

The custody events, in sequence order, are the leaves of an RFC 6962 Merkle tree; a leaf is
the event's canonical JSON (its hash included). A checkpoint states the tree size and root
hash at a moment, signed by this installation's key and, when a TSA is configured,
timestamped; it is stored write-once as `custody/checkpoints/<tree size>.json`. Any event
can then be shown to be in the log (inclusion proof), and any later checkpoint to extend an
earlier one (consistency proof) without trusting whoever holds the log.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from storage.catalog import EventDraft
from storage.objects import ObjectExistsError
from storage.records import CustodyEvent, canonical_json, iso

from . import merkle
from .evidence import Evidence
from .keys import Signer, load_public_pem, verify_signature

CHECKPOINT_TYPE = "saksi-checkpoint/1"
PREFIX = "custody/checkpoints/"


class CustodyMismatch(Exception):
    """The log differs from what an earlier checkpoint signed."""


def leaf(ev: CustodyEvent) -> bytes:
    return merkle.leaf_hash(canonical_json(ev.to_json()))


def checkpoint_key(size: int) -> str:
    return f"{PREFIX}{size:012d}.json"


def leaves(evidence: Evidence) -> list[bytes]:
    return [leaf(ev) for ev, _, _ in evidence.catalog.events()]


def make_checkpoint(evidence: Evidence, signer: Signer) -> dict[str, Any]:
    """Sign (and timestamp) the log as it stands; returns the stored checkpoint."""
    evidence.custody.flush()
    tree = leaves(evidence)
    key = checkpoint_key(len(tree))
    earlier = stored_checkpoints(evidence)
    if len(tree) in earlier:
        return earlier[len(tree)]
    for size, old in earlier.items():  # never sign a log that rewrote what was signed
        if size > len(tree) or merkle.root(tree[:size]).hex() != old["root_hash"]:
            raise CustodyMismatch(f"the custody log no longer matches its checkpoint of "
                                  f"{size} events: not signing (run 'saksi verify --all')")
    body = {"type": CHECKPOINT_TYPE, "tree_size": len(tree),
            "root_hash": merkle.root(tree).hex(), "at": iso(datetime.now(UTC)),
            "key_fingerprint": signer.fingerprint}
    checkpoint = {**body, "signature": signer.sign(canonical_json(body))}
    stamps = evidence.settings.timestamps
    if stamps.tsa_urls:
        from .timestamps import TimestampError, load_roots, obtain

        checkpoint["timestamps"] = []
        for url in stamps.tsa_urls:
            try:
                token = obtain(url, canonical_json(body), load_roots(stamps.ca_file),
                               stamps.timeout_seconds)
            except TimestampError as exc:
                checkpoint["timestamps"].append({"tsa": url, "error": str(exc)})
                continue
            checkpoint["timestamps"].append({"tsa": url, "gen_time": token.gen_time,
                                             "reply": base64.b64encode(token.reply).decode(),
                                             "chain_pem": token.chain_pem.decode()})
    try:
        evidence.store.put_named(key, canonical_json(checkpoint))
    except ObjectExistsError:  # another process checkpointed the same size meanwhile
        return stored_checkpoints(evidence)[len(tree)]
    evidence.custody.record([EventDraft(evidence.actor, "checkpoint.signed", "custody", {
        "tree_size": body["tree_size"], "root_hash": body["root_hash"], "key": key,
        "key_fingerprint": signer.fingerprint})])
    evidence.custody.flush()
    return checkpoint


def stored_checkpoints(evidence: Evidence) -> dict[int, dict[str, Any]]:
    found = {}
    for key in evidence.store.keys(PREFIX):
        if key.endswith(".json"):
            with evidence.store.open(key) as f:
                data = json.loads(f.read())
            found[int(data["tree_size"])] = data
    return dict(sorted(found.items()))


def check_checkpoint(checkpoint: dict[str, Any], public_keys: dict[str, str]) -> str | None:
    """None if the checkpoint is signed by one of these keys."""
    body = {k: checkpoint.get(k) for k in ("type", "tree_size", "root_hash", "at",
                                            "key_fingerprint")}
    pem = public_keys.get(str(checkpoint.get("key_fingerprint")))
    if pem is None:
        return f"checkpoint signed by unknown key {checkpoint.get('key_fingerprint')}"
    if not verify_signature(load_public_pem(pem), str(checkpoint.get("signature", "")),
                            canonical_json(body)):
        return "checkpoint signature does not verify"
    return None


def prove(evidence: Evidence, capture_id: str, checkpoint: dict[str, Any]
          ) -> list[dict[str, Any]]:
    """Inclusion proofs of a capture's events in the tree the checkpoint signs."""
    return prove_many(evidence, [capture_id], checkpoint)[capture_id]


def prove_many(evidence: Evidence, capture_ids: list[str], checkpoint: dict[str, Any]
               ) -> dict[str, list[dict[str, Any]]]:
    """Inclusion proofs of each capture's events, reading the log and hashing the tree
    once for them all."""
    size = int(checkpoint["tree_size"])
    events = [ev for ev, _, _ in evidence.catalog.events()][:size]
    tree = merkle.Tree([leaf(ev) for ev in events])
    if len(events) < size or tree.root().hex() != checkpoint["root_hash"]:
        raise ValueError(f"the custody log no longer matches checkpoint {size}")
    wanted = set(capture_ids)
    proofs: dict[str, list[dict[str, Any]]] = {i: [] for i in capture_ids}
    for ev in events:
        for capture_id in {ev.subject, ev.details.get("capture")} & wanted:
            index = ev.seq - 1
            path = tree.inclusion_proof(index)
            assert merkle.root_from_inclusion(index, size, tree.leaves[index], path).hex() \
                == checkpoint["root_hash"]
            proofs[capture_id].append({"seq": ev.seq, "action": ev.action,
                                       "leaf_hash": tree.leaves[index].hex(),
                                       "proof": [p.hex() for p in path]})
    return proofs


def capture_events(evidence: Evidence, capture_id: str) -> list[CustodyEvent]:
    """The events about a capture: its own, and those about its objects."""
    return events_of(evidence, [capture_id])


def events_of(evidence: Evidence, capture_ids: list[str]) -> list[CustodyEvent]:
    """The events about any of these captures, in log order, each once."""
    wanted = set(capture_ids)
    return [ev for ev, _, _ in evidence.catalog.events()
            if ev.subject in wanted or ev.details.get("capture") in wanted]


def consistency(evidence: Evidence, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether the newer checkpoint's tree extends the older one's, checked by proof."""
    tree = leaves(evidence)[:int(new["tree_size"])]
    proof = merkle.consistency_proof(int(old["tree_size"]), tree)
    return merkle.verify_consistency(int(old["tree_size"]), int(new["tree_size"]),
                                     bytes.fromhex(old["root_hash"]),
                                     bytes.fromhex(new["root_hash"]), proof)


def consistency_evidence(evidence: Evidence, old: dict[str, Any], new: dict[str, Any]
                         ) -> dict[str, Any]:
    """Both signed checkpoints and the proof between them, checked here as a verifier
    would: signatures by known keys, and the proof against the two signed roots."""
    from .keys import public_pem

    keys = {fp: public_pem(key) for fp, key in evidence.keys.public_keys().items()}
    old_size, new_size = int(old["tree_size"]), int(new["tree_size"])
    tree = leaves(evidence)
    problems = [f"checkpoint {int(cp['tree_size'])}: {problem}" for cp in (old, new)
                if (problem := check_checkpoint(cp, keys))]
    proof: list[bytes] = []
    if new_size > len(tree):
        problems.append(f"the custody log holds {len(tree)} events, fewer than checkpoint "
                        f"{new_size} signed")
    else:
        proof = merkle.consistency_proof(old_size, tree[:new_size])
        if not merkle.verify_consistency(old_size, new_size, bytes.fromhex(old["root_hash"]),
                                         bytes.fromhex(new["root_hash"]), proof):
            problems.append(f"checkpoint {new_size} does not extend checkpoint {old_size} "
                            "(consistency proof fails)")
    return {"old": old, "new": new, "proof": [p.hex() for p in proof],
            "consistent": not problems, "problems": problems}


def check_all(evidence: Evidence) -> list[str]:
    """Every stored checkpoint: signed by a known key, and still matching the log."""
    from .keys import public_pem

    keys = {fp: public_pem(key) for fp, key in evidence.keys.public_keys().items()}
    tree = leaves(evidence)
    problems = []
    for size, checkpoint in stored_checkpoints(evidence).items():
        where = f"custody checkpoint {checkpoint_key(size)}"
        problem = check_checkpoint(checkpoint, keys)
        if problem:
            problems.append(f"{where}: {problem}")
        if size > len(tree) or merkle.root(tree[:size]).hex() != checkpoint["root_hash"]:
            problems.append(f"{where}: the custody log no longer matches the signed root "
                            "(an event before it was removed, edited or reordered)")
    return problems
