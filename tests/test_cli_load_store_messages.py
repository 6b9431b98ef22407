"""``urbangrid load`` says a missing or empty store in the wording every other command
uses (cli/stores.py), and the street graph's empty-store message names the store the
user gave, not a ``--store STORE`` placeholder (H40 item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import urbangrid
from tests.loaders.test_survey_load import survey_frame, write_survey
from urbangrid.cli.main import main
from urbangrid.errors import DataFileError
from urbangrid.routing.patrol.streets import store_street_graph
from urbangrid.store import Store

COUNTY = "320508"  # county of new component IDs (the stores hold no district)


def _one_error_line(args: list[str]) -> str:
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output and "STORE" not in res.output
    return lines[0]


@pytest.mark.parametrize("args", [
    ["load", "history", "--store", "{p}"],
    ["load", "rollback", "1", "--store", "{p}"],
    ["load", "components", "{f}", "--store", "{p}", "--dry-run", "--admin-code", COUNTY],
])
def test_no_store_is_said_as_every_command_says_it(tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "demmo.gpkg"
    survey = write_survey(survey_frame(("cambridge_litter_barrels",)).iloc[:5], tmp_path,
                          "geojson")
    line = _one_error_line([a.format(p=path, f=survey) for a in args])
    assert line.startswith(f"error: no store at {path} (no file at that path; check its "
                           f"spelling); create one with `urbangrid db init {path}`, then "), line
    assert f"--store {path}`" in line and "`urbangrid demo` writes out/demo.gpkg" in line
    assert not path.exists()


def test_history_of_a_store_without_change_sets_says_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.gpkg"
    urbangrid.connect(str(path)).close()
    res = CliRunner().invoke(main, ["load", "history", "--store", str(path)])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == (
        f"{path} holds no change sets; load a survey file into it (`urbangrid load "
        f"components FILE --store {path}`, or grids, work-grids, places, streets)")


def test_a_load_that_makes_the_store_says_so(tmp_path: Path) -> None:
    path = tmp_path / "new.gpkg"
    survey = write_survey(survey_frame(("cambridge_litter_barrels",)).iloc[:5], tmp_path,
                          "geojson")
    res = CliRunner().invoke(main, ["load", "components", str(survey), "--store", str(path),
                                    "--admin-code", COUNTY])
    assert res.exit_code == 0, res.output
    assert f"created the store {path}" in res.stderr
    again = CliRunner().invoke(main, ["load", "components", str(survey), "--store", str(path),
                                      "--admin-code", COUNTY])
    assert "created the store" not in again.stderr


def test_empty_street_layer_names_the_store(store: Store) -> None:
    """On GeoPackage and PostGIS: the command to run names the store (no password)."""
    with pytest.raises(DataFileError) as err:
        store_street_graph(store, "bike")
    msg = str(err.value)
    assert msg.startswith(f"{store.target} holds no streets (layer street_centreline)")
    assert msg.endswith(f"(`urbangrid load streets FILE --store {store.target}`)")
    assert "STORE" not in msg and ":urbangrid@" not in msg  # the test DSN's password


def test_plan_on_a_store_without_streets_names_it(tmp_path: Path) -> None:
    """A new user's store with unit grids but no streets: the plan says what to load."""
    from urbangrid.demo.inputs import load_demo_grids

    path = tmp_path / "grids.gpkg"
    with urbangrid.connect(str(path)) as s:
        load_demo_grids(s)
        assert s.count("unit_grid") and not s.count("street_centreline")
    line = _one_error_line(["plan", str(path)])
    assert line == (f"error: {path} holds no streets (layer street_centreline); load streets "
                    f"into it (`urbangrid load streets FILE --store {path}`)")


def test_route_area_on_a_store_without_areas_says_what_to_load(tmp_path: Path) -> None:
    """New-user trial (Cambridge): `route STORE --area X` on a new store said "area 'X' is
    in none of work_grid.work_grid_code, …", as if the code were wrong."""
    path = tmp_path / "cam.gpkg"
    urbangrid.connect(str(path)).close()
    line = _one_error_line(["route", str(path), "--area", "X"])
    assert line == (f"error: {path} holds no work grids, unit grids or admin areas for "
                    f"--area; load streets and grids into it (`urbangrid load streets FILE "
                    f"--store {path}`; `urbangrid grids generate {path}` or `urbangrid load "
                    f"grids FILE --store {path}`)")
