"""Work grids (工作网格): contiguous groups of unit grids balanced by workload.

There is no national definition of a work grid (also 责任网格, responsibility grid): a
city groups its unit grids so that each collector or team gets a fair share of work.
Here:

* **Workload** of a unit grid is a weighted sum of measures, each divided by its mean
  so that weights are unit-free: ``w = Σ weight_j · x_j / mean(x_j)``. Measures are
  columns of the unit grid layer, e.g. ``area_m2``, ``street_length_m``,
  ``component_count``, ``report_count``.
* **Contiguity**: two unit grids are neighbours when they share an edge of positive
  length. Every work grid is connected.
* **Communities**: a work grid never crosses a community boundary unless
  ``cross_communities=True`` (then it stays within one street office, 街道).
* **Balance**: each region (community, or street) gets a number of work grids in
  proportion to its workload (largest remainder, at least one); a region is split by
  recursive bisection: a part is grown from the region's extreme along its principal
  axis, taking neighbours in axis order until it holds its share of the workload;
  pieces of the rest that it cut off join it, so both parts stay connected.
* **Codes** (stable): ``<12-digit community code>W<2-digit serial>`` or, across
  communities, ``<9-digit street code>W<3-digit serial>``; serials in reading order
  (west→east, north→south, see :mod:`urbangrid.spatial.grids.codes`). Given the previous
  assignment, a work grid keeps the code most of its workload had, and new codes never
  reuse one issued before.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbangrid.errors import GridCodeError, GridGeometryError
from urbangrid.spatial.grids.codes import grid_serial_order

__all__ = [
    "dissolve_work_grids",
    "group_work_grids",
    "unit_grid_adjacency",
    "workload",
]


def workload(grids: pd.DataFrame, weights: Mapping[str, float]) -> np.ndarray:
    """Weighted workload of each unit grid, each measure divided by its mean.

    Parameters
    ----------
    grids : pandas.DataFrame
        Unit grids with the measure columns named in ``weights``.
    weights : mapping of str to float
        Column → weight, e.g. ``{"area_m2": 1, "component_count": 2}``.

    Returns
    -------
    numpy.ndarray of float64
        Workload per grid (unit-free); a measure that is 0 everywhere counts 0.

    Examples
    --------
    >>> import pandas as pd
    >>> workload(pd.DataFrame({"a": [1.0, 3.0], "b": [0.0, 2.0]}), {"a": 1, "b": 2}).tolist()
    [0.5, 5.5]
    """
    if not weights:
        msg = "weights must name at least one measure column"
        raise ValueError(msg)
    total = np.zeros(len(grids))
    for column, weight in weights.items():
        if column not in grids.columns:
            msg = f"no measure column {column!r} (have {list(grids.columns)})"
            raise KeyError(msg)
        x = grids[column].to_numpy(dtype="float64")
        if np.isnan(x).any() or (x < 0).any():
            msg = f"measure {column!r} has missing or negative values"
            raise ValueError(msg)
        mean = x.mean() if len(x) else 0.0
        if mean > 0:
            total += weight * x / mean
    return total


def unit_grid_adjacency(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of unit grids sharing an edge of positive length (metres CRS)."""
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    boundaries = shapely.boundary(geoms)
    shared = shapely.length(shapely.intersection(boundaries[left], boundaries[right]))
    return left[shared > 0], right[shared > 0]


def _allocate(weights: np.ndarray, total: int, caps: np.ndarray) -> np.ndarray:
    """Largest-remainder split of ``total`` in proportion to ``weights``; 1 ≤ k_i ≤ cap_i."""
    k = np.ones(len(weights), dtype="int64")
    if total <= len(weights):
        return k
    share = weights / weights.sum() * total if weights.sum() > 0 else np.full(len(weights),
                                                                              total / len(weights))
    k = np.clip(np.floor(share).astype("int64"), 1, caps)
    while k.sum() < total:
        room = k < caps
        if not room.any():
            break
        gain = np.where(room, share - k, -np.inf)
        k[int(np.argmax(gain))] += 1
    while k.sum() > total:
        over = k > 1
        loss = np.where(over, k - share, -np.inf)
        k[int(np.argmax(loss))] -= 1
    return k


def _components(nodes: np.ndarray, neighbours: list[set[int]]) -> list[np.ndarray]:
    member = set(nodes.tolist())
    seen: set[int] = set()
    out = []
    for start in nodes.tolist():
        if start in seen:
            continue
        stack, comp = [start], []
        seen.add(start)
        while stack:
            n = stack.pop()
            comp.append(n)
            for m in neighbours[n]:
                if m in member and m not in seen:
                    seen.add(m)
                    stack.append(m)
        out.append(np.array(sorted(comp)))
    return out


