"""Area patrol routes (巡查路线): the closed walk a collector rides or walks through an area.

Given a collector's area (责任区: a polygon, a work grid or a set of unit grids), a
street graph of one travel mode (:mod:`urbangrid.routing.patrol.streets`) and a start point
(e.g. the community office), :func:`area_route` returns a :class:`PatrolRoute`:

1. **Required streets** (:func:`required_streets`): the streets the mode patrols whose
   midpoint lies inside the area. *Boundary rule*: a street whose midpoint is within
   ``boundary_tolerance_m`` of the area's boundary runs along it and is shared with the
   neighbouring area; it belongs to the area on its **north side** (east side for a
   street running exactly north-south): the area that covers the point
   ``2 × boundary_tolerance_m`` from the midpoint, perpendicular to the street, to the
   north, moved ``2 × boundary_tolerance_m / π`` along the street towards the east
   (north for a north-south street), which also settles a boundary crossing the street
   at its midpoint. In a partition (work grids of a district) every street so belongs
   to exactly one area. ``boundary="both"`` gives boundary streets to the area whatever
   the side (a lone patrol area), ``boundary="none"`` to no area. Two-way streets whose
   ``highway`` is in ``both_sides`` (wide roads) are required in each direction, one per
   kerb.
2. **Start**: the point is snapped to the nearest street (the nearer end of it); more
   than ``max_snap_m`` away raises :class:`~urbangrid.errors.SnapError` saying how far.
3. **Routing problem by mode**: only some streets are required and the collector may
   pass through streets outside the area (within ``buffer_m``, else anywhere), so this
   is a *rural postman problem*: undirected on foot (one-ways ignored), mixed by bike,
   e-bike and car (one-way streets driven forwards only, contraflow where tagged for
   bikes), and with wide roads required on both sides a mix of arcs and edges (windy-like).
   The arc-routing core solves it: on foot by
   :func:`urbangrid.routing.core.rural.rural_postman` (Frederickson's spanning tree of the
   pieces plus an exact minimum T-join, then local search), otherwise by the CARP
   search for one uncapacitated collector
   (:func:`urbangrid.routing.core.carp.collector_routes`), minimising travel time. The route
   is proven feasible by :func:`urbangrid.routing.core.plan.check_plan`. The lower bound is
   the rural postman bound of the undirected relaxation (required time plus the larger
   of the parity and spanning-tree bounds): the deadhead that any route must have.
4. **Result**: one LineString in driving order, length, duration at the mode's patrol
   speeds plus turn and U-turn penalties, the deadhead share, and turn-by-turn
   instructions with the street names as tagged (Chinese names in China).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Collection, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra

from urbangrid.errors import PatrolAreaError, RoutingError, SnapError, UnreachableError
from urbangrid.routing.core.carp import collector_routes
from urbangrid.routing.core.exact import mixed_rural_postman_exact
from urbangrid.routing.core.graphs import EdgeId
from urbangrid.routing.core.plan import Route, RoutePlan, check_plan
from urbangrid.routing.core.rural import rural_postman
from urbangrid.routing.patrol.modes import ModeProfile, get_mode

__all__ = [
    "BOUNDARY_RULES",
    "Instruction",
    "PatrolRoute",
    "PreparedGraph",
    "area_route",
    "area_routes",
    "prepare_graph",
    "required_streets",
    "route_from_walk",
    "routes_table",
    "snap_point",
    "to_graph_crs",
]

#: Largest solve graph (arcs) whose route is solved exactly
#: (:func:`~urbangrid.routing.core.exact.mixed_rural_postman_exact`) before the search.
EXACT_MAX_ARCS = 6000

#: How streets on an area's boundary are assigned, see the module docstring.
BOUNDARY_RULES: tuple[str, ...] = ("north", "both", "none")

_ACTIONS_ZH = {
    "depart": "出发",
    "straight": "直行",
    "left": "左转",
    "right": "右转",
    "uturn": "掉头",
    "arrive": "到达起点",
}
_UNNAMED_ZH = "无名道路"


@dataclass(frozen=True)
class Instruction:
    """One turn-by-turn step (导航提示).

    Attributes
    ----------
    step : int
        Position from 0.
    action : str
        ``depart``, ``straight``, ``left``, ``right``, ``uturn`` or ``arrive``.
    street : str or None
        Street name as tagged (None when unnamed).
    distance_m, duration_s : float
        Length (metres) and time (seconds) along the street until the next step.
    x, y : float
        Where the step starts, graph CRS (metres).
    text_zh, text_en : str
        The step in Chinese and English.
    """

    step: int
    action: str
    street: str | None
    distance_m: float
    duration_s: float
    x: float
    y: float
    text_zh: str
    text_en: str


@dataclass(frozen=True, eq=False)
class PatrolRoute:
    """A collector's closed patrol walk through an area.

    Attributes
    ----------
    area_id : str or None
        Code of the area (e.g. a work grid code).
    mode : str
        Travel mode.
    crs : str
        Metric CRS of ``geometry``, ``legs`` and ``area``.
    start_node : hashable
        Graph node the route starts and ends at.
    start_snap_m : float
        Distance (metres) from the given start point to the street it was snapped to.
    plan : RoutePlan
        The core's plan on the solve graph (weight ``time_s``, seconds).
    legs : geopandas.GeoDataFrame
        One row per traversal in order: ``seq``, ``street_id``, ``name``, ``highway``,
        ``grade``, ``served`` (first pass of a required street), ``required``,
        ``length_m``, ``time_s``, ``t_start_s``, ``t_end_s`` (seconds from the start,
        penalties included), geometry in driving direction.
    instructions : tuple of Instruction
        Turn-by-turn steps.
    required : tuple of str
        Required street ids; ``"<id>@<u>"`` for the side driven from node ``u`` of a
        street required on both sides.
    street_m : float
        Length of the required streets (metres, both sides counted).
    area : shapely geometry or None
        The area, graph CRS.
    lower_bound_s : float or None
        Proven lower bound on the travel time of any route (seconds, no penalties)
        on the streets the search was given: the area's ``buffer_m`` buffer and the
        ways to streets only reachable from further away (see :func:`area_route`). A
        route leaving those could in principle be shorter.
    problem : str
        The routing problem solved.
    uturns, turns : int
        U-turns and left/right turns on the route.
    skipped : tuple of str
        Required street ids left out because no closed walk can serve them
        (``unreachable="skip"``).
    outside_m : float
        Farthest the route runs from the area, metres (0 inside it).
    notes : tuple of str
        What a collector should know, e.g. why the route leaves the area.
    """

    area_id: str | None
    mode: str
    crs: str
    start_node: Hashable
    start_snap_m: float
    plan: RoutePlan
    legs: gpd.GeoDataFrame
    instructions: tuple[Instruction, ...]
    required: tuple[str, ...]
    street_m: float
    area: shapely.Geometry | None
    lower_bound_s: float | None
    problem: str
    uturns: int
    turns: int
    skipped: tuple[str, ...] = ()
    outside_m: float = 0.0
    notes: tuple[str, ...] = ()

    @property
    def route(self) -> Route:
        """The core :class:`~urbangrid.routing.core.plan.Route` (traversals and serving flags)."""
        return self.plan.routes[0]

    @property
    def geometry(self) -> shapely.LineString:
        """The whole route as one LineString in driving order, graph CRS."""
        return _join_lines(self.legs.geometry.to_numpy())

    @property
    def length_m(self) -> float:
        """Route length, metres."""
        return float(self.legs["length_m"].sum())

    @property
    def deadhead_m(self) -> float:
        """Length not serving a required street (空驶), metres."""
        return float(self.legs.loc[~self.legs["served"], "length_m"].sum())

    @property
    def deadhead_share(self) -> float:
        """Deadhead length over route length (0 for an empty route)."""
        return self.deadhead_m / self.length_m if self.length_m > 0 else 0.0

    @property
    def duration_s(self) -> float:
        """Patrol time, seconds: travel at the mode's speeds plus turn penalties."""
        return float(self.legs["t_end_s"].iloc[-1]) if len(self.legs) else 0.0

    @property
    def area_m2(self) -> float | None:
        """Area of the patrol area, m² (None without an area)."""
        return None if self.area is None else float(shapely.area(self.area))

    def summary(self) -> dict[str, Any]:
        """Figures for a table: area, km², street km, route km, minutes, deadhead %."""
        a = self.area_m2
        lb = self.lower_bound_s
        return {
            "area": self.area_id,
            "mode": self.mode,
            "km2": None if a is None else a / 1e6,
            "street_km": self.street_m / 1000,
            "route_km": self.length_m / 1000,
            "minutes": self.duration_s / 60,
            "deadhead_pct": 100 * self.deadhead_share,
            "travel_s": self.plan.cost,
            "lower_bound_s": lb,
            "gap_pct": None if not lb else 100 * (self.plan.cost - lb) / lb,
            "uturns": self.uturns,
            "skipped": len(self.skipped),
            "start_snap_m": self.start_snap_m,
        }


