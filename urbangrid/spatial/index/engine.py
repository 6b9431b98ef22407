"""The assignment index: which grid polygon covers a point, for one point or millions.

:class:`GridIndex` answers, for a point, the position of the polygon that covers it
(boundary included), the first in input order when several do (a shared edge or
vertex), or -1. The answer equals, point for point, the GEOS reference::

    tree = shapely.STRtree(polygons)
    inp, hit = tree.query(shapely.points(x, y), predicate="covered_by")
    answer = full(n, -1); numpy.minimum.at(answer_where_set, inp, hit)

Points exactly on an edge or vertex are covered: the orientation tests behind the
answer are exact (see :mod:`urbangrid.spatial.index._pip`), not subject to floating-point
tolerance. NaN or infinite coordinates are outside everything: -1 from
:meth:`GridIndex.locate_many`, ``None`` from :meth:`GridIndex.locate`; they never raise.

Speed comes from a uniform lookup grid over the polygons (four cells per polygon edge
by default). A point in a cell that no edge crosses (wholly inside one polygon, or
outside all) is answered by one array read; a point in a cell crossed by one or two
segments by one orientation test per segment; the rest test the few candidate
polygons of their cell (small polygons whole, behind an exact bounding-box check;
large ones only on the edges crossing the cell). Queries run compiled (Cython, built
at install: no compiler at run time) and, for large batches, on every core. Identical
cell blocks are shared between cells.

Memory, measured on 100,000 Voronoi polygons of 6 edges on average (the benchmark
layer) with the default grid of 2.4 million cells: about 76 MB in all (lookup grid and
blocks 46 MB, polygon records 16 MB, polygon coordinates kept for snapping and saving
14 MB). :meth:`GridIndex.memory_usage` reports it for any index; ``cells=`` trades
memory for speed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import mmap
import os
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from urbangrid.errors import (
    CRSError,
    CRSMismatchError,
    GridGeometryError,
    IndexFileError,
)
from urbangrid.spatial.crs.transform import (
    CRSLike,
    PointTransform,
    _as_xy,
    crs_equal,
    crs_to_string,
    is_geographic,
    locate_route,
    normalize_crs,
    point_transformer,
    transform_xy,
)
from urbangrid.spatial.index.sql import install_locate_sql

if TYPE_CHECKING:  # a type only: importing the store (pandas, psycopg) costs ~0.4 s
    from urbangrid.store import Store

try:
    from urbangrid.spatial.index import _pip
except ImportError as exc:  # a checkout used without installing it
    raise ImportError(
        "urbangrid's compiled kernels are not built in this checkout: run "
        "`pip install -e .` in it (`make demo` and `make test` do)"
    ) from exc

__all__ = [
    "INDEX_FORMAT_VERSION",
    "GridIndex",
    "install_locate_sql",
    "reference_locate",
    "set_kernel_threads",
]

INDEX_FORMAT_VERSION = 1
"""Version of the saved index layout; :meth:`GridIndex.load` refuses other versions."""

_PARALLEL_MIN = 20_000
# From here on, counting-sorting the points by cell block (28 bytes of scratch per
# point) pays for itself in cache hits.
_BUCKETED_MIN = 200_000
_DEFAULT_CELLS_PER_EDGE = 4.0
_NO_CRS = object()  # no CRS seen yet (None is a CRS argument too, if a wrong one)


# From this size on, an index buffer goes to memory that may be backed by 2 MB pages.
_HUGE_PAGES_MIN_BYTES = 8 << 20


def _on_huge_pages(buf: NDArray[np.float64]) -> NDArray[np.float64]:
    """``buf`` copied to memory that Linux may back with 2 MB pages (transparent huge
    pages, asked for by ``madvise``), when it is large: a lookup at a random point then
    misses the TLB far less (on a 76 MB index, a single locate took ~0.31 instead of
    ~0.37 µs of compiled time). Elsewhere, when it is small, or when the system says no,
    ``buf`` itself."""
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if advice is None or buf.nbytes < _HUGE_PAGES_MIN_BYTES:
        return buf
    try:
        mem = mmap.mmap(-1, buf.nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        mem.madvise(advice)
    except (OSError, ValueError, AttributeError):
        return buf
    out = np.frombuffer(mem, dtype=np.float64, count=buf.size)
    out[:] = buf
    return out


def _miss(x: float, y: float) -> int:
    """The compiled-call stand-in for a CRS that needs pyproj: every point misses."""
    return -1


_MAX_CELLS = 1 << 26


def set_kernel_threads(n: int | None) -> int:
    """Threads that index builds and large ``locate_many`` calls use from now on.

    Parameters
    ----------
    n : int or None
        At least 1 (at most 64); None for every core this process may use (the default).
        One per worker is right when a pool of processes already uses every core.

    Returns
    -------
    int
        The previous count, to restore it.

    Examples
    --------
    >>> before = set_kernel_threads(1)
    >>> set_kernel_threads(before)
    1
    """
    before = _pip.get_num_threads()
    _pip.set_num_threads(_pip.default_threads() if n is None else n)
    return before


def reference_locate(
    polygons: Sequence[shapely.Geometry] | NDArray[Any], x: ArrayLike, y: ArrayLike
) -> NDArray[np.int64]:
    """The GEOS answer :class:`GridIndex` must equal: first covering polygon per point.

    Parameters
    ----------
    polygons : sequence of shapely Polygon or MultiPolygon
        In the same CRS as ``x``, ``y``.
    x, y : array_like of float
        Point coordinates, polygon CRS units.

    Returns
    -------
    numpy.ndarray of int64
        Smallest position of a polygon covering each point, -1 where none does.

    Examples
    --------
    >>> sq = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]
    >>> reference_locate(sq, [0.5, 1.0, 3.0], [0.5, 0.5, 0.5]).tolist()
    [0, 0, -1]
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    tree = shapely.STRtree(np.asarray(polygons, dtype=object))
    inp, hit = tree.query(shapely.points(xa, ya), predicate="covered_by")
    out = np.full(xa.shape, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, inp, hit)
    out[out == np.iinfo(np.int64).max] = -1
    return out


