"""Probable duplicates within a file (policy: warn or reject) and the diff as a GeoPackage."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from click.testing import CliRunner

import urbangrid
from tests.loaders.test_survey_load import survey_frame, write_survey
from urbangrid.cli.load import EXIT_BLOCKED, EXIT_OK, EXIT_SET_ASIDE, load
from urbangrid.loaders.duplicates import duplicates_in_file, pair_distances, search_radius
from urbangrid.loaders.pipeline import load_survey
from urbangrid.store import Store

#: County of new component IDs: these stores hold no district to take it from.
COUNTY = "320508"

GEOD = pyproj.Geod(ellps="WGS84")


def offset(lon: float, lat: float, east_m: float, north_m: float = 0.0) -> shapely.Point:
    """A point `east_m` east and `north_m` north of (lon, lat), geodesically."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, 90, east_m)
    lon3, lat3, _ = GEOD.fwd(lon2, lat2, 0, north_m)
    return shapely.Point(lon3, lat3)


class TestDistances:
    @pytest.mark.parametrize(("lon", "lat"), [(116.33, 39.99), (24.94, 60.17), (-71.1, 42.37)])
    def test_pairs_are_metres_at_any_latitude(self, lon: float, lat: float) -> None:
        a = np.array([shapely.Point(lon, lat)] * 3, dtype=object)
        b = np.array([offset(lon, lat, 0.4), offset(lon, lat, 0, 0.4), offset(lon, lat, 30, 40)])
        got = pair_distances(a, b, pyproj.CRS("EPSG:4326"))
        np.testing.assert_allclose(got, [0.4, 0.4, 50.0], rtol=0.006)

    def test_one_file_spanning_continents(self) -> None:
        """No single UTM zone fits Helsinki and Beijing; each pair is measured locally."""
        a = np.array([shapely.Point(24.94, 60.17), shapely.Point(116.33, 39.99)], dtype=object)
        b = np.array([offset(24.94, 60.17, 0.3), offset(116.33, 39.99, 0.3)], dtype=object)
        np.testing.assert_allclose(pair_distances(a, b, pyproj.CRS("EPSG:4326")), 0.3, rtol=0.006)
        # The search radius in degrees is wide enough at the highest latitude.
        radius = search_radius(0.5, np.concatenate([a, b]), pyproj.CRS("EPSG:4326"))
        assert radius * 111_320 * np.cos(np.radians(60.17)) >= 0.5

    def test_feet(self) -> None:
        """Massachusetts State Plane is in US survey feet: 1 ft apart is 0.3048 m."""
        crs = pyproj.CRS("EPSG:2249")
        a = np.array([shapely.Point(760_000, 2_960_000)], dtype=object)
        b = np.array([shapely.Point(760_001, 2_960_000)], dtype=object)
        assert pair_distances(a, b, crs)[0] == pytest.approx(0.3048, abs=1e-4)


def frame_of(geoms: list, **cols: list) -> gpd.GeoDataFrame:
    f = gpd.GeoDataFrame(cols, geometry=geoms, crs="EPSG:4326")
    f.index = pd.RangeIndex(1, len(f) + 1)
    return f


class TestInFile:
    def test_near_points_of_one_subclass(self) -> None:
        p = shapely.Point(116.33, 39.99)
        f = frame_of(
            [p, offset(116.33, 39.99, 0.3), offset(116.33, 39.99, 0.3), offset(116.33, 39.99, 1.5)],
            subclass_code=["0101", "0101", "0102", "0101"],
            component_id=["a", "b", "c", "d"],
        )
        probs = duplicates_in_file(f, source="s.gpkg", key="component_id", group="subclass_code")
        assert [p["row"] for p in probs] == [2]  # c: other subclass; d: 1.2 m from b
        assert probs[0]["severity"] == "warning" and probs[0]["file"] == "s.gpkg"
        assert "within 0.300 m of row 1 (component_id a)" in str(probs[0]["reason"])
        wider = duplicates_in_file(
            f,
            source="s",
            key="component_id",
            group="subclass_code",
            tolerance_m=1.3,
            policy="reject",
        )
        assert [p["row"] for p in wider] == [2, 4]
        assert {p["severity"] for p in wider} == {"error"}

    def test_identical_polygons_with_two_codes_but_not_neighbours(self) -> None:
        box = shapely.box(116.33, 39.99, 116.331, 39.991)
        neighbour = shapely.box(116.331, 39.99, 116.332, 39.991)  # shares an edge
        f = frame_of([box, neighbour, box], grid_code=["1", "2", "3"])
        probs = duplicates_in_file(f, source="g", key="grid_code")
        assert [(p["row"], p["reason"]) for p in probs] == [
            (3, "probable duplicate: same geometry as row 1 (grid_code 1)")
        ]

    def test_same_key_is_left_to_the_key_check(self) -> None:
        p = shapely.Point(116.33, 39.99)
        f = frame_of([p, p], grid_code=["1", "1"])
        assert duplicates_in_file(f, source="g", key="grid_code") == []

    def test_streets_compare_direction(self) -> None:
        line = shapely.LineString([(116.33, 39.99), (116.331, 39.99)])
        f = frame_of([line, line.reverse(), line], edge_id=["a-b", "b-a", "a-b-2"])
        probs = duplicates_in_file(f, source="s", key="edge_id", near=False)
        assert [p["row"] for p in probs] == [3]


