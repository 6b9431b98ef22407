"""Tests for urbangrid.spatial.crs.transform: GCJ-02/BD-09 both ways, pyproj, wrong-CRS checks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from urbangrid.errors import CoordinateError, CRSError, CRSMismatchError
from urbangrid.spatial.crs import transform as C

DATA = Path(__file__).resolve().parents[1] / "data" / "index"

# Mainland China, well inside the GCJ-02 rectangle.
china_lon = st.floats(74.0, 134.0, allow_nan=False)
china_lat = st.floats(18.0, 53.0, allow_nan=False)


def _published_wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Scalar transcription of the published algorithm, independent of the module's NumPy code."""
    a = 6378245.0
    ee = 0.00669342162296594323
    pi = math.pi
    if lon < 72.004 or lon > 137.8347 or lat < 0.8293 or lat > 55.8271:
        return lon, lat
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * pi) + 40.0 * math.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * pi) + 320 * math.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlon += (20.0 * math.sin(x * pi) + 40.0 * math.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * pi) + 300.0 * math.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1 - ee * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (a / sqrtmagic * math.cos(radlat) * pi)
    return lon + dlon, lat + dlat


class TestNormalizeCRS:
    @pytest.mark.parametrize("name", ["GCJ-02", "gcj02", "GCJ_02", " gcj-02 "])
    def test_gcj02_aliases(self, name: str) -> None:
        assert C.normalize_crs(name) == C.GCJ02

    @pytest.mark.parametrize("name", ["BD-09", "bd09", "BD09LL"])
    def test_bd09_aliases(self, name: str) -> None:
        assert C.normalize_crs(name) == C.BD09

    @pytest.mark.parametrize("crs", [4326, "EPSG:4490", "epsg:4547", pyproj.CRS(32650)])
    def test_pyproj(self, crs: object) -> None:
        assert isinstance(C.normalize_crs(crs), pyproj.CRS)  # type: ignore[arg-type]

    def test_wkt_and_proj_strings(self) -> None:
        wkt = pyproj.CRS(4547).to_wkt()
        assert C.crs_equal(wkt, 4547)
        assert C.normalize_crs("+proj=tmerc +lon_0=114 +k=1 +x_0=500000 +ellps=GRS80").is_projected

    @pytest.mark.parametrize("bad", [None, "bd09mc", "not a crs", 3.5, True])
    def test_rejects(self, bad: object) -> None:
        with pytest.raises(CRSError):
            C.normalize_crs(bad)  # type: ignore[arg-type]

    def test_round_trip_string(self) -> None:
        assert C.crs_to_string(4326) == "EPSG:4326"
        assert C.crs_to_string("gcj02") == "GCJ-02"
        local = "+proj=tmerc +lat_0=30 +lon_0=114.3 +k=1 +x_0=0 +y_0=0 +ellps=GRS80 +units=m"
        assert C.crs_equal(C.crs_to_string(local), local)

    def test_is_geographic(self) -> None:
        assert C.is_geographic("GCJ-02") and C.is_geographic(4490)
        assert not C.is_geographic(4547)


