"""Validation of mapped survey rows before anything is written (入库前检查).

Every check reports *problems* — :class:`urbangrid.problems.Problem` records with
``file``, ``row`` (1-based record number in the file), ``field``, ``value``, ``reason``
and ``severity`` — instead of raising, so one pass lists everything wrong with a file.
:func:`validate_rows` runs the generic checks that follow from the target layer's schema:

* text: control characters, over-long values (:data:`MAX_TEXT`);
* types: each value converts to the column's logical type (dates in the forms
  contractors use: ``2023-05-01``, ``2023/5/1``, ``20230501``, ``2023年5月1日``);
  dates not in the future, ``original_date`` not after ``change_date``;
* required columns present and filled (except those the target fills itself);
* geometry: present, finite, valid (with GEOS's reason), of the layer's type,
  inside the district boundary when one is given;
* duplicate keys within the file.

Target-specific checks (component IDs against subclass and county, grid codes,
duplicates against the store) are added by the caller (:mod:`urbangrid.loaders.pipeline`).
The policy (:data:`OnInvalid`) then decides: ``"raise"`` blocks the load when any
row is bad, ``"skip"`` sets the bad rows aside and loads the rest. A problem of
severity ``"warning"`` (a probable duplicate under the ``warn`` policy) is
reported and does not make its row bad.
:func:`write_report` writes the problems as CSV (UTF-8 with BOM, for Excel) and as
a GeoPackage layer with each bad row's geometry, for QGIS.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely

from urbangrid.problems import Problem, is_error, problem, short_value
from urbangrid.store.base import LayerInfo, canonical

__all__ = [
    "MAX_TEXT",
    "OnInvalid",
    "ValidatedRows",
    "finite_coordinates",
    "parse_date",
    "validate_rows",
    "write_report",
]

OnInvalid = Literal["raise", "skip"]
#: Longest text value accepted, in characters (a 备注 is a sentence, not a file).
MAX_TEXT = 2000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_DATE_FORMS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?: .*)?$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
#: shapely.get_type_id → geometry type name.
_GEOS_TYPE_NAMES = (
    "Point",
    "LineString",
    "LinearRing",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
)
_GEOM_TYPES = {
    "POINT": ("Point",),
    "MULTIPOINT": ("Point", "MultiPoint"),
    "LINESTRING": ("LineString",),
    "MULTILINESTRING": ("LineString", "MultiLineString"),
    "POLYGON": ("Polygon",),
    "MULTIPOLYGON": ("Polygon", "MultiPolygon"),
}


def parse_date(value: Any) -> dt.date:
    """A date from the forms survey files use.

    Accepts ``datetime.date``/``datetime``/pandas Timestamps and the text forms
    ``2023-05-01``, ``2023/5/1``, ``2023.5.1``, ``2023年5月1日``, ``20230501``.

    Raises
    ------
    ValueError
        Naming the value.
    """
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            raise ValueError("not a date")
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    for form in _DATE_FORMS:
        m = form.match(text)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            try:
                return dt.date(y, mo, d)
            except ValueError as exc:
                raise ValueError(f"not a calendar date ({exc})") from None
    raise ValueError("not a date (use 2023-05-01, 2023/5/1 or 2023年5月1日)")


def _text_value(v: Any) -> Any:
    """Numbers read from a DBF numeric field become their digits, not '3.2e+15'."""
    if isinstance(v, float | np.floating) and np.isfinite(v) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, np.integer):
        return str(int(v))
    return v


def _text_problems(text: str) -> str | None:
    if _CONTROL.search(text):
        ch = _CONTROL.search(text)
        assert ch is not None
        return f"contains control character U+{ord(ch.group()):04X}"
    if len(text) > MAX_TEXT:
        return f"longer than {MAX_TEXT} characters ({len(text)})"
    return None


@dataclass
class ValidatedRows:
    """Rows after the generic checks.

    Attributes
    ----------
    frame : geopandas.GeoDataFrame
        Every row (index: file row numbers), values converted to the column
        types (None where a value was bad).
    problems : list of Problem
    """

    frame: Any
    problems: list[Problem] = field(default_factory=list)

    @property
    def bad_rows(self) -> list[int]:
        """File row numbers with at least one error (warnings do not count), sorted."""
        rows = (p.get("row") for p in self.problems if is_error(p))
        return sorted({int(r) for r in rows if r is not None})

    @property
    def file_problems(self) -> list[Problem]:
        """Problems not tied to a row (a missing required column …): they block any load."""
        return [p for p in self.problems if p["row"] is None and is_error(p)]


def validate_rows(
    frame: Any,
    info: LayerInfo,
    *,
    source: str,
    filled: Collection[str] = (),
    types: Mapping[str, str] | None = None,
    district: Any = None,
    today: dt.date | None = None,
) -> ValidatedRows:
    """Run the generic checks of a mapped frame against a layer's schema.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Mapped rows (store column names), indexed by file row number, geometries
        with a CRS.
    info : LayerInfo
        The target layer.
    source : str
        File name for the problems.
    filled : collection of str
        Required columns the target fills itself (component IDs, class codes):
        not reported when missing.
    types : mapping, optional
        Logical types of helper columns that are not layer columns
        (``{"subclass_name": "text"}``).
    district : shapely geometry, optional
        Boundary in the frame's CRS that every geometry must lie in (covered by).
    today : date, optional
        For the "date in the future" check (default: today).

    Returns
    -------
    ValidatedRows
    """
    import geopandas as gpd

    today = today or dt.date.today()
    all_types = {**info.columns, **(types or {})}
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for col in frame.columns:
        if col != frame.geometry.name:
            out[col] = _convert_column(frame[col], all_types.get(col, "text"), source,
                                       today, problems)
    problems += _required_problems(out, frame.index, info, filled, source, problems)
    problems += _date_order_problems(out, frame.index, source)
    problems += _duplicate_key_problems(out, frame.index, info.key, source)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    if info.geometry_column:
        problems.extend(_geometry_problems(geoms, frame.index, info, source, district))
    result = gpd.GeoDataFrame(out, geometry=frame.geometry.values, crs=frame.crs, index=frame.index)
    return ValidatedRows(result, problems)


def _convert_column(
    column: pd.Series, logical: str, source: str, today: dt.date, problems: list[Problem]
) -> Any:
    """`column` converted to the `logical` type (None where missing or bad); the bad
    values' problems are appended to `problems`."""
    if logical == "text" and _clean_arrow_text(column):
        return column  # kept as it is: no round trip through Python
    if logical == "json" and _clean_arrow_json(column):
        return column  # JSON text, checked; the store parses it once more
    ready = _iso_dates(column, today) if logical == "date" else None
    if ready is not None:  # only the rows left need the per-value look
        at = np.flatnonzero(ready[1])
        column = column.iloc[at]
    values = column.tolist()
    if logical == "text":
        fast = _clean_text_column(values)
        if fast is not None:
            return fast
    rows: Any = column.index
    col = str(column.name)
    conv: list[Any] = []
    for row, v in zip(rows, values, strict=True):
        if v is None or (type(v) is float and v != v) or v is pd.NA or v is pd.NaT:
            conv.append(None)  # missing is None for every type (canonical's rule)
            continue
        if logical == "text":
            v = _text_value(v)
        if isinstance(v, str):
            why = _text_problems(v)
            if why:
                problems.append(problem(source, int(row), col, v, why))
                conv.append(None)
                continue
        try:
            c = _convert_value(v, logical, today)
        except (ValueError, TypeError, OverflowError, json.JSONDecodeError) as exc:
            problems.append(problem(source, int(row), col, v, str(exc) or "bad value"))
            c = None
        conv.append(c)
    if ready is None:
        return conv
    out = ready[0]
    for i, c in zip(at, conv, strict=True):
        out[i] = c
    return out


