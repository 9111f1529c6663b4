"""The package's layers, as ``d2lmini.LAYERS`` lists them (and the appendix page draws them), checked against
its imports.

``d2lmini.LAYERS`` lists the modules in layers, lowest first. Every import
between the package's modules (at the top of a file or inside a function) must go to
the same layer or a lower one, the imports must not form a cycle, and no module may
import another module's private name (`_name`); the private modules `_checks` and
`_files` are the lowest layer, shared by all.
"""

import ast
from pathlib import Path

import d2lmini

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "d2lmini"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))


def package_imports(module: str) -> list[tuple[str, str | None]]:
    """``(imported module, imported name or None)`` for every import of the package's own modules."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module is None:  # from . import a, b
                found += [(alias.name, None) for alias in node.names]
            else:  # from .a import x, y
                found += [(node.module, alias.name) for alias in node.names]
    return found


def layer_faults(imports: dict[str, list[tuple[str, str | None]]], layer_of: dict[str, int]) -> list[str]:
    """Every import that goes to a higher layer, to a module no layer lists, or to a private name."""
    faults = []
    for module, found in imports.items():
        for imported, name in found:
            if imported not in layer_of:
                faults.append(f"{module} imports {imported}, which d2lmini.LAYERS does not list")
            elif layer_of[imported] > layer_of[module]:
                faults.append(f"{module} (layer {layer_of[module] + 1}) imports {imported} "
                              f"(layer {layer_of[imported] + 1}): an upward import")
            if name is not None and name.startswith("_"):
                faults.append(f"{module} imports the private name {name} of {imported}")
    return faults


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (``[a, b, a]``), or None: a depth-first search."""
    state = {}  # 1: on the current path, 2: finished

    def visit(module, path):
        state[module] = 1
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == 1:
                return path[path.index(imported):] + [imported]
            if imported not in state:
                cycle = visit(imported, path + [imported])
                if cycle:
                    return cycle
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module, [module])
            if cycle:
                return cycle
    return None


LAYERS = [list(modules) for _, modules in d2lmini.LAYERS]
LAYER_OF = {module: i for i, layer in enumerate(LAYERS) for module in layer}
IMPORTS = {module: package_imports(module) for module in MODULES}


def test_the_appendix_places_every_module_in_exactly_one_layer():
    listed = [module for layer in LAYERS for module in layer]
    assert len(LAYERS) >= 5
    assert sorted(listed) == MODULES, "each module of d2lmini/ must be named in one layer of d2lmini.LAYERS"


def test_no_module_imports_upward_or_a_private_name():
    assert layer_faults(IMPORTS, LAYER_OF) == []


def test_the_imports_have_no_cycle():
    assert find_cycle({module: {imported for imported, _ in found} for module, found in IMPORTS.items()}) is None


def test_the_checks_find_planted_faults():
    imports = {"low": [("high", "thing")], "high": [("low", None), ("mid", "_private")], "mid": []}
    layer_of = {"low": 0, "mid": 1, "high": 2}
    assert layer_faults(imports, layer_of) == [
        "low (layer 1) imports high (layer 3): an upward import",
        "high imports the private name _private of mid",
    ]
    assert find_cycle({module: {i for i, _ in found} for module, found in imports.items()}) == ["high", "low", "high"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_function_is_longer_than_80_lines():
    """A reader can hold any function of the package in their head (its signature and docstring included)."""
    long = []
    for module in MODULES + ["__init__"]:
        tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
        long += [f"{module}.{node.name}: {node.end_lineno - node.lineno + 1} lines" for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and node.end_lineno - node.lineno + 1 > 80]
    assert long == []
