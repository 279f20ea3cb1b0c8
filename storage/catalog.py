"""The catalog: an index of cases, captures, artifacts and custody events.

SQLite in the data dir by default, written with SQLAlchemy Core in a schema that also
runs on PostgreSQL. The object store stays the source of truth; `saksi reindex` rebuilds
this database from it. Custody sequence numbers are taken here, inside the transaction
that records the event, so several processes can append to one log safely.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine

from . import jobs as job_rows
from . import migrations, post_index, tracking
from .records import GENESIS_HASH, Artifact, Capture, CustodyEvent, iso, utcnow

metadata = MetaData()
SEGMENT_LOCK = 0x5A4B5349  # PostgreSQL advisory lock: writing the next custody segment

cases = Table(
    "cases", metadata,
    Column("id", String(200), primary_key=True),
    Column("title", Text, nullable=False, default=""),
    Column("created_by", String(200), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

captures = Table(
    "captures", metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(200), index=True),
    Column("status", String(20), nullable=False, index=True),
    Column("mode", String(20), nullable=False),
    Column("requested_url", Text, nullable=False),
    Column("canonical_url", Text),
    Column("final_url", Text),
    Column("platform", String(40), nullable=False, default="generic"),
    Column("requested_by", String(200), nullable=False, default=""),
    Column("requested_at", DateTime(timezone=True)),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("error", Text),
    Column("note", Text),
    Column("truncated", String(20)),
    Column("http_status", Integer),
    Column("storage_state", String(20), nullable=False, default="stored"),
    Column("manifest_sha256", String(64)),
    Column("lease_holder", String(200)),
    Column("lease_until", DateTime(timezone=True)),
    Column("post", JSON),
    Column("seals", JSON),
)

artifacts = Table(
    "artifacts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("capture_id", String(36), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("bytes", BigInteger, nullable=False),
    Column("media_type", String(200), nullable=False),
    Column("key", Text, nullable=False),
    Column("name", Text, nullable=False, default=""),
)

custody_events = Table(
    "custody_events", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(40), nullable=False, index=True),
    Column("subject", String(200), nullable=False, index=True),
    Column("details", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("segment_key", Text),
)

custody_segments = Table(
    "custody_segments", metadata,
    Column("first_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("key", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("written_at", DateTime(timezone=True), nullable=False),
)

# The S3 object version Saksi wrote at each key: every later read asks for exactly it.
object_versions = Table(
    "object_versions", metadata,
    Column("key", String(1024), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("version_id", String(1024), nullable=False),
    Column("retain_until", DateTime(timezone=True)),
    Column("legal_hold", Boolean, nullable=False, default=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
)

# The current legal hold of each capture that ever had one (the history is in custody).
legal_holds = Table(
    "legal_holds", metadata,
    Column("capture_id", String(36), primary_key=True),
    Column("on", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_by", String(200), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

posts, post_tags, post_checks = post_index.define(metadata)
tracking_rules, tracking_runs = tracking.define(metadata)
jobs = job_rows.define(metadata)

# One row: the head of the custody chain, locked by each appender (FOR UPDATE on
# PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE).
custody_head = Table(
    "custody_head", metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)


@dataclass
class EventDraft:
    """A custody event before the catalog gives it a sequence number."""

    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    at: datetime | None = None


class Catalog:
    def __init__(self, url: str):
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            _sqlite_immediate_transactions(self.engine)
        if self.schema_version() != migrations.HEAD:
            migrations.upgrade(self.engine)
        from sqlalchemy.exc import IntegrityError

        try:
            with self.write() as conn:
                if conn.execute(select(custody_head.c.id)).first() is None:
                    conn.execute(custody_head.insert().values(id=1, seq=0, hash=GENESIS_HASH))
        except IntegrityError:
            pass  # another process opening the same new catalog made it first

    def schema_version(self) -> str | None:
        """The Alembic revision the catalog is at; None for a new (or pre-migration) one."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    @classmethod
    def at(cls, url: str) -> Catalog:
        """The catalog at `catalog.url`: PostgreSQL through psycopg 3."""
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return cls(url)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> Catalog:
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{(data_dir / 'catalog.sqlite').resolve()}")

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def write(self, durable: bool = True) -> Iterator[Connection]:
        """A write transaction (on SQLite it takes the write lock at BEGIN).

        `durable=False` is for bookkeeping that a crash may lose without harm (leases:
        an unrecorded lease leaves the capture pending); on SQLite its commit skips the
        fsync. Evidence states and custody events always commit durably.
        """
        mode = "durable" if durable else "fast"
        with self.engine.connect().execution_options(saksi_write=mode) as conn:
            with conn.begin():
                yield conn

    # ---- captures ------------------------------------------------------------

    def insert_captures(self, conn: Connection, new: list[Capture]) -> None:
        if new:
            conn.execute(captures.insert(), [_capture_row(c) for c in new])

    def ensure_case(self, conn: Connection, case_id: str, actor: str) -> bool:
        """Create the case row if new; True when it was created."""
        if conn.execute(select(cases.c.id).where(cases.c.id == case_id)).first():
            return False
        conn.execute(cases.insert().values(id=case_id, title="", created_by=actor,
                                           created_at=utcnow()))
        return True

    def lease(self, conn: Connection, capture_ids: list[str], holder: str, until: datetime,
              started_at: datetime) -> set[str]:
        """Take pending captures for this process; returns the ids it got (another
        process may have taken some)."""
        conn.execute(
            update(captures)
            .where(captures.c.id.in_(capture_ids), captures.c.status == "pending")
            .values(status="running", lease_holder=holder, lease_until=until,
                    started_at=started_at)
        )
        rows = conn.execute(select(captures.c.id).where(
            captures.c.id.in_(capture_ids), captures.c.lease_holder == holder,
            captures.c.lease_until == until)).all()
        return {r.id for r in rows}

    def finish_capture(self, conn: Connection, capture: Capture) -> None:
        self.finish_captures(conn, [capture])

    def finish_captures(self, conn: Connection, done: list[Capture]) -> None:
        """Record final states and artifacts of many captures with few statements."""
        if not done:
            return
        rows = []
        for capture in done:
            row = {f"new_{k}": v for k, v in _capture_row(capture).items() if k != "id"}
            rows.append({"key_id": capture.id, **row, "new_lease_holder": None,
                         "new_lease_until": None})
        columns = [k[len("new_"):] for k in rows[0] if k.startswith("new_")]
        # Only open captures change: a final state is never overwritten (a capture that
        # recovery already failed stays failed even if a late sealer reports it).
        conn.execute(
            update(captures).where(captures.c.id == bindparam("key_id"),
                                   or_(captures.c.status == "pending",
                                       captures.c.status == "running"))
            .values({name: bindparam(f"new_{name}") for name in columns}),
            rows,
        )
        ids = [c.id for c in done]
        conn.execute(artifacts.delete().where(artifacts.c.capture_id.in_(ids)))
        new_rows = [{"capture_id": c.id, **a.to_json()} for c in done for a in c.artifacts]
        if new_rows:
            conn.execute(artifacts.insert(), new_rows)
        post_index.record_posts(conn, posts, post_tags, done)

    # ---- tracking rules -------------------------------------------------------

    def add_rule(self, rule: tracking.Rule) -> bool:
        """False when a rule of that name exists already."""
        with self.write() as conn:
            if conn.execute(select(tracking_rules.c.name).where(
                    tracking_rules.c.name == rule.name)).first():
                return False
            conn.execute(tracking_rules.insert().values(
                name=rule.name, platform=rule.platform, kind=rule.kind, target=rule.target,
                case_id=rule.case_id, every_seconds=rule.every_seconds, cron=rule.cron,
                max_posts=rule.max_posts, paused=rule.paused, created_by=rule.created_by,
                created_at=rule.created_at, next_run_at=rule.next_run_at))
        return True

    def rules(self) -> list[tracking.Rule]:
        with self.engine.connect() as conn:
            return tracking.all_rules(conn, tracking_rules, _aware)

    def update_rule(self, name: str, **values: Any) -> bool:
        """False when there is no such rule."""
        with self.write() as conn:
            return conn.execute(update(tracking_rules).where(
                tracking_rules.c.name == name).values(**values)).rowcount > 0

    def start_run(self, rule: str, due_at: datetime, started_at: datetime,
                  holder: str = "", holder_is_dead: Any = None,
                  abandoned_before: datetime | None = None) -> int | None:
        """The run of `rule` for the window `due_at`; None when that window already has
        one that finished or is running elsewhere: never two runs for one window. A run
        whose process died, or (another machine's) started before `abandoned_before`, is
        taken over (so a restart neither repeats nor skips it)."""
        from sqlalchemy.exc import IntegrityError

        try:
            with self.write() as conn:
                return conn.execute(tracking_runs.insert().values(
                    rule=rule, due_at=due_at, started_at=started_at, status="running",
                    holder=holder)).inserted_primary_key[0]
        except IntegrityError:
            pass
        with self.write() as conn:
            row = conn.execute(select(tracking_runs).where(
                tracking_runs.c.rule == rule, tracking_runs.c.due_at == due_at)).first()
            if row is None or row.status != "running":
                return None
            abandoned = (abandoned_before is not None
                         and _aware(row.started_at) < abandoned_before)
            if not (abandoned or (holder_is_dead is not None and holder_is_dead(row.holder))):
                return None
            taken = conn.execute(update(tracking_runs).where(
                tracking_runs.c.id == row.id, tracking_runs.c.holder == row.holder).values(
                holder=holder, started_at=started_at)).rowcount
            return row.id if taken else None

    def runs(self, rule: str | None = None) -> list[dict[str, Any]]:
        query = select(tracking_runs).order_by(tracking_runs.c.id)
        if rule:
            query = query.where(tracking_runs.c.rule == rule)
        with self.engine.connect() as conn:
            return [{"id": r.id, "rule": r.rule, "due_at": iso(_aware(r.due_at)),
                     "started_at": iso(_aware(r.started_at)),
                     "finished_at": iso(_aware(r.finished_at)), "status": r.status,
                     "listing_capture": r.listing_capture, "summary": r.summary}
                    for r in conn.execute(query)]

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any],
                   finished_at: datetime, rule_values: dict[str, Any]) -> None:
        with self.write() as conn:
            row = conn.execute(select(tracking_runs.c.rule).where(
                tracking_runs.c.id == run_id)).first()
            conn.execute(update(tracking_runs).where(tracking_runs.c.id == run_id).values(
                status=status, summary=summary, finished_at=finished_at,
                listing_capture=summary.get("listing_capture")))
            if row is not None:
                conn.execute(update(tracking_rules).where(
                    tracking_rules.c.name == row.rule).values(**rule_values))

    # ---- distributed jobs (storage/jobs.py) -----------------------------------------

    def add_jobs(self, drafts: list[job_rows.Job], now: datetime,
                 rule_next: dict[str, datetime] | None = None) -> list[str]:
        """Record jobs by idempotency key (a known key is not added twice) and, in the same
        transaction, move the rules they run to their next window; returns the new keys."""
        with self.write() as conn:
            added = job_rows.add(conn, jobs, drafts, now)
            if rule_next:
                conn.execute(update(tracking_rules).where(
                    tracking_rules.c.name == bindparam("rule_name")).values(
                    next_run_at=bindparam("next_at")),
                    [{"rule_name": n, "next_at": t} for n, t in rule_next.items()])
        return added

    def unsent_jobs(self, limit: int = 5000) -> list[job_rows.Job]:
        """Queued jobs the broker has not confirmed taking (beat sends them)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(jobs).where(
                jobs.c.state == job_rows.QUEUED, jobs.c.enqueued_at.is_(None))
                .order_by(jobs.c.created_at).limit(limit))
            return [job_rows.job_from_row(r, _aware) for r in rows]

    def mark_sent(self, sent: dict[str, datetime]) -> None:
        if not sent:
            return
        with self.write(durable=False) as conn:
            conn.execute(update(jobs).where(jobs.c.key == bindparam("job_key")).values(
                enqueued_at=bindparam("at")),
                [{"job_key": k, "at": t} for k, t in sent.items()])

    def claim_job(self, key: str, holder: str, now: datetime, until: datetime,
                  holder_is_dead: Any) -> job_rows.Claim:
        """Take a delivered job for this worker, unless it finished or a live holder runs
        it (see storage/jobs.py)."""
        with self.write() as conn:
            return job_rows.claim(conn, jobs, key, holder, now, until, holder_is_dead, _aware)

    def renew_job(self, key: str, holder: str, until: datetime) -> bool:
        """Extend a running job's lease, if this holder still has it (a long rule run
        must not look abandoned to a second delivery of its job)."""
        with self.write(durable=False) as conn:
            return conn.execute(update(jobs).where(
                jobs.c.key == key, jobs.c.holder == holder,
                jobs.c.state == job_rows.RUNNING).values(lease_until=until)).rowcount > 0

    def update_job(self, key: str, **values: Any) -> None:
        with self.write() as conn:
            conn.execute(update(jobs).where(jobs.c.key == key).values(**values))

    def get_job(self, key: str) -> job_rows.Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.key == key)).first()
            return job_rows.job_from_row(row, _aware) if row is not None else None

    def list_jobs(self, state: str | None = None, kind: str | None = None,
                  rule: str | None = None) -> list[job_rows.Job]:
        query = select(jobs).order_by(jobs.c.created_at, jobs.c.key)
        if state:
            query = query.where(jobs.c.state == state)
        if kind:
            query = query.where(jobs.c.kind == kind)
        if rule:
            query = query.where(jobs.c.kind == "rule", jobs.c.subject == rule)
        with self.engine.connect() as conn:
            return [job_rows.job_from_row(r, _aware) for r in conn.execute(query)]

    def stale_jobs(self, now: datetime) -> list[job_rows.Job]:
        """Running jobs whose lease ran out: their worker is gone (beat sends them again;
        the claim makes a second delivery harmless)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(jobs).where(
                jobs.c.state == job_rows.RUNNING, jobs.c.lease_until < now))
            return [job_rows.job_from_row(r, _aware) for r in rows]

    def remove_rule(self, name: str) -> bool:
        with self.write() as conn:
            return conn.execute(tracking_rules.delete().where(
                tracking_rules.c.name == name)).rowcount > 0

    def post_state(self, capture_id: str) -> dict[str, Any] | None:
        """What re-checks found of a captured post: state, when last checked, when it was
        first seen taken down or changed, and each check."""
        with self.engine.connect() as conn:
            row = conn.execute(select(posts).where(posts.c.capture_id == capture_id)).first()
            checks = conn.execute(select(post_checks).where(
                post_checks.c.capture_id == capture_id).order_by(post_checks.c.checked_at)).all()
        if row is None or (row.last_checked_at is None and not checks):
            return None  # never re-checked
        return {"state": row.state, "last_checked_at": iso(_aware(row.last_checked_at)),
                "taken_down_at": iso(_aware(row.taken_down_at)),
                "changed_at": iso(_aware(row.changed_at)),
                "checks": [{"checked_at": iso(_aware(c.checked_at)), "result": c.result,
                            "check_capture": c.check_capture_id, "detail": c.detail}
                           for c in checks]}

    def search(self, found: post_index.PostFilter) -> list[Capture]:
        """Captures matching a post search (see post_index.PostFilter), oldest first."""
        with self.engine.connect() as conn:
            ids = post_index.search_ids(conn, captures, posts, post_tags, found)
            rows = []
            for start in range(0, len(ids), 500):
                rows += conn.execute(select(captures).where(
                    captures.c.id.in_(ids[start:start + 500]))).all()
            rows.sort(key=lambda row: row.id)
            return self._captures_from_rows(conn, rows)

    def running(self) -> list[tuple[str, str | None, datetime | None]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(captures.c.id, captures.c.lease_holder, captures.c.lease_until)
                .where(captures.c.status == "running")
            ).all()
        return [(r.id, r.lease_holder, _aware(r.lease_until)) for r in rows]

    def get_capture(self, capture_id: str) -> Capture | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(captures).where(captures.c.id == capture_id)).first()
            if row is None:
                return None
            return self._captures_from_rows(conn, [row])[0]

    def find_capture_ids(self, prefix: str) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(captures.c.id).where(captures.c.id.startswith(prefix, autoescape=True))
                .limit(3)
            ).all()
        return [r.id for r in rows]

    def list_captures(self, case: str | None = None, status: str | None = None,
                      limit: int | None = None) -> list[Capture]:
        query = select(captures).order_by(captures.c.id)
        if case:
            query = query.where(captures.c.case_id == case)
        if status:
            query = query.where(captures.c.status == status)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return self._captures_from_rows(conn, conn.execute(query).all())

    def _captures_from_rows(self, conn: Connection, rows: list[Any]) -> list[Capture]:
        """Captures with their artifacts, fetched in a few queries (not one per row)."""
        by_capture: dict[str, list[Any]] = {}
        ids = [row.id for row in rows]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for a in conn.execute(select(artifacts).where(artifacts.c.capture_id.in_(chunk))
                                  .order_by(artifacts.c.id)):
                by_capture.setdefault(a.capture_id, []).append(a)
        holds = {}
        for start in range(0, len(ids), 500):
            for h in conn.execute(select(legal_holds).where(
                    legal_holds.c.capture_id.in_(ids[start:start + 500]))):
                holds[h.capture_id] = {"on": bool(h.on), "reason": h.reason,
                                       "changed_by": h.changed_by,
                                       "changed_at": iso(_aware(h.changed_at))}
        found = [_capture_from_row(row, by_capture.get(row.id, [])) for row in rows]
        for capture in found:
            capture.legal_hold = holds.get(capture.id)
        return found


    # ---- custody -------------------------------------------------------------

    def append_events(self, conn: Connection, drafts: Iterable[EventDraft]) -> list[CustodyEvent]:
        """Chain and number events inside the caller's transaction."""
        drafts = list(drafts)
        if not drafts:
            return []
        head = conn.execute(
            select(custody_head.c.seq, custody_head.c.hash)
            .where(custody_head.c.id == 1).with_for_update()
        ).one()
        seq, prev = head.seq, head.hash
        made: list[CustodyEvent] = []
        for draft in drafts:
            seq += 1
            ev = CustodyEvent(seq=seq, at=draft.at or utcnow(), actor=draft.actor,
                              action=draft.action, subject=draft.subject,
                              details=draft.details, prev_hash=prev)
            prev = ev.hash
            made.append(ev)
        conn.execute(custody_events.insert(), [_event_row(ev) for ev in made])
        conn.execute(update(custody_head).where(custody_head.c.id == 1)
                     .values(seq=seq, hash=prev))
        return made

    def events(self, subject: str | None = None, after: int = 0,
               unsegmented_only: bool = False) -> list[tuple[CustodyEvent, str, str | None]]:
        """(event, stored hash, segment key) in sequence order."""
        query = select(custody_events).where(custody_events.c.seq > after)
        if subject:
            query = query.where(custody_events.c.subject == subject)
        if unsegmented_only:
            query = query.where(custody_events.c.segment_key.is_(None))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(custody_events.c.seq)).all()
        return [(_event_from_row(r), r.hash, r.segment_key) for r in rows]

    def head(self) -> tuple[int, str]:
        with self.engine.connect() as conn:
            row = conn.execute(select(custody_head.c.seq, custody_head.c.hash)).one()
        return row.seq, row.hash

    def segments(self) -> list[tuple[int, int, str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(custody_segments).order_by(custody_segments.c.first_seq))
            return [(r.first_seq, r.last_seq, r.key, r.sha256) for r in rows]

    def lock_segments(self, conn: Connection) -> None:
        """Hold the right to write the next custody segment until this transaction ends.
        SQLite has it already (its write lock is taken at BEGIN); on PostgreSQL several
        workers flush at once, and two must not number the same segment."""
        if self.engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEGMENT_LOCK})

    def last_segmented_seq(self, conn: Connection) -> int:
        value = conn.execute(select(func.max(custody_segments.c.last_seq))).scalar()
        return int(value or 0)

    def unsegmented(self, conn: Connection, after: int) -> list[CustodyEvent]:
        rows = conn.execute(
            select(custody_events).where(custody_events.c.seq > after)
            .order_by(custody_events.c.seq)
        ).all()
        return [_event_from_row(r) for r in rows]

    def record_segment(self, conn: Connection, first: int, last: int, key: str,
                       sha256: str) -> None:
        conn.execute(custody_segments.insert().values(
            first_seq=first, last_seq=last, key=key, sha256=sha256, written_at=utcnow()))
        conn.execute(update(custody_events)
                     .where(custody_events.c.seq >= first, custody_events.c.seq <= last)
                     .values(segment_key=key))

    # ---- object versions (S3) -------------------------------------------------

    def version_of(self, key: str) -> str | None:
        """The version Saksi recorded for a key, or None (not uploaded yet)."""
        with self.engine.connect() as conn:
            return conn.execute(select(object_versions.c.version_id)
                                .where(object_versions.c.key == key)).scalar()

    def recorded_versions(self, keys: list[str]) -> dict[str, Any]:
        """Rows of object_versions for these keys (retain-until, legal hold)."""
        out: dict[str, Any] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                for row in conn.execute(select(object_versions).where(
                        object_versions.c.key.in_(keys[start:start + 500]))):
                    out[row.key] = row
        return out

    def record_versions(self, conn: Connection, stored: list[Any]) -> None:
        """Insert or refresh the version rows of uploaded objects (StoredObject)."""
        now = utcnow()
        for obj in stored:
            values = {"sha256": obj.sha256, "bytes": obj.bytes, "version_id": obj.version_id,
                      "retain_until": obj.retain_until, "legal_hold": obj.legal_hold,
                      "stored_at": now}
            changed = conn.execute(update(object_versions)
                                   .where(object_versions.c.key == obj.key)
                                   .values(**values)).rowcount
            if not changed:
                conn.execute(object_versions.insert().values(key=obj.key, **values))

    def set_object_hold(self, conn: Connection, key: str, on: bool) -> None:
        conn.execute(update(object_versions).where(object_versions.c.key == key)
                     .values(legal_hold=on))

    def version_totals(self) -> tuple[int, int]:
        with self.engine.connect() as conn:
            row = conn.execute(select(func.count(), func.coalesce(
                func.sum(object_versions.c.bytes), 0))).one()
        return int(row[0]), int(row[1])

    def artifact_totals(self) -> tuple[int, int]:
        """Distinct stored objects and their bytes, as the catalog knows them."""
        inner = select(artifacts.c.key, func.max(artifacts.c.bytes).label("bytes")) \
            .group_by(artifacts.c.key).subquery()
        with self.engine.connect() as conn:
            row = conn.execute(select(func.count(), func.coalesce(
                func.sum(inner.c.bytes), 0))).one()
        return int(row[0]), int(row[1])

    def set_seals(self, conn: Connection, capture_id: str, seals: list[dict[str, Any]]
                  ) -> None:
        conn.execute(update(captures).where(captures.c.id == capture_id).values(seals=seals))

    def set_storage_state(self, conn: Connection, capture_ids: list[str], state: str) -> None:
        if capture_ids:
            conn.execute(update(captures).where(captures.c.id.in_(capture_ids))
                         .values(storage_state=state))

    def pending_upload_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(captures.c.id)
                                .where(captures.c.storage_state == "pending_upload")
                                .order_by(captures.c.id)).all()
        return [r.id for r in rows]

    def captures_sharing(self, keys: list[str], other_than: str) -> dict[str, set[str]]:
        """For each key, the other captures whose artifacts include it."""
        out: dict[str, set[str]] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(artifacts.c.key, artifacts.c.capture_id).where(
                artifacts.c.key.in_(keys), artifacts.c.capture_id != other_than)).all()
        for row in rows:
            out.setdefault(row.key, set()).add(row.capture_id)
        return out

    # ---- legal holds -----------------------------------------------------------

    def holds(self, capture_ids: list[str] | None = None) -> dict[str, bool]:
        query = select(legal_holds.c.capture_id, legal_holds.c.on)
        if capture_ids is not None:
            query = query.where(legal_holds.c.capture_id.in_(capture_ids))
        with self.engine.connect() as conn:
            return {r.capture_id: bool(r.on) for r in conn.execute(query)}

    def set_hold(self, conn: Connection, capture_id: str, on: bool, reason: str,
                 actor: str, at: datetime | None = None) -> None:
        values = {"on": on, "reason": reason, "changed_by": actor,
                  "changed_at": at or utcnow()}
        changed = conn.execute(update(legal_holds).where(legal_holds.c.capture_id == capture_id)
                               .values(**values)).rowcount
        if not changed:
            conn.execute(legal_holds.insert().values(capture_id=capture_id, **values))

    # ---- rebuilding ------------------------------------------------------------

    def load_rebuilt(self, capture_list: list[Capture], case_rows: list[dict[str, Any]],
                     events: list[CustodyEvent],
                     segment_rows: list[tuple[int, int, str, str]],
                     versions: list[Any] | None = None,
                     holds: dict[str, tuple[bool, str, str, datetime]] | None = None) -> None:
        """Fill an empty catalog from what the store holds (used by reindex)."""
        with self.write() as conn:
            for row in case_rows:
                conn.execute(cases.insert().values(**row))
            self.insert_captures(conn, capture_list)
            art_rows = [{"capture_id": c.id, **a.to_json()} for c in capture_list
                        for a in c.artifacts]
            if art_rows:
                conn.execute(artifacts.insert(), art_rows)
            post_index.record_posts(conn, posts, post_tags, capture_list)
            if events:
                conn.execute(custody_events.insert(), [_event_row(ev) for ev in events])
                conn.execute(update(custody_head).where(custody_head.c.id == 1)
                             .values(seq=events[-1].seq, hash=events[-1].hash))
            for first, last, key, sha in segment_rows:
                self.record_segment(conn, first, last, key, sha)
            if versions:
                self.record_versions(conn, versions)
            for capture_id, (on, reason, actor, at) in (holds or {}).items():
                self.set_hold(conn, capture_id, on, reason, actor, at)

