"""The public API (``import urbangrid as ug``): every name resolves, import stays cheap,
and README.md and docs/api.md list exactly the names of ``urbangrid.API``."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import urbangrid as ug

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", [n for n, _, _ in ug.API])
def test_every_name_resolves_to_its_module(name: str) -> None:
    module = dict((n, m) for n, m, _ in ug.API)[name]
    value = getattr(ug, name)
    assert value is getattr(importlib.import_module(module), name)


def test_all_and_dir_list_the_api() -> None:
    names = [n for n, _, _ in ug.API]
    assert len(names) == len(set(names)), "a name listed twice"
    assert set(names) <= set(ug.__all__)
    assert set(names) <= set(dir(ug))
    with pytest.raises(AttributeError, match="no attribute 'not_a_verb'"):
        ug.not_a_verb  # noqa: B018


def test_import_is_cheap() -> None:
    code = ("import sys, urbangrid\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'pandas', 'numpy', 'numba', 'osmnx', 'geopandas', 'shapely', 'psycopg'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_api_never_points_into_the_demo_or_cli() -> None:
    assert not [m for _, m, _ in ug.API if m.startswith(("urbangrid.demo", "urbangrid.cli"))]


def _table_names(path: Path) -> list[str]:
    """Names in the first column of the API table of a Markdown file (`` `ug.name` ``)."""
    text = path.read_text(encoding="utf-8")
    return re.findall(r"^\| `ug\.(\w+)` \|", text, flags=re.MULTILINE)


@pytest.mark.parametrize("doc", ["README.md", "docs/api.md"])
def test_docs_table_lists_the_api(doc: str) -> None:
    assert _table_names(ROOT / doc) == [n for n, _, _ in ug.API]


def test_docs_api_table_is_generated_from_the_api() -> None:
    """docs/api.md holds exactly the table :func:`api_table` renders (modules, text)."""
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert api_table() in text


def api_table() -> str:
    """The Markdown table of ``urbangrid.API`` as docs/api.md shows it."""
    rows = ["| name | what | module |", "|---|---|---|"]
    rows += [f"| `ug.{n}` | {what} | `{m}` |" for n, m, what in ug.API]
    return "\n".join(rows)


if __name__ == "__main__":  # python tests/test_api.py prints the table for the docs
    print(api_table())
