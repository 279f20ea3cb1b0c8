"""The evidence locker: one object store, its catalog and its custody log, opened from
the settings. Every interface works through this one handle."""

from __future__ import annotations

import platform
import shutil
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from config import Settings
from storage.catalog import Catalog
from storage.objects import LocalObjectStore
from storage.s3 import S3ObjectStore, SpoolStore

from .custody import CustodyLog

if TYPE_CHECKING:  # imported where used: commands that only read need no cryptography
    from .keys import KeyRing, Signer
    from .sealing import SealContext


def software_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("saksi", "scrapy", "twisted", "warcio", "isal", "sqlalchemy", "playwright",
                 "scrapy-playwright"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


@dataclass
class Evidence:
    settings: Settings
    store: LocalObjectStore | S3ObjectStore
    catalog: Catalog
    custody: CustodyLog

    @classmethod
    def open(cls, settings: Settings) -> Evidence:
        data_dir = Path(settings.data_dir)
        catalog = Catalog.at(settings.catalog.url) if settings.catalog.url \
            else Catalog.in_data_dir(data_dir)
        store: LocalObjectStore | S3ObjectStore
        if settings.storage.backend == "s3":
            store = S3ObjectStore(settings.storage, SpoolStore(data_dir / "spool"), catalog)
        else:
            store = LocalObjectStore(data_dir)
        evidence = cls(settings, store, catalog, CustodyLog(catalog, store))
        if isinstance(store, S3ObjectStore):
            evidence.custody.on_segment = evidence._publish_segments
        return evidence

    @property
    def uploads(self) -> bool:
        """Whether sealed objects wait in a spool for upload (the S3 backend)."""
        return isinstance(self.store, S3ObjectStore)

    def _publish_segments(self) -> None:
        """Take new custody segments to the bucket now if it answers; `saksi sync` (or the
        next flush) takes whatever could not go."""
        from .publish import Publisher

        Publisher(self).publish_segments()

    @property
    def actor(self) -> str:
        return self.settings.collector.name

    @property
    def work_dir(self) -> Path:
        """Spool files of captures in progress (never evidence until sealed)."""
        return Path(self.settings.data_dir) / "work"

    @property
    def quarantine_dir(self) -> Path:
        """Partial bytes of interrupted captures: kept, never presented as sealed."""
        return Path(self.settings.data_dir) / "quarantine"

    def quarantine(self, capture_id: str) -> str | None:
        """Move a capture's spool to quarantine (kept, never sealed); returns where."""
        work = self.work_dir / capture_id
        if not work.exists():
            return None
        if not any(work.iterdir()):
            work.rmdir()
            return None
        dest = self.quarantine_dir / capture_id
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            dest = dest.with_name(f"{capture_id}.{int(time.time())}")
        shutil.move(str(work), str(dest))
        return str(dest.relative_to(self.settings.data_dir))

    def seal_context(self) -> SealContext:
        from .sealing import SealContext

        signer, note = self.signer()
        return SealContext(
            collector=self.settings.collector.name,
            organisation=self.settings.collector.organisation,
            software=software_versions(),
            settings=self.settings.effective(),
            store={k: v for k, v in self.store.describe().items() if k != "root"},
            signer=signer, signature_note=note,
            tsa_urls=list(self.settings.timestamps.tsa_urls),
            tsa_ca_file=self.settings.timestamps.ca_file,
            tsa_timeout=self.settings.timestamps.timeout_seconds,
        )

    @property
    def keys(self) -> KeyRing:
        from .keys import KeyRing

        return KeyRing(Path(self.settings.signing.key_dir))

    def signer(self, passphrase: bytes | None = None) -> tuple[Signer | None, str]:
        """This installation's key, unlocked, and what the manifest says about signing."""
        from .keys import SigningKeyError

        ring = self.keys
        fp = ring.current()
        if fp is None:
            return None, "none: no signing key (saksi keys init)"
        if passphrase is None and self.settings.signing.passphrase_file:
            passphrase = Path(self.settings.signing.passphrase_file).read_bytes().strip()
        if ring.is_locked(fp) and passphrase is None:
            return None, (f"pending: key {fp} is passphrase-protected and "
                          "signing.passphrase_file is not set ('saksi seal --pending')")
        try:
            signer = ring.signer(passphrase)
        except SigningKeyError as exc:  # captures are still sealed; signing waits
            return None, f"pending: {exc} ('saksi seal --pending')"
        return signer, (f"Ed25519 by key {fp}, detached, in "
                        f"signature-{fp[:16]}.json beside this manifest")

    def close(self) -> None:
        if isinstance(self.store, S3ObjectStore):
            self.store.close()
        self.catalog.close()
