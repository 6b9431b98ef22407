"""Change sets (变更集): the diff of a survey against the store, applied and undone as one.

:func:`diff_rows` compares validated survey rows with the current rows of the
target layer, keyed by the layer key (标识码 for components):

* **added** — keys the store does not have;
* **changed** — field by field, old and new value;
* **moved** — the geometry changed; the distance is in metres (geodesic through a
  local UTM zone for degree CRSs);
* **removed** — only for a full-coverage survey of an area (``coverage=``): stored
  features inside the area that the file lacks;
* unchanged rows are only counted.

:func:`apply_changeset` writes it inside the caller's transaction as an upsert
keyed by ID (the store keeps the previous versions), retires the removed
features, and records the change set (who, when, file, hash, counts, and each
feature touched) in the ``load_changeset`` / ``load_change`` layers of migration
``1101_load_changesets.sql`` (added features in blocks of keys, the others one
row each; :func:`read_changes` lists them one per feature). An empty change
set writes nothing at all, which is what makes loading the same file twice
idempotent. :func:`rollback_changeset`
undoes one, unless a later change touched the same features.

Concurrent loaders serialise on :func:`lock_layer` (a PostgreSQL advisory lock per
layer, SQLite's write lock on GeoPackage), taken before the diff is computed, so
every loader diffs against what the previous one committed.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from urbangrid.errors import ChangeSetError, StoreSchemaError
from urbangrid.spatial.crs.metric import choose_metric_crs
from urbangrid.store import Store
from urbangrid.store.base import LayerInfo, canonical, convert_column, json_text, utc_ms

__all__ = [
    "CHANGESET_LAYER",
    "CHANGE_LAYER",
    "AddedChanges",
    "ChangeSet",
    "FeatureChange",
    "LoadMeta",
    "apply_changeset",
    "diff_rows",
    "layer_is_empty",
    "list_changesets",
    "lock_layer",
    "read_changes",
    "read_current",
    "read_where_in",
    "rollback_changeset",
    "write_diff",
]

#: Layer of change set records (one row per applied load).
CHANGESET_LAYER = "load_changeset"
#: Layer of per-feature changes of each change set.
CHANGE_LAYER = "load_change"

_READ_CHUNK = 5000
#: Added features recorded per ``load_change`` block row (see :func:`_change_lines`).
_ADDED_BLOCK = 10_000
#: Seconds a loader waits for another one holding the layer lock.
_LOCK_WAIT_S = 120.0


@dataclass(frozen=True)
class FeatureChange:
    """One feature's change.

    Attributes
    ----------
    key : str
        Layer key value (``None`` for a new component not yet given an ID, in a
        dry run).
    action : {"added", "changed", "moved", "removed"}
        ``moved`` when only the geometry changed, ``changed`` otherwise.
    row : int or None
        1-based record number in the file (None for removed features).
    fields : dict
        Field → (old, new) for changed attributes.
    distance_m : float or None
        How far the geometry moved, metres.
    """

    key: Any
    action: str
    row: int | None
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    distance_m: float | None = None


class AddedChanges(Sequence[FeatureChange]):
    """Features a change set adds, held as two columns until one is looked at.

    A first load of 316,851 features would otherwise make 316,851
    :class:`FeatureChange` objects (~0.5 s) that only a written diff ever reads;
    this sequence makes them on demand (``changes[i]``, iteration) and gives the
    columns to :func:`apply_changeset` as they are.

    Parameters
    ----------
    keys : sequence
        Layer key of each feature (None for a new component not yet given an ID).
    rows : sequence of int
        1-based record number of each feature in the file.
    """

    def __init__(self, keys: Sequence[Any], rows: Sequence[int]) -> None:
        if len(keys) != len(rows):
            raise ValueError(f"{len(keys)} keys but {len(rows)} rows")
        self.keys = list(keys)
        self.rows = list(rows)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [_added(k, r) for k, r in zip(self.keys[i], self.rows[i], strict=True)]
        return _added(self.keys[i], self.rows[i])

    def __iter__(self) -> Iterator[FeatureChange]:
        return (_added(k, r) for k, r in zip(self.keys, self.rows, strict=True))


def _added(key: Any, row: int) -> FeatureChange:
    """An added feature; a file's empty ID cell (NaN once pandas has read it) is a new
    feature's None, so no summary or diff shows it as the key "nan"."""
    return FeatureChange(None if isinstance(key, float) and key != key else key, "added", row)