def _iso_dates(column: pd.Series, today: dt.date) -> tuple[list[Any], np.ndarray] | None:
    """An Arrow text column of dates: the values of the plain ``2023-05-01`` form parsed
    by Arrow's kernels (as :func:`parse_date` would, none after `today`), and the mask
    of the other present values, which take the per-value path (other forms, bad or
    future dates: their messages come from there). None for other columns."""
    dtype = column.dtype
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow" or column.empty:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(column.array)
    plain = pc.fill_null(pc.match_substring_regex(text, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), False)
    stamps = pc.strptime(pc.if_else(plain, text, None), format="%Y-%m-%d", unit="s",
                         error_is_null=True)  # fmt: skip
    days = pc.cast(stamps, pa.date32())
    # strptime rolls 2023-02-30 over to March: only dates that print back as read
    same = pc.equal(pc.strftime(stamps, format="%Y-%m-%d"), text)
    first, last = pa.scalar(dt.date.min, pa.date32()), pa.scalar(today, pa.date32())
    ok = pc.fill_null(pc.and_(same, pc.and_(pc.greater_equal(days, first),
                                            pc.less_equal(days, last))), False)  # fmt: skip
    left = text.is_valid().to_numpy(zero_copy_only=False) & ~ok.to_numpy(zero_copy_only=False)
    out: list[Any] = [None] * len(text)
    for i, day in zip(np.flatnonzero(ok.to_numpy(zero_copy_only=False)),
                      days.filter(ok).to_pylist(), strict=True):  # fmt: skip
        out[i] = day
    return out, left


