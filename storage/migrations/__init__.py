"""Alembic migrations of the catalog (SQLite and PostgreSQL alike).

Every catalog is brought to `HEAD` when opened: a new one is created by the migrations,
an old one gains what it lacks. `HEAD` is checked with one query, so a catalog already
there costs nothing more to open; a test keeps it equal to Alembic's own head.
"""

from __future__ import annotations

from pathlib import Path

HEAD = "0002_jobs"
SCRIPTS = Path(__file__).resolve().parent
MIGRATION_LOCK = 0x5A4B4D47  # PostgreSQL advisory lock held while migrating


def upgrade(engine) -> None:
    """Run the migrations up to HEAD on `engine`, in one transaction."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Workers starting together on a new shared catalog: one migrates, the others
            # wait here and then find it current (SQLite serialises writers by itself).
            from sqlalchemy import text

            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
