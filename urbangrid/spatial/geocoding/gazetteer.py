"""The gazetteer (地名地址库): places of the six standard types, with names and history.

GB/T 30428.3 names six place types, kept in the ``place`` layer (migration
``0901_gazetteer.sql``) of either store:

========  ==================  ==========================================================
type      standard term       built from
========  ==================  ==========================================================
area      区域                division code tables (district, street office, community)
zone      地片                OSM ``place=neighbourhood/quarter/suburb/locality``
block     区片                named residential estates (OSM ``landuse=residential``)
street    街巷                named OSM highways, merged by name
plate     门（楼）牌          OSM ``addr:housenumber`` and door-plate CSV files
poi       兴趣点              every other named OSM feature
========  ==================  ==========================================================

Every place has an official ``name``, other ``names`` (aliases, English names, old
names with the dates they were used) in a JSON list, a ``parent_id``, the division
``admin_code`` it belongs to, the unit grid (``grid_code``) and community
(``community_code``) its representative point falls in, and a geometry (point, line
or polygon, WGS84 in the frames built here; the store reprojects to its SRID). The
layer keeps history: writing a renamed place closes the old row (``valid_to``), and
the new row lists the old name in ``names`` with its dates.

:class:`Gazetteer` is the in-memory search structure over those rows that forward
and reverse geocoding use.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from urbangrid.errors import CRSError, DataFileError, ValidationError
from urbangrid.problems import Problem, format_problem, problem
from urbangrid.spatial.crs.transform import transform_xy
from urbangrid.spatial.geocoding._anchors import Anchors, build_anchors
from urbangrid.spatial.geocoding.parse import (
    Vocabulary,
    admin_entries,
    default_vocabulary,
    normalize_address,
    road_stem,
)
from urbangrid.store import Store

__all__ = [
    "LAYER",
    "PLACE_COLUMNS",
    "PLACE_TYPES",
    "Gazetteer",
    "assign_grids",
    "load_places",
    "merge_places",
    "name_key",
    "places_from_divisions",
    "places_from_osm",
    "read_door_plates_csv",
    "read_places",
    "rename_place",
]

#: Store layer holding the gazetteer.
LAYER = "place"

#: Place types (English key → GB/T 30428.3 term).
PLACE_TYPES: dict[str, str] = {
    "area": "区域", "zone": "地片", "block": "区片", "street": "街巷",
    "plate": "门（楼）牌", "poi": "兴趣点",
}

#: Attribute columns of the ``place`` layer, in order.
PLACE_COLUMNS: tuple[str, ...] = (
    "place_id", "place_type", "name", "names", "parent_id", "admin_code", "street",
    "housenumber", "grid_code", "community_code", "source",
)

_ZONE_PLACES = {"suburb", "quarter", "neighbourhood", "locality", "hamlet", "village",
                "isolated_dwelling", "city_block", "plot"}
_BLOCK_SUFFIX = re.compile(r"(小区|家园|花园|嘉园|公寓|苑|园|里|新村|宿舍)$")
_ALIAS_TAGS = ("name:zh", "name:zh-Hans", "alt_name", "short_name", "official_name",
               "name:en", "name:zh_pinyin", "alt_name:en", "loc_name")
_NUMBER_TEXT = re.compile(r"^[甲乙丙丁]?\d+(?:-\d+)?[A-Za-z]?$")


def name_key(name: str) -> str:
    """The form names are compared in: :func:`normalize_address`, then case-folded."""
    return normalize_address(name).casefold()


def _housenumber(value: Any) -> str | None:
    """Door number without 号 / 號 / 号院: ``"28號"`` → ``"28"``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = normalize_address(str(value)).strip()
    text = re.sub(r"(号院|号|院)$", "", text).replace("—", "-").replace("之", "-")
    return text or None


def _number_value(text: str | None) -> int | None:
    if not text:
        return None
    m = re.search(r"\d+", text)
    return int(m.group(0)) if m else None


def _empty_places(crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {c: pd.Series(dtype=object) for c in PLACE_COLUMNS},
        geometry=gpd.GeoSeries([], crs=crs), crs=crs,
    )


def _frame(rows: list[dict[str, Any]], crs: Any = "EPSG:4326") -> gpd.GeoDataFrame:
    if not rows:
        return _empty_places()
    frame = pd.DataFrame(rows)
    for c in PLACE_COLUMNS:
        if c not in frame:
            frame[c] = None
    geoms = gpd.GeoSeries(frame.pop("geometry").tolist(), crs=crs)
    out = gpd.GeoDataFrame(frame[list(PLACE_COLUMNS)], geometry=geoms, crs=crs)
    return out.to_crs("EPSG:4326") if out.crs and out.crs.to_epsg() != 4326 else out