def _join_lines(geoms: Sequence[shapely.Geometry]) -> shapely.LineString:
    parts = [np.asarray(g.coords) for g in geoms if g is not None and not g.is_empty]
    if not parts:
        return shapely.LineString()
    out = [parts[0]]
    for p in parts[1:]:
        out.append(p[1:] if np.allclose(p[0], out[-1][-1]) else p)
    return shapely.LineString(np.vstack(out))


# --------------------------------------------------------------------------- areas


def to_graph_crs(geom: shapely.Geometry, crs: Any, G: nx.MultiDiGraph) -> shapely.Geometry:
    """A geometry in ``crs`` — any EPSG code or WKT, CGCS2000, ``"GCJ-02"`` (Amap,
    Tencent) or ``"BD-09"`` (Baidu), degrees for geographic ones — in the graph's metric
    CRS ``G.graph["crs"]`` (metres), through
    :func:`urbangrid.spatial.crs.transform.transform_xy` (so a polygon drawn on a phone
    map lands where it was drawn, not ~500 m off)."""
    from urbangrid.spatial.crs.transform import transform_xy

    dst = G.graph["crs"]

    def move(xy: np.ndarray) -> np.ndarray:
        x, y = transform_xy(xy[:, 0], xy[:, 1], crs=crs, to_crs=dst)
        return np.column_stack([x, y])

    return shapely.transform(geom, move)


def _area_geometry(
    area: shapely.Geometry | gpd.GeoDataFrame | gpd.GeoSeries,
    area_crs: pyproj.CRS | str | None,
    G: nx.MultiDiGraph,
    area_id: str | None,
) -> shapely.Geometry:
    name = f"area {area_id}" if area_id else "area"
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            raise PatrolAreaError(f"{name}: the polygons have no CRS")
        geom = shapely.union_all(area.to_crs(G.graph["crs"]).geometry.to_numpy())
    else:
        if area_crs is None:
            raise PatrolAreaError(f"{name}: give area_crs for a bare geometry")
        geom = to_graph_crs(area, area_crs, G)
    if geom is None or geom.is_empty:
        raise PatrolAreaError(f"{name}: the polygon is empty")
    if shapely.get_type_id(geom) not in (3, 6):
        geom = shapely.union_all(
            shapely.get_parts(geom)[np.isin(shapely.get_type_id(shapely.get_parts(geom)), (3, 6))]
        )
        if geom.is_empty:
            raise PatrolAreaError(f"{name}: not a polygon")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return geom


def _streets(G: nx.MultiDiGraph) -> pd.DataFrame:
    """One row per street: its first arc, both directions noted."""
    rows: dict[str, dict[str, Any]] = {}
    for u, v, k, d in G.edges(keys=True, data=True):
        sid = d["street_id"]
        if sid in rows:
            rows[sid]["twin"] = (u, v, k)
            continue
        rows[sid] = {"street_id": sid, "u": u, "v": v, "key": k, "twin": None, **d}
    return pd.DataFrame(list(rows.values()))


