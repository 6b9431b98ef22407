"""Command line: ``urbangrid geocode``, ``urbangrid reverse`` and ``urbangrid gazetteer load``.

The three click objects here are wired into :mod:`urbangrid.cli.main`: ``geocode_command``,
``reverse_command`` and ``gazetteer_group``. ``gazetteer load`` builds the gazetteer
from reference sources (OSM, division codes, door plates); a place *survey* file is
loaded with ``urbangrid load places FILE --store STORE``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

import click

from urbangrid.cli.lang import header, lang_option, note, resolve_lang
from urbangrid.cli.outputs import refuse_inputs
from urbangrid.cli.stores import GAZETTEER, empty_store_message, open_store
from urbangrid.cli.vectors import read_vector

__all__ = ["EXIT_NOT_FOUND", "gazetteer_group", "geocode_command",
           "reverse_command"]

#: Exit code of ``geocode`` and ``reverse`` when nothing matches (not an error: the
#: address or point is simply unknown to the gazetteer).
EXIT_NOT_FOUND = 3


def _point(values: tuple[str, ...]) -> tuple[float, float] | None:
    """``LON LAT``, ``LON,LAT`` or nothing; negative numbers welcome."""
    text = " ".join(values).replace(",", " ").split()
    if not text:
        return None
    try:
        lon, lat = (float(v) for v in text)
    except ValueError:
        raise click.UsageError(f"{' '.join(values)!r}: expected LON LAT or LON,LAT as "
                               "numbers, e.g. 116.3262 39.9928 or -71.0589,42.3601") from None
    return lon, lat


def _bar(total: int, label: str, quiet: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit=" rows", file=sys.stderr,
                disable=True if quiet else None, dynamic_ncols=True, leave=False)


def _gazetteer(store: Any) -> Any:
    from urbangrid.spatial.geocoding.gazetteer import Gazetteer

    if store.count("place") == 0:
        raise click.ClickException(empty_store_message(
            store.target, "places to match (the place layer is empty)", GAZETTEER))
    return Gazetteer.from_store(store)


def _read_addresses(path: Path, encoding: str | None) -> pd.DataFrame:
    """The address CSV (.gz/.bz2/.xz too) as text, its encoding decided and said."""
    import io

    import pandas as pd

    from urbangrid.cli.textfiles import ragged_line, raw_bytes, utf8_text

    data, read_as = utf8_text(path, raw_bytes(path), encoding)
    click.echo(f"{path} read as {read_as}", err=True)
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False,
                            index_col=False, nrows=0)
        ragged = ragged_line(data, len(frame.columns))
        if ragged:
            raise click.ClickException(f"{path}: {ragged}")
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise click.ClickException(f"{path}: not a CSV table ({exc}); fix the file") from None


def _write(frame: pd.DataFrame, output: str | None) -> None:
    if output:
        frame.to_csv(output, index=False, encoding="utf-8")
        click.echo(f"wrote {len(frame)} rows to {output}", err=True)
    else:
        frame.to_csv(sys.stdout, index=False)


@click.command("geocode")
@click.argument("store")
@click.argument("address", required=False)
@click.option("--csv", "csv_in", type=click.Path(exists=True, dir_okay=False),
              help="Geocode every row of this CSV file instead.")
@click.option("--column", default="address", show_default=True,
              help="Column of --csv holding the address.")
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Write the --csv results here (default: standard output).")
@click.option("--limit", default=1, show_default=True, help="Candidates to list.")
@click.option("--encoding", default=None,
              help="Text encoding of --csv (default: UTF-8, else GBK, else GB18030, decided "
                   "by decoding the whole file and said on standard error).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@lang_option
def geocode_command(
    store: str, address: str | None, csv_in: str | None, column: str,
    output: str | None, limit: int, encoding: str | None, quiet: bool, lang: str | None,
) -> None:
    """Address → WGS84 longitude/latitude, match level and confidence (地址匹配).

    Exit code 0: a match (its confidence is halved, and the reason says why, when the
    address names areas that contradict each other); 3: no match (a road that is only
    close to a known one, 清华东路 for 清华路, is no match); 1: an error.
    """
    import pandas as pd

    from urbangrid.spatial.geocoding.forward import geocode, geocode_many

    if (address is None) == (csv_in is None):
        raise click.UsageError("give one ADDRESS or --csv FILE")
    refuse_inputs([(f"-o {output}", output)], [("STORE", store), ("--csv", csv_in)])
    with open_store(store, then=GAZETTEER) as s:
        gaz = _gazetteer(s)
    if csv_in is not None:
        frame = _read_addresses(Path(csv_in), encoding)
        if column not in frame:
            raise click.ClickException(
                f"{csv_in}: no column {column!r}; columns are {list(frame.columns)}")
        with _bar(len(frame), "geocoding", quiet) as bar:
            res = geocode_many(gaz, frame[column].tolist(), progress=bar.update)
        out = pd.concat([frame.reset_index(drop=True),
                         pd.DataFrame(res.drop(columns=["geometry", "query"]))], axis=1)
        _write(out, output)
        return
    assert address is not None
    lang = resolve_lang(lang)
    r = geocode(gaz, address, limit=limit)
    if not r.found:
        click.echo(f"无匹配：{r.reason_zh}" if lang == "zh" else f"none: {r.reason}")
        sys.exit(EXIT_NOT_FOUND)
    if lang == "zh":
        click.echo("\t".join(header(h, "zh") for h in ("level", "confidence", "lon", "lat",
                                                        "name")))
    for c in r.candidates[:limit]:
        level, how = (_LEVEL_ZH.get(c.level, c.level), c.note_zh) if lang == "zh" \
            else (c.level, c.note)
        click.echo(f"{level}\t{c.confidence:.2f}\t{c.lon:.6f}\t{c.lat:.6f}\t{c.name}"
                   + (f"\t{how}" if how else ""))
    if r.unknown_plate:  # a street's middle at 0.50 otherwise reads as the door found
        click.echo(_unknown_plate_note(r, lang, store))


#: Match levels (urbangrid.spatial.geocoding.forward.LEVELS) as printed under ``zh``.
_LEVEL_ZH = {"plate": "门牌", "interpolated": "门牌插值", "poi": "兴趣点", "street": "街巷",
             "area": "行政区划"}

def _unknown_plate_note(r: Any, lang: str, store: str) -> str:
    """The note under a result that is not at the plate the address gave (the numbers
    the street does have: ``r.known_plates``); for a street whose plates the gazetteer
    lacks altogether, how to load them."""
    from urbangrid.cli.stores import describe

    street = r.level == "street"
    known = r.known_plates
    load = f"`urbangrid gazetteer load {describe(store)} --plates CSV`"
    if lang == "zh":
        where = f"{r.name}的中点" if street else str(r.name)
        have = (f"（{r.name}已知门牌：{known[0]}号至{known[1]}号）" if known else
                f"（{r.name}没有任何门牌，可用 {load} 导入门牌）" if street else "")
        return note(f"地名地址库中没有门牌 {r.unknown_plate}{have}，上面的坐标是{where}，"
                    "不是该门牌的位置", lang)
    where = f"the middle of {r.name}" if street else str(r.name)
    have = (f" (known plates on {r.name}: {known[0]} to {known[1]})" if known else
            f" (nor any plate on {r.name}: {load} loads door plates)" if street else "")
    return note(f"no plate {r.unknown_plate} in the gazetteer{have}: the point above is "
                f"{where}, not that door", lang)


@click.command("reverse", context_settings={"ignore_unknown_options": True})
@click.argument("store")
@click.argument("point", nargs=-1)
@click.option("--crs", default="EPSG:4326", show_default=True,
              help="CRS of the points: EPSG:4326, GCJ-02, BD-09, EPSG:4547, …")
@click.option("--csv", "csv_in", type=click.Path(exists=True, dir_okay=False),
              help="Reverse geocode every row of this CSV file instead.")
@click.option("--x", "xcol", default="lon", show_default=True, help="x/longitude column.")
@click.option("--y", "ycol", default="lat", show_default=True, help="y/latitude column.")
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Write the --csv results here (default: standard output).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@lang_option
def reverse_command(
    store: str, point: tuple[str, ...], crs: str, csv_in: str | None,
    xcol: str, ycol: str, output: str | None, quiet: bool, lang: str | None,
) -> None:
    """Point → nearest door plate or POI, described as "成府路55号东50米" (逆地理编码).

    POINT is ``LON LAT`` or ``LON,LAT`` in the units of --crs (degrees for WGS 84,
    GCJ-02, BD-09); negative numbers need no ``--``. Exit code 3 when nothing lies
    within 500 m.
    """
    import pandas as pd

    from urbangrid.errors import UrbangridError
    from urbangrid.spatial.geocoding.reverse import reverse_many

    xy = _point(point)
    if (csv_in is None) == (xy is None):
        raise click.UsageError("give LON LAT (or LON,LAT) or --csv FILE")
    refuse_inputs([(f"-o {output}", output)], [("STORE", store), ("--csv", csv_in)])
    with open_store(store, then=GAZETTEER) as s:
        gaz = _gazetteer(s)
    try:
        if csv_in is not None:
            frame = pd.read_csv(csv_in)
            missing = [c for c in (xcol, ycol) if c not in frame]
            if missing:
                raise click.ClickException(
                    f"{csv_in}: no column(s) {missing}; columns are {list(frame.columns)}")
            chunk = 50_000
            parts = []
            with _bar(len(frame), "reverse geocoding", quiet) as bar:
                for start in range(0, len(frame), chunk):
                    sub = frame.iloc[start:start + chunk]
                    parts.append(reverse_many(gaz, sub[xcol].to_numpy(float),
                                              sub[ycol].to_numpy(float), crs=crs))
                    bar.update(len(sub))
            res = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
            res = res.rename(columns={"lon": "lon_wgs84", "lat": "lat_wgs84"})
            _write(pd.concat([frame.reset_index(drop=True), res], axis=1), output)
            return
        assert xy is not None  # checked above
        row = reverse_many(gaz, [xy[0]], [xy[1]], crs=crs).iloc[0]
    except UrbangridError as exc:
        raise click.ClickException(str(exc)) from None
    _print_reverse(row, resolve_lang(lang))


def _print_reverse(row: Any, lang: str) -> None:
    if row["description"] is None:
        click.echo("无: 500 米内没有门牌或兴趣点" if lang == "zh"
                   else "none: no door plate or POI within 500 m")
        sys.exit(EXIT_NOT_FOUND)
    metres = "米" if lang == "zh" else "m"
    click.echo(row["description"])
    click.echo(f"{header('street', lang)}\t{row['street']}\t"
               f"{row['street_distance_m']:.0f} {metres}")
    click.echo(f"{header('anchor', lang)}\t{row['place_id']}\t{row['distance_m']:.0f} "
               f"{metres} {row['direction'] or ''}")
    for k in ("grid_code", "community_code"):
        if row[k] is not None:
            click.echo(f"{header(k, lang)}\t{row[k]}")


def _division_bounds(divisions: str, boundaries: str | None, col: str) -> Any:
    """The ``--boundaries`` polygons, checked against the ``--divisions`` table first."""

    from urbangrid.cli.admin import check_boundary_codes, check_divisions_header
    from urbangrid.errors import DataFileError
    from urbangrid.loaders.admin import read_divisions_csv

    check_divisions_header(Path(divisions))
    if not boundaries:
        return None
    bounds = read_vector(boundaries, "boundary polygons")
    if col not in bounds.columns:
        raise DataFileError(f"{boundaries}: no column {col!r} holding division codes; columns "
                            f"are {', '.join(map(str, bounds.columns))} "
                            "(use --boundary-code-column)")  # fmt: skip
    codes = set(read_divisions_csv(divisions)["code"].astype(str))
    check_boundary_codes(Path(boundaries), bounds[col].astype(str).str.strip(), col, codes,
                         option="--boundary-code-column")
    return bounds


@click.group("gazetteer")
def gazetteer_group() -> None:
    """Build the place gazetteer (地名地址库) in a store."""


@gazetteer_group.command("load")
@click.argument("store")
@click.option("--osm", "osm_files", multiple=True, type=click.Path(exists=True),
              help="OSM XML extract (.osm/.osm.bz2); repeat for several.")
@click.option("--divisions", type=click.Path(exists=True),
              help="Division code CSV (code,name,level,parent_code).")
@click.option("--boundaries", type=click.Path(exists=True),
              help="Division polygons (any format GDAL reads) for --divisions.")
@click.option("--boundary-code-column", default="code", show_default=True)
@click.option("--plates", "plate_files", multiple=True, type=click.Path(exists=True),
              help="Door-plate CSV (street,number,x,y); repeat for several.")
@click.option("--plates-crs", default="EPSG:4326", show_default=True,
              help="CRS of the door-plate x/y.")
@click.option("--encoding", default="utf-8-sig", show_default=True,
              help="Encoding of the door-plate CSV (gbk for Chinese Excel).")
@lang_option
def gazetteer_load(
    store: str, osm_files: tuple[str, ...], divisions: str | None, boundaries: str | None,
    boundary_code_column: str, plate_files: tuple[str, ...], plates_crs: str, encoding: str,
    lang: str | None,
) -> None:
    """Load places from OSM extracts, division codes and door-plate files (upsert)."""

    from urbangrid.errors import UrbangridError
    from urbangrid.loaders.admin import read_divisions_csv
    from urbangrid.loaders.osm import _osmnx_xml_warnings
    from urbangrid.spatial.geocoding.gazetteer import (
        load_places,
        merge_places,
        places_from_divisions,
        places_from_osm,
        read_door_plates_csv,
    )

    frames = []
    try:
        for f in osm_files:
            with _osmnx_xml_warnings():  # an extract osmnx wrote (Shanghai) reads correctly
                frames.append(places_from_osm(f))
        if divisions:
            bounds = _division_bounds(divisions, boundaries, boundary_code_column)
            frames.append(places_from_divisions(
                read_divisions_csv(divisions), bounds,
                boundary_code_column=boundary_code_column, source=Path(divisions).name))
        for f in plate_files:
            frames.append(read_door_plates_csv(f, crs=plates_crs, encoding=encoding))
        if not frames:
            raise click.UsageError("give at least one of --osm, --divisions, --plates")
        places = merge_places(*frames)
        with open_store(store, write=True, create=True) as s:
            result = load_places(s, places)
    except UrbangridError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(_load_counts(places, result, resolve_lang(lang)))


def _load_counts(places: Any, result: Any, lang: str) -> str:
    """What ``gazetteer load`` wrote, in `lang`: the places by type (under ``zh`` by
    their terms, :data:`~urbangrid.spatial.geocoding.gazetteer.PLACE_TYPES`) and the
    write's counts."""
    from urbangrid.spatial.geocoding.gazetteer import PLACE_TYPES

    r, counts = result, places.place_type.value_counts().to_dict()
    if lang == "zh":
        types = "，".join(f"{PLACE_TYPES.get(k, k)} {n}" for k, n in counts.items())
        return (f"{len(places)} 个地点（{types}）：新增 {r.inserted}，变更 {r.updated}，"
                f"未变 {r.unchanged}")
    return (f"{len(places)} places {counts}: {r.inserted} new, {r.updated} changed, "
            f"{r.unchanged} unchanged")


