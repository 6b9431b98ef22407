"""``urbangrid scale assign``: the command line over assign_points."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from urbangrid.cli.scale import scale

from .conftest import SAMPLE_311, WARDS


class TestAssignCommand:
    def test_assigns_a_csv_to_wards(self, tmp_path: Path) -> None:
        out = tmp_path / "out.parquet"
        result = CliRunner().invoke(scale, [
            "assign", str(SAMPLE_311), "--grid", str(WARDS), "--key", "WARD",
            "--x", "longitude", "--y", "latitude", "--crs", "EPSG:4326", "-o", str(out),
            "--partition-rows", "1000",
        ])
        assert result.exit_code == 0, result.output
        assert "2,424 points, 2,419 assigned" in result.output
        assert "3 partitions on one process" in result.output
        assert pd.read_parquet(out)["grid_key"].notna().sum() == 2419

    def test_half_a_coordinate_pair_is_refused(self, tmp_path: Path) -> None:
        result = CliRunner().invoke(scale, [
            "assign", str(SAMPLE_311), "--grid", str(WARDS), "--x", "longitude",
            "--crs", "EPSG:4326", "-o", str(tmp_path / "o.parquet"),
        ])
        assert result.exit_code == 2 and "give both --x and --y" in result.output
        assert not (tmp_path / "o.parquet").exists()

    def test_an_empty_csv_and_a_missing_crs_say_what_to_give(self, tmp_path: Path) -> None:
        # found as a new user: an empty CSV was "internal error (EmptyDataError)", and a
        # missing CRS asked for crs='EPSG:4326', a Python argument
        from urbangrid.cli.main import main

        empty = tmp_path / "empty.csv"
        empty.write_text("")
        out = tmp_path / "o.parquet"
        base = ["scale", "assign", "--grid", str(WARDS), "--x", "longitude", "--y", "latitude",
                "-o", str(out)]
        res = CliRunner().invoke(main, [*base, str(empty), "--crs", "EPSG:4326"])
        assert res.exit_code == 1, res.output
        assert res.output.startswith("error: ") and "the file is empty" in res.output
        res = CliRunner().invoke(main, [*base, str(SAMPLE_311)])
        assert res.exit_code == 1 and "--crs EPSG:4326" in res.output
        assert not out.exists()


def _two_areas(path: Path) -> Path:
    """Two collector areas over :func:`tests.routing.patrol_cases.lattice_frame` (4)."""
    import geopandas as gpd
    import shapely

    from tests.routing.patrol_cases import CRS

    x0, y0 = 440_000.0, 4_430_000.0
    gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[
        shapely.box(x0 - 10, y0 - 10, x0 + 110, y0 + 110),
        shapely.box(x0 + 190, y0 + 190, x0 + 310, y0 + 310)], crs=CRS).to_file(path)
    return path


class TestRoutesCommand:
    def test_writes_the_table_and_the_routes_for_qgis(self, tmp_path: Path) -> None:
        # -o routes.gpkg got CSV text under a GeoPackage name, and no route shapes at all
        import geopandas as gpd

        from tests.routing.patrol_cases import lattice_frame
        from urbangrid.cli.main import main

        streets = tmp_path / "edges.parquet"
        areas = _two_areas(tmp_path / "areas.geojson")
        lattice_frame(4).to_parquet(streets)
        base = ["scale", "routes", str(streets), "--areas", str(areas), "--id-column", "code",
                "--iterations", "20", "-q", "-o"]
        bad = CliRunner().invoke(main, [*base, str(tmp_path / "r.gpkg")])
        assert bad.exit_code == 2 and "give a .csv path" in bad.output
        res = CliRunner().invoke(main, [*base, str(tmp_path / "r.csv")])
        assert res.exit_code == 0, res.output
        assert pd.read_csv(tmp_path / "r.csv")["area"].tolist() == ["A", "B"]
        lines = gpd.read_file(tmp_path / "r.routes.geojson")
        assert lines.crs.to_epsg() == 4326 and sorted(lines["area_code"]) == ["A", "B"]
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "areas.geojson", "edges.parquet", "r.csv", "r.routes.geojson"]
        # GeoParquet edges have OSM classes: the survey-file options are refused, one line
        res = CliRunner().invoke(main, [*base, str(tmp_path / "r2.csv"), "--highway-column",
                                        "MajorRoad"])
        assert res.exit_code == 1 and "are for survey files" in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1 and not (tmp_path / "r2.csv").exists()

    def test_a_survey_road_class_column_is_named_as_in_route(self, tmp_path: Path) -> None:
        # Cambridge MA centrelines (class in MajorRoad: 1, 2, empty) worked in `route`
        # with --highway-column/--highway-values but scale routes had no such options
        from tests.routing.patrol_cases import lattice_frame
        from urbangrid.cli.main import main

        f = lattice_frame(4).drop(columns="highway")
        f["MajorRoad"] = [1.0 if i % 3 == 0 else (2.0 if i % 3 == 1 else None)
                          for i in range(len(f))]
        streets = tmp_path / "centerlines.geojson"
        f.to_file(streets)
        base = ["scale", "routes", str(streets), "--areas",
                str(_two_areas(tmp_path / "areas.geojson")), "--id-column", "code",
                "--iterations", "20", "-q", "-o", str(tmp_path / "r.csv")]
        res = CliRunner().invoke(main, base)
        assert res.exit_code == 1 and "--highway-column COLUMN" in res.output, res.output
        res = CliRunner().invoke(main, [*base, "--highway-column", "MajorRoad",
                                        "--highway-values", "1:primary"])
        assert res.exit_code == 2 and "'1:primary' is not VALUE=CLASS" in res.output
        assert not (tmp_path / "r.csv").exists()
        res = CliRunner().invoke(main, [*base, "--highway-column", "MajorRoad",
                                        "--highway-values",
                                        "1=primary,2=secondary,*=residential"])
        assert res.exit_code == 0, res.output
        assert pd.read_csv(tmp_path / "r.csv")["area"].tolist() == ["A", "B"]

    def test_areas_without_a_code_are_named_before_the_streets_are_read(
            self, tmp_path: Path) -> None:
        # Cambridge MA police walking routes: 2 of 38 beats have no WALK_RTE, which
        # plan_areas reported, after the street graph, as "area codes repeat: [nan]"
        import geopandas as gpd

        from urbangrid.cli.main import main

        areas = gpd.read_file(_two_areas(tmp_path / "areas.geojson"))
        areas.loc[1, "code"] = None
        areas.to_file(tmp_path / "areas.geojson")
        base = ["scale", "routes", str(tmp_path / "areas.geojson"), "--areas",
                str(tmp_path / "areas.geojson"), "-q", "-o", str(tmp_path / "r.csv")]
        res = CliRunner().invoke(main, [*base, "--id-column", "code"])
        assert res.exit_code == 1, res.output
        assert "feature(s) 2 of 2 have no 'code'" in res.output and "areas.geojson" in res.output
        res = CliRunner().invoke(main, [*base, "--id-column", "ROUTE"])
        assert res.exit_code == 2 and "no column 'ROUTE'; its columns are code" in res.output
        assert not (tmp_path / "r.csv").exists()


def test_assign_output_is_a_dataset_folder(tmp_path: Path) -> None:
    # -o out.csv made a folder named out.csv holding Parquet parts
    result = CliRunner().invoke(scale, [
        "assign", str(SAMPLE_311), "--grid", str(WARDS), "--x", "longitude", "--y",
        "latitude", "--crs", "EPSG:4326", "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2 and "Parquet dataset (a folder" in result.output
    assert not (tmp_path / "out.csv").exists()


def test_routes_say_where_one_ways_came_from_and_what_was_left_out(tmp_path: Path) -> None:
    # Cambridge MA's Direction column (1 along the line) was not read at all; a one-way
    # dead end inside area A can be entered but not left: left out, and said
    import geopandas as gpd
    import shapely

    from tests.routing.patrol_cases import lattice_frame
    from urbangrid.cli.main import main

    x0, y0 = 440_000.0, 4_430_000.0
    f = lattice_frame(4)
    spur = gpd.GeoDataFrame({"name": ["spur"], "highway": ["residential"]}, geometry=[
        shapely.LineString([(x0 + 100, y0), (x0 + 50, y0 + 50)])], crs=f.crs)
    f = pd.concat([f, spur], ignore_index=True)
    f["Direction"] = ["0"] * (len(f) - 1) + ["1"]
    streets = tmp_path / "centerlines.geojson"
    f.to_file(streets)
    res = CliRunner().invoke(main, [
        "scale", "routes", str(streets), "--areas", str(_two_areas(tmp_path / "a.geojson")),
        "--id-column", "code", "--mode", "car", "--iterations", "20", "-q", "-o",
        str(tmp_path / "r.csv")])
    assert res.exit_code == 0, res.output
    assert "note: one-way streets from column 'Direction' of centerlines.geojson" in res.output
    assert "1 of 25 rows one-way" in res.output
    assert "note: 1 street(s) no closed walk of their area can serve were left out" in res.output
    assert pd.read_csv(tmp_path / "r.csv")["skipped"].tolist() == [1, 0]


def test_areas_from_datav_need_their_crs_said(tmp_path: Path) -> None:
    # areas drawn on Amap/DataV are GCJ-02 under a GeoJSON that says WGS 84: refused
    # without --areas-crs, planned where they really are with --areas-crs GCJ-02
    import geopandas as gpd
    import numpy as np
    import shapely

    from tests.routing.patrol_cases import lattice_frame
    from urbangrid.cli.main import main
    from urbangrid.spatial.crs.transform import transform_xy

    streets = tmp_path / "edges.parquet"
    lattice_frame(4).to_parquet(streets)
    wgs = gpd.read_file(_two_areas(tmp_path / "areas.geojson")).to_crs(4326)

    def to_gcj(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transform_xy(xy[:, 0], xy[:, 1], crs="EPSG:4326",
                                            to_crs="GCJ-02"))

    gcj = wgs.set_geometry(shapely.transform(wgs.geometry.to_numpy(), to_gcj), crs=4326)
    datav = tmp_path / "datav.json"
    gcj.assign(adcode=110108, acroutes="[100000]").to_file(datav, driver="GeoJSON")
    base = ["scale", "routes", str(streets), "--areas", str(datav), "--id-column", "code",
            "--iterations", "20", "-q", "-o", str(tmp_path / "r.csv")]
    res = CliRunner().invoke(main, base)
    assert res.exit_code == 1 and "give --areas-crs GCJ-02" in res.output, res.output
    assert not (tmp_path / "r.csv").exists()
    res = CliRunner().invoke(main, [*base, "--areas-crs", "GCJ-02"])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(tmp_path / "r.csv")["area"].tolist() == ["A", "B"]