# ------------------------------------------------------------------------ builders


def places_from_osm(path: str | Path, *, source: str | None = None) -> gpd.GeoDataFrame:
    """Places of every type found in a local OSM XML file (``.osm`` or ``.osm.bz2``).

    Parameters
    ----------
    path : str or Path
        OSM XML file; read with :func:`osmnx.features_from_xml` (nothing is downloaded).
    source : str, optional
        Value of the ``source`` column (default ``"osm:<file name>"``).

    Returns
    -------
    GeoDataFrame
        Columns :data:`PLACE_COLUMNS`, geometry in EPSG:4326 (longitude/latitude,
        degrees). Streets are merged by name into one ``street`` place (a
        MultiLineString); an element with ``addr:housenumber`` gives a ``plate``
        place (``osm:node/1#plate``) and, when it is also named, a ``poi``.
        Plates without ``addr:street`` take the name of the estate (区片) whose
        polygon holds them, else are dropped (they could not be found by address).

    Raises
    ------
    DataFileError
        The file is missing or is not OSM XML.
    """
    import osmnx as ox

    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such OSM file")
    if path.name.lower().endswith(".pbf"):  # else osmnx's "utf-8 codec can't decode …"
        xml = path.name.removesuffix(".pbf").removesuffix(".osm") + ".osm"
        raise DataFileError(f"{path}: an OSM PBF file; places are read from OSM XML (.osm, "
                            f".osm.bz2, .osm.gz): convert it first, e.g. `osmium cat {path} "
                            f"-o {xml}` (osmium-tool)")
    src = source or f"osm:{path.name}"
    try:
        feats = ox.features_from_xml(
            path, tags={"name": True, "addr:housenumber": True, "place": True}
        )
    except Exception as exc:  # osmnx raises bare ValueError/XML errors on bad files
        raise DataFileError(f"{path}: cannot read as OSM XML: {exc}") from exc
    feats = feats.reset_index()
    feats = feats[feats.geometry.notna() & ~feats.geometry.is_empty]
    rows: list[dict[str, Any]] = []
    streets: dict[str, list[Any]] = defaultdict(list)
    street_names: dict[str, set[str]] = defaultdict(set)
    for rec in feats.to_dict("records"):
        name = _tag(rec, "name") or _tag(rec, "name:zh")
        names = _osm_names(rec, name)
        geom = rec["geometry"]
        if _tag(rec, "highway") and geom.geom_type in ("LineString", "MultiLineString"):
            if name:
                streets[name].append(geom)
                street_names[name].update(n["name"] for n in names)
            continue
        rows.extend(_osm_place_rows(rec, name, names, src))
    for name, geoms in streets.items():
        merged = shapely.line_merge(shapely.union_all(geoms))
        aliases = [{"name": n, "kind": "alias"} for n in sorted(street_names[name]) if n != name]
        rows.append({
            "place_id": f"osm:street:{name}", "place_type": "street", "name": name,
            "names": aliases or None, "source": src, "geometry": merged,
        })
    frame = _frame(rows)
    frame = _resolve_plate_streets(frame.drop(columns="_element", errors="ignore"))
    return frame.reset_index(drop=True)


def _tag(rec: Mapping[str, Any], key: str) -> str | None:
    """An OSM tag's text, None when absent or blank."""
    v = rec.get(key)
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return str(v).strip() or None


def _osm_names(rec: Mapping[str, Any], name: str | None) -> list[dict[str, str]]:
    """Other names of an OSM element: aliases, English names, old names."""
    names = []
    for t in _ALIAS_TAGS:
        v = _tag(rec, t)
        if v and v != name:
            names.append({"name": v, "kind": "en" if ":en" in t else "alias"})
    for t in ("old_name", "old_name:zh"):
        v = _tag(rec, t)
        if v:
            names.extend({"name": n.strip(), "kind": "old"} for n in v.split(";"))
    return names


def _osm_place_rows(
    rec: Mapping[str, Any], name: str | None, names: list[dict[str, str]], src: str,
) -> list[dict[str, Any]]:
    """Place rows of one OSM element that is not a street: a plate, a named place, both."""
    pid = f"osm:{rec['element']}/{rec['id']}"
    geom = rec["geometry"]
    number = _housenumber(_tag(rec, "addr:housenumber"))
    street = _tag(rec, "addr:street")
    rows = []
    if number and _NUMBER_TEXT.match(number):
        rows.append({
            "place_id": f"{pid}#plate", "place_type": "plate",
            "name": f"{street or ''}{number}号", "names": None, "street": street,
            "housenumber": number, "admin_code": None, "source": src,
            "geometry": geom if geom.geom_type == "Point" else geom.representative_point(),
            "_element": pid,
        })
    if not name:
        return rows
    if _tag(rec, "place") in _ZONE_PLACES:
        ptype = "zone"
    elif _tag(rec, "landuse") == "residential" and geom.geom_type != "Point":
        ptype = "block"
    else:
        ptype = "poi"
    rows.append({
        "place_id": pid, "place_type": ptype, "name": name, "names": names or None,
        "street": street, "housenumber": number if number else None, "source": src,
        "geometry": geom, "_element": pid,
    })
    return rows


