"""OSM furniture and Cambridge assets → component records (loaders.osm_components)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from urbangrid.demo.inputs import load_demo_components
from urbangrid.errors import DataFileError
from urbangrid.loaders.osm_components import (
    BUNDLED_SOURCES,
    CAMBRIDGE_DATASETS,
    read_bundled_components,
    read_cambridge_components,
    read_osm_components,
    read_osm_mapping,
)
from urbangrid.spatial.components.codes import demo_profile, standard_profile
from urbangrid.spatial.components.records import find_components, validate_components

DEMO = demo_profile()


def feature(tags: dict[str, str], osm_id: int, lon: float = 116.3, lat: float = 40.0) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"osm_id": osm_id, "name": tags.get("name"), "tags": json.dumps(tags)},
    }


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


class TestMapping:
    def test_bundled(self) -> None:
        rules = read_osm_mapping()
        assert rules[0].key == "man_made" and rules[0].extra == ("manhole", "water")
        assert {r.subclass_code for r in rules if r.key == "highway" and r.value == "crossing"} == {
            None
        }
        # Every standard target is a real CJ/T 214 subclass; the rest are demo extensions.
        targets = {r.subclass_code for r in rules if r.subclass_code}
        assert targets <= set(DEMO.components)
        assert targets - set(standard_profile().components) == {
            "2106",
            "2114",
            "2133",
            "2138",
            "2139",
            "2140",
            "2145",
        }

    def test_bad_rows(self, tmp_path: Path) -> None:
        p = tmp_path / "m.csv"
        p.write_text("key,value,extra,subclass_code,note\nhighway,street_lamp,lit,0118,\n", "utf-8")
        with pytest.raises(DataFileError, match=r"m.csv line 2: field extra must be key=value"):
            read_osm_mapping(p)
        p.write_text("key,value,extra,subclass_code,note\nhighway,,,0118,\n", "utf-8")
        with pytest.raises(DataFileError, match="line 2: key and value are required"):
            read_osm_mapping(p)
        p.write_text("key,value\n", "utf-8")
        with pytest.raises(DataFileError, match="header"):
            read_osm_mapping(p)


class TestReadOSM:
    def test_rules_in_order(self, tmp_path: Path) -> None:
        path = write_geojson(
            tmp_path / "x.geojson",
            [
                feature({"man_made": "manhole", "manhole": "sewer"}, 1),
                feature({"man_made": "manhole"}, 2),
                feature({"highway": "bus_stop", "name": "五道口"}, 3),
                feature({"highway": "crossing"}, 4),
                feature({"amenity": "clock"}, 5),
                feature({"railway": "subway_entrance"}, 6),
            ],
        )
        frame, report = read_osm_components(path, profile=standard_profile())
        assert list(frame["subclass_code"]) == ["0102", "0114", "0203"]
        assert list(frame["source"]) == ["osm:node/1", "osm:node/2", "osm:node/3"]
        assert frame["extra"].iloc[2]["站名"] == "五道口"
        assert frame.crs.to_epsg() == 4326
        assert report.total == 6
        assert dict(report.skipped) == {"highway=crossing": 1}
        assert dict(report.unmapped) == {"amenity=clock": 1}
        assert dict(report.not_in_profile) == {"railway=subway_entrance → 2114": 1}
        assert "1 unmapped" in report.summary() and "amenity=clock 1" in report.summary()

    def test_bad_tags(self, tmp_path: Path) -> None:
        bad = feature({}, 1)
        bad["properties"]["tags"] = "{not json"
        with pytest.raises(DataFileError, match="feature 0: field tags"):
            read_osm_components(write_geojson(tmp_path / "b.geojson", [bad]), profile=DEMO)

    def test_not_geojson(self, tmp_path: Path) -> None:
        p = tmp_path / "n.geojson"
        p.write_text("[]", "utf-8")
        with pytest.raises(DataFileError, match="FeatureCollection"):
            read_osm_components(p, profile=DEMO)

    def test_china_counts(self) -> None:
        frame, report = read_osm_components(name="osm_china", profile=DEMO)
        assert (report.total, report.n_mapped, len(frame)) == (909, 570, 570)
        assert dict(report.skipped) == {
            "highway=crossing": 229,
            "public_transport=stop_position": 109,
        }
        assert dict(report.unmapped) == {"man_made=flagpole": 1}
        assert dict(report.mapped) == {
            "0210": 417,
            "0203": 98,
            "0118": 21,
            "0212": 8,
            "0301": 7,
            "0117": 6,
            "0125": 5,
            "0122": 3,
            "2114": 2,
            "0132": 1,
            "0123": 1,
            "0407": 1,
        }

    def test_china_standard_profile_reports_extensions(self) -> None:
        _, report = read_osm_components(name="osm_china", profile=standard_profile())
        assert report.n_mapped == 568
        assert dict(report.not_in_profile) == {"railway=subway_entrance → 2114": 2}

    def test_helsinki_counts(self) -> None:
        frame, report = read_osm_components(name="osm_helsinki", profile=DEMO)
        assert (report.total, report.n_mapped) == (2276, 1570)
        assert dict(report.unmapped) == {"man_made=flagpole": 63, "man_made=street_cabinet": 6}
        assert sum(report.skipped.values()) == 637
        assert report.mapped["0118"] == 585
        assert report.mapped["0136"] == 222
        assert report.mapped["0113"] == 37
        assert report.mapped["0202"] == 81  # parking-ticket machines before vending machines
        assert frame["source"].is_unique

    def test_haidian_part(self) -> None:
        _, report = read_osm_components(name="osm_haidian", profile=DEMO)
        assert (report.total, report.n_mapped) == (465, 282)

    def test_records_validate(self) -> None:
        frame, _ = read_osm_components(name="osm_helsinki", profile=DEMO)
        assert len(validate_components(frame, DEMO)) == 1570


class TestReadCambridge:
    @pytest.mark.parametrize(
        ("dataset", "code", "n", "types"),
        [
            ("street_lights", "0118", 6117, {"Point": 6117}),
            ("park_lights", "0120", 858, {"Point": 858}),
            ("hydrants", "0113", 1960, {"Point": 1960}),
            ("litter_barrels", "0305", 990, {"Point": 990}),
            ("park_benches", "0407", 3017, {"LineString": 3016, "Point": 1}),
            ("utility_poles", "0117", 2457, {"Point": 2457}),
            ("traffic_signals", "0210", 785, {"Point": 785}),
            ("bus_shelters", "0203", 68, {"Point": 68}),
        ],
    )
    def test_counts(self, dataset: str, code: str, n: int, types: dict[str, int]) -> None:
        frame, report = read_cambridge_components(dataset, profile=DEMO)
        assert (report.total, report.n_mapped, len(frame)) == (n, n, n)
        assert set(frame["subclass_code"]) == {code}
        assert frame.geom_type.value_counts().to_dict() == types
        assert frame["source"].is_unique

    def test_fields(self) -> None:
        frame, _ = read_cambridge_components("hydrants", profile=DEMO)
        row = frame.iloc[0]
        assert row["dept_name2"] == "PRIVATE HARVARD"
        assert str(row["original_date"]) == "1874-01-01"  # INSTALLDATE -3029443200000 ms
        assert row["extra"]["HYDRANT_ID"] == "PH6000"
        shelters, _ = read_cambridge_components("bus_shelters", profile=DEMO)
        assert int(shelters["name"].notna().sum()) == 51  # STOP_NAME is blank on 17 shelters

    def test_inside_city(self) -> None:
        import geopandas as gpd

        from urbangrid.loaders.osm_components import _data_file

        city = gpd.read_file("/vsigzip/" + str(_data_file("cambridge_city_boundary.geojson.gz")))
        frame, _ = read_cambridge_components("traffic_signals", profile=DEMO)
        inside = frame.geometry.within(city.union_all().buffer(0.002))
        assert int(inside.sum()) == len(frame)

    def test_unknown(self) -> None:
        with pytest.raises(ValueError, match="street_lights"):
            read_cambridge_components("manholes", profile=DEMO)


def test_bundled_overlap_rejected() -> None:
    with pytest.raises(ValueError, match="overlap"):
        read_bundled_components(DEMO, ("osm_china", "osm_haidian"))


def test_bundled_sources() -> None:
    assert len(BUNDLED_SOURCES) == 2 + len(CAMBRIDGE_DATASETS)


class TestLoadDemo:
    def test_subset_into_store(self, store: Any) -> None:
        sources = ("osm_china", "cambridge_traffic_signals", "cambridge_bus_shelters")
        counts = load_demo_components(store, sources=sources, admin_code="320508")
        assert counts == {
            "01 公用设施类": 37,  # lamps 21, poles 6, vending 5, phones 3, water 1, post 1
            "02 道路交通类": 1376,  # OSM 417 + 98 + 8; Cambridge 785 + 68
            "03 市容环境类": 7,
            "04 园林绿化类": 1,
            "05 房屋土地类": 0,
            "06 其他设施类": 0,
            "21 扩展部件类": 2,
            "unmapped": 1,
            "skipped": 338,
            "not_in_profile": 0,
        }
        assert store.count("component") == 570 + 785 + 68
        # A second run finds every record by its source key and changes nothing.
        again = load_demo_components(store, sources=sources, admin_code="320508")
        assert again == counts
        assert len(store.read("component", all_versions=True)) == 1423
        got = find_components(store, subclass_codes="0203")
        assert len(got) == 98 + 68
        assert got["component_id"].str.startswith("3205080203").all()

    def test_everything(self, store: Any) -> None:
        counts = load_demo_components(store, admin_code="320508")
        assert counts["01 公用设施类"] == 12384
        assert counts["02 道路交通类"] == 1744
        assert counts["03 市容环境类"] == 1067
        assert counts["04 园林绿化类"] == 3180
        assert counts["21 扩展部件类"] == 17
        assert store.count("component") == 18392
