"""The demo's steps that need more than one call: geocoding, patrol routes, staffing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from urbangrid.cli.staffing import staffing_plan
from urbangrid.demo.inputs import demo_work_grids


def format_table(routes: Any, lang: str | None = None) -> str:
    """The demo's route table: area, km², street km, route km, minutes, deadhead %.

    Headers in Chinese (the standards' terms) or English: `lang`, else the locale's.
    """
    from urbangrid.cli.lang import header, resolve_lang
    from urbangrid.routing.patrol.routes import routes_table

    t = routes_table(routes)
    lang = resolve_lang(lang)
    cols = [("area", 18, "<"), ("km²", 7, ">"), ("street km", 11, ">"), ("route km", 10, ">"),
            ("minutes", 9, ">"), ("deadhead %", 12, ">"), ("gap to bound %", 16, ">")]
    lines = ["".join(_pad(header(name, lang), width, align) for name, width, align in cols)]
    for r in t.itertuples():
        gap = gap_text(r.gap_pct)
        lines.append(f"{r.area:<18}{r.km2:>7.3f}{r.street_km:>11.2f}{r.route_km:>10.2f}"
                     f"{r.minutes:>9.1f}{r.deadhead_pct:>12.1f}{gap:>16}")
    return "\n".join(lines)


def gap_text(gap_pct: float | None) -> str:
    """A gap to the lower bound, per cent, one decimal; blank when unknown, never "-0.0"."""
    if gap_pct is None or gap_pct != gap_pct:
        return ""
    return f"{round(gap_pct, 1) + 0.0:.1f}"  # + 0.0 turns a rounded -0.0 into 0.0


def minutes_range(minutes: list[float]) -> str:
    """``"0.4–37"``: the shortest and longest of `minutes`, whole minutes from 1 min up.

    The demo's smallest work grids (0.02 km²) are ridden round in seconds: rounded to
    whole minutes they read "0–37 min", as if a route took no time, so a round under a
    minute keeps one decimal, and one under 3 s reads "<0.1".

    Examples
    --------
    >>> minutes_range([0.38, 12.2, 36.6])
    '0.4–37'
    >>> minutes_range([0.01, 2.0])
    '<0.1–2'
    """
    def one(m: float) -> str:
        return "<0.1" if m < 0.05 else f"{m:.1f}" if m < 0.95 else f"{m:.0f}"

    lo, hi = one(min(minutes)), one(max(minutes))
    return lo if lo == hi else f"{lo}–{hi}"


def _pad(text: str, width: int, align: str) -> str:
    """`text` padded to `width` terminal columns (a Chinese character takes two)."""
    import unicodedata

    cells = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    space = " " * max(width - cells, 1 if align == ">" else 0)
    return space + text if align == ">" else text + space


def routes_step(ctx: Any) -> str:
    """Demo: bike patrol routes for every work grid of the Wudaokou extract.

    Work grids come from the store's ``work_grid`` layer when an earlier step wrote
    them, else they are generated in memory (unit grids from the OSM extract's streets
    and its documented community partition, grouped to about 0.27 km² each, the
    Beijing Chaoyang norm). Writes ``routes/<code>.gpx``, ``patrol_routes.geojson`` (the
    route lines) with ``patrol_routes.steps.geojson`` (turn points) and
    ``patrol_routes.area.geojson`` (work grid outlines) beside it, one geometry type per
    file as ``urbangrid route -o x.geojson`` writes them, ``patrol_routes.txt`` and
    ``route_map.html`` (the longest route's map) into ``ctx.out``
    and the ``patrol_route`` layer, keeps
    the routes in ``ctx.state["routes"]`` for the demo map, prints the route table
    and returns a summary line.
    """
    from urbangrid.data import data_path
    from urbangrid.loaders.osm import read_street_graph
    from urbangrid.routing.patrol import export
    osm = data_path("osm/beijing_haidian_wudaokou.osm.bz2")
    G = read_street_graph(osm, "bike")
    grids = None
    if "work_grid" in ctx.store.layers() and ctx.store.count("work_grid"):
        grids = ctx.store.read("work_grid")
    if grids is None or not len(grids):
        grids = demo_work_grids(osm)
    skipped: list[tuple[str, str]] = []
    routes = _plan_routes(ctx, G, grids, skipped)
    out = Path(ctx.out)
    gpx_dir = out / "routes"
    gpx_dir.mkdir(parents=True, exist_ok=True)
    for r in routes:
        export.write_gpx(r, gpx_dir / f"{r.area_id}.gpx")
    # one geometry type per file: a FeatureCollection of lines and polygons makes QGIS
    # ask which sublayer to open
    written = export.write_route_layers(routes, out / "patrol_routes.geojson")
    if routes:  # what `urbangrid route -o route.html` draws, for the longest round
        export.write_map(max(routes, key=lambda r: r.duration_s), out / "route_map.html")
    ctx.state["routes"] = routes
    export.load_routes(ctx.store, routes, source=f"demo: {osm.name}, bike")
    table = format_table(routes)
    (out / "patrol_routes.txt").write_text(table + "\n", encoding="utf-8")
    ctx.state.get("say", click.echo)(table)
    km = sum(r.length_m for r in routes) / 1000
    minutes = [r.duration_s / 60 for r in routes]
    none = f" ({len(skipped)} work grids have no bike street to patrol)" if skipped else ""
    return (f"{len(routes)} bike patrol routes, one per work grid{none}, {km:.1f} km in all, "
            f"{minutes_range(minutes)} min each; routes/*.gpx, "
            f"{', '.join(p.name for p in written)}, layer patrol_route")


def _plan_routes(ctx: Any, G: Any, grids: Any, skipped: list[tuple[str, str]]) -> list[Any]:
    """One bike route per work grid, with a progress bar of the grids when the demo has one."""
    from tqdm import tqdm

    from urbangrid.routing.patrol.routes import area_routes, prepare_graph

    prepared = prepare_graph(G)  # once for every grid
    routes: list[Any] = []
    for i in tqdm(range(len(grids)), desc="patrol routes", unit="grid", leave=False,
                  disable=not ctx.state.get("progress_bar", False), dynamic_ncols=True):
        routes += area_routes(prepared, grids.iloc[i:i + 1], id_column="work_grid_code",
                              unreachable="skip", iterations=50, skipped=skipped)
    return routes


def staffing_step(ctx: Any) -> str:
    """Demo step: staffing plan and bike collector areas (30 min, 3 shifts); 311 case log.

    Uses the unit grids in ``ctx.store`` (generated for the bundled extract when the
    layer is empty) and its streets; writes ``collector_areas.geojson`` and
    ``collector_routes.geojson`` (EPSG:4326) to ``ctx.out``, stores the areas and the
    bundled Boston 311 sample as case events, and reports the district indicators.
    """
    from urbangrid.cases.indicators import case_table, indicators
    from urbangrid.data import data_path
    from urbangrid.demo.inputs import load_demo_grids
    from urbangrid.loaders.case_log import load_case_log, read_case_log
    from urbangrid.routing.patrol.collector_areas import load_collector_areas, route_lines
    from urbangrid.routing.patrol.staffing import DISTRICT
    from urbangrid.routing.patrol.streets import store_street_graph

    store = ctx.store
    if store.count("unit_grid") == 0:
        load_demo_grids(store)
    table, areas, _ = staffing_plan(store, mode="bike", limit_s=1800.0, shifts=3)
    load_collector_areas(store, areas, mode="bike", source="demo")
    a = areas.areas
    a.drop(columns=["depot"]).to_crs(4326).to_file(ctx.out / "collector_areas.geojson",
                                                   driver="GeoJSON")
    G = store_street_graph(store, "bike")
    route_lines(G, areas).to_crs(4326).to_file(ctx.out / "collector_routes.geojson",
                                               driver="GeoJSON")
    events = read_case_log(data_path("reports/boston_311_2025_sample.csv.gz"))
    load_case_log(store, events, source="boston_311_2025_sample.csv.gz")
    ind = indicators(case_table(events), by=None).loc["all"]
    d = table.loc[DISTRICT]
    return (f"staffing {int(d['n_grids'])} grids: roster {int(d['grids_low'])}-"
            f"{int(d['grids_high'])} by grids, {int(d['area_headcount'])} by area, "
            f"{int(d['time_headcount'])} by time ({int(d['time_per_shift'])} bike areas × 3 "
            f"shifts, rounds ≤ {a['route_s'].max() / 60:.1f} min); Boston 311: "
            f"{int(ind['受理数'])} cases, 有效上报率 {ind['有效上报率']:.0%}, "
            f"漏报率 {ind['漏报率']:.0%}")


def geocoding_step(ctx: Any) -> str:
    """Demo: gazetteer from the Wudaokou extract and Haidian codes; geocode both ways."""
    import geopandas as gpd

    from urbangrid.data import data_path
    from urbangrid.loaders.admin import read_divisions_csv
    from urbangrid.spatial.geocoding.forward import geocode
    from urbangrid.spatial.geocoding.gazetteer import (
        Gazetteer,
        load_places,
        merge_places,
        places_from_divisions,
        places_from_osm,
    )
    from urbangrid.spatial.geocoding.reverse import reverse_geocode

    places = merge_places(
        places_from_osm(data_path("osm/beijing_haidian_wudaokou.osm.bz2")),
        places_from_divisions(
            read_divisions_csv(data_path("codes/haidian_110108_divisions_2023.csv")),
            gpd.read_file(data_path("boundaries/haidian_110108_wgs84.geojson")),
            boundary_code_column="district_adcode", source="nbs-2023"),
    )
    load_places(ctx.store, places)
    gaz = Gazetteer.from_store(ctx.store)
    r = geocode(gaz, "北京市海淀区成府路六十九号")
    back = reverse_geocode(gaz, 116.3262, 39.9928, crs="GCJ-02")
    return (f"{len(places)} places; 成府路六十九号 → {r.level} ({r.lon:.5f}, {r.lat:.5f}); "
            f"GCJ-02 (116.3262, 39.9928) → {back['description']}")