@dataclass
class ChangeSet:
    """The difference between survey rows and a layer.

    Attributes
    ----------
    layer, key : str
        Target layer and its key column.
    rows : geopandas.GeoDataFrame
        The rows to write (added, changed and moved), store columns, file CRS.
    changes : list of FeatureChange, or AddedChanges
        Every change; an :class:`AddedChanges` when the diff found only added
        features (a first load), in file order either way.
    unchanged : int
    before : dict
        Key → stored row (column → value, plus ``geometry``) for changed, moved
        and removed features, kept for layers without history.
    """

    layer: str
    key: str
    rows: Any
    changes: Sequence[FeatureChange]
    unchanged: int
    before: dict[Any, dict[str, Any]] = field(default_factory=dict)

    def count(self, action: str) -> int:
        """Number of changes of one action."""
        if isinstance(self.changes, AddedChanges):
            return len(self.changes) if action == "added" else 0
        return sum(1 for c in self.changes if c.action == action)

    @property
    def empty(self) -> bool:
        """True when applying it would change nothing."""
        return not self.changes

    def counts(self) -> dict[str, int]:
        """Added, changed, moved, removed and unchanged counts."""
        return {a: self.count(a) for a in ("added", "changed", "moved", "removed")} | {
            "unchanged": self.unchanged
        }

    def summary(self) -> str:
        """One line of counts."""
        c = self.counts()
        return (
            f"{self.layer}: {c['added']} added, {c['changed']} changed, {c['moved']} moved, "
            f"{c['removed']} removed, {c['unchanged']} unchanged"
        )

    def lines(self, most: int = 10) -> list[str]:
        """The first `most` changes, one line each, for a printed summary."""
        out = []
        for c in self.changes[:most]:  # a slice: AddedChanges makes only these
            what = f"  {c.action} {c.key if c.key is not None else '(new ID)'}"
            what += f" (row {c.row})" if c.row is not None else ""
            if c.distance_m is not None:
                what += f" {c.distance_m:g} m"
            fields = [
                f"{f} {_short_cell(o, 30)} → {_short_cell(n, 30)}"
                for f, (o, n) in c.fields.items()
                if f != "geometry"
            ]
            if fields:
                what += ": " + "; ".join(fields)
            out.append(what)
        if len(self.changes) > most:
            out.append(f"  … {len(self.changes) - most} more (see the diff)")
        return out

    def to_frame(self) -> pd.DataFrame:
        """The diff as a table, one line per changed field: key, action, row, field, old, new,
        distance_m."""
        lines: list[tuple[Any, ...]] = []
        for c in self.changes:
            if c.fields:
                for f, (old, new) in c.fields.items():
                    lines.append(
                        (
                            c.key,
                            c.action,
                            c.row,
                            f,
                            _cell(old),
                            _cell(new),
                            c.distance_m if f == "geometry" else None,
                        )
                    )
            else:
                lines.append((c.key, c.action, c.row, None, None, None, c.distance_m))
        return pd.DataFrame(
            lines, columns=["key", "action", "row", "field", "old", "new", "distance_m"]
        )

    def to_geoframes(self, crs: Any) -> tuple[Any, Any]:
        """The diff as features a GIS officer opens in QGIS.

        Parameters
        ----------
        crs : pyproj.CRS or str
            CRS of the result: the store layer's (the old shapes are kept in it).

        Returns
        -------
        (geopandas.GeoDataFrame, geopandas.GeoDataFrame)
            ``changes``: one feature per change — key, action, file row, the
            fields changed, what changed as text (``status: 完好 → 破损``) and the
            distance moved in metres — with the new shape (the old one for a
            removed feature); ``previous``: the old shape of every changed, moved
            and removed feature (key, action), to compare with.
        """
        import geopandas as gpd

        new_geoms: dict[Any, Any] = {}
        if self.rows is not None and len(self.rows) and hasattr(self.rows, "geometry"):
            rows = self.rows if self.rows.crs is None else self.rows.to_crs(crs)
            new_geoms = dict(zip(rows.index.tolist(), rows.geometry.values, strict=True))
        table, geoms, prev, prev_geoms = [], [], [], []
        for c in self.changes:
            detail = "; ".join(
                f"geometry: moved {c.distance_m:g} m"
                if f == "geometry" and c.distance_m
                else "geometry: changed"
                if f == "geometry"
                else f"{f}: {_short_cell(old)} → {_short_cell(new)}"
                for f, (old, new) in c.fields.items()
            )
            table.append(
                {
                    "key": None if c.key is None else str(c.key),
                    "action": c.action,
                    "row": c.row,
                    "fields": ", ".join(c.fields) or None,
                    "detail": detail or None,
                    "distance_m": c.distance_m,
                }
            )
            old = self.before.get(c.key, {}).get("_wkb") if c.key is not None else None
            old_geom = None if old is None else shapely.from_wkb(old)
            geoms.append(old_geom if c.action == "removed" else new_geoms.get(c.row))
            if c.action != "added" and old_geom is not None:
                prev.append({"key": str(c.key), "action": c.action})
                prev_geoms.append(old_geom)
        changes = gpd.GeoDataFrame(
            pd.DataFrame(
                table, columns=["key", "action", "row", "fields", "detail", "distance_m"]
            ).astype({"row": "Int64", "distance_m": "float64"}),
            geometry=gpd.GeoSeries(geoms, crs=crs),
        )
        previous = gpd.GeoDataFrame(
            pd.DataFrame(prev, columns=["key", "action"]),
            geometry=gpd.GeoSeries(prev_geoms, crs=crs),
        )
        return changes, previous


def _short_cell(v: Any, limit: int = 80) -> str:
    text = "∅" if v is None else str(_cell(v))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_diff(changeset: ChangeSet, path: str | PathLike[str], *, crs: Any) -> tuple[Path, Path]:
    """Write a change set as ``<path>.csv`` and ``<path>.gpkg`` beside each other.

    Parameters
    ----------
    changeset : ChangeSet
    path : path-like
        Name of the diff; a ``.csv`` or ``.gpkg`` suffix is replaced.
    crs : pyproj.CRS or str
        The store layer's CRS (the GeoPackage is written in it).

    Returns
    -------
    (Path, Path)
        The CSV (:meth:`ChangeSet.to_frame`, UTF-8 with BOM for Excel: one line
        per changed field) and the GeoPackage (layers ``changes`` and ``previous``
        of :meth:`ChangeSet.to_geoframes`), written even when nothing changed.
    """
    import pyogrio

    p = Path(path)
    stem = p.with_suffix("") if p.suffix.lower() in (".csv", ".gpkg") else p
    # Appended, not with_suffix: "r.diff" must give r.diff.csv, not r.csv.
    csv_path, gpkg_path = stem.with_name(stem.name + ".csv"), stem.with_name(stem.name + ".gpkg")
    changeset.to_frame().to_csv(csv_path, index=False, encoding="utf-8-sig")
    changes, previous = changeset.to_geoframes(crs)
    gpkg_path.unlink(missing_ok=True)
    for name, frame in (("changes", changes), ("previous", previous)):
        pyogrio.write_dataframe(
            frame,
            gpkg_path,
            layer=name,
            driver="GPKG",
            geometry_type="Unknown",
            append=gpkg_path.exists(),
        )
    return csv_path, gpkg_path


