"""No import circles in services/ or emulators/: each module's imports, read with ``ast``
(function-level imports included), form a graph that must have no cycle.

A circle means two modules are one module in two files: neither can be understood, tested or
changed alone, and a function-level import that "fixes" the load order only hides it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("services", "emulators")

# Known circles, each to be broken by its own change (listed so new ones still fail).
KNOWN_CYCLES: list[frozenset[str]] = [
    # Type-only (under TYPE_CHECKING): the endpoints and calls name the emulator object that builds
    # them. Breaking them means a Protocol per consumer for the emulator's state; not done yet.
    frozenset({"emulators.gemini.live", "emulators.gemini.rest", "emulators.gemini.server"}),
    frozenset({"emulators.twilio.call", "emulators.twilio.rest", "emulators.twilio.server",
               "emulators.twilio.stream"}),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom, here: str, is_package: bool, known: set[str]) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    base = here if is_package else here.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    source = ".".join(part for part in (base if node.level else "", node.module or "") if part)
    # ``from pkg import mod`` imports the module ``pkg.mod``; ``from pkg import name`` imports pkg
    return {f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        found: set[str] = set()
        for node in ast.walk(tree):  # every import, at any depth
            if isinstance(node, ast.Import | ast.ImportFrom):
                found |= _targets(node, name, path.name == "__init__.py", known)
        graph[name] = {target for target in found if target in known and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_the_reader_sees_function_level_and_relative_imports():
    code = "def f():\n    from .b import x\nfrom . import c\nimport p.q\nfrom .. import top\n"
    nodes = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Import | ast.ImportFrom)]
    known = {"p.a", "p.b", "p.c", "p.q"}
    assert set().union(*(_targets(n, "p.a", False, known) for n in nodes)) == {"p.b", "p.c", "p.q", ""}
    assert "services.common.tasks" in import_graph()["services.common.runtime"]


def test_a_cycle_is_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset("abc")]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_services_or_emulators():
    found = cycles(import_graph())
    new = [sorted(c) for c in found if c not in KNOWN_CYCLES]
    assert not new, f"import cycles: {new}"
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in found]
    assert not gone, f"these known cycles are broken now; remove them from KNOWN_CYCLES: {gone}"
