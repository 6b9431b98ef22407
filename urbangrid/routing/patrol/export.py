"""Exports a collector can follow: GeoJSON, GPX 1.1, a store layer and an HTML map.

* :func:`routes_frame` — one row per route (EPSG:4326), shaped for the
  ``patrol_route`` layer (migration ``0801_patrol_routes.sql``);
* :func:`write_geojson` — RFC 7946 FeatureCollection (WGS 84 lon/lat), the route
  LineStrings and optionally one Point per turn-by-turn step;
* :func:`write_route_layers` — the routes, their steps and their areas as one layer
  each, as QGIS opens them without asking which sublayer: a GeoPackage with layers
  ``route``, ``steps`` and ``area``, or three GeoJSON files (:func:`route_layer_paths`);
* :func:`write_gpx` — GPX 1.1 (a ``trk`` a phone app imports, the turn-by-turn steps
  as a ``rte``), WGS 84 as GPX requires;
* :func:`load_routes` — the ``patrol_route`` layer of a store (upsert with history);
* :func:`write_map` — a folium HTML map: area outlines, each route drawn in order with
  a colour gradient from start (blue) to end (red), arrows along it, the start marked,
  a legend and a scale bar. Maps carry Leaflet inline (:func:`write_offline_html`) and
  open on an intranet with no CDN; the base layer is none, OpenStreetMap or 天地图
  Tianditu (:func:`new_map`).

Chinese map apps (Amap, Baidu) display GCJ-02/BD-09 coordinates: converting a track
for them is :func:`urbangrid.spatial.crs.transform.transform_xy`'s job; files written here stay
WGS 84, as GPX and GeoJSON require.
"""

from __future__ import annotations

import functools
import gzip
import html
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from urbangrid.errors import RoutingError
from urbangrid.routing.patrol.routes import PatrolRoute
from urbangrid.store import Store

__all__ = [
    "BASEMAPS",
    "GPX_NAMESPACE",
    "ROAD_CLASS",
    "ROUTE_LEGEND",
    "add_legend",
    "add_route",
    "load_routes",
    "new_map",
    "route_layer_paths",
    "routes_frame",
    "step_texts",
    "write_geojson",
    "write_gpx",
    "write_map",
    "write_offline_html",
    "write_route_layers",
]

GPX_NAMESPACE = "http://www.topografix.com/GPX/1/1"
_CREATOR = "urbangrid"


@functools.lru_cache(maxsize=16)
def _to_wgs84(crs: str) -> pyproj.Transformer:
    """The transformer of a CRS to WGS 84 lon/lat: building one takes ~0.1 s."""
    return pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def _wgs84(route: PatrolRoute) -> pyproj.Transformer:
    return _to_wgs84(str(route.crs))


def _geom_wgs84(route: PatrolRoute, geom: Any) -> Any:
    """`geom`, in the route's metric CRS, as WGS 84 lon/lat."""
    tr = _wgs84(route)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _line_wgs84(route: PatrolRoute) -> shapely.LineString:
    return _geom_wgs84(route, route.geometry)


def _route_id(route: PatrolRoute) -> str:
    return f"{route.area_id or 'area'}:{route.mode}"


#: Road classes (道路等级) of OSM ``highway`` values, as CJJ 37 and the 数字城管
#: standards name them: (Chinese, English).
ROAD_CLASS = {
    "motorway": ("快速路", "expressway"), "trunk": ("快速路", "expressway"),
    "primary": ("主干路", "arterial road"), "secondary": ("次干路", "secondary road"),
    "tertiary": ("支路", "branch road"), "unclassified": ("支路", "branch road"),
    "residential": ("支路", "branch road"), "living_street": ("街坊路", "living street"),
    "service": ("内部道路", "service road"), "pedestrian": ("步行街", "pedestrian street"),
    "footway": ("人行道", "footway"), "path": ("小路", "path"), "steps": ("台阶", "steps"),
    "cycleway": ("自行车道", "cycle track"), "track": ("机耕路", "track"),
}
_HEADING = (("北", "north"), ("东北", "north-east"), ("东", "east"), ("东南", "south-east"),
            ("南", "south"), ("西南", "south-west"), ("西", "west"), ("西北", "north-west"))
_TURN = {"depart": ("出发", "Start"), "straight": ("直行", "Continue"),
         "left": ("左转", "Turn left"), "right": ("右转", "Turn right"),
         "uturn": ("掉头", "Make a U-turn")}


