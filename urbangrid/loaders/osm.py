"""Reading OpenStreetMap files and street files: the library's one OSM reader.

Nothing is downloaded: files are read from disk.

* :func:`read_osm_graph` — a street graph (osmnx) of an OSM file; ways are filtered by
  their ``highway`` tag before the graph is simplified (filtering after simplification
  would leave edges merged across dropped ways).
* :func:`read_osm_ways` — the ways with a ``highway``, ``waterway`` or ``railway`` tag
  as lines (osmnx features), with the file's bounds.
* :func:`streets_frame` — a graph as one row per street segment (the shape of the
  ``street_centreline`` layer).
* :func:`read_streets` / :func:`read_street_graph` — street centrelines of any street
  file (OSM, osmnx GraphML, a survey layer) and the routing graph of one travel mode.

Formats: OSM XML (``.osm``, ``.xml``, plain or ``.bz2``/``.gz``-compressed) through
osmnx; OSM PBF (``.pbf``) through ``osmium`` (the ``pbf`` extra), converted to OSM XML
in a temporary directory first.

OSM data is © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

import bz2
import gzip
import shutil
import tempfile
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import shapely

from urbangrid.errors import DataFileError
from urbangrid.routing.patrol.modes import ModeProfile, get_mode
from urbangrid.routing.patrol.streets import street_graph

__all__ = [
    "OSM_SUFFIXES",
    "STREET_HIGHWAYS",
    "SURVEY_COLUMNS",
    "WAY_TAGS",
    "read_osm_graph",
    "read_osm_ways",
    "read_street_graph",
    "read_streets",
    "streets_frame",
]

#: File name endings read as OSM XML (osmnx opens ``.bz2`` and ``.gz`` itself).
OSM_SUFFIXES: tuple[str, ...] = (
    ".osm", ".osm.bz2", ".osm.gz", ".xml", ".xml.bz2", ".xml.gz",
)

#: Column names accepted in a survey file (调查路网), English or Chinese, per field, in
#: order; an exact name first, else the first in any case (``Street``, ``ONE_WAY``).
SURVEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "NAME", "road_name", "street", "street_name", "道路名称", "路名", "名称"),
    "highway": ("highway", "HIGHWAY", "class", "road_class", "ROAD_CLASS", "fclass",
                "FCLASS", "道路等级", "等级"),
    "oneway": ("oneway", "one_way", "单行", "单行道", "direction"),
    "lanes": ("lanes", "LANES", "车道数"),
}

#: Tags that make a way a line of :func:`read_osm_ways`.
LINE_KEYS: tuple[str, ...] = ("highway", "waterway", "railway")

#: ``highway`` values that make the street network a city is managed along:
#: every public road, service roads and pedestrian streets; not footpaths,
#: cycle tracks, steps, tracks or roads under construction.
STREET_HIGHWAYS: frozenset[str] = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "pedestrian",
        "road",
    }
)

#: Way tags kept on every edge (osmnx keeps only a short default list).
WAY_TAGS: tuple[str, ...] = (
    "highway",
    "name",
    "name:zh",
    "name:en",
    "ref",
    "oneway",
    "oneway:bicycle",
    "cycleway",
    "junction",
    "lanes",
    "maxspeed",
    "service",
    "access",
    "bicycle",
    "foot",
    "vehicle",
    "motor_vehicle",
    "motorcar",
    "motorroad",
    "bridge",
    "tunnel",
    "width",
    "area",
)


@contextmanager
def _osmnx_way_tags(tags: tuple[str, ...]) -> Iterator[None]:
    # osmnx reads the tags to keep from a module-level setting; set it only for
    # the duration of one read so callers' own settings are left as they were.
    import osmnx as ox

    saved = ox.settings.useful_tags_way
    ox.settings.useful_tags_way = list(tags)
    try:
        yield
    finally:
        ox.settings.useful_tags_way = saved


def _is_pbf(path: Path) -> bool:
    return path.name.lower().endswith(".pbf")


def _pbf_as_xml(path: Path, tmp: Path, keys: Collection[str]) -> Path:
    """Write the nodes, and the ways tagged with one of `keys`, of a PBF file as OSM XML.

    Extracts clip ways at their edge, leaving references to nodes that are not in the
    file; osmnx refuses those, so ways are cut to the nodes present.
    """
    try:
        import osmium
    except ImportError as exc:
        raise DataFileError(
            f"{path}: reading .osm.pbf needs the 'osmium' package "
            "(pip install 'urbangrid[pbf]')"
        ) from exc
    xml = tmp / (path.name.removesuffix(".pbf").removesuffix(".osm") + ".osm")
    try:
        present = {n.id for n in osmium.FileProcessor(str(path), osmium.osm.NODE)}
        n_ways = 0
        with osmium.SimpleWriter(str(xml)) as w:
            for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
                if isinstance(obj, osmium.osm.Node):
                    w.add(obj)
                elif isinstance(obj, osmium.osm.Way) and any(k in obj.tags for k in keys):
                    refs = [r.ref for r in obj.nodes if r.ref in present]
                    if len(refs) >= 2:
                        w.add(obj.replace(nodes=refs))
                        n_ways += 1
    except RuntimeError as exc:  # osmium's error for unreadable files
        raise DataFileError(f"{path}: cannot read as OSM PBF: {exc}") from exc
    if n_ways == 0:
        raise DataFileError(f"{path}: no way tagged {' or '.join(keys)} in the file")
    return xml


@contextmanager
def _as_osm_xml(path: Path, keys: Collection[str]) -> Iterator[Path]:
    """`path` itself for OSM XML; a temporary OSM XML copy of a PBF file's `keys` ways."""
    if not _is_pbf(path):
        yield path
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield _pbf_as_xml(path, Path(tmp), keys)


