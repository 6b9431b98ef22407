"""The one rule for a metric CRS (米制坐标系): CGCS2000 3-degree Gauss-Krüger in China, else UTM.

Every function that measures lengths or areas in metres projects with this rule unless
the caller names a CRS.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from urbangrid.errors import GridCRSError

__all__ = ["choose_metric_crs"]


def choose_metric_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, prefer: str = "auto") -> pyproj.CRS:
    """Choose a metric CRS for an area: CGCS2000 3-degree Gauss-Krüger in China, else UTM.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame or GeoSeries
        Features of the area, with a CRS.
    prefer : {"auto", "cgcs2000", "utm"}
        ``"auto"``: the CGCS2000 3-degree Gauss-Krüger zone (central-meridian form,
        EPSG:4534–4554, no zone prefix on eastings) when the area's centre lies in
        73.5–135.5°E and 3–54°N, otherwise the WGS 84 UTM zone (EPSG:326xx/327xx).
        ``"cgcs2000"`` raises if the area is outside the zones; ``"utm"`` always gives UTM.

    Returns
    -------
    pyproj.CRS

    Notes
    -----
    OSM and GNSS coordinates are WGS 84; CGCS2000 differs from it by centimetres, below
    the precision of street centrelines, so no datum shift is modelled.

    Examples
    --------
    >>> import shapely, geopandas as gpd
    >>> s = gpd.GeoSeries([shapely.Point(116.32, 40.0)], crs="EPSG:4326")
    >>> choose_metric_crs(s).to_epsg(), choose_metric_crs(s, prefer="utm").to_epsg()
    (4548, 32650)
    """
    if gdf.crs is None:
        msg = "choose_metric_crs: the layer has no CRS"
        raise GridCRSError(msg)
    lon_lat = gpd.GeoSeries([shapely.box(*gdf.total_bounds)], crs=gdf.crs).to_crs("EPSG:4326")
    centre = lon_lat.iloc[0].centroid
    lon, lat = float(centre.x), float(centre.y)
    in_china = 73.5 <= lon <= 135.5 and 3.0 <= lat <= 54.0
    if prefer not in ("auto", "cgcs2000", "utm"):
        msg = f"prefer must be 'auto', 'cgcs2000' or 'utm', got {prefer!r}"
        raise ValueError(msg)
    if prefer == "cgcs2000" and not in_china:
        msg = f"area centre ({lon:.4f}E, {lat:.4f}N) is outside the CGCS2000 3-degree zones"
        raise GridCRSError(msg)
    if prefer != "utm" and in_china:
        central_meridian = int(3 * round(lon / 3.0))
        return pyproj.CRS.from_epsg(4534 + (central_meridian - 75) // 3)
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)