class GridIndex:
    """Point-to-polygon assignment index over a grid layer (unit grids, communities, ...).

    Build with :meth:`from_polygons` (or load with :meth:`load`); query with
    :meth:`locate` (one point) or :meth:`locate_many` (arrays).

    Attributes
    ----------
    crs : str
        CRS of the polygons and of the index (``"EPSG:4547"``, ``"GCJ-02"``, WKT).
    grid_version : str or None
        The grid layer version the index was built from (stamped into saved files).
    keys : numpy.ndarray or None
        Key of each polygon (e.g. grid codes), or None when positions are the keys.
    """

    __slots__ = (
        "_bounds",
        "_buf",
        "_crs_cache",
        "_crs_last",
        "_crs_norm",
        "_fast",
        "_geom",
        "_key_list",
        "_locate_one",
        "_locator",
        "_n",
        "_snap_tree",
        "_to_index",
        "crs",
        "grid_version",
        "keys",
        "meta",
    )

    def __init__(self) -> None:
        msg = "build a GridIndex with GridIndex.from_polygons(...) or GridIndex.load(...)"
        raise TypeError(msg)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_polygons(
        cls,
        polygons: Any,
        keys: Sequence[Hashable] | NDArray[Any] | str | None = None,
        *,
        crs: CRSLike | None = None,
        grid_version: str | None = None,
        cells: int | None = None,
        whole_polygon_max_edges: int = 32,
    ) -> GridIndex:
        """Build the index over polygons, in input order.

        Parameters
        ----------
        polygons : sequence of shapely Polygon/MultiPolygon, GeoSeries or GeoDataFrame
            The grid layer. Position ``i`` in the input is answer ``i``; earlier
            polygons win on shared edges and vertices (and on overlaps). ``None`` and
            empty geometries are allowed and never match.
        keys : sequence, array, or column name, optional
            One key per polygon (e.g. 15-digit grid codes), returned by :meth:`locate`.
            With a GeoDataFrame, the name of a column. Default: positions.
        crs : str, int or pyproj.CRS, optional
            CRS of the polygon coordinates. Required unless ``polygons`` carries one (a
            GeoSeries/GeoDataFrame ``.crs``). A projected CRS in metres is best: the
            snapping tolerance is then in metres.
        grid_version : str, optional
            Version of the grid layer (e.g. the store's generation), stamped into saved
            indexes so that :meth:`load` can refuse a stale one.
        cells : int, optional
            Number of lookup cells. Default: four per polygon edge (at least
            1,024, at most 2**26). More cells answer more points at once and use more
            memory.
        whole_polygon_max_edges : int, default 32
            Polygons with at most this many edges are tested whole (one compact
            record each); larger ones only on the edges crossing the point's cell.
            Either way the answer is exact; this only trades speed against memory.

        Returns
        -------
        GridIndex

        Raises
        ------
        GridGeometryError
            A geometry is not a (Multi)Polygon, is invalid (message gives the first few
            positions and GEOS's reason), has non-finite coordinates, or there is no
            non-empty polygon at all.
        CRSError
            No CRS given and none on ``polygons``.
        ValueError
            ``keys`` has a different length from ``polygons``.

        Examples
        --------
        >>> grid = [shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)]
        >>> idx = GridIndex.from_polygons(grid, ["A", "B"], crs="EPSG:4547")
        >>> idx.locate(10.0, 5.0, crs="EPSG:4547")  # on the shared edge: first wins
        'A'
        >>> idx.locate_many([5.0, 15.0, 25.0], [5.0, 5.0, 5.0], crs="EPSG:4547").tolist()
        [0, 1, -1]
        """
        geoms, key_arr, crs_in = _read_input(polygons, keys, crs)
        norm = normalize_crs(crs_in)
        geom = _geometry_arrays(geoms)
        self = object.__new__(cls)
        self._n = len(geoms)
        self.crs = crs_to_string(norm)
        self._crs_norm = norm
        self.grid_version = grid_version
        self.keys = key_arr
        self._geom = geom
        buf, self.meta = _build(geom, cells, whole_polygon_max_edges)
        self._buf = _on_huge_pages(buf)
        self._finish()
        return self

    @classmethod
    def from_store(
        cls,
        store: Store,
        layer: str = "unit_grid",
        *,
        key: str | None = None,
        as_of: dt.datetime | None = None,
        grid_version: str | None = None,
        cells: int | None = None,
        cache: bool = True,
    ) -> GridIndex:
        """Build the index over a polygon layer of a store (``urbangrid.connect(...)``).

        Rows are ordered by the layer's key, so "first in input order" means "smallest
        code" and the answer does not depend on how the store returns rows; the
        PostGIS function ``urbangrid_locate`` uses the same order.

        Parameters
        ----------
        store : urbangrid.store.Store
            An open store.
        layer : str, default "unit_grid"
            A polygon layer: ``unit_grid``, ``work_grid``, ``admin_area``...
        key : str, optional
            Key column returned by :meth:`locate` (default: the layer's key).
        as_of : datetime, optional
            For history layers, the polygons valid at that instant (default: current).
        grid_version : str, optional
            Version stamped on the index. Default for ``unit_grid``: the latest row of
            the store's ``grid_version`` layer (by ``loaded_at``); otherwise None.
        cells : int, optional
            See :meth:`from_polygons`.
        cache : bool, default True
            Open the index saved by an earlier call instead of building it, and save
            it after building. Only ``unit_grid`` without ``as_of`` is saved: in the
            cache folder of :mod:`urbangrid.spatial.index.saved`, keyed by the store,
            the layer, ``key``, ``cells``, the latest grid version with its load time
            and the layer's row count, so that loading new grids (or adding and
            retiring rows) rebuilds it. Edits that keep the version and the count
            (reshaping a grid in place) are not seen: pass ``cache=False`` after them.

        Returns
        -------
        GridIndex
            In the layer CRS (``store.layer_info(layer).crs``).

        Raises
        ------
        GridGeometryError
            The layer has no polygon geometry, or no rows.
        """
        info = store.layer_info(layer)
        if info.geometry_column is None:
            raise GridGeometryError(f"layer {layer!r} has no geometry to index")
        key = key or info.key
        if key is None:
            raise GridGeometryError(f"layer {layer!r} has no key column: pass key=")
        if grid_version is None and layer == "unit_grid":
            grid_version = _latest_grid_version(store, as_of)
        path = (
            _saved_path(store, layer, key, cells, grid_version)
            if cache and as_of is None
            else None
        )
        if path is not None:
            try:
                saved = cls.load(path)
                if saved.keys is not None and saved.keys.dtype.kind == "U":
                    saved.keys = saved.keys.astype(object)  # as built: str objects
                    saved._key_list = saved.keys.tolist()
                return saved
            except IndexFileError:  # missing, unreadable or from another version
                pass
        frame = store.read(layer, as_of=as_of)
        frame = frame.sort_values(key, kind="stable").reset_index(drop=True)
        index = cls.from_polygons(
            frame, frame[key].astype(object).to_numpy(), crs=info.crs,
            grid_version=grid_version, cells=cells,
        )  # fmt: skip
        if path is not None:
            _write_quietly(index, path)
        return index

    def _finish(self) -> None:
        self._bounds = self.bounds
        self._crs_cache: dict[Any, bool] = {}
        self._crs_last: tuple[Any, bool] = (_NO_CRS, False)
        self._to_index: tuple[Any, PointTransform | None, Any] = (_NO_CRS, None, None)
        self._fast: tuple[Any, Callable[[float, float], int]] = (_NO_CRS, _miss)
        self._snap_tree: shapely.STRtree | None = None
        self._key_list = None if self.keys is None else self.keys.tolist()
        # A bound method of the compiled locator: two floats in, a position out (~50 ns).
        self._locator = _pip.Locator(self._buf)
        self._locate_one = self._locator.locate

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        m = self.meta
        return (
            f"GridIndex({self._n} polygons, crs={self.crs!r}, grid_version="
            f"{self.grid_version!r}, {m['ncols']}x{m['nrows']} cells, "
            f"{self.nbytes / 1e6:.1f} MB)"
        )

    def _same_crs(self, crs: CRSLike) -> bool:
        """Whether ``crs`` is the index CRS, cached by identity, then by value."""
        last = self._crs_last
        if crs is last[0]:
            return last[1]
        try:
            hit = self._crs_cache.get(crs)
        except TypeError:  # unhashable CRS description
            return crs_equal(crs, self._crs_norm)
        if hit is None:
            hit = crs_equal(crs, self._crs_norm)
            self._crs_cache[crs] = hit
        # One tuple (replaced whole, so threads never see a CRS with another's flag):
        # a pyproj.CRS hashes its WKT, ~18 us, so the same object must not be hashed
        # on every call.
        self._crs_last = (crs, hit)
        return hit

    def _point_transform(self, crs: CRSLike) -> tuple[Any, PointTransform, Any]:
        """``(crs, transform, direct)``, remembered by identity: the one-point transform
        from ``crs`` to the index CRS, and the compiled locate that takes ``crs``
        points itself or None: GCJ-02 or BD-09 against a WGS84 degree index, and GCJ-02,
        BD-09 or WGS84/CGCS2000 degrees against a transverse Mercator (Gauss-Krüger)
        index, projected inside the call (:func:`locate_route`)."""
        fn = point_transformer(crs, self._crs_norm)
        route = locate_route(crs, self._crs_norm)
        direct = None
        if route is not None:
            if route[1] is not None:  # the index CRS's projection; the same for every crs
                self._locator.set_tmerc(route[1])
            direct = getattr(self._locator, f"locate_{route[0]}")
        to_index = (crs, fn, direct)
        self._to_index = to_index  # one tuple, as _crs_last
        return to_index

    def _fast_path(self, crs: CRSLike) -> tuple[Any, Callable[[float, float], int]]:
        """``(crs, call)``, remembered by identity: the compiled call answering a point in
        ``crs`` when it hits (the plain locate in the index CRS, the converting one for
        :meth:`_point_transform`'s direct routes, else one that always misses)."""
        call = self._locate_one if self._same_crs(crs) else self._point_transform(crs)[2] or _miss
        fast = (crs, call)
        self._fast = fast  # one tuple, as _crs_last
        return fast

    def locate(
        self,
        x: float,
        y: float,
        *,
        crs: CRSLike,
        snap_tolerance_m: float = 0.0,
        snap_tolerance: float | None = None,
    ) -> Hashable | None:
        """Key of the polygon covering one point, or None.

        Parameters
        ----------
        x, y : float
            The point: easting/northing or longitude/latitude in ``crs`` (x first).
        crs : str, int or pyproj.CRS
            CRS of ``x``, ``y``; transformed to the index CRS when different (e.g. a
            collector's GCJ-02 fix against a CGCS2000 Gauss-Krüger grid).
        snap_tolerance_m : float, default 0.0
            When the point is outside every polygon but within this many metres of one
            (measured in the index CRS, which must then be projected), answer the
            nearest polygon (the first in input order on ties). 0 turns snapping off.
        snap_tolerance : float, optional
            Old name of ``snap_tolerance_m``, kept while callers move; do not use.

        Returns
        -------
        hashable or None
            ``keys[i]`` (or position ``i`` when built without keys) of the first
            polygon in input order that covers the point (boundary included). None when
            no polygon covers it, or x/y is NaN or infinite.

        Raises
        ------
        CRSMismatchError
            The point is outside the grid and obviously in another CRS: degrees given
            as metres or the reverse, or longitude/latitude swapped.
        CRSError
            ``crs`` is not understood.

        See Also
        --------
        locate_many : arrays of points, returns positions; much faster per point.

        Examples
        --------
        >>> idx = GridIndex.from_polygons([shapely.box(0, 0, 10, 10)], ["A"], crs=4547)
        >>> idx.locate(3.0, 4.0, crs=4547), idx.locate(30.0, 4.0, crs=4547)
        ('A', None)
        """
        # The hot path of live cases: one identity check for the CRS, one compiled
        # call (which converts x and y as float() does, and a phone's GCJ-02 or a
        # survey's degrees to the index CRS), one list read for the key. Misses, bad
        # values and snapping take the checked path.
        fast = self._fast
        if crs is not fast[0]:
            fast = self._fast_path(crs)
        if not (snap_tolerance_m or snap_tolerance is not None):
            try:
                pos = fast[1](x, y)
            except TypeError:
                pos = -1  # the checked path says what is wrong with x, y
            if pos >= 0:
                keys = self._key_list
                return pos if keys is None else keys[pos]
        return self._locate_checked(x, y, crs, snap_tolerance_m, snap_tolerance)

    def _locate_checked(
        self,
        x: float,
        y: float,
        crs: CRSLike,
        snap_tolerance_m: float,
        snap_tolerance: float | None,
    ) -> Hashable | None:
        """:meth:`locate` the long way: arguments checked, the point transformed (and
        checked) by :func:`point_transformer`, then snapping and the CRS check on a miss."""
        if snap_tolerance_m or snap_tolerance is not None:
            snap_tolerance_m = self._snap_distance_m(snap_tolerance_m, snap_tolerance)
        if not self._same_crs(crs):
            to_index = self._to_index
            if crs is not to_index[0]:
                to_index = self._point_transform(crs)
            x, y = to_index[1](x, y)  # type: ignore[misc]
        try:
            pos = self._locate_one(x, y)
        except TypeError:
            x, y = float(x), float(y)  # float()'s own message for what is not a number
            raise
        if pos >= 0:
            return pos if self._key_list is None else self._key_list[pos]
        return self._locate_miss(float(x), float(y), snap_tolerance_m)

    def _locate_miss(self, x: float, y: float, snap_tolerance_m: float) -> Hashable | None:
        """:meth:`locate` for a point no polygon covers: snapping, then the CRS check."""
        if snap_tolerance_m > 0.0:
            xs = np.array([x], dtype=np.float64)
            ys = np.array([y], dtype=np.float64)
            pos = int(self._snap(xs, ys, np.full(1, -1, dtype=np.int64), snap_tolerance_m)[0])
            if pos >= 0:
                return pos if self._key_list is None else self._key_list[pos]
        bx0, by0, bx1, by1 = self._bounds
        if not (bx0 <= x <= bx1 and by0 <= y <= by1) and math.isfinite(x) and math.isfinite(y):
            swapped = int(bx0 <= y <= bx1 and by0 <= x <= by1)
            self._raise_if_other_crs(x, x, y, y, swapped, 1)
        return None

    def locate_many(
        self,
        xs: ArrayLike,
        ys: ArrayLike,
        *,
        crs: CRSLike,
        snap_tolerance_m: float = 0.0,
        snap_tolerance: float | None = None,
    ) -> NDArray[np.int64]:
        """Positions of the polygons covering many points (-1 where none does).

        Parameters
        ----------
        xs, ys : array_like of float
            Points, easting/northing or longitude/latitude in ``crs``, same shape.
        crs : str, int or pyproj.CRS
            CRS of the points; transformed to the index CRS when different.
        snap_tolerance_m : float, default 0.0
            Points outside every polygon but within this many metres of one (measured
            in the index CRS, which must then be projected) get the nearest polygon
            (first in input order on ties). 0: off.
        snap_tolerance : float, optional
            Old name of ``snap_tolerance_m``, kept while callers move; do not use.

        Returns
        -------
        numpy.ndarray of int64
            Same shape as ``xs``: position of the first polygon (input order) covering
            each point, boundary included; -1 for none, NaN or infinite coordinates.
            Map to keys with ``idx.keys[pos]`` where ``pos >= 0``.

        Raises
        ------
        CoordinateError
            ``xs`` and ``ys`` differ in shape or are not numeric.
        CRSMismatchError
            No point falls in the grid and the points are obviously in another CRS
            (metres vs degrees, or longitude/latitude swapped).

        See Also
        --------
        reference_locate : the GEOS answer this equals.

        Examples
        --------
        >>> idx = GridIndex.from_polygons(
        ...     [shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], crs=4547)
        >>> idx.locate_many([10.0, 20.0, float("nan")], [10.0, 0.0, 1.0], crs=4547).tolist()
        [0, 1, -1]
        """
        xa, ya = _as_xy(xs, ys)  # numbers, one y per x, or CoordinateError
        xa, ya = np.ascontiguousarray(xa), np.ascontiguousarray(ya)
        shape = xa.shape
        if snap_tolerance_m or snap_tolerance is not None:
            snap_tolerance_m = self._snap_distance_m(snap_tolerance_m, snap_tolerance)
        if not self._same_crs(crs):
            xa, ya = transform_xy(xa, ya, crs=crs, to_crs=self._crs_norm)
        xa = np.ascontiguousarray(xa.reshape(-1))
        ya = np.ascontiguousarray(ya.reshape(-1))
        out = np.empty(xa.size, dtype=np.int64)
        if xa.size >= _BUCKETED_MIN:
            kernel = _pip.locate_bucketed  # sorts points by cell block: cache-friendly
        elif xa.size >= _PARALLEL_MIN:
            kernel = _pip.locate_parallel
        else:
            kernel = _pip.locate_serial
        kernel(xa, ya, self._buf, out)
        if xa.size and snap_tolerance_m > 0.0:
            out = self._snap(xa, ya, out, snap_tolerance_m)
        if xa.size and not (out >= 0).any():
            self._diagnose_miss(xa, ya)
        return out.reshape(shape)

    def _diagnose_miss(self, xs: NDArray[np.float64], ys: NDArray[np.float64]) -> None:
        """Raise CRSMismatchError when points that hit nothing are obviously in another CRS.

        Only the index bounds are used, so this is cheap enough to run on every miss.
        """
        ok = np.isfinite(xs) & np.isfinite(ys)
        if not ok.any():
            return
        xs = xs[ok]
        ys = ys[ok]
        bx0, by0, bx1, by1 = self._bounds
        swapped = int(((ys >= bx0) & (ys <= bx1) & (xs >= by0) & (xs <= by1)).sum())
        self._raise_if_other_crs(
            float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max()), swapped, xs.size
        )

    def _raise_if_other_crs(
        self, x0: float, x1: float, y0: float, y1: float, swapped: int, n: int
    ) -> None:
        """The checks of :meth:`_diagnose_miss` on finite points spanning x0..x1, y0..y1.

        ``swapped`` of the ``n`` points would fall inside the grid's bounds with x and
        y exchanged.
        """
        bx0, by0, bx1, by1 = self._bounds
        degrees_box = bx0 >= -180.0 and bx1 <= 180.0 and by0 >= -90.0 and by1 <= 90.0
        looks_degrees = max(-x0, x1) <= 180.0 and max(-y0, y1) <= 90.0
        # x and y ranges of the grid overlap: a swap cannot be told from a miss.
        if (bx1 < by0 or by1 < bx0) and swapped >= 0.5 * n:
            raise CRSMismatchError(
                f"no point falls inside the grid ({self.crs}, x {bx0:.6g}..{bx1:.6g}, y "
                f"{by0:.6g}..{by1:.6g}), but {swapped} of {n} would with x and y swapped: "
                "give longitude/easting first and latitude/northing second (x=, y=; --x, "
                "--y for a CSV)"
            )
        if degrees_box and not looks_degrees:
            raise CRSMismatchError(
                f"no point falls inside the grid ({self.crs}, degrees) and the points reach "
                f"x {x0:.6g}..{x1:.6g}, y {y0:.6g}..{y1:.6g}: they "
                "look like metres of a projected CRS; give that CRS with --crs (crs=)"
            )
        if not degrees_box and looks_degrees and (bx1 < -180 or bx0 > 180 or by1 < -90 or by0 > 90):
            raise CRSMismatchError(
                f"no point falls inside the grid ({self.crs}, x {bx0:.6g}..{bx1:.6g}, y "
                f"{by0:.6g}..{by1:.6g}) and every point lies within ±180, ±90: they look like "
                "longitude/latitude degrees; give --crs (crs=) EPSG:4326 (or GCJ-02, BD-09)"
            )

    def _snap_distance_m(self, snap_tolerance_m: float, snap_tolerance: float | None) -> float:
        """The snapping distance in metres, checked (the old keyword still accepted)."""
        if snap_tolerance is not None:
            if snap_tolerance_m:
                raise TypeError("pass snap_tolerance_m only (snap_tolerance is its old name)")
            snap_tolerance_m = snap_tolerance
        if not math.isfinite(snap_tolerance_m) or snap_tolerance_m < 0:
            raise ValueError(
                f"snap_tolerance_m must be a finite distance >= 0, not {snap_tolerance_m}"
            )
        if snap_tolerance_m and is_geographic(self._crs_norm):
            raise CRSError(
                f"snap_tolerance_m is in metres, but the index CRS {self.crs!r} is in "
                "degrees: build the index on grids in a projected CRS to snap"
            )
        return float(snap_tolerance_m)

    def _snap(
        self,
        xs: NDArray[np.float64],
        ys: NDArray[np.float64],
        out: NDArray[np.int64],
        tolerance_m: float,
    ) -> NDArray[np.int64]:
        """``out`` with misses within ``tolerance_m`` (index CRS metres) set to the nearest."""
        miss = np.flatnonzero((out < 0) & np.isfinite(xs) & np.isfinite(ys))
        if miss.size == 0:
            return out
        tree = self._snap_tree
        if tree is None:
            tree = self._snap_tree = shapely.STRtree(self.geometries)
        pts = shapely.points(xs[miss], ys[miss])
        inp, hit = tree.query_nearest(pts, max_distance=tolerance_m, all_matches=True)
        best = np.full(miss.size, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(best, inp, hit)
        found = best != np.iinfo(np.int64).max
        out = out.copy()
        out[miss[found]] = best[found]
        return out

    def _positional(self) -> GridIndex:
        """The same index answering positions instead of keys (shares every array)."""
        twin = object.__new__(GridIndex)
        for name in GridIndex.__slots__:
            setattr(twin, name, getattr(self, name))
        twin.keys = None
        twin._key_list = None
        twin._crs_cache = {}
        twin._crs_last = (_NO_CRS, False)
        twin._to_index = (_NO_CRS, None, None)
        twin._fast = (_NO_CRS, _miss)
        twin._snap_tree = None
        return twin

    # ------------------------------------------------------------------ geometry

    @property
    def geometries(self) -> NDArray[Any]:
        """The indexed polygons as a shapely array (MultiPolygons; None where empty)."""
        coords, ring_off, part_ring_off, poly_part_off = self._geom
        geoms = shapely.from_ragged_array(
            shapely.GeometryType.MULTIPOLYGON,
            coords,
            (ring_off, part_ring_off, poly_part_off),
        )
        geoms = np.asarray(geoms, dtype=object)
        geoms[shapely.is_empty(geoms)] = None
        return geoms

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of all polygons, index CRS units."""
        fl = self._buf
        return (
            float(fl[_pip.F_BX0]),
            float(fl[_pip.F_BY0]),
            float(fl[_pip.F_BX1]),
            float(fl[_pip.F_BY1]),
        )

    @property
    def nbytes(self) -> int:
        """Bytes held by the index, lookup structure and polygon coordinates together."""
        return sum(self.memory_usage().values())

    def memory_usage(self) -> dict[str, int]:
        """Bytes per part: lookup grid and tables, edge copies, polygon coordinates, keys.

        Returns
        -------
        dict of str to int
            ``lookup`` (cell codes and candidate lists), ``records`` (polygon rings
            copied for whole-polygon tests, and per-cell edge copies), ``polygons``
            (coordinates and offsets, kept for snapping, saving and
            :attr:`geometries`), ``keys``.
        """
        keys = 0 if self.keys is None else int(self.keys.nbytes)
        if self.keys is not None and self.keys.dtype == object:
            keys += sum(len(str(k)) + 49 for k in self._key_list or [])
        ioff = int(self._buf[_pip.F_IOFF])
        return {
            "lookup": int(self._buf[ioff:].nbytes),
            "records": int(self._buf[:ioff].nbytes),
            "polygons": int(sum(a.nbytes for a in self._geom)),
            "keys": keys,
        }

    # ------------------------------------------------------------------ persistence

    def _state(self) -> dict[str, Any]:
        coords, ring_off, part_ring_off, poly_part_off = self._geom
        meta = dict(self.meta)
        meta.update(
            format_version=INDEX_FORMAT_VERSION,
            crs=self.crs,
            grid_version=self.grid_version,
            n=self._n,
            has_keys=self.keys is not None,
        )
        state: dict[str, Any] = {
            "meta": json.dumps(meta),
            "buf": self._buf,
            "coords": coords,
            "ring_off": ring_off,
            "part_ring_off": part_ring_off,
            "poly_part_off": poly_part_off,
        }
        if self.keys is not None:
            state["keys"] = self.keys
        return state

    def __getstate__(self) -> dict[str, Any]:
        return self._state()

    def __setstate__(self, state: dict[str, Any]) -> None:
        meta = json.loads(str(state["meta"]))
        if meta.get("format_version") != INDEX_FORMAT_VERSION:
            raise IndexFileError(
                f"index format version {meta.get('format_version')} is not the supported "
                f"{INDEX_FORMAT_VERSION}; rebuild it with GridIndex.from_polygons"
            )
        self._n = int(meta.pop("n"))
        self.crs = str(meta.pop("crs"))
        self._crs_norm = normalize_crs(self.crs)
        self.grid_version = meta.pop("grid_version")
        has_keys = meta.pop("has_keys")
        meta.pop("format_version")
        self.meta = meta
        self._buf = _on_huge_pages(np.ascontiguousarray(state["buf"], dtype=np.float64))
        self._geom = (
            np.ascontiguousarray(state["coords"], dtype=np.float64),
            np.ascontiguousarray(state["ring_off"], dtype=np.int64),
            np.ascontiguousarray(state["part_ring_off"], dtype=np.int64),
            np.ascontiguousarray(state["poly_part_off"], dtype=np.int64),
        )
        self.keys = np.asarray(state["keys"]) if has_keys else None
        self._finish()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index to a NumPy ``.npz`` file (no pickle inside).

        Parameters
        ----------
        path : str or path-like
            File to write. The file records the format version, the CRS and the
            ``grid_version`` the index was built from.

        Raises
        ------
        IndexFileError
            The keys are neither strings nor integers (they could not be loaded back
            without pickle).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> idx = GridIndex.from_polygons([shapely.box(0, 0, 1, 1)], ["A"], crs=4547,
        ...                               grid_version="2024-06")
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "grid.npz"
        >>> idx.save(p)
        >>> GridIndex.load(p, grid_version="2024-06").locate(0.5, 0.5, crs=4547)
        'A'
        """
        state = self._state()
        if self.keys is not None:
            keys = self.keys
            if keys.dtype == object:
                if not all(isinstance(k, str) for k in self._key_list or []):
                    raise IndexFileError(
                        "only str or integer keys can be saved; convert the keys first"
                    )
                keys = np.asarray(self._key_list, dtype=str)
            elif keys.dtype.kind not in "iuU":
                raise IndexFileError(
                    f"only str or integer keys can be saved, not dtype {keys.dtype}"
                )
            state["keys"] = keys
        with open(path, "wb") as fh:
            np.savez(fh, **state)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, grid_version: str | None = None) -> GridIndex:
        """Read an index written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
            The ``.npz`` file.
        grid_version : str, optional
            The current version of the grid layer. When given and different from the
            version stamped in the file, the index is stale and is refused.

        Returns
        -------
        GridIndex

        Raises
        ------
        IndexFileError
            Unreadable file, another format version, or a different ``grid_version``
            (rebuild with :meth:`from_polygons` and save again).
        """
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                state = {name: data[name] for name in data.files}
        except (OSError, ValueError, KeyError) as exc:
            raise IndexFileError(f"{path}: not a saved GridIndex ({exc})") from None
        if "meta" not in state:
            raise IndexFileError(f"{path}: not a saved GridIndex (no metadata)")
        self = object.__new__(cls)
        try:
            self.__setstate__(state)
        except IndexFileError as exc:
            raise IndexFileError(f"{path}: {exc}") from None
        if grid_version is not None and self.grid_version != grid_version:
            raise IndexFileError(
                f"{path}: index built for grid version {self.grid_version!r}, the grid is now "
                f"{grid_version!r}; rebuild it with GridIndex.from_polygons and save again"
            )
        return self


