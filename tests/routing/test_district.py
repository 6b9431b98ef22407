"""District patrol plan: areas, rounds within the norm, roster, revisit times, bound."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from tests.routing.lattice import X0, Y0, lattice
from urbangrid.errors import ShiftLimitError
from urbangrid.routing.core.plan import check_route
from urbangrid.routing.patrol.district import (
    PLAN_FILES,
    load_district_plan,
    plan_district,
    write_district_plan,
)
from urbangrid.routing.patrol.streets import street_graph


def _grids():
    streets, grids = lattice()
    grids["area_m2"] = shapely.area(grids.geometry.to_numpy())
    return street_graph(streets, "walk", crs="EPSG:4548"), grids


@pytest.fixture(scope="module")
def district():
    return _grids()


@pytest.fixture(scope="module")
def plan(district):
    G, grids = district
    return plan_district(G, grids, limit_s=1800, shifts=1, iterations=30, count_turns=True)


class TestPlan:
    def test_every_round_within_the_norm_and_every_street_served(self, plan, district):
        G, _ = district
        assert plan.ok, plan.problems
        assert (plan.table["round_s"] <= 1800).all()
        assert plan.table["fits"].all()
        # every street of every grid is in the plan and seen within the round
        assert len(plan.streets) == G.number_of_edges() // 2
        assert (plan.streets["passes"] > 0).all()
        for code, route in plan.routes.items():
            walk = route.route
            served = [e for e, s in zip(walk.edges, walk.served, strict=True) if s]
            assert check_route(G, walk, weight="time_s", required=served,
                               oneway="oneway") == pytest.approx(route.plan.cost), code

    def test_grade1_roads_seen_through_the_day(self, plan):
        # one shift 07-15 covers everything; the primary row is also ridden 13-21
        assert set(plan.roster["roads"]) == {"all", "grade1"}
        g1 = plan.streets[plan.streets["grade"] == 1]
        assert len(g1) and (g1["window"] == "grade1 cover").all()
        assert (g1["max_interval_s"] <= 1800 + 1e-6).all()
        late = plan.roster[plan.roster["roads"] == "grade1"]
        assert late["end_h"].max() == pytest.approx(21.0)

    def test_headcount_roster_and_bound(self, plan):
        assert plan.headcount == len(plan.roster)
        assert plan.lower_bound <= plan.headcount
        assert plan.gap["deadhead"] + plan.gap["packing"] == plan.headcount - plan.lower_bound
        # the bound: riding every street once, per community, rounded up
        reg = plan.table[plan.table["roads"] == "all"]
        lb = sum(math.ceil(s / 1800) for s in reg.groupby("community_code")["service_s"].sum())
        assert plan.lower_bound >= lb
        assert f"needs {plan.headcount} walk collectors" in plan.summary
        assert f"fewer than {plan.lower_bound}" in plan.summary
        d = plan.staffing.loc["district"]
        assert int(d["time_headcount"]) == plan.headcount

    def test_rerun_is_identical(self, plan, district):
        G, grids = district
        again = plan_district(G, grids, limit_s=1800, shifts=1, iterations=30,
                              count_turns=True)
        assert again.table.equals(plan.table)
        assert again.roster.equals(plan.roster)


def test_by_default_the_norm_holds_the_riding_time(district):
    G, grids = district
    p = plan_district(G, grids, limit_s=1800, shifts=1, iterations=30)
    assert p.table["fits"].equals(p.table["travel_s"] <= 1800 * (1 + 1e-9))
    assert (p.table["round_s"] >= p.table["travel_s"] - 1e-6).all()
    # streets seen again later than the norm are named with the reason: here the
    # U-turns a round held to its riding time adds
    late = p.streets["max_interval_s"] > 1800 * (1 + 1e-9)
    assert (p.streets["late"] != "").equals(late)
    assert late.any() and p.streets.loc[late, "late"].str.contains("with turns").all()
    assert f"{int(late.sum())} of {len(p.streets)} streets are seen again later" in p.summary


class TestNormNotMet:
    def test_a_grid_that_cannot_be_ridden_round_is_named(self, district):
        G, grids = district
        # a cell's round is its four 50 m stubs there and back: 400 s on foot
        bad = plan_district(G, grids, limit_s=300, shifts=1, iterations=10)
        assert not bad.ok
        p = bad.problems[0]
        assert p["field"] == "round_s" and "area 1101080140" in p["reason"]
        assert p["row"] is None  # the store has no such row: the area code names it
        assert G.graph["mode"] == "walk" and "one-way" not in p["reason"]  # walked both ways
        assert "over the 5 min norm" in p["reason"] and "single grid" in p["reason"]

    def test_the_chinese_problems_are_the_same_records_in_the_same_order(self, district):
        import re

        G, grids = district
        bad = plan_district(G, grids, limit_s=300, shifts=1, iterations=10)
        assert len(bad.problems_zh) == len(bad.problems) > 0
        numbers = re.compile(r"\d+(?:\.\d+)?")
        for en, zh in zip(bad.problems, bad.problems_zh, strict=True):
            assert {k: v for k, v in en.items() if k != "reason"} == \
                   {k: v for k, v in zh.items() if k != "reason"}
            # the same figures in the same order, no English word left
            assert numbers.findall(en["reason"]) == numbers.findall(zh["reason"]), zh
            assert not re.search(r"[a-z]{3,}", zh["reason"]), zh["reason"]
        assert bad.problems_zh[0]["reason"].startswith(f"巡查区域 {bad.problems[0]['record']}：")
        assert "每圈步行" in bad.problems_zh[0]["reason"]

    def test_problems_in_either_language_from_the_same_figures(self):
        from types import SimpleNamespace

        from urbangrid.routing.patrol.district import _problems

        table = pd.DataFrame({"area_code": ["110108014001C01", "110108014001C02"],
                              "fits": [False, False], "travel_s": [482.4, 900.0],
                              "round_s": [490.0, 960.0], "limit_s": [480.0, 480.0],
                              "service_s": [300.0, 600.0], "deadhead_pct": [38.0, 33.3],
                              "n_grids": [1, 2]})
        required = pd.DataFrame({"street_id": ["s1", "s2"], "name": ["成府路", None],
                                 "area_code": ["110108014001C01"] * 2})
        routes = {"110108014001C01": SimpleNamespace(required=["s1"])}
        en = _problems(table, required, routes, "d.gpkg", "bike")
        zh = _problems(table, required, routes, "d.gpkg", "bike", "zh")
        assert [p["reason"] for p in en] == [
            "area 110108014001C01: round 8.04 min riding, 8.2 min with turns, is over the 8 "
            "min norm; its streets alone take 5.0 min, the rest is travel between them (38% "
            "deadhead: they link up only far outside the grid, e.g. round one-way streets or "
            "ramps a bike may not take); it is a single grid that cannot be cut further; "
            "raise the norm, use a faster mode or redraw the grid",
            "area 110108014001C02: round 15.0 min riding, 16.0 min with turns, is over the 8 "
            "min norm; raise the norm, use a faster mode or redraw the grid",
            "street s2 (unnamed) of area 110108014001C01 is not served by its round"]
        assert [p["reason"] for p in zh] == [
            "巡查区域 110108014001C01：每圈骑行 8.04 分钟，含转弯 8.2 分钟，超过 8 分钟的标准；"
            "其道路本身只需 5.0 分钟，其余是道路之间的往返（空驶 38%：这些道路只在网格外很远处"
            "相连，如须绕行的单行道或自行车不能走的匝道）；它是单个单元网格，不能再分；可提高"
            "标准、换更快的巡查方式或重划网格",
            "巡查区域 110108014001C02：每圈骑行 15.0 分钟，含转弯 16.0 分钟，超过 8 分钟的标准；"
            "可提高标准、换更快的巡查方式或重划网格",
            "道路 s2（无名道路）属巡查区域 110108014001C01，但该区域的巡查路线没有经过它"]
        assert [p["record"] for p in zh] == [p["record"] for p in en] == [
            "110108014001C01", "110108014001C02", "110108014001C01"]

    def test_a_street_longer_than_the_norm_raises(self, district):
        G, grids = district
        with pytest.raises(ShiftLimitError, match=r"street .* alone takes"):
            plan_district(G, grids, limit_s=30, iterations=10)


def test_written_once_and_rewritten_unchanged(store, plan):
    first = load_district_plan(store, plan)
    n_areas = len(plan.table)
    assert first["collector_area"].inserted == n_areas
    assert first["patrol_route"].inserted == len(plan.routes)
    again = load_district_plan(store, plan)
    assert again["collector_area"].inserted == 0 and again["collector_area"].updated == 0
    assert again["patrol_route"].inserted == 0 and again["patrol_route"].updated == 0


def test_files_one_gpx_per_collector(plan, tmp_path):
    from datetime import date

    files = write_district_plan(plan, tmp_path, day=date(2026, 12, 7))
    gpx = sorted(p for p in files if p.suffix == ".gpx")
    assert len(gpx) == len(plan.roster)
    # the names the CLI checks before the work (PLAN_FILES) are the names written
    assert {p.relative_to(tmp_path).parts[0] for p in files} == set(PLAN_FILES.values())
    root = ET.parse(gpx[0]).getroot()
    times = [e.text for e in root.iter() if e.tag.endswith("time")]
    assert any(t.startswith("2026-12-06T23:00") for t in times)  # 07:00 Beijing time
    assert (tmp_path / "summary.txt").read_text(encoding="utf-8").startswith("This plan")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".plan-")]
    # the areas and rounds as layers QGIS opens (areas.csv has no shapes): WGS84, one
    # feature per area with its table row, one line per round
    areas = gpd.read_file(tmp_path / "areas.geojson")
    rounds = gpd.read_file(tmp_path / "rounds.geojson")
    assert areas.crs.to_epsg() == 4326 and rounds.crs.to_epsg() == 4326
    assert sorted(areas["area_code"]) == sorted(plan.table["area_code"])
    assert areas["patrol_km"].notna().all() and areas.is_valid.all()
    assert sorted(rounds["area_code"]) == sorted(plan.routes)


class TestSummaryOverTheNorm:
    """Areas over the norm on average: the summary said "cannot fill the 5 min (riding
    133% of it on average)" and "平均只用其 133%", and a packing share "worth -4"."""

    def test_mean_over_100_is_worded_as_over(self, district):
        G, grids = district
        p = plan_district(G, grids, limit_s=380, shifts=1, iterations=10)
        assert p.gap["packing"] > 0, p.gap
        assert "that the 6 min does not divide evenly (the areas over the norm lift the " \
               "mean riding to 105% of it; 0 under half)" in p.summary, p.summary
        assert "cannot fill" not in p.summary
        assert "无法按 6 分钟均匀划分（超标的巡查区域使平均步行时间达到标准的 105%" in \
               p.summary_zh, p.summary_zh
        assert "只用其" not in p.summary_zh

    def test_areas_over_the_norm_take_collectors_off_the_gap(self, district):
        G, grids = district
        p = plan_district(G, grids, limit_s=300, shifts=1, iterations=10)
        less = -p.gap["packing"]
        assert less > 0, p.gap
        assert f", less {less} for the areas over the norm, each counted as one collector " \
               "though its round takes longer." in p.summary, p.summary
        assert f"再减去超标巡查区域少计的 {less} 名" in p.summary_zh, p.summary_zh
        assert "worth -" not in p.summary and "计 -" not in p.summary_zh
        # the area's code is the record: the CLI words the problem from its table row
        assert {prob["record"] for prob in p.problems} <= set(p.table["area_code"])


