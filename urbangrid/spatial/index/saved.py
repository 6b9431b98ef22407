"""Saved lookups: a store's grid hierarchy written once, opened by every command.

``urbangrid locate`` must not read the grids and rebuild the index on every call. The
unit grid index, the community/street/district area indexes, each grid's codes and the
area names are written to one NumPy ``.npz`` file (no pickle) in the cache folder,
named after the store and stamped with what the lookup was built from:

* a GeoPackage: the file's path, size and modification time (and those of its ``-wal``
  journal), so any write to the file rebuilds the lookup once;
* PostGIS: the DSN, the current grid version (``grid_version`` layer) and the row counts
  of ``unit_grid`` and ``admin_area``.

The cache folder is ``$URBANGRID_CACHE_DIR``, else ``$XDG_CACHE_HOME/urbangrid``, else
``~/.cache/urbangrid``; when it cannot be written the lookup is built in memory only.

:class:`QuickLookup` answers from the file with NumPy and the compiled kernels only (no
pandas, pyproj or store import): for a point given in the index CRS, or in GCJ-02/BD-09
against a WGS84/CGCS2000 index, it gives the same answer as
:meth:`urbangrid.spatial.admin.hierarchy.GridHierarchy.locate`; anything else (another
CRS, a point in no unit grid, a grid without a community code) is answered by the full
:class:`~urbangrid.spatial.admin.hierarchy.GridHierarchy` rebuilt from the same file
(:func:`read_hierarchy`), so messages and errors stay those of the library.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from urbangrid.spatial.index import _pip

if TYPE_CHECKING:
    from urbangrid.spatial.admin.hierarchy import GridHierarchy
    from urbangrid.spatial.index.engine import GridIndex

__all__ = [
    "HIERARCHY_COLUMNS",
    "HIERARCHY_FORMAT",
    "QuickLookup",
    "cache_dir",
    "cache_file",
    "file_stamp",
    "read_hierarchy",
    "write_hierarchy",
]

HIERARCHY_FORMAT = 2
"""Layout version of saved hierarchy files; other versions are rebuilt, never read."""

HIERARCHY_COLUMNS = (
    "grid_code", "work_grid_code", "community_code", "community_name",
    "street_code", "street_name", "district_code", "district_name",
)  # fmt: skip
_CODES = ("work_grid_code", "community_code", "street_code", "district_code")
_LEVELS = (("community", "community_code"), ("street", "street_code"),
           ("district", "district_code"))  # fmt: skip
# CRS spellings a command line is likely to use, checked once when the file is written.
_CRS_SPELLINGS = ("EPSG:4326", "epsg:4326", "4326", "WGS84", "wgs84", "EPSG:4490", "4490",
                  "GCJ-02", "gcj02", "GCJ02", "BD-09", "bd09", "BD09")  # fmt: skip


def cache_dir() -> Path:
    """The folder of saved lookups (see the module docstring); not created here."""
    env = os.environ.get("URBANGRID_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "urbangrid"


def file_stamp(path: str | os.PathLike[str]) -> str | None:
    """Path, size and modification time of a store file and its ``-wal`` journal; None
    when the file does not exist."""
    p = Path(path).resolve()
    parts = []
    for f in (p, Path(f"{p}-wal")):
        try:
            st = f.stat()
        except OSError:
            if f == p:
                return None
            continue
        parts.append(f"{f}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def cache_file(kind: str, target: str, stamp: str) -> Path:
    """File of a saved lookup: one name per store target, another per stamp."""
    who = hashlib.sha256(target.encode()).hexdigest()[:16]
    what = hashlib.sha256(f"{HIERARCHY_FORMAT}|{stamp}".encode()).hexdigest()[:16]
    return cache_dir() / f"{kind}-{who}-{what}.npz"


def _str_column(values: Any) -> tuple[NDArray[Any], NDArray[np.bool_]]:
    """Strings and a null mask (None and NaN are null) of one column of codes or names."""
    items = list(values)
    null = np.array([v is None or (isinstance(v, float) and v != v) for v in items], dtype=bool)
    text = np.array(["" if n else str(v) for v, n in zip(items, null, strict=True)], dtype=str)
    return text, null


def _index_state(prefix: str, index: GridIndex) -> dict[str, Any]:
    state = index.__getstate__()
    if index.keys is not None:
        state["keys"] = np.asarray([str(k) for k in index.keys.tolist()], dtype=str)
    return {f"{prefix}.{name}": value for name, value in state.items()}


def write_hierarchy(hierarchy: GridHierarchy, path: str | os.PathLike[str], stamp: str) -> bool:
    """Write ``hierarchy`` to ``path`` (atomically); False when the folder is not writable
    or the hierarchy has no unit grids (admin areas only: quick to rebuild, not saved).

    Parameters
    ----------
    hierarchy : GridHierarchy
        Built from the store (``GridHierarchy.from_store``).
    path : path-like
        From :func:`cache_file`. Other files of the same store are removed.
    stamp : str
        What the hierarchy was built from (see the module docstring), checked on loading.
    """
    from urbangrid.spatial.crs.transform import crs_equal, locate_route

    grids = hierarchy.grids
    if grids is None:  # the file format is built around the grid index
        return False
    rows = hierarchy._rows
    arrays: dict[str, Any] = _index_state("grid", grids)
    for col in _CODES:
        arrays[f"row.{col}"], arrays[f"row.{col}.null"] = _str_column(rows[col].astype(object))
    names = {str(k): v for k, v in hierarchy._names.items()}
    arrays["names.code"] = np.asarray(list(names), dtype=str)
    arrays["names.name"], arrays["names.name.null"] = _str_column(names.values())
    for level, index in hierarchy._areas.items():
        arrays.update(_index_state(f"area.{level}", index))
    norm = grids._crs_norm
    same = [c for c in _CRS_SPELLINGS if _safe(lambda c=c: crs_equal(c, norm))]
    # Spellings answered by one compiled conversion: (route, transverse Mercator or None).
    routes = {c: r for c in _CRS_SPELLINGS if (r := _safe(lambda c=c: locate_route(c, norm)))}
    arrays["meta"] = json.dumps({
        "format": HIERARCHY_FORMAT, "stamp": stamp, "levels": sorted(hierarchy._areas),
        "same_crs": same, "routes": routes,
    })  # fmt: skip
    return _write_atomic(Path(path), arrays)


def _safe(fn: Any) -> Any:
    try:
        return fn()
    except Exception:  # a spelling this pyproj does not know: just not a fast path
        return None


def _write_atomic(path: Path, arrays: Mapping[str, Any]) -> bool:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        who = path.name.rsplit("-", 1)[0]
        for old in path.parent.glob(f"{who}-*.npz"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        return False
    return True


def _read(path: Path, stamp: str) -> dict[str, Any] | None:
    """The arrays of a saved hierarchy, or None when missing, unreadable or stale."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        meta = json.loads(str(arrays["meta"]))
    except (OSError, ValueError, KeyError):
        return None
    if meta.get("format") != HIERARCHY_FORMAT or meta.get("stamp") != stamp:
        return None
    arrays["meta"] = meta
    return arrays


