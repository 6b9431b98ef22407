"""Benchmark (issue 22): answers in milliseconds.

Prints side by side:

* ``nearest_components`` (k=1 and k=5, WGS84 and GCJ-02 query points) on 316,851
  components, GeoPackage and PostGIS: median and best of ``--calls`` calls, one
  thread (calls one after another in this process, the store open; the first call
  of each series is a warm-up and not counted). Against it, the peer answer: a
  shapely ``STRtree.query_nearest`` over the same components, built once in memory
  (planar degrees, not metres), and PostGIS's own ``ORDER BY geom <-> pt LIMIT k``
  timed server-side.
* the SQL function ``urbangrid.locate_unit_grid`` against a plain ``ST_Covers``
  query on the same unit-grid GiST index, on the same points: server-side timing
  (a PL/pgSQL loop over the points, ``clock_timestamp()``), one backend, no
  parallel workers.

The 316,851 components are the bundled real records tiled with 0.01° offsets, as
in ``benchmarks/components_load.py``. The stores are built once into ``--workdir``
(a GeoPackage and the database ``ug_bench_answers``) and reused by later runs.

Usage::

    python benchmarks/answers.py [--dsn postgresql://...] [--workdir DIR] [--calls 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import psycopg
import shapely
from psycopg import sql

import urbangrid
from urbangrid.spatial.components.codes import demo_profile
from urbangrid.spatial.components.records import (
    COMPONENT_LAYER,
    append_component_file,
    nearest_components,
)
from urbangrid.spatial.crs.transform import wgs84_to_gcj02
from urbangrid.spatial.grids.versions import load_unit_grids

sys.path.insert(0, str(Path(__file__).resolve().parent))
from components_load import N_RECORDS, build_records

DB = "ug_bench_answers"


def _pg_target(dsn: str) -> str:
    """Create database DB (once) and return its DSN."""
    with psycopg.connect(dsn, autocommit=True) as con:
        if con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone() is None:
            con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
    target = psycopg.conninfo.make_conninfo(dsn, dbname=DB)
    with psycopg.connect(target, autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return target


def build(dsn: str, workdir: Path) -> tuple[Path, str]:
    """The GeoPackage and PostGIS stores with N_RECORDS components and unit grids."""
    gpkg, pg = workdir / "answers.gpkg", _pg_target(dsn)
    src = workdir / "components.fgb"
    if not src.exists():
        build_records(N_RECORDS).to_file(src, driver="FlatGeobuf")
    for target in (str(gpkg), pg):
        with urbangrid.connect(target) as store:
            if store.is_empty(COMPONENT_LAYER):
                t = time.perf_counter()
                profile = demo_profile()  # new IDs need their county (issue 19)
                append_component_file(store, src, profile, admin_code=profile.admin_code)
                print(f"built {target}: {time.perf_counter() - t:.0f} s")
    return gpkg, pg


def _grids() -> gpd.GeoDataFrame:
    """120 × 120 unit grids of 0.001° (~100 m) over Cambridge MA, codes as `grids generate`."""
    x0, y0, n = -71.16, 42.34, 120
    boxes = [
        shapely.box(x0 + i * 0.001, y0 + j * 0.001, x0 + (i + 1) * 0.001, y0 + (j + 1) * 0.001)
        for i in range(n)
        for j in range(n)
    ]
    codes = [
        f"990101{1 + i // 40:03d}{1 + i % 40:03d}{1 + j:03d}" for i in range(n) for j in range(n)
    ]
    return gpd.GeoDataFrame({"grid_code": codes}, geometry=boxes, crs="EPSG:4326")


def _time_ms(fn: Callable[[], Any], calls: int) -> tuple[float, float]:
    """(median, best) wall time of ``calls`` calls in ms, after one warm-up call."""
    fn()
    out = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out), min(out)


def nearest_rows(gpkg: Path, pg: str, calls: int) -> None:
    """nearest_components against STRtree.query_nearest and PostGIS <->, same points."""
    rng = np.random.default_rng(22)
    with urbangrid.connect(pg) as store:
        every = store.read_geometries(COMPONENT_LAYER, "component_id")[1]
    anchors = shapely.get_coordinates(shapely.centroid(rng.choice(every, 50, replace=False)))
    pts = anchors + rng.normal(0, 0.002, anchors.shape)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"{len(every):,} components; {len(pts)} query points near them, 1 thread "
        f"({os.cpu_count()} cores, load average {load})"
    )
    print(f"{'call':58s} {'median ms':>10s} {'best ms':>8s}")
    tree = shapely.STRtree(every)
    it = iter(np.resize(pts, (calls + 1, 2)))
    med, best = _time_ms(lambda: tree.query_nearest(shapely.Point(next(it))), calls)
    print(
        f"{'shapely STRtree.query_nearest (in memory, planar degrees)':58s} {med:10.2f} {best:8.2f}"
    )
    with psycopg.connect(pg) as con:
        it = iter(np.resize(pts, (calls + 1, 2)))
        knn = (
            "SELECT component_id FROM urbangrid.component WHERE valid_to IS NULL "
            "ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 1"
        )
        med, best = _time_ms(lambda: con.execute(knn, [*map(float, next(it))]).fetchall(), calls)
        name = "PostGIS ORDER BY geom <-> pt LIMIT 1 (planar, one query)"
        print(f"{name:58s} {med:10.2f} {best:8.2f}")
    for label, target in (("GeoPackage", str(gpkg)), ("PostGIS", pg)):
        with urbangrid.connect(target, readonly=True) as store:
            for k, crs in ((1, None), (5, None), (1, "GCJ-02")):
                q = pts if crs is None else np.column_stack(wgs84_to_gcj02(pts[:, 0], pts[:, 1]))
                it = iter(np.resize(q, (calls + 1, 2)))
                med, best = _time_ms(
                    lambda it=it, k=k, crs=crs: nearest_components(store, *next(it), k=k, crs=crs),
                    calls,
                )
                name = f"urbangrid nearest_components {label} k={k} {crs or 'WGS84'}"
                print(f"{name:58s} {med:10.2f} {best:8.2f}")
                if k == 1 and crs is None:
                    _result(
                        f"nearest_components k=1, {len(every):,} components, {label} (ms)",
                        "target 5 ms",
                        "warm, 1 thread",
                        "median",
                        med,
                        TARGET_MS,
                        TARGET_MS / med,
                    )


def sql_locate(pg: str) -> None:
    """urbangrid.locate_unit_grid against a plain ST_Covers query, server-side."""
    with urbangrid.connect(pg) as store:
        if store.is_empty("unit_grid"):
            load_unit_grids(store, _grids(), version="bench")
    with psycopg.connect(pg, autocommit=True) as con:
        con.execute("SET max_parallel_workers_per_gather = 0")
        con.execute(
            "CREATE TEMPORARY TABLE pts AS SELECT ST_SetSRID(ST_MakePoint("
            "-71.16 + random() * 0.12, 42.34 + random() * 0.12), 4326) AS p "
            "FROM generate_series(1, 5000)"
        )
        plain = (
            "(SELECT grid_code::text FROM urbangrid.unit_grid WHERE valid_to IS NULL "
            'AND geom && p AND ST_Covers(geom, p) ORDER BY grid_code::text COLLATE "C" LIMIT 1)'
        )
        rows = [
            (
                "urbangrid.locate('unit_grid', …) (PL/pgSQL)",
                "urbangrid.locate('unit_grid', 'grid_code', p)",
                1,
            ),
            ("plain ST_Covers subquery (GiST &&)", plain, 3),
            ("urbangrid.locate_unit_grid(p)", "urbangrid.locate_unit_grid(p)", 3),
        ]
        n = con.execute("SELECT count(*) FROM pts").fetchone()[0]  # type: ignore[index]
        same = con.execute(
            f"SELECT count(*) FROM pts WHERE {plain} IS DISTINCT FROM urbangrid.locate_unit_grid(p)"
        ).fetchone()[0]  # type: ignore[index]
        print(
            f"\nSQL locate on {n:,} random points in 14,400 unit grids, one backend, "
            f"no parallel workers; answers differing: {same}"
        )
        print(f"{'query':42s} {'µs/point (best of 3, 1)':>22s}")
        got = {}
        for label, expr, repeat in rows:
            best = min(_server_ms(con, f"SELECT count({expr}) FROM pts") for _ in range(repeat))
            got[expr] = best * 1000 / n
            print(f"{label:42s} {best * 1000 / n:22.1f}")
        ours, peer = got["urbangrid.locate_unit_grid(p)"], got[plain]
        _result(
            f"SQL locate_unit_grid, {n:,} points in 14,400 grids (µs/point)",
            "plain ST_Covers subquery (GiST &&)",
            "warm, server time",
            "best of 3",
            ours,
            peer,
            peer / ours,
        )


TARGET_MS = 5.0


def _result(
    what: str, peer: str, mode: str, statistic: str, ours: float, theirs: float, ratio: float
) -> None:
    """One machine-readable line for benchmarks/run_all.py (figures in the unit of `what`)."""
    print("RESULT " + json.dumps({
        "benchmark": "answers", "what": what, "peer": peer, "mode": mode,
        "statistic": statistic, "urbangrid_s": ours,
        "peer_s": theirs, "ratio": ratio, "command": "python benchmarks/answers.py"},
        ensure_ascii=False))  # fmt: skip


def _server_ms(con: Any, query: str) -> float:
    """Execution time in ms as the server reports it (EXPLAIN (ANALYZE, TIMING OFF))."""
    plan = con.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {query}").fetchone()[0]
    return float(plan[0]["Execution Time"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--dsn",
        default=os.environ.get(
            "URBANGRID_TEST_DSN", "postgresql://urbangrid:urbangrid@localhost:5432/postgres"
        ),
    )
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ug_answers")
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--build-only", action="store_true")
    a = p.parse_args()
    a.workdir.mkdir(parents=True, exist_ok=True)
    gpkg, pg = build(a.dsn, a.workdir)
    if a.build_only:
        return
    nearest_rows(gpkg, pg, a.calls)
    sql_locate(pg)


if __name__ == "__main__":
    main()
