"""Performance indicators (考核指标), collector score (监督员评分) and attendance (出勤).

From a case log — one row per case event: 上报 report, 核实 verify, 立案 register,
派遣 dispatch, 处置 handle, 核查 check, 结案 close (:data:`EVENTS`) — this module
computes the standard ratios per collector, area or the whole district, per period:

=========  ==========================  =====================================================
indicator  formula                     counted here as
=========  ==========================  =====================================================
有效上报率  有效上报数 / 上报数          collector reports (channel ``collector``) that were
                                       registered (立案) / all collector reports
按时核实率  按时核实数 / 应核实数        public reports verified within the 核实 limit /
                                       public reports due for verification (or verified)
按时核查率  按时核查数 / 应核查数        handled cases checked within the 核查 limit / handled
                                       cases due for checking (or checked)
漏报率      漏报数 / 立案数              registered cases in the collector's patch that the
                                       public reported first / registered cases there
结案率      结案数 / 应结案数            closed / registered cases due by ``as_of`` or closed
按期结案率  按期结案数 / 应结案数        closed by the due time (any time when the case has
                                       no limit) / the same denominator
立案率      立案数 / 受理数              registered / received cases (every 上报 is received)
=========  ==========================  =====================================================

*Who* a case counts for: the reporter for 上报/有效上报; the collector responsible for
the place (``assigned_to``, 责任监督员; else whoever verified or checked it) for 受理,
立案 and 漏报; the verifier (the collector on the 核实 event, else the responsible one)
for 核实; the checker likewise for 核查. A case belongs to the period of its 上报.

The collector score, its weights, the A–E grades, task limits and rounding are data
(``urbangrid/routing/norms/evaluation.toml``); :func:`attendance_days` is the attendance
rule of the digest, exactly, with its rounding to whole days.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from urbangrid.cases.calendar import UNITS, WorkCalendar, deadline
from urbangrid.errors import CaseLogError, NormsError
from urbangrid.problems import Problem, format_problem, problem

__all__ = [
    "CASE_COLUMNS",
    "EVENTS",
    "EVENT_ALIASES",
    "INDICATORS",
    "EvaluationNorms",
    "attendance_days",
    "case_table",
    "check_case_log",
    "collector_scores",
    "indicators",
    "read_evaluation_norms",
]

#: Case events in workflow order (案卷流转): Chinese name → English name.
EVENTS: dict[str, str] = {
    "上报": "report",
    "核实": "verify",
    "立案": "register",
    "派遣": "dispatch",
    "处置": "handle",
    "核查": "check",
    "结案": "close",
}

#: Other spellings accepted in a case log's ``event`` column.
EVENT_ALIASES: dict[str, str] = {
    **{en: zh for zh, en in EVENTS.items()},
    "受理": "上报", "open": "上报", "opened": "上报", "核查结案": "结案", "closed": "结案",
    "处理": "处置", "resolved": "处置", "任务派遣": "派遣", "案卷建立": "立案",
}

#: Indicators: name → (numerator, denominator) count columns of :func:`indicators`.
INDICATORS: dict[str, tuple[str, str]] = {
    "有效上报率": ("有效上报数", "上报数"),
    "按时核实率": ("按时核实数", "应核实数"),
    "按时核查率": ("按时核查数", "应核查数"),
    "漏报率": ("漏报数", "立案数"),
    "结案率": ("结案数", "应结案数"),
    "按期结案率": ("按期结案数", "应结案数"),
    "立案率": ("立案数", "受理数"),
}

#: Columns of a case log (one row per event); only the first three are required.
CASE_COLUMNS: dict[str, str] = {
    "case_id": "案卷号",
    "event": "环节 (EVENTS)",
    "at": "时间 (naive local time)",
    "collector_id": "监督员编号: who reported / verified / checked",
    "channel": "来源: 'collector' (监督员上报) or another channel (公众举报 …), on 上报",
    "assigned_to": "责任监督员 of the place",
    "area_code": "责任区域 (collector area or work grid code)",
    "category": "subclass code (部件/事件小类)",
    "kind": "'component' or 'event'",
    "due_at": "处置截止时间, when the source gives one",
}

_COUNTS = ("上报数", "有效上报数", "受理数", "立案数", "漏报数", "应核实数", "按时核实数",
           "应核查数", "按时核查数", "应结案数", "结案数", "按期结案数")


# ----------------------------------------------------------------------------- norms


@dataclass(frozen=True)
class EvaluationNorms:
    """Collector score weights and grades, task time limits and rounding.

    Attributes
    ----------
    name, title, source : str
    weights : mapping of str to float
        Indicator → weight (sum 1).
    lower_is_better : frozenset of str
        Indicators scored as ``100 × (1 − rate)`` (漏报率).
    empty : mapping of str to float
        Item score when an indicator's denominator is 0.
    decimals : int
        Decimals of the score (rounded half up).
    grades : tuple of (str, float)
        Grade and threshold, highest first; a score ≥ threshold earns the grade.
    limits : mapping of str to (float, str)
        核实 / 核查 (and optionally ``default_close``) → (limit, unit).
    attendance_rounding : str
        ``"half_up"`` (四舍五入) or ``"half_even"``.
    """

    name: str
    title: str
    source: str
    weights: Mapping[str, float]
    lower_is_better: frozenset[str]
    empty: Mapping[str, float]
    decimals: int
    grades: tuple[tuple[str, float], ...]
    limits: Mapping[str, tuple[float, str]]
    attendance_rounding: str = "half_up"


def _parse_norms(data: Mapping[str, Any], source: str) -> EvaluationNorms:
    def bad(entry: str, why: str) -> NormsError:
        return NormsError(f"{source}: {entry}: {why}",
                          [{"file": source, "row": None, "field": entry, "value": None,
                            "reason": why}])

    head = data.get("norm", {})
    score = data.get("score")
    if not isinstance(score, dict) or not isinstance(score.get("weights"), dict):
        raise bad("[score.weights]", "missing table of indicator = weight")
    weights: dict[str, float] = {}
    for k, v in score["weights"].items():
        if k not in INDICATORS:
            raise bad(f"[score.weights] {k}", f"not an indicator ({list(INDICATORS)})")
        if not isinstance(v, int | float) or v < 0:
            raise bad(f"[score.weights] {k}", f"weight must be a number ≥ 0, not {v!r}")
        weights[k] = float(v)
    if not math.isclose(sum(weights.values()), 1.0, abs_tol=1e-9):
        raise bad("[score.weights]", f"weights sum to {sum(weights.values())}, not 1")
    lower = frozenset(k for k, v in (score.get("lower_is_better") or {}).items() if v)
    empty = {k: float(score.get("empty", {}).get(k, 100.0)) for k in weights}
    grades_raw = data.get("grades")
    if not isinstance(grades_raw, dict) or not grades_raw:
        raise bad("[grades]", "missing table of grade = threshold")
    grades = tuple(sorted(((str(g), float(t)) for g, t in grades_raw.items()),
                          key=lambda gt: -gt[1]))
    if grades[-1][1] > 0:
        raise bad("[grades]", "the lowest grade needs threshold 0 so every score gets one")
    limits: dict[str, tuple[float, str]] = {}
    for k, v in (data.get("limits") or {}).items():
        if not (isinstance(v, list) and len(v) == 2 and isinstance(v[0], int | float)
                and v[1] in UNITS):
            raise bad(f"[limits] {k}", f"must be [limit, unit] with a unit of {list(UNITS)}")
        limits[k] = (float(v[0]), str(v[1]))
    for k in ("核实", "核查"):
        if k not in limits:
            raise bad(f"[limits] {k}", "missing")
    rounding = str((data.get("attendance") or {}).get("rounding", "half_up"))
    if rounding not in ("half_up", "half_even"):
        raise bad("[attendance] rounding", f"must be half_up or half_even, not {rounding!r}")
    return EvaluationNorms(
        name=str(head.get("name", Path(source).stem)), title=str(head.get("title", "")),
        source=str(head.get("source", source)), weights=weights, lower_is_better=lower,
        empty=empty, decimals=int(score.get("decimals", 1)), grades=grades, limits=limits,
        attendance_rounding=rounding,
    )


@functools.cache
def _bundled_norms() -> EvaluationNorms:
    return read_evaluation_norms(Path(__file__).parent / "norms" / "evaluation.toml")


def read_evaluation_norms(path: str | Path | None = None) -> EvaluationNorms:
    """Read evaluation norms from TOML (default: the bundled ``norms/evaluation.toml``).

    Raises
    ------
    NormsError
        Unreadable TOML, weights not summing to 1, a missing limit; names file and entry.
    """
    if path is None:
        return _bundled_norms()
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise NormsError(f"{p}: cannot read the norms: {exc}") from exc
    return _parse_norms(data, str(p))


# ------------------------------------------------------------------------- case log


def _raise(problems: list[Problem]) -> None:
    """Raise :class:`CaseLogError` with the problems, the first one in the message."""
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CaseLogError(format_problem(problems[0]) + more, problems)


def check_case_log(
    events: pd.DataFrame,
    *,
    collectors: Sequence[str] | None = None,
    source: str = "<case log>",
) -> pd.DataFrame:
    """Validate and normalise a case log (one row per event).

    Parameters
    ----------
    events : pandas.DataFrame
        Columns of :data:`CASE_COLUMNS` (``case_id``, ``event``, ``at`` required),
        indexed by row number in the source (used in messages).
    collectors : sequence of str, optional
        The roster (监督员名册): any ``collector_id`` or ``assigned_to`` outside it is an
        error.
    source : str
        File name for messages.

    Returns
    -------
    pandas.DataFrame
        A copy with ``event`` in Chinese (:data:`EVENTS`), ``at``/``due_at`` as
        datetimes, every column of :data:`CASE_COLUMNS`, sorted by case and time.

    Raises
    ------
    CaseLogError
        With one problem per bad row: missing column or value, unknown event or
        collector, a case not starting with one 上报, an event before the stage it
        follows (e.g. 结案 before 立案), anything after 结案.
    """
    missing = [c for c in ("case_id", "event", "at") if c not in events.columns]
    if missing:
        _raise([problem(source, None, c, None, "required column missing") for c in missing])
    ev = events.copy()
    for c in CASE_COLUMNS:
        if c not in ev.columns:
            ev[c] = None
    _raise(_normalise_rows(ev, collectors, source))
    ev["_stage"] = ev["event"].map({e: i for i, e in enumerate(EVENTS)}).astype("int64")
    ev["_row"] = ev.index
    ev = ev.sort_values(["case_id", "at", "_stage"], kind="stable")
    problems: list[Problem] = []
    for case, g in ev.groupby("case_id", sort=False):
        problems += _case_problems(case, g, source)
    _raise(problems)
    return ev.drop(columns=["_stage", "_row"])


def _normalise_rows(
    ev: pd.DataFrame, collectors: Sequence[str] | None, source: str
) -> list[Problem]:
    """Events to their Chinese names and times to datetimes, in place; the problems of
    single rows: unknown event, unreadable time, no case id, collector off the roster."""
    problems: list[Problem] = []
    names = ev["event"].map(lambda v: v if v in EVENTS else EVENT_ALIASES.get(
        str(v).strip().lower() if isinstance(v, str) else v))
    for row in ev.index[names.isna()]:
        problems.append(problem(source, row, "event", ev.at[row, "event"],
                                f"unknown event; use one of {list(EVENTS)}"))
    ev["event"] = names
    at = pd.to_datetime(ev["at"], errors="coerce")
    for row in ev.index[at.isna()]:
        problems.append(problem(source, row, "at", ev.at[row, "at"],
                                "missing or unreadable timestamp"))
    ev["at"] = at
    ev["due_at"] = pd.to_datetime(ev["due_at"], errors="coerce")
    for row in ev.index[ev["case_id"].isna()]:
        problems.append(problem(source, row, "case_id", None, "missing case id"))
    if collectors is not None:
        roster = {str(c) for c in collectors}
        for col in ("collector_id", "assigned_to"):
            vals = ev[col]
            bad = vals.notna() & ~vals.astype(str).isin(roster)
            for row in ev.index[bad]:
                problems.append(problem(source, row, col, vals[row],
                                        "unknown collector (not in the roster)"))
    return problems


def _case_problems(case: Any, g: pd.DataFrame, source: str) -> list[Problem]:
    """The first problem of one case's events (sorted by time and stage): not exactly
    one 上报, a stage before the one it follows, anything after 结案."""
    reports = g[g["_stage"] == 0]
    if len(reports) != 1:
        row = g["_row"].iloc[0] if len(reports) == 0 else reports["_row"].iloc[1]
        return [problem(source, row, "event", case,
                        f"case {case!r} has {len(reports)} 上报 events; it needs exactly one")]
    out: list[Problem] = []
    prev_stage, prev_t = 0, reports["at"].iloc[0]
    for s, t in g.groupby("_stage")["at"].min().items():
        if t < prev_t:
            r = g.loc[(g["_stage"] == s) & (g["at"] == t), "_row"].iloc[0]
            out.append(problem(
                source, r, "at", str(t),
                f"events out of order in case {case!r}: {list(EVENTS)[int(s)]} at {t} "
                f"is before {list(EVENTS)[prev_stage]} at {prev_t}"))
            break
        prev_stage, prev_t = int(s), t
    closes = g[g["_stage"] == 6]
    if len(closes):
        tc = closes["at"].min()
        after = g[(g["at"] > tc) & (g["_stage"] != 6)]
        if len(after) or len(closes) > 1:
            r = (after if len(after) else closes.iloc[1:])["_row"].iloc[0]
            out.append(problem(source, r, "event", case,
                               f"case {case!r} has events after its 结案 at {tc}"))
    return out


def _first_of(ev: pd.DataFrame, event: str, column: str) -> pd.Series:
    rows = ev[ev["event"] == event]
    return rows.groupby("case_id")[column].first()


def _close_limits(cases: pd.DataFrame, edition: str) -> tuple[np.ndarray, np.ndarray]:
    from urbangrid.spatial.components.codes import time_limits

    lim = np.full(len(cases), np.nan)
    unit = np.full(len(cases), "工作时", dtype=object)
    cats = cases["category"].to_numpy(dtype=object)
    kinds = cases["kind"].fillna("event").to_numpy(dtype=object)
    cache: dict[tuple[str, str], tuple[float, str] | None] = {}
    for i, (c, k) in enumerate(zip(cats, kinds, strict=True)):
        if c is None or (isinstance(c, float) and math.isnan(c)):
            continue
        key = (str(c), str(k))
        if key not in cache:
            try:
                found = [t for t in time_limits(edition, key[0], kind=key[1])  # type: ignore[arg-type]
                         if not t.condition]
            except (LookupError, ValueError):
                found = []
            cache[key] = (found[0].limit, found[0].unit) if found else None
        if cache[key] is not None:
            lim[i], unit[i] = cache[key]  # type: ignore[misc]
    return lim, unit


def case_table(
    events: pd.DataFrame,
    *,
    calendar: WorkCalendar | None = None,
    norms: EvaluationNorms | None = None,
    edition: str = "cjt214-2007",
) -> pd.DataFrame:
    """One row per case: its events' times, who is accountable, and its due times.

    Parameters
    ----------
    events : pandas.DataFrame
        A case log checked by :func:`check_case_log`.
    calendar : WorkCalendar, optional
        Needed when a limit is in 工作时/工作日 (handling limits from the subclass
        table, or the norms' 核实/核查 limits).
    norms : EvaluationNorms, optional
        Default: the bundled norms.
    edition : str
        Code table edition for handling limits per subclass
        (:func:`urbangrid.spatial.components.codes.time_limits`).

    Returns
    -------
    pandas.DataFrame
        Index ``case_id``; columns ``channel``, ``reporter``, ``responsible``,
        ``verifier``, ``checker``, ``area_code``, ``category``, ``kind``, one
        ``<event>_at`` per event (first occurrence, English names), ``due_at`` (handling
        due: the source's, else the subclass limit from 立案), ``verify_due`` (from 上报)
        and ``check_due`` (from 处置).
    """
    norms = norms or read_evaluation_norms()
    rep = events[events["event"] == "上报"].set_index("case_id")
    cases = pd.DataFrame(index=rep.index)
    cases["channel"] = rep["channel"].fillna("public").astype(str)
    cases["reporter"] = rep["collector_id"].where(cases["channel"] == "collector")
    assigned = events.groupby("case_id")["assigned_to"].first()
    area = events.groupby("case_id")["area_code"].first()
    for col in ("category", "kind"):
        cases[col] = events.groupby("case_id")[col].first()
    for zh, en in EVENTS.items():
        cases[f"{en}_at"] = _first_of(events, zh, "at")
    verifier = _first_of(events, "核实", "collector_id")
    checker = _first_of(events, "核查", "collector_id")
    responsible = assigned.reindex(cases.index)
    for fallback in (verifier, checker, cases["reporter"]):
        responsible = responsible.fillna(fallback.reindex(cases.index))
    cases["responsible"] = responsible
    cases["verifier"] = verifier.reindex(cases.index).fillna(responsible)
    cases["checker"] = checker.reindex(cases.index).fillna(responsible)
    cases["area_code"] = area.reindex(cases.index)

    def _due(start: pd.Series, limit: Any, unit: Any) -> pd.Series:
        # the Series itself, not .to_numpy(): that drops the time zone of a store's times
        return pd.Series(deadline(start, limit, unit, calendar), index=start.index)

    explicit = events.groupby("case_id")["due_at"].max().reindex(cases.index)
    lim, unit = _close_limits(cases, edition)
    if "default_close" in norms.limits:
        dl, du = norms.limits["default_close"]
        unit = np.where(np.isnan(lim), du, unit)
        lim = np.where(np.isnan(lim), dl, lim)
    need = explicit.isna() & cases["register_at"].notna() & ~np.isnan(lim)
    due = explicit.copy()
    if need.any():
        due[need] = _due(cases.loc[need, "register_at"], lim[need.to_numpy()],
                         unit[need.to_numpy()]).to_numpy()
    cases["due_at"] = pd.to_datetime(due)
    for task, start, col in (("核实", "report_at", "verify_due"), ("核查", "handle_at",
                                                                   "check_due")):
        limit, u = norms.limits[task]
        cases[col] = pd.to_datetime(_due(cases[start], limit, u))
    return cases


# ----------------------------------------------------------------------- indicators


def indicators(
    cases: pd.DataFrame,
    *,
    by: str | None = "collector",
    period: str | None = None,
    as_of: Any = None,
) -> pd.DataFrame:
    """The standard counts and ratios per collector, area or district, per period.

    Parameters
    ----------
    cases : pandas.DataFrame
        From :func:`case_table`.
    by : {"collector", "area"} or None
        Per collector (each count for the collector it belongs to, see the module
        docstring), per ``area_code``, or one row for all.
    period : str, optional
        A pandas period alias (``"M"`` month, ``"W"`` week, ``"D"`` day) of 上报 time.
    as_of : datetime, optional
        Evaluation time: later events are ignored, and a task not done counts as due
        once its due time has passed by then. Default: the latest event in the log.

    Returns
    -------
    pandas.DataFrame
        Index ``key`` (and ``period``); the counts of :data:`INDICATORS` and each ratio
        (float in 0-1, NaN when the denominator is 0).

    Examples
    --------
    Two collector reports, one registered and closed on time:

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"case_id": ["a", "a", "a", "b"],
    ...     "event": ["上报", "立案", "结案", "上报"], "channel": "collector",
    ...     "collector_id": "C1", "at": pd.to_datetime(["2025-03-03 09:00",
    ...     "2025-03-03 09:10", "2025-03-03 10:00", "2025-03-03 11:00"]),
    ...     "due_at": pd.to_datetime(["2025-03-03 13:00", None, None, None])})
    >>> ind = indicators(case_table(check_case_log(ev)))
    >>> int(ind.at["C1", "上报数"]), int(ind.at["C1", "有效上报数"])
    (2, 1)
    >>> ind.loc["C1", ["有效上报率", "按期结案率"]].tolist()
    [0.5, 1.0]
    """
    if by not in ("collector", "area", None):
        msg = f"by must be 'collector', 'area' or None, not {by!r}"
        raise ValueError(msg)
    cols = [f"{en}_at" for en in EVENTS.values()]
    now = pd.Timestamp(as_of) if as_of is not None else cases[cols].max().max()
    c = cases.copy()
    for col in cols:
        # what happens after the evaluation time has not happened yet
        c[col] = c[col].where(c[col] <= now)
    c = c[c["report_at"].notna()]
    per = (c["report_at"].dt.to_period(period).astype(str) if period
           else pd.Series("all", index=c.index))
    registered = c["register_at"].notna()
    collector_ch = c["channel"] == "collector"
    verify_due = ~collector_ch & (c["verify_at"].notna() | (c["verify_due"] <= now))
    check_due = c["handle_at"].notna() & (c["check_at"].notna() | (c["check_due"] <= now))
    close_due = registered & (c["close_at"].notna() | (c["due_at"] <= now))
    closed = registered & c["close_at"].notna()

    def key(col: str) -> pd.Series:
        if by == "collector":
            return c[col]
        if by == "area":
            return c["area_code"]
        return pd.Series("all", index=c.index)

    parts = [
        ("上报数", "reporter", collector_ch),
        ("有效上报数", "reporter", collector_ch & registered),
        ("受理数", "responsible", pd.Series(True, index=c.index)),
        ("立案数", "responsible", registered),
        ("漏报数", "responsible", registered & ~collector_ch),
        ("应核实数", "verifier", verify_due),
        ("按时核实数", "verifier", verify_due & (c["verify_at"] <= c["verify_due"])),
        ("应核查数", "checker", check_due),
        ("按时核查数", "checker", check_due & (c["check_at"] <= c["check_due"])),
        ("应结案数", "responsible", close_due),
        ("结案数", "responsible", closed & close_due),
        ("按期结案数", "responsible",
         closed & close_due & (c["due_at"].isna() | (c["close_at"] <= c["due_at"]))),
    ]
    frames = []
    for name, who, mask in parts:
        m = mask.fillna(False).astype(bool)
        k = key(who)
        sel = m & k.notna()
        frames.append(pd.DataFrame({"key": k[sel].astype(str).to_numpy(),
                                    "period": per[sel].to_numpy(), "count": name}))
    long = pd.concat(frames, ignore_index=True)
    out = (long.groupby(["key", "period", "count"]).size().unstack("count", fill_value=0)
           .reindex(columns=list(_COUNTS), fill_value=0).astype("int64"))
    out.columns.name = None
    for name, (num, den) in INDICATORS.items():
        d = out[den].to_numpy(dtype="float64")
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(d > 0, out[num].to_numpy(dtype="float64") / d, np.nan)
    if period is None:
        out = out.droplevel("period")
    return out


def _round(x: float, decimals: int, mode: str = "half_up") -> float:
    q = Decimal(1).scaleb(-decimals)
    how = ROUND_HALF_UP if mode == "half_up" else ROUND_HALF_EVEN
    return float(Decimal(repr(float(x))).quantize(q, rounding=how))


def collector_scores(ind: pd.DataFrame, norms: EvaluationNorms | None = None) -> pd.DataFrame:
    """Collector score (监督员评分, 0-100) and grade (A-E) from indicator rows.

    ``score = Σ weight × item``, where item = 100 × rate (100 × (1 − rate) for a
    lower-is-better rate such as 漏报率), or the norms' ``empty`` score when the rate's
    denominator is 0; rounded half up to ``norms.decimals``; the grade is the first
    whose threshold the rounded score reaches.

    Parameters
    ----------
    ind : pandas.DataFrame
        From :func:`indicators` (``by="collector"``).
    norms : EvaluationNorms, optional
        Default: the bundled CJ/T 292-era weights (40/20/20/20) and grades (A ≥ 90,
        B ≥ 75, C ≥ 60, D ≥ 40, E < 40).

    Returns
    -------
    pandas.DataFrame
        ``ind`` with ``<indicator>分`` item scores, ``score`` and ``grade``.

    Examples
    --------
    >>> import pandas as pd
    >>> ind = pd.DataFrame({"有效上报率": [0.9], "漏报率": [0.1], "按时核实率": [1.0],
    ...                     "按时核查率": [0.75]}, index=["C1"])
    >>> collector_scores(ind)[["score", "grade"]].values.tolist()
    [[89.0, 'B']]
    """
    norms = norms or read_evaluation_norms()
    out = ind.copy()
    total = np.zeros(len(out))
    for name, w in norms.weights.items():
        rate = out[name].to_numpy(dtype="float64")
        item = 100.0 * ((1.0 - rate) if name in norms.lower_is_better else rate)
        item = np.where(np.isnan(rate), norms.empty[name], item)
        out[f"{name}分"] = item
        total += w * item
    out["score"] = [_round(s, norms.decimals) for s in total]
    out["grade"] = [next(g for g, t in norms.grades if s >= t) for s in out["score"]]
    return out


def attendance_days(
    attended: Any,
    leave: Any,
    required: Any,
    reports: Any,
    quota: Any,
    *,
    rounding: str = "half_up",
) -> np.ndarray:
    """Days of attendance credited (出勤天数) under the county rule of the digest.

    If 考勤天数 + 请假天数 ≥ 应出勤天数: when reports ≥ quota, 出勤天数 = 考勤天数;
    else 出勤天数 = (reports / quota) × 应出勤天数. If 考勤天数 + 请假天数 < 应出勤天数:
    出勤天数 = 考勤天数. Rounded to whole days (half up, 四舍五入, by default).

    Parameters
    ----------
    attended : array-like of float
        考勤天数, days clocked in.
    leave : array-like of float
        请假天数, days of approved leave.
    required : array-like of float
        应出勤天数, working days in the period.
    reports : array-like of int
        Reports made (上报数) in the period.
    quota : array-like of float
        Report quota (上报定额) for the period (> 0).
    rounding : {"half_up", "half_even"}

    Returns
    -------
    numpy.ndarray of int64

    Examples
    --------
    >>> attendance_days([22, 20, 18], [0, 2, 2], [22, 22, 22], [300, 150, 400],
    ...                 [300, 300, 300]).tolist()
    [22, 11, 18]
    """
    a, lv, req, rep, q = np.broadcast_arrays(*(np.asarray(x, dtype="float64") for x in (
        attended, leave, required, reports, quota)))
    if (q <= 0).any():
        msg = f"the report quota must be > 0, got {q[q <= 0][0]:g}"
        raise ValueError(msg)
    if (np.concatenate([a.ravel(), lv.ravel(), req.ravel(), rep.ravel()]) < 0).any():
        msg = "days and reports must be ≥ 0"
        raise ValueError(msg)
    full = a + lv >= req
    raw = np.where(full & (rep < q), rep / q * req, a)
    return np.array([int(_round(x, 0, rounding)) for x in raw.ravel()],
                    dtype="int64").reshape(raw.shape)
