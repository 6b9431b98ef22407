"""Field mappings (字段映射): contractor field names and values → store columns.

A mapping is a TOML file a GIS officer can read and edit::

    [mapping]
    name = "components-cjt214"
    target = "components"          # what the file loads into
    title = "部件普查, CJ/T 214 field names (标识码, 部件名称 …)"
    unmapped = "extra"             # extra | ignore | error: other columns of the file

    [fields]                       # store column = [accepted field names, first found wins]
    component_id = ["标识码", "部件标识码", "OBJID"]
    status = ["部件状态", "状态", "OBJSTATE"]

    [values.status]                # value maps, applied after trimming
    "好" = "完好"

    [defaults]                     # for values missing in the file (blank or no column)
    data_source = "实测"

Field names match after Unicode NFKC normalization, case folding and removal of
spaces, so ``ＯＢＪＩＤ``, ``objid`` and ``OBJID`` are one name. Shapefiles cut field
names to 10 bytes (5 Chinese characters in GBK, 3 in UTF-8): in a Shapefile a
column also matches a name it is the 10-byte cut of (``主管部门代`` for
``主管部门代码``), when that is unambiguous.

Shipped mappings live in ``urbangrid/loaders/mappings/*.toml``
(:func:`shipped_mappings`); :func:`choose_mapping` picks the one matching most
of a file's columns and says so.
"""

from __future__ import annotations

import json
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from urbangrid.errors import MappingError

__all__ = [
    "FieldMapping",
    "MappedFrame",
    "apply_mapping",
    "choose_mapping",
    "match_columns",
    "read_mapping",
    "shipped_mappings",
]

Unmapped = Literal["extra", "ignore", "error"]
_UNMAPPED = ("extra", "ignore", "error")
_DBF_NAME_BYTES = 10


@dataclass(frozen=True)
class FieldMapping:
    """A field mapping read from TOML; see the module docstring for the format.

    Attributes
    ----------
    name, target, title : str
    fields : mapping of str to tuple of str
        Store column → accepted field names of the file, in order of preference.
    values : mapping of str to mapping
        Store column → {file value: store value}.
    defaults : mapping of str to object
        Store column → value used when the file gives none.
    unmapped : {"extra", "ignore", "error"}
        Other columns: kept in the ``extra`` JSON column, dropped (and listed), or
        an error.
    source : str
        Where the mapping was read from.
    """

    name: str
    target: str
    title: str
    fields: Mapping[str, tuple[str, ...]]
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    unmapped: Unmapped = "extra"
    source: str = "<mapping>"


def _norm(name: Any) -> str:
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    return "".join(text.split())


def _parse(data: Mapping[str, Any], source: str) -> FieldMapping:
    def bad(msg: str) -> MappingError:
        return MappingError(f"{source}: {msg}")

    head = data.get("mapping")
    if not isinstance(head, dict):
        raise bad("missing [mapping] table with name and target")
    for k in ("name", "target"):
        if not isinstance(head.get(k), str) or not head[k]:
            raise bad(f"[mapping] {k} must be a non-empty string")
    unmapped = head.get("unmapped", "extra")
    if unmapped not in _UNMAPPED:
        raise bad(f"[mapping] unmapped must be one of {_UNMAPPED}, not {unmapped!r}")
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, dict) or not raw_fields:
        raise bad("missing [fields] table (store column = [field names])")
    fields: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for col, names in raw_fields.items():
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise bad(f"[fields] {col} must be a field name or a list of field names")
        for n in names:
            if _norm(n) in seen and seen[_norm(n)] != col:
                raise bad(
                    f"[fields] field name {n!r} is listed for both {seen[_norm(n)]!r} and {col!r}"
                )
            seen[_norm(n)] = col
        fields[col] = tuple(names)
    values: dict[str, Mapping[str, str]] = {}
    for col, table in (data.get("values") or {}).items():
        if not isinstance(table, dict):
            raise bad(f'[values.{col}] must be a table of "file value" = "store value"')
        values[col] = MappingProxyType({str(k).strip(): v for k, v in table.items()})
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise bad("[defaults] must be a table")
    unknown = set(data) - {"mapping", "fields", "values", "defaults"}
    if unknown:
        raise bad(f"unknown table(s) {sorted(unknown)}; use mapping, fields, values, defaults")
    return FieldMapping(
        name=head["name"],
        target=head["target"],
        title=str(head.get("title", "")),
        fields=MappingProxyType(fields),
        values=MappingProxyType(values),
        defaults=MappingProxyType(dict(defaults)),
        unmapped=unmapped,
        source=source,
    )


