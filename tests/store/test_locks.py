"""Bounded lock waits, a load lock readers cannot take, concurrent streamed loads
that queue instead of deadlocking, leftover staging tables repaired (issue 19)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pyogrio
import pytest
from click.testing import CliRunner
from psycopg import sql

import urbangrid
from urbangrid.cli.main import main
from urbangrid.errors import StorePermissionError
from urbangrid.loaders.osm_components import BUNDLED_SOURCES, read_bundled_components
from urbangrid.spatial.components.codes import demo_profile
from urbangrid.spatial.components.records import append_component_file
from urbangrid.store import StoreBusyError
from urbangrid.store.postgis import grant_readonly

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def big_survey(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """Every bundled Cambridge component twice (distinct source keys): 32,504 rows,
    over the 20,000 of a bulk load."""
    rec, _ = read_bundled_components(
        demo_profile(), [s for s in BUNDLED_SOURCES if s.startswith("cambridge")]
    )
    rec = rec[["subclass_code", "source", "status", "data_source", "geometry"]]
    both = pd.concat([rec, rec.assign(source=rec["source"] + "-b")], ignore_index=True)
    return both.set_crs(4326, allow_override=True)


def write_part(frame: pd.DataFrame, path: Path, seed: int, rows: int) -> Path:
    part = frame.sample(n=rows, random_state=seed)
    pyogrio.write_dataframe(part.assign(source=part["source"] + f"-{seed}"), path)
    return path


@pytest.fixture
def reader_role(pg_dsn: str) -> Iterator[str]:
    """DSN of a role `db grant-readonly` made."""
    role = f"ug_ro_{os.getpid()}_{time.monotonic_ns() % 10**8}"
    grant_readonly(pg_dsn, role, create=True, password="reader")
    try:
        yield psycopg.conninfo.make_conninfo(pg_dsn, user=role, password="reader")
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as con:
            con.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            con.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_readonly_role_cannot_take_the_load_lock(pg_dsn: str, reader_role: str) -> None:
    with urbangrid.connect(reader_role) as ro, pytest.raises(StorePermissionError), (
        ro.transaction()
    ):
        ro.lock_layer("component")
    with urbangrid.connect(pg_dsn) as s, s.transaction():
        s.lock_layer("component", timeout_s=1)  # nobody holds it


def test_second_loader_gets_store_busy_naming_the_holder(pg_dsn: str) -> None:
    with (
        urbangrid.connect(pg_dsn) as first,
        urbangrid.connect(pg_dsn) as second,
        first.transaction(),
    ):
        first.lock_layer("component")
        t0 = time.monotonic()
        with pytest.raises(StoreBusyError) as info, second.transaction():
            second.lock_layer("component", timeout_s=1)
        assert time.monotonic() - t0 < 10
    message = str(info.value)
    assert message.startswith("store busy: the load lock of layer 'component'")
    assert "held by role" in message and "urbangrid load component" in message
    assert ", since 20" in message


def test_idle_reader_makes_a_bulk_load_fail_within_its_timeout(
    pg_dsn: str, big_survey: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_part(big_survey, tmp_path / "big.fgb", 0, 21_000)
    monkeypatch.setenv("URBANGRID_LOCK_TIMEOUT_S", "2")
    with psycopg.connect(pg_dsn, application_name="qgis reader") as reader:
        reader.execute("SELECT count(*) FROM urbangrid.component").fetchone()  # idle in tx
        t0 = time.monotonic()
        with urbangrid.connect(pg_dsn) as s, pytest.raises(StoreBusyError) as info:
            append_component_file(s, path, demo_profile(), admin_code="320508")
        assert time.monotonic() - t0 < 30
        assert "qgis reader, idle in transaction" in str(info.value)
        # The CLI: one line, exit 1, nothing written.
        out = subprocess.run(
            [sys.executable, "-m", "urbangrid.cli", "load", "components", str(path),
             "--store", pg_dsn, "--admin-code", "320508"],
            capture_output=True, text=True, cwd=ROOT, timeout=300,
            env={**os.environ, "URBANGRID_LOCK_TIMEOUT_S": "2"},
        )  # fmt: skip
        assert out.returncode == 1 and "store busy:" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
    with urbangrid.connect(pg_dsn) as s:
        assert s.count("component") == 0 and s.drop_leftovers() == []


LOADER = """
import sys, urbangrid
from urbangrid.spatial.components.codes import demo_profile
from urbangrid.spatial.components.records import append_component_file
with urbangrid.connect(sys.argv[1]) as s:
    append_component_file(s, sys.argv[2], demo_profile(), admin_code="320508")
