"""``urbangrid locate``: a report's coordinates → unit grid, work grid, community, street.

The store's grids are read and indexed once, then saved in the cache folder
(:mod:`urbangrid.spatial.index.saved`); later commands open that file instead of reading
the store, and rebuild it only when the store changed. A point in the index CRS, or a
GCJ-02/BD-09 point against grids in WGS84/CGCS2000 degrees, is then answered without
importing pandas or pyproj.

Exit codes: 0 the point is in a unit grid (or, with ``--csv``, the file was written);
3 the point is in no unit grid (the lines still give any community, street or district
polygon covering it); 1 an error (one line); 2 a usage error.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

__all__ = ["EXIT_OUTSIDE", "locate"]

EXIT_OUTSIDE = 3
"""Exit code of ``urbangrid locate STORE LON LAT`` for a point in no unit grid."""


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
            raise click.ClickException(
                f"{target}: no such store (a GeoPackage made by `urbangrid db init` or "
                "`urbangrid grids generate`)"
            )
        return file_stamp(target), True
    return None, False


def _open_store(target: str) -> Any:
    import inspect

    import urbangrid

    kwargs: dict[str, Any] = {"migrate": False}
    if "readonly" in inspect.signature(urbangrid.connect).parameters:
        kwargs["readonly"] = True
    return urbangrid.connect(target, **kwargs)


def _server_stamp(store: Any, target: str) -> str:
    from urbangrid.spatial.index.engine import latest_grid_version_row

    counts = [store.count(layer) for layer in ("unit_grid", "admin_area")]
    return f"{target}|{latest_grid_version_row(store)}|{counts}"


def _lookup(target: str) -> Any:
    """The saved lookup of ``target``, built and saved first when missing or stale."""
    from urbangrid.spatial.index.saved import QuickLookup, cache_file, write_hierarchy

    stamp, is_file = _stamp_and_store(target)
    if is_file and stamp is not None:
        found = QuickLookup.open(cache_file("hierarchy", target, stamp), stamp)
        if found is not None:
            return found
    from urbangrid.spatial.admin.hierarchy import GridHierarchy

    with _open_store(target) as s:
        if not is_file:
            stamp = _server_stamp(s, target)
            found = QuickLookup.open(cache_file("hierarchy", target, stamp), stamp)
            if found is not None:
                return found
        hierarchy = GridHierarchy.from_store(s)
    assert stamp is not None
    path = cache_file("hierarchy", target, stamp)
    if write_hierarchy(hierarchy, path, stamp):
        found = QuickLookup.open(path, stamp)
        if found is not None:
            return found
    return _InMemory(hierarchy)


class _InMemory:
    """A hierarchy the cache folder could not hold: answered by the library itself."""

    def __init__(self, hierarchy: Any) -> None:
        self._h = hierarchy

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
              help="Locate every row of this CSV instead of one point.")
@click.option("--x", "x", default="lon", show_default=True, help="CSV column of x/longitude.")
@click.option("--y", "y", default="lat", show_default=True, help="CSV column of y/latitude.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Output CSV (default: standard output).")
def locate(store: str, lon: Any, lat: Any, crs: str, csv_in: Path | None,
           x: str, y: str, output: Path | None) -> None:
    """Unit grid, work grid, community, street and district of LON LAT (or of a CSV).

    LON LAT may be given as two numbers (negative ones too) or as LON,LAT. Exit code 0:
    in a unit grid; 3: in no unit grid (said on standard error; any community, street
    or district covering the point is still printed); 1: an error.
    """
    if csv_in is None:
        if isinstance(lon, tuple) and lat is None:
            lon, lat = lon
        if not isinstance(lon, float) or not isinstance(lat, float):
            raise click.UsageError("give LON LAT (two numbers, or LON,LAT), or --csv FILE")
        _locate_point(store, lon, lat, crs)
        return
    if lon is not None:
        raise click.UsageError("give either LON LAT or --csv FILE, not both")
    _locate_csv(store, csv_in, x, y, crs, output)


def _locate_point(store: str, lon: float, lat: float, crs: str) -> None:
    lookup = _lookup(store)
    found = lookup.locate(lon, lat, crs=crs)
    if found is None:
        found = lookup.hierarchy().locate(lon, lat, crs=crs)
    for key, value in found.items():
        click.echo(f"{key}\t{value if value is not None else ''}")
    if found["grid_code"] is None:
        click.echo(f"{lon}, {lat} ({crs}) is outside every unit grid of {store}", err=True)
        sys.exit(EXIT_OUTSIDE)


def _read_table(csv_in: Path, x: str, y: str) -> Any:
    """The CSV as text columns (kept as written), checked for the x and y columns."""
    import csv as csv_module

    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(csv_in, newline="", encoding="utf-8-sig") as fh:
        header = next(csv_module.reader(fh), [])
    for col in (x, y):
        if col not in header:
            raise click.UsageError(f"{csv_in}: no column {col!r}; columns are "
                                   f"{', '.join(header)} (use --x/--y)")
    try:
        return pacsv.read_csv(csv_in, convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False,
            quoted_strings_can_be_null=False))  # fmt: skip
    except pa.ArrowInvalid as exc:
        raise click.ClickException(f"{csv_in}: not a CSV table ({exc}); fix the file") from None


# pyarrow's pa.array(), cast() and to_numpy() import pandas (0.2-0.4 s) when it is
# installed; the helpers below build and read Arrow buffers directly instead.


def _coordinates(csv_in: Path, table: Any, x: str, y: str) -> tuple[Any, Any]:
    """Floats of the x and y columns; NaN where a value is not a number."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = list(dict.fromkeys((x, y)))
    try:
        typed = pacsv.read_csv(csv_in, convert_options=pacsv.ConvertOptions(
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


def _locate_csv(store: str, csv_in: Path, x: str, y: str, crs: str,
                output: Path | None) -> None:
    import numpy as np

    lookup = _lookup(store)
    table = _read_table(csv_in, x, y)
    xs, ys = _coordinates(csv_in, table, x, y)
    xs = np.ascontiguousarray(xs, dtype=np.float64)
    ys = np.ascontiguousarray(ys, dtype=np.float64)
    for name, column in _hierarchy_columns(lookup, xs, ys, crs).items():
        if name in table.column_names:  # as pandas would: the found value replaces it
            table = table.drop_columns([name])
        table = table.append_column(name, column)
    _write_csv(table, output)
    found_n = table.num_rows - table["grid_code"].null_count
    click.echo(f"{found_n} of {table.num_rows} points in a unit grid", err=True)
