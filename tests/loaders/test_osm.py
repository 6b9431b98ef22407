"""Reading street networks from the bundled real OSM extract."""

from __future__ import annotations

from pathlib import Path

import pytest

from urbangrid.data import data_path
from urbangrid.errors import DataFileError
from urbangrid.loaders.osm import STREET_HIGHWAYS, read_osm_graph, streets_frame

WUDAOKOU = data_path("osm/beijing_haidian_wudaokou.osm.bz2")


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