def _capture_row(capture: Capture) -> dict[str, Any]:
    return {
        "id": capture.id, "case_id": capture.case, "status": capture.status,
        "mode": capture.mode, "requested_url": capture.requested_url,
        "canonical_url": capture.canonical_url, "final_url": capture.final_url,
        "platform": capture.platform, "requested_by": capture.requested_by,
        "requested_at": capture.requested_at, "started_at": capture.started_at,
        "finished_at": capture.finished_at, "error": capture.error, "note": capture.note,
        "truncated": capture.truncated, "http_status": capture.http_status,
        "storage_state": capture.storage_state, "manifest_sha256": capture.manifest_sha256,
        "post": capture.post, "seals": capture.seals,
    }


def _event_row(ev: CustodyEvent) -> dict[str, Any]:
    return {"seq": ev.seq, "at": ev.at, "actor": ev.actor, "action": ev.action,
            "subject": ev.subject, "details": ev.details, "prev_hash": ev.prev_hash,
            "hash": ev.hash}


def _event_from_row(row: Any) -> CustodyEvent:
    details = row.details if isinstance(row.details, dict) else json.loads(row.details)
    return CustodyEvent(seq=row.seq, at=_aware(row.at), actor=row.actor, action=row.action,
                        subject=row.subject, details=details, prev_hash=row.prev_hash)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were stored as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _sqlite_immediate_transactions(engine: Engine) -> None:
    """Serialise writers: pysqlite's deferred BEGIN lets two processes read the same
    custody head and both append after it. BEGIN IMMEDIATE takes the write lock first."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("saksi_write")
        if write:
            sync = "FULL" if write == "durable" else "NORMAL"
            conn.exec_driver_sql(f"PRAGMA synchronous={sync}")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _capture_from_row(row: Any, arts: list[Any]) -> Capture:
    return Capture(
        id=row.id, case=row.case_id, requested_url=row.requested_url, mode=row.mode,
        status=row.status, canonical_url=row.canonical_url, final_url=row.final_url,
        platform=row.platform, requested_by=row.requested_by,
        requested_at=_aware(row.requested_at), started_at=_aware(row.started_at),
        finished_at=_aware(row.finished_at), error=row.error, note=row.note,
        truncated=row.truncated, http_status=row.http_status,
        storage_state=row.storage_state, manifest_sha256=row.manifest_sha256,
        artifacts=[Artifact(kind=a.kind, sha256=a.sha256, bytes=a.bytes,
                            media_type=a.media_type, key=a.key, name=a.name) for a in arts],
        seals=list(row.seals or []), post=row.post,
    )