def _latest_grid_version(store: Store, as_of: dt.datetime | None) -> str | None:
    latest = latest_grid_version_row(store, as_of)
    return None if latest is None else latest[0]


def latest_grid_version_row(
    store: Store, as_of: dt.datetime | None = None
) -> tuple[str, str] | None:
    """``(version, loaded_at)`` of the store's latest grid version (at ``as_of``), or None."""
    if "grid_version" not in store.layers():
        return None
    versions = store.read("grid_version", columns=["version", "loaded_at"])
    if as_of is not None and len(versions):
        import pandas as pd  # only here: `import GridIndex` does not load pandas

        versions = versions[versions["loaded_at"] <= pd.Timestamp(as_of)]
    if not len(versions):
        return None
    row = versions.sort_values("loaded_at").iloc[-1]
    return str(row["version"]), str(row["loaded_at"])


def _saved_path(
    store: Store, layer: str, key: str, cells: int | None, grid_version: str | None
) -> Path | None:
    """Where :meth:`GridIndex.from_store` saves this layer's index; None: not saved."""
    from urbangrid.spatial.index.saved import cache_file

    latest = latest_grid_version_row(store) if layer == "unit_grid" else None
    if latest is None:
        return None
    stamp = f"{layer}|{key}|{cells}|{grid_version}|{latest}|{store.count(layer)}"
    return cache_file(f"index-{layer}", str(store.target), stamp)