def _codes(arrays: Mapping[str, Any], name: str) -> list[str | None]:
    return [None if n else str(v) for v, n in
            zip(arrays[name].tolist(), arrays[f"{name}.null"].tolist(), strict=True)]  # fmt: skip


def read_hierarchy(path: str | os.PathLike[str], stamp: str) -> GridHierarchy | None:
    """The :class:`GridHierarchy` saved by :func:`write_hierarchy`, or None when the file
    is missing, unreadable, of another format or stamped differently (stale)."""
    arrays = _read(Path(path), stamp)
    return None if arrays is None else _hierarchy(arrays)


def _hierarchy(arrays: Mapping[str, Any]) -> GridHierarchy:
    import pandas as pd

    from urbangrid.spatial.admin.hierarchy import GridHierarchy
    from urbangrid.spatial.index.engine import GridIndex

    def index(prefix: str) -> GridIndex:
        obj = object.__new__(GridIndex)
        n = len(prefix) + 1
        obj.__setstate__({k[n:]: v for k, v in arrays.items() if k.startswith(prefix + ".")})
        return obj

    grids = index("grid")
    assert grids.keys is not None
    rows = pd.DataFrame({"grid_code": pd.Series(grids.keys.tolist(), dtype=object)})
    for col in _CODES:
        rows[col] = pd.Series(_codes(arrays, f"row.{col}"), dtype=object)
    names = dict(zip(arrays["names.code"].tolist(), _codes(arrays, "names.name"), strict=True))
    areas = {level: index(f"area.{level}") for level in arrays["meta"]["levels"]}
    return GridHierarchy(grids, rows, names, areas)