def _cell(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, dict | list):
        return json_text(v)
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    return v


def _jsonable(v: Any) -> Any:
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    if isinstance(v, np.generic):
        return v.item()
    return v


# --------------------------------------------------------------------------- reading


def read_where_in(
    store: Store,
    layer: str,
    column: str,
    values: Sequence[Any],
    *,
    columns: Sequence[str] | None = None,
    all_versions: bool = False,
) -> Any:
    """Rows of `layer` whose `column` is one of `values`, read in chunks of values.

    More values than one chunk against an empty layer (a first load of 316,851
    rows) cost one probe of the layer, not 64 look-ups that cannot find anything.
    """
    import geopandas as gpd

    info = store.layer_info(layer)
    kwargs: dict[str, Any] = {"all_versions": all_versions}
    if columns is not None:
        kwargs["columns"] = list(columns)
    if len(values) > _READ_CHUNK and layer_is_empty(store, layer):
        return store.read(layer, where={column: []}, **kwargs)
    wanted = list(dict.fromkeys(v for v in values if v is not None and not _na(v)))
    chunk = max(int(getattr(store, "where_chunk", _READ_CHUNK)), 1)
    parts = [
        store.read(layer, where={column: wanted[i : i + chunk]}, **kwargs)
        for i in range(0, max(len(wanted), 1), chunk)
    ]
    if len(parts) == 1:
        return parts[0]
    frame = pd.concat(parts, ignore_index=True)
    if info.geometry_column and columns is None:
        return gpd.GeoDataFrame(frame, geometry=parts[0].geometry.name, crs=info.crs)
    return frame


def layer_is_empty(store: Store, layer: str) -> bool:
    """True when `layer` holds no row at all, current or past (one probe).

    ``Store.count`` reads every current key, and says 0 for a layer whose rows
    were all retired; :meth:`Store.is_empty` does neither.
    """
    return store.is_empty(layer)


def _na(v: Any) -> bool:
    return isinstance(v, float) and v != v


def read_current(
    store: Store,
    layer: str,
    keys: Sequence[Any] | None = None,
    *,
    all_versions: bool = False,
    columns: Sequence[str] | None = None,
) -> Any:
    """Current rows of `layer` (those with the given keys; all of them without keys)."""
    if keys is None:
        return store.read(layer, all_versions=all_versions, columns=columns)
    key = store.layer_info(layer).key
    if key is None:
        raise StoreSchemaError(f"layer {layer!r} has no key to look rows up by")
    return read_where_in(store, layer, key, keys, all_versions=all_versions, columns=columns)


def _server_json_diffs(
    store: Store, layer: str, frame: Any, keys: list[Any], info: LayerInfo
) -> dict[str, set[Any]]:
    """Per JSON column of `frame`: the keys whose stored value differs, as the store
    compares them (:meth:`Store.json_differs`); empty when it leaves that to us."""
    out: dict[str, set[Any]] = {}
    keyed = [p for p, k in enumerate(keys) if k is not None]
    for c in frame.columns:
        if c == info.key or info.columns.get(c) != "json":
            continue
        values = frame[c].iloc[keyed].tolist()
        texts = [
            None if v is None or _na(v) else v if isinstance(v, str) else json_text(v)
            for v in values
        ]
        found = store.json_differs(layer, c, [keys[p] for p in keyed], texts)
        if found is None:
            return {}
        out[c] = found
    return out


def _with_server_json(
    store: Store,
    layer: str,
    frame: Any,
    stored: Any,
    keys: list[Any],
    pair: _Pairing,
    server: dict[str, set[Any]],
) -> Any:
    """`stored` with its server-compared JSON columns read for the changed rows only
    (their images and old values); the pairs' JSON old and new values filled in."""
    key = store.layer_info(layer).key
    assert key is not None
    slots = np.flatnonzero(pair.changed_any)
    wanted = [stored[key].iloc[int(j)] for j in pair.j_idx[slots]]
    got = read_where_in(store, layer, key, wanted, columns=[key, *server]) if wanted else None
    stored = stored.copy()
    for c in server:
        by_key = {} if got is None else dict(zip(got[key], got[c], strict=True))
        values = [by_key.get(k) for k in stored[key]]
        stored[c] = pd.Series(values, index=stored.index, dtype=object)
        if c not in pair.differs:
            continue
        old, new, flags = pair.differs[c]
        for m in np.flatnonzero(flags):
            pos = int(pair.pos_idx[m])
            old[m] = by_key.get(keys[pos])
            v = frame[c].iloc[pos]
            new[m] = json.loads(v) if isinstance(v, str) else v
    return stored


