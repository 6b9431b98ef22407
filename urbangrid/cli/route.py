"""``urbangrid route``: a collector area's patrol route from a store or a street file.

Examples (shell)::

    urbangrid route district.gpkg --area 110108001002W01 --mode bike \\
        --start 116.3161,40.0097 -o route.gpx -o route.html
    urbangrid route streets.osm.bz2 --polygon area.geojson --mode walk -o route.geojson
    urbangrid route street_centerlines.geojson.gz --polygon beat.geojson \\
        --highway-column MajorRoad --highway-values '1=primary,2=secondary,*=residential'

The command is thin: it reads the streets and the area, calls
:func:`urbangrid.routing.patrol.routes.area_route` and writes what ``-o`` asks for (the file
type follows the suffix: ``.gpx``, ``.geojson``/``.json``, ``.gpkg``, ``.html``). A GIS file
holds one geometry type per layer (:func:`urbangrid.routing.patrol.export.write_route_layers`):
``route.geojson`` the route line, ``route.steps.geojson`` and ``route.area.geojson`` beside
it; ``route.gpkg`` the layers ``route``, ``steps`` and ``area``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from urbangrid.cli.outputs import refuse_inputs
from urbangrid.cli.stores import STREETS_AND_GRIDS, empty_store_message, is_server, open_store
from urbangrid.cli.vectors import datav_message, read_vector
from urbangrid.errors import PatrolAreaError, UrbangridError

if TYPE_CHECKING:
    from urbangrid.store import Store

__all__ = [
    "AREA_LAYERS",
    "area_from_store",
    "check_outputs",
    "left_out_in_area",
    "read_polygon",
    "route",
    "street_class_options",
    "street_classes",
]

#: Store layers an ``--area`` code is looked up in, in order: (layer, key column).
AREA_LAYERS: tuple[tuple[str, str], ...] = (
    ("work_grid", "work_grid_code"),
    ("unit_grid", "grid_code"),
    ("admin_area", "code"),
)


def area_from_store(store: Store, code: str) -> Any:
    """The polygon(s) of an area code from the first of :data:`AREA_LAYERS` holding it.

    Returns
    -------
    geopandas.GeoDataFrame
        The current rows with that code, in the layer CRS.

    Raises
    ------
    PatrolAreaError
        No layer holds the code (the message lists the layers searched), or the rows
        holding it have no polygon.
    """
    have = set(store.layers())
    searched = []
    for layer, key in AREA_LAYERS:
        if layer not in have:
            continue
        searched.append(f"{layer}.{key}")
        rows = store.read(layer, where={key: code})
        if len(rows) and (rows.geometry.isna() | rows.geometry.is_empty).all():
            raise PatrolAreaError(f"area {code!r} in {layer} has no boundary (a code without "
                                  "a polygon); give the area as --polygon FILE")
        if len(rows):
            rows.attrs["code"] = code
            return rows
    padded = _padded_admin_area(store, code) if "admin_area" in have else None
    if padded is not None:
        return padded
    if all(store.count(layer) == 0 for layer, _ in AREA_LAYERS if layer in have):
        # not a wrong code: the store has no area at all yet
        raise PatrolAreaError(empty_store_message(
            store.target, "work grids, unit grids or admin areas for --area", STREETS_AND_GRIDS))
    raise PatrolAreaError(f"area {code!r} is in none of {', '.join(searched) or 'no area layer'}")


def _padded_admin_area(store: Store, code: str) -> Any:
    """The admin area a 12-digit zero-padded code (the statistics bureau's web tables:
    ``110101000000`` for district 110101) stands for, when exactly one is in the store."""
    from urbangrid.loaders.admin import padded_candidates, unpad_code

    found = {c: rows for c in padded_candidates(code)
             if len(rows := store.read("admin_area", where={"code": c}))}
    try:
        hit = unpad_code(code, found)
    except ValueError as exc:
        raise PatrolAreaError(f"area {exc} as --area") from None
    return None if hit is None else area_from_store(store, hit)


def _is_store(source: str) -> bool:
    """A PostgreSQL DSN, or a GeoPackage that is an urbangrid store (or no file yet: the
    store's own message then says so); a GeoPackage of survey streets is a street file."""
    if is_server(source):
        return True
    if not source.lower().endswith(".gpkg"):
        return False
    if not Path(source).is_file():
        return True
    import pyogrio

    try:
        names = set(pyogrio.list_layers(source)[:, 0])
    except Exception:  # not readable by GDAL: the store's own message says why
        return True
    return {"street_centreline", "unit_grid"} <= names


_OUTPUT_TYPES = {".gpx": "gpx", ".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg",
                 ".html": "html", ".htm": "html"}


def check_outputs(outputs: tuple[str, ...], *, basemap: str | None = None,
                  tianditu_key: str | None = None,
                  inputs: tuple[tuple[str, str | None], ...] = ()) -> None:
    """Check every output file before any work: known type, existing folder, base layer,
    and none of ``inputs``, ``(option, path)`` pairs (``-o area.geojson`` overwrote the
    ``--polygon area.geojson``; :func:`urbangrid.cli.outputs.refuse_inputs`).

    Raises
    ------
    click.UsageError
        An unknown suffix, or an output that would write over an input (exit code 2).
    UrbangridError
        A folder that does not exist, or a base layer that cannot be drawn (unknown
        name, Tianditu without a key); the message names the user's path or option.
    """
    import os

    from urbangrid.routing.patrol.export import BASEMAPS, route_layer_paths

    for out in outputs:
        if Path(out).suffix.lower() not in _OUTPUT_TYPES:
            raise click.UsageError(f"{out}: unknown output type (use .gpx, .geojson, .gpkg, "
                                   ".html)")
    written = [(f"-o {out}", p) for out in outputs for p in (
        set(route_layer_paths(out).values())
        if _OUTPUT_TYPES[Path(out).suffix.lower()] in ("geojson", "gpkg") else {Path(out)})]
    refuse_inputs(sorted(written, key=str), inputs)
    for out in outputs:
        folder = Path(out).parent
        if not folder.is_dir():
            raise UrbangridError(f"{out}: the folder {folder} does not exist; create it "
                                 "or write elsewhere")
    if not any(_OUTPUT_TYPES[Path(o).suffix.lower()] == "html" for o in outputs):
        return
    choice = basemap or os.environ.get("URBANGRID_BASEMAP") or "none"
    where = "--basemap" if basemap else "URBANGRID_BASEMAP"
    if choice not in BASEMAPS:
        raise UrbangridError(f"{where} {choice!r}: choose one of {', '.join(BASEMAPS)} "
                             "(Amap, Tencent and Baidu tiles are GCJ-02/BD-09, off WGS 84 "
                             "data by 100-700 m)")
    if choice.startswith("tianditu") and not (tianditu_key or os.environ.get("TIANDITU_KEY")):
        raise UrbangridError(f"{where} {choice}: give --tianditu-key KEY or set TIANDITU_KEY "
                             "(free at console.tianditu.gov.cn)")


def _start(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lon, lat = (float(x) for x in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected LON,LAT in degrees (WGS 84)") from None
    return lon, lat


_HIGHWAY_VALUES_EXAMPLE = "1=primary,2=secondary,*=residential"


def street_class_options(command: Any) -> Any:
    """``--highway-column``, ``--highway-values`` and ``--oneway-column``: the road class
    and one-way column of a survey street file whose column names and values are not
    OSM's (see :func:`street_classes`)."""
    command = click.option(
        "--oneway-column", "oneway_column", default=None,
        help="Column of a survey street file saying which streets are one-way, when it is "
             "not oneway/ONEWAY/one_way/单行/Direction: yes/no, true/false, 1/0/-1 (-1: "
             "against the line as drawn) or Geofabrik's B/F/T.",
    )(command)
    command = click.option(
        "--highway-values", "highway_values", default=None,
        help="Road class of each value of --highway-column as OSM highway classes, "
             f"e.g. '{_HIGHWAY_VALUES_EXAMPLE}' ('*': every other value, empty too).",
    )(command)
    return click.option(
        "--highway-column", "highway_column", default=None,
        help="Column of a survey street file (GeoJSON, GeoPackage, shapefile) holding the "
             "road class, when it is not highway/class/road_class/fclass/道路等级.",
    )(command)


def street_classes(column: str | None, values: str | None, oneway: str | None = None
                   ) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """``columns=`` and ``classes=`` of :func:`urbangrid.loaders.osm.read_streets` from
    ``--highway-column``, ``--highway-values`` (``VALUE=CLASS`` pairs, comma-separated)
    and ``--oneway-column``."""
    columns = {k: c for k, c in (("highway", column), ("oneway", oneway)) if c} or None
    if not values:
        return columns, None
    classes: dict[str, str] = {}
    for pair in values.split(","):
        value, eq, cls = pair.partition("=")
        if not eq or not cls.strip():
            raise click.BadParameter(f"{pair!r} is not VALUE=CLASS; write e.g. "
                                     f"'{_HIGHWAY_VALUES_EXAMPLE}'",
                                     param_hint="'--highway-values'")
        classes[value.strip()] = cls.strip()
    return columns, classes


@click.command("route")
@click.argument("source")
@click.option("--area", "area_code", help="Area code in the store: work grid, unit grid or "
              "admin area.")
@click.option("--polygon", type=click.Path(exists=True, dir_okay=False),
              help="Vector file with the area polygon(s) (any CRS it states).")
@click.option("--mode", default="bike", show_default=True,
              help="Travel mode: walk, bike, ebike or car (urbangrid/routing/patrol/modes.toml, "
                   "or the file URBANGRID_MODES names).")
@click.option("--start", "start_text", help="Start point LON,LAT (WGS 84 unless --crs), "
              "e.g. the community office; default a street near the area's middle.")
@click.option("--crs", "crs", default=None, help="CRS of --start and --polygon: EPSG:4326 "
              "(default), GCJ-02 (Amap/Tencent), BD-09 (Baidu), EPSG:4490 (CGCS2000) or any "
              "EPSG code; default for --polygon: the file's own (a GeoJSON crs member too).")
@click.option("-o", "--output", "outputs", multiple=True, type=click.Path(dir_okay=False),
              help="Output file(s), repeatable, the type by suffix: .gpx (track and steps, "
                   "for a phone); .geojson (the route line; the steps as points in "
                   "NAME.steps.geojson and the area in NAME.area.geojson beside it); .gpkg "
                   "(layers route, steps, area); .html (a map). GIS files are WGS 84.")
@click.option("--both-sides", default="", help="Comma-separated highway values whose "
              "two-way streets are patrolled on both sides, e.g. primary,secondary.")
@click.option("--boundary", type=click.Choice(["north", "both", "none"]), default="north",
              show_default=True, help="Owner of streets along the area boundary.")
@click.option("--max-snap", "max_snap_m", default=200.0, show_default=True,
              help="Largest distance (m) from --start to a street.")
@click.option("--skip-unreachable", is_flag=True,
              help="Route what can be closed and list streets one-ways make unreachable.")
@click.option("--save", is_flag=True, help="Also write the route to the store's "
              "patrol_route layer (store SOURCE only).")
@click.option("--time-limit", "time_limit_s", default=5.0, show_default=True,
              help="Seconds of route search.")
@click.option("--basemap", type=click.Choice(["none", "osm", "tianditu-vec", "tianditu-img"]),
              default=None, help="Base layer of an .html map [default: $URBANGRID_BASEMAP "
              "or none]; Tianditu needs --tianditu-key.")
@click.option("--tianditu-key", default=None, help="Tianditu browser key (tk) for the "
              "tianditu base layers [default: $TIANDITU_KEY].")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the printed steps.")
@click.option("--steps/--no-steps", default=True, show_default=True,
              help="Print the turn-by-turn steps.")
@street_class_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def route(source: str, area_code: str | None, polygon: str | None, mode: str,
          start_text: str | None, crs: str | None, outputs: tuple[str, ...], both_sides: str,
          boundary: str, max_snap_m: float, skip_unreachable: bool, save: bool,
          time_limit_s: float, basemap: str | None, tianditu_key: str | None, lang: str,
          steps: bool, highway_column: str | None, highway_values: str | None,
          oneway_column: str | None, quiet: bool) -> None:
    """Patrol route of one area. SOURCE is a store (GeoPackage path or PostGIS DSN) or a
    street file (OSM .osm/.osm.bz2/.osm.pbf, GraphML, a survey GeoPackage/GeoJSON, or
    GeoParquet edges).

    Outputs, the base layer and the store are checked before the route search; the
    store is only read unless --save."""
    try:
        check_outputs(outputs, basemap=basemap, tianditu_key=tianditu_key,
                      inputs=(("SOURCE", source), ("--polygon", polygon)))
        classes = street_classes(highway_column, highway_values, oneway_column)
        r, streets = _route(source, area_code, polygon, (mode, classes),
                   (_start(start_text), crs), [h for h in both_sides.split(",") if h],
                   boundary, max_snap_m, (skip_unreachable, save, quiet), time_limit_s)
        _print_route(r, lang if steps else None)
        _write_outputs(r, outputs, basemap=basemap, tianditu_key=tianditu_key,
                       streets=streets)
    except UrbangridError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _route(source: str, area_code: str | None, polygon: str | None, mode_classes: Any,
           start_crs: tuple[tuple[float, float] | None, str | None], both_sides: list[str],
           boundary: str, max_snap_m: float, flags: tuple[bool, bool, bool],
           time_limit_s: float) -> tuple[Any, Any]:
    """The route and the streets near its area (WGS 84 lines, for the map)."""
    from urbangrid.routing.patrol import export
    from urbangrid.routing.patrol.routes import area_route

    (start, crs), (skip, save, quiet) = start_crs, flags
    mode, (columns, classes) = mode_classes
    if (columns or classes) and _is_store(source):
        raise click.UsageError("--highway-column, --highway-values and --oneway-column are "
                               "for a street file SOURCE; a store's streets already have OSM "
                               "road classes and one-way flags")
    if (area_code is None) == (polygon is None):
        raise click.UsageError("give exactly one of --area CODE and --polygon FILE")
    if save and not _is_store(source):
        raise click.UsageError("--save needs a store SOURCE")
    if area_code is not None and not _is_store(source):
        raise click.UsageError("--area CODE needs a store SOURCE; use --polygon")
    store: Store | None = (open_store(source, write=save, then=STREETS_AND_GRIDS)
                           if _is_store(source) else None)
    try:
        if store is not None and area_code is not None:
            area = area_from_store(store, area_code)
            area_id = area.attrs.get("code", area_code)  # 110108 for 110108000000
        else:
            area, area_id = read_polygon(str(polygon), crs), Path(str(polygon)).stem
        G = _street_graph(store, source, area, mode, (columns, classes))

        def solve() -> Any:
            return area_route(G, area, area_id=area_id, start=start,
                              start_crs=crs or "EPSG:4326", boundary=boundary,
                              both_sides=both_sides, max_snap_m=max_snap_m,
                              unreachable="skip" if skip else "raise",
                              time_limit_s=time_limit_s)

        r = _with_progress(solve, time_limit_s, quiet)
        left = left_out_in_area(G, r.area)
        if left:  # said with the route's other notes, and shown on its .html map
            import dataclasses

            from urbangrid.routing.patrol.district import left_to

            mode = G.graph["mode"]
            r = dataclasses.replace(r, notes=(*r.notes, (
                f"the {mode} mode does not patrol {sum(left.values()):.2f} km of "
                f"{', '.join(left)} in this area: roads it may not use here (urban "
                f"expressways in China, motorways, roads tagged closed to it); "
                f"{left_to('left_out', mode)}")))
        if save and store is not None:
            res = export.load_routes(store, [r])
            click.echo(f"patrol_route: {res.inserted} inserted, {res.updated} updated")
        return r, _area_streets(G, r)
    finally:
        if store is not None:
            store.close()


def left_out_in_area(G: Any, area: Any) -> dict[str, float]:
    """Km per ``highway`` value of the roads the graph's mode may not use
    (``G.graph["left_out"]``) inside ``area`` (graph CRS); none under 10 m."""
    import shapely

    if area is None:
        return {}
    km = {hw: float(shapely.length(shapely.intersection(lines, area))) / 1000
          for hw, lines in (G.graph.get("left_out") or {}).items()}
    return {hw: v for hw, v in km.items() if v >= 0.01}


def _with_progress(solve: Any, time_limit_s: float, quiet: bool) -> Any:
    """Run ``solve()``; on a terminal, a tqdm bar counts the search seconds meanwhile."""
    if quiet or time_limit_s < 2 or not sys.stderr.isatty():
        return solve()
    import concurrent.futures
    import time

    from tqdm import tqdm

    with concurrent.futures.ThreadPoolExecutor(1) as pool, tqdm(
            total=round(time_limit_s, 1), unit="s", desc="route search", leave=False,
            bar_format="{desc}: {bar} {n:.0f}/{total:.0f} s") as bar:
        job, t0 = pool.submit(solve), time.monotonic()
        while not job.done():
            time.sleep(0.2)
            bar.n = min(time.monotonic() - t0, time_limit_s)
            bar.refresh()
        return job.result()


def _print_route(r: Any, lang: str | None) -> None:
    """The summary line, the notes and (``lang`` given) the steps in that language."""
    from urbangrid.routing.patrol.export import step_texts

    s = r.summary()
    click.echo(f"{r.area_id} ({r.mode}): {s['km2'] or 0:.3f} km², streets {s['street_km']:.2f} "
               f"km, route {s['route_km']:.2f} km, {s['minutes']:.0f} min, deadhead "
               f"{s['deadhead_pct']:.0f}%, {len(r.instructions)} steps"
               + (f", {len(r.skipped)} unreachable streets skipped" if r.skipped else ""))
    for note in r.notes:
        click.echo(f"note: {note}")
    if lang is not None:
        for i, (zh, en) in enumerate(step_texts(r), 1):
            click.echo(f"{i:4d}. {zh if lang == 'zh' else en}")


def _area_streets(G: Any, r: Any) -> Any:
    """Streets of graph ``G`` within 500 m of the route's area: a GeoDataFrame in WGS 84
    (degrees) with ``name`` and ``oneway`` (the mode may ride it one way only)."""
    import geopandas as gpd
    import shapely

    if r.area is None:
        return None
    rows: dict[tuple[str, str, float], dict[str, Any]] = {}
    for u, v, d in G.edges(data=True):
        g = d.get("geometry")
        if g is not None:
            rows.setdefault((min(str(u), str(v)), max(str(u), str(v)), round(g.length, 3)),
                            {"name": d.get("name") or "", "oneway": not G.has_edge(v, u),
                             "geometry": g})
    if not rows:
        return None
    lines = gpd.GeoDataFrame(list(rows.values()), geometry="geometry",
                             crs=G.graph["crs"]).to_crs(r.crs)
    near = lines[lines.intersects(shapely.buffer(r.area, 500.0))]
    return near.to_crs(4326)


#: GeoJSON ``crs`` member names read as the Chinese phone-map CRSs (pyproj knows neither).
_PHONE_CRS = {"gcj-02": "GCJ-02", "gcj02": "GCJ-02", "bd-09": "BD-09", "bd09": "BD-09"}


def read_polygon(path: str, crs: str | None = None) -> Any:
    """Area polygon(s) of a vector file as a GeoDataFrame in EPSG:4326 (degrees).

    The coordinates are read in ``crs`` when given (``"GCJ-02"``, ``"BD-09"``, any EPSG
    code), else in the file's own CRS; a GeoJSON ``crs`` member naming GCJ-02 or BD-09
    is honoured (pyproj, so geopandas, knows neither). Features that are not polygons
    are left out.

    Raises
    ------
    PatrolAreaError
        No CRS known for the coordinates, a file no vector reader opens, or no polygon.
    """
    import geopandas as gpd
    import numpy as np
    import shapely

    from urbangrid.spatial.crs.transform import transform_xy

    frame, crs = _polygon_frame(path, crs)
    polygonal = frame.geometry.notna() & frame.geometry.geom_type.isin(
        ["Polygon", "MultiPolygon"]) & ~frame.geometry.is_empty
    if not polygonal.any():
        kinds = sorted(set(frame.geometry.dropna().geom_type))
        raise PatrolAreaError(f"{path}: no polygon to patrol ({len(frame)} feature(s)"
                              + (f": {', '.join(kinds)}" if kinds else "")
                              + "); give a file with the area's polygon, or --area CODE")
    if crs is None and (datav := datav_message(path, frame, "--crs")) is not None:
        raise PatrolAreaError(datav)
    frame = frame[polygonal]
    if crs is None:
        if frame.crs is None:
            raise PatrolAreaError(f"{path}: the polygons have no CRS; give --crs")
        return frame.to_crs(4326)

    def move(xy: Any) -> Any:
        x, y = transform_xy(xy[:, 0], xy[:, 1], crs=crs, to_crs="EPSG:4326")
        return np.column_stack([x, y])

    return gpd.GeoDataFrame(frame.drop(columns="geometry"),
                            geometry=shapely.transform(frame.geometry.to_numpy(), move),
                            crs="EPSG:4326")


def _polygon_frame(path: str, crs: str | None) -> tuple[Any, str | None]:
    """The file's features (geometry may be of any type) and the CRS to read them in."""
    import json

    import geopandas as gpd
    import shapely

    bad = f"{path}: cannot read the area polygon"
    if Path(path).suffix.lower() in (".geojson", ".json"):
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            name = str(((data.get("crs") or {}).get("properties") or {}).get("name", ""))
        except (ValueError, AttributeError) as exc:
            raise PatrolAreaError(f"{bad}: not GeoJSON ({exc}); fix the file") from None
        src = crs or _PHONE_CRS.get(name.strip().lower())
        if src is not None:
            feats = data.get("features") or ([data] if "features" not in data else [])
            try:
                geoms = [shapely.geometry.shape(g) if (g := f.get("geometry", f)) else None
                         for f in feats]
            except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException) as exc:
                raise PatrolAreaError(f"{bad}: a geometry is not GeoJSON ({exc})") from None
            return gpd.GeoDataFrame(geometry=gpd.GeoSeries(geoms, dtype=object), crs=None), src
    return read_vector(path, "the area polygon", allow_empty=True), crs


def _street_graph(store: Store | None, source: str, area: Any, mode: str,
                  columns_classes: Any = (None, None)) -> Any:
    """The mode's graph: the store's streets within ~1 km of ``area``, else the street
    file as every command reads it (:func:`urbangrid.cli.vectors.file_street_graph`; a
    survey file's road class column and values as ``(columns, classes)``)."""
    from urbangrid.cli.vectors import file_street_graph, near_bbox

    if store is None:
        columns, classes = columns_classes
        return file_street_graph(source, mode, area, columns=columns, classes=classes)
    from urbangrid.routing.patrol.streets import store_street_graph

    bbox = near_bbox(area, store.layer_info("street_centreline").srid)
    return store_street_graph(store, mode, bbox=bbox)


def _write_outputs(r: Any, outputs: tuple[str, ...], *, basemap: str | None,
                   tianditu_key: str | None, streets: Any) -> None:
    """Write route ``r`` to each output file, the type following its suffix."""
    from urbangrid.routing.patrol import export

    for out in outputs:
        kind = _OUTPUT_TYPES[Path(out).suffix.lower()]
        if kind == "gpx":
            export.write_gpx(r, out)
            click.echo(f"wrote {out}")
        elif kind in ("geojson", "gpkg"):  # one geometry type per layer, as QGIS opens it
            written = export.write_route_layers(r, out)
            click.echo(f"wrote {', '.join(map(str, written))}"
                       + (" (layers route, steps, area)" if kind == "gpkg" else ""))
        else:
            export.write_map(r, out, basemap=basemap, tianditu_key=tianditu_key,
                             streets=streets)
            click.echo(f"wrote {out}")