def _convert_value(v: Any, logical: str, today: dt.date) -> Any:
    """One present value as `logical`; raises ValueError (or TypeError …) saying why not."""
    if logical == "date" and not _missing(v):
        c = parse_date(v)
        if c > today:
            raise ValueError(f"date {c} is in the future")
        return c
    if logical == "json" and not _missing(v):
        c = canonical(v, "json")
        bad = _json_text_problem(c)
        if bad:
            raise ValueError(bad)
        return c
    return canonical(v, logical)


def _required_problems(
    out: Mapping[str, Any], rows: pd.Index, info: LayerInfo, filled: Collection[str],
    source: str, found: Sequence[Problem],
) -> list[Problem]:
    """Required columns missing, and required values empty (where no problem in `found`
    already explains the empty cell)."""
    problems: list[Problem] = []
    bad_cells = {(p["row"], p["field"]) for p in found}
    for col in sorted(info.required - set(filled)):
        if col not in out:
            why = "required column is missing (check the field mapping)"
            problems.append(problem(source, None, col, None, why))
            continue
        for i in np.flatnonzero(_empty(out[col])):
            row = rows[i]
            if (row, col) not in bad_cells:
                problems.append(problem(source, int(row), col, None, "required value is empty"))
    return problems


def _date_order_problems(out: Mapping[str, Any], rows: pd.Index, source: str) -> list[Problem]:
    """Rows whose ``change_date`` is before their ``original_date``."""
    if "original_date" not in out or "change_date" not in out:
        return []
    return [
        problem(source, int(row), "change_date", b.isoformat(),
                f"before the initial date (初始日期) {a}")
        for row, a, b in zip(rows, out["original_date"], out["change_date"], strict=True)
        if a is not None and b is not None and a > b
    ]


def _duplicate_key_problems(
    out: Mapping[str, Any], rows: pd.Index, key: str | None, source: str
) -> list[Problem]:
    """Rows repeating an earlier row's key, naming the first row."""
    if key is None or key not in out:
        return []
    keys = pd.Series(out[key], index=rows, dtype=object)
    keys = keys[~_empty(out[key])]
    again = keys.duplicated(keep="first").to_numpy()
    if not again.any():
        return []
    first = dict(zip(keys[~again].tolist(), keys.index[~again].tolist(), strict=True))
    return [
        problem(source, int(row), key, k, f"duplicate key in the file (first at row {first[k]})")
        for row, k in keys[again].items()
    ]


#: :data:`_CONTROL` in RE2 syntax, for Arrow's regex kernels.
_CONTROL_RE2 = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x{9f}\x{2028}\x{2029}]"


def _clean_arrow_text(column: pd.Series) -> bool:
    """True when an Arrow-backed string column needs no per-value look: no control
    character, none over :data:`MAX_TEXT` (Arrow's kernels over the column; the
    values never become Python strings — 316,851 rows × 7 columns cost ~0.5 s
    through :func:`_clean_text_column`)."""
    dtype = column.dtype
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow" or column.empty:
        return False
    if _utf8_clean(column, json_text=False):
        return True
    if column.str.contains(_CONTROL_RE2, regex=True).fillna(False).to_numpy(dtype=bool).any():
        return False
    longest = column.str.len().max()
    return bool(pd.isna(longest) or longest <= MAX_TEXT)


def _utf8_bytes(column: pd.Series) -> list[tuple[np.ndarray, np.ndarray]]:
    """The UTF-8 bytes and value offsets of each chunk of an Arrow-backed string
    column, as numpy views of Arrow's buffers (nothing is copied)."""
    out = []
    for chunk in _chunks(column):
        if len(chunk) == 0:
            continue
        offsets = _offsets(chunk)
        raw = np.frombuffer(chunk.buffers()[2] or b"", dtype=np.uint8)
        out.append((raw[offsets[0] : offsets[-1]], offsets - offsets[0]))
    return out


