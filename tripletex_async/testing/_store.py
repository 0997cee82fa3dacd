"""The simulator's mutable data: per-company collections built lazily from a Portfolio.

Hot-path choices: each object's ``*`` projection is serialized once and reused until the
object changes, and every collection carries a generation counter that keys the caches of
page bodies and digests, so serving a repeated query costs a dictionary lookup.

Children (order lines, postings) keep their parent in step: creating, changing or deleting
one rewrites the parent's list of children and moves the parent's digest on, but leaves
the parent's ``version`` and ``changes`` alone, as Tripletex does (tripletex-api2#107).

Records without ``id`` (``company/salesmodules``, report rows) are kept by position; the
digest of a result of them is a checksum of their content. A report (``snapshot``) is a
collection computed for one company and set of dates, rebuilt when a collection it is
computed from changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import msgspec

from ._errors import ApiFailure, not_found
from ._portfolio import Portfolio
from ._resources import CHILD_LINKS, MODEL_COLLECTIONS, RESOURCES, ChildLink
from ._snapshots import SNAPSHOTS
from ._write_defaults import Scope, Writer, split_children

__all__ = ["Collection", "Mutation", "Store"]

OSLO = ZoneInfo("Europe/Oslo")
#: Reports kept at once (per company and dates); all are dropped when full.
_MAX_SNAPSHOTS = 512
_encode = msgspec.json.Encoder().encode

MutationKind = Literal["create", "update", "delete"]


@dataclass(frozen=True, slots=True)
class Mutation:
    """One change made to the simulator's data, as webhooks see it."""

    company_id: int
    resource: str
    id: int
    kind: MutationKind
    record: dict[str, Any]


class Collection:
    """The objects of one resource in one company."""

    __slots__ = ("_ordered", "_star", "by_id", "child_stamps", "generation", "resource")

    def __init__(self, resource: str, records: Iterable[dict[str, Any]]) -> None:
        self.resource = resource
        #: By id; records without one (those with a natural key) by position.
        self.by_id: dict[int, dict[str, Any]] = (
            {r["id"]: r for r in records}
            if RESOURCES[resource].key is None
            else dict(enumerate(records))
        )
        self.generation = 0
        #: Per parent id, how often its children changed: what the digest sees of them,
        #: since the parent's own ``version`` does not move.
        self.child_stamps: dict[int, int] = {}
        self._ordered: list[dict[str, Any]] | None = None
        self._star: dict[int, bytes] = {}

    def ordered(self) -> list[dict[str, Any]]:
        """All objects sorted by id (cached until the next change)."""
        if self._ordered is None:
            self._ordered = [self.by_id[i] for i in sorted(self.by_id)]
        return self._ordered

    def star_bytes(self, record: dict[str, Any]) -> bytes:
        """The serialized ``*`` projection of ``record`` (every field but ``changes``)."""
        rid = record.get("id")
        cached = self._star.get(rid) if rid is not None else None
        if cached is None:
            cached = _encode({k: v for k, v in record.items() if k != "changes"})
            if rid is not None:
                self._star[rid] = cached
        return cached

    def touch(self, record_id: int) -> None:
        """Invalidate the caches after ``record_id`` changed."""
        self.generation += 1
        self._ordered = None
        self._star.pop(record_id, None)

    def touch_children(self, record_id: int) -> None:
        """Note that the children of ``record_id`` changed (its digest moves on)."""
        self.child_stamps[record_id] = self.child_stamps.get(record_id, 0) + 1
        self.touch(record_id)


def digest(
    records: Iterable[dict[str, Any]], fields: str, child_stamps: Mapping[int, int] | None = None
) -> str:
    """A checksum of a matched result: ids, versions, child changes and the fields asked.

    Objects reached only through an expanded reference (``customer(name)`` on an invoice)
    are not in it: Tripletex's checksum misses such changes too.
    """
    h = hashlib.blake2b(fields.encode(), digest_size=16)
    if not child_stamps:
        for r in records:
            rid = r.get("id")
            if rid is None:
                # No id and no version: what identifies such a row is its content.
                h.update(_encode(r))
            else:
                h.update(b"%d:%d;" % (rid, r.get("version", 0)))
        return h.hexdigest()
    for r in records:
        stamp = child_stamps.get(r["id"], 0)
        h.update(b"%d:%d:%d;" % (r["id"], r.get("version", 0), stamp))
    return h.hexdigest()


