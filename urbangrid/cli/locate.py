"""``urbangrid locate``: a report's coordinates → unit grid, work grid, community, street.

The store's grids are read and indexed once, then saved in the cache folder
(:mod:`urbangrid.spatial.index.saved`); later commands open that file instead of reading
the store, and rebuild it only when the store changed. A point in the index CRS, or a
GCJ-02/BD-09 point against grids in WGS84/CGCS2000 degrees, is then answered without
importing pandas or pyproj.

A store that holds administrative boundaries (``urbangrid admin load``) but no unit grids
yet still answers: community, street and district, the grid fields empty, with a note
saying how to add grids; it is rebuilt from the store each time (no grid index to save).

Exit codes: 0 the point is in a unit grid (or, with ``--csv``, the file was written; or,
in a store without unit grids, the point is in an admin area);
3 the point is in no unit grid (the lines still give any community, street or district
polygon covering it); 4 (``--csv``) the file was written but some rows had coordinates
that cannot be right: each is named on standard error and left blank (as ``urbangrid
load`` exits 4 when it sets rows aside); 1 an error (one line); 2 a usage error, or a
single point that cannot be a coordinate.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from urbangrid.cli.lang import header, lang_option, resolve_lang
from urbangrid.cli.outputs import refuse_inputs
from urbangrid.cli.stores import (
    UNIT_GRIDS,
    describe,
    empty_store_message,
    missing_store_message,
    open_store,
)
from urbangrid.cli.textfiles import ragged_line, raw_bytes, utf8_text

__all__ = ["EXIT_BAD_ROWS", "EXIT_OUTSIDE", "locate"]

EXIT_OUTSIDE = 3
"""Exit code of ``urbangrid locate STORE LON LAT`` for a point in no unit grid."""

EXIT_BAD_ROWS = 4
"""Exit code of ``urbangrid locate STORE --csv FILE`` when rows had bad coordinates (the
output is written; those rows are named on standard error and left blank)."""

#: What a fault code of :func:`urbangrid.spatial.crs.transform.xy_faults` means, in
#: the command line's words.
_FAULTS = {
    1: "not a number",
    2: "longitude and latitude look swapped",
    3: "beyond ±180 / ±90: looks like metres of a projected CRS, not degrees",
    4: "out of range: longitude must lie within ±180 and latitude within ±90",
    5: "looks like longitude/latitude degrees, far outside the area of --crs",
}


class _Coordinate(click.ParamType):
    """A number, negative ones included (``-71.06``), or ``LON,LAT`` in one argument."""

    name = "number"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, (float, tuple)):
            return value
        text = str(value).strip()
        try:
            if "," in text:
                a, b = text.split(",", 1)
                return (float(a), float(b))
            return float(text)
        except ValueError:
            self.fail(f"{value!r} is not a number (give LON LAT, or LON,LAT)", param, ctx)


def _stamp_and_store(target: str) -> tuple[str | None, bool]:
    """What the saved lookup of ``target`` must have been built from, without opening
    the store when it is a GeoPackage; and whether ``target`` is a GeoPackage file."""
    from urbangrid.spatial.index.saved import file_stamp

    if target.lower().endswith(".gpkg"):
        if not Path(target).is_file():
            raise click.ClickException(missing_store_message(target, UNIT_GRIDS))
        return file_stamp(target), True
    return None, False


def _server_stamp(store: Any) -> str:
    """The server's stamp; saved in the lookup file, so it names the store without the
    DSN's password (``store.target``)."""
    from urbangrid.spatial.index.engine import latest_grid_version_row

    counts = [store.count(layer) for layer in ("unit_grid", "admin_area")]
    return f"{store.target}|{latest_grid_version_row(store)}|{counts}"


