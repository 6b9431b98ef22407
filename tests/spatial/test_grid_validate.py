"""Unit grid QA: each check on a hand-made defect, clean real grids, report files, fixes."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from urbangrid.demo.inputs import cambridge_inputs
from urbangrid.errors import GridCRSError
from urbangrid.spatial.grids.generate import generate_unit_grids
from urbangrid.spatial.grids.validate import (
    REPORT_COLUMNS,
    fix_merge_slivers,
    fix_snap,
    validate_unit_grids,
    write_qa_report,
)

DATA = Path(__file__).resolve().parents[1] / "data"
CRS = "EPSG:4548"
C1, C2 = "110108014001", "110108014002"


def _grids(boxes: list[tuple[float, float, float, float]], codes: list[str],
           comm: list[str] | None = None) -> gpd.GeoDataFrame:
    comm = comm or [c[:12] for c in codes]
    return gpd.GeoDataFrame({"grid_code": codes, "community_code": comm},
                            geometry=[shapely.box(*b) for b in boxes], crs=CRS)


def _communities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"community_code": [C1, C2]},
                            geometry=[shapely.box(0, 0, 200, 100), shapely.box(200, 0, 400, 100)],
                            crs=CRS)


def _clean() -> gpd.GeoDataFrame:
    return _grids([(0, 0, 100, 100), (100, 0, 200, 100), (200, 0, 300, 100), (300, 0, 400, 100)],
                  [f"{C1}001", f"{C1}002", f"{C2}001", f"{C2}002"])


class TestChecks:
    def test_clean_grids_have_no_findings(self) -> None:
        report = validate_unit_grids(_clean(), _communities())
        assert report.empty
        assert list(report.columns) == [*REPORT_COLUMNS, "geometry"]

    def test_overlap_with_area_and_location(self) -> None:
        grids = _clean()
        grids.loc[1, "geometry"] = shapely.box(90, 0, 200, 100)
        report = validate_unit_grids(grids, _communities())
        row = report[report["check"] == "overlap"].iloc[0]
        assert (row["grid_code"], row["other_code"]) == (f"{C1}001", f"{C1}002")
        assert row["area_m2"] == pytest.approx(1_000.0)
        assert 90 <= row["x"] <= 100 and 0 <= row["y"] <= 100
        assert row["fix"] == ""  # 10 m wide: not a snapping matter

    def test_gap_against_communities(self) -> None:
        grids = _clean()
        grids.loc[1, "geometry"] = shapely.box(100.2, 0, 200, 100)
        report = validate_unit_grids(grids, _communities())
        row = report[report["check"] == "gap"].iloc[0]
        assert row["area_m2"] == pytest.approx(20.0)
        assert row["fix"] == "fix_snap"
        assert row["x"] == pytest.approx(100.1)

    def test_hole_without_communities(self) -> None:
        grids = _grids([(0, 0, 300, 300)], [f"{C1}001"])
        grids.loc[0, "geometry"] = shapely.box(0, 0, 300, 300).difference(
            shapely.box(100, 100, 110, 110))
        report = validate_unit_grids(grids, target_area_m2=90_000)
        assert report["check"].tolist() == ["gap"]
        assert report["area_m2"].iloc[0] == pytest.approx(100.0)

    def test_straddles_and_code_community(self) -> None:
        grids = _clean()
        grids.loc[1, "geometry"] = shapely.box(100, 0, 250, 100)
        grids.loc[2, "geometry"] = shapely.box(250, 0, 300, 100)
        report = validate_unit_grids(grids, _communities())
        straddle = report[report["check"] == "straddles"].iloc[0]
        assert straddle["grid_code"] == f"{C1}002"
        assert "110108014002 5000.0 m²" in straddle["detail"]

    def test_code_disagrees_with_containing_community(self) -> None:
        grids = _clean()
        grids.loc[2, "grid_code"] = f"{C1}003"  # lies in C2
        report = validate_unit_grids(grids, _communities())
        row = report[report["check"] == "code_community"].iloc[0]
        assert row["grid_code"] == f"{C1}003" and row["community_code"] == C2

    def test_duplicate_and_malformed_codes(self) -> None:
        grids = _clean()
        grids.loc[1, "grid_code"] = f"{C1}001"
        grids.loc[3, "grid_code"] = "1101080140020"
        checks = validate_unit_grids(grids, _communities())["check"].tolist()
        assert checks.count("duplicate_code") == 2
        assert checks.count("code_format") == 1

    def test_invalid_multipart_empty(self) -> None:
        grids = _clean()
        grids.loc[0, "geometry"] = shapely.Polygon([(0, 0), (100, 100), (100, 0), (0, 100)])
        grids.loc[1, "geometry"] = shapely.MultiPolygon([shapely.box(100, 0, 150, 100),
                                                         shapely.box(160, 0, 200, 100)])
        grids.loc[2, "geometry"] = shapely.Polygon()
        report = validate_unit_grids(grids, _communities())
        by_check = report.set_index("check")
        assert "Self-intersection" in by_check.loc["invalid", "detail"]
        assert by_check.loc["multipart", "grid_code"] == f"{C1}002"
        assert by_check.loc["empty", "grid_code"] == f"{C2}001"

    def test_sliver_and_size_warnings(self) -> None:
        grids = _grids([(0, 0, 100, 3), (0, 3, 100, 100), (100, 0, 400, 100)],
                       [f"{C1}001", f"{C1}002", f"{C1}003"])
        comm = gpd.GeoDataFrame({"community_code": [C1]}, geometry=[shapely.box(0, 0, 400, 100)],
                                crs=CRS)
        report = validate_unit_grids(grids, comm, size_factor=2.5)
        assert report[["check", "severity", "grid_code"]].values.tolist() == [
            ["sliver", "warning", f"{C1}001"], ["size", "warning", f"{C1}003"]]

    def test_needs_projected_crs(self) -> None:
        with pytest.raises(GridCRSError, match="projected"):
            validate_unit_grids(_clean().to_crs("EPSG:4326"))


class TestReportFiles:
    def test_gpkg_layer_and_csv(self, tmp_path: Path) -> None:
        grids = _clean()
        grids.loc[1, "geometry"] = shapely.box(90, 0, 200, 100)
        grids.loc[3, "grid_code"] = f"{C2}001"
        report = validate_unit_grids(grids, _communities())
        gpkg, csv = write_qa_report(report, tmp_path / "qa.gpkg")
        info = pyogrio.read_info(gpkg, layer="grid_qa")
        assert info["geometry_type"] == "MultiPolygon"
        assert info["features"] == len(report)
        back = gpd.read_file(gpkg, layer="grid_qa")
        assert back.crs.to_epsg() == 4548
        table = pd.read_csv(csv, dtype=str, encoding="utf-8-sig")
        assert table["check"].tolist() == report["check"].tolist()
        assert table["wkt"].str.startswith("POLYGON").all()


class TestFixes:
    def test_snap_closes_narrow_gap_and_overlap_only_when_asked(self) -> None:
        grids = _clean()
        grids.loc[1, "geometry"] = shapely.box(100.2, 0, 200, 100)
        grids.loc[3, "geometry"] = shapely.box(299.7, 0, 400, 100)
        before = grids.copy()
        report = validate_unit_grids(grids, _communities())
        assert set(report["check"]) == {"gap", "overlap"}
        assert grids.geometry.equals(before.geometry)  # validation never fixes
        fixed, changes = fix_snap(grids, 0.5)
        assert validate_unit_grids(fixed, _communities()).empty
        assert len(changes) >= 2
        assert shapely.area(fixed.geometry.to_numpy()).sum() == pytest.approx(40_000.0)

    def test_merge_slivers_into_longest_shared_edge(self) -> None:
        # The 3 m strip touches grid 2 along 100 m and grid 3 along 3 m.
        grids = _grids([(0, 0, 100, 3), (0, 3, 100, 100), (100, 0, 200, 100)],
                       [f"{C1}001", f"{C1}002", f"{C1}003"])
        fixed, changes = fix_merge_slivers(grids)
        assert changes[["grid_code", "merged_into"]].values.tolist() == [[f"{C1}001", f"{C1}002"]]
        assert sorted(fixed["grid_code"]) == [f"{C1}002", f"{C1}003"]
        merged = fixed.set_index("grid_code").geometry[f"{C1}002"]
        assert shapely.equals(merged, shapely.box(0, 0, 100, 100))


def test_generated_cambridge_grids_pass_qa() -> None:
    inputs = cambridge_inputs(DATA / "cambridge" / "neighborhoods.geojson.gz",
                              DATA / "cambridge" / "street_centerlines.geojson.gz")
    out = generate_unit_grids(inputs.streets, inputs.communities)
    report = validate_unit_grids(out.grids, out.communities)
    errors = report[report["severity"] == "error"]
    assert errors.empty, errors.drop(columns="geometry").to_string()
    # Grids are 5,000–15,000 m² by construction, so no size outlier at a factor of 3.
    assert "size" not in set(report["check"])
    assert np.isfinite(report["x"]).all()
