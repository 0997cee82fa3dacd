"""Contract: every path, method and query parameter the simulator serves is in the spec.

Reads Tripletex's own OpenAPI file from the ``shared`` folder beside the repository. It
is skipped only where that folder is absent, and fails instead when ``CI`` is set (CI
always has it).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tripletex_async._spec import registry_json
from tripletex_async.testing import RESOURCES

#: Query parameters the simulator reads on every list endpoint.
LIST_PARAMS = {"from", "count", "sorting", "fields"}
#: Routes outside the resource table: (path, method, query params read).
FIXED_ROUTES = [
    ("/token/session/:create", "put", {"consumerToken", "employeeToken", "expirationDate"}),
    ("/token/session/:create", "post", set()),
    ("/token/session/>whoAmI", "get", {"fields"}),
    ("/token/session/{token}", "delete", set()),
    ("/company/>withLoginAccess", "get", LIST_PARAMS),
    ("/event", "get", set()),
    ("/event/{eventType}", "get", set()),
    ("/event/subscription", "get", LIST_PARAMS),
    ("/event/subscription", "post", set()),
    ("/event/subscription/{id}", "get", set()),
    ("/event/subscription/{id}", "put", set()),
    ("/event/subscription/{id}", "delete", set()),
    ("/event/subscription/list", "post", set()),
    ("/event/subscription/list", "put", set()),
    ("/event/subscription/list", "delete", {"ids"}),
]


@pytest.fixture(scope="module")
def paths(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec's paths."""
    return spec["paths"]  # type: ignore[no-any-return]


def _params(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}


@pytest.mark.parametrize(("path", "method", "params"), FIXED_ROUTES)
def test_fixed_route_is_in_the_spec(
    paths: dict[str, Any], path: str, method: str, params: set[str]
) -> None:
    """Session, company, event and subscription routes exist with their parameters."""
    assert method in paths[path], f"{method.upper()} {path} is not in the spec"
    assert params <= _params(paths[path][method])


@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_resource_methods_are_in_the_spec(paths: dict[str, Any], resource: str) -> None:
    """Every method the simulator serves on a resource and its items is in the spec."""
    info = RESOURCES[resource]
    collection = paths.get(f"/{resource}", {})
    item = paths.get(f"/{resource}/{{id}}", {})
    if info.listable:
        assert "get" in collection
    assert {m.lower() for m in info.collection_methods} <= set(collection)
    assert {m.lower() for m in info.item_methods} <= set(item)


@pytest.mark.parametrize("resource", sorted(r for r in RESOURCES if RESOURCES[r].listable))
def test_list_query_parameters_are_in_the_spec(paths: dict[str, Any], resource: str) -> None:
    """Paging, fields, sorting, id, the dates, the parent id, fixed flags and changedSince
    exist where read; the simulator requires exactly the parameters the spec does."""
    info = RESOURCES[resource]
    operation = paths[f"/{resource}"]["get"]
    read = set(LIST_PARAMS) | ({info.id_param} if info.id_param else set())
    required = set(info.date_params or ()) | set(info.required)
    if info.parent is not None and not info.parent.in_path:
        required.add(info.parent.param)
    read |= required
    if info.changed_since:
        read.add("changedSince")
    assert read <= _params(operation)
    in_spec = {p["name"] for p in operation.get("parameters", []) if p.get("required")}
    assert in_spec - _path_params(operation) == required


@pytest.mark.parametrize("resource", sorted(r for r in RESOURCES if "{" in r))
def test_path_parameter_of_a_child_list_is_its_parent_id(
    paths: dict[str, Any], resource: str
) -> None:
    """A list with a parameter in its path takes the parent id there."""
    info = RESOURCES[resource]
    assert info.parent is not None
    assert info.parent.in_path
    assert info.parent.param in _path_params(paths[f"/{resource}"]["get"])


def test_every_list_endpoint_of_the_registry_is_served(spec: dict[str, Any]) -> None:
    """Every GET list of the registry that is not excluded is a listable resource, and
    every listable resource is a GET list of the spec."""
    registry = json.loads(registry_json())["endpoints"]
    wanted = {e["path"].lstrip("/") for e in registry if e["kind"] != "excluded"}
    served = {r for r, info in RESOURCES.items() if info.listable}
    assert wanted == served
    assert all("get" in spec["paths"][f"/{r}"] for r in served)


def _path_params(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
