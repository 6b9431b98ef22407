"""A CJ/T 214 standard survey into a store with a district (issue 19).

The store holds the unit grids ``urbangrid grids generate`` makes from the real
Wudaokou OSM extract (county 990101); the survey is the real OSM street furniture
of that area (ODbL), written as a contractor delivers it: a GBK Shapefile without
``.cpg`` whose fields are exactly 标识码, 部件名称, 主管部门, 权属单位, 养护单位,
部件状态, 初始日期, 数据来源, 备注 — the class and subclass only inside the ID.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

import urbangrid
from urbangrid.cli.load import EXIT_BLOCKED, EXIT_OK, EXIT_SET_ASIDE, load
from urbangrid.cli.main import main
from urbangrid.data import data_path
from urbangrid.loaders.changeset import list_changesets, rollback_changeset
from urbangrid.loaders.osm_components import read_bundled_components
from urbangrid.loaders.pipeline import load_survey
from urbangrid.loaders.readers import read_survey
from urbangrid.spatial.components.codes import demo_profile
from urbangrid.spatial.grids.versions import load_unit_grids
from urbangrid.store import Store

# bundled with the package: a checkout has no ../shared
OSM = data_path("osm/beijing_haidian_wudaokou.osm.bz2")
COUNTY = "990101"  # what `grids generate --osm` codes the extract's district
FIELDS = ["标识码", "部件名称", "主管部门", "权属单位", "养护单位", "部件状态", "初始日期",
          "数据来源", "备注"]  # fmt: skip


@pytest.fixture(scope="session")
def wudaokou_grids(tmp_path_factory: pytest.TempPathFactory) -> gpd.GeoDataFrame:
    """The 453 unit grids `grids generate --osm` makes of Wudaokou (county 990101)."""
    path = tmp_path_factory.mktemp("grids") / "g.gpkg"
    args = ["grids", "generate", str(path), "--osm", str(OSM.resolve()), "--version", "v1"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    with urbangrid.connect(path) as s:
        return s.read("unit_grid")[["grid_code", "work_grid_code", "geometry"]]


@pytest.fixture
def district(store: Store, wudaokou_grids: gpd.GeoDataFrame) -> Store:
    """A fresh store (both back ends) holding the Wudaokou unit grids."""
    load_unit_grids(store, wudaokou_grids, version="v1")
    return store


def standard_frame(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The real OSM furniture inside the grids, with 16-digit IDs of county 990101."""
    rec, _ = read_bundled_components(demo_profile(), ("osm_haidian",))
    rec = rec[rec.within(grids.to_crs(4326).union_all())].reset_index(drop=True)
    serial = rec.groupby("subclass_code").cumcount() + 1
    ids = COUNTY + rec["subclass_code"].astype(str) + serial.map("{:06d}".format)
    return gpd.GeoDataFrame(
        {
            "标识码": ids,
            "部件名称": rec["name"].astype(object).where(rec["name"].notna(), None),
            "主管部门": "市政管理委员会",
            "权属单位": "海淀区市政市容委",
            "养护单位": "海淀区路灯管理所",
            "部件状态": "完好",
            "初始日期": "2024-05-01",
            "数据来源": "实测",
            "备注": "普查2024",
        },
        geometry=rec.geometry.values,
        crs="EPSG:4326",
    )


