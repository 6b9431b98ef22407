"""The administrative hierarchy (grid → work grid → community → street → district) and the
属地/属主 rule (territorial vs owner responsibility) that names a case's responsible unit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from urbangrid.errors import (
    CoordinateError,
    CRSMismatchError,
    GridGeometryError,
)
from urbangrid.spatial.crs.transform import (
    CRSLike,
)
from urbangrid.spatial.index.engine import GridIndex, _latest_grid_version
from urbangrid.store import Store

_HIERARCHY_COLUMNS = (
    "grid_code",
    "work_grid_code",
    "community_code",
    "community_name",
    "street_code",
    "street_name",
    "district_code",
    "district_name",
)

_HIERARCHY_CODES = tuple(c for c in _HIERARCHY_COLUMNS if c.endswith("_code"))

_LEVELS = (
    ("community", "community_code"),
    ("street", "street_code"),
    ("district", "district_code"),
)

class GridHierarchy:
    """One lookup for a point's whole management hierarchy.

    Unit grid (单元网格), work grid (工作网格), community (社区), street office
    (街道) and district (区县) codes and names. The unit grid decides: its row carries
    the work grid, community, street and district codes, and names come from the
    ``admin_area`` layer. A point in no unit grid (grids not surveyed there yet) still
    gets whatever ``admin_area`` polygons cover it, level by level; a district that has
    loaded its community and street boundaries but no unit grids yet (``grids`` None)
    gets those, the grid fields empty.

    Build with :meth:`from_store` or :meth:`from_frames`.
    """

    def __init__(
        self,
        grids: GridIndex | None,
        grid_rows: pd.DataFrame,
        names: Mapping[str, str],
        areas: Mapping[str, GridIndex],
    ) -> None:
        self.grids = grids
        self._rows = grid_rows.reset_index(drop=True)
        self._names = dict(names)
        self._areas = dict(areas)
        # For one point (a live case): the same polygons answering positions, and each
        # grid row's codes as plain tuples, so that no DataFrame is built per call.
        self._grid_positions = grids._positional() if grids is not None else None
        codes = [
            [None if pd.isna(v) else v for v in self._rows[col].astype(object).tolist()]
            for col in _HIERARCHY_CODES
        ]
        self._code_rows = list(zip(*codes, strict=True))
        self._name_of = {k: v for k, v in self._names.items() if not pd.isna(v)}

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle the inputs only; the single-point tables are rebuilt on loading.
        return (GridHierarchy, (self.grids, self._rows, self._names, self._areas))

    @classmethod
    def from_frames(
        cls,
        unit_grids: Any,
        admin_areas: Any | None = None,
        *,
        grid_version: str | None = None,
    ) -> GridHierarchy:
        """Build from a unit grid GeoDataFrame and an optional admin area GeoDataFrame.

        Parameters
        ----------
        unit_grids : GeoDataFrame
            Columns ``grid_code``, ``community_code``, ``street_code``,
            ``county_code`` and optionally ``work_grid_code``; polygons with a CRS.
            May be empty when ``admin_areas`` has polygons: points then get their
            community, street and district only.
        admin_areas : GeoDataFrame, optional
            Columns ``code``, ``level`` (``community``/``street``/``district``) and
            ``name``; polygons (may be empty) with a CRS.
        grid_version : str, optional
            Stamped on the unit grid index.

        Returns
        -------
        GridHierarchy
        """
        grids_sorted = unit_grids.sort_values("grid_code", kind="stable").reset_index(drop=True)
        index = (GridIndex.from_polygons(grids_sorted, "grid_code", grid_version=grid_version)
                 if len(grids_sorted) else None)
        rows = pd.DataFrame(
            {
                "grid_code": grids_sorted["grid_code"].astype(object),
                "work_grid_code": grids_sorted.get("work_grid_code", pd.Series(dtype=object)),
                "community_code": grids_sorted["community_code"],
                "street_code": grids_sorted["street_code"],
                "district_code": grids_sorted["county_code"],
            }
        )
        names: dict[str, str] = {}
        areas: dict[str, GridIndex] = {}
        if admin_areas is not None and len(admin_areas):
            names = dict(zip(admin_areas["code"], admin_areas["name"], strict=True))
            for level, _ in _LEVELS:
                part = admin_areas[
                    (admin_areas["level"] == level)
                    & ~admin_areas.geometry.is_empty
                    & admin_areas.geometry.notna()
                ]
                if len(part):
                    part = part.sort_values("code", kind="stable").reset_index(drop=True)
                    areas[level] = GridIndex.from_polygons(part, "code")
        if index is None and not areas:
            raise GridGeometryError("no unit grid and no admin area polygon to locate points in")
        return cls(index, rows, names, areas)

    @classmethod
    def from_store(cls, store: Store, *, as_of: dt.datetime | None = None) -> GridHierarchy:
        """Build from a store's ``unit_grid`` and ``admin_area`` layers.

        Parameters
        ----------
        store : urbangrid.store.Store
            An open store.
        as_of : datetime, optional
            The grids and areas valid at that instant (default: current).

        Returns
        -------
        GridHierarchy
            Without unit grids (only administrative boundaries loaded yet) points get
            their community, street and district, the grid fields None.

        Raises
        ------
        GridGeometryError
            The store has neither unit grids nor admin area polygons.
        """
        grids = store.read("unit_grid", as_of=as_of)
        areas = store.read("admin_area", as_of=as_of)
        if not len(grids) and not areas.geometry.notna().any():
            raise GridGeometryError("the store has no unit grids and no admin area "
                                    "boundaries to locate points in")
        return cls.from_frames(grids, areas, grid_version=_latest_grid_version(store, as_of))

    @property
    def has_grids(self) -> bool:
        """Whether unit grids are indexed (else only admin areas answer)."""
        return self.grids is not None

    def locate_many(self, xs: ArrayLike, ys: ArrayLike, *, crs: CRSLike) -> pd.DataFrame:
        """Hierarchy of many points, one row each.

        Parameters
        ----------
        xs, ys : array_like of float
            Points in ``crs`` (x first: easting or longitude).
        crs : str, int or pyproj.CRS
            CRS of the points.

        Returns
        -------
        pandas.DataFrame
            Columns ``grid_code``, ``work_grid_code``, ``community_code``,
            ``community_name``, ``street_code``, ``street_name``, ``district_code``,
            ``district_name``; None where unknown (outside every grid and area).
        """
        xa, ya = _numbers(xs, "x"), _numbers(ys, "y")
        pos = (self.grids.locate_many(xa, ya, crs=crs) if self.grids is not None
               else np.full(xa.size, -1, dtype=np.int64))
        hit = pos >= 0
        out = pd.DataFrame(index=range(xa.size), columns=list(_HIERARCHY_COLUMNS), dtype=object)
        taken = self._rows.iloc[pos[hit]]
        for col in (
            "grid_code",
            "work_grid_code",
            "community_code",
            "street_code",
            "district_code",
        ):
            out.loc[hit, col] = taken[col].to_numpy(dtype=object)
        for level, col in _LEVELS:
            index = self._areas.get(level)
            missing = out[col].isna().to_numpy()
            if index is not None and missing.any():
                where = np.flatnonzero(missing)
                try:
                    found = index.locate_many(xa[where], ya[where], crs=crs)
                except CRSMismatchError:
                    # The whole input was checked by the grid look-up; only the points
                    # that missed every grid are here, and they may all be odd ones out.
                    if not hit.any():
                        raise
                    found = np.full(where.size, -1, dtype=np.int64)
                ok = found >= 0
                if ok.any():
                    assert index.keys is not None
                    out.loc[where[ok], col] = index.keys[found[ok]]
        for level, col in _LEVELS:
            out[f"{level}_name"] = out[col].map(self._names).astype(object)
        out = out.astype(object).where(out.notna(), None)
        return out[list(_HIERARCHY_COLUMNS)]

    def locate(self, x: float, y: float, *, crs: CRSLike) -> dict[str, str | None]:
        """Hierarchy of one point as a dict: the row :meth:`locate_many` would give.

        Answered without building a DataFrame (a few microseconds rather than a
        millisecond), for live cases one at a time.

        Raises
        ------
        CoordinateError
            `x` or `y` is not a number (``"abc"``).
        """
        x, y = float(_numbers(x, "x")[0]), float(_numbers(y, "y")[0])
        pos = (self._grid_positions.locate(x, y, crs=crs)
               if self._grid_positions is not None else None)
        found: dict[str, Any] = dict.fromkeys(_HIERARCHY_CODES)
        if pos is not None:
            row = self._code_rows[cast(int, pos)]  # a positional index answers an int
            found.update(zip(_HIERARCHY_CODES, row, strict=True))
        for level, col in _LEVELS:
            index = self._areas.get(level)
            if found[col] is None and index is not None:
                found[col] = index.locate(x, y, crs=crs)
        out: dict[str, str | None] = {}
        for col in _HIERARCHY_COLUMNS:
            if col.endswith("_name"):
                code = found[col[: -len("name")] + "code"]
                out[col] = None if code is None else self._name_of.get(code)
            else:
                out[col] = found[col]
        return out

def _numbers(values: Any, name: str) -> np.ndarray:
    """`values` as a flat float64 array; :class:`CoordinateError` naming the first
    value that is not a number (instead of numpy's bare ValueError)."""
    try:
        return np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        flat = np.asarray(values, dtype=object).reshape(-1)
        for v in flat:
            try:
                float(v)
            except (TypeError, ValueError):
                msg = f"{name} {v!r} is not a number (give coordinates in the CRS said, x first)"
                raise CoordinateError(msg) from None
        raise


def locate_frame(
    hierarchy: GridHierarchy,
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    crs: CRSLike,
    chunk_size: int = 100_000,
    progress: Any | None = None,
) -> pd.DataFrame:
    """Add the hierarchy columns to a table of points (e.g. a CSV of reports).

    Parameters
    ----------
    hierarchy : GridHierarchy
        The city's grids and areas.
    frame : pandas.DataFrame
        The points; other columns are kept.
    x, y : str
        Columns holding x (longitude or easting) and y (latitude or northing), in
        ``crs``. Values that are not numbers become NaN and get no grid.
    crs : str, int or pyproj.CRS
        CRS of the coordinates (``"GCJ-02"`` for Amap/Tencent fixes, ``"BD-09"`` for
        Baidu, ``4326`` for GPS).
    chunk_size : int, default 100,000
        Points per call; ``progress`` is told after each chunk.
    progress : callable, optional
        Called with the number of points done in each chunk (e.g. ``bar.update`` of a
        ``click.progressbar``).

    Returns
    -------
    pandas.DataFrame
        ``frame`` with ``grid_code``, ``work_grid_code``, ``community_code``,
        ``community_name``, ``street_code``, ``street_name``, ``district_code`` and
        ``district_name`` appended (same row order and index).
    """
    xs = pd.to_numeric(frame[x], errors="coerce").to_numpy(dtype=np.float64)
    ys = pd.to_numeric(frame[y], errors="coerce").to_numpy(dtype=np.float64)
    parts = []
    for lo in range(0, len(frame), chunk_size):
        parts.append(
            hierarchy.locate_many(xs[lo : lo + chunk_size], ys[lo : lo + chunk_size], crs=crs)
        )
        if progress is not None:
            progress(min(chunk_size, len(frame) - lo))
    found = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=list(_HIERARCHY_COLUMNS), dtype=object)
    )
    found.index = frame.index
    return pd.concat([frame, found], axis=1)

