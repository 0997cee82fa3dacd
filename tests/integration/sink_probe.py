"""A sink seen from outside the processes that write it, for the overlap tests: which run
holds its lease, how many window states are committed, everything it stores (to show that
a fenced-off run wrote nothing), whether a writer holds its lock, and how its records
differ from the simulator's."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import anyio
import psycopg

from tripletex_async.engine._resources import DEFAULT_RESOURCES, RESOURCES
from tripletex_async.sinks import JSONLSink, PostgresSink, ReadableSink, SQLiteSink
from tripletex_async.testing import FakeTripletex

from ..expectations import expected, stored

Kind = Literal["sqlite", "postgres", "jsonl"]
_HOLDERS = (
    "SELECT DISTINCT h.pid FROM {p}_tripletex_lease l "
    "JOIN {p}_tripletex_lease_holder h ON h.epoch = l.epoch"
)
_STATES = "SELECT count(*) FROM {p}_tripletex_state"


@dataclass(frozen=True, slots=True)
class SinkProbe:
    """One sink: its ``--sink`` URL and where it lives (a file, a directory, a schema)."""

    kind: Kind
    #: The SQLite file or the JSONL directory; PostgreSQL: the server's URL.
    where: str
    schema: str = ""

    @property
    def url(self) -> str:
        """The ``--sink`` URL."""
        if self.kind == "postgres":
            return f"{self.where}?schema={self.schema}"
        return f"{self.kind}:///{self.where}"

    def holders(self) -> set[int]:
        """The pids of the runs holding a lease (none before the first run took one)."""
        if self.kind != "jsonl":
            return {int(str(pid)) for (pid,) in self._query(_HOLDERS)}
        try:
            record = json.loads((Path(self.where) / "_lease.json").read_bytes())
        except (OSError, ValueError):  # not written yet
            return set()
        holder = record.get("holder")
        return {int(holder["pid"])} if record.get("epoch") is not None and holder else set()

    def committed(self) -> int:
        """Window states committed so far."""
        if self.kind == "jsonl":
            try:
                document = json.loads((Path(self.where) / "_state.json").read_bytes())
            except (OSError, ValueError):  # not written yet
                return 0
            return len(document["states"])
        rows = self._query(_STATES)
        return int(str(rows[0][0])) if rows else 0

    def locked(self) -> bool:
        """Whether a writer holds the lock a takeover needs: SQLite's write lock, the JSONL
        directory's ``flock`` (PostgreSQL terminates the holder's session instead)."""
        if self.kind == "jsonl":
            fd = os.open(Path(self.where) / "_lease.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            finally:
                os.close(fd)  # and with it the lock
            return False
        if self.kind == "postgres":
            return False
        with closing(sqlite3.connect(self.where, timeout=0.05, isolation_level=None)) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                return True
            conn.execute("ROLLBACK")
        return False

    def snapshot(self) -> dict[str, str]:
        """A digest of everything stored, per table or per file of the directory."""
        if self.kind == "jsonl":
            root = Path(self.where)
            files = sorted(p for p in root.rglob("*") if p.is_file())
            return {str(p.relative_to(root)): _digest(p.read_bytes()) for p in files}
        if self.kind == "sqlite":
            names = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            names = "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            names += f"'{self.schema}'"
        tables = [str(name) for (name,) in self._query(names)]
        rows = {t: sorted(map(repr, self._query("SELECT * FROM {p}" + f'"{t}"'))) for t in tables}
        return {t: _digest("\n".join(r).encode()) for t, r in rows.items()}

    def differences(self, fake: FakeTripletex) -> list[str]:
        """Where the stored records differ from the simulator's: empty when exact."""
        return anyio.run(self._differences, fake)

    async def _differences(self, fake: FakeTripletex) -> list[str]:
        sink: ReadableSink
        if self.kind == "postgres":
            sink = PostgresSink(self.where, schema=self.schema)
        else:
            sink = SQLiteSink(self.where) if self.kind == "sqlite" else JSONLSink(self.where)
        out = []
        try:
            await sink.open([RESOURCES[n].table() for n in DEFAULT_RESOURCES])
            for resource in DEFAULT_RESOURCES:
                records = await sink.read(resource)
                for company in fake.portfolio.company_ids():
                    got, want = stored(records, company), expected(fake, company, resource)
                    if got != want:
                        changed = sum(got[i] != want[i] for i in got.keys() & want.keys())
                        out.append(
                            f"{resource} of {company}: {len(want.keys() - got.keys())} missing, "
                            f"{len(got.keys() - want.keys())} extra, {changed} different"
                        )
        finally:
            await sink.aclose()
        return out

    def _query(self, sql: str) -> list[tuple[object, ...]]:
        """Rows of ``sql`` (``{p}``: the schema prefix); none while a table is missing."""
        if self.kind == "sqlite":
            try:
                uri = f"file:{self.where}?mode=ro"
                with closing(sqlite3.connect(uri, uri=True, timeout=1)) as conn:
                    return conn.execute(sql.format(p="")).fetchall()
            except sqlite3.OperationalError:  # no file or no table yet
                return []
        query = sql.format(p=f'"{self.schema}".')
        try:
            with psycopg.connect(self.where, autocommit=True, connect_timeout=5) as conn:
                return conn.execute(query.encode()).fetchall()
        except psycopg.errors.UndefinedTable:
            return []


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:16]
