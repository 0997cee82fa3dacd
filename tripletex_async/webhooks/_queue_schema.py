"""The webhook queue file's tables (schema version 3) and the migrations from versions 1
and 2.

Version 2 -> 3 adds ``events.dead_reason`` with ``ALTER TABLE ... ADD COLUMN``: a
nullable column without a default changes only the schema, not a row (SQLite reads it
as NULL from rows written before), so it costs nothing on a queue of any size and
leaves every event where it was.

See `_queue` for what each table holds and why. Everything here runs in the queue's
worker thread, inside its connection.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

__all__ = [
    "APPLIED",
    "DEAD",
    "PENDING",
    "SCHEMA_VERSION",
    "create_or_migrate",
    "read_meta",
]

SCHEMA_VERSION = 3
PENDING, APPLIED, DEAD = 0, 1, 2
_EVENTS = (
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "key TEXT NOT NULL UNIQUE, subscription_id INTEGER NOT NULL, "
    "company_id INTEGER NOT NULL, event TEXT NOT NULL, object_id INTEGER NOT NULL, "
    "fields_id INTEGER NOT NULL REFERENCES fields (id), "
    "received_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
    "state INTEGER NOT NULL DEFAULT 0, dead_reason TEXT)"
)
_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS fields (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)",
    _EVENTS,
    "CREATE INDEX IF NOT EXISTS events_state ON events (state, seq)",
    "CREATE TABLE IF NOT EXISTS payloads (seq INTEGER PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS registrations (subscription_id INTEGER PRIMARY KEY, "
    "company_id INTEGER NOT NULL, event TEXT NOT NULL, fields TEXT NOT NULL, "
    "secrets TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE IF NOT EXISTS tombstones (company_id INTEGER NOT NULL, "
    "resource TEXT NOT NULL, id INTEGER NOT NULL, deleted_at TEXT NOT NULL DEFAULT '', "
    "PRIMARY KEY (company_id, resource, id))",
)
#: Version 1 -> 2: ``fields`` moves out of ``events``; applied events lose their value.
_MIGRATE_1 = (
    "INSERT OR IGNORE INTO fields (text) SELECT DISTINCT fields FROM events_v1",
    "INSERT INTO events (seq, key, subscription_id, company_id, event, object_id, "
    "fields_id, received_at, attempts, state) "
    "SELECT e.seq, e.key, e.subscription_id, e.company_id, e.event, "
    "e.object_id, f.id, e.received_at, e.attempts, e.state "
    "FROM events_v1 AS e JOIN fields AS f ON f.text = e.fields",
    "INSERT INTO payloads SELECT seq, value FROM events_v1 WHERE state != 1 AND value IS NOT NULL",
    "UPDATE sqlite_sequence SET seq = max(seq, (SELECT seq FROM sqlite_sequence "
    "WHERE name = 'events_v1')) WHERE name = 'events'",
    "DROP TABLE events_v1",
)


def create_or_migrate(c: sqlite3.Connection, stored: int, now: datetime) -> bool:
    """Create the tables of a new file, or bring a version-``stored`` file up to date
    (``now`` dates version 1's tombstones); whether the events were rewritten (version
    1), which is worth a VACUUM."""
    migrated = stored < 2 and _has_column(c, "events", "fields")
    if migrated:
        c.execute("ALTER TABLE events RENAME TO events_v1")
        c.execute("DROP INDEX IF EXISTS events_state")
    if _has_table(c, "tombstones") and not _has_column(c, "tombstones", "deleted_at"):
        # Version 1 did not date them: they count as deleted now.
        c.execute("ALTER TABLE tombstones ADD COLUMN deleted_at TEXT NOT NULL DEFAULT ''")
        c.execute("UPDATE tombstones SET deleted_at = ?", (now.isoformat(),))
    for statement in _DDL:
        c.execute(statement)
    if migrated:
        for statement in _MIGRATE_1:
            c.execute(statement)
    if not _has_column(c, "events", "dead_reason"):  # version 2 (see the module's text)
        c.execute("ALTER TABLE events ADD COLUMN dead_reason TEXT")
    return migrated


def read_meta(c: sqlite3.Connection) -> dict[str, str]:
    if not _has_table(c, "meta"):
        return {}
    return dict(c.execute("SELECT key, value FROM meta").fetchall())


def _has_table(c: sqlite3.Connection, table: str) -> bool:
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return c.execute(sql, (table,)).fetchone() is not None


def _has_column(c: sqlite3.Connection, table: str, column: str) -> bool:
    return any(row[1] == column for row in c.execute(f"PRAGMA table_info({table})"))