class _Level:
    """One index of a saved file, answered by the compiled kernels: buffer, bounds and keys."""

    def __init__(self, arrays: Mapping[str, Any], prefix: str) -> None:
        self.buf = np.ascontiguousarray(arrays[f"{prefix}.buf"], dtype=np.float64)
        self.bounds = tuple(float(v) for v in self.buf[:4])  # x0, y0, x1, y1 (F_BX0...)
        self.keys: list[str] = [str(k) for k in arrays[f"{prefix}.keys"].tolist()]
        self.crs = str(json.loads(str(arrays[f"{prefix}.meta"]))["crs"])

    def positions(self, xs: NDArray[np.float64], ys: NDArray[np.float64]) -> NDArray[np.int64]:
        out = np.empty(xs.size, dtype=np.int64)
        if xs.size >= 200_000:
            _pip.locate_bucketed(xs, ys, self.buf, out)
        elif xs.size >= 20_000:
            _pip.locate_parallel(xs, ys, self.buf, out)
        else:
            _pip.locate_serial(xs, ys, self.buf, out)
        return out

    def may_raise(self, xs: NDArray[np.float64], ys: NDArray[np.float64],
                  pos: NDArray[np.int64]) -> bool:
        """Whether GridIndex could raise CRSMismatchError for these misses (a superset of
        its checks in ``GridIndex._raise_if_other_crs``): it checks one point outside
        the bounds, or many points of which none was found."""
        if xs.size == 0 or (pos >= 0).any():
            return False
        ok = np.isfinite(xs) & np.isfinite(ys)
        x0, y0, x1, y1 = self.bounds
        if xs.size == 1:
            ok &= ~((xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1))
        if not ok.any():
            return False
        xs, ys = xs[ok], ys[ok]
        degrees_box = x0 >= -180.0 and x1 <= 180.0 and y0 >= -90.0 and y1 <= 90.0
        looks_degrees = bool((np.abs(xs) <= 180.0).all() and (np.abs(ys) <= 90.0).all())
        if degrees_box != looks_degrees:
            return True
        swapped = (ys >= x0) & (ys <= x1) & (xs >= y0) & (xs <= y1)
        return bool((x1 < y0 or y1 < x0) and swapped.any())


