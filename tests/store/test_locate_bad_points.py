"""Assigning grids to rows already in PostGIS (``locate_update``, ``assign_in_database``)
with points that are no place: NaN, huge, SRID 0, empty, beyond their CRS (issue 19).
Each is named by its row's key and nothing is written; NULL points stay NULL."""

from __future__ import annotations

import geopandas as gpd
import psycopg
import pytest
import shapely

import urbangrid
from urbangrid.errors import ValidationError
from urbangrid.scale.postgis import assign_in_database
from urbangrid.store.pg_bulk import locate_update

GOOD = {1: "POINT(116.31 39.99)", 2: "POINT(116.35 39.99)"}
BAD = {
    3: ("ST_SetSRID(ST_MakePoint('NaN', 'NaN'), 4326)", "not finite"),
    4: ("ST_SetSRID(ST_MakePoint(1e308, 39.99), 4326)", "not finite"),
    5: ("ST_GeomFromText('POINT(116.31 39.99)', 0)", "SRID 0"),
    6: ("ST_GeomFromText('POINT EMPTY', 4326)", "empty geometry"),
    7: ("ST_SetSRID(ST_MakePoint(400, 39.99), 4490)", "out of range for SRID 4490"),
}


@pytest.fixture
def points(pg_dsn: str) -> str:
    """Two districts (admin areas, the grid layer) and a point table: two good points,
    one NULL, and the bad ones of BAD."""
    with urbangrid.connect(pg_dsn) as s:
        s.write(
            "admin_area",
            gpd.GeoDataFrame(
                {"code": ["110108", "110105"], "level": "district", "name": ["海淀", "朝阳"]},
                geometry=[
                    shapely.box(116.2, 39.9, 116.33, 40.1),
                    shapely.box(116.33, 39.9, 116.5, 40.1),
                ],
                crs="EPSG:4326",
            ),
        )
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute("CREATE TABLE urbangrid.pts (id integer PRIMARY KEY, geom geometry, area text)")
        for i, wkt in GOOD.items():
            con.execute(
                "INSERT INTO urbangrid.pts VALUES (%s, ST_GeomFromText(%s, 4326))", (i, wkt)
            )
        con.execute("INSERT INTO urbangrid.pts VALUES (8, NULL)")
    return pg_dsn


def _areas(dsn: str) -> dict[int, str | None]:
    with psycopg.connect(dsn) as con:
        return dict(con.execute("SELECT id, area FROM urbangrid.pts ORDER BY id").fetchall())


def test_good_points_are_placed(points: str) -> None:
    n = assign_in_database(points, "pts", "admin_area", "code", column="area")
    assert n == 3
    assert _areas(points) == {1: "110108", 2: "110105", 8: None}


@pytest.mark.parametrize("bad", sorted(BAD))
def test_each_bad_point_is_named_and_nothing_written(points: str, bad: int) -> None:
    expr, reason = BAD[bad]
    with psycopg.connect(points, autocommit=True) as con:
        con.execute(f"INSERT INTO urbangrid.pts VALUES ({bad}, {expr})")
    for run in (
        lambda: assign_in_database(points, "pts", "admin_area", "code", column="area"),
        lambda: locate_update(
            points,
            "pts",
            "admin_area",
            "code",
            "area",
            only_missing=False,
            grid_version=None,
            max_vertices=64,
        ),
    ):
        with pytest.raises(ValidationError) as info:
            run()
        (p,) = info.value.problems
        assert p["reason"].startswith(f"row id={bad}: ") and reason in p["reason"], p
        assert "urbangrid.pts" in str(info.value) and "Nothing was written" in str(info.value)
        assert set(_areas(points).values()) == {None}


def test_all_bad_points_counted(points: str) -> None:
    with psycopg.connect(points, autocommit=True) as con:
        for i, (expr, _) in BAD.items():
            con.execute(f"INSERT INTO urbangrid.pts VALUES ({i}, {expr})")
    with pytest.raises(ValidationError) as info:
        assign_in_database(points, "pts", "admin_area", "code", column="area")
    assert str(info.value).count("row id=") == len(BAD)
    assert f"{len(BAD)} point(s)" in str(info.value)
    # Rows already placed are left alone with only_missing: their points are not checked.
    with psycopg.connect(points, autocommit=True) as con:
        con.execute("UPDATE urbangrid.pts SET area = 'x' WHERE id BETWEEN 3 AND 7")
    n = locate_update(points, "pts", "admin_area", "code", "area", only_missing=True,
                      grid_version=None, max_vertices=64)  # fmt: skip
    assert n == 3
