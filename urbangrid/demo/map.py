"""One HTML map (folium/Leaflet) of a district's layers, each switchable.

Store layers (grids, streets, components, reports) are drawn in WGS84, by default
on no base layer: the page carries Leaflet inline and opens on an intranet with no
CDN or tile server (OpenStreetMap or 天地图 Tianditu tiles on request). Patrol routes
are drawn in order by :func:`urbangrid.routing.patrol.export.add_route`, with their
direction and start.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

__all__ = ["MapLayer", "write_layers_map"]

ROUTE_COLOR = "#ff7f00"  # orange: apart from the red components and blue grids
ARROW_COLOR = "#7f2704"


@dataclass(frozen=True)
class MapLayer:
    """A layer of the map: features, how to draw them, which columns to show.

    Attributes
    ----------
    frame : GeoDataFrame
        Features in any CRS (reprojected to WGS84 for drawing).
    color : str
        Stroke (and point) colour, CSS.
    tooltip : sequence of str
        Columns shown on hover.
    fill_opacity : float
        Polygon fill opacity, 0–1.
    show : bool
        Whether the layer is switched on when the map opens.
    """

    frame: gpd.GeoDataFrame
    color: str = "#3388ff"
    tooltip: Sequence[str] = field(default_factory=tuple)
    fill_opacity: float = 0.1
    show: bool = True


def write_layers_map(
    path: str | Path,
    layers: Mapping[str, MapLayer],
    *,
    routes: Sequence[Any] = (),
    title: str | None = None,
    arrows_every_m: float = 500.0,
    basemap: str | None = None,
    tianditu_key: str | None = None,
) -> Path:
    """Write an HTML map with one switchable layer per entry of `layers`, plus routes.

    The page carries Leaflet inline and opens without internet; it has a legend, a
    metric scale bar and the base layer `basemap` (default none; see
    :func:`urbangrid.routing.patrol.export.new_map`). Layers are drawn in WGS 84.

    Parameters
    ----------
    path : str or Path
        Output ``.html``.
    layers : mapping of str to MapLayer
        Layer name (shown in the layer switcher) to layer.
    routes : sequence of PatrolRoute
        Patrol routes, drawn in one switchable layer "patrol routes", each with its
        start marked and an arrow every `arrows_every_m` metres (0: none).
    title : str, optional
        Heading shown on the map.
    basemap : {"none", "osm", "tianditu-vec", "tianditu-img"}, optional
        Base layer; default ``$URBANGRID_BASEMAP`` or ``"none"``.
    tianditu_key : str, optional
        Tianditu key for the Tianditu base layers; default ``$TIANDITU_KEY``.

    Returns
    -------
    Path
    """
    import folium

    from urbangrid.routing.patrol.export import add_legend, new_map, write_offline_html

    drawn = {name: layer for name, layer in layers.items() if len(layer.frame)}
    wgs = {name: layer.frame.to_crs("EPSG:4326") for name, layer in drawn.items()}
    bounds = np.array([f.total_bounds for f in wgs.values()]) if wgs else None
    extent = None if bounds is None else (bounds[:, 0].min(), bounds[:, 1].min(),
                                          bounds[:, 2].max(), bounds[:, 3].max())
    fmap = new_map(extent, basemap=basemap, tianditu_key=tianditu_key)
    legend = [_draw_layer(fmap, name, layer, wgs[name]) for name, layer in drawn.items()]
    if routes:
        legend += _draw_routes(fmap, routes, arrows_every_m)
    if title:
        root: Any = fmap.get_root()  # a folium Figure, typed as its base Element
        root.html.add_child(folium.Element(
            f'<h3 style="position:absolute;z-index:1000;left:60px;top:4px;margin:0;'
            f'background:white;padding:2px 6px">{html.escape(title)}</h3>'))
    folium.LayerControl(collapsed=False).add_to(fmap)
    add_legend(fmap, legend)
    return write_offline_html(fmap, path)


def _draw_layer(fmap: Any, name: str, layer: MapLayer,
                frame: gpd.GeoDataFrame) -> tuple[str, str, str]:
    """Add one store layer (WGS 84 `frame`) as a switchable group; its legend row."""
    import folium

    cols = [c for c in layer.tooltip if c in frame.columns]
    frame = frame[[*cols, "geometry"]].copy()
    for c in cols:  # JSON needs plain text: dates, codes, numbers alike
        frame[c] = frame[c].astype(str)
    group = folium.FeatureGroup(name=name, show=layer.show)
    color, fill = layer.color, layer.fill_opacity
    kinds = set(frame.geom_type)
    points = kinds <= {"Point", "MultiPoint"}
    folium.GeoJson(
        frame.__geo_interface__,
        style_function=lambda _f, c=color, o=fill: {
            "color": c, "weight": 1.5, "fillColor": c, "fillOpacity": o},
        marker=folium.CircleMarker(radius=3, fill=True) if points else None,
        tooltip=folium.GeoJsonTooltip(fields=cols) if cols else None,
    ).add_to(group)
    group.add_to(fmap)
    kind = "point" if points else "line" if kinds <= {"LineString", "MultiLineString"} else "fill"
    return name, color, kind


def _draw_routes(fmap: Any, routes: Sequence[Any],
                 arrows_every_m: float) -> list[tuple[str, str, str]]:
    """Add the routes as one switchable group "patrol routes"; their legend rows."""
    import folium

    from urbangrid.routing.patrol.export import add_route

    group = folium.FeatureGroup(name="patrol routes")
    for r in routes:
        add_route(group, r, arrows_every_m=arrows_every_m, gradient=False, color=ROUTE_COLOR,
                  arrow_color=ARROW_COLOR)
    group.add_to(fmap)
    return [(f"patrol routes 巡查路线 ({len(routes)})", ROUTE_COLOR, "line"),
            ("行进方向 direction", ARROW_COLOR, "arrow"), ("起点 start", "#1a9641", "start"),
            ("巡查区域 route area", "#333333", "dash")]