class TestGCJ02:
    @settings(max_examples=200, deadline=None)
    @given(china_lon, china_lat)
    def test_forward_matches_published_formula(self, lon: float, lat: float) -> None:
        gx, gy = C.wgs84_to_gcj02([lon], [lat])
        ex, ey = _published_wgs84_to_gcj02(lon, lat)
        assert gx[0] == pytest.approx(ex, abs=1e-12)
        assert gy[0] == pytest.approx(ey, abs=1e-12)

    @settings(max_examples=300, deadline=None)
    @given(china_lon, china_lat)
    def test_round_trip_below_1e_9_degrees(self, lon: float, lat: float) -> None:
        gx, gy = C.wgs84_to_gcj02([lon], [lat])
        wx, wy = C.gcj02_to_wgs84(gx, gy)
        assert abs(wx[0] - lon) < 1e-9 and abs(wy[0] - lat) < 1e-9
        # And the inverse is exact in the other direction too.
        fx, fy = C.wgs84_to_gcj02(*C.gcj02_to_wgs84([lon], [lat]))
        assert abs(fx[0] - lon) < 1e-9 and abs(fy[0] - lat) < 1e-9

    def test_vectorised_grid_round_trip(self) -> None:
        lon, lat = np.meshgrid(np.linspace(73.7, 134.9, 200), np.linspace(18.2, 53.5, 150))
        wx, wy = C.gcj02_to_wgs84(*C.wgs84_to_gcj02(lon, lat))
        assert wx.shape == lon.shape
        assert np.abs(wx - lon).max() < 1e-9 and np.abs(wy - lat).max() < 1e-9

    def test_inverse_forward_image_near_105e_and_the_edges(self) -> None:
        # The inverse takes Newton steps (issue 21) except near 105 E, where the shift
        # has a sqrt(|lon - 105|) cusp, and near the rectangle's edges: every regime and
        # the switches between them keep the forward image within 1e-10 degrees.
        rng = np.random.default_rng(21)
        lon = np.concatenate([
            rng.uniform(104.95, 105.05, 20_000),  # the cusp and both sides of the switch
            rng.uniform(72.004, 137.8347, 20_000),  # the whole rectangle, edges included
            np.full(2_000, 105.0),
        ])
        lat = np.concatenate([
            rng.uniform(18.0, 53.0, 20_000), rng.uniform(0.8293, 55.8271, 20_000),
            rng.uniform(18.0, 53.0, 2_000),
        ])
        wx, wy = C.gcj02_to_wgs84(lon, lat)
        fx, fy = C.wgs84_to_gcj02(wx, wy)
        inside = C.in_gcj02_area(wx, wy)
        assert inside.mean() > 0.99
        err = np.maximum(np.abs(fx - lon), np.abs(fy - lat))[inside]
        assert err.max() < 1e-10

    def test_forward_matches_published_formula_on_a_dense_grid(self) -> None:
        # The compiled shift takes its sines from angle sums (issue 21): the whole
        # rectangle, edges included, against the formula with one library sine each.
        lon, lat = np.meshgrid(
            np.linspace(72.004, 137.8347, 181), np.linspace(0.8293, 55.8271, 151)
        )
        gx, gy = C.wgs84_to_gcj02(lon.ravel(), lat.ravel())
        ref = np.array(
            [_published_wgs84_to_gcj02(a, b) for a, b in zip(lon.ravel(), lat.ravel(), strict=True)]
        )
        assert np.abs(gx - ref[:, 0]).max() < 1e-12 and np.abs(gy - ref[:, 1]).max() < 1e-12

    def test_shift_size_beijing(self) -> None:
        gx, gy = C.wgs84_to_gcj02([116.391], [39.907])
        # SOURCES.md: Beijing is shifted about +0.006 lon, +0.0012 lat.
        assert 0.005 < gx[0] - 116.391 < 0.007
        assert 0.0008 < gy[0] - 39.907 < 0.0016

    def test_outside_china_unchanged(self) -> None:
        lon = np.array([-71.0589, 2.35, 139.69, 100.5])
        lat = np.array([42.3601, 48.85, 35.69, -5.0])
        for fn in (C.wgs84_to_gcj02, C.gcj02_to_wgs84):
            x, y = fn(lon, lat)
            assert np.array_equal(x, lon) and np.array_equal(y, lat)

    def test_nan_passes(self) -> None:
        x, y = C.gcj02_to_wgs84([np.nan, 116.4], [39.9, np.nan])
        assert np.isnan(x[0]) and np.isnan(y[1])

    def test_in_area(self) -> None:
        assert C.in_gcj02_area([116.4, 72.0, np.nan], [39.9, 30.0, 1.0]).tolist() == [
            True,
            False,
            False,
        ]


