"""``urbangrid load``: --dry-run, exit codes, history and rollback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import urbangrid
from tests.loaders.test_survey_load import survey_frame, write_survey
from urbangrid.cli.load import EXIT_BLOCKED, EXIT_OK, EXIT_SET_ASIDE, load

#: County of new component IDs: these stores hold no district to take it from.
COUNTY = "320508"


def test_load_components_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a dry run writes its diff where it runs
    frame = survey_frame(("cambridge_litter_barrels",))
    path = write_survey(frame, tmp_path, "shp")
    store = str(tmp_path / "s.gpkg")
    urbangrid.connect(store).close()  # a dry run never creates a store
    runner = CliRunner()
    dry = runner.invoke(
        load, ["components", str(path), "--store", store, "--dry-run", "--admin-code", COUNTY]
    )
    assert dry.exit_code == EXIT_OK, dry.output
    assert "encoding GBK" in dry.output and "dry run: nothing written" in dry.output
    assert (tmp_path / "survey.diff.csv").exists() and (tmp_path / "survey.diff.gpkg").exists()
    with urbangrid.connect(store) as s:
        assert s.count("component") == 0
    done = runner.invoke(load, ["components", str(path), "--store", store, "--admin-code", COUNTY])
    assert done.exit_code == EXIT_OK and "applied as change set" in done.output
    again = runner.invoke(load, ["components", str(path), "--store", store, "--admin-code", COUNTY])
    assert "nothing to change" in again.output
    hist = runner.invoke(load, ["history", "--store", store])
    cid = hist.output.split()[0]
    back = runner.invoke(load, ["rollback", cid, "--store", store])
    assert back.exit_code == EXIT_OK and f"rolled back {cid}" in back.output
    with urbangrid.connect(store) as s:
        assert s.count("component") == 0


def test_exit_codes_for_bad_rows(tmp_path: Path) -> None:
    frame = survey_frame(("cambridge_litter_barrels",)).iloc[:20].copy()
    frame.loc[2, "部件状态"] = "???"
    path = write_survey(frame, tmp_path, "geojson")
    store = str(tmp_path / "s.gpkg")
    runner = CliRunner()
    blocked = runner.invoke(
        load,
        [
            "components",
            str(path),
            "--store",
            store,
            "--report",
            str(tmp_path / "r"),
            "--admin-code",
            COUNTY,
        ],
    )
    assert blocked.exit_code == EXIT_BLOCKED and "row 3 field status" in blocked.output
    assert (tmp_path / "r.csv").exists() and (tmp_path / "r.gpkg").exists()
    skipped = runner.invoke(
        load,
        ["components", str(path), "--store", store, "--on-invalid", "skip", "--admin-code", COUNTY],
    )
    assert skipped.exit_code == EXIT_SET_ASIDE
    wrong = runner.invoke(load, ["grids", str(path), "--store", store])
    assert wrong.exit_code == EXIT_BLOCKED
    assert "field grid_code: required column is missing" in wrong.output


def test_grids_target_fills_codes_from_the_grid_code(tmp_path: Path) -> None:
    import geopandas as gpd

    from urbangrid.loaders.pipeline import load_survey

    hoods = gpd.read_file(
        "/vsigzip/"
        + str(Path(__file__).parents[1] / "data" / "cambridge" / "neighborhoods.geojson.gz")
    )
    grids = gpd.GeoDataFrame(
        {
            "网格编码": [f"320508001002{i + 1:03d}" for i in range(len(hoods))],
            "管理等级": 1,
            "版本": "2024-survey",
        },
        geometry=hoods.geometry.values,
        crs=hoods.crs,
    )
    path = tmp_path / "grids.gpkg"
    grids.to_file(path, engine="pyogrio")
    with urbangrid.connect(tmp_path / "s.gpkg") as s:
        result = load_survey(s, path, "grids", commit=True)
        assert not result.problems, result.summary()
        stored = s.read("unit_grid")
    assert len(stored) == len(hoods)
    assert set(stored["community_code"]) == {"320508001002"}
    assert set(stored["code_form"]) == {15}


def test_a_blocked_first_load_leaves_no_store_and_says_how_to_see_all(tmp_path: Path) -> None:
    frame = survey_frame(("cambridge_litter_barrels",)).iloc[:30].copy()
    frame.loc[0:11, "部件状态"] = "???"  # 12 bad rows: more than the summary lists
    path = write_survey(frame, tmp_path, "geojson")
    store = tmp_path / "new.gpkg"
    out = CliRunner().invoke(
        load, ["components", str(path), "--store", str(store), "--admin-code", COUNTY]
    )
    assert out.exit_code == EXIT_BLOCKED, out.output
    assert "2 more (--report FILE.csv lists them all)" in out.output
    assert "loaded anyway" not in out.output
    assert not store.exists()  # the store this load made held nothing: removed
    grids = CliRunner().invoke(
        load, ["grids", str(path), "--store", str(store), "--mapping", "grids"]
    )
    assert grids.exit_code == EXIT_BLOCKED and "with --mapping" not in grids.output
    assert "fix the file or the mapping" in grids.output and not store.exists()
