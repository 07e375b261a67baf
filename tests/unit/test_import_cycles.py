"""No import cycles among the project's modules (imports at module level, as Python runs
them when a module is first imported)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("awsipam", "ipamsim", "ipamui", "planning", "pools")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The project's modules ``path`` imports at its top level (not inside functions)."""
    found = set()
    for statement in ast.parse(path.read_text()).body:
        if isinstance(statement, ast.Import):
            names = [alias.name for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            names = [statement.module] + [f"{statement.module}.{a.name}" for a in statement.names]
        else:
            continue
        found.update(name for name in names if name in modules)
    return found


def test_there_is_no_import_cycle():
    paths = [
        p
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts
    ]
    modules = {module_name(p) for p in paths}
    graph = {module_name(p): imports(p, modules) - {module_name(p)} for p in paths}
    # A package's __init__ importing its own submodules is how packages re-export.
    for name in graph:
        graph[name] = {d for d in graph[name] if not (name and d.startswith(name + "."))}
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> None:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        path.append(name)
        for dependency in sorted(graph.get(name, ())):
            visit(dependency)
        path.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)
