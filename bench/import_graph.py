"""The project's import graph, read from the source with ``ast`` (nothing is imported or run).

``python -m bench.import_graph`` rewrites the picture in docs/architecture.md:
a Mermaid flowchart of the packages (``rag.core``, ``rag.store``, ``ui``, ...)
and which import which. ``--modules`` prints the module-level graph instead.
tests/test_architecture.py checks the same graph: no cycles, no upward import.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rag", "ui", "api", "embeddings")
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- import graph: python -m bench.import_graph -->", "<!-- end of import graph -->"

Edge = tuple[str, int, bool]  # (imported project module, line, inside a function)


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the project's packages by dotted name (a package is its ``__init__``)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(module: str, known: dict[str, Path]) -> list[Edge]:
    """The project modules that ``module`` imports, at module level or inside functions."""
    path = known[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    local = {id(node) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
             for node in ast.walk(fn) if isinstance(node, (ast.Import, ast.ImportFrom))}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
            names = submodules + ([base] if len(submodules) < len(node.names) else [])
        else:
            continue
        for name in names:
            while name and name not in known:  # rag.core.records.Answer -> rag.core.records
                name = name.rpartition(".")[0]
            if name and name != module:
                found.append((name, node.lineno, id(node) in local))
    return found


def graph(root: Path = ROOT) -> dict[str, list[Edge]]:
    known = modules(root)
    return {module: imports(module, known) for module in known}


def cycles(edges: dict[str, list[Edge]]) -> list[list[str]]:
    """Groups of modules that import each other in a circle (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target, _, _ in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in edges:
        if module not in index:
            visit(module)
    return groups


def package_of(module: str) -> str:
    """``rag.store.sqlite`` -> ``rag.store``; ``rag`` itself (the public API) and ``rag.__main__`` stay."""
    parts = module.split(".")
    if parts[0] != "rag" or len(parts) == 1 or module == "rag.__main__":
        return parts[0] if parts[0] != "rag" else module
    return ".".join(parts[:2])


def mermaid(edges: dict[str, list[Edge]]) -> str:
    """A Mermaid flowchart of the packages, one arrow per importing pair, dotted for imports inside functions."""
    arrows: dict[tuple[str, str], bool] = {}
    for module, found in edges.items():
        for target, _, inside in found:
            pair = (package_of(module), package_of(target))
            if pair[0] != pair[1]:
                arrows[pair] = arrows.get(pair, True) and inside
    nodes = sorted({p for pair in arrows for p in pair})
    ids = {name: name.replace(".", "_") for name in nodes}
    lines = ["flowchart BT"] + [f'    {ids[n]}["{n}"]' for n in nodes]
    lines += [f"    {ids[a]} {'-.->' if inside else '-->'} {ids[b]}" for (a, b), inside in sorted(arrows.items())]
    return "\n".join(lines)


def write_doc(edges: dict[str, list[Edge]], doc: Path = DOC) -> None:
    """Replace the picture between the markers in ``doc``."""
    text = doc.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{BEGIN}\n```mermaid\n{mermaid(edges)}\n```\n{END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", action="store_true", help="print the module-level edges instead")
    args = parser.parse_args()
    edges = graph()
    if args.modules:
        for module, found in sorted(edges.items()):
            for target, line, inside in found:
                print(f"{module}:{line} -> {target}{' (in a function)' if inside else ''}")
        return
    write_doc(edges)
    print(f"wrote the import graph of {len(edges)} modules into {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