def _metric_distance(a: np.ndarray, b: np.ndarray, crs: Any) -> np.ndarray:
    """Hausdorff distance in metres between pairs of geometries in `crs`."""
    import geopandas as gpd

    if not len(a):
        return np.zeros(0)
    ga = gpd.GeoSeries(a, crs=crs)
    gb = gpd.GeoSeries(b, crs=crs)
    if ga.crs is not None and ga.crs.is_geographic:
        metric = choose_metric_crs(ga)  # the library's one rule for a metric CRS
        ga, gb = ga.to_crs(metric), gb.to_crs(metric)
    return shapely.hausdorff_distance(np.asarray(ga.values), np.asarray(gb.values))


_MULTI = {
    "MULTIPOINT": shapely.MultiPoint,
    "MULTILINESTRING": shapely.MultiLineString,
    "MULTIPOLYGON": shapely.MultiPolygon,
}


def _layer_geoms(frame: Any, info: Any) -> np.ndarray:
    """The frame's geometries as the store would hold them: layer CRS, multi-promoted."""
    geoms = frame.geometry
    if frame.crs is not None and frame.crs.to_epsg() != info.srid:
        geoms = geoms.to_crs(info.crs)
    values = np.asarray(geoms.values, dtype=object)
    multi = _MULTI.get(info.geometry_type or "")
    if multi is not None:
        single = multi.__name__.removeprefix("Multi")
        values = np.array(
            [multi([g]) if g is not None and g.geom_type == single else g for g in values],
            dtype=object,
        )
    return values


def diff_rows(
    store: Store,
    layer: str,
    frame: Any,
    *,
    coverage: Any = None,
) -> ChangeSet:
    """Compare validated rows with the current rows of `layer`.

    Parameters
    ----------
    store : Store
    layer : str
        A layer with a key.
    frame : geopandas.GeoDataFrame or DataFrame
        Store columns with converted values (:func:`urbangrid.loaders.validate.validate_rows`),
        indexed by file row number; geometries in any CRS (compared in the layer
        CRS). Rows whose key is None count as added.
    coverage : shapely geometry, optional
        Area (layer CRS) the survey covers completely: stored features covered by
        it and absent from `frame` are *removed*.

    Returns
    -------
    ChangeSet
    """
    info = store.layer_info(layer)
    if info.key is None:
        raise StoreSchemaError(f"layer {layer!r} has no key; survey loads need one")
    key = info.key
    keys = frame[key].tolist() if key in frame.columns else [None] * len(frame)
    has_geom = info.geometry_column is not None
    # Into an empty layer (a first load) every row is added and nothing can be
    # removed: no look-up, no comparison (the caller holds the layer lock, so the
    # layer stays empty until it commits). Likewise when no key was found stored
    # and no coverage asks for removals.
    if layer_is_empty(store, layer) and (coverage is None or has_geom):
        return ChangeSet(layer, key, frame, AddedChanges(keys, frame.index.tolist()), 0)
    # Rows the store finds stored exactly as they would be written are unchanged:
    # only the others are read back and compared here (a re-run compares none).
    same = store.identical_keys(layer, frame) if key in frame.columns else None
    if same:
        rest = [p for p, k in enumerate(keys) if k not in same]
        cs = _diff_rest(store, layer, frame.iloc[rest], [keys[p] for p in rest], keys,
                        info, coverage)  # fmt: skip
        return replace(cs, unchanged=cs.unchanged + len(keys) - len(rest))
    return _diff_rest(store, layer, frame, keys, keys, info, coverage)


def _diff_rest(
    store: Store,
    layer: str,
    frame: Any,
    keys: list[Any],
    all_keys: list[Any],
    info: LayerInfo,
    coverage: Any,
) -> ChangeSet:
    """:func:`diff_rows` of the rows of `frame` (keys `keys`) not already known
    unchanged; `all_keys` are the whole file's (none of them is removed)."""
    key = info.key
    assert key is not None
    has_geom = info.geometry_column is not None
    # JSON columns compared by the server where it can (no stored JSON parsed here).
    server = _server_json_diffs(store, layer, frame, keys, info)
    columns = [c for c in info.columns if c not in server] if server else None
    stored = read_current(store, layer, keys, columns=columns)
    if stored.empty and coverage is None:
        return ChangeSet(layer, key, frame, AddedChanges(keys, frame.index.tolist()), 0)
    pair = _Pairing.of(frame, stored, keys, info, server)
    if server:
        stored = _with_server_json(store, layer, frame, stored, keys, pair, server)
    changes, write_pos, before = _feature_changes(pair, frame, stored, keys, info)
    if coverage is not None:
        if not has_geom:
            raise StoreSchemaError(f"layer {layer!r} has no geometry; coverage does not apply")
        changes, before = _removals(store, layer, coverage, all_keys, info, changes, before)
    to_write = frame.iloc[write_pos] if write_pos else frame.iloc[0:0]
    return ChangeSet(layer, key, to_write, changes, pair.unchanged, before)


