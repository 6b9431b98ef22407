"""Staffing (人员配置): how many collectors (信息采集员) a district needs, by three norms.

* **Per grids** (按网格数): ``ceil(Σ_g n_g × rate_g / 20)`` collectors on the roster,
  where ``n_g`` is the number of unit grids of management grade ``g`` and ``rate_g``
  the grade's collectors per 20 grids (grade 1: 1.5-2, grade 2: 1-1.5, grade 3: 1),
  never fewer than 1 per 20 grids. Reported as a low-high range.
* **Area per collector** (按人均面积): ``ceil(Σ_kind area_kind / km²_kind)`` collectors on
  duty in one shift (urban ~0.22 km², rural ~0.92 km² each), times the shifts.
* **Time-based** (按巡查时间): the smallest ``k`` whose balanced patrol routes — the
  streets of the area split among ``k`` collectors by the arc routing core
  (:func:`urbangrid.routing.core.carp.min_collectors`) — each take at most the limit for the
  mode (e.g. 30 min by bike); times the shifts; plus staggered cover of grade-1 roads
  (一级道路), patrolled ``grade1_cover_h`` (14) hours a day, where the shifts fall short.

Per grids counts the roster; the area and time norms count collectors on duty at once,
so their headcount is ``per shift × shifts``. Each community (社区/村) is staffed on its
own, since collector areas never cross a community boundary; the district row adds the
communities up. The norms are data (``urbangrid/routing/norms/staffing.toml``), and
:func:`explain` writes out every term of the district's figures.

Worked examples (``tests/routing/test_staffing.py``): the seed street district — 1,537
unit grids, 13 communities and 15 villages in 70 km², staffed with 154 collectors
(84 urban at ~0.22 km², 70 rural at ~0.92 km²) — and Beijing Chaoyang, 528 collectors
for 4,765 grids in 3 shifts at ~0.27 km² per collector per shift.
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from urbangrid.errors import NormsError, StaffingError
from urbangrid.routing.patrol.collector_areas import CollectorAreas, assign_streets

__all__ = [
    "DISTRICT",
    "StaffingNorms",
    "check_grades",
    "community_kind",
    "explain",
    "grade_grids_by_streets",
    "parse_duration",
    "read_staffing_norms",
    "shift_schedule",
    "staffing_table",
    "time_based_staffing",
]

#: Label of the district (total) row of :func:`staffing_table`.
DISTRICT = "district"


# ----------------------------------------------------------------------------- norms


@dataclass(frozen=True)
class StaffingNorms:
    """Staffing norms read from TOML (see ``urbangrid/routing/norms/staffing.toml``).

    Attributes
    ----------
    name, title, source : str
    step_grids : int
        Unit grids per norm step (20).
    minimum : float
        Collectors per step whatever the grade (1).
    grade_rates : mapping of int to (float, float)
        Management grade (管理等级) → (low, high) collectors per step.
    area_km2 : mapping of str to float
        ``"urban"`` / ``"rural"`` → km² one collector patrols per shift.
    urban_serials, rural_serials : (int, int)
        Community-code serial ranges (last 3 digits) of each kind.
    default_shifts, max_shifts : int
    shift_h : float
        Hours of one shift.
    grade1_cover_h : float
        Hours a day grade-1 roads are patrolled.
    """

    name: str
    title: str
    source: str
    step_grids: int
    minimum: float
    grade_rates: Mapping[int, tuple[float, float]]
    area_km2: Mapping[str, float]
    urban_serials: tuple[int, int] = (1, 199)
    rural_serials: tuple[int, int] = (200, 399)
    default_shifts: int = 1
    max_shifts: int = 3
    shift_h: float = 8.0
    grade1_cover_h: float = 14.0


def _norms_error(source: str, entry: str, why: str) -> NormsError:
    return NormsError(f"{source}: {entry}: {why}", [{"file": source, "row": None,
                                                      "field": entry, "value": None,
                                                      "reason": why}])


def _positive(raw: Any, source: str, entry: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not raw > 0:
        raise _norms_error(source, entry, f"must be a number > 0, not {raw!r}")
    return float(raw)


def _parse(data: Mapping[str, Any], source: str) -> StaffingNorms:
    head = data.get("norm", {})
    per = data.get("per_grids")
    if not isinstance(per, dict) or not isinstance(per.get("grade"), dict):
        raise _norms_error(source, "[per_grids.grade]", "missing table of grade = [low, high]")
    rates: dict[int, tuple[float, float]] = {}
    for g, lohi in per["grade"].items():
        if str(g) not in ("1", "2", "3"):
            raise _norms_error(source, f"[per_grids.grade] {g}", "grades are 1, 2 and 3")
        if not (isinstance(lohi, list) and len(lohi) == 2):
            raise _norms_error(source, f"[per_grids.grade] {g}", "must be [low, high]")
        lo = _positive(lohi[0], source, f"[per_grids.grade] {g}")
        hi = _positive(lohi[1], source, f"[per_grids.grade] {g}")
        if hi < lo:
            raise _norms_error(source, f"[per_grids.grade] {g}", "high is below low")
        rates[int(g)] = (lo, hi)
    if sorted(rates) != [1, 2, 3]:
        raise _norms_error(source, "[per_grids.grade]", "needs grades 1, 2 and 3")
    area = data.get("area")
    if not isinstance(area, dict):
        raise _norms_error(source, "[area]", "missing table")
    kinds = {k: _positive(area.get(k), source, f"[area] {k}") for k in ("urban", "rural")}
    shifts = data.get("shifts", {})
    default_shifts = int(shifts.get("default", 1))
    max_shifts = int(shifts.get("max", 3))
    if not 1 <= default_shifts <= max_shifts:
        raise _norms_error(source, "[shifts]", "need 1 ≤ default ≤ max")

    def serials(key: str, default: tuple[int, int]) -> tuple[int, int]:
        raw = area.get(key, list(default))
        if not (isinstance(raw, list) and len(raw) == 2 and 0 <= raw[0] <= raw[1] <= 999):
            raise _norms_error(source, f"[area] {key}", "must be [first, last] in 0-999")
        return int(raw[0]), int(raw[1])

    return StaffingNorms(
        name=str(head.get("name", Path(source).stem)), title=str(head.get("title", "")),
        source=str(head.get("source", source)),
        step_grids=int(_positive(per.get("grids", 20), source, "[per_grids] grids")),
        minimum=_positive(per.get("minimum", 1.0), source, "[per_grids] minimum"),
        grade_rates=rates, area_km2=kinds,
        urban_serials=serials("urban_serials", (1, 199)),
        rural_serials=serials("rural_serials", (200, 399)),
        default_shifts=default_shifts, max_shifts=max_shifts,
        shift_h=_positive(shifts.get("shift_h", 8.0), source, "[shifts] shift_h"),
        grade1_cover_h=_positive(shifts.get("grade1_cover_h", 14.0), source,
                                 "[shifts] grade1_cover_h"),
    )


@functools.cache
def _bundled() -> StaffingNorms:
    return read_staffing_norms(Path(__file__).parent / "norms" / "staffing.toml")


def read_staffing_norms(path: str | Path | None = None) -> StaffingNorms:
    """Read staffing norms from TOML (default: the bundled ``norms/staffing.toml``).

    Raises
    ------
    NormsError
        Unreadable TOML or a malformed entry, naming the file and the entry.
    """
    if path is None:
        return _bundled()
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise NormsError(f"{p}: cannot read the norms: {exc}") from exc
    return _parse(data, str(p))


# ------------------------------------------------------------------------ the grids


def check_grades(grids: pd.DataFrame, *, source: str = "unit grids",
                 default_grade: int | None = None) -> np.ndarray:
    """Management grades (管理等级) of unit grids as int64, checked to be 1, 2 or 3.

    Parameters
    ----------
    grids : pandas.DataFrame
        With ``grade`` (and ``grid_code`` for messages).
    source : str
        Name for messages.
    default_grade : int, optional
        Grade of grids whose grade is missing; without it a missing grade is an error.

    Raises
    ------
    StaffingError
        A grade outside 1-3 (or missing), naming the row, grid code and value.
    """
    if "grade" not in grids.columns:
        raise StaffingError(f"{source}: no 'grade' column (管理等级 1-3); set grades or pass "
                            "default_grade")
    raw = pd.to_numeric(grids["grade"], errors="coerce").astype("float64").to_numpy()
    if default_grade is not None:
        if default_grade not in (1, 2, 3):
            raise StaffingError(f"default_grade must be 1, 2 or 3, not {default_grade!r}")
        raw = np.where(np.isnan(raw) & grids["grade"].isna().to_numpy(), default_grade, raw)
    bad = np.flatnonzero(~np.isin(raw, [1.0, 2.0, 3.0]))
    if len(bad):
        i = int(bad[0])
        code = grids["grid_code"].iloc[i] if "grid_code" in grids.columns else None
        raise StaffingError(
            f"{source}: row {grids.index[i]}: grid {code}: field 'grade': "
            f"{grids['grade'].iloc[i]} is not a management grade 1, 2 or 3 "
            f"({len(bad)} such row(s))")
    return raw.astype("int64")


def community_kind(codes: Any, norms: StaffingNorms | None = None) -> np.ndarray:
    """``"urban"`` (居委会) or ``"rural"`` (村委会) from 12-digit community codes.

    The National Bureau of Statistics numbers residents' committees 001-199 and
    villagers' committees 200-399 within their street/township (the ranges are norms).

    Raises
    ------
    StaffingError
        A code that is not 12 digits or whose serial is in neither range.

    Examples
    --------
    >>> community_kind(["110108014001", "110108014201"]).tolist()
    ['urban', 'rural']
    """
    norms = norms or read_staffing_norms()
    arr = np.asarray(codes, dtype=object).astype(str)
    ok = np.array([len(c) == 12 and c.isdigit() for c in arr], dtype=bool)
    if not ok.all():
        bad = arr[~ok][0]
        raise StaffingError(f"community code {bad!r} is not a 12-digit code (社区/村代码)")
    serial = np.array([int(c[9:]) for c in arr], dtype="int64")
    urban = (serial >= norms.urban_serials[0]) & (serial <= norms.urban_serials[1])
    rural = (serial >= norms.rural_serials[0]) & (serial <= norms.rural_serials[1])
    if not (urban | rural).all():
        bad = arr[~(urban | rural)][0]
        raise StaffingError(f"community code {bad!r}: serial {bad[9:]} is in neither the urban "
                            f"{norms.urban_serials} nor the rural {norms.rural_serials} range")
    return np.where(urban, "urban", "rural")


# ------------------------------------------------------------------ the plain norms


def _ceil(x: Any) -> Any:
    # a sum of rates may land a hair above an integer (0.1 + 0.2); do not round it up
    return np.ceil(np.round(np.asarray(x, dtype="float64"), 9)).astype("int64")


def staffing_table(
    grids: pd.DataFrame,
    *,
    shifts: int | None = None,
    norms: StaffingNorms | None = None,
    by: str = "community_code",
    time_based: pd.DataFrame | None = None,
    default_grade: int | None = None,
    source: str = "unit grids",
) -> pd.DataFrame:
    """Collectors needed by each norm, per community and for the district.

    Parameters
    ----------
    grids : pandas.DataFrame
        Unit grids: ``grid_code``, ``community_code`` (12 digits), ``grade`` (1-3),
        ``area_m2`` (m², planar in a metric CRS).
    shifts : int, optional
        Shifts per day (1-3); default from the norms.
    norms : StaffingNorms, optional
        Default: the bundled norms.
    by : str
        Column grouping the rows (communities).
    time_based : pandas.DataFrame, optional
        From :func:`time_based_staffing`, indexed like the groups: adds its
        ``time_per_shift``, ``grade1_extra`` and ``time_headcount`` columns.
    default_grade : int, optional
        Grade of grids without one (else an error).
    source : str
        Name for messages.

    Returns
    -------
    pandas.DataFrame
        One row per group plus a :data:`DISTRICT` row (sums), columns: ``kind``,
        ``n_grids``, ``grade1``-``grade3``, ``area_km2``, ``grids_exact_low``/``high``
        (Σ n_g × rate_g / step), ``grids_minimum`` (n / step × minimum), ``grids_low``/
        ``grids_high`` (rounded up, at least the minimum), ``area_exact`` (area / km² per
        collector), ``area_per_shift`` (rounded up), ``area_headcount``, ``shifts``.

    Raises
    ------
    StaffingError
        No grids, a grade outside 1-3, a bad shift count, a bad community code.
    """
    norms = norms or read_staffing_norms()
    shifts = norms.default_shifts if shifts is None else shifts
    if not isinstance(shifts, int | np.integer) or not 1 <= shifts <= norms.max_shifts:
        raise StaffingError(f"shifts must be an integer 1-{norms.max_shifts}, not {shifts!r}")
    if len(grids) == 0:
        raise StaffingError(f"{source}: no unit grids")
    for col in (by, "area_m2"):
        if col not in grids.columns:
            raise StaffingError(f"{source}: no {col!r} column")
    grade = check_grades(grids, source=source, default_grade=default_grade)
    area = pd.to_numeric(grids["area_m2"], errors="coerce").to_numpy(dtype="float64")
    bad = np.flatnonzero(~(area > 0))
    if len(bad):
        i = int(bad[0])
        raise StaffingError(f"{source}: row {grids.index[i]}: field 'area_m2': "
                            f"{grids['area_m2'].iloc[i]!r} is not an area > 0 (m²)")
    kind = community_kind(grids["community_code"], norms)
    lo_rate = np.array([norms.grade_rates[int(g)][0] for g in grade])
    hi_rate = np.array([norms.grade_rates[int(g)][1] for g in grade])
    per_km2 = np.array([norms.area_km2[k] for k in kind])
    frame = pd.DataFrame({
        "group": grids[by].astype(str).to_numpy(), "kind": kind, "n_grids": 1,
        "grade1": grade == 1, "grade2": grade == 2, "grade3": grade == 3,
        "area_km2": area / 1e6,
        "grids_exact_low": lo_rate / norms.step_grids,
        "grids_exact_high": hi_rate / norms.step_grids,
        "grids_minimum": norms.minimum / norms.step_grids,
        "area_exact": area / 1e6 / per_km2,
    })
    kinds = frame.groupby("group")["kind"].agg(lambda s: "/".join(sorted(set(s))))
    t = frame.drop(columns="kind").groupby("group").sum()
    t.insert(0, "kind", kinds)
    for g in ("grade1", "grade2", "grade3"):
        t[g] = t[g].astype("int64")
    floor = t["grids_minimum"]
    t["grids_low"] = _ceil(np.maximum(t["grids_exact_low"], floor))
    t["grids_high"] = _ceil(np.maximum(t["grids_exact_high"], floor))
    t["area_per_shift"] = _ceil(t["area_exact"])
    t["area_headcount"] = t["area_per_shift"] * shifts
    t["shifts"] = shifts
    if time_based is not None:
        tb = time_based.reindex(t.index)
        missing = tb.index[tb["time_per_shift"].isna()].tolist()
        if missing:
            raise StaffingError(f"time-based staffing has no row for {missing[:3]}")
        for col in ("time_per_shift", "grade1_extra", "time_headcount"):
            t[col] = tb[col].astype("int64")
        t["limit_s"] = tb["limit_s"]
        t["max_route_s"] = tb["max_route_s"]
    total = t.drop(columns=["kind"]).sum(numeric_only=True)
    total["shifts"] = shifts
    if time_based is not None:
        total["limit_s"] = t["limit_s"].max()
        total["max_route_s"] = t["max_route_s"].max()
    row = pd.DataFrame([total], index=[DISTRICT])
    row.insert(0, "kind", "/".join(sorted({k for s in t["kind"] for k in s.split("/")})))
    out = pd.concat([t, row])
    out.index.name = by
    ints = [c for c in out.columns if c in ("n_grids", "grade1", "grade2", "grade3",
                                           "grids_low", "grids_high", "area_per_shift",
                                           "area_headcount", "shifts", "time_per_shift",
                                           "grade1_extra", "time_headcount")]
    out[ints] = out[ints].astype("int64")
    return out


#: explain()'s lines per language: English with the standards' Chinese terms in brackets
#: (the CLI drops them under --lang en), or Chinese in the terms of docs/glossary.md.
_EXPLAIN: dict[str, dict[str, str]] = {
    "en": {
        "district": "district",
        "head": "{row}: {n_grids} unit grids, {area_km2:.2f} km², {s} shift(s) of {shift_h:g} h",
        "grade": "{n} grade-{g} × {lo:g}-{hi:g}",
        "grids": "  grids (按网格数): {parts} per {step} grids = {exact_low:.4g}-{exact_high:.4g}"
                 " → {low}-{high} collectors on the roster (at least {n_grids} / {step} × "
                 "{minimum:g} = {grids_min:.4g})",
        "area": "  area (按人均面积): {area_km2:.2f} km² at {urban:g} km² (urban) / {rural:g} "
                "km² (rural) per collector = {area_exact:.4g} → {area_shift} on duty per "
                "shift × {s} = {area_headcount}",
        "communities": "  (each of the {n} communities is rounded up on its own, then added: "
                       "areas never cross a community)",
        "time": "  time (按巡查时间): {time_shift} balanced route(s) each ≤ {limit_min:.0f} min "
                "(longest {longest_min:.1f} min) × {s} + {extra} staggered grade-1 cover "
                "({cover_h:g} h a day) = {time_headcount}",
    },
    "zh": {
        "district": "全区",
        "head": "{row}：{n_grids} 个单元网格，{area_km2:.2f} km²，{s} 个班次，每班 "
                "{shift_h:g} 小时",
        "grade": "{gname}级网格 {n} 个 × {lo:g}-{hi:g}",
        "grids": "  按网格数：（{parts}）/ {step} = {exact_low:.4g}-{exact_high:.4g} → 名册上 "
                 "{low}-{high} 名采集员（至少 {n_grids} / {step} × {minimum:g} = "
                 "{grids_min:.4g}）",
        "area": "  按人均面积：{area_km2:.2f} km²，每名采集员 {urban:g} km²（城区）/ {rural:g} "
                "km²（农村）= {area_exact:.4g} → 每班在岗 {area_shift} 名 × {s} 个班次 = "
                "{area_headcount} 名",
        "communities": "  （{n} 个社区各自向上取整后相加：巡查区域不跨社区）",
        "time": "  按巡查时间：{time_shift} 条均衡路线，每条 ≤ {limit_min:.0f} 分钟（最长 "
                "{longest_min:.1f} 分钟）× {s} 个班次 + 一级道路错时加配 {extra} 名（每天 "
                "{cover_h:g} 小时）= {time_headcount} 名",
    },
}


def explain(table: pd.DataFrame, norms: StaffingNorms | None = None,
            row: str = DISTRICT, *, lang: str = "en") -> str:
    """Each term of one row of :func:`staffing_table`, written out (中文 terms in brackets).

    ``lang="zh"`` writes it in Chinese, in the staffing norms' terms (按网格数, 按人均面积,
    按巡查时间; docs/glossary.md).

    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({"grid_code": ["a", "b"], "community_code": "110108014001",
    ...                   "grade": [1, 3], "area_m2": [10_000.0, 12_000.0]})
    >>> print(explain(staffing_table(g)).splitlines()[1].split(" = ", 1)[1])
    0.125-0.15 → 1-1 collectors on the roster (at least 2 / 20 × 1 = 0.1)
    >>> print(explain(staffing_table(g), lang="zh").splitlines()[1].split(" = ", 1)[1])
    0.125-0.15 → 名册上 1-1 名采集员（至少 2 / 20 × 1 = 0.1）
    """
    norms = norms or read_staffing_norms()
    text = _EXPLAIN[lang]
    r = table.loc[row]
    parts = [text["grade"].format(n=int(r[f"grade{g}"]), g=g, gname="一二三"[g - 1],
                                  lo=norms.grade_rates[g][0], hi=norms.grade_rates[g][1])
             for g in (1, 2, 3) if int(r[f"grade{g}"])]
    v = {"row": text["district"] if row == DISTRICT else row, "n_grids": int(r["n_grids"]),
         "area_km2": r["area_km2"], "s": int(r["shifts"]), "shift_h": norms.shift_h,
         "parts": " + ".join(parts), "step": norms.step_grids,
         "exact_low": r["grids_exact_low"], "exact_high": r["grids_exact_high"],
         "low": int(r["grids_low"]), "high": int(r["grids_high"]), "minimum": norms.minimum,
         "grids_min": r["grids_minimum"], "urban": norms.area_km2["urban"],
         "rural": norms.area_km2["rural"], "area_exact": r["area_exact"],
         "area_shift": int(r["area_per_shift"]), "area_headcount": int(r["area_headcount"]),
         "n": len(table) - 1, "cover_h": norms.grade1_cover_h}
    lines = [text[k].format(**v) for k in ("head", "grids", "area")]
    if row == DISTRICT and len(table) > 2:
        lines.append(text["communities"].format(**v))
    if "time_per_shift" in r.index and not pd.isna(r["time_per_shift"]):
        lines.append(text["time"].format(
            **v, time_shift=int(r["time_per_shift"]), limit_min=r["limit_s"] / 60,
            longest_min=r["max_route_s"] / 60, extra=int(r["grade1_extra"]),
            time_headcount=int(r["time_headcount"])))
    return "\n".join(lines)


def shift_schedule(shifts: int, *, norms: StaffingNorms | None = None,
                   start_h: float = 7.0) -> pd.DataFrame:
    """Shift times (班次): ``shifts`` back-to-back shifts, plus staggered grade-1 cover.

    Grade-1 roads are patrolled ``grade1_cover_h`` hours a day from ``start_h``; when
    the shifts cover less, staggered shifts (错时) end at the cover's end, overlapping
    the regular ones.

    Returns
    -------
    pandas.DataFrame
        ``shift``, ``start_h``, ``end_h`` (hours after midnight; may pass 24) and
        ``roads`` (``"all"`` or ``"grade1"``).

    Examples
    --------
    >>> shift_schedule(1).values.tolist()
    [['1', 7.0, 15.0, 'all'], ['1b', 13.0, 21.0, 'grade1']]
    """
    norms = norms or read_staffing_norms()
    rows = [(str(i + 1), start_h + i * norms.shift_h, start_h + (i + 1) * norms.shift_h,
             "all") for i in range(shifts)]
    cover_end = start_h + norms.grade1_cover_h
    covered = start_h + shifts * norms.shift_h
    extra = _grade1_extra_shifts(shifts, norms)
    for j in range(extra):
        end = cover_end - j * norms.shift_h
        rows.append((f"{shifts}{chr(ord('b') + j)}", max(end - norms.shift_h, covered - 2),
                     end, "grade1"))
    return pd.DataFrame(rows, columns=["shift", "start_h", "end_h", "roads"])


def _grade1_extra_shifts(shifts: int, norms: StaffingNorms) -> int:
    return max(0, math.ceil(norms.grade1_cover_h / norms.shift_h - 1e-9) - shifts)


# ---------------------------------------------------------------- time-based norm


_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*min)?\s*"
                       r"(?:(\d+(?:\.\d+)?)\s*s)?\s*$")


def parse_duration(text: str | float) -> float:
    """Seconds from ``"30min"``, ``"1h"``, ``"1h30min"``, ``"1800s"`` or a number of seconds.

    Examples
    --------
    >>> parse_duration("30min"), parse_duration("1h30min"), parse_duration(90)
    (1800.0, 5400.0, 90.0)
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        m = _DURATION.match(str(text))
        if not m or not any(m.groups()):
            raise StaffingError(f"cannot read the duration {text!r}; write e.g. 30min, 1h, "
                                "1h30min or 1800s")
        h, mi, s = (float(x) if x else 0.0 for x in m.groups())
        value = h * 3600 + mi * 60 + s
    if not value > 0:
        raise StaffingError(f"a duration must be > 0, not {text!r}")
    return value


