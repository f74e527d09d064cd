"""The import layers of release_console, read from the source with ``ast`` (no imports executed).

- no import cycles between the package's modules;
- ``api`` and ``ui`` never import ``workflows`` or ``temporal`` (they read through ``readpath`` and ``services``);
- ``api`` and ``ui``, the two outputs side by side, never import each other (what both send is in ``readpath`` and
  ``answers``); ``readpath`` and ``answers`` import neither;
- ``ui.components`` never import ``ui.pages`` (pages are made of components, not the other way round);
- ``core`` is the ground: it imports no other part of the package (never ``services``, ``api``, ``ui``,
  ``readpath``, ``accounts`` …); what it needs from above is handed to it when the app is assembled (app.py);
- ``runtime`` (the running server's parts) stands on ``core`` alone;
- ``domain`` imports nothing from outside the standard library (it runs inside workflows too).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from tests.helpers import REPO_ROOT

PACKAGE = "release_console"
ROOT = REPO_ROOT / PACKAGE
DOMAIN_THIRD_PARTY: set[str] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of what the module imports (``from x import y`` counts as ``x`` and, if a module, ``x.y``)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    """Module → the package modules it imports (type-checking-only imports included: they are imports too)."""
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    return {name: {i for i in imports_of(path) if i in modules and i != name} for name, path in modules.items()}


def test_the_graph_is_read() -> None:
    edges = graph()
    assert f"{PACKAGE}.app" in edges and f"{PACKAGE}.services" in edges[f"{PACKAGE}.app"]


def test_no_import_cycles() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target):], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(" → ".join(c) for c in cycles)


def test_api_and_ui_never_import_workflows_or_temporal() -> None:
    forbidden = (f"{PACKAGE}.workflows", f"{PACKAGE}.temporal")
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in graph().items()
        if name.startswith((f"{PACKAGE}.api", f"{PACKAGE}.ui"))
        for target in targets
        if target.startswith(forbidden)
    )
    assert not wrong, "\n".join(wrong)


def wrong_imports(importers: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    """``importer imports target`` for every package module under ``importers`` importing one under ``forbidden``."""
    return sorted(
        f"{name} imports {target}"
        for name, targets in graph().items()
        if _under(name, importers)
        for target in targets
        if _under(target, forbidden)
    )


def _under(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in packages)


def test_ui_and_api_never_import_each_other() -> None:
    api, ui = f"{PACKAGE}.api", f"{PACKAGE}.ui"
    wrong = wrong_imports((ui,), (api,)) + wrong_imports((api,), (ui,))
    assert not wrong, "\n".join(wrong)


def test_the_read_path_and_answers_import_neither_output() -> None:
    wrong = wrong_imports((f"{PACKAGE}.readpath", f"{PACKAGE}.answers"), (f"{PACKAGE}.api", f"{PACKAGE}.ui"))
    assert not wrong, "\n".join(wrong)


def test_ui_components_never_import_ui_pages() -> None:
    wrong = wrong_imports((f"{PACKAGE}.ui.components",), (f"{PACKAGE}.ui.pages",))
    assert not wrong, "\n".join(wrong)


def test_domain_imports_only_the_standard_library() -> None:
    wrong = []
    for path in (ROOT / "domain").rglob("*.py"):
        for name in imports_of(path):
            top = name.split(".")[0]
            if top in (PACKAGE, "__future__") or top in sys.stdlib_module_names or top in DOMAIN_THIRD_PARTY:
                if top == PACKAGE and not name.startswith(f"{PACKAGE}.domain"):
                    wrong.append(f"{module_name(path)} imports {name}")
                continue
            wrong.append(f"{module_name(path)} imports {name}")
    assert not wrong, "\n".join(sorted(wrong))


def test_core_imports_nothing_of_the_package_above_it() -> None:
    core = f"{PACKAGE}.core"
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in graph().items()
        if name == core or name.startswith(f"{core}.")
        for target in targets
        if not (target == core or target.startswith(f"{core}."))
    )
    assert not wrong, "\n".join(wrong)


def test_runtime_stands_on_core_alone() -> None:
    runtime, core = f"{PACKAGE}.runtime", f"{PACKAGE}.core"
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in graph().items()
        if name == runtime or name.startswith(f"{runtime}.")
        for target in targets
        if not any(target == part or target.startswith(f"{part}.") for part in (runtime, core))
    )
    assert not wrong, "\n".join(wrong)
