"""Benchmark: bulk assignment of 20 M points from Parquet, and city-wide routing, on Dask.

One run, same machine, prints:

1. **Assignment** of ``--points`` (default 20,000,000) points to the 22 Boston wards,
   read from a Parquet file (row groups of 250,000), written to a Parquet dataset,
   single process (``scheduler=None``) vs a ``LocalCluster`` of ``--workers`` processes:
   points/s, wall time, peak memory of the whole process tree (sampled every 0.1 s),
   and the ratio. The points are **real Boston 311 cases of 2015** (the 104,075 rows of
   ``shared/data/reports/boston_311_2015.csv.gz`` off the un-geocoded default point),
   **tiled with offsets**: copy ``k`` is shifted by a few metres (``k mod 15 - 7`` and
   ``k div 15 - 7`` times 2e-5 degrees, at most 16 m) and its case id suffixed, until
   the count is reached. Real positions and columns, synthetic repetition.
2. **City-wide routing** of the largest network in the data folder, the Wuhan
   functional urban area (92,667 OSM street edges): the walking patrol route of every
   1 km square of a ``--areas``-square window in the centre, serial vs the cluster.
   Cluster start-up is timed apart. Each area is solved on the streets near it
   (:func:`urbangrid.routing.patrol.routes.area_route` clips the graph), so the time grows
   with the areas, not with the city graph.

Usage::

    python benchmarks/scale.py [--points 20000000] [--workers 2] [--areas 64]
        [--skip-assign] [--skip-routing]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from urbangrid.scale import assign_points, plan_areas
from urbangrid.spatial.index.engine import GridIndex

# The public data folder beside the checkout (see SOURCES.md there), or $URBANGRID_SHARED_DATA.
SHARED = Path(
    os.environ.get("URBANGRID_SHARED_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)
CASES = SHARED / "reports" / "boston_311_2015.csv.gz"
WARDS = SHARED / "boundaries" / "boston_wards.geojson"
WUHAN = SHARED / "networks" / "wuhan_fua_street_edges.parquet"
GiB = 1024**3


class PeakMemory:
    """Peak resident memory of this process and its children, sampled every 0.1 s."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(0.1)

    def __enter__(self) -> PeakMemory:
        self.peak = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def make_points(path: Path, n: int, years: int = 1) -> None:
    """Write ``n`` tiled real 311 points to ``path`` (see the module docstring).

    With ``years`` > 1, copy ``k`` is also moved ``k mod years`` calendar years on
    (2015, 2016, …), so the cases fill that many year partitions.
    """
    cases = pd.read_csv(
        CASES, usecols=["CASE_ENQUIRY_ID", "OPEN_DT", "TYPE", "LATITUDE", "LONGITUDE"], dtype=str
    )
    lat = pd.to_numeric(cases["LATITUDE"])
    lon = pd.to_numeric(cases["LONGITUDE"])
    keep = ~((lat.round(4) == 42.3594) & (lon.round(4) == -71.0587)) & lat.notna()
    cases, lat, lon = cases[keep], lat[keep].to_numpy(), lon[keep].to_numpy()
    base = len(cases)
    ids = cases["CASE_ENQUIRY_ID"].to_numpy(dtype=str)
    opened_at = pd.to_datetime(cases["OPEN_DT"], format="mixed")
    opened_by_year = [(opened_at + pd.DateOffset(years=y)).to_numpy() for y in range(years)]
    types = pa.array(cases["TYPE"].to_numpy(dtype=str)).dictionary_encode()
    schema = pa.schema(
        [
            ("case_id", pa.string()),
            ("open_dt", pa.timestamp("us")),
            ("type", types.type),
            ("longitude", pa.float64()),
            ("latitude", pa.float64()),
        ]
    )
    done, k = 0, 0
    with pq.ParquetWriter(path, schema) as writer:
        while done < n:
            m = min(base, n - done)
            dx = ((k % 15) - 7) * 2e-5
            dy = ((k // 15 % 15) - 7) * 2e-5
            table = pa.table(
                {
                    "case_id": pa.array(np.char.add(ids[:m], f"-{k}")),
                    "open_dt": pa.array(opened_by_year[k % years][:m]).cast(pa.timestamp("us")),
                    "type": types[:m],
                    "longitude": lon[:m] + dx,
                    "latitude": lat[:m] + dy,
                },
                schema=schema,
            )
            writer.write_table(table, row_group_size=250_000)
            done += m
            k += 1
    spread = f", moved over {years} years" if years > 1 else ""
    print(
        f"points: {n:,} = {base:,} real 2015 Boston 311 cases x {k} offset copies{spread} "
        f"({path.stat().st_size / 1e6:.0f} MB Parquet)"
    )


def bench_assign(n: int, workers: int, client: Any, tmp: Path) -> None:
    wards = gpd.read_file(WARDS)
    index = GridIndex.from_polygons(wards, wards["WARD"].astype(str).to_numpy())
    src = tmp / "points.parquet"
    make_points(src, n)
    # compiled kernels load (or compile) once per process: not part of the throughput
    t = time.perf_counter()
    warm = np.linspace(-71.1, -71.0, 50_000)
    index.locate_many(warm, warm * 0 + 42.3, crs="EPSG:4326")
    client.run(lambda: index.locate_many(warm, warm * 0 + 42.3, crs="EPSG:4326") is None)
    print(
        f"  kernels loaded in this process and on the workers in "
        f"{time.perf_counter() - t:.1f} s (not counted below)"
    )
    rows = []
    for label, scheduler in [("single process", None), (f"Dask {workers} workers", client)]:
        out = tmp / f"out-{label.split()[0]}.parquet"
        with PeakMemory() as mem:
            res = assign_points(
                src,
                index,
                xy=("longitude", "latitude"),
                crs="EPSG:4326",
                out=out,
                scheduler=scheduler,
            )
        rows.append((label, res, mem.peak))
        print(
            f"  {label:>16}: {res.rows:,} points in {res.seconds:6.1f} s = "
            f"{res.points_per_s / 1e6:5.2f} M points/s, {res.partitions} partitions, "
            f"{res.assigned / res.rows:.2%} in a ward, peak memory {mem.peak / GiB:.2f} GiB"
            f" ({'under' if mem.peak < 2 * GiB else 'OVER'} 2 GiB)"
        )
        shutil.rmtree(out)
    (_, one, _), (_, many, _) = rows
    assert one.assigned == many.assigned
    print(f"  ratio Dask / single process: {many.points_per_s / one.points_per_s:.2f}x")


def bench_routing(n_areas: int, client: Any, workers: int) -> None:
    from urbangrid.routing.patrol.streets import street_graph

    t = time.perf_counter()
    edges = gpd.read_parquet(WUHAN)
    G = street_graph(edges, "walk", crs=edges.crs, source=WUHAN.name)
    print(
        f"  Wuhan FUA walking graph: {G.number_of_nodes():,} nodes, "
        f"{G.number_of_edges():,} arcs, built in {time.perf_counter() - t:.1f} s"
    )
    xy = np.array([(d["x"], d["y"]) for _, d in G.nodes(data=True)])
    cx, cy = np.median(xy, axis=0)
    side = math.isqrt(n_areas)
    boxes, codes = [], []
    for j in range(side):
        for i in range(side):
            x0 = cx + (i - side / 2) * 1000.0
            y0 = cy + (j - side / 2) * 1000.0
            boxes.append(shapely.box(x0, y0, x0 + 1000.0, y0 + 1000.0))
            codes.append(f"WH{j:02d}{i:02d}")
    areas = gpd.GeoDataFrame({"code": codes}, geometry=boxes, crs=G.graph["crs"])
    opts = {"iterations": 100, "unreachable": "skip", "lower_bound": False, "on_error": "skip"}
    serial = plan_areas(G, areas, id_column="code", **opts)
    parallel = plan_areas(G, areas, id_column="code", scheduler=client, **opts)
    same = all(
        a.plan.routes[0].edges == b.plan.routes[0].edges
        for a, b in zip(serial.routes, parallel.routes, strict=True)
    )
    km = sum(r.summary()["route_km"] for r in serial.routes)
    print(
        f"  {len(serial.routes)} of {len(areas)} 1-km² areas planned "
        f"({len(serial.failed)} without walkable streets), {km:,.0f} km of routes"
    )
    print(
        f"  serial {serial.seconds:6.1f} s, Dask {workers} workers {parallel.seconds:6.1f} s "
        f"(graph shipped once), speed-up {serial.seconds / parallel.seconds:.2f}x, "
        f"identical routes: {same}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=20_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--areas", type=int, default=64)
    ap.add_argument("--skip-routing", action="store_true")
    ap.add_argument("--skip-assign", action="store_true")
    args = ap.parse_args()
    needed = ([] if args.skip_assign else [CASES, WARDS]) + ([] if args.skip_routing else [WUHAN])
    missing = [p for p in needed if not p.is_file()]
    if missing:
        raise SystemExit(
            f"missing data file {missing[0]} (this benchmark needs the shared public data: "
            "set URBANGRID_SHARED_DATA to its data folder, or pass --skip-assign/--skip-routing)"
        )
    import distributed

    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / GiB:.0f} GiB")
    t = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    print(
        f"LocalCluster of {args.workers} single-threaded workers started in "
        f"{time.perf_counter() - t:.1f} s"
    )
    tmp = Path(tempfile.mkdtemp(prefix="ug-scale-"))
    try:
        if not args.skip_assign:
            print("1. bulk assignment from Parquet")
            bench_assign(args.points, args.workers, client, tmp)
        if not args.skip_routing:
            print("2. city-wide patrol routing")
            bench_routing(args.areas, client, args.workers)
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