@dataclass(frozen=True)
class Responsibility:
    """Who must handle a case, and which rule decided.

    Attributes
    ----------
    unit_code, unit_name : str or None
        The responsible unit: a street office (territory) or a department (owner).
    rule : {"territory", "owner", "none"}
        ``territory`` (属地): the street office of the location; ``owner`` (属主):
        the component's owner from the inventory; ``none``: neither is known.
    reason : str
        The rule order applied and why it ended where it did, for the case record.
    """

    unit_code: str | None
    unit_name: str | None
    rule: Literal["territory", "owner", "none"]
    reason: str

def responsible_unit(
    hierarchy: GridHierarchy,
    x: float,
    y: float,
    *,
    crs: CRSLike,
    kind: Literal["event", "component"],
    component_id: str | None = None,
    inventory: pd.DataFrame | None = None,
) -> Responsibility:
    """Apply the standard responsibility rules to one case.

    Events (事件: dumping, illegal stalls...) go to the territory first, then the owner
    (先属地、后属主). Components (部件: manhole covers, street lights...) go to their
    owner first, then the territory (先属主、后属地). The territory is the street office
    (街道) whose area holds the point; the owner is the component's owner unit
    (``dept_code2``/``dept_name2``, 权属单位), else its supervising department
    (``dept_code1``/``dept_name1``, 主管部门), from the component inventory.

    Parameters
    ----------
    hierarchy : GridHierarchy
        The grids and areas of the city.
    x, y : float
        The case location in ``crs``.
    crs : str, int or pyproj.CRS
        CRS of ``x``, ``y``.
    kind : {"event", "component"}
        Case kind.
    component_id : str, optional
        The component the case concerns (标识码); looked up in ``inventory``.
    inventory : pandas.DataFrame, optional
        Rows of the ``component`` layer (``store.read("component", where=...)``),
        needed when ``component_id`` is given.

    Returns
    -------
    Responsibility

    Raises
    ------
    ValueError
        ``kind`` is neither "event" nor "component", or ``component_id`` without an
        inventory.

    Examples
    --------
    >>> import geopandas as gpd
    >>> import shapely
    >>> grids = gpd.GeoDataFrame(
    ...     {"grid_code": ["110105001001001"], "community_code": ["110105001001"],
    ...      "street_code": ["110105001"], "county_code": ["110105"]},
    ...     geometry=[shapely.box(0, 0, 100, 100)], crs="EPSG:4547")
    >>> h = GridHierarchy.from_frames(grids)
    >>> responsible_unit(h, 50, 50, crs=4547, kind="event").unit_code
    '110105001'
    """
    if kind not in ("event", "component"):
        raise ValueError(f"kind must be 'event' or 'component', not {kind!r}")
    if component_id is not None and inventory is None:
        raise ValueError("component_id given without inventory: pass the component rows")
    place = hierarchy.locate(x, y, crs=crs)
    territory = (place["street_code"], place["street_name"])
    owner: tuple[str | None, str | None] = (None, None)
    owner_note = "no component given"
    if component_id is not None:
        assert inventory is not None
        rows = inventory[inventory["component_id"] == component_id]
        if not len(rows):
            owner_note = f"component {component_id} is not in the inventory"
        else:
            row = rows.iloc[0]
            for code_col, name_col in (("dept_code2", "dept_name2"), ("dept_code1", "dept_name1")):
                code = row.get(code_col)
                if isinstance(code, str) and code:
                    name = row.get(name_col)
                    owner = (code, name if isinstance(name, str) else None)
                    owner_note = f"component {component_id}: {code_col} {code}"
                    break
            else:
                owner_note = f"component {component_id} has no owner or supervising department"
    where_note = (
        f"street {territory[0]}" if territory[0] else "the point is outside every street area"
    )
    order: tuple[Literal["territory", "owner"], ...] = (
        ("territory", "owner") if kind == "event" else ("owner", "territory")
    )
    label = "先属地、后属主" if kind == "event" else "先属主、后属地"
    for rule in order:
        code, name = territory if rule == "territory" else owner
        if code:
            note = where_note if rule == "territory" else owner_note
            return Responsibility(code, name, rule, f"{kind}: {label}; {rule} decided ({note})")
    return Responsibility(
        None, None, "none", f"{kind}: {label}; neither known ({where_note}; {owner_note})"
    )
