"""Streaming bulk assignment (批量归属): points of any size to grid polygons, part by part.

:func:`assign_points` answers, for every point of a CSV, Parquet or GeoPackage file (or
a pandas / Dask frame) of any size, which polygon of a
:class:`~urbangrid.spatial.index.engine.GridIndex` covers it: the index's exact
semantics (boundary included, first polygon in input order), a key column appended to
each row. The input is cut into partitions of ``partition_rows`` rows that are read,
assigned and written one at a time, so memory is bounded by the partition size, never
by the input:

* **Parquet** files and directories are cut at row-group boundaries and each partition
  is read by the worker that assigns it;
* **GeoPackage** and other GDAL vector files are read in slices of features, also on the
  workers;
* **CSV** (plain, ``.gz``, ``.bz2``, ``.xz``, ``.zst``) is parsed here in chunks, because a
  compressed stream cannot be split and quoted fields may hold line breaks; at most
  ``2 × workers`` chunks are in flight;
* **pandas** frames are sliced; **Dask** (and dask-geopandas) frames go partition by
  partition.

With ``scheduler=None`` everything runs in this process (no Dask needed); with
``scheduler="local"`` on a ``distributed.LocalCluster``; with a scheduler address
(``"tcp://10.0.0.5:8786"``) or a ``distributed.Client`` on any Dask cluster: the same
code, the same answers, row for row. The index is sent to the cluster once and each
worker fetches it once.

Output is a Parquet dataset (a directory of ``part.NNNNN.parquet`` files, GeoParquet
when the input has geometry, plus ``_urbangrid.json`` with the counts and the index's
CRS and grid version), or a PostGIS table (:class:`urbangrid.scale.postgis.PostGISSink`).
It is written under a temporary name next to the target and renamed at the end: a run
that fails, or is killed, never leaves a partial output that looks complete. A worker
that dies mid-run has its partitions re-run elsewhere (Dask retries a task whose worker
died up to ``distributed.scheduler.allowed-failures`` times, 3 by default); a partition
write is idempotent, so a re-run partition replaces its own file. Past the limit the
run stops with :class:`~urbangrid.errors.ScaleJobError` and removes its temporary files.

With a remote cluster, ``out`` must be on storage both this machine and the workers
see (a shared file system), and input paths must be readable by the workers.
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import json
import lzma
import math
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from urbangrid.errors import CRSError, DataFileError, ScaleJobError, UrbangridError
from urbangrid.scale._dask import Progress, SchedulerLike, open_client, ship, task_key
from urbangrid.spatial.crs.transform import CRSLike, crs_to_string, normalize_crs
from urbangrid.spatial.index.engine import GridIndex, set_kernel_threads

__all__ = ["AssignResult", "ParquetSink", "assign_points"]

DEFAULT_PARTITION_ROWS = 500_000
"""Rows per partition: about 100 MB of pandas memory for a 311-style table."""

_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zst", ".txt", ".tsv")
_MANIFEST = "_urbangrid.json"
_PANDAS_KEY_TYPES = {pa.string(): pd.StringDtype(), pa.int64(): pd.Int64Dtype()}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class AssignResult:
    """What :func:`assign_points` did.

    Attributes
    ----------
    out : str or None
        The Parquet dataset directory or ``postgresql://…/table`` written, or None when
        the rows were returned in :attr:`frame`.
    frame : pandas.DataFrame or None
        The assigned rows, for ``out=None`` (small inputs only).
    rows : int
        Input rows.
    assigned : int
        Rows inside a polygon (key not null).
    invalid : int
        Rows whose coordinates were not numbers, nulled under ``on_invalid="null"``.
    partitions : int
        Partitions processed.
    workers : int
        Dask workers used; 0 for a single-process run.
    seconds : float
        Wall time.
    """

    out: str | None
    frame: pd.DataFrame | None
    rows: int
    assigned: int
    invalid: int
    partitions: int
    workers: int
    seconds: float

    @property
    def points_per_s(self) -> float:
        """Throughput, input rows per second of wall time."""
        return self.rows / self.seconds if self.seconds > 0 else math.inf


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class _Part:
    """One partition: where its rows are and how to read them (on a worker)."""

    i: int
    start: int | None  # input row of its first row; None when unknown (Dask input)
    how: str  # "data" (rows shipped with the task), "parquet" or "ogr"
    path: str = ""
    groups: tuple[int, ...] = ()
    layer: str | None = None
    skip: int = 0
    count: int = 0


@dataclass(frozen=True)
class _Spec:
    """Everything a worker needs besides the index and the rows; small and picklable."""

    source: str
    x: str | None
    y: str | None
    crs: str
    column: str
    columns: tuple[str, ...] | None
    snap_tolerance_m: float
    on_invalid: str
    geo: bool
    key_type: str  # "string" | "int64"
    transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    kernel_threads: int | None = None


def _kind(source: Any) -> str:
    if isinstance(source, pd.DataFrame):
        return "frame"
    if hasattr(source, "to_delayed") and hasattr(source, "npartitions"):
        return "dask"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = path.name.lower()
        if path.is_dir() or name.endswith((".parquet", ".pq", ".geoparquet")):
            return "parquet"
        if name.endswith(_CSV_SUFFIXES):
            return "csv"
        return "ogr"
    raise DataFileError(
        f"cannot assign a {type(source).__name__}: give a CSV/Parquet/GeoPackage path, "
        "a pandas (Geo)DataFrame or a Dask (Geo)DataFrame"
    )


def _parquet_files(path: Path) -> list[Path]:
    if not path.exists():
        raise DataFileError(f"{path}: no such file or directory")
    if path.is_file():
        return [path]
    files = sorted(
        p for p in path.rglob("*.parquet") if not p.name.startswith(("_", "."))
    )
    if not files:
        raise DataFileError(f"{path}: directory holds no .parquet file")
    return files


def _parquet_parts(path: Path, partition_rows: int) -> tuple[list[_Part], pa.Schema]:
    parts: list[_Part] = []
    schema: pa.Schema | None = None
    start = 0
    for f in _parquet_files(path):
        try:
            meta = pq.ParquetFile(f).metadata
            file_schema = pq.read_schema(f)
        except (OSError, pa.ArrowInvalid) as exc:
            raise DataFileError(f"{f}: not a readable Parquet file ({exc})") from None
        if schema is None:
            schema = file_schema
        elif not file_schema.equals(schema, check_metadata=False):
            raise DataFileError(
                f"{f}: its columns differ from {_parquet_files(path)[0].name}'s; every file "
                "of a Parquet dataset must have one schema"
            )
        group: list[int] = []
        rows = 0
        for g in range(meta.num_row_groups):
            n = meta.row_group(g).num_rows
            if group and rows + n > partition_rows:
                parts.append(_Part(len(parts), start, "parquet", str(f), tuple(group)))
                start += rows
                group, rows = [], 0
            group.append(g)
            rows += n
        if group:
            parts.append(_Part(len(parts), start, "parquet", str(f), tuple(group)))
            start += rows
    assert schema is not None
    return parts, schema


def _open_text(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """(raw file, decompressed stream); the raw file's position measures progress."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    name = path.name.lower()
    stream: IO[bytes]
    if name.endswith(".gz"):
        stream = gzip.GzipFile(fileobj=raw)  # type: ignore[assignment]  # an IO[bytes]
    elif name.endswith(".bz2"):
        stream = bz2.BZ2File(raw)
    elif name.endswith(".xz"):
        stream = lzma.LZMAFile(raw)  # noqa: SIM115 - closed by the caller
    elif name.endswith(".zst"):
        import zstandard

        stream = zstandard.ZstdDecompressor().stream_reader(raw)
    else:
        stream = raw
    return raw, stream


