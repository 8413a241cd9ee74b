"""The package's architecture rules (issue 13): layers, no import cycles, module sizes.

The import graph of ``limecli`` is built with ``ast`` from every ``import`` and
``from ... import`` in a module, at any depth (function-level imports count: they
run too), except inside ``if TYPE_CHECKING:`` blocks (their ``else`` counts).
``from limecli.x import y`` is an edge to ``limecli.x.y`` when that is a module,
else to ``limecli.x``; relative imports are resolved the same way. A string handed
to ``importlib.import_module`` is not an import statement and is not followed.

The rules:

- no import cycle between limecli modules (a module importing itself is ignored);
- no upward import: each module has the rank of the longest entry of ``LAYERS`` that
  names it or a package holding it, and imports only modules of its own rank or
  lower. A module no entry names is a failure too: place a new module in ``LAYERS``;
- no module in ``limecli/`` over 400 lines, and every ``limecli/cli/`` module under 200.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "limecli"

#: Layer ranks, low -> high (as in the plan of issue 13). An entry names a module and
#: everything under it; the root package's entry names only its ``__init__``.
LAYERS: dict[str, int] = {
    "limecli": 0,
    "limecli.errors": 0,
    "limecli.jsonable": 0,
    "limecli.validation": 1,
    "limecli.atomic": 1,
    "limecli.allocator": 1,
    "limecli.config": 1,
    "limecli.model": 2,
    "limecli.inputs": 2,
    "limecli.surrogate": 2,
    "limecli.stability": 2,
    "limecli.block_moments": 2,
    "limecli.uncertainty": 2,
    "limecli.sampling": 2,
    "limecli.segment_cache": 2,
    "limecli.explanation": 3,
    "limecli.render": 3,
    "limecli.summary": 3,
    "limecli.explainers": 4,
    "limecli.batch": 5,
    "limecli.pipelines": 6,
    "limecli.audit": 7,
    "limecli.cli": 8,
    "limecli.__main__": 8,
}
MAX_LINES = 400
MAX_CLI_LINES = 199

Graph = dict[str, dict[str, int]]  # module -> {imported module: line of the first import}


# -- building the graph ----------------------------------------------------------------
def find_modules(package_dir: Path, package: str) -> dict[str, Path]:
    """Every module of the package by dotted name (a package is its ``__init__.py``)."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join([package, *parts])] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements at any depth, skipping the bodies of ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _known(name: str, modules: Mapping[str, Path]) -> str | None:
    """``name`` or the longest of its dotted prefixes that is a module."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in modules:
            return ".".join(parts)
        parts.pop()
    return None


def _targets(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: Mapping[str, Path]
) -> Iterator[str | None]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield _known(alias.name, modules)
        return
    if node.level:
        here = module.split(".") if is_package else module.split(".")[:-1]
        base_parts = here[: len(here) - (node.level - 1)]
        base = ".".join([*base_parts, *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        yield candidate if candidate in modules else _known(base, modules)


def import_graph(package_dir: Path, package: str) -> Graph:
    """Edges between the package's modules; imports of other packages are left out."""
    modules = find_modules(package_dir, package)
    graph: Graph = {}
    for module, path in modules.items():
        edges: dict[str, int] = {}
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree):
            for target in _targets(node, module, path.name == "__init__.py", modules):
                if target is not None and target != module:
                    edges[target] = min(edges.get(target, node.lineno), node.lineno)
        graph[module] = edges
    return graph


# -- the checks ------------------------------------------------------------------------
def import_cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def rank_of(module: str, layers: Mapping[str, int], package: str) -> int | None:
    """The rank of the longest ``layers`` entry naming the module or a package above it."""
    best: tuple[int, int] | None = None
    for prefix, rank in layers.items():
        covers = module == prefix or (prefix != package and module.startswith(prefix + "."))
        if covers and (best is None or len(prefix) > best[0]):
            best = (len(prefix), rank)
    return None if best is None else best[1]


def layer_violations(graph: Graph, layers: Mapping[str, int], package: str) -> list[str]:
    """Unplaced modules, and imports from a lower layer of a higher one."""
    problems = []
    for module in sorted(graph):
        if rank_of(module, layers, package) is None:
            problems.append(f"{module} has no layer: add it to LAYERS")
    for module, edges in sorted(graph.items()):
        rank = rank_of(module, layers, package)
        for target, line in sorted(edges.items()):
            target_rank = rank_of(target, layers, package)
            if rank is not None and target_rank is not None and target_rank > rank:
                problems.append(
                    f"{module} (layer {rank}) imports {target} (layer {target_rank}) at line {line}"
                )
    return problems