def test_reject_policy_blocks_or_sets_aside(store: Store, tmp_path: Path) -> None:
    """Real hydrants; two rows repeat an earlier hydrant (one exactly, one 0.2 m off)."""
    frame = survey_frame(("cambridge_hydrants",)).iloc[:40].copy()
    extra = frame.iloc[[3, 7]].copy()
    extra["来源编号"] = ["dup-1", "dup-2"]
    g = frame.geometry.iloc[7]
    extra.loc[extra.index[1], "geometry"] = offset(g.x, g.y, 0.2)
    frame = gpd.GeoDataFrame(pd.concat([frame, extra], ignore_index=True), crs=frame.crs)
    path = write_survey(frame, tmp_path, "gpkg")
    warned = load_survey(store, path, admin_code=COUNTY)
    assert [p["row"] for p in warned.problems] == [41, 42] and not warned.set_aside
    assert warned.changeset is not None and warned.changeset.count("added") == 42
    blocked = load_survey(
        store, path, admin_code=COUNTY, duplicates="reject", commit=True, report=tmp_path / "r"
    )
    assert blocked.blocked and store.count("component") == 0
    report = pd.read_csv(tmp_path / "r.csv", encoding="utf-8-sig")
    assert list(report.columns) == ["file", "row", "field", "value", "reason", "severity"]
    assert report["row"].tolist() == [41, 42] and set(report["field"]) == {"geometry"}
    assert "same geometry as row 4 (source " in report["reason"][0]
    assert "within 0.200 m of row 8" in report["reason"][1]
    assert report["value"][0].startswith("POINT (")
    layer = gpd.read_file(tmp_path / "r.gpkg", layer="problems")
    assert layer.geometry.notna().all() and len(layer) == 2
    skipped = load_survey(
        store, path, admin_code=COUNTY, duplicates="reject", on_invalid="skip", commit=True
    )
    assert skipped.set_aside == [41, 42] and store.count("component") == 40


def test_cli_duplicates_option_and_exit_codes(tmp_path: Path) -> None:
    frame = survey_frame(("cambridge_litter_barrels",)).iloc[:10].copy()
    extra = frame.iloc[[0]].copy()
    extra["来源编号"] = "again"
    frame = gpd.GeoDataFrame(pd.concat([frame, extra], ignore_index=True), crs=frame.crs)
    path = write_survey(frame, tmp_path, "geojson")
    store = str(tmp_path / "s.gpkg")
    urbangrid.connect(store).close()  # a dry run never creates a store
    runner = CliRunner()
    args = [
        "components",
        str(path),
        "--store",
        store,
        "--diff",
        str(tmp_path / "d"),
        "--admin-code",
        COUNTY,
    ]
    warn = runner.invoke(load, [*args, "--dry-run"])
    assert warn.exit_code == EXIT_OK, warn.output
    assert "1 warning(s), would load anyway" in warn.output
    assert "row 11 field geometry" in warn.output
    reject = runner.invoke(load, [*args, "--dry-run", "--duplicates", "reject"])
    assert reject.exit_code == EXIT_BLOCKED, reject.output
    skip = runner.invoke(load, [*args, "--duplicates", "reject", "--on-invalid", "skip"])
    assert skip.exit_code == EXIT_SET_ASIDE, skip.output
    assert "took " in skip.output  # the per-step timing line
    help_text = runner.invoke(load, ["components", "--help"]).output
    assert "Exit codes:" in help_text and "3  bad rows blocked the load" in help_text


