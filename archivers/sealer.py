"""The sealer: seals finished captures in groups, on a process of its own.

Sealing (re-hashing spools, compressing WARC records, building manifests, durable
writes, the catalog transaction) is CPU and I/O work that must not slow the crawl. A
thread would share the interpreter lock with Scrapy's reactor; a separate process (spawned,
never forked from a running reactor or browser) uses the second core. Finished captures go
in through a queue; each group is made durable with one DurableBatch and recorded in one
catalog transaction, and only then reported back as sealed.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from config import Settings
from storage.catalog import EventDraft
from storage.records import FAILED, PENDING_UPLOAD, Capture

from .evidence import Evidence
from .sealing import CaptureRun, SealContext, SealedCapture, add_timestamps, seal_capture
from .warc import DigestMismatch

SEAL_BATCH = 64
SEAL_LINGER_SECONDS = 0.25
FLUSH = "flush"  # seal what is waiting now, without lingering for more


def one_line(text: str) -> str:
    return " ".join(str(text).split())[:500]


class Sealer:
    """Runs `seal_worker` in a spawned process; reports sealed captures to `on_sealed`.

    One crawl uses it and closes it; a long-lived crawler (saksi/crawl_host.py) keeps it
    across crawls, pointing `on_sealed` at each crawl's session and `drain`ing at the end.
    """

    def __init__(self, settings: Settings, on_sealed: Callable[[Capture], None]):
        ctx = multiprocessing.get_context("spawn")
        self._jobs = ctx.Queue()
        self._done = ctx.Queue()
        self.on_sealed = on_sealed
        self._pending: dict[str, CaptureRun] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._process = ctx.Process(target=seal_worker, args=(settings, self._jobs, self._done),
                                    name="saksi-sealer", daemon=True)
        self._process.start()
        self._reader = threading.Thread(target=self._read_results, name="saksi-sealed",
                                        daemon=True)
        self._reader.start()
        self._settings = settings

    def submit(self, run: CaptureRun) -> None:
        with self._lock:
            self._pending[run.capture.id] = run
        self._jobs.put(run)

    def close(self) -> None:
        """Wait until everything submitted is sealed (or recorded as failed)."""
        self._jobs.put(None)
        self._reader.join()
        self._process.join(timeout=30)

    def drain(self) -> None:
        """Wait until everything submitted is sealed (or recorded as failed), and keep
        the sealer running for the next crawl."""
        self._jobs.put(FLUSH)
        with self._idle:
            while self._pending and self._reader.is_alive():
                self._idle.wait(0.5)

    @property
    def alive(self) -> bool:
        return self._process.is_alive() and self._reader.is_alive()

    def _read_results(self) -> None:
        while True:
            try:
                capture = self._done.get(timeout=1.0)
            except queue.Empty:
                if self._process.is_alive():
                    continue
                self._fail_lost()
                return
            if capture is None:
                self._fail_lost()  # the worker ended: anything it did not report failed
                return
            self.on_sealed(capture)
            with self._lock:
                self._pending.pop(capture.id, None)
                self._idle.notify_all()

    def _fail_lost(self) -> None:
        """The sealer process ended without sealing these: failed, bytes quarantined."""
        with self._lock:
            lost = list(self._pending.values())
        if lost:
            evidence = Evidence.open(self._settings)
            try:
                for run in lost:
                    self.on_sealed(fail_run(evidence, run, "could not seal: the sealer "
                                            f"process stopped (exit code "
                                            f"{self._process.exitcode})"))
            finally:
                evidence.close()
        with self._lock:
            self._pending.clear()
            self._idle.notify_all()


def seal_worker(settings: Settings, jobs, done) -> None:
    """The sealer process: group, seal, report, until the None sentinel arrives."""
    evidence = Evidence.open(settings)
    context = evidence.seal_context()
    parent = multiprocessing.parent_process()
    finished = False
    try:
        while not finished:
            try:
                first = jobs.get(timeout=1.0)
            except queue.Empty:
                if parent is not None and not parent.is_alive():
                    return  # killed parent: its open captures are recovered as interrupted
                continue
            if first is None:
                break
            if first == FLUSH:
                continue
            runs = [first]
            # Group commit: wait a moment for more finished captures, so a slow site's
            # trickle still shares one sync and one transaction per group.
            linger_until = time.monotonic() + SEAL_LINGER_SECONDS
            while len(runs) < SEAL_BATCH:
                try:
                    nxt = jobs.get(timeout=max(0.0, linger_until - time.monotonic()))
                except queue.Empty:
                    break
                if nxt is None:
                    finished = True
                    break
                if nxt == FLUSH:
                    break
                runs.append(nxt)
            for capture in seal_group(evidence, context, runs):
                done.put(capture)
    finally:
        evidence.close()
        done.put(None)


def seal_group(evidence: Evidence, context: SealContext, runs: list[CaptureRun]
               ) -> list[Capture]:
    """Seal runs together: one durable batch, one catalog transaction."""
    sealed: list[SealedCapture] = []
    results: list[Capture] = []
    try:
        with evidence.store.batch() as batch:
            for run in runs:
                try:
                    sealed.append(seal_capture(run, context, batch))
                except (DigestMismatch, OSError) as exc:
                    results.append(fail_run(evidence, run, f"could not seal: {one_line(exc)}"))
            add_timestamps(sealed, context, batch)
        for item in sealed:
            item.resolve(batch, local=not evidence.uploads)
            if evidence.uploads:
                item.capture.storage_state = PENDING_UPLOAD  # until published below
        with evidence.catalog.write() as conn:
            evidence.catalog.finish_captures(conn, [item.capture for item in sealed])
            evidence.catalog.append_events(
                conn, [draft for item in sealed for draft in item.events])
    except Exception as exc:  # the batch did not become durable: nothing of it is sealed
        by_id = {run.capture.id: run for run in runs}
        return results + [fail_run(evidence, by_id[item.capture.id],
                                   f"could not store evidence: {one_line(exc)}")
                          for item in sealed]
    for run in runs:
        clear_work(evidence, run)
    if evidence.uploads:
        publish_sealed(evidence, [item.capture for item in sealed])
    return results + [item.capture for item in sealed]


def publish_sealed(evidence: Evidence, captures: list[Capture]) -> None:
    """Upload a sealed group; a failure leaves it pending in the spool, never lost."""
    from .publish import Publisher

    try:
        Publisher(evidence).publish(captures)
    except Exception as exc:  # the spool holds them: `saksi sync` finishes the job
        drafts = [EventDraft(evidence.actor, "upload.pending", c.id,
                             {"reason": one_line(exc)}) for c in captures]
        with evidence.catalog.write() as conn:
            evidence.catalog.append_events(conn, drafts)


def fail_run(evidence: Evidence, run: CaptureRun, error: str) -> Capture:
    capture = run.capture
    kept = evidence.quarantine(capture.id)
    capture.status = FAILED
    capture.error = error
    capture.artifacts = []
    capture.manifest_sha256 = None
    with evidence.catalog.write() as conn:
        evidence.catalog.finish_capture(conn, capture)
        evidence.catalog.append_events(conn, [EventDraft(
            evidence.actor, "capture.failed", capture.id, {"error": error, "quarantine": kept})])
    return capture


def clear_work(evidence: Evidence, run: CaptureRun) -> None:
    """Spools that went into the sealed WARC are removed; any other bytes (a partial
    response that never completed its head) go to quarantine, never lost."""
    if run.work_dir is None or not run.work_dir.exists():
        return
    archived = {ex.response_spool for ex in run.exchanges if ex.got_response}
    leftovers = False
    with os.scandir(run.work_dir) as entries:
        for entry in entries:
            path = Path(entry.path)
            if path in archived or entry.stat().st_size == 0:
                path.unlink()
            else:
                leftovers = True
    if leftovers:
        evidence.quarantine(run.capture.id)
    else:
        run.work_dir.rmdir()