class TestTransverseMercator:
    """The compiled Krüger series (``_tmerc.h``) that a Gauss-Krüger index's locate call
    runs, against pyproj (PROJ's tmerc) over whole zones (issue 21)."""

    @pytest.mark.parametrize("epsg", [4548, 4547, 4526, 4502, 4554, 32650, 32750])
    def test_within_a_millimetre_of_pyproj_over_the_zone(self, epsg: int) -> None:
        from urbangrid.spatial.crs import _kernels

        crs = pyproj.CRS.from_epsg(epsg)
        params = C._tmerc_params(crs)
        assert params is not None
        w, s, e, n = crs.area_of_use.bounds  # type: ignore[union-attr]
        rng = np.random.default_rng(epsg)
        lon = rng.uniform(w - 1.0, e + 1.0, 50_000)  # the zone and a degree beyond it
        lat = rng.uniform(s, n, 50_000)
        x, y = _kernels.tmerc_forward(params, lon, lat)
        px, py = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
        assert np.abs(x - px).max() < 1e-3 and np.abs(y - py).max() < 1e-3

    def test_far_from_the_meridian_and_nan(self) -> None:
        from urbangrid.spatial.crs import _kernels

        params = C._tmerc_params(pyproj.CRS.from_epsg(4548))
        assert params is not None
        x, y = _kernels.tmerc_forward(params, np.array([-80.0, np.nan, 117.0]),
                                      np.array([40.0, 40.0, np.nan]))  # fmt: skip
        assert np.isnan(x).all() and np.isnan(y).all()

    def test_locate_route(self) -> None:
        gk = C.locate_route("GCJ-02", 4548)
        assert gk is not None and gk[0] == "gcj02" and gk[1] is not None
        assert gk[1][2] == 117.0 and gk[1][4] == 500_000.0
        assert C.locate_route("EPSG:4490", "EPSG:4548")[0] == "lonlat"  # type: ignore[index]
        assert C.locate_route("BD-09", 4326) == ("bd09", None)
        assert C.locate_route(4326, 4326) is None  # the same CRS needs no route
        assert C.locate_route("GCJ-02", 3857) is None  # not a transverse Mercator
        assert C.locate_route("GCJ-02", 2437) is None  # Beijing 1954: a datum shift
        assert C.locate_route(4547, 4548) is None  # metres in: pyproj


class TestBD09:
    @settings(max_examples=300, deadline=None)
    @given(china_lon, china_lat)
    def test_round_trips(self, lon: float, lat: float) -> None:
        bx, by = C.gcj02_to_bd09([lon], [lat])
        gx, gy = C.bd09_to_gcj02(bx, by)
        assert abs(gx[0] - lon) < 1e-9 and abs(gy[0] - lat) < 1e-9
        wx, wy = C.bd09_to_wgs84(*C.wgs84_to_bd09([lon], [lat]))
        assert abs(wx[0] - lon) < 1e-9 and abs(wy[0] - lat) < 1e-9

    def test_iteration_beats_closed_form(self) -> None:
        # The textbook closed-form inverse is only good to ~1e-6 degrees.
        lon, lat = np.meshgrid(np.linspace(100, 125, 50), np.linspace(20, 45, 50))
        bx, by = C.gcj02_to_bd09(lon, lat)
        gx, gy = C.bd09_to_gcj02(bx, by)
        assert max(np.abs(gx - lon).max(), np.abs(gy - lat).max()) < 1e-9

    def test_known_offset(self) -> None:
        bx, by = C.gcj02_to_bd09([116.397241], [39.908401])
        assert bx[0] - 116.397241 == pytest.approx(0.0064, abs=0.0005)
        assert by[0] - 39.908401 == pytest.approx(0.0063, abs=0.0005)


