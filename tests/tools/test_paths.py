"""The table of every spec path: committed as the tool makes it, and read back whole."""

from __future__ import annotations

from importlib import resources
from typing import Any

from tools import gen_paths
from tripletex_async import _spec
from tripletex_async.testing._spec_paths import lookup_models, match_route


def test_paths_json_is_what_the_tool_makes_of_the_spec(spec: dict[str, Any]) -> None:
    """``_spec/paths.json`` equals ``python -m tools.gen_paths SPEC``'s output."""
    committed = resources.files(_spec).joinpath("paths.json").read_text(encoding="utf-8")
    assert gen_paths.render(gen_paths.build(spec)) == committed


def test_every_spec_path_matches_itself_with_its_methods(spec: dict[str, Any]) -> None:
    """Each spec path, its parameters filled in with 1, is matched to itself."""
    for path, item in spec["paths"].items():
        route = "/".join("1" if s.startswith("{") else s for s in path.split("/"))
        found = match_route(route.lstrip("/"))
        assert found is not None, path
        methods = {m.upper() for m in item if m in ("get", "post", "put", "delete")}
        assert found.template == path.lstrip("/"), path
        assert found.methods == methods, path


def test_lookup_models_are_read() -> None:
    """The schemas of the lookups models.json lacks (PostingRules) are loaded."""
    rules = lookup_models()["PostingRules"]
    field = rules.field("accountReceivableCustomersId")
    assert field is not None
    assert field.target == "Account"
