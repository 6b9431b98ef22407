"""Component records on both stores (urbangrid.spatial.components.records): the contract."""

from __future__ import annotations

import datetime as dt
import threading
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

import urbangrid
from urbangrid.errors import ComponentIdError, DataFileError, ValidationError
from urbangrid.spatial.components.codes import demo_profile, standard_profile
from urbangrid.spatial.components.records import (
    allocate_serials,
    append_component_file,
    component_history,
    component_stats,
    find_components,
    load_components,
    nearest_components,
    retire_components,
    validate_components,
)
from urbangrid.spatial.crs.transform import wgs84_to_bd09, wgs84_to_gcj02

PROFILE = demo_profile()  # admin code 320508
COUNTY = "320508"  # new IDs name their county (the profile's is not used)
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
GEOD = pyproj.Geod(ellps="WGS84")

# A small hand-made district near Suzhou (lon/lat degrees, EPSG:4326).
X0, Y0 = 120.60, 31.30


def records(**overrides: Any) -> gpd.GeoDataFrame:
    """Five components: two water covers, a street lamp, a hydrant, a metro entrance line."""
    data = {
        "subclass_code": ["0101", "0101", "0118", "0113", "2114"],
        "status": ["完好", "完好", "完好", "破损", "完好"],
        "data_source": ["实测", "实测", "调绘", "实测", "其它"],
        "dept_name2": ["供水公司", "供水公司", "路灯所", None, "地铁公司"],
        "grid_code": [
            "320508001001001",
            "320508001001001",
            "320508001001002",
            "320508001001002",
            None,
        ],
        "source": ["s1", "s2", "s3", "s4", "s5"],
        "extra": [None, {"材质": "铸铁"}, None, None, None],
    }
    data.update(overrides)
    geoms = [
        shapely.Point(X0, Y0),
        shapely.Point(X0 + 0.001, Y0),
        shapely.Point(X0 + 0.002, Y0 + 0.001),
        shapely.Point(X0 + 0.004, Y0),
        shapely.LineString([(X0 - 0.001, Y0 + 0.002), (X0 + 0.001, Y0 + 0.002)]),
    ]
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4326")


def ids(frame: Any) -> list[str]:
    return sorted(frame["component_id"])


class TestValidate:
    def test_fills_defaults(self) -> None:
        out = validate_components(records(), PROFILE)
        assert list(out["class_code"]) == ["01", "01", "01", "01", "21"]
        assert list(out["name"]) == ["上水井盖", "上水井盖", "路灯", "消防设施", "地铁出入口"]
        assert list(out["dept_name1"]) == [
            "供水企业",
            "供水企业",
            "路灯管理部门",
            "消防救援机构",
            "轨道交通企业",
        ]
        assert set(out["edition"]) == {"cjt214-2007"}

    @pytest.mark.parametrize(
        ("overrides", "record", "field", "reason"),
        [
            (
                {"subclass_code": ["0101", "9999", "0118", "0113", "2114"]},
                "s2",
                "subclass_code",
                "unknown subclass",
            ),
            (
                {"status": ["完好", "完好", "废弃", "破损", "完好"]},
                "s3",
                "status",
                "完好/破损/丢失/占用",
            ),
            (
                {"status": ["完好", None, "完好", "破损", "完好"]},
                "s2",
                "status",
                "required value is empty",
            ),
            (
                {"data_source": ["实测", "实测", "卫星", "实测", "其它"]},
                "s3",
                "data_source",
                "实测/地形图/调绘/其它",
            ),
            (
                {"component_id": ["1105080101000001", None, None, None, None]},
                "1105080101000001",
                "component_id",
                "admin code disagrees",
            ),
            (
                {"component_id": ["3205080102000001", None, None, None, None]},
                "3205080102000001",
                "component_id",
                "disagrees with the record's subclass_code",
            ),
            (
                {"component_id": ["320508010100001", None, None, None, None]},
                "320508010100001",
                "component_id",
                "not 16 digits",
            ),
            ({"class_code": ["02", None, None, None, None]}, "s1", "class_code", "disagrees"),
            ({"grid_code": ["3205", None, None, None, None]}, "s1", "grid_code", "14 or 15 digits"),
            (
                {"original_date": ["2020-02-30", None, None, None, None]},
                "s1",
                "original_date",
                "not a date",
            ),
        ],
    )
    def test_bad_field(self, overrides: dict, record: str, field: str, reason: str) -> None:
        with pytest.raises(ValidationError) as info:
            validate_components(records(**overrides), PROFILE, source="in.csv")
        text = str(info.value)
        assert "in.csv" in text and "nothing was written" in text
        assert f"record {record}" in text
        assert f"field {field!r}" in text
        assert reason in text
        (p,) = info.value.problems
        assert p["field"] == field

    def test_missing_required_column(self) -> None:
        with pytest.raises(ValidationError, match="field 'status': required column is missing"):
            validate_components(records().drop(columns="status"), PROFILE)

    def test_unknown_column(self) -> None:
        with pytest.raises(ValidationError, match="colour"):
            validate_components(records(colour=["red"] * 5), PROFILE)

    def test_geometry_outside_district(self) -> None:
        district = shapely.box(X0 - 0.01, Y0 - 0.01, X0 + 0.003, Y0 + 0.01)
        with pytest.raises(ValidationError) as info:
            validate_components(records(), PROFILE, district=district)
        (p,) = info.value.problems
        assert (p["record"], p["field"]) == ("s4 (row 3)", "geometry")
        assert "outside the district" in p["reason"]

    def test_district_in_another_crs(self) -> None:
        box = gpd.GeoSeries([shapely.box(X0 - 0.01, Y0 - 0.01, X0 + 0.01, Y0 + 0.01)], crs=4326)
        out = validate_components(records(), PROFILE, district=box.to_crs(32651))
        assert len(out) == 5

    def test_polygon_and_missing_geometry(self) -> None:
        frame = records()
        frame.loc[0, "geometry"] = shapely.box(X0, Y0, X0 + 0.001, Y0 + 0.001)
        frame.loc[1, "geometry"] = None
        with pytest.raises(ValidationError) as info:
            validate_components(frame, PROFILE)
        reasons = {p["row"]: p["reason"] for p in info.value.problems}
        assert "Point/LineString" in reasons[0]
        assert "missing" in reasons[1]

    def test_needs_crs(self) -> None:
        with pytest.raises(ValidationError, match="no CRS"):
            validate_components(records().set_crs(None, allow_override=True), PROFILE)

    def test_extension_not_in_standard(self) -> None:
        with pytest.raises(ValidationError, match="unknown subclass in profile 'standard'"):
            validate_components(records(), standard_profile())

    def test_all_problems_listed(self) -> None:
        with pytest.raises(ValidationError) as info:
            validate_components(
                records(status=["坏"] * 5, subclass_code=["0101", "9999", "0118", "0113", "2114"]),
                PROFILE,
            )
        assert len(info.value.problems) == 6


