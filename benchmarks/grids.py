"""Benchmark: unit grid generation on the largest bundled area, extrapolated to a district.

The largest bundled area is Cambridge MA (18.5 km², 2,643 street centreline segments,
13 neighbourhoods playing communities, in ``tests/data/cambridge``). One run prints, for
it and for the Wudaokou OSM extract (4.4 km²):

* generation time (best of ``--repeat``; the machine is shared), grids, median area;
* QA (``validate_unit_grids``) and work-grid grouping times;
* the extrapolation of generation time to a 70 km² street district with ~1,500 unit
  grids (the issue's figure), linear in area and linear in grid count, against the 20 s
  target.

With ``--wuhan`` (the 7,185 km OSM network in ``shared/data/networks``) it also times a
*measured* 70 km² district: a square window of central Wuhan cut by its arterial roads
into play communities (:func:`urbangrid.spatial.grids.generate.partition_by_lines`).

Usage::

    python benchmarks/grids.py [--repeat 3] [--wuhan PATH/wuhan_fua_street_edges.parquet]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from urbangrid.data import data_path
from urbangrid.demo.inputs import cambridge_inputs, osm_extract_inputs
from urbangrid.spatial.grids.generate import (
    STREET_HIGHWAYS,
    GeneratedGrids,
    generate_unit_grids,
    partition_by_lines,
)
from urbangrid.spatial.grids.validate import validate_unit_grids
from urbangrid.spatial.grids.work import group_work_grids

ROOT = Path(__file__).resolve().parents[1]
DISTRICT_KM2 = 70.0
DISTRICT_GRIDS = 1_500
TARGET_S = 20.0


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def _run(name: str, streets: gpd.GeoDataFrame, communities: gpd.GeoDataFrame,
         internal: gpd.GeoDataFrame | None, repeat: int) -> tuple[float, GeneratedGrids]:
    seconds, out = _best(lambda: generate_unit_grids(streets, communities,
                                                     internal_ways=internal), repeat)
    area_km2 = float(communities.to_crs(out.crs).area.sum()) / 1e6
    qa_s, report = _best(lambda: validate_unit_grids(out.grids, out.communities), 1)
    wg_s, _ = _best(lambda: group_work_grids(out.grids, target_count=max(1, len(out.grids) // 5)),
                    1)
    print(f"{name}: {area_km2:.1f} km², {len(streets)} street lines, {len(communities)} "
          f"communities, {out.stats['metric_crs']}")
    print(f"  generate   {seconds:6.2f} s  -> {len(out.grids)} grids, median "
          f"{out.stats['median_area_m2']:.0f} m², coverage error "
          f"{float(out.stats['coverage_error']):.1e}")
    print(f"  QA         {qa_s:6.2f} s  ({len(report)} findings)")
    print(f"  work grids {wg_s:6.2f} s")
    per_km2 = seconds / area_km2
    per_grid = seconds / len(out.grids)
    print(f"  extrapolated to {DISTRICT_KM2:.0f} km²: {per_km2 * DISTRICT_KM2:.1f} s by area; "
          f"to {DISTRICT_GRIDS} grids: {per_grid * DISTRICT_GRIDS:.1f} s by count "
          f"(target <= {TARGET_S:.0f} s)")
    by_area = per_km2 * DISTRICT_KM2
    print("RESULT " + json.dumps({
        "benchmark": "grids", "what": f"unit grids, {name} extrapolated to "
        f"{DISTRICT_KM2:.0f} km² by area (s)", "peer": f"target {TARGET_S:.0f} s",
        "mode": "warm", "statistic": "best", "urbangrid_s": by_area, "peer_s": TARGET_S,
        "ratio": TARGET_S / by_area, "command": "python benchmarks/grids.py"},
        ensure_ascii=False))  # fmt: skip
    return seconds, out


def _wuhan(path: Path, repeat: int) -> None:
    edges = gpd.read_parquet(path)
    centre = shapely.Point(*np.median(shapely.get_coordinates(
        shapely.centroid(edges.geometry.to_numpy())), axis=0))
    half = np.sqrt(DISTRICT_KM2 * 1e6) / 2.0
    window = shapely.box(centre.x - half, centre.y - half, centre.x + half, centre.y + half)
    edges = edges[edges.intersects(window)]
    hw = edges["highway"].astype(str)
    arterial = edges[hw.isin(["motorway", "trunk", "primary", "secondary"])]
    cells = partition_by_lines(window, arterial.geometry.to_numpy(), min_area_m2=150_000,
                               min_width_m=100.0, max_area_m2=2_000_000,
                               drop_edge_strips=True)
    communities = gpd.GeoDataFrame(
        {"community_code": [f"420100001{k + 1:03d}" for k in range(len(cells))]},
        geometry=gpd.GeoSeries(cells, crs=edges.crs), crs=edges.crs)
    streets = edges[hw.isin(STREET_HIGHWAYS)]
    _run("Wuhan 70 km² window (measured)", streets, communities, None, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--wuhan", type=Path, default=None)
    args = parser.parse_args()
    cam = cambridge_inputs(ROOT / "tests/data/cambridge/neighborhoods.geojson.gz",
                           ROOT / "tests/data/cambridge/street_centerlines.geojson.gz")
    _run("Cambridge MA (largest bundled)", cam.streets, cam.communities, None, args.repeat)
    t0 = time.perf_counter()
    bj = osm_extract_inputs(data_path("osm/beijing_haidian_wudaokou.osm.bz2"),
                            [f"110108014{k:03d}" for k in range(1, 11)])
    print(f"Wudaokou inputs (OSM read + partition): {time.perf_counter() - t0:.2f} s")
    _run("Beijing Wudaokou OSM extract", bj.streets, bj.communities, bj.internal_ways,
         args.repeat)
    if args.wuhan is not None:
        _wuhan(args.wuhan, args.repeat)


if __name__ == "__main__":
    main()
