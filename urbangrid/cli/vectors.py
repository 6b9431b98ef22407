"""Vector files the commands read besides surveys: street centrelines, community and area
polygons, boundaries, the polygons of ``scale assign``.

One reader, so every command takes the same files (any format GDAL reads, gzipped
single files such as ``.geojson.gz`` too, as ``urbangrid load`` does) and says the same
one line when a file cannot be used: the file, what was wanted of it, what to give.
Surveys go through :func:`urbangrid.loaders.readers.read_survey` (``urbangrid load``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from urbangrid.errors import DataFileError

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

#: Suffixes read as GeoParquet street edges (GDAL's Parquet driver is often missing).
PARQUET = (".parquet", ".geoparquet")

__all__ = [
    "GIVE_VECTOR",
    "datav_message",
    "file_street_graph",
    "near_bbox",
    "read_vector",
    "restate_crs",
]

#: The end of every message about a file that is no vector file.
GIVE_VECTOR = "give a vector file (GeoJSON, GeoPackage, Shapefile, KML …; .gz too)"


def read_vector(path: str | Path, what: str, *, allow_empty: bool = False) -> gpd.GeoDataFrame:
    """Read the vector file ``path`` (``what`` it should hold names it in messages).

    Coordinates stay in the file's CRS (``frame.crs``, None when the file states none).
    ``NAME.EXT.gz`` is read as ``NAME.EXT``.

    Raises
    ------
    DataFileError
        The file cannot be opened as a vector file, has no geometry column (a table
        without shapes), or, unless ``allow_empty``, no features; one line.
    """
    import geopandas as gpd

    text = str(path)
    source = f"/vsigzip/{text}" if text.lower().endswith(".gz") else text
    try:
        frame = gpd.read_file(source)
    except Exception as exc:  # pyogrio's and GDAL's errors: no vector file it knows
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0].split(".;")[0]
        first = first.replace(f"'{source}' ", "").replace(f"{source}: ", "").rstrip(".")
        raise DataFileError(f"{text}: cannot read {what}: {first}; {GIVE_VECTOR}") from None
    if not isinstance(frame, gpd.GeoDataFrame) or "geometry" not in frame.columns:
        raise DataFileError(f"{text}: cannot read {what}: it has no geometry (a table "
                            f"without shapes?); {GIVE_VECTOR}")
    if not allow_empty and (len(frame) == 0 or frame.geometry.isna().all()):
        raise DataFileError(f"{text}: no {what} in it (0 features with a geometry); "
                            "check the file or its layer")
    return frame


def datav_message(path: str | Path, frame: gpd.GeoDataFrame, option: str) -> str | None:
    """Why ``frame`` (read from ``path``) cannot be taken in the CRS it states, when it is an
    Aliyun DataV download (columns ``adcode`` and ``acroutes``): GCJ-02 coordinates under a
    GeoJSON that says WGS 84, about 500 m off if taken so. ``option`` says the CRS."""
    if not {"adcode", "acroutes"} <= set(frame.columns):
        return None
    return (f"{path}: looks like an Aliyun DataV download (columns adcode, acroutes), whose "
            f"coordinates are GCJ-02 though the file says WGS 84; give {option} GCJ-02 (or "
            "EPSG:4326 if it was converted to WGS 84)")


def restate_crs(frame: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """``frame`` whose coordinates are really in ``crs`` (any EPSG code, ``"GCJ-02"``,
    ``"BD-09"``) whatever it states, moved to WGS 84 (EPSG:4326, degrees)."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from urbangrid.spatial.crs.transform import transform_xy

    def move(xy: Any) -> Any:
        return np.column_stack(transform_xy(xy[:, 0], xy[:, 1], crs=crs, to_crs="EPSG:4326"))

    geoms = shapely.transform(frame.geometry.to_numpy(), move)
    return gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=geoms,
                            crs="EPSG:4326")


def file_street_graph(path: str | Path, mode: str,
                      area: gpd.GeoDataFrame | None = None, *,
                      columns: Mapping[str, str] | None = None,
                      classes: Mapping[str, str] | None = None) -> nx.MultiDiGraph:
    """The street graph of ``mode`` from a street file: OSM, GraphML, a survey file, or
    GeoParquet edges (``u, v, highway, geometry``, any CRS the file states).

    With ``area`` (any CRS), GeoParquet edges are read within about 1 km of it only.
    ``columns`` and ``classes`` name a survey file's road class column and map its values
    to OSM classes (``--highway-column`` / ``--highway-values``, see
    :func:`urbangrid.loaders.osm.read_streets`); GeoParquet edges carry OSM classes already.
    """
    if Path(path).suffix.lower() not in PARQUET:
        from urbangrid.loaders.osm import read_street_graph

        return read_street_graph(path, mode, columns=columns, classes=classes)
    if columns or classes:
        raise DataFileError(f"{path}: GeoParquet street edges carry OSM highway classes "
                            "and one-way flags already; --highway-column/--highway-values/"
                            "--oneway-column are for survey files (GeoJSON, GeoPackage, "
                            "shapefile): drop them")
    import geopandas as gpd

    from urbangrid.routing.patrol.streets import street_graph

    try:
        frame = gpd.read_parquet(path)
    except Exception as exc:  # pyarrow's and geopandas' errors: not GeoParquet
        raise DataFileError(f"{path}: cannot read street edges as GeoParquet: {exc}; "
                            "give GeoParquet, or another street file") from None
    if area is not None and frame.crs is not None and len(frame):
        x0, y0, x1, y1 = near_bbox(area, frame.crs)
        frame = frame.cx[x0:x1, y0:y1]
    name = Path(path).name
    # the route report says where one-way-ness came from, as for survey files
    frame.attrs["oneway_from"] = (
        f"one-way streets from column 'oneway' of {name}" if "oneway" in frame.columns
        else f"no one-way column in {name}: every street is taken as two-way")
    return street_graph(frame, mode, source=name)


def near_bbox(area: gpd.GeoDataFrame, crs: Any) -> tuple[float, float, float, float]:
    """``(minx, miny, maxx, maxy)`` in ``crs`` of the streets a route of ``area`` (any CRS)
    may use: its bounds and about 1 km around (0.01° in a geographic CRS, else 1000 units,
    metres in the CRSs street layers use)."""
    a = area.to_crs(crs)
    pad = 0.01 if a.crs.is_geographic else 1000.0
    x0, y0, x1, y1 = (float(v) for v in a.total_bounds)
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad
