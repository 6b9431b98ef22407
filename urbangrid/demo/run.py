"""The demo: the main job end to end on bundled real data, embedded store.

Each step is a plain function ``step(ctx) -> str`` that does one part of a
city management centre's set-up and returns a one-line summary; the steps run
in order and are timed. Later features add their step to :data:`STEPS`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from urbangrid.data import data_path
from urbangrid.loaders.admin import admin_areas_frame, read_divisions_csv
from urbangrid.loaders.osm import read_osm_graph, streets_frame
from urbangrid.store import GeoPackageStore, Store

__all__ = ["STEPS", "DemoContext", "StepResult", "run_demo"]

DISTRICT_CODE = "110108"  # 海淀区 Haidian, Beijing
OSM_FILE = "osm/beijing_haidian_wudaokou.osm.bz2"


@dataclass
class DemoContext:
    """What the steps share: the store, the output folder, results so far."""

    store: Store
    out: Path
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepResult:
    """One step's name, summary line and wall time in seconds."""

    name: str
    summary: str
    seconds: float


def load_admin_areas(ctx: DemoContext) -> str:
    """District boundary (Amap, WGS84) and the 2023 street/community codes of Haidian."""
    divisions = read_divisions_csv(data_path(f"codes/haidian_{DISTRICT_CODE}_divisions_2023.csv"))
    boundary = gpd.read_file(data_path(f"boundaries/haidian_{DISTRICT_CODE}_wgs84.geojson"))
    boundary["code"] = boundary["district_adcode"].astype(str)
    frame = admin_areas_frame(divisions, boundary, source="nbs-2023 codes; amap boundary")
    result = ctx.store.write("admin_area", frame, "upsert", source="haidian divisions")
    counts = divisions["level"].value_counts()
    return (f"{result.inserted} admin areas: {counts.get('district', 0)} district, "
            f"{counts.get('street', 0)} streets (街道), {counts.get('community', 0)} "
            "communities (社区)")


def load_streets(ctx: DemoContext) -> str:
    """Street centrelines of the Wudaokou OSM extract (© OpenStreetMap contributors, ODbL)."""
    graph = read_osm_graph(data_path(OSM_FILE))
    ctx.state["street_graph"] = graph
    frame = streets_frame(graph)
    ctx.store.write("street_centreline", frame, "upsert", source=OSM_FILE)
    km = frame["length_m"].sum() / 1000
    named = frame["name"].notna().mean() * 100
    return (f"{len(frame)} street segments, {km:.1f} km, {named:.0f}% named, "
            f"graph {graph.number_of_nodes()} nodes / {graph.number_of_edges()} directed edges")


def make_grids(ctx: DemoContext) -> str:
    """Unit grids and work grids generated from the streets (see ``load_demo_grids``)."""
    from urbangrid.demo.inputs import load_demo_grids

    return load_demo_grids(ctx.store)


def components(ctx: DemoContext) -> str:
    """City components (部件) of the Haidian extract, mapped from OSM street furniture."""
    from urbangrid.demo.inputs import load_demo_components

    counts = load_demo_components(ctx.store, sources=("osm_haidian",), admin_code=DISTRICT_CODE)
    by_class = {k: v for k, v in counts.items() if k[:2].isdigit() and v}
    total = sum(by_class.values())
    shown = ", ".join(f"{k} {v}" for k, v in by_class.items())
    return f"{total} components by class: {shown}; unmapped tags {counts.get('unmapped', 0)}"


def reports(ctx: DemoContext) -> str:
    """Reports to grids: the demo's components located in the Haidian hierarchy, and the
    Boston 311 sample assigned to wards, checked against the city's own ward field."""
    import pandas as pd

    from urbangrid.spatial.admin.hierarchy import GridHierarchy
    from urbangrid.spatial.crs.transform import wgs84_to_gcj02
    from urbangrid.spatial.index.engine import GridIndex

    hierarchy = GridHierarchy.from_store(ctx.store)
    comps = ctx.store.read("component", columns=["component_id"])
    pts = comps.geometry.to_crs("EPSG:4326")
    # A phone reports in GCJ-02: shift the points as Amap would, then assign them back.
    gx, gy = wgs84_to_gcj02(pts.x.to_numpy(), pts.y.to_numpy())
    found = hierarchy.locate_many(gx, gy, crs="GCJ-02")
    split = found["community_code"].fillna("outside").value_counts()
    cases = pd.read_csv(data_path("reports/boston_311_2025_sample.csv.gz"), dtype=str)
    n_all = len(cases)
    cases = cases.dropna(subset=["latitude", "longitude"])
    wards = gpd.read_file(data_path("boundaries/boston_wards_2012.geojson"))
    index = GridIndex.from_polygons(wards.geometry.values, keys=wards["WARD"].astype(int),
                                    crs="EPSG:4326")
    pos = index.locate_many(cases["longitude"].astype(float), cases["latitude"].astype(float),
                            crs="EPSG:4326")
    got = wards["WARD"].astype(int).to_numpy()[pos[pos >= 0]]
    want = cases["ward"].str.replace("Ward ", "").astype(int).to_numpy()[pos >= 0]
    agree = float((got == want).mean() * 100)
    inside = split.drop("outside", errors="ignore")
    top = ", ".join(f"…{k[-3:]} {v}" for k, v in inside.head(4).items())
    return (f"{len(comps)} component points as GCJ-02 phone reports: {inside.sum()} in "
            f"{inside.size} communities ({top}), {split.get('outside', 0)} outside the "
            f"generated grids; Boston 311: {len(cases)} of {n_all} cases → 22 wards "
            f"({n_all - len(cases)} have no coordinates), "
            f"{agree:.1f}% agree with the city's ward field")


