"""The import graph shows the architecture: layers import only those below them, and no
module imports itself back through others."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tripletex_async

PACKAGE = Path(tripletex_async.__file__).parent

#: Each layer, and the parts of the package it must not import. The simulator
#: (``testing``) is a product of its own built on the library, never under it.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "client": ("engine", "sinks", "webhooks", "cli", "models", "testing"),
    "sinks": ("engine", "webhooks", "cli", "models", "testing"),
    "models": ("engine", "sinks", "webhooks", "cli", "testing"),
    "engine": ("webhooks", "cli", "testing"),
    "webhooks": ("cli", "testing"),
}
#: Commands that are the simulator by design: ``demo`` syncs a simulated portfolio and
#: ``fake-server`` serves one.
SIMULATOR_COMMANDS = frozenset({"cli._demo_cmd", "cli._main"})


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in it (functions and
    ``TYPE_CHECKING`` blocks too: a cycle there is a cycle of concepts)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    if name == "":
        package = []
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif (node.module or "").startswith("tripletex_async"):
                target = (node.module or "").removeprefix("tripletex_async").lstrip(".")
            else:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}".lstrip(".")
                found.add(sub if sub in MODULES else target)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tripletex_async."):
                    found.add(alias.name.removeprefix("tripletex_async."))
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> str:
    return module.split(".", 1)[0]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    """The client knows nothing of syncing, sinks nothing of the engine, and so on."""
    wrong = {
        (module, target)
        for module, targets in GRAPH.items()
        if _layer(module) == layer
        for target in targets
        if _layer(target) in FORBIDDEN[layer]
    }
    assert not wrong


def test_the_product_does_not_import_the_simulator() -> None:
    """Only the commands that are the simulator import ``testing``."""
    wrong = {
        (module, target)
        for module, targets in GRAPH.items()
        if _layer(module) != "testing" and module not in SIMULATOR_COMMANDS
        for target in targets
        if _layer(target) == "testing"
    }
    assert not wrong


def test_the_import_graph_has_no_cycle() -> None:
    """No module reaches itself through its imports."""
    edges = GRAPH
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    assert not cycles
