"""Unit and work grids in both stores: versions, as-of reads, diffs, bad input writes nothing."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pytest
import shapely

from urbangrid.errors import GridCodeError, GridGeometryError, ValidationError
from urbangrid.spatial.grids.versions import (
    diff_versions,
    grid_versions,
    load_unit_grids,
    load_work_grids,
    read_unit_grids,
    retired_grid_codes,
)
from urbangrid.spatial.grids.work import dissolve_work_grids, group_work_grids
from urbangrid.store import Store

CRS = "EPSG:4548"  # CGCS2000 3-degree Gauss-Krüger CM 117E (Beijing)
X0, Y0 = 441_000.0, 4_429_000.0
C1, C2 = "110108014001", "110108014002"
T1 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
T2 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _survey() -> gpd.GeoDataFrame:
    """2 × 2 grids of 100 m: C1 west (001 north, 002 south), C2 east."""
    boxes = [(0, 100), (0, 0), (100, 100), (100, 0)]
    codes = [f"{C1}001", f"{C1}002", f"{C2}001", f"{C2}002"]
    return gpd.GeoDataFrame(
        {"grid_code": codes, "grade": [1, 2, 3, None]},
        geometry=[shapely.box(X0 + x, Y0 + y, X0 + x + 100, Y0 + y + 100) for x, y in boxes],
        crs=CRS)


def _components(store: Store) -> None:
    info = store.layer_info("component")
    pts = [(X0 + 50, Y0 + 150), (X0 + 50, Y0 + 50), (X0 + 150, Y0 + 50)]
    frame = gpd.GeoDataFrame({
        "component_id": ["1101080101000001", "1101080101000002", "1101080101000003"],
        "edition": "cjt214-2007", "class_code": "01", "subclass_code": "0101",
        "name": "上水井盖", "status": "完好", "data_source": "实测"},
        geometry=[shapely.Point(p) for p in pts], crs=CRS)
    assert set(info.required) <= set(frame.columns)
    store.write("component", frame, "append", at=T1)


class TestLoad:
    def test_round_trip(self, store: Store) -> None:
        summary = load_unit_grids(store, _survey(), version="2024", at=T1, source="survey.shp")
        assert (summary.n_grids, summary.n_added, summary.n_removed) == (4, 4, 0)
        grids = read_unit_grids(store).sort_values("grid_code").reset_index(drop=True)
        assert grids["grid_code"].tolist() == sorted(_survey()["grid_code"])
        assert grids["community_code"].tolist() == [C1, C1, C2, C2]
        assert grids["street_code"].unique().tolist() == ["110108014"]
        assert grids["county_code"].unique().tolist() == ["110108"]
        assert grids["code_form"].unique().tolist() == [15]
        assert grids["grade"].tolist()[:3] == [1, 2, 3] and grids["grade"].isna().iloc[3]
        assert grids["area_m2"].round(6).tolist() == [10_000.0] * 4
        assert grids["metric_crs"].unique().tolist() == ["EPSG:4548"]
        assert grids["version"].unique().tolist() == ["2024"]
        back = grids.to_crs(CRS).geometry.to_numpy()
        assert shapely.area(back).round(3).tolist() == [10_000.0] * 4
        assert grid_versions(store)["version"].tolist() == ["2024"]

    def test_new_version_changes_only_what_changed(self, store: Store) -> None:
        load_unit_grids(store, _survey(), version="2024", at=T1)
        new = _survey()
        new = new[new["grid_code"] != f"{C2}002"].copy()  # removed
        new.loc[1, "geometry"] = shapely.box(X0, Y0, X0 + 100, Y0 + 90)  # reshaped
        extra = gpd.GeoDataFrame({"grid_code": [f"{C2}003"], "grade": [None]},
                                 geometry=[shapely.box(X0 + 100, Y0 + 10, X0 + 200, Y0 + 100)],
                                 crs=CRS)
        new = gpd.GeoDataFrame(
            [*new.to_dict("records"), *extra.to_dict("records")], geometry="geometry", crs=CRS)
        summary = load_unit_grids(store, new, version="2025", at=T2)
        assert (summary.n_added, summary.n_removed, summary.n_changed) == (1, 1, 1)
        current = read_unit_grids(store).set_index("grid_code")
        assert current.loc[f"{C1}001", "version"] == "2024"  # untouched row
        assert current.loc[f"{C1}002", "version"] == "2025"
        assert current.loc[f"{C1}002", "area_m2"] == pytest.approx(9_000.0)
        old = read_unit_grids(store, version="2024")
        assert sorted(old["grid_code"]) == sorted(_survey()["grid_code"])
        assert retired_grid_codes(store) == {f"{C2}002"}

    def test_diff_versions_lists_grids_and_moved_components(self, store: Store) -> None:
        _components(store)
        load_unit_grids(store, _survey(), version="2024", at=T1)
        new = _survey()
        # C1-002 shrinks to its western half; C2-002 takes the eastern half.
        new.loc[1, "geometry"] = shapely.box(X0, Y0, X0 + 40, Y0 + 100)
        new.loc[3, "geometry"] = shapely.box(X0 + 40, Y0, X0 + 200, Y0 + 100)
        load_unit_grids(store, new, version="2025", at=T2)
        diff = diff_versions(store, "2024", "2025")
        changes = diff.grids.set_index("grid_code")
        assert changes["change"].to_dict() == {f"{C1}002": "reshaped", f"{C2}002": "reshaped"}
        assert changes.loc[f"{C1}002", "changed_m2"] == pytest.approx(6_000.0)
        moved = diff.moved.set_index("key")
        assert moved.loc["1101080101000002", ["layer", "old_grid_code", "new_grid_code"]].tolist(
        ) == ["component", f"{C1}002", f"{C2}002"]
        assert len(moved) == 1

    def test_work_grids(self, store: Store) -> None:
        survey = _survey()
        metric = survey.assign(community_code=survey["grid_code"].str[:12],
                               area_m2=shapely.area(survey.geometry.to_numpy()))
        assignment = group_work_grids(metric, target_count=2)
        work = dissolve_work_grids(metric, assignment)
        survey["work_grid_code"] = assignment["work_grid_code"].to_numpy()
        load_unit_grids(store, survey, version="2024", at=T1)
        assert load_work_grids(store, work, version="2024", at=T1) == 2
        stored = store.read("work_grid").sort_values("work_grid_code")
        assert stored["work_grid_code"].tolist() == [f"{C1}W01", f"{C2}W01"]
        assert stored["n_unit_grids"].tolist() == [2, 2]
        grids = read_unit_grids(store, where={"work_grid_code": f"{C1}W01"})
        assert sorted(grids["grid_code"]) == [f"{C1}001", f"{C1}002"]


class TestBadInputWritesNothing:
    def test_duplicate_codes(self, store: Store) -> None:
        bad = _survey()
        bad.loc[3, "grid_code"] = bad.loc[2, "grid_code"]
        with pytest.raises(GridCodeError, match="duplicate"):
            load_unit_grids(store, bad, version="2024", at=T1)
        assert store.count("unit_grid") == 0 and store.count("grid_version") == 0

    def test_self_intersection(self, store: Store) -> None:
        bad = _survey()
        bad.loc[0, "geometry"] = shapely.Polygon([(X0, Y0), (X0 + 9, Y0 + 9), (X0 + 9, Y0),
                                                  (X0, Y0 + 9)])
        with pytest.raises(GridGeometryError,
                           match=r"row 0 \(grid_code='110108014001001'\).*Self-intersection"):
            load_unit_grids(store, bad, version="2024", at=T1)
        assert store.count("unit_grid") == 0

    def test_code_outside_its_community(self, store: Store) -> None:
        bad = _survey().assign(community_code=[C1, C1, C1, C2])
        with pytest.raises(GridCodeError, match="community_mismatch"):
            load_unit_grids(store, bad, version="2024", at=T1)
        assert store.count("unit_grid") == 0

    def test_bad_grade_and_versions(self, store: Store) -> None:
        with pytest.raises(ValidationError, match="grade must be 1, 2 or 3"):
            load_unit_grids(store, _survey().assign(grade=[1, 2, 4, None]), version="x", at=T1)
        load_unit_grids(store, _survey(), version="2024", at=T2)
        with pytest.raises(ValidationError, match="already loaded"):
            load_unit_grids(store, _survey(), version="2024")
        with pytest.raises(ValidationError, match="not after the last one"):
            load_unit_grids(store, _survey(), version="2023", at=T1)
        with pytest.raises(ValidationError, match="no grid version '1999'"):
            read_unit_grids(store, version="1999")
        assert store.count("grid_version") == 1
