"""One survey load, end to end: read → map → validate → diff → (commit) apply.

:func:`load_survey` is the single core behind the Python API and the
``urbangrid load`` command. It is a **dry run unless** ``commit=True``: the diff
against the store is computed and returned (and written, when asked), nothing is
written to the store. A committed run computes the diff once, under the layer
lock, in the transaction that applies it, so concurrent loaders never lose or
duplicate a row; deadlocks and lock time-outs are retried.

Targets (:data:`TARGETS`) name the store layer a survey kind goes to and the
checks it gets beyond the schema ones: component records are checked against the
city profile by :func:`urbangrid.spatial.components.records.validate_components` (IDs vs
subclass vs county, states, data sources), new components are compared with the
stored ones for duplicates (same subclass within :data:`DUPLICATE_DISTANCE_M`), and
IDs are given to new components by the store's serial counters; grid surveys get
their codes checked and derived (:mod:`urbangrid.loaders.grid_checks`); every
target gets the probable duplicates within the file
(:mod:`urbangrid.loaders.duplicates`), as warnings or bad rows.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from urbangrid.errors import (
    MappingError,
    StorePermissionError,
    UnknownCodeError,
    ValidationError,
)
from urbangrid.loaders.changeset import (
    ChangeSet,
    LoadMeta,
    apply_changeset,
    diff_rows,
    layer_is_empty,
    lock_layer,
    write_diff,
)
from urbangrid.loaders.duplicates import (
    DUPLICATE_DISTANCE_M,
    DuplicatePolicy,
    GeometryPairs,
    duplicates_in_file,
    geometry_pairs,
    pair_distances,
    search_radius,
)
from urbangrid.loaders.grid_checks import (
    fill_unit_grids,
    fill_work_grids,
    grid_code_problems,
    known_communities,
)
from urbangrid.loaders.mapping import (
    FieldMapping,
    MappedFrame,
    apply_mapping,
    choose_mapping,
    read_mapping,
)
from urbangrid.loaders.readers import ReadAhead, SurveyFile, read_survey
from urbangrid.loaders.survey_checks import (
    District,
    check_component_defaults,
    district_problems,
    fill_grid_codes,
    id_county_problems,
    no_county_problem,
    read_district,
    repeated_source_problems,
    subclass_from_ids,
)
from urbangrid.loaders.validate import (
    OnInvalid,
    Problem,
    ValidatedRows,
    is_error,
    problem,
    validate_rows,
    write_report,
)
from urbangrid.spatial.components.codes import demo_profile, find_subclass
from urbangrid.spatial.components.district import county_code_problem
from urbangrid.spatial.components.records import RECORD_COLUMNS, _assign_ids, validate_components
from urbangrid.spatial.crs.transform import CRSLike
from urbangrid.store import Store, StoreBusyError, StoreConflictError

__all__ = [
    "DUPLICATE_DISTANCE_M",
    "TARGETS",
    "LoadResult",
    "SurveyLoadOptions",
    "Target",
    "load_survey",
]

_RETRIES = 6


@dataclass(frozen=True)
class Target:
    """A kind of survey and the layer it loads into.

    Attributes
    ----------
    name : str
        CLI name (``components``, ``streets`` …).
    layer : str
        Store layer.
    helpers : dict
        Mapped columns that are not layer columns, with their logical type
        (``subclass_name`` is resolved to ``subclass_code``).
    filled : tuple of str
        Required layer columns the target fills itself.
    group : str or None
        Column whose equal values make two features comparable as probable
        duplicates (same subclass, same place type); None: all features are.
    near : bool
        Probable duplicates include shapes within the tolerance, not only
        identical ones (off for streets: a two-way street's two directed edges
        coincide).
    """

    name: str
    layer: str
    helpers: dict[str, str] = field(default_factory=dict)
    filled: tuple[str, ...] = ()
    group: str | None = None
    near: bool = True


#: Survey kinds ``urbangrid load`` knows. Grids, work grids and places load into
#: the layers of issues 5 and 9; until their migrations exist the store says so.
TARGETS: dict[str, Target] = {
    "components": Target(
        "components",
        "component",
        {"subclass_name": "text"},
        ("component_id", "edition", "class_code", "name"),
        group="subclass_code",
    ),
    "streets": Target("streets", "street_centreline", near=False),
    "grids": Target(
        "grids",
        "unit_grid",
        {},
        ("code_form", "county_code", "street_code", "community_code", "area_m2"),
    ),
    "work-grids": Target("work-grids", "work_grid"),
    "places": Target("places", "place", group="place_type"),
}


@dataclass
class LoadResult:
    """What a load found and did.

    Attributes
    ----------
    survey : SurveyFile
        The file as read (encoding, CRS and their reasons).
    mapping : FieldMapping
    mapping_note : str
        Which mapping and why.
    mapped : MappedFrame
    problems : list of dict
        Every problem found (file, row, field, value, reason, severity).
    set_aside : list of int
        File rows with an error (left out under ``on_invalid="skip"``); rows with
        only warnings load.
    changeset : ChangeSet or None
        The diff (None when validation blocked the load).
    changeset_id : str or None
        Set when a committed load changed something.
    committed : bool
    report_paths : (Path, Path) or None
        Problem report written (CSV, GeoPackage layer ``problems``).
    diff_paths : (Path, Path) or None
        Diff written (CSV, GeoPackage layers ``changes`` and ``previous``).
    notes : list of str
        Decisions made on the way, for the summary.
    mapping_given : bool
        The caller named the mapping (``--mapping``), rather than urbangrid choosing it.
    """

    survey: SurveyFile
    mapping: FieldMapping
    mapping_note: str
    mapped: MappedFrame
    problems: list[Problem]
    set_aside: list[int]
    changeset: ChangeSet | None
    changeset_id: str | None = None
    committed: bool = False
    blocked: bool = False
    report_paths: tuple[Path, Path] | None = None
    diff_paths: tuple[Path, Path] | None = None
    notes: list[str] = field(default_factory=list)
    mapping_given: bool = False

    @property
    def diff_path(self) -> Path | None:
        """The diff CSV written (``diff_paths[0]``), or None."""
        return self.diff_paths[0] if self.diff_paths else None

    def summary(self) -> str:
        """Several lines a GIS officer reads at the end of a load."""
        lines = [self.survey.summary(), self.mapping_note]
        if self.mapped.unmapped:
            where = (
                "kept in extra"
                if "extra" in self.mapped.frame.columns
                else "not loaded: the mapping or the layer keeps no extra"
            )
            lines.append(f"fields not mapped ({where}): {', '.join(self.mapped.unmapped)}")
        lines.extend(self.notes)
        errors = [p for p in self.problems if is_error(p)]
        warnings = [p for p in self.problems if not is_error(p)]
        reported = self.report_paths is not None
        if errors:
            where = f"{len(self.set_aside)} row(s)" if self.set_aside else "the file"
            lines.append(
                f"{len(errors)} error(s) in {where}"
                + (" set aside" if self.set_aside and not self.blocked else "")
            )
            lines.extend(_problem_lines(errors, reported))
        if warnings:
            # "loaded anyway" only where rows were written despite them
            verdict = ":" if self.blocked else (
                ", loaded anyway:" if self.committed else ", would load anyway:"
            )
            lines.append(f"{len(warnings)} warning(s){verdict}")
            lines.extend(_problem_lines(warnings, reported))
        if self.report_paths:
            lines.append(f"report: {self.report_paths[0]} and {self.report_paths[1]}")
        if self.blocked and any(p["row"] is None for p in errors):
            # --on-invalid skip sets rows aside: no help for a column the file lacks
            fix = (
                f"fix the file or the mapping {self.mapping.source}"
                if self.mapping_given
                else "fix the file, or map its columns with --mapping (a TOML field mapping)"
            )
            lines.append(
                "nothing written: the problems of the whole file above block the load "
                f"(--on-invalid skip sets aside bad rows only); {fix}"
            )
        elif self.blocked:
            lines.append(
                "nothing written: bad rows block the load; fix them, or set them aside "
                "with --on-invalid skip (on_invalid='skip')"
            )
        elif self.changeset is not None:
            lines.append(self.changeset.summary())
            lines.extend(self.changeset.lines())
            if self.diff_paths:
                lines.append(f"diff: {self.diff_paths[0]} and {self.diff_paths[1]}")
            if not self.committed:
                lines.append("dry run: nothing written (run again without --dry-run to apply)")
            elif self.changeset_id:
                lines.append(f"applied as change set {self.changeset_id}")
            else:
                lines.append("nothing to change: the store already holds this survey")
        return "\n".join(lines)


def _problem_lines(problems: list[Problem], reported: bool, most: int = 10) -> list[str]:
    lines = [
        f"  {'file' if p['row'] is None else 'row ' + str(p['row'])} field {p['field']}: "
        f"{p['reason']}"
        + (f" ({p['value']!r})" if p["value"] is not None and p["field"] != "geometry" else "")
        for p in problems[:most]
    ]
    if len(problems) > most:
        where = "see the report" if reported else "--report FILE.csv lists them all"
        lines.append(f"  … {len(problems) - most} more ({where})")
    return lines


# --------------------------------------------------------------------------- components


def _resolve_subclass_names(frame: Any, profile: Any, source: str) -> tuple[Any, list[Problem]]:
    """`frame` with ``subclass_name`` resolved to ``subclass_code`` (then dropped), and
    the problems: a name the profile lacks, a name and a code that disagree."""
    problems: list[Problem] = []
    if "subclass_name" not in frame.columns:
        return frame, problems
    frame = frame.copy()  # subclass codes are filled in below
    if "subclass_code" not in frame.columns:
        frame["subclass_code"] = None
    for row, name, code in zip(
        frame.index, frame["subclass_name"], frame["subclass_code"], strict=True
    ):
        if name is None:
            continue
        try:
            found = find_subclass(profile, str(name)).code
        except UnknownCodeError:
            if code is None:
                why = f"no subclass of that name in profile {profile.name!r}"
                problems.append(problem(source, int(row), "subclass_name", name, why))
            continue
        if code is None:
            frame.at[row, "subclass_code"] = found
        elif code != found:
            problems.append(
                problem(
                    source,
                    int(row),
                    "subclass_code",
                    code,
                    f"disagrees with the subclass name {name!r} ({found})",
                )
            )
    return frame.drop(columns=["subclass_name"]), problems


def _component_checks(
    store: Store,
    rows: ValidatedRows,
    *,
    profile: Any,
    admin_code: str | None,
    source: str,
) -> tuple[Any, list[Problem]]:
    """Component-specific checks; returns the completed good rows and the problems."""
    frame, problems = _resolve_subclass_names(rows.frame, profile, source)
    bad = {
        int(p["row"]) for p in [*rows.problems, *problems] if p["row"] is not None and is_error(p)
    }  # type: ignore[call-overload]
    keep = ~frame.index.isin(list(bad))
    cols = [c for c in frame.columns if c in RECORD_COLUMNS]
    good = frame.loc[keep, [*cols, frame.geometry.name]]
    # Dates were parsed and checked by validate_rows (more forms than it knows).
    dates = [c for c in ("original_date", "change_date") if c in good.columns]
    for _ in range(3):
        if good.empty:
            break
        index = good.index
        try:
            # No district and no JSON check: validate_rows has tested every geometry
            # against the district (covered_by, same CRS) and parsed every JSON value,
            # and set the bad rows aside already.
            done = validate_components(
                good.drop(columns=dates).reset_index(drop=True),
                profile,
                admin_code=admin_code,
                district=None,
                source=source,
                check_json=False,
            )
        except ValidationError as exc:
            drop = set()
            for p in exc.problems:
                at = p.get("row")
                row = None if at is None else int(index[at])
                problems.append(
                    problem(source, row, str(p.get("field")), p.get("value"), str(p.get("reason")))
                )
                if row is None:
                    return good.iloc[0:0], problems
                drop.add(row)
            good = good.drop(index=sorted(drop))
            continue
        done.index = index
        for c in dates:
            done[c] = pd.Series(good[c].tolist(), index=index, dtype=object)
        return done, problems
    return good, problems


def _resolve_ids_readonly(store: Store, frame: Any) -> Any:
    """Known IDs of rows without one, by their source key (what a real load would reuse)."""
    if "source" not in frame.columns:
        return frame
    if "component_id" not in frame.columns:
        frame = frame.copy()
        frame["component_id"] = None
    need: Any = None  # a first load (empty layer): no source key can be known
    if not layer_is_empty(store, "component"):
        # A key the file repeats names no one feature: those rows are matched by their
        # spot (_resolve_by_spot), else two rows would take one stored ID. (Not sought
        # on a first load: 0.1-0.3 s for 316,851 keys.)
        need = (
            frame["component_id"].isna()
            & frame["source"].notna()
            & ~frame["source"].duplicated(keep=False)
        )
        if not need.any():
            return frame
        # One join of the wanted keys with the current rows (a re-run of 316,851
        # rows took ~64 chunked scans, 17 s; this is one hash join, ~2 s).
        by_source = store.current_values(
            "component", "source", frame.loc[need, "source"].unique().tolist(), "component_id"
        )
        found = frame.loc[need, "source"].map(by_source).astype(object)
    frame = frame.copy()
    # Through object dtype: pandas 3's string dtype refuses the NaN of unknown sources.
    ids = frame["component_id"].astype(object)
    if need is not None:
        ids[need] = found
    frame["component_id"] = ids.where(ids.notna(), None)
    return frame


def _stored_keys(store: Store, layer: str, key: str, keys: Any) -> set[Any]:
    """Which of `keys` the layer holds (key column only: no geometry is read)."""
    return set(store.current_values(layer, key, list(keys), key))


def _duplicates_against_store(
    store: Store,
    frame: Any,
    *,
    tolerance_m: float,
    source: str,
    given: pd.Series | None = None,
) -> list[Problem]:
    """New components (no stored ID) within `tolerance_m` of a stored one of the same
    subclass, in metres (:func:`~urbangrid.loaders.duplicates.pair_distances`).

    `given` marks the rows whose ID the file gave (default: every row with one); the
    others' IDs were found in the store by source key, so only the given ones are
    looked up (a contractor's file without IDs costs no lookup at all).
    """
    if frame.empty or layer_is_empty(store, "component"):
        return []
    ids = _component_ids(frame)
    has_id = ids.notna()
    asked = has_id if given is None else has_id & given.reindex(frame.index, fill_value=True)
    stored_ids = _stored_keys(store, "component", "component_id", ids[asked])
    known = has_id & (~asked | ids.isin(stored_ids))
    new = frame[~known.to_numpy()]
    new = new[~shapely.is_missing(np.asarray(new.geometry.values, dtype=object))]
    i, j, dist, near = _near_stored(store, new, tolerance_m)
    # A stored component under the row's own source key is that row's feature (the
    # load reuses its ID), not a duplicate: stored by another loader after the look-up
    # by source key above, it must not block this load (issue 19's concurrent loads).
    if len(i):
        mine, theirs = _sources_at(new, i), _sources_at(near, j)
        other = pd.isna(mine) | pd.isna(theirs) | (mine != theirs)
        i, j, dist = i[other], j[other], dist[other]
    out: list[Problem] = []
    seen: set[int] = set()
    for ii, jj, d in zip(i, j, dist, strict=True):
        if ii in seen:
            continue
        seen.add(int(ii))
        out.append(
            problem(
                source,
                int(new.index[ii]),
                "geometry",
                None,
                f"probable duplicate of stored component {near['component_id'].iloc[jj]} "
                f"(same subclass, {d:.2f} m away, tolerance {tolerance_m:g} m)",
            )
        )
    return out


def _near_stored(
    store: Store, rows: Any, tolerance_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """Pairs of `rows` (positions ``i``) and current stored components (positions ``j``
    in the returned frame) of the same subclass within `tolerance_m` metres, with their
    distances in metres (:func:`~urbangrid.loaders.duplicates.pair_distances`)."""
    none = np.zeros(0, dtype=np.intp)
    if rows.empty:
        return none, none, np.zeros(0), None
    info = store.layer_info("component")
    rows = rows.to_crs(info.crs)
    a = np.asarray(rows.geometry.values, dtype=object)
    pad = search_radius(tolerance_m, a, rows.crs)
    minx, miny, maxx, maxy = rows.total_bounds
    near = store.read(
        "component",
        bbox=(minx - pad, miny - pad, maxx + pad, maxy + pad),
        columns=["component_id", "subclass_code", "source"],
    )
    if near.empty:
        return none, none, np.zeros(0), near
    b = np.asarray(near.geometry.values, dtype=object)
    i, j = shapely.STRtree(b).query(a, predicate="dwithin", distance=pad)
    same = (
        rows["subclass_code"].to_numpy(dtype=object)[i]
        == near["subclass_code"].to_numpy(dtype=object)[j]
    )
    i, j = i[same], j[same]
    dist = pair_distances(a[i], b[j], rows.crs)
    hit = dist <= tolerance_m
    return i[hit], j[hit], dist[hit], near


def _component_ids(frame: Any) -> pd.Series:
    """`frame`'s component IDs as objects (None where a row has none, or no column)."""
    if "component_id" in frame.columns:
        return frame["component_id"].astype(object)
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _sources_at(frame: Any, positions: np.ndarray) -> np.ndarray:
    """Source keys (来源编号) of `frame`'s rows at `positions`, None where a row has
    none (or `frame` no source column), so two missing keys compare equal."""
    if frame is None or "source" not in frame.columns:
        return np.full(len(positions), None, dtype=object)
    keys: np.ndarray = frame["source"].to_numpy(dtype=object)[positions]  # a copy
    keys[pd.isna(keys)] = None
    return keys


#: Metres within which a row without an ID and without a source key of its own is the
#: stored component at that spot (a re-run of the same file), not a new one.
SAME_SPOT_M = 0.001


def _resolve_by_spot(store: Store, frame: Any) -> Any:
    """Reuse the IDs of stored components for rows without an ID whose source key
    (来源编号) is missing or repeated in the file, where they stand within
    :data:`SAME_SPOT_M` of a stored component of their subclass with the same source key
    (or none): re-loading such a file changes nothing.

    Each stored component is claimed once, rows and stored IDs taken in file and serial
    order, so two rows on one spot keep their own IDs.
    """
    if frame.empty or "subclass_code" not in frame.columns:
        return frame
    ids = _component_ids(frame)
    need = ids.isna().to_numpy() & ~shapely.is_missing(
        np.asarray(frame.geometry.values, dtype=object)
    )
    if not need.any() or layer_is_empty(store, "component"):
        return frame  # (before the search for repeated keys: 0.1-0.3 s on 316,851 rows)
    if "source" in frame.columns:
        key = frame["source"]
        need = need & (key.isna() | key.duplicated(keep=False)).to_numpy()
    if not need.any():
        return frame
    rows = frame[need]
    i, j, _, near = _near_stored(store, rows, SAME_SPOT_M)
    same = _sources_at(rows, i) == _sources_at(near, j)  # None == None: both keyless
    i, j = i[same], j[same]
    if not len(i):
        return frame
    pairs = pd.DataFrame(
        {"i": i, "cid": near["component_id"].to_numpy(dtype=object)[j]}
    ).sort_values(["i", "cid"])
    used = set(ids.dropna())
    got: dict[int, Any] = {}
    for row, cid in zip(pairs["i"], pairs["cid"], strict=True):
        if row not in got and cid not in used:
            got[int(row)] = cid
            used.add(cid)
    if not got:
        return frame
    frame = frame.copy()
    where = rows.index[list(got)]
    ids.loc[where] = list(got.values())
    frame["component_id"] = ids
    return frame


# --------------------------------------------------------------------------- the load


def _retryable(exc: BaseException) -> bool:
    """Whether `exc` (or an error it was raised from) says another loader got in the
    way: a deadlock, a lock wait that ran out, a key stored meanwhile."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, StoreBusyError):
            return False  # waited the whole lock timeout already: say so, now
        if isinstance(seen, StoreConflictError):
            return True
        seen = seen.__cause__
    return False


def _permission(exc: BaseException) -> bool:
    """Whether `exc` (or an error it was raised from) is a write the store refused."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, StorePermissionError):
            return True
        seen = seen.__cause__
    return False


@dataclass(frozen=True)
class SurveyLoadOptions:
    """The options of :func:`load_survey` (each may also be given to it by keyword).

    Attributes
    ----------
    mapping : FieldMapping, str or path, optional
        Field mapping (a TOML path or a shipped mapping's name); default: the
        shipped mapping of the target matching most of the file's fields.
    crs : str, int or pyproj.CRS, optional
        CRS of the file's coordinates, overriding the file's (required for CSV).
    encoding : str, optional
        Shapefile/CSV text encoding; detected when not given.
    layer, x, y : str, optional
        GeoPackage layer; CSV coordinate columns (see :func:`read_survey`).
    profile : CityProfile, optional
        Components: the city profile (default the demo profile).
    admin_code : str, optional
        Components: 6-digit county code IDs must carry and new IDs get; default
        the profile's. When the store holds that admin area, its boundary is the
        district every feature must lie in.
    district : shapely geometry, optional
        District boundary in the file's CRS (overrides the one from the store).
    coverage : shapely geometry, optional
        The area the survey covers completely, in the store layer's CRS: stored
        features inside it that the file lacks are removed (retired).
    on_invalid : {"raise", "skip"}
        ``"raise"`` (default): any bad row blocks the load; ``"skip"``: bad rows
        are set aside (listed in the report) and the rest load.
    duplicates : {"warn", "reject"}
        Probable duplicates within the file (same kind, identical or within
        `duplicate_distance_m`, :func:`~urbangrid.loaders.duplicates.duplicates_in_file`)
        are warnings (default: reported, loaded) or errors (bad rows, handled by
        `on_invalid`). A *new* component (no ID, no known source key) within
        `duplicate_distance_m` of a stored one of the same subclass is always an
        error: loading it would store the feature twice, and a re-run of a file
        without IDs would add it again each time.
    duplicate_distance_m : float
        Tolerance of the near-duplicate checks, metres (default
        :data:`~urbangrid.loaders.duplicates.DUPLICATE_DISTANCE_M`).
    commit : bool
        Apply the change set (default False: dry run).
    report : path-like, optional
        Write the problems to ``<report>.csv`` and ``<report>.gpkg``.
    diff : path-like, optional
        Write the diff (:func:`~urbangrid.loaders.changeset.write_diff`): ``<diff>.csv``
        one line per changed field, and ``<diff>.gpkg`` with the features for QGIS.
        A committed load writes the diff it applied.
    by : str, optional
        Who loads (recorded; default the OS user).
    at : datetime, optional
        Time of the change (default now, UTC).
    progress : callable, optional
        Called with the name of each step as it starts.
    read_ahead : ReadAhead, optional
        The file's Arrow read, started earlier (:class:`~urbangrid.loaders.readers.ReadAhead`).
    """

    mapping: FieldMapping | str | PathLike[str] | None = None
    crs: CRSLike | None = None
    encoding: str | None = None
    layer: str | None = None
    x: str | None = None
    y: str | None = None
    profile: Any = None
    admin_code: str | None = None
    district: Any = None
    coverage: Any = None
    on_invalid: OnInvalid = "raise"
    duplicates: DuplicatePolicy = "warn"
    duplicate_distance_m: float = DUPLICATE_DISTANCE_M
    commit: bool = False
    report: str | PathLike[str] | None = None
    diff: str | PathLike[str] | None = None
    by: str | None = None
    at: dt.datetime | None = None
    progress: Callable[[str], None] | None = None
    read_ahead: ReadAhead | None = None

    def say(self, step: str) -> None:
        """Report that `step` starts (to ``progress``, when given)."""
        if self.progress is not None:
            self.progress(step)


def load_survey(
    store: Store,
    path: str | PathLike[str],
    target: str = "components",
    *,
    options: SurveyLoadOptions | None = None,
    **overrides: Any,
) -> LoadResult:
    """Load a survey file into a store — a dry run unless ``commit=True``.

    Parameters
    ----------
    store : Store
        GeoPackage or PostGIS (:func:`urbangrid.connect`).
    path : path-like
        The survey file (:func:`~urbangrid.loaders.readers.read_survey` formats).
    target : str
        One of :data:`TARGETS` (default ``"components"``).
    options : SurveyLoadOptions, optional
        How to read, check and apply the file (see :class:`SurveyLoadOptions`).
    **overrides
        Any field of :class:`SurveyLoadOptions` by keyword (``commit=True``,
        ``crs="EPSG:4326"`` …), over `options`.

    Returns
    -------
    LoadResult
        ``blocked`` is True when validation stopped the load.

    Raises
    ------
    TypeError
        A keyword that is not an option.
    DataFileError, EncodingDetectionError, CRSError, CRSMismatchError
        The file cannot be read as it is (see :func:`read_survey`).
    MappingError
        No usable mapping, or it does not fit the layer.
    StoreSchemaError
        The target layer is missing from the store.
    StorePermissionError
        The store role may not write.
    """
    opts = replace(options or SurveyLoadOptions(), **overrides)
    if target not in TARGETS:
        raise MappingError(f"unknown target {target!r}; use one of {sorted(TARGETS)}")
    tgt = TARGETS[target]
    info = store.layer_info(tgt.layer)
    opts.say("read")
    survey = read_survey(
        path, layer=opts.layer, crs=opts.crs, encoding=opts.encoding, x=opts.x, y=opts.y,
        read_ahead=opts.read_ahead,
    )  # fmt: skip
    opts.say("map")
    fmap, note, mapped = _mapped(survey, tgt, info, opts)
    opts.say("validate")
    checked = _checked_rows(store, survey, mapped, tgt, info, opts)
    report_paths = None
    if opts.report is not None and checked.problems:
        report_paths = write_report(checked.problems, opts.report, geometries=survey.frame.geometry)
    bad_rows = ValidatedRows(checked.good, checked.problems).bad_rows
    blocked = bool(ValidatedRows(checked.good, checked.problems).file_problems) or (
        bool(bad_rows) and opts.on_invalid == "raise"
    )
    result = LoadResult(
        survey,
        fmap,
        note,
        mapped,
        checked.problems,
        bad_rows,
        None,
        blocked=blocked,
        mapping_given=opts.mapping is not None,
        report_paths=report_paths,
        notes=checked.notes,
    )
    if blocked:
        return result
    good = checked.good
    if bad_rows:  # (a drop of nothing still copies all the rows)
        good = good.drop(index=[r for r in bad_rows if r in good.index])
    if not opts.commit:
        opts.say("diff")
        result.changeset = diff_rows(store, tgt.layer, good, coverage=opts.coverage)
    else:
        opts.say("apply")
        meta = _load_meta(survey, fmap, target, len(bad_rows), opts)
        cs, cid = _apply(store, tgt, good, meta, checked, source=survey.name, opts=opts)
        result.changeset, result.changeset_id, result.committed = cs, cid, True
    if opts.diff is not None:
        result.diff_paths = write_diff(result.changeset, opts.diff, crs=info.crs)
    return result


def _mapped(
    survey: SurveyFile, tgt: Target, info: Any, opts: SurveyLoadOptions
) -> tuple[FieldMapping, str, MappedFrame]:
    """The field mapping (given or chosen), why it was taken, and the mapped frame."""
    target = tgt.name
    columns = [c for c in survey.frame.columns if c != survey.frame.geometry.name]
    shapefile = survey.format == "Shapefile"
    if opts.mapping is None:
        fmap, note = choose_mapping(columns, target, shapefile=shapefile)
    else:
        mapping = opts.mapping
        fmap = mapping if isinstance(mapping, FieldMapping) else read_mapping(mapping)
        note = f"mapping {fmap.name!r} ({fmap.source})"
        if fmap.target != target:
            raise MappingError(f"{fmap.source}: mapping is for {fmap.target!r}, not {target!r}")
    if target == "components":
        # Once, naming the mapping file and key, not once per row it fills.
        check_component_defaults(fmap.defaults, opts.profile or demo_profile(), fmap.source)
    allowed = [*info.columns, *tgt.helpers]
    mapped = apply_mapping(
        survey.frame, fmap, allowed=allowed, source=survey.name, shapefile=shapefile
    )
    return fmap, note, mapped


@dataclass
class _Checked:
    """The rows that passed (completed), every problem found (sorted by row), the
    notes for the summary, and for components the profile and county code."""

    good: Any
    problems: list[Problem]
    notes: list[str]
    profile: Any = None
    admin_code: str | None = None
    district: District | None = None


def _checked_rows(
    store: Store,
    survey: SurveyFile,
    mapped: MappedFrame,
    tgt: Target,
    info: Any,
    opts: SurveyLoadOptions,
) -> _Checked:
    """Validate the mapped rows: schema, target-specific checks, duplicates."""
    source, target = survey.name, tgt.name
    out = _Checked(None, [], [], admin_code=opts.admin_code)
    grid_problems: list[Problem] = []
    if target == "components":
        grid_problems = _component_setup(store, survey, mapped, out, opts)
    if target in ("grids", "work-grids"):
        communities = known_communities(store) if target == "grids" else None
        grid_problems = grid_code_problems(
            mapped.frame, target=target, source=source, communities=communities
        )
        fill = fill_unit_grids if target == "grids" else fill_work_grids
        mapped.frame = fill(mapped.frame)
    # The in-file duplicate search (GEOS) and the search for repeated source keys
    # (Arrow) let other threads run: they go on in a thread while the rows are checked
    # (mostly Python), so on 2 cores the one hides most of the other (316,851
    # components: about 1 s of the 3 s).
    with ThreadPoolExecutor(1, thread_name_prefix="urbangrid-duplicates") as pool:
        searched = pool.submit(_searches, mapped.frame, target, source, tgt.near, opts)
        out.good = _valid_rows(store, survey, mapped, tgt, info, out, opts, grid_problems)
        pairs, repeated = searched.result()
    out.problems.extend(
        duplicates_in_file(
            out.good,
            source=source,
            key=info.key,
            group=tgt.group,
            near=tgt.near,
            tolerance_m=opts.duplicate_distance_m,
            policy=opts.duplicates,
            pairs=pairs,
        )
    )
    out.problems.extend(repeated)
    out.problems = _without_echoes(out.problems, survey.problems)
    out.problems.sort(key=lambda p: (p["row"] is not None, p["row"] or 0))
    return out


def _searches(
    frame: Any, target: str, source: str, near: bool, opts: SurveyLoadOptions
) -> tuple[GeometryPairs, list[Problem]]:
    """The pairs of near geometries in `frame` (for :func:`duplicates_in_file`) and,
    for components, the rows repeating a source key."""
    pairs = geometry_pairs(frame, near=near, tolerance_m=opts.duplicate_distance_m)
    if target != "components":
        return pairs, []
    return pairs, repeated_source_problems(frame, source, reject=opts.duplicates == "reject")


def _valid_rows(
    store: Store, survey: SurveyFile, mapped: MappedFrame, tgt: Target, info: Any,
    out: _Checked, opts: SurveyLoadOptions, grid_problems: list[Problem],
) -> Any:
    """The rows that pass the schema checks (components: and the profile's); the
    problems found, the reader's first, go to ``out.problems``."""
    rows = validate_rows(mapped.frame, info, source=survey.name, filled=tgt.filled,
                         types=tgt.helpers, district=opts.district)  # fmt: skip
    out.problems = [*survey.problems, *grid_problems, *rows.problems]
    if tgt.name == "components":
        return _component_rows(store, rows.frame, out, survey.name, opts.duplicate_distance_m)
    return rows.frame.drop(index=ValidatedRows(rows.frame, out.problems).bad_rows, errors="ignore")


def _without_echoes(problems: list[Problem], first: list[Problem]) -> list[Problem]:
    """`problems` less the "geometry is missing" of rows whose geometry the reader
    already set aside with its own reason (coordinates in the wrong unit …)."""
    said = {p["row"] for p in first if p["field"] == "geometry"}
    kept = [
        p for p in problems
        if p in first or not (p["row"] in said and p["field"] == "geometry")
    ]
    # A missing column is found by the schema checks and again by the profile's.
    whole: set[str] = set()
    out = []
    for p in kept:
        if p["row"] is None and is_error(p):
            if p["field"] in whole:
                continue
            whole.add(str(p["field"]))
        out.append(p)
    return out


def _component_setup(
    store: Store, survey: SurveyFile, mapped: MappedFrame, out: _Checked, opts: SurveyLoadOptions
) -> list[Problem]:
    """Components: the profile, the store's district and the county of new IDs
    (never a hidden default), the subclass from the 标识码 when no column holds it,
    the unit grid of each row; returns the problems found on the way."""
    source = survey.name
    problems: list[Problem] = []
    profile = opts.profile or demo_profile()
    if opts.admin_code is not None and county_code_problem(opts.admin_code):
        why = f"--admin-code (admin_code=) {county_code_problem(opts.admin_code)}"
        problems.append(problem(source, None, "admin_code", opts.admin_code, why))
    dist = read_district(store, opts.admin_code, store.layer_info("component").crs)
    # A profile given on purpose may name the county; the demo profile's is no default.
    out.admin_code = dist.county or (opts.profile.admin_code if opts.profile else None)
    out.profile = replace(profile, admin_code=None)
    out.district = dist
    out.notes.extend(n for n in [dist.note] if n)
    if dist.asked is not None:
        problems.append(no_county_problem(dist, source))
    mapped.frame, note = subclass_from_ids(mapped.frame, profile)
    out.notes.extend(n for n in [note] if n)
    if "subclass_code" not in mapped.frame.columns:
        # Names only (a 小类名称 column, or subclass_name in [defaults]): their codes,
        # before the schema checks would call the required subclass_code missing.
        mapped.frame, named = _resolve_subclass_names(mapped.frame, profile, source)
        problems.extend(named)
    problems.extend(id_county_problems(mapped.frame, dist, profile, source))
    if opts.district is None:
        problems.extend(district_problems(mapped.frame, dist, source))
    mapped.frame, grid_problems, gnote = fill_grid_codes(store, mapped.frame, source)
    out.notes.extend(n for n in [gnote] if n)
    return problems + grid_problems


def _component_rows(
    store: Store, frame: Any, out: _Checked, source: str, tolerance_m: float
) -> Any:
    """Component rows checked against the profile, known IDs found by source key, and
    new components near stored ones of their subclass flagged; problems go to `out`."""
    good, extra = _component_checks(
        store,
        ValidatedRows(frame, out.problems),
        profile=out.profile,
        admin_code=None,  # IDs vs the district: id_county_problems, before
        source=source,
    )
    out.problems.extend(extra)
    given = (
        good["component_id"].notna()
        if "component_id" in good.columns
        else pd.Series(False, index=good.index)
    )
    good = _resolve_by_spot(store, _resolve_ids_readonly(store, good))
    if out.admin_code is None and out.district is not None and out.district.asked is None and (
        not good.empty) and (
        "component_id" not in good.columns or good["component_id"].isna().any()
    ):
        out.problems.append(no_county_problem(out.district, source))
    out.problems.extend(
        _duplicates_against_store(store, good, tolerance_m=tolerance_m, source=source, given=given)
    )
    return good


def _load_meta(
    survey: SurveyFile, fmap: FieldMapping, target: str, set_aside: int, opts: SurveyLoadOptions
) -> LoadMeta:
    """What the change set record says about this load."""
    return LoadMeta(
        target=target,
        file_name=str(survey.path) + (f":{opts.layer}" if opts.layer else ""),
        file_sha256=survey.sha256,
        mapping=fmap.name,
        loaded_by=opts.by,
        set_aside=set_aside,
        options={
            "crs": survey.crs,
            "crs_note": survey.crs_note,
            "encoding": survey.encoding.encoding if survey.encoding else None,
            "on_invalid": opts.on_invalid,
            "coverage": None if opts.coverage is None else opts.coverage.wkt,
        },
    )


def _apply(
    store: Store,
    tgt: Target,
    good: Any,
    meta: LoadMeta,
    checked: _Checked,
    *,
    source: str,
    opts: SurveyLoadOptions,
) -> tuple[ChangeSet, str | None]:
    """Diff and apply in one transaction under the layer lock, retried when another
    loader got in the way.

    A committed load diffs once, under the lock, in the transaction that applies
    it (a diff before the lock could be stale, and re-running an unchanged survey
    would pay for two).
    """
    for attempt in range(_RETRIES):
        try:
            with store.transaction():
                lock_layer(store, tgt.layer)
                frame = good
                if tgt.name == "components":
                    frame = _assign_component_ids(store, good, checked.profile, checked.admin_code)
                cs = diff_rows(store, tgt.layer, frame, coverage=opts.coverage)
                cid = apply_changeset(store, cs, meta, at=opts.at, source=source)
            return cs, cid
        except Exception as exc:
            if _permission(exc):
                raise StorePermissionError(
                    f"{store.target}: the role this store was opened with may not write "
                    f"{tgt.layer!r}; nothing was written. Connect as a writer role."
                ) from exc
            if attempt + 1 < _RETRIES and _retryable(exc):
                time.sleep(0.05 * 2**attempt)
                continue
            raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _assign_component_ids(store: Store, frame: Any, profile: Any, admin_code: str | None) -> Any:
    """IDs for new components: the stored one for a known source key, else a new serial."""
    if frame.empty:
        return frame
    index = frame.index
    out = _assign_ids(store, frame.reset_index(drop=True).copy(), profile, admin_code)
    out.index = index
    return out
