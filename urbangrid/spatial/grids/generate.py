"""Generate unit grids (单元网格) from street centrelines and community boundaries.

The method, for an area that has no grids yet:

1. **Check and project.** Streets and communities must have a CRS, non-empty valid
   geometries of the right type, and coordinates that fit the CRS. Everything is
   projected to a metric CRS chosen from the area (:func:`choose_metric_crs`: the
   CGCS2000 3-degree Gauss-Krüger zone in China, UTM elsewhere); the output states it.
2. **Resolve the community coverage** (:func:`resolve_communities`). Overlaps and holes
   up to a tolerance are fixed and listed; larger ones raise
   :class:`~urbangrid.errors.CommunityCoverageError` naming the communities and place.
3. **Polygonise** the street centrelines together with the community boundaries
   (``shapely.union_all`` nodes the linework on a 1 mm grid, ``shapely.polygonize`` builds
   the faces). Because the community boundaries are part of the linework, every face lies
   in exactly one community: a block cut by a community line becomes two faces.
4. **Split** faces larger than ``target × (1 + tolerance)``: first along internal ways
   (service roads, footpaths) if given, then along the long axis of the face's minimum
   rotated rectangle into ``round(area / target)`` pieces of equal area.
5. **Merge.** Road strips (mean width below :data:`STRIP_WIDTH_M`, small: the median of
   a divided road, a junction's islands) are dealt out to the blocks around them, each
   part to the nearest (:func:`split_road_strips`), so that a boundary runs along the
   middle of a divided road, not round both carriageways; a block grown past
   ``target × (1 + tolerance)`` is cut again. Then slivers (area below ``sliver_area_m2``
   or mean width ``2 A / P`` below ``sliver_width_m``) join the neighbour in the same
   community with which they share the longest edge, then small faces (below
   ``target × (1 - tolerance)``) likewise while the merged grid stays within
   ``target × (1 + tolerance)``.
6. **Code** the grids (see :mod:`urbangrid.spatial.grids.codes`).

All areas are in m² and lengths in metres, in the chosen metric CRS.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from urbangrid.errors import (
    CommunityCoverageError,
    GridCRSError,
    GridGeometryError,
)
from urbangrid.spatial.crs.metric import choose_metric_crs
from urbangrid.spatial.grids.codes import DEFAULT_ROW_HEIGHT_M, number_grids

__all__ = [
    "GENERATE_STAGES",
    "INTERNAL_WAY_HIGHWAYS",
    "STREET_HIGHWAYS",
    "GeneratedGrids",
    "check_layer",
    "generate_unit_grids",
    "merge_small_faces",
    "partition_by_lines",
    "resolve_communities",
]

#: The stages of :func:`generate_unit_grids`, in order, as its ``progress`` hook names them.
GENERATE_STAGES = ("communities", "blocks", "split", "merge", "codes")

#: OSM ``highway`` values whose centrelines bound unit grids (streets a collector walks).
STREET_HIGHWAYS: frozenset[str] = frozenset({
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
    "living_street", "motorway_link", "trunk_link", "primary_link", "secondary_link",
    "tertiary_link", "road",
})
#: OSM ``highway`` values used only to split blocks much larger than the target.
INTERNAL_WAY_HIGHWAYS: frozenset[str] = frozenset({
    "service", "pedestrian", "footway", "cycleway", "path", "steps", "track",
})

#: Noding precision in metres: linework is snapped to this grid before polygonising.
GRID_SIZE_M = 0.001

_LINE_TYPES = frozenset({"LineString", "MultiLineString", "LinearRing"})
_POLYGON_TYPES = frozenset({"Polygon", "MultiPolygon"})


@dataclass(frozen=True)
class GeneratedGrids:
    """Unit grids generated for an area, with what was done to get them.

    Attributes
    ----------
    grids : geopandas.GeoDataFrame
        One row per unit grid, in ``crs``: ``grid_code``, ``community_code``,
        ``street_code``, ``county_code``, ``area_m2``, ``block_id`` (the street block the
        grid was cut from, numbered in the first polygonisation), ``geometry``.
    communities : geopandas.GeoDataFrame
        The community polygons after :func:`resolve_communities`, in ``crs``.
    fixes : pandas.DataFrame
        Community coverage fixes applied (overlap trimmed, hole filled), with area and
        location; see :func:`resolve_communities`.
    crs : pyproj.CRS
        The metric CRS of ``grids`` and ``communities`` (stated so downstream code never
        guesses).
    stats : dict
        ``n_grids``, ``n_blocks``, ``median_area_m2``, ``coverage_error`` (area of the
        symmetric difference between the union of grids and the union of the input
        communities, divided by the latter) and the parameters used.
    """

    grids: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    fixes: pd.DataFrame
    crs: pyproj.CRS
    stats: dict[str, object] = field(default_factory=dict)


# --------------------------------------------------------------------------- input checks


def _feature_name(gdf: gpd.GeoDataFrame, pos: int, id_column: str | None) -> str:
    label = f"row {pos}"
    if id_column is not None and id_column in gdf.columns:
        label += f" ({id_column}={gdf[id_column].iloc[pos]!r})"
    return label


def _looks_like_degrees(bounds: np.ndarray) -> bool:
    minx, miny, maxx, maxy = bounds
    return bool(-180.0 <= minx <= maxx <= 180.0 and -90.0 <= miny <= maxy <= 90.0
                and maxx - minx < 5.0 and maxy - miny < 5.0)


def check_layer(
    gdf: gpd.GeoDataFrame,
    layer: str,
    *,
    kind: str,
    id_column: str | None = None,
) -> None:
    """Check one input layer before any work is done.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The layer. Must have a CRS; coordinates in that CRS.
    layer : str
        Name used in messages (e.g. ``"communities"`` or a file name).
    kind : {"line", "polygon"}
        Expected geometry kind.
    id_column : str, optional
        Column whose value identifies a feature in messages (e.g. ``community_code``).

    Raises
    ------
    GridCRSError
        No CRS; or a projected (metre) CRS while the coordinates are degrees.
    GridGeometryError
        A geometry is missing, empty, invalid (e.g. self-intersecting) or of the wrong
        type; the message names each bad feature (up to 10) and the reason.
    """
    if gdf.crs is None:
        msg = f"{layer}: no CRS; set it (e.g. gdf.set_crs('EPSG:4326')) before generating grids"
        raise GridCRSError(msg)
    geoms = gdf.geometry.to_numpy()
    problems: list[str] = []
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for pos in np.flatnonzero(missing)[:10]:
        problems.append(f"{_feature_name(gdf, int(pos), id_column)}: empty geometry")
    allowed = _LINE_TYPES if kind == "line" else _POLYGON_TYPES
    names = np.asarray(gdf.geom_type.to_numpy(), dtype=object)
    wrong = ~missing & ~np.isin(names, list(allowed))
    for pos in np.flatnonzero(wrong)[:10]:
        problems.append(f"{_feature_name(gdf, int(pos), id_column)}: {names[pos]} where a "
                        f"{kind} is expected")
    invalid = ~missing & ~wrong & ~shapely.is_valid(geoms)
    for pos in np.flatnonzero(invalid)[:10]:
        reason = shapely.is_valid_reason(geoms[pos])
        problems.append(f"{_feature_name(gdf, int(pos), id_column)}: invalid geometry: {reason}")
    n_bad = int(missing.sum() + wrong.sum() + invalid.sum())
    if n_bad:
        msg = f"{layer}: {n_bad} bad feature(s):\n  " + "\n  ".join(problems)
        raise GridGeometryError(msg)
    if len(gdf) and gdf.crs.is_projected and _looks_like_degrees(gdf.total_bounds):
        unit = gdf.crs.axis_info[0].unit_name if gdf.crs.axis_info else "metre"
        msg = (f"{layer}: coordinates {np.round(gdf.total_bounds, 4).tolist()} look like "
               f"degrees, but the CRS {gdf.crs.to_string()} is in {unit}s; set the right "
               "CRS (e.g. EPSG:4326) instead of a projected one")
        raise GridCRSError(msg)




# ---------------------------------------------------------------- community coverage


def resolve_communities(
    communities: gpd.GeoDataFrame,
    *,
    code_column: str = "community_code",
    gap_tolerance_m2: float = 100.0,
    overlap_tolerance_m2: float = 100.0,
    allow_holes: bool = False,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Make community polygons a clean coverage: no overlaps, no holes between them.

    Parameters
    ----------
    communities : geopandas.GeoDataFrame
        Community polygons in a projected CRS with metre units, one row per community,
        with a unique 12-digit ``code_column``.
    code_column : str
        Column with the community code.
    gap_tolerance_m2 : float
        A hole in the union of communities up to this area (m²) is filled: it is given to
        the community sharing the longest edge with it. A larger hole raises.
    overlap_tolerance_m2 : float
        An overlap between two communities up to this area (m²) is given to the community
        whose code sorts first. A larger overlap raises.
    allow_holes : bool
        Keep larger holes as holes (enclaves of another jurisdiction) instead of raising.

    Returns
    -------
    communities : geopandas.GeoDataFrame
        Same rows and columns, geometry fixed, sorted by code.
    fixes : pandas.DataFrame
        One row per fix: ``fix`` (``overlap_trimmed`` / ``hole_filled``),
        ``community_code``, ``other_code``, ``area_m2``, ``x``, ``y`` (a point in the fixed
        area, metres, same CRS).

    Raises
    ------
    CommunityCoverageError
        Duplicate codes, overlaps or holes above tolerance; names each with its location.
    """
    if code_column not in communities.columns:
        msg = f"communities: no column {code_column!r} (have {list(communities.columns)})"
        raise CommunityCoverageError(msg)
    codes = communities[code_column].astype(str)
    dup = codes[codes.duplicated(keep=False)]
    if len(dup):
        msg = (f"communities: duplicate {code_column} {sorted(set(dup))} "
               f"at rows {dup.index.tolist()}")
        raise CommunityCoverageError(msg)
    comm = communities.assign(**{code_column: codes})
    comm = comm.sort_values(code_column).reset_index(drop=True)
    geoms = shapely.set_precision(comm.geometry.to_numpy(), GRID_SIZE_M)
    code_arr = comm[code_column].to_numpy()
    fixes: list[dict[str, object]] = []
    errors: list[str] = []
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    overlaps = shapely.intersection(geoms[left], geoms[right], grid_size=GRID_SIZE_M)
    areas = shapely.area(overlaps)
    for i, j, ov, a in zip(left, right, overlaps, areas, strict=True):
        if a <= 0:
            continue
        ov = _polygonal(ov)
        pt = shapely.point_on_surface(ov)
        if a > overlap_tolerance_m2:
            errors.append(f"communities {code_arr[i]} and {code_arr[j]} overlap by {a:.1f} m² "
                          f"near ({pt.x:.1f}, {pt.y:.1f})")
            continue
        geoms[j] = shapely.difference(geoms[j], ov, grid_size=GRID_SIZE_M)
        fixes.append({"fix": "overlap_trimmed", "community_code": code_arr[j],
                      "other_code": code_arr[i], "area_m2": float(a), "x": pt.x, "y": pt.y})
    union = shapely.union_all(geoms, grid_size=GRID_SIZE_M)
    holes = [shapely.Polygon(ring) for poly in shapely.get_parts(union)
             for ring in poly.interiors]
    if holes:
        boundaries = shapely.boundary(geoms)
        for hole in holes:
            shared = shapely.length(shapely.intersection(boundaries, hole.exterior,
                                                         grid_size=GRID_SIZE_M))
            touching = np.flatnonzero(shared > 0)
            pt = shapely.point_on_surface(hole)
            names = [str(code_arr[k]) for k in touching]
            if hole.area > gap_tolerance_m2:
                if not allow_holes:
                    errors.append(f"hole of {hole.area:.1f} m² between communities {names} "
                                  f"near ({pt.x:.1f}, {pt.y:.1f})")
                continue
            if not len(touching):
                continue
            k = int(touching[np.argmax(shared[touching])])
            geoms[k] = shapely.union(geoms[k], hole, grid_size=GRID_SIZE_M)
            fixes.append({"fix": "hole_filled", "community_code": code_arr[k], "other_code": "",
                          "area_m2": float(hole.area), "x": pt.x, "y": pt.y})
    if errors:
        msg = ("communities do not form a clean coverage (tolerances: gap "
               f"{gap_tolerance_m2} m², overlap {overlap_tolerance_m2} m²):\n  "
               + "\n  ".join(errors[:20]))
        raise CommunityCoverageError(msg)
    geoms = shapely.make_valid(geoms)
    geoms = np.array([_polygonal(g) for g in geoms], dtype=object)
    out = comm.set_geometry(gpd.GeoSeries(geoms, crs=comm.crs, index=comm.index))
    fix_frame = pd.DataFrame(fixes, columns=["fix", "community_code", "other_code", "area_m2",
                                             "x", "y"])
    return out, fix_frame


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in _POLYGON_TYPES]
    return shapely.union_all(parts) if len(parts) != 1 else parts[0]


