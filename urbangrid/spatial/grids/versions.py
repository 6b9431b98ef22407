"""Unit and work grids in a store: load a survey as a version, read, diff versions.

Layers (``urbangrid/schemas/migrations/0501_unit_grids.sql`` and ``0502_work_grids.sql``):

* ``unit_grid`` (history): one row per version of a grid, key ``grid_code``;
* ``grid_version``: one row per loaded survey, whose ``loaded_at`` is the as-of time of
  that version;
* ``work_grid`` (history): work grid polygons, key ``work_grid_code``.

A survey covers whole counties (区县): loading version V writes V's grids, leaves the
grids that did not change alone (same row, same ``version`` label), closes the rows of
grids that changed or disappeared, all at one instant ``loaded_at``, in one transaction.
Nothing is written when any check fails.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from urbangrid.errors import ValidationError
from urbangrid.spatial.crs.metric import choose_metric_crs
from urbangrid.spatial.grids.codes import check_grid_codes
from urbangrid.spatial.grids.generate import (
    check_layer,
)
from urbangrid.store import Store

__all__ = [
    "GridDiff",
    "VersionSummary",
    "diff_versions",
    "grid_versions",
    "load_unit_grids",
    "load_work_grids",
    "read_unit_grids",
    "retired_grid_codes",
]

#: A grid whose shape moved by less than this symmetric-difference area (m²) is unchanged.
RESHAPE_TOLERANCE_M2 = 0.5

#: Layers whose features are located in grids by :func:`diff_versions`, when present.
POINT_LAYERS: tuple[str, ...] = ("component", "report", "case_report")


@dataclass(frozen=True)
class VersionSummary:
    """What loading one grid survey did."""

    version: str
    loaded_at: dt.datetime
    n_grids: int
    n_added: int
    n_removed: int
    n_changed: int


@dataclass(frozen=True)
class GridDiff:
    """Differences between two grid versions.

    Attributes
    ----------
    grids : pandas.DataFrame
        ``grid_code``, ``change`` (``added`` / ``removed`` / ``reshaped`` /
        ``recommunitied``), ``area_old_m2``, ``area_new_m2``, ``changed_m2`` (area of
        the symmetric difference), one row per grid that differs.
    moved : pandas.DataFrame
        ``layer``, ``key``, ``old_grid_code``, ``new_grid_code``: features (components,
        reports) whose grid differs between the versions (None = in no grid).
    """

    grids: pd.DataFrame
    moved: pd.DataFrame


def _metric(crs: pyproj.CRS, frame: gpd.GeoDataFrame) -> pyproj.CRS:
    if crs.is_projected and crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
        return crs
    return choose_metric_crs(frame)


def grid_versions(store: Store) -> pd.DataFrame:
    """Loaded grid versions, oldest first (``grid_version`` layer as a DataFrame)."""
    frame = pd.DataFrame(store.read("grid_version"))
    return frame.sort_values("loaded_at", kind="stable").reset_index(drop=True)


def retired_grid_codes(store: Store, county_codes: Iterable[str] | None = None) -> set[str]:
    """Codes of grids that existed in an earlier version and exist no more.

    Pass them as ``retired=`` to :func:`urbangrid.spatial.grids.codes.renumber_grids` so
    that a retired code is never issued again.
    """
    where = {"county_code": list(county_codes)} if county_codes is not None else None
    every = store.read("unit_grid", where=where, columns=["grid_code"], all_versions=True)
    current = store.read("unit_grid", where=where, columns=["grid_code"])
    return set(every["grid_code"]) - set(current["grid_code"])


def read_unit_grids(store: Store, *, version: str | None = None,
                    where: Mapping[str, object] | None = None) -> gpd.GeoDataFrame:
    """Unit grids of one version (default: current), in the store's CRS.

    Parameters
    ----------
    store : Store
    version : str, optional
        A ``grid_version`` label; the grids as they were when it was loaded.
    where : mapping, optional
        Column filters, as for ``Store.read``.
    """
    as_of = None
    if version is not None:
        as_of = _loaded_at(store, version)
    return store.read("unit_grid", where=dict(where) if where else None, as_of=as_of)


def _loaded_at(store: Store, version: str) -> dt.datetime:
    rows = store.read("grid_version", where={"version": version})
    if not len(rows):
        known = grid_versions(store)["version"].tolist()
        msg = f"no grid version {version!r} in the store (have {known})"
        raise ValidationError(msg)
    return pd.Timestamp(rows["loaded_at"].iloc[0]).to_pydatetime()


def _prepare(grids: gpd.GeoDataFrame, source: str) -> tuple[gpd.GeoDataFrame, pyproj.CRS]:
    if "grid_code" not in grids.columns:
        msg = f"{source}: no grid_code column (have {list(grids.columns)})"
        raise ValidationError(msg)
    check_layer(grids, source, kind="polygon", id_column="grid_code")
    codes = grids["grid_code"].astype(str)
    comm = (grids["community_code"].astype(str) if "community_code" in grids.columns
            else codes.str[:12])
    check_grid_codes(codes, community_codes=comm, layer=source)
    multi = np.flatnonzero(shapely.get_num_geometries(grids.geometry.to_numpy()) > 1)
    if len(multi):
        names = [f"row {i} (grid_code={codes.iloc[i]!r})" for i in multi[:10]]
        msg = f"{source}: {len(multi)} multipart grid(s), a grid is one polygon: {names}"
        raise ValidationError(msg)
    grade = grids["grade"] if "grade" in grids.columns else pd.Series(None, index=grids.index)
    bad_grade = grade.notna() & ~grade.isin([1, 2, 3])
    if bad_grade.any():
        rows = [f"row {i} (grid_code={codes.iloc[i]!r}): {grade.iloc[i]!r}"
                for i in np.flatnonzero(bad_grade.to_numpy())[:10]]
        msg = f"{source}: management grade must be 1, 2 or 3: {rows}"
        raise ValidationError(msg)
    crs = _metric(pyproj.CRS.from_user_input(grids.crs), grids)
    metric = grids.to_crs(crs) if grids.crs != crs else grids
    out = gpd.GeoDataFrame({
        "grid_code": codes.to_numpy(),
        "code_form": codes.str.len().to_numpy(),
        "community_code": comm.to_numpy(),
        "street_code": comm.str[:9].to_numpy(),
        "county_code": comm.str[:6].to_numpy(),
        "grade": grade.astype("Int64").to_numpy(),
        "area_m2": shapely.area(metric.geometry.to_numpy()),
        "metric_crs": f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else crs.to_string(),
        "work_grid_code": (grids["work_grid_code"].to_numpy() if "work_grid_code" in grids
                           else None),
    }, geometry=grids.geometry.to_numpy(), crs=grids.crs)
    return out, crs


def load_unit_grids(
    store: Store,
    grids: gpd.GeoDataFrame,
    *,
    version: str,
    at: dt.datetime | None = None,
    source: str = "<frame>",
    note: str = "",
) -> VersionSummary:
    """Load a grid survey (单元网格普查) as a new version of the counties it covers.

    Parameters
    ----------
    store : Store
        A migrated store (GeoPackage or PostGIS).
    grids : geopandas.GeoDataFrame
        Unit grids with a CRS: ``grid_code`` (15 or 14 digits), optional
        ``community_code`` (default: the code's first 12 digits), ``grade`` (1/2/3) and
        ``work_grid_code``. Areas are measured in the grids' CRS if it is metric, else in
        :func:`~urbangrid.spatial.crs.metric.choose_metric_crs`.
    version : str
        New version label (e.g. ``"2024-survey"``); must not exist yet.
    at : datetime, optional
        Load time (default now, UTC); must be later than every loaded version.
    source : str
        Input name for messages and the ``source`` column.
    note : str
        Free text stored with the version.

    Returns
    -------
    VersionSummary

    Raises
    ------
    ValidationError
        Existing version label, time not after the last version, multipart grid, bad
        management grade.
    GridCodeError, GridGeometryError, GridCRSError
        Malformed or duplicate codes, empty/invalid geometry, no CRS. Nothing is written.
    """
    frame, crs = _prepare(grids, source)
    at = dt.datetime.now(dt.UTC) if at is None else at
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    versions = grid_versions(store)
    if version in set(versions.get("version", [])):
        msg = f"grid version {version!r} already loaded; use a new label"
        raise ValidationError(msg)
    if len(versions):
        last = pd.Timestamp(versions["loaded_at"].max()).to_pydatetime()
        if last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)
        if at <= last:
            msg = f"version {version!r} at {at.isoformat()} is not after the last one ({last})"
            raise ValidationError(msg)
    counties = sorted(set(frame["county_code"]))
    current = store.read("unit_grid", where={"county_code": counties})
    frame["version"] = version
    frame["source"] = source
    n_changed = 0
    if len(current):
        cur = current.set_index("grid_code")
        shared = frame["grid_code"].isin(cur.index).to_numpy()
        old = cur.loc[frame.loc[shared, "grid_code"]]
        new_m = gpd.GeoSeries(frame.geometry.to_numpy()[shared], crs=frame.crs).to_crs(crs)
        old_m = gpd.GeoSeries(old.geometry.to_numpy(), crs=current.crs).to_crs(crs)
        moved = shapely.area(shapely.symmetric_difference(new_m.to_numpy(), old_m.to_numpy()))
        same = (moved < RESHAPE_TOLERANCE_M2) & (
            old["community_code"].to_numpy() == frame.loc[shared, "community_code"].to_numpy())
        idx = np.flatnonzero(shared)
        keep = idx[same]
        old_same = old[same]
        # Unchanged grids are written back exactly as stored, so the store leaves them be.
        for col in ("version", "area_m2", "metric_crs", "source", "code_form", "grade"):
            frame.loc[frame.index[keep], col] = old_same[col].to_numpy()
        if "work_grid_code" not in grids.columns:
            frame.loc[frame.index[keep], "work_grid_code"] = old_same["work_grid_code"].to_numpy()
        geoms = frame.geometry.to_numpy().copy()
        geoms[keep] = gpd.GeoSeries(old_same.geometry.to_numpy(), crs=current.crs).to_crs(
            frame.crs).to_numpy() if current.crs != frame.crs else old_same.geometry.to_numpy()
        frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
        n_changed = int((~same).sum())
        removed = sorted(set(cur.index) - set(frame["grid_code"]))
        n_added = int((~shared).sum())
    else:
        removed, n_added = [], len(frame)
    summary_row = pd.DataFrame([{
        "version": version, "loaded_at": at, "county_codes": ",".join(counties),
        "n_grids": len(frame), "n_added": n_added, "n_removed": len(removed),
        "n_changed": n_changed, "source": source, "note": note}])
    with store.transaction():
        store.write("unit_grid", frame, "upsert", at=at, source=source)
        if removed:
            store.retire("unit_grid", removed, at=at)
        store.write("grid_version", summary_row, "append", source=source)
    return VersionSummary(version, at, len(frame), n_added, len(removed), n_changed)


def load_work_grids(
    store: Store,
    work_grids: gpd.GeoDataFrame,
    *,
    version: str,
    weights: Mapping[str, float] | None = None,
    at: dt.datetime | None = None,
    source: str = "<frame>",
) -> int:
    """Store work grid polygons (from :func:`~urbangrid.spatial.grids.work.dissolve_work_grids`).

    Work grids of the same streets missing from ``work_grids`` are retired. Returns the
    number of rows inserted or updated.
    """
    frame = work_grids.copy()
    frame["version"] = version
    frame["source"] = source
    frame["weights"] = json.dumps(dict(weights or {"area_m2": 1.0}))
    streets = sorted(set(frame["street_code"]))
    current = store.read("work_grid", where={"street_code": streets}, columns=["work_grid_code"])
    gone = sorted(set(current["work_grid_code"]) - set(frame["work_grid_code"]))
    with store.transaction():
        result = store.write("work_grid", frame, "upsert", at=at, source=source)
        if gone:
            store.retire("work_grid", gone, at=at)
    return int(result.inserted + result.updated)


def diff_versions(
    store: Store,
    old: str,
    new: str,
    *,
    layers: Sequence[str] | None = None,
    tolerance_m2: float = RESHAPE_TOLERANCE_M2,
) -> GridDiff:
    """List grids added, removed and reshaped between two versions, and features that move.

    Parameters
    ----------
    store : Store
    old, new : str
        ``grid_version`` labels.
    layers : sequence of str, optional
        Layers whose features are located in the old and new grids (default: those of
        :data:`POINT_LAYERS` present in the store); their key is the layer's key.
        Non-point features are located by a point on their surface.
    tolerance_m2 : float
        Symmetric-difference area (m², metric CRS) below which a grid is unchanged.

    Returns
    -------
    GridDiff
    """
    t_old, t_new = _loaded_at(store, old), _loaded_at(store, new)
    before = store.read("unit_grid", as_of=t_old)
    after = store.read("unit_grid", as_of=t_new)
    crs = _metric(pyproj.CRS.from_user_input(after.crs or before.crs), after if len(after)
                  else before)
    b = before.to_crs(crs).set_index("grid_code")
    a = after.to_crs(crs).set_index("grid_code")
    rows: list[dict[str, object]] = []
    for code in sorted(set(a.index) - set(b.index)):
        rows.append({"grid_code": code, "change": "added", "area_old_m2": 0.0,
                     "area_new_m2": float(a.geometry[code].area),
                     "changed_m2": float(a.geometry[code].area)})
    for code in sorted(set(b.index) - set(a.index)):
        rows.append({"grid_code": code, "change": "removed", "area_old_m2":
                     float(b.geometry[code].area), "area_new_m2": 0.0,
                     "changed_m2": float(b.geometry[code].area)})
    both = sorted(set(a.index) & set(b.index))
    if both:
        ga, gb = a.geometry.loc[both].to_numpy(), b.geometry.loc[both].to_numpy()
        sym = shapely.area(shapely.symmetric_difference(ga, gb))
        recomm = (a.loc[both, "community_code"].to_numpy()
                  != b.loc[both, "community_code"].to_numpy())
        for k, code in enumerate(both):
            if sym[k] >= tolerance_m2 or recomm[k]:
                rows.append({"grid_code": code,
                             "change": "reshaped" if sym[k] >= tolerance_m2 else "recommunitied",
                             "area_old_m2": float(gb[k].area), "area_new_m2": float(ga[k].area),
                             "changed_m2": float(sym[k])})
    grid_frame = pd.DataFrame(rows, columns=["grid_code", "change", "area_old_m2",
                                             "area_new_m2", "changed_m2"])
    present = set(store.layers())
    names = [n for n in (layers if layers is not None else POINT_LAYERS) if n in present]
    moved = [_moved_features(store, name, before, after) for name in names]
    moved_frame = (pd.concat(moved, ignore_index=True) if moved else
                   pd.DataFrame(columns=["layer", "key", "old_grid_code", "new_grid_code"]))
    return GridDiff(grid_frame, moved_frame)


def _locate(points: np.ndarray, grids: gpd.GeoDataFrame) -> np.ndarray:
    out = np.full(len(points), None, dtype=object)
    if not len(grids) or not len(points):
        return out
    p_idx, g_idx = shapely.STRtree(grids.geometry.to_numpy()).query(points, predicate="intersects")
    order = np.lexsort((g_idx, p_idx))
    p_idx, g_idx = p_idx[order], g_idx[order]
    first = np.ones(len(p_idx), dtype=bool)
    first[1:] = p_idx[1:] != p_idx[:-1]
    out[p_idx[first]] = grids["grid_code"].to_numpy()[g_idx[first]]
    return out


def _moved_features(store: Store, layer: str, before: gpd.GeoDataFrame,
                    after: gpd.GeoDataFrame) -> pd.DataFrame:
    info = store.layer_info(layer)
    if info.key is None or info.geometry_column is None:
        return pd.DataFrame(columns=["layer", "key", "old_grid_code", "new_grid_code"])
    features = store.read(layer, columns=[info.key])
    if not len(features):
        return pd.DataFrame(columns=["layer", "key", "old_grid_code", "new_grid_code"])
    if features.crs != after.crs and after.crs is not None:
        features = features.to_crs(after.crs)
    points = shapely.point_on_surface(features.geometry.to_numpy())
    old_code, new_code = _locate(points, before), _locate(points, after)
    differ = old_code != new_code
    return pd.DataFrame({"layer": layer, "key": features[info.key].to_numpy()[differ],
                         "old_grid_code": old_code[differ], "new_grid_code": new_code[differ]})