def _lookup(target: str) -> Any:
    """The saved lookup of ``target``, built and saved first when missing or stale."""
    from urbangrid.spatial.index.saved import QuickLookup, cache_file, write_hierarchy

    stamp, is_file = _stamp_and_store(target)
    if is_file and stamp is not None:
        found = QuickLookup.open(cache_file("hierarchy", target, stamp), stamp)
        if found is not None:
            return found
    from urbangrid.spatial.admin.hierarchy import GridHierarchy

    with open_store(target, then=UNIT_GRIDS) as s:
        if not is_file:
            stamp = _server_stamp(s)
            found = QuickLookup.open(cache_file("hierarchy", target, stamp), stamp)
            if found is not None:
                return found
        if s.count("unit_grid") == 0:
            # admin boundaries only: community, street and district, grid fields empty
            return _InMemory(_admin_only(s, target))
        hierarchy = GridHierarchy.from_store(s)
    assert stamp is not None
    path = cache_file("hierarchy", target, stamp)
    if write_hierarchy(hierarchy, path, stamp):
        found = QuickLookup.open(path, stamp)
        if found is not None:
            return found
    return _InMemory(hierarchy)


def _admin_only(store: Any, target: str) -> Any:
    """The hierarchy of a store with admin area boundaries but no unit grids; the one
    empty-store line when it has neither."""
    from urbangrid.errors import GridGeometryError
    from urbangrid.spatial.admin.hierarchy import GridHierarchy

    try:
        return GridHierarchy.from_store(store)
    except GridGeometryError:
        raise click.ClickException(empty_store_message(
            target, "unit grids (nor admin area boundaries) to locate points in",
            UNIT_GRIDS)) from None


def _no_grids_note(store: str, lang: str) -> str:
    """What a store without unit grids answers, and how to add them."""
    where = describe(store)
    fill = UNIT_GRIDS.replace("{store}", where)
    if lang == "zh":
        return (f"注：{where} 还没有单元网格，只给出社区、街道和区县，网格字段为空；单元网格可"
                f"用 `urbangrid grids generate {where}` 生成，或用 `urbangrid load grids FILE "
                f"--store {where}` 导入")
    return (f"note: {where} holds no unit grids yet: community, street and district only, "
            f"the grid fields empty; {fill}")


class _InMemory:
    """A hierarchy the cache folder could not hold (or one of admin areas only, which is
    not saved): answered by the library itself."""

    def __init__(self, hierarchy: Any) -> None:
        self._h = hierarchy
        self.has_grids = hierarchy.has_grids

    def columns(self, xs: Any, ys: Any, *, crs: str) -> None:
        return None

    def locate(self, x: float, y: float, *, crs: str) -> None:
        return None

    def hierarchy(self) -> Any:
        return self._h


@click.command("locate", context_settings={"ignore_unknown_options": True})
@click.argument("store")
@click.argument("lon", type=_Coordinate(), required=False)
@click.argument("lat", type=_Coordinate(), required=False)
@click.option("--crs", default="EPSG:4326", show_default=True,
              help="CRS of the coordinates: EPSG code, GCJ-02 (Amap/Tencent), BD-09 (Baidu).")
