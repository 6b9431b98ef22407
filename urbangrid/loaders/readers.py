"""Survey file readers (普查数据读取): GeoPackage, Shapefile, GeoJSON, FlatGeobuf, CSV.

One function, :func:`read_survey`, reads any of them through pyogrio (CSV through
pandas) into a :class:`SurveyFile`: the features as a GeoDataFrame indexed by their
1-based record number in the file (so every later message can name the row), plus
what was decided on the way and why — the text encoding
(:mod:`urbangrid.loaders.encoding`), the CRS and where it came from, and the
file's SHA-256 (recorded with each change set).

CRS rules: the file's own CRS is used unless ``crs=`` overrides it (the override
wins and the file's is reported); a CSV carries none, so ``crs=`` is required.
``"GCJ-02"`` and ``"BD-09"`` (Amap/Tencent and Baidu coordinates, which pyproj
does not know) are converted to WGS84 on reading with
:func:`urbangrid.spatial.crs.transform.transform_xy`. Coordinates that cannot be in the CRS
(metres said to be degrees, latitude and longitude swapped) raise
:class:`~urbangrid.errors.CRSMismatchError` naming the file.

Coordinates are kept to 0.1 mm (9 decimals of a degree, 4 decimals of a metre):
that is far below survey accuracy and makes the same survey read from a
GeoPackage, a Shapefile, a GeoJSON or a CSV compare equal, so reloading it in
another format changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from urbangrid.errors import CRSError, CRSMismatchError, DataFileError
from urbangrid.loaders.encoding import (
    EncodingChoice,
    detect_csv_encoding,
    detect_dbf_encoding,
)
from urbangrid.problems import Problem, problem
from urbangrid.spatial.crs.transform import (
    BD09,
    GCJ02,
    CRSLike,
    check_xy,
    crs_to_string,
    normalize_crs,
    transform_xy,
)

__all__ = [
    "COORDINATE_COLUMNS",
    "FORMATS",
    "WKT_COLUMNS",
    "SurveyFile",
    "coordinate_grid",
    "file_sha256",
    "read_survey",
    "round_coordinates",
]

#: File suffix → format name.
FORMATS = {
    ".gpkg": "GeoPackage",
    ".shp": "Shapefile",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".fgb": "FlatGeobuf",
    ".csv": "CSV",
    ".txt": "CSV",
}

#: Coordinate column pairs recognized in CSV files (x = easting / longitude first),
#: compared after case folding and full-width → half-width normalization.
COORDINATE_COLUMNS = (
    ("x", "y"),
    ("lon", "lat"),
    ("lng", "lat"),
    ("long", "lat"),
    ("longitude", "latitude"),
    ("经度", "纬度"),
    ("东坐标", "北坐标"),
    ("东坐标x", "北坐标y"),
    ("easting", "northing"),
    ("point_x", "point_y"),
)
#: Columns recognized as WKT geometry in CSV files.
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape", "几何", "空间信息")

_DEGREE_DECIMALS = 9  # 1e-9 degree ≈ 0.1 mm
_METRE_DECIMALS = 4


def coordinate_grid(geographic: bool) -> float:
    """The step coordinates are rounded to on reading: 1e-9 degree or 1e-4 metre."""
    return 10.0 ** -(_DEGREE_DECIMALS if geographic else _METRE_DECIMALS)


@dataclass
class SurveyFile:
    """A survey file as read, with what was decided on the way.

    Attributes
    ----------
    path : Path
    format : str
        ``"GeoPackage"``, ``"Shapefile"``, ``"GeoJSON"``, ``"FlatGeobuf"`` or ``"CSV"``.
    layer : str or None
        Layer read (multi-layer GeoPackages).
    frame : geopandas.GeoDataFrame
        The features with the file's own field names, indexed by 1-based record
        number; geometries in :attr:`crs`.
    crs : str
        The CRS of ``frame`` (``"EPSG:4326"``, WKT for a local system).
    crs_note : str
        Where the CRS came from ("from the file", "given as crs=; the file said …",
        "GCJ-02 converted to WGS84 (EPSG:4326)").
    encoding : EncodingChoice or None
        For Shapefiles and CSV: the text encoding and the reason.
    sha256 : str
        Hex digest of the file (of every part of a Shapefile).
    problems : list of Problem
        Rows the reader could not fully read (:mod:`urbangrid.problems` records):
        unparseable coordinates or WKT. Their geometry is
        None; validation reports them again and sets them aside or blocks.
    """

    path: Path
    format: str
    layer: str | None
    frame: Any
    crs: str
    crs_note: str
    encoding: EncodingChoice | None
    sha256: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        """File name (with the layer for a multi-layer file), for messages."""
        return self.path.name + (f":{self.layer}" if self.layer else "")

    def summary(self) -> str:
        """One line: rows, format, CRS and encoding decisions."""
        enc = ""
        if self.encoding:
            enc = f"; encoding {self.encoding.encoding} ({self.encoding.reason})"
        return (
            f"{self.name}: {len(self.frame)} rows, {self.format}, CRS {self.crs} "
            f"({self.crs_note}){enc}"
        )


def file_sha256(path: str | PathLike[str]) -> str:
    """SHA-256 of a file; for a Shapefile, of its .shp, .shx, .dbf, .prj and .cpg in turn."""
    p = Path(path)
    parts = [p]
    if p.suffix.lower() == ".shp":
        parts = [
            q for s in (".shp", ".shx", ".dbf", ".prj", ".cpg") if (q := p.with_suffix(s)).exists()
        ]
    h = hashlib.sha256()
    for q in parts:
        with open(q, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def _norm(name: str) -> str:
    return unicodedata.normalize("NFKC", str(name)).strip().lower().replace(" ", "")


def round_coordinates(geoms: np.ndarray, *, geographic: bool) -> np.ndarray:
    """Geometries with coordinates rounded to 0.1 mm.

    Parameters
    ----------
    geoms : array of shapely geometries (None allowed)
    geographic : bool
        True for degrees (rounded to 1e-9 degree), False for metres (1e-4 m).
    """
    decimals = _DEGREE_DECIMALS if geographic else _METRE_DECIMALS
    # Files written by a tool that rounds already (most do) need no new geometries:
    # one look at the coordinates instead of rebuilding every geometry (0.45 s for
    # 316,851 components). shapely.transform would also drop Z, so 3D goes that way.
    if shapely.has_z(geoms).any():
        return shapely.transform(geoms, lambda c: np.round(c, decimals))
    coords = shapely.get_coordinates(geoms)
    rounded = np.round(coords, decimals)
    if np.array_equal(rounded, coords):
        return geoms
    out = np.array(geoms, dtype=object, copy=True)
    return shapely.set_coordinates(out, rounded)


#: The JSON escape of NUL, where GDAL cuts a string (other control characters
#: come through and are reported by validation).
_JSON_NUL = b"\\u0000"


def geojson_control_problems(path: Path) -> list[Problem]:
    """Property values of a GeoJSON file holding a NUL character (``\\u0000``).

    GDAL cuts a string at its first NUL and keeps the rest of the row, so the
    reader would load ``"ab"`` for ``"ab\\u0000cd"`` without a word; the file is
    parsed again (only when such an escape occurs) to name each row and field, as
    CSV rows are named.
    """
    import json

    raw = path.read_bytes()
    if _JSON_NUL not in raw:
        return []
    try:
        features = json.loads(raw.decode("utf-8", errors="replace")).get("features") or []
    except (ValueError, AttributeError):
        return []
    out = []
    for row, feat in enumerate(features, start=1):
        props = feat.get("properties") if isinstance(feat, dict) else None
        for name, value in (props or {}).items():
            if isinstance(value, str) and "\x00" in value:
                why = ("contains control character U+0000 (NUL; GDAL cuts the text "
                       "there); remove it from the file")
                out.append(problem(path.name, row, str(name), value[:200], why))
    return out


def _cut_names_fixed(path: Path, encoding: str | None, folder: Path) -> Path | None:
    """A copy of a Shapefile (in `folder`) whose DBF field names, cut to 10 bytes in
    the middle of a character by the writer (ogr2ogr does, for UTF-8), end at the
    last whole character; None when every name decodes as it is."""
    import shutil

    dbf = path.with_suffix(".dbf")
    if encoding is None or not dbf.exists():
        return None
    data = bytearray(dbf.read_bytes())
    header_len = int.from_bytes(data[8:10], "little")
    changed = False
    pos = 32
    while pos + 32 <= header_len and data[pos] != 0x0D:
        raw = bytes(data[pos : pos + 11]).split(b"\x00", 1)[0]
        try:
            raw.decode(encoding)
        except UnicodeDecodeError:
            fixed = raw.decode(encoding, errors="ignore").encode(encoding)[:10]
            data[pos : pos + 11] = fixed.ljust(11, b"\x00")
            changed = True
        except LookupError:
            return None
        pos += 32
    if not changed:
        return None
    for part in path.parent.glob(path.stem + ".*"):
        if part.suffix.lower() != ".dbf":
            shutil.copyfile(part, folder / part.name)
    (folder / dbf.name).write_bytes(bytes(data))
    return folder / path.name


def _read_vector(path: Path, fmt: str, layer: str | None, encoding: str | None, *,
                 round_in_file_crs: bool = False,
                 ahead: ReadAhead | None = None) -> tuple[Any, bool]:  # fmt: skip
    """The file as a GeoDataFrame, and whether its coordinates are rounded already
    (:func:`round_coordinates` in the file's CRS, asked by `round_in_file_crs`);
    `ahead`: its Arrow read, started earlier."""
    import tempfile

    if fmt == "Shapefile":
        with tempfile.TemporaryDirectory(prefix="urbangrid-shp-") as tmp:
            fixed = _cut_names_fixed(path, encoding, Path(tmp))
            if fixed is not None:
                return _read_with_pyogrio(fixed, fmt, layer, encoding), False
    if round_in_file_crs and encoding is None and fmt != "Shapefile" and _has_arrow():
        frame = _read_arrow_rounded(path, fmt, layer, ahead)
        if frame is not None:
            return frame, True
    return _read_with_pyogrio(path, fmt, layer, encoding), False


@dataclass(frozen=True)
class ReadAhead:
    """A ``pyogrio.read_arrow(path, layer=layer, datetime_as_string=True)`` under way
    in a thread, for a :func:`read_survey` of the same file (``read_ahead=``): GDAL
    reads without holding the GIL, so ``urbangrid load`` starts it before it
    imports the loader and opens the store (~0.3 s of a 316,851-row load).
    Whatever went wrong in the thread is left to the usual read to say."""

    path: Path
    layer: str | None
    result: Any  # concurrent.futures.Future of (meta, table)

    def table(self, path: Path, layer: str | None) -> Any:
        """(meta, table) when this read is of `path` and `layer` and went well, else None."""
        if self.layer != layer or self.path.resolve() != path.resolve():
            return None
        try:
            return self.result.result()
        except Exception:  # the usual read says what is wrong
            return None


def _read_arrow_rounded(path: Path, fmt: str, layer: str | None,
                        ahead: ReadAhead | None = None) -> Any:  # fmt: skip
    """The file through Arrow as :func:`pyogrio.read_dataframe` reads it, its
    coordinates rounded (:func:`round_coordinates`, the file's CRS) in the WKB
    before the geometries are made: 2D points and lines by numpy on the bytes,
    others by shapely after. One set of geometries instead of two (316,851
    components: ~0.4 s). None where that reader would change the columns
    (date-times, JSON fields, an older pyarrow) or there is no geometry or CRS:
    the caller reads the usual way."""
    import pyarrow as pa
    import pyogrio

    if int(pa.__version__.split(".")[0]) < 19:
        return None  # pyogrio maps the string types itself then
    read = None if ahead is None else ahead.table(path, layer)
    if read is None:
        try:
            read = pyogrio.read_arrow(path, layer=layer, datetime_as_string=True)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise DataFileError(f"{path}: cannot read as {fmt}: {exc}") from exc
    meta, table = read
    name = meta.get("geometry_name") or "wkb_geometry"
    dtypes = [d for d in meta["dtypes"] if d is not None and d.startswith("datetime")]
    binary = name in table.column_names and (
        pa.types.is_binary(table.column(name).type)
        or pa.types.is_large_binary(table.column(name).type)
    )
    if (
        meta.get("crs") is None
        or not binary
        or any(d != "datetime64[D]" for d in dtypes)
        or "OFSTJSON" in list(meta.get("ogr_subtypes", []))
    ):
        return None
    import geopandas as gpd
    import pyproj

    geographic = bool(pyproj.CRS.from_user_input(meta["crs"]).is_geographic)
    decimals = _DEGREE_DECIMALS if geographic else _METRE_DECIMALS
    wkb, done = round_wkb(table.column(name), decimals)
    df = table.drop_columns([name]).to_pandas(self_destruct=True)
    del table
    try:
        geoms = shapely.from_wkb(wkb)
    except shapely.errors.GEOSException:
        # A geometry GEOS cannot parse: keep the row, flag it (as read_dataframe would).
        geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    if not done.all():
        rest = np.flatnonzero(~done)
        geoms[rest] = round_coordinates(geoms[rest], geographic=geographic)
    df["geometry"] = geoms
    return gpd.GeoDataFrame(df, geometry="geometry", crs=meta["crs"])


def round_wkb(column: Any, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """WKB values (an Arrow binary column) with the coordinates of each 2D
    little-endian point and line string rounded to `decimals`, and the mask of
    those done (others, and nulls, are left as they are).

    The doubles sit unaligned in the bytes: they are gathered eight bytes each,
    rounded as one float array and put back. Returns an object array of bytes
    (None for nulls), as :func:`shapely.from_wkb` takes them.
    """
    import pyarrow as pa

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    values, done = [], []
    for chunk in chunks:
        v, d = _round_wkb_chunk(chunk, decimals)
        values.append(v)
        done.append(d)
    if not values:
        return np.empty(0, dtype=object), np.zeros(0, dtype=bool)
    return np.concatenate(values), np.concatenate(done)


def _round_wkb_chunk(chunk: Any, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    import pyarrow as pa

    n = len(chunk)
    if n == 0:
        return np.empty(0, dtype=object), np.zeros(0, dtype=bool)
    wide = pa.types.is_large_binary(chunk.type)
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if wide else np.int32)
    offsets = offsets[chunk.offset : chunk.offset + n + 1].astype(np.int64)
    data = np.frombuffer(chunk.buffers()[2] or b"", dtype=np.uint8).copy()
    start, size = offsets[:-1], np.diff(offsets)
    valid = chunk.is_valid().to_numpy(zero_copy_only=False) & (size >= 9)
    head = np.zeros((n, 9), dtype=np.uint8)  # byte order, type, first count
    at = np.flatnonzero(valid)
    head[at] = data[np.add.outer(start[at], np.arange(9))]
    kind = head[:, 1:5].copy().view("<u4")[:, 0]
    little = head[:, 0] == 1
    count = head[:, 5:9].copy().view("<u4")[:, 0].astype(np.int64)
    point = valid & little & (kind == 1) & (size == 21)
    line = valid & little & (kind == 2) & (size == 9 + 16 * count)
    done = point | line
    first = np.where(point, start + 5, start + 9)[done]  # first byte of the first double
    doubles = np.where(point, 2, 2 * count)[done]
    if doubles.sum():
        before = np.concatenate([[0], np.cumsum(doubles)[:-1]])
        pos = np.repeat(first - 8 * before, doubles) + 8 * np.arange(int(doubles.sum()))
        byte = pos[:, None] + np.arange(8)
        xy = data[byte].view("<f8")
        data[byte] = np.round(xy, decimals).view(np.uint8)
    rounded = pa.Array.from_buffers(
        chunk.type, n, [chunk.buffers()[0], chunk.buffers()[1], pa.py_buffer(data)],
        offset=chunk.offset,
    )  # fmt: skip
    return rounded.to_numpy(zero_copy_only=False), done


def _read_with_pyogrio(path: Path, fmt: str, layer: str | None, encoding: str | None) -> Any:
    import pyogrio

    kwargs: dict[str, Any] = {}
    if encoding is not None:
        kwargs["encoding"] = encoding
    elif fmt != "Shapefile" and _has_arrow():
        # Through Arrow: half the time of the row-by-row path (316,851 features:
        # 1.0 s instead of 2.1 s), the same columns and dtypes. Shapefiles stay on
        # the other path, where the encoding decided for the .dbf is applied.
        kwargs["use_arrow"] = True
    try:
        return pyogrio.read_dataframe(path, layer=layer, **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise DataFileError(f"{path}: cannot read as {fmt}: {exc}") from exc
    except shapely.errors.GEOSException:
        # A geometry GDAL hands over that GEOS cannot parse: keep the row, flag it.
        return pyogrio.read_dataframe(path, layer=layer, on_invalid="ignore", **kwargs)


def _has_arrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _pick_layer(path: Path, layer: str | None) -> str | None:
    import pyogrio

    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(path)]
    except pyogrio.errors.DataSourceError as exc:
        raise DataFileError(f"{path}: cannot open as a GeoPackage: {exc}") from exc
    if layer is not None:
        if layer not in layers:
            raise DataFileError(f"{path}: no layer {layer!r}; layers are {layers}")
        return layer
    if len(layers) == 1:
        return None
    raise DataFileError(f"{path}: {len(layers)} layers {layers}; give --layer (layer=) to pick one")


def _find_pair(columns: list[str], x: str | None, y: str | None) -> tuple[str, str] | None:
    if x is not None or y is not None:
        if x is None or y is None:
            raise DataFileError("give both x= and y= coordinate column names, or neither")
        for c in (x, y):
            if c not in columns:
                raise DataFileError(f"no coordinate column {c!r}; columns are {columns}")
        return x, y
    normed = {_norm(c): c for c in columns}
    for cx, cy in COORDINATE_COLUMNS:
        if cx in normed and cy in normed:
            return normed[cx], normed[cy]
    return None


def _number(text: Any) -> float | None:
    if text is None:
        return None
    s = unicodedata.normalize("NFKC", str(text)).strip()
    if not s:
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    return v if np.isfinite(v) else None


def _read_csv(
    path: Path, encoding: EncodingChoice, x: str | None, y: str | None
) -> tuple[Any, list[Problem]]:
    import geopandas as gpd

    try:
        table = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding=encoding.encoding,
            sep=None,
            engine="python",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise DataFileError(f"{path}: not a readable CSV file: {exc}") from exc
    table.columns = [str(c).strip() for c in table.columns]
    table.index = pd.RangeIndex(1, len(table) + 1)
    columns = list(table.columns)
    problems: list[Problem] = []
    pair = _find_pair(columns, x, y)
    geoms = np.full(len(table), None, dtype=object)
    if pair is not None:
        xs = table[pair[0]].map(_number)
        ys = table[pair[1]].map(_number)
        ok = xs.notna() & ys.notna()
        geoms[ok.to_numpy()] = shapely.points(
            xs[ok].to_numpy(dtype=float), ys[ok].to_numpy(dtype=float)
        )
        for row in table.index[~ok.to_numpy()]:
            bad = pair[0] if pd.isna(xs[row]) else pair[1]
            problems.append(
                problem(path.name, int(row), bad, table.at[row, bad], "coordinate is not a number")
            )
        table = table.drop(columns=list(pair))
    else:
        wkt_col = next((c for c in columns if _norm(c) in WKT_COLUMNS), None)
        if wkt_col is None:
            raise DataFileError(
                f"{path}: no coordinate columns (x/y, lon/lat, 经度/纬度, 东坐标/北坐标 …) and no "
                f"WKT column; columns are {columns}; rename the coordinate columns "
                "经度/纬度, lon/lat or x/y (or pass x=, y=)"
            )
        texts = table[wkt_col].astype(str).to_numpy(dtype=object)
        given = np.array([bool(t.strip()) for t in texts], dtype=bool)
        # One vectorized parse; only the rows it rejects are parsed again for GEOS's reason.
        with np.errstate(over="ignore", invalid="ignore"):  # 1e400 → inf: flagged later
            geoms[given] = shapely.from_wkt(texts[given], on_invalid="ignore")
        for i in np.flatnonzero(given & shapely.is_missing(geoms)):
            text = str(texts[i])
            try:
                with np.errstate(over="ignore", invalid="ignore"):
                    geoms[i] = shapely.from_wkt(text)
                continue
            except (shapely.errors.GEOSException, ValueError) as exc:
                # GEOS's own message can be undecodable for long non-ASCII text.
                why = str(exc)[:200] if not isinstance(exc, UnicodeError) else "not ASCII"
            problems.append(
                problem(path.name, int(table.index[i]), wkt_col, text[:200], f"not WKT: {why}")
            )
        table = table.drop(columns=[wkt_col])
    return gpd.GeoDataFrame(table, geometry=list(geoms)), problems


def _misfit_reason(xy: np.ndarray, geographic: bool, label: str) -> str:
    """Why the coordinates of one row cannot be in the CRS `label`."""
    x, y = xy[0]
    at = f"x={x:.6g}, y={y:.6g}"
    if geographic:
        ax, ay = np.abs(xy).max(axis=0)
        if ax <= 90.0 < ay <= 180.0:
            return (f"longitude and latitude look swapped ({at}) for {label}; fix the row")
        if max(ax, ay) > 1e8:
            return f"coordinates out of any range ({at}); fix the row"
        return (f"coordinates look like metres of a projected CRS ({at}), not degrees of "
                f"{label}; fix the row, or give the file's CRS with --crs (crs=)")
    return (f"coordinates look like degrees ({at}), not metres of {label}; fix the row, "
            "or give the file's CRS with --crs (crs=)")


def _set_aside_misfits(geoms: np.ndarray, rows: pd.Index, path: Path, target: Any,
                       label: str, problems: list[Problem]) -> np.ndarray:
    """Rows whose coordinates cannot be in the CRS (metres said to be degrees, axes
    swapped, degrees said to be metres) as problems naming the row, their geometry
    set to None; the other rows are unaffected. When every row misfits, the CRS is
    wrong, not the rows: :class:`CRSMismatchError` for the file."""
    import pyproj

    coords, index = shapely.get_coordinates(geoms, return_index=True)
    if not len(coords):
        return geoms
    finite = np.isfinite(coords).all(axis=1)
    geographic = label in (GCJ02, BD09) or pyproj.CRS.from_user_input(target).is_geographic
    degrees = (np.abs(coords[:, 0]) <= 180.0) & (np.abs(coords[:, 1]) <= 90.0)
    if geographic:
        suspect = np.unique(index[finite & ~degrees])
    else:
        in_deg = np.ones(len(geoms), dtype=bool)
        in_deg[np.unique(index[~(degrees | ~finite)])] = False
        has = np.zeros(len(geoms), dtype=bool)
        has[np.unique(index)] = True
        suspect = np.flatnonzero(in_deg & has)
    if not len(suspect):
        return geoms
    present = len(np.unique(index[finite]))
    if len(suspect) == present:
        try:
            check_xy(coords[finite, 0], coords[finite, 1], crs=target)
        except CRSMismatchError as exc:
            raise CRSMismatchError(f"{path}: {exc}") from None
    geoms = geoms.copy()
    for i in suspect:
        xy = coords[(index == i) & finite]
        if not geographic:
            try:
                check_xy(xy[:, 0], xy[:, 1], crs=target)
                continue  # degrees-sized metres the CRS's area allows
            except CRSMismatchError:
                pass
        why = _misfit_reason(xy, geographic, label)
        problems.append(problem(path.name, int(rows[i]), "geometry",
                                shapely.to_wkt(geoms[i], rounding_precision=6), why))
        geoms[i] = None
    return geoms


def _apply_crs(frame: Any, path: Path, file_crs: Any, crs: CRSLike | None,
               problems: list[Problem], *, rounded: bool = False) -> tuple[Any, str, str]:
    """Set the frame's CRS (override or file), convert GCJ-02/BD-09, check the fit
    (rows that cannot be in the CRS go to `problems`, their geometry set to None),
    round the coordinates (`rounded`: the reader did, in the file's CRS)."""
    import geopandas as gpd

    if crs is None and file_crs is None:
        raise CRSError(
            f"{path}: the file has no CRS; give --crs (crs=), e.g. 'EPSG:4490' CGCS2000, "
            "'EPSG:4547' CGCS2000 Gauss-Kruger 114E, 'EPSG:4326' WGS84, 'GCJ-02'"
        )
    if crs is None:
        target: Any = file_crs
        note = "from the file"
    else:
        target = normalize_crs(crs)
        note = "given as crs="
        if file_crs is not None:
            note += f"; the file said {crs_to_string(file_crs)}"
    geoms = np.asarray(frame.geometry.values, dtype=object)
    label = crs_to_string(target)
    geoms = _set_aside_misfits(geoms, frame.index, path, target, label, problems)
    if label in (GCJ02, BD09):
        # pyproj has no GCJ-02/BD-09: convert the coordinates, then say WGS84.
        def convert(c: np.ndarray) -> np.ndarray:
            if not len(c):
                return c
            lon, lat = transform_xy(c[:, 0], c[:, 1], crs=label, to_crs="EPSG:4326", check=False)
            return np.column_stack([lon, lat])

        geoms = shapely.transform(geoms, convert)
        note += f"; {label} converted to WGS84 (EPSG:4326)"
        target = "EPSG:4326"
    import pyproj

    pcrs = pyproj.CRS.from_user_input(target)
    if not (rounded and crs is None):
        geoms = round_coordinates(geoms, geographic=bool(pcrs.is_geographic))
    out = gpd.GeoDataFrame(
        frame.drop(columns=[frame.geometry.name]), geometry=list(geoms), crs=pcrs, index=frame.index
    )
    return out, crs_to_string(pcrs), note


def read_survey(
    path: str | PathLike[str],
    *,
    layer: str | None = None,
    crs: CRSLike | None = None,
    encoding: str | None = None,
    x: str | None = None,
    y: str | None = None,
    read_ahead: ReadAhead | None = None,
) -> SurveyFile:
    """Read a survey file, deciding (and saying) its encoding and CRS.

    Parameters
    ----------
    path : path-like
        ``.gpkg``, ``.shp``, ``.geojson``/``.json``, ``.fgb``, or ``.csv``/``.txt``;
        any of them but ``.shp`` may be gzipped (``.geojson.gz``).
    layer : str, optional
        Layer of a multi-layer GeoPackage (required when there are several).
    crs : str, int or pyproj.CRS, optional
        The CRS of the coordinates, overriding the file's: ``"EPSG:4490"``,
        ``4547``, WKT, ``"GCJ-02"``, ``"BD-09"``. Required for CSV.
    encoding : str, optional
        Text encoding of a Shapefile's ``.dbf`` or a CSV; by default detected
        (:func:`~urbangrid.loaders.encoding.detect_dbf_encoding`). Ignored for
        GeoPackage, GeoJSON and FlatGeobuf, which are UTF-8 by definition.
    x, y : str, optional
        CSV coordinate columns (easting/longitude, northing/latitude, in `crs`);
        by default found among :data:`COORDINATE_COLUMNS`, else a WKT column.
    read_ahead : ReadAhead, optional
        This file's Arrow read, started earlier; taken where the file is read
        through Arrow in its own CRS, otherwise left alone.

    Returns
    -------
    SurveyFile

    Raises
    ------
    DataFileError
        Unknown format, unreadable file, missing layer or coordinate columns.
    EncodingDetectionError
        No encoding decodes the text.
    CRSError
        No CRS in the file and none given.
    CRSMismatchError
        The coordinates cannot be in the CRS (degrees vs metres, axes swapped).
    """
    p = Path(path)
    if not p.exists():
        raise DataFileError(f"{p}: no such file")
    if p.suffix.lower() == ".gz" and Path(p.stem).suffix.lower() in _GZIP_READABLE:
        return _read_gzipped(p, layer=layer, crs=crs, encoding=encoding, x=x, y=y)
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise DataFileError(
            f"{p}: unknown survey format {p.suffix!r}; use one of {sorted(set(FORMATS))}"
        )
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="urbangrid-sha256") as pool:
        # hashlib lets other threads run: the file is hashed while it is read.
        sha256 = pool.submit(file_sha256, p)
        survey = _read_survey(p, fmt, layer, crs, encoding, x, y, read_ahead)
        return replace(survey, sha256=sha256.result())


def _read_survey(p: Path, fmt: str, layer: str | None, crs: CRSLike | None,
                 encoding: str | None, x: str | None, y: str | None,
                 ahead: ReadAhead | None = None) -> SurveyFile:  # fmt: skip
    """:func:`read_survey` of a plain (not gzipped) file of format `fmt`, but its hash."""
    problems: list[Problem] = []
    choice: EncodingChoice | None = None
    file_crs = None
    rounded = False
    if fmt == "CSV":
        choice = detect_csv_encoding(p, encoding=encoding)
        frame, problems = _read_csv(p, choice, x, y)
    else:
        if fmt == "GeoPackage":
            layer = _pick_layer(p, layer)
        if fmt == "Shapefile":
            choice = detect_dbf_encoding(p, encoding=encoding)
        # Coordinates rounded as read when they stay in the file's CRS (no crs= given).
        frame, rounded = _read_vector(
            p, fmt, layer, choice.encoding if choice else None, round_in_file_crs=crs is None,
            ahead=ahead,
        )  # fmt: skip
        file_crs = frame.crs
        frame.index = pd.RangeIndex(1, len(frame) + 1)
        if fmt == "GeoJSON":
            problems.extend(geojson_control_problems(p))
        geoms = np.asarray(frame.geometry.values, dtype=object)
        for row in frame.index[shapely.is_missing(geoms)]:
            problems.append(
                problem(p.name, int(row), "geometry", None, "missing or unreadable geometry")
            )
    frame, crs_label, note = _apply_crs(frame, p, file_crs, crs, problems, rounded=rounded)
    frame.columns = [_clean_column(c) for c in frame.columns]
    dupes = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if dupes:
        raise DataFileError(f"{p}: column name(s) {dupes} appear more than once")
    return SurveyFile(p, fmt, layer, frame, crs_label, note, choice, "", problems)


#: Single-file formats a contractor may send gzipped (``.geojson.gz``, ``.csv.gz`` …).
_GZIP_READABLE = (".geojson", ".json", ".csv", ".txt", ".fgb", ".gpkg")


def _read_gzipped(p: Path, **options: Any) -> SurveyFile:
    """Read ``NAME.EXT.gz`` as ``NAME.EXT``: decompressed to a temporary folder (every
    check, the CSV encoding and GeoJSON control characters included, needs the plain
    bytes), then named and fingerprinted as the file the user gave."""
    import dataclasses
    import gzip
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="urbangrid-") as tmp:
        plain = Path(tmp) / p.stem
        try:
            with gzip.open(p, "rb") as src, plain.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except (OSError, EOFError) as exc:
            raise DataFileError(f"{p}: cannot decompress ({exc}); check the file is "
                                "complete gzip") from None
        survey = read_survey(plain, **options)
    return dataclasses.replace(survey, path=p, sha256=file_sha256(p))


def _clean_column(name: Any) -> str:
    text = str(name)
    return re.sub(r"\s+", " ", text).strip() if text != "geometry" else text