def step_texts(route: PatrolRoute) -> list[tuple[str, str]]:
    """Each step of `route` in Chinese and English, unnamed streets described.

    A step on a named street keeps the route's own text; on an unnamed one it says the
    turn, the heading and the road class instead of "无名道路": ``"左转 向北 沿 支路
    120 米"`` / ``"Turn left, head north on a branch road, 120 m"``. The heading is that
    of the street's first 30 m in the route's metric CRS (grid north).
    """
    legs = route.legs
    starts = [shapely.get_coordinates(g)[0] for g in legs.geometry] if len(legs) else []
    out, j = [], 0
    for s in route.instructions:
        while j < len(starts) and not np.allclose(starts[j], (s.x, s.y)):
            j += 1
        if s.street or s.action not in _TURN or j >= len(starts):
            out.append((s.text_zh, s.text_en))
            continue
        leg = legs.iloc[j]
        g = leg.geometry
        p = g.interpolate(min(30.0, g.length))
        bearing = math.degrees(math.atan2(p.x - starts[j][0], p.y - starts[j][1])) % 360
        (dir_zh, dir_en), (road_zh, road_en) = _HEADING[round(bearing / 45) % 8], ROAD_CLASS.get(
            str(leg.get("highway")), ("道路", "road"))
        turn_zh, turn_en = _TURN[s.action]
        out.append((f"{turn_zh} 向{dir_zh} 沿 {road_zh} {s.distance_m:.0f} 米",
                    f"{turn_en}, head {dir_en} on {'an' if road_en[0] in 'aeiou' else 'a'} "
                    f"{road_en}, {s.distance_m:.0f} m"))
    return out


def _steps(route: PatrolRoute) -> list[dict[str, Any]]:
    tr = _wgs84(route)
    out = []
    texts = step_texts(route)
    for s, (zh, en) in zip(route.instructions, texts, strict=True):
        lon, lat = tr.transform(s.x, s.y)
        out.append({"step": s.step, "action": s.action, "street": s.street,
                    "distance_m": round(s.distance_m, 1), "duration_s": round(s.duration_s, 1),
                    "lon": round(lon, 7), "lat": round(lat, 7), "text_zh": zh,
                    "text_en": en})
    return out


def routes_frame(routes: Iterable[PatrolRoute], *, source: str | None = None) -> gpd.GeoDataFrame:
    """One row per route, EPSG:4326, with the columns of the ``patrol_route`` layer.

    Parameters
    ----------
    routes : iterable of PatrolRoute
        Routes to export.
    source : str, optional
        Provenance (default: the mode and CRS of each route).

    Returns
    -------
    geopandas.GeoDataFrame
        ``route_id`` (``"<area>:<mode>"``), ``area_code``, ``mode``, ``length_m``,
        ``duration_s``, ``deadhead_m``, ``deadhead_share``, ``street_m``,
        ``lower_bound_s``, ``area_m2``, ``n_required``, ``n_skipped``, ``uturns``,
        ``start_node``, ``start_snap_m``, ``metric_crs``, ``instructions`` (list of
        dicts), ``source``; LineString geometry in EPSG:4326.
    """
    rows = []
    for r in routes:
        rows.append({
            "route_id": _route_id(r),
            "area_code": r.area_id,
            "mode": r.mode,
            "length_m": r.length_m,
            "duration_s": r.duration_s,
            "deadhead_m": r.deadhead_m,
            "deadhead_share": r.deadhead_share,
            "street_m": r.street_m,
            "lower_bound_s": r.lower_bound_s,
            "area_m2": r.area_m2,
            "n_required": len(r.required),
            "n_skipped": len(r.skipped),
            "uturns": r.uturns,
            "start_node": str(r.start_node),
            "start_snap_m": r.start_snap_m,
            "metric_crs": r.crs,
            "instructions": _steps(r),
            "source": source or f"urbangrid.routing.patrol.routes ({r.problem})",
            "geometry": _line_wgs84(r),
        })
    ids = [row["route_id"] for row in rows]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[0]
        raise RoutingError(f"two routes share the id {dup!r}; give each area its own code")
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def write_geojson(
    routes: PatrolRoute | Sequence[PatrolRoute],
    path: str | Path,
    *,
    steps: bool = False,
    areas: bool = False,
) -> Path:
    """Write routes as an RFC 7946 GeoJSON FeatureCollection (WGS 84 lon/lat).

    Parameters
    ----------
    routes : PatrolRoute or sequence of PatrolRoute
        Routes to write.
    path : str or Path
        Output file.
    steps : bool
        Add one Point feature per turn-by-turn step (``kind="step"``).
    areas : bool
        Add the area outline of each route (``kind="area"``).

    Returns
    -------
    Path
        The file written.
    """
    layers = _layer_features(routes)
    features = [f for i in range(len(layers["route"])) for f in (
        [layers["route"][i]] + (layers["steps"][i] if steps else [])
        + (layers["area"][i] if areas else []))]
    return _write_features(features, Path(path))


