"""Benchmark: patrol routes for the whole bundled Shenzhen network (issue 8).

The Shenzhen west Futian / east Nanshan OSMnx graph (``urbangrid/data/networks``) is
cut into square collector areas of ``--cell-m`` metres (default 500 m: 0.25 km², close
to the Beijing Chaoyang norm of 0.27 km² per collector) and every area with streets is
routed for one mode. Printed: wall time, the deadhead share of route time against the
core's lower bound on it (rural postman bound of the undirected relaxation), and, for
walking, the route length of networkx's ``eulerize`` + ``eulerian_circuit`` on the
required streets (the textbook approach; it only works when an area's required streets
are connected and minimises the number of duplicated edges, not metres) as a ratio.

Run: ``python benchmarks/patrol.py [--mode bike] [--cell-m 500] [--limit N]``.

``--district`` plans a whole 70 km² district (issue 20): a window of the Wuhan street
network (``../shared/data/networks/wuhan_fua_street_edges.parquet``) cut into 30
generated communities (15 urban, 15 rural) and unit grids of about 45,000 m² (the seed
district's 1,537 grids in 70 km²), then :func:`~urbangrid.routing.patrol.district.plan_district`
by bike with a 30 min round; printed beside the seed district's 154 collectors.

``--demo`` instead routes the demo's work grids (the Wudaokou extract, 83 bike routes)
twice: with the exact mixed rural postman first (issue 20) and with the search alone
and the undirected relaxation's bound (before), printing time, routes proven optimal
and the gap to the bound side by side.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import networkx as nx
import numpy as np
import shapely

from urbangrid.data import data_path
from urbangrid.errors import UrbangridError
from urbangrid.loaders.osm import read_street_graph
from urbangrid.routing.patrol.routes import area_route, required_streets


def _eulerize_length(G: nx.MultiDiGraph, req: object) -> float | None:
    U = nx.MultiGraph()
    for r in req.itertuples():  # type: ignore[attr-defined]
        U.add_edge(r.u, r.v, length=r.length_m)
    if U.number_of_edges() == 0 or not nx.is_connected(U):
        return None
    E = nx.eulerize(nx.Graph(U)) if not any(k > 0 for *_, k in U.edges(keys=True)) else None
    if E is None:
        return None
    total = 0.0
    for u, v in nx.eulerian_circuit(E):
        total += min(d["length_m"] for d in G[u][v].values()) if G.has_edge(u, v) else \
            min(d["length_m"] for d in G[v][u].values())
    return total


def _demo_grids() -> object:
    """The demo's work grids, made as the demo makes them (one per 5 unit grids)."""
    import tempfile

    import urbangrid
    from urbangrid.demo.inputs import load_demo_grids

    with tempfile.TemporaryDirectory() as tmp:
        store = urbangrid.connect(f"{tmp}/demo.gpkg")
        load_demo_grids(store)
        grids = store.read("work_grid")
        store.close()
    return grids


def _demo_routes(exact: bool, grids: object) -> tuple[float, list]:
    from urbangrid.routing.patrol import routes as R

    osm = data_path("osm/beijing_haidian_wudaokou.osm.bz2")
    G = read_street_graph(osm, "bike")
    P = R.prepare_graph(G)
    keep = R.EXACT_MAX_ARCS
    R.EXACT_MAX_ARCS = keep if exact else 0
    try:
        t = time.perf_counter()
        out = R.area_routes(P, grids, id_column="work_grid_code",  # type: ignore[arg-type]
                            unreachable="skip", iterations=50, skipped=[])
        return time.perf_counter() - t, out
    finally:
        R.EXACT_MAX_ARCS = keep


