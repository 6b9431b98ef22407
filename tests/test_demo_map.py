"""The demo's HTML map opens in headless Chromium without console errors.

The map is rendered by Debian's ``chromium`` through ``chromedriver`` (Debian
``chromium-driver``), driven by selenium. Nothing is fetched from the network: the
page's Leaflet, jQuery, Bootstrap and Font Awesome files, which folium links from
CDNs, are inlined from the copies PyPI's ``folium-offline`` ships for the same folium
release, and the OpenStreetMap tile layer is pointed at one blank tile. So the test
checks the page itself (its scripts run, its layers are drawn and switchable), not
the network, and gives the same answer on a machine without one.

Until the demo writes ``out/map.html`` itself, the map under test is made here with
the function the demo's patrol step uses, :func:`urbangrid.routing.export.write_map`,
from bike patrol routes of a few work grids of the bundled Wudaokou extract: each
layer of it is one work grid (dashed outline) with its route (a colour line).

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
WORK_GRIDS = 5  # first work grids of the demo with a bike street to patrol

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


@pytest.fixture(scope="module")
def map_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The map the demo's patrol step draws, for the first few work grids."""
    from urbangrid.routing.cli import demo_work_grids
    from urbangrid.routing.export import write_map
    from urbangrid.routing.patrol import area_routes
    from urbangrid.routing.streets import read_street_graph

    osm = data_path(WUDAOKOU)
    G = read_street_graph(osm, "bike")
    grids = demo_work_grids(osm)
    skipped: list[tuple[str, str]] = []
    routes = area_routes(G, grids.head(WORK_GRIDS + 5), id_column="work_grid_code",
                         unreachable="skip", iterations=30, skipped=skipped)[:WORK_GRIDS]
    assert len(routes) == WORK_GRIDS
    return write_map(routes, tmp_path_factory.mktemp("map") / "map.html")


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


# Leaflet's own view of the page: the map object folium made, its vector layers and
# the overlay entries of its layer control.
_LAYERS_JS = """
const map = Object.values(window).find(v => v instanceof L.Map);
const out = {polygons: 0, lines: 0, dashed: 0, overlays: [], checked: 0, paths: 0};
map.eachLayer(l => {
  if (l instanceof L.Polygon) {
    out.polygons += 1;
    if (l.options.dashArray) out.dashed += 1;
  } else if (l instanceof L.Polyline && l.getLatLngs().length >= 2) {
    out.lines += 1;
  }
});
document.querySelectorAll('.leaflet-control-layers-overlays label').forEach(label => {
  out.overlays.push(label.textContent.trim());
  if (label.querySelector('input').checked) out.checked += 1;
});
out.paths = document.querySelectorAll('.leaflet-overlay-pane path').length;
return out;
"""


@dataclass
class Page:
    """A loaded page and the console messages of its loading."""

    driver: Any
    log: list[dict[str, Any]]

    def run(self, script: str) -> Any:
        return self.driver.execute_script(script)


@pytest.fixture(scope="module")
def page(map_html: Path, browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Page:
    """The offline copy of the map, loaded."""
    from selenium.webdriver.support.ui import WebDriverWait

    local = tmp_path_factory.mktemp("offline") / "map.html"
    local.write_text(offline_copy(map_html.read_text(encoding="utf-8")), encoding="utf-8")
    browser.get(local.as_uri())
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
        and d.execute_script("return document.querySelectorAll("
                             "'.leaflet-overlay-pane path').length") > 0)
    return Page(browser, browser.get_log("browser"))


def test_no_console_errors(page: Page) -> None:
    errors = [e for e in page.log if e["level"] == "SEVERE"]
    assert not errors, "\n".join(e["message"] for e in errors)


def test_route_and_grid_layers_are_drawn(page: Page) -> None:
    got = page.run(_LAYERS_JS)
    # One dashed outline per work grid, and each route drawn as a colour line of
    # many short segments (blue at the start to red at the end).
    assert got["dashed"] == WORK_GRIDS, got
    assert got["lines"] >= 10 * WORK_GRIDS, got
    assert len(got["overlays"]) == WORK_GRIDS and got["checked"] == WORK_GRIDS, got
    assert all(name.endswith("(bike)") for name in got["overlays"]), got["overlays"]


def test_layers_switch_off_and_on(page: Page) -> None:
    from selenium.webdriver.common.by import By

    before = page.run(_LAYERS_JS)["paths"]
    # The layer control is collapsed until hovered; a click on its input works either way.
    box = page.driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays input")[0]
    page.driver.execute_script("arguments[0].click()", box)
    fewer = page.run(_LAYERS_JS)["paths"]
    page.driver.execute_script("arguments[0].click()", box)
    again = page.run(_LAYERS_JS)["paths"]
    assert 0 < fewer < before == again


def test_screenshot(page: Page) -> None:
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert page.driver.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
