"""Sizes, ids and parents of one company's schema-generated collections.

Like `_plan` for the hand-built collections, everything here is a pure function of
(seed, company, resource), so a record can refer to a generated record that was never
built, and a child list knows its parents without building them.

Ids: each generated collection has a band of ``BAND`` ids from ``GENERATED_BASE`` up,
and each company ``STRIDE`` ids of it, by its index in the portfolio: dense within one
company, unique across companies, and below 2,000,000,000 where created objects start.
"""

from __future__ import annotations

import zlib
from random import Random

from ._context import CompanyContext, Ref, mix
from ._resources import CORE_RESOURCES, RESOURCES
from ._schema import load_models

__all__ = ["GENERATED", "MAX_COMPANIES", "SpecPlan", "generated_first_id"]

#: The generated collections (snapshots hold none), in the order of their id bands.
GENERATED: tuple[str, ...] = tuple(
    path for path, info in RESOURCES.items() if info.generated and info.kind != "snapshot"
)
GENERATED_BASE = 1_200_000_000
BAND = 6_000_000
#: Ids per company and collection: more than any generated collection holds.
STRIDE = 64
#: Companies a portfolio may have before the bands overflow.
MAX_COMPANIES = BAND // STRIDE
assert GENERATED_BASE + len(GENERATED) * BAND <= 2_000_000_000, "id bands overflow"

#: Records of a plain generated collection: a modest, per-company number.
_MIN_RECORDS, _MAX_RECORDS = 3, 20
#: Children go to at most this many parents, each getting 0 to ``_MOST_CHILDREN``.
_PARENTS_WITH_CHILDREN, _MOST_CHILDREN = 12, 3
assert _PARENTS_WITH_CHILDREN * _MOST_CHILDREN <= STRIDE


def generated_first_id(resource: str, company_index: int) -> int:
    """Id of record 0 of a generated collection in the ``company_index``-th company."""
    if company_index >= MAX_COMPANIES:
        raise ValueError(f"more than {MAX_COMPANIES:,} companies overflow the id bands")
    return GENERATED_BASE + GENERATED.index(resource) * BAND + company_index * STRIDE


class SpecPlan:
    """Sizes, ids, references and parents of the generated collections of one company."""

    __slots__ = ("_counts", "_ctx", "_prefixes", "_spans")

    def __init__(self, ctx: CompanyContext, host: str) -> None:
        self._ctx = ctx
        self._counts: dict[str, int] = {}
        self._spans: dict[str, tuple[tuple[int, range], ...]] = {}
        self._prefixes = {path: f"{host}/v2/{RESOURCES[path].item_path}/" for path in GENERATED}

    @property
    def ctx(self) -> CompanyContext:
        """The company's context (hand-built collections, calendar, identity)."""
        return self._ctx

    def hashed(self, resource: str, index: int) -> int:
        """A pure 64-bit hash of (company, resource, index)."""
        return mix(self._ctx.salt ^ (zlib.crc32(resource.encode()) << 24) ^ index)

    def count(self, resource: str) -> int:
        """Records of ``resource`` (hand-built or generated) in the company."""
        if resource in CORE_RESOURCES:
            return self._ctx.counts[resource]
        found = self._counts.get(resource)
        if found is None:
            found = self._counts[resource] = self._count(resource)
        return found

    def _count(self, resource: str) -> int:
        info = RESOURCES[resource]
        if self._ctx.plan.role == "empty":
            return 0
        if info.parent is not None:
            return sum(len(children) for _, children in self.spans(resource))
        spread = _MAX_RECORDS - _MIN_RECORDS + 1
        n = _MIN_RECORDS + self.hashed(resource, 1 << 40) % spread
        key = load_models()[info.model].field(info.key or "")
        if key is not None and key.enum:
            n = min(n, len(key.enum))  # natural keys stay unique
        return n

    def first_id(self, resource: str) -> int:
        """Id of the company's record 0 of ``resource``."""
        if resource in CORE_RESOURCES:
            return self._ctx.first_id(resource)
        return generated_first_id(resource, self._ctx.plan.index)

    def spans(self, resource: str) -> tuple[tuple[int, range], ...]:
        """(parent index, indices of its children) of a child collection, for every
        parent with children, in parent order; the other parents have none."""
        found = self._spans.get(resource)
        if found is None:
            found = self._spans[resource] = self._layout(resource)
        return found

    def _layout(self, resource: str) -> tuple[tuple[int, range], ...]:
        info = RESOURCES[resource]
        assert info.parent is not None, resource
        parents = self.count(info.parent.parent)
        chosen = min(parents, _PARENTS_WITH_CHILDREN)
        out: list[tuple[int, range]] = []
        start = 0
        for k in range(chosen):
            parent = k * parents // chosen  # spread over the whole parent list
            n = self.hashed(resource, parent) % (_MOST_CHILDREN + 1)
            if n == 0 and k == chosen - 1 and start == 0:
                n = 1  # a company with parents has some child
            if n:
                out.append((parent, range(start, start + n)))
                start += n
        return tuple(out)

    def children(self, resource: str, parent_index: int) -> range:
        """Indices of the children of parent ``parent_index`` in child ``resource``."""
        for parent, span in self.spans(resource):
            if parent == parent_index:
                return span
        return range(0)

    def ref(self, resource: str, index: int) -> Ref | None:
        """Reference to record ``index`` of ``resource``; None if there is none."""
        if resource in CORE_RESOURCES:
            return self._ctx.ref(resource, index)
        if not 0 <= index < self.count(resource):
            return None
        rid = self.first_id(resource) + index
        return {"id": rid, "url": f"{self._prefixes[resource]}{rid}"}

    def pick(self, resource: str, rng: Random, none_share: float = 0.0) -> Ref | None:
        """A random existing record of ``resource``, or None (with ``none_share`` odds)."""
        n = self.count(resource)
        if n == 0 or rng.random() < none_share:
            return None
        return self.ref(resource, int(rng.random() * n))