def _wuhan_window(side_m: float) -> tuple[object, object]:
    """Streets of a square window of the Wuhan network and 30 generated communities."""
    from pathlib import Path

    import geopandas as gpd

    path = (Path(__file__).resolve().parents[2] / "shared" / "data" / "networks"
            / "wuhan_fua_street_edges.parquet")
    edges = gpd.read_parquet(path)
    cx, cy = 238_000.0, 3_386_000.0  # Hankou / Wuchang, the dense centre
    box = shapely.box(cx - side_m / 2, cy - side_m / 2, cx + side_m / 2, cy + side_m / 2)
    streets = edges[edges.intersects(box)].copy()
    streets["geometry"] = streets.geometry.intersection(box)
    streets = streets[~streets.geometry.is_empty].explode(ignore_index=True)
    streets = streets[streets.geom_type == "LineString"]
    cols, rows = 6, 5
    w, h = side_m / cols, side_m / rows
    comms = []
    for i in range(cols):
        for j in range(rows):
            n = i * rows + j
            serial = n + 1 if n < 15 else 200 + n - 14  # 居委会 001-015, 村委会 201-215
            comms.append({"community_code": f"420102001{serial:03d}",
                          "geometry": shapely.box(cx - side_m / 2 + i * w, cy - side_m / 2 + j * h,
                                                  cx - side_m / 2 + (i + 1) * w,
                                                  cy - side_m / 2 + (j + 1) * h)})
    return streets, gpd.GeoDataFrame(comms, geometry="geometry", crs=edges.crs)


def district(side_m: float = 8_370.0, workers: int | None = None) -> None:
    """A 70 km² district planned from generated grids of the Wuhan network."""
    import os

    from urbangrid.routing.patrol.district import plan_district
    from urbangrid.routing.patrol.streets import street_graph
    from urbangrid.spatial.grids.generate import generate_unit_grids
    from urbangrid.spatial.grids.work import group_work_grids

    t0 = time.perf_counter()
    streets, comms = _wuhan_window(side_m)
    grids = generate_unit_grids(streets, comms, target_area_m2=45_000.0).grids
    work = group_work_grids(grids, target_workload=5.0)
    grids = grids.merge(work[["grid_code", "work_grid_code"]], on="grid_code")
    G = street_graph(streets, "bike")
    t1, c1, load0 = time.perf_counter(), time.process_time(), os.getloadavg()[0]
    p = plan_district(G, grids, limit_s=1800.0, shifts=1, workers=workers)
    t2, c2, load1 = time.perf_counter(), time.process_time(), os.getloadavg()[0]
    reg = p.table[p.table["roads"] == "all"]
    print(f"district: {len(grids)} unit grids, {grids['work_grid_code'].nunique()} work grids, "
          f"{comms.area.sum() / 1e6:.0f} km², {len(comms)} communities; bike graph "
          f"{G.number_of_edges()} arcs ({t1 - t0:.0f} s to build)")
    print(f"plan_district: {t2 - t1:.1f} s wall, {p.info['workers']} process(es) "
          f"({c2 - c1:.1f} s CPU in this one), load average {load0:.1f} -> {load1:.1f} on "
          f"{os.cpu_count()} cores{' (busy)' if max(load0, load1) > 2 else ''}; "
          f"{len(reg)} areas, rounds "
          f"{reg['round_s'].min() / 60:.1f}-{reg['round_s'].max() / 60:.1f} min, "
          f"{int(p.table['fits'].sum())}/{len(p.table)} within 30 min; streets unserved "
          f"{sum(pr['field'] == 'street_id' for pr in p.problems)}; "
          f"{int((p.streets['passes'] > 0).sum())}/{len(p.streets)} streets seen; "
          f"{p.detached['street_id'].nunique()} streets "
          f"({p.detached.drop_duplicates('street_id')['length_m'].sum() / 1000:.1f} km) "
          "cut off from their grids left to car patrols")
    d = p.staffing.loc["district"]
    print(f"{'headcount':<34}{'urbangrid':>10}{'seed district':>15}")
    print(f"{'plan (time-based, 1 shift + g1)':<34}{p.headcount:>10}{154:>15}")
    print(f"{'lower bound':<34}{p.lower_bound:>10}{'':>15}")
    print(f"{'grid norm (roster)':<34}{int(d['grids_low']):>6}-{int(d['grids_high']):<3}{'':>15}")
    print(f"{'area norm (1 shift)':<34}{int(d['area_headcount']):>10}{154:>15}")
    print(p.summary)
    for pr in p.problems[:5]:
        print("problem:", pr["reason"])


