"""Benchmark: a user's first calls in a new process, right after install.

Issue 21: the first ``GridIndex`` build and calls once took 92-110 s here while numba
compiled its kernels. The kernels are now compiled when the package is installed, so a
new process pays only imports. Each run is a new Python process (cold: nothing of
urbangrid loaded, no cache folder) that does, timed inside it:

1. ``import urbangrid`` and ``from urbangrid.spatial.index.engine import GridIndex``;
2. the first ``GridIndex.from_polygons`` of 1,000 Voronoi polygons (made beforehand,
   not timed);
3. the first ``locate``;
4. the first ``locate_many`` of 300,000 points.

Printed: median and best of ``--repeat`` processes for each step and the total
(target: total ≤ 2 s), with the threads the kernels use. The peer is the same steps
with geopandas (``import geopandas`` + ``GeoDataFrame`` + ``sjoin``), also cold.

Usage::

    python benchmarks/first_call.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

TARGET_S = 2.0

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np, shapely
data = np.load(sys.argv[1])
polys = shapely.from_wkb(data["wkb"])
x, y = data["x"], data["y"]
t1 = time.perf_counter()
if sys.argv[2] == "urbangrid":
    import urbangrid
    from urbangrid.spatial.index import _pip
    from urbangrid.spatial.index.engine import GridIndex
    t2 = time.perf_counter()
    idx = GridIndex.from_polygons(polys, crs="EPSG:3857")
    t3 = time.perf_counter()
    idx.locate(float(x[0]), float(y[0]), crs="EPSG:3857")
    t4 = time.perf_counter()
    idx.locate_many(x, y, crs="EPSG:3857")
    t5 = time.perf_counter()
    threads = _pip.get_num_threads()
else:
    import geopandas as gpd
    t2 = time.perf_counter()
    grid = gpd.GeoDataFrame({"pos": np.arange(len(polys))}, geometry=polys, crs=3857)
    grid.sindex
    t3 = time.perf_counter()
    one = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x[:1], y[:1]), crs=3857)
    gpd.sjoin(one, grid, predicate="within", how="left")
    t4 = time.perf_counter()
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=3857)
    gpd.sjoin(pts, grid, predicate="within", how="left")
    t5 = time.perf_counter()
    threads = 1
print(json.dumps({"import": t2 - t1, "build": t3 - t2, "locate": t4 - t3,
                  "locate_many": t5 - t4, "threads": threads}))
"""


def _data(path: str) -> None:
    import numpy as np
    import shapely

    rng = np.random.default_rng(21)
    pts = rng.uniform(0.0, 10_000.0, (1_000, 2))
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(pts), extend_to=shapely.box(0, 0, 10_000, 10_000)))
    polys = shapely.intersection(cells, shapely.box(0, 0, 10_000, 10_000))
    x = rng.uniform(0.0, 10_000.0, 300_000)
    y = rng.uniform(0.0, 10_000.0, 300_000)
    np.savez(path, wkb=np.array(shapely.to_wkb(polys), dtype=object).astype(bytes), x=x, y=y)


def run(contender: str, data: str, repeat: int) -> dict[str, list[float]]:
    steps: dict[str, list[float]] = {}
    env = {**os.environ, "URBANGRID_CACHE_DIR": tempfile.mkdtemp(prefix="ug-cold-")}
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", CHILD, data, contender], env=env,
                              capture_output=True, text=True, check=True)  # fmt: skip
        got = json.loads(done.stdout.strip().splitlines()[-1])
        got["total"] = got["import"] + got["build"] + got["locate"] + got["locate_many"]
        for k, v in got.items():
            steps.setdefault(k, []).append(float(v))
    return steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.npz")
        _data(data)
        results = {c: run(c, data, args.repeat) for c in ("urbangrid", "geopandas")}
    load = os.getloadavg()[0]
    print(f"cold: each run a new process; {args.repeat} runs; seconds, median (best); "
          f"load average {load:.2f}{' (busy)' if load > 2 else ''}")
    print(f"{'step':<34}{'urbangrid':>20}{'geopandas sjoin':>20}")
    for step in ("import", "build", "locate", "locate_many", "total"):
        row = [f"{statistics.median(r[step]):.3f} ({min(r[step]):.3f})" for r in results.values()]
        print(f"{step:<34}{row[0]:>20}{row[1]:>20}")
    ours = statistics.median(results["urbangrid"]["total"])
    peer = statistics.median(results["geopandas"]["total"])
    print(f"threads: urbangrid {int(results['urbangrid']['threads'][0])}, geopandas 1")
    print(f"total {ours:.2f} s: {'within' if ours <= TARGET_S else 'OVER'} the {TARGET_S} s "
          "target (import + 1,000-polygon build + first locate + first 300,000-point "
          "locate_many)")
    print("RESULT " + json.dumps({
        "benchmark": "first_call", "what": "new process: import + build + first calls",
        "peer": "geopandas sjoin", "mode": "cold", "urbangrid_s": ours, "peer_s": peer,
        "ratio": peer / ours, "statistic": "median", "target_s": TARGET_S,
        "command": "python benchmarks/first_call.py", "load": round(load, 2)}))


if __name__ == "__main__":
    main()
