"""``urbangrid grids generate``: a community past W99 says what to give instead (issue 20:
Shenzhen Futian's GraphML streets in two communities made 323 work grids, 818 unit
grids in one, and stopped at "no 2-digit work grid serial left")."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from click.testing import CliRunner

from urbangrid.cli.main import main

X0, Y0 = 500_000.0, 4_430_000.0  # EPSG:4548, metres


def _district(tmp_path: Path, n: int = 12) -> tuple[Path, Path]:
    """An ``n × n`` lattice of 100 m blocks as streets, one community around it."""
    lines = []
    for k in range(n + 1):
        lines.append(shapely.LineString([(X0, Y0 + 100 * k), (X0 + 100 * n, Y0 + 100 * k)]))
        lines.append(shapely.LineString([(X0 + 100 * k, Y0), (X0 + 100 * k, Y0 + 100 * n)]))
    streets = gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines,
                               crs=4548)
    comm = gpd.GeoDataFrame({"community_code": ["110108014001"]},
                            geometry=[shapely.box(X0, Y0, X0 + 100 * n, Y0 + 100 * n)], crs=4548)
    s, c = tmp_path / "streets.geojson", tmp_path / "comm.geojson"
    streets.to_crs(4326).to_file(s)
    comm.to_crs(4326).to_file(c)
    return s, c


def test_too_many_work_grids_for_one_community_says_how_many_fit(tmp_path: Path) -> None:
    s, c = _district(tmp_path)
    base = ["grids", "generate", str(tmp_path / "g.gpkg"), "--streets", str(s),
            "--communities", str(c), "--version", "v1", "-q"]
    res = CliRunner().invoke(main, [*base, "--work-grids", "120"])
    assert res.exit_code == 1, res.output
    line = res.output.strip().splitlines()[-1]
    assert line.startswith("error: region 110108014001: no 2-digit work grid serial left: a "
                           "community holds at most 99 work grids"), line
    assert "community 110108014001 (144 unit grids)" in line and "--work-grids 99 " in line
    assert "Traceback" not in res.output
    ok = CliRunner().invoke(main, [*base, "--work-grids", "99"])
    assert ok.exit_code == 0, ok.output
    assert "99 work grids" in ok.output