def demo() -> None:
    """The demo's bike routes, exact first vs the search alone, side by side."""
    print(f"{'demo bike routes':<34}{'routes':>7}{'wall s':>8}{'optimal':>8}"
          f"{'gap mean %':>11}{'gap max %':>10}{'route h':>9}")
    grids = _demo_grids()
    for label, exact in (("urbangrid exact + search", True),
                         ("search + undirected bound (before)", False)):
        t, routes = _demo_routes(exact, grids)
        gaps = [100 * (r.plan.cost - r.lower_bound_s) / r.lower_bound_s for r in routes
                if r.lower_bound_s]
        opt = sum(bool(r.plan.optimal) for r in routes)
        print(f"{label:<34}{len(routes):>7}{t:>8.1f}{opt:>8}{statistics.fmean(gaps):>11.1f}"
              f"{max(gaps):>10.1f}{sum(r.plan.cost for r in routes) / 3600:>9.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", default="bike")
    ap.add_argument("--cell-m", type=float, default=500.0)
    ap.add_argument("--limit", type=int, default=None, help="route at most N areas")
    ap.add_argument("--demo", action="store_true", help="the demo's routes, before/after")
    ap.add_argument("--district", action="store_true", help="plan a 70 km² Wuhan district")
    ap.add_argument("--workers", type=int, default=None,
                    help="processes for --district (default one per core, at most 4)")
    args = ap.parse_args()
    if args.district:
        district(workers=args.workers)
        return
    if args.demo:
        demo()
        return

    t0 = time.perf_counter()
    G = read_street_graph(data_path("networks/shenzhen_futian_osmnx_all.graphml.bz2"),
                          args.mode)
    t_graph = time.perf_counter() - t0
    xy = np.array([(d["x"], d["y"]) for _, d in G.nodes(data=True)])
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    c = args.cell_m
    cells = [shapely.box(x, y, x + c, y + c)
             for x in np.arange(x0, x1, c) for y in np.arange(y0, y1, c)]
    if args.limit:
        cells = cells[: args.limit]
    routes, failed, peer = [], [], []
    t1 = time.perf_counter()
    for i, cell in enumerate(cells):
        try:
            r = area_route(G, cell, area_crs=G.graph["crs"], area_id=f"C{i:03d}",
                           unreachable="skip", iterations=200)
        except UrbangridError as exc:
            failed.append(f"C{i:03d}: {type(exc).__name__}")
            continue
        routes.append(r)
        if args.mode == "walk":
            req = required_streets(G, cell, area_crs=G.graph["crs"])
            e = _eulerize_length(G, req)
            if e is not None:
                peer.append(e / r.length_m)
    t_route = time.perf_counter() - t1

    req_s = [r.plan.cost - r.route.deadhead_cost for r in routes]
    dead = [r.route.deadhead_cost / r.plan.cost for r in routes if r.plan.cost > 0]
    lb_dead = [max(0.0, (r.lower_bound_s or 0) - s) / (r.lower_bound_s or math.inf)
               for r, s in zip(routes, req_s, strict=True) if r.lower_bound_s]
    gaps = [(r.plan.cost - r.lower_bound_s) / r.lower_bound_s for r in routes
            if r.lower_bound_s]
    print(f"graph: {G.number_of_nodes()} nodes, {G.number_of_edges()} arcs, "
          f"{args.mode}, {G.graph['crs']} ({t_graph:.1f} s to read)")
    print(f"areas: {len(cells)} cells of {c:.0f} m; routed {len(routes)}, "
          f"no street or failed {len(failed)}")
    print(f"wall time routing: {t_route:.1f} s "
          f"({t_route / max(1, len(routes)):.2f} s per area)")
    print(f"route km total {sum(r.length_m for r in routes) / 1000:.1f}, street km "
          f"{sum(r.street_m for r in routes) / 1000:.1f}, skipped streets "
          f"{sum(len(r.skipped) for r in routes)}")
    print(f"minutes per area: median {statistics.median(r.duration_s / 60 for r in routes):.1f}"
          f", max {max(r.duration_s / 60 for r in routes):.1f}")
    print(f"deadhead share of route time: mean {100 * statistics.fmean(dead):.1f}% ; "
          f"lower bound on it: mean {100 * statistics.fmean(lb_dead):.1f}%")
    print(f"route time / lower bound: mean {1 + statistics.fmean(gaps):.3f}, "
          f"max {1 + max(gaps):.3f}")
    if peer:
        print(f"networkx eulerize route length / urbangrid route length ({len(peer)} areas "
              f"with connected streets): mean {statistics.fmean(peer):.3f}, "
              f"min {min(peer):.3f}, max {max(peer):.3f}")


if __name__ == "__main__":
    main()