def _bisect(nodes: np.ndarray, k: int, load: np.ndarray, xy: np.ndarray,
            neighbours: list[set[int]]) -> list[np.ndarray]:
    """Split a connected set of unit grids into ``k`` connected, balanced parts."""
    if k <= 1 or len(nodes) <= 1:
        return [nodes]
    k1 = k // 2
    pts = xy[nodes]
    centred = pts - pts.mean(axis=0)
    # Principal axis of the grid centroids: the direction of largest spread.
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    t = centred @ vt[0]
    key = {int(n): (float(tv), int(n)) for n, tv in zip(nodes, t, strict=True)}
    member = set(nodes.tolist())
    target = load[nodes].sum() * k1 / k
    start = int(nodes[int(np.argmin(t))])
    part, acc = {start}, float(load[start])
    frontier = [(key[m], m) for m in neighbours[start] if m in member]
    heapq.heapify(frontier)
    while frontier and acc < target and len(part) < len(nodes) - 1:
        _, n = heapq.heappop(frontier)
        if n in part:
            continue
        # Stop before a grid that would overshoot the target more than leaving it out.
        if acc + load[n] - target > target - acc:
            break
        part.add(n)
        acc += float(load[n])
        for m in neighbours[n]:
            if m in member and m not in part:
                heapq.heappush(frontier, (key[m], m))
    rest = np.array(sorted(member - part))
    pieces = _components(rest, neighbours)
    if len(pieces) > 1:
        main = max(pieces, key=lambda p: (load[p].sum(), -p[0]))
        for p in pieces:
            if p is not main:
                part.update(p.tolist())
        rest = main
    first = np.array(sorted(part))
    k_first = max(1, min(k1, len(first)))
    return (_bisect(first, k_first, load, xy, neighbours)
            + _bisect(rest, max(1, min(k - k_first, len(rest))), load, xy, neighbours))