def _csv_chunks(
    path: Path, partition_rows: int, usecols: Sequence[str] | None
) -> Iterator[tuple[_Part, pd.DataFrame, float]]:
    size = max(path.stat().st_size, 1)
    raw, stream = _open_text(path)
    try:
        # Every column as text: partitions then share one schema whatever their values,
        # and codes like 0306 keep their zeros. Only empty fields are missing values.
        reader = pd.read_csv(
            stream, dtype=str, chunksize=partition_rows, keep_default_na=False,
            na_values=[""], usecols=usecols,
        )
        start = 0
        for i, chunk in enumerate(reader):
            chunk.index = pd.RangeIndex(start, start + len(chunk))
            yield _Part(i, start, "data"), chunk, raw.tell() / size
            start += len(chunk)
    except (UnicodeDecodeError, pd.errors.ParserError, OSError, EOFError) as exc:
        raise DataFileError(f"{path}: cannot read as CSV near row {start + 1}: {exc}") from None
    finally:
        stream.close()
        raw.close()


def _ogr_parts(path: Path, layer: str | None, partition_rows: int) -> list[_Part]:
    import pyogrio

    try:
        info = pyogrio.read_info(path, layer=layer, force_feature_count=True)
    except Exception as exc:  # pyogrio raises its own DataSourceError / DataLayerError
        raise DataFileError(f"{path}: not a readable vector file ({exc})") from None
    n = int(info["features"])
    return [
        _Part(i, s, "ogr", str(path), layer=layer, skip=s, count=min(partition_rows, n - s))
        for i, s in enumerate(range(0, n, partition_rows))
    ]


