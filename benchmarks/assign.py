"""Benchmark: assign 1,000,000 points to 100,000 Voronoi polygons (about 7 vertices each).

One run prints, for the same polygons and points on the same machine:

* :class:`urbangrid.spatial.index.engine.GridIndex` bulk ``locate_many`` throughput, build
  time, memory, and the median time of one ``locate`` call (100,000 calls on
  different points, timed in batches of 1,000: on the uniform points, which miss
  the CPU caches, and on a stream clustered around 200 hot spots);
* the same throughput for geopandas ``sjoin(predicate="within")``,
  ``shapely.STRtree.query`` + ``shapely.contains_xy``, rtree ``intersection_v`` +
  ``contains_xy``, and PostGIS (``ST_Covers`` join on a GiST index, points loaded by
  COPY) when ``--dsn`` is given;
* the ratio of GridIndex throughput to each, and agreement with the GEOS reference
  (STRtree ``covered_by``, first polygon) on every point;
* single ``locate`` calls of live cases in another CRS, transform included: the same
  polygons in EPSG:4548 (Gauss-Krüger metres, at Beijing) and the points in GCJ-02,
  BD-09 and EPSG:4490 (:func:`live_crs_figures`).

Like for like: every bulk contender (GridIndex and each peer) gets the same
``--repeat`` timed runs after one untimed warm-up run (all warm: data in memory,
indexes built, kernels loaded), and both the median and the best are printed, with the
threads each one uses. GridIndex is timed on every core and on one thread. PostGIS is
timed on the server (``EXPLAIN (ANALYZE, TIMING OFF)`` execution time of the join,
points already loaded in a table), not through Python. Ratios divide the peer's
median by GridIndex's median (and best by best).

Usage::

    python benchmarks/assign.py [--polygons 100000] [--points 1000000] [--dsn postgresql://...]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from urbangrid.spatial.index.engine import GridIndex, reference_locate

CRS = "EPSG:3857"
GK_CRS = "EPSG:4548"  # CGCS2000 / 3-degree Gauss-Kruger CM 117E: Beijing's zone
SEED = 20240601
EXTENT = 10_000.0  # metres: a 10 km square city


def voronoi_polygons(n: int, rng: np.random.Generator) -> NDArray[Any]:
    """n Voronoi cells of uniform random sites, clipped to the square, in site order."""
    sites = rng.uniform(0.0, EXTENT, (n, 2))
    box = shapely.box(0.0, 0.0, EXTENT, EXTENT)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=box, ordered=True)
    )
    return np.asarray(shapely.intersection(cells, box), dtype=object)


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def timed(repeat: int, fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(median, best, last result) of ``repeat`` timed runs after one untimed warm-up.

    ``fn`` may return ``(seconds, result)`` (a server-side time) instead of a result.
    """
    result = fn()
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        got = fn()
        elapsed = time.perf_counter() - t
        if isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], float):
            elapsed, got = got
        result = got
        times.append(elapsed)
    return statistics.median(times), min(times), result


def load() -> str:
    """The one-minute load average, printed beside every figure (busy above 2)."""
    avg = os.getloadavg()[0]
    return f"[load {avg:.2f}{', busy' if avg > 2 else ''}]"


def result_line(**fields: Any) -> None:
    """One machine-readable line for benchmarks/run_all.py, with the load average."""
    import json

    fields["load"] = round(os.getloadavg()[0], 2)
    print("RESULT " + json.dumps(fields, ensure_ascii=False))


def first_hit(n: int, inp: NDArray[np.int64], hit: NDArray[np.int64]) -> NDArray[np.int64]:
    out = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, inp, hit)
    out[out == np.iinfo(np.int64).max] = -1
    return out


def run_sjoin(polys: NDArray[Any], x: NDArray[np.float64], y: NDArray[np.float64]) -> Any:
    import geopandas as gpd

    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=CRS)
    grid = gpd.GeoDataFrame({"pos": np.arange(len(polys))}, geometry=list(polys), crs=CRS)
    return lambda: gpd.sjoin(pts, grid, predicate="within", how="left")


def run_strtree(polys: NDArray[Any], x: NDArray[np.float64], y: NDArray[np.float64]) -> Any:
    tree = shapely.STRtree(polys)
    shapely.prepare(polys)
    pts = shapely.points(x, y)

    def go() -> NDArray[np.int64]:
        inp, hit = tree.query(pts)
        keep = shapely.contains_xy(polys[hit], x[inp], y[inp])
        return first_hit(len(x), inp[keep], hit[keep])

    return go


