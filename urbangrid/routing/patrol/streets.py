"""Street graphs by travel mode (按巡查方式的道路网络) from street centrelines or the store.

:func:`street_graph` turns street centrelines (one row per street segment, the shape
of the store's ``street_centreline`` layer) into the routing graph of one travel mode
(:mod:`urbangrid.routing.patrol.modes`); :func:`store_street_graph` does it for the
store's layer. Files (OSM XML/PBF, GraphML, survey layers) are read by
:func:`urbangrid.loaders.osm.read_street_graph`, which ends here too:

* only ``highway`` values the mode may use are kept, and streets its access tags close
  to it are dropped (``access``, ``bicycle``, ``foot``… ``=no`` or ``private``, the
  most specific tag winning; ``motorroad=yes`` for bike and walk);
* the values the mode's country rule closes are dropped too: in China walk, bike and
  e-bike leave out trunk and trunk_link (城市快速路), which OSM's worldwide default (and
  the mode elsewhere) opens to them (:meth:`ModeProfile.in_country`); the country is
  where the streets lie, unless named;
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
``y`` in the graph CRS (metres). ``G.graph`` records ``crs``, ``mode``, ``source``,
``created_with``, ``country`` (the ISO 3166 code whose rule applied, "" for none),
``left_out_km`` (km of grade-1 roads per ``highway`` value the mode may not use: trunk by
bike in China, motorways, ways its access tags close to it) and ``left_out`` (those
roads per ``highway`` value, one MultiLineString in the graph CRS: what of them an area
holds), and for a survey file ``oneway_from``: the column one-way streets were read from
and how (:func:`oneway_codes`), or that none was.

OSM data is © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely

from urbangrid.errors import DataFileError
from urbangrid.routing.patrol.modes import ModeProfile, get_mode
from urbangrid.spatial.crs.metric import choose_metric_crs

if TYPE_CHECKING:
    from urbangrid.store import Store

__all__ = [
    "oneway_codes",
    "store_street_graph",
    "street_graph",
]

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


#: One-way letters of street files that are not OSM tags: Geofabrik's shapefiles (``B``
#: both ways, ``F`` forward: along the line as drawn, ``T`` backward) and Esri street
#: networks (``FT`` from the line's first point to its last, ``TF`` the other way).
_LETTERS = {"b": 0, "f": 1, "t": -1, "ft": 1, "tf": -1}


def oneway_codes(values: pd.Series, *, where: str, letters: bool = False
                 ) -> tuple[np.ndarray, str]:
    """A street file's one-way column as codes: 1 one-way along the line as drawn, -1
    one-way against it, 0 two-way (empty cells too), and the reading used, in words.

    Read as OSM values (yes/no/true/false/1/0/-1, Cambridge MA's ``Direction`` 1/0/-1)
    unless the values are letters of :data:`_LETTERS` and either ``B``, ``FT`` or ``TF``
    occurs or ``letters`` is set (a Geofabrik layout, its ``fclass`` column): then
    ``T`` is backward, not true, and ``F`` forward, not false.

    Raises
    ------
    DataFileError
        A value neither reading knows; the message names ``where`` (file and column), the
        row (counted from 1) and the values each reading takes.
    """
    text = [str(_first(v)).strip().lower() if _first(v) is not None else "" for v in values]
    text = [t[:-2] if t.endswith(".0") else t for t in text]  # 1.0 / -1.0 from numeric columns
    seen = set(text) - {""}
    if seen and seen <= set(_LETTERS) and (letters or seen & {"b", "ft", "tf"}):
        codes = np.array([_LETTERS.get(t, 0) for t in text], dtype=np.int8)
        return codes, "B both ways, F/FT along the line as drawn, T/TF against it"
    codes = np.zeros(len(text), dtype=np.int8)
    for i, t in enumerate(text):
        if t in _TRUE or t in ("reversible", "alternating"):
            codes[i] = 1
        elif t == "-1":
            codes[i] = -1
        elif t not in _FALSE:
            raise DataFileError(
                f"{where}: row {i + 1}: {values.iloc[i]!r} is not a one-way value (yes/no, "
                "true/false, 1/0/-1 with -1 against the line, or Geofabrik's B/F/T)")
    return codes, "1/yes along the line as drawn, -1 against it, 0/no or empty two-way"


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
    country: str | None = "auto",
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
    country : str or None
        ISO 3166 code whose closures of the mode apply (:attr:`ModeProfile.closed_in`):
        "auto" (default) for where the streets lie ("CN" in China, by the rule of
        :func:`~urbangrid.spatial.crs.metric.choose_metric_crs`, else none), None for
        none (OSM's worldwide default: trunk roads open to bikes and pedestrians unless
        tagged closed). That rule is a box (73.5-135.5°E, 3-54°N): it also takes in
        cities of China's neighbours (Seoul, Hanoi, Delhi), whose callers name their
        country or None.

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
    src = source or str(streets.attrs.get("source", "streets"))
    frame, geoms, target = _projected_lines(streets, src, crs)
    place = _country(streets) if country == "auto" else (country or "").upper()
    prof = get_mode(mode).in_country(place)
    has_uv = {"u", "v"} <= set(frame.columns) and frame[["u", "v"]].notna().all().all()
    records = frame.drop(columns=frame.geometry.name).to_dict("records")
    flip = _drawn_v_to_u(frame, geoms) if has_uv else np.zeros(len(geoms), dtype=bool)
    b = _GraphBuilder(prof, src, snap_m)
    for i, (row, geom) in enumerate(zip(records, geoms, strict=True)):
        b.add(i, row, geom, has_uv, flip=bool(flip[i]))
    G = b.G
    if G.number_of_edges() == 0:
        raise DataFileError(
            f"{src}: no street the mode {prof.name!r} may use; highway values found: "
            f"{', '.join(sorted(b.seen_highways)) or 'none'}; the mode uses "
            f"{', '.join(sorted(prof.travel))}"
        )
    if streets.attrs.get("oneway_from"):  # a survey file: which column gave one-way-ness
        G.graph["oneway_from"] = str(streets.attrs["oneway_from"])
    left_out = {hw: shapely.MultiLineString(lines) for hw, lines in sorted(b.left_out.items())}
    G.graph.update({
        "crs": target.to_string(),
        "mode": prof.name,
        "country": place,
        "left_out_km": {hw: round(float(shapely.length(lines)) / 1000, 3)
                        for hw, lines in left_out.items()},
        "left_out": left_out,
        "source": src,
        "created_with": "urbangrid.routing.patrol.streets",
    })
    return G


#: EPSG codes of the CGCS2000 3-degree Gauss-Krüger zones (central meridians 75°E to
#: 135°E): the metric CRS :func:`choose_metric_crs` gives an area in China.
_CGCS2000_ZONES = range(4534, 4555)


def _country(streets: gpd.GeoDataFrame) -> str:
    """"CN" when the streets lie in China (the metric-CRS rule's test), else ""."""
    return "CN" if choose_metric_crs(streets).to_epsg() in _CGCS2000_ZONES else ""


def _projected_lines(
    streets: gpd.GeoDataFrame, src: str, crs: pyproj.CRS | str | None
) -> tuple[gpd.GeoDataFrame, np.ndarray, pyproj.CRS]:
    """The streets in the metric graph CRS, their geometries, each one LineString
    (MultiLineStrings that merge into one line are merged), and the CRS."""
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
    return frame, geoms, target


def _drawn_v_to_u(frame: pd.DataFrame, geoms: np.ndarray) -> np.ndarray:
    """Rows whose line is drawn from ``v`` to ``u`` (graph CRS, metres).

    Undirected exports (e.g. an OSMnx graph made undirected, as the neatnet networks
    are) keep each line as drawn while ``u < v``: about a quarter of the Wuhan lines
    run backwards, which put nodes up to 200 m off and turned straight runs into
    U-turns. A node's place is the line end its rows share most often; a row is drawn
    backwards when its ends lie closer to the other node's place.
    """
    start = shapely.get_coordinates(shapely.get_point(geoms, 0))
    end = shapely.get_coordinates(shapely.get_point(geoms, -1))
    u = frame["u"].astype(str).to_numpy()
    v = frame["v"].astype(str).to_numpy()
    ends = np.r_[start, end, start, end]  # each row offers both ends to u and to v
    cand = pd.DataFrame({"node": np.r_[u, u, v, v], "x": np.round(ends[:, 0], 1),
                         "y": np.round(ends[:, 1], 1)})
    counts = cand.groupby(["node", "x", "y"], sort=False).size().rename("n").reset_index()
    counts = counts.sort_values(["node", "n"], ascending=[True, False], kind="stable")
    top = counts.groupby("node", sort=False).head(2)
    first = top.groupby("node", sort=False).nth(0).set_index("node")
    second = top.groupby("node", sort=False).nth(1).set_index("node")["n"]
    known = first["n"] > second.reindex(first.index).fillna(0)  # ties: a dead end
    px, py = first["x"], first["y"]

    def gap(node: np.ndarray, xy: np.ndarray) -> np.ndarray:
        ok = known.reindex(node).fillna(False).to_numpy(dtype=bool)
        d = np.hypot(xy[:, 0] - px.reindex(node).to_numpy(dtype=float),
                     xy[:, 1] - py.reindex(node).to_numpy(dtype=float))
        return np.where(ok, d, 0.0)

    forward = gap(u, start) + gap(v, end)
    backward = gap(u, end) + gap(v, start)
    return backward + 1e-6 < forward


class _GraphBuilder:
    """Adds street rows to a mode's graph: nodes by id or by snapped line ends, one
    arc per direction the mode may drive, keys unique per unordered node pair."""

    def __init__(self, prof: ModeProfile, src: str, snap_m: float) -> None:
        self.prof, self.src, self.snap_m = prof, src, snap_m
        self.G = nx.MultiDiGraph()
        self.pair_count: dict[frozenset[Any], int] = {}
        self.snap: dict[tuple[int, int], str] = {}
        self.seen_highways: set[str] = set()
        self.left_out: dict[str, list[shapely.LineString]] = {}

    def node_at(self, pt: tuple[float, float]) -> str:
        """The node at a line end, ``snap_m`` metres wide."""
        key = (round(pt[0] / self.snap_m), round(pt[1] / self.snap_m))
        if key not in self.snap:
            self.snap[key] = f"n{len(self.snap)}"
        return self.snap[key]

    def _usable(self, hw: str, tags: Mapping[str, Any]) -> bool:
        if hw not in self.prof.travel or not self.prof.allows(tags):
            return False
        return str(_first(tags.get("area")) or "").lower() != "yes"

    def add(self, i: int, row: dict[str, Any], geom: shapely.LineString, has_uv: bool,
            flip: bool = False) -> None:
        """Add row ``i`` (its columns and its line in the graph CRS) if the mode uses it;
        ``flip``: the line is drawn from ``v`` to ``u``."""
        where = f"{self.src}: row {i}"
        tags = _tags(row.get("tags"))
        hw = _first(row.get("highway"))
        if hw is None:
            return
        hw = str(hw)
        self.seen_highways.add(hw)
        if not self._usable(hw, tags):
            # grade-1 roads the mode may not use (expressways by bike, by their class or
            # tagged motorroad=yes or bicycle=no), not those closed to all (access=private):
            # another mode patrols them, and a plan says so
            public = str(_first(tags.get("access")) or "").lower() not in ("no", "private")
            closed = hw not in self.prof.travel or (public and not self.prof.allows(tags))
            if closed and self.prof.grade(hw) == 1:
                self.left_out.setdefault(hw, []).append(geom)
            return
        coords = np.asarray(geom.coords)
        if len(coords) < 2:
            raise DataFileError(f"{where}: field 'geometry': a line needs two points")
        way = _oneway_value(row.get("oneway"), where)
        if has_uv:
            u, v = str(row["u"]), str(row["v"])
            if flip:  # the line's direction stands (a one-way street runs along it)
                u, v = v, u
        else:
            u, v = self.node_at(tuple(coords[0])), self.node_at(tuple(coords[-1]))
        if way == -1:
            u, v, geom, coords, way = v, u, geom.reverse(), coords[::-1], 1
        for n, xy in ((u, coords[0]), (v, coords[-1])):
            if n not in self.G:
                self.G.add_node(n, x=float(xy[0]), y=float(xy[1]))
        attrs = self._attrs(i, row, tags, hw, geom, _mode_oneway(self.prof, way, tags))
        pair = frozenset((u, v))
        k = self.pair_count.get(pair, 0)
        self.pair_count[pair] = k + 1
        self.G.add_edge(u, v, key=k, **attrs)
        if not attrs["oneway"]:
            self.G.add_edge(v, u, key=k, **{**attrs, "geometry": geom.reverse()})

    def _attrs(
        self,
        i: int,
        row: dict[str, Any],
        tags: Mapping[str, Any],
        hw: str,
        geom: shapely.LineString,
        one: bool,
    ) -> dict[str, Any]:
        prof = self.prof
        length = float(shapely.length(geom))
        name = _first(row.get("name")) or _first(tags.get("name:zh"))
        sid = row.get("edge_id")
        missing = sid is None or (isinstance(sid, float) and math.isnan(sid))
        return {
            "street_id": f"{self.src}#{i}" if missing else str(sid),
            "name": None if name is None else str(name),
            "highway": hw,
            "grade": prof.grade(hw),
            "lanes": _lanes(row.get("lanes", tags.get("lanes"))),
            "oneway": one,
            "length_m": length,
            "time_s": length / (prof.speed(hw) / 3.6),
            "geometry": geom,
        }


def store_street_graph(
    store: Store,
    mode: str | ModeProfile,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    crs: pyproj.CRS | str | None = None,
    country: str | None = "auto",
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
    country : str or None
        Whose closures of the mode apply; see :func:`street_graph`.

    Raises
    ------
    DataFileError
        The layer is empty (in ``bbox``) or holds no street of the mode.
    """
    frame = store.read("street_centreline", bbox=bbox)
    if len(frame) == 0:
        where = "" if bbox is None else " in bbox " + ", ".join(f"{float(v):.6g}" for v in bbox)
        # the wording of urbangrid.cli.stores.empty_store_message, with the store the
        # user named (store.target has no password) in the command to run
        raise DataFileError(f"{store.target} holds no streets{where} (layer "
                            "street_centreline); load streets into it (`urbangrid load "
                            f"streets FILE --store {store.target}`)")
    return street_graph(frame, mode, crs=crs, source=f"store:{store.kind}:street_centreline",
                        country=country)
