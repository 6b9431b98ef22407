"""Area patrol routes (issue 8): required streets, boundary rule, routing by mode, errors."""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from tests.routing.patrol_cases import CRS, X0, Y0, box, lattice, lattice_frame
from urbangrid.data import data_path
from urbangrid.errors import PatrolAreaError, SnapError, UnreachableError
from urbangrid.loaders.osm import read_street_graph
from urbangrid.routing.patrol.modes import get_mode
from urbangrid.routing.patrol.routes import (
    area_route,
    required_streets,
    routes_table,
    snap_point,
)
from urbangrid.routing.patrol.streets import street_graph

DATA = Path(__file__).parent.parent / "data"
WUDAOKOU = data_path("osm/beijing_haidian_wudaokou.osm.bz2")


class TestRequiredStreets:
    def test_inside_by_midpoint(self) -> None:
        G = lattice("walk", n=4)
        req = required_streets(G, box(0.5, 0.5, 2.5, 2.5), area_crs=CRS)
        # 4 streets with midpoints strictly inside; 8 cross the boundary at their
        # midpoint: the 4 crossing its west and south sides belong here (east/north)
        assert len(req) == 8
        assert int(req["on_boundary"].sum()) == 4

    @pytest.mark.parametrize("cut", [1.5, 1.0, 1.37])
    def test_vertical_cut_partition(self, cut: float) -> None:
        G = lattice("walk", n=4)
        west, east = box(-1, -1, cut, 4), box(cut, -1, 4, 4)
        a = set(required_streets(G, west, area_crs=CRS)["street_id"])
        b = set(required_streets(G, east, area_crs=CRS)["street_id"])
        assert not a & b
        assert len(a | b) == 24

    def test_partition_gives_each_street_one_owner(self) -> None:
        G = lattice("walk", n=4)
        # two areas sharing the line y = 1 (a street row): the north rule
        south, north = box(0, 0, 3, 1), box(0, 1, 3, 3)
        outer = {"boundary": "both"}
        a = set(required_streets(G, south, area_crs=CRS)["street_id"])
        b = set(required_streets(G, north, area_crs=CRS)["street_id"])
        assert not a & b
        shared = {
            sid
            for sid in set(required_streets(G, south, area_crs=CRS, **outer)["street_id"])
            & set(required_streets(G, north, area_crs=CRS, **outer)["street_id"])
        }
        assert len(shared) == 3  # the 3 segments of the y = 1 row
        assert shared <= b  # north side owns them

    def test_boundary_none_and_both(self) -> None:
        G = lattice("walk", n=2)
        sq = box(0, 0, 1, 1)
        assert len(required_streets(G, sq, area_crs=CRS, boundary="both")) == 4
        assert len(required_streets(G, sq, area_crs=CRS, boundary="none")) == 0
        # north rule: the south and west sides belong to the neighbours (north of the
        # south edge is this square, east of the west edge too)
        north_rule = required_streets(G, sq, area_crs=CRS)
        assert sorted(north_rule["name"]) == ["纬0路", "经0街"]

    def test_both_sides(self) -> None:
        G = street_graph(lattice_frame(2, highway="primary"), "car", crs=CRS)
        req = required_streets(
            G, box(0, 0, 1, 1), area_crs=CRS, boundary="both", both_sides=["primary"]
        )
        assert (req["sides"] == 2).all()


