"""Custody events: numbered and chained by the catalog, safe across processes, sealed
into immutable segments, and any edit is named by verification."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from archivers.custody import CustodyLog
from storage.catalog import Catalog, EventDraft
from storage.objects import LocalObjectStore

ROOT = Path(__file__).parent.parent


def _log(tmp_path) -> CustodyLog:
    return CustodyLog(Catalog.in_data_dir(tmp_path), LocalObjectStore(tmp_path))


def test_events_chain_and_segments_are_written_once(tmp_path):
    log = _log(tmp_path)
    made = log.record([EventDraft("a", "capture.requested", "c1", {"url": "u"}),
                       EventDraft("a", "capture.sealed", "c1", {})])
    assert [e.seq for e in made] == [1, 2]
    assert made[1].prev_hash == made[0].hash
    key = log.flush()
    assert key == "custody/segments/000000000001-000000000002.jsonl"
    assert log.flush() is None  # nothing new: no empty segment
    log.record([EventDraft("a", "verify.run", "store", {})])
    assert log.flush() == "custody/segments/000000000003-000000000003.jsonl"
    checked, faults = log.verify()
    assert checked == 3 and faults == []


def test_two_processes_appending_at_once_keep_one_unbroken_chain(tmp_path):
    Catalog.in_data_dir(tmp_path).close()
    script = textwrap.dedent(f"""
        import sys
        from storage.catalog import Catalog, EventDraft
        cat = Catalog.in_data_dir(__import__("pathlib").Path({str(tmp_path)!r}))
        for i in range(60):
            with cat.write() as conn:
                cat.append_events(conn, [EventDraft(sys.argv[1], "archive.accessed",
                                                    f"c{{i}}", {{"i": i}})])
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, name], cwd=ROOT)
             for name in ("proc-a", "proc-b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    log = _log(tmp_path)
    events = [ev for ev, _, _ in log.catalog.events()]
    assert [ev.seq for ev in events] == list(range(1, 121))
    assert {ev.actor for ev in events} == {"proc-a", "proc-b"}
    log.flush()
    checked, faults = log.verify()
    assert checked == 120 and faults == []


def test_an_edited_or_removed_line_is_named(tmp_path):
    log = _log(tmp_path)
    log.record([EventDraft("a", "capture.requested", f"c{i}", {"i": i}) for i in range(5)])
    key = log.flush()
    path = tmp_path / key
    lines = path.read_bytes().splitlines(keepends=True)
    path.chmod(0o644)
    path.write_bytes(b"".join(lines[:2] + [lines[2].replace(b'"i":2', b'"i":7')] + lines[3:]))
    _, faults = log.verify()
    text = "\n".join(map(str, faults))
    assert "custody event 3" in text and "edited" in text
    path.write_bytes(b"".join(lines[:2] + lines[3:]))
    _, faults = log.verify()
    assert any("expected event 3" in str(f) for f in faults)
