"""Route, staffing and plan on the command line (issues 20/22 follow-up): a mistyped store is
never created, outputs and the base layer are checked before the route search, steps are
printed, and a map draws the area's streets and the route's notes."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner, Result

from tests.routing.patrol_cases import CRS, lattice_frame
from urbangrid.cli.main import main
from urbangrid.data import data_path
from urbangrid.routing.patrol.export import write_map
from urbangrid.routing.patrol.routes import area_route
from urbangrid.routing.patrol.streets import street_graph

WUDAOKOU = data_path("osm/beijing_haidian_wudaokou.osm.bz2")


@pytest.mark.parametrize("args", [["route", "{p}", "--area", "X"], ["staffing", "{p}"],
                                  ["plan", "{p}"], ["plan", "{p}", "--save"]])
def test_a_mistyped_store_is_not_created(tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "demmo.gpkg"
    res = CliRunner().invoke(main, [a.format(p=path) for a in args])
    assert res.exit_code == 1, res.output
    assert res.output.startswith(f"error: no store at {path} (no file at that path")
    assert f"create one with `urbangrid db init {path}`" in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1
    assert not path.exists()


@pytest.fixture()
def area_file(tmp_path: Path) -> Path:
    from urbangrid.demo.inputs import demo_work_grids

    path = tmp_path / "area.geojson"
    demo_work_grids(WUDAOKOU).iloc[[4]].to_crs("EPSG:4326").to_file(path)
    return path


def _route(area: Path, *extra: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["route", str(WUDAOKOU), "--polygon", str(area), "--mode",
                                     "walk", "--time-limit", "1", *extra], env=env)


@pytest.mark.parametrize(("extra", "env", "code", "says"), [
    (["-o", "x.pdf"], None, 2, "x.pdf: unknown output type"),
    (["-o", "{t}/nowhere/x.html"], None, 1, "{t}/nowhere/x.html: the folder {t}/nowhere does "
                                             "not exist"),
    (["-o", "{t}/x.html"], {"URBANGRID_BASEMAP": "amap"}, 1, "URBANGRID_BASEMAP 'amap'"),
    (["-o", "{t}/x.html", "--basemap", "tianditu-vec"], {"TIANDITU_KEY": ""}, 1,
     "--basemap tianditu-vec: give --tianditu-key"),
])
def test_outputs_are_checked_before_the_search(area_file: Path, tmp_path: Path,
                                               extra: list[str], env: dict[str, str] | None,
                                               code: int, says: str) -> None:
    res = _route(area_file, *[e.format(t=tmp_path) for e in extra], env=env)
    assert res.exit_code == code, res.output
    assert says.format(t=tmp_path) in res.output
    assert ".partial" not in res.output and "deadhead" not in res.output  # never solved
    assert not (tmp_path / "x.html").exists()


def test_steps_and_the_map_streets(area_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = _route(area_file, "--lang", "en", "-o", str(out), "--basemap", "none")
    assert res.exit_code == 0, res.output
    steps = [ln for ln in res.output.splitlines() if ln[:5].strip().rstrip(".").isdigit()]
    assert steps and steps[0].split(". ", 1)[1].startswith("Start")
    assert "无名道路" not in res.output  # unnamed streets are described by turn and class
    page = out.read_text(encoding="utf-8")
    assert "街道 streets" in page and '"color": "#9a9a9a"' in page
    quiet = _route(area_file, "--no-steps")
    assert quiet.exit_code == 0 and "   1. " not in quiet.output


def test_a_map_of_a_route_leaving_its_area_says_why(tmp_path: Path) -> None:
    # the hand-made case of test_route_crs: two one-way streets north inside the area
    f = lattice_frame(4)
    x = f.geometry.map(lambda g: g.coords[0][0])
    vertical = f.geometry.map(lambda g: g.coords[0][0] == g.coords[-1][0])
    f["oneway"] = vertical & (x - x.min() < 150)
    f.loc[f["oneway"], "name"] = None  # unnamed: the note tells them by class, not edge id
    G = street_graph(f, "bike", crs=CRS, source="lattice")
    x0, y0 = 440_000.0, 4_430_000.0
    area = shapely.box(x0 - 10, y0 - 10, x0 + 110, y0 + 310)
    r = area_route(G, area, area_crs=CRS, area_id="A", outside_note_m=50.0, iterations=50)
    assert r.notes
    streets = gpd.GeoDataFrame(f[["oneway"]].assign(name="lane"), geometry=f.geometry,
                               crs=CRS)
    path = write_map(r, tmp_path / "m.html", streets=streets)
    page = path.read_text(encoding="utf-8")
    assert "urbangrid-notes" in page and "leaves area A" in page and "one-way" in page
    assert "街道 streets" in page and "单行道 one-way street" in page
    assert '"dashArray": "4 3"' in page  # one-way streets are dashed
    assert "the one-way streets it serves (" in r.notes[0]
    assert " unnamed " in r.notes[0] and " streets)" in r.notes[0]


def test_an_area_code_without_a_boundary_says_so(tmp_path: Path) -> None:
    # admin-area codes are often loaded from the code table alone, without polygons
    import urbangrid

    path = tmp_path / "d.gpkg"
    with urbangrid.connect(str(path)) as s:
        s.write("admin_area", gpd.GeoDataFrame(
            {"code": ["110108014006"], "name": ["社区"], "level": ["community"],
             "parent_code": ["110108014"]}, geometry=[None], crs=4326), "upsert")
    res = CliRunner().invoke(main, ["route", str(path), "--area", "110108014006"])
    assert res.exit_code == 1, res.output
    assert "area '110108014006' in admin_area has no boundary" in res.output
    assert "--polygon" in res.output and "nan" not in res.output


def _route_lattice(tmp_path: Path, name: str, side_m: float,
                   frame: gpd.GeoDataFrame | None = None, *extra: str) -> Result:
    """`route FILE --polygon area` on the 4 × 4 lattice saved as ``name`` (by its suffix),
    the area a square of ``side_m`` from the lattice's corner."""
    f = lattice_frame(4) if frame is None else frame
    streets, area = tmp_path / name, tmp_path / "area.geojson"
    if streets.suffix == ".parquet":
        f.to_parquet(streets)
    else:
        f.to_file(streets)
    x0, y0 = 440_000.0, 4_430_000.0
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.box(
        x0 - 10, y0 - 10, x0 + side_m + 10, y0 + side_m + 10)], crs=CRS).to_file(area)
    return CliRunner().invoke(main, ["route", str(streets), "--polygon", str(area),
                                     "--no-steps", "-q", "--time-limit", "1", *extra])


