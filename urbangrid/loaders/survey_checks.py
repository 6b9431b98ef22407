"""Checks of a component survey against the store's district (部件普查入库检查).

What a GIS officer must be able to trust about a loaded survey, beyond the
schema checks of :mod:`urbangrid.loaders.validate`:

* **The standard's layout**: a CJ/T 214 file carries the class and subclass only
  inside its 16-digit 标识码; :func:`subclass_from_ids` takes them from there
  when no column holds them.
* **The district**: :func:`read_district` finds the store's county (an
  ``admin_area`` of level ``district``, else the ``county_code`` of its unit
  grids) and its boundary; new IDs get that county (or the one given), never
  a hidden default, and :func:`id_county_problems` checks every given ID
  against it.
* **Row-level coordinates**: :func:`district_problems` reports each row outside
  the district by more than :data:`DISTRICT_TOLERANCE_M` metres, naming the
  rows whose longitude and latitude look swapped.
* **The unit grid** (所在网格): :func:`fill_grid_codes` fills ``grid_code``
  from the store's current unit grids and reports a given code that disagrees.
* **Contractor IDs** (来源编号): :func:`repeated_source_problems` reports a
  ``source`` key used twice in the file.

Every check returns :class:`urbangrid.problems.Problem` records naming the file
row, the field and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from urbangrid.problems import Problem, Severity, problem
from urbangrid.spatial.components.codes import CityProfile
from urbangrid.spatial.components.district import (
    district_parts,
    no_county_reason,
)
from urbangrid.spatial.crs.metric import choose_metric_crs
from urbangrid.store import Store

__all__ = [
    "DISTRICT_TOLERANCE_M",
    "District",
    "district_problems",
    "fill_grid_codes",
    "id_county_problems",
    "read_district",
    "repeated_source_problems",
    "subclass_from_ids",
]

#: How far outside the district boundary (or the union of its unit grids) a
#: feature may lie and still load, metres: survey GPS error plus boundary
#: generalisation. A row farther out goes to the bad-row report.
DISTRICT_TOLERANCE_M = 50.0


@dataclass(frozen=True)
class District:
    """The store's district as a load sees it.

    Attributes
    ----------
    counties : tuple of str
        6-digit county codes the district holds (empty: the store knows none).
    county : str or None
        County given to new component IDs: the one asked for, or the store's
        only county; None when there is none or several to choose from.
    geometry : shapely geometry or None
        Boundary in the store layer CRS (`crs`); None when the store holds none.
    crs : pyproj.CRS or None
    note : str
        Where the district came from, for the load summary.
    asked : str or None
        A county asked for that the store's district does not hold.
    """

    counties: tuple[str, ...]
    county: str | None
    geometry: Any
    crs: Any
    note: str
    asked: str | None = None


def _current(store: Store, layer: str, columns: list[str]) -> Any:
    if layer not in store.layers() or store.is_empty(layer):
        return None
    frame = store.read(layer, columns=columns)
    return None if frame.empty else frame


def read_district(store: Store, admin_code: str | None, component_crs: Any) -> District:
    """The district of `store` for a component load.

    Parameters
    ----------
    store : Store
    admin_code : str, optional
        County asked for (``--admin-code``). When the store's district holds it,
        the district is that county's part; when the store knows other counties
        only, ``county`` stays None (:func:`no_county_problem` says why).
    component_crs : pyproj.CRS
        CRS of the ``component`` layer: the returned geometry is in it.

    Returns
    -------
    District
    """
    parts = district_parts(store)
    if parts is None:
        if admin_code is not None:
            return District(
                (admin_code,),
                admin_code,
                None,
                component_crs,
                f"county {admin_code} as given; the store holds no district "
                "boundary (admin areas or unit grids) to check rows against",
            )
        return District((), None, None, component_crs, "")
    frame, what = parts
    codes = tuple(sorted(frame["code"].unique()))
    if admin_code is not None and admin_code not in codes:
        return District(codes, None, None, component_crs, "", asked=admin_code)
    if admin_code is not None:
        frame = frame[frame["code"] == admin_code]
    geom = frame.to_crs(component_crs).union_all()
    county = admin_code or _only(codes)
    shown = ", ".join(codes if admin_code is None else (admin_code,))
    return District(codes, county, geom, component_crs, f"district: {what} of {shown}")


def _only(codes: tuple[str, ...]) -> str | None:
    return codes[0] if len(codes) == 1 else None


def no_county_problem(district: District, source: str) -> Problem:
    """The file problem of rows that need a new ID when no county is known."""
    why = no_county_reason(district.counties, district.asked)
    return problem(source, None, "component_id", None, why)


def subclass_from_ids(frame: Any, profile: CityProfile) -> tuple[Any, str | None]:
    """`frame` with ``subclass_code`` taken from each row's ``component_id`` (标识码),
    when no column holds the subclass, and a note saying so (None: nothing done).

    A CJ/T 214 ID is county (6) + class (2) + subclass (2) + serial (6) digits
    (GB/T 47678-2026: a 3-digit subclass). Rows whose ID is missing or malformed
    keep no subclass: the required-value check reports them.
    """
    if "subclass_code" in frame.columns or "component_id" not in frame.columns:
        return frame, None
    ed = profile.edition
    ids = id_text(frame["component_id"])
    well = ids.str.fullmatch(rf"\d{{{ed.id_length}}}").fillna(False).astype(bool)
    a, c = ed.admin_digits, ed.admin_digits + ed.code_length
    frame = frame.copy()
    frame["subclass_code"] = ids.str[a:c].where(well, None).astype(object)
    return frame, (
        f"class and subclass taken from the {ed.id_length}-digit 标识码 "
        f"({int(well.sum())} of {len(frame)} rows): the file has no subclass column"
    )


def id_text(values: pd.Series) -> pd.Series:
    """IDs as stripped text (a DBF numeric ID, 3.2e15 as a float, as its digits)."""
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(
        values.dtype
    ):
        return values.astype("string").str.strip()
    return pd.Series(
        [_digits(v) for v in values.tolist()], index=values.index, dtype="string"
    ).str.strip()


def _digits(v: Any) -> Any:
    """A DBF numeric ID (3.2e15 as a float) as its digits; text stripped."""
    if isinstance(v, float | np.floating) and np.isfinite(v) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, int | np.integer):
        return str(int(v))
    return v.strip() if isinstance(v, str) else v


def id_county_problems(
    frame: Any, district: District, profile: CityProfile, source: str
) -> list[Problem]:
    """Rows whose 标识码 carries a county outside the store's district."""
    if not district.counties or "component_id" not in frame.columns:
        return []
    ed = profile.edition
    ids = id_text(frame["component_id"])
    well = ids.str.fullmatch(rf"\d{{{ed.id_length}}}").fillna(False).astype(bool)
    county = ids.str[: ed.admin_digits]
    bad = (well & ~county.isin(list(district.counties))).to_numpy(dtype=bool)
    shown = ", ".join(district.counties)
    return [
        problem(
            source,
            int(row),
            "component_id",
            cid,
            f"county {cid[: ed.admin_digits]} of the ID is not the store's district "
            f"({shown}); give the district's IDs, or leave 标识码 empty for a new one",
        )
        for row, cid in zip(frame.index[bad], ids[bad].tolist(), strict=True)
    ]