class TestTransformXY:
    def test_pyproj_pair_matches_pyproj(self) -> None:
        lon, lat = np.array([113.9, 114.1]), np.array([22.5, 22.6])
        x, y = C.transform_xy(lon, lat, crs=4326, to_crs="EPSG:4547")
        tx, ty = pyproj.Transformer.from_crs(4326, 4547, always_xy=True).transform(lon, lat)
        assert np.allclose(x, tx, atol=1e-6) and np.allclose(y, ty, atol=1e-6)

    def test_gcj02_to_projected_goes_through_wgs84(self) -> None:
        lon, lat = np.array([114.05]), np.array([22.54])
        x, y = C.transform_xy(lon, lat, crs="GCJ-02", to_crs=4547)
        wx, wy = C.gcj02_to_wgs84(lon, lat)
        tx, ty = pyproj.Transformer.from_crs(4326, 4547, always_xy=True).transform(wx, wy)
        assert np.allclose(x, tx, atol=1e-6) and np.allclose(y, ty, atol=1e-6)

    @pytest.mark.parametrize(
        "src, dst",
        [("GCJ-02", "BD-09"), ("BD-09", 4326), (4490, "GCJ-02"), ("BD-09", 4547), (4547, "BD-09")],
    )
    def test_every_pair_round_trips(self, src: object, dst: object) -> None:
        lon, lat = np.array([113.95, 114.2]), np.array([22.52, 22.7])
        x0, y0 = C.transform_xy(lon, lat, crs="GCJ-02", to_crs=src)  # type: ignore[arg-type]
        x1, y1 = C.transform_xy(x0, y0, crs=src, to_crs=dst)  # type: ignore[arg-type]
        x2, y2 = C.transform_xy(x1, y1, crs=dst, to_crs=src)  # type: ignore[arg-type]
        tol = 1e-4 if C.normalize_crs(src) == pyproj.CRS(4547) else 1e-9  # type: ignore[arg-type]
        assert np.allclose(x2, x0, atol=tol, rtol=0) and np.allclose(y2, y0, atol=tol, rtol=0)

    def test_same_crs_copies(self) -> None:
        x = np.array([114.0])
        out, _ = C.transform_xy(x, [22.5], crs="gcj02", to_crs="GCJ-02")
        assert out is not x and out[0] == 114.0

    def test_shape_kept(self) -> None:
        lon = np.full((3, 4), 114.0)
        lat = np.full((3, 4), 22.5)
        x, y = C.transform_xy(lon, lat, crs=4326, to_crs="BD-09")
        assert x.shape == (3, 4) and y.shape == (3, 4)

    def test_shape_mismatch(self) -> None:
        with pytest.raises(CoordinateError, match="shapes"):
            C.transform_xy([1.0, 2.0], [1.0], crs=4326, to_crs=4547)


class TestCheckXY:
    def test_metres_given_as_degrees(self) -> None:
        with pytest.raises(CRSMismatchError, match="metres"):
            C.transform_xy([500123.0], [2490000.0], crs=4326, to_crs=4547)

    def test_degrees_given_as_gauss_kruger_metres(self) -> None:
        with pytest.raises(CRSMismatchError, match="degrees"):
            C.check_xy([114.05], [22.54], crs="EPSG:4547")

    def test_degrees_given_as_utm_metres(self) -> None:
        with pytest.raises(CRSMismatchError, match="degrees"):
            C.check_xy([114.05], [22.54], crs=32650)

    def test_swapped_latitude_out_of_range(self) -> None:
        with pytest.raises(CRSMismatchError, match="swapped"):
            C.check_xy([39.9], [116.4], crs=4326)

    def test_swapped_in_china_only_crs(self) -> None:
        # Kashgar (lon 76, lat 39.5) swapped is a valid lon/lat, but not in China.
        with pytest.raises(CRSMismatchError, match="swapped"):
            C.check_xy([39.5], [76.0], crs="GCJ-02")
        with pytest.raises(CRSMismatchError, match="swapped"):
            C.check_xy([39.5], [76.0], crs=4490)

    def test_plausible_input_passes(self) -> None:
        C.check_xy([114.05, np.nan], [22.54, np.inf], crs="GCJ-02")
        C.check_xy([39.5], [76.0], crs=4326)  # world CRS: a point in Georgia is fine
        C.check_xy([500000.0], [2490000.0], crs=4547)
        C.check_xy([1.0], [2.0], crs="+proj=tmerc +lon_0=114 +units=m")  # local: no area


def _centroid_offsets_m(a: list[shapely.Geometry], b: list[shapely.Geometry]) -> np.ndarray:
    to_m = pyproj.Transformer.from_crs(4326, 4547, always_xy=True)
    ca = shapely.get_coordinates(shapely.centroid(np.asarray(a)))
    cb = shapely.get_coordinates(shapely.centroid(np.asarray(b)))
    xa, ya = to_m.transform(ca[:, 0], ca[:, 1])
    xb, yb = to_m.transform(cb[:, 0], cb[:, 1])
    return np.hypot(np.asarray(xa) - xb, np.asarray(ya) - yb)


