"""The chain of custody: who did what to which evidence, when, in an unbroken chain.

Events are numbered and chained (each carries the SHA-256 of the one before) by the
catalog inside the transaction that records them. At the end of every run the events
not yet in the store are written there as one immutable segment,
`custody/segments/<first>-<last>.jsonl`; segments are never appended to. Verification
recomputes every event's hash from its contents and follows the chain through all
segments and the catalog, so a removed, edited or reordered event is named.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from storage.catalog import Catalog, EventDraft
from storage.objects import IntegrityError, ObjectMissingError
from storage.records import GENESIS_HASH, CustodyEvent

SEGMENT_PREFIX = "custody/segments/"


def segment_key(first: int, last: int) -> str:
    return f"{SEGMENT_PREFIX}{first:012d}-{last:012d}.jsonl"


@dataclass
class CustodyFault:
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


class CustodyLog:
    def __init__(self, catalog: Catalog, store):
        self.catalog = catalog
        self.store = store
        self.on_segment: Callable[[], None] | None = None  # S3: upload new segments

    def record(self, drafts: Iterable[EventDraft]) -> list[CustodyEvent]:
        """Record events in a transaction of their own."""
        with self.catalog.write() as conn:
            return self.catalog.append_events(conn, drafts)

    def flush(self) -> str | None:
        """Write every event not yet in the store as one new segment; returns its key."""
        with self.catalog.write() as conn:
            self.catalog.lock_segments(conn)
            after = self.catalog.last_segmented_seq(conn)
            events = self.catalog.unsegmented(conn, after)
            if not events:
                return None
            key = segment_key(events[0].seq, events[-1].seq)
            data = b"".join(ev.line() for ev in events)
            stored = self.store.put_named(key, data)
            self.catalog.record_segment(conn, events[0].seq, events[-1].seq, key, stored.sha256)
        if self.on_segment is not None:
            self.on_segment()
        return key

    # ---- reading and checking ------------------------------------------------

    def stored_segments(self) -> list[str]:
        return sorted(k for k in self.store.keys(SEGMENT_PREFIX) if k.endswith(".jsonl"))

    def read_segment(self, key: str) -> list[tuple[int, dict | None, str]]:
        """(line number, parsed event or None, raw line) for each line of a segment."""
        out = []
        with self.store.open(key) as f:
            for number, raw in enumerate(f, start=1):
                text = raw.decode("utf-8", "replace").rstrip("\n")
                try:
                    out.append((number, json.loads(text), text))
                except json.JSONDecodeError:
                    out.append((number, None, text))
        return out

    def verify(self) -> tuple[int, list[CustodyFault]]:
        """Check the whole log: (events checked, faults)."""
        faults: list[CustodyFault] = []
        catalog_events = {ev.seq: (ev, stored) for ev, stored, _ in self.catalog.events()}
        recorded_segments = {key: sha for _, _, key, sha in self.catalog.segments()}
        prev_hash = GENESIS_HASH
        expected_seq = 1
        checked = 0
        for key in self.stored_segments():
            where_seg = key
            try:
                if key in recorded_segments:
                    with self.store.open_verified(key) as reader:
                        reader.drain()
                    if reader.sha256 != recorded_segments[key]:
                        faults.append(CustodyFault(where_seg, "segment bytes changed since "
                                                   "they were written (SHA-256 differs)"))
                lines = self.read_segment(key)
            except (IntegrityError, ObjectMissingError) as exc:
                faults.append(CustodyFault(where_seg, f"cannot be read intact: {exc}"))
                continue
            for number, data, _raw in lines:
                where = f"custody event line {number} of {key}"
                if data is None:
                    faults.append(CustodyFault(where, "not valid JSON"))
                    continue
                try:
                    ev = CustodyEvent.from_json(data)
                except (KeyError, TypeError, ValueError):
                    faults.append(CustodyFault(where, "not a custody event"))
                    continue
                where = f"custody event {ev.seq} ({key} line {number})"
                checked += 1
                if ev.seq != expected_seq:
                    faults.append(CustodyFault(where, f"expected event {expected_seq} here"))
                if ev.hash != data.get("hash"):
                    faults.append(CustodyFault(where, "contents do not match the event's hash "
                                               "(edited)"))
                if ev.prev_hash != prev_hash:
                    faults.append(CustodyFault(where, "does not chain to the event before it"))
                known = catalog_events.get(ev.seq)
                if known is not None and known[1] != ev.hash:
                    faults.append(CustodyFault(where, "differs from the catalog's record of it"))
                prev_hash = ev.hash
                expected_seq = ev.seq + 1
        for seq in sorted(s for s in catalog_events if s >= expected_seq):
            ev, stored_hash = catalog_events[seq]
            where = f"custody event {seq} (catalog, not yet in a segment)"
            checked += 1
            if seq != expected_seq:
                faults.append(CustodyFault(where, f"expected event {expected_seq} here"))
            if ev.hash != stored_hash:
                faults.append(CustodyFault(where, "contents do not match the event's hash"))
            if ev.prev_hash != prev_hash:
                faults.append(CustodyFault(where, "does not chain to the event before it"))
            prev_hash = ev.hash
            expected_seq = seq + 1
        head_seq, head_hash = self.catalog.head()
        if head_seq >= expected_seq:
            faults.append(CustodyFault("custody log", f"events {expected_seq}..{head_seq} are "
                                       "missing"))
        elif head_seq and head_hash != prev_hash:
            faults.append(CustodyFault("custody log", "last event does not match the log head"))
        return checked, faults

    def load_from_store(self) -> tuple[list[CustodyEvent], list[tuple[int, int, str, str]]]:
        """Every event in the stored segments (for reindex), with the segment rows."""
        events: list[CustodyEvent] = []
        rows: list[tuple[int, int, str, str]] = []
        for key in self.stored_segments():
            seg_events = []
            for _number, data, _raw in self.read_segment(key):
                if data is not None:
                    seg_events.append(CustodyEvent.from_json(data))
            if not seg_events:
                continue
            with self.store.open_verified(key) as reader:
                reader.drain()
            rows.append((seg_events[0].seq, seg_events[-1].seq, key, reader.sha256))
            events.extend(seg_events)
        return events, rows

