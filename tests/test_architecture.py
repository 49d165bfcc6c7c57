"""mm_train's imports go one way: no cycles, and no module imports from a layer above its own.

The layers are read from docs/architecture.md's table, so the document and the test cannot drift.

The graph is read from the source (imports inside functions included), so a deferred
import cannot hide a cycle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers import ROOT

PACKAGE = ROOT / "mm_train"

LAYERS_DOC = ROOT / "docs" / "architecture.md"


def read_layers(text: str) -> dict[str, list[str]]:
    """The "## Layers" table of docs/architecture.md, lowest first: ``{layer: [patterns]}``.

    A row is ``| layer | `core/`, `registry` | ... |``: a name ending in ``/`` is a package with all its
    modules, any other name one module.
    """
    section = text.split("\n## Layers", 1)[1].split("\n## ", 1)[0]
    layers = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[1].startswith("`"):
            continue
        layers[cells[0]] = [name.strip("`").replace("/", ".*") if name.strip("`").endswith("/") else name.strip("`")
                            for name in (n.strip() for n in cells[1].split(","))]
    return layers


# Lowest first. A module may import from its own layer and the layers below it, never above.
# A registry's members are imported by name (Registry.locations), which is not an import edge.
LAYERS = read_layers(LAYERS_DOC.read_text(encoding="utf-8"))
TOP_LEVEL_LIMIT = 15


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
            wild = pattern.endswith(".*") and (module == pattern[:-2] or module.startswith(pattern[:-1]))
            score = 2 if exact else 1 if wild else 0
            if score and (best is None or score > best):
                best, index = score, i
    if index is None:
        raise AssertionError(f"mm_train.{module} is in no layer: add it (or its folder) to the layer table of docs/architecture.md")
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
    source.write_text("def f():\n    from mm_train.tasks.training import train_task\n    import mm_train.jobs\n")
    assert imports(source, {"tasks.training": source, "jobs": source}) == {"tasks.training", "jobs"}


def test_the_layers_are_read_from_the_document():
    assert list(LAYERS)[:2] == ["core", "registry"] and list(LAYERS)[-1] == "front"
    assert read_layers("\n## Layers\n| layer | modules | what |\n|---|---|---|\n| low | `core/`, `registry` | x |\n"
                       "\n## Next\n| a | `b` | c |\n") == {"low": ["core.*", "registry"]}


def test_few_modules_at_the_top_level():
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    assert len(top) <= TOP_LEVEL_LIMIT, f"{len(top)} modules directly in mm_train/: {top}; put them in a layer's folder"


def test_every_folder_of_the_document_exists():
    folders = {p[:-2] for patterns in LAYERS.values() for p in patterns if p.endswith(".*")}
    missing = sorted(f for f in folders if not (PACKAGE / f.replace(".", "/") / "__init__.py").exists())
    assert not missing, f"docs/architecture.md names folders that do not exist: {missing}"