class TestDistrictFiles:
    """Coarse check on real data: the same Shenzhen districts in GCJ-02 and WGS84."""

    def test_conversion_aligns_the_two_files(self) -> None:
        import geopandas as gpd

        gcj = gpd.read_file(DATA / "shenzhen_440300_districts_gcj02.json")
        wgs = gpd.read_file(DATA / "shenzhen_districts_amap_wgs84.geojson")
        gcj["code"] = gcj["adcode"].astype(str)
        wgs["code"] = wgs["district_adcode"].astype(str)
        both = gcj.merge(wgs[["code", "geometry"]], on="code", suffixes=("_gcj", "_wgs"))
        assert len(both) >= 8
        before = _centroid_offsets_m(list(both.geometry_gcj), list(both.geometry_wgs))

        def to_gcj(coords: np.ndarray) -> np.ndarray:
            x, y = C.transform_xy(coords[:, 0], coords[:, 1], crs=4326, to_crs="GCJ-02")
            return np.column_stack([x, y])

        converted = [shapely.transform(g, to_gcj) for g in both.geometry_wgs]
        after = _centroid_offsets_m(list(both.geometry_gcj), converted)
        # Different vintages: SOURCES.md reports ~557 m before, ~14 m (median) after.
        assert 300 < np.median(before) < 800
        assert np.median(after) < 60
        assert np.median(after) < np.median(before) / 10
        # And back: GCJ-02 polygons to WGS84 land on the WGS84 file as well.
        back = [
            shapely.transform(
                g,
                lambda c: np.column_stack(
                    C.transform_xy(c[:, 0], c[:, 1], crs="GCJ-02", to_crs=4326)
                ),
            )
            for g in both.geometry_gcj
        ]
        assert np.median(_centroid_offsets_m(back, list(both.geometry_wgs))) < 60


# Anywhere on Earth for the GCJ-02 pass-through; China plus a margin across the rectangle's
# edges; Gauss-Krüger zone 38 (CM 114E) metres for the projected side.
any_lon = st.floats(-179.9, 179.9, allow_nan=False)
any_lat = st.floats(-89.9, 89.9, allow_nan=False)
edge_lon = st.floats(70.0, 140.0, allow_nan=False)
edge_lat = st.floats(-1.0, 57.0, allow_nan=False)

_PAIRS = [
    ("GCJ-02", "EPSG:4326"),
    ("EPSG:4326", "GCJ-02"),
    ("BD-09", "EPSG:4326"),
    ("EPSG:4326", "BD-09"),
    ("GCJ-02", "BD-09"),
    ("BD-09", "GCJ-02"),
    ("GCJ-02", "EPSG:4547"),
    ("BD-09", "EPSG:4547"),
    ("EPSG:4490", "EPSG:4547"),
    ("EPSG:4490", "GCJ-02"),
]


def _agree(src: str, dst: str, x: float, y: float) -> None:
    """transform_point gives what transform_xy gives: 1e-9 degrees or 1e-6 m."""
    px, py = C.transform_point(x, y, crs=src, to_crs=dst, check=False)
    vx, vy = C.transform_xy([x], [y], crs=src, to_crs=dst, check=False)
    assert isinstance(px, float) and isinstance(py, float)
    tol = 1e-9 if C.is_geographic(dst) else 1e-6
    assert abs(px - vx[0]) <= tol and abs(py - vy[0]) <= tol, (src, dst, x, y)