def _chunks(column: pd.Series) -> list[Any]:
    """The Arrow arrays holding an Arrow-backed column's values."""
    import pyarrow as pa

    arrow = pa.array(column.array)  # an Array or a ChunkedArray, by pandas version
    return list(getattr(arrow, "chunks", [arrow]))


def _offsets(chunk: Any) -> np.ndarray:
    """The value offsets (into the data buffer) of an Arrow string or large string
    array, its slice offset applied: ``len(chunk) + 1`` of them."""
    import pyarrow as pa

    wide = pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type)
    raw = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if wide else np.int32)
    return raw[chunk.offset : chunk.offset + len(chunk) + 1].astype(np.int64)


def _utf8_clean(column: pd.Series, *, json_text: bool) -> bool:
    """True when no value of an Arrow-backed string column can hold a control
    character (:data:`_CONTROL`) or be over :data:`MAX_TEXT`, judged on the UTF-8
    bytes with numpy (316,851 values × 8 columns: ~0.03 s; Arrow's regex kernel
    took ~0.1 s a column). False says nothing: the exact check decides. A C1
    character (U+0080–U+009F) is ``C2 80``–``C2 9F`` in UTF-8, U+2028/U+2029
    ``E2 80 A8``/``E2 80 A9``. `json_text`: also no backslash before ``b``, ``f``
    or ``u00``/``u202`` (an escape that could stand for one), and no line break
    (:func:`_json_objects_arrow` puts one value a line)."""
    for data, offsets in _utf8_bytes(column):
        # Bytes are at least as many as characters: within the limit in bytes is within it.
        if len(offsets) > 1 and np.diff(offsets).max() > MAX_TEXT:
            return False
        # One pass for the few bytes that may start something; each then looked at.
        lead = (data < 0x20) | (data == 0x7F) | (data == 0xC2) | (data == 0xE2)
        if json_text:
            lead |= data == 0x5C  # backslash
        at = np.flatnonzero(lead)
        if not len(at):
            continue
        last = len(data) - 1
        b0 = data[at]
        b1, b2, b3, b4 = (data.take(np.minimum(at + k, last)) for k in (1, 2, 3, 4))
        allowed = (9, 10, 13) if not json_text else (9,)  # tab (JSON: no line break)
        if (((b0 < 0x20) & ~np.isin(b0, allowed)) | (b0 == 0x7F)).any():
            return False
        if ((b0 == 0xC2) & (b1 < 0xA0)).any():
            return False
        if ((b0 == 0xE2) & (b1 == 0x80) & ((b2 == 0xA8) | (b2 == 0xA9))).any():
            return False
        if json_text:
            esc = b0 == 0x5C
            b_or_f = (b1 == ord("b")) | (b1 == ord("f"))
            u00 = (b1 == ord("u")) & (b2 == ord("0")) & (b3 == ord("0"))
            u202 = (b1 == ord("u")) & (b2 == ord("2")) & (b3 == ord("0")) & (b4 == ord("2"))
            if (esc & (b_or_f | u00 | u202)).any():
                return False
    return True


#: What in JSON text can give a string a control character: the character itself,
#: or an escape of one (\b, \f, \u0000-\u001f, \u007f-\u009f, \u2028, \u2029).
#: An escaped backslash before b or f matches too: that row takes the exact path.
_JSON_CONTROL_RE2 = (
    _CONTROL_RE2 + r"|\\[bf]|\\u00[01][0-9a-fA-F]|\\u007[fF]|\\u00[89][0-9a-fA-F]|\\u202[89]"
)


_JSON_DECODER = json.JSONDecoder()


