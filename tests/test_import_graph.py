"""No import cycle between the packages of ``src/scratchbench`` (checked statically with ``ast``).

Every ``import`` / ``from ... import`` counts, also those inside functions (a lazy import still
ties the two packages together). Nodes are the subpackages (bench, config, data, experiment,
models, report, scratch, tracking) and the top-level modules (predict, runner, train, paths).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "scratchbench"


def unit_of(module: str) -> str | None:
    """``scratchbench.report.build`` -> ``report``; ``scratchbench.predict`` -> ``predict``."""
    parts = module.split(".")
    if parts[0] != "scratchbench" or len(parts) < 2:
        return None
    is_module = (SRC / parts[1]).is_dir() or (SRC / f"{parts[1]}.py").is_file()
    return parts[1] if is_module else "__init__"  # `from scratchbench import __version__`


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        name = module_name(path)
        src_unit = unit_of(name) or "__init__"
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from scratchbench import paths` imports the module scratchbench.paths
                targets = [base] if unit_of(base) else [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                unit = unit_of(target)
                if unit and unit != src_unit:
                    graph.setdefault(src_unit, set()).add(unit)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert {"config", "models", "tracking"} <= graph["runner"]  # runner imports all three
    assert "scratch" in graph["models"]  # only inside functions (lazy imports of the engine)


def test_find_cycle_reports_the_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_packages():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle or [])