def _write_quietly(index: GridIndex, path: Path) -> None:
    """Save for the next :meth:`GridIndex.from_store`; an unwritable cache is not an error."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        index.save(tmp)
        os.replace(tmp, path)
    except (OSError, IndexFileError):
        tmp.unlink(missing_ok=True)
        return
    for old in path.parent.glob(f"{path.name.rsplit('-', 1)[0]}-*.npz"):
        if old != path:
            old.unlink(missing_ok=True)


# ---------------------------------------------------------------------- build helpers


def _read_input(
    polygons: Any,
    keys: Sequence[Hashable] | NDArray[Any] | str | None,
    crs: CRSLike | None,
) -> tuple[NDArray[Any], NDArray[Any] | None, CRSLike]:
    frame_crs = getattr(polygons, "crs", None)
    if isinstance(keys, str):
        if not hasattr(polygons, "columns") or keys not in polygons.columns:
            raise ValueError(f"keys={keys!r} names a column, but polygons has no such column")
        keys = polygons[keys].to_numpy()
    if hasattr(polygons, "geometry") and hasattr(polygons, "columns"):
        polygons = polygons.geometry
    geoms = np.asarray(
        polygons.to_numpy() if hasattr(polygons, "to_numpy") else list(polygons), dtype=object
    )
    if geoms.ndim != 1:
        raise GridGeometryError(f"polygons must be a flat sequence, got shape {geoms.shape}")
    if crs is None:
        if frame_crs is None:
            raise CRSError(
                "polygons have no CRS: pass crs= (e.g. crs='EPSG:4547' for a CGCS2000 "
                "Gauss-Kruger grid, or 'GCJ-02')"
            )
        crs = frame_crs
    key_arr: NDArray[Any] | None = None
    if keys is not None:
        key_list = list(keys.to_numpy() if hasattr(keys, "to_numpy") else keys)
        if len(key_list) != geoms.shape[0]:
            raise ValueError(
                f"keys has {len(key_list)} entries but there are {geoms.shape[0]} polygons; "
                "pass one key per polygon"
            )
        key_arr = np.asarray(key_list)
        if key_arr.ndim != 1:  # e.g. tuples as keys: keep them whole
            key_arr = np.empty(len(key_list), dtype=object)
            key_arr[:] = key_list
    return geoms, key_arr, crs


def _geometry_arrays(
    geoms: NDArray[Any],
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Coordinates and ring/part/polygon offsets, every polygon as a MultiPolygon."""
    missing = np.array([g is None for g in geoms], dtype=bool)
    not_geom = [
        i for i, g in enumerate(geoms) if g is not None and not isinstance(g, shapely.Geometry)
    ]
    if not_geom:
        raise GridGeometryError(
            f"polygons[{not_geom[0]}] is a {type(geoms[not_geom[0]]).__name__}, not a "
            f"shapely geometry ({len(not_geom)} such entries)"
        )
    geoms = geoms.copy()
    geoms[missing] = None
    empty = missing | shapely.is_empty(geoms)
    types = shapely.get_type_id(geoms)
    bad = np.flatnonzero(~empty & (types != 3) & (types != 6))
    if bad.size:
        raise GridGeometryError(
            f"polygons[{bad[0]}] is a {shapely.get_type_id(geoms[bad[0]])!s}-type "
            f"{geoms[bad[0]].geom_type}, not a Polygon or MultiPolygon "
            f"({bad.size} such geometries, positions {bad[:5].tolist()}...)"
        )
    if empty.all():
        raise GridGeometryError("no polygon to index: every geometry is None or empty")
    invalid = np.flatnonzero(~empty & ~shapely.is_valid(geoms))
    if invalid.size:
        reasons = shapely.is_valid_reason(geoms[invalid[:3]])
        detail = "; ".join(f"polygons[{i}]: {r}" for i, r in zip(invalid[:3], reasons, strict=True))
        raise GridGeometryError(
            f"{invalid.size} invalid polygon(s): {detail}. Repair them (shapely.make_valid) "
            "before indexing: covers on invalid polygons has no defined answer"
        )
    geoms[empty] = None
    parts, part_src = shapely.get_parts(geoms, return_index=True)
    # An empty part of a MultiPolygon has no ring coordinates; the kernels need some.
    keep = ~shapely.is_empty(parts)
    parts, part_src = parts[keep], part_src[keep]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    if not np.isfinite(coords).all():
        raise GridGeometryError("polygons have NaN or infinite coordinates")
    n = geoms.shape[0]
    ring_off = np.zeros(rings.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(coord_ring, minlength=rings.shape[0]), out=ring_off[1:])
    part_ring_off = np.zeros(parts.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(ring_part, minlength=parts.shape[0]), out=part_ring_off[1:])
    poly_part_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(part_src, minlength=n), out=poly_part_off[1:])
    return np.ascontiguousarray(coords, dtype=np.float64), ring_off, part_ring_off, poly_part_off