def _write_features(features: list[dict[str, Any]], path: Path) -> Path:
    doc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False, default=_json_default), encoding="utf-8")
    return path


def _layer_features(routes: PatrolRoute | Sequence[PatrolRoute]
                    ) -> dict[str, list[Any]]:
    """GeoJSON features (WGS 84) per route: ``route`` one LineString each; ``steps`` and
    ``area`` a list each (a Point per turn-by-turn step; the area outline, if any)."""
    rs = [routes] if isinstance(routes, PatrolRoute) else list(routes)
    frame = routes_frame(rs)
    out: dict[str, list[Any]] = {"route": [], "steps": [], "area": []}
    for r, row in zip(rs, frame.to_dict("records"), strict=True):
        props = {k: v for k, v in row.items() if k not in ("geometry", "instructions")}
        props["kind"] = "route"
        out["route"].append({"type": "Feature", "properties": props,
                             "geometry": shapely.geometry.mapping(row["geometry"])})
        out["steps"].append([{
            "type": "Feature",
            "properties": {"kind": "step", "route_id": row["route_id"],
                           **{k: v for k, v in s.items() if k not in ("lon", "lat")}},
            "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
        } for s in row["instructions"]])
        area = []
        if r.area is not None:
            a = gpd.GeoSeries([r.area], crs=r.crs).to_crs("EPSG:4326").iloc[0]
            area.append({"type": "Feature",
                         "properties": {"kind": "area", "route_id": row["route_id"],
                                        "area_code": r.area_id},
                         "geometry": shapely.geometry.mapping(a)})
        out["area"].append(area)
    return out


def route_layer_paths(path: str | Path) -> dict[str, Path]:
    """The file each layer of :func:`write_route_layers` goes to: for ``route.geojson``
    the routes there, ``route.steps.geojson`` and ``route.area.geojson`` beside it; for a
    GeoPackage, all three in ``path``."""
    path = Path(path)
    if path.suffix.lower() == ".gpkg":
        return dict.fromkeys(("route", "steps", "area"), path)
    return {"route": path, "steps": path.with_suffix(f".steps{path.suffix}"),
            "area": path.with_suffix(f".area{path.suffix}")}


def write_route_layers(routes: PatrolRoute | Sequence[PatrolRoute],
                       path: str | Path) -> list[Path]:
    """Write routes, their turn-by-turn steps and their areas one geometry type per layer
    (WGS 84), so a GIS opens each as it is (one FeatureCollection mixing lines, points and
    polygons makes QGIS ask which sublayer to open).

    Parameters
    ----------
    routes : PatrolRoute or sequence of PatrolRoute
        Routes to write.
    path : str or Path
        A ``.gpkg`` file: layers ``route`` (LineStrings, the columns of
        :func:`routes_frame` but ``instructions``), ``steps`` (a Point per step: ``step``,
        ``action``, ``street``, ``distance_m``, ``duration_s``, ``text_zh``, ``text_en``)
        and ``area`` (the area outlines), replacing any file there. A GeoJSON file: the
        routes, with the steps and areas beside it (:func:`route_layer_paths`).

    Returns
    -------
    list of Path
        The files written (a layer with no feature is not written).
    """
    layers = {name: [f for fs in feats for f in (fs if name != "route" else [fs])]
              for name, feats in _layer_features(routes).items()}
    paths = route_layer_paths(path)
    if Path(path).suffix.lower() != ".gpkg":
        return [_write_features(_promote_to_multi(feats), paths[name])
                for name, feats in layers.items() if feats or name == "route"]
    # written aside and renamed: a failed write leaves no half GeoPackage at `path`
    final = Path(path)
    tmp = final.with_name(f".{final.stem}.partial.gpkg")  # GDAL wants the suffix
    tmp.unlink(missing_ok=True)
    for name, feats in layers.items():
        if feats:
            gpd.GeoDataFrame.from_features(feats, crs="EPSG:4326").to_file(
                tmp, layer=name, driver="GPKG")
    tmp.replace(final)
    return [final]