def read_mapping(path: str | PathLike[str]) -> FieldMapping:
    """Read a mapping TOML file (or a shipped one by name, e.g. ``"components-cjt214"``).

    Raises
    ------
    MappingError
        Unreadable TOML or a malformed entry; the message names the file and entry.
    """
    p = Path(path)
    if not p.exists() and not p.suffix:
        for m in shipped_mappings():
            if m.name == str(path):
                return m
        known = [m.name for m in shipped_mappings()]
        raise MappingError(f"no mapping file {p} and no shipped mapping of that name ({known})")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MappingError(f"{p}: cannot read the mapping: {exc}") from exc
    return _parse(data, str(p))


def shipped_mappings(target: str | None = None) -> list[FieldMapping]:
    """The mappings shipped in ``urbangrid/loaders/mappings/``, optionally for one target."""
    out = []
    folder = resources.files("urbangrid.loaders") / "mappings"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            m = _parse(tomllib.loads(entry.read_text(encoding="utf-8")), f"shipped {entry.name}")
            if target is None or m.target == target:
                out.append(m)
    return out


def _dbf_cuts(name: str) -> set[str]:
    """What a Shapefile writer leaves of a field name cut to 10 bytes (UTF-8 or GBK)."""
    cuts = set()
    for enc in ("utf-8", "gbk"):
        try:
            raw = name.encode(enc)
        except UnicodeEncodeError:
            continue
        if len(raw) > _DBF_NAME_BYTES:
            cuts.add(_norm(raw[:_DBF_NAME_BYTES].decode(enc, errors="ignore")))
    return cuts


def match_columns(
    columns: Sequence[str], mapping: FieldMapping, *, shapefile: bool = False
) -> dict[str, str]:
    """Which file column feeds each store column.

    Parameters
    ----------
    columns : sequence of str
        The file's field names.
    mapping : FieldMapping
    shapefile : bool
        Also match names cut to 10 bytes.

    Returns
    -------
    dict
        Store column → file column, for the store columns found.
    """
    by_norm = {_norm(c): c for c in columns}
    used: dict[str, str] = {}
    taken: set[str] = set()
    for col, names in mapping.fields.items():
        for n in names:
            c = by_norm.get(_norm(n))
            if c is not None and c not in taken:
                used[col] = c
                taken.add(c)
                break
    if shapefile:
        for col, names in mapping.fields.items():
            if col in used:
                continue
            hits = {by_norm[k] for n in names for k in _dbf_cuts(n) if k in by_norm} - taken
            if len(hits) == 1:
                used[col] = hits.pop()
                taken.add(used[col])
    return used


def choose_mapping(
    columns: Sequence[str], target: str, *, shapefile: bool = False
) -> tuple[FieldMapping, str]:
    """The shipped mapping of `target` matching most of `columns`, and why.

    Raises
    ------
    MappingError
        No shipped mapping matches any column.
    """
    cands = shipped_mappings(target)
    scored = [(len(match_columns(columns, m, shapefile=shapefile)), m) for m in cands]
    scored.sort(key=lambda t: -t[0])
    if not scored or scored[0][0] == 0:
        raise MappingError(
            f"no shipped mapping for {target!r} matches the file's columns {list(columns)}; "
            "write one (see urbangrid/loaders/mappings/) and pass it as --mapping FILE "
            "(mapping= in Python)"
        )
    n, best = scored[0]
    others = ", ".join(f"{m.name} {k}" for k, m in scored[1:])
    reason = f"mapping {best.name!r} chosen: it matches {n} of {len(columns)} columns" + (
        f" (others: {others})" if others else ""
    )
    return best, reason


