"""Street graphs by travel mode (按巡查方式的道路网络) from OSM files, the store or a survey.

Every reader ends in :func:`street_graph`, which turns street centrelines (one row
per street segment, the shape of the store's ``street_centreline`` layer) into the
routing graph of one travel mode (:mod:`urbangrid.routing.patrol.modes`):

* only ``highway`` values the mode may use are kept, and streets tagged
  ``access=private`` or ``access=no`` are dropped;
* one-way streets follow the mode's rule: ignored on foot, respected by car,
  respected by bike unless ``oneway:bicycle=no`` or a contraflow ``cycleway=opposite*``
  is tagged;
* geometry is projected to a metric CRS chosen from the area
  (:func:`urbangrid.spatial.crs.metric.choose_metric_crs`: the CGCS2000 3-degree
  Gauss-Krüger zone in China, UTM elsewhere), unless one is given.

The graph is a ``networkx.MultiDiGraph``: a two-way street is two opposite arcs
``(u, v, k)`` and ``(v, u, k)`` with the same key and ``street_id``; a one-way
street is one arc. Keys are unique per unordered node pair, so ``(v, u, k)`` never
names a different street than ``(u, v, k)``. Every arc carries ``street_id``,
``name`` (the Chinese name as tagged, ``name:zh`` when ``name`` is missing),
``highway``, ``grade`` (道路等级 1-3), ``lanes``, ``oneway`` (for the mode),
``length_m`` (metres), ``time_s`` (seconds at the mode's patrol speed) and
``geometry`` (LineString from ``u`` to ``v`` in the graph CRS). Nodes carry ``x``,
``y`` in the graph CRS (metres). ``G.graph`` records ``crs``, ``mode``, ``source``
and ``created_with``.

OSM data is © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

import bz2
import json
import math
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely

from urbangrid.errors import DataFileError
from urbangrid.routing.patrol.modes import ModeProfile, get_mode

__all__ = [
    "SURVEY_COLUMNS",
    "read_street_graph",
    "store_street_graph",
    "street_graph",
    "streets_of",
]

#: Column names accepted in a survey file (调查路网), English or Chinese, per field.
SURVEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "NAME", "street_name", "road_name", "道路名称", "路名", "名称"),
    "highway": ("highway", "HIGHWAY", "class", "road_class", "道路等级", "等级"),
    "oneway": ("oneway", "ONEWAY", "one_way", "单行", "单行道"),
    "lanes": ("lanes", "LANES", "车道数"),
}

_TRUE = {"yes", "true", "1", "t", "y", "是"}
_FALSE = {"no", "false", "0", "f", "n", "否", ""}


def _first(value: Any) -> Any:
    # osmnx merges differing tag values into lists; the smallest (as text) is stable
    if isinstance(value, list | tuple | np.ndarray):
        return min(value, key=str) if len(value) else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NA:
        return None
    return value


def _tags(raw: Any) -> dict[str, Any]:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return {}
    return dict(raw) if isinstance(raw, Mapping) else {}


def _oneway_value(raw: Any, where: str) -> int:
    """1 (one-way u→v), -1 (one-way v→u) or 0 (two-way) from a tag or column value."""
    raw = _first(raw)
    if raw is None:
        return 0
    if isinstance(raw, bool | np.bool_):
        return 1 if raw else 0
    if isinstance(raw, int | float | np.integer | np.floating) and raw in (0, 1, -1):
        return int(raw)
    text = str(raw).strip().lower()
    if text in _TRUE:
        return 1
    if text in _FALSE:
        return 0
    if text == "-1":
        return -1
    if text in ("reversible", "alternating"):
        return 1
    msg = f"{where}: field 'oneway': {raw!r} is not yes/no/true/false/1/0/-1"
    raise DataFileError(msg)


def _mode_oneway(mode: ModeProfile, oneway: int, tags: Mapping[str, Any]) -> bool:
    if oneway == 0 or mode.oneway == "ignore":
        return False
    if mode.oneway == "bicycle":
        if str(_first(tags.get("oneway:bicycle")) or "").lower() == "no":
            return False
        if str(_first(tags.get("cycleway")) or "").lower().startswith("opposite"):
            return False
    return True


def _lanes(raw: Any) -> float | None:
    raw = _first(raw)
    if raw is None:
        return None
    try:
        return float(str(raw).split(";")[0])
    except ValueError:
        return None


def street_graph(
    streets: gpd.GeoDataFrame,
    mode: str | ModeProfile,
    *,
    crs: pyproj.CRS | str | None = None,
    snap_m: float = 0.5,
    source: str | None = None,
) -> nx.MultiDiGraph:
    """Routing graph of one travel mode from street centrelines.

    Parameters
    ----------
    streets : geopandas.GeoDataFrame
        One row per street segment, LineString geometry in any stated CRS, with
        columns ``highway`` and optionally ``name``, ``oneway`` (bool, or OSM text
        ``yes``/``no``/``-1``: one-way in the line's direction unless ``-1``),
        ``edge_id``, ``u``/``v`` (node ids), ``length_m`` (metres) and ``tags``
        (dict or JSON text of other OSM tags: ``oneway:bicycle``, ``cycleway``,
        ``lanes``, ``access``, ``name:zh``). This is the shape of
        :func:`urbangrid.loaders.osm.streets_frame` and of the ``street_centreline``
        layer.
    mode : str or ModeProfile
        Travel mode (``"walk"``, ``"bike"``, ``"ebike"``, ``"car"``).
    crs : pyproj.CRS or str, optional
        Metric CRS of the graph; default chosen from the streets' extent.
    snap_m : float
        Without ``u``/``v``, line ends closer than this (metres, in the graph CRS)
        become one node.
    source : str, optional
        Provenance recorded in ``G.graph["source"]``.

    Returns
    -------
    networkx.MultiDiGraph
        See the module docstring for its attributes.

    Raises
    ------
    DataFileError
        No CRS, a row without a LineString, a bad ``oneway`` value (naming the row),
        or no street the mode may use.
    """
    from urbangrid.spatial.crs.metric import choose_metric_crs

    prof = get_mode(mode)
    src = source or str(streets.attrs.get("source", "streets"))
    if streets.crs is None:
        raise DataFileError(f"{src}: the streets have no CRS; set one (e.g. EPSG:4326)")
    if "highway" not in streets.columns:
        raise DataFileError(f"{src}: no 'highway' column to choose streets by mode")
    if len(streets) == 0:
        raise DataFileError(f"{src}: no street rows")
    target = pyproj.CRS(crs) if crs is not None else choose_metric_crs(streets)
    if not target.is_projected:
        raise DataFileError(f"{src}: the graph CRS {target.to_string()} is not metric")
    frame = streets.to_crs(target)
    geoms = frame.geometry.to_numpy()
    types = shapely.get_type_id(geoms)
    multi = types == 5
    if multi.any():
        # a MultiLineString that merges into one line is a street; others are kept apart
        merged = shapely.line_merge(geoms[multi])
        geoms = geoms.copy()
        geoms[multi] = merged
        types = shapely.get_type_id(geoms)
    bad = np.flatnonzero(types != 1)
    if len(bad):
        i = int(bad[0])
        raise DataFileError(
            f"{src}: row {i}: field 'geometry': {shapely.get_type_id(geoms[i])!r} type id, "
            f"not a single LineString ({len(bad)} such rows)"
        )
    has_uv = {"u", "v"} <= set(frame.columns) and frame[["u", "v"]].notna().all().all()
    records = frame.drop(columns=frame.geometry.name).to_dict("records")
    G = nx.MultiDiGraph()
    pair_count: dict[frozenset[Any], int] = {}
    snap: dict[tuple[int, int], str] = {}
    seen_hw: set[str] = set()

    def node_at(pt: tuple[float, float]) -> str:
        key = (round(pt[0] / snap_m), round(pt[1] / snap_m))
        if key not in snap:
            snap[key] = f"n{len(snap)}"
        return snap[key]

    for i, (row, geom) in enumerate(zip(records, geoms, strict=True)):
        where = f"{src}: row {i}"
        tags = _tags(row.get("tags"))
        hw = _first(row.get("highway"))
        if hw is None:
            continue
        hw = str(hw)
        seen_hw.add(hw)
        if hw not in prof.travel or str(_first(tags.get("access")) or "") in ("private", "no"):
            continue
        if str(_first(tags.get("area")) or "").lower() == "yes":
            continue
        coords = np.asarray(geom.coords)
        if len(coords) < 2:
            raise DataFileError(f"{where}: field 'geometry': a line needs two points")
        way = _oneway_value(row.get("oneway"), where)
        if has_uv:
            u, v = str(row["u"]), str(row["v"])
        else:
            u, v = node_at(tuple(coords[0])), node_at(tuple(coords[-1]))
        if way == -1:
            u, v, geom, coords, way = v, u, geom.reverse(), coords[::-1], 1
        for n, xy in ((u, coords[0]), (v, coords[-1])):
            if n not in G:
                G.add_node(n, x=float(xy[0]), y=float(xy[1]))
        length = float(shapely.length(geom))
        name = _first(row.get("name")) or _first(tags.get("name:zh"))
        one = _mode_oneway(prof, way, tags)
        pair = frozenset((u, v))
        k = pair_count.get(pair, 0)
        pair_count[pair] = k + 1
        sid = row.get("edge_id")
        sid = str(sid) if sid is not None and not (isinstance(sid, float) and math.isnan(sid)) \
            else f"{src}#{i}"
        attrs = {
            "street_id": sid,
            "name": None if name is None else str(name),
            "highway": hw,
            "grade": prof.grade(hw),
            "lanes": _lanes(row.get("lanes", tags.get("lanes"))),
            "oneway": one,
            "length_m": length,
            "time_s": length / (prof.speed(hw) / 3.6),
            "geometry": geom,
        }
        G.add_edge(u, v, key=k, **attrs)
        if not one:
            G.add_edge(v, u, key=k, **{**attrs, "geometry": geom.reverse()})
    if G.number_of_edges() == 0:
        raise DataFileError(
            f"{src}: no street the mode {prof.name!r} may use; highway values found: "
            f"{', '.join(sorted(seen_hw)) or 'none'}; the mode uses "
            f"{', '.join(sorted(prof.travel))}"
        )
    G.graph.update({
        "crs": target.to_string(),
        "mode": prof.name,
        "source": src,
        "created_with": "urbangrid.routing.patrol.streets",
    })
    return G


def _osm_frame(path: Path, prof: ModeProfile) -> gpd.GeoDataFrame:
    from urbangrid.loaders.osm import read_osm_graph, streets_frame

    with warnings.catch_warnings():
        # osmnx warns on XML it wrote itself (the Shanghai extract); the ways and
        # nodes are plain OSM XML and read correctly
        warnings.filterwarnings("ignore", message=".*appears to have been generated by OSMnx")
        return streets_frame(read_osm_graph(path, highways=prof.travel))


def _graphml_frame(path: Path, prof: ModeProfile) -> gpd.GeoDataFrame:
    import osmnx as ox

    from urbangrid.loaders.osm import streets_frame

    with tempfile.TemporaryDirectory() as tmp:
        plain = path
        if path.suffix == ".bz2":
            plain = Path(tmp) / path.stem
            with bz2.open(path, "rb") as fin, plain.open("wb") as fout:
                shutil.copyfileobj(fin, fout)
        try:
            G = ox.load_graphml(plain)
        except Exception as exc:  # osmnx raises bare XML/parse errors on bad files
            raise DataFileError(f"{path}: cannot read as GraphML: {exc}") from exc
    drop = [
        (u, v, k) for u, v, k, hw in G.edges(keys=True, data="highway")
        if not any(h in prof.travel for h in (hw if isinstance(hw, list) else [hw]))
    ]
    G.remove_edges_from(drop)
    if G.number_of_edges() == 0:
        raise DataFileError(f"{path}: no street the mode {prof.name!r} may use")
    G.graph["source"] = path.name
    return streets_frame(G)


def _pbf_frame(path: Path, prof: ModeProfile) -> gpd.GeoDataFrame:
    try:
        import osmium
    except ImportError as exc:
        raise DataFileError(f"{path}: reading .osm.pbf needs the 'osmium' package") from exc
    # Extracts clip ways at their edge, leaving references to nodes that are not in the
    # file; osmnx refuses those, so ways are cut to the nodes present.
    try:
        present = {n.id for n in osmium.FileProcessor(str(path), osmium.osm.NODE)}
        with tempfile.TemporaryDirectory() as tmp:
            xml = Path(tmp) / (path.name.removesuffix(".pbf").removesuffix(".osm") + ".osm")
            n_ways = 0
            with osmium.SimpleWriter(str(xml)) as w:
                for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
                    if obj.is_node():
                        w.add(obj)
                    elif "highway" in obj.tags:
                        refs = [r.ref for r in obj.nodes if r.ref in present]
                        if len(refs) >= 2:
                            w.add(obj.replace(nodes=refs))
                            n_ways += 1
            if n_ways == 0:
                raise DataFileError(f"{path}: no way tagged highway in the file")
            frame = _osm_frame(xml, prof)
    except RuntimeError as exc:  # osmium's error for unreadable files
        raise DataFileError(f"{path}: cannot read as OSM PBF: {exc}") from exc
    frame["source"] = f"osm:{path.name}"
    return frame


def _survey_frame(path: Path, columns: Mapping[str, str] | None) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_file(f"/vsigzip/{path}" if path.suffix == ".gz" else path)
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise DataFileError(f"{path}: cannot read as a vector file: {exc}") from exc
    rename: dict[str, str] = {}
    for fld, names in SURVEY_COLUMNS.items():
        chosen = (columns or {}).get(fld)
        if chosen is not None:
            if chosen not in frame.columns:
                raise DataFileError(f"{path}: column {chosen!r} (for {fld!r}) is not in the file")
            rename[chosen] = fld
            continue
        hit = next((c for c in names if c in frame.columns), None)
        if hit is not None and hit != fld:
            rename[hit] = fld
    frame = frame.rename(columns=rename)
    if "highway" not in frame.columns:
        known = ", ".join(SURVEY_COLUMNS["highway"])
        raise DataFileError(f"{path}: no road class column (one of {known}); pass columns=")
    for c in ("u", "v"):
        if c in frame.columns:
            frame = frame.drop(columns=c)
    frame.attrs["source"] = path.name
    return frame


def streets_of(
    path: str | Path,
    mode: str | ModeProfile,
    *,
    columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Street centrelines of a file, filtered to the mode's ``highway`` values, in EPSG:4326.

    Reads OSM XML (``.osm``, ``.osm.bz2``, ``.xml``), OSM PBF (``.osm.pbf``, needs
    ``osmium``), osmnx GraphML (``.graphml``, ``.graphml.bz2``) or a survey file
    (anything GDAL reads: GeoPackage, GeoJSON, shapefile; ``.gz`` through
    ``/vsigzip/``) with the columns of :data:`SURVEY_COLUMNS`.

    Parameters
    ----------
    path : str or Path
        The file.
    mode : str or ModeProfile
        Travel mode; OSM ways are filtered by its ``travel`` highways before the
        graph is simplified.
    columns : mapping of str to str, optional
        For survey files: field (``name``, ``highway``, ``oneway``, ``lanes``) to
        column name, where the defaults do not match.

    Returns
    -------
    geopandas.GeoDataFrame
        Rows shaped for :func:`street_graph`.

    Raises
    ------
    DataFileError
        Missing or unreadable file, or no usable street (e.g. an OSM file without
        ``highway`` ways).
    """
    prof = get_mode(mode)
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    name = path.name.lower()
    if name.endswith((".osm", ".osm.bz2", ".xml", ".xml.bz2")):
        frame = _osm_frame(path, prof)
    elif name.endswith(".pbf"):
        frame = _pbf_frame(path, prof)
    elif name.endswith((".graphml", ".graphml.bz2")):
        frame = _graphml_frame(path, prof)
    else:
        frame = _survey_frame(path, columns)
    frame.attrs["source"] = path.name
    return frame


def read_street_graph(
    path: str | Path,
    mode: str | ModeProfile,
    *,
    crs: pyproj.CRS | str | None = None,
    columns: Mapping[str, str] | None = None,
) -> nx.MultiDiGraph:
    """Routing graph of one travel mode from a file (see :func:`streets_of`).

    Parameters
    ----------
    path : str or Path
        OSM XML/PBF, GraphML or survey file.
    mode : str or ModeProfile
        Travel mode.
    crs : pyproj.CRS or str, optional
        Metric CRS of the graph; default chosen from the file's extent.
    columns : mapping of str to str, optional
        Survey-file column names, see :func:`streets_of`.

    Returns
    -------
    networkx.MultiDiGraph

    Examples
    --------
    >>> from urbangrid.data import data_path
    >>> G = read_street_graph(data_path("osm/beijing_haidian_wudaokou.osm.bz2"), "bike")
    >>> G.graph["crs"], G.graph["mode"]
    ('EPSG:4548', 'bike')
    """
    frame = streets_of(path, mode, columns=columns)
    return street_graph(frame, mode, crs=crs, source=Path(path).name)


def store_street_graph(
    store: Any,
    mode: str | ModeProfile,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    crs: pyproj.CRS | str | None = None,
) -> nx.MultiDiGraph:
    """Routing graph of one travel mode from the store's ``street_centreline`` layer.

    Parameters
    ----------
    store : urbangrid.store.Store
        An open store.
    mode : str or ModeProfile
        Travel mode.
    bbox : tuple of float, optional
        ``(minx, miny, maxx, maxy)`` in the layer CRS, to read part of a city.
    crs : pyproj.CRS or str, optional
        Metric CRS of the graph; default chosen from the streets read.

    Raises
    ------
    DataFileError
        The layer is empty (in ``bbox``) or holds no street of the mode.
    """
    frame = store.read("street_centreline", bbox=bbox)
    if len(frame) == 0:
        where = "" if bbox is None else f" in bbox {bbox}"
        raise DataFileError(f"store {store.kind}: layer street_centreline has no rows{where}; "
                            "load streets first (urbangrid streets load)")
    return street_graph(frame, mode, crs=crs, source=f"store:{store.kind}:street_centreline")
