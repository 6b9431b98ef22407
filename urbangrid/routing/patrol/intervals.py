"""Patrol intervals (巡查频次): how often each street is seen, and shifts that keep it so.

A collector who repeats a patrol loop passes each street once per loop (more often if
the loop runs along it twice); several collectors or shifts on overlapping areas add
their passes together. This module works on *visits*: one row per pass of a street at a
time of day (seconds after midnight), read from
:class:`~urbangrid.routing.patrol.routes.PatrolRoute`
legs, so that routes of different areas, modes and shifts combine by ``street_id``.

* :func:`route_visits` — passes of one route repeated from given start times;
* :func:`revisit_intervals` — per street, the gaps between consecutive passes (max,
  mean), optionally counting the unseen time at the ends of a coverage window;
* :func:`share_seen_every` — share of streets (e.g. grade-1, 一级道路) whose longest
  gap is at most N minutes;
* :func:`staggered_schedule` — collectors per shift and their staggered start times that
  keep a loop's streets seen at least every ``max_interval_s`` through a coverage window
  (e.g. grade-1 roads 14 hours a day, as in Chongqing Nan'an).

A pass is timed at the middle of the traversal. Times are seconds; a day is
86,400 s.

Examples
--------
A 600 s loop repeated from 07:00 to 08:00 passes every street every 600 s:

>>> import pandas as pd
>>> legs = pd.DataFrame({"street_id": ["a", "b"], "t_start_s": [0.0, 300.0],
...                      "t_end_s": [300.0, 600.0], "grade": [1, 1], "length_m": [1.0, 1.0]})
>>> v = route_visits(legs, loop_s=600.0, starts_s=[25200.0], until_s=28800.0)
>>> revisit_intervals(v)["max_interval_s"].tolist()
[600.0, 600.0]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from urbangrid.errors import RoutingError

__all__ = [
    "revisit_intervals",
    "route_visits",
    "schedule_visits",
    "share_seen_every",
    "staggered_schedule",
]

_VISIT_COLUMNS = ["street_id", "t_s", "collector", "grade", "length_m"]


def _legs_of(route: Any) -> tuple[pd.DataFrame, float]:
    legs = route.legs if hasattr(route, "legs") else route
    need = {"street_id", "t_start_s", "t_end_s"}
    missing = need - set(legs.columns)
    if missing:
        raise RoutingError(f"route legs lack column(s) {', '.join(sorted(missing))}")
    loop = float(route.duration_s) if hasattr(route, "duration_s") else float(
        legs["t_end_s"].max() if len(legs) else 0.0)
    return legs, loop


def route_visits(
    route: Any,
    *,
    starts_s: Sequence[float],
    until_s: float,
    loop_s: float | None = None,
    collector: str | None = None,
) -> pd.DataFrame:
    """Passes of every street when a loop is repeated from each start time until a time.

    Parameters
    ----------
    route : PatrolRoute or pandas.DataFrame
        A route, or its legs (``street_id``, ``t_start_s``, ``t_end_s`` seconds from
        the loop start; ``grade`` and ``length_m`` are carried when present).
    starts_s : sequence of float
        Start time of each collector riding the loop, seconds after midnight.
    until_s : float
        Every collector stops at this time, even mid-loop, seconds after midnight.
    loop_s : float, optional
        Loop time in seconds; default the route's duration (its last ``t_end_s``).
    collector : str, optional
        Name prefix of the collectors (``"<collector>#<i>"``); default ``route.area_id``.

    Returns
    -------
    pandas.DataFrame
        ``street_id``, ``t_s`` (seconds after midnight), ``collector``, ``grade``,
        ``length_m``; one row per pass, sorted by time.
    """
    legs, loop = _legs_of(route)
    if loop_s is not None:
        loop = float(loop_s)
    if not loop > 0:
        raise RoutingError(f"the loop time must be > 0 s, not {loop!r}")
    mid = ((legs["t_start_s"] + legs["t_end_s"]) / 2).to_numpy(dtype=float)
    if len(mid) and (mid.max() > loop or mid.min() < 0):
        raise RoutingError(f"leg times fall outside the loop of {loop} s")
    name = collector if collector is not None else str(getattr(route, "area_id", "") or "route")
    grade = legs["grade"].to_numpy() if "grade" in legs else np.full(len(legs), np.nan)
    length = legs["length_m"].to_numpy() if "length_m" in legs else np.full(len(legs), np.nan)
    sid = legs["street_id"].astype(str).to_numpy()
    parts = []
    for i, s in enumerate(starts_s):
        s = float(s)
        if s >= until_s:
            continue
        n = math.ceil((until_s - s) / loop)
        t = (s + loop * np.arange(n)[:, None] + mid[None, :]).ravel()
        keep = t < until_s
        parts.append(pd.DataFrame({
            "street_id": np.tile(sid, n)[keep],
            "t_s": t[keep],
            "collector": f"{name}#{i}",
            "grade": np.tile(grade, n)[keep],
            "length_m": np.tile(length, n)[keep],
        }))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("street_id", "collector")
                                          else float) for c in _VISIT_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["t_s", "street_id"], kind="stable").reset_index(drop=True)


def revisit_intervals(
    visits: pd.DataFrame | Iterable[pd.DataFrame],
    *,
    window_s: tuple[float, float] | None = None,
    streets: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Revisit interval of every street: the gaps between consecutive passes.

    Parameters
    ----------
    visits : pandas.DataFrame or iterable of DataFrame
        From :func:`route_visits` / :func:`schedule_visits`; several frames (several
        collectors, shifts or overlapping areas) are pooled by ``street_id``.
    window_s : (float, float), optional
        ``(start_s, end_s)`` seconds after midnight: only passes inside count, and the
        unseen time from ``start_s`` to the first pass and from the last pass to
        ``end_s`` counts as a gap. Default: only gaps between passes.
    streets : pandas.DataFrame, optional
        Streets that must be seen (``street_id``, optional ``grade``, ``length_m``);
        one never passed gets ``inf`` intervals.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``street_id``: ``passes``, ``first_s``, ``last_s``,
        ``max_interval_s``, ``mean_interval_s`` (NaN for a street passed once with no
        window), ``grade``, ``length_m``.
    """
    frames = [visits] if isinstance(visits, pd.DataFrame) else list(visits)
    v = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=_VISIT_COLUMNS)
    if window_s is not None:
        a, b = float(window_s[0]), float(window_s[1])
        if not b > a:
            raise RoutingError(f"window end {b} must be after its start {a}")
        v = v[(v["t_s"] >= a) & (v["t_s"] <= b)]
    rows: list[dict[str, Any]] = []
    for sid, grp in v.groupby("street_id", sort=True):
        t = np.sort(grp["t_s"].to_numpy(dtype=float))
        if window_s is not None:
            t = np.r_[a, t, b]
        gaps = np.diff(t)
        rows.append({
            "street_id": sid,
            "passes": len(grp),
            "first_s": float(grp["t_s"].min()),
            "last_s": float(grp["t_s"].max()),
            "max_interval_s": float(gaps.max()) if len(gaps) else math.nan,
            "mean_interval_s": float(gaps.mean()) if len(gaps) else math.nan,
            "grade": grp["grade"].iloc[0] if "grade" in grp else math.nan,
            "length_m": grp["length_m"].iloc[0] if "length_m" in grp else math.nan,
        })
    out = pd.DataFrame(rows, columns=["street_id", "passes", "first_s", "last_s",
                                      "max_interval_s", "mean_interval_s", "grade", "length_m"])
    if streets is not None:
        missing = streets[~streets["street_id"].astype(str).isin(out["street_id"].astype(str))]
        if len(missing):
            out = pd.concat([out, pd.DataFrame({
                "street_id": missing["street_id"].astype(str).to_numpy(),
                "passes": 0, "first_s": math.nan, "last_s": math.nan,
                "max_interval_s": math.inf, "mean_interval_s": math.inf,
                "grade": missing["grade"].to_numpy() if "grade" in missing else math.nan,
                "length_m": missing["length_m"].to_numpy() if "length_m" in missing else math.nan,
            })], ignore_index=True)
    return out.set_index("street_id")


