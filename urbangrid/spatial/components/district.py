"""The store's district, as component loads see it: its counties and their polygons.

One rule for the county of new component IDs (标识码), used by the library
(:func:`urbangrid.spatial.components.records.load_components`,
:func:`~urbangrid.spatial.components.records.append_component_file`) and the
command line (``urbangrid load components``, through
:mod:`urbangrid.loaders.survey_checks`): the county asked for, else the only
county of the store's district (its ``admin_area`` rows of level ``district``,
else the ``county_code`` of its current unit grids), else an error that says
what to pass. Never a hidden default, such as a city profile's own county.
"""

from __future__ import annotations

from typing import Any

from urbangrid.errors import ComponentIdError
from urbangrid.spatial.components.ids import PROVINCE_CODES
from urbangrid.store import Store

__all__ = [
    "county_code_problem",
    "district_counties",
    "district_parts",
    "new_id_county",
    "no_county_reason",
]


def county_code_problem(code: str) -> str | None:
    """Why `code` cannot be a county of component IDs, or None when it can."""
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return "must be 6 digits (GB/T 2260 county code, e.g. 110108)"
    if code[:2] not in PROVINCE_CODES:
        return f"province {code[:2]} is not a GB/T 2260 province (nor 99, urbangrid's own)"
    return None


def _current(store: Store, layer: str, columns: list[str]) -> Any:
    if layer not in store.layers() or store.is_empty(layer):
        return None
    frame = store.read(layer, columns=columns)
    return None if frame.empty else frame


def district_parts(store: Store) -> tuple[Any, str] | None:
    """County polygons of the store and what they are, or None when it holds none.

    Returns
    -------
    (GeoDataFrame, str) or None
        Column ``code`` (6-digit county) and the geometry, in the layer's CRS
        (admin areas: theirs; unit grids: theirs): the store's district-level
        admin areas, else its current unit grids by ``county_code``.
    """
    areas = _current(store, "admin_area", ["code", "level", "name"])
    if areas is not None:
        areas = areas[(areas["level"] == "district") & areas["code"].str.len().eq(6)]
        areas = areas[areas.geometry.notna()]
        if not areas.empty:
            names = ", ".join(sorted(set(areas["name"])))
            return areas[["code", areas.geometry.name]], f"admin area(s) {names}"
    grids = _current(store, "unit_grid", ["county_code"])
    if grids is not None:
        grids = grids.rename(columns={"county_code": "code"})
        grids = grids[grids["code"].notna()]
        if not grids.empty:
            return grids[["code", grids.geometry.name]], f"the {len(grids)} unit grids"
    return None


def _known_county(store: Store, code: str) -> bool:
    """Whether `code` is a district-level admin area or the county of a unit grid."""
    layers = store.layers()
    if "admin_area" in layers:
        level = store.current_values("admin_area", "code", [code], "level").get(code)
        if level == "district":
            return True
    if "unit_grid" in layers:
        return bool(store.current_values("unit_grid", "county_code", [code], "county_code"))
    return False


def district_counties(store: Store) -> tuple[str, ...]:
    """The 6-digit county codes of the store's district, sorted (empty: none known)."""
    parts = district_parts(store)
    return () if parts is None else tuple(sorted(parts[0]["code"].astype(str).unique()))


def no_county_reason(counties: tuple[str, ...], asked: str | None = None) -> str:
    """Why no county can be given to new IDs, and what to pass (library and CLI words)."""
    if asked is not None:
        return (f"--admin-code (admin_code=) {asked} is not a county of the store's "
                f"district ({', '.join(counties)}); give one of those")
    if counties:
        return (f"the store's district holds counties {', '.join(counties)}: "
                "pass --admin-code (admin_code=) to say which one new IDs get")
    return ("rows without 标识码 need a new ID, and the store holds no district "
            "(admin areas or unit grids) to take its county from: pass --admin-code "
            "(admin_code=), e.g. 110108")


def new_id_county(store: Store, admin_code: str | None) -> str:
    """The county new component IDs get in `store`: `admin_code` when the store's
    district holds it (or the store knows no district), else the district's only
    county.

    Raises
    ------
    ComponentIdError
        `admin_code` is not a county code, or not one of the district's; or none
        was given and the district has no county or several: the message says
        what to pass.
    """
    if admin_code is not None:
        bad = county_code_problem(admin_code)
        if bad is not None:
            raise ComponentIdError(f"admin_code {admin_code!r} {bad}")
        if _known_county(store, admin_code):
            return admin_code  # one keyed look-up, not every unit grid read
    counties = district_counties(store)
    if admin_code is not None:
        if counties and admin_code not in counties:
            raise ComponentIdError(f"{store.target}: {no_county_reason(counties, admin_code)}")
        return admin_code
    if len(counties) == 1:
        return counties[0]
    raise ComponentIdError(f"{store.target}: {no_county_reason(counties)}")