class QuickLookup:
    """A saved hierarchy answered with NumPy and the compiled kernels only.

    Open with :meth:`open`. :meth:`columns` gives, for points in the index CRS, in
    GCJ-02/BD-09 against a WGS84 index, or in degrees (GCJ-02, BD-09, WGS84, CGCS2000)
    against a Gauss-Krüger index (the compiled routes of
    :func:`urbangrid.spatial.crs.transform.locate_route`), exactly what
    :meth:`GridHierarchy.locate_many` (many points) or :meth:`GridHierarchy.locate` (one)
    gives, as codes into small dictionaries; it returns None where the library might
    raise (points obviously in another CRS) or needs pyproj, and :meth:`hierarchy` then
    answers.
    """

    def __init__(self, arrays: dict[str, Any]) -> None:
        self._arrays = arrays
        meta = arrays["meta"]
        self._same = set(meta["same_crs"])
        self._routes: dict[str, tuple[str, Any]] = {
            c: (r[0], None if r[1] is None else tuple(r[1])) for c, r in meta["routes"].items()}
        self._grid = _Level(arrays, "grid")
        self._areas = {lv: _Level(arrays, f"area.{lv}") for lv in meta["levels"]}
        self._areas = {lv: a for lv, a in self._areas.items() if a.crs == self._grid.crs}
        self._complete = len(self._areas) == len(meta["levels"])
        names = dict(zip(arrays["names.code"].tolist(), _codes(arrays, "names.name"),
                         strict=True))  # fmt: skip
        self._name_values = sorted({v for v in names.values() if v is not None})
        name_at = {v: i for i, v in enumerate(self._name_values)}
        self._name_of = {k: name_at[v] for k, v in names.items() if v is not None}
        # Per code column: its dictionary (grid values, then area keys) and each grid's entry.
        self._dicts: dict[str, list[str]] = {"grid_code": self._grid.keys}
        self._of_grid: dict[str, NDArray[np.int64]] = {
            "grid_code": np.append(np.arange(len(self._grid.keys)), -1)}
        for col in _CODES:
            values = _codes(arrays, f"row.{col}")
            dictionary = sorted({v for v in values if v is not None})
            at = {v: i for i, v in enumerate(dictionary)}
            self._of_grid[col] = np.array([at[v] if v is not None else -1 for v in values]
                                          + [-1], dtype=np.int64)  # fmt: skip
            self._dicts[col] = dictionary
        self._full: GridHierarchy | None = None

    @classmethod
    def open(cls, path: str | os.PathLike[str], stamp: str) -> QuickLookup | None:
        """The lookup saved at ``path`` with this ``stamp``, or None (missing or stale)."""
        arrays = _read(Path(path), stamp)
        return None if arrays is None else cls(arrays)

    def hierarchy(self) -> GridHierarchy:
        """The full :class:`GridHierarchy` from the same file (imports pandas, pyproj)."""
        if self._full is None:
            self._full = _hierarchy(self._arrays)
        return self._full

    def _to_index_crs(self, xs: NDArray[np.float64], ys: NDArray[np.float64],
                      crs: str) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        if crs in self._same:
            return xs, ys
        route = self._routes.get(crs)
        if route is None or not self._complete:
            return None
        from urbangrid.spatial.crs import _kernels

        return _kernels.map_points(_kernels.ROUTE_OPS[route[0]], xs, ys, tmerc=route[1])

    def columns(self, xs: NDArray[np.float64], ys: NDArray[np.float64], *,
                crs: str) -> dict[str, tuple[NDArray[np.int64], list[str]]] | None:
        """The eight hierarchy columns as (entry per point, -1 for none; dictionary).

        One point is answered as :meth:`GridHierarchy.locate` does, several as
        :meth:`GridHierarchy.locate_many`. None: ask :meth:`hierarchy` instead.
        """
        moved = self._to_index_crs(np.ascontiguousarray(xs, dtype=np.float64),
                                   np.ascontiguousarray(ys, dtype=np.float64), crs)
        if moved is None:
            return None
        xa, ya = moved
        pos = self._grid.positions(xa, ya)
        if self._grid.may_raise(xa, ya, pos):
            return None
        idx = {col: of[pos] for col, of in self._of_grid.items()}
        dicts = dict(self._dicts)
        for level, col in (("community", "community_code"), ("street", "street_code"),
                           ("district", "district_code")):  # fmt: skip
            area = self._areas.get(level)
            missing = np.flatnonzero(idx[col] < 0)
            if area is None or missing.size == 0:
                continue
            found = area.positions(xa[missing], ya[missing])
            if area.may_raise(xa[missing], ya[missing], found):
                return None
            base = len(dicts[col])
            dicts[col] = dicts[col] + area.keys
            idx[col][missing] = np.where(found >= 0, base + found, -1)
        out: dict[str, tuple[NDArray[np.int64], list[str]]] = {}
        for col in HIERARCHY_COLUMNS:
            if col.endswith("_name"):
                code = col[: -len("name")] + "code"
                entry = np.array([self._name_of.get(v, -1) for v in dicts[code]] + [-1],
                                 dtype=np.int64)  # fmt: skip
                out[col] = (entry[idx[code]], self._name_values)
            else:
                out[col] = (idx[col], dicts[col])
        return out

    def locate(self, x: float, y: float, *, crs: str) -> dict[str, str | None] | None:
        """The hierarchy of one point as :meth:`GridHierarchy.locate` gives it, or None
        when only the full hierarchy can tell."""
        cols = self.columns(np.array([x], dtype=np.float64), np.array([y], dtype=np.float64),
                            crs=crs)  # fmt: skip
        if cols is None:
            return None
        return {c: (None if i[0] < 0 else d[int(i[0])]) for c, (i, d) in cols.items()}