@dataclass
class _Pairing:
    """Input rows paired with stored rows of the same key, compared at once.

    ``match[pos]`` is the stored row of input row `pos` (None: added);
    ``pos_idx``/``j_idx`` the paired positions; per pair (in that order)
    ``same_geom``, and per differing column the old and new values and which
    pairs differ; ``changed_any`` marks the pairs with any difference.
    """

    match: list[int | None]
    pos_idx: np.ndarray
    j_idx: np.ndarray
    differs: dict[str, tuple[list[Any], list[Any], np.ndarray]]
    new_geoms: np.ndarray | None
    old_geoms: np.ndarray | None
    same_geom: np.ndarray
    changed_any: np.ndarray

    @property
    def unchanged(self) -> int:
        """Pairs without any difference."""
        return int(len(self.pos_idx) - self.changed_any.sum())

    @classmethod
    def of(
        cls,
        frame: Any,
        stored: Any,
        keys: list[Any],
        info: LayerInfo,
        server: dict[str, set[Any]] | None = None,
    ) -> _Pairing:
        """Pair `frame` (input) with `stored` by key and compare them (the columns
        in `server` by the keys the store found differing; their values are
        filled in later, for the changed pairs only)."""
        key = info.key
        assert key is not None
        stored_by_key = {k: i for i, k in enumerate(stored[key].tolist())}
        match = [None if k is None else stored_by_key.get(k) for k in keys]
        pos_idx = np.array([p for p, j in enumerate(match) if j is not None], dtype=np.int64)
        j_idx = np.array([j for j in match if j is not None], dtype=np.int64)
        differs = _column_differences(frame, stored, pos_idx, j_idx, info)
        for c, found in (server or {}).items():
            flags = np.fromiter((keys[p] in found for p in pos_idx.tolist()), bool, len(pos_idx))
            if flags.any():
                differs[c] = ([None] * len(flags), [None] * len(flags), flags)
        new_geoms = old_geoms = None
        if info.geometry_column is not None:
            new_geoms = _layer_geoms(frame, info)
            old_geoms = np.asarray(stored.geometry.values, dtype=object)
            same_geom = _same_geometries(new_geoms[pos_idx], old_geoms[j_idx], info)
        else:
            same_geom = np.ones(len(pos_idx), dtype=bool)
        changed_any = ~same_geom
        for _, _, flags in differs.values():
            changed_any |= flags
        return cls(match, pos_idx, j_idx, differs, new_geoms, old_geoms, same_geom, changed_any)


def _column_differences(
    frame: Any, stored: Any, pos_idx: np.ndarray, j_idx: np.ndarray, info: LayerInfo
) -> dict[str, tuple[list[Any], list[Any], np.ndarray]]:
    """Per column that differs in some pair: old values, new values, which pairs differ.

    Whole columns are converted and compared at once (per-value calls made a
    re-run of an unchanged 42k-row survey take seconds).
    """
    differs: dict[str, tuple[list[Any], list[Any], np.ndarray]] = {}
    for c in frame.columns:
        if c not in info.columns or c == info.key or c not in stored.columns:
            continue
        logical = info.columns[c]
        new_vals, _ = convert_column(frame[c].iloc[pos_idx].reset_index(drop=True), logical)
        old_vals = _stored_values(stored[c].iloc[j_idx].reset_index(drop=True), logical)
        flags = _differing(old_vals, new_vals, logical)
        if flags.any():
            differs[c] = (old_vals, new_vals, flags)
    return differs


def _stored_values(values: pd.Series, logical: str) -> list[Any]:
    """Stored values as canonical ones: JSON as the store returned it (parsed
    already by PostGIS; text from a GeoPackage is parsed), no re-check by
    serialising every object again."""
    if logical != "json":
        return convert_column(values, logical)[0]
    return [
        None if v is None or _na(v) else json.loads(v) if isinstance(v, str) else v
        for v in values.tolist()
    ]


def _differing(old: list[Any], new: list[Any], logical: str) -> np.ndarray:
    """Which pairs of canonical values differ: one numpy comparison of the object
    arrays for plain values; JSON by canonical text (``{"a": 1}`` and ``{"a": true}``
    are equal to Python's ``==`` but not the same value), built only for the pairs
    Python's ``==`` finds equal (the others differ anyway)."""
    n = len(new)
    if logical != "json":
        a, b = np.empty(n, dtype=object), np.empty(n, dtype=object)
        a[:], b[:] = old, new
        return np.asarray(a != b, dtype=bool)
    text = json_text
    return np.fromiter(
        (
            (o is None) is not (v is None) or (o != v) or (o is not None and text(o) != text(v))
            for o, v in zip(old, new, strict=True)
        ),
        dtype=bool,
        count=n,
    )


def _same_geometries(a: np.ndarray, b: np.ndarray, info: LayerInfo) -> np.ndarray:
    """Pairwise: both missing, or of one type and equal within the reading grid."""
    a_none, b_none = shapely.is_missing(a), shapely.is_missing(b)
    same: np.ndarray = (a_none & b_none) | (
        ~a_none
        & ~b_none
        & (shapely.get_type_id(a) == shapely.get_type_id(b))
        & shapely.equals_exact(a, b, tolerance=_grid_tolerance(info.crs))
    )
    return same


def _feature_changes(
    pair: _Pairing, frame: Any, stored: Any, keys: list[Any], info: LayerInfo
) -> tuple[list[FeatureChange], list[int], dict[Any, dict[str, Any]]]:
    """The added, changed and moved features (moves with their distance in metres),
    the input positions to write, and the stored image of each changed feature."""
    changes: list[FeatureChange] = []
    write_pos: list[int] = []
    moved_pairs: list[tuple[int, int, int]] = []  # (change index, new pos, old pos)
    before: dict[Any, dict[str, Any]] = {}
    rows = frame.index.tolist()
    slot = {int(p): m for m, p in enumerate(pair.pos_idx.tolist())}
    for pos, k in enumerate(keys):
        j = pair.match[pos]
        if j is None:
            changes.append(_added(k, int(rows[pos])))
            write_pos.append(pos)
            continue
        m = slot[pos]
        if not pair.changed_any[m]:
            continue
        diffs: dict[str, tuple[Any, Any]] = {
            c: (_jsonable(old[m]), _jsonable(new[m]))
            for c, (old, new, flags) in pair.differs.items()
            if flags[m]
        }
        if not pair.same_geom[m]:
            assert pair.new_geoms is not None and pair.old_geoms is not None
            a, b = pair.new_geoms[pos], pair.old_geoms[j]
            diffs["geometry"] = (None if b is None else b.wkt, None if a is None else a.wkt)
            if a is not None and b is not None:
                moved_pairs.append((len(changes), pos, j))
        action = "moved" if list(diffs) == ["geometry"] else "changed"
        changes.append(FeatureChange(k, action, int(rows[pos]), diffs))
        write_pos.append(pos)
        before[k] = _row_image(stored, j, info)
    if moved_pairs:
        assert pair.new_geoms is not None and pair.old_geoms is not None
        dist = _metric_distance(
            np.array([pair.new_geoms[p] for _, p, _ in moved_pairs], dtype=object),
            np.array([pair.old_geoms[j] for _, _, j in moved_pairs], dtype=object),
            info.crs,
        )
        for (ci, _, _), d in zip(moved_pairs, dist, strict=True):
            c = changes[ci]
            changes[ci] = FeatureChange(c.key, c.action, c.row, c.fields, round(float(d), 3))
    return changes, write_pos, before


