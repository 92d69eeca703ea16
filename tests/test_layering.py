"""The import rules of docs/pipeline.md, read from the source: tools/ imports neither agents/ nor
graph/, agents/ does not import graph/, no import cycle inside tools/, and the stage packages of
tools/ import only the ones before them in the pipeline."""

from __future__ import annotations

import ast
from pathlib import Path

from tools.artifacts import REPO_ROOT

TOOLS = REPO_ROOT / "tools"
# tools/ packages that belong to a stage, in pipeline order: each may import the earlier ones and
# the shared modules (everything else in tools/), never a later one
# (tools/kernel_console.py, the console protocol, is shared: the kernel tool and the task data read it;
# tools/kernel_task.py scores the task on the booted kernel, so it comes after both)
STAGE_PACKAGES = (
    "data", "arch", "kb", "task", "train", "tune", "eval", "quant", "export", "kernel", "kernel_task", "review",
)  # fmt: skip


def imports(path: Path, modules: set[str] = frozenset()) -> set[str]:
    """Absolute module names ``path`` imports (relative imports resolved). ``from p import s`` names
    ``p.s`` when that is one of ``modules``, else ``p``."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.add(sub if sub in modules else base)
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top(module: str) -> str:
    """The tools/ package (or shared module) a ``tools.x.y`` module belongs to."""
    return module.split(".")[1]


def tool_modules() -> dict[str, set[str]]:
    paths = list(TOOLS.rglob("*.py"))
    names = {module_name(p) for p in paths}
    return {module_name(p): {m for m in imports(p, names) if m.startswith("tools.")} for p in paths}


def test_tools_import_neither_agents_nor_graph() -> None:
    bad = {
        module_name(p): sorted(m for m in imports(p) if m.split(".")[0] in ("agents", "graph"))
        for p in TOOLS.rglob("*.py")
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_agents_do_not_import_graph() -> None:
    bad = {
        module_name(p): sorted(m for m in imports(p) if m.split(".")[0] == "graph")
        for p in (REPO_ROOT / "agents").rglob("*.py")
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_stage_packages_import_only_earlier_ones() -> None:
    order = {name: i for i, name in enumerate(STAGE_PACKAGES)}
    backwards = []
    for mod, deps in tool_modules().items():
        if mod == "tools":
            continue
        src = top(mod)
        for dep in deps:
            if dep.count(".") < 1 or dep == "tools":
                continue
            dst = top(dep)
            if dst == src:
                continue
            if src not in order and dst in order:
                backwards.append(f"{mod} (shared) imports {dep} (stage package {dst})")
            elif src in order and dst in order and order[dst] > order[src]:
                backwards.append(f"{mod} ({src}) imports {dep} ({dst} comes later)")
    assert backwards == []


def test_no_import_cycle_inside_tools() -> None:
    mods = tool_modules()
    graph = {m: sorted(d for d in deps if d in mods and d != m) for m, deps in mods.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in graph[m]:
            if d.startswith(m + "."):  # a package's __init__ importing its own submodule
                continue
            if state.get(d) == 1:
                return stack[stack.index(d) :] + [d]
            if d not in state and (cycle := visit(d)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            raise AssertionError(" -> ".join(cycle))
