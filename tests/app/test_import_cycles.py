"""No import cycles inside the package.

How imports are counted:

- module level (what runs when a module is imported: top-level statements, class bodies, ``if``
  and ``try`` blocks): no cycle anywhere. Such a cycle makes a module half-initialised depending
  on which one is imported first.
- function level (lazy imports, made to defer a cost, not to hide a dependency): counted too. No
  cycle may pass through the GUI, the session model and services, the window drivers or the
  entry points; the few older lazy cycles elsewhere are listed below, and a new one, or a module
  joining one of them, fails.
- ``if TYPE_CHECKING:`` imports are never executed (annotations only) and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2] / "cxrviewer"

# Lazy (function-level) cycles that predate this test, in packages with owners of their own.
KNOWN_LAZY_CYCLES = {
    frozenset({"cxrviewer.models.backends", "cxrviewer.models.encoders", "cxrviewer.models.openclip",
               "cxrviewer.models.xrv"}),
    frozenset({"cxrviewer.models.clip_import", "cxrviewer.models.importers"}),
    frozenset({"cxrviewer.teaching.cli", "cxrviewer.teaching.quiz_cli"}),
}
NEVER_IN_A_CYCLE = ("cxrviewer.gui", "cxrviewer.services", "cxrviewer.gui.harness", "cxrviewer.app",
                    "cxrviewer.arguments", "cxrviewer.cli", "cxrviewer.selftest", "cxrviewer.bench")


def strongly_connected(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Tarjan's algorithm, iterative: the groups of two or more modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[frozenset[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(frozenset(group))
    return found


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level_imports(tree: ast.Module, module: str, is_package: bool) -> set[str]:
    """Names imported when the module runs (not in functions, not under TYPE_CHECKING)."""
    names: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                if not _is_type_checking(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body + node.orelse + node.finalbody)
                for handler in node.handlers:
                    visit(handler.body)
            elif isinstance(node, (ast.With, ast.ClassDef)):
                visit(node.body)

    visit(tree.body)
    return names


def module_level_graph() -> dict[str, set[str]]:
    files = {_module_name(path): path for path in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        imported = _module_level_imports(ast.parse(path.read_text(encoding="utf-8")), module,
                                         path.name == "__init__.py")
        graph[module] = {name for name in imported if name in files and name != module}
    return graph


def test_no_cycle_at_module_level() -> None:
    graph = module_level_graph()
    assert len(graph) > 150 and "cxrviewer.gui.main_window" in graph
    assert graph["cxrviewer.gui.main_window"] >= {"cxrviewer.services.session", "cxrviewer.gui.actions"}
    assert strongly_connected(graph) == []


def test_lazy_imports_close_no_new_cycle() -> None:
    imports = grimp.build_graph("cxrviewer", exclude_type_checking_imports=True, cache_dir=None)
    graph = {module: set(imports.find_modules_directly_imported_by(module)) for module in imports.modules}
    cycles = strongly_connected(graph)
    through_restructured = [sorted(c) for c in cycles if any(m.startswith(NEVER_IN_A_CYCLE) for m in c)]
    assert through_restructured == []
    assert set(cycles) <= KNOWN_LAZY_CYCLES, sorted(sorted(c) for c in set(cycles) - KNOWN_LAZY_CYCLES)


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "f": {"d"}}
    assert strongly_connected(graph) == [frozenset({"a", "b", "c"})]
    source = ("import x.y\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import hidden\n"
              "def f():\n    import lazy\nclass C:\n    import in_class\n"
              "try:\n    from p import q\nexcept ImportError:\n    import fallback\n")
    found = _module_level_imports(ast.parse(source), "pkg.mod", False)
    assert {"x.y", "p", "p.q", "in_class", "fallback"} <= found
    assert not {"hidden", "lazy"} & found
