"""``urbangrid locate`` on a store with administrative boundaries but no unit grids yet
(H40 item 1): it answers community, street and district, the grid fields empty, and says
how to add grids, instead of refusing the store. GeoPackage and PostGIS."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

import urbangrid
from urbangrid.cli.main import main
from urbangrid.cli.stores import describe
from urbangrid.data import data_path

STREET = "110108014"  # 清华园街道


@pytest.fixture(scope="module")
def boundaries() -> gpd.GeoDataFrame:
    """Communities (the documented partition of the Wudaokou extract, given 清华园街道's
    codes), their street office (the union) and the Haidian district boundary."""
    from urbangrid.demo.inputs import osm_extract_inputs
    from urbangrid.loaders.admin import read_divisions_csv

    div = read_divisions_csv(data_path("codes/haidian_110108_divisions_2023.csv"))
    codes = sorted(c for c in div.loc[div["level"] == "community", "code"].astype(str)
                   if c.startswith(STREET))
    comm = osm_extract_inputs(data_path("osm/beijing_haidian_wudaokou.osm.bz2"),
                              codes).communities.to_crs(4326)
    comm = comm.rename(columns={"community_code": "code"})[["code", "geometry"]]
    street = gpd.GeoDataFrame({"code": [STREET]}, geometry=[comm.union_all()], crs=4326)
    district = gpd.read_file(data_path("boundaries/haidian_110108_wgs84.geojson")).assign(
        code="110108")[["code", "geometry"]].to_crs(4326)
    return gpd.GeoDataFrame(pd.concat([comm, street, district], ignore_index=True), crs=4326)


@pytest.fixture(params=["gpkg", "postgis"])
def admin_store(request: pytest.FixtureRequest, tmp_path: Path,
                boundaries: gpd.GeoDataFrame) -> str:
    from urbangrid.loaders.admin import read_divisions_csv

    target = (str(tmp_path / "admin.gpkg") if request.param == "gpkg"
              else request.getfixturevalue("pg_dsn"))
    div = read_divisions_csv(data_path("codes/haidian_110108_divisions_2023.csv"))
    with urbangrid.connect(target) as s:
        s.write("admin_area", urbangrid.admin_areas_frame(div, boundaries), mode="upsert")
        assert s.count("unit_grid") == 0
    return target


def _names() -> dict[str, str]:
    from urbangrid.loaders.admin import read_divisions_csv

    div = read_divisions_csv(data_path("codes/haidian_110108_divisions_2023.csv"))
    return dict(zip(div["code"].astype(str), div["name"], strict=True))


def test_one_point_gets_its_community_and_street(admin_store: str,
                                                 boundaries: gpd.GeoDataFrame) -> None:
    comm = boundaries[boundaries["code"].str.len() == 12].iloc[2]
    pt = comm.geometry.representative_point()
    res = CliRunner().invoke(main, ["locate", admin_store, str(pt.x), str(pt.y),
                                    "--lang", "en"])
    assert res.exit_code == 0, res.output
    got = dict(line.split("\t") for line in res.stdout.splitlines())
    names = _names()
    assert got["grid_code"] == got["work_grid_code"] == ""
    assert (got["community_code"], got["street_code"], got["district_code"]) == (
        comm["code"], STREET, "110108")
    assert got["community_name"] == names[comm["code"]] and got["district_name"] == "海淀区"
    note = res.stderr.strip().splitlines()
    assert len(note) == 1 and note[0].startswith(
        f"note: {describe(admin_store)} holds no unit grids yet: community, street and")
    assert "urbangrid grids generate" in note[0] and "urbangrid load grids" in note[0]
    far = CliRunner().invoke(main, ["locate", admin_store, "121.47", "31.23"])
    assert far.exit_code == 3 and "outside every unit grid" in far.stderr


def test_csv_of_points_and_the_zh_note(admin_store: str, boundaries: gpd.GeoDataFrame,
                                      tmp_path: Path) -> None:
    pts = [g.representative_point() for g in boundaries.geometry[:3]]
    src = tmp_path / "p.csv"
    src.write_text("lon,lat\n" + "".join(f"{p.x},{p.y}\n" for p in pts) + "121.47,31.23\n",
                   encoding="utf-8")
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(main, ["locate", admin_store, "--csv", str(src), "-o", str(out),
                                    "--lang", "zh"])
    assert res.exit_code == 0, res.output
    assert "4 个点中 3 个在行政区划内" in res.stderr
    assert "还没有单元网格，只给出社区、街道和区县" in res.stderr
    table = pd.read_csv(out, dtype=str)
    assert table["grid_code"].isna().all()
    assert table["community_code"].tolist()[:3] == boundaries["code"].tolist()[:3]
    assert table["community_code"].isna().iloc[3]


def test_a_store_with_codes_but_no_boundaries_still_says_what_to_load(tmp_path: Path) -> None:
    from urbangrid.loaders.admin import read_divisions_csv

    path = tmp_path / "codes.gpkg"
    div = read_divisions_csv(data_path("codes/haidian_110108_divisions_2023.csv"))
    with urbangrid.connect(str(path)) as s:  # division codes only, not one polygon
        s.write("admin_area", urbangrid.admin_areas_frame(div), mode="upsert")
    res = CliRunner().invoke(main, ["locate", str(path), "116.32", "39.99"])
    assert res.exit_code == 1
    assert res.output.strip() == (
        f"error: {path} holds no unit grids (nor admin area boundaries) to locate points "
        f"in; generate unit grids in it (`urbangrid grids generate {path}`) or load them "
        f"(`urbangrid load grids FILE --store {path}`)")