def _removals(
    store: Store,
    layer: str,
    coverage: Any,
    keys: list[Any],
    info: LayerInfo,
    changes: list[FeatureChange],
    before: dict[Any, dict[str, Any]],
) -> tuple[list[FeatureChange], dict[Any, dict[str, Any]]]:
    """`changes` and `before` with the stored features covered by `coverage` that
    the input lacks added as *removed*."""
    key = info.key
    in_area = store.read(layer, bbox=coverage.bounds)
    shapely.prepare(coverage)
    inside = shapely.covered_by(np.asarray(in_area.geometry.values, dtype=object), coverage)
    present = set(keys)
    for j in np.flatnonzero(inside):
        k = in_area[key].iloc[j]
        if k not in present:
            changes.append(FeatureChange(k, "removed", None))
            before[k] = _row_image(in_area, int(j), info)
    return changes, before


def _grid_tolerance(crs: Any) -> float:
    """Coordinates this close are the same point: 1.5 steps of the reading grid
    (:func:`~urbangrid.loaders.readers.coordinate_grid`). A file written with a
    different number of decimals is rounded twice on its way in, which can land one
    grid step away; without the tolerance that showed as a "move" of 0 m (986 of the
    2,642 Cambridge street lines from a GeoJSON written to 10 decimals)."""
    import pyproj

    from urbangrid.loaders.readers import coordinate_grid

    return 1.5 * coordinate_grid(bool(pyproj.CRS.from_user_input(crs).is_geographic))


def _row_image(stored: Any, j: int, info: Any) -> dict[str, Any]:
    img = {
        c: _jsonable(canonical(stored[c].iloc[j], info.columns[c]))
        for c in info.columns
        if c in stored.columns
    }
    if info.geometry_column:
        g = stored.geometry.iloc[j]
        img["_wkb"] = None if g is None else shapely.to_wkb(g, hex=True)
    return img


# --------------------------------------------------------------------------- applying


@dataclass(frozen=True)
class LoadMeta:
    """What a change set record says about its load.

    Attributes
    ----------
    target : str
        ``components``, ``streets`` …
    file_name, file_sha256 : str
    mapping : str or None
    loaded_by : str or None
        Who (default: the OS user).
    set_aside : int
        Bad rows left out.
    options : dict
        Decisions of the load (CRS, encoding, coverage), recorded as JSON.
    """

    target: str
    file_name: str
    file_sha256: str
    mapping: str | None = None
    loaded_by: str | None = None
    set_aside: int = 0
    options: dict[str, Any] = field(default_factory=dict)


def lock_layer(store: Store, layer: str) -> None:
    """Serialise loaders of one layer until the current transaction ends.

    Call inside ``store.transaction()``, before reading what the diff needs
    (:meth:`Store.lock_layer`: PostGIS takes a transaction-scoped advisory lock
    keyed by the layer name; GeoPackage takes SQLite's write lock at once), so
    that two loaders cannot both read, then both write. Waits up to 2 minutes
    for another loader, then raises :class:`~urbangrid.store.StoreConflictError`.
    """
    store.lock_layer(layer, timeout_s=_LOCK_WAIT_S)


def apply_changeset(
    store: Store,
    cs: ChangeSet,
    meta: LoadMeta,
    *,
    at: dt.datetime | None = None,
    source: str = "<survey>",
) -> str | None:
    """Write a change set and its record; returns the change set ID (None if empty).

    Runs in one transaction (nested in the caller's, if any): the upsert of added,
    changed and moved rows, the retirement of removed ones, and the records.

    Parameters
    ----------
    store : Store
    cs : ChangeSet
        From :func:`diff_rows`, computed under :func:`lock_layer` in the same
        transaction when other loaders may run.
    meta : LoadMeta
    at : datetime, optional
        Time of the change (``valid_from`` of new versions), default now (UTC).
    source : str
        File name for store messages.

    Raises
    ------
    StoreSchemaError
        Removals on a layer without history (they cannot be undone).
    """
    if cs.empty:
        return None
    info = store.layer_info(cs.layer)
    removed = (
        []
        if isinstance(cs.changes, AddedChanges)
        else [c.key for c in cs.changes if c.action == "removed"]
    )
    if removed and not info.history:
        raise StoreSchemaError(
            f"layer {cs.layer!r} keeps no history: a full-coverage load "
            "cannot remove features from it"
        )
    at = utc_ms(at or dt.datetime.now(dt.UTC))
    cid = uuid.uuid4().hex
    counts = cs.counts()
    record = pd.DataFrame(
        [
            {
                "changeset_id": cid,
                "target": meta.target,
                "layer": cs.layer,
                "file_name": meta.file_name,
                "file_sha256": meta.file_sha256,
                "mapping": meta.mapping,
                "loaded_by": meta.loaded_by or _user(),
                "loaded_at": at,
                "n_added": counts["added"],
                "n_changed": counts["changed"],
                "n_moved": counts["moved"],
                "n_removed": counts["removed"],
                "n_unchanged": counts["unchanged"],
                "n_set_aside": meta.set_aside,
                "status": "applied",
                "rolled_back_at": None,
                "rolled_back_by": None,
                "options": meta.options or None,
            }
        ]
    )
    lines = _change_lines(cid, cs, history=info.history)
    with store.transaction():
        if len(cs.rows):
            store.write(cs.layer, cs.rows, "upsert", at=at, source=source)
        if removed:
            store.retire(cs.layer, removed, at=at)
        store.write(CHANGESET_LAYER, record, "append", source=source)
        store.write(CHANGE_LAYER, lines, "append", source=source)
    return cid