@dataclass
class MappedFrame:
    """A survey frame renamed and recoded to store columns.

    Attributes
    ----------
    frame : geopandas.GeoDataFrame
        Store columns only (plus ``extra`` when unmapped columns are kept), same
        index (file row numbers) and geometry as the input.
    used : dict
        Store column → file column.
    unmapped : list of str
        File columns not mapped (kept in ``extra`` or dropped, as the mapping says).
    recoded : dict
        Store column → number of values changed by a value map.
    defaulted : dict
        Store column → number of values filled from ``[defaults]``.
    """

    frame: Any
    used: dict[str, str]
    unmapped: list[str]
    recoded: dict[str, int] = field(default_factory=dict)
    defaulted: dict[str, int] = field(default_factory=dict)


def _blank(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def _strip(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return None if _blank(v) else v


def _recode_one(v: Any, vmap: Mapping[str, str] | None) -> Any:
    """A file value stripped (blank → None) and put through the value map."""
    v = _strip(v)
    if vmap and v is not None:
        key = unicodedata.normalize("NFKC", str(v)).strip()
        if key in vmap:
            return vmap[key]
    return v


def _recode(series: pd.Series, vmap: Mapping[str, str] | None) -> tuple[Any, int]:
    """A column's values stripped and value-mapped, and how many the map changed.

    A survey column holds few distinct values (状态, 数据来源, 权属单位 …), so each
    distinct value is recoded once and the column rebuilt by index (pandas.factorize),
    instead of one Python call per cell (2.2 million of them for a 316k-row file).
    Columns of mixed Python types (where 1 == 1.0 == True would merge) go value by value.
    A string column that stays text comes back as a string column (a list otherwise):
    the distinct values are gathered by Arrow's take, no cell becomes a Python string.
    """
    if not vmap and _arrow_text(series):
        # No value map: strip by Arrow over the column (its whitespace is
        # str.strip's), blank → missing; 来源编号 has as many values as rows.
        stripped = series.str.strip()
        return stripped.where(stripped != "", None), 0
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind.startswith("mixed") or kind == "unknown-array":
        values = [_recode_one(v, vmap) for v in series.tolist()]
        n = sum(
            1
            for v, w in zip(series.tolist(), values, strict=True)
            if vmap and w is not None and w != _strip(v)
        )
        return values, n
    codes, found = pd.factorize(series, use_na_sentinel=True)
    uniques = found.tolist()  # Python scalars, as Series.tolist() gives them
    plain = [_strip(u) for u in uniques]
    mapped = [_recode_one(u, vmap) for u in uniques] if vmap else plain
    table = np.empty(len(mapped) + 1, dtype=object)
    table[:-1] = mapped
    table[-1] = None  # code -1: missing
    n = 0
    if vmap:
        changed = np.array([m != q for m, q in zip(mapped, plain, strict=True)], dtype=bool)
        counts = np.bincount(codes[codes >= 0], minlength=len(mapped))
        n = int(counts[changed].sum()) if len(changed) else 0
    if _arrow_text(series) and all(m is None or type(m) is str for m in mapped):
        texts = pd.array([*mapped, None], dtype=series.dtype)
        gather = np.where(codes < 0, len(mapped), codes)  # code -1: missing
        return pd.Series(texts.take(gather), index=series.index), n
    return table[codes].tolist(), n


def _arrow_text(series: pd.Series) -> bool:
    """True for an Arrow-backed string column (pandas' ``str`` dtype with pyarrow)."""
    return isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow"


def _json_safe(v: Any) -> Any:
    if _blank(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, str | int | float | bool):
        return v
    return str(v)


def apply_mapping(
    frame: Any,
    mapping: FieldMapping,
    *,
    allowed: Sequence[str],
    source: str,
    shapefile: bool = False,
    extra_column: str | None = "extra",
) -> MappedFrame:
    """Rename and recode a survey frame's fields to store columns.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        As read (:attr:`SurveyFile.frame`), indexed by file row number.
    mapping : FieldMapping
    allowed : sequence of str
        Store columns the target accepts (the layer's, plus helper columns such
        as ``subclass_name``); a mapping naming another column is an error.
    source : str
        File name for messages.
    shapefile : bool
        The file is a Shapefile (field names may be cut to 10 bytes).
    extra_column : str or None
        JSON column receiving unmapped fields when the mapping says ``extra``.

    Returns
    -------
    MappedFrame

    Raises
    ------
    MappingError
        The mapping names a column the target lacks, or ``unmapped = "error"`` and
        the file has other columns.
    """
    import geopandas as gpd

    wrong = [c for c in [*mapping.fields, *mapping.defaults, *mapping.values] if c not in allowed]
    if wrong:
        raise MappingError(
            f"{mapping.source}: store column(s) {sorted(set(wrong))} are not "
            f"columns of target {mapping.target!r} ({sorted(allowed)})"
        )
    geom_name = frame.geometry.name
    columns = [c for c in frame.columns if c != geom_name]
    used = match_columns(columns, mapping, shapefile=shapefile)
    fed = set(used.values())
    unmapped = [c for c in columns if c not in fed]
    if unmapped and mapping.unmapped == "error":
        raise MappingError(
            f"{source}: field(s) {unmapped} are not in mapping {mapping.name!r} "
            '(it says unmapped = "error")'
        )
    out: dict[str, Any] = {}
    recoded: dict[str, int] = {}
    for col, src in used.items():
        vmap = mapping.values.get(col)
        values, n = _recode(frame[src], vmap)
        if vmap:
            recoded[col] = n
        out[col] = values
    defaulted = _fill_defaults(out, mapping.defaults, len(frame))
    if unmapped and mapping.unmapped == "extra" and extra_column and extra_column in allowed:
        out[extra_column] = _extras(frame, unmapped, out.get(extra_column))
    mapped = gpd.GeoDataFrame(out, geometry=frame.geometry.values, crs=frame.crs, index=frame.index)
    return MappedFrame(mapped, used, unmapped, recoded, defaulted)


def _fill_defaults(out: dict[str, Any], defaults: Mapping[str, Any], n_rows: int) -> dict[str, int]:
    """Fill the mapped columns' missing values from ``[defaults]`` in place; returns
    store column → number of values filled."""
    defaulted: dict[str, int] = {}
    for col, default in defaults.items():
        values = out.get(col, [None] * n_rows)
        if isinstance(values, pd.Series):
            gaps = values.isna()
            if not gaps.any():
                continue
            if type(default) is str:
                out[col] = values.where(~gaps, default)
                defaulted[col] = int(gaps.sum())
                continue
            values = values.astype(object).where(~gaps, None).tolist()
        missing = [i for i, v in enumerate(values) if v is None]
        for i in missing:
            values[i] = default
        if missing:
            defaulted[col] = len(missing)
        out[col] = values
    return defaulted


def _extras(frame: Any, unmapped: Sequence[str], existing: Any) -> list[Any]:
    """Per row, the unmapped fields as a dict merged over the row's own ``extra``
    JSON object (`existing`, mapped from the file), None when there is nothing."""
    if isinstance(existing, pd.Series):
        existing = existing.astype(object).where(existing.notna(), None).tolist()
    extras: list[Any] = []
    cols = {c: frame[c].tolist() for c in unmapped}
    for i in range(len(frame)):
        d = {c: _json_safe(cols[c][i]) for c in unmapped}
        d = {k: v for k, v in d.items() if v is not None}
        base = existing[i] if existing is not None else None
        if isinstance(base, str):
            # The file's own JSON text: merged when it is an object; anything
            # else stays as it is, for validation to judge.
            try:
                parsed = json.loads(base)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                extras.append(base)
                continue
            base = parsed
        if isinstance(base, dict):
            d = {**base, **d}
        extras.append(d or None)
    return extras