class Store:
    """Every company's collections, plus the mutation API and its listeners."""

    def __init__(self, portfolio: Portfolio, clock: Callable[[], datetime]) -> None:
        self.portfolio = portfolio
        self._clock = clock
        self._collections: dict[tuple[int, str], Collection] = {}
        self._snapshots: dict[tuple[int, str, tuple[str, ...]], Collection] = {}
        self._parents: dict[tuple[int, str], dict[int, int]] = {}
        self._next_id = 2_000_000_000
        self._writer = Writer()
        self.listeners: list[Callable[[Mutation], None]] = []

    def has_company(self, company_id: int) -> bool:
        """Whether ``company_id`` is a company with data in the portfolio."""
        return self.portfolio.has_company(company_id)

    def collection(self, company_id: int, resource: str) -> Collection:
        """The collection, materialized from the portfolio on first use."""
        key = (company_id, resource)
        coll = self._collections.get(key)
        if coll is None:
            records = self.portfolio.records(company_id, resource)
            coll = Collection(resource, (dict(r) for r in records))
            self._collections[key] = coll
        return coll

    def snapshot(self, company_id: int, resource: str, args: tuple[str, ...]) -> Collection:
        """The rows of report ``resource`` for ``args`` (its dates), computed on first use
        and again after a collection it is computed from changed.

        Its ``generation`` is the sum of those collections' generations, so caches keyed
        by it move on with them.
        """
        snapshot = SNAPSHOTS.get(resource)
        if snapshot is None:
            raise not_found()
        sources = [self.collection(company_id, path) for path in snapshot.sources]
        generation = sum(c.generation for c in sources)
        key = (company_id, resource, args)
        coll = self._snapshots.get(key)
        if coll is None or coll.generation != generation:
            rows = snapshot.compute(lambda path: self.collection(company_id, path).ordered(), args)
            coll = Collection(resource, rows)
            coll.generation = generation
            if len(self._snapshots) >= _MAX_SNAPSHOTS:
                self._snapshots.clear()
            self._snapshots[key] = coll
        return coll

    def parent_ids(self, company_id: int, resource: str) -> dict[int, int]:
        """Child id -> parent id of a generated child collection, as generated."""
        key = (company_id, resource)
        found = self._parents.get(key)
        if found is None:
            found = self._parents[key] = self.portfolio.parent_ids(company_id, resource)
        return found

    def resolver(self, company_id: int) -> Callable[[str, int], dict[str, Any] | None]:
        """Look up referenced objects of ``company_id`` by (model, id)."""

        def resolve(model: str, record_id: int) -> dict[str, Any] | None:
            path = MODEL_COLLECTIONS.get(model)
            if path is None:
                return None
            return self.collection(company_id, path).by_id.get(record_id)

        return resolve

    def lookup(self, company_id: int) -> Callable[[str], Collection]:
        """The collections of ``company_id`` by path."""
        return lambda path: self.collection(company_id, path)

    # -- mutations ---------------------------------------------------------------------

    def add(self, company_id: int, resource: str, data: dict[str, Any]) -> dict[str, Any]:
        """Create an object and notify listeners.

        ``id``, ``version``, ``changes`` and ``url`` are assigned and every other field
        filled as Tripletex fills it (`_write_defaults`); children in ``data`` (an order's
        ``orderLines``) become objects of their own, created before the parent's
        notification, so that it lists them.
        """
        coll = self.collection(company_id, resource)
        data, children = split_children(resource, data)
        fields = self._writer.created(resource, data, self._scope(company_id))
        self._next_id += 1
        record_id = self._next_id
        host, path = self.portfolio.config.host, RESOURCES[resource].item_path
        record: dict[str, Any] = {"id": record_id, "version": 0}
        record["changes"] = [self._change("CREATE")]
        record["url"] = f"{host}/v2/{path}/{record_id}"
        record.update(fields)
        coll.by_id[record_id] = record
        coll.touch(record_id)
        self._relink(company_id, resource, None, record)
        self._add_children(company_id, record_id, children)
        record = coll.by_id[record_id]
        self._notify(Mutation(company_id, resource, record_id, "create", record))
        return record

    def update(
        self, company_id: int, resource: str, record_id: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        """Change fields of an object, bump ``version`` and append to ``changes``.

        A ``version`` in ``data`` that is not the current one is a 409/8000, as in the
        real API; leaving it out is last-writer-wins. References are completed and what
        follows from the fields sent recomputed (`_write_defaults`); new children in ``data``
        are created, and the parent's list of them follows its children, never ``data``.
        """
        coll = self.collection(company_id, resource)
        old = coll.by_id.get(record_id)
        if old is None:
            raise not_found()
        if "version" in data and data["version"] != old.get("version"):
            raise ApiFailure(409, 8000, "RevisionException")
        data, children = split_children(resource, data)
        record = dict(old)
        record.update(self._writer.updated(resource, old, data, self._scope(company_id)))
        record["version"] = int(old.get("version", 0)) + 1
        record["changes"] = [*old.get("changes", []), self._change("UPDATE")]
        coll.by_id[record_id] = record
        coll.touch(record_id)
        self._relink(company_id, resource, old, record)
        self._add_children(company_id, record_id, children)
        record = coll.by_id[record_id]
        self._notify(Mutation(company_id, resource, record_id, "update", record))
        return record

    def delete(self, company_id: int, resource: str, record_id: int) -> dict[str, Any]:
        """Remove an object and notify listeners."""
        coll = self.collection(company_id, resource)
        record = coll.by_id.pop(record_id, None)
        if record is None:
            raise not_found()
        coll.touch(record_id)
        self._relink(company_id, resource, record, None)
        self._notify(Mutation(company_id, resource, record_id, "delete", record))
        return record

    def _relink(
        self,
        company_id: int,
        resource: str,
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
    ) -> None:
        """Keep the parents of a child that was created, changed or deleted in step.

        A child that moved leaves its old parent's list; the (new) parent lists it. Only
        the parents' collection changes generation: the caches of others stay valid.
        """
        link = CHILD_LINKS.get(resource)
        if link is None:
            return
        parents = self.collection(company_id, link.parent)
        before, after = _parent_id(old, link), _parent_id(new, link)
        if old is not None and before is not None and before != after:
            _restate_child(parents, before, link, old, present=False)
        if new is not None and after is not None:
            _restate_child(parents, after, link, new, present=True)

    def _scope(self, company_id: int) -> Scope:
        return Scope(
            company_id, self.lookup(company_id), lambda path, data: self.add(company_id, path, data)
        )

    def _add_children(
        self, company_id: int, parent_id: int, children: list[tuple[str, list[dict[str, Any]]]]
    ) -> None:
        """Create the new children a parent was written with, in the order sent."""
        for child, items in children:
            link = CHILD_LINKS[child]
            for item in items:
                self.add(company_id, child, {**item, link.parent_field: {"id": parent_id}})

    def _change(self, change_type: str) -> dict[str, Any]:
        stamp = self._clock().astimezone(OSLO).replace(microsecond=0).isoformat()
        return {"employeeId": 1, "timestamp": stamp, "changeType": change_type}

    def _notify(self, mutation: Mutation) -> None:
        for listener in self.listeners:
            listener(mutation)


def _parent_id(child: dict[str, Any] | None, link: ChildLink) -> int | None:
    """Id of the parent that ``child`` names, if it names one."""
    ref = None if child is None else child.get(link.parent_field)
    if not isinstance(ref, dict):
        return None
    try:
        return int(ref["id"])
    except (KeyError, TypeError, ValueError):
        return None


def _restate_child(
    parents: Collection, parent_id: int, link: ChildLink, child: dict[str, Any], *, present: bool
) -> None:
    """Make the parent list ``child`` (or not); its ``version`` and ``changes`` stay."""
    parent = parents.by_id.get(parent_id)
    if parent is None:
        return
    refs = list(parent.get(link.children_field) or [])
    listed = any(r.get("id") == child["id"] for r in refs)
    if present and not listed:
        refs.append({"id": child["id"], "url": child["url"]})
    elif not present:
        refs = [r for r in refs if r.get("id") != child["id"]]
    # A new dict and list: the portfolio's records are shared and stay read-only.
    parents.by_id[parent_id] = {**parent, link.children_field: refs}
    parents.touch_children(parent_id)


def check_resource(resource: str) -> None:
    """Raise 404 for a path the simulator does not serve."""
    if resource not in RESOURCES:
        raise not_found()
