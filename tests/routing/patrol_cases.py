"""Hand-made street lattices for the patrol tests (issue 8), in a metric CRS."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import shapely

from urbangrid.routing.patrol.streets import street_graph

#: UTM 50N: metres, near Beijing.
CRS = "EPSG:32650"
X0, Y0 = 440_000.0, 4_430_000.0


def lattice_frame(n: int = 3, step: float = 100.0, **extra: object) -> gpd.GeoDataFrame:
    """Streets of an ``n × n`` node lattice, ``step`` metres apart, all residential."""
    rows = []
    for i in range(n):
        for j in range(n):
            x, y = X0 + i * step, Y0 + j * step
            if i + 1 < n:
                rows.append({"name": f"纬{j}路", "highway": "residential",
                             "geometry": shapely.LineString([(x, y), (x + step, y)])})
            if j + 1 < n:
                rows.append({"name": f"经{i}街", "highway": "residential",
                             "geometry": shapely.LineString([(x, y), (x, y + step)])})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    for k, v in extra.items():
        frame[k] = v
    return frame


def lattice(mode: str = "bike", n: int = 3, step: float = 100.0) -> nx.MultiDiGraph:
    """Routing graph of :func:`lattice_frame`."""
    return street_graph(lattice_frame(n, step), mode, crs=CRS, source="lattice")


def box(i0: float, j0: float, i1: float, j1: float, step: float = 100.0) -> shapely.Polygon:
    """Polygon from lattice coordinates (in steps)."""
    return shapely.box(X0 + i0 * step, Y0 + j0 * step, X0 + i1 * step, Y0 + j1 * step)