"""


def test_concurrent_streamed_bulk_loads_queue_not_deadlock(
    pg_dsn: str, big_survey: pd.DataFrame, tmp_path: Path
) -> None:
    """Four staged loads into one empty layer (each once held SHARE and upgraded at
    the swap: DeadlockDetected 3 times out of 4); now they queue."""
    paths = [write_part(big_survey, tmp_path / f"p{i}.fgb", i, 21_000) for i in range(4)]
    procs = [
        subprocess.Popen([sys.executable, "-c", LOADER, pg_dsn, str(p)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for p in paths
    ]  # fmt: skip
    errors = [p.communicate(timeout=600)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    with psycopg.connect(pg_dsn) as con:
        n, ids, sources = con.execute(
            "SELECT count(*), count(DISTINCT component_id), count(DISTINCT source) "
            "FROM urbangrid.component"
        ).fetchone() or (0, 0, 0)
    assert n == ids == sources == 4 * 21_000


def test_db_check_removes_a_killed_loads_staging_table(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        dead = 2_000_000_000  # no such backend
        con.execute(
            f"CREATE TABLE urbangrid.component__load_{dead} (LIKE urbangrid.component)"
        )
        out = CliRunner().invoke(main, ["db", "check", pg_dsn])
        assert out.exit_code == 0, out.output
        assert f"removed urbangrid.component__load_{dead}" in out.output
        con.execute(f"CREATE TABLE urbangrid.component__load_{dead} (LIKE urbangrid.component)")
        with urbangrid.connect(pg_dsn) as s, s.transaction():
            s.lock_layer("component")  # the next load removes it too
        left = con.execute("SELECT to_regclass(%s)", (f"urbangrid.component__load_{dead}",))
        assert left.fetchone() == (None,)
        again = CliRunner().invoke(main, ["db", "check", pg_dsn])
        assert "nothing to repair" in again.output


def test_busy_geopackage_is_one_line_within_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    import geopandas as gpd
    import shapely

    path = tmp_path / "s.gpkg"
    urbangrid.connect(path).close()
    survey = tmp_path / "s.geojson"
    gpd.GeoDataFrame(
        {"edge_id": ["a"]}, geometry=[shapely.LineString([(0, 0), (1, 1)])], crs="EPSG:4326"
    ).to_file(survey, engine="pyogrio")
    monkeypatch.setenv("URBANGRID_LOCK_TIMEOUT_S", "1")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer, in the middle of its load
    try:
        t0 = time.monotonic()
        out = CliRunner().invoke(main, ["load", "streets", str(survey), "--store", str(path)])
        assert time.monotonic() - t0 < 20
        assert out.exit_code == 1 and "store busy:" in out.output, out.output
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize("rows", [500, 21_000], ids=["one-transaction", "staged"])
def test_streamed_load_waits_for_the_load_lock(
    pg_dsn: str, big_survey: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    rows: int,
) -> None:  # fmt: skip
    """A streamed append takes the same load lock as the CLI (issue 19): while another
    load holds it, the append waits its timeout and says who holds it; nothing written."""
    path = write_part(big_survey, tmp_path / "part.fgb", 1, rows)
    monkeypatch.setenv("URBANGRID_LOCK_TIMEOUT_S", "1")
    with urbangrid.connect(pg_dsn) as holder, holder.transaction():
        holder.lock_layer("component")
        with urbangrid.connect(pg_dsn) as s, pytest.raises(StoreBusyError) as info:
            append_component_file(s, path, demo_profile(), admin_code="320508")
    assert str(info.value).startswith("store busy: the load lock of layer 'component'")
    assert "urbangrid load component" in str(info.value)
    with urbangrid.connect(pg_dsn) as s:
        assert s.count("component") == 0 and s.is_empty("component_serial")
        assert s.drop_leftovers() == []
        append_component_file(s, path, demo_profile(), admin_code="320508")  # lock free
        assert s.count("component") == rows


def test_streamed_load_into_a_busy_geopackage(
    big_survey: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "s.gpkg"
    path = write_part(big_survey, tmp_path / "part.fgb", 2, 500)
    monkeypatch.setenv("URBANGRID_LOCK_TIMEOUT_S", "1")
    with urbangrid.connect(target) as holder, holder.transaction():
        holder.lock_layer("component")
        with urbangrid.connect(target) as s, pytest.raises(StoreBusyError, match="store busy:"):
            append_component_file(s, path, demo_profile(), admin_code="320508")
    with urbangrid.connect(target) as s:
        assert s.count("component") == 0