class TestTransformPoint:
    """The one-point path gives the array path's numbers."""

    @pytest.mark.parametrize("src, dst", _PAIRS)
    @settings(max_examples=150, deadline=None)
    @given(lon=edge_lon, lat=edge_lat)
    def test_agrees_with_arrays_in_and_around_china(
        self, src: str, dst: str, lon: float, lat: float
    ) -> None:
        _agree(src, dst, lon, lat)

    @pytest.mark.parametrize("src, dst", _PAIRS[:6])
    @settings(max_examples=100, deadline=None)
    @given(lon=any_lon, lat=any_lat)
    def test_agrees_with_arrays_worldwide(self, src: str, dst: str, lon: float, lat: float) -> None:
        _agree(src, dst, lon, lat)

    @settings(max_examples=100, deadline=None)
    @given(lon=any_lon, lat=any_lat)
    def test_outside_china_gcj02_passes_through(self, lon: float, lat: float) -> None:
        if C.in_gcj02_area([lon], [lat])[0]:
            return
        assert C.transform_point(lon, lat, crs="GCJ-02", to_crs=4326, check=False) == (lon, lat)
        assert C.transform_point(lon, lat, crs=4326, to_crs="GCJ-02", check=False) == (lon, lat)

    @settings(max_examples=100, deadline=None)
    @given(x=st.floats(380_000.0, 620_000.0), y=st.floats(2_300_000.0, 4_500_000.0))
    def test_projected_to_gcj02_agrees(self, x: float, y: float) -> None:
        _agree("EPSG:4547", "GCJ-02", x, y)
        _agree("EPSG:4547", "EPSG:4326", x, y)

    def test_many_random_points_bit_for_bit_with_the_kernels(self) -> None:
        # Both paths run the same compiled formulas, so they agree exactly.
        rng = np.random.default_rng(7)
        lon, lat = rng.uniform(72.0, 138.0, 2_000), rng.uniform(0.5, 56.0, 2_000)
        for src, dst in _PAIRS[:6]:
            vx, vy = C.transform_xy(lon, lat, crs=src, to_crs=dst, check=False)
            fn = C.point_transformer(src, dst, check=False)
            got = np.array([fn(a, b) for a, b in zip(lon.tolist(), lat.tolist(), strict=True)])
            assert np.array_equal(got[:, 0], vx) and np.array_equal(got[:, 1], vy), (src, dst)

    def test_matches_published_formula(self) -> None:
        for lon, lat in [(116.391, 39.907), (114.05, 22.54), (87.6, 43.8)]:
            gx, gy = C.transform_point(lon, lat, crs=4326, to_crs="GCJ-02")
            ex, ey = _published_wgs84_to_gcj02(lon, lat)
            assert gx == pytest.approx(ex, abs=1e-12) and gy == pytest.approx(ey, abs=1e-12)

    @pytest.mark.parametrize("crs", ["GCJ-02", "gcj02", 4547, "EPSG:4547", pyproj.CRS(4547)])
    def test_same_crs_is_identity(self, crs: object) -> None:
        fn = C.point_transformer(crs, crs)  # type: ignore[arg-type]
        x, y = (114.05, 22.54) if C.is_geographic(crs) else (500_000.0, 2_490_000.0)  # type: ignore[arg-type]
        assert fn(x, y) == (x, y)

    def test_cached_per_pair(self) -> None:
        a = C.point_transformer("GCJ-02", "EPSG:4547")
        assert C.point_transformer("gcj02", 4547) is a
        assert C.point_transformer("GCJ-02", pyproj.CRS("EPSG:4547")) is a
        assert C.point_transformer("GCJ-02", 4547, check=False) is not a

    def test_accepts_ints_and_numpy_floats(self) -> None:
        x, y = C.transform_point(np.float64(114.05), 22, crs="GCJ-02", to_crs=4547)
        vx, vy = C.transform_xy([114.05], [22.0], crs="GCJ-02", to_crs=4547)
        assert (x, y) == (vx[0], vy[0]) and type(x) is float

    def test_nan_gives_nan(self) -> None:
        for src, dst in [("GCJ-02", 4547), ("BD-09", 4326), (4490, 4547), (4326, "BD-09")]:
            x, y = C.transform_point(math.nan, 22.5, crs=src, to_crs=dst)
            assert math.isnan(x) or math.isnan(y)

    def test_not_numbers(self) -> None:
        with pytest.raises(CoordinateError, match="numbers"):
            C.transform_point("east", 22.5, crs="GCJ-02", to_crs=4547)  # type: ignore[arg-type]
        with pytest.raises(CoordinateError, match="numbers"):
            C.transform_point(None, 22.5, crs=4326, to_crs=4326)  # type: ignore[arg-type]

    def test_bad_crs(self) -> None:
        with pytest.raises(CRSError):
            C.point_transformer("not a crs", 4326)

    # The same wrong-CRS errors as check_xy / transform_xy, and only for wrong points.
    @pytest.mark.parametrize(
        "x, y, crs, to_crs, match",
        [
            (500123.0, 2490000.0, 4326, 4547, "metres"),
            (500123.0, 2490000.0, "GCJ-02", 4547, "metres"),
            (39.9, 116.4, 4326, "GCJ-02", "swapped"),
            (39.5, 76.0, "GCJ-02", 4547, "swapped"),
            (39.5, 76.0, 4490, 4547, "swapped"),
            (114.05, 22.54, 4547, 4326, "degrees"),
        ],
    )
    def test_wrong_crs_raises(
        self, x: float, y: float, crs: object, to_crs: object, match: str
    ) -> None:
        with pytest.raises(CRSMismatchError, match=match):
            C.transform_point(x, y, crs=crs, to_crs=to_crs)  # type: ignore[arg-type]
        with pytest.raises(CRSMismatchError, match=match):
            C.transform_xy([x], [y], crs=crs, to_crs=to_crs)  # type: ignore[arg-type]
        C.transform_point(x, y, crs=crs, to_crs=to_crs, check=False)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "x, y, crs",
        [
            (-71.06, 42.36, 4490),  # outside China in a China CRS: fine, as check_xy
            (-71.06, 42.36, "GCJ-02"),
            (39.5, 76.0, 4326),  # a point in Georgia, world CRS
            (1.0, 2.0, "+proj=tmerc +lon_0=114 +units=m"),  # local CRS: no area to check
            (math.inf, 22.0, 4326),
        ],
    )
    def test_plausible_points_pass(self, x: float, y: float, crs: object) -> None:
        C.transform_point(x, y, crs=crs, to_crs="EPSG:3857")  # type: ignore[arg-type]


