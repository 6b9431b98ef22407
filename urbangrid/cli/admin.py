"""``urbangrid admin load``: districts, streets and communities (行政区划) with their codes.

Example (shell)::

    urbangrid admin load district.gpkg --divisions haidian_110108_divisions_2023.csv \\
        --boundaries haidian_110108_wgs84.geojson --code-column district_adcode \\
        --boundaries communities.gpkg --code-column 社区代码

The division table (``code,name,level,parent_code``: 6-digit district, 9-digit street
office, 12-digit community codes; or the statistics bureau's own tables such as
``china_streets_2023.csv.gz`` with ``code,name`` and parent columns, whose level and
parent come from the code's length) is read by
:func:`urbangrid.loaders.admin.read_divisions_csv`; ``--divisions`` may be given once
per table (provinces, cities, districts …). Each ``--boundaries`` file gives
polygons for some of those codes (any CRS it states; ``--boundaries-crs GCJ-02`` for
files from Amap or DataV, whose GeoJSON claims WGS 84). The rows go to the store's
``admin_area`` layer (upsert with history: running it again changes nothing), which
``urbangrid locate`` uses to name a point's community, street and district. Codes
zero-padded to 12 digits (the bureau's web tables: ``110108000000`` for district 110108)
are read as the code they stand for, in the tables and in ``--code-column``; a padded
code that may be two codes of the tables (Dongguan: city 4419, district 441900) is one
line asking for the unpadded code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from urbangrid.cli.stores import is_server
from urbangrid.cli.vectors import datav_message, read_vector, restate_crs

__all__ = ["admin", "check_boundary_codes", "check_divisions_header"]


@click.group("admin")
def admin() -> None:
    """Admin areas (行政区划): codes and boundaries."""


def _boundaries(files: tuple[Path, ...], columns: tuple[str, ...], codes: set[str],
                really: str | None) -> Any:
    """The polygons of every ``--boundaries`` file, one CRS, code as text; unknown codes said.

    `really` is the CRS the coordinates are truly in when the file misstates it (GCJ-02
    or BD-09 in a GeoJSON that claims WGS 84); they are then moved to WGS 84 lon/lat.
    """
    import geopandas as gpd
    import pandas as pd

    from urbangrid.errors import DataFileError

    if len(columns) not in (1, len(files)):
        raise click.UsageError(f"give one --code-column, or one per --boundaries file "
                               f"({len(files)} files, {len(columns)} columns)")
    frames = []
    for i, path in enumerate(files):
        col = columns[0] if len(columns) == 1 else columns[i]
        frame = read_vector(path, "boundary polygons")
        if col not in frame.columns:
            raise DataFileError(f"{path}: no column {col!r} holding division codes; columns "
                                f"are {', '.join(map(str, frame.columns))} (use --code-column)")
        if frame.crs is None:
            raise DataFileError(f"{path}: the file states no CRS; save it with one "
                                "(WGS 84 lon/lat is EPSG:4326)")
        datav = None if really is not None else datav_message(path, frame, "--boundaries-crs")
        if datav is not None:
            raise DataFileError(datav)
        if really is not None:
            frame = restate_crs(frame, really)
        frame = frame.rename(columns={col: "code"})[["code", "geometry"]]
        frame["code"] = _unpadded(path, col, frame["code"].astype(str).str.strip(), codes)
        check_boundary_codes(path, frame["code"], col, codes, option="--code-column")
        frames.append(frame[frame["code"].isin(codes)])
    crs = frames[0].crs
    both = pd.concat([f.to_crs(crs) for f in frames], ignore_index=True)
    dup = both["code"][both["code"].duplicated()]
    if len(dup):
        raise DataFileError(f"division code {dup.iloc[0]} has more than one polygon in "
                            f"{', '.join(map(str, files))}; keep one per code")
    return gpd.GeoDataFrame(both, geometry="geometry", crs=crs)


_DIVISION_COLUMNS = ("code", "name", "level", "parent_code")


def _unpadded(path: Path, col: str, values: Any, codes: set[str]) -> Any:
    """``values`` with 12-digit zero-padded codes (``110101000000``) replaced by the one
    division code each stands for (:func:`urbangrid.loaders.admin.unpad_code`), said on
    stderr; one line when a code may stand for two codes of the table."""
    from urbangrid.errors import DataFileError
    from urbangrid.loaders.admin import unpad_code

    short: dict[str, str] = {}
    for value in sorted(set(values) - codes):
        try:
            hit = unpad_code(value, codes)
        except ValueError as exc:
            raise DataFileError(f"{path}: column {col!r}: {exc} in the file, or leave one "
                                "of the two out of --divisions") from None
        if hit is not None:
            short[value] = hit
    if not short:
        return values
    first = next(iter(short.items()))
    click.echo(f"note: {path}: {len(short)} zero-padded code(s) in column {col!r} read as "
               f"division codes ({first[0]} as {first[1]})", err=True)
    return values.replace(short)


def check_boundary_codes(path: Path, values: Any, col: str, codes: set[str], *,
                         option: str) -> None:
    """An error when no polygon code of `path` is a division code; a warning naming the
    codes left out when only some are. `values`: the codes as text; `option`: the
    command's option that names the column."""
    from urbangrid.errors import DataFileError

    unknown = sorted(set(values) - codes)
    sample = f"{', '.join(unknown[:5])}{' …' if len(unknown) > 5 else ''}"
    if unknown and len(unknown) == len(set(values)):
        raise DataFileError(
            f"{path}: none of the {len(unknown)} codes in column {col!r} ({sample}) is a "
            f"code of the division table; give the column of 6/9/12-digit division codes "
            f"with {option}, or the matching --divisions")
    if unknown:
        click.echo(f"warning: {path}: {len(unknown)} polygon code(s) not in the division "
                   f"table, left out: {sample}", err=True)


