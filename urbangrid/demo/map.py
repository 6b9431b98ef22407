"""One HTML map (folium/Leaflet) of a district's layers, each switchable.

Store layers (grids, streets, components, reports) are drawn in WGS84 on an
OpenStreetMap basemap; patrol routes are drawn in order by
:func:`urbangrid.routing.patrol.export.add_route`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

__all__ = ["MapLayer", "write_layers_map"]


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
) -> Path:
    """Write an HTML map with one switchable layer per entry of `layers`, plus routes.

    Parameters
    ----------
    path : str or Path
        Output ``.html``.
    layers : mapping of str to MapLayer
        Layer name (shown in the layer switcher) to layer.
    routes : sequence of PatrolRoute
        Patrol routes, drawn in one switchable layer "patrol routes".
    title : str, optional
        Heading shown on the map.

    Returns
    -------
    Path
    """
    import folium

    from urbangrid.routing.patrol.export import add_route

    drawn = {name: layer for name, layer in layers.items() if len(layer.frame)}
    wgs = {name: layer.frame.to_crs("EPSG:4326") for name, layer in drawn.items()}
    bounds = np.array([f.total_bounds for f in wgs.values()]) if wgs else None
    fmap = folium.Map(tiles="OpenStreetMap", control_scale=True)
    if bounds is not None:
        fmap.fit_bounds([[bounds[:, 1].min(), bounds[:, 0].min()],
                         [bounds[:, 3].max(), bounds[:, 2].max()]])
    for name, layer in drawn.items():
        frame = wgs[name]
        cols = [c for c in layer.tooltip if c in frame.columns]
        frame = frame[[*cols, "geometry"]].copy()
        for c in cols:  # JSON needs plain text: dates, codes, numbers alike
            frame[c] = frame[c].astype(str)
        group = folium.FeatureGroup(name=name, show=layer.show)
        color, fill = layer.color, layer.fill_opacity
        points = frame.geom_type.isin(["Point", "MultiPoint"]).all()
        folium.GeoJson(
            frame.__geo_interface__,
            style_function=lambda _f, c=color, o=fill: {
                "color": c, "weight": 1.5, "fillColor": c, "fillOpacity": o},
            marker=folium.CircleMarker(radius=3, fill=True) if points else None,
            tooltip=folium.GeoJsonTooltip(fields=cols) if cols else None,
        ).add_to(group)
        group.add_to(fmap)
    if routes:
        group = folium.FeatureGroup(name="patrol routes")
        for r in routes:
            add_route(group, r, arrows_every_m=0, gradient=False)
        group.add_to(fmap)
    if title:
        root: Any = fmap.get_root()  # a folium Figure, typed as its base Element
        root.html.add_child(folium.Element(
            f'<h3 style="position:absolute;z-index:1000;left:60px;top:4px;'
            f'background:white;padding:2px 6px">{title}</h3>'))
    folium.LayerControl(collapsed=False).add_to(fmap)
    path = Path(path)
    fmap.save(str(path))
    return path