@click.option("--csv", "csv_in", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Locate every row of this CSV (.gz, .bz2, .xz too) instead of one point.")
@click.option("--x", "x", default=None, help="CSV column of x/longitude [default: the column "
              "named lon, lng, long, longitude, x or 经度, in any case].")
@click.option("--y", "y", default=None, help="CSV column of y/latitude [default: the column "
              "named lat, latitude, y or 纬度, in any case].")
@click.option("--encoding", default=None,
              help="Text encoding of the CSV (default: UTF-8, else GBK, else GB18030, "
                   "decided by decoding the whole file and said on standard error).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Output CSV (default: standard output).")
@click.option("--problems", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every bad row (row, field, value, reason) to this CSV.")
@lang_option
def locate(store: str, lon: Any, lat: Any, crs: str, csv_in: Path | None,
           x: str | None, y: str | None, encoding: str | None, output: Path | None,
           problems: Path | None, lang: str | None) -> None:
    """Unit grid, work grid, community, street and district of LON LAT (or of a CSV).

    LON LAT may be given as two numbers (negative ones too) or as LON,LAT. Exit code 0:
    in a unit grid (with --csv: the file was written); 3: in no unit grid (said on
    standard error; any community, street or district covering the point is still
    printed); 4: --csv written, but rows with bad coordinates were left blank (each
    named on standard error, one line each); 1: an error; 2: a usage error or a point
    that cannot be a coordinate.
    """
    lang = resolve_lang(lang)
    if csv_in is None:
        if isinstance(lon, tuple) and lat is None:
            lon, lat = lon
        if not isinstance(lon, float) or not isinstance(lat, float):
            raise click.UsageError("give LON LAT (two numbers, or LON,LAT), or --csv FILE")
        _library_call(lambda: _locate_point(store, lon, lat, crs, lang))
        return
    if lon is not None:
        raise click.UsageError("give either LON LAT or --csv FILE, not both")
    if output is not None and output.suffix.lower() in (".gpkg", ".geojson", ".json", ".shp",
                                                         ".parquet", ".xlsx"):
        raise click.BadParameter(f"{output}: the output is a CSV table; give a .csv name",
                                 param_hint="--output")
    refuse_inputs([(f"-o {output}", output), (f"--problems {problems}", problems)],
                  [("STORE", store), ("--csv", csv_in)])
    job = _CsvJob(csv_in, x or "", y or "", crs, encoding, output, problems, lang)
    _library_call(lambda: _locate_csv(store, job))


def _check_point(lon: float, lat: float, crs: str) -> None:
    """A usage error (exit 2) for a point that cannot be a coordinate in ``crs``."""
    import numpy as np

    from urbangrid.spatial.crs.faults import xy_faults

    fault = int(xy_faults(np.array([lon]), np.array([lat]), crs=crs)[0])
    if fault == 0:
        return
    hint = {1: "give two finite numbers",
            2: f"give longitude first: {lat} {lon}",
            3: "give the CRS of the point with --crs, e.g. --crs EPSG:4547",
            4: "check the numbers",
            5: "give --crs EPSG:4326 (or GCJ-02, BD-09) for degrees"}[fault]  # fmt: skip
    raise click.UsageError(f"{lon}, {lat} ({crs}): {_FAULTS[fault]}; {hint}")


def _locate_point(store: str, lon: float, lat: float, crs: str, lang: str = "en") -> None:
    lookup = _lookup(store)
    found = lookup.locate(lon, lat, crs=crs)
    if found is None or found["grid_code"] is None:
        _check_point(lon, lat, crs)  # only on a miss: it imports pyproj
    if found is None:
        found = _library_call(lambda: lookup.hierarchy().locate(lon, lat, crs=crs))
    for key, value in found.items():
        click.echo(f"{header(key, lang)}\t{value if value is not None else ''}")
    if not getattr(lookup, "has_grids", True):
        click.echo(_no_grids_note(store, lang), err=True)
        if any(v is not None for v in found.values()):
            return
    if found["grid_code"] is None:
        where = describe(store)
        if lang == "zh":
            click.echo(f"{lon}, {lat}（{crs}）不在 {where} 的任何单元网格内", err=True)
        else:
            click.echo(f"{lon}, {lat} ({crs}) is outside every unit grid of {where}", err=True)
        sys.exit(EXIT_OUTSIDE)


def _library_call(call: Any) -> Any:
    """``call()``, its CRS diagnosis as one line (the library words the options as
    ``--crs (crs=)``; the command line says ``--crs`` only)."""
    from urbangrid.errors import CRSError

    try:
        return call()
    except CRSError as exc:
        text = str(exc).replace(" (crs=)", "").replace("x=, or --x for a CSV", "--x")
        if text.startswith("crs "):
            text = "--crs " + text[len("crs "):]
        raise click.ClickException(text.replace("(x=, y=; --x, --y for a CSV)",
                                                "(--x, --y)")) from None


@dataclass(frozen=True)
class _CsvJob:
    """What ``locate --csv`` was asked to do."""

    csv_in: Path
    x: str  # as given, else "" until the header is read (_xy_columns)
    y: str
    crs: str
    encoding: str | None
    output: Path | None
    problems: Path | None
    lang: str


#: Column names taken for x and y when --x and --y are not given (compared in lower case).
_XY_NAMES = (("lon", "lng", "long", "longitude", "x", "经度"), ("lat", "latitude", "y", "纬度"))


def _xy_columns(job: _CsvJob, header_row: list[str]) -> tuple[str, str]:
    """The x and y columns of the header: as given (in any case), else the usual names."""
    by_lower: dict[str, str] = {}
    for name in header_row:
        by_lower.setdefault(name.strip().lower(), name)
    out = []
    for given, names, option in ((job.x, _XY_NAMES[0], "--x"), (job.y, _XY_NAMES[1], "--y")):
        if given and given in header_row:
            out.append(given)
            continue
        found = (by_lower.get(given.strip().lower()) if given
                 else next((by_lower[n] for n in names if n in by_lower), None))
        if found is None:
            wanted = repr(given) if given else f"for {option} (none is named {', '.join(names)})"
            raise click.UsageError(f"{job.csv_in}: no column {wanted}; columns are "
                                   f"{', '.join(header_row)} (use --x/--y)")
        out.append(found)
    return out[0], out[1]


def _read_table(job: _CsvJob, data: bytes) -> Any:
    """The CSV as text columns (kept as written), checked for the x and y columns."""
    import csv as csv_module

    import pyarrow as pa
    import pyarrow.csv as pacsv

    if not data.strip():
        raise click.ClickException(f"{job.csv_in}: the file is empty; it needs a header line "
                                   f"with the columns {job.x or 'lon'} and {job.y or 'lat'}")
    first = data.split(b"\n", 1)[0].decode().rstrip("\r")
    header_row = next(csv_module.reader([first]), [])
    _xy_columns(job, header_row)
    try:
        return pacsv.read_csv(pa.BufferReader(data), convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header_row, pa.string()), strings_can_be_null=False,
            quoted_strings_can_be_null=False))  # fmt: skip
    except pa.ArrowInvalid as exc:
        ragged = ragged_line(data, len(header_row))
        raise click.ClickException(
            f"{job.csv_in}: {ragged}" if ragged
            else f"{job.csv_in}: not a CSV table ({exc}); fix the file") from None  # fmt: skip


