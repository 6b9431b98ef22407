"""Fixtures shared by every test: stores on both back ends, real PostGIS.

PostGIS tests talk to a real server. ``make test`` installs and starts one and
passes its admin DSN in ``URBANGRID_TEST_DSN``; without it the local default
below is tried. A test that needs PostGIS *fails* when no server answers — it
never skips — so a green run always means both back ends were exercised.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

import urbangrid
from urbangrid.store import Store, init_store

DEFAULT_ADMIN_DSN = "postgresql://urbangrid:urbangrid@localhost:5432/postgres"
DATA = Path(__file__).parent / "data"

_counter = itertools.count()


def _dsn_for(admin_dsn: str, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(admin_dsn, dbname=dbname)


def _admin(admin_dsn: str) -> psycopg.Connection:
    return psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def pg_admin_dsn() -> str:
    """DSN of a superuser on the test server (its maintenance database)."""
    dsn = os.environ.get("URBANGRID_TEST_DSN", DEFAULT_ADMIN_DSN)
    try:
        with _admin(dsn) as con:
            con.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostGIS test server unreachable ({exc}). Run `make test`, which installs and "
            "starts it, or set URBANGRID_TEST_DSN to a superuser DSN.",
            pytrace=False,
        )
    return dsn


@pytest.fixture(scope="session")
def pg_template(pg_admin_dsn: str) -> Iterator[str]:
    """A migrated template database, copied for each test that needs PostGIS."""
    name = f"ug_tmpl_{os.getpid()}"
    with _admin(pg_admin_dsn) as con:
        con.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    store, _ = init_store(_dsn_for(pg_admin_dsn, name))
    store.connection.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
    store.close()
    yield name
    with _admin(pg_admin_dsn) as con:
        con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _throwaway_db(admin_dsn: str, template: str | None) -> Iterator[str]:
    name = f"ug_test_{os.getpid()}_{next(_counter)}"
    with _admin(admin_dsn) as con:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query += sql.SQL(" TEMPLATE {} STRATEGY FILE_COPY").format(sql.Identifier(template))
        con.execute(query)
    try:
        yield _dsn_for(admin_dsn, name)
    finally:
        with _admin(admin_dsn) as con:
            con.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def pg_dsn(pg_admin_dsn: str, pg_template: str) -> Iterator[str]:
    """DSN of a fresh throw-away database with PostGIS and the urbangrid schema."""
    yield from _throwaway_db(pg_admin_dsn, pg_template)


@pytest.fixture
def bare_pg_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """DSN of a fresh throw-away database *without* PostGIS."""
    yield from _throwaway_db(pg_admin_dsn, None)


@pytest.fixture(params=["gpkg", "postgis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, migrated store on each back end: the contract fixture."""
    if request.param == "gpkg":
        target = str(tmp_path / "store.gpkg")
    else:
        target = request.getfixturevalue("pg_dsn")
    s = urbangrid.connect(target)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def shenzhen_names(tmp_path: Path) -> Path:
    """A boundary file whose one polygon (in Shenzhen) is named 南山 in column ``qh``: a
    boundary whose codes match none of Haidian's division codes."""
    path = tmp_path / "sz.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
        '{"qh": "南山"}, "geometry": {"type": "Polygon", "coordinates": [[[113.9, 22.5], '
        '[114.0, 22.5], [114.0, 22.6], [113.9, 22.5]]]}}]}', encoding="utf-8")
    return path