def test_a_survey_geopackage_is_a_street_file_and_one_ways_name_the_option(
        tmp_path: Path) -> None:
    # route's help says SOURCE may be a survey GeoPackage of streets; one without urbangrid's
    # tables was refused as a store needing `db init` (found trying Cambridge's streets)
    res = _route_lattice(tmp_path, "survey_streets.gpkg", 300)
    assert res.exit_code == 0, res.output
    assert "db init" not in res.output and "streets 2.40 km" in res.output
    # one-way streets no closed walk can serve: the message names the command's option
    f = lattice_frame(4)
    f["oneway"] = f.geometry.map(lambda g: g.coords[0][0] == g.coords[-1][0])
    res = _route_lattice(tmp_path, "survey_streets.gpkg", 300, f)
    assert res.exit_code == 1, res.output
    assert res.output.startswith("error: ") and "give --skip-unreachable" in res.output


def test_a_road_class_column_of_its_own_is_named_on_the_command_line(
        tmp_path: Path) -> None:
    # Cambridge MA's centrelines: the class is MajorRoad (1 major, 2 other, empty minor),
    # which read_streets took only as columns= (found by a trial run)
    f = lattice_frame(4).drop(columns="highway")
    f["MajorRoad"] = [1.0 if i % 3 == 0 else (2.0 if i % 3 == 1 else None)
                      for i in range(len(f))]
    res = _route_lattice(tmp_path, "centerlines.geojson", 300, f)
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1, res.output
    assert "no road class column" in res.output and "--highway-column COLUMN" in res.output
    assert "MajorRoad" in res.output  # the file's columns are listed
    res = _route_lattice(tmp_path, "centerlines.geojson", 300, f, "--highway-column",
                         "MajorRoad")
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1, res.output
    assert "'MajorRoad' holds (empty), 1, 2," in res.output and "--highway-values" in res.output
    res = _route_lattice(tmp_path, "centerlines.geojson", 300, f, "--highway-column",
                         "MajorRoad", "--highway-values", "1=primary,2=secondary")
    assert res.exit_code == 1 and "value(s) '' have no OSM class" in res.output, res.output
    res = _route_lattice(tmp_path, "centerlines.geojson", 300, f, "--highway-column",
                         "MajorRoad", "--highway-values", "1=primary,2=secondary,*=residential")
    assert res.exit_code == 0, res.output
    assert "streets 2.40 km" in res.output
    res = _route_lattice(tmp_path, "centerlines.geojson", 300, f, "--highway-column",
                         "MajorRoad", "--highway-values", "1:primary")
    assert res.exit_code == 2 and "'1:primary' is not VALUE=CLASS" in res.output
    res = _route_lattice(tmp_path, "centerlines.geojson", 300, f, "--highway-column", "FCC")
    assert res.exit_code == 1 and "column 'FCC' (for 'highway') is not in the" in res.output


