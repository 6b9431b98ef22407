"""Hostile input never crashes a load or reaches SQL as text; read-only roles read only."""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import psycopg
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

import urbangrid
from urbangrid.errors import StorePermissionError
from urbangrid.loaders.encoding import choose_encoding, detect_dbf_encoding
from urbangrid.loaders.pipeline import load_survey
from urbangrid.loaders.security import connect_readonly, grant_readonly
from urbangrid.spatial.components.records import find_components
from urbangrid.store import Store

#: County of new component IDs: these stores hold no district to take it from.
COUNTY = "320508"

SQLISH = [
    "'); DROP TABLE component; --",
    "1 OR 1=1",
    '"; DELETE FROM load_change; --',
    "$$; SELECT pg_sleep(10); $$",
    "Robert'); --",
]
CONTROL = "".join(chr(c) for c in [*range(1, 9), 11, 12, *range(14, 32), 127])

texts = st.one_of(
    st.sampled_from(SQLISH),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00\r\n"), max_size=30),
    st.text(alphabet=CONTROL, min_size=1, max_size=3),
    st.integers(3000, 9000).map(lambda n: "长" * n),
)
wkts = st.one_of(
    st.sampled_from(["POINT (116.33 39.99)", "LINESTRING (116.33 39.99, 116.34 39.99)"]),
    st.sampled_from(
        [
            "POINT (1 2",
            "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))",
            "POINT (nan 1)",
            "LINESTRING (0 0)",
            "GARBAGE",
            "POINT EMPTY",
            "POINT (1e400 1)",
        ]
    ),
    texts,
)
rows = st.fixed_dictionaries(
    {
        "小类代码": st.one_of(st.sampled_from(["0101", "0203", "0406", "2114"]), texts),
        "部件名称": texts,
        "部件状态": st.one_of(st.sampled_from(["好", "完好", "破损"]), texts),
        "数据来源": st.one_of(st.just("实测"), texts),
        "初始日期": st.one_of(
            st.sampled_from(["2023-05-01", "2023/5/1", "2023年5月1日", "2099-01-01", "2023-02-30"]),
            texts,
        ),
        "标识码": st.one_of(
            st.none(),
            st.sampled_from(["3205080101000001", "32050801010000011", "9905080101000001"]),
            texts,
        ),
        "wkt": wkts,
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows, min_size=1, max_size=8))
def test_fuzzed_rows_are_reported_never_crash(records: list[dict[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.csv"
        pd.DataFrame(records).to_csv(path, index=False, encoding="utf-8")
        with urbangrid.connect(Path(d) / "s.gpkg") as store:
            result = load_survey(
                store, path, admin_code=COUNTY, crs="EPSG:4326", on_invalid="skip", commit=True
            )
            loaded = store.count("component")
            assert loaded + len(result.set_aside) == len(records)
            for p in result.problems:
                assert set(p) == {"file", "row", "field", "value", "reason", "severity"}
                assert p["file"] == "fuzz.csv" and p["reason"]
            if loaded:
                names = set(store.read("component")["name"])
                assert names <= {r["部件名称"] for r in records} | {None} | _default_names()


def _default_names() -> set[str]:
    from urbangrid.spatial.components.codes import demo_profile

    return {s.name for s in demo_profile().components.values()}


def test_sql_looking_text_is_stored_verbatim(store: Store, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {
            "小类代码": ["0101"] * len(SQLISH),
            "部件名称": SQLISH,
            "部件状态": "好",
            "数据来源": "实测",
            "备注": SQLISH,
        },
        geometry=[shapely.Point(116.33 + i * 1e-3, 39.99) for i in range(len(SQLISH))],
        crs="EPSG:4326",
    )
    path = tmp_path / "s.geojson"
    frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    load_survey(store, path, admin_code=COUNTY, commit=True)
    stored = store.read("component")
    assert sorted(stored["name"]) == sorted(SQLISH) and sorted(stored["note"]) == sorted(SQLISH)
    assert {"component", "load_change"} <= set(store.layers())


def test_encoding_is_detected_and_said(tmp_path: Path) -> None:
    assert choose_encoding([("x", "井盖".encode())], source="f").encoding == "UTF-8"
    gb = choose_encoding([("x", "井盖".encode("gbk"))], source="f")
    assert gb.encoding == "GBK" and "not valid UTF-8 (x: byte 0xbe" in gb.reason
    assert choose_encoding([("x", b"abc")], source="f").reason.startswith("all text is ASCII")
    frame = gpd.GeoDataFrame(
        {"名称": ["雨水箅子"]}, geometry=[shapely.Point(0, 0)], crs="EPSG:4326"
    )
    frame.to_file(tmp_path / "a.shp", engine="pyogrio", encoding="UTF-8")
    assert detect_dbf_encoding(tmp_path / "a.shp").declared  # GDAL wrote a .cpg
    (tmp_path / "a.cpg").unlink()
    assert detect_dbf_encoding(tmp_path / "a.shp").encoding == "UTF-8"


def test_readonly_role_reads_and_cannot_write(pg_dsn: str, tmp_path: Path) -> None:
    role = f"ug_reader_{tmp_path.name[-12:].replace('-', '_')}".lower()
    frame = gpd.GeoDataFrame(
        {"小类代码": ["0101", "0203"], "部件状态": "好", "数据来源": "实测"},
        geometry=[shapely.Point(116.33, 39.99), shapely.Point(116.34, 39.99)],
        crs="EPSG:4326",
    )
    path = tmp_path / "s.gpkg"
    frame.to_file(path, engine="pyogrio")
    with urbangrid.connect(pg_dsn) as s:
        load_survey(s, path, admin_code=COUNTY, commit=True)
    grant_readonly(pg_dsn, role, create=True, password="reader")
    reader_dsn = psycopg.conninfo.make_conninfo(pg_dsn, user=role, password="reader")
    try:
        with connect_readonly(reader_dsn) as ro:
            assert ro.count("component") == 2
            assert len(find_components(ro, subclass_codes="0101")) == 1
            changed = ro.read("component")
            changed["note"] = "edited by a reader"
            with pytest.raises(StorePermissionError, match="read-only"):
                ro.write("component", changed, "upsert")
            frame["geometry"] = [shapely.Point(116.35, 39.99), shapely.Point(116.36, 39.99)]
            frame.to_file(tmp_path / "s2.gpkg", engine="pyogrio")
            assert (
                load_survey(ro, tmp_path / "s2.gpkg", admin_code=COUNTY).changeset.count("added")
                == 2
            )  # type: ignore[union-attr]
            with pytest.raises(StorePermissionError):
                load_survey(ro, tmp_path / "s2.gpkg", admin_code=COUNTY, commit=True)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                ro.connection.execute("DELETE FROM urbangrid.component")
        with urbangrid.connect(pg_dsn) as s:
            assert s.count("component") == 2
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as con:
            con.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            con.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