def required_streets(
    G: nx.MultiDiGraph,
    area: shapely.Geometry | gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    area_crs: pyproj.CRS | str | None = None,
    boundary: str = "north",
    boundary_tolerance_m: float = 2.0,
    highways: Collection[str] | None = None,
    both_sides: Collection[str] = (),
    area_id: str | None = None,
) -> gpd.GeoDataFrame:
    """The streets a collector of ``G``'s mode must patrol in an area.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Street graph of one mode (:func:`~urbangrid.routing.patrol.streets.street_graph`).
    area : shapely geometry, GeoDataFrame or GeoSeries
        The area (polygons are united).
    area_crs : pyproj.CRS or str, optional
        CRS of a bare geometry ``area``.
    boundary : {"north", "both", "none"}
        Owner of streets along the boundary (see the module docstring).
    boundary_tolerance_m : float
        A midpoint this close (metres) to the boundary puts the street on it.
    highways : collection of str, optional
        ``highway`` values to patrol; default the mode's ``patrol`` list.
    both_sides : collection of str
        ``highway`` values whose two-way streets are required in both directions.
    area_id : str, optional
        Name used in messages.

    Returns
    -------
    geopandas.GeoDataFrame
        ``street_id``, ``u``, ``v``, ``key`` (the arc to serve), ``name``, ``highway``,
        ``grade``, ``oneway``, ``length_m``, ``sides`` (1 or 2), ``on_boundary``,
        geometry; graph CRS.
    """
    if boundary not in BOUNDARY_RULES:
        raise RoutingError(f"boundary must be one of {', '.join(BOUNDARY_RULES)}, not {boundary!r}")
    geom = _area_geometry(area, area_crs, G, area_id)
    prof = get_mode(G.graph["mode"])
    patrol = set(prof.patrol if highways is None else highways)
    st = _streets(G)
    st = st[st["highway"].isin(patrol)].reset_index(drop=True)
    lines = st["geometry"].to_numpy() if len(st) else np.zeros(0, dtype=object)
    mids = shapely.line_interpolate_point(lines, 0.5, normalized=True)
    dist = shapely.distance(mids, geom.boundary) if len(st) else np.zeros(0)
    on = dist <= boundary_tolerance_m
    inside = shapely.contains_xy(geom, shapely.get_x(mids), shapely.get_y(mids))
    inside = np.asarray(inside, dtype=bool) & ~on
    if on.any():
        if boundary == "both":
            inside |= on
        elif boundary == "north":
            idx = np.flatnonzero(on)
            length = shapely.length(lines[idx])
            step = np.minimum(1.0, length / 4)
            a = shapely.line_interpolate_point(lines[idx], length / 2 - step)
            b = shapely.line_interpolate_point(lines[idx], length / 2 + step)
            tx, ty = shapely.get_x(b) - shapely.get_x(a), shapely.get_y(b) - shapely.get_y(a)
            norm = np.hypot(tx, ty)
            norm[norm == 0] = 1.0
            nx_, ny_ = -ty / norm, tx / norm
            flip = (ny_ < 0) | ((ny_ == 0) & (nx_ < 0))
            nx_[flip], ny_[flip] = -nx_[flip], -ny_[flip]
            # along the street, eastwards (northwards if it runs north-south), by an
            # irrational fraction, so a boundary crossing the street at its midpoint
            # is decided too and axis-parallel lines are never hit exactly
            tx_, ty_ = tx / norm, ty / norm
            back = (tx_ < 0) | ((tx_ == 0) & (ty_ < 0))
            tx_[back], ty_[back] = -tx_[back], -ty_[back]
            d = 2 * boundary_tolerance_m
            px = shapely.get_x(mids[idx]) + d * nx_ + d / math.pi * tx_
            py = shapely.get_y(mids[idx]) + d * ny_ + d / math.pi * ty_
            inside[idx] = shapely.intersects_xy(geom, px, py)
    out = st[inside].copy()
    out["on_boundary"] = on[inside]
    wide = out["highway"].isin(set(both_sides)) & out["twin"].notna()
    out["sides"] = np.where(wide, 2, 1)
    cols = [
        "street_id",
        "u",
        "v",
        "key",
        "twin",
        "name",
        "highway",
        "grade",
        "oneway",
        "length_m",
        "time_s",
        "sides",
        "on_boundary",
        "geometry",
    ]
    return gpd.GeoDataFrame(
        out[cols].reset_index(drop=True), geometry="geometry", crs=G.graph["crs"]
    )


# --------------------------------------------------------------------------- prepared graphs
#
# A city graph has ~10^5 arcs and an area ~10^2: every per-area step (street table,
# clipping, connectivity) works on a copy of the arcs near the area, found through an
# STRtree. A PreparedGraph, owned by the caller, holds that tree and the whole graph's
# travel times; it compares a fingerprint of the graph's content on every use and
# rebuilds them when an edit changed it, so an edited street is never routed on stale
# data. The copy keeps G's node and arc order, so every later step (and the solvers'
# tie-breaks) sees exactly what it would on G.


@dataclass(frozen=True)
class _WholeGraph:
    """The drivable whole graph as the solver would get it without a buffer: one arc
    per street (the first, as :func:`_solve_graph` keeps), both ways unless one-way."""

    scc: np.ndarray  # strongly connected component of each node (by G's node order)
    index: dict[Hashable, int]  # node -> its position in G
    drive: Any  # scipy.sparse.csr_matrix of travel seconds, node index to node index
    street: dict[tuple[int, int], str]  # quickest street from node index to node index


@dataclass(frozen=True, eq=False)
class _GraphState:
    """What :class:`PreparedGraph` derives from one version of its graph."""

    fingerprint: int
    arcs: list[tuple[Hashable, Hashable, Any, dict[str, Any]]]
    tree: shapely.STRtree
    node_pos: dict[Hashable, int]
    bounds: tuple[float, float, float, float]  # graph CRS, metres
    street_arcs: dict[str, list[int]]

    @functools.cached_property
    def whole(self) -> _WholeGraph:
        """Components and travel times of the drivable whole graph (built on first use)."""
        return _whole_graph(self)


def _fingerprint(G: nx.MultiDiGraph) -> int:
    """Hash of what :class:`_GraphState` is built from: node order and positions, arc
    ids, their attribute dicts and geometries (by identity: the state holds them, so
    an id cannot be reused while it lives), ``street_id``, ``time_s`` and ``oneway``."""
    nodes = tuple((n, d["x"], d["y"]) for n, d in G.nodes(data=True))
    arcs = tuple(
        (u, v, k, id(d), id(d["geometry"]), d["street_id"], d["time_s"], d["oneway"])
        for u, v, k, d in G.edges(keys=True, data=True)
    )
    return hash((G.graph.get("crs"), G.graph.get("mode"), nodes, arcs))


def _graph_state(G: nx.MultiDiGraph, fingerprint: int) -> _GraphState:
    arcs = list(G.edges(keys=True, data=True))
    tree = shapely.STRtree(np.array([d["geometry"] for *_, d in arcs], dtype=object))
    xy = np.array([(d["x"], d["y"]) for _, d in G.nodes(data=True)]).reshape(-1, 2)
    lo, hi = (xy.min(axis=0), xy.max(axis=0)) if len(xy) else (np.zeros(2), np.zeros(2))
    street_arcs: dict[str, list[int]] = {}
    for i, (*_, d) in enumerate(arcs):
        street_arcs.setdefault(d["street_id"], []).append(i)
    return _GraphState(
        fingerprint,
        arcs,
        tree,
        {n: i for i, n in enumerate(G.nodes)},
        (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])),
        street_arcs,
    )


class PreparedGraph:
    """A street graph of one mode with the look-ups :func:`area_route` needs.

    Build it once with :func:`prepare_graph` and pass it to :func:`area_route` or
    :func:`area_routes` for every area of a city: the spatial index of the arcs and
    the whole graph's travel times are then built once, not per area. The graph may
    be edited between calls (a street's ``time_s`` or ``oneway``, streets added or
    removed): each use compares a fingerprint of the graph's content (node positions,
    arcs, ``street_id``, ``time_s``, ``oneway``, geometry objects; one pass over the
    arcs) and rebuilds what changed, so a route always reflects the graph as it is.

    Attributes
    ----------
    graph : networkx.MultiDiGraph
        The street graph (:func:`~urbangrid.routing.patrol.streets.street_graph`),
        metric CRS in ``graph.graph["crs"]``.
    """

    def __init__(self, G: nx.MultiDiGraph) -> None:
        self.graph = G
        self._state = _graph_state(G, _fingerprint(G))

    def state(self) -> _GraphState:
        """The look-ups for the graph as it is now (rebuilt if its content changed)."""
        fp = _fingerprint(self.graph)
        if fp != self._state.fingerprint:
            self._state = _graph_state(self.graph, fp)
        return self._state


def prepare_graph(G: nx.MultiDiGraph | PreparedGraph) -> PreparedGraph:
    """``G`` prepared for many :func:`area_route` calls (a prepared graph is returned as is)."""
    return G if isinstance(G, PreparedGraph) else PreparedGraph(G)


