"""``urbangrid grids``: generate, validate and compare unit grid (单元网格) versions."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from urbangrid.cli.lang import header, lang_option, resolve_lang
from urbangrid.cli.outputs import refuse_inputs
from urbangrid.cli.stores import UNIT_GRIDS, describe, empty_store_message, is_server, open_store
from urbangrid.cli.vectors import read_vector

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["grids"]


class _stages:
    """A tqdm bar over named stages on stderr; off with --quiet or when not a terminal."""

    def __init__(self, names: list[str], quiet: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=len(names), desc="grids", unit="stage", file=sys.stderr,
                        disable=True if quiet else None, leave=False, dynamic_ncols=True)
        self.started = False

    def step(self, name: str) -> None:
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_description(f"grids: {name}")

    def close(self) -> None:
        self.bar.update(1)
        self.bar.close()


@click.group()
def grids() -> None:
    """Unit grids (单元网格) and work grids (工作网格)."""


def _codes(value: str | None, n_default: int) -> list[str]:
    """``--community-codes``: the path of a CSV file with a ``code`` column, or else a
    comma-separated list of codes (a value that is no file is read as the list)."""
    if value is None:
        # Province 99 does not exist in GB/T 2260: play codes cannot clash with real ones.
        return [f"990101001{k:03d}" for k in range(1, n_default + 1)]
    # os.path.isfile, not Path.is_file: a long code list is no file name and must not
    # raise "File name too long" (ENAMETOOLONG), as Path.is_file does.
    if os.path.isfile(value):
        import pandas as pd

        try:
            table = pd.read_csv(value, dtype=str)
        except pd.errors.EmptyDataError:
            table = pd.DataFrame()
        if "code" not in table.columns:
            raise click.BadParameter(
                f"{value}: no column 'code' (the file has "
                f"{', '.join(map(str, table.columns)) or 'no columns'}); give a CSV with a "
                "'code' column, or the codes comma-separated",
                param_hint="--community-codes")
        return [c.strip() for c in table["code"].dropna()]
    items = [c.strip() for c in value.split(",") if c.strip()]
    if len(items) == 1 and not items[0].isdigit():  # a typed file name that is not there
        raise click.BadParameter(
            f"{value!r} is neither a file nor a 12-digit community code (社区代码); give "
            "a CSV with a 'code' column, or the codes comma-separated",
            param_hint="--community-codes")
    return items


def _check_community_codes(path: Path, comms: gpd.GeoDataFrame, column: str) -> None:
    """One line naming the file, feature (from 1), column and value when ``column`` is
    missing or holds a code that is not 12 digits, before any grid is cut."""
    from urbangrid.errors import DataFileError

    cols = ", ".join(str(c) for c in comms.columns if c != comms.geometry.name)
    if column not in comms.columns:
        raise DataFileError(f"{path}: no column {column!r} of community codes; give "
                            f"--code-column one of {cols}")
    codes = comms[column].astype("string").str.strip().str.removesuffix(".0")
    bad = ~codes.fillna("").str.fullmatch(r"\d{12}")
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise DataFileError(
            f"{path}: feature {i + 1} of {len(comms)}: field {column!r} value "
            f"{str(comms[column].iloc[i])!r}: a community code (社区代码) has 12 digits"
            f"{f' ({int(bad.sum())} such features)' if bad.sum() > 1 else ''}; give "
            f"--code-column the column of 12-digit codes (the file has {cols})")
    from urbangrid.loaders.admin import unpad_code

    padded = codes.map(unpad_code)  # 110108001000: street 110108001 padded, no community
    if padded.notna().any():
        i = int(padded.notna().to_numpy().argmax())
        raise DataFileError(
            f"{path}: feature {i + 1} of {len(comms)}: field {column!r} value {codes.iloc[i]!r}"
            f" is {padded.iloc[i]} zero-padded to 12 digits, not a community code (a "
            f"community's last 3 digits are never 000); give the communities' own codes")


def _work_grid_hint(unit: gpd.GeoDataFrame, n_work: int) -> str:
    """What to do when a community would get more work grids than the two-digit serial of
    their codes numbers (W01-W99): work grids are spread over communities by unit grids."""
    per = unit.groupby("community_code").size()
    most = int(per.max())
    fits = 99 * len(unit) // most  # work grids are shared out about as unit grids are
    return (f"a community holds at most 99 work grids (the 2-digit serial of their codes), "
            f"and {n_work} work grids over {len(unit)} unit grids give community "
            f"{per.idxmax()} ({most} unit grids) more; give about --work-grids {fits} or "
            "fewer, or smaller communities")


def _stored_streets(store: str) -> gpd.GeoDataFrame:
    """The street centrelines STORE already holds (opened read-only), or a one-line error."""
    from urbangrid.errors import UrbangridError

    if not is_server(store) and not Path(store).is_file():
        raise click.UsageError(f"{store} holds no streets yet: give --streets FILE")
    with open_store(store) as s:
        lines = s.read("street_centreline")
    if len(lines) == 0:
        raise UrbangridError(f"{describe(store)} holds no streets: give --streets FILE, or load "
                             f"them first with `urbangrid load streets FILE --store "
                             f"{describe(store)}`")
    return lines


@grids.command("generate")
@click.argument("store")
@click.option("--osm", "osm", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="OSM extract (.osm/.osm.bz2): streets, and a documented partition of "
                   "it playing communities.")
@click.option("--streets", type=click.Path(exists=True, path_type=Path),
              help="Street centrelines file (any format GDAL reads); default the streets "
                   "STORE already holds.")
@click.option("--communities", type=click.Path(exists=True, path_type=Path),
              help="Community polygons file with a 12-digit code column.")
@click.option("--code-column", default="community_code", show_default=True)
@click.option("--community-codes", default=None,
              help="With --osm: comma-separated 12-digit codes, or a CSV with a 'code' "
                   "column, handed to the partition cells in reading order.")
@click.option("--version", "version", required=True, help="Label of the new grid version.")
@click.option("--target-m2", default=10_000.0, show_default=True, help="Target grid area, m².")
@click.option("--tolerance", default=0.5, show_default=True,
              help="Relative size tolerance around the target.")
@click.option("--work-grids", "work_count", type=int, default=None,
              help="Number of work grids (default: one per 5 unit grids).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def generate(
    store: str, osm: Path | None, streets: Path | None, communities: Path | None,
    code_column: str, community_codes: str | None, version: str, target_m2: float,
    tolerance: float, work_count: int | None, quiet: bool,
) -> None:
    """Generate unit grids and work grids into STORE as a new version."""
    from urbangrid.demo.inputs import osm_extract_inputs
    from urbangrid.errors import GridCodeError
    from urbangrid.spatial.grids.generate import GENERATE_STAGES, generate_unit_grids
    from urbangrid.spatial.grids.versions import load_unit_grids, load_work_grids
    from urbangrid.spatial.grids.work import dissolve_work_grids, group_work_grids

    t0 = time.perf_counter()
    bar = _stages(["read", *GENERATE_STAGES, "work grids", "store"], quiet)
    bar.step("read")
    if osm is not None:
        codes = _codes(community_codes, 99)
        from urbangrid.loaders.admin import unpad_code

        bad = [c for c in codes if not (c.isdigit() and len(c) == 12) or unpad_code(c)]
        if bad:
            padded = unpad_code(bad[0])
            raise click.BadParameter(f"{bad[0]!r} is not a 12-digit community code (社区代码)"
                                     + (f": it is {padded} zero-padded" if padded else ""),
                                     param_hint="--community-codes")
        try:
            inputs = osm_extract_inputs(osm, codes)
        except GridCodeError as exc:  # the partition's cell count and the codes disagree
            hint = "give one 12-digit code per cell, comma-separated or a CSV with a code column"
            raise click.BadParameter(f"{exc}; {hint}", param_hint="--community-codes") from None
        lines, comms, ways, note = (inputs.streets, inputs.communities,
                                    inputs.internal_ways, inputs.note)
        code_column, source = "community_code", osm.name
    elif communities is not None:
        comms, ways = read_vector(communities, "community polygons"), None
        _check_community_codes(communities, comms, code_column)
        if streets is not None:
            lines, source = read_vector(streets, "street centrelines"), streets.name
        else:
            lines, source = _stored_streets(store), f"{describe(store)} street_centreline"
        note = f"streets {source}, communities {communities.name}"
    else:
        raise click.UsageError("give --osm FILE, or --communities FILE (with --streets FILE "
                               "unless STORE already holds streets)")
    out = generate_unit_grids(lines, comms, target_area_m2=target_m2, tolerance=tolerance,
                              internal_ways=ways, code_column=code_column, progress=bar.step)
    bar.step("work grids")
    unit = out.grids
    n_work = work_count or max(1, round(len(unit) / 5))
    try:
        assignment = group_work_grids(unit, target_count=n_work)
    except GridCodeError as exc:  # a community past the 2-digit work grid serial (W99)
        raise GridCodeError(f"{exc}: {_work_grid_hint(unit, n_work)}") from None
    unit = unit.merge(assignment[["grid_code", "work_grid_code"]], on="grid_code")
    work = dissolve_work_grids(out.grids, assignment)
    bar.step("store")
    with open_store(store, write=True, create=True) as s:
        summary = load_unit_grids(s, unit, version=version, source=source, note=note)
        load_work_grids(s, work, version=version, at=summary.loaded_at, source=source)
        no_streets = s.count("street_centreline") == 0
    bar.close()
    click.echo(
        f"{len(unit)} unit grids, median {out.stats['median_area_m2']:.0f} m², "
        f"{len(work)} work grids, in {out.stats['metric_crs']}; coverage error "
        f"{out.stats['coverage_error']:.1e}; version {version!r}: "
        f"{summary.n_added} added, {summary.n_changed} changed, {summary.n_removed} removed "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    if len(out.fixes):
        click.echo(f"community coverage fixes applied ({len(out.fixes)}):")
        click.echo(out.fixes.to_string(index=False))
    if no_streets:  # the grids were cut from a file's streets; route and plan read the store's
        click.echo("note: the store holds no streets yet; route, plan and staffing need them: "
                   f"`urbangrid load streets {osm or streets or 'FILE'} --store "
                   f"{describe(store)}`")


@grids.command("validate")
@click.argument("store")
@click.option("--communities", type=click.Path(exists=True, path_type=Path),
              help="Community polygons to check straddling against.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="QA report GeoPackage (a CSV is written beside it).")
@click.option("--version", "version", default=None, help="Grid version (default: current).")
def validate(store: str, communities: Path | None, out: Path, version: str | None) -> None:
    """Check STORE's unit grids like a QA tool; write the problems for QGIS."""
    import pyproj

    if out.suffix.lower() != ".gpkg":  # the report is a GeoPackage whatever the name says
        raise click.BadParameter(f"{out}: give a .gpkg path (the QA layer is a GeoPackage; "
                                 "a CSV is written beside it)", param_hint="--out")
    if not out.parent.is_dir():
        raise click.BadParameter(f"{out}: the folder {out.parent} does not exist",
                                 param_hint="--out")
    refuse_inputs([(f"--out {out}", out), (f"--out {out}", out.with_suffix(".csv"))],
                  [("STORE", store), ("--communities", communities)])

    from urbangrid.spatial.grids.validate import validate_unit_grids, write_qa_report
    from urbangrid.spatial.grids.versions import read_unit_grids

    with open_store(store, then=UNIT_GRIDS) as s:
        unit = read_unit_grids(s, version=version)
    if unit.empty:
        raise click.ClickException(empty_store_message(store, "unit grids", UNIT_GRIDS))
    metric = pyproj.CRS.from_user_input(unit["metric_crs"].dropna().iloc[0])
    comms = (None if communities is None
             else read_vector(communities, "community polygons").to_crs(metric))
    report = validate_unit_grids(unit.to_crs(metric), comms)
    gpkg, csv = write_qa_report(report, out, csv=out.with_suffix(".csv"))
    counts = report["check"].value_counts().to_dict() if "check" in report else {}
    click.echo(f"{len(unit)} grids checked: {len(report)} problem(s) {counts}; "
               f"report {gpkg} and {csv}")


@grids.command("diff")
@click.argument("store")
@click.argument("old")
@click.argument("new")
@click.option("--csv", "csv", type=click.Path(path_type=Path), default=None,
              help="Write the grid changes to this CSV.")
@lang_option
def diff(store: str, old: str, new: str, csv: Path | None, lang: str | None) -> None:
    """List grids added, removed and reshaped from version OLD to NEW, and features that move."""
    from urbangrid.spatial.grids.versions import diff_versions

    refuse_inputs([(f"--csv {csv}", csv)], [("STORE", store)])
    with open_store(store, then=UNIT_GRIDS) as s:
        d = diff_versions(s, old, new)
    lang = resolve_lang(lang)
    click.echo(f"{len(d.grids)} 个网格变更，{len(d.moved)} 个要素改变所属网格" if lang == "zh"
               else f"{len(d.grids)} grid change(s), {len(d.moved)} feature(s) change grid")
    for table in (d.grids, d.moved):
        if len(table):
            shown = table.rename(columns={c: header(str(c), lang) for c in table.columns})
            click.echo(shown.to_string(index=False, max_rows=40))
    if csv is not None:
        d.grids.to_csv(csv, index=False)
