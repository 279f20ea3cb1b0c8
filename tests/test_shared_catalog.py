"""One PostgreSQL catalog shared by several processes (workers on several machines):
custody events appended and flushed into store segments at the same time by all of them
stay one unbroken chain, in segments that neither overlap nor leave a gap."""

from __future__ import annotations

import threading

from archivers.custody import CustodyLog
from storage.catalog import Catalog, EventDraft
from storage.objects import LocalObjectStore


def test_concurrent_flushes_write_one_chain_of_distinct_segments(postgres, tmp_path):
    url = postgres.create_database("shared_custody")
    problems: list[BaseException] = []
    start = threading.Barrier(4)

    def worker(n: int) -> None:
        catalog = Catalog.at(url)  # a connection pool of its own, like another machine
        log = CustodyLog(catalog, LocalObjectStore(tmp_path / "store"))
        try:
            start.wait()
            for i in range(15):
                log.record([EventDraft(f"worker-{n}", "capture.requested", f"c{n}-{i}", {})])
                log.flush()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            problems.append(exc)
        finally:
            catalog.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert problems == []
    catalog = Catalog.at(url)
    try:
        log = CustodyLog(catalog, LocalObjectStore(tmp_path / "store"))
        checked, faults = log.verify()
        spans = [(first, last) for first, last, _, _ in catalog.segments()]
    finally:
        catalog.close()
    assert faults == [] and checked == 60
    assert spans[0][0] == 1 and spans[-1][1] == 60
    assert all(b[0] == a[1] + 1 for a, b in zip(spans, spans[1:], strict=False))