class TestWrite:
    def test_insert_allocates_ids(self, store: Any) -> None:
        res = load_components(store, records(), PROFILE, admin_code=COUNTY, at=T0)
        assert (res.inserted, res.updated, res.unchanged) == (5, 0, 0)
        got = find_components(store)
        assert ids(got) == [
            "3205080101000001",
            "3205080101000002",
            "3205080113000001",
            "3205080118000001",
            "3205082114000001",
        ]
        row = got.set_index("source").loc["s2"]
        assert row["extra"] == {"材质": "铸铁"}
        assert row["component_id"] == "3205080101000002"
        assert got.set_index("source").loc["s5"].geometry.geom_type == "LineString"

    def test_rerun_is_idempotent(self, store: Any) -> None:
        load_components(store, records(), PROFILE, admin_code=COUNTY, at=T0)
        res = load_components(store, records(), PROFILE, admin_code=COUNTY, at=T0 + DAY)
        assert (res.inserted, res.updated, res.unchanged) == (0, 0, 5)
        assert store.count("component") == 5

    def test_update_keeps_history_and_as_of(self, store: Any) -> None:
        load_components(store, records(), PROFILE, admin_code=COUNTY, at=T0)
        changed = records(status=["破损", "完好", "完好", "破损", "完好"])
        res = load_components(store, changed, PROFILE, admin_code=COUNTY, at=T0 + 2 * DAY)
        assert (res.inserted, res.updated, res.unchanged) == (0, 1, 4)
        hist = component_history(store, "3205080101000001")
        assert list(hist["status"]) == ["完好", "破损"]
        assert hist["valid_to"].iloc[0] == hist["valid_from"].iloc[1]
        assert hist["valid_from"].iloc[1] == T0 + 2 * DAY
        before = find_components(store, as_of=T0 + DAY).set_index("component_id")
        after = find_components(store).set_index("component_id")
        assert before.loc["3205080101000001", "status"] == "完好"
        assert after.loc["3205080101000001", "status"] == "破损"
        assert find_components(store, as_of=T0 - DAY).empty

    def test_retire(self, store: Any) -> None:
        load_components(store, records(), PROFILE, admin_code=COUNTY, at=T0)
        assert retire_components(store, ["3205080113000001", "3205089999999999"], at=T0 + DAY) == 1
        assert "3205080113000001" not in ids(find_components(store))
        assert "3205080113000001" in ids(find_components(store, as_of=T0 + DAY / 2))

    def test_bad_input_writes_nothing(self, store: Any) -> None:
        load_components(store, records(), PROFILE, admin_code=COUNTY, at=T0)
        bad = records(subclass_code=["0101", "0101", "0118", "0113", "2199"])
        for mode in ("upsert", "append"):
            with pytest.raises(
                ValidationError,
                match=(
                    r"row 4: field 'subclass_code'.*"
                    r"\(record e \(row 4\)\)"
                ),
            ):
                load_components(
                    store, bad.assign(source=list("abcde")), PROFILE, admin_code=COUNTY, mode=mode
                )
        assert store.count("component") == 5
        assert store.read("component_serial")["last_serial"].max() == 2

    def test_bad_json_extra(self, store: Any) -> None:
        frame = records(extra=[None, "{bad", None, None, None])
        for mode in ("append", "upsert"):
            with pytest.raises(
                ValidationError,
                match=(
                    r"row 1: field 'extra'.*"
                    r"\(record s2 \(row 1\)\)"
                ),
            ):
                load_components(store, frame, PROFILE, admin_code=COUNTY, mode=mode)
        assert store.count("component") == 0

    def test_bulk_load_names_the_bad_record(self, store: Any) -> None:
        """A load big enough for the bulk path (indexes rebuilt, COPY FREEZE on PostGIS)."""
        n = 25_000
        i = np.arange(n)
        frame = gpd.GeoDataFrame(
            {
                "subclass_code": np.where(i % 2 == 0, "0101", "0118"),
                "status": "完好",
                "data_source": "实测",
                "source": [f"b{k}" for k in range(n)],
                "extra": [f'{{"k": {k}}}' for k in range(n)],
            },
            geometry=shapely.points(X0 + (i % 200) * 1e-5, Y0 + (i // 200) * 1e-5),
            crs="EPSG:4326",
        )
        bad = frame.copy()
        bad.loc[20_001, "extra"] = "{bad"
        with pytest.raises(
            ValidationError,
            match=(
                r"row 20001: field 'extra'.*"
                r"\(record b20001 \(row 20001\)\)"
            ),
        ):
            load_components(store, bad, PROFILE, admin_code=COUNTY, mode="append")
        assert store.count("component") == 0
        res = load_components(store, frame, PROFILE, admin_code=COUNTY, at=T0)
        assert res.inserted == n
        got = find_components(store, subclass_codes="0118")
        assert len(got) == n // 2 and got["extra"].iloc[0] == {"k": 1}
        again = load_components(store, frame, PROFILE, admin_code=COUNTY, at=T0 + DAY)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, n)

    def test_append_matches_upsert_representation(self, store: Any) -> None:
        frame = records(original_date=["2020-05-01", None, None, None, None])
        res = load_components(store, frame, PROFILE, admin_code=COUNTY, mode="append", at=T0)
        assert res.inserted == 5
        # The bulk path stores exactly what the row path would: a re-upsert is a no-op.
        res = load_components(store, frame, PROFILE, admin_code=COUNTY, at=T0 + DAY)
        assert (res.inserted, res.updated, res.unchanged) == (0, 0, 5)
        got = find_components(store).set_index("source")
        assert got.loc["s1", "original_date"] == dt.date(2020, 5, 1)
        assert got.loc["s2", "extra"] == {"材质": "铸铁"}

    def test_explicit_ids_move_the_counter(self, store: Any) -> None:
        first = records(component_id=["3205080101000050", None, None, None, None])
        load_components(store, first, PROFILE, admin_code=COUNTY, at=T0)
        got = find_components(store).set_index("source")
        assert got.loc["s1", "component_id"] == "3205080101000050"
        assert got.loc["s2", "component_id"] == "3205080101000051"

    def test_reprojected_input(self, store: Any) -> None:
        load_components(store, records().to_crs(32651), PROFILE, admin_code=COUNTY, at=T0)
        got = find_components(store).set_index("source")
        assert got.crs.to_epsg() == 4326
        assert got.loc["s1"].geometry.x == pytest.approx(X0, abs=1e-9)


class TestSerials:
    def test_consecutive(self, store: Any) -> None:
        assert allocate_serials(store, "320508", "0101", 3, profile=PROFILE) == range(1, 4)
        assert allocate_serials(store, "320508", "0101", 2, profile=PROFILE) == range(4, 6)
        assert allocate_serials(store, "320508", "0102", 1, profile=PROFILE) == range(1, 2)
        assert allocate_serials(store, "320582", "0101", 1, profile=PROFILE) == range(1, 2)

    def test_unknown_subclass(self, store: Any) -> None:
        with pytest.raises(ComponentIdError, match="2199"):
            allocate_serials(store, "320508", "2199", 1, profile=PROFILE)

    def test_exhausted(self, store: Any) -> None:
        allocate_serials(store, "320508", "0101", 999_990, profile=PROFILE)
        with pytest.raises(ComponentIdError, match="exhausted"):
            allocate_serials(store, "320508", "0101", 10, profile=PROFILE)

    def test_parallel_writers_never_collide(self, store: Any) -> None:
        """Four writers, each on its own connection, add 25 lamps at once."""
        target = store.target if store.kind == "gpkg" else store.connection.info.dsn
        if store.kind == "postgis":
            target = _full_dsn(store)
        errors: list[BaseException] = []
        barrier = threading.Barrier(4)

        def writer(w: int) -> None:
            try:
                with urbangrid.connect(target) as s:
                    frame = gpd.GeoDataFrame(
                        {
                            "subclass_code": ["0118"] * 25,
                            "status": ["完好"] * 25,
                            "data_source": ["实测"] * 25,
                            "source": [f"w{w}-{i}" for i in range(25)],
                        },
                        geometry=[shapely.Point(X0 + w * 0.001, Y0 + i * 1e-4) for i in range(25)],
                        crs="EPSG:4326",
                    )
                    barrier.wait(timeout=30)
                    for part in range(5):  # several transactions per writer interleave
                        load_components(
                            s,
                            frame.iloc[part * 5 : part * 5 + 5],
                            PROFILE,
                            admin_code=COUNTY,
                            mode="append",
                        )
            except BaseException as exc:  # re-raised in the main thread
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        got = find_components(store, subclass_codes="0118")
        assert len(got) == 100
        serials = sorted(int(c[-6:]) for c in got["component_id"])
        assert serials == list(range(1, 101))


def _full_dsn(store: Any) -> str:
    info = store.connection.info
    params = info.get_parameters()
    password = info.password or ""
    return (
        f"postgresql://{params.get('user', '')}:{password}@{params.get('host', 'localhost')}:"
        f"{params.get('port', '5432')}/{params['dbname']}"
    )


class TestQueries:
    @pytest.fixture
    def loaded(self, store: Any) -> Any:
        load_components(store, records(), PROFILE, admin_code=COUNTY, at=T0)
        return store

    def test_by_grid(self, loaded: Any) -> None:
        assert ids(find_components(loaded, grid_codes="320508001001002")) == [
            "3205080113000001",
            "3205080118000001",
        ]

    def test_by_subclass_class_owner(self, loaded: Any) -> None:
        assert len(find_components(loaded, subclass_codes=["0101", "0113"])) == 3
        assert ids(find_components(loaded, class_codes="21")) == ["3205082114000001"]
        assert ids(find_components(loaded, owner="供水公司")) == [
            "3205080101000001",
            "3205080101000002",
        ]
        assert find_components(loaded, owner="nobody").empty

    def test_by_bbox(self, loaded: Any) -> None:
        box = (X0 + 0.0005, Y0 - 0.0005, X0 + 0.0025, Y0 + 0.0015)
        assert ids(find_components(loaded, bbox=box)) == ["3205080101000002", "3205080118000001"]

    def test_by_polygon(self, loaded: Any) -> None:
        # A triangle whose bbox holds the lamp and cover 2, but whose area holds only cover 2.
        tri = shapely.Polygon(
            [(X0 + 0.0005, Y0 - 0.0005), (X0 + 0.003, Y0 - 0.0005), (X0 + 0.0005, Y0 + 0.0015)]
        )
        assert ids(find_components(loaded, polygon=tri)) == ["3205080101000002"]
        # The line crosses the polygon without a vertex inside it.
        band = shapely.box(X0 - 0.0001, Y0 + 0.0015, X0 + 0.0001, Y0 + 0.0025)
        assert ids(find_components(loaded, polygon=band)) == ["3205082114000001"]

    def test_filters_combine(self, loaded: Any) -> None:
        box = (X0 - 0.01, Y0 - 0.01, X0 + 0.01, Y0 + 0.01)
        got = find_components(loaded, bbox=box, subclass_codes="0101", owner="供水公司")
        assert len(got) == 2

    def test_knn_points(self, loaded: Any) -> None:
        x, y = X0 + 0.0012, Y0 + 0.0001
        got = nearest_components(loaded, x, y, k=3, subclass_codes=["0101", "0113", "0118"])
        expected = sorted(
            (GEOD.inv(x, y, px, py)[2], cid)
            for cid, px, py in [
                ("3205080101000001", X0, Y0),
                ("3205080101000002", X0 + 0.001, Y0),
                ("3205080118000001", X0 + 0.002, Y0 + 0.001),
                ("3205080113000001", X0 + 0.004, Y0),
            ]
        )[:3]
        assert list(got["component_id"]) == [cid for _, cid in expected]
        np.testing.assert_allclose(got["distance_m"], [d for d, _ in expected], rtol=1e-6)

    def test_knn_of_a_subclass(self, loaded: Any) -> None:
        got = nearest_components(loaded, X0 + 0.0039, Y0, k=5, subclass_codes="0101")
        assert list(got["component_id"]) == ["3205080101000002", "3205080101000001"]

    def test_knn_line(self, loaded: Any) -> None:
        got = nearest_components(loaded, X0, Y0 + 0.0025, k=1)
        assert list(got["component_id"]) == ["3205082114000001"]
        assert got["distance_m"].iloc[0] == pytest.approx(
            GEOD.inv(X0, Y0 + 0.0025, X0, Y0 + 0.002)[2], rel=1e-4
        )

    def test_knn_metres_not_degrees(self, store: Any) -> None:
        # At 60°N a degree of longitude is half a degree of latitude in metres: the
        # point 0.0015° east is nearer than the one 0.001° north.
        frame = gpd.GeoDataFrame(
            {
                "subclass_code": ["0118", "0118"],
                "status": ["完好"] * 2,
                "data_source": ["实测"] * 2,
            },
            geometry=[shapely.Point(24.9415, 60.1700), shapely.Point(24.94, 60.1710)],
            crs="EPSG:4326",
        )
        load_components(store, frame, PROFILE, admin_code=COUNTY, at=T0)
        got = nearest_components(store, 24.94, 60.17, k=1)
        assert got["component_id"].iloc[0] == "3205080118000001"

    def test_knn_crs_argument(self, loaded: Any) -> None:
        x, y = pyproj.Transformer.from_crs(4326, 32651, always_xy=True).transform(X0, Y0)
        got = nearest_components(loaded, x, y, k=1, crs="EPSG:32651")
        assert got["component_id"].iloc[0] == "3205080101000001"
        assert got["distance_m"].iloc[0] == pytest.approx(0, abs=1e-3)

    @pytest.mark.parametrize(("crs", "to"), [("GCJ-02", wgs84_to_gcj02), ("BD-09", wgs84_to_bd09)])
    def test_knn_in_gcj02_and_bd09(self, loaded: Any, crs: str, to: Any) -> None:
        # Issue 22: the CRS locate and reverse_geocode accept, not a pyproj CRSError.
        gx, gy = to([X0 + 0.001], [Y0])
        got = nearest_components(loaded, float(gx[0]), float(gy[0]), k=2, crs=crs)
        assert list(got["component_id"]) == ["3205080101000002", "3205080101000001"]
        assert got["distance_m"].iloc[0] == pytest.approx(0, abs=0.01)

    def test_knn_matches_brute_force_in_a_crowd(self, store: Any) -> None:
        # 400 points and 40 diagonal lines in 0.02°: the boxes the store narrows
        # must still hold the k nearest in metres, whatever the planar order.
        rng = np.random.default_rng(22)
        pts = [shapely.Point(X0 + dx, Y0 + dy) for dx, dy in rng.uniform(0, 0.02, (400, 2))]
        lines = [
            shapely.LineString([(X0 + a, Y0 + b), (X0 + a + 0.004, Y0 + b + 0.003)])
            for a, b in rng.uniform(0, 0.02, (40, 2))
        ]
        n = len(pts) + len(lines)
        frame = gpd.GeoDataFrame(
            {
                "subclass_code": ["0118"] * len(pts) + ["2114"] * len(lines),
                "status": ["完好"] * n,
                "data_source": ["实测"] * n,
            },
            geometry=pts + lines,
            crs="EPSG:4326",
        )
        load_components(store, frame, PROFILE, admin_code=COUNTY, at=T0)
        every = find_components(store)
        for x, y in rng.uniform(-0.002, 0.022, (8, 2)):
            qx, qy = X0 + x, Y0 + y
            got = nearest_components(store, qx, qy, k=4)
            aeqd = pyproj.Transformer.from_crs(
                4326, f"+proj=aeqd +lat_0={qy} +lon_0={qx} +datum=WGS84", always_xy=True
            )
            moved = shapely.transform(
                every.geometry.values, lambda xy, t=aeqd: np.column_stack(t.transform(*xy.T))
            )
            d = np.sort(shapely.distance(moved, shapely.Point(0, 0)))[:4]
            np.testing.assert_allclose(got["distance_m"], d, rtol=1e-9, atol=1e-6)
        lone = nearest_components(store, X0, Y0, k=3, subclass_codes="2114")
        assert set(lone["subclass_code"]) == {"2114"}

    def test_knn_as_of_and_empty(self, loaded: Any) -> None:
        retire_components(loaded, ["3205080101000001"], at=T0 + DAY)
        now = nearest_components(loaded, X0, Y0, k=1, subclass_codes="0101")
        then = nearest_components(loaded, X0, Y0, k=1, subclass_codes="0101", as_of=T0 + DAY / 2)
        assert now["component_id"].iloc[0] == "3205080101000002"
        assert then["component_id"].iloc[0] == "3205080101000001"
        assert nearest_components(loaded, X0, Y0, k=2, subclass_codes="0601").empty


def grids() -> gpd.GeoDataFrame:
    """Three 100 m unit grids (UTM 51N) around the hand-made components; 2 communities."""
    t = pyproj.Transformer.from_crs(4326, 32651, always_xy=True)
    x, y = t.transform(X0 - 0.0001, Y0 - 0.0001)
    x, y = round(x), round(y)
    boxes = [shapely.box(x + i * 100, y, x + (i + 1) * 100, y + 100) for i in range(3)]
    return gpd.GeoDataFrame(
        {
            "grid_code": ["320508001001001", "320508001001002", "320508001002001"],
            "work_grid": ["W1", "W1", "W2"],
            "community": ["320508001001", "320508001001", "320508001002"],
        },
        geometry=boxes,
        crs="EPSG:32651",
    )


class TestStats:
    @pytest.fixture
    def loaded(self, store: Any) -> Any:
        load_components(store, records(), PROFILE, admin_code=COUNTY, at=T0)
        return store

    def test_by_class(self, loaded: Any) -> None:
        out = component_stats(loaded, profile=PROFILE)
        assert list(out["class_code"]) == ["01", "02", "03", "04", "05", "06", "21"]
        assert list(out["count"]) == [4, 0, 0, 0, 0, 0, 1]
        assert out.loc[0, "class_name"] == "公用设施类"
        assert out["share"].tolist() == [0.8, 0, 0, 0, 0, 0, 0.2]

    def test_by_subclass(self, loaded: Any) -> None:
        out = component_stats(loaded, by="subclass", profile=PROFILE)
        assert len(out) == 121
        got = out[out["count"] > 0].set_index("subclass_code")["count"].to_dict()
        assert got == {"0101": 2, "0113": 1, "0118": 1, "2114": 1}
        assert out.set_index("subclass_code").loc["0113", "name"] == "消防设施"

    def test_by_grid(self, loaded: Any) -> None:
        out = component_stats(loaded, by="grid", profile=PROFILE, grids=grids())
        assert list(out["grid_code"]) == ["320508001001001", "320508001001002", "320508001002001"]
        assert out["area_km2"].tolist() == pytest.approx([0.01, 0.01, 0.01])
        # Stored grid codes count as given; the metro line (no grid code) is not in any grid.
        assert out["count"].tolist() == [2, 2, 0]
        assert out["density_per_km2"].tolist() == pytest.approx([200, 200, 0])
        assert out["n_01"].tolist() == [2, 2, 0]
        assert out["n_21"].tolist() == [0, 0, 0]

    def test_located_by_geometry(self, store: Any) -> None:
        load_components(store, records(grid_code=[None] * 5), PROFILE, admin_code=COUNTY, at=T0)
        out = component_stats(store, by="grid", grids=grids()).set_index("grid_code")
        # Cover 1 lies 10 m into the first grid, cover 2 5 m into the second; the lamp
        # (117 m north), the hydrant (391 m east) and the metro line lie outside all three.
        assert out["count"].to_dict() == {
            "320508001001001": 1,
            "320508001001002": 1,
            "320508001002001": 0,
        }

    def test_by_work_grid_and_community(self, loaded: Any) -> None:
        wg = component_stats(loaded, by="work_grid", profile=PROFILE, grids=grids())
        assert wg[["work_grid", "count"]].values.tolist() == [["W1", 4], ["W2", 0]]
        assert wg["area_km2"].tolist() == pytest.approx([0.02, 0.01])
        assert wg["density_per_km2"].tolist() == pytest.approx([200, 0])
        cm = component_stats(loaded, by="community", profile=PROFILE, grids=grids())
        assert cm[["community", "count"]].values.tolist() == [
            ["320508001001", 4],
            ["320508001002", 0],
        ]

    def test_class_density_with_grids(self, loaded: Any) -> None:
        out = component_stats(loaded, profile=PROFILE, grids=grids())
        assert out.loc[0, "density_per_km2"] == pytest.approx(4 / 0.03)

    def test_as_of(self, loaded: Any) -> None:
        retire_components(loaded, ["3205082114000001"], at=T0 + DAY)
        assert component_stats(loaded, profile=PROFILE)["count"].sum() == 4
        assert component_stats(loaded, profile=PROFILE, as_of=T0 + DAY / 2)["count"].sum() == 5

    def test_grid_grouping_needs_grids(self, loaded: Any) -> None:
        with pytest.raises(ValueError, match="needs grids"):
            component_stats(loaded, by="grid")


def _index_names(store: Any) -> list[str]:
    if store.kind == "postgis":
        query = (
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'urbangrid' "
            "AND tablename = 'component'"
        )
    else:
        query = (
            "SELECT type || ':' || name FROM sqlite_master "
            "WHERE tbl_name = 'component' AND type IN ('index', 'trigger')"
        )
    return sorted(r[0] for r in store.connection.execute(query).fetchall())


class TestBulk:
    """A big append into an empty layer rebuilds its indexes in the same transaction."""

    @staticmethod
    def big(n: int) -> gpd.GeoDataFrame:
        rng = np.random.default_rng(4)
        xs = X0 + rng.uniform(0, 0.05, n)
        ys = Y0 + rng.uniform(0, 0.05, n)
        return gpd.GeoDataFrame(
            {
                "subclass_code": np.where(np.arange(n) % 2 == 0, "0118", "0101"),
                "status": "完好",
                "data_source": "实测",
                "source": [f"b{i}" for i in range(n)],
                "extra": [None] * n,
            },
            geometry=shapely.points(xs, ys),
            crs="EPSG:4326",
        )

    def test_indexes_rebuilt(self, store: Any) -> None:
        before = _index_names(store)
        frame = self.big(25_000)
        res = load_components(store, frame, PROFILE, admin_code=COUNTY, mode="append", at=T0)
        assert res.inserted == 25_000
        assert _index_names(store) == before
        assert store.count("component") == 25_000
        # The spatial index answers for every row, and keeps answering after a new write.
        box = (X0, Y0, X0 + 0.01, Y0 + 0.01)
        inside = frame.cx[X0 : X0 + 0.01, Y0 : Y0 + 0.01]
        assert len(find_components(store, bbox=box)) == len(inside)
        load_components(store, records(), PROFILE, admin_code=COUNTY, at=T0 + DAY)
        assert len(find_components(store, bbox=box)) == len(inside) + 5
        got = nearest_components(store, X0, Y0, k=3, subclass_codes="0118")
        assert len(got) == 3

    def test_failure_keeps_indexes(self, store: Any) -> None:
        frame = self.big(25_000)
        frame.loc[24_000, "extra"] = "{not json"
        before = _index_names(store)
        with pytest.raises(
            ValidationError,
            match=(
                r"row 24000: field 'extra'.*"
                r"\(record b24000 \(row 24000\)\)"
            ),
        ):
            load_components(store, frame, PROFILE, admin_code=COUNTY, mode="append", at=T0)
        assert _index_names(store) == before
        assert store.count("component") == 0


class TestFileInBatches:
    """`append_component_file`: a file loaded batch by batch is one all-or-nothing load."""

    @staticmethod
    def file(tmp_path: Any, frame: gpd.GeoDataFrame) -> Any:
        path = tmp_path / "components.fgb"
        # No spatial index: it would sort the features, and rows are counted in file order.
        frame.to_file(path, driver="FlatGeobuf", engine="pyogrio", SPATIAL_INDEX="NO")
        return path

    def test_loads_every_batch(self, store: Any, tmp_path: Any) -> None:
        before = _index_names(store)
        frame = TestBulk.big(25_000)
        res = append_component_file(
            store, self.file(tmp_path, frame), PROFILE, admin_code=COUNTY, at=T0, batch_rows=4_000
        )
        assert res.inserted == 25_000
        assert store.count("component") == 25_000
        assert _index_names(store) == before
        got = find_components(store)
        # Serials run on across batches: 1..12,500 per subclass, each once.
        for sub in ("0118", "0101"):
            serials = sorted(int(c[-6:]) for c in got["component_id"] if c[6:10] == sub)
            assert serials == list(range(1, 12_501))
        by_source = dict(zip(got["source"], got["component_id"], strict=True))
        assert by_source["b0"] == "3205080118000001"
        assert by_source["b24999"] == "3205080101012500"
        box = (X0, Y0, X0 + 0.01, Y0 + 0.01)
        assert len(find_components(store, bbox=box)) == len(
            frame.cx[X0 : X0 + 0.01, Y0 : Y0 + 0.01]
        )

    def test_bad_records_in_several_batches(self, store: Any, tmp_path: Any) -> None:
        frame = TestBulk.big(25_000)
        frame.loc[[10, 21_000], "status"] = "gone"
        before = _index_names(store)
        with pytest.raises(ValidationError) as info:
            append_component_file(
                store, self.file(tmp_path, frame), PROFILE, admin_code=COUNTY, batch_rows=4_000
            )
        bad = sorted((p["row"], p["field"], p["value"]) for p in info.value.problems)
        assert bad == [(10, "status", "gone"), (21_000, "status", "gone")]
        assert "record b21000 (row 21000)" in str(info.value)
        assert store.count("component") == 0
        assert _index_names(store) == before

    def test_bad_json_before_and_after_a_bad_record(self, store: Any, tmp_path: Any) -> None:
        # Batch 0 is sent before batch 5 fails; batch 6 is only checked: all three named.
        frame = TestBulk.big(25_000)
        frame["extra"] = frame["extra"].astype(object)
        frame.loc[[1_000, 24_000], "extra"] = "{not json"
        frame.loc[21_000, "status"] = "gone"
        before = _index_names(store)
        with pytest.raises(ValidationError) as info:
            append_component_file(
                store, self.file(tmp_path, frame), PROFILE, admin_code=COUNTY, batch_rows=4_000
            )
        bad = sorted((p["row"], p["field"]) for p in info.value.problems)
        assert bad == [(1_000, "extra"), (21_000, "status"), (24_000, "extra")]
        assert "record b21000 (row 21000)" in str(info.value)
        assert store.count("component") == 0
        assert _index_names(store) == before

    def test_geometries_stored_as_read(self, store: Any, tmp_path: Any) -> None:
        # The file's own WKB is written (not decoded and written anew): points and lines.
        frame = TestBulk.big(25_000)
        geoms = np.asarray(frame.geometry.values, dtype=object)
        geoms[7] = shapely.LineString([(X0, Y0), (X0 + 0.001, Y0 + 0.002), (X0 + 0.003, Y0)])
        geoms[4_005] = shapely.LineString([(X0, Y0), (X0 + 0.001, Y0 + 0.001)])
        frame = frame.set_geometry(gpd.GeoSeries(geoms, crs="EPSG:4326"))
        append_component_file(
            store, self.file(tmp_path, frame), PROFILE, admin_code=COUNTY, batch_rows=4_000
        )
        got = find_components(store).set_index("source").geometry
        want = frame.set_index("source").geometry
        assert shapely.equals_exact(
            np.asarray(got.loc[want.index].values), np.asarray(want.values), tolerance=0
        ).all()
        assert got.loc["b4005"].geom_type == "LineString"

    def test_value_the_store_refuses(self, store: Any, tmp_path: Any) -> None:
        frame = TestBulk.big(25_000)
        frame["extra"] = frame["extra"].astype(object)
        frame.loc[[5_000, 24_000], "extra"] = "{not json"
        with pytest.raises(ValidationError) as info:
            append_component_file(
                store, self.file(tmp_path, frame), PROFILE, admin_code=COUNTY, batch_rows=4_000
            )
        rows = sorted((p["row"], p["field"]) for p in info.value.problems)
        assert rows == [(5_000, "extra"), (24_000, "extra")]
        assert store.count("component") == 0


def _district(store: Any, *codes: str) -> None:
    """District-level admin areas `codes`, side by side around the hand-made components."""
    boxes = [shapely.box(X0 - 0.01 + i, Y0 - 0.01, X0 + 0.01 + i, Y0 + 0.01) for i in range(3)]
    store.write(
        "admin_area",
        gpd.GeoDataFrame(
            {"code": list(codes), "level": "district", "name": [f"区{c}" for c in codes]},
            geometry=boxes[: len(codes)],
            crs="EPSG:4326",
        ),
    )


class TestCountyOfNewIds:
    """The library's rule is the CLI's (issue 19): the county asked for, else the store's
    district's only county, else an error saying what to pass; never the profile's."""

    def test_no_district_and_no_admin_code_says_what_to_pass(self, store: Any) -> None:
        with pytest.raises(ComponentIdError, match=r"pass --admin-code \(admin_code=\)"):
            load_components(store, records(grid_code=[None] * 5), PROFILE, at=T0)
        assert store.count("component") == 0
        assert store.is_empty("component_serial")

    def test_the_districts_county_not_the_profiles(self, store: Any) -> None:
        _district(store, "110108")  # a Beijing store; PROFILE names Suzhou's 320508
        load_components(store, records(grid_code=[None] * 5), PROFILE, at=T0)
        assert {c[:6] for c in find_components(store)["component_id"]} == {"110108"}

    def test_admin_code_outside_the_district(self, store: Any) -> None:
        _district(store, "110108", "110105")
        with pytest.raises(ComponentIdError, match="not a county of the store's district"):
            load_components(store, records(grid_code=[None] * 5), PROFILE, admin_code=COUNTY)
        with pytest.raises(ComponentIdError, match="holds counties 110105, 110108"):
            load_components(store, records(grid_code=[None] * 5), PROFILE)
        load_components(store, records(grid_code=[None] * 5), PROFILE, admin_code="110105")
        assert store.count("component") == 5

    def test_ids_given_need_no_county(self, store: Any) -> None:
        given = ["1101080101000001", "1101080101000002", "1101080118000001", None, None]
        frame = records(grid_code=[None] * 5, component_id=given).iloc[:3]
        load_components(store, frame, PROFILE, at=T0)  # no district, no admin_code
        assert ids(find_components(store)) == given[:3]

    def test_bad_admin_code(self, store: Any) -> None:
        with pytest.raises(ComponentIdError, match="6 digits"):
            load_components(store, records(), PROFILE, admin_code="3205")


class TestStreamedRerun:
    def test_a_rerun_adds_nothing_and_an_overlap_only_the_new(
        self, store: Any, tmp_path: Any
    ) -> None:
        # Records whose source key (or ID) the layer holds are left out, counted
        # unchanged: two overlapping streamed loads never give one key two IDs.
        frame = records(grid_code=[None] * 5).drop(columns="extra")
        path = tmp_path / "c.fgb"
        frame.iloc[:3].to_file(path, driver="FlatGeobuf", engine="pyogrio")
        first = append_component_file(store, path, PROFILE, admin_code=COUNTY, at=T0)
        again = append_component_file(store, path, PROFILE, admin_code=COUNTY, at=T0 + DAY)
        assert (first.inserted, again.inserted, again.unchanged) == (3, 0, 3)
        frame.iloc[1:].to_file(path, driver="FlatGeobuf", engine="pyogrio")
        more = append_component_file(store, path, PROFILE, admin_code=COUNTY, at=T0 + DAY)
        assert (more.inserted, more.unchanged) == (2, 2)
        got = find_components(store)
        assert sorted(got["source"]) == ["s1", "s2", "s3", "s4", "s5"]
        assert got["component_id"].is_unique
        assert len(store.read("component", all_versions=True)) == 5

    def test_a_gbk_shapefile_without_cpg(self, store: Any, tmp_path: Any) -> None:
        # One line naming the file and what to do (was a bare UnicodeDecodeError). A
        # Shapefile cuts field names at 10 bytes (subclass_code → subclass_c): read
        # with its encoding, it is still refused, by column, for the CLI to map.
        frame = records(grid_code=[None] * 5).drop(columns="extra").iloc[:4]
        path = tmp_path / "c.shp"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the field names cut, as the test intends
            frame.to_file(path, engine="pyogrio", encoding="GBK")
        path.with_suffix(".cpg").unlink()
        with pytest.raises(DataFileError, match=r"c\.shp: text is not UTF-8 .*encoding="):
            append_component_file(store, path, PROFILE, admin_code=COUNTY)
        with pytest.raises(ValidationError, match="subclass_c"):
            append_component_file(store, path, PROFILE, admin_code=COUNTY, encoding="GBK")
        assert store.count("component") == 0
