"""The catalog as of Saksi 0.1 (issues 1–7): every table, created where missing.

A catalog made before migrations existed (by SQLAlchemy's create_all) already has some of
these tables: only the missing ones are created, then it is stamped at this revision.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "artifacts" not in existing:
        op.create_table(
            "artifacts",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("capture_id", sa.String(length=36), nullable=False),
            sa.Column("kind", sa.String(length=40), nullable=False),
            sa.Column("sha256", sa.String(length=64), nullable=False),
            sa.Column("bytes", sa.BigInteger(), nullable=False),
            sa.Column("media_type", sa.String(length=200), nullable=False),
            sa.Column("key", sa.Text(), nullable=False),
            sa.Column("name", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_artifacts_capture_id"), "artifacts", ["capture_id"], unique=False)
        op.create_index(op.f("ix_artifacts_sha256"), "artifacts", ["sha256"], unique=False)
    if "captures" not in existing:
        op.create_table(
            "captures",
            sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("case_id", sa.String(length=200), nullable=True),
            sa.Column("status", sa.String(length=20), nullable=False),
            sa.Column("mode", sa.String(length=20), nullable=False),
            sa.Column("requested_url", sa.Text(), nullable=False),
            sa.Column("canonical_url", sa.Text(), nullable=True),
            sa.Column("final_url", sa.Text(), nullable=True),
            sa.Column("platform", sa.String(length=40), nullable=False),
            sa.Column("requested_by", sa.String(length=200), nullable=False),
            sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("error", sa.Text(), nullable=True),
            sa.Column("note", sa.Text(), nullable=True),
            sa.Column("truncated", sa.String(length=20), nullable=True),
            sa.Column("http_status", sa.Integer(), nullable=True),
            sa.Column("storage_state", sa.String(length=20), nullable=False),
            sa.Column("manifest_sha256", sa.String(length=64), nullable=True),
            sa.Column("lease_holder", sa.String(length=200), nullable=True),
            sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
            sa.Column("post", sa.JSON(), nullable=True),
            sa.Column("seals", sa.JSON(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_captures_case_id"), "captures", ["case_id"], unique=False)
        op.create_index(op.f("ix_captures_status"), "captures", ["status"], unique=False)
    if "cases" not in existing:
        op.create_table(
            "cases",
            sa.Column("id", sa.String(length=200), nullable=False),
            sa.Column("title", sa.Text(), nullable=False),
            sa.Column("created_by", sa.String(length=200), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if "custody_events" not in existing:
        op.create_table(
            "custody_events",
            sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("actor", sa.String(length=200), nullable=False),
            sa.Column("action", sa.String(length=40), nullable=False),
            sa.Column("subject", sa.String(length=200), nullable=False),
            sa.Column("details", sa.JSON(), nullable=False),
            sa.Column("prev_hash", sa.String(length=64), nullable=False),
            sa.Column("hash", sa.String(length=64), nullable=False),
            sa.Column("segment_key", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("seq"),
        )
        op.create_index(
            op.f("ix_custody_events_action"), "custody_events", ["action"], unique=False
        )
        op.create_index(
            op.f("ix_custody_events_subject"), "custody_events", ["subject"], unique=False
        )
    if "custody_head" not in existing:
        op.create_table(
            "custody_head",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("seq", sa.BigInteger(), nullable=False),
            sa.Column("hash", sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if "custody_segments" not in existing:
        op.create_table(
            "custody_segments",
            sa.Column("first_seq", sa.BigInteger(), autoincrement=False, nullable=False),
            sa.Column("last_seq", sa.BigInteger(), nullable=False),
            sa.Column("key", sa.Text(), nullable=False),
            sa.Column("sha256", sa.String(length=64), nullable=False),
            sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("first_seq"),
        )
    if "legal_holds" not in existing:
        op.create_table(
            "legal_holds",
            sa.Column("capture_id", sa.String(length=36), nullable=False),
            sa.Column("on", sa.Boolean(), nullable=False),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.Column("changed_by", sa.String(length=200), nullable=False),
            sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("capture_id"),
        )
    if "object_versions" not in existing:
        op.create_table(
            "object_versions",
            sa.Column("key", sa.String(length=1024), nullable=False),
            sa.Column("sha256", sa.String(length=64), nullable=False),
            sa.Column("bytes", sa.BigInteger(), nullable=False),
            sa.Column("version_id", sa.String(length=1024), nullable=False),
            sa.Column("retain_until", sa.DateTime(timezone=True), nullable=True),
            sa.Column("legal_hold", sa.Boolean(), nullable=False),
            sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )
    if "post_checks" not in existing:
        op.create_table(
            "post_checks",
            sa.Column("capture_id", sa.String(length=36), nullable=False),
            sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("result", sa.String(length=30), nullable=False),
            sa.Column("check_capture_id", sa.String(length=36), nullable=True),
            sa.Column("detail", sa.Text(), nullable=True),
        )
        op.create_index(
            op.f("ix_post_checks_capture_id"), "post_checks", ["capture_id"], unique=False
        )
    if "post_tags" not in existing:
        op.create_table(
            "post_tags",
            sa.Column("capture_id", sa.String(length=36), nullable=False),
            sa.Column("kind", sa.String(length=10), nullable=False),
            sa.Column("tag", sa.String(length=300), nullable=False),
        )
        op.create_index(op.f("ix_post_tags_capture_id"), "post_tags", ["capture_id"], unique=False)
        op.create_index(op.f("ix_post_tags_tag"), "post_tags", ["tag"], unique=False)
    if "posts" not in existing:
        op.create_table(
            "posts",
            sa.Column("capture_id", sa.String(length=36), nullable=False),
            sa.Column("platform", sa.String(length=40), nullable=False),
            sa.Column("post_id", sa.String(length=300), nullable=True),
            sa.Column("author_handle", sa.String(length=300), nullable=True),
            sa.Column("author_id", sa.String(length=300), nullable=True),
            sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("caption", sa.Text(), nullable=True),
            sa.Column("state", sa.String(length=20), nullable=False),
            sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("taken_down_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("capture_id"),
        )
        op.create_index(op.f("ix_posts_author_handle"), "posts", ["author_handle"], unique=False)
        op.create_index(op.f("ix_posts_platform"), "posts", ["platform"], unique=False)
        op.create_index(op.f("ix_posts_post_id"), "posts", ["post_id"], unique=False)
        op.create_index(op.f("ix_posts_posted_at"), "posts", ["posted_at"], unique=False)
    if "tracking_rules" not in existing:
        op.create_table(
            "tracking_rules",
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("platform", sa.String(length=40), nullable=False),
            sa.Column("kind", sa.String(length=20), nullable=False),
            sa.Column("target", sa.String(length=300), nullable=False),
            sa.Column("case_id", sa.String(length=200), nullable=True),
            sa.Column("every_seconds", sa.Integer(), nullable=True),
            sa.Column("cron", sa.String(length=200), nullable=True),
            sa.Column("max_posts", sa.Integer(), nullable=False),
            sa.Column("paused", sa.Boolean(), nullable=False),
            sa.Column("created_by", sa.String(length=200), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("last_status", sa.String(length=20), nullable=True),
            sa.Column("last_error", sa.Text(), nullable=True),
            sa.Column("backoff_until", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("name"),
        )
        op.create_index(
            op.f("ix_tracking_rules_next_run_at"), "tracking_rules", ["next_run_at"], unique=False
        )
    if "tracking_runs" not in existing:
        op.create_table(
            "tracking_runs",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("rule", sa.String(length=200), nullable=False),
            sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("status", sa.String(length=20), nullable=False),
            sa.Column("holder", sa.String(length=200), nullable=True),
            sa.Column("listing_capture", sa.String(length=36), nullable=True),
            sa.Column("summary", sa.JSON(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("rule", "due_at", name="one_run_per_window"),
        )
        op.create_index(op.f("ix_tracking_runs_rule"), "tracking_runs", ["rule"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("the catalog is never downgraded: rebuild it with saksi reindex")