@contextmanager
def _osmnx_xml_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        # osmnx warns on XML it wrote itself (the Shanghai extract); the ways and
        # nodes are plain OSM XML and read correctly
        warnings.filterwarnings("ignore", message=".*appears to have been generated by OSMnx")
        yield


def read_osm_graph(
    path: str | Path,
    *,
    highways: Collection[str] | None = STREET_HIGHWAYS,
    simplify: bool = True,
    retain_all: bool = True,
) -> nx.MultiDiGraph:
    """Read a street graph from a local OSM file.

    Parameters
    ----------
    path : str or Path
        OSM XML (``.osm``, ``.xml``; bz2- or gzip-compressed is fine) or OSM PBF
        (``.pbf``, needs the ``osmium`` package: ``pip install 'urbangrid[pbf]'``).
    highways : collection of str or None
        Keep only ways whose ``highway`` tag is in this set (default
        :data:`STREET_HIGHWAYS`); None keeps every ``highway`` way.
    simplify : bool
        Merge chains of degree-2 nodes into single edges (osmnx
        ``simplify_graph``), after filtering.
    retain_all : bool
        Keep every connected piece (default), not only the largest.

    Returns
    -------
    networkx.MultiDiGraph
        osmnx graph in EPSG:4326 (node ``x``/``y`` are longitude/latitude in
        degrees), edges with ``length`` in metres and the :data:`WAY_TAGS`
        present on the way. Two-way streets appear as two directed edges.
        ``G.graph["source"]`` is the file name.

    Raises
    ------
    DataFileError
        The file is missing, unreadable, holds no matching street, or is PBF
        without ``osmium`` installed.
    """
    import osmnx as ox

    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such OSM file")
    with _as_osm_xml(path, ("highway",)) as xml:
        try:
            with _osmnx_way_tags(WAY_TAGS), _osmnx_xml_warnings():
                G = ox.graph_from_xml(xml, simplify=False, retain_all=True)
        except Exception as exc:  # osmnx raises bare ValueError/XML errors on bad files
            raise DataFileError(f"{path}: cannot read as OSM XML: {exc}") from exc
    if highways is not None:
        allowed = set(highways)
        drop = [
            (u, v, k)
            for u, v, k, hw in G.edges(keys=True, data="highway")
            if not _matches(hw, allowed)
        ]
        G.remove_edges_from(drop)
        G.remove_nodes_from([n for n, d in G.degree() if d == 0])
    if G.number_of_edges() == 0:
        raise DataFileError(f"{path}: no street with highway in {sorted(highways or [])} was found")
    if simplify:
        G = ox.simplify_graph(G)
    if not retain_all:
        G = ox.truncate.largest_component(G, strongly=False)
    G.graph["source"] = path.name
    return G