class TestIndexSinglePoint:
    """GridIndex.locate transforms one point as locate_many transforms arrays."""

    def test_locate_agrees_with_locate_many_from_gcj02_bd09_and_4490(self) -> None:
        from urbangrid.spatial.index.engine import GridIndex

        # 40 x 40 cells of 25 m in zone 38 (CM 114E), near Shenzhen.
        x0, y0 = 504_000.0, 2_493_000.0
        cells = [
            shapely.box(x0 + 25 * i, y0 + 25 * j, x0 + 25 * (i + 1), y0 + 25 * (j + 1))
            for i in range(40)
            for j in range(40)
        ]
        idx = GridIndex.from_polygons(cells, crs="EPSG:4547")
        rng = np.random.default_rng(3)
        gx, gy = rng.uniform(x0 - 50, x0 + 1_050, 500), rng.uniform(y0 - 50, y0 + 1_050, 500)
        for crs in ("GCJ-02", "BD-09", "EPSG:4490", pyproj.CRS(4490)):
            lon, lat = C.transform_xy(gx, gy, crs=4547, to_crs=crs)
            many = idx.locate_many(lon, lat, crs=crs)
            one = [
                idx.locate(a, b, crs=crs) for a, b in zip(lon.tolist(), lat.tolist(), strict=True)
            ]
            assert [-1 if p is None else p for p in one] == many.tolist()
            assert (many >= 0).sum() > 350


def test_xy_faults_row_by_row() -> None:
    """Each point gets its own verdict; one bad point does not condemn the others."""
    from urbangrid.spatial.crs import faults as F

    nan = float("nan")
    x = [116.3, 39.9, 999_999.0, 999.0, nan, 116.3]
    y = [39.9, 116.3, 999_999.0, 999.0, 39.9, float("inf")]
    assert F.xy_faults(x, y, crs=4326).tolist() == [0, 2, 3, 4, 1, 1]
    # GCJ-02 is China only: (39.9, 80.0) lies outside China but inside it swapped.
    assert F.xy_faults([39.9, 116.3], [80.0, 39.9], crs="GCJ-02").tolist() == [2, 0]
    # A Gauss-Kruger zone: degrees are named, metres pass.
    assert F.xy_faults([114.05, 500_000.0], [22.54, 2_490_000.0], crs=4547).tolist() == [5, 0]
    assert F.xy_faults([116.3], [39.9], crs="EPSG:4490").tolist() == [0]  # through PROJ
    assert F.XY_FAULTS[2].startswith("longitude and latitude look swapped")
