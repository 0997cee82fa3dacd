"""How big each company's collections are, and which ids their records get.

Everything here is computed from the config without generating a record: sizes come
from a per-company random spread, child collections (order lines, postings) are laid out
over their parents by a repeating table, and ids are dense per resource across the
portfolio. That is what lets ``Portfolio.count`` answer instantly and lets one record
refer to another that has not been generated yet.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from random import Random
from types import MappingProxyType
from typing import Literal

from ._resources import CORE_RESOURCES

__all__ = [
    "BASE_SIZES",
    "DERIVED",
    "MAX_PER_RESOURCE",
    "ChildLayout",
    "CompanyPlan",
    "LayoutTables",
    "Role",
    "first_ids",
    "id_base",
    "plan_company",
]

Role = Literal["normal", "empty", "heavy"]

#: Records of a typical company before the spread and ``scale``.
BASE_SIZES: Mapping[str, int] = MappingProxyType(
    {
        "customer": 200,
        "supplier": 80,
        "contact": 150,
        "employee": 15,
        "department": 5,
        "product": 100,
        "project": 30,
        "activity": 20,
        "ledger/account": 300,
        "ledger/vatType": 40,
        "currency": 10,
        "country": 10,
        "order": 300,
        "invoice": 250,
        "supplierInvoice": 150,
        "ledger/voucher": 1000,
        "timesheet/entry": 1500,
    }
)

#: Child collection -> parent collection whose records own the children.
DERIVED: Mapping[str, str] = MappingProxyType(
    {"order/orderline": "order", "ledger/posting": "ledger/voucher"}
)

#: Reference tables are about the same size in every company; the spread skips them.
_UNSPREAD = frozenset({"currency", "country", "ledger/vatType", "ledger/account"})

#: Ids of one resource live in [base, base + MAX_PER_RESOURCE); all bases stay below
#: 2,000,000,000, where the simulator starts numbering the objects clients create.
MAX_PER_RESOURCE = 50_000_000
_FIRST_BASE = 100_000_000

#: Children per parent repeat with this period; long enough to look irregular.
_TABLE_LENGTH = 64
_LINES_PER_ORDER = (1, 2, 3, 4, 5)
_POSTINGS_PER_VOUCHER = (2, 2, 3, 4, 4, 5, 6)  # about 4 on average, never fewer than 2
_MIN_POSTINGS = 2


def id_base(resource: str) -> int:
    """Ids of ``resource`` start above this number (one band per resource)."""
    return _FIRST_BASE + CORE_RESOURCES.index(resource) * MAX_PER_RESOURCE


@dataclass(frozen=True, slots=True)
class ChildLayout:
    """Children ``[start(p), start(p + 1))`` belong to parent ``p``.

    Per-parent counts follow a repeating ``table``; when the number of children is what
    was asked for (``from_children``), the last parent takes the remainder.
    """

    table: tuple[int, ...]
    prefix: tuple[int, ...]
    parents: int
    children: int

    @classmethod
    def from_parents(cls, table: tuple[int, ...], parents: int) -> ChildLayout:
        """As many children as the table gives ``parents`` parents."""
        prefix = tuple(itertools.accumulate(table, initial=0))
        layout = cls(table, prefix, parents, 0)
        return cls(table, prefix, parents, layout._raw_start(parents))

    @classmethod
    def from_children(cls, table: tuple[int, ...], children: int, minimum: int) -> ChildLayout:
        """Exactly ``children`` children; the last parent never gets fewer than ``minimum``."""
        prefix = tuple(itertools.accumulate(table, initial=0))
        probe = cls(table, prefix, 0, 0)
        cycles, rest = divmod(children, prefix[-1])
        parents = cycles * len(table) + bisect.bisect_left(prefix, rest)
        if parents > 1 and children - probe._raw_start(parents - 1) < minimum:
            parents -= 1  # fold a too-small remainder into the previous parent
        return cls(table, prefix, parents, children)

    def _raw_start(self, parent: int) -> int:
        cycles, rest = divmod(parent, len(self.table))
        return cycles * self.prefix[-1] + self.prefix[rest]

    def start(self, parent: int) -> int:
        """Index of the first child of ``parent`` (``children`` past the last parent)."""
        return self.children if parent >= self.parents else self._raw_start(parent)

    def span(self, parent: int) -> range:
        """Indices of the children of ``parent``."""
        return range(self.start(parent), self.start(parent + 1))


@dataclass(frozen=True, slots=True)
class CompanyPlan:
    """Sizes of one company's collections."""

    index: int
    company_id: int
    role: Role
    counts: Mapping[str, int]
    order_lines: ChildLayout
    postings: ChildLayout


