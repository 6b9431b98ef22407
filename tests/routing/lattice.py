"""A hand-made district for staffing tests: square unit grids crossed by streets.

Cells are 100 m squares (EPSG:4548, metres); in each cell four 50 m street stubs
meet at its centre, so every street midpoint lies inside one cell and a cell holds
200 m of street (200 s on foot at 3.6 km/h).
"""

from __future__ import annotations

import geopandas as gpd
import shapely

X0, Y0 = 500_000.0, 4_430_000.0
CRS = "EPSG:4548"


def lattice(cols: int = 6, rows: int = 4, *, primary_row: int | None = 0,
            split_col: int = 3) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(streets, grids): communities split at ``split_col``; work grids of 1×2 cells."""
    lines, hw, grids = [], [], []
    for i in range(cols):
        for j in range(rows):
            x, y = X0 + 100 * i, Y0 + 100 * j
            cx, cy = x + 50, y + 50
            for a, b in (((x, cy), (cx, cy)), ((cx, cy), (x + 100, cy)),
                         ((cx, y), (cx, cy)), ((cx, cy), (cx, y + 100))):
                lines.append(shapely.LineString([a, b]))
                horizontal = a[1] == b[1]
                hw.append("primary" if horizontal and j == primary_row else "residential")
            comm = "110108014001" if i < split_col else "110108014002"
            grids.append({"grid_code": f"{comm}{i:02d}{j}", "community_code": comm,
                          "work_grid_code": f"{comm}W{i:01d}{j // 2}",
                          "geometry": shapely.box(x, y, x + 100, y + 100)})
    streets = gpd.GeoDataFrame({"highway": hw}, geometry=lines, crs=CRS)
    return streets, gpd.GeoDataFrame(grids, geometry="geometry", crs=CRS)
