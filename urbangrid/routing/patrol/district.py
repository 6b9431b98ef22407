"""District patrol plan (区域巡查方案): every collector's area, round, shifts and revisit times.

:func:`plan_district` puts the pieces of :mod:`~urbangrid.routing.patrol.collector_areas`,
:mod:`~urbangrid.routing.patrol.staffing` and :mod:`~urbangrid.routing.patrol.intervals`
together into one checked plan for a district:

1. grids without a management grade (管理等级) are graded by their best road
   (:func:`~urbangrid.routing.patrol.staffing.grade_grids_by_streets`);
2. **collector areas**: contiguous areas of whole work (or unit) grids, balanced by patrol
   time, each ridden round in one closed route within the norm (e.g. 30 min by bike);
3. **shifts**: the regular shifts of the norms (``[shifts]`` of ``staffing.toml``) patrol
   every street; where they cover grade-1 roads (一级道路) for less than
   ``grade1_cover_h`` hours a day, staggered shifts (错时) patrol grade-1 roads alone, on
   their own (larger) areas cut the same way;
4. **roster**: one row per collector: area, shift, start and end, rounds in the shift;
5. **checks**: every required street is served by its area's round, every round is
   within the norm (turn penalties included), every street's revisit interval through
   the day, from the passes of every collector
   (:func:`~urbangrid.routing.patrol.intervals.revisit_intervals`);
6. **headcount against its lower bound**: no plan can staff a community with fewer than
   ``ceil(riding time of its streets / round)`` collectors per shift; the gap is split
   into deadheading (riding between streets, round one-way streets) and packing
   (areas of whole grids that fill less than the round), and explained in one paragraph
   (:attr:`DistrictPlan.summary`).

Everything is deterministic for a given ``seed`` and ``iterations``: re-running on the
same grids and streets gives the same areas, routes and codes, so writing them again
into a store changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from urbangrid.errors import StaffingError
from urbangrid.problems import Problem, problem
from urbangrid.routing.patrol.collector_areas import (
    DETACH_NEAR_M,
    CollectorAreas,
    _detached_frame,
    _text,
    assign_streets,
    patrol_graph,
    plan_collector_areas,
)
from urbangrid.routing.patrol.intervals import revisit_intervals, route_visits
from urbangrid.routing.patrol.modes import read_modes
from urbangrid.routing.patrol.routes import PatrolRoute, route_from_walk
from urbangrid.routing.patrol.staffing import (
    StaffingNorms,
    grade_grids_by_streets,
    read_staffing_norms,
    shift_schedule,
    staffing_table,
)

__all__ = ["PLAN_FILES", "DistrictPlan", "left_to", "load_district_plan", "plan_district",
           "write_district_plan"]

#: The names write_district_plan writes in its folder, by what each holds (``gpx`` is a
#: folder, replaced whole); the CLI checks them before the work, so one list serves both.
PLAN_FILES = {"gpx": "gpx", "areas": "areas.csv", "roster": "roster.csv",
              "streets": "streets.csv", "staffing": "staffing.csv", "summary": "summary.txt",
              "areas_geojson": "areas.geojson", "rounds": "rounds.geojson",
              "detached": "detached.csv"}


@dataclass(frozen=True, eq=False)
class DistrictPlan:
    """A district's patrol plan; see :func:`plan_district`.

    Attributes
    ----------
    mode : str
        Travel mode.
    limit_s : float
        The round norm, seconds (e.g. 1,800).
    shifts : int
        Regular shifts per day.
    areas : CollectorAreas
        The regular collector areas (every street), graph CRS.
    cover : CollectorAreas or None
        The grade-1 cover areas of the staggered shifts (None when the regular shifts
        cover grade-1 roads long enough, or there is no grade-1 road).
    routes : dict of str to PatrolRoute
        Every area's round (regular and cover), keyed by area code; cover codes read
        ``…G01`` where regular ones read ``…C01``.
    table : pandas.DataFrame
        One row per area: ``area_code``, ``roads`` (``all``/``grade1``),
        ``community_code``, ``n_grids``, ``streets``, ``patrol_km``, ``service_s``
        (riding the streets once), ``travel_s`` (the round without turn penalties),
        ``round_s`` (the round as ridden, turns included), ``deadhead_pct``,
        ``limit_s``, ``fits``, ``rounds_per_shift``, ``max_revisit_s`` (longest gap
        between two passes of one of its streets through its shifts), ``collectors``.
    roster : pandas.DataFrame
        One row per collector: ``collector``, ``area_code``, ``roads``, ``shift``,
        ``start_h``, ``end_h`` (hours after midnight), ``rounds``.
    streets : pandas.DataFrame
        One row per required street: ``street_id``, ``area_code``, ``grade``,
        ``length_m``, ``passes`` (a day), ``max_interval_s`` (longest unseen time within
        its window, the window's ends counted), ``window`` (``"shifts"`` or
        ``"grade1 cover"``), ``late`` (why ``max_interval_s`` is over the norm; empty
        when it is not).
    staffing : pandas.DataFrame
        :func:`~urbangrid.routing.patrol.staffing.staffing_table` with the time-based
        columns: the grid and area norms beside this plan.
    headcount : int
        Collectors on the roster: regular areas × shifts + cover areas × staggered shifts.
    lower_bound : int
        No plan of whole communities can do with fewer (see the module docstring).
    gap : dict
        ``deadhead`` and ``packing``: collectors of the gap each explains.
    problems : list of Problem
        Norm not met (area, why), streets left unserved; empty for a sound plan. Each
        names its area in ``record`` (the ``area_code`` of its row of ``table``).
    problems_zh : list of Problem
        The same records in the same order, ``reason`` in Chinese, worded from the same
        figures (``urbangrid plan --lang zh``).
    summary : str
        One paragraph for a district manager.
    summary_zh : str
        The same paragraph in Chinese (``urbangrid plan --lang zh``).
    detached : pandas.DataFrame
        Streets left to another mode: joined to their unit grid's other streets only by a
        detour beyond :data:`DETACH_NEAR_M` of it (a viaduct or tunnel over or under it, a
        road cut at the data's edge), whose leaving out lets the grid's round fit the
        norm (``street_id``, ``name``,
        ``length_m``, ``time_s``, ``unit``: the grid, ``area_code``, ``roads``: from
        the regular or the grade-1 cover rounds). Not in ``streets``.
    info : dict
        Timings (seconds) and counts.
    """

    mode: str
    limit_s: float
    shifts: int
    areas: CollectorAreas
    cover: CollectorAreas | None
    routes: dict[str, PatrolRoute] = field(repr=False)
    table: pd.DataFrame = field(repr=False)
    roster: pd.DataFrame = field(repr=False)
    streets: pd.DataFrame = field(repr=False)
    staffing: pd.DataFrame = field(repr=False)
    headcount: int = 0
    lower_bound: int = 0
    gap: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problems_zh: list[Problem] = field(default_factory=list)
    summary: str = ""
    summary_zh: str = ""
    detached: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def ok(self) -> bool:
        """Whether every round fits the norm and every required street is served."""
        return not self.problems


def _graded(grids: gpd.GeoDataFrame, G: nx.MultiDiGraph) -> tuple[gpd.GeoDataFrame, int]:
    """Grids with a management grade everywhere (missing ones graded by their streets)."""
    out = grids.copy()
    if "grade" not in out.columns:
        out["grade"] = pd.NA
    missing = out["grade"].isna().to_numpy()
    if missing.any():
        graded = grade_grids_by_streets(out, G)
        out["grade"] = np.where(missing, graded, out["grade"].to_numpy(dtype=object))
    out["grade"] = out["grade"].astype("int64")
    return out, int(missing.sum())


def _cover_code(code: str) -> str:
    """The code of a grade-1 cover area: the regular code with ``G`` for ``C``."""
    i = code.rfind("C")
    return code[:i] + "G" + code[i + 1:] if i >= 0 else f"{code}G"


def _rounds(G: nx.MultiDiGraph, result: CollectorAreas, roads: str) -> dict[str, PatrolRoute]:
    """Each area's round as a PatrolRoute, lower bound the time on its streets."""
    out = {}
    rows = result.areas.set_index("area_code")
    for code, walk in result.routes.items():
        rid = code if roads == "all" else _cover_code(code)
        out[rid] = route_from_walk(G, walk, area=rows.loc[code, "geometry"], area_id=rid,
                                   lower_bound_s=float(rows.loc[code, "service_s"]),
                                   problem=f"collector area round ({roads} streets)")
    return out


def _roster(table: pd.DataFrame, schedule: pd.DataFrame) -> pd.DataFrame:
    """One row per collector: each shift of the schedule staffs every area of its roads."""
    rows = []
    for sh in schedule.itertuples():
        mine = table[table["roads"] == sh.roads]
        for a in mine.itertuples():
            span_s = (sh.end_h - sh.start_h) * 3600
            rows.append({"collector": f"{a.area_code}-{sh.shift}", "area_code": a.area_code,
                         "roads": sh.roads, "shift": sh.shift, "start_h": sh.start_h,
                         "end_h": sh.end_h,
                         "rounds": int(span_s // a.round_s) if a.round_s > 0 else 0})
    return pd.DataFrame(rows, columns=["collector", "area_code", "roads", "shift", "start_h",
                                       "end_h", "rounds"])


def _area_table(result: CollectorAreas, routes: dict[str, PatrolRoute], roads: str,
                shift_h: float, limit_s: float, count_turns: bool) -> pd.DataFrame:
    a = result.areas
    codes = [c if roads == "all" else _cover_code(c) for c in a["area_code"]]
    rs = [routes[c].duration_s if c in routes else 0.0 for c in codes]
    travel = a["route_s"].to_numpy(dtype=float)
    return pd.DataFrame({
        "area_code": codes, "roads": roads, "community_code": a["community_code"].to_numpy(),
        "n_grids": a["n_grids"].to_numpy(), "streets": a["streets"].to_numpy(),
        "patrol_km": a["patrol_km"].to_numpy(), "service_s": a["service_s"].to_numpy(),
        "travel_s": travel, "round_s": rs,
        "deadhead_pct": np.where(travel > 0, 100 * a["deadhead_s"].to_numpy() /
                                 np.where(travel > 0, travel, 1), 0.0),
        "limit_s": limit_s,
        "fits": (np.asarray(rs) if count_turns else travel) <= limit_s * (1 + 1e-9),
        "rounds_per_shift": [int(shift_h * 3600 // r) if r > 0 else 0 for r in rs],
    })


def _visits(routes: dict[str, PatrolRoute], roster: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for r in roster.itertuples():
        route = routes.get(r.area_code)
        if route is None or route.duration_s <= 0:
            continue
        parts.append(route_visits(route, starts_s=[r.start_h * 3600], until_s=r.end_h * 3600,
                                  collector=r.collector))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["street_id", "t_s", "collector", "grade", "length_m"])


def _street_intervals(required: pd.DataFrame, routes: dict[str, PatrolRoute],
                      roster: pd.DataFrame, schedule: pd.DataFrame) -> pd.DataFrame:
    """Revisit interval of every required street over its window (shifts; grade-1 cover)."""
    visits = _visits(routes, roster)
    reg = schedule[schedule["roads"] == "all"]
    win_all = (float(reg["start_h"].min()) * 3600, float(reg["end_h"].max()) * 3600)
    win_g1 = (win_all[0], float(schedule["end_h"].max()) * 3600)
    req = required.assign(street_id=required["street_id"].astype(str))
    out = []
    for window, name, sel in ((win_all, "shifts", req["grade"] != 1),
                              (win_g1, "grade1 cover" if win_g1 != win_all else "shifts",
                               req["grade"] == 1)):
        part = req[sel]
        if not len(part):
            continue
        v = visits[visits["street_id"].astype(str).isin(part["street_id"])]
        iv = revisit_intervals(v, window_s=window, streets=part)
        iv = iv.reindex(part["street_id"].to_numpy())
        out.append(pd.DataFrame({
            "street_id": part["street_id"].to_numpy(), "area_code": part["area_code"].to_numpy(),
            "grade": part["grade"].to_numpy(), "length_m": part["length_m"].to_numpy(),
            "passes": iv["passes"].fillna(0).astype("int64").to_numpy(),
            "max_interval_s": iv["max_interval_s"].to_numpy(dtype=float), "window": name}))
    return pd.concat(out, ignore_index=True).sort_values("street_id", kind="stable") \
        .reset_index(drop=True)


def _late(streets: pd.DataFrame, table: pd.DataFrame, limit_s: float) -> pd.Series:
    """Why each street's longest unseen time is over the norm ('' when it is not): its
    area is over the norm, or the round as ridden (turns and U-turns) is longer than
    the riding time the norm held, or the handover between shifts."""
    rows = table.set_index("area_code")
    out = []
    for code, iv in zip(streets["area_code"], streets["max_interval_s"], strict=True):
        if not iv > limit_s * (1 + 1e-9):
            out.append("")
            continue
        a = rows.loc[code] if code in rows.index else None
        if a is not None and not bool(a["fits"]):
            out.append("its area's round is over the norm (see problems)")
        elif a is not None and a["round_s"] > limit_s * (1 + 1e-9):
            out.append(f"its round takes {a['round_s'] / 60:.1f} min with turns; the norm "
                       f"held the riding time ({a['travel_s'] / 60:.1f} min): plan with "
                       "count_turns=True (--count-turns) to hold it as ridden")
        else:
            out.append("the handover between shifts")
    return pd.Series(out, index=streets.index, dtype=object)


def _required(result: CollectorAreas, st: pd.DataFrame) -> pd.DataFrame:
    """Required streets with the area that serves them (``street_id``, ``grade``, …)."""
    owner = result.assignment.set_index("grid_code")["area_code"]
    req = st[st["unit"].isin(owner.index)].copy()
    req["area_code"] = owner.reindex(req["unit"]).to_numpy()
    return req[["street_id", "name", "grade", "length_m", "time_s", "area_code"]]


#: A plan problem's reason (:func:`_problems`) per language, from the same figures;
#: Chinese in the terms of docs/glossary.md (巡查区域, 空驶, 单元网格, 巡查路线).
_PROBLEM: dict[str, dict[str, str]] = {
    "en": {
        "times": "round {travel} min riding, {with_turns} min with turns, is over the "
                 "{lim:.0f} min norm",
        "single": "{times}; its streets alone take {service_min:.1f} min, the rest is travel "
                  "between them ({deadhead_pct:.0f}% deadhead: {far}); it is a single grid "
                  "that cannot be cut further",
        # on foot one-way streets are walked both ways: only the grid's shape can be to blame
        "far_walk": "they link up only far outside the grid",
        "far": "they link up only far outside the grid, e.g. round one-way streets or ramps "
               "a {mode} may not take",
        "over": "area {area_code}: {why}; raise the norm, use a faster mode or redraw the "
                "grid",
        "unserved": "street {street_id} ({name}) of area {area_code} is not served by its "
                    "round",
        "unnamed": "unnamed",
    },
    "zh": {
        "times": "每圈{ride} {travel} 分钟，含转弯 {with_turns} 分钟，超过 {lim:.0f} 分钟的标准",
        "single": "{times}；其道路本身只需 {service_min:.1f} 分钟，其余是道路之间的往返（空驶 "
                  "{deadhead_pct:.0f}%：{far}）；它是单个单元网格，不能再分",
        "far_walk": "这些道路只在网格外很远处相连",
        "far": "这些道路只在网格外很远处相连，如须绕行的单行道或{mode}不能走的匝道",
        "over": "巡查区域 {area_code}：{why}；可提高标准、换更快的巡查方式或重划网格",
        "unserved": "道路 {street_id}（{name}）属巡查区域 {area_code}，但该区域的巡查路线没有"
                    "经过它",
        "unnamed": "无名道路",
    },
}


#: What "riding" is in Chinese for each travel mode (the English text says riding).
_RIDE_ZH = {"walk": "步行", "car": "行驶"}


#: Who patrols the roads a mode's rounds leave out, by whether the mode is the car:
#: ``left_out`` the grade-1 roads it may not use (``G.graph["left_out_km"]``),
#: ``detached`` the streets cut off from their grids (``plan.detached``). A car plan has
#: no faster mode to hand them to.
_LEFT_TO = {
    "en": {"left_out": {"other": "plan those by car",
                        "car": "patrol them another way (on foot or by bike)"},
           "detached": {"other": "left to car patrols",
                        "car": "left out of the rounds (patrol them separately)"}},
    "zh": {"left_out": {"other": "请安排汽车巡查", "car": "请另行安排巡查（步行或自行车）"},
           "detached": {"other": "交给汽车巡查", "car": "不在巡查路线内（需另行安排巡查）"}},
}


def left_to(what: str, mode: str, lang: str = "en") -> str:
    """Who patrols the roads the rounds of ``mode`` leave out, worded in `lang`:
    ``what`` is ``"left_out"`` (grade-1 roads the mode may not use) or ``"detached"``
    (streets cut off from their grids). The plan's summary, the staffing notes and a
    route's note all say it this way."""
    return _LEFT_TO[lang][what]["car" if mode == "car" else "other"]


def _mode_words(mode: str, lang: str) -> dict[str, str]:
    """``mode`` and ``ride`` as the text of `lang` names them: under ``zh`` the mode's
    label (自行车; a mode of another profile file keeps its name) and what riding is."""
    if lang != "zh":
        return {"mode": mode, "ride": "riding"}
    profile = read_modes().get(mode)
    return {"mode": profile.label if profile is not None else mode,
            "ride": _RIDE_ZH.get(mode, "骑行")}


def _problems(table: pd.DataFrame, required: pd.DataFrame,
              routes: dict[str, PatrolRoute], source: str, mode: str,
              lang: str = "en") -> list[Problem]:
    """Areas over the norm and streets their round does not serve, the reason in `lang`
    (``"en"`` or ``"zh"``): the same records, in the same order, in either language."""
    text, words = _PROBLEM[lang], _mode_words(mode, lang)
    far = text["far_walk" if mode == "walk" else "far"].format(**words)
    out = []
    for a in table.itertuples():
        if not a.fits:
            v = {**words, "travel": minutes_over(a.travel_s, a.limit_s),
                 "with_turns": minutes_over(a.round_s, a.limit_s), "lim": a.limit_s / 60,
                 "service_min": a.service_s / 60, "deadhead_pct": a.deadhead_pct, "far": far}
            times = text["times"].format(**v)
            why = text["single"].format(**v, times=times) if a.n_grids == 1 else times
            # no row: the store has no such row, the area code names it (also as the
            # record, so a caller can pick the area's row of the table)
            out.append(_of_area(problem(source, None, "round_s", round(a.round_s, 1),
                                        text["over"].format(area_code=a.area_code, why=why)),
                                a.area_code))
    served: dict[str, set[str]] = {c: set(r.required) for c, r in routes.items()}
    for r in required.itertuples():
        if str(r.street_id) not in served.get(str(r.area_code), set()):
            why = text["unserved"].format(street_id=r.street_id, area_code=r.area_code,
                                          name=_text(r.name) or text["unnamed"])
            out.append(_of_area(problem(source, None, "street_id", str(r.street_id), why),
                                r.area_code))
    return out


def minutes_over(seconds: float, limit_s: float) -> str:
    """`seconds` in minutes, one decimal, or as many (up to 3) as show it over `limit_s`:
    a round of 8.04 min read "8.0 min …, is over the 8 min norm".

    Examples
    --------
    >>> minutes_over(482.4, 480), minutes_over(600, 480), minutes_over(470, 480)
    ('8.04', '10.0', '7.8')
    """
    m, lim = seconds / 60, limit_s / 60
    if m <= lim:
        return f"{m:.1f}"
    return next((f"{m:.{d}f}" for d in (1, 2) if round(m, d) > lim), f"{m:.3f}")


def _of_area(p: Problem, area_code: Any) -> Problem:
    """`p` with ``record`` the collector area it is about (its code)."""
    p["record"] = str(area_code)
    return p


def _lower_bound(areas: pd.DataFrame, by_col: str, limit_s: float) -> tuple[int, int]:
    """Per shift: Σ ceil(service / round) and Σ ceil(travel / round) over communities."""
    g = areas.groupby(by_col, dropna=False)
    lb = sum(math.ceil(s / limit_s - 1e-9) for s in g["service_s"].sum())
    dh = sum(math.ceil(s / limit_s - 1e-9) for s in g["travel_s"].sum())
    return int(lb), int(dh)


#: The manager's paragraph (:func:`_summary`) per language; Chinese in the terms of
#: docs/glossary.md (采集员, 巡查区域, 班次, 错时, 空驶, 一级道路, 按网格数, 按人均面积).
_SUMMARY: dict[str, dict[str, str]] = {
    "en": {
        "head": "This plan needs {headcount} {mode} collectors: {k} area{plural_k} ridden "
                "round in ≤ {lim:.0f} min × {s} shift(s)",
        "cover": " + {cover_k} grade-1 area{plural_cover} × {extra} staggered shift(s) = {g1} "
                 "to keep grade-1 roads patrolled {cover_h:g} h a day. ",
        "stop": ". ",
        "bound": "No plan can do with fewer than {lower_bound}: riding every street once "
                 "takes {service_min:.0f} min a round, and each community needs at least "
                 "that time / {lim:.0f} min, rounded up (grade-1 roads again for the "
                 "staggered shifts). ",
        "late": "{n_late} of {n_streets} streets are seen again later than the norm: {turns} "
                "because the norm held the riding time and turns add to it "
                "(count_turns=True, --count-turns, holds the round as ridden), {late_over} in "
                "areas over the norm, {handover} at a shift handover (the streets table says "
                "why for each). ",
        "met": "The plan meets its bound. ",
        "detached": "{n_detached} street(s), {detached_km:.1f} km, are {to_whom}: each joins "
                    "its grid's other streets only by a detour beyond {near_m:.0f} m of the "
                    "grid (a viaduct or tunnel over or under it, a road cut at the data's edge, "
                    "a lane reached only from elsewhere), and leaving them out lets the grid's "
                    "round fit the norm (plan.detached lists them). ",
        "deadhead": "riding between streets ({dead_pct:.0f}% of the riding is deadhead: an "
                    "area's streets join up only through streets outside it — the other "
                    "carriageway of a divided road, ramps, one-way streets — worth "
                    "{gap_deadhead})",
        "packing": "areas of whole grids that cannot fill the {lim:.0f} min (riding "
                   "{fill_pct:.0f}% of it on average; {n_empty} under half), worth "
                   "{gap_packing}",
        # over 100 % on average: the areas over the norm lift the mean past it
        "packing_over": "areas of whole grids that the {lim:.0f} min does not divide evenly "
                        "(the areas over the norm lift the mean riding to {fill_pct:.0f}% of "
                        "it; {n_empty} under half), worth {gap_packing}",
        "why": "The gap of {gap} comes, largest first, from {causes}. ",
        "and": " and from ",
        "less": ", less {less} for the areas over the norm, each counted as one collector "
                "though its round takes longer",
        "over": "{n_over} areas are single grids that cannot be ridden round within the norm "
                "at all (e.g. {over_codes}; see the problems): each still counts one "
                "collector. ",
        "sep": ", ",
        "g1": "The staggered grade-1 shifts are {g1_pct:.0f}% of the headcount: grade-1 roads "
              "alone are far apart, so their rounds are mostly riding between them. ",
        "act": "To close it: let areas cross community lines (cross_communities=True, "
               "--cross-communities)",
        "act_trunk": ", leave expressways and their ramps (trunk, trunk_link) to car patrols",
        "left_out": "The {mode} mode leaves out {left_km:.1f} km of {left_hw} in the street "
                    "data (grade-1 roads closed to {mode} patrols: motorways, expressways and "
                    "their ramps, or tagged closed): {left_action}. ",
        "act_over": ", or give the areas over the norm a faster mode. ",
        "norms": "For comparison the grid norm gives {grids_low}–{grids_high} on the roster "
                 "and the area norm {area_headcount} ({s} shift(s)); they count grids or km², "
                 "not the riding the streets need.",
    },
    "zh": {
        "head": "本方案需要 {headcount} 名{mode}采集员：{k} 个巡查区域，每圈 ≤ {lim:.0f} 分钟 "
                "× {s} 个班次",
        "cover": " + {cover_k} 个一级道路巡查区域 × {extra} 个错时班次 = {g1} 名，使一级道路"
                 "每天巡查 {cover_h:g} 小时。",
        "stop": "。",
        "bound": "任何方案都不能少于 {lower_bound} 名：把每条道路巡查一遍每圈需 "
                 "{service_min:.0f} 分钟，每个社区至少需要这一时间 / {lim:.0f} 分钟（向上取整；"
                 "错时班次再算一次一级道路）。",
        "late": "{n_streets} 条道路中有 {n_late} 条的重访间隔超过标准：{turns} 条因为标准只计"
                "{ride}时间、转弯另需时间（count_turns=True、--count-turns 按含转弯的一圈计），"
                "{late_over} 条在超标的巡查区域内，{handover} 条在交接班时（道路表逐条写明原因）。",
        "met": "本方案已达到下界。",
        "detached": "{n_detached} 条道路（{detached_km:.1f} 公里）{to_whom}：它们与所在单元"
                    "网格的其他道路只能绕行到网格 {near_m:.0f} 米以外才相连（网格上方的高架、下方"
                    "的隧道、数据边缘被截断的道路，或只能从别处进入的小巷），不计它们网格的一圈"
                    "才能在标准时间内巡查完（plan.detached 逐条列出）。",
        "deadhead": "道路之间的空驶（{ride}中 {dead_pct:.0f}% 是空驶：区域内的道路只经区域外的"
                    "道路相连——双幅路的另一幅、匝道、单行道——计 {gap_deadhead} 名）",
        "packing": "由整个单元网格组成的巡查区域填不满 {lim:.0f} 分钟（平均只用其 "
                   "{fill_pct:.0f}%，{n_empty} 个不到一半），计 {gap_packing} 名",
        "packing_over": "由整个单元网格组成的巡查区域无法按 {lim:.0f} 分钟均匀划分（超标的"
                        "巡查区域使平均{ride}时间达到标准的 {fill_pct:.0f}%，{n_empty} 个不到"
                        "一半），计 {gap_packing} 名",
        "why": "与下界相差的 {gap} 名，按大小依次来自{causes}。",
        "and": "，以及",
        "less": "，再减去超标巡查区域少计的 {less} 名（每个只计一名采集员，尽管其一圈超过"
                "标准）",
        "over": "{n_over} 个巡查区域是单个单元网格，在标准时间内巡查不完一圈（如 "
                "{over_codes}；见问题列表）：每个仍计一名采集员。",
        "sep": "、",
        "g1": "一级道路错时班次占总人数的 {g1_pct:.0f}%：一级道路彼此相距较远，其巡查路线"
              "大部分是道路之间的空驶。",
        "act": "缩小差距的办法：允许巡查区域跨社区（cross_communities=True、"
               "--cross-communities）",
        "act_trunk": "，把快速路及其匝道（trunk、trunk_link）交给汽车巡查",
        "left_out": "{mode}巡查不含道路数据中 {left_km:.1f} 公里的 {left_hw}（{mode}不得驶入的"
                    "一级道路：高速公路、快速路及其匝道，或标注禁行的道路）：{left_action}。",
        "act_over": "，或为超标的巡查区域换更快的巡查方式。",
        "norms": "作为对比，按网格数名册上为 {grids_low}–{grids_high} 名，按人均面积为 "
                 "{area_headcount} 名（{s} 个班次）；这两种标准只计网格数或面积，不计巡查道路"
                 "所需的{ride}。",
    },
}


def _summary(plan: dict[str, Any], lang: str = "en") -> str:
    """The paragraph a district manager acts on: headcount, bound, what drives the gap
    (largest first) and what closes it; ``lang`` ``"en"`` or ``"zh"``."""
    text = _SUMMARY[lang]
    v = _summary_values(plan) | _mode_words(plan["mode"], lang)
    out = text["head"].format(**v) + (text["cover"] if v["g1"] else text["stop"]).format(**v)
    out += text["bound"].format(**v)
    if v["left_km"] > 0:
        out += text["left_out"].format(**v, left_action=left_to("left_out", plan["mode"], lang))
    if v["n_detached"]:
        out += text["detached"].format(**v, to_whom=left_to("detached", plan["mode"], lang),
                                       near_m=DETACH_NEAR_M)
    late = text["late"].format(**v) if v["n_late"] else ""
    if v["gap"] <= 0:
        return out + text["met"] + late + text["norms"].format(**v)
    packing = text["packing_over" if round(v["fill_pct"]) > 100 else "packing"]
    parts = [(v["gap_deadhead"], text["deadhead"]), (v["gap_packing"], packing)]
    # a cause worth no collector is left out; areas over the norm count one collector
    # each though their rounds need more, so they take collectors off the gap ("worth -4")
    causes = text["and"].join(t.format(**v) for n, t in sorted(parts, key=lambda p: -p[0])
                              if n > 0)
    if v["gap_packing"] < 0:
        causes += text["less"].format(less=-v["gap_packing"])
    out += text["why"].format(**v, causes=causes)
    if v["n_over"]:
        out += text["over"].format(**{**v, "over_codes": text["sep"].join(v["over_codes"])})
    if v["g1"]:
        out += text["g1"].format(**v)
    # expressways are trunk roads in Chinese OSM only; elsewhere trunk is a main road
    out += late + text["act"] + (text["act_trunk"] if plan["trunk_ridden"] else "")
    out += text["act_over"] if v["n_over"] else text["stop"]
    return out + text["norms"].format(**v)


def _summary_values(plan: dict[str, Any]) -> dict[str, Any]:
    """The figures the summary paragraph quotes, in either language."""
    t, k = plan["table"], plan["k"]
    reg = t[t["roads"] == "all"]
    fill = reg["travel_s"] / reg["limit_s"]
    late = {key: n for key, n in plan["late"].items() if key}
    turns, late_over = late.get("its round ta", 0), late.get("its area's r", 0)
    over = t[~t["fits"]]
    d = plan["staffing"].iloc[-1]
    return {
        "headcount": plan["headcount"], "mode": plan["mode"], "k": k,
        "plural_k": "" if k == 1 else "s", "lim": plan["limit_s"] / 60, "s": plan["shifts"],
        "cover_k": plan["cover_k"], "plural_cover": "" if plan["cover_k"] == 1 else "s",
        "extra": plan["extra"], "g1": plan["cover_k"] * plan["extra"],
        "cover_h": plan["cover_h"], "lower_bound": plan["lower_bound"],
        "service_min": reg["service_s"].sum() / 60, "n_late": sum(late.values()),
        "n_streets": plan["n_streets"], "turns": turns, "late_over": late_over,
        "handover": sum(late.values()) - turns - late_over,
        "gap": plan["headcount"] - plan["lower_bound"],
        "dead_pct": 100 * (1 - reg["service_s"].sum() / max(reg["travel_s"].sum(), 1e-9)),
        "gap_deadhead": plan["gap"]["deadhead"], "gap_packing": plan["gap"]["packing"],
        "fill_pct": 100 * fill.mean(), "n_empty": int((fill < 0.5).sum()),
        "n_over": len(over), "over_codes": list(over["area_code"].head(3)),
        "g1_pct": 100 * plan["cover_k"] * plan["extra"] / max(plan["headcount"], 1),
        "grids_low": int(d["grids_low"]), "grids_high": int(d["grids_high"]),
        "area_headcount": int(d["area_headcount"]),
        "left_km": sum(plan["left_out_km"].values()),
        "left_hw": ", ".join(plan["left_out_km"]),
        "n_detached": plan["detached"]["street_id"].nunique(),
        "detached_km": plan["detached"].drop_duplicates("street_id")["length_m"].sum() / 1000,
    }


def plan_district(
    G: nx.MultiDiGraph,
    grids: gpd.GeoDataFrame,
    *,
    limit_s: float = 1800.0,
    shifts: int | None = None,
    norms: StaffingNorms | None = None,
    by: str = "community_code",
    unit: str = "work_grid_code",
    cross_communities: bool = False,
    previous: Mapping[str, str] | None = None,
    start_h: float = 7.0,
    count_turns: bool = False,
    seed: int = 0,
    iterations: int | None = 60,
    time_limit_s: float = 2.0,
    source: str = "district plan",
    workers: int | None = 1,
) -> DistrictPlan:
    """A district's patrol plan: collector areas, rounds, shifts, roster, revisit times.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Street graph of the mode (:func:`urbangrid.routing.patrol.streets.street_graph`),
        metric CRS in ``G.graph["crs"]`` (metres), ``time_s`` and ``grade`` on every arc.
    grids : geopandas.GeoDataFrame
        Unit grids in any stated CRS, with ``grid_code``, ``by`` (12-digit community
        codes), ``area_m2`` and optionally ``grade`` (管理等级 1-3; missing grades are
        taken from the best road of the grid) and ``unit`` (work grids).
    limit_s : float
        The round norm, seconds (1,800: a 30 min round by bike, as in Beijing Chaoyang).
    shifts : int, optional
        Regular shifts per day (default from the norms).
    norms : StaffingNorms, optional
        Default: the bundled ``norms/staffing.toml`` (shift hours, grade-1 cover hours).
    by, unit, cross_communities, previous
        As :func:`~urbangrid.routing.patrol.collector_areas.plan_collector_areas`.
    start_h : float
        Start of the first shift, hours after midnight.
    count_turns : bool
        Hold the rounds *as ridden* (turn and U-turn penalties of the mode included)
        to the norm, re-cutting a community whose areas the turns push over it (slower:
        a community may be cut up to three more times). Default: the norm holds the
        riding time (``time_s``), as the staffing norms do; ``round_s`` in the table
        shows the round with turns either way.
    seed, iterations, time_limit_s
        Budget of each round's search; with ``iterations`` the plan is deterministic.
    source : str
        Name for problem records.
    workers : int, optional
        Processes the communities are planned in (the plan is the same for any number):
        None for one per usable core (at most 4); the default 1 plans in this process.
        More than 1 starts fresh interpreters, so a script calling this needs the
        ``if __name__ == "__main__":`` guard. ``plan.info["workers"]`` says how many ran.

    Returns
    -------
    DistrictPlan
        ``plan.ok`` is False when a round cannot meet the norm (``plan.problems`` names
        the area and why) or a street is left unserved.

    Raises
    ------
    ShiftLimitError
        A single street takes longer than the norm to ride (named): no plan can meet it.
    StaffingError
        No grids, missing columns, bad shift count.
    """
    import time

    t0 = time.perf_counter()
    norms = norms or read_staffing_norms()
    shifts = norms.default_shifts if shifts is None else shifts
    if not isinstance(shifts, int | np.integer) or not 1 <= shifts <= norms.max_shifts:
        raise StaffingError(f"shifts must be an integer 1-{norms.max_shifts}, not {shifts!r}")
    if len(grids) == 0:
        raise StaffingError("no unit grids: load or generate them first")
    H = patrol_graph(G)
    graded, n_graded = _graded(grids, H)
    opts = {"unit": unit, "by": by, "cross_communities": cross_communities, "seed": seed,
            "iterations": iterations, "time_limit_s": time_limit_s, "on_over": "flag",
            "count_turns": count_turns, "workers": workers}
    areas, routes = _fitting_areas(H, graded, limit_s, previous, opts, "all")
    schedule = shift_schedule(shifts, norms=norms, start_h=start_h)
    extra = int((schedule["roads"] == "grade1").sum())
    st = assign_streets(H, graded.to_crs(H.graph["crs"]), key="grid_code")
    cover = None
    if extra and (st["grade"] == 1).any():
        cover, more = _fitting_areas(H, graded, limit_s, None, opts, "grade1",
                                     streets=st[st["grade"] == 1])
        routes.update(more)
    t1 = time.perf_counter()
    return _assemble(H, graded, areas, cover, routes, st, schedule, {
        "limit_s": float(limit_s), "shifts": int(shifts), "norms": norms, "by": by,
        "count_turns": count_turns,
        "source": source, "extra": extra, "n_graded": n_graded,
        "t_areas_s": t1 - t0, "t0": t0})


def _fitting_areas(H: nx.MultiDiGraph, grids: gpd.GeoDataFrame, limit_s: float,
                   previous: Mapping[str, str] | None, opts: dict[str, Any], roads: str,
                   streets: pd.DataFrame | None = None,
                   ) -> tuple[CollectorAreas, dict[str, PatrolRoute]]:
    """Collector areas whose rounds fit ``limit_s`` as ridden (turn penalties included).

    The areas are cut on riding time (no turns); a community where the turns push an area
    of several grids over the norm is cut again on a limit shortened by those turns' share
    (at most 3 times), the other communities keep their areas.
    """
    opts = dict(opts)
    count_turns = opts.pop("count_turns")
    result = plan_collector_areas(H, grids, limit_s=limit_s, previous=previous,
                                  streets=streets, **opts)
    routes = _rounds(H, result, roads)
    if not count_turns:
        return result, routes
    region_col = grids[opts["by"]].astype(str)
    if opts["cross_communities"]:
        region_col = region_col.str[:9]
    cut = dict.fromkeys(result.info["k"], limit_s)
    for _ in range(3):
        over = _over(result, routes, roads, limit_s)
        if not over:
            break
        for region, ratio in over.items():
            cut[region] *= ratio
            sub = plan_collector_areas(H, grids[region_col.to_numpy() == region],
                                       limit_s=cut[region], previous=previous,
                                       streets=streets, **opts)
            result = _replace_region(result, sub, region)
            routes = {c: r for c, r in routes.items() if not c.startswith(region)}
            routes |= _rounds(H, sub, roads)
    return result, routes


def _over(result: CollectorAreas, routes: dict[str, PatrolRoute], roads: str,
          limit_s: float) -> dict[str, float]:
    """Regions with an area of several grids over ``limit_s`` as ridden, and the factor
    (riding / ridden, less 1 %) to shorten their cutting limit by."""
    out: dict[str, float] = {}
    for c, n in zip(result.areas["area_code"], result.areas["n_grids"], strict=True):
        rid = c if roads == "all" else _cover_code(c)
        r = routes.get(rid)
        if n > 1 and r is not None and r.duration_s > limit_s * (1 + 1e-9):
            region = next(k for k in result.info["k"] if c.startswith(k))
            ratio = min(0.99 * limit_s / r.duration_s, 0.99)
            out[region] = min(out.get(region, 1.0), ratio)
    return out


def _replace_region(result: CollectorAreas, sub: CollectorAreas, region: str) -> CollectorAreas:
    """``result`` with the areas of ``region`` replaced by those of ``sub``."""
    keep = ~result.areas["area_code"].str.startswith(region)
    areas = pd.concat([result.areas[keep], sub.areas], ignore_index=True)
    areas = gpd.GeoDataFrame(areas.sort_values("area_code", kind="stable", ignore_index=True),
                             geometry="geometry", crs=result.crs)
    kept = set(result.areas.loc[keep, "area_code"])
    assignment = pd.concat([result.assignment[result.assignment["area_code"].isin(kept)],
                            sub.assignment], ignore_index=True)
    routes = {c: r for c, r in result.routes.items() if c in kept} | sub.routes
    info = dict(result.info)
    info["k"] = dict(result.info["k"]) | dict(sub.info["k"])
    info["routes_solved"] = result.info.get("routes_solved", 0) + sub.info.get("routes_solved", 0)
    cut = result.info.get("detached")
    if cut is not None:
        info["detached"] = pd.concat([cut[cut["area_code"].isin(kept)],
                                      sub.info["detached"]], ignore_index=True)
    return CollectorAreas(areas=areas, assignment=assignment, routes=routes, crs=result.crs,
                          info=info)


def _assemble(H: nx.MultiDiGraph, grids: gpd.GeoDataFrame, areas: CollectorAreas,
              cover: CollectorAreas | None, routes: dict[str, PatrolRoute],
              st: pd.DataFrame, schedule: pd.DataFrame, ctx: dict[str, Any]) -> DistrictPlan:
    """Tables, roster, intervals, checks, bound and summary of a plan's areas and rounds."""
    norms: StaffingNorms = ctx["norms"]
    limit_s = ctx["limit_s"]
    parts = [_area_table(areas, routes, "all", norms.shift_h, limit_s,
                         ctx["count_turns"])]
    if cover is not None:
        parts.append(_area_table(cover, routes, "grade1", norms.shift_h, limit_s,
                                 ctx["count_turns"]))
    table = pd.concat(parts, ignore_index=True)
    if cover is None:
        schedule = schedule[schedule["roads"] == "all"]
    roster = _roster(table, schedule)
    detached = _detached(areas, cover)
    reg_cut = set(detached.loc[detached["roads"] == "all", "street_id"])
    required = _required(areas, st[~st["street_id"].isin(reg_cut)])
    streets = _street_intervals(required, routes, roster, schedule)
    worst = streets.groupby("area_code")["max_interval_s"].max()
    if cover is not None:
        # the grade-1 streets are also served by the cover rounds: check those too
        cov_cut = set(detached.loc[detached["roads"] == "grade1", "street_id"])
        cov = _required(cover, st[(st["grade"] == 1) & ~st["street_id"].isin(cov_cut)])
        cov["area_code"] = cov["area_code"].map(_cover_code)
        g1 = streets[streets["grade"] == 1].set_index("street_id")["max_interval_s"]
        worst = pd.concat([worst, g1.reindex(cov["street_id"].astype(str).to_numpy())
                           .groupby(cov["area_code"].to_numpy()).max()])
        required = pd.concat([required, cov], ignore_index=True)
    table["max_revisit_s"] = table["area_code"].map(worst)
    table["collectors"] = table["area_code"].map(roster.groupby("area_code").size()) \
        .fillna(0).astype("int64")
    streets["late"] = _late(streets, table, limit_s)
    problems = {lang: _problems(table, required, routes, ctx["source"], H.graph["mode"], lang)
                for lang in _PROBLEM}
    return _finish(H, grids, areas, cover, routes, table, roster, streets, problems,
                   {**ctx, "detached": detached})


def _detached(areas: CollectorAreas, cover: CollectorAreas | None) -> pd.DataFrame:
    """The streets the regular and cover rounds left to another mode, with ``roads``."""
    parts = [areas.info.get("detached", _detached_frame([])).assign(roads="all")]
    if cover is not None:
        parts.append(cover.info.get("detached", _detached_frame([])).assign(roads="grade1"))
    return pd.concat(parts, ignore_index=True)


def _finish(H: nx.MultiDiGraph, grids: gpd.GeoDataFrame, areas: CollectorAreas,
            cover: CollectorAreas | None, routes: dict[str, PatrolRoute], table: pd.DataFrame,
            roster: pd.DataFrame, streets: pd.DataFrame,
            problems: dict[str, list[Problem]], ctx: dict[str, Any]) -> DistrictPlan:
    """Headcount, its bound and gap, the staffing table and the summary paragraph."""
    import time

    norms: StaffingNorms = ctx["norms"]
    limit_s, shifts = ctx["limit_s"], ctx["shifts"]
    reg = table[table["roads"] == "all"]
    k = len(reg)
    cover_k = len(table) - k
    extra = ctx["extra"] if cover is not None else 0
    lb_shift, dh_shift = _lower_bound(reg, "community_code", limit_s)
    lb_cover = 0
    if cover is not None:
        lb_cover, _ = _lower_bound(table[table["roads"] == "grade1"], "community_code", limit_s)
    headcount = k * shifts + cover_k * extra
    lower = lb_shift * shifts + lb_cover * extra
    gap = {"deadhead": (dh_shift - lb_shift) * shifts,
           "packing": headcount - lower - (dh_shift - lb_shift) * shifts}
    tb = None
    if table["community_code"].notna().all():  # areas within communities: per-community rows
        tb = _time_rows(table, communities=grids[ctx["by"]].astype(str).unique(),
                        shifts=shifts, extra=extra, limit_s=limit_s, by=ctx["by"])
    staff = staffing_table(grids, shifts=shifts, norms=norms, by=ctx["by"], time_based=tb)
    facts = {"table": table, "k": k, "shifts": shifts, "limit_s": limit_s,
             "mode": H.graph["mode"], "cover_k": cover_k, "extra": extra,
             "cover_h": norms.grade1_cover_h, "headcount": headcount, "lower_bound": lower,
             "gap": gap, "staffing": staff,
             "late": streets["late"].str.split(";").str[0].str[:12].value_counts().to_dict(),
             "n_streets": len(streets), "detached": ctx["detached"],
             "left_out_km": dict(H.graph.get("left_out_km") or {}),
             # advice for the modes China closes trunk to, given a file that opens it
             "trunk_ridden": H.graph.get("country") == "CN" and H.graph["mode"] != "car"
             and any(
                 d.get("highway") in ("trunk", "trunk_link") for *_, d in H.edges(data=True))}
    info = {"t_areas_s": ctx["t_areas_s"], "t_total_s": time.perf_counter() - ctx["t0"],
            "graded_grids": ctx["n_graded"], "workers": areas.info.get("workers", 1),
            "routes_solved":
            areas.info.get("routes_solved", 0) + (cover.info.get("routes_solved", 0)
                                                  if cover is not None else 0)}
    return DistrictPlan(
        mode=H.graph["mode"], limit_s=limit_s, shifts=shifts, areas=areas, cover=cover,
        routes=routes, table=table, roster=roster, streets=streets, staffing=staff,
        headcount=headcount, lower_bound=lower, gap=gap, problems=problems["en"],
        problems_zh=problems["zh"], summary=_summary(facts), summary_zh=_summary(facts, "zh"),
        detached=ctx["detached"], info=info)


def _time_rows(table: pd.DataFrame, *, communities: Any, shifts: int, extra: int,
               limit_s: float, by: str) -> pd.DataFrame:
    """The time-based columns :func:`staffing_table` adds, per community, from the plan."""
    rows = []
    for code in sorted(communities):
        grp = table[table["community_code"].astype(str) == code]
        reg = grp[grp["roads"] == "all"]
        cov = grp[grp["roads"] == "grade1"]
        rows.append({by: str(code), "time_per_shift": len(reg), "grade1_extra": len(cov) * extra,
                     "time_headcount": len(reg) * shifts + len(cov) * extra,
                     "limit_s": float(limit_s),
                     "max_route_s": float(reg["round_s"].max()) if len(reg) else 0.0})
    return pd.DataFrame(rows).set_index(by)


def _all_areas(plan: DistrictPlan) -> CollectorAreas:
    """The regular and the grade-1 cover areas as one set (cover codes ``…G01``)."""
    if plan.cover is None:
        return plan.areas
    cov = plan.cover
    areas = cov.areas.assign(area_code=cov.areas["area_code"].map(_cover_code))
    assignment = cov.assignment.assign(area_code=cov.assignment["area_code"].map(_cover_code))
    both = pd.concat([plan.areas.areas, areas], ignore_index=True)
    return CollectorAreas(
        areas=gpd.GeoDataFrame(both, geometry="geometry", crs=plan.areas.crs),
        assignment=pd.concat([plan.areas.assignment, assignment], ignore_index=True),
        routes=dict(plan.areas.routes) | {_cover_code(c): r for c, r in cov.routes.items()},
        crs=plan.areas.crs, info=dict(plan.areas.info))


def load_district_plan(store: Any, plan: DistrictPlan, *, source: str = "district plan",
                       ) -> dict[str, Any]:
    """Write a plan's areas (``collector_area``) and rounds (``patrol_route``) into a store.

    Areas replace the layer's current ones (history kept); routes are upserted by
    ``"<area code>:<mode>"``. Writing an unchanged plan again changes nothing.

    Parameters
    ----------
    store : urbangrid.store.Store
        An open, migrated store.
    plan : DistrictPlan
    source : str
        Provenance column.

    Returns
    -------
    dict of str to urbangrid.store.WriteResult
        ``{"collector_area": …, "patrol_route": …}``.
    """
    from urbangrid.routing.patrol.collector_areas import load_collector_areas
    from urbangrid.routing.patrol.export import load_routes

    areas = load_collector_areas(store, _all_areas(plan), mode=plan.mode, source=source)
    routes = load_routes(store, [plan.routes[c] for c in sorted(plan.routes)],
                         mode="upsert", source=source)
    return {"collector_area": areas, "patrol_route": routes}


def write_district_plan(plan: DistrictPlan, directory: str | Path, *,
                        day: date | None = None, tz: str = "Asia/Shanghai",
                        lang: str = "en") -> list[Path]:
    """Write a plan's files: one GPX per collector, the tables as CSV, the summary.

    Files: ``gpx/<collector>.gpx`` (WGS84; with ``day``, each track point carries the
    time it is planned to be passed, the round repeated from the shift's start),
    ``areas.csv``, ``roster.csv``, ``streets.csv``, ``staffing.csv``, ``summary.txt``,
    ``detached.csv`` (:attr:`DistrictPlan.detached`, the streets left to car patrols;
    its header alone when there are none), and for QGIS ``areas.geojson`` (each area's
    outline with its row of ``areas.csv``) and ``rounds.geojson`` (each area's round as
    one line), both WGS84 lon/lat.
    Written to a temporary folder first and moved in place, so a failure leaves no
    half-written plan.

    Parameters
    ----------
    plan : DistrictPlan
    directory : str or Path
        Output folder (created).
    day : datetime.date, optional
        The day the roster is for, to time the GPX tracks.
    tz : str
        Time zone of the shift hours.
    lang : str
        Language of ``summary.txt``: ``"en"`` (:attr:`DistrictPlan.summary`) or ``"zh"``
        (:attr:`DistrictPlan.summary_zh`).

    Returns
    -------
    list of Path
        The files written.
    """
    import shutil
    import tempfile

    from urbangrid.routing.patrol.export import write_geojson, write_gpx

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".plan-", dir=out))
    try:
        f = {k: tmp / v for k, v in PLAN_FILES.items()}
        f["gpx"].mkdir()
        for r in plan.roster.itertuples():
            start = None
            if day is not None:
                from zoneinfo import ZoneInfo

                start = datetime.combine(day, datetime.min.time(), ZoneInfo(tz)) + \
                    timedelta(hours=float(r.start_h))
            write_gpx(plan.routes[r.area_code], f["gpx"] / f"{r.collector}.gpx",
                      start_time=start, name=f"巡查路线 {r.collector} ({r.roads}, shift "
                      f"{r.shift} {_hhmm(r.start_h)}-{_hhmm(r.end_h)})")
        plan.table.round(1).to_csv(f["areas"], index=False)
        plan.roster.to_csv(f["roster"], index=False)
        plan.streets.round(1).to_csv(f["streets"], index=False)
        plan.staffing.round(3).to_csv(f["staffing"])
        plan.detached.round(1).to_csv(f["detached"], index=False)
        f["summary"].write_text((plan.summary_zh if lang == "zh" else plan.summary) + "\n",
                                encoding="utf-8")
        _areas_wgs84(plan).to_file(f["areas_geojson"], driver="GeoJSON")
        write_geojson([plan.routes[c] for c in sorted(plan.routes)], f["rounds"])
        if (out / PLAN_FILES["gpx"]).exists():
            shutil.rmtree(out / PLAN_FILES["gpx"])
        written = []
        for done in sorted(tmp.rglob("*")):
            if done.is_file():
                dest = out / done.relative_to(tmp)
                dest.parent.mkdir(parents=True, exist_ok=True)
                done.replace(dest)
                written.append(dest)
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _areas_wgs84(plan: DistrictPlan) -> gpd.GeoDataFrame:
    """Every area's outline (regular and grade-1 cover) with its row of the area table."""
    outlines = _all_areas(plan).areas[["area_code", "geometry"]]
    table = plan.table.round(1).drop(columns="geometry", errors="ignore")
    both = outlines.merge(table, on="area_code", how="left")
    return gpd.GeoDataFrame(both, geometry="geometry", crs=plan.areas.crs).to_crs(4326)


def _hhmm(hours: float) -> str:
    return f"{int(hours) % 24:02d}:{round(hours % 1 * 60):02d}"
