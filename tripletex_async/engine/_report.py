"""What a sync did, per company and resource: live while it runs, final when it returns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..client._connection import Tally

__all__ = ["ResourceReport", "Status", "SyncReport"]

#: ``interrupted``: the sync was cancelled before the unit finished (what it committed
#: stays); ``deferred``: the run's bound (``max_requests``, ``deadline``) was reached
#: first (the next run continues); ``not_enabled``: Tripletex answered 403 (a module the
#: company has not enabled, or a feature the token may not use): nothing to sync, not a
#: failure, unless the company answered 403 for every resource.
Status = Literal["pending", "running", "done", "failed", "interrupted", "deferred", "not_enabled"]


@dataclass(slots=True)
class ResourceReport:
    """One resource of one company. Counters grow while the sync runs."""

    company_id: int
    resource: str
    status: Status = "pending"
    #: Records stored (a record seen twice counts twice).
    records: int = 0
    pages: int = 0
    #: Windows checked, and how many of them a 304 showed unchanged.
    windows: int = 0
    unchanged: int = 0
    #: Windows not checked: an interrupted run being resumed had just completed them.
    skipped: int = 0
    #: Windows split because they held too much.
    splits: int = 0
    #: Complete windows read whole again for freshness (`SyncOptions.reread_every`).
    reread: int = 0
    #: Windows left, whole or in part, for the next run: the run's bound
    #: (`SyncOptions.max_requests`, `SyncOptions.deadline`) was reached.
    deferred: int = 0
    tally: Tally = field(default_factory=Tally)
    errors: list[str] = field(default_factory=list)
    #: Tripletex's 403 message when the status is ``not_enabled``.
    not_enabled: str = ""
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        """HTTP requests sent for this resource, retries included."""
        return self.tally.requests

    @property
    def retries(self) -> int:
        """Requests sent again after a failure."""
        return self.tally.retries

    @property
    def rate_limited(self) -> int:
        """Answers with 429."""
        return self.tally.rate_limited

    @property
    def not_modified(self) -> int:
        """Answers with 304 (a window's digest matched)."""
        return self.tally.not_modified

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        out = asdict(self)
        del out["tally"]
        out.update(asdict(self.tally))
        out["seconds"] = round(self.seconds, 3)
        return out


@dataclass(slots=True)
class SyncReport:
    """Every (company, resource) of a sync, in the order they were planned."""

    connection: str
    resources: list[ResourceReport] = field(default_factory=list)
    seconds: float = 0.0

    def __iter__(self) -> Iterator[ResourceReport]:
        return iter(self.resources)

    @property
    def ok(self) -> bool:
        """Whether every company synced every resource, or left the rest for the next run
        as its bound said (``deferred``), or has it not enabled (``not_enabled``); nothing
        failed."""
        return all(r.status in ("done", "deferred", "not_enabled") for r in self.resources)

    @property
    def companies(self) -> list[int]:
        """Company ids, in plan order."""
        return list(dict.fromkeys(r.company_id for r in self.resources))

    @property
    def failed_companies(self) -> list[int]:
        """Companies with at least one failed resource."""
        return list(dict.fromkeys(r.company_id for r in self.resources if r.status == "failed"))

    def total(self) -> ResourceReport:
        """The sum over every company and resource (``company_id`` 0, resource ``*``)."""
        out = ResourceReport(0, "*", status="done" if self.ok else "failed")
        for r in self.resources:
            out.records += r.records
            out.pages += r.pages
            out.windows += r.windows
            out.unchanged += r.unchanged
            out.splits += r.splits
            out.skipped += r.skipped
            out.reread += r.reread
            out.deferred += r.deferred
            out.errors.extend(r.errors)
            for name in ("requests", "retries", "rate_limited", "not_modified"):
                setattr(out.tally, name, getattr(out.tally, name) + getattr(r.tally, name))
        out.seconds = self.seconds
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: totals, then one entry per company and resource."""
        return {
            "connection": self.connection,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "failed_companies": self.failed_companies,
            "total": self.total().to_dict(),
            "resources": [r.to_dict() for r in self.resources],
        }
