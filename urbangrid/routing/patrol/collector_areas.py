"""Collector areas (采集员责任区): k contiguous areas of whole grids, each ridden round in time.

A district's collectors each patrol an area made of whole work grids (工作网格) — or
unit grids — and ride it round in one closed route within the limit of their mode
(e.g. 30 min by bike, the Beijing Chaoyang norm). :func:`plan_collector_areas` finds,
per community (社区/村; areas never cross a community boundary unless allowed):

1. the **patrol time** of each grid: the time (``time_s``, length at the mode's patrol
   speed) of the streets whose midpoint lies in it (:func:`assign_streets`);
2. ``k`` contiguous areas balanced by that time, by the recursive bisection of
   :func:`urbangrid.spatial.grids.work.group_work_grids` (contiguity, community rule
   and stable codes are its own), starting from ``k = ceil(patrol time / limit)``;
3. each area's **route**: one closed walk serving every street of the area from the
   street node nearest its centre, deadheading along any street of the mode
   (:func:`urbangrid.routing.core.carp.collector_routes` with one collector);
4. while a route is longer than the limit, ``k + 1`` areas and again.

So the ``k`` found per community is the time-based staffing norm (the smallest ``k``
found whose routes all fit; a heuristic, not a proven minimum), and the areas come with
their routes and patrol intervals: a street served once per round is passed every
``route_s`` seconds, ``floor(shift / route_s)`` times a shift.

Stability: given the previous assignment (grid → area code), an area keeps the code
most of its patrol time had, so codes survive small grid changes
(:func:`~urbangrid.spatial.grids.work.group_work_grids`). Codes read
``<community code>C<2-digit serial>`` (``<street code>C<3 digits>`` across communities).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from urbangrid.errors import GridCodeError, InfeasibleRouteError, ShiftLimitError, StaffingError
from urbangrid.routing.core.plan import Route

__all__ = [
    "CollectorAreas",
    "assign_streets",
    "check_limit",
    "load_collector_areas",
    "patrol_graph",
    "plan_collector_areas",
    "route_lines",
    "street_over_limit",
]

#: Largest key-node program (variables) an area's round is solved exactly with; larger
#: ones go to the search at once (branch and bound slows down past ~100 here).
EXACT_MAX_VARIABLES = 100

#: Branch-and-bound nodes per exact solve before the search takes over.
EXACT_NODES = 200

#: Workload weights for balancing: patrol time, with a little area so that grids
#: without streets still spread evenly.
BALANCE_WEIGHTS: dict[str, float] = {"patrol_s": 1.0, "area_m2": 0.1}


@dataclass(frozen=True)
class CollectorAreas:
    """Collector areas of a district with their routes.

    Attributes
    ----------
    areas : geopandas.GeoDataFrame
        One row per area, graph CRS (metres): ``area_code``, ``community_code``,
        ``n_units`` (work grids, or unit grids where one was split), ``n_grids``,
        ``streets``, ``patrol_km``, ``service_s`` (time on the area's
        streets), ``route_s`` (the closed round, seconds), ``deadhead_s``,
        ``interval_s`` (time between two passes of a street, = ``route_s``),
        ``limit_s``, ``fits`` (route within the limit), ``depot`` (start node) and the polygon.
    assignment : pandas.DataFrame
        ``grid_code`` (unit grid) → ``area_code``.
    routes : dict of str to Route
        Each area's closed walk on the graph (weight ``time_s``).
    crs : str
        CRS of the geometries (the street graph's).
    info : dict
        ``k`` per community, iterations of the search, and ``detached``: the streets
        of a unit grid joined to its other streets only by a detour beyond
        :data:`DETACH_NEAR_M` of it (a viaduct or tunnel over or under it, a road cut at
        the data's edge), whose leaving out let the grid's round fit the limit, left to
        another mode (``street_id``, ``name``, ``length_m``,
        ``time_s``, ``unit``: the grid, ``area_code``); see :func:`plan_collector_areas`.
    """

    areas: gpd.GeoDataFrame
    assignment: pd.DataFrame
    routes: dict[str, Route] = field(repr=False)
    crs: str
    info: dict[str, Any] = field(default_factory=dict, compare=False)


def patrol_graph(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The largest strongly connected part of a street graph (every street reachable).

    The result is marked (``graph["patrol_graph"]``, with its node and arc counts) and
    returned as is when given again, so a district plan does not copy it per pass."""
    if G.graph.get("patrol_graph") == (G.number_of_nodes(), len(G.edges)):
        return G
    comp = max(nx.strongly_connected_components(G), key=len)
    H = G.subgraph(comp).copy()
    H.graph["patrol_graph"] = (H.number_of_nodes(), len(H.edges))
    return H


def _midpoints(G: nx.MultiDiGraph) -> tuple[list[tuple[Hashable, Hashable, Any]], np.ndarray]:
    arcs = []
    geoms = []
    seen: set[Any] = set()
    for u, v, k, d in G.edges(keys=True, data=True):
        sid = d.get("street_id", (min(str(u), str(v)), max(str(u), str(v)), k))
        # a two-way street is two opposite arcs: keep one, the collector serves it once
        if sid in seen:
            continue
        seen.add(sid)
        arcs.append((u, v, k))
        geom = d.get("geometry")
        if geom is None:
            geom = shapely.LineString([(G.nodes[u]["x"], G.nodes[u]["y"]),
                                       (G.nodes[v]["x"], G.nodes[v]["y"])])
        geoms.append(geom)
    mids = shapely.line_interpolate_point(np.array(geoms, dtype=object), 0.5, normalized=True)
    return arcs, mids


def assign_streets(G: nx.MultiDiGraph, units: gpd.GeoDataFrame, *, key: str) -> pd.DataFrame:
    """Which unit (grid, community, area) each street lies in: the one holding its midpoint.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        A street graph of one mode (:func:`urbangrid.routing.patrol.streets.street_graph`),
        metric CRS in ``G.graph["crs"]``, ``time_s`` on every arc; a two-way street
        (two opposite arcs with one ``street_id``) counts once.
    units : geopandas.GeoDataFrame
        Polygons in any stated CRS (reprojected to the graph's).
    key : str
        Column of ``units`` naming each unit.

    Returns
    -------
    pandas.DataFrame
        ``u``, ``v``, ``key_`` (the arc to serve), ``street_id``, ``name``, ``grade``,
        ``length_m`` (metres), ``time_s`` (seconds) and ``unit`` (the ``key`` value);
        streets outside every unit are left out.
    """
    arcs, mids = _midpoints(G)
    polys = units.to_crs(G.graph["crs"])
    geoms = polys.geometry.to_numpy()
    pt_idx, poly_idx = shapely.STRtree(geoms).query(mids, predicate="within")
    owner = np.full(len(arcs), -1, dtype="int64")
    owner[pt_idx[::-1]] = poly_idx[::-1]  # the first unit wins on a shared boundary
    names = polys[key].to_numpy()
    rows = []
    for (u, v, k), o in zip(arcs, owner, strict=True):
        if o < 0:
            continue
        d = G.edges[u, v, k]
        rows.append((u, v, k, d.get("street_id"), d.get("name"), d.get("grade"),
                     float(d.get("length_m", 0.0)), float(d["time_s"]), names[o]))
    return pd.DataFrame(rows, columns=["u", "v", "key_", "street_id", "name", "grade",
                                       "length_m", "time_s", "unit"])


def check_limit(streets: pd.DataFrame, limit_s: float, what: str,
                graph: nx.MultiDiGraph | None = None, what_zh: str = "巡查区域划分") -> None:
    """Raise :class:`ShiftLimitError` when one street alone takes longer than the limit.

    Parameters
    ----------
    streets : pandas.DataFrame
        Rows of :func:`assign_streets`.
    limit_s : float
        Limit, seconds.
    what, what_zh : str
        The area, for the message in English and for ``message_zh``.
    graph : networkx.MultiDiGraph, optional
        The graph of `streets` (with its ``crs``): an unnamed street is then placed by
        the WGS84 longitude/latitude of its midpoint, so the user can find it.
    """
    s = street_over_limit(streets, limit_s, graph)
    if s is not None:
        err = ShiftLimitError(
            f"{what}: {_street_label(s)} alone takes {s['time_s'] / 60:.1f} min to patrol, "
            f"above the limit of {limit_s / 60:.1f} min: no number of collectors can meet "
            "it; raise the limit or use a faster mode")
        err.street, err.limit_s = s, limit_s
        err.message_zh = (
            f"{what_zh}：{_street_label_zh(s)}单独巡查一遍就需 {s['time_s'] / 60:.1f} 分钟，"
            f"超过 {limit_s / 60:.1f} 分钟的上限，多少名采集员都无法满足；请提高上限或换更快"
            "的巡查方式")
        raise err


def street_over_limit(streets: pd.DataFrame, limit_s: float,
                      graph: nx.MultiDiGraph | None = None) -> dict[str, Any] | None:
    """The street that alone takes longer than `limit_s` (seconds) to patrol, or None.

    Parameters are those of :func:`check_limit`, which words the result as its error.

    Returns
    -------
    dict or None
        ``street_id``, ``name`` (None when the street has none: NaN or blank, as a
        file's empty name reads), ``length_m`` (metres), ``time_s`` (seconds), ``lon``
        and ``lat`` (WGS84 degrees of its midpoint; None without `graph` or its ``crs``).
    """
    if len(streets) == 0:
        return None
    row = streets.loc[streets["time_s"].idxmax()]
    if not row["time_s"] > limit_s:
        return None
    lon = lat = None
    if graph is not None and graph.graph.get("crs") is not None:
        import pyproj

        d = graph.edges[row["u"], row["v"], row["key_"]]
        line = d.get("geometry") or shapely.LineString(
            [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in (row["u"], row["v"])])
        mid = shapely.line_interpolate_point(line, 0.5, normalized=True)
        lon, lat = pyproj.Transformer.from_crs(graph.graph["crs"], "EPSG:4326",
                                               always_xy=True).transform(mid.x, mid.y)
    return {"street_id": _text(row["street_id"]), "name": _text(row["name"]),
            "length_m": float(row["length_m"]), "time_s": float(row["time_s"]),
            "lon": lon, "lat": lat}


def _text(value: Any) -> str | None:
    """A name or id as text; None when it is missing (None, NaN, pd.NA or blank)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value).strip() or None


def _street_label(s: Mapping[str, Any]) -> str:
    """``street 4521 (成府路, 1045 m)`` for :func:`street_over_limit`'s result; an unnamed
    street (its NaN name printed as "nan") says so, with where its midpoint is."""
    label = f"street {s['street_id']}" if s["street_id"] else "a street"
    if s["name"]:
        return f"{label} ({s['name']}, {s['length_m']:.0f} m)"
    where = (f", midpoint at lon {s['lon']:.5f}, lat {s['lat']:.5f}"
             if s["lon"] is not None else "")
    return f"{label} (unnamed, {s['length_m']:.0f} m{where})"


def _street_label_zh(s: Mapping[str, Any]) -> str:
    """:func:`_street_label` in Chinese: ``道路 4521（成府路，1045 米）``."""
    which = f"道路 {s['street_id']}" if s["street_id"] else "一条道路"
    where = (f"，中点在经度 {s['lon']:.5f}、纬度 {s['lat']:.5f}"
             if not s["name"] and s["lon"] is not None else "")
    return f"{which}（{s['name'] or '无名道路'}，{s['length_m']:.0f} 米{where}）"


def _depot(search: _AreaSearch, streets: pd.DataFrame, area: Any) -> Hashable:
    """The end of a street of the area nearest its centre (graph CRS, metres)."""
    H = search.H
    nodes = pd.unique(np.concatenate([streets["u"].to_numpy(dtype=object),
                                      streets["v"].to_numpy(dtype=object)]))
    xy = np.array([(H.nodes[n]["x"], H.nodes[n]["y"]) for n in nodes])
    c = shapely.point_on_surface(area)
    return nodes[int(np.argmin(np.hypot(xy[:, 0] - c.x, xy[:, 1] - c.y)))]


def _route(search: _AreaSearch, streets: pd.DataFrame, area: Any, *, iterations: int | None,
           time_limit_s: float, need_route: bool) -> tuple[Route | None, Hashable, float]:
    """An area's round, its depot and a proven lower bound on any round (seconds).

    The exact key-node program comes first, on the streets near the area; the search
    (:func:`~urbangrid.routing.core.carp.collector_routes`) only runs when it proves no
    optimum in time. When its bound already exceeds the limit and ``need_route`` is
    False (the area will be cut anyway), no search runs and the route is None.
    """
    from urbangrid.routing.core.carp import collector_routes

    depot = _depot(search, streets, area)
    req = list(zip(streets["u"], streets["v"], streets["key_"], strict=True))
    near = _near_arcs(search, streets, area)
    exact, bound = _exact_round(search, near, req, depot, time_limit_s)
    if exact is not None:
        return exact, depot, exact.cost
    if not need_route and not _fits(bound, search.limit_s):
        return None, depot, bound
    plan = collector_routes(_near_graph(search, near), depot=depot, k=1, objective="max",
                            required=req, weight="time_s", oneway="oneway", seed=search.seed,
                            iterations=iterations, time_limit_s=time_limit_s)
    return plan.routes[0], depot, bound


def _exact_round(search: _AreaSearch, near: np.ndarray | None, req: list[tuple[Any, Any, Any]],
                 depot: Hashable, time_limit_s: float) -> tuple[Route | None, float]:
    """The optimal round serving ``req`` from ``depot`` (weight ``time_s``) and its cost,
    or None and the best proven lower bound when the integer program cannot prove one
    in time. A two-way street's required arc may be driven either way."""
    from urbangrid.routing.core.exact import mixed_rural_postman_exact

    if 2 * len(req) > EXACT_MAX_VARIABLES:  # the program has more variables than that
        return None, 0.0
    # a node budget, not the clock, decides (the plan must not depend on the machine's
    # load); the time limit is only a backstop
    ex = mixed_rural_postman_exact(search.H, req, start=depot, weight="time_s",
                                   oneway="oneway", time_limit_s=max(time_limit_s, 5.0),
                                   max_variables=EXACT_MAX_VARIABLES, node_limit=EXACT_NODES,
                                   hops=_near_hops(search, near))
    return ex.route, ex.lower_bound


def _partition(blocks: gpd.GeoDataFrame, k: int, previous: Mapping[str, str] | None,
               cross: bool, used: set[str]) -> np.ndarray:
    """Area codes of ``blocks`` cut into ``k`` contiguous parts balanced by patrol time."""
    from urbangrid.spatial.grids.work import group_work_grids

    prev = {b: str(a).replace("C", "W", 1) for b, a in (previous or {}).items()}
    frame = gpd.GeoDataFrame({
        "grid_code": blocks["block"].to_numpy(), "community_code": blocks["region"].to_numpy(),
        "patrol_s": blocks["patrol_s"].to_numpy(), "area_m2": blocks["area_m2"].to_numpy(),
    }, geometry=blocks.geometry.to_numpy(), crs=blocks.crs)
    try:
        out = group_work_grids(frame, weights=BALANCE_WEIGHTS, target_count=k,
                               previous=prev or None, cross_communities=cross,
                               retired={c.replace("C", "W", 1) for c in used})
    except GridCodeError as exc:  # the serials of one region (C01-C99, C001-C999) are used up
        region = str(frame["community_code"].iloc[0])
        if cross:
            raise StaffingError(
                f"street office {region}: more collector areas than its codes number (area "
                f"codes are {region}C001 to C999, {len(used)} used while cutting areas to the "
                "limit): plan each community on its own, raise the limit or use a faster "
                f"mode ({exc})") from None
        raise StaffingError(
            f"community {region}: more collector areas than its codes number (area codes "
            f"are {region}C01 to C99, {len(used)} used while cutting areas to the limit): "
            "the community is too large for one area series; give the grids their real "
            "communities, or plan across communities (cross_communities=True, "
            f"--cross-communities: 3-digit serials per street office) ({exc})") from None
    return out["work_grid_code"].str.replace("W", "C", n=1).to_numpy()


def _blocks(fine: gpd.GeoDataFrame, column: str, grid_time: pd.Series,
            by: str) -> gpd.GeoDataFrame:
    g = fine[list(dict.fromkeys([column, "grid_code", "region", by, "geometry"]))]
    out = g.dissolve(by=column, aggfunc="first").reset_index()
    out = out.rename(columns={column: "block"})
    out["block"] = out["block"].astype(str)
    if column == "grid_code":
        out["grids"] = [[b] for b in out["block"]]
    else:
        lists = g.groupby(column)["grid_code"].agg(list)
        out["grids"] = [lists[b] for b in out["block"]]
    out["patrol_s"] = [float(grid_time.reindex(gs).fillna(0.0).sum()) for gs in out["grids"]]
    out["area_m2"] = shapely.area(out.geometry.to_numpy())
    return out


def plan_collector_areas(
    G: nx.MultiDiGraph,
    grids: gpd.GeoDataFrame,
    *,
    limit_s: float,
    unit: str = "work_grid_code",
    by: str = "community_code",
    cross_communities: bool = False,
    k: Mapping[str, int] | None = None,
    streets: pd.DataFrame | None = None,
    previous: Mapping[str, str] | None = None,
    seed: int = 0,
    iterations: int | None = 60,
    time_limit_s: float = 2.0,
    on_over: str = "raise",
    workers: int | None = 1,
) -> CollectorAreas:
    """Contiguous collector areas of whole grids, each ridden round within ``limit_s``.

    Per community, the work grids are cut into ``k`` areas balanced by patrol time
    (default ``k = ceil(patrol time / limit)``); an area whose round is longer than the
    limit is cut in two (the part with more patrol time keeps its code), down to single
    work grids and then their unit grids, until every round fits.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Street graph of the mode (:func:`urbangrid.routing.patrol.streets.street_graph`), metric
        CRS; its largest strongly connected part is used (:func:`patrol_graph`).
    grids : geopandas.GeoDataFrame
        Unit grids, any stated CRS, with ``grid_code``, ``by`` and (optionally) ``unit``.
    limit_s : float
        Longest round, seconds (1,800 for 30 min).
    unit : str
        Column of the grids areas are made of (work grids); unit grids (``grid_code``)
        when it is missing or blank.
    by : str
        Community column: areas never cross it unless ``cross_communities``.
    cross_communities : bool
        Let areas span communities of one street office (街道, first 9 digits).
    k : mapping of str to int, optional
        Start count of areas per community (region).
    streets : pandas.DataFrame, optional
        The streets to patrol (``street_id`` column), e.g. only grade-1 roads; default
        every street of the mode in the grids.
    previous : mapping of str to str, optional
        Previous ``grid_code → area_code`` (the ``assignment`` of an earlier plan), so
        areas keep their codes.
    seed, iterations, time_limit_s
        Budget of each route search (:func:`~urbangrid.routing.core.carp.collector_routes`).
    on_over : {"raise", "flag"}
        What to do when a single unit grid cannot be ridden round within the limit
        although each of its streets can (deadheading round one-way carriageways, or a
        network cut at the edge of the data): raise, or keep it as its own area. With
        "flag", streets of that grid that no street near it joins to its other streets
        (a viaduct or tunnel over or under it) are first left out, when its round then
        fits: they are listed in ``info["detached"]`` for another mode. Otherwise the
        area keeps them all with ``fits`` False.
    workers : int, optional
        Processes the communities are spread over (they are independent; the result
        is the same for any number): None for one per usable core (at most 4) when
        there are at least :data:`PARALLEL_MIN_STREETS` streets; the default 1 plans in
        this process. More than 1 starts fresh interpreters, so a
        script calling this needs the ``if __name__ == "__main__":`` guard.
        ``info["workers"]`` says how many ran.

    Returns
    -------
    CollectorAreas
        ``areas["fits"]`` tells whether each round is within the limit.

    Raises
    ------
    ShiftLimitError
        A single street takes longer than the limit (named), or (``on_over="raise"``) a
        single unit grid cannot be ridden round within it.
    StaffingError
        A work grid spanning communities, or missing columns.
    """
    if not limit_s > 0:
        raise StaffingError(f"limit_s must be > 0 seconds, not {limit_s!r}")
    if on_over not in ("raise", "flag"):
        raise StaffingError(f"on_over must be 'raise' or 'flag', not {on_over!r}")
    missing = [c for c in ("grid_code", by) if c not in grids.columns]
    if missing:
        raise StaffingError(f"unit grids: missing column(s) {missing}")
    H = patrol_graph(G)
    crs = H.graph["crs"]
    fine, column = _fine_grids(grids, crs, unit, by, cross_communities)
    st = assign_streets(H, fine, key="grid_code")
    if streets is not None:
        st = st[st["street_id"].isin(streets["street_id"])]
    check_limit(st, limit_s, "collector areas", graph=H)
    spec = {"H": H, "streets": st, "column": column, "by": by, "limit_s": limit_s,
            "cross": cross_communities, "on_over": on_over, "seed": seed,
            "iterations": iterations, "time_limit_s": time_limit_s}
    prev = {str(g): str(a) for g, a in (previous or {}).items()}
    area_rows: list[dict[str, Any]] = []
    assign_rows: list[pd.DataFrame] = []
    detached: list[pd.DataFrame] = []
    routes: dict[str, Route] = {}
    ks: dict[str, int] = {}
    rounds = 0
    regions = [(str(r), rf) for r, rf in fine.groupby("region", sort=True)]
    n_workers = _workers(workers, len(regions), len(st))
    for region, got in zip([r for r, _ in regions],
                           _all_regions(spec, regions, k, prev, n_workers), strict=True):
        if got is None:
            continue
        area_rows += got.rows
        assign_rows += got.assignment
        routes.update(got.routes)
        detached += got.detached
        rounds += got.rounds
        ks[str(region)] = len(got.rows)
    if not area_rows:
        raise StaffingError("no street of the mode lies in the grids: nothing to patrol")
    areas = gpd.GeoDataFrame(area_rows, geometry="geometry", crs=crs)
    assignment = pd.concat(assign_rows, ignore_index=True)
    return CollectorAreas(areas=areas, assignment=assignment, routes=routes, crs=crs,
                          info={"k": ks, "unit": column, "routes_solved": rounds,
                                "workers": n_workers, "detached": _detached_frame(detached)})


#: Columns of the detached streets and their types: an empty frame keeps them, so that
#: adding it to another (the cover rounds' to the regular ones') leaves metres numbers.
_DETACHED_TYPES = {"street_id": "object", "name": "object", "length_m": "float64",
                   "time_s": "float64", "unit": "object", "area_code": "object"}


def _detached_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The streets cut off from their grids (see :func:`_detach`), one row each."""
    cols = list(_DETACHED_TYPES)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _DETACHED_TYPES.items()})
    return pd.concat(parts, ignore_index=True)[cols].astype(_DETACHED_TYPES)


def _search(spec: dict[str, Any]) -> _AreaSearch:
    """The shared state of every community's search, built from plain inputs (so a
    worker process builds its own from the same ``spec``)."""
    H, st = spec["H"], spec["streets"]
    nodes = list(H.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    return _AreaSearch(
        streets=st, grid_time=st.groupby("unit")["time_s"].sum(), nodes=nodes,
        node_tree=shapely.STRtree(shapely.points([(H.nodes[n]["x"], H.nodes[n]["y"])
                                                  for n in nodes])),
        node_index=index, arcs=_arcs_of(H, index),
        **{k: v for k, v in spec.items() if k != "streets"})


#: Below this many streets a district is planned in one process even when asked for
#: one per core (``workers=None``): starting workers costs more than they save.
PARALLEL_MIN_STREETS = 3000


def _workers(workers: int | None, n_regions: int, n_streets: int) -> int:
    """Worker processes: as asked, else one per usable core (at most 4) for a large
    district, never more than there are communities; 1 means in this process."""
    import os

    if workers is None and n_streets < PARALLEL_MIN_STREETS:
        return 1
    if workers is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
            (os.cpu_count() or 1)
        workers = min(cores, 4)
    return max(1, min(int(workers), n_regions))


#: The search of a worker process (set once by :func:`_start_worker`, in that process
#: only; the parent never sets it).
_WORKER: dict[str, _AreaSearch] = {}


def _start_worker(spec: dict[str, Any]) -> None:
    _WORKER["search"] = _search(spec)


def _worker_region(task: tuple[str, gpd.GeoDataFrame, Mapping[str, int] | None,
                               dict[str, str]]) -> _RegionAreas | None:
    region, rfine, k, prev = task
    return _region_areas(_WORKER["search"], region, rfine, k, prev)


def _all_regions(spec: dict[str, Any], regions: list[tuple[str, gpd.GeoDataFrame]],
                 k: Mapping[str, int] | None, prev: dict[str, str],
                 workers: int) -> list[_RegionAreas | None]:
    """Every community's areas, in ``regions`` order: in this process, or spread over
    ``workers`` processes (communities are independent; the largest go first). Workers
    start from a fresh interpreter (forkserver or spawn), never a fork of this one,
    whose solver threads a fork would not carry over."""
    if workers <= 1:
        search = _search(spec)
        return [_region_areas(search, region, rfine, k, prev) for region, rfine in regions]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() \
        else "spawn"
    order = sorted(range(len(regions)), key=lambda i: -len(regions[i][1]))
    with ProcessPoolExecutor(max_workers=workers, initializer=_start_worker,
                             initargs=(spec,),
                             mp_context=multiprocessing.get_context(method)) as pool:
        futures = {i: pool.submit(_worker_region, (regions[i][0], regions[i][1], k, prev))
                   for i in order}
        return [futures[i].result() for i in range(len(regions))]


def _fine_grids(grids: gpd.GeoDataFrame, crs: Any, unit: str, by: str,
                cross: bool) -> tuple[gpd.GeoDataFrame, str]:
    """Unit grids in ``crs`` with a ``region`` column, and the column areas are made of."""
    fine = grids.to_crs(crs).copy()
    fine["grid_code"] = fine["grid_code"].astype(str)
    use_unit = unit in fine.columns and fine[unit].notna().all()
    column = unit if use_unit else "grid_code"
    fine["region"] = fine[by].astype(str).str[:9] if cross else fine[by].astype(str)
    if use_unit:
        spans = fine.groupby(unit)["region"].nunique()
        if (spans > 1).any():
            raise StaffingError(f"work grid {spans[spans > 1].index[0]!r} spans several "
                                f"{by} values; plan on unit grids (unit='grid_code') or "
                                "allow crossing")
    return fine, column


@dataclass(frozen=True, eq=False)
class _AreaSearch:
    """What every community's search shares: graph, streets, limit and route budget."""

    H: nx.MultiDiGraph
    streets: pd.DataFrame
    grid_time: pd.Series
    column: str
    by: str
    limit_s: float
    cross: bool
    on_over: str
    seed: int
    iterations: int | None
    time_limit_s: float
    nodes: list[Hashable] = field(default_factory=list)
    node_tree: Any = None
    node_index: dict[Hashable, int] = field(default_factory=dict)
    arcs: Any = None
    cache: dict[str, Any] = field(default_factory=dict)  # the whole graph's HopGraph


#: Rounds are solved on the streets within these distances (metres) of the area, the
#: nearest first, which makes each solve independent of the district's size; an area
#: whose streets cannot all be closed there is solved on the next, then the whole graph.
NEAR_M: tuple[float, ...] = (300.0, 1000.0)


def _near_arcs(search: _AreaSearch, streets: pd.DataFrame, geom: Any) -> np.ndarray | None:
    """The arcs (positions in ``search.arcs``) of the strongly connected streets near an
    area holding all of its streets, or None for the whole graph (metric CRS of the
    graph): within the first distance of :data:`NEAR_M` where that holds. Found with
    arrays (scipy's strong components), not networkx subgraph views, which took most
    of a large district's time."""
    arcs = search.arcs
    if search.node_tree is None or len(arcs.edges) < 5000:
        return None
    ends = pd.unique(np.concatenate([streets["u"].to_numpy(dtype=object),
                                     streets["v"].to_numpy(dtype=object)]))
    end_idx = np.array([search.node_index[n] for n in ends], dtype=np.int64)
    for near_m in NEAR_M:
        sel = _strongly_near(search, end_idx, geom.buffer(near_m))
        if sel is not None:
            return sel
    return None


def _strongly_near(search: _AreaSearch, end_idx: np.ndarray, zone: Any) -> np.ndarray | None:
    """The arcs within ``zone`` strongly connected with the nodes ``end_idx``, or None
    when those are not all in one strong component there."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    arcs = search.arcs
    hit = search.node_tree.query(zone, predicate="intersects")
    inside = np.zeros(len(search.nodes), dtype=bool)
    inside[hit] = True
    if not inside[end_idx].all():
        return None
    sel = np.flatnonzero(inside[arcs.tail] & inside[arcs.head])
    n = len(search.nodes)
    g = coo_matrix((np.ones(len(sel)), (arcs.tail[sel], arcs.head[sel])), shape=(n, n))
    _k, labels = connected_components(g, directed=True, connection="strong")
    lab = labels[end_idx[0]]
    if not (labels[end_idx] == lab).all():
        return None
    sel = sel[labels[arcs.tail[sel]] == lab]
    return sel[labels[arcs.head[sel]] == lab]


def _near_graph(search: _AreaSearch, sel: np.ndarray | None) -> nx.MultiDiGraph:
    """The networkx graph of the arcs ``sel`` (the whole graph for None)."""
    H = search.H
    if sel is None:
        return H
    arcs = search.arcs
    M = nx.MultiDiGraph(**H.graph)
    ends = np.unique(np.r_[arcs.tail[sel], arcs.head[sel]])
    M.add_nodes_from((search.nodes[int(i)], H.nodes[search.nodes[int(i)]]) for i in ends)
    M.add_edges_from(arcs.edges[int(e)] for e in sel)
    return M


def _near_hops(search: _AreaSearch, sel: np.ndarray | None) -> Any:
    """The deadhead graph (:class:`~urbangrid.routing.core.exact.HopGraph`) of the arcs
    ``sel``; that of the whole graph, built once, for None."""
    from urbangrid.routing.core.exact import hop_graph_from_arrays

    arcs = search.arcs
    if sel is None:
        if "whole" not in search.cache:
            search.cache["whole"] = hop_graph_from_arrays(
                search.nodes, arcs.tail, arcs.head, arcs.time_s, arcs.oneway,
                [e[:3] for e in arcs.edges])
        return search.cache["whole"]
    ends, pos = np.unique(np.r_[arcs.tail[sel], arcs.head[sel]], return_inverse=True)
    m = len(sel)
    return hop_graph_from_arrays([search.nodes[int(i)] for i in ends], pos[:m], pos[m:],
                                 arcs.time_s[sel], arcs.oneway[sel],
                                 [arcs.edges[int(e)][:3] for e in sel])


@dataclass(frozen=True)
class _Arcs:
    """The arcs of the patrol graph as arrays: tail and head node positions, and the
    ``(u, v, key, data)`` tuples to rebuild a local graph from."""

    tail: np.ndarray
    head: np.ndarray
    time_s: np.ndarray
    oneway: np.ndarray
    edges: list[tuple[Any, Any, Any, dict[str, Any]]]


def _arcs_of(H: nx.MultiDiGraph, index: dict[Hashable, int]) -> _Arcs:
    edges = list(H.edges(keys=True, data=True))
    return _Arcs(tail=np.array([index[u] for u, *_ in edges], dtype=np.int64),
                 head=np.array([index[v] for _, v, *_ in edges], dtype=np.int64),
                 time_s=np.array([float(d["time_s"]) for *_, d in edges]),
                 oneway=np.array([bool(d.get("oneway")) for *_, d in edges], dtype=bool),
                 edges=edges)


@dataclass(frozen=True)
class _RegionAreas:
    """The areas of one community: rows, assignment frames, routes and routes solved."""

    rows: list[dict[str, Any]]
    assignment: list[pd.DataFrame]
    routes: dict[str, Route]
    rounds: int
    detached: list[pd.DataFrame] = field(default_factory=list)


@dataclass
class _Done:
    """An area whose round is known: its blocks, unit grids, streets, round and cost."""

    code: str
    members: gpd.GeoDataFrame
    gcodes: list[str]
    ast: pd.DataFrame
    geom: Any
    route: Route | None
    depot: Hashable | None
    cost: float
    detached: pd.DataFrame | None = None


def _region_areas(search: _AreaSearch, region: str, rfine: gpd.GeoDataFrame,
                  k: Mapping[str, int] | None, prev: dict[str, str]) -> _RegionAreas | None:
    """Areas of one community cut until every round fits, then the emptiest merged with a
    neighbour where the merged round still fits; None when it has no streets."""
    blocks = _blocks(rfine, search.column, search.grid_time, search.by)
    total = float(blocks["patrol_s"].sum())
    if total == 0:
        return None
    k0 = max(1, (k or {}).get(region, math.ceil(total / search.limit_s - 1e-9)))
    block_prev = {b: pd.Series([prev[g] for g in gs if g in prev]).mode().iloc[0]
                  for b, gs in zip(blocks["block"], blocks["grids"], strict=True)
                  if any(g in prev for g in gs)}
    used: set[str] = set()
    labels = _partition(blocks, min(k0, len(blocks)), block_prev, search.cross, used)
    used |= set(labels)
    todo = [(c, blocks[labels == c]) for c in sorted(set(labels))]
    done: list[_Done] = []
    rounds = 0
    while todo:
        code, members = todo.pop(0)
        area, solved = _solve_area(search, code, members)
        rounds += solved
        if area is None:
            pieces, fresh = _split_area(search, region, rfine, code, members, used)
            used |= fresh
            todo[:0] = pieces
            continue
        done.append(area)
    done, merged = _merge_small(search, done)
    rounds += merged
    done.sort(key=lambda d: d.code)
    return _RegionAreas(
        rows=[_area_row(search, d.code, d.members, d.gcodes, d.ast, d.route, d.depot, d.geom)
              for d in done],
        assignment=[pd.DataFrame({"grid_code": d.gcodes, "area_code": d.code}) for d in done],
        routes={d.code: d.route for d in done if d.route is not None}, rounds=rounds,
        detached=[d.detached.assign(area_code=d.code) for d in done if d.detached is not None])


def _solve_area(search: _AreaSearch, code: str, members: gpd.GeoDataFrame,
                keep_over: bool = True) -> tuple[_Done | None, int]:
    """The area of ``members`` with its round, or None when it must be cut (its round is
    over the limit and it holds more than one grid); and the rounds solved (0 or 1).
    ``keep_over`` False: None for any area over the limit (a merge that does not fit)."""
    gcodes = [g for gs in members["grids"] for g in gs]
    ast = search.streets[search.streets["unit"].isin(gcodes)]
    geom = shapely.coverage_union_all(members.geometry.to_numpy())
    keep = keep_over and search.on_over == "flag" and len(gcodes) == 1  # kept even over
    if not len(ast):
        return _Done(code, members, gcodes, ast, geom, None, None, 0.0), 0
    if not _fits(float(ast["time_s"].sum()), search.limit_s) and len(gcodes) > 1:
        return None, 0  # riding its streets once already takes longer: cut it unsolved
    try:
        route, depot, cost = _round(search, ast, geom, need_route=keep)
    except InfeasibleRouteError as exc:
        raise ShiftLimitError(f"area {code}: {exc}") from exc
    if not _fits(cost, search.limit_s) and keep:
        detached = _detach(search, code, members, gcodes, ast, geom)
        if detached is not None:
            return detached, 2  # its round, then the round without the cut-off streets
    if not _fits(cost, search.limit_s) and not keep:
        if len(gcodes) == 1 and keep_over:
            raise ShiftLimitError(
                f"{search.by} {members[search.by].iloc[0]}: unit grid {gcodes[0]} takes "
                f"{cost / 60:.1f} min to ride round, above the limit of "
                f"{search.limit_s / 60:.1f} min; raise the limit or use a faster mode")
        return None, 1
    return _Done(code, members, gcodes, ast, geom, route, depot, cost), 1


#: A street of a unit grid is cut off from the grid's other streets when no street
#: within this distance (metres) of the grid joins them: a viaduct or tunnel passing
#: over or under the grid, or a road cut at the edge of the data.
DETACH_NEAR_M = NEAR_M[0]


def _detach(search: _AreaSearch, code: str, members: gpd.GeoDataFrame, gcodes: list[str],
            ast: pd.DataFrame, geom: Any) -> _Done | None:
    """A single grid over the limit, ridden round without the streets cut off from its
    other streets, when that round fits; None when there are none or it still does not.

    The streets within :data:`DETACH_NEAR_M` of the grid are split into connected parts
    (either direction); the part with the most patrol time stays, the others are left
    to another mode (``detached``): reaching them from the grid takes a detour far out
    of it, which a round of the grid cannot afford (an elevated expressway over the
    grid, a tunnel under it)."""
    H = search.H
    zone = geom.buffer(DETACH_NEAR_M)
    if search.node_tree is not None:
        inside = [search.nodes[int(i)] for i in search.node_tree.query(zone, "intersects")]
    else:
        inside = [n for n, d in H.nodes(data=True)
                  if zone.intersects(shapely.Point(d["x"], d["y"]))]
    # a long street's far end too; in a fixed order (a set's differs between processes,
    # and with it which of two equal parts would stay)
    inside = list(dict.fromkeys([*inside, *ast["u"], *ast["v"]]))
    part_of: dict[Hashable, int] = {}
    for i, comp in enumerate(nx.weakly_connected_components(H.subgraph(inside))):
        part_of.update(dict.fromkeys(comp, i))
    part = ast["u"].map(part_of).fillna(-1).astype("int64")
    if part.nunique() < 2:
        return None
    main = ast["time_s"].groupby(part.to_numpy()).sum().idxmax()
    keep = ast[(part == main).to_numpy()]
    route, depot, cost = _round(search, keep, geom, need_route=True)
    if not _fits(cost, search.limit_s):
        return None
    cut = ast[(part != main).to_numpy()][["street_id", "name", "length_m", "time_s", "unit"]]
    return _Done(code, members, gcodes, keep, geom, route, depot, cost, detached=cut)


#: Two neighbouring areas are tried as one when their rounds add up to at most this
#: share of the limit (a merged round is often shorter than the two: they share deadhead).
MERGE_SHARE = 1.15


def _merge_small(search: _AreaSearch, done: list[_Done]) -> tuple[list[_Done], int]:
    """Neighbouring areas of one community merged, emptiest first, while the merged
    round fits the limit: bisection leaves halves far below it. Returns the areas and
    the rounds solved."""
    solved = 0
    tried: set[frozenset[str]] = set()
    while True:
        pairs = []
        geoms = [d.geom.buffer(1.0) for d in done]
        for i, a in enumerate(done):
            for j in range(i + 1, len(done)):
                b = done[j]
                key = frozenset((a.code, b.code))
                if key in tried or a.cost + b.cost > search.limit_s * MERGE_SHARE:
                    continue
                if float(a.ast["time_s"].sum() + b.ast["time_s"].sum()) > search.limit_s:
                    continue
                if geoms[i].intersects(b.geom):
                    pairs.append((a.cost + b.cost, i, j))
        for _s, i, j in sorted(pairs):
            a, b = done[i], done[j]
            tried.add(frozenset((a.code, b.code)))
            keep = a if a.ast["time_s"].sum() >= b.ast["time_s"].sum() else b
            both = pd.concat([a.members, b.members], ignore_index=True)
            merged, n = _solve_area(search, keep.code, both, keep_over=False)
            solved += n
            if merged is not None:
                done = [d for d in done if d is not a and d is not b] + [merged]
                break
        else:
            return done, solved


def _round(search: _AreaSearch, ast: pd.DataFrame, geom: Any, *, need_route: bool,
           ) -> tuple[Route | None, Hashable, float]:
    """An area's round, its depot and its cost (seconds; a lower bound above the limit
    when no route was needed to know it does not fit). Small areas are solved exactly;
    large ones get a quick search first, and only a round that fits, or misses the
    limit by less than 10 %, gets the full search budget (most areas of a large
    district are cut before they fit: their full solves were most of the time)."""
    full = search.iterations
    quick_it = None if full is None else max(5, full // 6)
    big = 2 * len(ast) > EXACT_MAX_VARIABLES  # small areas are solved exactly, once
    quick = None
    if big and full is not None and quick_it is not None and quick_it < full:
        quick, depot, bound = _route(search, ast, geom, iterations=quick_it,
                                     time_limit_s=min(search.time_limit_s, 0.5),
                                     need_route=need_route)
        if quick is None or quick.cost > search.limit_s * 1.1:
            return quick, depot, bound if quick is None else quick.cost
    best, depot, bound = _route(search, ast, geom, iterations=full,
                                time_limit_s=search.time_limit_s, need_route=need_route)
    if best is None or (quick is not None and quick.cost < best.cost):
        best = quick
    return best, depot, bound if best is None else best.cost


def _fits(route_s: float, limit_s: float) -> bool:
    """Whether a round of ``route_s`` seconds is within ``limit_s``, up to rounding."""
    return route_s <= limit_s * (1 + 1e-9)


def _split_area(search: _AreaSearch, region: str, rfine: gpd.GeoDataFrame, code: str,
                members: gpd.GeoDataFrame, used: set[str],
                ) -> tuple[list[tuple[str, gpd.GeoDataFrame]], set[str]]:
    """The two halves of an area too long to ride round, and every code the cut handed out."""
    parts = members
    gcodes = [g for gs in members["grids"] for g in gs]
    if len(members) == 1 and len(gcodes) > 1:
        # one work grid too long to ride round: fall back to its unit grids
        sub = rfine[rfine["grid_code"].isin(gcodes)]
        parts = _blocks(sub, "grid_code", search.grid_time, search.by)
    if len(parts) == 1:
        raise ShiftLimitError(
            f"{search.by} {region}: unit grid {gcodes[0]} cannot be ridden round within "
            f"the limit of {search.limit_s / 60:.1f} min; raise the limit or use a faster "
            "mode")
    sub_labels = _partition(parts, 2, None, search.cross, used)
    fresh = set(sub_labels)
    load = pd.Series(parts["patrol_s"].to_numpy()).groupby(sub_labels).sum()
    keep = str(load.idxmax())
    # the half with more patrol time keeps the area's code, so codes stay stable
    sub_labels = np.where(sub_labels == keep, code, sub_labels)
    return [(c, parts[sub_labels == c]) for c in sorted(set(sub_labels))], fresh


def _area_row(search: _AreaSearch, code: str, members: gpd.GeoDataFrame, gcodes: list[str],
              ast: pd.DataFrame, route: Route | None, depot: Hashable | None,
              geom: Any) -> dict[str, Any]:
    """One row of ``CollectorAreas.areas`` (times in s, patrol length in km)."""
    cost = 0.0 if route is None else route.cost
    comms = sorted(set(members[search.by].astype(str)))
    return {
        "area_code": code, "community_code": comms[0] if len(comms) == 1 else None,
        "n_units": len(members), "n_grids": len(gcodes), "streets": len(ast),
        "patrol_km": ast["length_m"].sum() / 1000, "service_s": ast["time_s"].sum(),
        "route_s": cost, "deadhead_s": 0.0 if route is None else route.deadhead_cost,
        "interval_s": cost, "limit_s": float(search.limit_s),
        "fits": _fits(cost, search.limit_s), "depot": depot, "geometry": geom}


def route_lines(G: nx.MultiDiGraph, result: CollectorAreas) -> gpd.GeoDataFrame:
    """Each area's route as one MultiLineString (graph CRS, metres) with its times.

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_code``, ``route_s``, ``deadhead_s``, ``edges`` and the geometry.
    """
    rows = []
    for code, route in result.routes.items():
        lines = []
        for u, v, k in route.edges:
            d = G.edges[u, v, k] if G.has_edge(u, v, k) else G.edges[v, u, k]
            geom = d.get("geometry") or shapely.LineString(
                [(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])])
            lines.append(geom)
        rows.append({"area_code": code, "route_s": route.cost,
                     "deadhead_s": route.deadhead_cost, "edges": len(route.edges),
                     "geometry": shapely.multilinestrings(lines)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=result.crs)


def load_collector_areas(store: Any, result: CollectorAreas, *, mode: str | None = None,
                         source: str = "collector areas") -> Any:
    """Write areas to the store's ``collector_area`` layer (history: replace retires old ones).

    Parameters
    ----------
    store : urbangrid.store.Store
        A migrated store (migration ``1001_case_log.sql``).
    result : CollectorAreas
    mode : str, optional
        Travel mode the routes were planned for.
    source : str
        Name for messages.

    Returns
    -------
    urbangrid.store.WriteResult
    """
    import json

    a = result.areas
    grids = result.assignment.groupby("area_code")["grid_code"].agg(list)
    frame = gpd.GeoDataFrame({
        "area_code": a["area_code"].to_numpy(), "community_code": a["community_code"].to_numpy(),
        "n_grids": a["n_grids"].astype("int64").to_numpy(),
        "streets": a["streets"].astype("int64").to_numpy(),
        "patrol_km": a["patrol_km"].to_numpy(), "route_s": a["route_s"].to_numpy(),
        "deadhead_s": a["deadhead_s"].to_numpy(), "limit_s": a["limit_s"].to_numpy(),
        "fits": a["fits"].astype(bool).to_numpy(), "mode": mode,
        "grid_codes": [json.dumps(grids[c]) for c in a["area_code"]],
    }, geometry=[shapely.MultiPolygon(list(shapely.get_parts(g)))
                 for g in a.geometry.to_numpy()], crs=result.crs)
    return store.write("collector_area", frame, "replace", source=source)
