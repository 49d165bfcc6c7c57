"""mm_train's imports go one way: no cycles, and no module imports from a layer above its own.

The graph is read from the source (imports inside functions included), so a deferred
import cannot hide a cycle. docs/architecture.md describes the same layers.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers import ROOT

PACKAGE = ROOT / "mm_train"

# Lowest first. A module may import from its own layer and the layers below it, never above.
# A registry's members are imported by name (Registry.locations), which is not an import edge.
LAYERS = {
    "core": ["locations", "errors", "argtypes", "ranks", "runfiles", "metrics", "device", "resolvers", "rundir",
             "fast_exit", "run_paths", "hydra_record", "terminal", "report_tasks"],
    "registry": ["registry"],
    "parts": ["data", "data.*", "nn", "nn.*", "losses", "optim", "lr_schedules", "amp", "train_step",
              "callbacks", "callbacks.*", "checkpoints", "migrate", "migrate.rules", "migrate.sources",
              "migrate.torch_pickle", "migrate.weights", "migrate.keras3", "migrate.onnx", "migrate.onnx.load",
              "migrate.onnx.translate", "migrate.onnx.ops", "migrate.onnx.walk", "migrate.onnx.blocks",
              "migrate.onnx.attention", "migrate.onnx.assessment", "migrate.parity", "debug", "sweep_report", "ema", "curves_png",
              "compile_cache", "interruption"],
    "config": ["config", "composition", "recipes", "boundary", "inheritance", "sweep_params",
               "recipe_files", "interpolation_bounds", "run_record"],
    "assembly": ["init_from", "assembly", "distributed"],
    "tasks": ["training", "inspection", "export", "predict", "inference_memory", "inference_child"],
    "jobs": ["jobs"],
    "front": ["entry", "commands", "commands.*", "launch", "__main__", "sweep_claim", "sweep_check"],
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    """The index of the most specific pattern that names ``module``."""
    best, index = None, None
    for i, (_, patterns) in enumerate(LAYERS.items()):
        for pattern in patterns:
            exact = pattern == module
            wild = pattern.endswith(".*") and module.startswith(pattern[:-1])
            score = 2 if exact else 1 if wild else 0
            if score and (best is None or score > best):
                best, index = score, i
    if index is None:
        raise AssertionError(f"mm_train.{module} is in no layer: add it to LAYERS here and to docs/architecture.md")
    return index


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """mm_train modules ``path`` imports (``from mm_train.x import y`` is x.y when y is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name == "mm_train" or a.name.startswith("mm_train.")]
            found.update(n.removeprefix("mm_train").lstrip(".") for n in names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and \
                (node.module == "mm_train" or node.module.startswith("mm_train.")):
            base = node.module.removeprefix("mm_train").lstrip(".")
            for alias in node.names:
                candidate = f"{base}.{alias.name}".lstrip(".")
                found.add(candidate if candidate in known else base)
    return {m for m in found if m}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) & set(known) - {name} for name, path in known.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(f"mm_train.{m}" for m in cycle)


def test_no_module_imports_from_a_higher_layer():
    names = list(LAYERS)
    upward = [f"mm_train.{a} ({names[layer_of(a)]}) imports mm_train.{b} ({names[layer_of(b)]})"
              for a, targets in graph().items() for b in sorted(targets) if layer_of(b) > layer_of(a)]
    assert not upward, "imports against the layers:\n  " + "\n  ".join(upward)


def test_every_module_has_a_layer():
    for name in modules():
        if name:
            layer_of(name)


@pytest.mark.parametrize("edges, cycle", [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
])
def test_the_cycle_finder_finds_cycles(edges, cycle):
    assert find_cycle(edges) == cycle


def test_the_graph_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from mm_train.runner import execute\n    import mm_train.jobs\n")
    assert imports(source, {"runner": source, "jobs": source}) == {"runner", "jobs"}
