"""Exports a collector can follow: GeoJSON, GPX 1.1, a store layer and an HTML map.

* :func:`routes_frame` — one row per route (EPSG:4326), shaped for the
  ``patrol_route`` layer (migration ``0801_patrol_routes.sql``);
* :func:`write_geojson` — RFC 7946 FeatureCollection (WGS 84 lon/lat), the route
  LineStrings and optionally one Point per turn-by-turn step;
* :func:`write_gpx` — GPX 1.1 (a ``trk`` a phone app imports, the turn-by-turn steps
  as a ``rte``), WGS 84 as GPX requires;
* :func:`load_routes` — the ``patrol_route`` layer of a store (upsert with history);
* :func:`write_map` — a folium HTML map: area outlines, each route drawn in order with
  a colour gradient from start (blue) to end (red), arrows along it, the start marked.

Chinese map apps (Amap, Baidu) display GCJ-02/BD-09 coordinates: converting a track
for them is :func:`urbangrid.spatial.crs.transform.transform_xy`'s job; files written here stay
WGS 84, as GPX and GeoJSON require.
"""

from __future__ import annotations

import json
import math
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
    "GPX_NAMESPACE",
    "add_route",
    "load_routes",
    "routes_frame",
    "write_geojson",
    "write_gpx",
    "write_map",
]

GPX_NAMESPACE = "http://www.topografix.com/GPX/1/1"
_CREATOR = "urbangrid"


def _wgs84(route: PatrolRoute) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(route.crs, "EPSG:4326", always_xy=True)


def _line_wgs84(route: PatrolRoute) -> shapely.LineString:
    return shapely.transform(route.geometry, lambda xy: np.column_stack(
        _wgs84(route).transform(xy[:, 0], xy[:, 1])))


def _route_id(route: PatrolRoute) -> str:
    return f"{route.area_id or 'area'}:{route.mode}"


def _steps(route: PatrolRoute) -> list[dict[str, Any]]:
    tr = _wgs84(route)
    out = []
    for s in route.instructions:
        lon, lat = tr.transform(s.x, s.y)
        out.append({"step": s.step, "action": s.action, "street": s.street,
                    "distance_m": round(s.distance_m, 1), "duration_s": round(s.duration_s, 1),
                    "lon": round(lon, 7), "lat": round(lat, 7), "text_zh": s.text_zh,
                    "text_en": s.text_en})
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
    rs = [routes] if isinstance(routes, PatrolRoute) else list(routes)
    frame = routes_frame(rs)
    features = []
    for r, row in zip(rs, frame.to_dict("records"), strict=True):
        props = {k: v for k, v in row.items() if k not in ("geometry", "instructions")}
        props["kind"] = "route"
        features.append({"type": "Feature", "properties": props,
                         "geometry": shapely.geometry.mapping(row["geometry"])})
        if steps:
            for s in row["instructions"]:
                features.append({
                    "type": "Feature",
                    "properties": {"kind": "step", "route_id": row["route_id"],
                                   **{k: v for k, v in s.items() if k not in ("lon", "lat")}},
                    "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                })
        if areas and r.area is not None:
            a = gpd.GeoSeries([r.area], crs=r.crs).to_crs("EPSG:4326").iloc[0]
            features.append({"type": "Feature",
                             "properties": {"kind": "area", "route_id": row["route_id"],
                                            "area_code": r.area_id},
                             "geometry": shapely.geometry.mapping(a)})
    doc = {"type": "FeatureCollection", "features": features}
    path = Path(path)
    path.write_text(json.dumps(doc, ensure_ascii=False, default=_json_default), encoding="utf-8")
    return path


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


def write_map(
    routes: PatrolRoute | Sequence[PatrolRoute],
    path: str | Path,
    *,
    arrows_every_m: float = 150.0,
) -> Path:
    """Write an HTML map (folium/Leaflet) of the routes, drawn in order.

    Each route is a line whose colour runs from blue (start) to red (end), with an
    arrow every ``arrows_every_m`` metres pointing the way, its area outline dashed,
    and the start marked; a popup gives the figures. Tiles are OpenStreetMap's (WGS 84
    data on a WGS 84 basemap).

    Parameters
    ----------
    routes : PatrolRoute or sequence of PatrolRoute
        Routes to draw.
    path : str or Path
        Output ``.html``.
    arrows_every_m : float
        Spacing of direction arrows, metres.

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
    minx, miny, maxx, maxy = shapely.total_bounds(np.array(lines, dtype=object))
    fmap = folium.Map(tiles="OpenStreetMap", control_scale=True)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    for r in rs:
        group = folium.FeatureGroup(name=f"{r.area_id or 'route'} ({r.mode})")
        add_route(group, r, arrows_every_m=arrows_every_m)
        group.add_to(fmap)
    folium.LayerControl().add_to(fmap)
    path = Path(path)
    fmap.save(str(path))
    return path


def add_route(parent: Any, route: PatrolRoute, *, arrows_every_m: float = 150.0,
              gradient: bool = True) -> None:
    """Draw one route on a folium map or feature group `parent`.

    The line runs from blue (start) to red (end) with an arrow every
    ``arrows_every_m`` metres (0: none), the area outline dashed, the start
    marked and a popup with the figures. ``gradient=False`` draws one plain
    line instead (a map of many routes stays light).
    """
    import folium

    r, line = route, _line_wgs84(route)
    if r.area is not None:
        a = gpd.GeoSeries([r.area], crs=r.crs).to_crs("EPSG:4326")
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
            folium.PolyLine(pos, color="#d7191c", weight=3, opacity=0.8).add_to(parent)
        _arrows(r, arrows_every_m, parent, folium)
        folium.Marker(pos[0], tooltip="起点 start",
                      icon=folium.Icon(color="green", icon="play")).add_to(parent)
    s = r.summary()
    html = (f"<b>{r.area_id or ''}</b> {r.mode}<br>{s['route_km']:.2f} km, "
            f"{s['minutes']:.0f} min, deadhead {s['deadhead_pct']:.0f}%<br>"
            f"streets {s['street_km']:.2f} km")
    folium.PolyLine([(float(y), float(x)) for x, y in xy], weight=12, opacity=0,
                    popup=folium.Popup(html, max_width=300)).add_to(parent)


def _arrows(route: PatrolRoute, every_m: float, group: Any, folium: Any) -> None:
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
            html=f'<div style="transform: rotate({angle:.0f}deg); color:#222; '
                 f'font-size:12px; line-height:12px;">&#9654;</div>',
            icon_size=(12, 12), icon_anchor=(6, 6))).add_to(group)
