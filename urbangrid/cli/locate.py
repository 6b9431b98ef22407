"""``urbangrid locate``: a report's coordinates → unit grid, work grid, community, street."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["locate"]


@click.command("locate")
@click.argument("store")
@click.argument("lon", type=float, required=False)
@click.argument("lat", type=float, required=False)
@click.option("--crs", default="EPSG:4326", show_default=True,
              help="CRS of the coordinates: EPSG code, GCJ-02 (Amap/Tencent), BD-09 (Baidu).")
@click.option("--csv", "csv_in", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Locate every row of this CSV instead of one point.")
@click.option("--x", "x", default="lon", show_default=True, help="CSV column of x/longitude.")
@click.option("--y", "y", default="lat", show_default=True, help="CSV column of y/latitude.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Output CSV (default: standard output).")
def locate(store: str, lon: float | None, lat: float | None, crs: str, csv_in: Path | None,
           x: str, y: str, output: Path | None) -> None:
    """Unit grid, work grid, community, street and district of LON LAT (or of a CSV)."""
    import pandas as pd

    import urbangrid
    from urbangrid.spatial.admin.hierarchy import GridHierarchy, locate_frame

    with urbangrid.connect(store) as s:
        hierarchy = GridHierarchy.from_store(s)
    if csv_in is None:
        if lon is None or lat is None:
            raise click.UsageError("give LON LAT, or --csv FILE")
        found = hierarchy.locate(lon, lat, crs=crs)
        for key, value in found.items():
            click.echo(f"{key}\t{value if value is not None else ''}")
        return
    frame = pd.read_csv(csv_in, dtype=str, keep_default_na=False)
    for col in (x, y):
        if col not in frame.columns:
            raise click.UsageError(f"{csv_in}: no column {col!r}; columns are "
                                   f"{', '.join(frame.columns)} (use --x/--y)")
    with click.progressbar(length=len(frame), label="locating", file=sys.stderr) as bar:
        out = locate_frame(hierarchy, frame, x=x, y=y, crs=crs, progress=bar.update)
    out.to_csv(output if output is not None else sys.stdout, index=False)
    found_n = int(out["grid_code"].notna().sum())
    click.echo(f"{found_n} of {len(out)} points in a unit grid", err=True)