def _clean_arrow_json(column: pd.Series) -> bool:
    """True when an Arrow-backed column of JSON text needs no per-value look: every
    value parses, and no string in it can hold a control character or be over
    :data:`MAX_TEXT` (tested on the text, by Arrow's kernels). The values are parsed
    once here to find bad ones, not kept as objects: the text goes to the store as
    it is (316,851 ``extra`` values: 2 s through the per-value path)."""
    dtype = column.dtype
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow" or column.empty:
        return False
    if _utf8_clean(column, json_text=True) and _json_objects_arrow(column):
        return True
    if column.str.contains(_JSON_CONTROL_RE2, regex=True).fillna(False).to_numpy(bool).any():
        return False
    longest = column.str.len().max()
    if not (pd.isna(longest) or longest <= MAX_TEXT):
        return False
    texts = column.dropna().unique().tolist()  # each distinct text once
    if _json_objects(texts):
        return True
    # The decoder's scan straight away: json.loads adds two whitespace regex
    # matches per value, a third of its time on short texts.
    decode = _JSON_DECODER.raw_decode
    try:
        for text in texts:
            try:
                _, end = decode(text)
                if end == len(text):
                    continue
            except ValueError:
                pass
            json.loads(text)  # whitespace around it, or not JSON: loads decides
    except ValueError:  # json.JSONDecodeError included
        return False
    return True


def _json_objects(texts: list[str]) -> bool:
    """True when each of `texts` is one JSON object, as Arrow's parser (RapidJSON, on
    all cores) reads them one a line: 164,905 distinct ``extra`` texts in 0.25 s
    instead of 1 s through :mod:`json`. False says nothing: that parser is stricter
    (a top-level array, a number too big for a double, a lone surrogate escape,
    a text with a line break or two objects) and the per-value path decides."""
    if not texts:
        return True
    data = "\n".join(texts).encode("utf-8", errors="surrogatepass")
    return _json_rows(data) == len(texts)


def _json_rows(data: bytes | memoryview) -> int | None:
    """How many JSON objects Arrow's parser reads from `data`, one a line (empty
    lines skipped, two objects on a line two rows); None when it cannot read it."""
    import io

    import pyarrow as pa
    import pyarrow.json as pj

    options = pj.ParseOptions(
        explicit_schema=pa.schema([]), unexpected_field_behavior="ignore",
        newlines_in_values=False,
    )  # fmt: skip
    try:
        table = pj.read_json(io.BytesIO(data), parse_options=options)  # blocks of 1 MB
    except (pa.ArrowException, ValueError):
        return None
    return int(table.num_rows)


def _json_objects_arrow(column: pd.Series) -> bool:
    """True when each present value of an Arrow-backed column (no line break in
    it: :func:`_utf8_clean`) is one JSON object, read by Arrow's parser from the
    values joined one a line by Arrow: no Python string is made (316,851
    ``extra`` values: the distinct ones as Python strings cost ~0.3 s more).
    False says nothing (an empty value is an empty line, skipped, and the count
    differs): the caller's exact path decides."""
    import pyarrow as pa
    import pyarrow.compute as pc

    present = 0
    lines = []
    for chunk in _chunks(column):
        present += len(chunk) - chunk.null_count
        newline, nothing = pa.scalar("\n", chunk.type), pa.scalar("", chunk.type)
        joined = pc.binary_join_element_wise(chunk, newline, nothing)  # nulls stay null
        offsets = _offsets(joined)
        lines.append(memoryview(joined.buffers()[2] or b"")[offsets[0] : offsets[-1]])
    if not present:
        return True
    return _json_rows(lines[0] if len(lines) == 1 else b"".join(lines)) == present


def _empty(values: Any) -> np.ndarray:
    """True where a converted value is missing (None in a list, NA in a kept column)."""
    if isinstance(values, pd.Series):
        return values.isna().to_numpy()
    return np.fromiter((v is None for v in values), dtype=bool, count=len(values))


def _clean_text_column(values: list[Any]) -> list[Any] | None:
    """The column as canonical text when every value is text or missing and none has
    a control character or is over-long — checked with one regex search over the
    whole column, not one per value (a 42k-row survey has ~300k cells); None when
    some value needs the per-value path (numbers, bad text)."""
    texts = [v for v in values if type(v) is str]
    if len(texts) < len(values):
        # The rest must be missing: None, or the NaN a pandas string column holds.
        if not all(
            v is None or (type(v) is float and v != v) for v in values if type(v) is not str
        ):
            return None
        values = [v if type(v) is str else None for v in values]
    if texts and (_CONTROL.search("\n".join(texts)) or max(map(len, texts)) > MAX_TEXT):
        return None
    return values