def _change_lines(cid: str, cs: ChangeSet, *, history: bool) -> pd.DataFrame:
    """The ``load_change`` rows of a change set.

    Changed, moved and removed features get one row each (their fields, distance
    and, without history, the row before). Features only *added* carry nothing
    but their key and file row, so they go in blocks of up to
    :data:`_ADDED_BLOCK`: one row with action ``added``, ``feature_key`` = first
    and last key (``"K1…Kn"``), ``file_row`` NULL and ``fields`` =
    ``{"added": [keys], "file_rows": [[first, last], …]}``, the file rows as runs
    of consecutive numbers (:func:`_row_runs`). A 316,851-feature first load writes
    32 rows instead of 316,851 (1.9 s of the load); :func:`read_changes` gives
    the one-row-per-feature view back.
    """
    added_keys: Sequence[Any]
    added_rows: Sequence[int | None]
    if isinstance(cs.changes, AddedChanges):
        added_keys, added_rows = cs.changes.keys, cs.changes.rows
        others: list[FeatureChange] = []
    else:
        plain = [c.action == "added" and not c.fields for c in cs.changes]
        added_keys = [c.key for c, a in zip(cs.changes, plain, strict=True) if a]
        added_rows = [c.row for c, a in zip(cs.changes, plain, strict=True) if a]
        others = [c for c, a in zip(cs.changes, plain, strict=True) if not a]
    keys = [str(k) for k in added_keys]
    blocks = range(0, len(keys), _ADDED_BLOCK)
    block_keys = [keys[i : i + _ADDED_BLOCK] for i in blocks]
    block_rows = [added_rows[i : i + _ADDED_BLOCK] for i in blocks]
    n = len(block_keys) + len(others)
    return pd.DataFrame(
        {
            "changeset_id": [cid] * n,
            "feature_key": [f"{b[0]}…{b[-1]}" for b in block_keys] + [str(c.key) for c in others],
            "action": ["added"] * len(block_keys) + [c.action for c in others],
            "file_row": pd.array([None] * len(block_keys) + [c.row for c in others], dtype="Int64"),
            "fields": [
                {"added": b, "file_rows": _row_runs(r)}
                for b, r in zip(block_keys, block_rows, strict=True)
            ]
            + [{f: [_cell(o), _cell(v)] for f, (o, v) in c.fields.items()} or None for c in others],
            "distance_m": pd.array(
                [None] * len(block_keys) + [c.distance_m for c in others], dtype="Float64"
            ),
            "before": [None] * len(block_keys)
            + [None if history else cs.before.get(c.key) for c in others],
        }
    )


def _row_runs(rows: Sequence[int | None]) -> list[Any]:
    """File rows as ``[[first, last], …]`` runs of consecutive numbers (a first load's
    rows are 1…n but for the rows set aside: the JSON is a few pairs, not 316,851
    numbers for PostgreSQL to parse); as they are when one is missing."""
    if any(r is None for r in rows):
        return list(rows)
    a = np.asarray(rows, dtype=np.int64)
    cut = np.flatnonzero(np.diff(a) != 1) + 1
    first, last = np.r_[0, cut], np.r_[cut - 1, len(a) - 1]
    return np.column_stack([a[first], a[last]]).tolist() if len(a) else []


def _rows_of(recorded: Any) -> list[Any]:
    """The file rows of a block, from runs (:func:`_row_runs`) or as listed."""
    if not recorded or not isinstance(recorded[0], list):
        return list(recorded or [])
    return [r for first, last in recorded for r in range(first, last + 1)]


def read_changes(store: Store, changeset_id: str) -> pd.DataFrame:
    """The features a change set touched, one row each.

    Parameters
    ----------
    store : Store
    changeset_id : str

    Returns
    -------
    pandas.DataFrame
        ``feature_key``, ``action``, ``file_row``, ``fields``, ``distance_m`` and
        ``before`` of each feature: the blocks of added features
        (:func:`_change_lines`) expanded first, then the other rows as recorded.
    """
    lines = store.read(CHANGE_LAYER, where={"changeset_id": changeset_id})
    cols = ["feature_key", "action", "file_row", "fields", "distance_m", "before"]
    blocks: list[pd.DataFrame] = []
    single: list[dict[str, Any]] = []
    for rec in lines[cols].to_dict("records"):
        fields = rec["fields"]
        if isinstance(fields, str):
            fields = json.loads(fields)
        if rec["action"] == "added" and isinstance(fields, dict) and "added" in fields:
            keys = fields["added"]
            blocks.append(
                pd.DataFrame(
                    {
                        "feature_key": keys,
                        "action": ["added"] * len(keys),
                        "file_row": pd.array(_rows_of(fields.get("file_rows")), dtype="Int64"),
                        "fields": [None] * len(keys),
                        "distance_m": pd.array([None] * len(keys), dtype="Float64"),
                        "before": [None] * len(keys),
                    }
                )
            )
        else:
            single.append({**rec, "fields": fields})
    parts = [*blocks, pd.DataFrame(single, columns=cols)]
    return pd.concat(parts, ignore_index=True)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# --------------------------------------------------------------------------- rollback


