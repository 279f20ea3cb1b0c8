"""This installation's signing keys: Ed25519, each known by its fingerprint.

The fingerprint is the SHA-256 of the raw 32-byte public key, in lowercase hex: what an
organisation publishes so a court can compare it with the one in a bundle.

Layout under the key directory (`$XDG_CONFIG_HOME/saksi/keys/` unless `signing.key_dir`):

    private/<fingerprint>.pem     PKCS#8, mode 600, encrypted when a passphrase was given
    public/<fingerprint>.pem      every key this installation ever used (retired ones too,
                                  so old signatures still verify)
    rotations/<n>.json            rotation statements, each signed by the retiring key
                                  and by the new one
    current                       the fingerprint that signs now

A rotation statement says "key A hands over to key B at time T"; signed by A it proves the
hand-over came from A's holder, signed by B that B's holder took it. Following them from
the first key gives the chain of keys a verifier can trust.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from storage.records import canonical_json, iso

ROTATION_TYPE = "saksi-key-rotation/1"


class SigningKeyError(Exception):
    """No usable signing key: missing, locked, or not what it claims to be."""


def fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_pem(text: str | bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(text.encode() if isinstance(text, str) else text)
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("not an Ed25519 public key")
    return key


def verify_signature(public_key: Ed25519PublicKey, signature_b64: str, data: bytes) -> bool:
    try:
        public_key.verify(base64.b64decode(signature_b64, validate=True), data)
        return True
    except (InvalidSignature, ValueError):
        return False


@dataclass
class Signer:
    """An unlocked private key, for the time it takes to sign."""

    fingerprint: str
    private_key: Ed25519PrivateKey

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.private_key.sign(data)).decode("ascii")


class KeyRing:
    def __init__(self, root: Path):
        self.root = Path(root)

    # ---- reading -------------------------------------------------------------------

    def current(self) -> str | None:
        path = self.root / "current"
        return path.read_text().strip() if path.is_file() else None

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        found = {}
        for path in sorted((self.root / "public").glob("*.pem")):
            key = load_public_pem(path.read_bytes())
            if fingerprint(key) != path.stem:
                raise SigningKeyError(f"{path}: the key does not match its fingerprint")
            found[path.stem] = key
        return found

    def rotations(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted((self.root / "rotations")
                                                           .glob("*.json"))]

    def is_locked(self, fp: str | None = None) -> bool:
        fp = fp or self.current()
        if fp is None:
            return False
        return b"ENCRYPTED" in (self.root / "private" / f"{fp}.pem").read_bytes()[:64]

    def signer(self, passphrase: bytes | None = None) -> Signer:
        fp = self.current()
        if fp is None:
            raise SigningKeyError(f"no signing key in {self.root}: run 'saksi keys init'")
        return Signer(fp, self._private(fp, passphrase))

    def _private(self, fp: str, passphrase: bytes | None) -> Ed25519PrivateKey:
        path = self.root / "private" / f"{fp}.pem"
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
        except FileNotFoundError as exc:
            raise SigningKeyError(f"private key {fp} is missing from {path.parent}") from exc
        except (TypeError, ValueError) as exc:
            raise SigningKeyError(f"cannot unlock key {fp[:16]}…: wrong or missing "
                                  "passphrase (signing.passphrase_file)") from exc
        if not isinstance(key, Ed25519PrivateKey) or fingerprint(key.public_key()) != fp:
            raise SigningKeyError(f"{path} is not the Ed25519 key {fp}")
        return key

    # ---- changing ------------------------------------------------------------------

    def init(self, passphrase: bytes | None = None) -> str:
        if self.current() is not None:
            raise SigningKeyError(f"this installation already has a key ({self.current()}): "
                                  "use 'saksi keys rotate' to replace it")
        return self._create(passphrase)

    def rotate(self, old_passphrase: bytes | None, new_passphrase: bytes | None
               ) -> dict[str, Any]:
        """A new current key, and a statement of the hand-over signed by both keys."""
        old = self.signer(old_passphrase)
        new_fp = self._create(new_passphrase, make_current=False)
        new = Signer(new_fp, self._private(new_fp, new_passphrase))
        sequence = len(self.rotations()) + 1
        body = {"type": ROTATION_TYPE, "sequence": sequence, "previous": old.fingerprint,
                "next": new_fp, "next_public_key": public_pem(new.private_key.public_key()),
                "at": iso(datetime.now(UTC))}
        statement = {**body, "previous_signature": old.sign(canonical_json(body)),
                     "next_signature": new.sign(canonical_json(body))}
        self._write(self.root / "rotations" / f"{sequence:06d}.json",
                    json.dumps(statement, indent=2).encode(), 0o644)
        self._write(self.root / "current", new_fp.encode(), 0o644, replace=True)
        return statement

    def export_public(self) -> dict[str, Any]:
        """Every public key and rotation statement, for publishing and for bundles."""
        return {"current": self.current(),
                "keys": {fp: public_pem(key) for fp, key in self.public_keys().items()},
                "rotations": self.rotations()}

    def _create(self, passphrase: bytes | None, make_current: bool = True) -> str:
        key = Ed25519PrivateKey.generate()
        fp = fingerprint(key.public_key())
        encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                      else serialization.NoEncryption())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                encryption)
        self._write(self.root / "private" / f"{fp}.pem", pem, 0o600)
        self._write(self.root / "public" / f"{fp}.pem", public_pem(key.public_key()).encode(),
                    0o644)
        if make_current:
            self._write(self.root / "current", fp.encode(), 0o644, replace=True)
        return fp

    def _write(self, path: Path, data: bytes, mode: int, replace: bool = False) -> None:
        """Created with its final mode (a private key is never readable by others, not
        even for a moment), synced, and never overwritten except the `current` pointer."""
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700 if path.parent.name == "private" else 0o755)
        temp = path.with_name(path.name + ".part")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(temp, path)
        else:
            os.link(temp, path)  # refuses an existing name
            temp.unlink()


def trusted_chain(first: str, keys: dict[str, Ed25519PublicKey],
                  rotations: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Follow rotation statements from the first key: (fingerprints in order, problems)."""
    chain, problems = [first], []
    for statement in sorted(rotations, key=lambda s: s.get("sequence", 0)):
        body = {k: v for k, v in statement.items()
                if k not in ("previous_signature", "next_signature")}
        where = f"rotation statement {statement.get('sequence')}"
        if statement.get("previous") != chain[-1]:
            problems.append(f"{where}: hands over from {statement.get('previous')}, but the "
                            f"chain is at {chain[-1]}")
            continue
        previous = keys.get(chain[-1])
        try:
            nxt = load_public_pem(statement.get("next_public_key", ""))
        except (SigningKeyError, ValueError):
            problems.append(f"{where}: the new public key is unreadable")
            continue
        if fingerprint(nxt) != statement.get("next"):
            problems.append(f"{where}: the new key does not match its fingerprint")
            continue
        data = canonical_json(body)
        if previous is None or not verify_signature(previous, statement.get(
                "previous_signature", ""), data):
            problems.append(f"{where}: not signed by the retiring key {chain[-1]}")
            continue
        if not verify_signature(nxt, statement.get("next_signature", ""), data):
            problems.append(f"{where}: not signed by the new key {statement['next']}")
            continue
        chain.append(statement["next"])
    return chain, problems
