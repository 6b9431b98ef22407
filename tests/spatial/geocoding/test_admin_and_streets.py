"""Hand-made gazetteers whose answers can be checked by eye: another street is not a
misspelling, contradictory areas lower the score, a district before a street office
is its own part."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from urbangrid.spatial.geocoding.forward import ADMIN_DOUBT_FACTOR, geocode
from urbangrid.spatial.geocoding.gazetteer import PLACE_COLUMNS, Gazetteer, other_street
from urbangrid.spatial.geocoding.parse import parse_address


@pytest.fixture(scope="module")
def tiny() -> Gazetteer:
    """海淀区 (110108) with two streets, 清华路 and 成府路, and the plate 成府路55号."""
    rows = [
        {"place_id": "d", "place_type": "area", "name": "海淀区", "admin_code": "110108",
         "geometry": shapely.box(116.2, 39.9, 116.4, 40.1)},
        {"place_id": "s1", "place_type": "street", "name": "清华路",
         "geometry": shapely.LineString([(116.31, 40.0), (116.33, 40.0)])},
        {"place_id": "s2", "place_type": "street", "name": "成府路",
         "geometry": shapely.LineString([(116.31, 39.99), (116.33, 39.99)])},
        {"place_id": "p55", "place_type": "plate", "name": "成府路55号", "street": "成府路",
         "housenumber": "55", "geometry": shapely.Point(116.32, 39.9905)},
    ]
    for r in rows:
        for c in PLACE_COLUMNS:
            r.setdefault(c, None)
    return Gazetteer(gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326"))


def test_other_street_is_no_match(tiny: Gazetteer) -> None:
    """清华东路 is not in the gazetteer; 清华路 is another street, so: none."""
    r = geocode(tiny, "海淀区清华东路")
    assert r.level == "none" and r.confidence == 0.0
    assert "清华路" in r.reason and "another street" in r.reason
    assert geocode(tiny, "海淀区清华路").level == "street"  # the street itself still matches
    typo = geocode(tiny, "海淀区城府路55号")  # a misspelling, no qualifier: still found
    assert typo.name == "成府路55号" and typo.confidence < 1.0
    assert other_street("北三环", "北四环") and not other_street("城府路", "成府路")


@pytest.mark.parametrize(("address", "why"), [
    ("广东省北京市海淀区成府路55号", "北京市 is not in 广东省"),
    ("广东省海淀区成府路55号", "海淀区 is not in 广东省"),
    ("广东省成府路55号", "not in 广东省"),
])  # fmt: skip
def test_contradictory_areas_lower_the_score(tiny: Gazetteer, address: str, why: str) -> None:
    right = geocode(tiny, "北京市海淀区成府路55号")
    assert right.level == "plate" and right.confidence == 1.0
    r = geocode(tiny, address)
    assert r.name == "成府路55号"
    assert r.confidence == pytest.approx(right.confidence * ADMIN_DOUBT_FACTOR)
    assert "contradictory areas" in r.reason and why in r.reason


def test_district_and_street_office_are_split() -> None:
    """南山区 is in 深圳市 (440305) as well as in 鹤岗市: the one in the city named wins."""
    p = parse_address("广东省深圳市南山区粤海街道科技园")
    assert (p.province, p.city, p.district, p.street_office) == (
        "广东省", "深圳市", "南山区", "粤海街道")
    assert p.admin_code == "440305" and p.admin_conflict is None
    unknown = parse_address("某某区粤海街道科技园")  # a district the vocabulary lacks
    assert (unknown.district, unknown.street_office) == ("某某区", "粤海街道")