def share_seen_every(
    intervals: pd.DataFrame,
    minutes: float,
    *,
    grade: int | None = 1,
    by: str = "length",
) -> float:
    """Share of streets whose longest gap is at most ``minutes``.

    Parameters
    ----------
    intervals : pandas.DataFrame
        From :func:`revisit_intervals`.
    minutes : float
        The interval norm, minutes.
    grade : int or None
        Only streets of this road grade (1 = 一级道路); None for all.
    by : {"length", "count"}
        Weigh streets by length (``length_m``) or count them.

    Returns
    -------
    float
        Between 0 and 1 (NaN when no street is of the grade).
    """
    if by not in ("length", "count"):
        raise RoutingError(f"by must be 'length' or 'count', not {by!r}")
    df = intervals if grade is None else intervals[intervals["grade"] == grade]
    if len(df) == 0:
        return math.nan
    ok = (df["max_interval_s"] <= minutes * 60 + 1e-9).to_numpy()
    w = df["length_m"].to_numpy(dtype=float) if by == "length" else np.ones(len(df))
    return float(w[ok].sum() / w.sum()) if w.sum() > 0 else math.nan


def staggered_schedule(
    loop_s: float,
    *,
    max_interval_s: float,
    coverage_s: tuple[float, float] = (7 * 3600.0, 21 * 3600.0),
    shift_s: float = 8 * 3600.0,
) -> pd.DataFrame:
    """Collectors and staggered start times keeping a loop seen every ``max_interval_s``.

    ``c = ceil(loop_s / max_interval_s)`` collectors ride the loop at once, phase-shifted
    by ``loop_s / c`` (错峰): collector slot ``j`` starts its first loop at
    ``coverage_start - j × loop_s / c``, so that every street is passed within
    ``loop_s / c`` of the window's start. The window is cut into
    ``ceil(window / shift_s)`` shifts of equal length; a slot's relief takes over at the
    first loop end after the shift boundary, at the depot, so the phase never breaks.
    Each slot of the last shift rides until its first loop end after the window's end.

    Parameters
    ----------
    loop_s : float
        Loop time, seconds (``PatrolRoute.duration_s``).
    max_interval_s : float
        The longest gap allowed between passes of a street, seconds.
    coverage_s : (float, float)
        Window to cover, seconds after midnight (default 07:00–21:00, 14 hours).
    shift_s : float
        Longest nominal shift, seconds (default 8 hours).

    Returns
    -------
    pandas.DataFrame
        One row per collector: ``shift``, ``slot``, ``collector``, ``start_s``,
        ``end_s`` (seconds after midnight), ``loops``, ``hours``. Check it with
        :func:`schedule_visits` and :func:`revisit_intervals`.

    Examples
    --------
    >>> s = staggered_schedule(1800.0, max_interval_s=900.0, coverage_s=(25200.0, 75600.0))
    >>> len(s), sorted(set(s["shift"])), s["start_s"].tolist()[:2]
    (4, [0, 1], [25200.0, 24300.0])
    """
    if not loop_s > 0 or not max_interval_s > 0 or not shift_s > 0:
        raise RoutingError("loop_s, max_interval_s and shift_s must be > 0 s")
    a, b = float(coverage_s[0]), float(coverage_s[1])
    if not b > a:
        raise RoutingError(f"coverage end {b} must be after its start {a}")
    c = math.ceil(loop_s / max_interval_s - 1e-9)
    n_shift = math.ceil((b - a) / shift_s - 1e-9)
    bounds = [a + (b - a) * i / n_shift for i in range(1, n_shift)] + [b]
    rows = []
    for j in range(c):
        phase = a - j * loop_s / c
        t = phase
        for s, edge in enumerate(bounds):
            loops = max(1, math.ceil((edge - t) / loop_s - 1e-9))
            end = t + loops * loop_s
            rows.append({"shift": s, "slot": j, "collector": f"S{s + 1}-{j + 1}",
                         "start_s": t, "end_s": end, "loops": loops,
                         "hours": (end - t) / 3600})
            t = end
    return pd.DataFrame(rows).sort_values(["shift", "slot"]).reset_index(drop=True)


def schedule_visits(route: Any, schedule: pd.DataFrame) -> pd.DataFrame:
    """Passes of every street when a route is ridden by the collectors of ``schedule``.

    Parameters
    ----------
    route : PatrolRoute or pandas.DataFrame
        The loop (or its legs).
    schedule : pandas.DataFrame
        From :func:`staggered_schedule` (``collector``, ``start_s``, ``end_s``).

    Returns
    -------
    pandas.DataFrame
        As :func:`route_visits`, collectors named by the schedule.
    """
    _, loop = _legs_of(route)
    parts = []
    for row in schedule.itertuples():
        v = route_visits(route, starts_s=[row.start_s], until_s=row.end_s, loop_s=loop,
                         collector=str(row.collector))
        v["collector"] = str(row.collector)
        parts.append(v)
    if not parts:
        return route_visits(route, starts_s=[], until_s=0.0, loop_s=loop)
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["t_s", "street_id"], kind="stable").reset_index(drop=True)