def describe_cycle(component: list[str], graph: Graph) -> str:
    inside = set(component)
    edges = [
        f"{module}:{line} -> {target}"
        for module in component
        for target, line in sorted(graph[module].items())
        if target in inside
    ]
    return f"cycle of {len(component)} modules: " + "; ".join(edges)


def line_counts(package_dir: Path) -> dict[Path, int]:
    return {
        path: len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(package_dir.rglob("*.py"))
    }


# -- limecli ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def graph() -> Graph:
    built = import_graph(ROOT / PACKAGE, PACKAGE)
    # not vacuous: the package's modules and their imports were found
    assert len(built) >= 20 and sum(map(len, built.values())) >= 40
    return built


def test_no_import_cycles(graph: Graph) -> None:
    cycles = [describe_cycle(c, graph) for c in import_cycles(graph)]
    assert not cycles, "import cycles in limecli:\n" + "\n".join(cycles)


def test_no_upward_imports_and_every_module_placed(graph: Graph) -> None:
    problems = layer_violations(graph, LAYERS, PACKAGE)
    assert not problems, "layer rules broken (see LAYERS):\n" + "\n".join(problems)


def test_no_module_over_400_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for path, n in line_counts(ROOT / PACKAGE).items()
        if n > MAX_LINES
    ]
    assert not long, f"modules over {MAX_LINES} lines:\n" + "\n".join(long)


def test_cli_modules_under_200_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for path, n in line_counts(ROOT / PACKAGE / "cli").items()
        if n > MAX_CLI_LINES
    ]
    assert not long, f"limecli/cli modules of {MAX_CLI_LINES + 1} lines or more:\n" + "\n".join(
        long
    )


# -- the checker itself, on a planted package ------------------------------------------
TOY_LAYERS = {"toy": 0, "toy.low": 0, "toy.mid": 1, "toy.high": 2}
TOY = {
    "__init__.py": "",
    "low.py": (
        "from typing import TYPE_CHECKING\n"
        "import toy.low\n"  # itself: ignored
        "if TYPE_CHECKING:\n"
        "    from toy.high import Thing\n"  # typing only: ignored
        "\n"
        "def late():\n"
        "    from toy import mid\n"  # upward, inside a function: counted
        "    return mid\n"
    ),
    "mid/__init__.py": "from .a import value\n",
    "mid/a.py": ("value = 1\n\ndef late():\n    from toy.mid import b\n    return b\n"),
    "mid/b.py": (
        "import typing\n"
        "if typing.TYPE_CHECKING:\n"
        "    import toy.high\n"
        "else:\n"
        "    from ..mid import a\n"  # relative, in the else branch: counted (cycle with a)
    ),
    "high.py": "import os, toy.low\nfrom toy.mid.a import value\nfrom toy import stray\n",
    "stray.py": "",
}


def test_checker_on_a_planted_package(tmp_path: Path) -> None:
    for name, text in TOY.items():
        (tmp_path / "toy" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "toy" / name).write_text(text, encoding="utf-8")
    toy = import_graph(tmp_path / "toy", "toy")

    assert toy == {
        "toy": {},
        "toy.low": {"toy.mid": 7},
        "toy.mid": {"toy.mid.a": 1},
        "toy.mid.a": {"toy.mid.b": 4},
        "toy.mid.b": {"toy.mid.a": 5},
        "toy.high": {"toy.low": 1, "toy.mid.a": 2, "toy.stray": 3},
        "toy.stray": {},
    }
    assert import_cycles(toy) == [["toy.mid.a", "toy.mid.b"]]
    assert "toy.mid.a:4 -> toy.mid.b" in describe_cycle(["toy.mid.a", "toy.mid.b"], toy)
    assert layer_violations(toy, TOY_LAYERS, "toy") == [
        "toy.stray has no layer: add it to LAYERS",
        "toy.low (layer 0) imports toy.mid (layer 1) at line 7",
    ]
    # the root entry names the root only; a longer entry wins over a shorter one
    assert rank_of("toy.stray", TOY_LAYERS, "toy") is None
    assert rank_of("toy.mid.a", {**TOY_LAYERS, "toy.mid.a": 2}, "toy") == 2
    assert rank_of("limecli.cli.tabular", LAYERS, PACKAGE) == 8
    assert rank_of("limecli.explanation", LAYERS, PACKAGE) == 3
