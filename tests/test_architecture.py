"""The claims of docs/architecture.md, checked on the source.

Imports run one way (cli, demo → loaders, scale → routing, cases → spatial → store →
errors, problems, data, schemas), imports inside functions included; only ``store/``
talks to a database driver; only the command line imports the demo; no function outside
the compiled kernels is longer than a reader can hold.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "urbangrid"

# Layer of each top-level part of the package: a module may import its own layer and lower ones.
LAYERS: dict[str, int] = {
    "errors": 0, "problems": 0, "data": 0, "schemas": 0,
    "store": 1,
    "spatial": 2,
    "routing": 3, "cases": 3,
    "loaders": 4, "scale": 4,
    "cli": 5, "demo": 5,
    "": 5,  # urbangrid/__init__.py: the flat public API; cli and demo may use it
}
# Compiled kernels (every *.pyx: point in polygon, GCJ-02, CARP local search, COPY
# encoding) are not Python files, so no function here is exempt.
MAX_BODY_LINES = 80


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out.append((".".join(["urbangrid", *parts]), path))
    return out


def _part(module: str) -> str:
    """``urbangrid.spatial.crs.transform`` → ``spatial``; ``urbangrid`` → ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module an ``import`` names, at any depth of the file (line, dotted name)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from urbangrid import demo` names the module `urbangrid.demo`
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names
                      if node.module == "urbangrid"]
    return found


MODULES = _modules()


def test_layout_has_every_part() -> None:
    parts = {_part(m) for m, _ in MODULES}
    assert {"store", "spatial", "routing", "cases", "loaders", "scale", "cli", "demo"} <= parts
    assert parts <= set(LAYERS), parts - set(LAYERS)


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_point_down(module: str, path: Path) -> None:
    own = LAYERS[_part(module)]
    wrong = []
    for line, name in _imports(path):
        if not name.startswith("urbangrid"):
            continue
        target = _part(name)
        if target not in LAYERS:  # `from urbangrid import __version__` and the like
            continue
        if LAYERS[target] > own or (target in {"cli", "demo"} and _part(module) not in
                                     {"cli", "demo", ""}):
            wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
        elif {_part(module), target} == {"routing", "cases"}:
            wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {name} "
                         "(routing and cases stand side by side)")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_only_store_talks_to_a_database(module: str, path: Path) -> None:
    if _part(module) == "store":
        return
    drivers = [f"{path.relative_to(PACKAGE)}:{line} imports {name}"
               for line, name in _imports(path)
               if name.split(".")[0] in {"psycopg", "sqlite3", "psycopg2"}]
    assert not drivers, "\n".join(drivers)


def test_library_never_imports_the_demo() -> None:
    wrong = [f"{path.relative_to(PACKAGE)}:{line}"
             for module, path in MODULES if _part(module) not in {"demo", "cli", ""}
             for line, name in _imports(path) if name.startswith("urbangrid.demo")]
    assert not wrong, wrong


def _body_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    if not body:
        return 0
    end = body[-1].end_lineno or body[-1].lineno
    return end - body[0].lineno + 1


def test_functions_a_reader_can_hold() -> None:
    long = []
    for _, path in MODULES:
        rel = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = _body_lines(node)
                if n > MAX_BODY_LINES:
                    long.append(f"{rel}:{node.lineno} {node.name} ({n} lines)")
    assert not long, "\n".join(long)