@dataclass(frozen=True, slots=True)
class LayoutTables:
    """Children per parent, repeating: one pair per portfolio."""

    lines: tuple[int, ...]
    postings: tuple[int, ...]

    @classmethod
    def for_seed(cls, seed: int) -> LayoutTables:
        """The tables of portfolio ``seed``."""
        rng = Random(f"{seed}:layout")
        lines = tuple(rng.choice(_LINES_PER_ORDER) for _ in range(_TABLE_LENGTH))
        postings = tuple(rng.choice(_POSTINGS_PER_VOUCHER) for _ in range(_TABLE_LENGTH))
        return cls(lines, postings)


def _spread_sizes(
    seed: int, company_id: int, scale: float, sizes: Mapping[str, int]
) -> dict[str, int]:
    """Base sizes times scale, a company factor and a per-resource jitter; overrides exact."""
    rng = Random(f"{seed}:{company_id}:size")
    # Lognormal: most companies near the base size, a few several times bigger.
    factor = min(max(rng.lognormvariate(0.0, 0.6), 0.2), 5.0)
    counts: dict[str, int] = {}
    for resource, base in BASE_SIZES.items():
        jitter = 0.85 + 0.3 * rng.random()  # always drawn: overrides keep the stream stable
        spread = 1.0 if resource in _UNSPREAD else factor * jitter
        counts[resource] = sizes.get(resource, max(1, round(base * scale * spread)))
    return counts


def plan_company(
    config_seed: int,
    index: int,
    company_id: int,
    role: Role,
    *,
    tables: LayoutTables,
    scale: float,
    sizes: Mapping[str, int],
    heavy_postings: int,
) -> CompanyPlan:
    """Sizes of every collection of one company (nothing is generated)."""
    line_table, posting_table = tables.lines, tables.postings
    if role == "empty":
        counts = dict.fromkeys(CORE_RESOURCES, 0)
        zero_lines = ChildLayout.from_parents(line_table, 0)
        zero_posts = ChildLayout.from_parents(posting_table, 0)
        return CompanyPlan(
            index, company_id, role, MappingProxyType(counts), zero_lines, zero_posts
        )
    counts = _spread_sizes(config_seed, company_id, scale, sizes)
    lines = _child_layout(line_table, counts["order"], sizes.get("order/orderline"), 1)
    wanted = sizes.get("ledger/posting")
    if role == "heavy":
        natural = ChildLayout.from_parents(posting_table, counts["ledger/voucher"]).children
        wanted = max(wanted if wanted is not None else natural, heavy_postings)
    postings = _child_layout(posting_table, counts["ledger/voucher"], wanted, _MIN_POSTINGS)
    counts["order"] = lines.parents
    counts["order/orderline"] = lines.children
    counts["ledger/voucher"] = postings.parents
    counts["ledger/posting"] = postings.children
    # One address of the company itself, two per customer and supplier, one per employee.
    counts["address"] = 1 + 2 * counts["customer"] + 2 * counts["supplier"] + counts["employee"]
    ordered = {r: counts[r] for r in CORE_RESOURCES}
    return CompanyPlan(index, company_id, role, MappingProxyType(ordered), lines, postings)


def _child_layout(
    table: tuple[int, ...], parents: int, children: int | None, minimum: int
) -> ChildLayout:
    if children is None:
        return ChildLayout.from_parents(table, parents)
    return ChildLayout.from_children(table, children, minimum)


def first_ids(plans: list[CompanyPlan]) -> dict[str, list[int]]:
    """Per resource, the id of each company's first record (dense across companies).

    Raises ValueError when a resource has more records than its id band holds.
    """
    out: dict[str, list[int]] = {}
    for resource in CORE_RESOURCES:
        starts = list(itertools.accumulate((p.counts[resource] for p in plans), initial=0))
        if starts[-1] >= MAX_PER_RESOURCE:
            raise ValueError(f"{resource}: {starts[-1]:,} records exceed the id band")
        base = id_base(resource) + 1
        out[resource] = [base + s for s in starts[:-1]]
    return out