def _metric_distance_m(geoms: np.ndarray, area: Any, crs: Any) -> np.ndarray:
    """Distance of each geometry (in `crs`) to `area` (in `crs`), metres."""
    import geopandas as gpd

    metric = choose_metric_crs(gpd.GeoSeries([area], crs=crs))
    g = gpd.GeoSeries(geoms, crs=crs).to_crs(metric)
    a = gpd.GeoSeries([area], crs=crs).to_crs(metric).iloc[0]
    return np.asarray(shapely.distance(np.asarray(g.values, dtype=object), a), dtype=float)


def district_problems(
    frame: Any, district: District, source: str, tolerance_m: float = DISTRICT_TOLERANCE_M
) -> list[Problem]:
    """Rows lying more than `tolerance_m` metres outside the district.

    `frame` is in its file CRS (any); the district in its own. A row that would
    lie inside with x and y swapped is reported as swapped longitude/latitude.
    Rows without a usable geometry are left to the geometry checks.
    """
    if district.geometry is None or frame.empty:
        return []
    import geopandas as gpd

    geoms = np.asarray(frame.geometry.values, dtype=object)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    finite = np.ones(len(geoms), dtype=bool)
    finite[np.unique(index[~np.isfinite(coords).all(axis=1)])] = False
    usable &= finite
    if not usable.any():
        return []
    idx = np.flatnonzero(usable)
    with np.errstate(all="ignore"):
        moved = gpd.GeoSeries(geoms[idx], crs=frame.crs).to_crs(district.crs)
    here = np.asarray(moved.values, dtype=object)
    area = district.geometry
    shapely.prepare(area)
    inside = shapely.covered_by(here, area)
    out_i = np.flatnonzero(~inside)
    if not len(out_i):
        return []
    dist = _metric_distance_m(here[out_i], area, district.crs)
    far = out_i[~(dist <= tolerance_m)]
    swapped = _swapped_inside(geoms[idx[far]], frame.crs, district)
    out = []
    for k, i in enumerate(far):
        row, g = int(frame.index[idx[i]]), geoms[idx[i]]
        if swapped[k]:
            why = (
                "longitude and latitude look swapped: with x and y exchanged the "
                "point lies in the district; fix the row's coordinates"
            )
        else:
            d = dist[np.searchsorted(out_i, i)]
            shown = f"{d / 1000:.1f} km" if np.isfinite(d) else "far"
            why = (
                f"lies {shown} outside the district (tolerance {tolerance_m:g} m); "
                "check the row's coordinates and --crs"
            )
        out.append(problem(source, row, "geometry", shapely.to_wkt(g, rounding_precision=6), why))
    return out


