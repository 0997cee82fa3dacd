"""Leases and fences: one writer per company in a sink, whatever runs overlap.

Two runs writing one company's rows into one sink undo each other: each window scan ends
by deleting the window's rows it did not see, which includes the rows the other scan just
wrote, and each then records its window as complete, so every later run answers 304 and
never repairs the loss. So a run first takes a **lease** on the companies it will write
(`LeaseStore.acquire_lease`), held by the sink itself, and every transaction it commits
carries the lease's **fence** (`Fence`, an epoch that only grows): the sink checks, inside
that same transaction, that the fence is still the current holder, and refuses the whole
transaction otherwise (`LeaseLostError`). A run that was frozen (SIGSTOP, a paused VM) and
wakes after another took its lease over therefore cannot write anything.

A holder proves it is alive by renewing its lease (a heartbeat every ``ttl / 4``). Another
run takes the lease over without manual clean-up when the holder is certainly dead (its
process is gone from this host; its PostgreSQL session ended) or has not renewed within
``ttl`` (frozen, or on another host that vanished).

The pieces here are engine-agnostic: a job system can hold a `Lease` around any work that
writes through a sink with fenced `Batch`es.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol, runtime_checkable

import anyio

from ..client._clock import Clock
from ..client._errors import ConfigurationError, LeaseHeldError, TripletexError

__all__ = [
    "Fence",
    "Holder",
    "HolderRecord",
    "Lease",
    "LeaseStore",
    "Liveness",
    "held_message",
    "liveness",
    "lost_message",
    "process_alive",
    "revocable",
    "this_process",
]

Liveness = Literal["live", "dead", "stale"]


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds (or asks for) a lease: shown to a run that finds it taken."""

    host: str
    pid: int
    #: When the holding run started (ISO 8601, UTC).
    started_at: str
    #: The process's start time on its host (Linux ``/proc/<pid>/stat`` field 22), so a
    #: reused pid is not mistaken for the holder; empty where unknown.
    process: str = ""

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}, started {self.started_at}"


@dataclass(frozen=True, slots=True)
class Fence:
    """Proof of a held lease, carried by every `Batch` written under it.

    ``epoch`` numbers acquisitions in the sink and never repeats, so a lease taken over and
    then given up can never make an old holder's fence valid again.
    """

    epoch: int
    scopes: frozenset[int]


@dataclass(frozen=True, slots=True)
class HolderRecord:
    """A stored holder, as a sink reads it back to decide whether it is alive."""

    epoch: int
    holder: Holder
    #: Last renewal and the holder's time to live, in the sink's clock (seconds).
    heartbeat: float
    ttl: float
    #: How many of the wanted scopes it holds.
    overlap: int = 0


@runtime_checkable
class LeaseStore(Protocol):
    """A sink that can hold leases (every built-in sink can)."""

    async def acquire_lease(self, scopes: Collection[int], holder: Holder, ttl: float) -> Fence:
        """Take ``scopes`` for ``holder``, taking them over from dead or stale holders;
        `LeaseHeldError` naming the holder when a live one has any of them."""
        ...

    async def renew_lease(self, fence: Fence) -> None:
        """Renew the heartbeat; `LeaseLostError` when another run took the lease over."""
        ...

    async def release_lease(self, fence: Fence) -> None:
        """Give the scopes back (nothing happens when the lease was taken over)."""
        ...


def this_process(clock: Clock | None = None) -> Holder:
    """The `Holder` describing this process, started now."""
    now = clock.now() if clock is not None else datetime.now(UTC)
    pid = os.getpid()
    return Holder(socket.gethostname(), pid, now.isoformat(timespec="seconds"), _started(pid))


