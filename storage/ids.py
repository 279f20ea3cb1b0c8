"""Capture ids that sort by time: UUIDv7 (RFC 9562), made here because Python 3.11's
`uuid` module has no uuid7."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = 0


def uuid7() -> str:
    """A UUIDv7 string; ids made by one process are strictly increasing."""
    global _last
    with _lock:
        ms = time.time_ns() // 1_000_000
        # 48-bit ms timestamp, then 12 bits of sub-ms counter space: bump on ties so
        # ids minted in the same millisecond still sort in creation order.
        stamp = max(ms << 12, _last + 1)
        _last = stamp
    rand = int.from_bytes(os.urandom(8), "big")
    value = (stamp >> 12) << 80  # unix_ts_ms
    value |= 0x7 << 76  # version
    value |= (stamp & 0xFFF) << 64  # rand_a used as a monotonic counter
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))
