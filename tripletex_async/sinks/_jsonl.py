"""`JSONLSink`: JSON Lines files, one per resource and company, exact after a crash.

Layout under the sink's directory::

    _state.json                  commit point: committed file lengths, window states
    <folder>/<company_id>.jsonl  one record's JSON per line, as fetched (the lake);
                                 <folder> is the API path, / as _ (`Table.folder`);
                                 a record with no id of its own (a report's row)
                                 starts with its stored id as "_id"
    _index/<folder>/<company_id>.jsonl
                                 [id, date, scan, false, version] per written record,
                                 [id, null, null, true] per deletion: what
                                 delete_unseen and only_newer need

Both kinds of file are logs: a write appends to them, fsyncs, then atomically replaces
``_state.json`` with their new lengths. Opening truncates every file to its committed
length, so the tail of a killed write disappears. Compaction (`JSONLSink.compact`, and
`aclose`) rewrites a file to one line per live record, in id order; it never changes what
a log means, so a crash between replacing the data file, its index and the state file
leaves every combination valid. A compacted file is never longer than its log, so a file
found shorter than its committed length is a compaction that finished before its state
was saved.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import anyio.to_thread
import msgspec

from . import _files
from ._base import SCHEMA_VERSION, Batch, SinkError, StateKey, Table, WindowState
from ._common import (
    SinkBase,
    Stored,
    doomed,
    pending_migrations,
    records,
    refuse_newer,
    replaces,
    row_scan,
    version_of,
    wanted_fences,
)
from ._lease import Fence, Holder
from ._lease_file import DirectoryLease

__all__ = ["JSONLSink"]

_T = TypeVar("_T")
_STATE = "_state.json"
_INDEX = "_index"
_DATA_FILE = re.compile(r"-?[0-9]+\.jsonl")

#: A record's date, scan, version and partition: what `Batch.delete_unseen` selects on
#: and what `Batch.only_newer` compares.
_Entry = tuple[str | None, str | None, int | None, str | None]


class _Line(msgspec.Struct):
    """The part of a data line this sink reads: which record, and whether it was deleted.

    A record with no ``id`` of its own (a report's row, keyed by its account and period)
    is written with its stored id first, as ``_id`` (`_keyed`), which `JSONLSink.read`
    takes off again."""

    own: int | None = msgspec.field(default=None, name="id")
    key: int | None = msgspec.field(default=None, name="_id")
    deleted: bool = msgspec.field(default=False, name="_deleted")

    @property
    def id(self) -> int:
        """The record's stored id."""
        found = self.key if self.key is not None else self.own
        if found is None:
            raise msgspec.ValidationError("Object missing required field `id`")
        return found


class _IndexLine(msgspec.Struct, array_like=True):
    id: int
    date: str | None = None
    scan: str | None = None
    deleted: bool = False
    #: Since schema version 2.
    version: int | None = None
    #: Since schema version 3.
    part: str | None = None


@dataclass(slots=True)
class _StateFile:
    schema_version: int
    #: Committed length of every data and index file, by path relative to the directory.
    files: dict[str, int] = field(default_factory=dict)
    #: Length of each data file when it was last compacted: differs when it needs it.
    compacted: dict[str, int] = field(default_factory=dict)
    states: list[WindowState] = field(default_factory=list)


def _data_path(table: str, company: int) -> str:
    return f"{table}/{company}.jsonl"


def _index_path(data_path: str) -> str:
    return f"{_INDEX}/{data_path}"


class _Changes:
    """What one write does to one (table, company): appended bytes and an overlay of the
    live records, merged into the sink only once the write is committed."""

    def __init__(self, table: str, company: int, base: dict[int, _Entry]) -> None:
        self.path = _data_path(table, company)
        self.base = base
        self.changed: dict[int, _Entry | None] = {}
        self.data = bytearray()
        self.index = bytearray()

    def get(self, id_: int) -> _Entry | None:
        return self.changed[id_] if id_ in self.changed else self.base.get(id_)

    def upsert(self, id_: int, data: bytes, entry: _Entry) -> None:
        self.changed[id_] = entry
        self.data += data + b"\n"
        self.index += _index_line(id_, entry)

    def delete(self, id_: int) -> None:
        if self.get(id_) is not None:
            self.changed[id_] = None
            self.data += b'{"id": %d, "_deleted": true}\n' % id_
            self.index += b"[%d,null,null,true]\n" % id_

    def entries(self) -> Iterator[Stored]:
        """Every live record as ``(id, date, scan, part)``, pending changes included."""
        for id_ in self.base.keys() | self.changed.keys():
            entry = self.get(id_)
            if entry is not None:
                yield id_, entry[0], entry[1], entry[3]

    def merge(self) -> None:
        for id_, entry in self.changed.items():
            if entry is None:
                self.base.pop(id_, None)
            else:
                self.base[id_] = entry


class JSONLSink(SinkBase):
    """Records as JSON Lines under ``directory``, for data lakes and pipes.

    ``<directory>/<folder>/<company_id>.jsonl`` holds one record per line exactly as fetched
    (line breaks, which JSON only allows between tokens, become spaces); each record's JSON
    must carry its ``id``. Until compaction a file is a log: a changed record appears again,
    a deleted one as ``{"id": N, "_deleted": true}``; `read` always gives the compacted
    view. Only one sink may use a directory at a time: a sync takes the lease of the whole
    directory (`acquire_lease`), whatever companies it writes.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        #: The directory that holds everything.
        self.directory = Path(directory)
        super().__init__(f"JSONL directory {self.directory.absolute()}")
        self._state: _StateFile | None = None
        #: (table, company) -> id -> entry, for the tables opened so far.
        self._live: dict[tuple[str, int], dict[int, _Entry]] = {}
        self._lease = DirectoryLease(self.directory)
        #: Whether a lease was ever taken: then compaction happens when it is given back,
        #: under its lock, and never after (another run may own the directory by then).
        self._leased = False

    async def _open_tables(self, tables: Sequence[Table]) -> None:
        await self._run(partial(self._open, tables), "open")

    async def load_state(
        self, connection: str, company_id: int, resource: str
    ) -> list[WindowState]:
        """Every stored window state of one resource of one company."""
        async with self._using():
            wanted = (connection, company_id, resource)
            states = self._committed().states
            return [
                s for s in states if (s.key.connection, s.key.company_id, s.key.resource) == wanted
            ]

    async def write(self, batches: Sequence[Batch]) -> None:
        """Append ``batches`` and commit them with one state file replacement."""
        async with self._using():
            await self._run(partial(self._write, batches), "write to")

    async def read(self, resource: str) -> dict[tuple[int, int], bytes]:
        """Every live record of ``resource`` (last version, deletions applied)."""
        async with self._using():
            return await self._run(partial(self._read, Table(resource).folder), "read from")

    async def compact(self) -> None:
        """Rewrite every file that needs it to one line per live record, in id order."""
        async with self._using():
            await self._run(self._compact, "compact")

    async def acquire_lease(self, scopes: Collection[int], holder: Holder, ttl: float) -> Fence:
        """Take the whole directory for ``holder`` (``scopes`` is not needed: the lease of
        a JSONL directory always covers all of it)."""
        async with self._using(opening=True):
            fence = await self._run(partial(self._lease.acquire, holder, ttl), "take a lease on")
            self._leased = True
            return fence

    async def renew_lease(self, fence: Fence) -> None:
        """Renew the heartbeat; `LeaseLostError` when another run took the lease over."""
        async with self._using(opening=True):
            await self._run(partial(self._lease.renew, fence), "renew a lease on")

    async def release_lease(self, fence: Fence) -> None:
        """Free the directory."""
        async with self._using(opening=True):
            last = self._compact if self._state is not None else (lambda: None)
            await self._run(partial(self._lease.release, fence, last), "release a lease on")

    async def _release(self) -> None:
        if self._state is not None and not self._leased:
            await self._run(self._compact, "compact")

    async def _run(self, work: Callable[[], _T], action: str) -> _T:
        def call() -> _T:
            try:
                return work()
            except (OSError, ValueError, msgspec.MsgspecError) as exc:
                raise SinkError(f"could not {action} {self._description}: {exc}") from exc

        return await anyio.to_thread.run_sync(call)

    def _committed(self) -> _StateFile:
        if self._state is None:
            raise SinkError(f"{self._description} is not open")
        return self._state

    # Everything below runs in a worker thread.

    def _write(self, batches: Sequence[Batch]) -> None:
        with self._lease.fenced(wanted_fences(batches)):
            self._commit(*self._plan(batches))

    def _plan(
        self, batches: Sequence[Batch]
    ) -> tuple[dict[str, _Changes], dict[StateKey, WindowState]]:
        """What ``batches`` append, and the states after them (nothing changes yet)."""
        changes: dict[str, _Changes] = {}
        states = {s.key: s for s in self._committed().states}
        for batch in batches:
            self._check_batch(batch)
            key = (batch.table.folder, batch.company_id)
            path = _data_path(*key)
            if path not in changes:
                changes[path] = _Changes(*key, self._live.setdefault(key, {}))
            _apply(batch, changes[path])
            for superseded in batch.superseded:
                states.pop(superseded, None)
            if batch.state is not None:
                states[batch.state.key] = batch.state
        return changes, states

    def _open(self, tables: Sequence[Table]) -> None:
        for table in tables:
            if table.folder == _INDEX:
                raise SinkError(f"a JSONLSink cannot hold a table named {_INDEX}")
        if self._state is None:
            state = self._load_state_file(tables)
            shorter = _files.recover(self.directory, state.files)
            if shorter:
                state.files.update(shorter)
                self._save(state)
            self._state = self._migrate(state)
        committed = self._state.files
        for table in tables:
            _files.remove_strays(
                self.directory, [table.folder, _index_path(table.folder)], committed
            )
            self._load_index(table.folder)

    def _load_state_file(self, tables: Sequence[Table]) -> _StateFile:
        path = self.directory / _STATE
        if not path.exists():
            for table in tables:
                if any(
                    _DATA_FILE.fullmatch(p.name)
                    for p in _files.listing(self.directory / table.folder)
                ):
                    raise SinkError(
                        f"{self.directory / table.folder} holds files but {path} is missing: "
                        "not written by JSONLSink, refusing to touch it"
                    )
            self.directory.mkdir(parents=True, exist_ok=True)
            state = _StateFile(SCHEMA_VERSION)
            self._save(state)
            return state
        document = msgspec.json.decode(path.read_bytes())
        if not isinstance(document, dict) or not isinstance(document.get("schema_version"), int):
            raise SinkError(f"{path} is not a JSONLSink state file")
        refuse_newer(document["schema_version"], str(path))
        return msgspec.convert(document, _StateFile)

    def _migrate(self, state: _StateFile) -> _StateFile:
        """Run the migrations from the state's version, once its files are recovered.

        Each step appends to logs (beyond their committed length) and the new state file
        commits them all at once, so a crash midway leaves the old version intact.
        """
        steps = pending_migrations(state.schema_version, _MIGRATIONS, str(self.directory))
        for step in steps:
            state = step(self.directory, state)
        if steps:
            state = dataclasses.replace(state, schema_version=SCHEMA_VERSION)
            self._save(state)
        return state

    def _load_index(self, table: str) -> None:
        for path, company in self._data_files(table):
            if (table, company) in self._live:
                continue
            index = _index_path(path)
            lines = _last_lines(
                self.directory / index, self._committed().files.get(index, 0), _IndexLine
            )
            live: dict[int, _Entry] = {}
            for line in lines.values():
                entry = msgspec.json.decode(line, type=_IndexLine)
                live[entry.id] = (entry.date, entry.scan, entry.version, entry.part)
            self._live[table, company] = live

    def _commit(self, changes: dict[str, _Changes], states: dict[StateKey, WindowState]) -> None:
        committed = self._committed()
        appends = [(c.path, c.data) for c in changes.values()]
        appends += [(_index_path(c.path), c.index) for c in changes.values()]
        appends = [(path, payload) for path, payload in appends if payload]
        files = dict(committed.files)
        target = self.directory / _STATE
        try:
            for path, payload in appends:
                files[path] = _files.append(self.directory, path, files.get(path, 0), payload)
            new = _StateFile(SCHEMA_VERSION, files, committed.compacted, list(states.values()))
            temporary = _files.write_temporary(target, msgspec.json.encode(new))
            os.replace(temporary, target)  # the commit point
        except BaseException:
            # Not committed: cut the files back now rather than when next opened.
            _files.cut_back(self.directory, committed.files, [path for path, _ in appends])
            raise
        self._state = new
        for change in changes.values():
            change.merge()
        _files.fsync_dir(self.directory)

    def _save(self, state: _StateFile) -> None:
        _files.replace(self.directory / _STATE, msgspec.json.encode(state))

    def _read(self, table: str) -> dict[tuple[int, int], bytes]:
        files = self._committed().files
        return {
            (company, id_): _unkeyed(line)
            for path, company in self._data_files(table)
            for id_, line in _last_lines(self.directory / path, files[path], _Line).items()
        }

    def _data_files(self, table: str | None = None) -> list[tuple[str, int]]:
        """The committed data files (of ``table``), with their company."""
        found = []
        for path in self._committed().files:
            folder, _, name = path.partition("/")
            if folder != _INDEX and (table is None or folder == table):
                found.append((path, int(name.removesuffix(".jsonl"))))
        return found

    def _compact(self) -> None:
        state = self._committed()
        files, compacted = dict(state.files), dict(state.compacted)
        for path, _ in self._data_files():
            if compacted.get(path) == files[path]:
                continue
            for log, kind in ((path, _Line), (_index_path(path), _IndexLine)):
                live = _last_lines(self.directory / log, files.get(log, 0), kind)
                if log in files:
                    files[log] = _files.rewrite(
                        self.directory / log, (live[i] for i in sorted(live))
                    )
            compacted[path] = files[path]
        if compacted != state.compacted:
            self._state = _StateFile(SCHEMA_VERSION, files, compacted, state.states)
            self._save(self._state)


def _apply(batch: Batch, target: _Changes) -> None:
    """Steps 1 to 4 of `Batch` on ``target`` (the caller keeps the states)."""
    scan = row_scan(batch)
    for record in records(batch):
        data = record.data
        if b"\n" in data or b"\r" in data:
            data = data.replace(b"\r", b" ").replace(b"\n", b" ")
        try:
            line = msgspec.json.decode(data, type=_Line)
            if line.own is None and line.key is None and data.lstrip().startswith(b"{"):
                data = _keyed(record.id, data)  # a row keyed otherwise: see `_Line`
                line = msgspec.json.decode(data, type=_Line)
            line_id = line.id
        except msgspec.MsgspecError as exc:
            raise SinkError(
                f"{batch.table.name} id {record.id}: not a JSON record with an id ({exc})"
            ) from exc
        if line_id != record.id or line.deleted:
            raise SinkError(
                f"{batch.table.name}: row id {record.id} does not match its JSON "
                f"(id {line_id}, or a _deleted mark that would read as a deletion)"
            )
        old = target.get(record.id)
        if old is not None and batch.only_newer and not replaces(record.version, old[2]):
            continue
        kept = old[1] if scan is None and old is not None else scan
        part = old[3] if batch.partition is None and old is not None else batch.partition
        target.upsert(record.id, data, (record.date, kept, record.version, part))
    for id_ in batch.deleted_ids:
        target.delete(id_)
    for id_ in doomed(batch, target.entries()):
        target.delete(id_)


def _index_line(id_: int, entry: _Entry) -> bytes:
    date, scan, version, part = entry
    return msgspec.json.encode((id_, date, scan, False, version, part)) + b"\n"


def _add_versions(directory: Path, state: _StateFile) -> _StateFile:
    """Version 1 to 2: restate every live index entry with its record's version, read
    from the data file (appended, so the last line per id carries it)."""
    files = dict(state.files)
    for path in [p for p in files if not p.startswith(_INDEX + "/")]:
        index = _index_path(path)
        data = _last_lines(directory / path, files[path], _Line)
        entries = _last_lines(directory / index, files.get(index, 0), _IndexLine)
        payload = bytearray()
        for id_ in sorted(entries):
            entry = msgspec.json.decode(entries[id_], type=_IndexLine)
            version = version_of(data[id_]) if id_ in data else None
            payload += _index_line(id_, (entry.date, entry.scan, version, None))
        if payload:
            files[index] = _files.append(directory, index, files.get(index, 0), payload)
    return dataclasses.replace(state, files=files)


#: ``_MIGRATIONS[n - 1]`` turns a version ``n`` directory (its recovered state) into
#: version ``n + 1``, without committing: `JSONLSink._migrate` saves the state afterwards.
def _nothing_to_restate(directory: Path, state: _StateFile) -> _StateFile:
    """Version 2 to 3: an index line without a partition (sixth element) reads as none,
    and a state without ``partition``/``verified_at`` as ``""``: both are right as they
    are for everything a version 2 sink stored."""
    return state


_MIGRATIONS: tuple[Callable[[Path, _StateFile], _StateFile], ...] = (
    _add_versions,
    _nothing_to_restate,
    # Version 3 to 4 renamed the SQL sinks' tables and columns; files keep the API's
    # names (`Table.folder`) and hold no typed columns.
    _nothing_to_restate,
)


_KEYED = b'{"_id":'


def _keyed(row_id: int, data: bytes) -> bytes:
    """``data`` (a JSON object) with ``"_id": row_id`` first."""
    body = data.lstrip()[1:].lstrip()
    return _KEYED + str(row_id).encode() + (b"" if body.startswith(b"}") else b",") + body


def _unkeyed(line: bytes) -> bytes:
    """A data line as fetched: without the ``_id`` `_keyed` put first."""
    if not line.startswith(_KEYED):
        return line
    end = len(_KEYED)
    while line[end : end + 1].isdigit() or line[end : end + 1] == b"-":
        end += 1
    rest = line[end:]
    return b"{" + (rest[1:] if rest.startswith(b",") else rest)


def _last_lines(path: Path, length: int, kind: type[_Line] | type[_IndexLine]) -> dict[int, bytes]:
    """The last line of every live record of a data or index log, by id."""
    decoder = msgspec.json.Decoder(kind)
    live: dict[int, bytes] = {}
    for line in _files.lines(path, length):
        parsed = decoder.decode(line)
        if parsed.deleted:
            live.pop(parsed.id, None)
        else:
            live[parsed.id] = line
    return live