def test_diff_is_written_as_csv_and_geopackage(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """added, changed (field by field), moved (metres) and removed, each with geometry."""
    frame = survey_frame(("cambridge_hydrants",)).iloc[:30].copy()
    path = write_survey(frame, tmp_path, "gpkg")
    assert load_survey(store, path, admin_code=COUNTY, commit=True).changeset_id
    v2 = frame.copy()
    v2.loc[0, "部件状态"] = "坏"  # changed
    g = v2.geometry[1]
    v2.loc[1, "geometry"] = offset(g.x, g.y, 5.0)  # moved 5 m
    v2 = v2.drop(index=[2])  # removed (the survey covers the whole area)
    new = v2.iloc[[3]].copy()
    new["来源编号"] = "new-hydrant"
    new["geometry"] = [offset(g.x, g.y, 40.0)]
    v2 = gpd.GeoDataFrame(pd.concat([v2, new], ignore_index=True), crs=frame.crs)
    folder = tmp_path / "v2"
    folder.mkdir()
    path2 = write_survey(v2, folder, "gpkg")
    area = shapely.box(*frame.total_bounds).buffer(0.001)
    dry = load_survey(store, path2, admin_code=COUNTY, coverage=area, diff=tmp_path / "d.csv")
    assert dry.diff_paths == (tmp_path / "d.csv", tmp_path / "d.gpkg")
    assert dry.changeset is not None
    assert dry.changeset.counts() == {
        "added": 1,
        "changed": 1,
        "moved": 1,
        "removed": 1,
        "unchanged": 27,
    }
    table = pd.read_csv(tmp_path / "d.csv", encoding="utf-8-sig")
    assert ("status", "完好", "破损") in set(
        zip(table["field"], table["old"], table["new"], strict=True)
    )
    assert {n for n, _ in pyogrio.list_layers(tmp_path / "d.gpkg")} == {"changes", "previous"}
    changes = gpd.read_file(tmp_path / "d.gpkg", layer="changes")
    assert sorted(changes["action"]) == ["added", "changed", "moved", "removed"]
    assert changes.geometry.notna().all() and changes.crs.to_epsg() == 4326
    by = changes.set_index("action")
    assert by.loc["changed", "detail"] == "status: 完好 → 破损"
    assert by.loc["moved", "distance_m"] == pytest.approx(5.0, rel=0.01)
    stored = store.read("component").set_index("source")
    assert by.loc["removed", "key"] == stored.loc[frame["来源编号"][2], "component_id"]
    assert by.loc["removed"].geometry.equals_exact(stored.loc[frame["来源编号"][2]].geometry, 1e-9)
    assert pd.isna(by.loc["added", "key"])  # a dry run gives no ID
    previous = gpd.read_file(tmp_path / "d.gpkg", layer="previous")
    assert sorted(previous["action"]) == ["changed", "moved", "removed"]
    # The CLI's dry run writes the diff by default, beside where it runs.
    monkeypatch.chdir(tmp_path)
    postgis = request.node.callspec.params["store"] == "postgis"
    target = request.getfixturevalue("pg_dsn") if postgis else str(tmp_path / "store.gpkg")
    out = CliRunner().invoke(
        load, ["components", str(path2), "--store", target, "--dry-run", "--admin-code", COUNTY]
    )
    assert out.exit_code == EXIT_OK, out.output
    assert (tmp_path / "survey.diff.csv").exists() and (tmp_path / "survey.diff.gpkg").exists()
    assert "changed " in out.output and "status 完好 → 破损" in out.output
    with urbangrid.connect(target) as s:
        assert s.count("load_changeset") == 1  # the dry run wrote nothing


def test_keyless_features_are_not_added_twice(store: Store, tmp_path: Path) -> None:
    """Rows with neither ID nor source key: a re-run of the same file finds them on
    their stored spots (nothing to change, exit 0); one moved a little is a probable
    duplicate (always a bad row, whatever --duplicates says), never added twice."""
    frame = survey_frame(("cambridge_hydrants",)).iloc[:5].copy()
    frame["来源编号"] = None
    path = write_survey(frame, tmp_path, "gpkg")
    assert load_survey(store, path, admin_code=COUNTY, commit=True).changeset_id
    again = load_survey(store, path, admin_code=COUNTY, commit=True)
    assert again.changeset_id is None and not again.problems, again.summary()
    assert "nothing to change" in again.summary() and store.count("component") == 5
    moved = frame.copy()
    moved["geometry"] = moved.geometry.translate(xoff=3e-6)  # ~0.25 m east
    (tmp_path / "moved").mkdir()
    path = write_survey(moved, tmp_path / "moved", "gpkg")
    third = load_survey(
        store, path, admin_code=COUNTY, commit=True, on_invalid="skip", duplicates="warn"
    )
    assert third.changeset_id is None and store.count("component") == 5
    assert third.set_aside == [1, 2, 3, 4, 5]
    assert {p["severity"] for p in third.problems} == {"error"}
    assert "probable duplicate of stored component" in str(third.problems[0]["reason"])


def test_a_row_stored_meanwhile_under_its_source_key_is_no_duplicate(
    store: Store, tmp_path: Path
) -> None:
    """A concurrent loader stored the file's features after this load looked their
    source keys up (issue 19): they are the same features, not duplicates of stored
    ones; a row at the same place under another source key still is one."""
    from urbangrid.loaders.pipeline import _duplicates_against_store

    frame = survey_frame(("cambridge_hydrants",)).iloc[:5].copy()
    path = write_survey(frame, tmp_path, "gpkg")
    assert load_survey(store, path, admin_code=COUNTY, commit=True).changeset_id
    stored = store.read("component", columns=["component_id", "subclass_code", "source"])
    rows = stored.drop(columns=["component_id"]).set_index(pd.RangeIndex(1, 6))
    rows["component_id"] = None  # as read while the layer was still empty
    assert _duplicates_against_store(store, rows, tolerance_m=0.5, source="f.gpkg") == []
    rows.loc[2, "source"] = "another:key/2"
    found = _duplicates_against_store(store, rows, tolerance_m=0.5, source="f.gpkg")
    assert [p["row"] for p in found] == [2]
    assert "probable duplicate of stored component" in str(found[0]["reason"])