def _local_graph(
    S: _GraphState, G: nx.MultiDiGraph, region: shapely.Geometry, streets: Collection[str] = ()
) -> nx.MultiDiGraph:
    """The arcs of ``G`` meeting ``region`` (metres, graph CRS) and those of
    ``streets``, in ``G``'s order (``S`` is ``G``'s current state)."""
    hit = S.tree.query(region, predicate="intersects")
    if streets:
        hit = np.r_[hit, [i for sid in streets for i in S.street_arcs[sid]]]
    hit = np.unique(hit)
    L = nx.MultiDiGraph(**G.graph)
    picked = [S.arcs[i] for i in hit.tolist()]
    nodes = {u for u, *_ in picked} | {v for _, v, *_ in picked}
    L.add_nodes_from((n, G.nodes[n]) for n in sorted(nodes, key=S.node_pos.__getitem__))
    L.add_edges_from(picked)
    return L


def _whole_graph(S: _GraphState) -> _WholeGraph:
    """Components and travel times of the drivable whole graph, from the state's arcs
    (no networkx copy of a city graph)."""
    pos = S.node_pos
    a, b, w, sid = [], [], [], []
    seen: set[str] = set()
    for u, v, _k, d in S.arcs:
        street = d["street_id"]
        if street in seen:
            continue
        seen.add(street)
        # scipy drops explicit zeros from a sparse graph: keep free arcs as arcs
        t = max(float(d["time_s"]), 1e-9)
        ends = [(pos[u], pos[v])] if d["oneway"] else [(pos[u], pos[v]), (pos[v], pos[u])]
        for i, j in ends:
            a.append(i)
            b.append(j)
            w.append(t)
            sid.append(street)
    aa, bb, ww = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64), np.asarray(w)
    order = np.lexsort((ww, bb, aa))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (aa[order][1:] != aa[order][:-1]) | (bb[order][1:] != bb[order][:-1])
    pick = order[first]
    n = len(pos)
    drive = sp.csr_matrix((ww[pick], (aa[pick], bb[pick])), shape=(n, n))
    _, scc = connected_components(drive, directed=True, connection="strong")
    street_of = {(int(aa[i]), int(bb[i])): sid[i] for i in pick.tolist()}
    return _WholeGraph(scc, pos, drive, street_of)


def _corridor(S: _GraphState, comp: Collection[Hashable], arcs: Iterable[EdgeId]) -> set[str]:
    """Streets of the quickest ways, in the whole graph, from the nodes ``comp`` to the
    ends of ``arcs`` and back: what a closed walk needs beyond the buffer to serve them."""
    W = S.whole
    src = [W.index[n] for n in comp]
    ends = {W.index[n] for e in arcs for n in e[:2]}
    out: set[str] = set()
    for A, back in ((W.drive, False), (W.drive.T.tocsr(), True)):
        _, pred, _ = dijkstra(
            A, directed=True, indices=src, min_only=True, return_predecessors=True
        )
        for cur in ends:
            while pred[cur] >= 0:
                p = int(pred[cur])
                out.add(W.street[(cur, p) if back else (p, cur)])
                cur = p
    return out


def _closable_in_whole(
    S: _GraphState, H: nx.MultiDiGraph, required: list[EdgeId]
) -> set[EdgeId]:
    """The required arcs a closed walk on the whole graph could serve: both ends in
    the strongly connected component holding most required metres (as
    :func:`_main_component` picks)."""
    W = S.whole
    label = {n: int(W.scc[W.index[n]]) for e in required for n in e[:2]}
    metres: dict[int, list[float]] = {}
    for e in required:
        if label[e[0]] == label[e[1]]:
            metres.setdefault(label[e[0]], []).append(H.edges[e]["length_m"])
    if not metres:
        return set()
    # ties (equal metres in two components) go to the lowest component number
    best = max(sorted(metres), key=lambda k: math.fsum(metres[k]))
    return {e for e in required if label[e[0]] == best and label[e[1]] == best}


# --------------------------------------------------------------------------- snapping


def snap_point(
    G: nx.MultiDiGraph,
    x: float,
    y: float,
    *,
    crs: pyproj.CRS | str = "EPSG:4326",
    max_snap_m: float = 200.0,
) -> tuple[Hashable, float]:
    """Snap a point to the nearest street of ``G``, then to that street's nearer end.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Street graph (metric CRS in ``G.graph["crs"]``).
    x, y : float
        The point in ``crs`` (longitude, latitude in degrees for EPSG:4326).
    crs : pyproj.CRS or str
        CRS of the point.
    max_snap_m : float
        Largest distance (metres) from the point to the street.

    Returns
    -------
    (node, distance_m)
        The graph node and the distance from the point to the street, metres.

    Raises
    ------
    SnapError
        The nearest street is farther than ``max_snap_m``; the message says how far.
    """
    if not (math.isfinite(x) and math.isfinite(y)):
        raise SnapError(f"start point ({x}, {y}) is not finite")
    from urbangrid.spatial.crs.transform import transform_xy

    xs, ys = transform_xy([x], [y], crs=crs, to_crs=G.graph["crs"])
    px, py = float(xs[0]), float(ys[0])
    if not (math.isfinite(px) and math.isfinite(py)):
        raise SnapError(f"start point ({x}, {y}) cannot be placed in {G.graph['crs']} from {crs}")
    arcs = list(G.edges(keys=True, data="geometry"))
    if not arcs:
        raise SnapError("the graph has no street to snap to")
    geoms = np.array([g for *_, g in arcs], dtype=object)
    pt = shapely.Point(px, py)
    i = int(shapely.STRtree(geoms).nearest(pt))
    dist = float(shapely.distance(geoms[i], pt))
    if dist > max_snap_m:
        raise SnapError(
            f"start point ({x}, {y}) is {dist:,.0f} m from the nearest street of the "
            f"{G.graph.get('mode', '')} graph (limit {max_snap_m:,.0f} m); is it in the right "
            "area and CRS?"
        )
    u, v, _k, g = arcs[i]
    along = shapely.line_locate_point(g, pt)
    node = u if along <= g.length / 2 else v
    return node, dist


# --------------------------------------------------------------------------- solving


def _solve_graph(
    G: nx.MultiDiGraph,
    req: gpd.GeoDataFrame,
    extent: shapely.Geometry | None,
    extra: Collection[str] = (),
) -> tuple[nx.MultiDiGraph, list[EdgeId]]:
    """One arc per two-way street (``oneway`` False), one per one-way street; both
    arcs, each one-way, for a street required on both sides. With an ``extent``, only
    the streets meeting it, the required ones and the ``extra`` ones."""
    both = set(req.loc[req["sides"] == 2, "street_id"])
    need = set(req["street_id"])
    H = nx.MultiDiGraph(**G.graph)
    keep: set[str] = set()
    if extent is not None:
        arcs = list(G.edges(keys=True, data=True))
        geoms = np.array([d["geometry"] for *_, d in arcs], dtype=object)
        hit = shapely.STRtree(geoms).query(extent, predicate="intersects")
        keep = {arcs[int(j)][3]["street_id"] for j in hit} | set(extra)
    done: set[str] = set()
    for u, v, k, d in G.edges(keys=True, data=True):
        sid = d["street_id"]
        if extent is not None and sid not in keep and sid not in need:
            continue
        if sid in both:
            H.add_edge(u, v, key=k, **{**d, "oneway": True})
            continue
        if sid in done:
            continue
        done.add(sid)
        H.add_edge(u, v, key=k, **d)
    for n in H.nodes:
        H.nodes[n].update(G.nodes[n])
    required: list[EdgeId] = []
    for r in req.itertuples():
        required.append((r.u, r.v, r.key))
        if r.sides == 2:
            required.append(r.twin)
    return H, required