def list_changesets(store: Store, *, layer: str | None = None) -> pd.DataFrame:
    """Change set records, oldest first (optionally of one layer)."""
    frame = store.read(CHANGESET_LAYER, where={"layer": layer} if layer else None)
    return frame.sort_values("loaded_at", kind="stable").reset_index(drop=True)


def rollback_changeset(
    store: Store, changeset_id: str, *, by: str | None = None, at: dt.datetime | None = None
) -> dict[str, int]:
    """Undo an applied change set.

    On a history layer the versions it wrote are deleted and the versions it
    closed are reopened, so the layer is again what it was before the load (as
    of now; the change set record stays, marked ``rolled_back``). On a layer
    without history, added rows are deleted and changed rows restored from the
    ``before`` images.

    Raises
    ------
    ChangeSetError
        Unknown or already rolled back, or a later change touched one of its
        features (the message names up to five keys): roll that one back first.
    """
    with store.transaction():
        rec = store.read(CHANGESET_LAYER, where={"changeset_id": changeset_id})
        if rec.empty:
            raise ChangeSetError(f"no change set {changeset_id!r} in {store.target}")
        r = rec.iloc[0]
        layer = str(r["layer"])
        lock_layer(store, layer)
        rec = store.read(CHANGESET_LAYER, where={"changeset_id": changeset_id})
        r = rec.iloc[0]
        if r["status"] != "applied":
            raise ChangeSetError(
                f"change set {changeset_id} was already rolled back "
                f"({r['rolled_back_at']}, by {r['rolled_back_by']})"
            )
        info = store.layer_info(layer)
        key = info.key
        assert key is not None  # change sets are only applied to keyed layers
        loaded_at = utc_ms(pd.Timestamp(r["loaded_at"]).to_pydatetime())
        lines = read_changes(store, changeset_id)
        by_action: dict[str, list[str]] = {
            a: lines.loc[lines["action"] == a, "feature_key"].tolist()
            for a in ("added", "changed", "moved", "removed")
        }
        typed = {a: [canonical(k, info.columns[key]) for k in ks] for a, ks in by_action.items()}
        written = typed["added"] + typed["changed"] + typed["moved"]
        reopened = typed["changed"] + typed["moved"] + typed["removed"]
        if info.history:
            versions = read_current(store, layer, written + typed["removed"], all_versions=True)
            _check_not_superseded(
                versions, key, set(written), set(typed["removed"]), loaded_at, changeset_id
            )
            deleted, restored = store.undo_versions(layer, written, reopened, loaded_at)
        else:
            deleted = store.delete_keys(layer, typed["added"])
            images = [
                json.loads(v) if isinstance(v, str) else v
                for v in lines.loc[lines["action"] != "added", "before"].tolist()
            ]
            restored = _restore_images(store, layer, [i for i in images if i])
        when = utc_ms(at or dt.datetime.now(dt.UTC))
        rec = rec.copy()
        rec["status"] = "rolled_back"
        rec["rolled_back_at"] = pd.Timestamp(when)
        rec["rolled_back_by"] = by or _user()
        store.write(CHANGESET_LAYER, rec, "upsert")
    return {"deleted": int(deleted), "restored": int(restored)}


def _check_not_superseded(
    versions: Any, key: str, written: set[Any], removed: set[Any], at: dt.datetime, cid: str
) -> None:
    vf = pd.to_datetime(versions["valid_from"], utc=True)
    vt = pd.to_datetime(versions["valid_to"], utc=True)
    ts = pd.Timestamp(at)
    later = versions.loc[(vf > ts).to_numpy(), key].tolist()
    closed_later = versions.loc[
        (versions[key].isin(list(written)) & (vf == ts) & vt.notna()).to_numpy(), key
    ].tolist()
    revived = versions.loc[(versions[key].isin(list(removed)) & vt.isna()).to_numpy(), key].tolist()
    bad = sorted({str(k) for k in [*later, *closed_later, *revived]})
    if bad:
        raise ChangeSetError(
            f"cannot roll back change set {cid}: {len(bad)} of its features changed later "
            f"({', '.join(bad[:5])}{' …' if len(bad) > 5 else ''}); roll back the later "
            "change sets first (urbangrid load history)"
        )


def _restore_images(store: Store, layer: str, images: Iterable[dict[str, Any]]) -> int:
    import geopandas as gpd

    info = store.layer_info(layer)
    images = list(images)
    if not images:
        return 0
    frame = pd.DataFrame([{c: v for c, v in img.items() if c != "_wkb"} for img in images])
    if info.geometry_column:
        geoms = [
            None if img.get("_wkb") is None else shapely.from_wkb(img["_wkb"]) for img in images
        ]
        frame = gpd.GeoDataFrame(frame, geometry=geoms, crs=info.crs)
    result = store.write(layer, frame, "upsert", source="rollback")
    return int(result.inserted + result.updated)
