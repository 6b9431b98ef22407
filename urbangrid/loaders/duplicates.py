"""Probable duplicates (疑似重复要素) within one survey file and against the store.

Contractors' files repeat features: the same hydrant surveyed twice a few
centimetres apart under two IDs, a grid polygon pasted twice with two codes. Two
features are reported when they are of the same kind (same subclass, same place
type — the caller's ``group`` column) and

* their geometries are identical (exactly the same coordinates) under different
  keys, or
* with ``near=True``, their Hausdorff distance is at most the tolerance (default
  :data:`DUPLICATE_DISTANCE_M`): for points that is their distance, for lines and
  polygons it means the whole shape lies that close, so neighbours that only touch
  (adjacent grids, a kerb continued by the next segment) are not duplicates.

Everything is vectorized: an STRtree query with ``dwithin`` (:func:`search_radius`)
finds the candidate pairs, and :func:`pair_distances` measures all of them at once
in metres, each pair in its own local projection, so no UTM zone is needed and a
file spanning several cities (or continents) is measured correctly everywhere.

The later row of a pair is reported and names the earlier one; a
:data:`DuplicatePolicy` decides whether it is a warning (loaded anyway) or an error
(blocked or set aside with the other bad rows).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely

from urbangrid.loaders.validate import finite_coordinates
from urbangrid.problems import Problem, Severity, problem

__all__ = [
    "DUPLICATE_DISTANCE_M",
    "DuplicatePolicy",
    "GeometryPairs",
    "duplicates_in_file",
    "geometry_pairs",
    "pair_distances",
    "search_radius",
    "severity_of",
]

#: Features of one kind closer than this (metres, Hausdorff) are probable duplicates.
DUPLICATE_DISTANCE_M = 0.5

#: ``"warn"``: probable duplicates are reported and loaded; ``"reject"``: they are bad
#: rows, blocking the load or set aside as the ``on_invalid`` policy says.
DuplicatePolicy = Literal["warn", "reject"]

# Metres per degree of latitude (mean meridian) and of longitude at the equator (WGS84).
_M_PER_DEG_LAT = 111_132.954
_M_PER_DEG_LON = 111_319.491


def severity_of(policy: DuplicatePolicy) -> Severity:
    """Problem severity for a duplicate policy (``"warning"`` or ``"error"``)."""
    if policy not in ("warn", "reject"):
        raise ValueError(f"duplicate policy must be 'warn' or 'reject', not {policy!r}")
    return "warning" if policy == "warn" else "error"


def search_radius(tolerance_m: float, geoms: np.ndarray, crs: Any) -> float:
    """`tolerance_m` in the units of `crs`, never smaller anywhere in `geoms`.

    Degrees: divided by the length of a degree of longitude at the highest
    latitude the geometries reach (so it is generous nearer the equator, and the
    exact distances of :func:`pair_distances` decide). Projected: divided by the
    axis unit (US feet of a State Plane zone …).
    """
    if crs is None:
        return tolerance_m
    if not crs.is_geographic:
        return tolerance_m / _unit(crs)
    present = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if not len(present):
        return tolerance_m / _M_PER_DEG_LAT
    b = shapely.total_bounds(present)
    lat = np.radians(min(max(abs(b[1]), abs(b[3])), 85.0))
    return tolerance_m / (_M_PER_DEG_LON * np.cos(lat))


def _unit(crs: Any) -> float:
    return float(crs.axis_info[0].unit_conversion_factor) if crs.axis_info else 1.0


def _local(geoms: np.ndarray, origin: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Each geometry i in metres about origin[i] (x scaled by scale[i])."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    local = np.column_stack(
        [
            (coords[:, 0] - origin[index, 0]) * scale[index] * _M_PER_DEG_LON,
            (coords[:, 1] - origin[index, 1]) * _M_PER_DEG_LAT,
        ]
    )
    return shapely.set_coordinates(geoms.copy(), local)


def pair_distances(a: np.ndarray, b: np.ndarray, crs: Any) -> np.ndarray:
    """Hausdorff distance in metres of each pair ``(a[i], b[i])`` (no None).

    Parameters
    ----------
    a, b : arrays of shapely geometries, same length
    crs : pyproj.CRS
        Their CRS. Projected: distances in its unit, converted to metres.
        Geographic: each pair is projected about its own origin (the first
        coordinate of ``a[i]``) by an equirectangular projection — accurate to
        about 0.5 % for pairs up to kilometres apart, and needing no UTM zone, so
        a file spanning several cities is measured right everywhere. For points
        the Hausdorff distance is the distance.

    Returns
    -------
    numpy.ndarray of float
    """
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    if not len(a):
        return np.zeros(0)
    if crs is None or not crs.is_geographic:
        return shapely.hausdorff_distance(a, b) * (1.0 if crs is None else _unit(crs))
    first, index = shapely.get_coordinates(a, return_index=True)
    starts = np.r_[0, np.flatnonzero(np.diff(index)) + 1]
    origin = first[starts]
    scale = np.cos(np.radians(origin[:, 1]))
    # Point pairs (most of a component file) from their coordinates: a[i] is the
    # origin, so the distance is b[i]'s local offset's length, as GEOS computes it,
    # without two new geometries per pair (~0.15 s for 316,851 components).
    points = (shapely.get_type_id(a) == 0) & (shapely.get_type_id(b) == 0)
    points &= ~(shapely.is_empty(a) | shapely.is_empty(b))
    out = np.empty(len(a))
    if points.any():
        xy = shapely.get_coordinates(b[points])
        dx = (xy[:, 0] - origin[points, 0]) * scale[points] * _M_PER_DEG_LON
        dy = (xy[:, 1] - origin[points, 1]) * _M_PER_DEG_LAT
        out[points] = np.sqrt(dx * dx + dy * dy)
    rest = ~points
    if rest.any():
        o, sc = origin[rest], scale[rest]
        out[rest] = shapely.hausdorff_distance(_local(a[rest], o, sc), _local(b[rest], o, sc))
    return out


def _name(columns: dict[str, np.ndarray], position: int) -> str | None:
    """``component_id 3205…`` or ``source osm:node/1`` for the row at `position`."""
    for col, values in columns.items():
        v = values[position]
        if v is not None and not pd.isna(v):
            return f"{col} {v}"
    return None


def _metres(d: float) -> str:
    return "< 0.001 m" if d < 0.0005 else f"{d:.3f} m"


@dataclass(frozen=True)
class GeometryPairs:
    """The geometric half of :func:`duplicates_in_file`, found ahead of time (in a
    thread while the rows are validated: GEOS lets the other thread run).

    ``rows`` are the row labels of the frame searched, ``geoms`` its geometries,
    ``comparable`` which of them can be compared; ``later``/``earlier`` are
    positions of pairs within ``radius`` (the frame CRS's units) of each other.
    """

    rows: pd.Index
    geoms: np.ndarray
    crs: Any
    comparable: np.ndarray
    later: np.ndarray
    earlier: np.ndarray


def geometry_pairs(frame: Any, *, tolerance_m: float = DUPLICATE_DISTANCE_M,
                   near: bool = True) -> GeometryPairs:  # fmt: skip
    """Every pair of comparable geometries of `frame` (CRS units; `tolerance_m` in
    metres, searched generously) that :func:`duplicates_in_file` will check, for its
    ``pairs`` argument. `frame` may hold more rows than the one checked later (rows
    found bad in between): pairs of rows no longer there are left out then."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    ok = _comparable(geoms, None)
    pos = np.flatnonzero(ok)
    later, earlier = _geometry_pairs(geoms[pos], frame.crs, tolerance_m if near else 0.0)
    return GeometryPairs(frame.index, geoms, frame.crs, ok, pos[later], pos[earlier])


def duplicates_in_file(
    frame: Any,
    *,
    source: str,
    key: str | None = None,
    group: str | None = None,
    near: bool = True,
    tolerance_m: float = DUPLICATE_DISTANCE_M,
    policy: DuplicatePolicy = "warn",
    pairs: GeometryPairs | None = None,
) -> list[Problem]:
    """Rows of one file that repeat an earlier row's feature.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Validated rows indexed by file row number (1-based), with a CRS.
    source : str
        File name for the problems.
    key : str, optional
        Key column: pairs with the same key are left to the duplicate-key check.
    group : str, optional
        Only rows with the same value here are compared (``subclass_code``,
        ``place_type``); rows where it is empty are not compared.
    near : bool
        Also report shapes within `tolerance_m` (Hausdorff), not only identical ones.
        Off for layers where a coincident pair is normal (a two-way street's two
        directed edges are each other's reverse; identical direction still counts).
    tolerance_m : float
        Metres.
    policy : {"warn", "reject"}
        Severity of the problems (:data:`DuplicatePolicy`).
    pairs : GeometryPairs, optional
        From :func:`geometry_pairs` of these rows (or more) with the same
        `tolerance_m` and `near`: the search is not made again.

    Returns
    -------
    list of dict
        One problem per later row (field ``geometry``): ``same geometry as row N``
        or ``within X m of row N``, naming row N's key when there is one.
    """
    severity = severity_of(policy)
    if len(frame) < 2 or frame.geometry.name not in frame.columns:
        return []
    if group is not None and group not in frame.columns:
        return []
    geoms = np.asarray(frame.geometry.values, dtype=object)
    kinds = frame[group].astype(object).to_numpy() if group is not None else None
    keys = frame[key].astype(object).to_numpy() if key and key in frame.columns else None
    found = None if pairs is None else _pairs_here(pairs, frame, geoms, kinds)
    if found is None:
        pos = np.flatnonzero(_comparable(geoms, kinds))
        if len(pos) < 2:
            return []
        later, earlier = _geometry_pairs(geoms[pos], frame.crs, tolerance_m if near else 0.0)
    else:
        pos, later, earlier = found
    later, earlier = _same_kind(later, earlier, None if kinds is None else kinds[pos],
                                None if keys is None else keys[pos])  # fmt: skip
    if not len(later):
        return []
    candidates = geoms[pos]
    exact = shapely.equals_exact(candidates[later], candidates[earlier], tolerance=0)
    dist = np.zeros(len(later))
    if near:
        dist[~exact] = pair_distances(
            candidates[later[~exact]], candidates[earlier[~exact]], frame.crs
        )
    hit = exact | (near & (dist <= tolerance_m))
    later, earlier, exact, dist = later[hit], earlier[hit], exact[hit], dist[hit]
    if not len(later):
        return []
    # One problem per later row, naming its first (earliest) partner.
    order = np.lexsort((earlier, later))
    later, earlier, exact, dist = later[order], earlier[order], exact[order], dist[order]
    first = np.r_[True, later[1:] != later[:-1]]
    rows = frame.index.to_numpy()
    # Rows are named by their key, else by their source key (来源编号) when they have one.
    name_columns = {
        c: frame[c].to_numpy(dtype=object) for c in (key, "source") if c and c in frame.columns
    }
    what = f"same {group}, " if group else ""
    out: list[Problem] = []
    for i, j, same_geom, d in zip(
        later[first], earlier[first], exact[first], dist[first], strict=True
    ):
        name = _name(name_columns, int(pos[j]))
        ref = f"row {int(rows[pos[j]])}" + (f" ({name})" if name else "")
        how = (
            f"same geometry as {ref}"
            if same_geom
            else f"within {_metres(d)} of {ref} ({what}tolerance {tolerance_m:g} m)"
        )
        out.append(problem(source, int(rows[pos[i]]), "geometry", geoms[pos[i]].wkt,
                           f"probable duplicate: {how}", severity=severity))
    return out


def _comparable(geoms: np.ndarray, kinds: np.ndarray | None) -> np.ndarray:
    """True for rows that can be compared: a valid, finite geometry and a kind."""
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    ok &= finite_coordinates(geoms)
    ok &= shapely.is_valid(geoms) | ~ok
    if kinds is not None:
        ok &= pd.notna(kinds)
    return ok


def _pairs_here(
    pairs: GeometryPairs, frame: Any, geoms: np.ndarray, kinds: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """`pairs` as positions in `frame` (comparable positions, later, earlier into
    them); None when `frame` is not a subset of the rows searched, same geometries."""
    at = pairs.rows.get_indexer(frame.index) if pairs.rows.is_unique else None
    if at is None or (at < 0).any() or frame.crs != pairs.crs:
        return None
    if len(at) != len(geoms) or not all(map(operator.is_, pairs.geoms[at], geoms)):
        return None  # geometries changed on the way: search again
    ok = pairs.comparable[at]
    if kinds is not None:
        ok &= pd.notna(kinds)
    pos = np.flatnonzero(ok)
    # searched position -> comparable position here (-1: not here, or not comparable)
    here = np.full(len(pairs.rows), -1, dtype=np.intp)
    here[at[pos]] = np.arange(len(pos))
    a, b = here[pairs.later], here[pairs.earlier]
    keep = (a >= 0) & (b >= 0)
    a, b = a[keep], b[keep]
    return pos, np.maximum(a, b), np.minimum(a, b)


def _geometry_pairs(
    geoms: np.ndarray, crs: Any, tolerance_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (later, earlier) of the pairs within `tolerance_m` (metres, searched
    generously: :func:`search_radius`) of each other, each pair once."""
    radius = search_radius(tolerance_m, geoms, crs) if tolerance_m else 0.0
    # A zero distance still finds identical shapes; near pairs need the tolerance.
    later, earlier = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=radius)
    keep = earlier < later
    return later[keep], earlier[keep]


def _same_kind(
    later: np.ndarray, earlier: np.ndarray, kinds: np.ndarray | None, keys: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of one kind and with different keys (a repeated key is reported
    elsewhere)."""
    if kinds is not None:
        same = kinds[later] == kinds[earlier]
        later, earlier = later[same], earlier[same]
    if keys is not None:
        a, b = keys[later], keys[earlier]
        differ = pd.isna(a) | pd.isna(b) | (a != b)
        later, earlier = later[differ], earlier[differ]
    return later, earlier