def _cell_counts(ints: NDArray[np.int32]) -> dict[str, int]:
    """Cells by how a point in them is answered (for ``meta`` and the benchmark)."""
    ncells = int(ints[_pip.I_NCOLS]) * int(ints[_pip.I_NROWS])
    codes = ints[_pip.I_HEADER : _pip.I_HEADER + ncells]
    heads = ints[-2 - codes[codes < -1]]
    lines = np.bincount(-heads[heads < 0], minlength=_pip.MAX_LINES + 1)
    return {
        "cells_outside": int((codes == -1).sum()),
        "cells_inside": int((codes >= 0).sum()),
        "cells_boundary": int(heads.size),
        # Answered by one orientation test, by two or more, by the candidate list.
        "cells_split": int(lines[1]),
        "cells_lines": int(lines[2:].sum()),
        "cells_list": int((heads > 0).sum()),
    }


class _Layout(NamedTuple):
    """The uniform lookup grid over the layer's bounding box (layer CRS units)."""

    bounds: tuple[float, float, float, float]
    ncols: int
    nrows: int
    w: float
    h: float
    eps: float
    col_lo: NDArray[np.float64]
    col_hi: NDArray[np.float64]
    row_lo: NDArray[np.float64]
    row_hi: NDArray[np.float64]


