"""A store that is not there, or holds nothing the command needs, is said in one wording
by every command: the store as the user named it and the commands that fill it, with
that path in them (new-user trial: the messages said ``--store STORE``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import urbangrid
from urbangrid.cli.main import main

# (arguments, what the message says after the path): {p} the store path
# fmt: off
CASES = [
    (["plan", "{p}"], "urbangrid load streets FILE --store {p}`; `urbangrid grids generate {p}`"),
    (["staffing", "{p}"], "urbangrid grids generate {p}"),
    (["route", "{p}", "--area", "x"], "urbangrid grids generate {p}"),
    (["locate", "{p}", "116.3", "40"], "urbangrid load grids FILE --store {p}`"),
    (["grids", "validate", "{p}", "--out", "{t}/qa.gpkg"], "urbangrid grids generate {p}"),
    (["geocode", "{p}", "成府路"], "urbangrid gazetteer load {p} --osm FILE"),
    (["reverse", "{p}", "116.3", "40"], "urbangrid gazetteer load {p} --osm FILE"),
]
# db info, db check and components stats printed the store layer's own line
MISSING_ONLY = [
    (["db", "info", "{p}"], "then load data into it"),
    (["db", "check", "{p}"], "then load data into it"),
    (["components", "stats", "{p}"], "urbangrid load components FILE --store {p}`"),
]
# fmt: on


def _run(args: list[str], path: Path, tmp_path: Path) -> str:
    res = CliRunner().invoke(main, [a.format(p=path, t=tmp_path) for a in args])
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1
    assert "STORE" not in res.output, res.output
    return res.output.strip()


@pytest.mark.parametrize(("args", "then"), CASES + MISSING_ONLY)
def test_no_store_names_the_path_and_what_to_run(tmp_path: Path, args: list[str],
                                                  then: str) -> None:
    path = tmp_path / "demmo.gpkg"
    out = _run(args, path, tmp_path)
    assert out.startswith(f"error: no store at {path} (no file at that path; check its "
                          f"spelling); create one with `urbangrid db init {path}`, then ")
    assert then.format(p=path) in out and "`urbangrid demo` writes out/demo.gpkg" in out
    assert out.endswith("this command never creates a store") and not path.exists()


@pytest.mark.parametrize("args", [args for args, _ in CASES if args[0] != "route"])
def test_an_empty_store_names_the_path_and_what_to_run(tmp_path: Path,
                                                        args: list[str]) -> None:
    path = tmp_path / "empty.gpkg"
    urbangrid.connect(str(path)).close()
    out = _run(args, path, tmp_path)
    assert out.startswith(f"error: {path} holds no "), out
    assert f"--store {path}`" in out or f"gazetteer load {path} " in out, out