def check_divisions_header(path: Path) -> None:
    """One line naming the expected columns when the table lacks some, and the
    encoding when it is not UTF-8 (the reader takes UTF-8 only; ``.gz`` too)."""
    import csv
    import gzip

    from urbangrid.errors import DataFileError
    from urbangrid.loaders.encoding import detect_csv_encoding

    if path.suffix == ".gz":
        try:
            with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
                header = [h.strip() for h in next(csv.reader(fh), [])]
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            raise DataFileError(f"{path}: cannot read as UTF-8 text in gzip ({exc}); save "
                                "the division table as UTF-8 CSV") from None
    else:
        choice = detect_csv_encoding(path)
        if choice.encoding.upper().replace("-", "") not in ("UTF8", "UTF8SIG"):
            raise DataFileError(f"{path}: the text is {choice.encoding} ({choice.reason}); "
                                "save the division table as UTF-8")
        with open(path, encoding=choice.encoding, newline="") as fh:
            header = [h.strip() for h in next(csv.reader(fh), [])]
    missing = [c for c in _DIVISION_COLUMNS[:2] if c not in header]
    if missing:
        raise DataFileError(
            f"{path}: no column {', '.join(missing)}; a division table has the columns "
            f"{','.join(_DIVISION_COLUMNS)} (level: province, city, district, street or "
            f"community, or empty to take it from the code's length; parent_code may be "
            f"empty); this file has {','.join(header)}")


def _division_tables(files: tuple[Path, ...]) -> Any:
    """Every ``--divisions`` table, checked, as one; a code in two tables is an error."""
    import pandas as pd

    from urbangrid.errors import DataFileError
    from urbangrid.loaders.admin import read_divisions_csv

    tables = []
    for path in files:
        check_divisions_header(path)
        tables.append(read_divisions_csv(path).assign(_file=path.name))
    table = pd.concat(tables, ignore_index=True)
    dup = table[table["code"].duplicated(keep=False)]
    if len(dup):
        code = dup["code"].iloc[0]
        where = " and ".join(dup.loc[dup["code"] == code, "_file"])
        raise DataFileError(f"division code {code} is in {where}; give each code once")
    return table.drop(columns="_file")


@admin.command("load")
@click.argument("store")
@click.option("--divisions", "division_files", required=True, multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Division code CSV (or .csv.gz): code,name,level,parent_code, or the "
                   "statistics bureau's code,name,… tables (level from the code's length); "
                   "repeatable.")
@click.option("--boundaries", "boundary_files", multiple=True,
              type=click.Path(exists=True, path_type=Path),
              help="Polygon file (any format GDAL reads) of some divisions; repeatable.")
@click.option("--code-column", "code_columns", multiple=True, default=("code",),
              show_default=True, help="Column of the division code in --boundaries; once, "
              "or once per --boundaries file.")
@click.option("--boundaries-crs", "boundaries_crs", default=None,
              help="CRS the boundary coordinates really are in, whatever the files state: "
                   "GCJ-02 for Amap/DataV downloads, BD-09 for Baidu; moved to WGS 84.")
@click.option("--source", default=None, help="Provenance written with the rows.")
def load_admin(store: str, division_files: tuple[Path, ...], boundary_files: tuple[Path, ...],
               code_columns: tuple[str, ...], boundaries_crs: str | None,
               source: str | None) -> None:
    """Load STORE's admin areas: division codes, and boundaries where given."""
    import urbangrid
    from urbangrid.loaders.admin import admin_areas_frame

    table = _division_tables(division_files)
    name = source or ", ".join(f.name for f in division_files)
    polygons = (_boundaries(boundary_files, code_columns, set(table["code"].astype(str)),
                            boundaries_crs) if boundary_files else None)
    frame = admin_areas_frame(table, polygons, source=name)
    # Everything is read and checked above: a bad input never creates or changes a store.
    new_store = not is_server(store) and not Path(store).exists()
    with urbangrid.connect(store) as s:
        result = s.write("admin_area", frame, "upsert", source=name)
    if new_store:
        click.echo(f"created the store {store}", err=True)
    levels = table["level"].value_counts()
    named = ("province", "city", "district", "street", "community")
    shaped = int(frame.geometry.notna().sum() - frame.geometry.is_empty.sum())
    click.echo(f"{s.target}: {len(frame)} admin areas ("
               + ", ".join(f"{levels[k]} {k}" for k in named if k in levels)
               + f"), {shaped} with a boundary: {result.inserted} new, {result.updated} "
               f"changed, {result.unchanged} unchanged")