def _layout(xs: NDArray[np.float64], ys: NDArray[np.float64], cells: int) -> _Layout:
    """About ``cells`` square-ish cells over the vertices' box, each widened by ``eps``."""
    bx0, bx1 = float(xs.min()), float(xs.max())
    by0, by1 = float(ys.min()), float(ys.max())
    width = bx1 - bx0
    height = by1 - by0
    scale = max(abs(bx0), abs(bx1), abs(by0), abs(by1), 1.0)
    # A flat layer (zero width or height) still needs a positive cell size.
    floor = scale * 1e-12
    width = max(width, floor)
    height = max(height, floor)
    side = math.sqrt(width * height / cells)
    ncols = max(1, min(math.ceil(width / side), cells))
    nrows = max(1, min(math.ceil(height / side), cells))
    w = width / ncols
    h = height / nrows
    # The widening must dwarf the rounding of (x - x0) / w, yet stay far below a cell.
    eps = max(min(w, h) * 1e-6, float(np.spacing(scale)) * 64)
    col = np.arange(ncols, dtype=np.float64)
    row = np.arange(nrows, dtype=np.float64)
    return _Layout(
        (bx0, by0, bx1, by1), ncols, nrows, w, h, eps,
        bx0 + col * w - eps, bx0 + (col + 1.0) * w + eps,
        by0 + row * h - eps, by0 + (row + 1.0) * h + eps,
    )  # fmt: skip


