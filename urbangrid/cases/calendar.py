"""Working-hours calendar (工作日历): case clocks that stop at night, weekends and holidays.

Case time limits (处置时限) are set per subclass in 工作时 (working hours) or 工作日
(working days): 暴露垃圾 within 4 工作时 means four hours of office time, so a case
reported on an ordinary Friday at 17:00 is due on Monday at 11:30 with office hours 08:30-12:00 and
13:30-18:00. A :class:`WorkCalendar` holds those hours, the weekend days, the public
holidays (法定节假日) and the weekend days worked in exchange (调休上班) — all data, read
from a TOML file a centre edits (``urbangrid/routing/norms/calendar_cn.toml``).

Every function is vectorised: times are numpy ``datetime64`` arrays (or anything
:func:`pandas.to_datetime` reads) of local wall-clock times, and the working time
between two instants is a difference of one monotone *clock* (working seconds since the
calendar's first day), so deadlines and durations for a whole case log are a few array
operations. Missing times (``NaT``) give ``NaN`` / ``NaT``.

Naive times are local wall-clock times of the calendar's district. Time-zone-aware
times (a store gives date-times back in UTC) are first converted to the calendar's
``timezone`` (``Asia/Shanghai`` unless the calendar file sets ``timezone`` in its
``[calendar]`` table); times computed from aware times come back aware, in the zone
of the input.

One 工作日 counts as the working time of one full working day (8 工作时 with the hours
above); clock units 小时 / 分钟 / 天 are plain elapsed time.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from urbangrid.errors import CalendarError

__all__ = [
    "LOCAL_TIMEZONE",
    "UNITS",
    "WorkCalendar",
    "add_working_time",
    "deadline",
    "read_calendar",
    "working_seconds",
]

#: Time-limit units and their meaning: working time (stops outside office hours) or
#: elapsed clock time, in seconds per unit (``None``: one working day of the calendar).
UNITS: dict[str, tuple[str, float | None]] = {
    "工作时": ("working", 3600.0),
    "工作日": ("working", None),
    "小时": ("elapsed", 3600.0),
    "分钟": ("elapsed", 60.0),
    "天": ("elapsed", 86400.0),
    "日": ("elapsed", 86400.0),
}

#: Time zone of naive case times when a calendar does not say (China Standard Time).
LOCAL_TIMEZONE = "Asia/Shanghai"

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


@dataclass(frozen=True)
class WorkCalendar:
    """Office hours, weekends and holidays of one centre, for a span of whole years.

    Attributes
    ----------
    name, title : str
        Key and human-readable title.
    periods : tuple of (int, int)
        Working periods of a working day, seconds after local midnight, in order.
    weekend : frozenset of int
        ISO weekdays off (6 = Saturday, 7 = Sunday).
    holidays : frozenset of datetime.date
        Days off although not a weekend day (法定节假日).
    workdays : frozenset of datetime.date
        Weekend days worked (调休上班).
    first_year, last_year : int
        Years whose holidays are known; other dates raise :class:`CalendarError`.
    source : str
        Where the holidays and hours come from.
    timezone : str
        IANA zone of the office hours; aware times are converted to it.
    """

    name: str
    title: str
    periods: tuple[tuple[int, int], ...]
    weekend: frozenset[int]
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    first_year: int
    last_year: int
    source: str = "<calendar>"
    timezone: str = LOCAL_TIMEZONE

    @property
    def day_seconds(self) -> float:
        """Working seconds in one working day (one 工作日)."""
        return float(sum(b - a for a, b in self.periods))

    @functools.cached_property
    def _table(self) -> tuple[np.datetime64, np.ndarray, np.ndarray]:
        start = np.datetime64(f"{self.first_year}-01-01", "D")
        end = np.datetime64(f"{self.last_year + 1}-01-01", "D")
        days = np.arange(start, end, dtype="datetime64[D]")
        # 1970-01-01 was a Thursday (ISO weekday 4)
        iso = (days.astype("int64") + 3) % 7 + 1
        work = ~np.isin(iso, sorted(self.weekend))
        as_dates = days.astype(object)
        work &= ~np.fromiter((d in self.holidays for d in as_dates), bool, len(days))
        work |= np.fromiter((d in self.workdays for d in as_dates), bool, len(days))
        cum = np.concatenate([[0.0], np.cumsum(work * self.day_seconds)])
        return start, work, cum

    def is_workday(self, dates: Any) -> np.ndarray:
        """Whether each date is a working day (bool array).

        Raises
        ------
        CalendarError
            A date outside ``first_year``-``last_year``.
        """
        t, _, _ = _times(dates, self.timezone)
        start, work, _ = self._table
        return work[self._day_index(t, start, len(work))]

    def _day_index(self, t: np.ndarray, start: np.datetime64, n: int) -> np.ndarray:
        ok = ~np.isnat(t)
        day = np.zeros(len(t), dtype="int64")
        day[ok] = (t[ok].astype("datetime64[D]") - start).astype("int64")
        bad = ok & ((day < 0) | (day >= n))
        if bad.any():
            first = t[np.flatnonzero(bad)[0]]
            msg = (f"calendar {self.name!r} ({self.source}): {first} is outside the years "
                   f"{self.first_year}-{self.last_year} whose holidays it lists; add that "
                   f"year's holidays and workdays to the calendar file")
            raise CalendarError(msg)
        return day

    def clock(self, times: Any) -> np.ndarray:
        """Working seconds from the calendar's first day to each time (float, NaN for NaT).

        Parameters
        ----------
        times : array-like of datetime
            Local wall-clock times (naive), or aware times (converted to ``timezone``).
        """
        t, _, _ = _times(times, self.timezone)
        start, work, cum = self._table
        day = self._day_index(t, start, len(work))
        ok = ~np.isnat(t)
        tod = np.zeros(len(t))
        tod[ok] = (t[ok] - t[ok].astype("datetime64[D]")).astype("timedelta64[ms]").astype(
            "float64") / 1000.0
        within = np.zeros(len(t))
        for a, b in self.periods:
            within += np.clip(tod - a, 0.0, b - a)
        out = cum[day] + work[day] * within
        out[~ok] = np.nan
        return out

    def from_clock(self, values: np.ndarray) -> np.ndarray:
        """The earliest time at which the clock reads each value (``datetime64[s]``)."""
        c = np.asarray(values, dtype="float64")
        start, work, cum = self._table
        ok = ~np.isnan(c)
        total = cum[-1]
        if ok.any() and (c[ok].min() < 0 or c[ok].max() > total):
            msg = (f"calendar {self.name!r} ({self.source}): a deadline falls after "
                   f"{self.last_year}-12-31, beyond the years it lists; add the next year")
            raise CalendarError(msg)
        wd = np.flatnonzero(work)
        ends = cum[wd] + self.day_seconds
        pos = np.searchsorted(ends, c[ok], side="left")
        d = wd[pos]
        r = c[ok] - cum[d]
        lengths = np.array([b - a for a, b in self.periods], dtype="float64")
        pend = np.cumsum(lengths)
        p = np.minimum(np.searchsorted(pend, r, side="left"), len(lengths) - 1)
        firsts = np.array([a for a, _ in self.periods], dtype="float64")
        secs = firsts[p] + (r - (pend[p] - lengths[p]))
        out = np.full(len(c), np.datetime64("NaT"), dtype="datetime64[s]")
        out[ok] = (start + d.astype("timedelta64[D]")).astype("datetime64[s]") + np.round(
            secs).astype("timedelta64[s]")
        return out


def _times(values: Any, timezone: str) -> tuple[np.ndarray, bool, Any]:
    """Local wall-clock times (``datetime64[ms]``), whether `values` was one time, and
    the time zone of aware `values` (None for naive ones, taken as local already)."""
    scalar = np.ndim(values) == 0 and not isinstance(values, pd.Index | pd.Series)
    raw = np.atleast_1d(values) if scalar else values
    try:
        idx = pd.DatetimeIndex(pd.to_datetime(raw))
    except ValueError:  # aware times in several zones (e.g. offsets +08:00 and Z)
        idx = pd.DatetimeIndex(pd.to_datetime(raw, utc=True))
    zone = idx.tz
    if zone is not None:
        idx = idx.tz_convert(timezone).tz_localize(None)
    return idx.to_numpy(dtype="datetime64[ns]").astype("datetime64[ms]"), scalar, zone


def _out(t: np.ndarray, scalar: bool, timezone: str, zone: Any) -> Any:
    """`t` (local wall-clock) as given back: aware in `zone` when the input was aware."""
    if zone is not None:
        idx = pd.DatetimeIndex(t).tz_localize(timezone, ambiguous="NaT",
                                              nonexistent="shift_forward").tz_convert(zone)
        return idx[0] if scalar else idx
    return pd.Timestamp(t[0]) if scalar else t


def working_seconds(start: Any, end: Any, calendar: WorkCalendar) -> np.ndarray:
    """Working seconds between ``start`` and ``end`` (negative when ``end`` is earlier).

    Parameters
    ----------
    start, end : array-like of datetime
        Naive local times or aware times (see the module), same length (or one of them
        a single time).
    calendar : WorkCalendar

    Returns
    -------
    numpy.ndarray of float64
        Seconds of office time; NaN where either time is missing.

    Examples
    --------
    >>> cal = read_calendar()
    >>> float(working_seconds("2025-01-24 17:00", "2025-01-27 11:30", cal)[0]) / 3600
    12.0
    """
    return calendar.clock(end) - calendar.clock(start)


def add_working_time(start: Any, seconds: Any, calendar: WorkCalendar) -> Any:
    """The time when ``seconds`` of working time have passed since ``start``.

    A deadline landing exactly at the end of a working day is that day's closing time,
    not the next morning.

    Parameters
    ----------
    start : array-like of datetime
        Naive local times, or aware times (converted to the calendar's ``timezone``).
    seconds : float or array-like of float
        Working seconds to add (≥ 0).
    calendar : WorkCalendar

    Returns
    -------
    numpy.ndarray of datetime64[s], or a Timestamp for a single ``start``; for aware
    ``start`` a DatetimeIndex (or Timestamp) in the zone of ``start``

    Examples
    --------
    >>> cal = read_calendar()
    >>> str(add_working_time("2025-01-24 17:00", 4 * 3600, cal))  # Friday → Sunday 调休
    '2025-01-26 11:30:00'
    """
    t, scalar, zone = _times(start, calendar.timezone)
    s = np.broadcast_to(np.asarray(seconds, dtype="float64"), t.shape)
    if (s < 0).any():
        msg = "working time to add must be ≥ 0 seconds"
        raise CalendarError(msg)
    return _out(calendar.from_clock(calendar.clock(t) + s), scalar, calendar.timezone, zone)


def deadline(start: Any, limit: Any, unit: Any, calendar: WorkCalendar | None) -> Any:
    """Due times of cases: ``limit`` units after ``start`` (时限 → 截止时间).

    Parameters
    ----------
    start : array-like of datetime
        Times the clock starts (立案, 派遣 …): naive local wall-clock times, or aware
        times (a store's UTC), converted to the calendar's ``timezone``
        (:data:`LOCAL_TIMEZONE` without a calendar).
    limit : float or array-like of float
        Time limits; NaN for none (the due time is then NaT).
    unit : str or array-like of str
        One of :data:`UNITS` per limit: 工作时, 工作日 (working time of the calendar),
        小时, 分钟, 天 (elapsed time).
    calendar : WorkCalendar or None
        Needed only for working-time units.

    Returns
    -------
    numpy.ndarray of datetime64[s], or a Timestamp for a single ``start``; for aware
    ``start`` a DatetimeIndex (or Timestamp) in the zone of ``start``

    Raises
    ------
    CalendarError
        An unknown unit, a working-time unit without a calendar, or a date outside the
        calendar's years.
    """
    tz = calendar.timezone if calendar is not None else LOCAL_TIMEZONE
    t, scalar, zone = _times(start, tz)
    n = len(t)
    lim = np.broadcast_to(np.asarray(limit, dtype="float64"), (n,))
    units = np.broadcast_to(np.asarray(unit, dtype=object), (n,))
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    for u in pd.unique(units[~np.isnan(lim)]):
        if u not in UNITS:
            msg = f"unknown time-limit unit {u!r}; use one of {list(UNITS)}"
            raise CalendarError(msg)
        kind, per = UNITS[u]
        sel = (units == u) & ~np.isnan(lim) & ~np.isnat(t)
        if not sel.any():
            continue
        if kind == "elapsed":
            assert per is not None
            out[sel] = t[sel].astype("datetime64[s]") + np.round(lim[sel] * per).astype(
                "timedelta64[s]")
        else:
            if calendar is None:
                msg = f"a limit in {u} needs a working-hours calendar (calendar=)"
                raise CalendarError(msg)
            secs = lim[sel] * (calendar.day_seconds if per is None else per)
            out[sel] = calendar.from_clock(calendar.clock(t[sel]) + secs)
    return _out(out, scalar, tz, zone)


def _clock_s(text: Any, where: str) -> int:
    if not isinstance(text, str) or not _HHMM.match(text):
        raise CalendarError(f"{where}: {text!r} is not a time HH:MM")
    h, m = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60


def _dates(raw: Any, where: str) -> set[dt.date]:
    if not isinstance(raw, list):
        raise CalendarError(f"{where}: must be a list of dates or 'first..last' ranges")
    out: set[dt.date] = set()
    for item in raw:
        try:
            if isinstance(item, dt.date):
                out.add(item)
            elif isinstance(item, str) and ".." in item:
                a, b = (dt.date.fromisoformat(x.strip()) for x in item.split(".."))
                if b < a:
                    raise ValueError("range ends before it starts")
                out.update(a + dt.timedelta(days=k) for k in range((b - a).days + 1))
            else:
                out.add(dt.date.fromisoformat(str(item)))
        except ValueError as exc:
            raise CalendarError(f"{where}: {item!r} is not a date or range: {exc}") from exc
    return out


def _parse(data: Mapping[str, Any], source: str) -> WorkCalendar:
    head = data.get("calendar")
    if not isinstance(head, dict):
        raise CalendarError(f"{source}: missing [calendar] table")
    hours = head.get("hours")
    if not isinstance(hours, list) or not hours:
        raise CalendarError(f"{source}: [calendar] hours must list [\"HH:MM\", \"HH:MM\"] periods")
    periods: list[tuple[int, int]] = []
    for i, p in enumerate(hours):
        if not isinstance(p, list) or len(p) != 2:
            raise CalendarError(f"{source}: [calendar] hours[{i}] must be [start, end]")
        a, b = (_clock_s(x, f"{source}: [calendar] hours[{i}]") for x in p)
        if b <= a or (periods and a < periods[-1][1]):
            raise CalendarError(f"{source}: [calendar] hours[{i}] {p} is empty or overlaps "
                                "the previous period")
        periods.append((a, b))
    weekend = head.get("weekend", [6, 7])
    if not isinstance(weekend, list) or not all(isinstance(d, int) and 1 <= d <= 7
                                                for d in weekend):
        raise CalendarError(f"{source}: [calendar] weekend must list ISO weekdays 1-7")
    years = head.get("years")
    if not (isinstance(years, list) and len(years) == 2 and all(isinstance(y, int)
                                                                for y in years)
            and years[0] <= years[1]):
        raise CalendarError(f"{source}: [calendar] years must be [first, last]")
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    for table, target in (("holidays", holidays), ("workdays", workdays)):
        raw = data.get(table, {})
        if not isinstance(raw, dict):
            raise CalendarError(f"{source}: [{table}] must be a table of year = [dates]")
        for year, items in raw.items():
            got = _dates(items, f"{source}: [{table}] {year}")
            wrong = sorted(d for d in got if str(d.year) != str(year))
            if wrong:
                raise CalendarError(f"{source}: [{table}] {year}: {wrong[0]} is not in {year}")
            target.update(got)
    outside = sorted(d for d in holidays | workdays if not years[0] <= d.year <= years[1])
    if outside:
        raise CalendarError(f"{source}: {outside[0]} lies outside years {years}")
    both = sorted(holidays & workdays)
    if both:
        raise CalendarError(f"{source}: {both[0]} is listed both as a holiday and a workday")
    timezone = head.get("timezone", LOCAL_TIMEZONE)
    try:
        zoneinfo.ZoneInfo(str(timezone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"{source}: [calendar] timezone {timezone!r} is not an IANA "
                            "time zone such as \"Asia/Shanghai\"") from exc
    return WorkCalendar(
        name=str(head.get("name", Path(source).stem)), title=str(head.get("title", "")),
        periods=tuple(periods), weekend=frozenset(weekend), holidays=frozenset(holidays),
        workdays=frozenset(workdays), first_year=years[0], last_year=years[1],
        source=str(head.get("source", source)), timezone=str(timezone),
    )


@functools.cache
def _bundled(name: str) -> WorkCalendar:
    path = Path(__file__).parent / "norms" / f"calendar_{name}.toml"
    if not path.is_file():
        known = sorted(p.stem.removeprefix("calendar_")
                       for p in path.parent.glob("calendar_*.toml"))
        raise CalendarError(f"no bundled calendar {name!r}; bundled: {known}")
    return read_calendar(path)


def read_calendar(path: str | Path | None = None) -> WorkCalendar:
    """Read a calendar TOML file, or a bundled one by name (default ``"cn"``).

    Parameters
    ----------
    path : str or Path, optional
        A ``.toml`` file (format: ``urbangrid/routing/norms/calendar_cn.toml``) or the
        name of a bundled calendar.

    Raises
    ------
    CalendarError
        Unreadable TOML or a malformed entry, naming the file and field.
    """
    if path is None or (isinstance(path, str) and not path.endswith(".toml")):
        return _bundled(path or "cn")
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CalendarError(f"{p}: cannot read the calendar: {exc}") from exc
    return _parse(data, str(p))
