"""Topology QA of unit grids (单元网格质检), like a GIS officer's checklist.

:func:`validate_unit_grids` lists every problem as one row of a report with its area and
location; :func:`write_qa_report` writes it as a GeoPackage layer (open it in QGIS) and a
CSV. Fixes that are safe are *offered*: :func:`fix_snap` (snap vertices and close gaps
and overlaps narrower than a tolerance) and :func:`fix_merge_slivers` (merge slivers into
their longest-shared-edge neighbour in the same community). Each returns the new grids
and a list of what changed; nothing is ever fixed silently.

Checks (``check`` column; severity ``error`` unless noted):

===================  =====================================================================
``empty``            missing or empty geometry
``invalid``          invalid geometry (self-intersection, ring problems), with the reason
``multipart``        a MultiPolygon of several parts (a grid is one closed polygon)
``overlap``          two grids overlap; the row's geometry is the overlap (overlaps and
                     gaps below 0.01 m² or 5 mm mean width are noise and not listed)
``gap``              area of the communities (or a hole inside the grids' union) that no
                     grid covers; the row's geometry is the gap
``outside``          part of a grid outside every community
``straddles``        a grid lies in more than one community (each part above tolerance)
``sliver``           (warning) area below ``sliver_area_m2`` or mean width below
                     ``sliver_width_m``
``size``             (warning) area below ``target / size_factor`` or above
                     ``target × size_factor``
``code_format``      malformed grid code
``duplicate_code``   the same code on several grids
``code_community``   the code's community part differs from the containing community
===================  =====================================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from urbangrid.errors import GridCRSError
from urbangrid.spatial.grids.codes import validate_grid_codes
from urbangrid.spatial.grids.generate import _dissolve_groups, merge_small_faces

__all__ = [
    "REPORT_COLUMNS",
    "fix_merge_slivers",
    "fix_snap",
    "validate_unit_grids",
    "write_qa_report",
]

#: Columns of a QA report, in order (plus ``geometry``).
REPORT_COLUMNS = ["check", "severity", "grid_code", "other_code", "community_code",
                  "area_m2", "x", "y", "detail", "fix"]

#: Overlaps and gaps below 1 dm², or narrower on average than 5 mm, are noise from
#: noding and reprojection (grids are noded on a 1 mm grid), not findings.
NOISE_AREA_M2 = 0.01
NOISE_WIDTH_M = 0.005


def _is_noise(geom: shapely.Geometry) -> bool:
    area = shapely.area(geom)
    return bool(area <= NOISE_AREA_M2 or 2.0 * area < NOISE_WIDTH_M * shapely.length(geom))


def _row(check: str, geom: shapely.Geometry, *, grid_code: object = None,
         other_code: object = None, community_code: object = None, detail: str = "",
         fix: str = "", severity: str = "error") -> dict[str, object]:
    point = shapely.point_on_surface(geom) if geom is not None and not geom.is_empty else None
    return {"check": check, "severity": severity, "grid_code": grid_code,
            "other_code": other_code, "community_code": community_code,
            "area_m2": float(shapely.area(geom)) if geom is not None else 0.0,
            "x": float(point.x) if point is not None else np.nan,
            "y": float(point.y) if point is not None else np.nan,
            "detail": detail, "fix": fix, "geometry": geom}


def validate_unit_grids(
    grids: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame | None = None,
    *,
    target_area_m2: float = 10_000.0,
    size_factor: float = 3.0,
    sliver_area_m2: float = 500.0,
    sliver_width_m: float = 4.0,
    straddle_tolerance_m2: float = 1.0,
    snap_tolerance_m: float = 0.5,
    code_column: str = "grid_code",
    community_column: str = "community_code",
) -> gpd.GeoDataFrame:
    """Check unit grids and list every problem with its area and location.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Unit grids in a projected CRS in metres, with ``code_column`` and, optionally,
        ``community_column``.
    communities : geopandas.GeoDataFrame, optional
        Community polygons with ``community_column`` (any CRS; reprojected). Needed for
        the gap-against-communities, ``outside``, ``straddles`` and ``code_community``
        checks; without it gaps are holes inside the union of grids and codes are checked
        against the grids' own ``community_column``.
    target_area_m2 : float
        Target grid area (m²) for the ``size`` check.
    size_factor : float
        A grid is a size outlier below ``target / size_factor`` or above
        ``target × size_factor``.
    sliver_area_m2, sliver_width_m : float
        Sliver thresholds: area (m²) or mean width ``2A/P`` (m).
    straddle_tolerance_m2 : float
        Parts of a grid in another community up to this area (m²) are boundary noise.
    snap_tolerance_m : float
        Overlaps and gaps narrower than this (m) are offered the :func:`fix_snap` fix.
    code_column, community_column : str
        Column names.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`REPORT_COLUMNS` + geometry (the problem's area: the overlap, the gap, or
        the grid), same CRS as ``grids``; ``x, y`` is a point on it (metres). Empty when
        the grids are clean.

    Raises
    ------
    GridCRSError
        ``grids`` has no CRS or is not projected in metres.
    """
    if grids.crs is None or not grids.crs.is_projected:
        msg = "grids: QA needs a projected CRS in metres (areas in m²)"
        raise GridCRSError(msg)
    geoms = grids.geometry.to_numpy()
    codes = (grids[code_column].astype(str).to_numpy() if code_column in grids.columns
             else np.array([f"row {i}" for i in range(len(grids))], dtype=object))
    own_comm = (grids[community_column].astype(str).to_numpy()
                if community_column in grids.columns else np.full(len(grids), None))
    rows, missing, valid = _geometry_rows(geoms, codes, own_comm)
    ok = np.flatnonzero(valid)
    good = geoms[ok]
    rows += _overlap_rows(good, codes[ok], own_comm[ok], snap_tolerance_m)
    union = _coverage_union(good)
    contained = np.full(len(grids), None, dtype=object)
    if communities is not None:
        comm = communities.to_crs(grids.crs) if communities.crs != grids.crs else communities
        comm_geoms = comm.geometry.to_numpy()
        comm_codes = comm[community_column].astype(str).to_numpy()
        gaps = shapely.difference(shapely.union_all(comm_geoms), union)
    else:
        gaps = shapely.union_all([shapely.Polygon(r) for p in shapely.get_parts(union)
                                  for r in getattr(p, "interiors", [])])
    rows += _gap_rows(gaps, snap_tolerance_m)
    if communities is not None and len(good):
        found, contained[ok] = _community_rows(good, codes[ok], comm_geoms, comm_codes,
                                               straddle_tolerance_m2)
        rows += found
    rows += _shape_rows(good, codes[ok], own_comm[ok], target_area_m2=target_area_m2,
                        size_factor=size_factor, sliver_area_m2=sliver_area_m2,
                        sliver_width_m=sliver_width_m)
    reference = contained if communities is not None else own_comm
    rows += _code_rows(geoms, missing, codes, reference)
    return _sorted_report(rows, grids.crs)


def _geometry_rows(
    geoms: NDArray[Any], codes: NDArray[Any], own_comm: NDArray[Any],
) -> tuple[list[dict[str, object]], NDArray[np.bool_], NDArray[np.bool_]]:
    """``empty``, ``invalid`` and ``multipart`` findings; which grids are missing, valid."""
    rows = []
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        rows.append(_row("empty", None, grid_code=codes[i], community_code=own_comm[i],
                         detail="missing or empty geometry"))
    valid = ~missing & shapely.is_valid(geoms)
    for i in np.flatnonzero(~missing & ~valid):
        rows.append(_row("invalid", geoms[i], grid_code=codes[i], community_code=own_comm[i],
                         detail=shapely.is_valid_reason(geoms[i]),
                         fix="make_valid, then check again (not automatic)"))
    n_parts = shapely.get_num_geometries(geoms)
    for i in np.flatnonzero(~missing & (n_parts > 1)):
        rows.append(_row("multipart", geoms[i], grid_code=codes[i], community_code=own_comm[i],
                         detail=f"{int(n_parts[i])} parts",
                         fix="split into separate grids or merge the small parts"))
    return rows, missing, valid


def _overlap_rows(
    good: NDArray[Any], codes: NDArray[Any], own_comm: NDArray[Any], snap_tolerance_m: float,
) -> list[dict[str, object]]:
    """``overlap`` findings between valid grids (metres), noise left out."""
    rows: list[dict[str, object]] = []
    if len(good) < 2:
        return rows
    left, right = shapely.STRtree(good).query(good, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    inter = shapely.intersection(good[left], good[right])
    areas = shapely.area(inter)
    for a, b, geom, area in zip(left, right, inter, areas, strict=True):
        if _is_noise(geom):
            continue
        width = 2.0 * area / max(shapely.length(geom), 1e-12)
        rows.append(_row("overlap", _polygonal(geom), grid_code=codes[a],
                         other_code=codes[b], community_code=own_comm[a],
                         detail=f"mean width {width:.2f} m",
                         fix="fix_snap" if width <= snap_tolerance_m else ""))
    return rows


def _coverage_union(good: NDArray[Any]) -> shapely.Geometry:
    """Union of the valid grids: the fast coverage union, a full one if that fails."""
    try:
        union = shapely.coverage_union_all(good) if len(good) else shapely.Polygon()
    except shapely.errors.GEOSException:
        union = None  # not a clean coverage (overlaps): fall back to a full union
    if union is None or not shapely.is_valid(union):
        union = shapely.union_all(good)
    return union


def _gap_rows(gaps: shapely.Geometry, snap_tolerance_m: float) -> list[dict[str, object]]:
    """``gap`` findings, one per polygon of ``gaps`` (metres), noise left out."""
    rows = []
    for gap in shapely.get_parts(gaps):
        if gap.geom_type != "Polygon" or _is_noise(gap):
            continue
        width = 2.0 * gap.area / max(gap.length, 1e-12)
        rows.append(_row("gap", gap, detail=f"mean width {width:.2f} m",
                         fix="fix_snap" if width <= snap_tolerance_m else ""))
    return rows


def _community_rows(
    good: NDArray[Any], codes: NDArray[Any], comm_geoms: NDArray[Any], comm_codes: NDArray[Any],
    straddle_tolerance_m2: float,
) -> tuple[list[dict[str, object]], NDArray[Any]]:
    """``straddles`` and ``outside`` findings; the community holding most of each grid."""
    rows = []
    contained = np.full(len(good), None, dtype=object)
    g_idx, c_idx = shapely.STRtree(comm_geoms).query(good, predicate="intersects")
    parts = shapely.intersection(good[g_idx], comm_geoms[c_idx])
    part_area = shapely.area(parts)
    inside = np.bincount(g_idx, weights=part_area, minlength=len(good))
    for k in range(len(good)):
        mine = np.flatnonzero((g_idx == k) & (part_area > straddle_tolerance_m2))
        if len(mine):
            best = mine[np.argmax(part_area[mine])]
            contained[k] = comm_codes[c_idx[best]]
        if len(mine) > 1:
            names = ", ".join(f"{comm_codes[c_idx[m]]} {part_area[m]:.1f} m²" for m in mine)
            rows.append(_row("straddles", good[k], grid_code=codes[k],
                             community_code=contained[k],
                             detail=f"in {len(mine)} communities: {names}",
                             fix="split the grid along the community boundary"))
        out_area = shapely.area(good[k]) - inside[k]
        if out_area > straddle_tolerance_m2:
            rows.append(_row("outside", shapely.difference(good[k], shapely.union_all(
                comm_geoms[c_idx[g_idx == k]])) if (g_idx == k).any() else good[k],
                             grid_code=codes[k], community_code=contained[k],
                             detail=f"{out_area:.1f} m² outside every community"))
    return rows, contained


def _shape_rows(
    good: NDArray[Any], codes: NDArray[Any], own_comm: NDArray[Any], *, target_area_m2: float,
    size_factor: float, sliver_area_m2: float, sliver_width_m: float,
) -> list[dict[str, object]]:
    """``sliver`` and ``size`` warnings (areas in m², widths in m)."""
    rows = []
    area = shapely.area(good)
    perimeter = shapely.length(good)
    for k in range(len(good)):
        if area[k] < sliver_area_m2 or 2.0 * area[k] < sliver_width_m * perimeter[k]:
            rows.append(_row("sliver", good[k], grid_code=codes[k], community_code=own_comm[k],
                             severity="warning",
                             detail=f"mean width {2 * area[k] / perimeter[k]:.2f} m",
                             fix="fix_merge_slivers"))
        elif area[k] < target_area_m2 / size_factor or area[k] > target_area_m2 * size_factor:
            rows.append(_row("size", good[k], grid_code=codes[k], community_code=own_comm[k],
                             severity="warning",
                             detail=f"{area[k]:.0f} m² against a target of "
                                    f"{target_area_m2:.0f} m²"))
    return rows


def _code_rows(
    geoms: NDArray[Any], missing: NDArray[np.bool_], codes: NDArray[Any], reference: NDArray[Any],
) -> list[dict[str, object]]:
    """Grid-code findings, against the community each grid lies in (``reference``)."""
    has_ref = np.array([r is not None for r in reference])
    code_problems = validate_grid_codes(
        codes, community_codes=np.where(has_ref, reference, [str(c)[:12] for c in codes]))
    kinds = {"format": "code_format", "mixed_form": "code_format",
             "duplicate": "duplicate_code", "community_mismatch": "code_community"}
    rows = []
    for p in code_problems.itertuples():
        i = int(p.row)
        rows.append(_row(kinds.get(p.check, p.check), geoms[i] if not missing[i] else None,
                         grid_code=codes[i], community_code=reference[i], detail=p.reason,
                         fix="renumber_grids" if p.check != "format" else ""))
    return rows


_CHECK_ORDER = {c: k for k, c in enumerate(["empty", "invalid", "multipart", "overlap", "gap",
                                            "outside", "straddles", "code_format",
                                            "duplicate_code", "code_community", "sliver",
                                            "size"])}


def _sorted_report(rows: list[dict[str, object]], crs: Any) -> gpd.GeoDataFrame:
    """The findings as a report frame, by check then grid code."""
    report = gpd.GeoDataFrame(rows, columns=[*REPORT_COLUMNS, "geometry"], geometry="geometry",
                              crs=crs)
    report = report.astype({"area_m2": "float64", "x": "float64", "y": "float64"})
    report["_o"] = report["check"].map(_CHECK_ORDER)
    return report.sort_values(["_o", "grid_code"], kind="stable").drop(columns="_o").reset_index(
        drop=True)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else geom


def write_qa_report(report: gpd.GeoDataFrame, gpkg: str | Path, *, csv: str | Path | None = None,
                    layer: str = "grid_qa") -> tuple[Path, Path]:
    """Write a QA report as a GeoPackage layer and a CSV.

    Parameters
    ----------
    report : geopandas.GeoDataFrame
        From :func:`validate_unit_grids`.
    gpkg : str or Path
        GeoPackage file; the layer is replaced if it exists.
    csv : str or Path, optional
        CSV file (UTF-8 with BOM, so that Excel shows the Chinese text); default
        ``gpkg`` with the suffix ``.csv``. Geometry is given as ``x, y`` and WKT.
    layer : str
        Layer name in the GeoPackage.

    Returns
    -------
    (Path, Path)
        The GeoPackage and CSV paths.
    """
    gpkg = Path(gpkg)
    csv_path = Path(csv) if csv is not None else gpkg.with_suffix(".csv")
    out = report.copy()
    # One geometry type per layer for QGIS: every finding is an area, promoted to multi.
    out["geometry"] = [shapely.multipolygons(shapely.get_parts(_polygonal(g)))
                       if g is not None and not g.is_empty else None for g in out.geometry]
    out = out.set_geometry("geometry", crs=report.crs)
    out.to_file(gpkg, layer=layer, driver="GPKG", engine="pyogrio")
    table = pd.DataFrame(report.drop(columns="geometry"))
    table["wkt"] = [g.wkt if g is not None else "" for g in report.geometry]
    table.to_csv(csv_path, index=False, encoding="utf-8-sig")
    return gpkg, csv_path


def fix_snap(grids: gpd.GeoDataFrame, tolerance_m: float) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Offered fix: snap vertices and close gaps/overlaps narrower than ``tolerance_m``.

    Uses GEOS coverage cleaning (``shapely.coverage_clean``): vertices within the
    tolerance snap together, overlaps go to the grid with the longest shared border, gaps
    narrower than the tolerance join the neighbour with the longest shared border.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Unit grids in a projected CRS (metres).
    tolerance_m : float
        Snapping distance and maximum gap width, metres.

    Returns
    -------
    grids : geopandas.GeoDataFrame
        A copy with cleaned geometries (``area_m2`` updated if present).
    changes : pandas.DataFrame
        ``grid_code``, ``area_before_m2``, ``area_after_m2`` for every grid that changed.
    """
    geoms = grids.geometry.to_numpy()
    cleaned = shapely.coverage_clean(geoms, gap_width=tolerance_m, snapping_distance=tolerance_m)
    changed = ~shapely.equals(geoms, cleaned)
    out = grids.copy()
    out = out.set_geometry(gpd.GeoSeries(cleaned, index=grids.index, crs=grids.crs))
    if "area_m2" in out.columns:
        out["area_m2"] = shapely.area(cleaned)
    changes = pd.DataFrame({"grid_code": grids.loc[changed, "grid_code"].to_numpy()
                            if "grid_code" in grids.columns else np.flatnonzero(changed),
                            "area_before_m2": shapely.area(geoms[changed]),
                            "area_after_m2": shapely.area(cleaned[changed])})
    return out, changes


