"""Rate budgets: the ones a user could register, and how each was driven.

A budget is what Tripletex rate-limits: one consumer token with one employee token (the
windows of `_limits` are keyed so). A system of many workers promises that one worker at
a time drives a budget; `BudgetRecorder` checks that promise from the server's side.

Overlap. Every request authenticated with a session counts (``:create`` carries no
session and does not); session ids rise in creation order. When a request arrives with
a session newer than any its budget has sent with so far, that session becomes the
budget's current one and every older session of the budget is *superseded*. A request
that arrives with a superseded session is an overlap: another session of the budget had
already started sending, so two holders were sending for one budget at once. Sequential
use (a job's slice ends, the next job opens a new session and sends) counts nothing, as
the old session falls silent before the new one speaks; two budgets never interact.
"Arrives" is when the simulator handles the request, after any simulated latency.

Caveat: a holder that replaces its own live session (say, a refresh before midnight)
while requests on the old one are in flight has each of those counted as an overlap if
it arrives after the first request on the new session: the simulator cannot tell a
holder's own late request from a second holder's. A refresh after a 401 counts nothing,
because a request with a dead session fails authentication and is not counted at all.
So a client that refreshes a live session with requests in flight may see a few
(at most one per request in flight per refresh); one that drains, or only refreshes a
dead session, sees none. Deleting one's session (``DELETE /token/session/{token}``)
after the next holder has sent is an overlap too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ._limits import WindowUsage

__all__ = ["Budget", "BudgetRecorder", "BudgetStatistics"]


@dataclass(frozen=True, slots=True)
class Budget:
    """A budget a user could register: its tokens and the companies they reach."""

    #: Short and non-secret (``accountant``, ``company-1234567``): statistics key by it.
    label: str
    kind: Literal["accountant", "company"]
    consumer_token: str = field(repr=False)
    employee_token: str = field(repr=False)
    #: For the accountant its clients (Basic username = one of them), else its company.
    companies: tuple[int, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: an entry of the command line's ``--tokens-file``."""
        return {
            "label": self.label,
            "kind": self.kind,
            "consumer_token": self.consumer_token,
            "employee_token": self.employee_token,
            "companies": list(self.companies),
        }


@dataclass(frozen=True, slots=True)
class BudgetStatistics:
    """What one budget did."""

    #: Requests authenticated with one of its sessions (429s included, ``:create`` not).
    requests: int
    rate_limited: int
    #: Requests with a superseded session (the module docstring says when).
    overlaps: int
    #: Rate windows in which it made calls (``:create`` included; 0 without a rate
    #: limit), and the calls allowed in them: together, how much of the budget it used
    #: while it was sending.
    windows: int
    window_calls: int

    def to_dict(self) -> dict[str, int]:
        """JSON-ready form."""
        return {
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "overlaps": self.overlaps,
            "windows": self.windows,
            "window_calls": self.window_calls,
        }


@dataclass(slots=True)
class _Tally:
    #: Id of the newest session the budget has sent with: older ones are superseded.
    newest: int = 0
    requests: int = 0
    rate_limited: int = 0
    overlaps: int = 0


class BudgetRecorder:
    """Per budget label: requests, 429s and overlaps (see the module docstring)."""

    def __init__(self) -> None:
        self._tallies: dict[str, _Tally] = {}

    def sent(self, budget: str, session_id: int) -> bool:
        """Count a request authenticated with session ``session_id`` of ``budget``;
        True if that session is superseded (an overlap)."""
        tally = self._tallies.get(budget)
        if tally is None:
            tally = self._tallies[budget] = _Tally()
        tally.requests += 1
        if session_id >= tally.newest:
            tally.newest = session_id
            return False
        tally.overlaps += 1
        return True

    def limited(self, budget: str) -> None:
        """A request of ``budget`` (counted by `sent`) was refused with 429."""
        self._tallies[budget].rate_limited += 1

    def snapshot(self, usage: Mapping[str, WindowUsage]) -> dict[str, BudgetStatistics]:
        """Every budget that sent a request or made a call in a rate window, by label;
        ``usage`` is the rate windows' tally by label."""
        labels = sorted({*self._tallies, *usage})
        none, unused = _Tally(), WindowUsage(0, 0)
        out: dict[str, BudgetStatistics] = {}
        for label in labels:
            tally, windows = self._tallies.get(label, none), usage.get(label, unused)
            out[label] = BudgetStatistics(
                tally.requests, tally.rate_limited, tally.overlaps, windows.windows, windows.calls
            )
        return out