def _resolve_plate_streets(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    plates = frame.index[(frame.place_type == "plate") & frame.street.isna()]
    if len(plates) == 0:
        return frame
    areas = frame[frame.place_type.isin(["block", "zone", "poi"])
                  & frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    keep = np.ones(len(frame), dtype=bool)
    if len(areas):
        tree = shapely.STRtree(areas.geometry.values)
        pts = frame.geometry.values[plates]
        inp, hit = tree.query(pts, predicate="within")
        # The smallest enclosing polygon names the estate (a campus holds estates).
        area = shapely.area(areas.geometry.values)
        best: dict[int, int] = {}
        for i, h in zip(inp.tolist(), hit.tolist(), strict=True):
            if i not in best or area[h] < area[best[i]]:
                best[i] = h
        for i, pos in enumerate(plates):
            if i in best:
                estate = areas.name.iloc[best[i]]
                frame.loc[pos, "street"] = estate
                frame.loc[pos, "name"] = f"{estate}{frame.loc[pos, 'housenumber']}号"
            else:
                keep[frame.index.get_loc(pos)] = False
    else:
        keep[[frame.index.get_loc(p) for p in plates]] = False
    return frame[keep]


def places_from_divisions(
    divisions: pd.DataFrame, boundaries: gpd.GeoDataFrame | None = None, *,
    boundary_code_column: str = "code", source: str | None = None,
) -> gpd.GeoDataFrame:
    """``area`` places (区域) from a division code table.

    Parameters
    ----------
    divisions : DataFrame
        Columns ``code, name, level, parent_code``, as
        :func:`urbangrid.loaders.admin.read_divisions_csv` returns.
    boundaries : GeoDataFrame, optional
        Polygons with a code column, any CRS (converted to EPSG:4326). Areas without
        one get no geometry: they are still found by name, and located through their
        parent.
    boundary_code_column : str
        Column of `boundaries` with the division code.
    source : str, optional
        Value of the ``source`` column.

    Returns
    -------
    GeoDataFrame
        One ``area`` place per division, ``place_id`` ``"admin:<code>"``, official name
        without the committee suffix (华清园社区居委会 → 华清园社区), the full name and
        short forms in ``names``.
    """
    geoms: dict[str, Any] = {}
    crs: Any = "EPSG:4326"
    if boundaries is not None:
        crs = boundaries.crs
        geoms = dict(zip(boundaries[boundary_code_column].astype(str),
                         boundaries.geometry, strict=True))
    entries = admin_entries(
        (str(r.code), str(r.name), str(r.level)) for r in divisions.itertuples()
    )
    forms: dict[str, list[str]] = defaultdict(list)
    canon: dict[str, str] = {}
    for form, (_level, canonical, code) in entries.items():
        forms[code].append(form)
        canon[code] = canonical
    rows = []
    for r in divisions.itertuples():
        code = str(r.code)
        name = canon.get(code, str(r.name))
        aliases = [{"name": f, "kind": "alias"} for f in forms.get(code, []) if f != name]
        parent = getattr(r, "parent_code", None)
        rows.append({
            "place_id": f"admin:{code}", "place_type": "area", "name": name,
            "names": aliases or None,
            "parent_id": f"admin:{parent}" if isinstance(parent, str) and parent else None,
            "admin_code": code, "source": source, "geometry": geoms.get(code),
        })
    return _frame(rows, crs)


_PLATE_FIELDS = ("street", "number", "x", "y")


def read_door_plates_csv(
    path: str | Path, *, crs: Any, encoding: str = "utf-8-sig", source: str | None = None,
) -> gpd.GeoDataFrame:
    """Door plates (门牌) from a CSV file a GIS officer keeps.

    Parameters
    ----------
    path : str or Path
        CSV with a header. Required columns ``street`` (街巷名), ``number`` (门牌号,
        with or without 号), ``x``, ``y``; optional ``plate_id`` (default
        ``"<file>:<row>"``), ``building`` (楼号), ``name`` (a building or POI
        name), ``community_code``, ``admin_code``.
    crs : str, int or pyproj.CRS
        CRS of ``x``/``y`` (e.g. ``4490`` CGCS2000 degrees, ``4547`` Gauss-Krüger
        metres, ``"GCJ-02"`` from an online map); converted to EPSG:4326.
    encoding : str
        Text encoding (``"gbk"`` for files saved by Chinese Excel).
    source : str, optional
        Value of the ``source`` column (default ``"plates:<file name>"``).

    Returns
    -------
    GeoDataFrame
        ``plate`` places, points in EPSG:4326.

    Raises
    ------
    ValidationError
        Any bad row: missing street, a number that is not a door number, coordinates
        that are not numbers or do not fit `crs`; every problem is listed with file,
        row (header is row 1), field and reason, and nothing is returned.
    DataFileError
        The file is missing, not text in `encoding`, or lacks a required column.
    """
    path = Path(path)
    records = _read_plate_records(path, encoding)
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    xs: list[float] = []
    ys: list[float] = []
    seen: dict[str, int] = {}
    for lineno, rec in enumerate(records, start=2):
        row, x, y = _plate_row(path, lineno, rec, seen, problems)
        row["source"] = source or f"plates:{path.name}"
        rows.append(row)
        xs.append(x)
        ys.append(y)
    if not problems and rows:
        try:
            lon, lat = transform_xy(np.array(xs), np.array(ys), crs=crs, to_crs=4326)
        except CRSError as exc:
            problems.append(problem(str(path), None, "x/y", None, str(exc)))
        else:
            for r, a, b in zip(rows, lon, lat, strict=True):
                r["geometry"] = shapely.Point(a, b)
    if problems:
        raise ValidationError(
            f"{path}: {len(problems)} bad door-plate row(s); first: "
            f"{format_problem(problems[0])}; nothing was loaded", problems,
        )
    for r in rows:
        b = r.pop("building")
        if b:
            r["names"] = (r["names"] or []) + [{"name": f"{b}号楼", "kind": "building"}]
    return _frame(rows)


def _read_plate_records(path: Path, encoding: str) -> list[dict[str, str]]:
    """The rows of a door-plate CSV, checked for the required columns."""
    try:
        with open(path, encoding=encoding, newline="") as fh:
            records = list(csv.DictReader(fh))
            header = records[0].keys() if records else []
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such door-plate file") from None
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{path}: not {encoding} text ({exc.reason} at byte {exc.start}); "
            "pass encoding='gbk' for files saved by Chinese Excel"
        ) from None
    missing = [f for f in _PLATE_FIELDS if f not in header]
    if missing:
        raise DataFileError(f"{path}: missing column(s) {missing}; need {list(_PLATE_FIELDS)}")
    return records


def _plate_row(
    path: Path, lineno: int, rec: Mapping[str, str | None], seen: dict[str, int],
    problems: list[Problem],
) -> tuple[dict[str, Any], float, float]:
    """One door-plate row as a place (no geometry yet) and its x, y in the file's CRS.

    Problems of the row are appended to ``problems``; ``seen`` maps plate ids to the
    row that first used them.
    """

    def bad(fieldname: str, value: object, reason: str) -> None:
        problems.append(problem(str(path), lineno, fieldname, value, reason))

    street = normalize_address(rec.get("street") or "")
    number = _housenumber(rec.get("number") or "")
    if not street:
        bad("street", rec.get("street"), "street name is empty")
    if not number or not _NUMBER_TEXT.match(number):
        bad("number", rec.get("number"), "not a door number like 12, 12号, 12-3, 甲2")
    try:
        x, y = float(rec["x"] or ""), float(rec["y"] or "")
        if not (np.isfinite(x) and np.isfinite(y)):
            raise ValueError
    except (TypeError, ValueError):
        bad("x/y", (rec.get("x"), rec.get("y")), "coordinates are not finite numbers")
        x = y = float("nan")
    pid = (rec.get("plate_id") or "").strip() or f"{path.name}:{lineno}"
    if pid in seen:
        bad("plate_id", pid, f"duplicate plate_id (first at row {seen[pid]})")
    seen.setdefault(pid, lineno)
    return {
        "place_id": pid, "place_type": "plate", "name": f"{street}{number}号",
        "street": street, "housenumber": number,
        "names": ([{"name": n, "kind": "alias"} for n in [rec.get("name")] if n] or None),
        "community_code": (rec.get("community_code") or None),
        "admin_code": (rec.get("admin_code") or None),
        "building": rec.get("building") or None,
    }, x, y


def merge_places(*frames: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Concatenate place frames; streets of the same name are merged into one.

    Two extracts of one district both hold 成府路; the gazetteer wants one street
    whose geometry is both pieces. Other places keep the first row per ``place_id``.
    """
    parts = [f.to_crs("EPSG:4326") for f in frames if len(f)]
    if not parts:
        return _empty_places()
    allp = pd.concat(parts, ignore_index=True)
    streets = allp[allp.place_type == "street"]
    other = allp[allp.place_type != "street"].drop_duplicates("place_id")
    merged = []
    for _pid, grp in streets.groupby("place_id", sort=False):
        row = grp.iloc[0].to_dict()
        if len(grp) > 1:
            row["geometry"] = shapely.line_merge(shapely.union_all(grp.geometry.values))
            row["source"] = ";".join(sorted({s for s in grp.source if s}))
        merged.append(row)
    out = pd.concat([other, pd.DataFrame(merged)], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def assign_grids(
    places: gpd.GeoDataFrame, *, grid_index: Any = None, community_index: Any = None,
) -> gpd.GeoDataFrame:
    """Fill ``grid_code`` and ``community_code`` from assignment indexes.

    Parameters
    ----------
    places : GeoDataFrame
        Places with geometry (any CRS).
    grid_index, community_index : urbangrid.spatial.index.engine.GridIndex, optional
        Indexes over the unit grids (单元网格) and communities (社区), built with
        keys (grid and community codes). The representative point of each place is
        located; places outside every polygon keep their value.

    Returns
    -------
    GeoDataFrame
        A copy of `places` with the two columns filled.
    """
    out = places.copy()
    have = out.geometry.notna() & ~out.geometry.is_empty
    pts = out.geometry[have].representative_point()
    x, y = pts.x.to_numpy(), pts.y.to_numpy()
    for index, column in ((grid_index, "grid_code"), (community_index, "community_code")):
        if index is None or not len(x):
            continue
        pos = index.locate_many(x, y, crs=out.crs.to_string())
        keys = index.keys if index.keys is not None else np.arange(len(index))
        found = pos >= 0
        col = out[column].astype(object).to_numpy().copy()
        idx = np.flatnonzero(have.to_numpy())
        col[idx[found]] = [str(k) for k in np.asarray(keys)[pos[found]]]
        out[column] = col
    return out


def rename_place(
    places: gpd.GeoDataFrame, place_id: str, new_name: str, *, on: dt.date,
    old_since: dt.date | None = None,
) -> gpd.GeoDataFrame:
    """Rename a place, keeping the old name in ``names`` with its dates (地名沿革).

    Parameters
    ----------
    places : GeoDataFrame
        Place rows (not changed).
    place_id : str
        The place renamed.
    new_name : str
        Its new official name.
    on : date
        Date of the renaming: the old name was valid until this day.
    old_since : date, optional
        Since when the old name was used, if known.

    Returns
    -------
    GeoDataFrame
        A copy; write it with ``mode="upsert"`` and the store keeps the previous row
        too (``valid_to`` = the write time).
    """
    out = places.copy()
    hit = out.index[out.place_id == place_id]
    if len(hit) != 1:
        raise KeyError(f"no single place {place_id!r} to rename ({len(hit)} found)")
    i = hit[0]
    old = out.at[i, "name"]
    names = list(out.at[i, "names"] or [])
    names.append({"name": old, "kind": "old",
                  "from": old_since.isoformat() if old_since else None,
                  "to": on.isoformat()})
    out.at[i, "names"] = names
    out.at[i, "name"] = new_name
    return out


# ------------------------------------------------------------------------ store


def load_places(
    store: Store, places: gpd.GeoDataFrame, *,
    mode: Literal["append", "upsert", "replace"] = "upsert",
    at: dt.datetime | None = None,
) -> Any:
    """Write places to the ``place`` layer (all or nothing); returns the WriteResult.

    ``upsert`` (default) leaves unchanged places alone, so loading the same files
    again writes nothing; a renamed place keeps its previous row as history.
    """
    frame = places[[*PLACE_COLUMNS, "geometry"]].copy()
    frame["names"] = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v
                      for v in frame["names"]]
    return store.write(LAYER, frame, mode, at=at, source="gazetteer")


def read_places(store: Store, *, as_of: dt.datetime | None = None) -> gpd.GeoDataFrame:
    """The ``place`` layer as a GeoDataFrame in EPSG:4326 (current rows, or `as_of`)."""
    frame = store.read(LAYER, as_of=as_of)
    frame = frame.to_crs("EPSG:4326") if frame.crs and frame.crs.to_epsg() != 4326 else frame
    return frame


# ------------------------------------------------------------------------ search structure


def _names_list(value: Any) -> list[dict[str, Any]]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        value = json.loads(value)
    return [v if isinstance(v, dict) else {"name": str(v), "kind": "alias"} for v in value]


#: Characters that make a road another road, not a misspelling of it: 清华东路 is not
#: 清华路, 北四环 is not 北三环.
_QUALIFIERS = frozenset("东西南北中上下前后内外新老一二三四五六七八九十0123456789")


def other_street(asked: str, found: str) -> bool:
    """Whether road name `found` is a different street from `asked`, not a variant
    spelling: the two differ in a direction or ordinal (东, 中, 三, …).

    >>> other_street("清华东路", "清华路"), other_street("城府路", "成府路")
    (True, False)
    """
    return bool((set(asked) ^ set(found)) & _QUALIFIERS)


class Gazetteer:
    """Search structure over place rows for forward and reverse geocoding.

    Parameters
    ----------
    places : GeoDataFrame
        Rows shaped as :data:`PLACE_COLUMNS` plus geometry, any CRS (kept in
        EPSG:4326). Places without geometry are found by name and located through
        their parent.
    metric_crs : str, int or pyproj.CRS, optional
        A projected CRS in metres for distances and offsets; default the UTM zone of
        the places' centre.

    Attributes
    ----------
    places : GeoDataFrame
        The rows, EPSG:4326, positions ``0..n-1``.
    lon, lat : numpy.ndarray
        Representative point of each place (degrees, EPSG:4326; NaN without geometry).
    x, y : numpy.ndarray
        The same points in :attr:`metric_crs` (metres).
    metric_crs : pyproj.CRS
    vocabulary : Vocabulary
        The bundled division names plus this gazetteer's roads and places, for
        :func:`~urbangrid.spatial.geocoding.parse.parse_address`.
    """

    def __init__(self, places: gpd.GeoDataFrame, *, metric_crs: Any = None) -> None:
        if places.crs is None:
            raise ValueError("places have no CRS; set one (EPSG:4326 for OSM-derived rows)")
        frame = places.to_crs("EPSG:4326") if places.crs.to_epsg() != 4326 else places
        self.places = frame.reset_index(drop=True)
        n = len(self.places)
        geoms = self.places.geometry.values
        has = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        rep = np.full(n, None, dtype=object)
        rep[has] = shapely.point_on_surface(geoms[has])
        # A street's representative point is the middle of its longest part.
        self.ids: NDArray[Any] = self.places.place_id.to_numpy(dtype=object)
        self.types: NDArray[Any] = self.places.place_type.to_numpy(dtype=object)
        # Plain object arrays: pandas indexing costs microseconds a value, and forward
        # geocoding reads a few dozen values per address.
        self.name: NDArray[Any] = self.places.name.to_numpy(dtype=object)
        self.street: NDArray[Any] = np.array(
            [v if isinstance(v, str) else None for v in self.places.street], dtype=object)
        self.housenumber: NDArray[Any] = np.array(
            [v if isinstance(v, str) else None for v in self.places.housenumber], dtype=object)
        self.lon = np.full(n, np.nan)
        self.lat = np.full(n, np.nan)
        if has.any():
            self.lon[has] = shapely.get_x(rep[has])
            self.lat[has] = shapely.get_y(rep[has])
        if metric_crs is None:
            ok = np.isfinite(self.lon)
            lon0 = float(np.median(self.lon[ok])) if ok.any() else 116.3
            lat0 = float(np.median(self.lat[ok])) if ok.any() else 40.0
            zone = int((lon0 + 180) // 6) + 1
            metric_crs = 32600 + zone if lat0 >= 0 else 32700 + zone
        self.metric_crs = pyproj.CRS.from_user_input(metric_crs)
        self._to_m = pyproj.Transformer.from_crs(4326, self.metric_crs, always_xy=True)
        self._from_m = pyproj.Transformer.from_crs(self.metric_crs, 4326, always_xy=True)
        self.x, self.y = (np.asarray(a) for a in self._to_m.transform(self.lon, self.lat))
        self._geom_m: dict[int, Any] = {}
        self._parts_cache: dict[int, tuple[NDArray[Any], NDArray[np.float64]]] = {}
        self._build_names()
        self._build_plates()

    # ---------------------------------------------------------------- construction
    def _build_names(self) -> None:
        by_key: dict[str, list[tuple[int, str]]] = defaultdict(list)
        stems: dict[str, list[int]] = defaultdict(list)
        names_col = self.places.names.tolist()
        official = self.places.name.tolist()
        self._all_names: list[list[dict[str, Any]]] = []
        roads: set[str] = set()
        places: set[str] = set()
        admin_rows: list[tuple[str, str, str]] = []
        levels = {2: "province", 4: "city", 6: "district", 9: "street", 12: "community"}
        for i, (name, extra, ptype) in enumerate(zip(official, names_col, self.types,
                                                     strict=True)):
            alts = _names_list(extra)
            self._all_names.append(alts)
            for nm, kind in [(name, "official"), *((a["name"], a.get("kind", "alias"))
                                                  for a in alts)]:
                if not nm:
                    continue
                key = name_key(nm)
                by_key[key].append((i, kind))
                if ptype == "street":
                    roads.add(normalize_address(nm))
                    stem = road_stem(key)
                    if stem != key:
                        stems[stem].append(i)
                elif ptype in ("zone", "block", "poi"):
                    places.add(normalize_address(nm))
            code = self.places.admin_code.iat[i]
            if ptype == "area" and isinstance(code, str) and len(code) in levels:
                admin_rows.append((code, name, levels[len(code)]))
        self._by_key = dict(by_key)
        self._stems = dict(stems)
        admin_rows.sort(key=lambda r: len(r[0]))
        self.vocabulary: Vocabulary = default_vocabulary().extend(
            admin=admin_entries(admin_rows), roads=roads, places=places,
        )
        self.districts = {r[1] for r in admin_rows if r[2] == "district"}
        self.district_codes = {r[0] for r in admin_rows if r[2] == "district"}
        street_pos = np.flatnonzero(self.types == "street")
        self._street_keys = [name_key(official[i]) for i in street_pos]
        self._street_pos = street_pos
        named = np.flatnonzero(self.types != "street")
        keys, pos = [], []
        for i in named.tolist():
            for nm in [official[i], *(a["name"] for a in self._all_names[i])]:
                if nm:
                    keys.append(name_key(nm))
                    pos.append(i)
        self._named_keys, self._named_pos = keys, np.asarray(pos, dtype=np.int64)

    def _build_plates(self) -> None:
        plates: dict[str, list[int]] = defaultdict(list)
        exact: dict[tuple[str, str], list[int]] = defaultdict(list)
        streets = self.places.street.tolist()
        numbers = self.places.housenumber.tolist()
        for i in np.flatnonzero(self.types == "plate"):
            s, num = streets[i], numbers[i]
            if not isinstance(s, str) or not isinstance(num, str):
                continue
            key = name_key(s)
            plates[key].append(int(i))
            exact[(key, num.casefold())].append(int(i))
        self._plates = {k: np.asarray(v, dtype=np.int64) for k, v in plates.items()}
        self._plate_exact = dict(exact)
        self._plate_values = {
            k: np.array([_number_value(numbers[i]) or -1 for i in v], dtype=np.int64)
            for k, v in self._plates.items()
        }

    # ---------------------------------------------------------------- helpers
    def __len__(self) -> int:
        return len(self.places)

    def __repr__(self) -> str:
        counts = pd.Series(self.types).value_counts().to_dict()
        return f"Gazetteer({len(self)} places: {counts}, metric_crs={self.metric_crs.to_string()})"

    @classmethod
    def from_store(
        cls, store: Store, *, as_of: dt.datetime | None = None, metric_crs: Any = None,
    ) -> Gazetteer:
        """The gazetteer held in a store's ``place`` layer."""
        return cls(read_places(store, as_of=as_of), metric_crs=metric_crs)

    def without(self, place_ids: Iterable[str]) -> Gazetteer:
        """A gazetteer lacking some places (to measure accuracy on held-out plates)."""
        drop = set(place_ids)
        keep = ~self.places.place_id.isin(drop)
        return Gazetteer(self.places[keep], metric_crs=self.metric_crs)

    def geometry_m(self, pos: int) -> Any:
        """Geometry of place `pos` in :attr:`metric_crs` (metres), cached."""
        g = self._geom_m.get(pos)
        if g is None:
            g = shapely.transform(self.places.geometry.iat[pos],
                                  lambda c: np.column_stack(self._to_m.transform(c[:, 0],
                                                                                 c[:, 1])))
            self._geom_m[pos] = g
        return g

    def to_lonlat(self, x: Any, y: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Metric coordinates (:attr:`metric_crs`) to EPSG:4326 longitude/latitude."""
        lon, lat = self._from_m.transform(np.asarray(x, float), np.asarray(y, float))
        return np.asarray(lon), np.asarray(lat)

    def to_metric(self, lon: Any, lat: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """EPSG:4326 longitude/latitude (degrees) to :attr:`metric_crs` metres."""
        x, y = self._to_m.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x), np.asarray(y)

    def lookup(self, name: str) -> list[tuple[int, str]]:
        """Places called `name` (official, alias, English or old name): ``(pos, kind)``."""
        return self._by_key.get(name_key(name), [])

    def parent_point(self, pos: int) -> int | None:
        """Position of the nearest ancestor of `pos` that has a location, or None."""
        parents, index = self._parents()
        seen = set()
        pid = parents.get(self.ids[pos])
        while isinstance(pid, str) and pid not in seen:
            seen.add(pid)
            j = index.get(pid)
            if j is None:
                return None
            if np.isfinite(self.lon[j]):
                return j
            pid = parents.get(pid)
        return None

    def _parents(self) -> tuple[dict[str, Any], dict[str, int]]:
        return self._parent_index

    @functools.cached_property
    def _parent_index(self) -> tuple[dict[str, Any], dict[str, int]]:
        """(place id → parent id, place id → position), built on first use."""
        return (dict(zip(self.ids, self.places.parent_id, strict=True)),
                {pid: i for i, pid in enumerate(self.ids)})

    @functools.cached_property
    def anchors(self) -> Anchors:
        """KD-trees over door plates, POIs and street vertices (:attr:`metric_crs`).

        What reverse geocoding searches; built on first use and kept with the
        gazetteer, which does not change once built.
        """
        return build_anchors(self)

    def street_names(self, pos: int) -> list[str]:
        """Official name of place `pos`, then its other names (aliases, old names)."""
        return [str(self.name[pos]), *(str(a["name"]) for a in self._all_names[pos])]

    def positions(self, place_ids: Iterable[str]) -> frozenset[int]:
        """Positions of the given place ids (unknown ids are ignored)."""
        index = self._parents()[1]
        return frozenset(index[p] for p in place_ids if p in index)

    def street_parts(self, pos: int) -> tuple[NDArray[Any], NDArray[np.float64]]:
        """Parts of street `pos` in metres (LineStrings) and their lengths, cached."""
        cache = self._parts_cache.get(pos)
        if cache is None:
            parts = shapely.get_parts(self.geometry_m(pos))
            cache = (parts, shapely.length(parts))
            self._parts_cache[pos] = cache
        return cache

    def admin_chain(self, code: str | None) -> str:
        """Area names from district down to `code` (海淀区学院路街道…), for descriptions."""
        if not code:
            return ""
        out = []
        for n in (6, 9, 12):
            if len(code) >= n:
                hits = self._by_admin().get(code[:n])
                if hits is not None:
                    out.append(self.name[hits])
        return "".join(out)

    def _by_admin(self) -> dict[str, int]:
        return self._admin_index

    @functools.cached_property
    def _admin_index(self) -> dict[str, int]:
        """Division code → position of its area place, built on first use."""
        return {c: i for i, c in enumerate(self.places.admin_code)
                if isinstance(c, str) and self.types[i] == "area"}

    def plates_on(self, street: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Door plates on a street: positions and leading numbers (-1 if none)."""
        key = name_key(street)
        return (self._plates.get(key, np.empty(0, np.int64)),
                self._plate_values.get(key, np.empty(0, np.int64)))

    def plate(self, street: str, number: str) -> list[int]:
        """Positions of the plate ``street`` + ``number`` (exact, case-folded)."""
        return self._plate_exact.get((name_key(street), number.casefold()), [])

    def street_candidates(self, road: str) -> list[tuple[int, float]]:
        """Streets matching a road name: exact, then by stem, then fuzzy; ``(pos, score)``."""
        from urbangrid.spatial.geocoding._compat import best_matches

        key = name_key(road)
        hits = [(i, 1.0 if kind == "official" else 0.95) for i, kind in
                self._by_key.get(key, []) if self.types[i] == "street"]
        if hits:
            return hits
        stem = road_stem(key)
        out = [(i, 0.85) for i in self._stems.get(stem, [])]
        out += [(i, 0.85) for i, _ in self._by_key.get(stem, []) if self.types[i] == "street"]
        if out:
            return out
        return [(int(self._street_pos[j]), s * 0.9) for j, s in
                best_matches(key, self._street_keys, limit=3, cutoff=0.6)
                if not other_street(key, self._street_keys[j])]

    def other_streets(self, road: str) -> list[str]:
        """Street names close in spelling to `road` but another street (清华路 for
        清华东路), best first: what :meth:`street_candidates` leaves out, for messages."""
        from urbangrid.spatial.geocoding._compat import best_matches

        key = name_key(road)
        return [str(self.name[int(self._street_pos[j])]) for j, _ in
                best_matches(key, self._street_keys, limit=3, cutoff=0.6)
                if other_street(key, self._street_keys[j])]

    def name_candidates(
        self, name: str, *, types: Sequence[str] = ("poi", "zone", "block", "area"),
        limit: int = 5,
    ) -> list[tuple[int, float]]:
        """Named places matching `name`: exact, containment, then fuzzy; ``(pos, score)``."""
        from urbangrid.spatial.geocoding._compat import best_matches

        key = name_key(name)
        allowed = set(types)
        hits = [(i, 1.0 if kind in ("official", "alias", "en") else 0.9)
                for i, kind in self._by_key.get(key, []) if self.types[i] in allowed]
        if hits:
            return hits[:limit]
        scored = best_matches(key, self._named_keys, limit=limit * 3, cutoff=0.6)
        out: list[tuple[int, float]] = []
        seen: set[int] = set()
        for j, s in scored:
            i = int(self._named_pos[j])
            if self.types[i] in allowed and i not in seen:
                seen.add(i)
                out.append((i, s * 0.9))
        return out[:limit]
