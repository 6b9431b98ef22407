"""Street networks from local OpenStreetMap files, through osmnx.

Nothing is downloaded: osmnx reads the ``.osm``/``.osm.bz2`` file given.
``osmnx.graph_from_xml`` keeps every way it finds (footpaths, building
outlines' service roads, construction sites), so ways are filtered here by
their ``highway`` tag before the graph is simplified — filtering after
simplification would leave edges merged across dropped ways.

OSM data is © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np

from urbangrid.errors import DataFileError

__all__ = [
    "STREET_HIGHWAYS",
    "WAY_TAGS",
    "read_osm_graph",
    "streets_frame",
]

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


def read_osm_graph(
    path: str | Path,
    *,
    highways: Collection[str] | None = STREET_HIGHWAYS,
    simplify: bool = True,
    retain_all: bool = True,
) -> nx.MultiDiGraph:
    """Read a street graph from a local OSM XML file (``.osm`` or ``.osm.bz2``).

    Parameters
    ----------
    path : str or Path
        OSM XML file; bz2-compressed is fine.
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

    Raises
    ------
    DataFileError
        The file is missing, unreadable, or holds no matching street.
    """
    import osmnx as ox

    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such OSM file")
    try:
        with _osmnx_way_tags(WAY_TAGS):
            G = ox.graph_from_xml(path, simplify=False, retain_all=True)
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
