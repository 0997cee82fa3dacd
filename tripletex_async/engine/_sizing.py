"""Rows per request: how many records each new query asks for (``count``).

Where Tripletex's rate budget binds, throughput is records per request times requests
per window, so a request should carry as many rows as Tripletex allows: 10,000, which is
also the result-set cap, so a window under the cap costs one request. Where the budget
is ample, latency binds instead, and smaller pages fetched in parallel finish sooner
(a page's latency grows with its rows). The budget binds unless the current rate window
has calls to spare for every window still to be read in parallel pages (up to
`AHEAD_PAGES` requests each): judging it ample wrongly costs whole rate windows, judging
it binding wrongly only some latency on big windows.

The decision is made as late as it can be: when the rate budget would let the query's
first request go, from what is known then (the limit and what is left of the window, the
windows still open, the bytes per row of the resource seen so far). Whatever is decided,
rows per request are capped so that 4 pages (binding) or 16 (ample) of them fit in the
memory budget (`PageBudget`), by the bytes per row seen for the resource so far (a
generous guess from its fields before): a bound as good as that estimate.
"""

from __future__ import annotations

from ..client._ratelimit import RateLimiter, until_ready
from ._pages import UNSEEN_PAGES, Page, PageBudget
from ._resources import Resource

__all__ = ["RowsPerRequest"]

#: Rows per request where the budget does not bind (latency does).
PARALLEL_PAGE = 1000
#: Pages that must fit in the memory budget at once, at their largest: few where the
#: rate budget binds (the calls it lets through are the limit, not how many are under
#: way), many where latency does.
_PAGES_AT_ONCE_BINDING = 4
_PAGES_AT_ONCE_PARALLEL = UNSEEN_PAGES
#: Requests a window read in parallel pages may take (its first and those ahead).
AHEAD_PAGES = 5
#: Bytes per row of an id-only page (``fields=id``): ``{"id":123456789}``.
ID_ROW_BYTES = 20
#: Bytes per row assumed for a resource none of whose pages was seen yet: this much per
#: field asked for, and more per relation expanded (an order's lines). Full rows of the
#: synced resources run 25-35 bytes per field in the simulator's JSON, generated from
#: Tripletex's schema (customers: 46 fields, ~1.5 kB; orders with their lines: ~4.5 kB);
#: the guess errs high, and is replaced by what the first page shows.
_UNSEEN_BYTES_PER_FIELD = 48
_UNSEEN_BYTES_PER_EXPANSION = 2048


class RowsPerRequest:
    """Chooses ``count`` for each new query of a run; one per run, shared by its units.

    ``fixed`` (`SyncOptions.page_size` given) is always the answer. Otherwise the count
    follows the rate budget (see the module's text).
    """

    def __init__(
        self, budget: RateLimiter, memory: PageBudget, *, cap: int, fixed: int | None = None
    ) -> None:
        self._budget = budget
        self._memory = memory
        self._cap = cap
        self._fixed = fixed
        #: Windows planned and not finished (each needs at least one more request), and
        #: units not started yet (each has at least one window).
        self._open = 0
        #: Per resource: (bytes, rows) of the full records fetched so far.
        self._seen: dict[str, tuple[int, int]] = {}

    @property
    def fixed(self) -> bool:
        """Whether the caller chose the rows per request."""
        return self._fixed is not None

    def opened(self, windows: int) -> None:
        """``windows`` more windows (or units) are to be read."""
        self._open += windows

    def closed(self, windows: int = 1) -> None:
        """``windows`` are read (or given up)."""
        self._open -= windows

    def learn(self, resource: Resource, page: Page) -> None:
        """Take in the size of a page of ``resource``'s records."""
        if page.values:
            size, rows = self._seen.get(resource.name, (0, 0))
            self._seen[resource.name] = (size + page.size(), rows + len(page.values))

    def row_bytes(self, resource: Resource) -> float:
        """Bytes per row of ``resource``: the mean of all its rows seen (one wide record
        must not shrink every later page), or a generous guess from the fields asked for
        before any was."""
        size, rows = self._seen.get(resource.name, (0, 0))
        if rows:
            return size / rows
        fields = resource.fields()
        guess = _UNSEEN_BYTES_PER_FIELD * (fields.count(",") + 1)
        return guess + _UNSEEN_BYTES_PER_EXPANSION * fields.count("(")

    def binding(self) -> bool:
        """Whether the rate budget is the limit now: the current rate window has fewer
        calls left than the open windows could take in parallel pages."""
        budget = self._budget.snapshot()
        if budget.limit is None:
            return False
        left = budget.limit if budget.remaining is None else budget.remaining
        return self._open * AHEAD_PAGES > left

    async def rows(self, resource: Resource) -> int:
        """The ``count`` of a new query of ``resource``, decided when its first request
        could go."""
        if self._fixed is not None:
            return self._fixed
        await until_ready(self._budget)
        if self.binding():
            wanted, at_once = self._cap, _PAGES_AT_ONCE_BINDING
        else:
            wanted, at_once = PARALLEL_PAGE, _PAGES_AT_ONCE_PARALLEL
        memory = int(self._memory.limit // (at_once * self.row_bytes(resource)))
        return max(1, min(wanted, memory, self._cap))

    def reserve(self, resource: Resource, rows: int, expected: int | None = None) -> int:
        """Bytes of the memory budget a first page asking for ``rows`` rows takes before
        it is fetched: all it may hold, or, when the window's size is known from the
        last run (``expected`` rows), that with a margin. An answer bigger than its
        reservation overdraws the budget until stored, so the reservation is what keeps
        memory bounded: guessing low for windows of unknown size let sixteen pages of
        10,000 rows come back at once (450 MB for a 24 MiB budget)."""
        if expected is not None:
            rows = min(rows, expected + expected // 4 + 10)
        return max(1, int(rows * self.row_bytes(resource)))