# --------------------------------------------------------------------------- sinks


class ParquetSink:
    """Parquet dataset output written under a temporary name, renamed when complete.

    Parameters
    ----------
    path : str or Path
        The dataset directory to create.
    overwrite : bool
        Replace an existing dataset at ``path`` (only once the new one is complete).

    Raises
    ------
    DataFileError
        ``path`` exists and ``overwrite`` is False.
    """

    def __init__(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        self.path = Path(path).absolute()
        if self.path.exists() and not overwrite:
            raise DataFileError(f"{self.path}: already exists; pass overwrite=True to replace it")
        self.overwrite = overwrite
        self.tmp = self.path.with_name(f".{self.path.name}.partial-{uuid.uuid4().hex[:8]}")

    @property
    def target(self) -> str:
        """The final location, for messages and :attr:`AssignResult.out`."""
        return str(self.path)

    def open(self) -> None:
        """Create the temporary directory (client side, before any partition)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir()

    def write(self, table: Any, i: int) -> None:
        """Write partition ``i`` (worker side); idempotent, so a re-run replaces it."""
        final = self.tmp / f"part.{i:05d}.parquet"
        part = self.tmp / f".part.{i:05d}.{uuid.uuid4().hex[:8]}"
        if isinstance(table, pa.Table):
            pq.write_table(table, part)
        else:
            table.to_parquet(part, index=False)  # GeoDataFrame: GeoParquet metadata
        os.replace(part, final)

    def commit(self, manifest: dict[str, Any]) -> None:
        """Rename the complete dataset into place (client side, after every partition)."""
        for junk in self.tmp.glob(".part.*"):  # attempts cut short by a dying worker
            junk.unlink()
        (self.tmp / _MANIFEST).write_text(json.dumps(manifest, indent=1, default=str))
        old = None
        if self.path.exists():
            old = self.path.with_name(f".{self.path.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(self.path, old)
        os.replace(self.tmp, self.path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        """Remove the temporary directory: nothing is left behind."""
        shutil.rmtree(self.tmp, ignore_errors=True)


class _MemorySink:
    """Rows kept in memory, for ``out=None``: the partition frames are returned."""

    target = None

    def open(self) -> None:
        pass

    def write(self, table: Any, i: int) -> None:
        pass

    def commit(self, manifest: dict[str, Any]) -> None:
        pass

    def abort(self) -> None:
        pass


# --------------------------------------------------------------------------- workers


def _read(part: _Part, spec: _Spec) -> Any:
    if part.how == "parquet":
        cols = None if spec.columns is None else list(spec.columns)
        return pq.ParquetFile(part.path).read_row_groups(list(part.groups), columns=cols)
    if part.how == "ogr":
        import pyogrio

        cols = None if spec.columns is None else [c for c in spec.columns if c != "geometry"]
        return pyogrio.read_dataframe(
            part.path, layer=part.layer, skip_features=part.skip, max_features=part.count,
            columns=cols,
        )
    raise AssertionError(part.how)


def _where(part: _Part, j: int) -> str:
    if part.start is not None:
        return f"row {part.start + j + 1}"
    return f"partition {part.i} row {j + 1}"


def _coordinates(data: Any, spec: _Spec, part: _Part) -> tuple[np.ndarray, np.ndarray, int]:
    """x, y as float64 (NaN where missing) and the count of unparseable values nulled."""
    if spec.x is None:
        import shapely

        geoms = np.asarray(data.geometry.values, dtype=object)
        types = shapely.get_type_id(geoms)
        bad = np.flatnonzero((types != 0) & (types != -1) & ~shapely.is_empty(geoms))
        if bad.size and spec.on_invalid == "raise":
            j = int(bad[0])
            raise DataFileError(
                f"{spec.source}: {_where(part, j)} field 'geometry': a "
                f"{geoms[j].geom_type} is not a point ({bad.size} such rows in this "
                "partition); pass on_invalid='null' (--on-invalid null) to leave them unassigned"
            )
        # GEOS refuses getX on an empty point (a GeoPackage stores a NaN point as
        # empty): only plain, non-empty points are read; the rest stay NaN (no place).
        xs = np.full(len(geoms), np.nan)
        ys = np.full(len(geoms), np.nan)
        ok = (types == 0) & ~shapely.is_empty(geoms)
        xs[ok] = shapely.get_x(geoms[ok])
        ys[ok] = shapely.get_y(geoms[ok])
        return xs, ys, int(bad.size)
    out: list[np.ndarray] = []
    nulled = np.zeros(len(data), dtype=bool)
    for name in (spec.x, spec.y):
        if isinstance(data, pa.Table):
            col = data.column(name)
            if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
                out.append(col.to_numpy(zero_copy_only=False).astype(np.float64))
                continue
            values = col.to_pandas()
        else:
            values = data[name]
            if values.dtype.kind in "fiu":
                out.append(values.to_numpy(dtype=np.float64, na_value=np.nan))
                continue
        num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        text = values.astype("string").str.strip()
        bad = np.isnan(num) & text.notna().to_numpy() & (text != "").fillna(False).to_numpy()
        if bad.any() and spec.on_invalid == "raise":
            j = int(np.flatnonzero(bad)[0])
            raise DataFileError(
                f"{spec.source}: {_where(part, j)} field {name!r}: value "
                f"{values.iloc[j]!r} is not a number ({int(bad.sum())} such rows in this "
                "partition); fix the file or pass on_invalid='null' (--on-invalid null) to leave "
                "them unassigned"
            )
        nulled |= bad
        out.append(num)
    return out[0], out[1], int(nulled.sum())


def _run_part(
    part: _Part, data: Any, index: GridIndex, spec: _Spec, sink: Any
) -> dict[str, Any]:
    """Read (unless shipped), assign and write one partition; returns its counts."""
    if spec.kernel_threads is not None:
        # one Dask thread per core already: the index's own threads would oversubscribe
        set_kernel_threads(spec.kernel_threads)
    if data is None:
        data = _read(part, spec)
    elif hasattr(data, "compute"):  # a Dask partition in the single-process path
        data = data.compute(scheduler="sync")
    if spec.transform is not None:
        if isinstance(data, pa.Table):
            data = data.to_pandas()
        data = spec.transform(data)
    if spec.columns is not None and not isinstance(data, pa.Table):
        keep = [c for c in spec.columns if c in data.columns]
        if spec.geo and data.geometry.name not in keep:
            keep.append(data.geometry.name)
        data = data[keep]
    xs, ys, invalid = _coordinates(data, spec, part)
    try:
        pos = index.locate_many(xs, ys, crs=spec.crs, snap_tolerance_m=spec.snap_tolerance_m)
    except (CRSError, UrbangridError) as exc:
        where = f"rows {part.start}.." if part.start is not None else f"partition {part.i}"
        raise type(exc)(f"{spec.source}: {where}: {exc}") from None
    keys = _keys(index, pos, spec.key_type)
    if isinstance(data, pa.Table):
        out: Any = data.append_column(spec.column, keys)
    else:
        out = data.copy() if spec.transform is None else data
        out[spec.column] = keys.to_pandas(types_mapper=_PANDAS_KEY_TYPES.get).to_numpy()
        out[spec.column] = out[spec.column].astype(
            "string" if spec.key_type == "string" else "Int64")
        if not spec.geo:
            out = pa.Table.from_pandas(out, preserve_index=False)
    sink.write(out, part.i)
    stats = {"i": part.i, "rows": len(pos), "assigned": int((pos >= 0).sum()),
             "invalid": invalid}
    if isinstance(sink, _MemorySink):
        stats["frame"] = out.to_pandas() if isinstance(out, pa.Table) else out
    return stats


def _keys(index: GridIndex, pos: np.ndarray, key_type: str) -> pa.Array:
    miss = pos < 0
    if index.keys is None:
        return pa.array(pos, type=pa.int64(), mask=miss)
    picked = index.keys[np.where(miss, 0, pos)]
    if key_type == "string":
        return pa.array(picked.astype(str), type=pa.string(), mask=miss)
    return pa.array(picked.astype(np.int64), type=pa.int64(), mask=miss)


# --------------------------------------------------------------------------- driver


def assign_points(
    source: Any,
    index: GridIndex,
    *,
    out: str | os.PathLike[str] | Any | None = None,
    xy: tuple[str, str] | None = None,
    crs: CRSLike | None = None,
    column: str = "grid_key",
    columns: Sequence[str] | None = None,
    layer: str | None = None,
    snap_tolerance_m: float = 0.0,
    on_invalid: Literal["raise", "null"] = "raise",
    partition_rows: int = DEFAULT_PARTITION_ROWS,
    scheduler: SchedulerLike | None = None,
    workers: int | None = None,
    transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> AssignResult:
    """Assign every point of ``source`` to the polygon of ``index`` covering it.

    Parameters
    ----------
    source : path, pandas.DataFrame, GeoDataFrame or Dask (Geo)DataFrame
        A CSV file (plain or compressed), a Parquet file or directory, a GeoPackage
        (or any GDAL vector file) of points, or a frame. See the module docstring for
        how each is partitioned.
    index : GridIndex
        The polygons (unit grids, work grids, wards …) and their keys.
    out : path, PostGISSink or None
        A Parquet dataset directory to create, a
        :class:`~urbangrid.scale.postgis.PostGISSink`, or None to return the rows as a
        DataFrame (small inputs only: they are then all held in memory).
    xy : (str, str), optional
        Names of the x and y columns (longitude and latitude for a geographic ``crs``).
        Required for CSV and Parquet; omit for inputs with point geometry.
    crs : str, int or pyproj.CRS, optional
        CRS of the coordinates (``"EPSG:4326"``, ``"GCJ-02"``, ``"BD-09"`` …),
        transformed to the index CRS when different. Required with ``xy``; geometry
        inputs default to their own CRS.
    column : str
        Name of the appended column: the key of the covering polygon (its position
        when the index has no keys), null where no polygon covers the point or the
        coordinates are missing.
    columns : sequence of str, optional
        Input columns to keep (default all); the coordinate columns must be among them.
    layer : str, optional
        Layer of a multi-layer GeoPackage.
    snap_tolerance_m : float
        Points outside every polygon but this many metres from one get the nearest
        (the index CRS must then be projected); 0 turns snapping off.
    on_invalid : {"raise", "null"}
        Coordinates that are not numbers (or geometries that are not points): raise
        :class:`~urbangrid.errors.DataFileError` naming the file, row, field and value
        (nothing is written), or leave those rows unassigned and count them.
    partition_rows : int
        Rows per partition; memory per worker thread is about one partition.
    scheduler : None, "local", str or distributed.Client
        None runs in this process without Dask; ``"local"`` starts a local cluster of
        ``workers`` processes for this call; a scheduler address or a ``Client`` runs
        on that cluster.
    workers : int, optional
        Worker processes of a ``"local"`` cluster (default one per core).
    transform : callable, optional
        ``frame -> frame`` applied to each partition before assignment (e.g. to parse
        or filter columns); it must keep the row count and the coordinate columns,
        and be picklable for Dask runs.
    overwrite : bool
        Replace an existing output once the new one is complete.
    progress : bool
        Draw a progress bar on stderr.

    Returns
    -------
    AssignResult

    Raises
    ------
    DataFileError
        Unreadable input, missing coordinate columns, a coordinate that is not a
        number (``on_invalid="raise"``), or an existing ``out``.
    CRSError
        No ``crs`` for a tabular input, or the points are obviously in another CRS.
    ScaleJobError
        A worker died more often than the scheduler retries, or the cluster is
        unreachable. No output is left behind.

    See Also
    --------
    urbangrid.spatial.index.engine.GridIndex.locate_many : the in-memory kernel used per partition.
    urbangrid.scale.postgis.PostGISSink : write to a PostGIS table by COPY instead.

    Examples
    --------
    >>> import shapely
    >>> idx = GridIndex.from_polygons([shapely.box(0, 0, 10, 10)], ["A"], crs=4547)
    >>> df = pd.DataFrame({"x": [5.0, 50.0], "y": [5.0, 5.0]})
    >>> assign_points(df, idx, xy=("x", "y"), crs=4547).frame["grid_key"].tolist()
    ['A', <NA>]
    """
    t0 = time.perf_counter()
    if on_invalid not in ("raise", "null"):
        raise ValueError(f"on_invalid must be 'raise' or 'null', not {on_invalid!r}")
    if partition_rows < 1:
        raise ValueError(f"partition_rows must be >= 1, not {partition_rows}")
    if not isinstance(index, GridIndex):
        raise TypeError(f"index must be a GridIndex, not {type(index).__name__}")
    kind = _kind(source)
    name = str(source) if kind in ("csv", "parquet", "ogr") else f"<{type(source).__name__}>"
    spec, parts, feed = _plan(source, kind, name, index, xy=xy, crs=crs, column=column,
                              columns=columns, layer=layer, snap_tolerance_m=snap_tolerance_m,
                              on_invalid=on_invalid, partition_rows=partition_rows,
                              transform=transform)
    sink: Any
    if out is None:
        sink = _MemorySink()
    elif hasattr(out, "write") and hasattr(out, "commit"):
        sink = out
    else:
        sink = ParquetSink(out, overwrite=overwrite)
    bar = Progress(f"assign {Path(name).name}", None if parts is None else len(parts), progress)
    sink.open()
    try:
        if scheduler is None:
            results, nworkers = [_run_part(p, d, index, spec, sink) for p, d in feed(bar)], 0
        else:
            with open_client(scheduler, workers) as client:
                nworkers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
                results = _run_cluster(client, feed, index, replace(spec, kernel_threads=1),
                                       sink, bar, name)
        results.sort(key=lambda r: r["i"])
        totals = {k: sum(r[k] for r in results) for k in ("rows", "assigned", "invalid")}
        sink.commit(_manifest(name, totals, len(results), index, spec))
    except BaseException:
        sink.abort()
        raise
    finally:
        bar.close()
    frame = None
    if isinstance(sink, _MemorySink):
        frames = [r["frame"] for r in results]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return AssignResult(sink.target, frame, totals["rows"], totals["assigned"],
                        totals["invalid"], len(results), nworkers, time.perf_counter() - t0)


def _manifest(
    name: str, totals: dict[str, int], partitions: int, index: GridIndex, spec: _Spec
) -> dict[str, Any]:
    """What ``_urbangrid.json`` records of a run."""
    return {
        "source": name, **totals, "partitions": partitions, "column": spec.column,
        "index_crs": index.crs, "grid_version": index.grid_version, "polygons": len(index),
        "points_crs": spec.crs, "written": dt.datetime.now(dt.UTC).isoformat(),
    }


Feed = Callable[[Progress], Iterator[tuple[_Part, Any]]]


@dataclass(frozen=True)
class _Header:
    """What the input says about itself before any row is read."""

    names: list[str]  # its columns
    geo: bool  # points come from a geometry column
    geo_crs: Any  # the geometry's CRS, None when unknown
    parquet_parts: list[_Part] | None = None  # Parquet: the partitions, from its metadata


def _plan(
    source: Any, kind: str, name: str, index: GridIndex, *, xy: tuple[str, str] | None,
    crs: CRSLike | None, column: str, columns: Sequence[str] | None, layer: str | None,
    snap_tolerance_m: float, on_invalid: str, partition_rows: int,
    transform: Callable[[pd.DataFrame], pd.DataFrame] | None,
) -> tuple[_Spec, list[_Part] | None, Feed]:
    """The worker spec, the partitions (None when only known while reading) and a feed."""
    head = _header(source, kind, name, xy, layer, partition_rows)
    _check_columns(name, head, xy, columns, column, transform)
    key_type = "int64"
    if index.keys is not None and index.keys.dtype.kind not in "iu":
        key_type = "string"
    spec = _Spec(
        source=name, x=None if xy is None else xy[0], y=None if xy is None else xy[1],
        crs=_points_crs(name, crs, head.geo_crs), column=column,
        columns=None if columns is None else tuple(columns), snap_tolerance_m=snap_tolerance_m,
        on_invalid=on_invalid, geo=head.geo, key_type=key_type, transform=transform,
    )
    parts, feed = _feed(source, kind, head, layer, columns, partition_rows)
    return spec, parts, feed


def _header(
    source: Any, kind: str, name: str, xy: tuple[str, str] | None, layer: str | None,
    partition_rows: int,
) -> _Header:
    """Columns, geometry and CRS of the input, read from its header or metadata."""
    if kind == "csv":
        path = Path(source)
        if not path.is_file():
            raise DataFileError(f"{path}: no such file")
        raw, stream = _open_text(path)
        try:
            names = list(pd.read_csv(stream, nrows=0).columns)
        except pd.errors.EmptyDataError:
            raise DataFileError(f"{path}: the file is empty; it needs a header line naming "
                                "the coordinate columns (--x, --y)") from None
        except (UnicodeDecodeError, pd.errors.ParserError, OSError, EOFError) as exc:
            raise DataFileError(f"{path}: cannot read the CSV header: {exc}") from None
        finally:
            stream.close()
            raw.close()
        return _Header(names, False, None)
    if kind == "parquet":
        pq_parts, schema = _parquet_parts(Path(source), partition_rows)
        if b"geo" in (schema.metadata or {}) and xy is None:
            raise DataFileError(
                f"{name}: GeoParquet input needs xy= columns; read it with "
                "dask_geopandas.read_parquet and pass the frame to assign points by geometry"
            )
        return _Header(list(schema.names), False, None, pq_parts)
    if kind == "ogr":
        import pyogrio

        try:
            info = pyogrio.read_info(source, layer=layer)
        except Exception as exc:  # pyogrio's DataSourceError / DataLayerError
            raise DataFileError(f"{name}: not a readable vector file ({exc})") from None
        geo = info["geometry_type"] is not None and xy is None
        return _Header([*info["fields"], "geometry"], geo, info["crs"])
    meta = source._meta if kind == "dask" else source
    geo = hasattr(meta, "geometry") and xy is None and _has_geometry(meta)
    return _Header(list(meta.columns), geo, getattr(meta, "crs", None) if geo else None)


def _check_columns(
    name: str, head: _Header, xy: tuple[str, str] | None, columns: Sequence[str] | None,
    column: str, transform: Callable[[pd.DataFrame], pd.DataFrame] | None,
) -> None:
    """Raise DataFileError unless the coordinates, kept columns and new column fit."""
    names = head.names
    if xy is None and not head.geo:
        raise DataFileError(f"{name}: no point geometry; pass xy=(x_column, y_column)")
    if xy is not None:
        missing = [c for c in xy if c not in names]
        if missing and transform is None:
            raise DataFileError(
                f"{name}: no column(s) {missing} for the coordinates; columns are {names[:20]}"
            )
        if columns is not None and not set(xy) <= set(columns):
            raise DataFileError(f"columns={list(columns)} must include the xy columns {xy}")
    if columns is not None:
        unknown = [c for c in columns if c not in names]
        if unknown and transform is None:
            raise DataFileError(f"{name}: no column(s) {unknown}; columns are {names[:20]}")
    if column in names:
        raise DataFileError(
            f"{name}: already has a column {column!r}; choose another column= name (--column)"
        )


def _points_crs(name: str, crs: CRSLike | None, geo_crs: Any) -> str:
    """The points' CRS as a string: ``crs``, else the geometry's; both must agree."""
    if crs is None:
        if geo_crs is None:
            raise CRSError(
                f"{name}: say which CRS the coordinates are in: --crs EPSG:4326 (WGS84 "
                "longitude/latitude), --crs GCJ-02 (Amap/Tencent) …; crs= in Python"
            )
        crs = geo_crs
    elif geo_crs is not None and crs_to_string(normalize_crs(crs)) != crs_to_string(
        normalize_crs(geo_crs)
    ):
        raise CRSError(f"{name}: crs={crs!r} but the data says {geo_crs}")
    return crs_to_string(normalize_crs(crs))


def _feed(
    source: Any, kind: str, head: _Header, layer: str | None, columns: Sequence[str] | None,
    partition_rows: int,
) -> tuple[list[_Part] | None, Feed]:
    """The partitions (None when only known while reading a CSV) and their feed."""
    if kind == "parquet":
        assert head.parquet_parts is not None  # _header lists them
        return head.parquet_parts, _listed(head.parquet_parts)
    if kind == "ogr":
        parts = _ogr_parts(Path(source), layer, partition_rows)
        return parts, _listed(parts)
    if kind == "csv":
        usecols = None if columns is None else list(columns)

        def feed_csv(bar: Progress) -> Iterator[tuple[_Part, Any]]:
            for part, chunk, frac in _csv_chunks(Path(source), partition_rows, usecols):
                bar.fraction = frac
                yield part, chunk

        return None, feed_csv
    if kind == "frame":
        starts = range(0, len(source), partition_rows)
        parts = [_Part(i, s, "data") for i, s in enumerate(starts)]

        def feed_frame(bar: Progress) -> Iterator[tuple[_Part, Any]]:
            for p, s in zip(parts, starts, strict=True):
                yield p, source.iloc[s : s + partition_rows]

        return parts, feed_frame
    delayed = source.to_delayed()
    parts = [_Part(i, None, "data") for i in range(len(delayed))]

    def feed_dask(bar: Progress) -> Iterator[tuple[_Part, Any]]:
        yield from zip(parts, delayed, strict=True)

    return parts, feed_dask


def _has_geometry(frame: Any) -> bool:
    try:
        frame.geometry  # noqa: B018 - raises without an active geometry column
    except AttributeError:
        return False
    return True


def _listed(parts: list[_Part]) -> Feed:
    def feed(bar: Progress) -> Iterator[tuple[_Part, Any]]:
        for p in parts:
            yield p, None

    return feed


def _run_cluster(
    client: Any, feed: Feed, index: GridIndex, spec: _Spec, sink: Any, bar: Progress,
    name: str,
) -> list[dict[str, Any]]:
    from distributed import as_completed
    from distributed.client import FutureCancelledError

    try:
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover - older distributed
        from distributed import KilledWorker

    threads = sum(client.nthreads().values()) or 1
    limit = 2 * threads
    index_f = ship(client, index, "index")
    run = task_key("assign")
    ac = as_completed()
    parts: dict[str, _Part] = {}
    results: list[dict[str, Any]] = []
    pending: list[Any] = []

    def collect(fut: Any) -> None:
        part = parts.pop(fut.key)
        try:
            res = fut.result()
        except KilledWorker as exc:
            raise ScaleJobError(
                f"{name}: partition {part.i} (rows from {part.start}) killed "
                f"{_allowed_failures()} worker(s) in a row and was given up ({exc}); the run "
                f"was stopped and nothing was written to {sink.target}"
            ) from None
        except (FutureCancelledError, OSError) as exc:
            raise ScaleJobError(
                f"{name}: partition {part.i} was lost ({type(exc).__name__}: {exc}); the "
                f"run was stopped and nothing was written to {sink.target}"
            ) from None
        bar.update(1, res["rows"])
        results.append(res)

    try:
        for part, data in feed(bar):
            if data is not None and not hasattr(data, "dask"):
                while ac.count() >= limit:
                    collect(next(ac))
            if hasattr(data, "dask"):
                data = client.compute(data)
                pending.append(data)
            with warnings.catch_warnings():
                # a shipped CSV chunk is meant to travel with its task
                warnings.filterwarnings("ignore", message=".*[Ll]arge.*", category=UserWarning)
                fut = client.submit(_run_part, part, data, index_f, spec, sink,
                                    key=f"{run}-{part.i}", pure=False)
            parts[fut.key] = part
            ac.add(fut)
        for fut in ac:
            collect(fut)
    except BaseException:
        client.cancel([*ac.futures, index_f, *pending], force=True)
        raise
    client.cancel([index_f, *pending])
    return results


def _allowed_failures() -> int:
    import dask

    return int(dask.config.get("distributed.scheduler.allowed-failures", 3)) + 1