def _promote_to_multi(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`features` with Polygons made MultiPolygons when the two are mixed (as GDAL's
    GPKG writer does): GDAL reads a GeoJSON file of Polygons and MultiPolygons as of
    unknown type, which is what makes QGIS ask which sublayer to open."""
    kinds = {f["geometry"]["type"] for f in features}
    single = {k for k in kinds if f"Multi{k}" in kinds}
    return [{**f, "geometry": {"type": f"Multi{f['geometry']['type']}",
                               "coordinates": [f["geometry"]["coordinates"]]}}
            if f["geometry"]["type"] in single else f for f in features]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer | np.floating):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to GeoJSON")


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    e = ET.SubElement(parent, f"{{{GPX_NAMESPACE}}}{tag}", attrs)
    if text is not None:
        e.text = text
    return e


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_gpx(
    route: PatrolRoute,
    path: str | Path,
    *,
    start_time: datetime | None = None,
    name: str | None = None,
) -> Path:
    """Write one route as GPX 1.1: a track to follow and the steps as a route.

    Parameters
    ----------
    route : PatrolRoute
        The route.
    path : str or Path
        Output file.
    start_time : datetime, optional
        Time-zone-aware start of the patrol; each track point then gets the time it
        is planned to be passed (UTC, as GPX requires).
    name : str, optional
        Track name; default ``"巡查路线 <area> (<mode label>)"``.

    Returns
    -------
    Path
        The file written; it validates against the GPX 1.1 schema.
    """
    from urbangrid.routing.patrol.modes import get_mode

    if start_time is not None and start_time.tzinfo is None:
        raise RoutingError("start_time needs a time zone (e.g. Asia/Shanghai)")
    ET.register_namespace("", GPX_NAMESPACE)
    label = get_mode(route.mode).label
    title = name or f"巡查路线 {route.area_id or ''} ({label})".replace("  ", " ")
    root = ET.Element(f"{{{GPX_NAMESPACE}}}gpx", {"version": "1.1", "creator": _CREATOR})
    meta = _el(root, "metadata")
    _el(meta, "name", title)
    _el(meta, "desc", f"{route.length_m / 1000:.2f} km, {route.duration_s / 60:.0f} min, "
        f"deadhead {100 * route.deadhead_share:.0f}%; street data © OpenStreetMap "
        "contributors (ODbL) where from OSM")
    _el(meta, "time", _iso(datetime.now(UTC)))
    line = _line_wgs84(route)
    lon, lat = shapely.get_coordinates(line).T
    if len(lon):
        _el(meta, "bounds", minlat=f"{lat.min():.7f}", minlon=f"{lon.min():.7f}",
            maxlat=f"{lat.max():.7f}", maxlon=f"{lon.max():.7f}")
    steps = _steps(route)
    if steps:
        w = _el(root, "wpt", lat=f"{steps[0]['lat']:.7f}", lon=f"{steps[0]['lon']:.7f}")
        _el(w, "name", "起点 start")
        _el(w, "desc", f"start node {route.start_node}")
    rte = _el(root, "rte")
    _el(rte, "name", f"{title}: 导航 steps")
    for s in steps:
        p = _el(rte, "rtept", lat=f"{s['lat']:.7f}", lon=f"{s['lon']:.7f}")
        _el(p, "name", f"{s['step'] + 1}. {s['action']}")
        _el(p, "cmt", s["text_zh"])
        _el(p, "desc", s["text_en"])
    trk = _el(root, "trk")
    _el(trk, "name", title)
    _el(trk, "type", route.mode)
    seg = _el(trk, "trkseg")
    times = _point_times(route, len(lon)) if start_time is not None else None
    for i, (x, y) in enumerate(zip(lon, lat, strict=True)):
        p = _el(seg, "trkpt", lat=f"{y:.7f}", lon=f"{x:.7f}")
        if times is not None and start_time is not None:
            _el(p, "time", _iso(start_time + timedelta(seconds=float(times[i]))))
    path = Path(path)
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)
    return path


def _point_times(route: PatrolRoute, n: int) -> np.ndarray:
    """Planned seconds from the start at each vertex of ``route.geometry``."""
    out = []
    first = True
    for row in route.legs.itertuples():
        xy = shapely.get_coordinates(row.geometry)
        seg = np.hypot(*np.diff(xy, axis=0).T)
        total = seg.sum()
        frac = np.r_[0.0, np.cumsum(seg)] / total if total > 0 else np.zeros(len(xy))
        t = row.t_start_s + frac * (row.t_end_s - row.t_start_s)
        out.append(t if first else t[1:])
        first = False
    times = np.concatenate(out) if out else np.zeros(0)
    if len(times) != n:  # joints dropped by the line builder are the same instant
        times = np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(times)), times)
    return times


def load_routes(
    store: Store,
    routes: Iterable[PatrolRoute],
    *,
    mode: Literal["append", "upsert", "replace"] = "upsert",
    source: str | None = None,
) -> Any:
    """Write routes to the store's ``patrol_route`` layer (history kept).

    Parameters
    ----------
    store : urbangrid.store.Store
        An open store (migration ``0801_patrol_routes.sql`` applied on connect).
    routes : iterable of PatrolRoute
        Routes to write; a route's key is ``"<area code>:<mode>"``.
    mode : {"upsert", "append", "replace"}
        Store write mode; ``upsert`` keeps the previous version of a changed route.
    source : str, optional
        Provenance column.

    Returns
    -------
    urbangrid.store.WriteResult
    """
    return store.write("patrol_route", routes_frame(routes, source=source), mode)


#: Base layers a map can draw under its data (``basemap=``); ``URBANGRID_BASEMAP`` sets
#: the default, else ``"none"`` (a map for an intranet with no tile server).
BASEMAPS = ("none", "osm", "tianditu-vec", "tianditu-img")

_LEAFLET_URL = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet"  # folium 0.20's
_TIANDITU_URL = ("https://t{s}.tianditu.gov.cn/%NAME%_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                 "&VERSION=1.0.0&LAYER=%NAME%&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                 "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=%KEY%")
_TIANDITU_ATTR = '© <a href="https://www.tianditu.gov.cn">天地图 Tianditu</a>'
# Chinese labels need a CJK font: the usual one of each system, then any sans-serif.
_FONTS = ('"Helvetica Neue", Arial, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", '
          '"Source Han Sans SC", "WenQuanYi Zen Hei", sans-serif')
_RESOURCE = re.compile(r'<(script|link)\b[^>]*?(?:src|href)="(https?://[^"]+)"[^>]*>(?:</script>)?')


def new_map(bounds_wgs84: Sequence[float] | None, *, basemap: str | None = None,
            tianditu_key: str | None = None) -> Any:
    """A folium map fitted to `bounds_wgs84`, with a metric scale bar and a base layer.

    Parameters
    ----------
    bounds_wgs84 : (min lon, min lat, max lon, max lat) in degrees (WGS 84), optional
        Extent to show.
    basemap : {"none", "osm", "tianditu-vec", "tianditu-img"}, optional
        Tiles under the data; default ``$URBANGRID_BASEMAP`` or ``"none"``. Tianditu's
        web-Mercator tiles (``vec_w``/``img_w`` with their labels) are drawn in
        CGCS2000, which agrees with WGS 84 to a few centimetres, and OpenStreetMap's are
        WGS 84: WGS 84 data lies on both unshifted. Amap, Tencent and Baidu tiles are
        GCJ-02/BD-09, 100–700 m off WGS 84 data, and are not offered.
    tianditu_key : str, optional
        Tianditu browser key (tk); default ``$TIANDITU_KEY``.

    Returns
    -------
    folium.Map
        Save it with :func:`write_offline_html` so it opens without internet.
    """
    import folium

    choice = basemap or os.environ.get("URBANGRID_BASEMAP") or "none"
    if choice not in BASEMAPS:
        raise RoutingError(f"basemap {choice!r}: choose one of {', '.join(BASEMAPS)}")
    fmap = folium.Map(tiles=None, control_scale=False, prefer_canvas=False)
    fmap.default_js = [("leaflet", f"{_LEAFLET_URL}.js")]  # the only script the maps use
    fmap.default_css = [("leaflet_css", f"{_LEAFLET_URL}.css")]
    if choice == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=False).add_to(fmap)
    elif choice.startswith("tianditu"):
        key = tianditu_key or os.environ.get("TIANDITU_KEY")
        if not key:
            raise RoutingError(f"basemap {choice!r} needs a Tianditu key: pass tianditu_key= "
                               "or set TIANDITU_KEY (free at console.tianditu.gov.cn)")
        layer, labels = ("vec", "cva") if choice == "tianditu-vec" else ("img", "cia")
        for name, overlay in ((layer, False), (labels, True)):
            url = _TIANDITU_URL.replace("%NAME%", name).replace("%KEY%", key)
            folium.TileLayer(url, attr=_TIANDITU_ATTR, name=f"天地图 {name}", max_zoom=18,
                             subdomains="01234567", overlay=overlay, control=False).add_to(fmap)
    _scale_bar(fmap)
    background = "#f5f5f2" if choice == "none" else "#dddddd"  # paper, not Leaflet's grey
    root: Any = fmap.get_root()  # a folium Figure, typed as its base Element
    root.header.add_child(folium.Element(
        # "body" outranks Leaflet's own .leaflet-container rule, inlined after this one
        f"<style>body, body .leaflet-container {{font-family: {_FONTS}}} "
        f"body .leaflet-container {{background: {background}}}</style>"), name="urbangrid_style")
    if bounds_wgs84 is not None:
        minx, miny, maxx, maxy = (float(v) for v in bounds_wgs84)
        fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    return fmap


def _scale_bar(fmap: Any) -> None:
    """A metric-only scale bar, bottom left (Leaflet's own control)."""
    from branca.element import MacroElement, Template

    bar = MacroElement()
    bar._template = Template(
        "{% macro script(this, kwargs) %}L.control.scale({metric: true, imperial: false, "
        "maxWidth: 150}).addTo({{ this._parent.get_name() }});{% endmacro %}")
    fmap.add_child(bar)


def add_legend(fmap: Any, entries: Sequence[tuple[str, str, str]], *,
               title: str = "图例 legend") -> None:
    """A legend box, bottom right: one row per ``(label, colour, kind)``.

    ``kind`` is how the symbol is drawn: ``"line"``, ``"dash"`` (dashed outline),
    ``"fill"`` (polygon), ``"point"``, ``"gradient"`` (a route from start, blue, to end,
    red), ``"arrow"`` (direction of travel) or ``"start"`` (start marker).
    """
    import folium

    swatch = {
        "line": '<span style="display:inline-block;width:22px;border-top:3px solid {c}">',
        "dash": '<span style="display:inline-block;width:22px;border-top:2px dashed {c}">',
        "fill": '<span style="display:inline-block;width:16px;height:11px;'
                'border:1.5px solid {c};background:{c}33">',
        "point": '<span style="display:inline-block;width:8px;height:8px;border-radius:50%;'
                 'background:{c}">',
        "gradient": '<span style="display:inline-block;width:22px;height:4px;background:'
                    'linear-gradient(90deg,#2b83ba,#abdda4,#fdae61,#d7191c)">',
        "arrow": '<span style="color:{c}">&#9654;',
        "start": '<span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
                 'background:{c};border:2px solid white;box-shadow:0 0 0 1px #333">',
    }
    rows = "".join(f'<div>{swatch[kind].format(c=colour)}</span> {html.escape(label)}</div>'
                   for label, colour, kind in entries)
    fmap.get_root().html.add_child(folium.Element(
        '<div class="urbangrid-legend" style="position:absolute;z-index:1000;right:10px;'
        'bottom:24px;background:rgba(255,255,255,.9);padding:4px 8px;font-size:12px;'
        'line-height:18px;'
        f'border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.4)"><b>{html.escape(title)}</b>'
        f"{rows}</div>"))


def write_offline_html(fmap: Any, path: str | Path) -> Path:
    """Save a folium map as one HTML file that needs no network: Leaflet inlined.

    The page carries Leaflet 1.9.3's JavaScript and CSS (bundled in
    ``urbangrid/data/web``, BSD-2-Clause); only the base layer's tiles, if one was
    chosen, come from a server. Raises RoutingError naming any other external script
    or stylesheet (a folium plugin urbangrid does not bundle).
    """
    from urbangrid.data import data_path

    page = fmap.get_root().render()
    assets = {f"{_LEAFLET_URL}.{ext}": data_path(f"web/leaflet-1.9.3.{ext}.gz")
              for ext in ("js", "css")}
    left: list[str] = []

    def inline(m: re.Match[str]) -> str:
        if m[2] not in assets:
            left.append(m[2])
            return m[0]
        text = gzip.decompress(assets[m[2]].read_bytes()).decode("utf-8")
        if m[1] == "script":  # a literal "</script" would end the element early
            return "<script>" + text.replace("</script", "<\\/script") + "</script>"
        return f"<style>{text}</style>"

    page = _RESOURCE.sub(inline, page)
    if left:
        raise RoutingError(f"the map links files urbangrid does not bundle: {', '.join(left)}")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


#: Legend rows of a route map: (label, colour, kind).
ROUTE_LEGEND = (
    ("巡查路线 route, start → end", "", "gradient"),
    ("行进方向 direction", "#222222", "arrow"),
    ("起点 start", "#1a9641", "start"),
    ("巡查区域 area", "#333333", "dash"),
)


def write_map(
    routes: PatrolRoute | Sequence[PatrolRoute],
    path: str | Path,
    *,
    arrows_every_m: float = 150.0,
    basemap: str | None = None,
    tianditu_key: str | None = None,
    streets: Any = None,
) -> Path:
    """Write an HTML map (Leaflet, inlined: opens without internet) of the routes.

    Each route is a line whose colour runs from blue (start) to red (end), with an
    arrow every ``arrows_every_m`` metres pointing the way, its area outline dashed,
    and the start marked; hovering shows the figures. A legend and a metric scale bar
    are drawn; the base layer is chosen by `basemap` (see :func:`new_map`; default
    none). Geometry is drawn in WGS 84 longitude/latitude.

    Parameters
    ----------
    routes : PatrolRoute or sequence of PatrolRoute
        Routes to draw.
    path : str or Path
        Output ``.html``.
    arrows_every_m : float
        Spacing of direction arrows, metres.
    basemap : {"none", "osm", "tianditu-vec", "tianditu-img"}, optional
        Base layer; default ``$URBANGRID_BASEMAP`` or ``"none"``.
    tianditu_key : str, optional
        Tianditu key for the Tianditu base layers; default ``$TIANDITU_KEY``.
    streets : geopandas.GeoSeries or GeoDataFrame, optional
        Street centrelines to draw thin and grey under the routes (any CRS; drawn in
        WGS 84), so a detour outside an area shows the one-way streets that force it.
        The routes' notes (e.g. how far a route runs outside its area, and why) are
        printed in a box on the map.

    Returns
    -------
    Path
    """
    try:
        import folium
    except ImportError as exc:
        raise RoutingError("write_map needs the 'folium' package") from exc
    rs = [routes] if isinstance(routes, PatrolRoute) else list(routes)
    if not rs:
        raise RoutingError("no route to draw")
    lines = [_line_wgs84(r) for r in rs]
    fmap = new_map(shapely.total_bounds(np.array(lines, dtype=object)), basemap=basemap,
                   tianditu_key=tianditu_key)
    if streets is not None and len(streets):
        _add_streets(fmap, streets)
    for r in rs:
        group = folium.FeatureGroup(name=f"{r.area_id or 'route'} ({r.mode})")
        add_route(group, r, arrows_every_m=arrows_every_m)
        group.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    legend = ROUTE_LEGEND + ((("街道 streets", "#9a9a9a", "line"),
                              ("单行道 one-way street", "#6f6f6f", "dash"))
                             if streets is not None and len(streets) else ())
    add_legend(fmap, legend)
    _add_notes(fmap, list(dict.fromkeys(n for r in rs for n in r.notes)))  # once each
    return write_offline_html(fmap, path)


def _add_streets(fmap: Any, streets: Any) -> None:
    """Street centrelines, thin grey, in one layer under the routes (WGS 84); one-way
    streets (a true ``oneway`` column) darker and dashed, names on hover."""
    import folium

    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(getattr(streets, "geometry", streets)))
    for col in ("name", "oneway"):
        if col in getattr(streets, "columns", ()):
            frame[col] = streets[col].to_numpy()
    frame = frame.to_crs(4326).reset_index(drop=True)
    if "oneway" in frame:
        frame["oneway"] = frame["oneway"].fillna(False).astype(bool)
    group = folium.FeatureGroup(name="街道 streets")
    tip = ["name"] if "name" in frame else None
    folium.GeoJson(frame.__geo_interface__, style_function=lambda f: (
        {"color": "#6f6f6f", "weight": 1.5, "opacity": 0.9, "dashArray": "4 3"}
        if f["properties"].get("oneway") else
        {"color": "#9a9a9a", "weight": 1, "opacity": 0.8}),
        tooltip=folium.GeoJsonTooltip(fields=tip, labels=False) if tip else None,
    ).add_to(group)
    group.add_to(fmap)


def _add_notes(fmap: Any, notes: Sequence[str]) -> None:
    """The routes' notes in a box at the top right of the map."""
    import folium

    if not notes:
        return
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    fmap.get_root().html.add_child(folium.Element(
        '<div class="urbangrid-notes" style="position: fixed; top: 10px; left: 50px; '
        "z-index: 1000; max-width: 420px; background: white; padding: 6px 10px; "
        'border: 1px solid #999; font-size: 12px;"><b>注意 notes</b><ul style="margin: 4px '
        f'0 0 0; padding-left: 16px;">{items}</ul></div>'))


def add_route(parent: Any, route: PatrolRoute, *, arrows_every_m: float = 150.0,
              gradient: bool = True, color: str = "#d7191c",
              arrow_color: str = "#222222") -> None:
    """Draw one route on a folium map or feature group `parent` (WGS 84 on screen).

    The line runs from blue (start) to red (end) with an arrow every
    ``arrows_every_m`` metres (0: none), the area outline dashed, the start
    marked (a green dot) and the figures shown on hover. ``gradient=False`` draws one
    plain line of `color` instead (a map of many routes stays light); arrows are
    drawn in `arrow_color`.
    """
    import folium

    r, line = route, _line_wgs84(route)
    if r.area is not None:
        a = gpd.GeoSeries([_geom_wgs84(r, r.area)], crs="EPSG:4326")
        folium.GeoJson(a.__geo_interface__, style_function=lambda _f: {
            "color": "#333333", "weight": 2, "dashArray": "6 4", "fillOpacity": 0.05,
        }).add_to(parent)
    xy = shapely.get_coordinates(line)
    if len(xy) >= 2:
        pos = [(float(y), float(x)) for x, y in xy]
        if gradient:
            folium.ColorLine(pos, colors=list(np.linspace(0, 1, len(pos) - 1)),
                             colormap=["#2b83ba", "#abdda4", "#fdae61", "#d7191c"],
                             weight=4, opacity=0.9).add_to(parent)
        else:
            folium.PolyLine(pos, color=color, weight=3, opacity=0.8).add_to(parent)
        _arrows(r, arrows_every_m, parent, folium, arrow_color)
        folium.CircleMarker(pos[0], radius=6, color="white", weight=2, fill=True,
                            fill_color="#1a9641", fill_opacity=1,
                            tooltip=f"起点 start {r.area_id or ''}").add_to(parent)
    s = r.summary()
    text = (f"<b>{html.escape(str(r.area_id or ''))}</b> {r.mode}<br>{s['route_km']:.2f} km, "
            f"{s['minutes']:.0f} min, deadhead {s['deadhead_pct']:.0f}%<br>"
            f"streets {s['street_km']:.2f} km")
    # A tooltip, not a popup: folium's popups need jQuery, which the maps do not carry.
    folium.PolyLine([(float(y), float(x)) for x, y in xy], weight=12, opacity=0,
                    tooltip=folium.Tooltip(text, sticky=True)).add_to(parent)


def _arrows(route: PatrolRoute, every_m: float, group: Any, folium: Any,
            color: str = "#222222") -> None:
    g = route.geometry
    if g.length == 0 or every_m <= 0:
        return
    tr = _wgs84(route)
    for d in np.arange(every_m / 2, g.length, every_m):
        a, b = g.interpolate(max(0.0, d - 1.0)), g.interpolate(min(g.length, d + 1.0))
        # screen angle: 0 = east, clockwise, for a ▶ glyph
        angle = -math.degrees(math.atan2(b.y - a.y, b.x - a.x))
        lon, lat = tr.transform(g.interpolate(d).x, g.interpolate(d).y)
        folium.Marker((lat, lon), icon=folium.DivIcon(
            class_name="urbangrid-arrow",
            html=f'<div style="transform: rotate({angle:.0f}deg); color:{color}; '
                 f'font-size:12px; line-height:12px;">&#9654;</div>',
            icon_size=(12, 12), icon_anchor=(6, 6))).add_to(group)
