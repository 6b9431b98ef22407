"""The vectorised paths of the loader's checks give what the per-value paths give
(issue 21): dates read by Arrow's kernels, coordinates rounded only when they need
it, and the duplicate search made ahead of time on more rows than are checked."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from urbangrid.loaders.duplicates import duplicates_in_file, geometry_pairs
from urbangrid.loaders.readers import round_coordinates
from urbangrid.loaders.validate import _convert_column

TODAY = dt.date(2026, 1, 1)
DATES = [
    "2023-05-01", None, "2023/5/1", "2023-02-30", "2099-01-01", "２０２３-05-01", "2023-5-1",
    "x", "2023-05-01T10:00", "2024-02-29", "2023-13-01", "0000-01-01", "0001-01-01", "",
    " 2023-05-01 ", "2026-01-01", "2026-01-02",
]  # fmt: skip


def test_arrow_dates_as_the_per_value_path() -> None:
    arrow = pd.Series(DATES, dtype="str", index=range(10, 10 + len(DATES)), name="d")
    assert isinstance(arrow.dtype, pd.StringDtype) and arrow.dtype.storage == "pyarrow"
    fast: list = []
    slow: list = []
    got = _convert_column(arrow, "date", "f.csv", TODAY, fast)
    want = _convert_column(arrow.astype(object), "date", "f.csv", TODAY, slow)
    assert got == want
    assert fast == slow
    assert got[0] == dt.date(2023, 5, 1) and got[1] is None
    reasons = {p["row"]: p["reason"] for p in fast}
    assert "not a calendar date" in reasons[13]  # 2023-02-30 is not rolled over to March
    assert "in the future" in reasons[14] and "in the future" in reasons[26]
    assert 25 not in reasons  # today itself is fine


def test_round_coordinates_only_when_needed() -> None:
    geoms = np.array([shapely.Point(116.1234567891234, 39.5), shapely.LineString(
        [(1.00000000049, 2), (3, 4)]), None], dtype=object)  # fmt: skip
    once = round_coordinates(geoms, geographic=True)
    want = shapely.transform(geoms, lambda c: np.round(c, 9))
    assert shapely.equals_exact(once[:2], want[:2], tolerance=0).all() and once[2] is None
    assert geoms[0].x == 116.1234567891234  # the input is not changed
    assert round_coordinates(once, geographic=True) is once  # already rounded: as is
    z = np.array([shapely.Point(1.00000000001, 2, 3.123456789)], dtype=object)
    assert not shapely.has_z(round_coordinates(z, geographic=False)).any()  # as before


@pytest.mark.parametrize("near", [True, False])
def test_duplicates_with_pairs_found_ahead(near: bool) -> None:
    rng = np.random.default_rng(7)
    n = 400
    x = 116.3 + rng.integers(0, 40, n) * 2e-6  # many points within 0.5 m of others
    y = 39.9 + rng.integers(0, 10, n) * 2e-6
    geoms = list(shapely.points(x, y))
    geoms[5] = shapely.LineString([(x[5], y[5]), (x[5] + 1e-6, y[5])])
    geoms[6] = shapely.LineString([(x[5], y[5]), (x[5] + 1e-6, y[5])])
    geoms[7] = None
    frame = gpd.GeoDataFrame(
        {
            "subclass_code": rng.choice(["0101", "0102", None], n),
            "component_id": [f"K{i % 350}" if i % 3 else None for i in range(n)],
            "source": [f"s{i}" for i in range(n)],
        },
        geometry=geoms, crs="EPSG:4326", index=pd.RangeIndex(1, n + 1),
    )  # fmt: skip
    pairs = geometry_pairs(frame, near=near)
    good = frame.drop(index=[3, 10, 11, 200])  # rows found bad in between
    args = dict(source="f.gpkg", key="component_id", group="subclass_code", near=near)
    want = duplicates_in_file(good, **args)
    assert want  # the case finds some
    assert duplicates_in_file(good, pairs=pairs, **args) == want
    # Not the rows searched (other geometries, another CRS): searched again.
    moved = good.copy()
    moved["geometry"] = shapely.transform(moved.geometry.values, lambda c: c + 1e-3)
    assert duplicates_in_file(moved, pairs=pairs, **args) == duplicates_in_file(moved, **args)
    other = good.set_crs("EPSG:4490", allow_override=True)
    assert duplicates_in_file(other, pairs=pairs, **args) == duplicates_in_file(other, **args)


TEXTS = [
    "plain", "中文名称", None, "", "tab\there", "bell\x07", "del\x7f", "c1\x85", "nbsp\xa0ok",
    "ls\u2028", "ps\u2029", "\u2027 near", "€ \u20ac", "x" * 2000, "y" * 2001, "中" * 700,
]  # fmt: skip
JSONS = [
    '{"a": 1}', None, '{"a": "中"}', '{"a": "\\u4e2d"}', '{"a": "\\u0007"}', '{"a": "\\u001F"}',
    '{"a": "\\u007f"}', '{"a": "\\u0085"}', '{"a": "\\u2028"}', '{"a": "\\b"}', '{"a": "\\f"}',
    '{"a": "\\\\b"}', '{"a": "\\n"}', '{"a": "\\t"}', '{"a":\n1}', "", "  ", "[1]", "1",
    '{"a": 1} {"b": 2}', '{"a": 1}x', '{"a": NaN}', '{"a": 1e999}', '{"a": "\\ud800"}',
    '{"a": "x\x01"}', '{"a": "\u2028"}', "{bad", '{"a": "' + "z" * 1995 + '"}',
]  # fmt: skip


@pytest.mark.parametrize(("logical", "values"), [("text", TEXTS), ("json", JSONS)])
def test_arrow_text_and_json_as_the_per_value_path(logical: str, values: list) -> None:
    # Each value alone beside clean ones (the byte scan looks at a whole column),
    # and all together, sliced (a chunk's offset into its buffers) and not.
    clean = "ok" if logical == "text" else '{"ok": true}'
    cases = [[clean, v, clean, None] for v in values] + [values]
    for case in cases:
        arrow = pd.Series(case, dtype="str", index=range(7, 7 + len(case)), name="c")
        for col in (arrow, arrow.iloc[1:]):
            assert isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow"
            fast: list = []
            slow: list = []
            got = _convert_column(col, logical, "f.csv", TODAY, fast)
            want = _convert_column(col.astype(object), logical, "f.csv", TODAY, slow)
            assert fast == slow, case
            if logical == "text" and not fast:  # kept as it is: the same values
                assert [None if pd.isna(v) else v for v in got] == list(want), case


def test_point_pair_distances_as_geos_measures_them() -> None:
    import pyproj

    from urbangrid.loaders.duplicates import _local, pair_distances

    rng = np.random.default_rng(7)
    n = 2000
    x, y = rng.uniform(116, 117, n), rng.uniform(39, 40, n)
    a = shapely.points(x, y)
    b = shapely.points(x + rng.normal(0, 1e-5, n), y + rng.normal(0, 1e-5, n))
    ends = [np.c_[x[:100], y[:100]], np.c_[x[:100] + 1e-5, y[:100]]]
    a[:100] = shapely.linestrings(np.stack(ends, 1))
    b[50:150] = shapely.buffer(b[50:150], 1e-6)  # polygons among them
    first, index = shapely.get_coordinates(a, return_index=True)
    origin = first[np.r_[0, np.flatnonzero(np.diff(index)) + 1]]
    scale = np.cos(np.radians(origin[:, 1]))
    want = shapely.hausdorff_distance(_local(a, origin, scale), _local(b, origin, scale))
    got = pair_distances(a, b, pyproj.CRS("EPSG:4326"))
    assert np.array_equal(got, want)  # bit for bit: the same arithmetic as GEOS


def test_wkb_rounded_as_round_coordinates() -> None:
    import pyarrow as pa

    from urbangrid.loaders.readers import round_wkb

    geoms = [
        shapely.Point(116.1234567891234, 39.50000000049),
        shapely.LineString([(1.00000000049, 2.123456789123), (3, 4), (5.5555555555555, 6)]),
        shapely.Point(), shapely.LineString(), None,
        shapely.Polygon([(0, 0), (1.00000000049, 0), (1, 1.9999999996)]),
        shapely.MultiPoint([(1.00000000049, 2), (3, 4)]),
        shapely.Point(1.00000000049, 2, 3.00000000049),
        shapely.LineString([(0.1234567891234, 0), (1, 1)]),
    ]  # fmt: skip
    wkb = [None if g is None else shapely.to_wkb(g) for g in geoms]
    wkb.append(shapely.to_wkb(geoms[0], byte_order=0))  # big-endian: left to shapely
    want = round_coordinates(shapely.from_wkb(np.array(wkb, dtype=object)), geographic=True)
    for column in (pa.array(wkb, pa.binary()), pa.array(wkb, pa.large_binary()).slice(0),
                   pa.chunked_array([wkb[:3], wkb[3:]], pa.binary())):  # fmt: skip
        values, done = round_wkb(column, 9)
        assert done.tolist() == [True, True, True, True, False, False, False, False, True, False]
        got = shapely.from_wkb(values)
        rest = ~done
        got[rest] = round_coordinates(got[rest], geographic=True)
        assert [None if g is None else shapely.to_wkb(g) for g in got] == [
            None if g is None else shapely.to_wkb(g) for g in want
        ]
    # A slice of a longer array (the chunk's offset into its buffers).
    values, done = round_wkb(pa.array(wkb, pa.binary()).slice(1, 3), 9)
    assert shapely.equals_exact(shapely.from_wkb(values[0]), want[1], 0)


def test_survey_read_rounded_as_read(tmp_path) -> None:
    from urbangrid.loaders.readers import read_survey

    rng = np.random.default_rng(3)
    x, y = 116 + rng.random(300), 39 + rng.random(300)
    geoms = list(shapely.points(x, y))
    geoms[10] = shapely.LineString([(x[10], y[10]), (x[11], y[11])])
    geoms[20] = shapely.Polygon([(x[20], y[20]), (x[21], y[21]), (x[22], y[22])])
    geoms[30] = None
    frame = gpd.GeoDataFrame({"name": [f"n{i}" for i in range(300)], "n": range(300)},
                             geometry=geoms, crs="EPSG:4326")  # fmt: skip
    path = tmp_path / "s.gpkg"
    frame.to_file(path, engine="pyogrio")
    fast = read_survey(path)  # rounded in the WKB, as read
    slow = read_survey(path, crs="EPSG:4326")  # the CRS given: rounded after
    a, b = fast.frame, slow.frame
    assert list(a.columns) == list(b.columns) and (a.dtypes == b.dtypes).all()
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    wa = [None if g is None else shapely.to_wkb(g) for g in a.geometry]
    wb = [None if g is None else shapely.to_wkb(g) for g in b.geometry]
    assert wa == wb and fast.problems == slow.problems and fast.sha256 == slow.sha256


def test_survey_read_ahead_as_read(tmp_path) -> None:
    from concurrent.futures import Future

    import pyogrio

    from urbangrid.loaders.readers import ReadAhead, read_survey

    frame = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=shapely.points([[116.1, 39.2],
                             [116.3, 39.4]]), crs="EPSG:4326")  # fmt: skip
    path = tmp_path / "s.gpkg"
    frame.to_file(path, engine="pyogrio")
    other = tmp_path / "t.gpkg"
    frame.iloc[:1].to_file(other, engine="pyogrio")
    plain = read_survey(path)

    def ahead(of, layer=None, fail=False) -> ReadAhead:
        future: Future = Future()
        if fail:
            future.set_exception(RuntimeError("no"))
        else:
            future.set_result(pyogrio.read_arrow(of, layer=layer, datetime_as_string=True))
        return ReadAhead(of, layer, future)

    for given in (ahead(path), ahead(other), ahead(path, fail=True), ahead(path, layer="s")):
        got = read_survey(path, read_ahead=given)
        assert got.frame.equals(plain.frame) and got.sha256 == plain.sha256
