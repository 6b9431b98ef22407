"""Benchmark: PostGIS at scale, 10 M case rows: COPY in, yearly partitions, server-side assignment.

One run, in a throw-away database made on the server of ``--dsn`` and dropped at the
end, prints for each step the rows, seconds and rows/s, and the database size:

1. **Load** ``--rows`` (default 10,000,000) cases into ``case_history`` (migration
   1301, partitioned by calendar year) with :func:`urbangrid.scale.assign_points`
   and a :class:`urbangrid.scale.postgis.PostGISSink` on a ``LocalCluster`` of
   ``--workers`` processes: each Parquet row group is COPYed by the worker that read
   it into a loading table per year, without indexes; at the end each year's table is
   attached as that year's partition, which builds its key and indexes once (timed
   apart: "attach"). The rows are **real Boston 311 cases of 2015** (the 104,075 of
   ``shared/data/reports/boston_311_2015.csv.gz`` off the un-geocoded default point),
   **tiled with offsets** as in ``benchmarks/scale.py`` (copy ``k`` shifted up to 16 m
   and its case id suffixed) and **moved ``k mod 10`` years on**, so they fill the ten
   partitions 2015-2024. Real positions, dates and categories; synthetic repetition.
2. **Server-side assignment**: :func:`urbangrid.scale.postgis.assign_in_database`
   writes each case's ward (the 22 Boston wards as a polygon layer) with the SQL
   function ``urbangrid.locate_update`` (migration 1302), one connection per year
   partition, ``--parallel`` at once. The count of cases in a ward is checked against
   the count :class:`~urbangrid.spatial.index.engine.GridIndex` found while loading.
3. **Size**: the database, and rows and size of each year partition.

Usage::

    python benchmarks/scale_postgis.py --dsn DSN [--rows 10000000] [--workers 2]
        [--parallel 2]

``DSN``: a superuser DSN (it creates and drops a database), e.g.
``postgresql://urbangrid:urbangrid@localhost:5432/postgres``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
from psycopg import sql
from scale import WARDS, make_points

import urbangrid
from urbangrid.scale import assign_points
from urbangrid.scale.postgis import CASE_HISTORY, PostGISSink, assign_in_database
from urbangrid.spatial.index.engine import GridIndex

COLUMNS = {
    "case_id": "text",
    "opened_at": "timestamptz",
    "category": "text",
    "lon": "double precision",
    "lat": "double precision",
}
RENAME = {
    "case_id": "case_id",
    "opened_at": "open_dt",
    "category": "type",
    "lon": "longitude",
    "lat": "latitude",
}


class TimedSink(PostGISSink):
    """The sink, with the time of its final step (attaching the year tables) kept."""

    commit_s = 0.0

    def commit(self, manifest: dict[str, Any]) -> None:
        t = time.perf_counter()
        super().commit(manifest)
        TimedSink.commit_s = time.perf_counter() - t


def _db_dsn(dsn: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(dsn, dbname=name)


def _ward_layer(dsn: str) -> GridIndex:
    """The wards as polygon layer ``urbangrid.ward`` (key ``ward``), and their index in
    key order (as :meth:`GridIndex.from_store` builds it: the SQL function's rule)."""
    wards = gpd.read_file(WARDS)
    wards["ward"] = wards["WARD"].astype(str)
    wards = wards.sort_values("ward").reset_index(drop=True)
    with psycopg.connect(dsn) as con:
        con.execute(
            "CREATE TABLE urbangrid.ward (fid integer PRIMARY KEY, ward text, "
            "valid_to timestamptz, geom geometry(MULTIPOLYGON, 4326))"
        )
        con.execute("CREATE INDEX ON urbangrid.ward USING gist (geom)")
        for i, (key, geom) in enumerate(zip(wards["ward"], wards.geometry, strict=True)):
            con.execute(
                "INSERT INTO urbangrid.ward VALUES (%s, %s, NULL, "
                "ST_Multi(ST_GeomFromText(%s, 4326)))",
                (i, key, geom.wkt),
            )
    return GridIndex.from_polygons(wards, wards["ward"].to_numpy())


def _sizes(dsn: str) -> None:
    with psycopg.connect(dsn) as con:
        con.execute("ANALYZE urbangrid.case_history")
        db = con.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        parts = con.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid), "
            "pg_indexes_size(c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'urbangrid.case_history'::regclass ORDER BY 1"
        ).fetchall()
    print(
        f"3. database size {db / 1e9:.2f} GB; year partitions (rows, total size, of which indexes):"
    )
    for name, rows, total, idx in parts:
        print(f"     {name}: {rows:>10,} rows  {total / 1e6:7.0f} MB  ({idx / 1e6:5.0f} MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", required=True, help="superuser DSN of the PostGIS server")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--parallel", type=int, default=2)
    args = ap.parse_args()
    import distributed

    tmp = Path(tempfile.mkdtemp(prefix="ug-scale-pg-"))
    print(f"scratch space: {shutil.disk_usage(tmp).free / 1e9:.0f} GB free on {tmp}")
    name = f"ug_bench_scale_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(args.dsn, autocommit=True) as con:
        con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = _db_dsn(args.dsn, name)
    cluster = client = None
    try:
        with psycopg.connect(dsn, autocommit=True) as con:
            con.execute("CREATE EXTENSION postgis")
        urbangrid.connect(dsn).close()  # schema urbangrid, every migration
        index = _ward_layer(dsn)
        src = tmp / "cases.parquet"
        make_points(src, args.rows, years=10)
        cluster = distributed.LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = distributed.Client(cluster)
        warm = [-71.06] * 1000
        client.run(lambda: index.locate_many(warm, [42.35] * 1000, crs=4326) is None)

        sink = TimedSink(dsn, CASE_HISTORY, columns=COLUMNS, rename=RENAME, mode="append")
        t = time.perf_counter()
        res = assign_points(
            src, index, xy=("longitude", "latitude"), crs=4326, out=sink, scheduler=client
        )
        load_s = time.perf_counter() - t
        copy_s = load_s - TimedSink.commit_s
        print(
            f"1. load: {res.rows:,} rows in {load_s:.1f} s = {res.rows / load_s:,.0f} rows/s "
            f"({res.partitions} partitions on {args.workers} workers): read + assign + COPY "
            f"into year tables {copy_s:.1f} s ({res.rows / copy_s:,.0f} rows/s), attach as "
            f"partitions with key and indexes built {TimedSink.commit_s:.1f} s"
        )

        t = time.perf_counter()
        n = assign_in_database(
            dsn,
            CASE_HISTORY,
            "ward",
            "ward",
            grid_version="boston-wards-2012",
            parallel=args.parallel,
        )
        sql_s = time.perf_counter() - t
        with psycopg.connect(dsn) as con:
            found = con.execute("SELECT count(grid_key) FROM urbangrid.case_history").fetchone()[0]
        print(
            f"2. server-side assignment (urbangrid.locate_update, {args.parallel} "
            f"connections): {n:,} rows in {sql_s:.1f} s = {n / sql_s:,.0f} rows/s; "
            f"{found:,} in a ward, GridIndex while loading: {res.assigned:,} "
            f"({'same' if found == res.assigned else 'DIFFERENT'})"
        )
        _sizes(dsn)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)
        with psycopg.connect(args.dsn, autocommit=True) as con:
            con.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        print(f"database {name} dropped")


if __name__ == "__main__":
    main()
