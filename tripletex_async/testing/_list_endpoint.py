"""`ListEndpoint`: a list served as Tripletex does, from a cache of whole page bodies.

A page is cached under its query and the generations of the collections it reads (its
own and those its ``fields`` expand), so a write anywhere it looks makes it a miss; the
``If-None-Match`` digest is cached under the query's filter and fields alone, since
Tripletex's ignores expanded references. Filtering walks the whole collection, so it is
done at most once per query and generation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from . import _fields
from ._config import FakeConfig
from ._errors import ApiFailure
from ._http import FakeRequest, FakeResponse
from ._lists import NO_DIGEST, envelope, full_result_size, match, parse_list_query
from ._resources import MODEL_COLLECTIONS, ResourceInfo
from ._schema import ModelSchema
from ._store import Store, digest

__all__ = ["JSON_HEADER", "ListEndpoint"]

JSON_HEADER = ("content-type", "application/json")


class ListEndpoint:
    """``GET`` of every listable path, and the page cache behind it.

    ``config``, ``clock`` and ``cache_bytes`` (the cache's budget, past which it is
    emptied) are read per call, so the app's can be swapped while it serves.
    """

    def __init__(
        self,
        store: Store,
        models: Mapping[str, ModelSchema],
        config: Callable[[], FakeConfig],
        clock: Callable[[], datetime],
        cache_bytes: Callable[[], int],
    ) -> None:
        self._store = store
        self._models = models
        self._config = config
        self._clock = clock
        self._cache_bytes = cache_bytes
        #: Page bodies and how many rows each holds, by query and collection generation.
        self._pages: dict[tuple[object, ...], tuple[bytes, int]] = {}
        self._digests: dict[tuple[object, ...], str] = {}
        self._page_bytes = 0

    def serve(
        self, request: FakeRequest, info: ResourceInfo, company: int, params: dict[str, str]
    ) -> FakeResponse:
        """One page of ``info``'s list in ``company``, as ``params`` ask."""
        query = parse_list_query(info, params, self._config(), now=self._clock())
        model = self._models[info.model]
        selection = _fields.select(query.fields, model, self._models)
        unapplied = query.unapplied_headers(info.path)
        if info.kind == "snapshot":
            coll = self._store.snapshot(company, info.path, query.date_range or ())
        else:
            coll = self._store.collection(company, info.path)
        matched: list[dict[str, Any]] | None = None

        def matching() -> list[dict[str, Any]]:
            # Filtering walks the whole collection: done once per query and generation,
            # not per request, since digests and pages are cached under the same keys.
            nonlocal matched
            if matched is None:
                matched = match(
                    coll.ordered(),
                    info,
                    query,
                    model,
                    resolve=self._store.resolver(company),
                    parents=self._parents(company, info),
                )
                if len(matched) > self._config().result_cap:
                    raise ApiFailure(
                        422,
                        23000,
                        "Result set too large. Limit of 10.000 reached.",
                        developer_message="Result set too large. Use filters to reduce the result.",
                    )
            return matched

        if_none_match = request.headers.get("if-none-match")
        version_digest = NO_DIGEST
        if if_none_match:
            digest_key = (company, info.path, coll.generation, query.filter_key, query.fields)
            version_digest = self._digests.get(digest_key) or self._digests.setdefault(
                digest_key, query.salted(digest(matching(), query.fields, coll.child_stamps))
            )
            if if_none_match == version_digest:
                return FakeResponse(304, headers=unapplied)
        # Expanded references are read at serving time: the page is only as fresh as the
        # collections it expands, while the digest above ignores them, as Tripletex's does.
        related = self._expanded_generations(company, selection, model)
        key = (company, info.path, coll.generation, query, bool(if_none_match), related)
        cached = self._pages.get(key)
        if cached is None:
            rows = matching()
            page = rows[query.start : query.start + query.count]
            if selection.is_plain_star:
                values = [coll.star_bytes(r) for r in page]
            else:
                resolve = self._store.resolver(company)
                values = [
                    msgspec.json.encode(_fields.project(r, selection, model, self._models, resolve))
                    for r in page
                ]
            body = envelope(
                full_size=full_result_size(len(rows), self._config().full_result_size),
                start=query.start,
                values=values,
                digest=version_digest,
                extra=_envelope_extra(info, rows),
            )
            cached = (body, len(page))
            self._cache_page(key, cached)
        body, served = cached
        share = _fields.field_share(selection, model)
        return FakeResponse(200, body, [JSON_HEADER, *unapplied], rows=served * share)

    def _parents(self, company: int, info: ResourceInfo) -> dict[int, int] | None:
        """Child id -> parent id, for a child list whose schema does not name the parent."""
        if info.parent is None or info.parent.field is not None:
            return None
        return self._store.parent_ids(company, info.path)

    def _expanded_generations(
        self, company: int, selection: _fields.Selection, model: ModelSchema
    ) -> tuple[tuple[str, int], ...]:
        """(path, generation) of every stored collection that ``selection`` expands."""
        out: list[tuple[str, int]] = []
        for name, sub in selection.names.items():
            info = model.field(name)
            target = info.target if sub is not None and info is not None else None
            if sub is None or target is None or target not in self._models:
                continue
            path = MODEL_COLLECTIONS.get(target)
            if path is not None:
                out.append((path, self._store.collection(company, path).generation))
            out.extend(self._expanded_generations(company, sub, self._models[target]))
        return tuple(out)

    def _cache_page(self, key: tuple[object, ...], page: tuple[bytes, int]) -> None:
        size = len(page[0])
        if self._page_bytes + size > self._cache_bytes():
            self._pages.clear()
            self._digests.clear()
            self._page_bytes = 0
        self._pages[key] = page
        self._page_bytes += size


def _envelope_extra(info: ResourceInfo, matched: list[dict[str, Any]]) -> dict[str, Any] | None:
    if info.list_schema == "VoucherSearchResponse":
        return {"totalNumberOfPostings": sum(len(r.get("postings") or []) for r in matched)}
    if info.list_schema == "TimesheetEntrySearchResponse":
        return {"sumAllHours": round(sum(float(r.get("hours") or 0) for r in matched), 2)}
    return None