@pytest.mark.parametrize(("text", "says"), [
    ('{"type": "FeatureCollection", "features": []}', "no polygon to patrol (0 feature(s))"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
     '"geometry": {"type": "Point", "coordinates": [116.32, 39.99]}}]}',
     "no polygon to patrol (1 feature(s): Point)"),
    ('{"type": "Feat', "cannot read the area polygon: not GeoJSON"),
    ("", "cannot read the area polygon: not GeoJSON"),
], ids=["no features", "a point", "cut", "empty"])
@pytest.mark.parametrize("crs", [[], ["--crs", "GCJ-02"]], ids=["file crs", "gcj-02"])
def test_an_area_file_without_a_polygon_is_one_line(tmp_path: Path, text: str, says: str,
                                                     crs: list[str]) -> None:
    # an empty FeatureCollection said "street_centreline has no rows in bbox nan, nan, …"
    path = tmp_path / "area.geojson"
    path.write_text(text, encoding="utf-8")
    res = _route(path, *crs)
    assert res.exit_code == 1, res.output
    assert res.output.startswith(f"error: {path}: {says}")
    assert len(res.output.strip().splitlines()) == 1


def test_a_table_without_shapes_is_no_area_file(tmp_path: Path) -> None:
    # a CSV given as --polygon was "internal error (AttributeError)"
    path = tmp_path / "area.csv"
    path.write_text("lon,lat\n116.32,39.99\n", encoding="utf-8")
    res = _route(path)
    assert res.exit_code == 1, res.output
    assert res.output.startswith(f"error: {path}: cannot read the area polygon: it has no "
                                 "geometry")


def test_geoparquet_street_edges_are_a_street_file(tmp_path: Path) -> None:
    # GDAL's Parquet driver needs libduckdb, often missing: route said "libduckdb.so: cannot
    # open shared object file" on the Wuhan edges; GeoParquet is read as scale routes reads it
    res = _route_lattice(tmp_path, "edges.parquet", 100)
    assert res.exit_code == 0, res.output
    assert "area (bike)" in res.output and "streets 0.40 km" in res.output


def test_an_output_that_is_an_input_is_refused(tmp_path: Path) -> None:
    # new-user trial: `--polygon oak.geojson -o oak.geojson` replaced the area with the route
    area = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=4326).to_file(area)
    before = area.read_bytes()
    osm = data_path("osm/beijing_haidian_wudaokou.osm.bz2")
    res = CliRunner().invoke(main, ["route", str(osm), "--polygon", str(area), "-q",
                                    "-o", str(area)])
    assert res.exit_code == 2 and "would write over --polygon" in res.output, res.output
    assert area.read_bytes() == before


def test_gis_outputs_hold_one_geometry_type_per_layer(area_file: Path, tmp_path: Path) -> None:
    # new-user trial: route.geojson mixed the route line, step points and the area polygon,
    # so QGIS asked which sublayer to open
    import pyogrio

    res = _route(area_file, "--no-steps", "-o", str(tmp_path / "r.geojson"),
                 "-o", str(tmp_path / "r.gpkg"))
    assert res.exit_code == 0, res.output
    kinds = {name: {str(t) for _, t in pyogrio.list_layers(tmp_path / name)}
             for name in ("r.geojson", "r.steps.geojson", "r.area.geojson")}
    assert kinds == {"r.geojson": {"LineString"}, "r.steps.geojson": {"Point"},
                     "r.area.geojson": {"Polygon"}}, kinds
    assert [list(x) for x in pyogrio.list_layers(tmp_path / "r.gpkg")] == [
        ["route", "LineString"], ["steps", "Point"], ["area", "Polygon"]]
    steps = gpd.read_file(tmp_path / "r.gpkg", layer="steps")
    assert {"step", "text_zh", "text_en", "route_id"} <= set(steps.columns) and len(steps) > 1
    assert f"wrote {tmp_path / 'r.geojson'}, {tmp_path / 'r.steps.geojson'}, " in res.output
    assert "(layers route, steps, area)" in res.output


def test_a_file_written_beside_an_output_is_no_input_either(tmp_path: Path,
                                                            area_file: Path) -> None:
    # -o beat.geojson writes beat.area.geojson beside it: that must not be the --polygon
    area = tmp_path / "beat.area.geojson"
    area.write_bytes(area_file.read_bytes())
    res = _route(area, "-o", str(tmp_path / "beat.geojson"))
    assert res.exit_code == 2, res.output
    assert (f"-o {tmp_path / 'beat.geojson'} would write over --polygon {area}, which the "
            f"command reads (it writes {area})") in res.output
    assert area.read_bytes() == area_file.read_bytes()
    assert not (tmp_path / "beat.geojson").exists()