def read_osm_ways(path: str | Path) -> tuple[gpd.GeoDataFrame, shapely.Polygon]:
    """The ways tagged ``highway``, ``waterway`` or ``railway`` of an OSM file, as lines.

    Parameters
    ----------
    path : str or Path
        OSM XML or PBF file, as for :func:`read_osm_graph`.

    Returns
    -------
    ways : geopandas.GeoDataFrame
        Columns ``osm_id``, ``highway``, ``waterway``, ``railway``, ``name``
        (None where untagged) and LineString geometry in EPSG:4326 (lon/lat degrees),
        one row per way with two or more nodes, in OSM id order. A closed way is a
        closed line, whatever its tags (the outline, should osmnx have had to mend
        it, may be a MultiLineString).
    bounds : shapely.Polygon
        The file's ``<bounds>`` (PBF: header box) as a lon/lat box in degrees; the
        ways' extent when the file states none.

    Raises
    ------
    DataFileError
        The file is missing or unreadable.
    """
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such OSM file")
    columns = ["osm_id", *LINE_KEYS, "name"]
    with _as_osm_xml(path, LINE_KEYS) as xml:
        bounds = _osm_bounds(path, xml)
        try:
            with _osmnx_xml_warnings():
                feats = ox.features_from_xml(xml, tags=dict.fromkeys(LINE_KEYS, True))
        except InsufficientResponseError:
            feats = gpd.GeoDataFrame(columns=["geometry"], geometry="geometry", crs="EPSG:4326")
        except Exception as exc:  # osmnx raises bare ValueError/XML errors on bad files
            raise DataFileError(f"{path}: cannot read as OSM XML: {exc}") from exc
    feats = feats.reset_index()
    if "element" in feats:
        feats = feats[feats["element"] == "way"].rename(columns={"id": "osm_id"})
    # osmnx makes closed ways with area-like tags (highway=services, waterway=dock)
    # polygons; their outline is the way
    geoms = feats.geometry.to_numpy().copy()
    polys = np.isin(shapely.get_type_id(geoms), (3, 6))
    geoms[polys] = shapely.boundary(geoms[polys])
    data = {c: (feats[c].where(feats[c].notna(), None).to_numpy() if c in feats
                else [None] * len(feats)) for c in columns}
    ways = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"),
                            crs="EPSG:4326")
    ways = ways[shapely.get_num_coordinates(geoms) >= 2].reset_index(drop=True)
    if bounds is None:
        bounds = shapely.box(*ways.total_bounds)
    return ways, bounds


def _osm_bounds(path: Path, xml: Path) -> shapely.Polygon | None:
    """The ``<bounds>`` box (lon/lat degrees) of an OSM file, None when it has none."""
    if _is_pbf(path):
        import osmium

        box = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING).header().box()
        if not box.valid():
            return None
        return shapely.box(box.bottom_left.lon, box.bottom_left.lat,
                           box.top_right.lon, box.top_right.lat)
    opener: Any = {".bz2": bz2.open, ".gz": gzip.open}.get(xml.suffix, open)
    try:
        with opener(xml, "rb") as fh:
            # <bounds> comes before the first node, so reading stops there
            for _, el in ET.iterparse(fh, events=("start",)):
                if el.tag == "bounds":
                    return shapely.box(*(float(el.get(k, "nan")) for k in
                                         ("minlon", "minlat", "maxlon", "maxlat")))
                if el.tag in ("node", "way", "relation"):
                    return None
    except (OSError, ET.ParseError, EOFError) as exc:
        raise DataFileError(f"{path}: cannot read as OSM XML: {exc}") from exc
    return None


def _matches(highway: Any, allowed: set[str]) -> bool:
    values = highway if isinstance(highway, list) else [highway]
    return any(h in allowed for h in values)


