"""Trunk roads by country (issue 20): OSM's worldwide default opens trunk/trunk_link to
bikes and pedestrians (US highways, Finnish valtatie), while in China they are the urban
expressways (城市快速路) walk, bike and e-bike leave out; and a city with another rule
gives its own mode file (``URBANGRID_MODES``)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from urbangrid.data import data_path
from urbangrid.errors import ModeProfileError
from urbangrid.loaders.osm import read_street_graph, read_streets
from urbangrid.routing.patrol.modes import MODES_ENV, get_mode, read_modes
from urbangrid.routing.patrol.streets import street_graph

#: A point in metres in each place: Beijing (UTM 50N) and Helsinki (UTM 35N).
PLACES = {"beijing": ("EPSG:32650", 440_000.0, 4_430_000.0),
          "helsinki": ("EPSG:32635", 385_000.0, 6_672_000.0)}


def _road(place: str, **trunk_tags: str) -> gpd.GeoDataFrame:
    """A 300 m trunk road joined at both ends to a primary road round a 100 m block."""
    crs, x, y = PLACES[place]
    lines = [("trunk", [(x, y), (x + 300, y)], trunk_tags),
             ("primary", [(x, y), (x, y + 100)], {}),
             ("primary", [(x, y + 100), (x + 300, y + 100)], {}),
             ("primary", [(x + 300, y + 100), (x + 300, y)], {})]
    return gpd.GeoDataFrame(
        [{"highway": hw, "name": hw, "tags": tags, "geometry": shapely.LineString(xy)}
         for hw, xy, tags in lines], geometry="geometry", crs=crs)


def _highways(G: object) -> set[str]:
    return {d["highway"] for *_, d in G.edges(data=True)}  # type: ignore[attr-defined]


def test_bundled_profiles_close_trunk_to_bikes_and_walkers_in_china_only() -> None:
    for name in ("walk", "bike", "ebike"):
        m = get_mode(name)
        assert {"trunk", "trunk_link"} <= m.travel and "trunk" in m.patrol
        cn = m.in_country("CN")
        assert not {"trunk", "trunk_link"} & (cn.travel | cn.patrol)
        assert m.in_country("FI") is m and m.in_country(None) is m
    car = get_mode("car")
    assert car.in_country("CN") is car and "trunk" in car.patrol


@pytest.mark.parametrize(("mode", "place", "country", "ridden"), [
    ("bike", "beijing", "auto", False), ("walk", "beijing", "auto", False),
    ("ebike", "beijing", "auto", False), ("car", "beijing", "auto", True),
    ("bike", "helsinki", "auto", True), ("walk", "helsinki", "auto", True),
    ("bike", "beijing", None, True),     # the caller says no country rule applies
    ("bike", "helsinki", "CN", False),   # or names the country
])
def test_trunk_is_ridden_where_the_country_allows(mode: str, place: str, country: str | None,
                                                  ridden: bool) -> None:
    G = street_graph(_road(place), mode, country=country)
    assert ("trunk" in _highways(G)) == ridden
    # the graph says whose rule applied and what it left out: 300 m of trunk
    assert G.graph["country"] == ("CN" if (place, country) in (("beijing", "auto"),
                                                                ("helsinki", "CN")) else "")
    assert G.graph["left_out_km"] == ({} if ridden else {"trunk": pytest.approx(0.3)})


@pytest.mark.parametrize("tags", [{"bicycle": "no"}, {"motorroad": "yes"},
                                  {"vehicle": "no"}, {"access": "no"}])
def test_a_trunk_road_tagged_closed_stays_closed_outside_china(tags: dict[str, str]) -> None:
    # a Finnish moottoriliikennetie (motorroad=yes) or a US highway signed no bicycles
    G = street_graph(_road("helsinki", **tags), "bike")
    assert "trunk" not in _highways(G)
    assert "primary" in _highways(G)


def test_a_mode_file_named_by_the_environment_replaces_the_bundled_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a Chinese city whose trunk roads admit bikes: a copy of modes.toml without closed_in
    bundled = Path(__file__).parents[2] / "urbangrid/routing/patrol/modes.toml"
    text = bundled.read_text(encoding="utf-8")
    assert text.count('closed_in = { CN = ["trunk", "trunk_link"] }') == 3
    own = tmp_path / "modes.toml"
    own.write_text(text.replace('closed_in = { CN = ["trunk", "trunk_link"] }', ""),
                   encoding="utf-8")
    assert "trunk" not in _highways(street_graph(_road("beijing"), "bike"))
    monkeypatch.setenv(MODES_ENV, str(own))
    assert "trunk" in _highways(street_graph(_road("beijing"), "bike"))
    assert read_modes()["bike"].closed_in == {}
    monkeypatch.setenv(MODES_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(ModeProfileError, match=rf"{MODES_ENV}=.*missing.toml: no such mode"):
        get_mode("bike")


@pytest.mark.parametrize(("value", "match"), [
    ('"CN"', r"field 'closed_in': must be a table"),
    ('{ China = ["trunk"] }', r"field 'closed_in.China': a country is its two-letter"),
    ('{ CN = "trunk" }', r"field 'closed_in.CN': must be a non-empty list"),
])
def test_closed_in_of_a_mode_file_is_checked(tmp_path: Path, value: str, match: str) -> None:
    f = tmp_path / "modes.toml"
    f.write_text('[x]\nlabel="x"\ntravel=["a"]\npatrol=["a"]\noneway="respect"\nuturn_s=1\n'
                 f"turn_s=1\nclosed_in={value}\n[x.speed_kmh]\ndefault=5\n", encoding="utf-8")
    with pytest.raises(ModeProfileError, match=rf"mode 'x', {match}"):
        read_modes(f)


def test_a_file_graph_counts_the_roads_it_leaves_out_as_a_store_graph_does() -> None:
    # Wudaokou's 京藏高速 (motorway): read_street_graph read only the bike's highways, so
    # left_out_km was {} from a file while the same streets in a store gave the motorway
    path = data_path("osm/beijing_haidian_wudaokou.osm.bz2")
    G = read_street_graph(path, "bike")
    every = read_streets(path)  # what `urbangrid load streets` puts in a store
    H = street_graph(every, "bike", source=path.name)
    assert G.graph["left_out_km"] == H.graph["left_out_km"]
    metric = every.to_crs(G.graph["crs"])
    motorway_km = metric.length[metric["highway"] == "motorway"].sum() / 1000
    assert motorway_km > 0.5
    assert G.graph["left_out_km"]["motorway"] == pytest.approx(motorway_km, abs=1e-3)


def test_route_command_takes_the_mode_file_of_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from urbangrid.cli.main import main

    streets = tmp_path / "streets.geojson"
    road = _road("beijing")
    road.assign(tags=None).to_crs(4326).to_file(streets)
    area = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(*road.total_bounds).buffer(20)],
                     crs=road.crs).to_crs(4326).to_file(area)
    args = ["route", str(streets), "--polygon", str(area), "--no-steps", "-q"]
    bundled = CliRunner().invoke(main, args)
    assert bundled.exit_code == 0, bundled.output
    assert "streets 0.50 km" in bundled.output  # the trunk road is not the bike's in China
    own = tmp_path / "modes.toml"
    text = (Path(__file__).parents[2] / "urbangrid/routing/patrol/modes.toml").read_text(
        encoding="utf-8")
    own.write_text(text.replace('closed_in = { CN = ["trunk", "trunk_link"] }', ""),
                   encoding="utf-8")
    monkeypatch.setenv(MODES_ENV, str(own))
    mine = CliRunner().invoke(main, args)
    assert mine.exit_code == 0, mine.output
    assert "streets 0.80 km" in mine.output


def test_route_says_how_much_of_the_area_the_mode_leaves_out(tmp_path: Path) -> None:
    # the 300 m trunk road runs along the block's south side; the area holds 200 m of it
    from click.testing import CliRunner

    from urbangrid.cli.main import main
    from urbangrid.cli.route import left_out_in_area

    road = _road("beijing")
    G = street_graph(road, "bike", crs=road.crs)
    _crs, x, y = PLACES["beijing"]
    assert set(G.graph["left_out"]) == {"trunk"}
    area = shapely.box(x + 50, y - 20, x + 250, y + 120)
    assert left_out_in_area(G, area) == {"trunk": pytest.approx(0.2)}
    assert left_out_in_area(street_graph(road, "car", crs=road.crs), area) == {}
    streets, poly = tmp_path / "streets.geojson", tmp_path / "area.geojson"
    road.assign(tags=None).to_crs(4326).to_file(streets)
    gpd.GeoDataFrame(geometry=[area], crs=road.crs).to_crs(4326).to_file(poly)
    res = CliRunner().invoke(main, ["route", str(streets), "--polygon", str(poly),
                                    "--no-steps", "-q"])
    assert res.exit_code == 0, res.output
    assert ("note: the bike mode does not patrol 0.20 km of trunk in this area: roads it "
            "may not use here") in res.output
    car = CliRunner().invoke(main, ["route", str(streets), "--polygon", str(poly), "--mode",
                                    "car", "--no-steps", "-q"])
    assert car.exit_code == 0, car.output
    assert "does not patrol" not in car.output


@pytest.mark.parametrize(("mode", "tags", "left"), [
    ("bike", {"motorroad": "yes"}, {"primary": 0.1}), ("walk", {"foot": "no"}, {"primary": 0.1}),
    ("car", {"motorroad": "yes"}, {}), ("bike", {"foot": "no"}, {}),
    ("bike", {"access": "private"}, {}),  # closed to everyone: no other mode's either
])
def test_grade1_roads_closed_by_their_tags_are_counted_as_left_out(
        mode: str, tags: dict[str, str], left: dict[str, float]) -> None:
    # a Chinese elevated road mapped as primary + motorroad=yes is as much the car's as a
    # trunk road: the plan's left-out figure holds it too
    crs, x, y = PLACES["beijing"]
    f = gpd.GeoDataFrame(
        [{"highway": "primary", "tags": tags, "geometry": shapely.LineString([(x, y),
                                                                             (x + 100, y)])},
         {"highway": "primary", "tags": {}, "geometry": shapely.LineString([(x + 100, y),
                                                                           (x + 200, y)])}],
        geometry="geometry", crs=crs)
    G = street_graph(f, mode)
    assert G.graph["left_out_km"] == {k: pytest.approx(v) for k, v in left.items()}
