"""Opening stores: good targets, bad targets, idempotent initialisation."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

import urbangrid
from urbangrid.errors import StoreConnectionError
from urbangrid.store import GeoPackageStore, PostGISStore, init_store


class TestGeoPackage:
    def test_new_file_is_a_geopackage_gdal_reads(self, tmp_path: Path) -> None:
        import pyogrio

        path = tmp_path / "d.gpkg"
        with urbangrid.connect(path) as store:
            assert isinstance(store, GeoPackageStore)
        layers = dict(pyogrio.list_layers(path))
        assert layers["admin_area"] == "MultiPolygon"
        assert layers["street_centreline"] == "LineString"
        info = pyogrio.read_info(path, layer="street_centreline")
        assert info["crs"] == "EPSG:4326"

    def test_init_twice_changes_nothing(self, tmp_path: Path) -> None:
        path = tmp_path / "d.gpkg"
        store, applied = init_store(path)
        assert applied and applied[0] == 1
        store.close()
        before = path.read_bytes()
        store, applied = init_store(path)
        store.close()
        assert applied == []
        assert path.read_bytes() == before

    def test_missing_folder(self, tmp_path: Path) -> None:
        with pytest.raises(StoreConnectionError, match="does not exist"):
            urbangrid.connect(tmp_path / "no" / "such" / "d.gpkg")

    def test_not_a_geopackage(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.gpkg"
        bad.write_text("this is not sqlite")
        with pytest.raises(StoreConnectionError, match="not a GeoPackage"):
            urbangrid.connect(bad)

    def test_unknown_kind(self) -> None:
        with pytest.raises(StoreConnectionError, match=r"\.gpkg.*postgresql://"):
            urbangrid.connect("district.shp")


class TestPostGIS:
    def test_connect_and_init_twice(self, pg_dsn: str) -> None:
        store, applied = init_store(pg_dsn)
        assert isinstance(store, PostGISStore)
        assert applied == []  # the template was already migrated
        tables = store.connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'urbangrid'"
        ).fetchone()
        store.close()
        store, applied = init_store(pg_dsn)
        assert applied == []
        again = store.connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'urbangrid'"
        ).fetchone()
        store.close()
        assert tables == again

    def test_geometry_columns_have_srid_and_gist(self, pg_dsn: str) -> None:
        with psycopg.connect(pg_dsn) as con:
            rows = con.execute(
                "SELECT f_table_name, type, srid FROM geometry_columns "
                "WHERE f_table_schema = 'urbangrid' ORDER BY 1"
            ).fetchall()
            assert ("admin_area", "MULTIPOLYGON", 4326) in rows
            gist = con.execute(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = 'urbangrid' "
                "AND indexdef LIKE '%USING gist%'"
            ).fetchone()[0]
            assert gist >= len(rows)

    def test_database_without_postgis(self, bare_pg_dsn: str) -> None:
        with pytest.raises(StoreConnectionError, match="does not have the PostGIS extension"):
            urbangrid.connect(bare_pg_dsn)
        store, applied = init_store(bare_pg_dsn)  # db init creates it
        assert 1 in applied
        store.close()

    def test_unreachable_server(self) -> None:
        dsn = "postgresql://nobody:secret@127.0.0.1:1/nowhere"
        with pytest.raises(StoreConnectionError, match="cannot connect") as err:
            urbangrid.connect(dsn)
        assert "secret" not in str(err.value)


def _open_new(path: str) -> int:
    with urbangrid.connect(path) as store:
        return store.schema_version()


def test_processes_making_one_new_geopackage_at_once(tmp_path: Path) -> None:
    """Two loads into a store that does not exist yet both open it: no 'table already
    exists', every migration applied once."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    for attempt in range(3):
        path = str(tmp_path / f"new{attempt}.gpkg")
        with ctx.Pool(4) as pool:
            versions = pool.map(_open_new, [path] * 4)
        assert len(set(versions)) == 1 and versions[0] > 0
        with urbangrid.connect(path, readonly=True) as store:
            rows = store.connection.execute(  # type: ignore[attr-defined]
                "SELECT version, count(*) FROM schema_version GROUP BY version "
                "HAVING count(*) > 1").fetchall()
            assert rows == []