def _first(value: Any) -> Any:
    """One value of a tag that osmnx may have merged into a list.

    osmnx builds those lists from sets, so their order changes from one
    process to the next; the smallest value (as text) is stable, which keeps
    repeated loads of one file identical.
    """
    if isinstance(value, list):
        return min(value, key=str) if value else None
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def streets_frame(G: nx.MultiDiGraph, *, source: str | None = None) -> gpd.GeoDataFrame:
    """One row per street segment of `G`, shaped for the ``street_centreline`` layer.

    A two-way street is one row (the pair of opposite directed edges is
    collapsed), with ``oneway`` False; a one-way street is one row in its
    direction of travel.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        An osmnx graph (from :func:`read_osm_graph`), in EPSG:4326.
    source : str, optional
        Value of the ``source`` column (default ``"osm:<file name>"``).

    Returns
    -------
    GeoDataFrame
        Columns ``edge_id`` (``"u-v-key"``), ``u``, ``v``, ``name``,
        ``highway``, ``oneway``, ``length_m`` (metres), ``source``, ``tags``
        (the other kept tags as a dict), geometry LineString in the graph CRS.
    """
    import osmnx as ox

    edges = ox.graph_to_gdfs(G, nodes=False).reset_index()
    src = source or f"osm:{G.graph.get('source', 'unknown')}"
    rows: list[dict[str, Any]] = []
    # A two-way street is two opposite directed edges with the same length;
    # pair each with one twin (parallel streets may share ends and length).
    unpaired: dict[tuple[Any, Any, float], int] = {}
    others = [t for t in WAY_TAGS if t not in ("highway", "name", "oneway") and t in edges]
    for d in edges.to_dict("records"):
        u, v, k = d["u"], d["v"], d["key"]
        oneway = bool(_first(d.get("oneway", False)))
        if not oneway:
            length = round(float(d["length"]), 3)
            if unpaired.get((v, u, length), 0) > 0:
                unpaired[(v, u, length)] -= 1
                continue
            unpaired[(u, v, length)] = unpaired.get((u, v, length), 0) + 1
        tags = {t: _first(d.get(t)) for t in others}
        rows.append(
            {
                "edge_id": f"{u}-{v}-{k}",
                "u": str(u),
                "v": str(v),
                "name": _first(d.get("name")),
                "highway": _first(d.get("highway")),
                "oneway": oneway,
                "length_m": float(d["length"]),
                "source": src,
                "tags": {t: x for t, x in tags.items() if x is not None} or None,
                "geometry": d["geometry"],
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=G.graph.get("crs", "EPSG:4326"))


def _graphml_streets(path: Path, highways: Collection[str] | None) -> gpd.GeoDataFrame:
    import osmnx as ox

    with tempfile.TemporaryDirectory() as tmp:
        plain = path
        if path.suffix == ".bz2":
            # osmnx reads GraphML only uncompressed
            plain = Path(tmp) / path.stem
            with bz2.open(path, "rb") as fin, plain.open("wb") as fout:
                shutil.copyfileobj(fin, fout)
        try:
            G = ox.load_graphml(plain)
        except Exception as exc:  # osmnx raises bare XML/parse errors on bad files
            raise DataFileError(f"{path}: cannot read as GraphML: {exc}") from exc
    if highways is not None:
        allowed = set(highways)
        G.remove_edges_from([
            (u, v, k) for u, v, k, hw in G.edges(keys=True, data="highway")
            if not _matches(hw, allowed)
        ])
    if G.number_of_edges() == 0:
        raise DataFileError(f"{path}: no street with highway in {sorted(highways or [])}")
    G.graph["source"] = path.name
    return streets_frame(G)


def _class_text(value: Any) -> str:
    """A road-class cell as text: ``""`` for empty, ``"2"`` for the float 2.0."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _apply_classes(path: Path, frame: gpd.GeoDataFrame,
                   classes: Mapping[str, str]) -> gpd.GeoDataFrame:
    """``highway`` values of the file mapped to OSM road classes (``"*"``: every other)."""
    text = frame["highway"].map(_class_text)
    other = classes.get("*")
    left = sorted(set(text) - set(classes)) if other is None else []
    if left:
        raise DataFileError(
            f"{path}: road class value(s) {', '.join(repr(v) for v in left[:5])} have no "
            f"OSM class in --highway-values (classes= in Python); add them, or '*=CLASS' "
            "for every other value")
    frame = frame.copy()
    frame["highway"] = text.map(lambda v: classes.get(v, other))
    return frame


def _no_class_column(path: Path, frame: gpd.GeoDataFrame) -> DataFileError:
    known = ", ".join(SURVEY_COLUMNS["highway"])
    cols = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)
    return DataFileError(
        f"{path}: no road class column (one of {known}); name the file's column with "
        f"--highway-column COLUMN (and map its values to OSM classes with --highway-values "
        f"'1=primary,2=secondary,*=residential'; in Python columns={{'highway': COLUMN}}, "
        f"classes=...); the file's columns are {cols}")


def _survey_streets(path: Path, columns: Mapping[str, str] | None,
                    classes: Mapping[str, str] | None = None) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_file(f"/vsigzip/{path}" if path.suffix == ".gz" else path)
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise DataFileError(f"{path}: cannot read as a vector file: {exc}") from exc
    rename: dict[str, str] = {}
    folded = {str(c).casefold(): c for c in frame.columns if c != frame.geometry.name}
    for fld, names in SURVEY_COLUMNS.items():
        chosen = (columns or {}).get(fld)
        if chosen is not None:
            if chosen not in frame.columns:
                cols = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)
                raise DataFileError(f"{path}: column {chosen!r} (for {fld!r}) is not in the "
                                    f"file; its columns are {cols}")
            rename[chosen] = fld
            continue
        # exact names first, then any case (Cambridge MA's Street, Direction)
        hit = next((c for c in names if c in frame.columns), None) or next(
            (folded[n.casefold()] for n in names if n.casefold() in folded), None)
        if hit is not None and hit != fld:
            rename[hit] = fld
    # a chosen column replaces a default-named one (e.g. a file with both class and FCC)
    frame = frame.drop(columns=[f for f in rename.values() if f in frame.columns
                                and f not in rename])
    frame = frame.rename(columns=rename)
    if "highway" not in frame.columns:
        raise _no_class_column(path, frame)
    if classes:
        frame = _apply_classes(path, frame, classes)
    # Geofabrik's layout (its fclass column, renamed to highway above): B/F/T letters
    letters = "fclass" in folded
    frame = _survey_oneway(path, frame, next((k for k, f in rename.items() if f == "oneway"),
                                             "oneway"), "oneway" in (columns or {}), letters)
    # survey node ids (if any) are not trusted: street_graph snaps line ends instead
    return frame.drop(columns=[c for c in ("u", "v") if c in frame.columns])


#: Default one-way column names that other files use for other things (a compass bearing):
#: read as one-way only when their values are one-way codes.
_MAYBE_ONEWAY = ("direction",)


def _survey_oneway(path: Path, frame: gpd.GeoDataFrame, column: str,
                   chosen: bool, letters: bool = False) -> gpd.GeoDataFrame:
    """The ``oneway`` field as codes 1 / -1 / 0 (along / against the line, two-way) and
    ``attrs["oneway_from"]``: which column gave one-way-ness and how it was read, or that
    none did (every street two-way), for the route report."""
    from urbangrid.routing.patrol.streets import oneway_codes

    hint = "; name the one-way column with --oneway-column (columns={'oneway': ...} in Python)"
    if "oneway" not in frame.columns:
        frame.attrs["oneway_from"] = (
            f"no one-way column in {path.name} (one of "
            f"{', '.join(SURVEY_COLUMNS['oneway'])}): every street is taken as two-way{hint}")
        return frame
    try:
        codes, how = oneway_codes(frame["oneway"], where=f"{path}: column {column!r}",
                                  letters=letters)
    except DataFileError as exc:
        if chosen or column.casefold() not in _MAYBE_ONEWAY:
            raise DataFileError(f"{exc}; fix the value, or name the one-way column with "
                                "--oneway-column") from None
        values = sorted({str(v) for v in frame["oneway"].dropna()})[:5]
        frame = frame.drop(columns="oneway")
        frame.attrs["oneway_from"] = (
            f"column {column!r} of {path.name} is not read as one-way (values "
            f"{', '.join(values)}): every street is taken as two-way{hint}")
        return frame
    frame = frame.assign(oneway=codes)
    frame.attrs["oneway_from"] = (
        f"one-way streets from column {column!r} of {path.name} ({how}): "
        f"{int((codes != 0).sum())} of {len(codes)} rows one-way")
    return frame


def read_streets(
    path: str | Path,
    *,
    highways: Collection[str] | None = STREET_HIGHWAYS,
    columns: Mapping[str, str] | None = None,
    classes: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Street centrelines of a file, one row per street segment.

    Reads OSM XML or PBF (as :func:`read_osm_graph`), osmnx GraphML (``.graphml``,
    ``.graphml.bz2``) or a survey file (anything GDAL reads: GeoPackage, GeoJSON,
    shapefile; ``.gz`` through ``/vsigzip/``) with the columns of
    :data:`SURVEY_COLUMNS`.

    Parameters
    ----------
    path : str or Path
        The file.
    highways : collection of str or None
        OSM and GraphML ways are kept only with a ``highway`` in this set, before the
        graph is simplified; None keeps every ``highway`` way. Survey rows are not
        filtered.
    columns : mapping of str to str, optional
        For survey files: field (``name``, ``highway``, ``oneway``, ``lanes``) to
        column name, where the defaults do not match.
    classes : mapping of str to str, optional
        For survey files: the road-class column's values (as text; ``"2"`` for 2.0) to
        OSM ``highway`` values, e.g. ``{"1": "primary", "2": "secondary", "*":
        "residential"}``; ``"*"`` maps every other value, empty cells included. A value
        without a class is an error.

    Returns
    -------
    geopandas.GeoDataFrame
        OSM and GraphML: the rows of :func:`streets_frame` (EPSG:4326); survey files:
        the file's rows and CRS with the fields renamed, ``oneway`` as 1 / -1 / 0 (along
        the line as drawn / against it / two-way; Geofabrik's B/F/T letters and Cambridge
        MA's ``Direction`` 1/0/-1 read too, see
        :func:`urbangrid.routing.patrol.streets.oneway_codes`) and ``attrs["oneway_from"]``
        saying which column gave one-way-ness, or that none did. ``attrs["source"]`` is
        the file name.

    Raises
    ------
    DataFileError
        Missing or unreadable file, or no usable street (e.g. an OSM file without
        ``highway`` ways).
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    name = path.name.lower()
    if name.endswith(OSM_SUFFIXES) or _is_pbf(path):
        frame = streets_frame(read_osm_graph(path, highways=highways))
    elif name.endswith((".graphml", ".graphml.bz2")):
        frame = _graphml_streets(path, highways)
    else:
        frame = _survey_streets(path, columns, classes)
    frame.attrs["source"] = path.name
    return frame


def read_street_graph(
    path: str | Path,
    mode: str | ModeProfile,
    *,
    crs: pyproj.CRS | str | None = None,
    columns: Mapping[str, str] | None = None,
    classes: Mapping[str, str] | None = None,
    country: str | None = "auto",
) -> nx.MultiDiGraph:
    """Routing graph of one travel mode from a street file.

    :func:`read_streets` filtered to the mode's ``travel`` highways and the grade-1 roads
    (so that ``G.graph["left_out_km"]`` counts those the mode leaves out, as a graph
    from the store does), then :func:`urbangrid.routing.patrol.streets.street_graph`.

    Parameters
    ----------
    path : str or Path
        OSM XML/PBF, GraphML or survey file (see :func:`read_streets`).
    mode : str or ModeProfile
        Travel mode (``"walk"``, ``"bike"``, ``"ebike"``, ``"car"``).
    crs : pyproj.CRS or str, optional
        Metric CRS of the graph; default chosen from the file's extent
        (:func:`urbangrid.spatial.crs.metric.choose_metric_crs`).
    columns, classes : mapping of str to str, optional
        Survey-file column names and road classes, see :func:`read_streets`.
    country : str or None
        Whose closures of the mode apply ("auto": where the streets lie), see
        :func:`~urbangrid.routing.patrol.streets.street_graph`.

    Returns
    -------
    networkx.MultiDiGraph
        Arcs with ``length_m`` (metres) and ``time_s`` (seconds), nodes in `crs`; see
        :mod:`urbangrid.routing.patrol.streets`.

    Examples
    --------
    >>> from urbangrid.data import data_path
    >>> G = read_street_graph(data_path("osm/beijing_haidian_wudaokou.osm.bz2"), "bike")
    >>> G.graph["crs"], G.graph["mode"]
    ('EPSG:4548', 'bike')
    """
    prof = get_mode(mode)
    grade1 = {hw for hw, g in prof.grades.items() if g == 1}
    frame = read_streets(path, highways=prof.travel | grade1, columns=columns, classes=classes)
    _check_survey_classes(Path(path), frame, prof, columns)
    return street_graph(frame, mode, crs=crs, source=Path(path).name, country=country)


def _check_survey_classes(path: Path, frame: gpd.GeoDataFrame, prof: ModeProfile,
                          columns: Mapping[str, str] | None) -> None:
    """A survey file whose road classes are no OSM class at all: the values found and the
    option that maps them (e.g. Cambridge MA's ``ROADWAYS`` F/T/N)."""
    from urbangrid.routing.patrol.modes import read_modes

    seen = {_class_text(v) for v in frame["highway"]}
    osm = set(prof.travel).union(STREET_HIGHWAYS, *(m.travel for m in read_modes().values()))
    if seen & osm:
        return  # OSM classes, only none this mode's: street_graph says so
    col = (columns or {}).get("highway", "highway")
    found = ", ".join(v or "(empty)" for v in sorted(seen)[:8]) or "nothing"
    example = max(seen, default="") or "X"
    raise DataFileError(
        f"{path}: the road class column {col!r} holds {found}, none an OSM class the mode "
        f"{prof.name!r} travels on ({', '.join(sorted(prof.travel))}); map the values with "
        f"--highway-values, e.g. '{example}=primary,*=residential'"
        f" (classes= in Python)")
