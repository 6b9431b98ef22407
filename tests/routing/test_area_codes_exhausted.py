"""A community that needs more collector areas than C01-C99 says so, and what to do
(issue 20: Shenzhen Futian's GraphML streets as two 8 km² communities stopped the plan at
"no 2-digit work grid serial left", a work-grid message from the code helper)."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from urbangrid.errors import StaffingError
from urbangrid.routing.patrol.collector_areas import _partition


def _blocks(n: int = 4) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"block": [f"110108014001{i:03d}" for i in range(1, n + 1)],
         "region": "110108014001", "patrol_s": 100.0, "area_m2": 10_000.0},
        geometry=[shapely.box(500_000 + 100 * i, 4_430_000, 500_100 + 100 * i, 4_430_100)
                  for i in range(n)], crs=4548)


def test_used_up_area_serials_name_the_community_and_the_way_out() -> None:
    used = {f"110108014001C{i:02d}" for i in range(1, 100)}
    with pytest.raises(StaffingError, match=(
            r"community 110108014001: more collector areas than its codes number \(area "
            r"codes are 110108014001C01 to C99, 99 used .*--cross-communities")):
        _partition(_blocks(), 2, None, False, used)
    # with room left the same call cuts the blocks in two
    labels = _partition(_blocks(), 2, None, False, set())
    assert sorted(set(labels)) == ["110108014001C01", "110108014001C02"]