def run_rtree(polys: NDArray[Any], x: NDArray[np.float64], y: NDArray[np.float64]) -> Any:
    from rtree import index

    b = shapely.bounds(polys)
    ids = np.arange(len(polys), dtype=np.int64)
    prop = index.Property()
    rt = index.Index(
        ((int(i), (b[i, 0], b[i, 1], b[i, 2], b[i, 3]), None) for i in ids), properties=prop
    )
    shapely.prepare(polys)
    pts = np.column_stack([x, y])

    def go() -> NDArray[np.int64]:
        hit, counts = rt.intersection_v(pts, pts)
        inp = np.repeat(np.arange(len(x)), counts.astype(np.int64))
        keep = shapely.contains_xy(polys[hit], x[inp], y[inp])
        return first_hit(len(x), inp[keep], hit[keep].astype(np.int64))

    return go


def run_postgis(
    dsn: str, polys: NDArray[Any], x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[Callable[[], Any], Callable[[], None], str]:
    """The PostGIS peer: polygons and points loaded first (untimed), then the join timed
    on the server with EXPLAIN (ANALYZE, TIMING OFF). Returns (run, close, threads)."""
    import psycopg

    conn = psycopg.connect(dsn, autocommit=True)
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    cur.execute("DROP TABLE IF EXISTS bench_assign_grid, bench_assign_pts")
    cur.execute(
        "CREATE UNLOGGED TABLE bench_assign_grid (pos integer, geom geometry(Polygon, 3857))"
    )
    with cur.copy("COPY bench_assign_grid (pos, geom) FROM STDIN") as cp:
        for i, wkb in enumerate(shapely.to_wkb(polys, hex=True, include_srid=False)):
            cp.write_row((i, f"SRID=3857;{wkb}"))
    cur.execute("CREATE INDEX ON bench_assign_grid USING gist (geom)")
    cur.execute("CREATE UNLOGGED TABLE bench_assign_pts (id integer, x float8, y float8)")
    with cur.copy("COPY bench_assign_pts (id, x, y) FROM STDIN") as cp:
        for i in range(len(x)):
            cp.write_row((i, float(x[i]), float(y[i])))
    cur.execute("ANALYZE bench_assign_grid")
    cur.execute("ANALYZE bench_assign_pts")
    workers = cur.execute("SHOW max_parallel_workers_per_gather").fetchone()
    threads = f"1 + {workers[0] if workers else '?'} workers"
    query = (
        "SELECT p.id, min(g.pos) FROM bench_assign_pts p JOIN bench_assign_grid g "
        "ON ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 3857)) GROUP BY p.id"
    )
    answers: list[NDArray[np.int64]] = []

    def go() -> tuple[float, Any]:
        if not answers:  # the warm-up run fetches the answers, for the agreement check
            out = np.full(len(x), -1, dtype=np.int64)
            for pid, pos in cur.execute(query):
                out[pid] = pos
            answers.append(out)
        plan = cur.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {query}").fetchone()
        assert plan is not None
        return float(plan[0][0]["Execution Time"]) / 1e3, answers[0]

    def close() -> None:
        cur.execute("DROP TABLE IF EXISTS bench_assign_grid, bench_assign_pts")
        conn.close()

    return go, close, threads


def clustered_points(n: int, rng: np.random.Generator) -> tuple[NDArray[Any], NDArray[Any]]:
    """A live-case stream: n points around 200 hot spots (sigma 150 m), hot spots mixed."""
    spots = rng.uniform(0.0, EXTENT, (200, 2))
    which = rng.integers(0, len(spots), n)
    x = np.clip(spots[which, 0] + rng.normal(0.0, 150.0, n), 0.0, EXTENT)
    y = np.clip(spots[which, 1] + rng.normal(0.0, 150.0, n), 0.0, EXTENT)
    return x, y


def single_locate_median(
    idx: GridIndex,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    calls: int = 100_000,
    batch: int = 1_000,
    crs: Any = CRS,
) -> tuple[float, float, float]:
    """Median over batches of the mean time per ``locate`` call, and the bare loop's.

    ``calls`` consecutive points of the stream (each a different point, in ``crs``),
    timed in batches of ``batch`` calls; the loop around the calls (list reads,
    iteration) is included, and its own time per call is returned for reference. Third:
    the median of the same batches in this thread's CPU time, which a busy machine
    (another process taking the core mid-batch) inflates much less than wall time.
    """
    return single_call_median(lambda px, py: idx.locate(px, py, crs=crs), x, y, calls, batch)


def single_call_median(
    call: Callable[[float, float], Any],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    calls: int = 100_000,
    batch: int = 1_000,
) -> tuple[float, float, float]:
    """:func:`single_locate_median` for any call taking one point (x, y)."""
    xs = x[:calls].tolist()
    ys = y[:calls].tolist()
    batch = min(batch, len(xs))
    for i in range(min(1_000, len(xs))):  # first call compiles or loads the kernels
        call(xs[i], ys[i])
    per_call = []
    per_cpu = []
    bare = []
    for lo in range(0, len(xs) - batch + 1, batch):
        bx = xs[lo : lo + batch]
        by = ys[lo : lo + batch]
        t, c = time.perf_counter(), time.thread_time()
        for px, py in zip(bx, by, strict=True):
            call(px, py)
        per_call.append((time.perf_counter() - t) / batch)
        per_cpu.append((time.thread_time() - c) / batch)
        t = time.perf_counter()
        for _px, _py in zip(bx, by, strict=True):
            pass
        bare.append((time.perf_counter() - t) / batch)
    return statistics.median(per_call), statistics.median(bare), statistics.median(per_cpu)


def strtree_single_median(
    polys: NDArray[Any], x: NDArray[np.float64], y: NDArray[np.float64], batches: int = 50
) -> float:
    tree = shapely.STRtree(polys)
    pts = shapely.points(x[: batches * 100], y[: batches * 100]).tolist()
    per_call = []
    for b in range(batches):
        t = time.perf_counter()
        for p in pts[b * 100 : (b + 1) * 100]:
            hit = tree.query(p, predicate="covered_by")
            _ = int(hit.min()) if hit.size else -1
        per_call.append((time.perf_counter() - t) / 100)
    return statistics.median(per_call)


def live_crs_figures(polys: NDArray[Any], x: NDArray[np.float64], y: NDArray[np.float64]) -> None:
    """Single ``locate`` calls whose point is not in the index CRS, transform included.

    The same polygons moved to Beijing in CGCS2000 / 3-degree Gauss-Krüger CM 117E
    (EPSG:4548, metres); the same points given as a phone sends them (GCJ-02, BD-09)
    and as a survey does (CGCS2000 degrees, EPSG:4490). Also the transform alone
    (:func:`urbangrid.spatial.crs.transform.point_transformer`), and a check that every single
    answer is what ``locate_many`` gives for the same points.
    """
    from urbangrid.spatial.crs.transform import point_transformer, transform_xy

    ox, oy = transform_xy([116.35], [39.88], crs=4326, to_crs=GK_CRS)  # Beijing, west
    dx, dy = float(ox[0]), float(oy[0])
    moved = shapely.transform(polys, lambda c: c + np.array([dx, dy]))
    idx = GridIndex.from_polygons(moved, crs=GK_CRS)
    n = min(len(x), 100_000)
    gx, gy = x[:n] + dx, y[:n] + dy
    print(f"\nsingle locate with the transform, index in {GK_CRS} at Beijing ({idx!r}):")
    base, _, base_cpu = single_locate_median(idx, gx, gy, crs=GK_CRS)
    print(f"  {GK_CRS} (no transform): {base * 1e6:.3f} us (CPU {base_cpu * 1e6:.3f} us) {load()}")
    for crs in ("GCJ-02", "BD-09", "EPSG:4490"):
        lon, lat = transform_xy(gx, gy, crs=GK_CRS, to_crs=crs)
        one, _, one_cpu = single_locate_median(idx, lon, lat, crs=crs)
        only, _, only_cpu = single_call_median(point_transformer(crs, GK_CRS), lon, lat)
        many = idx.locate_many(lon, lat, crs=crs)
        got = np.array(
            [idx.locate(a, b, crs=crs) for a, b in zip(lon.tolist(), lat.tolist(), strict=True)]
        )
        got = np.where(got == None, -1, got).astype(np.int64)  # noqa: E711 (object array)
        print(
            f"  {crs} point: {one * 1e6:.3f} us per locate, CPU {one_cpu * 1e6:.3f} us (transform"
            f" alone {only * 1e6:.3f} us, CPU {only_cpu * 1e6:.3f} us);"
            f" same answer as locate_many on {(got == many).mean():.4%} of {n:,} points {load()}"
        )
        if crs == "GCJ-02":
            result_line(benchmark="assign", what=f"single locate, GCJ-02 point, {GK_CRS} index"
                        " (us)", peer="target 0.8", mode="warm", urbangrid_s=one * 1e6,
                        peer_s=0.8, ratio=0.8 / one / 1e6, statistic="median", cpu_us=one_cpu * 1e6,
                        command="python benchmarks/assign.py")
    # The same with the index in WGS84 degrees: the GCJ-02 formula runs inside locate.
    lon0, lat0 = transform_xy(gx, gy, crs=GK_CRS, to_crs=4326)
    wgs = GridIndex.from_polygons(shapely.transform(moved, lambda c: np.column_stack(
        transform_xy(c[:, 0], c[:, 1], crs=GK_CRS, to_crs=4326))), crs=4326)  # fmt: skip
    lon, lat = transform_xy(lon0, lat0, crs=4326, to_crs="GCJ-02")
    one, _, one_cpu = single_locate_median(wgs, lon, lat, crs="GCJ-02")
    print(f"  GCJ-02 point, index in EPSG:4326 (converted inside the compiled call): "
          f"{one * 1e6:.3f} us per locate (CPU {one_cpu * 1e6:.3f} us) {load()}")
    result_line(benchmark="assign", what="single locate, GCJ-02 point, EPSG:4326 index (us)",
                peer="target 0.8", mode="warm", urbangrid_s=one * 1e6, peer_s=0.8,
                ratio=0.8 / one / 1e6, statistic="median", cpu_us=one_cpu * 1e6,
                command="python benchmarks/assign.py")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--polygons", type=int, default=100_000)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cells", type=int, default=None, help="GridIndex cells (default: auto)")
    ap.add_argument("--dsn", default=None, help="PostGIS DSN; the PostGIS peer is skipped without")
    ap.add_argument("--skip", default="", help="comma list of peers to skip: sjoin,strtree,rtree")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    rng = np.random.default_rng(SEED)

    t = time.perf_counter()
    polys = voronoi_polygons(args.polygons, rng)
    x = rng.uniform(-0.01 * EXTENT, 1.01 * EXTENT, args.points)
    y = rng.uniform(-0.01 * EXTENT, 1.01 * EXTENT, args.points)
    nverts = shapely.get_num_coordinates(polys)
    print(
        f"data: {len(polys):,} Voronoi polygons (mean {nverts.mean():.1f} vertices), "
        f"{args.points:,} uniform points, {time.perf_counter() - t:.1f} s to make"
    )

    # The kernels are compiled at install; a tiny index first so imports are not timed.
    GridIndex.from_polygons(polys[:10], crs=CRS).locate_many(x[:10], y[:10], crs=CRS)

    build_s, idx = best_of(1, lambda: GridIndex.from_polygons(polys, crs=CRS, cells=args.cells))
    mem = idx.memory_usage()
    print(f"GridIndex build: {build_s:.2f} s; {idx!r}")
    print(
        "memory: "
        + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in mem.items())
        + f"; total {idx.nbytes / 1e6:.1f} MB ({idx.nbytes / 1e6 / (len(polys) / 1e5):.1f} MB"
        " per 100k polygons)"
    )
    meta = idx.meta
    print(
        f"grid: {meta['ncols']}x{meta['nrows']} cells; answered by one read "
        f"{meta['cells_inside'] + meta['cells_outside']:,}, by one orientation test "
        f"{meta['cells_split']:,}, by two {meta.get('cells_lines', 0):,}, by the candidate "
        f"list {meta.get('cells_list', meta['cells_boundary'] - meta['cells_split']):,}; "
        f"{meta['whole_polygons']:,} polygons tested whole"
    )

    from urbangrid.spatial.index import _pip

    threads = _pip.get_num_threads()
    ours_s, ours_best, ours = timed(args.repeat, lambda: idx.locate_many(x, y, crs=CRS))
    _pip.set_num_threads(1)
    one_s, one_best, _ = timed(args.repeat, lambda: idx.locate_many(x, y, crs=CRS))
    _pip.set_num_threads(threads)
    ours_rate = args.points / ours_s
    print(
        f"GridIndex.locate_many ({threads} threads): median {ours_s:.3f} s, best "
        f"{ours_best:.3f} s, {ours_rate / 1e6:.2f} M pts/s; one thread: median {one_s:.3f} s "
        f"{load()}"
    )

    t = time.perf_counter()
    ref = reference_locate(polys, x, y)
    ref_s = time.perf_counter() - t
    agree = float((ours == ref).mean())
    print(
        f"agreement with GEOS reference (STRtree covered_by, first polygon): {agree:.4%} "
        f"of {args.points:,} points ({int((ours != ref).sum())} differ); reference took "
        f"{ref_s:.2f} s = {args.points / ref_s / 1e6:.2f} M pts/s"
    )

    single, bare, single_cpu = single_locate_median(idx, x, y)
    single_ref = strtree_single_median(polys, x, y)
    print(
        f"single locate median: {single * 1e6:.3f} us per call on the uniform points "
        f"(STRtree single query {single_ref * 1e6:.2f} us: {single_ref / single:.1f}x); "
        f"the bare loop around the calls {bare * 1e6:.3f} us; CPU time {single_cpu * 1e6:.3f} us"
        f" {load()}"
    )
    cx, cy = clustered_points(100_000, np.random.default_rng(SEED + 1))
    single_c, _, _ = single_locate_median(idx, cx, cy)
    print(f"single locate median, clustered stream (200 hot spots): {single_c * 1e6:.3f} us "
          f"{load()}")

    live_crs_figures(polys, x, y)

    peers: list[tuple[str, str, Callable[[], Any]]] = []
    if "sjoin" not in skip:
        peers.append(("geopandas sjoin(within)", "1", run_sjoin(polys, x, y)))
    if "strtree" not in skip:
        peers.append(("STRtree.query + contains_xy", "1", run_strtree(polys, x, y)))
    if "rtree" not in skip:
        peers.append(("rtree intersection_v + contains_xy", "1", run_rtree(polys, x, y)))
    close = None
    if args.dsn:
        go, close, pg_threads = run_postgis(args.dsn, polys, x, y)
        peers.append(("PostGIS ST_Covers join (server time)", pg_threads, go))
    else:
        print("PostGIS: skipped (no --dsn)")

    print(f"\nall warm, {args.repeat} timed runs each after one warm-up; ratio = peer / GridIndex")
    print(f"{'contender':<40}{'threads':>14}{'median s':>10}{'best s':>9}{'M pts/s':>9}"
          f"{'ratio (median)':>16}{'ratio (best)':>14}")
    print(f"{'GridIndex.locate_many':<40}{threads:>14}{ours_s:>10.3f}{ours_best:>9.3f}"
          f"{ours_rate / 1e6:>9.2f}{'1.0x':>16}{'1.0x':>14}")
    print(f"{'GridIndex.locate_many, one thread':<40}{1:>14}{one_s:>10.3f}{one_best:>9.3f}"
          f"{args.points / one_s / 1e6:>9.2f}{one_s / ours_s:>15.2f}x"
          f"{one_best / ours_best:>13.2f}x")
    for name, peer_threads, fn in peers:
        secs, best, res = timed(args.repeat, fn)
        ratio = secs / ours_s
        print(f"{name:<40}{peer_threads:>14}{secs:>10.3f}{best:>9.3f}"
              f"{args.points / secs / 1e6:>9.2f}{ratio:>15.1f}x{best / ours_best:>13.1f}x {load()}")
        result_line(benchmark="assign", what=f"locate {args.points:,} points", peer=name,
                    mode="warm", urbangrid_s=ours_s, peer_s=secs, ratio=ratio,
                    ratio_one_thread=secs / one_s, statistic="median",
                    command="python benchmarks/assign.py")
        if isinstance(res, np.ndarray) and res.shape == ref.shape:
            diff = int((res != ref).sum())
            if diff:
                print(f"  ({diff} points differ from the covered_by reference)")
    if close is not None:
        close()
    result_line(benchmark="assign", what="single locate, index CRS (us)", peer="target 0.5",
                mode="warm", urbangrid_s=single * 1e6, peer_s=0.5, ratio=0.5 / single / 1e6,
                statistic="median", cpu_us=single_cpu * 1e6, command="python benchmarks/assign.py")


if __name__ == "__main__":
    main()