def _started(pid: int) -> str:
    """A process's start time in clock ticks since boot (Linux), ``""`` elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            stat = file.read()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: split after its end.
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 and fields[0] != b"Z" else ""


def process_alive(holder: Holder) -> bool | None:
    """Whether ``holder``'s process still runs: ``None`` when that cannot be known from
    here (another host)."""
    if holder.host != socket.gethostname():
        return None
    if holder.process:
        # Gone, a zombie, or the pid now belongs to a newer process.
        return _started(holder.pid) == holder.process
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, and someone else's
        return True
    return True


def liveness(record: HolderRecord, now: float, *, session_alive: bool | None = None) -> Liveness:
    """Whether a stored holder is ``live``, certainly ``dead`` (its process or database
    session is gone), or ``stale`` (it stopped renewing: frozen or unreachable)."""
    if record.heartbeat + record.ttl < now:
        return "stale"
    if session_alive is False or process_alive(record.holder) is False:
        return "dead"
    return "live"


def revocable(
    records: Iterable[HolderRecord],
    now: float,
    wanted: int,
    sessions: Mapping[int, bool] | None = None,
) -> list[HolderRecord]:
    """The holders of wanted scopes that may be taken over (dead or stale); raises
    `LeaseHeldError` naming the first live one. ``sessions`` says, by epoch, whether a
    holder's database session is alive, where the store can tell."""
    out = []
    for record in records:
        alive = (sessions or {}).get(record.epoch)
        if liveness(record, now, session_alive=alive) == "live":
            raise LeaseHeldError(held_message(record, wanted))
        out.append(record)
    return out


def held_message(record: HolderRecord, scopes: int) -> str:
    """The one line a run that finds the lease taken prints."""
    some = "the company" if scopes == 1 else f"{record.overlap} of the {scopes} companies"
    return (
        f"another run is syncing {some} into this sink: {record.holder}; "
        "wait for it (--wait SECONDS) or try again later"
    )


def lost_message(taker: Holder | None) -> str:
    """The one line a run whose lease was taken over prints."""
    who = f" ({taker})" if taker is not None else ""
    return (
        f"this run's lease was taken over by another run{who} while it was stopped or too "
        "slow to renew it; nothing more was written"
    )


class Lease:
    """A lease on some companies of a sink, held for the length of one piece of work.

    `acquire` takes it (waiting up to ``wait`` seconds for a live holder to finish); run
    `keep_alive` in the work's task group; `release` gives it back. ``ttl`` is how long
    the lease survives without a renewal: another run takes it over after that.
    """

    def __init__(
        self,
        store: LeaseStore,
        scopes: Iterable[int],
        *,
        clock: Clock,
        ttl: float = 60.0,
        wait: float = 0.0,
        holder: Holder | None = None,
        on_wait: Callable[[LeaseHeldError], None] | None = None,
    ) -> None:
        if not ttl > 0:
            raise ConfigurationError(f"a lease's ttl must be positive, not {ttl}")
        if not wait >= 0:
            raise ConfigurationError(f"a lease wait cannot be negative: {wait}")
        self._store = store
        self._scopes = frozenset(scopes)
        self._clock = clock
        self._ttl = ttl
        self._wait = wait
        self._holder = holder or this_process(clock)
        #: Told once, when `acquire` starts waiting for a live holder (a run that waits
        #: says so, and for whom).
        self._on_wait = on_wait
        self._fence: Fence | None = None

    def __repr__(self) -> str:
        held = f"epoch {self._fence.epoch}" if self._fence else "not held"
        return f"<Lease {len(self._scopes)} companies, {held}>"

    @property
    def fence(self) -> Fence:
        """The fence to stamp on every batch; only while held."""
        if self._fence is None:
            raise RuntimeError("the lease is not held")
        return self._fence

    async def acquire(self) -> Fence:
        """Take the lease, retrying while a live holder has it and ``wait`` allows."""
        if self._fence is not None:
            raise RuntimeError("the lease is already held")
        deadline = self._clock.monotonic() + self._wait
        waited = False
        while True:
            try:
                self._fence = await self._store.acquire_lease(self._scopes, self._holder, self._ttl)
                return self._fence
            except LeaseHeldError as exc:
                left = deadline - self._clock.monotonic()
                if left <= 0:
                    if waited:
                        raise LeaseHeldError(f"{exc} (waited {self._wait:g} s)") from None
                    raise
                if not waited and self._on_wait is not None:
                    self._on_wait(exc)
                waited = True
                await self._clock.sleep(min(left, max(0.05, min(1.0, self._ttl / 8))))

    async def keep_alive(self) -> None:
        """Renew every ``ttl / 4`` until cancelled; `LeaseLostError` if taken over."""
        while True:
            await self._clock.sleep(self._ttl / 4)
            await self._store.renew_lease(self.fence)

    async def release(self) -> None:
        """Give the lease back (idempotent); bounded in time and shielded."""
        fence, self._fence = self._fence, None
        if fence is None:
            return
        # A lease not given back (the sink went away) is taken over once its holder is
        # seen dead or stale: never worth failing the work that just finished.
        with anyio.move_on_after(10, shield=True), contextlib.suppress(TripletexError):
            await self._store.release_lease(fence)