def _extents(
    bounds: tuple[float, float, float, float], geom: shapely.Geometry, buffer_m: float | None
) -> Iterator[shapely.Geometry | None]:
    """The area buffered by ``buffer_m``, then twice as far each time, then (None) the
    whole graph (extent ``bounds``) once a buffer would hold all of it."""
    if buffer_m is not None:
        x0, y0, x1, y1 = bounds
        whole = shapely.box(x0, y0, x1, y1)
        b = float(buffer_m)
        while True:
            ext = geom.buffer(b)
            if ext.covers(whole):
                break
            yield ext
            if b <= 0:
                break
            b *= 2
    yield None


def _undirected(
    H: nx.MultiDiGraph, required: list[EdgeId]
) -> tuple[nx.MultiGraph, list[tuple[Any, ...]]]:
    """The undirected relaxation of ``H`` (one-ways driven both ways) and the required
    edges in it; the second side of a both-sides street is a parallel edge."""
    U = nx.MultiGraph()
    ukey: dict[EdgeId, Any] = {}
    for u, v, k, d in H.edges(keys=True, data=True):
        key = k if not U.has_edge(u, v, k) else (k, "side")
        U.add_edge(u, v, key=key, time_s=d["time_s"])
        ukey[(u, v, k)] = key
    return U, [(u, v, ukey[(u, v, k)]) for u, v, k in required]


def _drive_graph(H: nx.MultiDiGraph) -> nx.DiGraph:
    D = nx.DiGraph()
    D.add_nodes_from(H.nodes)
    for u, v, d in H.edges(data=True):
        D.add_edge(u, v)
        if not d["oneway"]:
            D.add_edge(v, u)
    return D


def _main_component(H: nx.MultiDiGraph, required: list[EdgeId]) -> set[Hashable]:
    """The strongly connected part of the drivable graph holding most required metres:
    a closed walk can serve a street only if both its ends lie in it."""
    best: set[Hashable] = set()
    best_m = -1.0
    for comp in nx.strongly_connected_components(_drive_graph(H)):
        m = math.fsum(H.edges[e]["length_m"] for e in required if e[0] in comp and e[1] in comp)
        if m > best_m:
            best, best_m = set(comp), m
    return best


def _unreachable(
    H: nx.MultiDiGraph, arc: EdgeId, prof: ModeProfile, area_id: str | None, n_bad: int
) -> UnreachableError:
    d = H.edges[arc]
    name = f"area {area_id}" if area_id else "the area"
    why = (
        "its one-way streets make the area impossible to close: no closed walk can serve them all"
        if prof.oneway != "ignore"
        else "the street network is disconnected"
    )
    return UnreachableError(
        f"{name}, mode {prof.name!r}: {n_bad} required street(s) cannot be reached and left "
        f"again, e.g. {d['name'] or _UNNAMED_ZH} (street {d['street_id']}, arc {arc!r}): {why}; "
        "give --skip-unreachable (unreachable='skip' in Python) to route the rest and list them"
    )


def _bearing(g: shapely.LineString, at_end: bool) -> float:
    length = g.length
    if length == 0:
        return float("nan")
    s = min(10.0, length)
    if at_end:
        a, b = g.interpolate(length - s), g.interpolate(length)
    else:
        a, b = g.interpolate(0.0), g.interpolate(s)
    return math.degrees(math.atan2(b.y - a.y, b.x - a.x))


def _turn(prev: dict[str, Any], nxt: dict[str, Any]) -> str:
    if prev["street_id"] == nxt["street_id"] and prev["reverse"] != nxt["reverse"]:
        return "uturn"
    b1, b2 = _bearing(prev["geometry"], True), _bearing(nxt["geometry"], False)
    if math.isnan(b1) or math.isnan(b2):
        return "straight"
    delta = (b2 - b1 + 540.0) % 360.0 - 180.0
    if abs(delta) < 30:
        return "straight"
    if abs(delta) > 150:
        return "uturn"
    return "left" if delta > 0 else "right"


def _legs(
    H: nx.MultiDiGraph, route: Route, required_ids: set[str], prof: ModeProfile
) -> tuple[list[dict[str, Any]], list[str]]:
    legs: list[dict[str, Any]] = []
    for (a, b, k), s in zip(route.edges, route.served, strict=True):
        if H.has_edge(a, b, k):
            d = H.edges[a, b, k]
            geom, rev = d["geometry"], False
        else:
            d = H.edges[b, a, k]
            geom, rev = d["geometry"].reverse(), True
        legs.append(
            {
                "arc": (b, a, k) if rev else (a, b, k),
                "street_id": d["street_id"],
                "name": d["name"],
                "highway": d["highway"],
                "grade": d["grade"],
                "served": bool(s),
                "required": d["street_id"] in required_ids,
                "length_m": d["length_m"],
                "time_s": d["time_s"],
                "reverse": rev,
                "geometry": geom,
            }
        )
    actions = ["depart"]
    t = 0.0
    for i, leg in enumerate(legs):
        if i:
            act = _turn(legs[i - 1], leg)
            actions.append(act)
            t += (
                prof.uturn_s if act == "uturn" else prof.turn_s if act in ("left", "right") else 0.0
            )
        leg["t_start_s"] = t
        t += leg["time_s"]
        leg["t_end_s"] = t
    return legs, actions


def _instructions(legs: list[dict[str, Any]], actions: list[str]) -> tuple[Instruction, ...]:
    steps: list[dict[str, Any]] = []
    for leg, act in zip(legs, actions, strict=True):
        if steps and act == "straight" and leg["name"] == steps[-1]["street"]:
            steps[-1]["distance_m"] += leg["length_m"]
            steps[-1]["duration_s"] += leg["t_end_s"] - leg["t_start_s"]
            continue
        x, y = leg["geometry"].coords[0]
        steps.append(
            {
                "action": act,
                "street": leg["name"],
                "distance_m": leg["length_m"],
                "duration_s": leg["t_end_s"] - leg["t_start_s"],
                "x": x,
                "y": y,
            }
        )
    out: list[Instruction] = []
    for i, s in enumerate(steps):
        zh_name = s["street"] or _UNNAMED_ZH
        en_name = s["street"] or "unnamed road"
        dist = f"{s['distance_m']:.0f}"
        if s["action"] == "depart":
            zh = f"从{zh_name}出发，行驶 {dist} 米"
            en = f"Start on {en_name}, go {dist} m"
        elif s["action"] == "straight":
            zh = f"直行进入{zh_name}，行驶 {dist} 米"
            en = f"Continue onto {en_name}, go {dist} m"
        elif s["action"] == "uturn":
            zh = f"掉头沿{zh_name}行驶 {dist} 米"
            en = f"Make a U-turn on {en_name}, go {dist} m"
        else:
            zh = f"{_ACTIONS_ZH[s['action']]}进入{zh_name}，行驶 {dist} 米"
            en = f"Turn {s['action']} onto {en_name}, go {dist} m"
        out.append(
            Instruction(
                i,
                s["action"],
                s["street"],
                s["distance_m"],
                s["duration_s"],
                float(s["x"]),
                float(s["y"]),
                zh,
                en,
            )
        )
    if legs:
        x, y = legs[-1]["geometry"].coords[-1]
        out.append(
            Instruction(
                len(out),
                "arrive",
                None,
                0.0,
                0.0,
                float(x),
                float(y),
                "回到起点，巡查结束",
                "Back at the start: patrol complete",
            )
        )
    return tuple(out)


