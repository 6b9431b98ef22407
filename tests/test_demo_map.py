"""The HTML maps open in headless Chromium with the network off and draw their layers.

Two maps are checked: the demo's (made by the demo's own map step,
:func:`urbangrid.demo.run.web_map` → :func:`urbangrid.demo.map.write_layers_map`, on a
smaller run than ``urbangrid demo``: every step runs except the slow ones (geocoding,
patrol routes of all 91 work grids, staffing), and bike routes are planned for the first
few work grids only) and a route map (:func:`urbangrid.routing.patrol.export.write_map`,
what ``urbangrid route -o route.html`` writes).

The pages are rendered by Debian's ``chromium`` through ``chromedriver`` (Debian
``chromium-driver``), driven by selenium, with every request sent to a proxy that does
not exist and every host name unresolvable: a 数字城管 centre's intranet. The pages are
used as urbangrid writes them: Leaflet is inlined, the default base layer is none, so
their scripts must run and their layers, legend and scale bar must be drawn with no
network at all.

Screenshots: ``docs/img/demo_map.png`` and ``docs/img/route_map.png`` show the *real*
demo, every route: run ``urbangrid demo --out out`` and then
``URBANGRID_DEMO_OUT=out pytest tests/test_demo_map.py -k screenshot``. Without
``URBANGRID_DEMO_OUT`` the screenshots of the reduced run go to a temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from urbangrid.data import data_path

IMG = Path(__file__).resolve().parents[1] / "docs" / "img"
WUDAOKOU = "osm/beijing_haidian_wudaokou.osm.bz2"
WORK_GRIDS = 8  # work grids routed (the demo routes all 90)

# Resources a page loads (links a reader may follow, <a href>, are not loaded).
_EXTERNAL = re.compile(r'<(?:script|link|img|iframe)\b[^>]*(?:src|href)="(https?://[^"]+)"')


@dataclass
class DemoMap:
    """The map file and what it should show: rows per store layer, routes drawn."""

    path: Path
    rows: dict[str, int]
    routes: int


#: Layer switcher name → store layer, as the demo's map step names them.
GRID_LAYERS = {"unit grids 单元网格": "unit_grid", "work grids 工作网格": "work_grid"}
ROUTES = "patrol routes"
SLOW_STEPS = {"geocoding", "patrol routes", "staffing"}


@pytest.fixture(scope="module")
def demo_map(tmp_path_factory: pytest.TempPathFactory) -> DemoMap:
    """``map.html`` of a demo run without its slow steps, routes for a few work grids."""
    from urbangrid.demo import run as demo
    from urbangrid.loaders.osm import read_street_graph
    from urbangrid.routing.patrol.routes import area_routes
    from urbangrid.store import GeoPackageStore

    out = tmp_path_factory.mktemp("demo")
    with GeoPackageStore(out / "demo.gpkg") as store:
        ctx = demo.DemoContext(store, out)
        for name, step in demo.STEPS:
            if name == "map":
                G = read_street_graph(data_path(WUDAOKOU), "bike")
                ctx.state["routes"] = area_routes(
                    G, store.read("work_grid").head(WORK_GRIDS), id_column="work_grid_code",
                    unreachable="skip", iterations=10, skipped=[])
            if name not in SLOW_STEPS:
                step(ctx)
        rows = {layer: store.count(layer) for layer in GRID_LAYERS.values()}
    assert (out / "map.html").exists(), "the demo's map step wrote no map.html"
    return DemoMap(out / "map.html", rows, len(ctx.state["routes"]))


@pytest.fixture(scope="module")
def route_map(demo_map: DemoMap, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """``write_map`` of the bike routes of the two largest work grids; arrows expected."""
    from urbangrid.loaders.osm import read_street_graph
    from urbangrid.routing.patrol.export import write_map
    from urbangrid.routing.patrol.routes import area_routes
    from urbangrid.store import GeoPackageStore

    with GeoPackageStore(demo_map.path.parent / "demo.gpkg") as store:
        grids = store.read("work_grid")
    grids = grids.loc[grids.to_crs(3857).area.nlargest(2).index]  # routes long enough for arrows
    G = read_street_graph(data_path(WUDAOKOU), "bike")
    routes = area_routes(G, grids, id_column="work_grid_code", unreachable="skip",
                         iterations=10, skipped=[])
    path = write_map(routes, tmp_path_factory.mktemp("route") / "route.html",
                     arrows_every_m=150.0)
    arrows = sum(int((r.geometry.length + 75.0) // 150.0) for r in routes)
    return path, arrows


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install the Debian packages chromium and "
                    "chromium-driver (apt-get install chromium chromium-driver)", pytrace=False)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium through chromedriver with no network, console recorded."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,800", "--hide-scrollbars",
                # the network is off: every request goes to a closed port, no name resolves
                "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                "--host-resolver-rules=MAP * ~NOTFOUND"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(_binary("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()


# Leaflet's own view of the page: for each overlay of the layer switcher, whether it
# is on the map and how many polygons (dashed ones apart), lines, dots and arrows it holds.
_LAYERS_JS = r"""
const map = Object.values(window).find(v => v instanceof L.Map);
// folium declares the switcher's overlays as window.layer_control_<id>_layers.overlays
const spec = Object.entries(window).find(([k]) => /^layer_control_\w+_layers$/.test(k))[1];
const out = {};
for (const [name, layer] of Object.entries(spec.overlays)) {
  const n = {on: map.hasLayer(layer), polygons: 0, dashed: 0, lines: 0, dots: 0, arrows: 0};
  const walk = l => {
    if (l instanceof L.Polygon) {
      n.polygons += 1;
      if (l.options.dashArray) n.dashed += 1;
    } else if (l instanceof L.Polyline) {
      if (l.options.opacity > 0) n.lines += 1;  // routes carry an invisible popup twin
    } else if (l instanceof L.CircleMarker) {
      n.dots += 1;
    } else if (l instanceof L.Marker) {
      if ((l.options.icon.options.className || "").includes("urbangrid-arrow")) n.arrows += 1;
    } else if (l.eachLayer) {
      l.eachLayer(walk);
    }
  };
  layer.eachLayer(walk);
  out[name] = n;
}
return out;
"""
_PATHS_JS = "return document.querySelectorAll('.leaflet-overlay-pane path').length"
_CHROME_JS = """return {
  legend: (document.querySelector('.urbangrid-legend') || {}).innerText || '',
  scale: (document.querySelector('.leaflet-control-scale-line') || {}).innerText || '',
  tiles: document.querySelectorAll('.leaflet-tile').length}"""


@dataclass
class Page:
    """A loaded page and the console messages of its loading."""

    driver: Any
    log: list[dict[str, Any]]

    def run(self, script: str) -> Any:
        return self.driver.execute_script(script)


def _load(browser: Any, path: Path) -> Page:
    from selenium.webdriver.support.ui import WebDriverWait

    html = path.read_text(encoding="utf-8")
    assert not _EXTERNAL.findall(html), f"{path.name} loads {_EXTERNAL.findall(html)}"
    browser.get(path.as_uri())
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
        and d.execute_script("return typeof L !== 'undefined'")
        and d.execute_script(_PATHS_JS) > 0)
    return Page(browser, browser.get_log("browser"))


@pytest.fixture(scope="module")
def page(demo_map: DemoMap, browser: Any) -> Page:
    """The demo map as urbangrid wrote it, loaded offline."""
    return _load(browser, demo_map.path)


def test_no_console_errors(page: Page) -> None:
    errors = [e for e in page.log if e["level"] == "SEVERE"]
    assert not errors, "\n".join(e["message"] for e in errors)


def test_route_and_grid_layers_are_drawn(page: Page, demo_map: DemoMap) -> None:
    got = page.run(_LAYERS_JS)
    assert {*GRID_LAYERS, ROUTES} <= set(got), f"layer switcher lists {sorted(got)}"
    assert all(layer["on"] for layer in got.values()), got
    for name, layer in GRID_LAYERS.items():
        assert got[name]["polygons"] == demo_map.rows[layer] > 0, (name, got[name])
    # Each route: its line, its area (the work grid) dashed, its start dot and arrows.
    r = got[ROUTES]
    assert r["lines"] == r["dashed"] == r["dots"] == demo_map.routes > 0, r
    assert r["arrows"] >= demo_map.routes, r


def test_legend_scale_bar_and_no_tiles(page: Page) -> None:
    got = page.run(_CHROME_JS)
    for name in (*GRID_LAYERS, "起点 start", "行进方向 direction"):
        assert name in got["legend"], got["legend"]
    assert re.fullmatch(r"\d+ k?m", got["scale"].strip()), got["scale"]
    assert got["tiles"] == 0  # base layer "none": nothing is fetched


def test_layers_switch_off_and_on(page: Page, demo_map: DemoMap) -> None:
    from selenium.webdriver.common.by import By

    labels = page.driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
    box = next(label.find_element(By.TAG_NAME, "input") for label in labels
               if label.text.strip() == "unit grids 单元网格")
    before = page.run(_PATHS_JS)
    box.click()
    off = page.run(_LAYERS_JS)["unit grids 单元网格"]["on"]
    fewer = page.run(_PATHS_JS)
    box.click()
    assert not off and page.run(_LAYERS_JS)["unit grids 单元网格"]["on"]
    assert before - fewer == demo_map.rows["unit_grid"]
    assert page.run(_PATHS_JS) == before


def test_route_map_offline(route_map: tuple[Path, int], browser: Any) -> None:
    path, arrows = route_map
    page = _load(browser, path)
    assert not [e for e in page.log if e["level"] == "SEVERE"], page.log
    got = page.run(_LAYERS_JS)
    assert len(got) == 2 and all(layer["on"] for layer in got.values()), got
    for layer in got.values():  # the gradient line is one segment per vertex pair
        assert layer["lines"] > 1 and layer["dashed"] == layer["dots"] == 1, layer
    assert sum(layer["arrows"] for layer in got.values()) == arrows > 0, got
    chrome = page.run(_CHROME_JS)
    assert "起点 start" in chrome["legend"] and chrome["scale"], chrome


def _screenshot_dir(tmp_path: Path) -> tuple[Path, Path | None]:
    """Where screenshots go, and the real demo's output folder if one was given."""
    out = os.environ.get("URBANGRID_DEMO_OUT")
    return (IMG, Path(out)) if out else (tmp_path, None)


def test_screenshot(demo_map: DemoMap, browser: Any, tmp_path: Path) -> None:
    folder, real = _screenshot_dir(tmp_path)
    shot = _load(browser, real / "map.html" if real else demo_map.path)
    assert not [e for e in shot.log if e["level"] == "SEVERE"], shot.log
    folder.mkdir(parents=True, exist_ok=True)
    assert shot.driver.save_screenshot(str(folder / "demo_map.png"))
    assert (folder / "demo_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_route_map_screenshot(route_map: tuple[Path, int], browser: Any, tmp_path: Path) -> None:
    folder, real = _screenshot_dir(tmp_path)
    path = route_map[0]
    if real is not None:  # the real demo's route map (its first work grid)
        path = real / "route_map.html"
    shot = _load(browser, path)
    folder.mkdir(parents=True, exist_ok=True)
    assert shot.driver.save_screenshot(str(folder / "route_map.png"))
