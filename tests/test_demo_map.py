"""The demo's HTML map opens in headless Chromium without console errors.

The map under test is made by the demo's own map step (:func:`urbangrid.demo.run.web_map`,
:func:`urbangrid.demo.map.write_layers_map`) on a smaller run than ``urbangrid demo``:
every demo step runs except the slow ones (geocoding, patrol routes of all 90 work
grids, staffing), and bike patrol routes are planned for the first few work grids
only. The layers are those of ``out/map.html``: unit grids, work grids, streets,
components and patrol routes, each switchable.

The page is rendered by Debian's ``chromium`` through ``chromedriver`` (Debian
``chromium-driver``), driven by selenium. Nothing is fetched from the network: the
Leaflet, jQuery, Bootstrap and Font Awesome files that folium links from CDNs are
inlined from the copies PyPI's ``folium-offline`` ships for the same folium release,
and the OpenStreetMap tile layer is pointed at one blank tile. So the test checks the
page itself (its scripts run, its layers are drawn and switch), not the network, and
gives the same answer on a machine without one.

A screenshot is saved as ``docs/img/demo_map.png`` for the README.
"""

from __future__ import annotations

import base64
import re
import shutil
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from urbangrid.data import data_path

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "img" / "demo_map.png"
WUDAOKOU = "osm/beijing_haidian_wudaokou.osm.bz2"
WORK_GRIDS = 8  # work grids routed (the demo routes all 90)

_SCRIPT = re.compile(r'<script\s+src="(?P<url>https?://[^"]+)"\s*>\s*</script>')
_STYLESHEET = re.compile(r'<link\s+[^>]*href="(?P<url>https?://[^"]+)"[^>]*/?>')
_TILES = re.compile(r'L\.tileLayer\(\s*"(?P<url>https?://[^"]+)"')
# Resources the page loads (links a reader may follow, <a href>, are not loaded).
_EXTERNAL = re.compile(r'<(?:script|link|img|iframe)\b[^>]*(?:src|href)="(https?://[^"]+)"')


def _blank_tile() -> str:
    """A 256 × 256 light grey PNG as a data URL: the basemap stand-in."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xee\xee\xee" * 256 for _ in range(256))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


def offline_copy(html: str) -> str:
    """The page with every CDN script and stylesheet inlined and tiles made local.

    Raises AssertionError naming any external resource left, so a new plugin whose
    files are not available offline fails here rather than as a vague console error.
    """
    from offlinefolium.elements import _res as resources  # URL → file text

    missing: list[str] = []

    def inline(match: re.Match[str], tag: str) -> str:
        url = match["url"]
        if url not in resources:
            missing.append(url)
            return match[0]
        # A literal "</script>" inside inlined code would end the element early.
        text = resources[url].replace("</script", "<\\/script")
        return f"<{tag}>{text}</{tag}>"

    html = _SCRIPT.sub(lambda m: inline(m, "script"), html)
    html = _STYLESHEET.sub(lambda m: inline(m, "style"), html)
    html = _TILES.sub(lambda m: f'L.tileLayer("{_blank_tile()}"', html)
    left = sorted(set(missing) | set(_EXTERNAL.findall(html)))
    assert not left, f"external resources with no offline copy: {left}"
    return html


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


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install the Debian packages chromium and "
                    "chromium-driver (apt-get install chromium chromium-driver)", pytrace=False)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium through chromedriver, console messages recorded."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,800", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(_binary("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()


# Leaflet's own view of the page: for each overlay of the layer switcher, whether it
# is on the map and how many polygons (dashed ones apart) and lines it holds.
_LAYERS_JS = r"""
const map = Object.values(window).find(v => v instanceof L.Map);
// folium declares the switcher's overlays as window.layer_control_<id>_layers.overlays
const spec = Object.entries(window).find(([k]) => /^layer_control_\w+_layers$/.test(k))[1];
const out = {};
for (const [name, layer] of Object.entries(spec.overlays)) {
  const n = {on: map.hasLayer(layer), polygons: 0, dashed: 0, lines: 0};
  const walk = l => {
    if (l instanceof L.Polygon) {
      n.polygons += 1;
      if (l.options.dashArray) n.dashed += 1;
    } else if (l instanceof L.Polyline) {
      if (l.options.opacity > 0) n.lines += 1;  // routes carry an invisible popup twin
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


@dataclass
class Page:
    """A loaded page and the console messages of its loading."""

    driver: Any
    log: list[dict[str, Any]]

    def run(self, script: str) -> Any:
        return self.driver.execute_script(script)


@pytest.fixture(scope="module")
def page(demo_map: DemoMap, browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Page:
    """The offline copy of the map, loaded."""
    from selenium.webdriver.support.ui import WebDriverWait

    local = tmp_path_factory.mktemp("offline") / "map.html"
    local.write_text(offline_copy(demo_map.path.read_text(encoding="utf-8")), encoding="utf-8")
    browser.get(local.as_uri())
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
        and d.execute_script(_PATHS_JS) > 0)
    return Page(browser, browser.get_log("browser"))


def test_no_console_errors(page: Page) -> None:
    errors = [e for e in page.log if e["level"] == "SEVERE"]
    assert not errors, "\n".join(e["message"] for e in errors)


def test_route_and_grid_layers_are_drawn(page: Page, demo_map: DemoMap) -> None:
    got = page.run(_LAYERS_JS)
    assert {*GRID_LAYERS, ROUTES} <= set(got), f"layer switcher lists {sorted(got)}"
    assert all(layer["on"] for layer in got.values()), got
    for name, layer in GRID_LAYERS.items():
        assert got[name]["polygons"] == demo_map.rows[layer] > 0, (name, got[name])
    # Each route: its line, and its area (the work grid) dashed.
    assert got[ROUTES]["lines"] == got[ROUTES]["dashed"] == demo_map.routes > 0, got[ROUTES]


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


def test_screenshot(page: Page) -> None:
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert page.driver.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
