"""What the simulator saw: requests by path, status and company, and its peaks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["FakeStatistics", "StatsRecorder"]


@dataclass(frozen=True, slots=True)
class FakeStatistics:
    """A snapshot of the simulator's counters."""

    requests: int
    by_path: dict[str, int]
    by_status: dict[int, int]
    by_company: dict[int, int]
    not_modified: int
    rate_limited: int
    sessions_created: int
    faults: dict[str, int]
    in_flight: int
    peak_concurrency: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (for ``GET /_fake/statistics``)."""
        return {
            "requests": self.requests,
            "by_path": self.by_path,
            "by_status": {str(k): v for k, v in self.by_status.items()},
            "by_company": {str(k): v for k, v in self.by_company.items()},
            "not_modified": self.not_modified,
            "rate_limited": self.rate_limited,
            "sessions_created": self.sessions_created,
            "faults": self.faults,
            "in_flight": self.in_flight,
            "peak_concurrency": self.peak_concurrency,
        }


@dataclass(slots=True)
class StatsRecorder:
    """Mutable counters behind ``FakeTripletex.statistics()``."""

    by_path: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    by_company: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    peak: int = 0

    def begin(self) -> None:
        """A request arrived."""
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def end(self, path: str, status: int, company: int | None) -> None:
        """A request was answered (or dropped: status 0)."""
        self.in_flight -= 1
        self.by_path[path] += 1
        self.by_status[status] += 1
        if company is not None:
            self.by_company[company] += 1

    def snapshot(self, sessions_created: int) -> FakeStatistics:
        """Freeze the counters."""
        return FakeStatistics(
            requests=sum(self.by_status.values()),
            by_path=dict(self.by_path),
            by_status=dict(self.by_status),
            by_company=dict(self.by_company),
            not_modified=self.by_status[304],
            rate_limited=self.by_status[429],
            sessions_created=sessions_created,
            faults=dict(self.faults),
            in_flight=self.in_flight,
            peak_concurrency=self.peak,
        )