def fix_merge_slivers(
    grids: gpd.GeoDataFrame,
    *,
    sliver_area_m2: float = 500.0,
    sliver_width_m: float = 4.0,
    community_column: str = "community_code",
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Offered fix: merge each sliver into its longest-shared-edge neighbour, same community.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Unit grids forming a clean coverage (run :func:`fix_snap` first if not), projected
        CRS in metres, with ``grid_code`` and ``community_column``.
    sliver_area_m2, sliver_width_m : float
        Sliver thresholds: area (m²) or mean width ``2A/P`` (m).
    community_column : str
        Slivers only merge within a community.

    Returns
    -------
    grids : geopandas.GeoDataFrame
        The grids with slivers merged; the receiving grid keeps its code and attributes
        (``area_m2`` updated); the sliver's code is gone (retire it).
    changes : pandas.DataFrame
        ``grid_code`` (the sliver), ``merged_into``, ``area_m2`` (of the sliver).
    """
    geoms = grids.geometry.to_numpy()
    labels = grids[community_column].astype(str).to_numpy()
    groups = merge_small_faces(geoms, labels, sliver_area_m2=sliver_area_m2,
                               sliver_width_m=sliver_width_m, min_area_m2=0.0, max_area_m2=0.0)
    roots, merged = _dissolve_groups(geoms, groups)
    codes = grids["grid_code"].to_numpy()
    moved = np.flatnonzero(groups != np.arange(len(grids)))
    changes = pd.DataFrame({"grid_code": codes[moved], "merged_into": codes[groups[moved]],
                            "area_m2": shapely.area(geoms[moved])})
    out = grids.iloc[roots].copy()
    out = out.set_geometry(gpd.GeoSeries(merged, index=out.index, crs=grids.crs))
    if "area_m2" in out.columns:
        out["area_m2"] = shapely.area(merged)
    return out.reset_index(drop=True), changes
