"""Staffing norms: worked examples, time-based staffing and bad input (issue 10)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.routing.lattice import lattice
from urbangrid.errors import NormsError, ShiftLimitError, StaffingError
from urbangrid.routing.patrol import staffing
from urbangrid.routing.patrol.staffing import (
    DISTRICT,
    community_kind,
    explain,
    parse_duration,
    read_staffing_norms,
    shift_schedule,
    staffing_table,
    time_based_staffing,
)
from urbangrid.routing.patrol.streets import street_graph

NORMS = Path(staffing.__file__).parent / "norms" / "staffing.toml"


def seed_district() -> pd.DataFrame:
    """The seed street district: 1,537 unit grids, 13 communities and 15 villages, 70 km².

    Assumed grading (the source gives none): the 13 urban communities' 1,040 grids are
    grade 1 (18.48 km² = 84 collectors × 0.22 km²), the 15 villages' 497 grids grade 2
    (the other 51.52 km²).
    """
    rows = []
    for i in range(13):
        rows += [(f"u{i}-{j}", f"110108014{i + 1:03d}", 1, 18.48e6 / 1040) for j in range(80)]
    for i, n in enumerate([33] * 14 + [35]):
        rows += [(f"r{i}-{j}", f"110108014{201 + i:03d}", 2, 51.52e6 / 497) for j in range(n)]
    return pd.DataFrame(rows, columns=["grid_code", "community_code", "grade", "area_m2"])


class TestWorkedExamples:
    def test_seed_district_154(self):
        t = staffing_table(seed_district())
        d = t.loc[DISTRICT]
        assert (d["n_grids"], d["grade1"], d["grade2"]) == (1537, 1040, 497)
        assert d["area_km2"] == pytest.approx(70.0)
        # Σ n_g × rate_g / 20 = 1040 × 1.5-2 / 20 + 497 × 1-1.5 / 20
        assert d["grids_exact_low"] == pytest.approx(102.85)
        assert d["grids_exact_high"] == pytest.approx(141.275)
        assert d["grids_minimum"] == pytest.approx(76.85)
        # 18.48 / 0.22 + 51.52 / 0.92 = 84 + 56
        assert d["area_exact"] == pytest.approx(140.0)
        # rounded up per community, then added
        assert (d["grids_low"], d["grids_high"], d["area_per_shift"]) == (108, 149, 151)
        # the district's 154 collectors: same order of magnitude by every norm
        for value in (d["grids_low"], d["grids_high"], d["area_headcount"]):
            assert 0.5 < value / 154 < 2
        text = explain(t)
        assert "1040 grade-1 × 1.5-2 + 497 grade-2 × 1-1.5 per 20 grids" in text
        assert "102.9-141.3 → 108-149" in text and "= 140 → 151" in text

    def test_chaoyang_528(self, tmp_path):
        # 4,765 grids of the standard 10,000 m², 3 shifts, ~0.27 km² per collector per shift
        # norms are data: the bundled file with Chaoyang's 0.27 km² per collector
        norms_file = tmp_path / "chaoyang.toml"
        body = NORMS.read_text(encoding="utf-8").replace("urban = 0.22", "urban = 0.27")
        norms_file.write_text(body, encoding="utf-8")
        norms = read_staffing_norms(norms_file)
        grids = pd.DataFrame({"grid_code": [f"g{i}" for i in range(4765)],
                              "community_code": "110105001001", "grade": 1,
                              "area_m2": 10_000.0})
        t = staffing_table(grids, shifts=3, norms=norms)
        d = t.loc[DISTRICT]
        # 47.65 km² / 0.27 = 176.5 → 177 per shift × 3 = 531 ≈ 528
        assert d["area_exact"] == pytest.approx(176.48, abs=0.01)
        assert (d["area_per_shift"], d["area_headcount"]) == (177, 531)
        assert abs(d["area_headcount"] - 528) / 528 < 0.01
        # the roster norm: at least 4,765 / 20 = 239 collectors, which 528 meets
        assert d["grids_minimum"] == pytest.approx(238.25)
        assert d["grids_low"] == 358 and d["grids_low"] <= 528


class TestPieces:
    def test_kind_from_code(self):
        assert community_kind(["110108014001", "110108014399"]).tolist() == ["urban", "rural"]
        with pytest.raises(StaffingError, match="neither"):
            community_kind(["110108014500"])
        with pytest.raises(StaffingError, match="12-digit"):
            community_kind(["1101"])

    def test_durations(self):
        assert parse_duration("30min") == 1800.0
        assert parse_duration("1h") == 3600.0
        with pytest.raises(StaffingError, match="duration"):
            parse_duration("half an hour")

    def test_schedule_staggers_grade1_cover(self):
        s = shift_schedule(1)
        assert s.values.tolist() == [["1", 7.0, 15.0, "all"], ["1b", 13.0, 21.0, "grade1"]]
        assert len(shift_schedule(2)) == 2  # 16 h of shifts cover the 14 h

    def test_norms_file_checked(self, tmp_path):
        p = tmp_path / "n.toml"
        p.write_text("[per_grids.grade]\n1 = [2.0, 1.5]\n2 = [1, 1]\n3 = [1, 1]\n"
                     "[area]\nurban = 0.2\nrural = 0.9\n", encoding="utf-8")
        with pytest.raises(NormsError, match="high is below low"):
            read_staffing_norms(p)


class TestBadInput:
    def test_grade_outside_1_3(self):
        g = seed_district().head(5).copy()
        g.loc[3, "grade"] = 4
        with pytest.raises(StaffingError, match=r"row 3: grid u0-3: field 'grade': 4"):
            staffing_table(g)

    def test_missing_grade_needs_a_default(self):
        g = seed_district().head(5).copy()
        g["grade"] = None
        with pytest.raises(StaffingError, match="grade"):
            staffing_table(g)
        assert staffing_table(g, default_grade=3).loc[DISTRICT, "grade3"] == 5

    def test_bad_shifts_and_area(self):
        g = seed_district().head(5).copy()
        with pytest.raises(StaffingError, match="shifts"):
            staffing_table(g, shifts=4)
        g.loc[2, "area_m2"] = -1.0
        with pytest.raises(StaffingError, match="row 2: field 'area_m2'"):
            staffing_table(g)


@pytest.fixture(scope="module")
def district():
    streets, grids = lattice()
    G = street_graph(streets, "walk", crs="EPSG:4548")
    grids["grade"] = 3
    grids["area_m2"] = 10_000.0
    return G, grids


class TestTimeBased:
    def test_routes_fit_the_limit(self, district):
        G, grids = district
        table, areas = time_based_staffing(G, grids, limit_s=1800, shifts=1, iterations=30)
        # each community: 12 cells × 200 s = 2,400 s of streets → at least 2 routes
        assert table["service_s"].round().tolist() == [2400.0, 2400.0]
        assert (table["time_per_shift"] >= table["k_lower_bound"]).all()
        assert (table["k_lower_bound"] == 2).all()
        assert (areas.areas["route_s"] <= 1800).all()
        # one shift of 8 h leaves 6 h of the 14 h grade-1 cover: staggered routes added
        assert (table["grade1_routes"] == 1).all()
        assert (table["time_headcount"] == table["time_per_shift"] + 1).all()
        out = staffing_table(grids, shifts=1, time_based=table)
        assert out.loc[DISTRICT, "time_headcount"] == table["time_headcount"].sum()
        assert "balanced route(s) each ≤ 30 min" in explain(out)

    def test_impossible_limit_names_the_street(self, district):
        G, grids = district
        with pytest.raises(ShiftLimitError, match=r"street .* alone takes 0\.8 min"):
            time_based_staffing(G, grids, limit_s=40, shifts=3)