def area_route(
    G: nx.MultiDiGraph | PreparedGraph,
    area: shapely.Geometry | gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    start: tuple[float, float] | None = None,
    start_crs: pyproj.CRS | str = "EPSG:4326",
    area_crs: pyproj.CRS | str | None = None,
    area_id: str | None = None,
    boundary: str = "north",
    boundary_tolerance_m: float = 2.0,
    highways: Collection[str] | None = None,
    both_sides: Collection[str] = (),
    buffer_m: float | None = 300.0,
    max_snap_m: float = 200.0,
    unreachable: str = "raise",
    lower_bound: bool = True,
    time_limit_s: float = 5.0,
    iterations: int | None = 300,
    seed: int = 0,
    outside_note_m: float = 200.0,
) -> PatrolRoute:
    """Patrol route of one area for the mode of ``G``.

    Parameters
    ----------
    G : networkx.MultiDiGraph or PreparedGraph
        Street graph of one mode, metric CRS (:mod:`urbangrid.routing.patrol.streets`).
        For many areas of one graph pass :func:`prepare_graph`'s result: its spatial
        index is then built once (a plain graph is prepared on every call).
    area : shapely geometry, GeoDataFrame or GeoSeries
        The collector's area (a work grid, unit grids, any polygon).
    start : (float, float), optional
        Start point (e.g. the community office) in ``start_crs``: longitude and
        latitude in degrees for the default EPSG:4326. Default: the end of a
        required street nearest the area's representative point (a point inside it).
    start_crs : pyproj.CRS or str
        CRS of ``start``: any EPSG code, CGCS2000 (``"EPSG:4490"``), ``"GCJ-02"`` (a
        point picked on Amap or Tencent maps) or ``"BD-09"`` (Baidu).
    area_crs : pyproj.CRS or str, optional
        CRS of a bare geometry ``area``, as ``start_crs`` (GCJ-02 and BD-09 included).
    area_id : str, optional
        The area's code, kept on the route and used in messages.
    boundary, boundary_tolerance_m, highways, both_sides
        Which streets are required, see :func:`required_streets`.
    buffer_m : float or None
        The route may leave the area by this many metres (None: anywhere in ``G``).
        Required streets that only the whole graph can close (a loop through a far
        bridge, a one-way system) bring the quickest ways to them and back, found
        in the whole graph; failing that the buffer doubles until it can. The solver
        so works on the streets near the area, not the city (about 4 s instead of
        minutes for 1 km² of the 175,416-arc Wuhan graph), and serves what the whole
        graph could.
    max_snap_m : float
        Largest distance (metres) from ``start`` to a street.
    unreachable : {"raise", "skip"}
        What to do with required streets that no closed walk can serve (one-way
        traps, often a clipped extract or a tagging error): raise, or route the rest
        and list them in :attr:`PatrolRoute.skipped`.
    lower_bound : bool
        For mixed graphs, compute the lower bound of the undirected relaxation (on foot
        the rural postman solver gives it anyway).
    time_limit_s : float
        Seconds for the route search.
    iterations : int or None
        Search budget; with a number the result is deterministic for a ``seed``.
    seed : int
        Random seed of the search.
    outside_note_m : float
        A route running farther than this (metres) from the area gets a note saying
        so and why (:attr:`PatrolRoute.notes`, :attr:`PatrolRoute.outside_m`).

    Returns
    -------
    PatrolRoute

    Raises
    ------
    PatrolAreaError
        The area is empty, not a polygon, or holds no street the mode patrols.
    SnapError
        ``start`` is farther than ``max_snap_m`` from every street.
    UnreachableError
        A required street cannot be reached from the start and back (one-way streets
        that make the area impossible to close, or a disconnected network).
    """
    if unreachable not in ("raise", "skip"):
        raise RoutingError(f"unreachable must be 'raise' or 'skip', not {unreachable!r}")
    P = prepare_graph(G)
    S, G = P.state(), P.graph
    prof = get_mode(G.graph["mode"])
    geom = _area_geometry(area, area_crs, G, area_id)
    # a street is required when its midpoint is within the tolerance of the area, so
    # it meets this margin: the streets near the area decide as the whole graph would
    margin = 2 * boundary_tolerance_m + 1.0
    rule = {"boundary": boundary, "boundary_tolerance_m": boundary_tolerance_m,
            "highways": highways, "both_sides": both_sides}
    req = _area_streets(S, G, geom, margin, prof, area_id, rule)
    default_start = start is None
    if start is None:
        rp = geom.representative_point()
        start, start_crs, max_snap_m = (rp.x, rp.y), G.graph["crs"], math.inf
    H, required, closable, comp = _routable(
        S, G, geom, req, (buffer_m, margin), unreachable == "raise", prof, area_id
    )
    skipped = sorted({H.edges[e]["street_id"] for e in required if e not in closable})
    if not closable:
        name = f"area {area_id}" if area_id else "area"
        raise PatrolAreaError(f"{name}: none of its streets lie on a closed {prof.name} walk")
    # no office given: start on a required street, near the area's middle
    inner = H.edge_subgraph(closable) if default_start else H.subgraph(comp)
    node, snap_m = snap_point(inner, start[0], start[1], crs=start_crs, max_snap_m=max_snap_m)
    wide = bool((req["sides"] == 2).any())
    search = {"time_limit_s": time_limit_s, "iterations": iterations, "seed": seed}
    plan, lb = _solve(H, closable, node, prof.oneway == "ignore" and not wide, lower_bound, search)
    route = _concatenate(H, plan.routes, node)
    optimal = plan.optimal
    plan = RoutePlan(routes=(route,), weight="time_s", info=dict(plan.info))
    check_plan(H, plan, weight="time_s", required=closable, oneway="oneway")
    plan = RoutePlan(routes=plan.routes, weight="time_s", lower_bound=lb, info=plan.info,
                     optimal=optimal)
    req = req[~req["street_id"].isin(skipped)]
    legs, actions = _legs(H, route, set(req["street_id"]), prof)
    outside_m, note = _outside(H, legs, geom, outside_note_m, area_id)
    return PatrolRoute(
        area_id=area_id,
        mode=prof.name,
        crs=G.graph["crs"],
        start_node=node,
        start_snap_m=snap_m,
        plan=plan,
        legs=_legs_frame(legs, G.graph["crs"]),
        instructions=_instructions(legs, actions),
        required=_side_ids(req),
        street_m=float((req["length_m"] * req["sides"]).sum()),
        area=geom,
        lower_bound_s=lb,
        problem=_problem_name(prof, wide),
        uturns=actions.count("uturn"),
        turns=actions.count("left") + actions.count("right"),
        skipped=tuple(skipped),
        outside_m=outside_m,
        notes=tuple(n for n in (note, _oneway_note(G, prof)) if n),
    )


