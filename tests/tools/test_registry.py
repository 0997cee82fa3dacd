"""The registry of every list endpoint: complete for the spec, committed as generated,
consistent with what the engine syncs, and a new list path fails until classified."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tools import gen_registry
from tripletex_async import DEFAULT_RESOURCES, RESOURCES
from tripletex_async._spec import registry_json
from tripletex_async.engine._registry import GROUPS, KINDS, endpoints

ROOT = Path(__file__).resolve().parents[2]


def test_every_list_path_of_the_spec_is_classified_as_committed(spec: dict[str, Any]) -> None:
    """Every GET path with ``from`` and ``count`` is in the committed registry, which is
    exactly what the tool makes of the spec (regenerate with ``python -m
    tools.gen_registry SPEC``)."""
    built = gen_registry.build(spec)
    assert [e["path"] for e in built["endpoints"]] == gen_registry.list_paths(spec)
    assert len(built["endpoints"]) == 176
    assert gen_registry.render(built) == registry_json().decode()


def test_docs_are_the_committed_registry() -> None:
    """docs/endpoints.md is rendered from the committed registry (no drift)."""
    registry = json.loads(registry_json())
    docs = (ROOT / "docs" / "endpoints.md").read_text(encoding="utf-8")
    assert gen_registry.render_docs(registry) == docs


def test_each_endpoint_has_a_kind_a_group_and_excluded_ones_a_reason() -> None:
    """Kinds and groups are the known ones; an excluded endpoint says why, an included
    one does not; dated ones have their date pair, children their parent."""
    for e in endpoints():
        assert e.kind in KINDS
        assert e.group in GROUPS
        assert bool(e.reason) == (e.kind == "excluded"), e.path
        assert (len(e.date_params) == 2) == (e.kind == "dated") or e.kind == "snapshot"
        assert (e.parent is not None) == (e.kind == "child"), e.path


def test_a_child_list_has_a_parent_that_is_synced() -> None:
    """A child's parent list is itself one to sync (its ids are what the child needs)."""
    to_sync = {e.path for e in endpoints() if e.kind != "excluded"}
    children = [e for e in endpoints() if e.parent is not None]
    assert {e.path for e in children} >= {"/bank/statement/transaction", "/product/productPrice"}
    for child in children:
        assert child.parent is not None
        assert child.parent.path in to_sync


def test_the_engine_syncs_every_endpoint_the_registry_does_not_exclude() -> None:
    """`RESOURCES` is the registry's to-sync endpoints, each read as its kind says."""
    by_name = {e.name: e for e in endpoints()}
    assert set(RESOURCES) == {n for n, e in by_name.items() if e.kind != "excluded"}
    for name, resource in RESOURCES.items():
        entry = by_name[name]
        kind = "snapshot" if resource.snapshot else "dated" if resource.dated else "plain"
        assert entry.kind == ("child" if resource.parent else kind), name
        assert tuple(entry.date_params) == (resource.date_params or ())


def test_the_default_set_is_the_core_seventeen() -> None:
    """A run without ``--resources`` stays as cheap as before: the 17 core resources."""
    assert len(DEFAULT_RESOURCES) == 17
    assert set(DEFAULT_RESOURCES) < set(RESOURCES)


def _with_path(spec: dict[str, Any], path: str, required: list[str]) -> dict[str, Any]:
    new = copy.deepcopy(spec)
    template = copy.deepcopy(new["paths"]["/customer"]["get"])
    template["parameters"] = [
        *({"name": n, "in": "query", "required": True, "schema": {"type": "integer"}}
          for n in required),
        *({"name": n, "in": "query", "schema": {"type": "integer"}} for n in ("from", "count")),
    ]  # fmt: skip
    new["paths"][path] = {"get": template}
    return new


def test_a_new_list_path_with_an_unknown_required_param_stops_the_tool(
    spec: dict[str, Any],
) -> None:
    """A list endpoint a new spec adds, needing a param no rule knows, is never silently
    synced or skipped: the tool names it."""
    with pytest.raises(gen_registry.Unclassified, match="/customer/widget: required widgetId"):
        gen_registry.build(_with_path(spec, "/customer/widget", ["widgetId"]))


def test_a_new_list_path_outside_every_group_stops_the_tool(spec: dict[str, Any]) -> None:
    """A plain new list in a part of the API no group covers is named, not guessed."""
    with pytest.raises(gen_registry.Unclassified, match="/gizmo: no resource group"):
        gen_registry.build(_with_path(spec, "/gizmo", []))


def test_a_new_plain_list_in_a_known_group_is_classified_plain(spec: dict[str, Any]) -> None:
    """What the spec makes plain needs no table entry: no required param, a group."""
    built = gen_registry.build(_with_path(spec, "/customer/widget", []))
    entry = next(e for e in built["endpoints"] if e["path"] == "/customer/widget")
    assert (entry["kind"], entry["group"]) == ("plain", "invoicing")


def test_the_readme_resource_table_is_the_committed_registry() -> None:
    """The README's resource table is rendered from the committed registry (no drift)."""
    registry = json.loads(registry_json())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = gen_registry.render_readme_table(registry)
    assert table in readme
    assert gen_registry.with_readme_table(readme, table) == readme
