"""Case logs (案卷流转记录) from CSV: real case timestamps and points for the indicators.

Two shapes of file are read, through field mappings (TOML, the format of
:mod:`urbangrid.loaders.mapping`) shipped in ``urbangrid/loaders/case_log_mappings/``:

* **one row per event** (``case-events``): ``case_id``, ``event`` (上报 核实 立案 派遣
  处置 核查 结案), ``at``, ``collector_id`` … — what a city system exports;
* **one row per case** (``boston-311``, ``nyc-311``): a case's timestamps in columns
  (``reported_at``, ``registered_at``, ``handled_at``, ``closed_at``, ``due_at``),
  turned into one event per timestamp. In a 311 system every request is opened as a
  case, so 立案 is the 上报 time (``registered = "reported"`` in the mapping).

Timestamps are read with the first of :data:`DATETIME_FORMATS` that reads every value
of the column (ISO ``2025-01-24 03:24:56``, US ``05/01/2022 12:00:03 AM``); they are the
city's local wall-clock times. Points come from ``lon``/``lat`` (EPSG:4326 degrees). The
events are checked by :func:`urbangrid.cases.indicators.check_case_log` (order,
roster); any problem raises :class:`~urbangrid.errors.CaseLogError` naming the file,
row (1-based data row), field and reason, and nothing is written.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from urbangrid.cases.calendar import LOCAL_TIMEZONE
from urbangrid.cases.indicators import CASE_COLUMNS, EVENTS, check_case_log
from urbangrid.errors import CaseLogError, MappingError
from urbangrid.loaders.mapping import FieldMapping, apply_mapping, match_columns, read_mapping
from urbangrid.problems import format_problem, problem
from urbangrid.store import Store

__all__ = [
    "CASE_TIME_COLUMNS",
    "DATETIME_FORMATS",
    "case_log_mappings",
    "load_case_log",
    "read_case_log",
]

#: Formats tried, in order, for each timestamp column.
DATETIME_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
)

#: Per-case timestamp columns and the event each one records.
CASE_TIME_COLUMNS: dict[str, str] = {
    "reported_at": "上报",
    "verified_at": "核实",
    "registered_at": "立案",
    "dispatched_at": "派遣",
    "handled_at": "处置",
    "checked_at": "核查",
    "closed_at": "结案",
}

_ALLOWED = (*CASE_COLUMNS, *CASE_TIME_COLUMNS, "department", "lon", "lat", "registered")
_FOLDER = Path(__file__).parent / "case_log_mappings"


def case_log_mappings() -> list[FieldMapping]:
    """The shipped case-log mappings (``boston-311``, ``nyc-311``, ``case-events``)."""
    return [read_mapping(p) for p in sorted(_FOLDER.glob("*.toml"))]


def _mapping(
    columns: Sequence[str], mapping: str | Path | FieldMapping | None, source: str
) -> FieldMapping:
    if isinstance(mapping, FieldMapping):
        return mapping
    shipped = case_log_mappings()
    if mapping is not None:
        for m in shipped:
            if m.name == str(mapping):
                return m
        return read_mapping(mapping)
    scored = sorted(
        ((len(match_columns(columns, m)), m.name, m) for m in shipped), key=lambda t: (-t[0], t[1])
    )
    if scored[0][0] < 2:
        raise MappingError(
            f"{source}: no case-log mapping matches the columns "
            f"{list(columns)[:12]}; pass mapping= (see {_FOLDER})"
        )
    return scored[0][2]


def _parse_times(values: pd.Series, fld: str, source: str) -> pd.Series:
    text = values.astype("string").str.strip()
    present = text.notna() & (text != "")
    if not present.any():
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in DATETIME_FORMATS:
        parsed = pd.to_datetime(text.where(present), format=fmt, errors="coerce")
        if parsed[present].notna().all():
            return parsed
    # the format reading most values names the rows it cannot read
    best = max(
        DATETIME_FORMATS,
        key=lambda f: pd.to_datetime(text.where(present), format=f, errors="coerce").notna().sum(),
    )
    parsed = pd.to_datetime(text.where(present), format=best, errors="coerce")
    bad = present & parsed.isna()
    why = f"unreadable timestamp (expected e.g. {best})"
    problems = [problem(source, int(r), fld, str(text[r]), why) for r in values.index[bad][:50]]
    raise CaseLogError(
        f"{format_problem(problems[0])} ({int(bad.sum())} such rows)", problems
    )


def _points(frame: pd.DataFrame, source: str) -> np.ndarray:
    import shapely

    if "lon" not in frame.columns or "lat" not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    lon = pd.to_numeric(frame["lon"], errors="coerce")
    lat = pd.to_numeric(frame["lat"], errors="coerce")
    given = frame["lon"].notna() | frame["lat"].notna()
    bad = given & (lon.isna() | lat.isna() | ~lon.between(-180, 180) | ~lat.between(-90, 90))
    if bad.any():
        r = frame.index[bad][0]
        problems = [
            problem(source, int(rr), "lon/lat", None, "not a WGS84 longitude/latitude")
            for rr in frame.index[bad][:50]
        ]
        raise CaseLogError(
            f"{source}: row {r}: field 'lon/lat': ({frame.at[r, 'lon']!r}, "
            f"{frame.at[r, 'lat']!r}) is not a longitude/latitude in degrees (EPSG:4326)",
            problems,
        )
    ok = given.to_numpy() & lon.notna().to_numpy()
    out = np.full(len(frame), None, dtype=object)
    out[ok] = shapely.points(lon.to_numpy()[ok], lat.to_numpy()[ok])
    return out


def read_case_log(
    path: str | Path,
    *,
    mapping: str | Path | FieldMapping | None = None,
    collectors: Sequence[str] | None = None,
    encoding: str = "utf-8",
) -> gpd.GeoDataFrame:
    """Read a case log CSV (``.csv`` or ``.csv.gz``) into checked case events.

    Parameters
    ----------
    path : str or Path
        The file.
    mapping : str, Path or FieldMapping, optional
        A shipped mapping name (``"boston-311"``, ``"nyc-311"``, ``"case-events"``), a
        TOML file, or a mapping; default the shipped one matching most columns.
    collectors : sequence of str, optional
        The roster (监督员名册); events naming another collector are errors.
    encoding : str
        Text encoding of the file.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per event: the columns of
        :data:`~urbangrid.cases.indicators.CASE_COLUMNS` plus ``department``,
        ``source``, ``source_row`` (1-based data row) and the point (EPSG:4326, None
        where the file gives none), sorted by case and time.

    Raises
    ------
    CaseLogError
        Unreadable timestamps or coordinates, events out of order, unknown collectors
        (each problem with its row and field).
    MappingError
        No mapping fits the columns.

    Examples
    --------
    >>> from urbangrid.data import data_path
    >>> ev = read_case_log(data_path("reports/nyc_311_2022-05_sample.csv.gz"))
    >>> ev["event"].value_counts().to_dict()
    {'上报': 924, '立案': 924, '结案': 480}
    """
    path = Path(path)
    source = path.name
    try:
        opener: Any = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding=encoding, newline="") as fh:
            raw = pd.read_csv(fh, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise CaseLogError(f"{source}: cannot read the CSV: {exc}") from exc
    raw.index = pd.RangeIndex(1, len(raw) + 1)
    fm = _mapping(list(raw.columns), mapping, source)
    frame = gpd.GeoDataFrame(raw, geometry=np.full(len(raw), None, dtype=object), crs="EPSG:4326")
    mapped = apply_mapping(frame, fm, allowed=_ALLOWED, source=source, extra_column=None).frame
    geoms = _points(mapped, source)
    if "event" in mapped.columns:
        ev = pd.DataFrame(mapped.drop(columns=[mapped.geometry.name]))
        ev["at"] = _parse_times(ev["at"], "at", source)
        ev["geometry"] = geoms
    else:
        ev = _explode(mapped, geoms, fm, source)
    for c in ("due_at",):
        if c in ev.columns and not pd.api.types.is_datetime64_any_dtype(ev[c]):
            ev[c] = _parse_times(ev[c], c, source)
    ev["source"] = source
    ev["source_row"] = ev.index.astype("int64")
    checked = check_case_log(ev, collectors=collectors, source=source)
    keep = [*CASE_COLUMNS, "department", "source", "source_row", "geometry"]
    for c in keep:
        if c not in checked.columns:
            checked[c] = None
    out = gpd.GeoDataFrame(checked[keep], geometry="geometry", crs="EPSG:4326")
    return out.reset_index(drop=True)


def _explode(
    mapped: gpd.GeoDataFrame, geoms: np.ndarray, fm: FieldMapping, source: str
) -> pd.DataFrame:
    if "case_id" not in mapped.columns or "reported_at" not in mapped.columns:
        raise CaseLogError(
            f"{source}: mapping {fm.name!r} gives neither an 'event' column nor "
            "per-case 'case_id' and 'reported_at' columns"
        )
    times = {
        c: _parse_times(mapped[c], fm.fields.get(c, (c,))[0], source)
        for c in CASE_TIME_COLUMNS
        if c in mapped.columns
    }
    if "registered_at" not in times and "registered" in mapped.columns:
        same = mapped["registered"].astype(str).eq("reported")
        times["registered_at"] = times["reported_at"].where(same)
    base_cols = [
        c
        for c in (
            "case_id",
            "collector_id",
            "channel",
            "assigned_to",
            "area_code",
            "category",
            "kind",
            "department",
            "due_at",
        )
        if c in mapped.columns
    ]
    base = pd.DataFrame(mapped[base_cols]).copy()
    base["geometry"] = geoms
    parts = []
    for col, event in CASE_TIME_COLUMNS.items():
        if col not in times:
            continue
        t = times[col]
        sel = t.notna()
        part = base[sel].copy()
        part["event"] = event
        part["at"] = t[sel]
        if event != "上报":
            # the channel and reporter belong to the report, not to later events
            for c in ("channel", "collector_id"):
                if c in part.columns:
                    part[c] = None
        parts.append(part)
    ev = pd.concat(parts)
    order = {e: i for i, e in enumerate(EVENTS)}
    return ev.iloc[np.lexsort((ev["event"].map(order).to_numpy(), ev.index.to_numpy()))]


def load_case_log(
    store: Store,
    events: gpd.GeoDataFrame,
    *,
    source: str = "case log",
    timezone: str = LOCAL_TIMEZONE,
) -> int:
    """Write checked case events to the store's ``case_event`` layer (all or nothing).

    The store keeps instants: naive event times (``at``, ``due_at``) are the district's
    wall clock in ``timezone`` and are stored as such, so they come back as the same
    instants in UTC; aware times are stored as given.

    Parameters
    ----------
    store : urbangrid.store.Store
        A migrated store (layer ``case_event``, migration ``1001_case_log.sql``).
    events : geopandas.GeoDataFrame
        From :func:`read_case_log`.
    source : str
        Name for messages.
    timezone : str
        IANA zone of naive times (the calendar's, ``Asia/Shanghai`` by default).

    Returns
    -------
    int
        Events inserted (re-loading the same events changes nothing).
    """
    ev = events.copy()
    n = ev.groupby(["case_id", "event"]).cumcount() + 1
    ev["event_id"] = ev["case_id"].astype(str) + ":" + ev["event"] + ":" + n.astype(str)
    for col in ("at", "due_at"):
        if col in ev.columns:
            ev[col] = _as_instants(ev[col], timezone)
    result = store.write("case_event", ev, "upsert", source=source)
    return int(result.inserted)


def _as_instants(values: pd.Series, timezone: str) -> pd.Series:
    """Times as aware instants: naive ones read as wall-clock times in ``timezone``."""
    t = pd.to_datetime(values)
    if t.dt.tz is not None:
        return t
    # a store takes naive times for UTC: a Beijing 09:00 would come back 8 h off
    return t.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward")
