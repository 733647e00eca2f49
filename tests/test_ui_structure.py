"""The shape of ui/ (issue 27): one module per tab, no import circles, no imports hidden in functions.

Read from the source with ``ast``; one subprocess checks that the `rag` command's
parser (which imports ``ui.cli``) does not pay for Gradio. Fast; no models.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UI = ROOT / "ui"
# The one deferred import: the Gradio server, started only by `rag serve` (Gradio takes seconds to import).
DEFERRED = {("cli", "ui.app")}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, inside a function) for every project import of a file."""
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.ImportFrom) and child.module:
                found.append((child.module, inner))
            elif isinstance(child, ast.Import):
                found.extend((alias.name, inner) for alias in child.names)
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return [(m, inner) for m, inner in found if m.split(".")[0] in {"rag", "ui"}]


def test_ui_modules_import_each_other_without_a_circle():
    graph = {f"ui.{p.stem}": {m for m, _ in _imports(p) if m.startswith("ui.")} for p in UI.glob("*.py")}
    done: set[str] = set()

    def walk(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for imported in graph.get(module, ()):
            walk(imported, (*path, module))
        done.add(module)

    for module in graph:
        walk(module, ())


def test_no_project_import_inside_a_function_but_the_server_start():
    hidden = {(p.stem, m) for p in UI.glob("*.py") for m, inner in _imports(p) if inner}
    assert hidden == DEFERRED


def test_rag_does_not_import_ui_and_no_ui_file_is_over_450_lines():
    for path in (ROOT / "rag").rglob("*.py"):
        assert not any(m.split(".")[0] == "ui" for m, _ in _imports(path)), path
    for path in UI.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 450, path


def test_the_serve_command_module_loads_without_gradio():
    """`rag --help` and every other command build a parser that imports ui.cli: it must not drag Gradio in."""
    code = "import sys, ui.cli; print('gradio' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