class TestAreaRoute:
    def test_square_block(self) -> None:
        G = lattice("bike", n=2)
        r = area_route(
            G,
            box(0, 0, 1, 1),
            area_crs=CRS,
            boundary="both",
            start=(X0, Y0),
            start_crs=CRS,
            area_id="A",
        )
        prof = get_mode("bike")
        assert r.length_m == pytest.approx(400.0)
        assert r.deadhead_m == 0.0
        assert r.turns == 3 and r.uturns == 0  # the fourth corner is the arrival
        assert r.duration_s == pytest.approx(400 / (10 / 3.6) + 3 * prof.turn_s)
        g = r.geometry
        assert g.is_closed and g.length == pytest.approx(400.0)
        assert r.instructions[0].action == "depart"
        assert r.instructions[-1].action == "arrive"
        assert {i.action for i in r.instructions[1:-1]} <= {"left", "right"}
        assert r.lower_bound_s == pytest.approx(r.plan.cost)
        assert r.start_snap_m == 0.0
        assert set(r.legs.loc[r.legs["served"], "street_id"]) == set(r.required)

    def test_lattice_needs_deadhead(self) -> None:
        G = lattice("walk", n=3)
        r = area_route(
            G, box(0, 0, 2, 2), area_crs=CRS, boundary="both", start=(X0, Y0), start_crs=CRS
        )
        # 12 streets of 100 m; the 4 odd nodes (side midpoints) pair up 200 m apart twice
        assert r.street_m == pytest.approx(1200.0)
        assert r.length_m == pytest.approx(1600.0)
        assert r.deadhead_share == pytest.approx(400 / 1600)
        assert r.plan.lower_bound == pytest.approx(r.plan.cost)

    def test_both_sides_car_drives_each_way(self) -> None:
        G = street_graph(lattice_frame(2, highway="primary"), "car", crs=CRS)
        r = area_route(
            G,
            box(0, 0, 1, 1),
            area_crs=CRS,
            boundary="both",
            both_sides=["primary"],
            start=(X0, Y0),
            start_crs=CRS,
        )
        assert r.street_m == pytest.approx(800.0)
        assert r.length_m == pytest.approx(800.0)
        assert len(r.required) == 8

    def test_start_too_far(self) -> None:
        G = lattice("walk", n=2)
        with pytest.raises(SnapError, match=r"is 1,900 m from the nearest street.*limit 200 m"):
            area_route(
                G,
                box(0, 0, 1, 1),
                area_crs=CRS,
                boundary="both",
                start=(X0 + 2000, Y0),
                start_crs=CRS,
            )
        node, d = snap_point(G, X0 + 30, Y0 + 5, crs=CRS)
        assert d == pytest.approx(5.0)
        assert (G.nodes[node]["x"], G.nodes[node]["y"]) == (X0, Y0)

    def test_area_without_streets(self) -> None:
        G = lattice("walk", n=2)
        with pytest.raises(PatrolAreaError, match="area Z: no street to patrol: it lies outside"):
            area_route(G, box(10, 10, 11, 11), area_crs=CRS, area_id="Z")
        with pytest.raises(PatrolAreaError, match="midpoint inside"):
            area_route(G, box(0.2, 0.2, 0.8, 0.8), area_crs=CRS)
        with pytest.raises(PatrolAreaError, match="area_crs"):
            area_route(G, box(0, 0, 1, 1))

    def test_one_way_trap(self) -> None:
        # a one-way spur into a dead end: a car can enter but never come back
        f = lattice_frame(2)
        spur = gpd.GeoDataFrame(
            [
                {
                    "name": "死胡同",
                    "highway": "residential",
                    "oneway": True,
                    "geometry": shapely.LineString([(X0 + 100, Y0 + 100), (X0 + 150, Y0 + 100)]),
                }
            ],
            geometry="geometry",
            crs=CRS,
        )
        frame = gpd.GeoDataFrame(gpd.pd.concat([f, spur], ignore_index=True), crs=CRS)
        G = street_graph(frame, "car", crs=CRS)
        area = box(0, 0, 1.6, 1.2)
        with pytest.raises(
            UnreachableError,
            match=r"cannot be reached and left again, e.g. "
            r"死胡同.*one-way streets make the area impossible to close",
        ):
            area_route(G, area, area_crs=CRS, boundary="both", start=(X0, Y0), start_crs=CRS)
        r = area_route(
            G,
            area,
            area_crs=CRS,
            boundary="both",
            start=(X0, Y0),
            start_crs=CRS,
            unreachable="skip",
        )
        assert len(r.skipped) == 1
        assert r.length_m == pytest.approx(400.0)
        # on foot the same spur is walked there and back
        W = street_graph(frame, "walk", crs=CRS)
        w = area_route(W, area, area_crs=CRS, boundary="both", start=(X0, Y0), start_crs=CRS)
        assert w.length_m == pytest.approx(500.0)