def grade_grids_by_streets(grids: gpd.GeoDataFrame, G: nx.MultiDiGraph) -> np.ndarray:
    """Management grade of each unit grid from its streets: the best road grade in it.

    A grid holding (the midpoint of) a grade-1 road (一级道路: arterials, patrolled all
    day) is grade 1, else grade 2 with a grade-2 road, else grade 3. This is a stand-in
    where the centre has not graded its grids.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Unit grids with ``grid_code``, any stated CRS.
    G : networkx.MultiDiGraph
        Street graph with ``grade`` on each arc (1-3).

    Returns
    -------
    numpy.ndarray of int64
    """
    st = assign_streets(G, grids, key="grid_code")
    best = st.groupby("unit")["grade"].min()
    return best.reindex(grids["grid_code"]).fillna(3).astype("int64").to_numpy()


def time_based_staffing(
    G: nx.MultiDiGraph,
    grids: gpd.GeoDataFrame,
    *,
    limit_s: float,
    shifts: int = 1,
    by: str = "community_code",
    unit: str = "work_grid_code",
    previous: Mapping[str, str] | None = None,
    norms: StaffingNorms | None = None,
    time_limit_s: float = 2.0,
    seed: int = 0,
    iterations: int | None = 60,
    on_over: str = "raise",
) -> tuple[pd.DataFrame, CollectorAreas]:
    """Fewest collectors per community whose balanced patrol routes fit ``limit_s``.

    The community is cut into contiguous collector areas of whole work grids, balanced
    by patrol time, each ridden round in one closed route; the number of areas grows
    until every route fits (:func:`~urbangrid.routing.patrol.collector_areas.plan_collector_areas`).
    Route times are the graph's ``time_s`` (length at the mode's patrol speed; turn
    penalties are not counted). Where the shifts cover grade-1 roads for less than
    ``grade1_cover_h`` a day, the same is done for the grade-1 roads alone and that many
    staggered collectors are added per missing shift.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Street graph of the mode (:func:`urbangrid.routing.patrol.streets.street_graph`,
        metric CRS); its largest strongly connected part is used.
    grids : geopandas.GeoDataFrame
        Unit grids with ``by`` and ``grade`` columns, any stated CRS.
    limit_s : float
        Longest patrol round, seconds (e.g. 1,800 for 30 min).
    shifts : int
        Shifts per day: the headcount is ``routes × shifts`` plus staggered grade-1
        cover (:func:`shift_schedule`).
    by : str
        Column grouping the grids (communities).
    unit : str
        Grid column areas are made of (work grids; unit grids when missing).
    previous : mapping of str to str, optional
        Previous unit → area code, for stable codes.
    norms : StaffingNorms, optional
    time_limit_s, seed, iterations
        Budget of each route search; with ``iterations`` the result is deterministic.
    on_over : {"raise", "flag"}
        A unit grid that cannot be ridden round within the limit: raise, or keep it
        flagged (``fits`` False in the areas, ``over_limit`` in the table).

    Returns
    -------
    table : pandas.DataFrame
        Index the groups: ``streets``, ``patrol_km``, ``service_s`` (time on required
        streets), ``time_per_shift`` (k), ``k_lower_bound``, ``max_route_s``,
        ``grade1_routes`` (routes needed for the grade-1 roads alone), ``grade1_extra``
        (staggered cover collectors), ``time_headcount``, ``limit_s``. ``k_lower_bound``
        is ``ceil(service_s / limit_s)``: no plan can do with fewer.
    areas : CollectorAreas
        The collector areas with their routes.

    Raises
    ------
    ShiftLimitError
        A single street takes longer than the limit (named), or no plan fits it.
    """
    from urbangrid.routing.patrol.collector_areas import assign_streets, plan_collector_areas

    norms = norms or read_staffing_norms()
    if not isinstance(shifts, int | np.integer) or not 1 <= shifts <= norms.max_shifts:
        raise StaffingError(f"shifts must be an integer 1-{norms.max_shifts}, not {shifts!r}")
    result = plan_collector_areas(G, grids, limit_s=limit_s, unit=unit, by=by,
                                  previous=previous, seed=seed, iterations=iterations,
                                  time_limit_s=time_limit_s, on_over=on_over)
    extra_shifts = _grade1_extra_shifts(shifts, norms)
    g1k: dict[str, int] = {}
    if extra_shifts:
        units = grids.dissolve(by=by).reset_index()[[by, "geometry"]]
        st = assign_streets(G, units, key=by)
        g1 = st[st["grade"] == 1]
        if len(g1):
            cover = plan_collector_areas(G, grids, limit_s=limit_s, unit=unit, by=by,
                                         streets=g1, seed=seed, iterations=iterations,
                                         time_limit_s=time_limit_s, on_over=on_over)
            g1k = cover.info["k"]
    a = result.areas
    codes = sorted(set(grids[by].astype(str)))
    rows = []
    for code in codes:
        mine = a[a["community_code"].astype(str) == code]
        k = int(result.info["k"].get(code, 0))
        cover_k = int(g1k.get(code, 0))
        rows.append({
            by: code, "streets": int(mine["streets"].sum()),
            "patrol_km": float(mine["patrol_km"].sum()),
            "service_s": float(mine["service_s"].sum()), "time_per_shift": k,
            "k_lower_bound": math.ceil(float(mine["service_s"].sum()) / limit_s - 1e-9),
            "max_route_s": float(mine["route_s"].max()) if len(mine) else 0.0,
            "grade1_routes": cover_k, "grade1_extra": cover_k * extra_shifts,
            "time_headcount": k * shifts + cover_k * extra_shifts, "limit_s": float(limit_s),
            "over_limit": int((~mine["fits"].astype(bool)).sum()),
        })
    return pd.DataFrame(rows).set_index(by), result