def test_a_viaduct_over_a_grid_is_left_to_car_patrols():
    # an 80 m viaduct over cell (1, 1), reached only by ramps 1.4 km long: with it the
    # cell's round is over 90 min on foot, without it 400 s (its four stubs there and back)
    streets, grids = lattice()
    grids["area_m2"] = shapely.area(grids.geometry.to_numpy())
    x, y = X0 + 100, Y0 + 100
    far = (X0 - 1000, Y0 - 1000)
    deck = [shapely.LineString([(x + 10, y + 10), (x + 90, y + 10)]),
            shapely.LineString([far, (x + 10, y + 10)]),
            shapely.LineString([(x + 90, y + 10), far]),
            shapely.LineString([far, (X0, Y0 + 50)])]
    streets["edge_id"] = None
    more = gpd.GeoDataFrame({"highway": "tertiary", "edge_id": ["deck", "ramp1", "ramp2",
                                                                 "ramp3"]},
                            geometry=deck, crs=streets.crs)
    G = street_graph(pd.concat([streets, more], ignore_index=True), "walk", crs="EPSG:4548")
    plan = plan_district(G, grids, limit_s=1800, shifts=1, iterations=10)
    assert plan.ok, plan.problems
    assert plan.table["fits"].all()
    assert plan.detached["street_id"].tolist() == ["deck"]
    assert plan.detached["unit"].tolist() == [grids["grid_code"].iloc[1 * 4 + 1]]
    assert "deck" not in set(plan.streets["street_id"])
    assert "1 street(s), 0.1 km, are left to car patrols" in plan.summary
    assert "交给汽车巡查" in plan.summary_zh
    # the grid's round serves its own streets
    code = plan.detached["area_code"].iloc[0]
    assert plan.table.set_index("area_code").loc[code, "round_s"] <= 1800
    # a car plan has no faster mode to hand them to: it says to patrol them separately
    car = plan_district(street_graph(pd.concat([streets, more], ignore_index=True), "car",
                                     crs="EPSG:4548"), grids, limit_s=600, shifts=1,
                        iterations=10)
    assert car.detached["street_id"].tolist() == ["deck"]
    assert "are left out of the rounds (patrol them separately)" in car.summary
    assert "不在巡查路线内" in car.summary_zh


def test_a_plan_without_cut_off_streets_leaves_none(plan):
    assert plan.detached.empty
    assert "car patrols" not in plan.summary.split("To close it")[0]
