"""Issue 19's smaller items, each on a case whose answer is known."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import urbangrid
from urbangrid.errors import CoordinateError
from urbangrid.spatial.admin.hierarchy import GridHierarchy
from urbangrid.spatial.grids.versions import load_unit_grids
from urbangrid.store import Store

# Two 0.01° cells of county 990101 (codes as `grids generate` makes them).
GRIDS = gpd.GeoDataFrame(
    {"grid_code": ["990101001001001", "990101001001002"]},
    geometry=[shapely.box(116.30, 39.99, 116.31, 40.00), shapely.box(116.31, 39.99, 116.32, 40.00)],
    crs="EPSG:4326",
)


def test_hierarchy_locate_says_what_is_wrong_with_a_coordinate(store: Store) -> None:
    load_unit_grids(store, GRIDS, version="v1")
    h = GridHierarchy.from_store(store)
    assert h.locate(116.305, 39.995, crs=4326)["grid_code"] == "990101001001001"
    with pytest.raises(CoordinateError, match="x 'abc' is not a number"):
        h.locate("abc", 39.99, crs=4326)  # type: ignore[arg-type]
    with pytest.raises(CoordinateError, match="y 'north' is not a number"):
        h.locate_many([116.3], ["north"], crs=4326)


def test_sql_locate_gives_null_for_points_it_cannot_place(pg_dsn: str) -> None:
    with urbangrid.connect(pg_dsn) as s:
        load_unit_grids(s, GRIDS, version="v1")
        con = s.connection  # the SQL function is what this test is about
        good = "ST_SetSRID(ST_MakePoint(116.315, 39.995), 4326)"
        assert con.execute(f"SELECT urbangrid.locate_unit_grid({good})").fetchone() == (
            "990101001001002",
        )
        for bad in (
            "ST_SetSRID(ST_MakePoint('NaN'::float8, 39.99), 4326)",
            "ST_SetSRID(ST_MakePoint(1e308, 39.99), 4326)",
            "ST_SetSRID(ST_MakePoint('Infinity'::float8, 1), 3857)",
            "ST_MakePoint(116.315, 39.995)",  # SRID 0
            "ST_SetSRID('POINT EMPTY'::geometry, 4326)",
            "ST_SetSRID(ST_MakePoint(116.315, 95), 4490)",  # latitude beyond 90
        ):
            assert con.execute(f"SELECT urbangrid.locate_unit_grid({bad})").fetchone() == (None,)
        # One bad point no longer aborts an UPDATE over many.
        (n,) = con.execute(
            "SELECT count(urbangrid.locate_unit_grid(g)) FROM (VALUES "
            f"(ST_SetSRID(ST_MakePoint('NaN'::float8, 1), 4326)), ({good})) AS v(g)"
        ).fetchone() or (0,)
        assert n == 1


def test_unchanged_rerun_leaves_sqlite_sequence_alone(tmp_path: Path) -> None:
    path = tmp_path / "s.gpkg"
    with urbangrid.connect(path) as s:
        s.raise_serials({"9901010101": 5})
        before = path.read_bytes()
        s.raise_serials({"9901010101": 5})  # the counter is there already
        s.raise_serials({"9901010101": 3})  # never down
        assert path.read_bytes() == before
        s.raise_serials({"9901010101": 9})
        assert s.reserve_serials("9901010101", 1) == 10
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT count(*) FROM component_serial").fetchone() == (1,)


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="needs ogrinfo (Debian gdal-bin)")
def test_gdal_opens_the_geopackage_without_a_version_warning(tmp_path: Path) -> None:
    path = tmp_path / "s.gpkg"
    urbangrid.connect(path).close()
    out = subprocess.run(["ogrinfo", "-so", str(path)], capture_output=True, text=True)
    assert out.returncode == 0 and "partially supported" not in out.stderr + out.stdout
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA application_id").fetchone() == (0x47504B47,)
        assert con.execute("PRAGMA user_version").fetchone() == (10300,)


def test_sql_locate_unit_grid_is_one_inlined_query_with_locates_answers(pg_dsn: str) -> None:
    # Issue 22 (migration 2201): a LANGUAGE sql function, same answers as locate's rule.
    with urbangrid.connect(pg_dsn) as s:
        load_unit_grids(s, GRIDS, version="v1")
        con = s.connection
        (lang,) = con.execute(
            "SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang "
            "WHERE p.oid = 'urbangrid.locate_unit_grid(geometry)'::regprocedure"
        ).fetchone() or ("",)
        assert lang == "sql"
        cases = {
            "ST_SetSRID(ST_MakePoint(116.31, 39.995), 4326)": "990101001001001",  # shared edge
            "ST_SetSRID(ST_MakePoint(116.305, 39.995), 4326)": "990101001001001",
            "ST_Transform(ST_SetSRID(ST_MakePoint(116.315, 39.995), 4326), 3857)": (
                "990101001001002"
            ),
            "ST_SetSRID(ST_MakePoint(116.5, 39.995), 4326)": None,
            "ST_SetSRID(ST_MakePoint(116.315, 39.995), 999999)": None,  # unknown SRID
        }
        for pt, want in cases.items():
            got = con.execute(
                f"SELECT urbangrid.locate_unit_grid({pt}), "
                f"urbangrid.locate('unit_grid', 'grid_code', {pt})"
            ).fetchone()
            assert got == (want, want), pt