def _swapped_inside(geoms: np.ndarray, crs: Any, district: District) -> np.ndarray:
    """True for each geometry that lies in the district once its x and y are swapped."""
    import geopandas as gpd

    if not len(geoms):
        return np.zeros(0, dtype=bool)
    flipped = shapely.transform(geoms, lambda c: c[:, ::-1])
    with np.errstate(all="ignore"):
        try:
            moved = gpd.GeoSeries(flipped, crs=crs).to_crs(district.crs)
        except Exception:  # a swap that leaves the CRS's domain: not a swap
            return np.zeros(len(geoms), dtype=bool)
    here = np.asarray(moved.values, dtype=object)
    ok = finite_rows(here)
    res = np.zeros(len(geoms), dtype=bool)
    res[ok] = shapely.covered_by(here[ok], district.geometry)
    return res


def finite_rows(geoms: np.ndarray) -> np.ndarray:
    """True for each present geometry whose coordinates are all finite."""
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    ok[np.unique(index[~np.isfinite(coords).all(axis=1)])] = False
    return ok


def fill_grid_codes(store: Store, frame: Any, source: str) -> tuple[Any, list[Problem], str | None]:
    """``grid_code`` (所在网格) of each row from the store's current unit grids.

    A point's grid is the grid that covers it; a line's, the grid covering its
    midpoint. A row giving a code that disagrees with the grid its geometry lies
    in is reported (field ``grid_code``); a row outside every grid keeps what it
    gave. Returns the frame, the problems and a note (None: the store has no grid).
    """
    grids = _current(store, "unit_grid", ["grid_code"])
    if grids is None or frame.empty:
        return frame, [], None
    geoms = np.asarray(frame.geometry.values, dtype=object)
    ok = finite_rows(geoms)
    probe = np.full(len(geoms), None, dtype=object)
    types = shapely.get_type_id(geoms)
    lines = ok & np.isin(types, [1, 5])  # LineString, MultiLineString
    probe[lines] = shapely.line_interpolate_point(geoms[lines], 0.5, normalized=True)
    other = ok & ~lines
    probe[other] = shapely.point_on_surface(geoms[other])
    import geopandas as gpd

    pts = np.full(len(geoms), None, dtype=object)
    if ok.any():
        with np.errstate(all="ignore"):
            moved = gpd.GeoSeries(probe[ok], crs=frame.crs).to_crs(grids.crs)
        pts[ok] = np.asarray(moved.values, dtype=object)
    polys = np.asarray(grids.geometry.values, dtype=object)
    found = np.full(len(geoms), None, dtype=object)
    live = ok & finite_rows(pts)
    pi, gi = shapely.STRtree(polys).query(pts[live], predicate="covered_by")
    codes = grids["grid_code"].to_numpy(dtype=object)
    rows = np.flatnonzero(live)
    for p, g in zip(pi[::-1], gi[::-1], strict=True):  # first grid wins on an edge
        found[rows[p]] = codes[g]
    given = (
        id_text(frame["grid_code"])
        if "grid_code" in frame.columns
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    has = pd.notna(found)
    gave = given.notna().to_numpy(dtype=bool)
    differ = has & gave & (given.fillna("").to_numpy(dtype=object) != found)
    why = "the feature lies in unit grid {}, not in the grid given; fix 所在网格"
    problems = [
        problem(source, int(frame.index[i]), "grid_code", given.iloc[i], why.format(found[i]))
        for i in np.flatnonzero(differ)
    ]
    filled = np.where(has, found, given.astype(object).where(gave, None).to_numpy())
    frame = frame.copy()
    frame["grid_code"] = pd.Series(filled, index=frame.index, dtype=object)
    n = int(has.sum())
    note = f"unit grid (所在网格) of {n} of {len(frame)} rows from the store's grids"
    return frame, problems, note


def repeated_source_problems(frame: Any, source: str, *, reject: bool) -> list[Problem]:
    """Rows repeating an earlier row's contractor ID (来源编号, column ``source``):
    errors under ``reject``, warnings otherwise."""
    if "source" not in frame.columns:
        return []
    keys = id_text(frame["source"])
    keys = keys[keys.notna() & (keys != "")]
    again = keys.duplicated(keep="first")
    if not again.any():
        return []
    first = keys[~again]
    first_row = dict(zip(first.tolist(), first.index.tolist(), strict=True))
    severity: Severity = "error" if reject else "warning"
    return [
        problem(
            source,
            int(row),
            "source",
            k,
            f"contractor ID (来源编号) repeated: first at row {first_row[k]}",
            severity=severity,
        )
        for row, k in keys[again].items()
    ]


def check_component_defaults(
    defaults: Mapping[str, Any], profile: CityProfile, source: str
) -> None:
    """Raise :class:`~urbangrid.errors.MappingError` once for a ``[defaults]`` value of
    a component mapping the profile refuses (status, data source, subclass code or
    name), naming the mapping file (`source`), the key and the allowed values;
    otherwise every row it fills would be refused, row by row."""
    from urbangrid.errors import MappingError, UnknownCodeError
    from urbangrid.spatial.components.codes import find_subclass

    ed = profile.edition
    for key, allowed in (("status", ed.component_statuses), ("data_source", ed.data_sources)):
        value = defaults.get(key)
        if value is not None and value not in allowed:
            raise MappingError(
                f"{source}: [defaults] {key} = {value!r} is not allowed; use one of "
                f"{'/'.join(allowed)} ({ed.name})"
            )
    for key in ("subclass_code", "subclass_name"):
        value = defaults.get(key)
        if value is None:
            continue
        try:
            found = find_subclass(profile, str(value))
        except UnknownCodeError:
            found = None
        if found is None or (key == "subclass_code" and found.code != str(value)):
            what = "code" if key == "subclass_code" else "name"
            raise MappingError(
                f"{source}: [defaults] {key} = {value!r} is no subclass {what} of profile "
                f"{profile.name!r}; {_subclass_hint(profile, str(value))}"
            )


def _subclass_hint(profile: CityProfile, text: str) -> str:
    """The profile's subclasses closest to `text` as ``code name``, for a message."""
    import difflib

    subs = list(profile.components.values())
    by_label = {f"{s.code} {s.name}": s for s in subs}
    near = difflib.get_close_matches(text, [s.name for s in subs] + [s.code for s in subs], 3, 0.3)
    labels = [next(lbl for lbl, s in by_label.items() if near_one in (s.name, s.code))
              for near_one in near]  # fmt: skip
    shown = labels or list(by_label)[:3]
    return f"give subclass_code or subclass_name as the profile has them, e.g. {', '.join(shown)}"