def finite_coordinates(geoms: np.ndarray) -> np.ndarray:
    """True for each geometry (or None) whose coordinates are all finite numbers."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    ok = np.ones(len(geoms), dtype=bool)
    ok[np.unique(index[bad])] = False
    return ok


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v))


def _json_text_problem(value: Any) -> str | None:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
            stack.extend(v.keys())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str):
            why = _text_problems(v)
            if why:
                return f"a value inside {why}"
    return None


def _geometry_problems(
    geoms: np.ndarray, rows: pd.Index, info: LayerInfo, source: str, district: Any
) -> list[Problem]:
    out: list[Problem] = []
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    coords_ok = finite_coordinates(geoms)
    want = _GEOM_TYPES.get(info.geometry_type or "GEOMETRY")
    # Vectorized first; only the rows found wrong are looked at one by one.
    wrong_type = np.zeros(len(geoms), dtype=bool)
    if want is not None:
        # By GEOS type id (-1 for None): no Python call per geometry.
        ids = [i for i, name in enumerate(_GEOS_TYPE_NAMES) if name in want]
        wrong_type = ~missing & ~np.isin(shapely.get_type_id(geoms), ids)
    checkable = ~missing & coords_ok & ~wrong_type
    invalid = np.zeros(len(geoms), dtype=bool)
    invalid[checkable] = ~shapely.is_valid(geoms[checkable])
    for i in np.flatnonzero(missing | ~coords_ok | wrong_type | invalid):
        g, row = geoms[i], int(rows[i])
        if missing[i]:
            out.append(problem(source, row, "geometry", None, "geometry is missing or empty"))
        elif not coords_ok[i]:
            why = "coordinates are not finite numbers"
            out.append(problem(source, row, "geometry", g.wkt[:200], why))
        elif wrong_type[i]:
            why = f"layer {info.name!r} takes {info.geometry_type}"
            out.append(problem(source, row, "geometry", g.geom_type, why))
        else:
            why = f"invalid geometry: {shapely.is_valid_reason(g)}"
            out.append(problem(source, row, "geometry", g.wkt[:200], why))
    if district is not None:
        shapely.prepare(district)
        ok = ~missing & coords_ok
        outside = np.zeros(len(geoms), dtype=bool)
        outside[ok] = ~shapely.covered_by(geoms[ok], district)
        for i in np.flatnonzero(outside):
            out.append(
                problem(
                    source, int(rows[i]), "geometry", None, "lies outside the district boundary"
                )
            )
    return out


def write_report(
    problems: Sequence[Problem],
    path: str | PathLike[str],
    *,
    geometries: Any = None,
) -> tuple[Path, Path]:
    """Write the problems as CSV and as a GeoPackage layer ``problems``.

    Parameters
    ----------
    problems : sequence of Problem
        :mod:`urbangrid.problems` records (``severity`` missing means error).
    path : path-like
        Report name; ``.csv`` and ``.gpkg`` files are written beside each other
        (``report.csv`` + ``report.gpkg`` for ``report``, ``report.csv`` or
        ``report.gpkg``).
    geometries : geopandas.GeoSeries, optional
        Geometry of each file row (indexed by row number), for the GeoPackage.

    Returns
    -------
    (Path, Path)
        The CSV and GeoPackage written.
    """
    import geopandas as gpd
    import pyogrio

    p = Path(path)
    stem = p.with_suffix("") if p.suffix.lower() in (".csv", ".gpkg") else p
    # Appended, not with_suffix: "survey.v2" must give survey.v2.csv, not survey.csv.
    csv_path, gpkg_path = stem.with_name(stem.name + ".csv"), stem.with_name(stem.name + ".gpkg")
    cols = ["file", "row", "field", "value", "reason", "severity"]
    table = pd.DataFrame(
        [{c: pr.get(c, "error" if c == "severity" else None) for c in cols} for pr in problems],
        columns=cols,
    )
    table["row"] = table["row"].astype("Int64")
    table["value"] = table["value"].map(lambda v: None if v is None else str(short_value(v)))
    table.to_csv(csv_path, index=False, encoding="utf-8-sig")
    geoms = [None] * len(table)
    crs = None
    if geometries is not None:
        crs = geometries.crs
        lookup = geometries.to_dict()
        geoms = [lookup.get(r) if r is not pd.NA else None for r in table["row"]]
    gdf = gpd.GeoDataFrame(table.astype({"row": "float64"}), geometry=geoms, crs=crs)
    if gpkg_path.exists():
        gpkg_path.unlink()
    pyogrio.write_dataframe(
        gdf, gpkg_path, layer="problems", driver="GPKG", geometry_type="Unknown"
    )
    return csv_path, gpkg_path
