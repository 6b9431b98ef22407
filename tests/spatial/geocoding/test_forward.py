"""Forward geocoding on the Haidian and Helsinki gazetteers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from urbangrid.spatial.geocoding.forward import LEVELS, geocode, geocode_many
from urbangrid.spatial.geocoding.gazetteer import Gazetteer


def _metres(g: Gazetteer, a: tuple[float, float], b: tuple[float, float]) -> float:
    x, y = g.to_metric([a[0], b[0]], [a[1], b[1]])
    return float(math.hypot(x[1] - x[0], y[1] - y[0]))


class TestLevels:
    def test_exact_plate(self, haidian: Gazetteer) -> None:
        r = geocode(haidian, "北京市海淀区成府路55号")
        assert (r.level, r.confidence, r.name) == ("plate", 1.0, "成府路55号")
        assert r.place_id == "osm:node/1747551886#plate"

    def test_chinese_numerals_and_full_width(self, haidian: Gazetteer) -> None:
        a = geocode(haidian, "海淀区成府路五十五号")
        b = geocode(haidian, "海淀區成府路５５號")
        assert a.place_id == b.place_id == "osm:node/1747551886#plate"

    def test_interpolated_between_neighbours(self, haidian: Gazetteer) -> None:
        r = geocode(haidian, "成府路69号")
        assert r.level == "interpolated"
        assert "成府路65号" in r.reason and "成府路81号" in r.reason
        lo = geocode(haidian, "成府路65号")
        hi = geocode(haidian, "成府路81号")
        # On the way from 65 to 81, a quarter of the way along.
        d_lo = _metres(haidian, (r.lon, r.lat), (lo.lon, lo.lat))
        d_hi = _metres(haidian, (r.lon, r.lat), (hi.lon, hi.lat))
        assert d_lo < d_hi

    def test_typo_in_road_name(self, haidian: Gazetteer) -> None:
        r = geocode(haidian, "城府路55号")
        assert r.place_id == "osm:node/1747551886#plate"
        assert r.confidence < 1.0

    def test_road_without_suffix(self, haidian: Gazetteer) -> None:
        r = geocode(haidian, "海淀区成府55号")
        assert r.found

    def test_street_level(self, haidian: Gazetteer) -> None:
        r = geocode(haidian, "海淀区成府路")
        assert (r.level, r.name) == ("street", "成府路")

    def test_poi_and_english_alias(self, haidian: Gazetteer) -> None:
        zh = geocode(haidian, "清华大学")
        en = geocode(haidian, "Tsinghua University")
        assert zh.level == en.level == "poi"
        assert zh.place_id == en.place_id

    def test_offset_moves_the_point(self, haidian: Gazetteer) -> None:
        base = geocode(haidian, "成府路55号")
        moved = geocode(haidian, "成府路55号东50米")
        assert _metres(haidian, (base.lon, base.lat), (moved.lon, moved.lat)) == \
            pytest.approx(50.0, abs=0.5)
        assert moved.lon > base.lon

    def test_estate_building(self, haidian: Gazetteer) -> None:
        r = geocode(haidian, "华清嘉园12-8号")
        assert r.level == "plate"

    def test_area_only(self, haidian: Gazetteer) -> None:
        r = geocode(haidian, "北京市海淀区学院路街道")
        assert r.level == "area"
        assert "located by 海淀区" in r.reason

    def test_old_name_still_found(self, haidian: Gazetteer) -> None:
        # OSM old_name on the CAU extract: 小月河科技园西路 is now 小月河东畔路.
        r = geocode(haidian, "小月河科技园西路")
        assert r.found
        assert r.name == "小月河东畔路"

    def test_candidates_are_ranked(self, haidian: Gazetteer) -> None:
        r = geocode(haidian, "清华大学东门", limit=5)
        assert 1 <= len(r.candidates) <= 5
        assert r.candidates[0].lon == r.lon
        assert all(c.level in LEVELS for c in r.candidates)


class TestBadInput:
    @pytest.mark.parametrize(("text", "reason"), [
        ("", "empty input"),
        ("   ", "empty input"),
        ("!!!???", "no address words"),
        ("上海市黄浦区南京东路100号", "outside the gazetteer"),
        ("今天天气很好我们去散步吧", "no place in the gazetteer matches"),
        ("海淀区Chengfu Nonexistent Road 55号", "mixes Chinese and Latin"),
        ("zzzz qqqq", "no place in the gazetteer matches"),
    ])
    def test_none_with_reason(self, haidian: Gazetteer, text: str, reason: str) -> None:
        r = geocode(haidian, text)
        assert r.level == "none"
        assert reason in r.reason
        assert math.isnan(r.lon)
        assert r.confidence == 0.0

    def test_non_string_does_not_raise(self, haidian: Gazetteer) -> None:
        assert geocode(haidian, None).level == "none"  # type: ignore[arg-type]


class TestLatin:
    def test_helsinki_plate(self, helsinki: Gazetteer) -> None:
        street, number = helsinki.street[helsinki.types == "plate"][0], \
            helsinki.housenumber[helsinki.types == "plate"][0]
        r = geocode(helsinki, f"{street} {number}, 00100 Helsinki")
        assert r.level == "plate"

    def test_case_and_abbreviation_tolerant(self, helsinki: Gazetteer) -> None:
        r = geocode(helsinki, "mannerheimintie 5, helsinki")
        assert r.found


def test_geocode_many(haidian: Gazetteer) -> None:
    out = geocode_many(haidian, ["成府路55号", "", None, "清华大学"])  # type: ignore[list-item]
    assert out.level.tolist() == ["plate", "none", "none", "poi"]
    assert out.crs.to_epsg() == 4326
    assert out.geometry.isna().tolist() == [False, True, True, False]
    assert np.isfinite(out.lon[[0, 3]]).all()
