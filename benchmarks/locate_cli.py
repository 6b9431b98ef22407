"""Benchmark: ``urbangrid locate`` as a user runs it, one command per point or per file.

Issue 21 targets, on the demo store: ``urbangrid locate STORE LON LAT --crs GCJ-02``
≤ 0.4 s per command, and ``urbangrid locate STORE --csv`` on 1,000,000 rows ≥ 500,000
rows/s end to end (read, transform, locate, write).

Every run is a new process (the user's view), timed from outside. Printed, median and
best of ``--repeat`` runs:

* one GCJ-02 point: the first command after the store changed (reads the store, builds
  and saves the lookup: cold) and the following ones (open the saved lookup: warm);
* the same command with no saved lookup (cache folder not writable, so every command
  reads the store and builds the index, as before issue 21): the like-for-like peer;
* ``--csv`` of ``--rows`` GCJ-02 points spread over the grids' bounding box, written to
  a file, in rows per second.

The store: ``--store`` (default ``out/demo.gpkg`` from ``make demo``); when it does not
exist, a store is made in a temporary folder from the bundled Wudaokou OSM extract with
``urbangrid grids generate`` (said in the output).

Usage::

    python benchmarks/locate_cli.py [--store out/demo.gpkg] [--repeat 7] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POINT = ("116.3262", "39.9928")  # GCJ-02, in the Wudaokou grids (and the demo's)
URBANGRID = [sys.executable, "-m", "urbangrid.cli.main"]


def _run(args: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    done = subprocess.run(URBANGRID + args, env=env, capture_output=True, text=True,
                          check=False)  # fmt: skip
    elapsed = time.perf_counter() - t
    if done.returncode not in (0, 3):
        raise SystemExit(f"urbangrid {' '.join(args)} failed: {done.stderr.strip()}")
    return elapsed


def _store(path: str | None, tmp: str) -> str:
    default = Path(__file__).resolve().parents[1] / "out" / "demo.gpkg"
    if path is not None:
        if not Path(path).is_file():
            raise SystemExit(f"{path}: no such store (run `make demo`, or omit --store)")
        return path
    if default.is_file():
        return str(default)
    from urbangrid.data import data_path

    store = os.path.join(tmp, "wudaokou.gpkg")
    osm = str(data_path("osm/beijing_haidian_wudaokou.osm.bz2"))
    print(f"{default} not found (run `make demo`); using grids generated from {osm}")
    subprocess.run([*URBANGRID, "grids", "generate", store, "--osm", osm, "--version", "v1"],
                   check=True, capture_output=True)  # fmt: skip
    return store


def _points_csv(store: str, rows: int, path: str) -> None:
    import numpy as np

    import urbangrid
    from urbangrid.spatial.crs.transform import transform_xy

    with urbangrid.connect(store, migrate=False) as s:
        grids = s.read("unit_grid")
    x0, y0, x1, y1 = grids.to_crs(4326).total_bounds
    rng = np.random.default_rng(21)
    gx, gy = transform_xy(rng.uniform(x0, x1, rows), rng.uniform(y0, y1, rows), crs=4326,
                          to_crs="GCJ-02")  # fmt: skip
    with open(path, "w") as fh:
        fh.write("id,lon,lat\n")
        fh.writelines(f"{i},{a:.7f},{b:.7f}\n" for i, (a, b) in enumerate(zip(gx, gy, strict=True)))


def _stats(times: list[float]) -> str:
    return f"median {statistics.median(times):.3f} s, best {min(times):.3f} s"


def _load() -> str:
    """The one-minute load average, printed beside every figure (busy above 2)."""
    avg = os.getloadavg()[0]
    return f"[load {avg:.2f}{', busy' if avg > 2 else ''}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=None)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ug-locate-bench-")
    try:
        store = _store(args.store, tmp)
        cache = os.path.join(tmp, "cache")
        env = {**os.environ, "URBANGRID_CACHE_DIR": cache}
        point = [ "locate", store, *POINT, "--crs", "GCJ-02"]
        cold = []
        for _ in range(max(1, args.repeat // 2)):
            shutil.rmtree(cache, ignore_errors=True)
            cold.append(_run(point, env))
        warm = [_run(point, env) for _ in range(args.repeat)]
        blocked = os.path.join(tmp, "not-a-folder")
        Path(blocked).write_text("")  # a file where the cache folder would be: no saving
        peer = [_run(point, {**os.environ, "URBANGRID_CACHE_DIR": blocked})
                for _ in range(args.repeat)]  # fmt: skip
        print(f"store {store}; each run a new process")
        print(f"  one GCJ-02 point, first command (builds the lookup, cold): {_stats(cold)} "
              f"{_load()}")
        print(f"  one GCJ-02 point, saved lookup (warm):                     {_stats(warm)}"
              f"  (target 0.4 s) {_load()}")
        print(f"  one GCJ-02 point, no saved lookup (every command rebuilds): {_stats(peer)} "
              f"{_load()}")
        csv_in = os.path.join(tmp, "points.csv")
        _points_csv(store, args.rows, csv_in)
        csv_args = ["locate", store, "--crs", "GCJ-02", "--csv", csv_in, "-o",
                    os.path.join(tmp, "out.csv")]  # fmt: skip
        _run(csv_args, env)  # the lookup is saved already; this warms the page cache
        csv = [_run(csv_args, env) for _ in range(max(1, args.repeat // 2))]
        rate = args.rows / statistics.median(csv)
        print(f"  --csv {args.rows:,} GCJ-02 rows: {_stats(csv)}, {rate:,.0f} rows/s "
              f"(target 500,000) {_load()}")
        for what, ours, other in (("locate one GCJ-02 point (s/command)", warm, peer),):
            print("RESULT " + json.dumps({
                "benchmark": "locate_cli", "what": what, "peer": "no saved lookup",
                "mode": "new process each", "urbangrid_s": statistics.median(ours),
                "peer_s": statistics.median(other),
                "ratio": statistics.median(other) / statistics.median(ours),
                "statistic": "median", "target_s": 0.4,
                "command": "python benchmarks/locate_cli.py", "load": os.getloadavg()[0]}))
        print("RESULT " + json.dumps({
            "benchmark": "locate_cli", "what": f"--csv {args.rows:,} rows (rows/s)",
            "peer": "target 500,000 rows/s", "mode": "new process each",
            "urbangrid_s": rate, "peer_s": 500_000.0, "ratio": rate / 500_000.0,
            "statistic": "median", "command": "python benchmarks/locate_cli.py",
            "load": os.getloadavg()[0]}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