def _build(
    geom: tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]],
    cells: int | None,
    whole_max: int,
) -> tuple[NDArray[np.float64], dict[str, Any]]:
    """The index buffer (float64 records, then the int32 lookup grid viewed in place)."""
    coords, ring_off, part_ring_off, poly_part_off = geom
    poly_ring_off = part_ring_off[poly_part_off]
    xs = np.ascontiguousarray(coords[:, 0])
    ys = np.ascontiguousarray(coords[:, 1])
    ring_edges = np.diff(ring_off) - 1
    poly_edges = np.add.reduceat(np.append(ring_edges, 0), poly_ring_off[:-1]) * (
        np.diff(poly_ring_off) > 0
    )
    nedges = int(ring_edges.sum())
    if cells is None:
        cells = int(_DEFAULT_CELLS_PER_EDGE * nedges)
    lay = _layout(xs, ys, int(min(max(cells, 1024), _MAX_CELLS)))
    ncols, nrows = lay.ncols, lay.nrows
    col_lo, col_hi, row_lo, row_hi = lay.col_lo, lay.col_hi, lay.row_lo, lay.row_hi
    bx0, by0, bx1, by1 = lay.bounds
    invw = 1.0 / lay.w
    invh = 1.0 / lay.h
    # Small polygons are tested whole (one short contiguous record); large ones only on
    # the edges crossing the point's cell.
    full = poly_edges <= whole_max
    offs, bp_cell, bp_par, bp_n, cp_cell, pe, pe_flag = _pip.build_pairs(
        xs, ys, ring_off, poly_ring_off, full, bx0, by0, invw, invh, ncols, nrows,
        col_lo, col_hi, row_lo, row_hi,
    )  # fmt: skip
    header = np.zeros(_pip.F_HEADER, dtype=np.float64)
    header[[_pip.F_BX0, _pip.F_BY0, _pip.F_BX1, _pip.F_BY1]] = (bx0, by0, bx1, by1)
    header[[_pip.F_X0, _pip.F_Y0, _pip.F_INVW, _pip.F_INVH]] = (bx0, by0, invw, invh)
    int32_max = np.iinfo(np.int32).max
    if max(ncols * nrows, bp_cell.size * 2 + ncols * nrows) >= int32_max // 2:
        raise GridGeometryError("grid too large for one index: split the layer or lower cells=")
    fl, ints = _pip.assemble(
        ncols, nrows, header, row_lo, xs, ys, ring_off, poly_ring_off, full,
        offs, bp_cell, bp_par, bp_n, cp_cell, pe, pe_flag,
    )  # fmt: skip
    del pe, pe_flag
    # Boundary cells that no edge really crosses, or only a few edges, are answered
    # without their candidate lists (see _pip.write_line_blocks).
    kind, answer = _pip.classify_cells(fl, ints, col_lo, col_hi, row_lo, row_hi)
    ks = kind[kind > 0].astype(np.int64)
    ks = ks[ks <= _pip.MAX_LINES]
    if ints.size + int((2 + (1 << ks) + 8 * ks).sum()) >= int32_max:
        raise GridGeometryError("grid too large for one index: split the layer or lower cells=")
    ints = _pip.write_line_blocks(fl, ints, kind, answer, col_lo, col_hi, row_lo, row_hi)
    del kind, answer, ks
    ints = _pip.dedupe_blocks(ints)
    if fl.size >= int32_max:
        raise GridGeometryError("grid too large for one index: split the layer or lower cells=")
    # One buffer: the int32 part is viewed in place, so a query passes a single array.
    buf = np.concatenate([fl, ints.view(np.float64)])
    buf[_pip.F_IOFF] = fl.size
    meta = {
        "ncols": ncols,
        "nrows": nrows,
        "cell_width": lay.w,
        "cell_height": lay.h,
        "eps": lay.eps,
        **_cell_counts(ints),
        "whole_polygons": int(full.sum()),
        "polygon_edges": nedges,
    }
    return buf, meta
