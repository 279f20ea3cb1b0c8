"""The local evidence store is write-once by Saksi's own code, and crash-safe."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from storage.objects import LocalObjectStore, ObjectExistsError, StorageError, blob_key


def test_blobs_are_content_addressed_and_stored_once(tmp_path):
    store = LocalObjectStore(tmp_path)
    data = b"bukti " * 1000
    with store.batch() as batch:
        first = batch.new_blob()
        first.write(data)
    stored = batch.result(first)
    assert stored.key == blob_key(hashlib.sha256(data).hexdigest())
    assert (tmp_path / stored.key).read_bytes() == data
    with store.batch() as batch:
        again = batch.new_blob()
        again.write(data)
    assert batch.result(again).existed and batch.result(again).key == stored.key
    assert list((tmp_path / "tmp").iterdir()) == []


def test_named_objects_refuse_overwrite_even_for_root(tmp_path):
    store = LocalObjectStore(tmp_path)
    store.put_named("captures/x/manifest.json", b'{"a":1}')
    assert store.put_named("captures/x/manifest.json", b'{"a":1}').existed
    with pytest.raises(ObjectExistsError, match="refusing to overwrite"):
        store.put_named("captures/x/manifest.json", b'{"a":2}')
    assert (tmp_path / "captures/x/manifest.json").read_bytes() == b'{"a":1}'
    assert not any(hasattr(store, name) for name in ("delete", "remove", "unlink"))


@pytest.mark.parametrize("key", ["../escape", "/abs/path", "tmp/x.part", ""])
def test_keys_cannot_escape_the_store(tmp_path, key):
    with pytest.raises(StorageError):
        LocalObjectStore(tmp_path).put_named(key, b"x")


def test_a_crash_mid_write_leaves_no_object_under_a_final_name(tmp_path):
    script = textwrap.dedent(f"""
        import os
        from storage.objects import LocalObjectStore
        store = LocalObjectStore({str(tmp_path)!r})
        batch_cm = store.batch()
        batch = batch_cm.__enter__()
        blob = batch.new_blob()
        blob.write(b"partial evidence" * 10000)
        blob.writer.flush()
        batch.add_named("captures/c1/manifest.json", b"{{}}")
        os._exit(9)  # killed before commit
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent.parent)
    assert proc.returncode == 9
    assert [p for p in (tmp_path / "objects").rglob("*") if p.is_file()] == []
    assert not (tmp_path / "captures/c1/manifest.json").exists()
    assert list((tmp_path / "tmp").glob("*.part"))  # only temporary files remain
