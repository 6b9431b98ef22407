"""``urbangrid scale``: bulk assignment and city-wide routing on one process or a Dask cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from urbangrid.cli.outputs import refuse_inputs
from urbangrid.cli.route import street_class_options, street_classes
from urbangrid.cli.vectors import datav_message, read_vector, restate_crs
from urbangrid.errors import DataFileError

__all__ = ["scale"]

_SCHEDULER_HELP = (
    "Where to run: omit for this process, 'local' for a local Dask cluster, or a Dask "
    "scheduler address such as tcp://10.0.0.5:8786 (workers must see the input and output "
    "paths)."
)


@click.group()
def scale() -> None:
    """Beyond one machine (超越单机): bulk assignment and routing on Dask."""


@scale.command("assign")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--grid", "grid", required=True, type=click.Path(exists=True, path_type=Path),
              help="Polygon file (any format GDAL reads) or a saved index (.npz).")
@click.option("--key", default=None, help="Grid column holding each polygon's key.")
@click.option("--x", "x", default=None, help="x / longitude column (tabular input).")
@click.option("--y", "y", default=None, help="y / latitude column (tabular input).")
@click.option("--crs", default=None, help="CRS of the points: EPSG:4326, GCJ-02, BD-09, …")
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Parquet dataset directory to create.")
@click.option("--column", default="grid_key", show_default=True, help="Key column to add.")
@click.option("--partition-rows", default=500_000, show_default=True, type=int)
@click.option("--scheduler", default=None, help=_SCHEDULER_HELP)
@click.option("--workers", default=None, type=int, help="Workers of a 'local' cluster.")
@click.option("--on-invalid", type=click.Choice(["raise", "null"]), default="raise",
              show_default=True, help="Non-numeric coordinates: stop, or leave unassigned.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output when done.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (none either when stderr "
              "is not a terminal).")
def assign(
    source: Path, grid: Path, key: str | None, x: str | None, y: str | None,
    crs: str | None, out: Path, column: str, partition_rows: int, scheduler: str | None,
    workers: int | None, on_invalid: str, overwrite: bool, quiet: bool,
) -> None:
    """Assign every point of SOURCE (CSV, Parquet, GeoPackage) to a grid polygon.

    Writes a Parquet dataset under a temporary name and renames it when complete.
    """
    from urbangrid.scale.assign import assign_points
    from urbangrid.spatial.index.engine import GridIndex

    if out.suffix.lower() in (".csv", ".txt", ".gpkg", ".geojson", ".json", ".shp"):
        raise click.BadParameter(f"{out}: the output is a Parquet dataset (a folder, e.g. "
                                 "assigned.parquet), not a single file", param_hint="--out")
    refuse_inputs([(f"--out {out}", out)], [("SOURCE", source), ("--grid", grid)])
    if grid.suffix == ".npz":
        index = GridIndex.load(grid)
    else:
        polygons = read_vector(grid, "grid polygons")
        if key is not None and key not in polygons.columns:
            raise click.BadParameter(f"{grid} has no column {key!r}", param_hint="--key")
        keys = None if key is None else polygons[key].astype(str).to_numpy()
        index = GridIndex.from_polygons(polygons, keys)
    if (x is None) != (y is None):
        raise click.BadParameter("give both --x and --y, or neither (point geometry)")
    res = assign_points(
        source, index, out=out, xy=None if x is None else (x, y), crs=crs, column=column,  # type: ignore[arg-type]
        partition_rows=partition_rows, scheduler=scheduler, workers=workers,
        on_invalid=on_invalid, overwrite=overwrite, progress=not quiet,  # type: ignore[arg-type]
    )
    where = f"{res.workers} Dask workers" if res.workers else "one process"
    click.echo(
        f"{res.rows:,} points, {res.assigned:,} assigned ({res.assigned / max(res.rows, 1):.1%}), "
        f"{res.invalid:,} invalid, {res.partitions} partitions on {where} in "
        f"{res.seconds:.1f} s ({res.points_per_s:,.0f} points/s) -> {res.out}"
    )


def _coded_areas(path: Path, id_column: str, really: str | None = None) -> Any:
    """The area polygons of ``path``, each with a code in ``id_column``, checked before the
    street graph is built (a missing column or code said in one line naming the file);
    ``really``: the CRS the coordinates are in whatever the file states (GCJ-02 …)."""
    areas = read_vector(path, "area polygons")
    if really is not None:
        areas = restate_crs(areas, really)
    elif (datav := datav_message(path, areas, "--areas-crs")) is not None:
        raise DataFileError(datav)
    if id_column not in areas.columns:
        cols = ", ".join(c for c in areas.columns if c != areas.geometry.name)
        raise click.BadParameter(f"{path} has no column {id_column!r}; its columns are {cols}",
                                 param_hint="--id-column")
    code = areas[id_column].astype("string").str.strip()
    empty = [i + 1 for i, missing in enumerate(code.isna() | (code == "")) if missing]
    if empty:
        raise DataFileError(f"{path}: feature(s) {', '.join(map(str, empty[:10]))} of "
                            f"{len(areas)} have no {id_column!r} (the area code); give each "
                            "area a code, drop those features, or choose another --id-column")
    return areas


@scale.command("routes")
@click.argument("streets", type=click.Path(exists=True, path_type=Path))
@click.option("--areas", "areas_path", required=True,
              type=click.Path(exists=True, path_type=Path), help="Collector area polygons.")
@click.option("--id-column", required=True, help="Area code column.")
@click.option("--mode", default="walk", show_default=True, help="walk | bike | ebike | car")
@click.option("--iterations", default=300, show_default=True, type=int,
              help="Search budget per area (results are deterministic for a budget).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Summary table (.csv) to write; the routes go beside it as "
                   "OUT.routes.geojson (WGS84, for QGIS).")
@click.option("--areas-crs", "areas_crs", default=None,
              help="CRS the area coordinates really are in, whatever the file states: "
                   "GCJ-02 for Amap/DataV downloads, BD-09 for Baidu.")
@click.option("--scheduler", default=None, help=_SCHEDULER_HELP)
@click.option("--workers", default=None, type=int, help="Workers of a 'local' cluster.")
@street_class_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (none either when stderr "
              "is not a terminal).")
def routes(
    streets: Path, areas_path: Path, id_column: str, mode: str, iterations: int, seed: int,
    out: Path, areas_crs: str | None, scheduler: str | None, workers: int | None,
    highway_column: str | None, highway_values: str | None, oneway_column: str | None,
    quiet: bool,
) -> None:
    """Patrol route of every area of AREAS over the street network STREETS, in parallel."""
    from urbangrid.cli.vectors import file_street_graph
    from urbangrid.routing.patrol.export import write_geojson
    from urbangrid.scale.routing import plan_areas

    if out.suffix.lower() != ".csv":  # a CSV under another name (.gpkg) QGIS cannot open
        raise click.BadParameter(f"{out}: give a .csv path (the summary table)",
                                 param_hint="--out")
    refuse_inputs([(f"--out {out}", out), (f"--out {out}", out.with_suffix(".routes.geojson"))],
                  [("STREETS", streets), ("--areas", areas_path)])
    columns, classes = street_classes(highway_column, highway_values, oneway_column)
    areas = _coded_areas(areas_path, id_column, areas_crs)
    G = file_street_graph(streets, mode, areas, columns=columns, classes=classes)
    plan = plan_areas(G, areas, id_column=id_column, scheduler=scheduler, workers=workers,
                      on_error="skip", progress=not quiet, iterations=iterations, seed=seed,
                      unreachable="skip")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    plan.table().to_csv(tmp, index=False)
    lines = out.with_suffix(".routes.geojson")
    if plan.routes:
        write_geojson(list(plan.routes), lines.with_name(f".{lines.name}.partial"))
        lines.with_name(f".{lines.name}.partial").replace(lines)
    tmp.replace(out)
    for code, why in plan.failed.items():
        click.echo(f"area {code}: not planned: {why}", err=True)
    where = f"{plan.workers} Dask workers" if plan.workers else "one process"
    n_failed = f"{len(plan.failed)} area{'' if len(plan.failed) == 1 else 's'}"
    skipped = sum(len(r.skipped) for r in plan.routes)
    if skipped:  # one-way traps, as route --skip-unreachable lists them
        click.echo(f"note: {skipped} street(s) no closed walk of their area can serve were "
                   f"left out (the table's 'skipped' column)")
    if G.graph.get("oneway_from"):
        click.echo(f"note: {G.graph['oneway_from']}")
    click.echo(f"{len(plan.routes)} routes, {n_failed} not planned, on {where} "
               f"in {plan.seconds:.1f} s -> {out}" + (f", {lines}" if plan.routes else ""))