def _oneway_note(G: nx.MultiDiGraph, prof: ModeProfile) -> str | None:
    """Where a survey file's one-way streets came from (``G.graph["oneway_from"]``, set by
    :func:`urbangrid.loaders.osm.read_streets`), so a route over a file whose one-way
    column was not found or not read is not taken for one that respects it."""
    src = G.graph.get("oneway_from")
    if not src:
        return None
    return src + ("; on foot one-way streets are walked both ways"
                  if prof.oneway == "ignore" else "")


def _outside(H: nx.MultiDiGraph, legs: list[dict[str, Any]], area: shapely.Geometry,
             limit_m: float, area_id: str | None) -> tuple[float, str | None]:
    """How far (metres, graph CRS) the route runs outside the area, and, beyond
    ``limit_m``, a note saying where and why: the one-way streets it has to ride round,
    or no way back inside the area."""
    if not legs:
        return 0.0, None
    geoms = np.array([leg["geometry"] for leg in legs], dtype=object)
    far = np.zeros(len(legs))
    for i, g in enumerate(geoms):
        pts = shapely.points(shapely.get_coordinates(g))
        far[i] = float(shapely.distance(pts, area).max()) if len(pts) else 0.0
    worst = float(far.max())
    if worst <= limit_m:
        return worst, None
    i = int(far.argmax())
    name = f"area {area_id}" if area_id else "the area"
    where = legs[i]["name"] or f"an unnamed {legs[i].get('highway') or 'street'}"
    served = {leg["street_id"]: leg for leg in legs
              if leg["served"] and H.edges[leg["arc"]].get("oneway")}
    named = sorted({str(leg["name"]) for leg in served.values() if leg["name"]})
    unnamed = pd.Series([str(leg.get("highway") or "street") for leg in served.values()
                         if not leg["name"]], dtype=object).value_counts()
    # an unnamed street is told by its class, not its edge id, which no reader knows
    oneway = named + [f"{n} unnamed {hw} street{'s' if n > 1 else ''}"
                      for hw, n in unnamed.items()]
    why = (f"the one-way streets it serves ({', '.join(oneway[:3])}"
           f"{', …' if len(oneway) > 3 else ''}) have no way back inside {name}"
           if oneway else f"no street inside {name} links its streets up")
    return worst, (f"the route leaves {name} by up to {worst:,.0f} m (along {where}, over "
                   f"the {limit_m:,.0f} m allowed): {why}; the nearest way round is outside")


def _area_streets(
    S: _GraphState,
    G: nx.MultiDiGraph,
    geom: shapely.Geometry,
    margin: float,
    prof: ModeProfile,
    area_id: str | None,
    rule: dict[str, Any],
) -> gpd.GeoDataFrame:
    """:func:`required_streets` of the area, found on the arcs within ``margin``
    (metres) of it; raises :class:`PatrolAreaError` saying why when there are none."""
    near = _local_graph(S, G, geom.buffer(margin))
    # no street near: the whole graph's (empty) table, with its columns
    req = required_streets(
        near if near.number_of_edges() else G,
        geom,
        area_crs=G.graph["crs"],
        area_id=area_id,
        **rule,
    )
    if len(req) == 0:
        name = f"area {area_id}" if area_id else "area"
        where = (
            "it lies outside the street graph's extent"
            if not geom.intersects(shapely.box(*S.bounds))
            else f"no {prof.name} patrol street ({', '.join(sorted(prof.patrol)[:4])}, …) "
            "has its midpoint inside it"
        )
        raise PatrolAreaError(f"{name}: no street to patrol: {where}")
    return req


def _routable(
    S: _GraphState,
    G: nx.MultiDiGraph,
    geom: shapely.Geometry,
    req: gpd.GeoDataFrame,
    buffer: tuple[float | None, float],
    strict: bool,
    prof: ModeProfile,
    area_id: str | None,
) -> tuple[nx.MultiDiGraph, list[EdgeId], list[EdgeId], set[Hashable]]:
    """The solve graph of the first extent (see :func:`_extents`) on which a closed
    walk serves every required arc the whole graph could: ``(H, required, closable,
    component)``. ``buffer`` is ``(buffer_m, margin_m)``; with ``strict`` a required
    arc no closed walk can serve raises :class:`UnreachableError`."""
    buffer_m, margin = buffer
    for ext in _extents(S.bounds, geom, buffer_m):
        region = None
        if ext is None:
            H, required = _solve_graph(G, req, None)
        else:
            # the arcs near the buffer, and the required streets wherever they reach
            region = (
                ext
                if buffer_m is not None and buffer_m >= margin
                else ext.union(geom.buffer(margin))
            )
            H, required = _solve_graph(_local_graph(S, G, region), req, ext)
        comp = _main_component(H, required)
        closable = [e for e in required if e[0] in comp and e[1] in comp]
        if len(closable) < len(required):
            # what the whole graph can close: a wider buffer cannot do better
            whole = _closable_in_whole(S, H, required)
            if len(whole) < len(required) and strict:
                bad = next(e for e in required if e not in whole)
                raise _unreachable(H, bad, prof, area_id, len(required) - len(whole))
            if region is not None and set(closable) != whole:
                # a few streets the buffer cannot close (a loop through a bridge, a
                # one-way system): add the quickest ways there and back rather than a
                # wider buffer all round; a far bigger graph makes the search slow
                extra = _corridor(S, comp, whole - set(closable))
                H, required = _solve_graph(_local_graph(S, G, region, extra), req, ext, extra)
                comp = _main_component(H, required)
                closable = [e for e in required if e[0] in comp and e[1] in comp]
                if set(closable) != whole:
                    continue
        return H, required, closable, comp
    raise AssertionError("the last extent, the whole graph, always returns")  # pragma: no cover


