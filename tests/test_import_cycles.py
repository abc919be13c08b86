"""No import cycles between the package's modules — function-level and ``TYPE_CHECKING`` imports included.

Why an AST walk and not the runtime import graph: a cycle hidden by an import inside a function still couples
the two modules both ways (each needs the other to work), and that is what makes a change in one break the
other; the walk sees every ``import`` statement wherever it is. ``if TYPE_CHECKING:`` imports are left out: they
are never executed and are how a lower module names a higher one's type without depending on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import hsg_workstation

PACKAGE = Path(hsg_workstation.__file__).parent
ROOT = "hsg_workstation"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """Project modules imported anywhere in ``tree`` (outside ``if TYPE_CHECKING:``)."""
    out: set[str] = set()

    def resolve(name: str) -> str | None:
        while name and name not in known:  # ``from pkg.mod import Class`` -> pkg.mod
            name = name.rpartition(".")[0]
        return name or None

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(ROOT) and (target := resolve(alias.name)):
                    out.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                prefix = f"{base}.{node.module}" if node.module else base
            else:
                prefix = node.module or ""
            if prefix.startswith(ROOT):
                for alias in node.names:
                    target = resolve(f"{prefix}.{alias.name}") if f"{prefix}.{alias.name}" in known else None
                    target = target or resolve(prefix)
                    if target:
                        out.add(target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    out.discard(module)
    return out


def import_graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    names = {_module_name(f): f for f in files}
    known = set(names)
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges = _imports(tree, name, path.name == "__init__.py", known)
        # importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first; those are not design dependencies
        graph[name] = {e for e in edges if not (e == ROOT or name.startswith(e + "."))}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def strongconnect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return sorted(found)


def test_the_walk_sees_function_level_imports() -> None:
    """The checker itself: an import inside a function makes an edge; one under TYPE_CHECKING does not."""
    known = {"hsg_workstation.a", "hsg_workstation.b", "hsg_workstation.c"}
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from hsg_workstation.c import C\n"
        "def f():\n    from hsg_workstation.b import thing\n"
    )
    assert _imports(tree, "hsg_workstation.a", False, known) == {"hsg_workstation.b"}
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert "hsg_workstation.reporting.report" in graph and "hsg_workstation.ui.report_form" in graph
    assert "hsg_workstation.pacs.scp" in graph["hsg_workstation.pacs.client"]  # function-level edges are seen
    found = cycles(graph)
    assert found == [], f"import cycles: {found}"
