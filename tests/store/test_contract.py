"""The store contract, run unchanged against GeoPackage and PostGIS."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from urbangrid.errors import StoreSchemaError, ValidationError
from urbangrid.store import Store

HAIDIAN = shapely.Polygon(
    [(116.2, 39.9), (116.4, 39.9), (116.4, 40.1), (116.2, 40.1)],
    holes=[[(116.30, 40.00), (116.31, 40.00), (116.31, 40.01), (116.30, 40.01)]],
)


def admin_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "code": ["110108", "110108017", "110108017001"],
            "level": ["district", "street", "community"],
            "name": ["海淀区", "学院路街道", "石油大院社区（东区）"],
            "parent_code": [None, "110108", "110108017"],
            "source": ["tianditu", "nbs-2023", "nbs-2023"],
        },
        geometry=[
            HAIDIAN,
            shapely.box(116.33, 39.99, 116.36, 40.01),
            shapely.MultiPolygon(
                [
                    shapely.box(116.34, 40.0, 116.345, 40.005),
                    shapely.box(116.35, 40.0, 116.355, 40.005),
                ]
            ),
        ],
        crs="EPSG:4326",
    )


def street_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "edge_id": ["1-2-0", "2-3-0"],
            "u": ["1", "2"],
            "v": ["2", "3"],
            "name": ["成府路", None],
            "highway": ["primary", "residential"],
            "oneway": [True, False],
            "length_m": [123.456789012345, 0.1],
            "source": ["osm", "osm"],
            "tags": [{"name:en": "Chengfu Road", "lanes": 4}, None],
        },
        geometry=[
            shapely.LineString([(116.3301, 39.9921), (116.3402, 39.9925)]),
            shapely.LineString([(116.3402, 39.9925), (116.3402, 39.9999), (116.35, 40.0)]),
        ],
        crs="EPSG:4326",
    )


class TestLayers:
    def test_foundation_layers_declared(self, store: Store) -> None:
        assert {"admin_area", "street_centreline"} <= set(store.layers())
        info = store.layer_info("admin_area")
        assert (info.key, info.geometry_type, info.srid, info.history) == (
            "code",
            "MULTIPOLYGON",
            4326,
            True,
        )
        assert info.crs == "EPSG:4326"
        assert info.required == {"code", "level", "name"}
        streets = store.layer_info("street_centreline")
        assert streets.columns == {
            "edge_id": "text",
            "u": "text",
            "v": "text",
            "name": "text",
            "highway": "text",
            "oneway": "boolean",
            "length_m": "float",
            "source": "text",
            "tags": "json",
        }
        assert store.schema_version() >= 1

    def test_unknown_layer_names_the_layers(self, store: Store) -> None:
        with pytest.raises(StoreSchemaError, match=r"no layer 'nope'.*admin_area"):
            store.layer_info("nope")


class TestRoundTrip:
    def test_geometry_and_chinese_text_round_trip(self, store: Store) -> None:
        frame = admin_frame()
        result = store.write("admin_area", frame)
        assert result.inserted == 3
        back = store.read("admin_area")
        assert back.crs.to_epsg() == 4326
        assert list(back["name"]) == ["海淀区", "学院路街道", "石油大院社区（东区）"]
        assert back["parent_code"].isna().tolist() == [True, False, False]
        # Polygons come back promoted to the layer's MultiPolygon, coordinates exact.
        for got, want in zip(back.geometry, frame.geometry, strict=True):
            assert got.geom_type == "MultiPolygon"
            assert shapely.equals_exact(
                got,
                shapely.MultiPolygon([want] if want.geom_type == "Polygon" else list(want.geoms)),
                tolerance=0,
            )
        assert len(back.geometry[0].geoms[0].interiors) == 1

    def test_attribute_types(self, store: Store) -> None:
        store.write("street_centreline", street_frame())
        back = store.read("street_centreline")
        assert back["oneway"].dtype == "boolean"
        assert back["length_m"].dtype == np.float64
        assert back["length_m"][0] == 123.456789012345  # full double precision
        assert back["tags"][0] == {"name:en": "Chengfu Road", "lanes": 4}
        assert back["tags"][1] is None
        assert pd.isna(back["name"][1])
        assert back.geometry[1].coords[:] == [
            (116.3402, 39.9925),
            (116.3402, 39.9999),
            (116.35, 40.0),
        ]

    def test_reprojects_to_layer_crs(self, store: Store) -> None:
        frame = street_frame().to_crs("EPSG:32650")  # UTM 50N, metres
        store.write("street_centreline", frame)
        back = store.read("street_centreline")
        a = np.array(back.geometry[0].coords)
        assert np.allclose(a, [(116.3301, 39.9921), (116.3402, 39.9925)], atol=1e-9)

    def test_where_bbox_columns(self, store: Store) -> None:
        store.write("admin_area", admin_frame())
        got = store.read("admin_area", where={"level": ["street", "community"]})
        assert sorted(got["code"]) == ["110108017", "110108017001"]
        got = store.read("admin_area", bbox=(116.351, 40.001, 116.352, 40.002), columns=["code"])
        assert list(got.columns) == ["code", "geometry"]
        assert sorted(got["code"]) == ["110108", "110108017", "110108017001"]
        # Inside the district's hole and the street's box only: not the district.
        got = store.read("admin_area", bbox=(116.3001, 40.0001, 116.3002, 40.0002))
        assert list(got["code"]) == []
        assert store.count("admin_area", where={"parent_code": "110108"}) == 1


class TestWriteModes:
    def test_append_twice_is_a_key_error_and_writes_nothing(self, store: Store) -> None:
        store.write("admin_area", admin_frame())
        with pytest.raises(StoreSchemaError, match="upsert"):
            store.write("admin_area", admin_frame())
        assert store.count("admin_area") == 3

    def test_upsert_is_idempotent_and_keeps_history(self, store: Store) -> None:
        t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        t1 = dt.datetime(2025, 6, 1, 12, 30, tzinfo=dt.UTC)
        frame = admin_frame()
        assert store.write("admin_area", frame, "upsert", at=t0).inserted == 3
        again = store.write("admin_area", frame, "upsert", at=t1)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
        frame.loc[2, "name"] = "石油大院社区"
        changed = store.write("admin_area", frame, "upsert", at=t1)
        assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 2)
        assert store.read("admin_area", where={"code": "110108017001"})["name"][0] == "石油大院社区"
        old = store.read(
            "admin_area",
            where={"code": "110108017001"},
            as_of=dt.datetime(2024, 12, 31, tzinfo=dt.UTC),
        )
        assert list(old["name"]) == ["石油大院社区（东区）"]
        every = store.read("admin_area", all_versions=True, where={"code": "110108017001"})
        assert len(every) == 2
        assert every["valid_to"].dropna().tolist() == [pd.Timestamp(t1)]

    def test_replace_retires_missing_keys(self, store: Store) -> None:
        store.write("admin_area", admin_frame(), "upsert")
        result = store.write("admin_area", admin_frame().iloc[:2], "replace")
        assert result.retired == 1
        assert store.count("admin_area") == 2
        assert len(store.read("admin_area", all_versions=True)) == 3

    def test_replace_plain_layer(self, store: Store) -> None:
        store.write("street_centreline", street_frame())
        store.write("street_centreline", street_frame().iloc[:1], "replace")
        assert store.count("street_centreline") == 1

    def test_transaction_rolls_back_everything(self, store: Store) -> None:
        with pytest.raises(RuntimeError), store.transaction():
            store.write("street_centreline", street_frame())
            raise RuntimeError("boom")
        assert store.count("street_centreline") == 0


class TestBadInput:
    def test_bad_rows_are_listed_and_nothing_is_written(self, store: Store) -> None:
        frame = admin_frame()
        frame.loc[1, "name"] = None
        frame.loc[2, "code"] = "110108"
        with pytest.raises(ValidationError) as err:
            store.write("admin_area", frame, source="survey.gpkg")
        problems = err.value.problems
        assert {(p["row"], p["field"]) for p in problems} == {(1, "name"), (2, "code")}
        assert all(p["file"] == "survey.gpkg" for p in problems)
        assert "survey.gpkg" in str(err.value) and "nothing was written" in str(err.value)
        assert store.count("admin_area") == 0

    def test_wrong_geometry_type(self, store: Store) -> None:
        frame = street_frame()
        frame.loc[1, "geometry"] = shapely.Point(116.3, 40.0)
        with pytest.raises(ValidationError, match=r"row 1: field 'geom' value 'POINT'"):
            store.write("street_centreline", frame)
        assert store.count("street_centreline") == 0

    def test_frame_without_crs(self, store: Store) -> None:
        frame = street_frame().set_crs(None, allow_override=True)
        with pytest.raises(StoreSchemaError, match="no CRS"):
            store.write("street_centreline", frame)

    def test_unknown_column(self, store: Store) -> None:
        frame = street_frame().assign(colour="red")
        with pytest.raises(StoreSchemaError, match="colour"):
            store.write("street_centreline", frame)