def group_work_grids(
    grids: gpd.GeoDataFrame,
    *,
    weights: Mapping[str, float] | None = None,
    target_count: int | None = None,
    target_workload: float | None = None,
    cross_communities: bool = False,
    previous: Mapping[str, str] | pd.Series | None = None,
    retired: set[str] | frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Assign each unit grid to a work grid (工作网格).

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Unit grids in a projected CRS (metres): ``grid_code``, ``community_code`` and the
        measure columns named in ``weights``.
    weights : mapping of str to float, optional
        Workload measures and weights (see :func:`workload`); default ``{"area_m2": 1}``.
    target_count : int, optional
        Number of work grids wanted in total.
    target_workload : float, optional
        Workload per work grid instead (a work grid of workload 20 holds about 20 average
        grids when ``weights={"area_m2": 1}``). Exactly one of the two targets is needed.
    cross_communities : bool
        Allow a work grid to span communities of the same street office (街道).
    previous : mapping of grid code → work grid code, optional
        The previous assignment, so that work grids keep their codes.
    retired : set of str
        Work grid codes retired earlier, never issued again.

    Returns
    -------
    pandas.DataFrame
        ``grid_code``, ``work_grid_code`` and ``workload``, one row per unit grid, in the
        order of ``grids``.

    Raises
    ------
    GridGeometryError
        ``grids`` is not in a projected CRS.
    GridCodeError
        A region runs out of work grid serials (99 per community, 999 per street).
    """
    if (target_count is None) == (target_workload is None):
        msg = "give exactly one of target_count and target_workload"
        raise ValueError(msg)
    if grids.crs is None or not grids.crs.is_projected:
        msg = "work grids: unit grids must be in a projected CRS (metres)"
        raise GridGeometryError(msg)
    weights = dict(weights or {"area_m2": 1.0})
    load = workload(grids, weights)
    geoms = grids.geometry.to_numpy()
    n = len(grids)
    neighbours: list[set[int]] = [set() for _ in range(n)]
    for i, j in zip(*unit_grid_adjacency(geoms), strict=True):
        neighbours[int(i)].add(int(j))
        neighbours[int(j)].add(int(i))
    comm = grids["community_code"].astype(str).to_numpy()
    region = np.array([c[:9] for c in comm], dtype=object) if cross_communities else comm
    if not cross_communities:
        # Adjacency never crosses a community: drop pairs in different communities.
        for i in range(n):
            neighbours[i] = {j for j in neighbours[i] if comm[j] == comm[i]}
    centroids = shapely.centroid(geoms)
    xy = np.column_stack([shapely.get_x(centroids), shapely.get_y(centroids)])

    pieces: list[tuple[str, np.ndarray]] = []
    for r in sorted(set(region.tolist())):
        nodes = np.flatnonzero(region == r)
        for comp in _components(nodes, neighbours):
            pieces.append((r, comp))
    piece_load = np.array([load[p].sum() for _, p in pieces])
    caps = np.array([len(p) for _, p in pieces])
    if target_count is not None:
        if target_count < 1:
            msg = f"target_count must be at least 1, got {target_count}"
            raise ValueError(msg)
        ks = _allocate(piece_load, target_count, caps)
    else:
        assert target_workload is not None
        if not target_workload > 0:
            msg = f"target_workload must be positive, got {target_workload}"
            raise ValueError(msg)
        ks = np.clip(np.round(piece_load / target_workload).astype("int64"), 1, caps)
    group = np.full(n, -1, dtype="int64")
    group_region: list[str] = []
    for (r, comp), k in zip(pieces, ks, strict=True):
        for part in _bisect(comp, int(k), load, xy, neighbours):
            group[part] = len(group_region)
            group_region.append(r)
    codes = _work_grid_codes(group, np.array(group_region, dtype=object), load, xy,
                             shapely.area(geoms),
                             grids["grid_code"].astype(str).to_numpy(), previous, retired,
                             cross_communities)
    return pd.DataFrame({"grid_code": grids["grid_code"].to_numpy(),
                         "work_grid_code": codes[group], "workload": load})


def _work_grid_codes(group: np.ndarray, group_region: np.ndarray, load: np.ndarray,
                     xy: np.ndarray, area: np.ndarray, grid_codes: np.ndarray,
                     previous: Mapping[str, str] | pd.Series | None,
                     retired: set[str] | frozenset[str], cross: bool) -> np.ndarray:
    digits = 3 if cross else 2
    n_groups = len(group_region)
    weight = np.bincount(group, weights=load, minlength=n_groups)
    gx = np.bincount(group, weights=xy[:, 0] * load, minlength=n_groups) / np.maximum(weight, 1e-12)
    gy = np.bincount(group, weights=xy[:, 1] * load, minlength=n_groups) / np.maximum(weight, 1e-12)
    prev = dict(previous.items()) if previous is not None else {}
    highest: dict[str, int] = {}
    for code in list(prev.values()) + list(retired):
        prefix, _, tail = str(code).partition("W")
        if tail.isdigit():
            highest[prefix] = max(highest.get(prefix, 0), int(tail))
    # Candidate old codes: the previous code holding most of each group's workload.
    claims: list[tuple[float, int, str]] = []
    for g in range(n_groups):
        members = np.flatnonzero(group == g)
        votes: dict[str, float] = {}
        for m in members:
            old = prev.get(grid_codes[m])
            if old is not None and str(old).partition("W")[0] == group_region[g]:
                votes[str(old)] = votes.get(str(old), 0.0) + float(load[m]) + 1e-9
        for old, v in votes.items():
            claims.append((-v, g, old))
    claims.sort()
    codes = np.full(n_groups, None, dtype=object)
    taken: set[str] = set(retired)
    for _, g, old in claims:
        if codes[g] is None and old not in taken:
            codes[g] = old
            taken.add(old)
    # Rows about one work grid tall: the side of a square of the mean work grid area.
    row_height = float(np.sqrt(max(area.sum() / max(n_groups, 1), 1.0)))
    rank = grid_serial_order(group_region, gx, gy, row_height_m=row_height)
    for g in np.argsort(rank + _offsets(group_region), kind="stable"):
        if codes[g] is None:
            prefix = str(group_region[g])
            serial = highest.get(prefix, 0) + 1
            if serial >= 10**digits:
                msg = f"region {prefix}: no {digits}-digit work grid serial left"
                raise GridCodeError(msg)
            highest[prefix] = serial
            codes[g] = f"{prefix}W{serial:0{digits}d}"
    return codes


def _offsets(labels: np.ndarray) -> np.ndarray:
    _, inverse = np.unique(labels.astype(str), return_inverse=True)
    return inverse.astype("int64") * (len(labels) + 1)


def dissolve_work_grids(grids: gpd.GeoDataFrame, assignment: pd.DataFrame) -> gpd.GeoDataFrame:
    """Work grid polygons from unit grids and :func:`group_work_grids` output.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Unit grids (``grid_code``, ``community_code``, geometry; metres CRS).
    assignment : pandas.DataFrame
        ``grid_code``, ``work_grid_code``, ``workload``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``work_grid_code``, ``community_code`` (None when it spans several),
        ``street_code``, ``n_unit_grids``, ``workload``, ``area_m2``, geometry; same CRS.
    """
    merged = grids[["grid_code", "community_code", "geometry"]].merge(
        assignment[["grid_code", "work_grid_code", "workload"]], on="grid_code", how="inner")
    rows = []
    for code, part in merged.groupby("work_grid_code", sort=True):
        geom = shapely.coverage_union_all(part.geometry.to_numpy())
        comms = sorted(set(part["community_code"].astype(str)))
        rows.append({"work_grid_code": code,
                     "community_code": comms[0] if len(comms) == 1 else None,
                     "street_code": comms[0][:9],
                     "n_unit_grids": len(part),
                     "workload": float(part["workload"].sum()),
                     "area_m2": float(shapely.area(geom)),
                     "geometry": geom})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=grids.crs)