class TestClippedGraph:
    """The solver gets the streets near the area, plus the quickest ways to any street
    only the whole graph can close, and finds the whole graph's route."""

    @staticmethod
    def _two_streets_and_a_loop(mode: str) -> object:
        # two streets 50 m apart in the area, joined only by a 5.6 km loop far outside
        # a 300 m buffer
        xy = [(100, 50), (100, 1000), (1000, 1000), (1000, -1000), (100, -1000), (100, 0)]
        rows = [
            {
                "name": "南街",
                "highway": "residential",
                "oneway": False,
                "geometry": shapely.LineString([(X0, Y0), (X0 + 100, Y0)]),
            },
            {
                "name": "北街",
                "highway": "residential",
                "oneway": False,
                "geometry": shapely.LineString([(X0, Y0 + 50), (X0 + 100, Y0 + 50)]),
            },
        ]
        for (ax, ay), (bx, by) in itertools.pairwise(xy):
            rows.append(
                {
                    "name": "环路",
                    "highway": "residential",
                    "oneway": False,
                    "geometry": shapely.LineString([(X0 + ax, Y0 + ay), (X0 + bx, Y0 + by)]),
                }
            )
        frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
        return street_graph(frame, mode, crs=CRS)

    @pytest.mark.parametrize("mode", ["walk", "car"])
    def test_far_connection_gives_the_whole_graph_route(self, mode: str) -> None:
        G = self._two_streets_and_a_loop(mode)
        area = shapely.box(X0 - 10, Y0 - 10, X0 + 110, Y0 + 60)
        kw = {"area_crs": CRS, "start": (X0, Y0), "start_crs": CRS}
        clipped = area_route(G, area, **kw)
        whole = area_route(G, area, buffer_m=None, **kw)
        assert clipped.skipped == () and whole.skipped == ()
        assert clipped.plan.routes[0].edges == whole.plan.routes[0].edges
        assert clipped.length_m == pytest.approx(whole.length_m)
        assert clipped.length_m > 5000  # the loop is in the route


@cache
def _wudaokou_grids() -> gpd.GeoDataFrame:
    from urbangrid.demo.inputs import demo_work_grids

    return demo_work_grids(WUDAOKOU)


@cache
def _graph(path: str, mode: str) -> object:
    return read_street_graph(path, mode)


def _plausible(r: object, mode: str) -> None:
    prof = get_mode(mode)
    kmh = r.length_m / r.duration_s * 3.6  # type: ignore[attr-defined]
    top = max(prof.speeds_kmh.values())
    assert 0.4 * prof.speeds_kmh["default"] < kmh <= top
    served = set(r.legs.loc[r.legs["served"], "street_id"])  # type: ignore[attr-defined]
    assert {s.split("@")[0] for s in r.required} <= served  # type: ignore[attr-defined]
    assert r.geometry.is_closed  # type: ignore[attr-defined]
    lb = r.lower_bound_s  # type: ignore[attr-defined]
    assert lb is not None and lb <= r.plan.cost * (1 + 1e-9)  # type: ignore[attr-defined]


class TestRealAreas:
    @pytest.mark.parametrize("i", [3, 5, 10])
    def test_wudaokou_work_grids_by_bike(self, i: int) -> None:
        wg = _wudaokou_grids()
        G = _graph(str(WUDAOKOU), "bike")
        row = wg.iloc[i]
        r = area_route(
            G, row.geometry, area_crs=wg.crs, area_id=row["work_grid_code"], unreachable="skip"
        )
        _plausible(r, "bike")
        assert 0.15e6 < r.area_m2 < 0.35e6
        assert 10 < r.duration_s / 60 < 120  # a work grid of ~0.25 km² by bike
        assert any(i.street and "路" in i.street for i in r.instructions)
        t = routes_table([r])
        assert list(t.columns[:6]) == ["area", "mode", "km2", "street_km", "route_km", "minutes"]

    @pytest.mark.parametrize(
        ("path", "mode", "centre"),
        [
            (DATA / "osm/beijing_haidian_cau.osm.bz2", "walk", (116.352, 40.003)),
            (DATA / "osm/shanghai_huangpu_jingan_osmnx.osm.bz2", "car", (121.474, 31.230)),
            (
                data_path("networks/shenzhen_futian_osmnx_all.graphml.bz2"),
                "ebike",
                (114.02, 22.535),
            ),
            (DATA / "osm/west_oakland.osm.bz2", "car", (-122.2995, 37.8108)),
        ],
        ids=["cau-walk", "shanghai-car", "shenzhen-ebike", "oakland-car"],
    )
    def test_extracts(self, path: Path, mode: str, centre: tuple[float, float]) -> None:
        G = _graph(str(path), mode)
        area = (
            gpd.GeoSeries([shapely.Point(centre)], crs="EPSG:4326")
            .to_crs(G.graph["crs"])
            .buffer(300, cap_style="square")
        )
        r = area_route(G, area, unreachable="skip", start=centre)
        _plausible(r, mode)
        assert r.start_snap_m < 200