# pyarrow's pa.array(), cast() and to_numpy() import pandas (0.2-0.4 s) when it is
# installed; the helpers below build and read Arrow buffers directly instead.


def _coordinates(data: bytes, table: Any, x: str, y: str) -> tuple[Any, Any]:
    """Floats of the x and y columns; NaN where a value is not a number."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = list(dict.fromkeys((x, y)))
    try:
        typed = pacsv.read_csv(pa.BufferReader(data), convert_options=pacsv.ConvertOptions(
            include_columns=names, column_types=dict.fromkeys(names, pa.float64())))  # fmt: skip
        cols = [typed[name] for name in (x, y)]
        if all(c.null_count == 0 for c in cols):
            out = [np.concatenate([np.frombuffer(c.buffers()[1], dtype=np.float64)[
                c.offset : c.offset + len(c)] for c in col.chunks]) if col.num_chunks
                else np.empty(0) for col in cols]  # fmt: skip
            return out[0], out[1]
    except pa.ArrowInvalid:  # some values are not numbers: those rows get no grid
        pass
    import pandas as pd

    return tuple(  # type: ignore[return-value]
        pd.to_numeric(table[name].to_pandas(), errors="coerce").to_numpy(dtype=np.float64)
        for name in (x, y)
    )


def _string_array(values: list[str | None]) -> Any:
    import numpy as np
    import pyarrow as pa

    data = [b"" if v is None else v.encode() for v in values]
    offsets = np.zeros(len(data) + 1, dtype=np.int32)
    np.cumsum([len(d) for d in data], out=offsets[1:])
    valid = np.packbits(np.array([v is not None for v in values], dtype=bool), bitorder="little")
    return pa.Array.from_buffers(pa.string(), len(data), [
        pa.py_buffer(valid), pa.py_buffer(offsets), pa.py_buffer(b"".join(data))],
        null_count=sum(v is None for v in values))  # fmt: skip


def _dictionary_array(idx: Any, values: list[str]) -> Any:
    """Entry ``idx[i]`` of ``values`` per row, null where ``idx`` is negative."""
    import numpy as np
    import pyarrow as pa

    codes = np.ascontiguousarray(idx, dtype=np.int32)
    valid = np.packbits(codes >= 0, bitorder="little")
    indices = pa.Array.from_buffers(pa.int32(), len(codes), [
        pa.py_buffer(valid), pa.py_buffer(np.maximum(codes, 0))],
        null_count=int((codes < 0).sum()))  # fmt: skip
    return pa.DictionaryArray.from_arrays(indices, _string_array(list(values)))


def _hierarchy_columns(lookup: Any, xs: Any, ys: Any, crs: str) -> dict[str, Any]:
    """The eight hierarchy columns of many points, as Arrow arrays."""
    cols = lookup.columns(xs, ys, crs=crs)
    if cols is not None:
        return {name: _dictionary_array(idx, values) for name, (idx, values) in cols.items()}
    found = lookup.hierarchy().locate_many(xs, ys, crs=crs)  # the library, pyproj and all
    return {name: _string_array([None if v is None else str(v) for v in found[name].tolist()])
            for name in found.columns}  # fmt: skip


def _write_table(table: Any, sink: Any) -> None:
    """Header and rows: unquoted like most CSVs, quoted only where a value needs it."""
    import csv as csv_module

    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = io.StringIO()
    csv_module.writer(header, lineterminator="\n").writerow(table.column_names)
    start = sink.tell()
    sink.write(header.getvalue().encode())
    try:
        pacsv.write_csv(table, sink, pacsv.WriteOptions(quoting_style="none",
                                                        include_header=False))
    except pa.ArrowInvalid:  # a value holds a comma, quote or line break
        sink.seek(start)
        sink.truncate()
        sink.write(header.getvalue().encode())
        pacsv.write_csv(table, sink, pacsv.WriteOptions(quoting_style="needed",
                                                        include_header=False))


def _write_csv(table: Any, output: Path | None) -> None:
    """Write whole or not at all: to a temporary file renamed at the end (or, for
    standard output, to memory first)."""
    if output is None:
        buf = io.BytesIO()
        _write_table(table, buf)
        sys.stdout.flush()
        sys.stdout.buffer.write(buf.getbuffer())
        sys.stdout.buffer.flush()
        return
    fd, tmp = tempfile.mkstemp(dir=output.parent if str(output.parent) else ".",
                               prefix=f".{output.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b") as fh:
            _write_table(table, fh)
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _locate_csv(store: str, job: _CsvJob) -> None:
    import numpy as np

    lookup = _lookup(store)
    data, read_as = utf8_text(job.csv_in, raw_bytes(job.csv_in), job.encoding)
    table = _read_table(job, data)
    x, y = _xy_columns(job, table.column_names)
    if (x, y) != (job.x or "lon", job.y or "lat"):  # said unless as given or the plain default
        click.echo(f"{job.csv_in}: coordinates from the columns {x!r}, {y!r} (--x, --y to "
                   "choose others)", err=True)
    job = replace(job, x=x, y=y)
    xs, ys = _coordinates(data, table, job.x, job.y)
    xs = np.array(xs, dtype=np.float64)
    ys = np.array(ys, dtype=np.float64)
    bad = _bad_rows(job, table, xs, ys)
    xs[bad], ys[bad] = np.nan, np.nan
    columns = _library_call(lambda: _hierarchy_columns(lookup, xs, ys, job.crs))
    for name, column in columns.items():
        if name in table.column_names:  # as pandas would: the found value replaces it
            table = table.drop_columns([name])
        table = table.append_column(name, column)
    _write_csv(table, job.output)
    n_bad = int(bad.sum())
    has_grids = getattr(lookup, "has_grids", True)
    if not has_grids:
        click.echo(_no_grids_note(store, job.lang), err=True)
    click.echo(_summary_line(job, table, n_bad, read_as, has_grids), err=True)
    if table.num_rows > n_bad and all(table[c].null_count == table.num_rows for c in columns):
        # not one point in any grid or admin area: a wrong store or CRS, not a sparse file
        if job.lang == "zh":
            click.echo(f"注意：没有一个点落在 {describe(store)} 的单元网格或行政区划内；"
                       f"请确认库是否对应该地区、坐标系是否为 {job.crs}（用 --crs 指定，如 "
                       "GCJ-02）", err=True)
        else:
            click.echo(f"note: not one point lies in a unit grid or admin area of "
                       f"{describe(store)}: check that the store covers these points and that "
                       f"they are in {job.crs} (--crs GCJ-02, BD-09 …)", err=True)
    if n_bad:
        sys.exit(EXIT_BAD_ROWS)


def _summary_line(job: _CsvJob, table: Any, n_bad: int, read_as: str, grids: bool) -> str:
    """How many points were found: in a unit grid, or (a store without unit grids) in
    an admin area."""
    import numpy as np

    inside = np.asarray(table["grid_code"].is_valid(), dtype=bool)
    for col in () if grids else ("community_code", "street_code", "district_code"):
        inside |= np.asarray(table[col].is_valid(), dtype=bool)
    n, total = int(inside.sum()), table.num_rows
    if job.lang == "zh":
        return (f"{total} 个点中 {n} 个在{'单元网格' if grids else '行政区划'}内；坐标有误 "
                f"{n_bad} 行（{job.csv_in} 按 {read_as} 读取）")
    return (f"{n} of {total} points in {'a unit grid' if grids else 'an admin area'}; {n_bad} "
            f"rows with bad coordinates ({job.csv_in} read as {read_as})")


_SHOWN = 20


def _bad_rows(job: _CsvJob, table: Any, xs: Any, ys: Any) -> Any:
    """Rows whose coordinates cannot be right, named on standard error (and in
    ``--problems``); a whole-file error when most rows look like another CRS."""
    import numpy as np

    from urbangrid.spatial.crs.faults import xy_faults

    faults = _library_call(lambda: xy_faults(xs, ys, crs=job.crs))
    bad = faults > 0
    if not bad.any():
        return bad
    numeric = int((faults != 1).sum())
    for code, hint in ((2, "swap --x and --y"), (3, "give the file's CRS with --crs, e.g. "
                       "--crs EPSG:4547"), (5, "give --crs EPSG:4326 (or GCJ-02, BD-09)")):
        n = int((faults == code).sum())
        if numeric and n > numeric / 2:
            raise click.ClickException(
                f"{job.csv_in}: {n} of {numeric} rows with numbers in {job.x!r}, {job.y!r}: "
                f"{_FAULTS[code]} ({job.crs}); {hint}")  # fmt: skip
    if numeric == 0:
        raise click.ClickException(f"{job.csv_in}: no row has numbers in both {job.x!r} and "
                                   f"{job.y!r}; check --x and --y")  # fmt: skip
    rows = np.flatnonzero(bad)
    lines = [_problem_line(job, table, int(i), int(faults[i]), xs, ys) for i in rows]
    for line in lines[:_SHOWN]:
        click.echo(f"{job.csv_in}: {line[0]}", err=True)
    if len(lines) > _SHOWN:
        more = f"; all in {job.problems}" if job.problems else "; --problems FILE lists all"
        click.echo(f"{job.csv_in}: … and {len(lines) - _SHOWN} more bad rows{more}", err=True)
    if job.problems is not None:
        _write_problems(job, [line[1] for line in lines])
    return bad


def _problem_line(job: _CsvJob, table: Any, i: int, fault: int, xs: Any,
                  ys: Any) -> tuple[str, dict[str, Any]]:
    """One bad row as a line and as a record: row (1-based, header not counted),
    field, value and reason."""
    import math

    if fault == 1:
        field = job.x if not math.isfinite(xs[i]) else job.y
        value = table[field][i].as_py()
        reason = "blank" if not str(value).strip() else _FAULTS[1]
    else:
        field = f"{job.x},{job.y}"
        value = f"{table[job.x][i].as_py()},{table[job.y][i].as_py()}"
        reason = f"{_FAULTS[fault]} ({job.crs}); the row is left blank"
    rec = {"row": i + 1, "field": field, "value": value, "reason": reason}
    return f"row {i + 1}: field {field!r} value {value!r}: {reason}", rec


def _write_problems(job: _CsvJob, records: list[dict[str, Any]]) -> None:
    import csv as csv_module

    assert job.problems is not None
    with open(job.problems, "w", newline="", encoding="utf-8") as fh:
        writer = csv_module.DictWriter(fh, ["row", "field", "value", "reason"])
        writer.writeheader()
        writer.writerows(records)
