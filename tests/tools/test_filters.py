"""The classification of every list filter: committed as generated, complete for the
spec, consistent with the models and with `_hidden`, and documented."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tools import distil_filters
from tripletex_async._spec import filters_json, registry_json
from tripletex_async.testing import _hidden
from tripletex_async.testing._schema import load_models

ROOT = Path(__file__).resolve().parents[2]
COMMITTED: dict[str, Any] = json.loads(filters_json())
REGISTRY: dict[str, Any] = json.loads(registry_json())
APPLIED = ("equals", "ref_equals", "ids", "containing", "range_from", "range_to", "boolean")


def test_the_committed_filters_are_what_the_tool_makes_of_the_spec(spec: dict[str, Any]) -> None:
    """filters.json is exactly the tool's output (regenerate with ``python -m
    tools.distil_filters SPEC``)."""
    assert distil_filters.render(distil_filters.build(spec)) == filters_json().decode()


def test_every_query_param_of_every_served_list_is_classified(spec: dict[str, Any]) -> None:
    """Each query param of each served list, but paging, fields, sorting, changedSince,
    required dates and the parent id, has an entry: a param a new spec adds fails here
    until the tool has classified it."""
    for endpoint in distil_filters.served(REGISTRY):
        path = endpoint["path"]
        params = {p["name"] for p in distil_filters._params(spec, path)}
        expected = params - distil_filters.skipped(endpoint)
        assert set(COMMITTED["filters"][path]) == expected, path


def test_a_new_param_is_classified_not_dropped(spec: dict[str, Any]) -> None:
    """A param the spec adds gets an entry of a known kind (here: an equality on a field
    the model has)."""
    new = copy.deepcopy(spec)
    params = new["paths"]["/customer"]["get"]["parameters"]
    params.append({"name": "website", "in": "query", "description": "Equals",
                   "schema": {"type": "string"}})  # fmt: skip
    built = distil_filters.build(new)
    assert built["filters"]["/customer"]["website"] == {
        "kind": "equals",
        "field": "website",
        "type": "string",
    }


def test_every_kind_is_known_and_unapplied_ones_say_why() -> None:
    """Kinds are the tool's; an unapplied filter has a reason, an applied one a field."""
    for path, entries in COMMITTED["filters"].items():
        for name, entry in entries.items():
            assert entry["kind"] in distil_filters.KINDS, (path, name)
            assert bool(entry.get("reason")) == (entry["kind"] == "unapplied"), (path, name)
            assert bool(entry.get("field")) == (entry["kind"] in APPLIED), (path, name)


def test_every_applied_field_is_a_field_of_the_list_model() -> None:
    """A filter's field is a scalar of the record, or ``x.id`` of a reference ``x``."""
    models = load_models()
    for endpoint in distil_filters.served(REGISTRY):
        model = models[endpoint["model"]]
        for name, entry in COMMITTED["filters"][endpoint["path"]].items():
            if entry["kind"] not in APPLIED:
                continue
            head, _, rest = entry["field"].partition(".")
            found = model.field(head)
            assert found is not None, (endpoint["path"], name)
            assert found.kind == ("ref" if rest else "scalar"), (endpoint["path"], name)
            assert rest in ("", "id"), (endpoint["path"], name)


def test_hidden_params_are_those_of_the_hidden_rules() -> None:
    """The tool leaves to `_hidden` exactly the lists `_hidden` has rules for."""
    assert {p.lstrip("/") for p in distil_filters.HIDDEN} == set(_hidden._RULES)
    hidden = {
        path for path, entries in COMMITTED["filters"].items()
        if any(e["kind"] == "hidden" for e in entries.values())
    }  # fmt: skip
    assert hidden == set(distil_filters.HIDDEN)


@pytest.mark.parametrize(("path", "name"), sorted(distil_filters.EXPLICIT))
def test_each_explicit_mapping_is_a_param_of_a_served_list(path: str, name: str) -> None:
    """No stale entry in the table of explicit mappings."""
    assert name in COMMITTED["filters"][path]


@pytest.mark.parametrize(
    ("path", "name", "kind", "field"),
    [
        ("/order", "isClosed", "boolean", "isClosed"),
        ("/order", "customerId", "ids", "customer.id"),
        ("/invoice", "customerId", "ref_equals", "customer.id"),
        ("/customer", "organizationNumber", "equals", "organizationNumber"),
        ("/customer", "customerName", "containing", "name"),
        ("/ledger/account", "number", "ids", "number"),
        ("/ledger/vatType", "number", "ids", "number"),
        ("/project", "startDateFrom", "range_from", "startDate"),
        ("/project", "startDateTo", "range_to", "startDate"),
    ],
)
def test_the_issues_examples_are_classified(path: str, name: str, kind: str, field: str) -> None:
    """The filters issue 19 names map to the record fields they filter on."""
    entry = COMMITTED["filters"][path][name]
    assert (entry["kind"], entry["field"]) == (kind, field)


def test_docs_are_the_committed_filters() -> None:
    """docs/simulator-filters.md is rendered from the committed filters (no drift)."""
    docs = (ROOT / "docs" / "simulator-filters.md").read_text(encoding="utf-8")
    assert distil_filters.render_docs(COMMITTED) == docs