def geocoding(ctx: DemoContext) -> str:
    """Gazetteer from the OSM extract and division codes; an address both ways."""
    from urbangrid.demo.steps import geocoding_step

    return geocoding_step(ctx)


def patrol_routes(ctx: DemoContext) -> str:
    """A bike patrol route for every work grid: GPX, GeoJSON, map, table."""
    from urbangrid.demo.steps import routes_step

    return routes_step(ctx)


def staffing(ctx: DemoContext) -> str:
    """Staffing plan by the three norms, collector areas, indicators from Boston 311."""
    from urbangrid.demo.steps import staffing_step

    return staffing_step(ctx)


def web_map(ctx: DemoContext) -> str:
    """``map.html``: grids, work grids, streets, components and routes, each switchable."""
    from urbangrid.demo.map import MapLayer, write_layers_map

    store = ctx.store
    spec = {
        "unit grids 单元网格": ("unit_grid", "#1f78b4", ("grid_code", "community_code",
                                                        "area_m2"), 0.05),
        "work grids 工作网格": ("work_grid", "#6a3d9a", ("work_grid_code",), 0.0),
        "streets 道路": ("street_centreline", "#636363", ("name", "highway"), 0.0),
        "components 部件": ("component", "#e31a1c", ("component_id", "name", "status"), 0.6),
    }
    layers = {
        name: MapLayer(store.read(layer), color, tooltip, fill)
        for name, (layer, color, tooltip, fill) in spec.items() if layer in store.layers()
    }
    routes = ctx.state.get("routes", [])
    path = write_layers_map(ctx.out / "map.html", layers, routes=routes,
                            title="urbangrid demo: Haidian, Wudaokou")
    shown = ", ".join(f"{n.split()[0]} {len(v.frame)}" for n, v in layers.items())
    return f"{path}: {shown}, routes {len(routes)}"


#: The demo's steps, in order.
STEPS: list[tuple[str, Callable[[DemoContext], str]]] = [
    ("admin areas", load_admin_areas),
    ("streets", load_streets),
    ("grids", make_grids),
    ("components", components),
    ("reports", reports),
    ("geocoding", geocoding),
    ("patrol routes", patrol_routes),
    ("staffing", staffing),
    ("map", web_map),
]


def run_demo(
    out: str | Path, *, progress: Callable[[str], None] = print, bar: bool | None = None,
) -> list[StepResult]:
    """Run every demo step into ``<out>/demo.gpkg`` (recreated each run).

    Parameters
    ----------
    out : str or Path
        Output folder; created if missing.
    progress : callable
        Receives a line of text as each step starts and ends.
    bar : bool, optional
        Draw a progress bar of the steps (and of the patrol routes) on stderr; default
        only when stderr is a terminal. ``False`` keeps the output to `progress` lines.
    """
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "demo.gpkg"
    target.unlink(missing_ok=True)
    results: list[StepResult] = []
    steps = tqdm(STEPS, desc="demo", unit="step", disable=None if bar is None else not bar,
                 file=sys.stderr, leave=False, dynamic_ncols=True)

    def say(line: str) -> None:
        with steps.external_write_mode(file=sys.stderr):
            progress(line)

    with GeoPackageStore(target) as store, steps:
        ctx = DemoContext(store, out, {"progress_bar": not steps.disable, "say": say})
        for i, (name, step) in enumerate(steps, start=1):
            steps.set_description(f"demo: {name}")
            say(f"[{i}/{len(STEPS)}] {name} …")
            t0 = time.perf_counter()
            summary = step(ctx)
            results.append(StepResult(name, summary, time.perf_counter() - t0))
            say(f"      {summary} ({results[-1].seconds:.2f} s)")
    return results