def write_gbk_shapefile(frame: gpd.GeoDataFrame, path: Path) -> Path:
    """GBK DBF, no .cpg: as the contractors' tools write it."""
    pyogrio.write_dataframe(frame, path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_standard_gbk_survey_loads_with_grids_and_rolls_back(
    district: Store, wudaokou_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    frame = standard_frame(wudaokou_grids)
    path = write_gbk_shapefile(frame, tmp_path / "部件普查.shp")
    survey = read_survey(path)
    assert list(survey.frame.columns[:-1]) == FIELDS and survey.encoding is not None
    assert survey.encoding.encoding == "GBK"
    dry = load_survey(district, path)
    assert not dry.problems and not dry.blocked, dry.summary()
    assert "class and subclass taken from the 16-digit 标识码" in dry.summary()
    assert dry.changeset is not None and dry.changeset.count("added") == len(frame)
    assert district.count("component") == 0
    done = load_survey(district, path, commit=True)
    assert done.changeset_id is not None
    got = district.read("component").set_index("component_id").sort_index()
    assert list(got.index) == sorted(frame["标识码"])
    assert (got["subclass_code"] == got.index.str[6:10]).all()
    assert (got["class_code"] == got.index.str[6:8]).all()
    # Every component has its unit grid, the one its point lies in.
    assert got["grid_code"].notna().all()
    grids = wudaokou_grids.set_index("grid_code").to_crs(got.crs)
    inside = shapely.covered_by(got.geometry.values, grids.loc[got["grid_code"]].geometry.values)
    assert inside.all()
    gpkg = Path(district.target) if district.kind == "gpkg" else None
    before = sha(gpkg) if gpkg else None
    again = load_survey(district, path, commit=True)
    assert again.changeset_id is None and again.changeset is not None
    assert again.changeset.unchanged == len(frame) and not again.changeset.changes
    if gpkg:
        assert sha(gpkg) == before  # a re-run that changes nothing changes no byte
    rollback_changeset(district, done.changeset_id)
    assert district.count("component") == 0


def test_new_ids_get_the_store_county_never_a_hidden_default(
    district: Store, wudaokou_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    frame = standard_frame(wudaokou_grids).iloc[:12]
    frame = frame.assign(小类代码=frame["标识码"].str[6:10]).drop(columns=["标识码"])
    path = tmp_path / "new.gpkg"
    pyogrio.write_dataframe(frame, path)
    done = load_survey(district, path, commit=True)
    assert done.changeset_id is not None, done.summary()
    ids = district.read("component")["component_id"]
    assert ids.str.startswith(COUNTY).all() and len(ids) == 12
    # A county the store's district does not hold: the dry run and the apply say
    # the same, with the reason, and write nothing.
    for commit in (False, True):
        other = load_survey(district, path, admin_code="990102", commit=commit)
        assert other.blocked
        assert "not a county of the store's district (990101)" in other.summary()
    assert district.count("component") == 12


def test_rows_with_an_empty_id_print_as_new_not_nan(
    district: Store, wudaokou_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    # the ID column is there but empty: pandas reads NaN, and the dry run printed
    # "added nan (row 1)"
    frame = standard_frame(wudaokou_grids).iloc[:3]
    frame = frame.assign(小类代码=frame["标识码"].str[6:10], 标识码=None)
    path = tmp_path / "new_empty_ids.gpkg"
    pyogrio.write_dataframe(frame, path)
    dry = load_survey(district, path, diff=tmp_path / "diff.csv")
    assert dry.changeset is not None and dry.changeset.count("added") == 3, dry.summary()
    assert all(c.key is None for c in dry.changeset.changes)  # pandas read NaN
    lines = dry.changeset.lines()
    assert lines[0].startswith("  added (new ID) (row 1)"), lines
    assert not any("nan" in line for line in lines)
    # the diff's GeoPackage wrote the key "nan" for them
    written = pyogrio.read_dataframe(tmp_path / "diff.gpkg", layer="changes")
    assert written["key"].isna().all() and len(written) == 3, written


def test_no_district_and_no_county_blocks_new_ids(store: Store, tmp_path: Path) -> None:
    rec, _ = read_bundled_components(demo_profile(), ("osm_haidian",))
    frame = gpd.GeoDataFrame(
        {"小类代码": rec["subclass_code"].iloc[:5].astype(str), "部件状态": "完好",
         "数据来源": "实测"},
        geometry=rec.geometry.values[:5], crs="EPSG:4326",
    )  # fmt: skip
    path = tmp_path / "s.gpkg"
    pyogrio.write_dataframe(frame, path)
    for commit in (False, True):
        result = load_survey(store, path, commit=commit)
        assert result.blocked and "pass --admin-code" in result.summary()
    assert store.count("component") == 0
    done = load_survey(store, path, admin_code="110108", commit=True)
    assert done.changeset_id and store.read("component")["component_id"].str[:6].eq("110108").all()
    bad = load_survey(store, path, admin_code="1101")
    assert bad.blocked and "must be 6 digits" in bad.summary()


def bad_rows_file(frame: gpd.GeoDataFrame, path: Path) -> Path:
    """The standard file as GeoJSON with a contractor ID column and six bad rows:
    3 swapped, 5 in metres, 7 2 km outside, 9 repeating 8's 来源编号, 11 a NUL in
    备注, 13 an ID of another county."""
    f = frame.copy()
    f.index = pd.RangeIndex(1, len(f) + 1)
    f["来源编号"] = [f"HD-{i:04d}" for i in f.index]
    g = list(f.geometry)
    g[2] = shapely.Point(g[2].y, g[2].x)
    g[4] = shapely.Point(443000.5, 4428000.0)
    g[6] = shapely.Point(g[6].x + 0.05, g[6].y)
    f.loc[9, "来源编号"] = f.loc[8, "来源编号"]
    f.loc[11, "备注"] = "NULHERE"
    f.loc[13, "标识码"] = "3205080210000001"
    f = f.set_geometry(g)
    pyogrio.write_dataframe(f, path, driver="GeoJSON")
    text = path.read_text(encoding="utf-8").replace("NULHERE", "ab\\u0000cd")
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_rows_are_each_named_and_the_rest_loads(
    district: Store, wudaokou_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    frame = standard_frame(wudaokou_grids)
    path = bad_rows_file(frame, tmp_path / "bad.geojson")
    blocked = load_survey(district, path, duplicates="reject", commit=True)
    assert blocked.blocked and district.count("component") == 0
    found = {(p["row"], p["field"]): p["reason"] for p in blocked.problems}
    assert sorted(found) == [
        (3, "geometry"), (5, "geometry"), (7, "geometry"), (9, "source"), (11, "备注"),
        (13, "component_id"),
    ], blocked.summary()  # fmt: skip
    assert "swapped" in found[3, "geometry"] and "metres" in found[5, "geometry"]
    assert "outside the district (tolerance 50 m)" in found[7, "geometry"]
    assert "first at row 8" in found[9, "source"] and "U+0000" in found[11, "备注"]
    assert "county 320508" in found[13, "component_id"]
    skipped = load_survey(district, path, duplicates="reject", on_invalid="skip", commit=True)
    assert skipped.set_aside == [3, 5, 7, 9, 11, 13]
    assert district.count("component") == len(frame) - 6
    # Under --duplicates warn the repeated contractor ID is a warning: its row loads.
    warned = load_survey(district, path)
    rows = {p["row"]: p for p in warned.problems}
    assert rows[9]["severity"] == "warning" and 9 not in warned.set_aside


def test_cli_standard_survey_dry_run_apply_and_bad_file(
    district: Store,
    wudaokou_grids: gpd.GeoDataFrame,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    frame = standard_frame(wudaokou_grids)
    path = write_gbk_shapefile(frame, tmp_path / "std.shp")
    postgis = request.node.callspec.params["store"] == "postgis"
    store = request.getfixturevalue("pg_dsn") if postgis else district.target
    run = CliRunner().invoke
    dry = run(
        load,
        ["components", str(path), "--store", store, "--dry-run", "--diff", str(tmp_path / "d")],
    )
    assert dry.exit_code == EXIT_OK, dry.output
    assert district.count("component") == 0
    assert run(load, ["components", str(path), "--store", store]).exit_code == EXIT_OK
    assert district.count("component") == len(frame)
    bad = bad_rows_file(frame, tmp_path / "bad.geojson")
    out = run(load, ["components", str(bad), "--store", store, "--duplicates", "reject"])
    assert out.exit_code == EXIT_BLOCKED and "--on-invalid skip" in out.output
    assert "on_invalid='raise'" not in out.output
    for row in (3, 5, 7, 9, 11, 13):
        assert f"row {row} field" in out.output
    skip = ["components", str(bad), "--store", store, "--on-invalid", "skip"]
    assert run(load, skip).exit_code == EXIT_SET_ASIDE
    assert len(list_changesets(district)) == 2


def test_crs_override_turns_the_misfit_rows_into_the_good_ones(
    district: Store, wudaokou_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    """A file said to be in metres (CGCS2000 GK 117E) whose rows are degrees, but
    one: the file-wide mismatch is one line; --crs EPSG:4326 flags only that row."""
    frame = standard_frame(wudaokou_grids).iloc[:10].copy()
    g = list(frame.geometry)
    g[3] = shapely.Point(443000.5, 4428000.0)
    frame = frame.set_geometry(g).set_crs("EPSG:4548", allow_override=True)
    path = tmp_path / "said_metres.gpkg"
    pyogrio.write_dataframe(frame, path)
    fixed = load_survey(district, path, crs="EPSG:4326")
    assert [(p["row"], p["field"]) for p in fixed.problems] == [(4, "geometry")]
    assert "look like metres" in fixed.problems[0]["reason"]


def test_utf8_shapefile_with_names_cut_mid_character(district: Store, tmp_path: Path) -> None:
    """ogr2ogr cuts 部件标识码 to 10 UTF-8 bytes (three characters and one byte)."""
    frame = gpd.GeoDataFrame(
        {"部件标识码": [COUNTY + "0210000001"], "部件状态名称": ["完好"], "数据来源代码": ["实测"]},
        geometry=[shapely.Point(116.3255, 39.9995)], crs="EPSG:4326",
    )  # fmt: skip
    path = tmp_path / "cut.shp"
    with pytest.warns(RuntimeWarning):
        pyogrio.write_dataframe(frame, path, encoding="UTF-8")
    raw = path.with_suffix(".dbf").read_bytes()[32:43]
    with pytest.raises(UnicodeDecodeError):
        raw.split(b"\x00")[0].decode("utf-8")
    for encoding in (None, "UTF-8"):
        survey = read_survey(path, encoding=encoding)
        assert list(survey.frame.columns[:-1]) == ["部件标", "部件状", "数据来"]
    result = load_survey(district, path)  # read, mapped by the cut names, no crash
    assert result.mapped.used["component_id"] == "部件标"


# bundled: the real Haidian boundary (110108), WGS84 (urbangrid/data/SOURCES.md)
HAIDIAN = data_path("boundaries/haidian_110108_wgs84.geojson")


def test_district_from_admin_areas_haidian(
    store: Store, wudaokou_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    """A store holding the real Haidian boundary (110108) as its district:
    IDs of 110108 load, new IDs get 110108, a point 2 km outside Haidian is named."""
    districts = gpd.read_file(HAIDIAN)
    haidian = districts[districts["district_adcode"].astype(str) == "110108"]
    area = gpd.GeoDataFrame(
        {"code": ["110108"], "level": ["district"], "name": ["海淀区"]},
        geometry=[haidian.union_all()], crs=districts.crs,
    )  # fmt: skip
    store.write("admin_area", area, "upsert")
    frame = standard_frame(wudaokou_grids).iloc[:6].copy()
    frame["标识码"] = "110108" + frame["标识码"].str[6:]
    path = tmp_path / "haidian.gpkg"
    pyogrio.write_dataframe(frame, path)
    dry = load_survey(store, path)
    assert not dry.problems, dry.summary()
    assert "district: admin area(s) 海淀区 of 110108" in dry.summary()
    # 0.02° west of Haidian's westernmost vertex: outside by well over 50 m.
    west = haidian.total_bounds[0] - 0.02
    frame.loc[frame.index[2], "geometry"] = shapely.Point(west, 39.99)
    frame.loc[frame.index[4], "标识码"] = "990101" + frame.loc[frame.index[4], "标识码"][6:]
    pyogrio.write_dataframe(frame, path)
    bad = load_survey(store, path, commit=True)
    assert bad.blocked and store.count("component") == 0
    reasons = {p["row"]: p["reason"] for p in bad.problems}
    assert sorted(reasons) == [3, 5], bad.summary()
    assert "outside the district" in reasons[3] and "county 990101" in reasons[5]
