"""Reverse geocoding: descriptions, CRSs, bulk shape, grid hooks."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from urbangrid.spatial.crs.transform import wgs84_to_gcj02
from urbangrid.spatial.geocoding.forward import geocode
from urbangrid.spatial.geocoding.gazetteer import Gazetteer
from urbangrid.spatial.geocoding.reverse import (
    REVERSE_COLUMNS,
    describe_offset,
    reverse_geocode,
    reverse_many,
)


class TestDescribeOffset:
    def test_standard_form(self) -> None:
        out = describe_offset(["成府路55号", "成府路55号", "清华大学"],
                              [50.0, 3.0, -120.0], [2.0, 2.0, -118.0])
        assert out.tolist() == ["成府路55号东50米", "成府路55号", "清华大学西南170米"]

    def test_latin(self) -> None:
        out = describe_offset(["Mannerheimintie 5"], [0.0], [-42.0], latin=[True])
        assert out.tolist() == ["Mannerheimintie 5, 40 m S"]


class TestReverse:
    def test_at_a_plate(self, haidian: Gazetteer) -> None:
        r = geocode(haidian, "成府路55号")
        row = reverse_geocode(haidian, r.lon, r.lat, crs=4326)
        assert row["description"] == "成府路55号"
        assert row["anchor_type"] == "plate"
        assert row["street"] == "成府路"

    def test_offset_description_round_trips(self, haidian: Gazetteer) -> None:
        r = geocode(haidian, "成府路55号东60米")
        row = reverse_geocode(haidian, r.lon, r.lat, crs=4326)
        back = geocode(haidian, row["description"])
        x, y = haidian.to_metric([r.lon, back.lon], [r.lat, back.lat])
        assert np.hypot(x[1] - x[0], y[1] - y[0]) < 5.0

    def test_gcj02_input_equals_wgs84(self, haidian: Gazetteer) -> None:
        lon = np.array([116.3201, 116.3260, 116.3300])
        lat = np.array([39.9916, 39.9990, 40.0050])
        glon, glat = wgs84_to_gcj02(lon, lat)
        a = reverse_many(haidian, lon, lat, crs=4326)
        b = reverse_many(haidian, glon, glat, crs="GCJ-02")
        assert a.description.tolist() == b.description.tolist()
        assert np.allclose(a.lon, b.lon, atol=1e-7)

    def test_projected_input(self, haidian: Gazetteer) -> None:
        x, y = haidian.to_metric([116.3201], [39.9916])
        a = reverse_many(haidian, x, y, crs=haidian.metric_crs)
        b = reverse_many(haidian, [116.3201], [39.9916], crs=4326)
        assert a.description.tolist() == b.description.tolist()

    def test_bulk_shape_and_missing(self, haidian: Gazetteer) -> None:
        rng = np.random.default_rng(1)
        lon = rng.uniform(116.31, 116.33, 1000)
        lat = rng.uniform(39.99, 40.01, 1000)
        lon[5] = np.nan
        out = reverse_many(haidian, lon, lat, crs=4326)
        assert list(out.columns) == list(REVERSE_COLUMNS)
        assert len(out) == 1000
        assert out.description[5] is None
        assert out.description.notna().sum() >= 990

    def test_far_away_point_has_no_anchor(self, haidian: Gazetteer) -> None:
        row = reverse_geocode(haidian, 116.0, 39.5, crs=4326)
        assert row["description"] is None and row["anchor"] is None

    def test_grid_and_community_hooks(self, haidian: Gazetteer) -> None:
        """Any assignment index with ``locate_many`` and ``keys`` (GridIndex) is used."""

        class BoxIndex:
            keys = np.array(["110108010001001", "110108010001002"], dtype=object)

            def __init__(self) -> None:
                self.boxes = [shapely.box(116.30, 39.98, 116.32, 40.02),
                              shapely.box(116.32, 39.98, 116.34, 40.02)]

            def __len__(self) -> int:
                return 2

            def locate_many(self, xs: np.ndarray, ys: np.ndarray, *, crs: str) -> np.ndarray:
                assert crs == "EPSG:4326"
                pts = shapely.points(xs, ys)
                out = np.full(len(xs), -1)
                for k, b in enumerate(self.boxes):
                    out[(out < 0) & shapely.covered_by(pts, b)] = k
                return out

        out = reverse_many(haidian, [116.31, 116.33, 116.5], [40.0, 40.0, 40.0], crs=4326,
                           grid_index=BoxIndex(), community_index=BoxIndex())
        assert out.grid_code.tolist() == ["110108010001001", "110108010001002", None]
        assert out.community_code.tolist() == out.grid_code.tolist()

    def test_real_grid_index_if_landed(self, haidian: Gazetteer) -> None:
        index_mod = pytest.importorskip("urbangrid.spatial.index.engine",
                                        reason="GridIndex (issue 6) not landed yet")
        idx = index_mod.GridIndex.from_polygons(
            [shapely.box(116.30, 39.98, 116.32, 40.02)], ["G1"], crs=4326)
        out = reverse_many(haidian, [116.31], [40.0], crs="GCJ-02", grid_index=idx)
        assert out.grid_code.tolist() == ["G1"]

    def test_latin_description(self, helsinki: Gazetteer) -> None:
        i = int(np.flatnonzero(helsinki.types == "plate")[0])
        row = reverse_geocode(helsinki, helsinki.lon[i], helsinki.lat[i], crs=4326)
        assert row["description"] == f"{helsinki.street[i]} {helsinki.housenumber[i]}"


class TestAnchorsOwnedByGazetteer:
    def test_built_once_and_kept_by_the_gazetteer(self, haidian: Gazetteer) -> None:
        r = geocode(haidian, "成府路55号")
        first = reverse_many(haidian, [r.lon], [r.lat], crs=4326)
        anchors = haidian.anchors
        assert haidian.anchors is anchors  # one build per gazetteer, not per call
        again = reverse_many(haidian, [r.lon], [r.lat], crs=4326)
        assert again.equals(first)
        assert haidian.anchors is anchors

    def test_a_smaller_gazetteer_has_its_own(self, haidian: Gazetteer) -> None:
        r = geocode(haidian, "成府路55号")
        assert r.place_id is not None
        smaller = haidian.without([r.place_id])
        assert smaller.anchors is not haidian.anchors
        assert len(smaller.anchors.anchor_pos) == len(haidian.anchors.anchor_pos) - 1
