"""A lease on a whole directory (`JSONLSink`), kept in ``_lease.json`` beside its data.

The JSONL sink keeps one state file for the whole directory, so two writers of different
companies would still overwrite each other's state: the lease covers the directory, not
single companies. Every lease operation and every fenced commit runs under an exclusive
``flock`` of ``_lease.lock``, so a takeover and a commit never interleave; the lock dies
with its process, the lease record does not (its heartbeat tells a frozen holder apart).
A holder frozen in the middle of a commit keeps the lock, and no one can break a ``flock``:
`acquire` then gives up after ``lock_wait`` seconds with `LeaseHeldError`, so ``--wait``
still bounds how long a run waits.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import msgspec

from ..client._errors import LeaseHeldError, LeaseLostError
from . import _files
from ._lease import Fence, Holder, HolderRecord, lost_message, revocable

__all__ = ["DirectoryLease"]

_RECORD = "_lease.json"
_LOCK = "_lease.lock"


class _Record(msgspec.Struct):
    #: The last epoch handed out (it only grows).
    last_epoch: int = 0
    #: The holding epoch, ``None`` when free.
    epoch: int | None = None
    holder: Holder | None = None
    heartbeat: float = 0.0
    ttl: float = 0.0


class DirectoryLease:
    """The lease of one directory. Every method blocks: run it in a worker thread."""

    def __init__(self, directory: Path, *, lock_wait: float = 1.0) -> None:
        self.directory = directory
        #: How long `acquire` waits for the lock, which commits hold for milliseconds.
        self.lock_wait = lock_wait

    def acquire(self, holder: Holder, ttl: float) -> Fence:
        """Take the directory for ``holder``, taking it over from a dead or stale one."""
        with self._locked(give_up_after=self.lock_wait) as record:
            now = time.time()
            if record.epoch is not None and record.holder is not None:
                held = HolderRecord(record.epoch, record.holder, record.heartbeat, record.ttl, 1)
                try:
                    revocable([held], now, 1)
                except LeaseHeldError:
                    raise LeaseHeldError(
                        f"another run is syncing into this directory: {record.holder}; "
                        "wait for it (--wait SECONDS) or try again later"
                    ) from None
            epoch = record.last_epoch + 1
            self._save(_Record(epoch, epoch, holder, now, ttl))
        return Fence(epoch, frozenset())

    def renew(self, fence: Fence) -> None:
        """Renew the heartbeat; `LeaseLostError` when another run took over."""
        with self._locked() as record:
            self._check(fence, record)
            record.heartbeat = time.time()
            self._save(record)

    def release(self, fence: Fence, before: Callable[[], None] = lambda: None) -> None:
        """Free the directory, if ``fence`` still holds it, after running ``before`` (the
        sink's last writes) under the lock: a holder that lost the lease writes nothing."""
        with self._locked() as record:
            if record.epoch == fence.epoch:
                before()
                self._save(_Record(record.last_epoch))

    @contextlib.contextmanager
    def fenced(self, fences: Sequence[Fence]) -> Iterator[None]:
        """Hold the lock across a commit, after checking each of ``fences`` still holds
        the lease (nothing to check, nor lock, without one)."""
        if not fences:
            yield
            return
        with self._locked() as record:
            for fence in fences:
                self._check(fence, record)
            yield

    def _check(self, fence: Fence, record: _Record) -> None:
        if record.epoch != fence.epoch:
            raise LeaseLostError(lost_message(record.holder))

    @contextlib.contextmanager
    def _locked(self, give_up_after: float | None = None) -> Iterator[_Record]:
        import fcntl  # POSIX only, as is JSONLSink's crash safety (fsync of directories)

        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if give_up_after is None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                self._lock_or_give_up(fd, give_up_after)
            yield self._load()
        finally:
            os.close(fd)  # and with it the lock

    def _lock_or_give_up(self, fd: int, seconds: float) -> None:
        import fcntl

        deadline = time.monotonic() + seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.02)  # in a worker thread, never on the event loop
        # The record is replaced atomically, so it can be read without the lock.
        holder = self._load().holder
        who = f": {holder}" if holder is not None else ""
        raise LeaseHeldError(
            f"another run is in the middle of writing into this directory{who}; "
            "if it is stopped (SIGSTOP, a paused machine) resume or kill it, otherwise wait "
            "for it (--wait SECONDS) or try again later"
        )

    def _load(self) -> _Record:
        path = self.directory / _RECORD
        return msgspec.json.decode(path.read_bytes(), type=_Record) if path.exists() else _Record()

    def _save(self, record: _Record) -> None:
        _files.replace(self.directory / _RECORD, msgspec.json.encode(record))
