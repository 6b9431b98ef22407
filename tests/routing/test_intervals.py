"""Patrol intervals and staggered shifts (issue 8): hand-made cases with known answers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.routing.patrol_cases import CRS, X0, Y0, box, lattice
from urbangrid.errors import RoutingError
from urbangrid.routing.patrol.intervals import (
    revisit_intervals,
    route_visits,
    schedule_visits,
    share_seen_every,
    staggered_schedule,
)
from urbangrid.routing.patrol.routes import area_route

H = 3600.0


def _loop(n: int = 4, leg_s: float = 150.0, grade: int = 1) -> pd.DataFrame:
    """A loop of ``n`` streets, each taking ``leg_s`` seconds."""
    t = [i * leg_s for i in range(n)]
    return pd.DataFrame({"street_id": [f"s{i}" for i in range(n)], "t_start_s": t,
                         "t_end_s": [x + leg_s for x in t], "grade": grade,
                         "length_m": 100.0})


class TestRevisitIntervals:
    def test_single_loop_repeated(self) -> None:
        legs = _loop()  # 600 s loop
        v = route_visits(legs, starts_s=[7 * H], until_s=9 * H)
        iv = revisit_intervals(v)
        assert (iv["max_interval_s"] == 600.0).all()
        assert (iv["mean_interval_s"] == 600.0).all()
        assert (iv["passes"] == 12).all()

    def test_two_collectors_half_a_loop_apart(self) -> None:
        legs = _loop()
        v = route_visits(legs, starts_s=[7 * H, 7 * H + 300], until_s=9 * H)
        iv = revisit_intervals(v)
        assert (iv["max_interval_s"] == 300.0).all()
        assert (iv["mean_interval_s"] == 300.0).all()

    def test_pooled_frames_and_overlapping_areas(self) -> None:
        # two collectors of different areas share street s0, each loop 600 s
        a = route_visits(_loop(), starts_s=[0.0], until_s=H, collector="A")
        b = route_visits(_loop(), starts_s=[300.0], until_s=H, collector="B")
        b = b[b["street_id"] == "s0"]
        iv = revisit_intervals([a, b])
        assert iv.loc["s0", "max_interval_s"] == 300.0
        assert iv.loc["s1", "max_interval_s"] == 600.0

    def test_window_counts_unseen_ends(self) -> None:
        legs = _loop()
        v = route_visits(legs, starts_s=[7 * H], until_s=8 * H)
        iv = revisit_intervals(v, window_s=(6 * H, 8 * H))
        # s0 first passed at 07:01:15: 1 h 75 s unseen since 06:00
        assert iv.loc["s0", "max_interval_s"] == pytest.approx(H + 75)
        assert iv.loc["s3", "max_interval_s"] == pytest.approx(H + 525)

    def test_unvisited_street(self) -> None:
        v = route_visits(_loop(), starts_s=[0.0], until_s=H)
        streets = pd.DataFrame({"street_id": ["s0", "s9"], "grade": [1, 1],
                                "length_m": [100.0, 300.0]})
        iv = revisit_intervals(v, streets=streets)
        assert math.isinf(iv.loc["s9", "max_interval_s"])
        assert share_seen_every(iv, 10) == pytest.approx(400 / 700)
        assert share_seen_every(iv, 10, by="count") == pytest.approx(4 / 5)

    def test_bad_input(self) -> None:
        with pytest.raises(RoutingError, match="loop time must be > 0"):
            route_visits(_loop(), starts_s=[0.0], until_s=H, loop_s=0.0)
        with pytest.raises(RoutingError, match="lack column"):
            route_visits(pd.DataFrame({"street_id": ["a"]}), starts_s=[0.0], until_s=H)
        with pytest.raises(RoutingError, match="window end"):
            revisit_intervals(route_visits(_loop(), starts_s=[0.0], until_s=H),
                              window_s=(H, 0.0))

    def test_patrol_route_loop(self) -> None:
        G = lattice("bike", n=2)
        r = area_route(G, box(0, 0, 1, 1), area_crs=CRS, boundary="both", start=(X0, Y0),
                       start_crs=CRS)
        v = route_visits(r, starts_s=[8 * H], until_s=12 * H)
        iv = revisit_intervals(v)
        assert iv["max_interval_s"].to_numpy() == pytest.approx(r.duration_s)
        assert len(iv) == 4


class TestStaggeredSchedule:
    @pytest.mark.parametrize(("loop_s", "target_s"), [(1800.0, 600.0), (2700.0, 900.0),
                                                      (1000.0, 1800.0), (3100.0, 700.0)])
    def test_grade1_covered_14_hours(self, loop_s: float, target_s: float) -> None:
        legs = _loop(n=5, leg_s=loop_s / 5)
        sched = staggered_schedule(loop_s, max_interval_s=target_s,
                                   coverage_s=(7 * H, 21 * H), shift_s=8 * H)
        c = math.ceil(loop_s / target_s)
        assert sched["slot"].nunique() == c
        assert sched["shift"].nunique() == 2
        v = schedule_visits(legs, sched)
        iv = revisit_intervals(v, window_s=(7 * H, 21 * H))
        assert iv["max_interval_s"].max() <= loop_s / c + 1e-6
        assert share_seen_every(iv, target_s / 60) == 1.0
        # reliefs take over at the depot: every slot is ridden without a break
        for _, slot in sched.groupby("slot"):
            assert (slot["start_s"].to_numpy()[1:] == slot["end_s"].to_numpy()[:-1]).all()
        assert sched["hours"].max() <= 8 + loop_s / H

    def test_one_collector_misses_a_tighter_norm(self) -> None:
        legs = _loop()
        sched = staggered_schedule(600.0, max_interval_s=600.0, coverage_s=(7 * H, 21 * H))
        iv = revisit_intervals(schedule_visits(legs, sched), window_s=(7 * H, 21 * H))
        assert share_seen_every(iv, 10) == 1.0
        assert share_seen_every(iv, 5) == 0.0

    def test_bad_input(self) -> None:
        with pytest.raises(RoutingError, match="must be > 0"):
            staggered_schedule(0.0, max_interval_s=600.0)
        with pytest.raises(RoutingError, match="coverage end"):
            staggered_schedule(600.0, max_interval_s=600.0, coverage_s=(2 * H, H))