def _solve(
    H: nx.MultiDiGraph,
    required: list[EdgeId],
    node: Hashable,
    undirected: bool,
    lower_bound: bool,
    search: dict[str, Any],
) -> tuple[RoutePlan, float | None]:
    """Solve the routing problem on ``H`` (weight ``time_s``, seconds) from ``node``:
    rural postman when ``undirected`` (on foot, no street on both sides), else the
    CARP search for one collector; with the undirected relaxation's lower bound."""
    U, required_u = _undirected(H, required)
    limit = search["time_limit_s"]
    if undirected:
        plan = rural_postman(U, required_u, weight="time_s", start=node, time_limit_s=limit)
        return plan, plan.lower_bound
    exact = None
    if H.number_of_edges() <= EXACT_MAX_ARCS:
        # small enough to solve exactly (collector areas are): an optimal route with its
        # certificate, else the integer program's bound, far tighter than the relaxation
        exact = mixed_rural_postman_exact(H, required, start=node, weight="time_s",
                                          oneway="oneway", time_limit_s=min(limit, 2.0))
        if exact.route is not None:
            plan = RoutePlan(routes=(exact.route,), weight="time_s",
                             lower_bound=exact.lower_bound, optimal=True,
                             info={"solver": "exact mixed rural postman", **exact.info})
            return plan, exact.lower_bound
    plan = collector_routes(
        H,
        depot=node,
        required=required,
        weight="time_s",
        oneway="oneway",
        objective="total",
        **search,
    )
    if exact is not None and exact.lower_bound > 0:
        return plan, exact.lower_bound
    # any mixed walk is an undirected one: the relaxation's bound holds
    if not lower_bound:
        return plan, None
    relaxed = rural_postman(U, required_u, weight="time_s", start=node, time_limit_s=limit)
    return plan, relaxed.lower_bound


def _problem_name(prof: ModeProfile, wide: bool) -> str:
    problem = (
        "rural postman, undirected (one-ways ignored)"
        if prof.oneway == "ignore"
        else "rural postman, mixed (one-way streets forwards only)"
    )
    return problem + (", wide roads on both sides" if wide else "")


def _legs_frame(legs: list[dict[str, Any]], crs: str) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        [{k: v for k, v in leg.items() if k not in ("reverse", "arc")} for leg in legs],
        geometry="geometry",
        crs=crs,
    )
    frame.insert(0, "seq", np.arange(len(frame)))
    return frame


def _side_ids(req: gpd.GeoDataFrame) -> tuple[str, ...]:
    """Required street ids; ``"<id>@<u>"`` per side of a street required on both."""
    side_ids = []
    for r in req.itertuples():
        if r.sides == 2:
            side_ids += [f"{r.street_id}@{r.u}", f"{r.street_id}@{r.v}"]
        else:
            side_ids.append(str(r.street_id))
    return tuple(side_ids)


def _concatenate(H: nx.MultiDiGraph, routes: Iterable[Route], depot: Hashable) -> Route:
    # with no capacity the search returns one route; ties may split it at the depot,
    # and closed walks through one depot join into one
    edges: list[EdgeId] = []
    served: list[bool] = []
    for r in routes:
        edges += list(r.edges)
        served += list(r.served)
    cost = math.fsum(r.cost for r in routes)
    dead = math.fsum(r.deadhead_cost for r in routes)
    return Route(
        start=depot, edges=tuple(edges), served=tuple(served), cost=cost, deadhead_cost=dead
    )


def route_from_walk(
    G: nx.MultiDiGraph,
    route: Route,
    *,
    area: shapely.Geometry | None = None,
    area_id: str | None = None,
    lower_bound_s: float | None = None,
    problem: str = "collector area round",
) -> PatrolRoute:
    """A :class:`PatrolRoute` (legs, turn-by-turn steps, timing) of a closed walk on ``G``.

    For walks found elsewhere, e.g. the rounds of
    :func:`~urbangrid.routing.patrol.collector_areas.plan_collector_areas`, so they can be
    exported (GPX, ``patrol_route`` layer) and timed like :func:`area_route`'s.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The street graph the walk runs on (metric CRS in ``G.graph["crs"]``, ``time_s``,
        ``geometry``, ``street_id`` on every arc).
    route : Route
        The closed walk; its served traversals are the required streets.
    area : shapely geometry, optional
        The area, graph CRS (metres).
    area_id : str, optional
        The area's code.
    lower_bound_s : float, optional
        A proven lower bound on the round's travel time, seconds.
    problem : str
        The routing problem the walk solves, for the record.
    """
    prof = get_mode(G.graph["mode"])
    served = {G.edges[e]["street_id"] if G.has_edge(*e) else
              G.edges[e[1], e[0], e[2]]["street_id"]
              for e, s in zip(route.edges, route.served, strict=True) if s}
    required = sorted(str(i) for i in served)
    legs, actions = _legs(G, route, served, prof)
    street_m = math.fsum(leg["length_m"] for leg in legs if leg["served"])
    return PatrolRoute(
        area_id=area_id, mode=prof.name, crs=G.graph["crs"], start_node=route.start,
        start_snap_m=0.0,
        plan=RoutePlan(routes=(route,), weight="time_s", lower_bound=lower_bound_s),
        legs=_legs_frame(legs, G.graph["crs"]), instructions=_instructions(legs, actions),
        required=tuple(required), street_m=street_m, area=area, lower_bound_s=lower_bound_s,
        problem=problem, uturns=actions.count("uturn"),
        turns=actions.count("left") + actions.count("right"),
    )


def area_routes(
    G: nx.MultiDiGraph | PreparedGraph,
    areas: gpd.GeoDataFrame,
    *,
    id_column: str,
    starts: gpd.GeoSeries | None = None,
    skipped: list[tuple[str, str]] | None = None,
    **options: Any,
) -> list[PatrolRoute]:
    """Patrol routes of every area of a layer (e.g. every work grid of a district).

    Parameters
    ----------
    G : networkx.MultiDiGraph or PreparedGraph
        Street graph of one mode (a plain graph is prepared once for all areas).
    areas : geopandas.GeoDataFrame
        One polygon per area, with a CRS.
    id_column : str
        Column holding each area's code.
    starts : geopandas.GeoSeries, optional
        One start point per area (same index), any CRS; default each area's
        representative point.
    skipped : list, optional
        When given, an area with no street to patrol (a campus interior, a park)
        is left out and ``(area_id, reason)`` appended here, instead of raising
        :class:`~urbangrid.errors.PatrolAreaError`.
    **options
        Passed to :func:`area_route`.

    Returns
    -------
    list of PatrolRoute
        In the order of ``areas``.
    """
    if areas.crs is None:
        raise PatrolAreaError("areas have no CRS")
    if id_column not in areas.columns:
        raise PatrolAreaError(f"areas have no column {id_column!r}")
    P = prepare_graph(G)
    out = []
    for idx, row in areas.iterrows():
        start = None
        start_crs: Any = "EPSG:4326"
        if starts is not None:
            pt = starts.loc[idx]
            start, start_crs = (pt.x, pt.y), starts.crs
        try:
            out.append(
                area_route(
                    P,
                    row.geometry,
                    area_crs=areas.crs,
                    area_id=str(row[id_column]),
                    start=start,
                    start_crs=start_crs,
                    **options,
                )
            )
        except PatrolAreaError as exc:
            if skipped is None:
                raise
            skipped.append((str(row[id_column]), str(exc)))
    return out


def routes_table(routes: Iterable[PatrolRoute]) -> pd.DataFrame:
    """One row per route: area, km², street km, route km, minutes, deadhead %, bound.

    ``gap_pct`` compares the route's travel time (no penalties) with the proven lower
    bound ``lower_bound_s``.
    """
    return pd.DataFrame([r.summary() for r in routes])