# ------------------------------------------------------------------------- face building


def _faces(lines: np.ndarray) -> np.ndarray:
    """Polygonise linework (metres) after noding it on the 1 mm grid."""
    noded = shapely.union_all(shapely.get_parts(lines), grid_size=GRID_SIZE_M)
    return shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))


def _locate_faces(faces: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Index of the polygon containing each face's interior point; -1 if none."""
    result = np.full(len(faces), -1, dtype="int64")
    if not len(faces):
        return result
    points = shapely.point_on_surface(faces)
    face_idx, poly_idx = shapely.STRtree(polygons).query(points, predicate="within")
    # A face sits in one community by construction; on exact ties keep the first polygon.
    order = np.lexsort((poly_idx, face_idx))
    face_idx, poly_idx = face_idx[order], poly_idx[order]
    first = np.ones(len(face_idx), dtype=bool)
    first[1:] = face_idx[1:] != face_idx[:-1]
    result[face_idx[first]] = poly_idx[first]
    return result


def _adjacency(geoms: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of same-label polygons sharing an edge, with the shared length (m)."""
    if len(geoms) < 2:
        empty = np.zeros(0, dtype="int64")
        return empty, empty, np.zeros(0)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = (left < right) & (labels[left] == labels[right])
    left, right = left[keep], right[keep]
    boundaries = shapely.boundary(geoms)
    shared = shapely.length(shapely.intersection(boundaries[left], boundaries[right]))
    keep = shared > 0
    return left[keep], right[keep], shared[keep]


def merge_small_faces(
    geoms: np.ndarray,
    labels: np.ndarray,
    *,
    sliver_area_m2: float,
    sliver_width_m: float,
    min_area_m2: float,
    max_area_m2: float,
) -> np.ndarray:
    """Group polygons: slivers, then small ones, join their longest-shared-edge neighbour.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely.Polygon
        A polygon coverage (no overlaps, edges noded), coordinates in metres.
    labels : numpy.ndarray
        Community of each polygon; polygons only join neighbours with the same label.
    sliver_area_m2 : float
        A group is a sliver when its area (m²) is below this ...
    sliver_width_m : float
        ... or its mean width ``2 · area / perimeter`` (m) is below this.
    min_area_m2, max_area_m2 : float
        After the slivers, groups below ``min_area_m2`` join a neighbour as long as the
        result stays at or below ``max_area_m2``.

    Returns
    -------
    numpy.ndarray of int64
        Group number of each polygon (the position of one member, the group's root).

    Notes
    -----
    Slivers are handled smallest first. A sliver joins the same-label neighbour with the
    longest shared edge whatever its size; ties go to the lower position. A sliver with no
    same-label neighbour (an isolated island of a community) stays alone. Then small groups
    are handled smallest first with the size cap. Shared lengths and perimeters are
    updated as groups merge, so decisions use the merged shapes.
    """
    n = len(geoms)
    parent = np.arange(n)
    area = shapely.area(geoms).astype("float64")
    perimeter = shapely.length(geoms).astype("float64")
    neighbours: list[dict[int, float]] = [{} for _ in range(n)]
    for i, j, length in zip(*_adjacency(geoms, np.asarray(labels)), strict=True):
        neighbours[i][int(j)] = float(length)
        neighbours[j][int(i)] = float(length)

    def is_sliver(r: int) -> bool:
        return bool(area[r] < sliver_area_m2
                    or 2.0 * area[r] < sliver_width_m * perimeter[r])

    def merge(r: int, t: int) -> int:
        shared = neighbours[r].pop(t)
        neighbours[t].pop(r)
        parent[r] = t
        area[t] += area[r]
        perimeter[t] += perimeter[r] - 2.0 * shared
        for k, length in neighbours[r].items():
            neighbours[k].pop(r)
            neighbours[k][t] = neighbours[k].get(t, 0.0) + length
            neighbours[t][k] = neighbours[t].get(k, 0.0) + length
        neighbours[r] = {}
        return t

    def best(cands: dict[int, float]) -> int:
        return min(cands, key=lambda k: (-cands[k], k))

    heap = [(area[r], r) for r in range(n) if is_sliver(r)]
    heapq.heapify(heap)
    while heap:
        a, r = heapq.heappop(heap)
        if parent[r] != r or a != area[r] or not is_sliver(r) or not neighbours[r]:
            continue
        t = merge(r, best(neighbours[r]))
        if is_sliver(t):
            heapq.heappush(heap, (area[t], t))
    heap = [(area[r], r) for r in range(n) if parent[r] == r and area[r] < min_area_m2]
    heapq.heapify(heap)
    while heap:
        a, r = heapq.heappop(heap)
        if parent[r] != r or a != area[r] or area[r] >= min_area_m2:
            continue
        cands = {k: v for k, v in neighbours[r].items() if area[r] + area[k] <= max_area_m2}
        if not cands:
            continue
        t = merge(r, best(cands))
        if area[t] < min_area_m2:
            heapq.heappush(heap, (area[t], t))
    root = parent.copy()
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt


#: A face is a road strip (the median of a divided road, an island at a junction) when
#: its mean width ``2 A / P`` is below this (m) and it is smaller than the small-grid
#: bound: such strips are shared out to the blocks on either side, so that the grid
#: boundary runs along the middle of the road as unit grids' does, rather than one grid
#: taking the strip with both carriageways. Width alone cannot tell a median from a real
#: block as narrow (a single row of houses between two streets): such a block is split
#: down its middle too. At 12 m, three junction grids of the Wuhan window kept rounds over
#: 30 min by bike; at 20 m none did.
STRIP_WIDTH_M = 20.0

#: Points every this many metres along a strip's edges decide which block each part of
#: it is nearest to.
_STRIP_STEP_M = 2.0


def split_road_strips(geoms: np.ndarray, labels: np.ndarray, *, min_area_m2: float,
                      strip_width_m: float = STRIP_WIDTH_M) -> tuple[np.ndarray, np.ndarray]:
    """Share each cluster of road strips out to the blocks around it, nearest first.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely.Polygon
        A polygon coverage (faces of the street linework), coordinates in metres.
    labels : numpy.ndarray
        Community of each polygon: strips go only to blocks with the same label.
    min_area_m2 : float
        Faces from this area (m²) up are never strips.
    strip_width_m : float
        Mean width (m) below which a small face is a strip.

    Returns
    -------
    kept : numpy.ndarray of int64
        Positions in ``geoms`` of the polygons that remain (their labels are
        ``labels[kept]``).
    polygons : numpy.ndarray of shapely.Polygon
        Those polygons: every strip cluster that touches two or more blocks is dealt out
        (each part of it to the block whose edge is nearest, by a Voronoi diagram of
        points along the edges) and left out, its blocks grown by their parts; strips
        with fewer blocks around them stay for the sliver merge. The parts' edges are
        cut separately: polygonise the result's edges again before a coverage union.
    """
    labels = np.asarray(labels)
    area = shapely.area(geoms)
    width = 2.0 * area / np.maximum(shapely.length(geoms), 1e-9)
    strip = (width < strip_width_m) & (area < min_area_m2)
    if not strip.any():
        return np.arange(len(geoms)), geoms
    left, right, _shared = _adjacency(geoms, labels)
    parent = np.arange(len(geoms))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return int(i)

    for i, j in zip(left, right, strict=True):
        if strip[i] and strip[j]:
            parent[find(int(i))] = find(int(j))
    clusters: dict[int, list[int]] = {}
    for i in np.flatnonzero(strip):
        clusters.setdefault(find(int(i)), []).append(int(i))
    blocks_of: dict[int, set[int]] = {}
    for i, j in zip(left, right, strict=True):
        for a, b in ((int(i), int(j)), (int(j), int(i))):
            if strip[a] and not strip[b]:
                blocks_of.setdefault(find(a), set()).add(b)
    out = geoms.copy()
    gone = np.zeros(len(geoms), dtype=bool)
    grow: dict[int, list[shapely.Geometry]] = {}
    for root, members in clusters.items():
        around = sorted(blocks_of.get(root, ()))
        if len(around) < 2:
            continue
        region = shapely.coverage_union_all(geoms[members])
        edge = shapely.boundary(region)
        pts, owner = [], []
        for b in around:
            shared = shapely.intersection(edge, shapely.boundary(geoms[b]))
            if shapely.length(shared) <= 0:
                continue
            dense = shapely.segmentize(shared, _STRIP_STEP_M)
            xy = shapely.get_coordinates(dense)
            pts.append(xy)
            owner.append(np.full(len(xy), b))
        if len(pts) < 2:
            continue
        xy, who = np.concatenate(pts), np.concatenate(owner)
        xy, first = np.unique(np.round(xy, 3), axis=0, return_index=True)
        who = who[first]
        if len(np.unique(who)) < 2:
            continue
        cells = shapely.get_parts(shapely.voronoi_polygons(
            shapely.multipoints(xy), extend_to=region, ordered=True))
        for b in np.unique(who):
            # the cells are a coverage (shared edges exact): a coverage union is enough
            part = shapely.intersection(shapely.coverage_union_all(cells[who == b]), region,
                                        grid_size=GRID_SIZE_M)
            part = _polygonal(part)
            if not part.is_empty:
                grow.setdefault(int(b), []).append(part)
        gone[members] = True
    for b, parts in grow.items():
        out[b] = _polygonal(shapely.union_all([geoms[b], *parts], grid_size=GRID_SIZE_M))
    keep = np.flatnonzero(~gone)
    return keep, out[keep]


def _dissolve_groups(geoms: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union each group of a noded coverage; returns (group roots, polygons)."""
    order = np.argsort(groups, kind="stable")
    roots, starts = np.unique(groups[order], return_index=True)
    pieces = np.split(geoms[order], starts[1:])
    merged = np.array([p[0] if len(p) == 1 else shapely.coverage_union_all(p) for p in pieces],
                      dtype=object)
    return roots, merged


# ------------------------------------------------------------------------------ splitting

#: Cut lines are lengthened by this much (m) at each end, so that an end computed on a
#: block edge crosses it after noding on the 1 mm grid instead of stopping a hair short
#: (a dangle polygonize would drop). The overhang becomes a dangle and is dropped itself.
CUT_OVERHANG_M = 0.05


def _extend_lines(lines: Iterable[shapely.Geometry], by: float = CUT_OVERHANG_M) -> np.ndarray:
    """Lengthen every LineString part by ``by`` metres at both ends, along its end segments."""
    out = []
    for part in shapely.get_parts(np.asarray(list(lines), dtype=object)):
        if part.geom_type != "LineString" or part.length <= 0:
            continue
        xy = shapely.get_coordinates(part)
        for end, prev in ((0, 1), (-1, -2)):
            d = xy[end] - xy[prev]
            norm = float(np.hypot(*d))
            if norm > 0:
                xy[end] = xy[end] + d / norm * by
        out.append(shapely.LineString(xy))
    return np.array(out, dtype=object)



def _halfplanes(u: np.ndarray, v: np.ndarray, t0: float, ts: np.ndarray, w0: float,
                w1: float) -> np.ndarray:
    """Rectangles covering long-axis positions t0..ts (metres) across widths w0..w1."""
    corners = np.stack([
        np.outer(np.full_like(ts, t0), u) + w0 * v,
        np.outer(ts, u) + w0 * v,
        np.outer(ts, u) + w1 * v,
        np.outer(np.full_like(ts, t0), u) + w1 * v,
    ], axis=1)
    return shapely.polygons(corners)


def _areas_below(edges: np.ndarray, cs: np.ndarray) -> np.ndarray:
    """Area (m²) of the part of a polygon with long-axis position ``t <= c``, for each c.

    ``edges`` is an (n, 4) array ``t0, w0, t1, w1`` of every ring edge in (t, w)
    coordinates, exteriors counter-clockwise and holes clockwise. By Green's theorem the
    area is half the sum of ``t dw - w dt`` over the clipped boundary: the parts of the
    edges with ``t <= c`` plus the closing segments on the line ``t = c``, whose
    ``w``-displacement is minus that of the clipped edges. Vectorised over ``cs``.
    """
    t0, w0, t1, w1 = (edges[:, k][None, :] for k in range(4))
    c = cs[:, None]
    in0, in1 = t0 <= c, t1 <= c
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(in0 != in1, (c - t0) / (t1 - t0), 0.0)
    xw = w0 + f * (w1 - w0)
    st, sw = np.where(in0, t0, c), np.where(in0, w0, xw)
    et, ew = np.where(in1, t1, c), np.where(in1, w1, xw)
    valid = in0 | in1
    cross = np.where(valid, st * ew - et * sw, 0.0).sum(axis=1)
    dw = np.where(valid, ew - sw, 0.0).sum(axis=1)
    return 0.5 * (cross - cs * dw)


def _equal_area_position(piece: shapely.Geometry, u: np.ndarray, target: float,
                         lo: float, hi: float) -> float:
    """Long-axis position (m) where the area below reaches ``target`` m²."""
    v = np.array([-u[1], u[0]])
    oriented = shapely.orient_polygons(piece, exterior_cw=False)
    parts = []
    for part in shapely.get_parts(oriented):
        for ring in [part.exterior, *part.interiors]:
            xy = np.asarray(ring.coords)
            tw = np.column_stack([xy @ u, xy @ v])
            parts.append(np.column_stack([tw[:-1], tw[1:]]))
    edges = np.concatenate(parts)
    # Two rounds of 64 candidates narrow the position to 1/4096 of the piece's length;
    # the area is piecewise quadratic in c, so a final linear step is well within 1 mm.
    for _ in range(2):
        cs = np.linspace(lo, hi, 65)
        areas = _areas_below(edges, cs)
        idx = int(np.clip(np.searchsorted(areas, target), 1, len(cs) - 1))
        lo, hi = cs[idx - 1], cs[idx]
        a_lo, a_hi = areas[idx - 1], areas[idx]
    return float(lo if a_hi == a_lo else lo + (hi - lo) * (target - a_lo) / (a_hi - a_lo))


def _long_axis_cuts(poly: shapely.Geometry, n_pieces: int) -> list[shapely.Geometry]:
    """Cut lines that split ``poly`` across its long axis into ``n_pieces`` equal areas."""
    cuts: list[shapely.Geometry] = []
    stack = [(poly, n_pieces)]
    while stack:
        piece, k = stack.pop()
        if k <= 1 or piece.is_empty or piece.area <= 0:
            continue
        k1 = k // 2
        rect = shapely.oriented_envelope(piece)
        if rect.geom_type != "Polygon":
            continue
        c = np.asarray(rect.exterior.coords)[:3]
        e1, e2 = c[1] - c[0], c[2] - c[1]
        u = e1 if np.hypot(*e1) >= np.hypot(*e2) else e2
        u = u / np.hypot(*u)
        v = np.array([-u[1], u[0]])
        xy = shapely.get_coordinates(piece)
        t, w = xy @ u, xy @ v
        t0, t1, w0, w1 = t.min() - 1.0, t.max() + 1.0, w.min() - 1.0, w.max() + 1.0
        target = piece.area * k1 / k
        cut_t = _equal_area_position(piece, u, target, t0, t1)
        line = shapely.LineString([cut_t * u + w0 * v, cut_t * u + w1 * v])
        cuts.extend(_extend_lines([shapely.intersection(line, piece)]))
        half = _halfplanes(u, v, t0, np.array([cut_t]), w0, w1)[0]
        stack.append((shapely.intersection(piece, half), k1))
        stack.append((shapely.difference(piece, half), k - k1))
    return [c for c in cuts if not c.is_empty]


# --------------------------------------------------------------------------- generation


def _is_metric(crs: pyproj.CRS | str | None) -> bool:
    if crs is None:
        return False
    crs = pyproj.CRS.from_user_input(crs)
    return bool(crs.is_projected and crs.axis_info
                and crs.axis_info[0].unit_name in ("metre", "meter"))


def _to_metric(gdf: gpd.GeoDataFrame, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    return gdf if gdf.crs == crs else gdf.to_crs(crs)


def _line_parts(gdf: gpd.GeoDataFrame | None, extent: shapely.Geometry) -> np.ndarray:
    if gdf is None or not len(gdf):
        return np.zeros(0, dtype=object)
    geoms = gdf.geometry.to_numpy()
    hits = shapely.STRtree(geoms).query(extent, predicate="intersects")
    return shapely.get_parts(geoms[np.sort(hits)])


def generate_unit_grids(
    streets: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    *,
    target_area_m2: float = 10_000.0,
    tolerance: float = 0.5,
    internal_ways: gpd.GeoDataFrame | None = None,
    code_column: str = "community_code",
    sliver_area_m2: float | None = None,
    sliver_width_m: float = 4.0,
    gap_tolerance_m2: float = 100.0,
    overlap_tolerance_m2: float = 100.0,
    allow_holes: bool = False,
    metric_crs: pyproj.CRS | str | None = None,
    code_form: int = 15,
    row_height_m: float = DEFAULT_ROW_HEIGHT_M,
    progress: Callable[[str], object] | None = None,
    split_strips: bool = True,
) -> GeneratedGrids:
    """Generate unit grids (单元网格) from street centrelines and community boundaries.

    Parameters
    ----------
    streets : geopandas.GeoDataFrame
        Street centrelines (街巷中心线), LineString/MultiLineString, any CRS (stated).
        Only ways that should bound grids: filter OSM by :data:`STREET_HIGHWAYS`.
    communities : geopandas.GeoDataFrame
        Community/village polygons (社区/村), any CRS (stated), with a unique 12-digit
        ``code_column``.
    target_area_m2 : float
        Target grid area in m² (万米单元网格: 10,000).
    tolerance : float
        Relative tolerance: blocks above ``target × (1 + tolerance)`` are split, grids
        below ``target × (1 - tolerance)`` are merged while the result stays within the
        upper bound.
    internal_ways : geopandas.GeoDataFrame, optional
        Lines (service roads, footpaths, walls) used only to split oversize blocks.
    code_column : str
        Community code column.
    sliver_area_m2 : float, optional
        Faces below this area (m²) are slivers; default ``target_area_m2 / 20``.
    sliver_width_m : float
        Faces whose mean width ``2A/P`` (m) is below this are slivers.
    gap_tolerance_m2, overlap_tolerance_m2, allow_holes
        Community coverage tolerances, see :func:`resolve_communities`.
    metric_crs : pyproj.CRS or str, optional
        Working and output CRS in metres. Default: the communities' CRS if it is
        projected in metres (a survey CRS is kept as is), else :func:`choose_metric_crs`.
    code_form : {15, 14}
        Grid code form.
    row_height_m : float
        Row height (m) for numbering serials, see :mod:`urbangrid.spatial.grids.codes`.
    progress : callable, optional
        Called with the name of each of the :data:`GENERATE_STAGES` as it starts (a
        progress bar's hook); nothing else.
    split_strips : bool
        Deal road strips (faces narrower than :data:`STRIP_WIDTH_M` on average and below
        the small-grid bound: the median of a divided road, the islands of a junction)
        out to the blocks around them, nearest first, so that grid boundaries run along
        the middle of the road (:func:`split_road_strips`). A real block that narrow (one
        row of houses between two streets) is split down its middle too. False: a strip
        joins one neighbour whole, as any sliver, and that grid takes both carriageways
        (at a multi-carriageway junction, every one of them).

    Returns
    -------
    GeneratedGrids

    Raises
    ------
    GridCRSError
        A layer has no CRS, degrees in a metre CRS, or ``metric_crs`` is not in metres.
    GridGeometryError
        Empty, invalid or wrongly typed geometry; names the feature.
    CommunityCoverageError
        Communities overlap or leave holes beyond the tolerances; names them.

    Examples
    --------
    A 3 × 3 street lattice (lines 100 m apart) around one community gives 4 blocks:

    >>> import shapely, geopandas as gpd
    >>> lines = [shapely.LineString([(0, k), (300, k)]) for k in (0, 100, 200)] + [
    ...     shapely.LineString([(k, 0), (k, 300)]) for k in (0, 100, 200)]
    >>> streets = gpd.GeoDataFrame(geometry=lines, crs="EPSG:32650")
    >>> comm = gpd.GeoDataFrame({"community_code": ["110108014001"]},
    ...                         geometry=[shapely.box(0, 0, 200, 200)], crs="EPSG:32650")
    >>> out = generate_unit_grids(streets, comm)
    >>> out.grids["grid_code"].tolist()
    ['110108014001001', '110108014001002', '110108014001003', '110108014001004']
    """
    check_layer(streets, "streets", kind="line")
    check_layer(communities, "communities", kind="polygon", id_column=code_column)
    if internal_ways is not None:
        check_layer(internal_ways, "internal_ways", kind="line")
    crs = _working_crs(communities, metric_crs)
    if not target_area_m2 > 0 or not 0 <= tolerance < 1:
        msg = f"need target_area_m2 > 0 and 0 <= tolerance < 1, got {target_area_m2}, {tolerance}"
        raise ValueError(msg)
    max_area = target_area_m2 * (1.0 + tolerance)
    min_area = target_area_m2 * (1.0 - tolerance)
    sliver_area = target_area_m2 / 20.0 if sliver_area_m2 is None else sliver_area_m2
    stage = progress or (lambda _name: None)

    stage("communities")
    comm, fixes = resolve_communities(
        _to_metric(communities, crs), code_column=code_column,
        gap_tolerance_m2=gap_tolerance_m2, overlap_tolerance_m2=overlap_tolerance_m2,
        allow_holes=allow_holes)
    comm_geoms = comm.geometry.to_numpy()
    extent = shapely.box(*shapely.total_bounds(comm_geoms)).buffer(1.0)
    street_lines = _line_parts(_to_metric(streets, crs), extent)
    base = np.concatenate([street_lines, shapely.get_parts(shapely.boundary(comm_geoms))])

    stage("blocks")
    blocks = _faces(base)
    block_comm = _locate_faces(blocks, comm_geoms)
    blocks, block_comm = blocks[block_comm >= 0], block_comm[block_comm >= 0]
    stage("split")
    lines = _split_lines(base, blocks, comm_geoms, internal_ways, crs, extent, max_area,
                         target_area_m2)
    faces = _faces(lines) if len(lines) > len(base) else blocks
    face_comm = _locate_faces(faces, comm_geoms)
    faces, face_comm = faces[face_comm >= 0], face_comm[face_comm >= 0]

    stage("merge")
    if split_strips:
        kept, grown = split_road_strips(faces, face_comm, min_area_m2=min_area)
        # a block grown past the upper bound is cut again; then the edges are polygonised
        # once more: a coverage noded once, as the merge and the dissolve need (the
        # strips' parts were cut separately)
        cuts = [c for poly in grown[shapely.area(grown) > max_area]
                for c in _long_axis_cuts(poly, max(2, round(poly.area / target_area_m2)))]
        faces = _faces(np.concatenate([shapely.boundary(grown),
                                       np.array(cuts, dtype=object)]))
        owner = _locate_faces(faces, grown)
        faces, face_comm = faces[owner >= 0], face_comm[kept][owner[owner >= 0]]
    groups = merge_small_faces(faces, face_comm, sliver_area_m2=sliver_area,
                               sliver_width_m=sliver_width_m, min_area_m2=min_area,
                               max_area_m2=max_area)
    stage("codes")
    roots, grids = _dissolve_groups(faces, groups)
    codes_comm = comm[code_column].to_numpy()[face_comm[roots]]
    out = _grid_table(grids, codes_comm, _locate_faces(grids, blocks), crs, code_form,
                      row_height_m)
    stats: dict[str, object] = {
        "n_grids": len(out),
        "n_blocks": len(blocks),
        "median_area_m2": float(np.median(out["area_m2"])) if len(out) else float("nan"),
        "coverage_error": _coverage_error(_to_metric(communities, crs), out),
        "metric_crs": f"EPSG:{crs.to_epsg()}",
        "target_area_m2": target_area_m2,
        "tolerance": tolerance,
        "sliver_area_m2": sliver_area,
        "sliver_width_m": sliver_width_m,
        "code_form": code_form,
    }
    return GeneratedGrids(out, comm, fixes, crs, stats)


def _working_crs(communities: gpd.GeoDataFrame,
                 metric_crs: pyproj.CRS | str | None) -> pyproj.CRS:
    """The metric CRS to work and answer in: given, the communities' own, or chosen."""
    if metric_crs is not None:
        crs = pyproj.CRS.from_user_input(metric_crs)
    elif _is_metric(communities.crs):
        crs = pyproj.CRS.from_user_input(communities.crs)
    else:
        crs = choose_metric_crs(communities)
    if not _is_metric(crs):
        msg = f"metric_crs must be projected in metres, got {crs.to_string()}"
        raise GridCRSError(msg)
    return crs


def _split_lines(base: np.ndarray, blocks: np.ndarray, comm_geoms: np.ndarray,
                 internal_ways: gpd.GeoDataFrame | None, crs: pyproj.CRS,
                 extent: shapely.Geometry, max_area: float, target_area_m2: float) -> np.ndarray:
    """Linework ``base`` plus the internal ways and long-axis cuts that split oversize blocks."""
    lines = base
    large = blocks[shapely.area(blocks) > max_area]
    if internal_ways is not None and len(large):
        inner = _line_parts(_to_metric(internal_ways, crs), extent)
        w_idx, b_idx = shapely.STRtree(large).query(inner, predicate="intersects")
        clipped = shapely.intersection(inner[w_idx], large[b_idx], grid_size=GRID_SIZE_M)
        lines = np.concatenate([lines, _extend_lines(clipped)])
        faces = _faces(lines)
        faces = faces[_locate_faces(faces, comm_geoms) >= 0]
        large = faces[shapely.area(faces) > max_area]
    if len(large):
        cuts = [c for poly in large
                for c in _long_axis_cuts(poly, round(poly.area / target_area_m2))]
        lines = np.concatenate([lines, np.array(cuts, dtype=object)])
    return lines


def _grid_table(grids: np.ndarray, codes_comm: np.ndarray, block_of_grid: np.ndarray,
                crs: pyproj.CRS, code_form: int, row_height_m: float) -> gpd.GeoDataFrame:
    """Coded grids sorted by ``grid_code``, with their community codes and ``area_m2``."""
    centroids = shapely.centroid(grids)
    grid_codes = number_grids(codes_comm, shapely.get_x(centroids), shapely.get_y(centroids),
                              form=code_form, row_height_m=row_height_m)
    out = gpd.GeoDataFrame({
        "grid_code": grid_codes,
        "community_code": codes_comm,
        "street_code": np.array([c[:9] for c in codes_comm], dtype=object),
        "county_code": np.array([c[:6] for c in codes_comm], dtype=object),
        "area_m2": shapely.area(grids),
        "block_id": block_of_grid,
    }, geometry=gpd.GeoSeries(grids, crs=crs), crs=crs)
    out = out.sort_values("grid_code", kind="stable").reset_index(drop=True)
    out.attrs["crs_note"] = f"metric CRS: {crs.name} (EPSG:{crs.to_epsg()})"
    return out


def _coverage_error(communities: gpd.GeoDataFrame, out: gpd.GeoDataFrame) -> float:
    """Area where the grids and the input communities differ, as a share of the communities."""
    input_union = shapely.union_all(communities.geometry.to_numpy(), grid_size=GRID_SIZE_M)
    grid_union = shapely.coverage_union_all(out.geometry.to_numpy())
    sym = shapely.area(shapely.symmetric_difference(grid_union, input_union,
                                                    grid_size=GRID_SIZE_M))
    return float(sym / input_union.area) if input_union.area else float("nan")


# ------------------------------------------------------------------- area partitioning


def partition_by_lines(
    area: shapely.Geometry,
    lines: Iterable[shapely.Geometry] | np.ndarray,
    *,
    min_area_m2: float,
    min_width_m: float = 0.0,
    max_area_m2: float | None = None,
    drop_edge_strips: bool = False,
) -> np.ndarray:
    """Partition an area into the faces of a set of lines, merging faces below a size.

    Used where no community polygons exist (China has no public community boundaries):
    the area is cut by its arterial roads, rivers and railways, and faces smaller than
    ``min_area_m2`` (the strips between dual carriageways, corners) join their
    longest-shared-edge neighbour.

    Parameters
    ----------
    area : shapely.Polygon
        The area, coordinates in metres (projected CRS).
    lines : iterable of shapely.LineString
        Dividing lines, same CRS.
    min_area_m2 : float
        Faces below this area (m²) are merged away.
    min_width_m : float
        Faces whose mean width ``2A/P`` (m) is below this (strips between dual
        carriageways or along the area's edge) are merged away too.
    max_area_m2 : float, optional
        Faces above this area (m²) are first cut across their long axis into
        ``ceil(area / max_area_m2)`` equal-area pieces.
    drop_edge_strips : bool
        Drop, instead of merging, faces narrower than ``min_width_m`` that touch the
        edge of ``area``. An extract's bounding box leaves a thin band between its edge
        and the outermost arterial roads; merged, it would make a ring-shaped cell.

    Returns
    -------
    numpy.ndarray of shapely.Polygon
        The partition cells; their union is ``area`` (to the 1 mm noding grid) less the
        dropped edge strips and any fragment below ``min_area_m2`` that has no neighbour
        left to join.
    """
    line_arr = np.asarray(list(lines), dtype=object)
    inside = shapely.intersection(line_arr, area, grid_size=GRID_SIZE_M) if len(line_arr) else (
        line_arr)
    faces = _faces(np.concatenate([shapely.get_parts(inside),
                                   shapely.get_parts(shapely.boundary(area))]))
    faces = faces[_locate_faces(faces, np.array([area], dtype=object)) >= 0]
    if drop_edge_strips:
        on_edge = shapely.length(shapely.intersection(
            shapely.boundary(faces), shapely.boundary(area), grid_size=GRID_SIZE_M)) > 0
        thin = 2.0 * shapely.area(faces) < min_width_m * shapely.length(faces)
        faces = faces[~(on_edge & thin)]
    if max_area_m2 is not None and (shapely.area(faces) > max_area_m2).any():
        big = faces[shapely.area(faces) > max_area_m2]
        cuts = [c for poly in big
                for c in _long_axis_cuts(poly, int(np.ceil(poly.area / max_area_m2)))]
        kept = faces
        faces = _faces(np.concatenate([shapely.get_parts(shapely.boundary(kept)),
                                       np.array(cuts, dtype=object)]))
        faces = faces[_locate_faces(faces, kept) >= 0]
    labels = np.zeros(len(faces), dtype="int64")
    groups = merge_small_faces(faces, labels, sliver_area_m2=min_area_m2,
                               sliver_width_m=min_width_m,
                               min_area_m2=0.0, max_area_m2=0.0)
    cells = _dissolve_groups(faces, groups)[1]
    # Fragments left with no neighbour (cut off by dropped strips) are dropped too.
    return cells[shapely.area(cells) >= min_area_m2]


# ------------------------------------------------------------------------- OSM reading




# ------------------------------------------------------------------ real-data inputs










#: OSM ways that divide an extract into play communities: arterial roads, rivers, rail.
DIVIDER_HIGHWAYS: frozenset[str] = frozenset({"motorway", "trunk", "primary", "secondary",
                                              "tertiary"})


