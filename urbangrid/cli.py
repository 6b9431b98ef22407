"""The ``urbangrid`` command line.

Commands are thin: they parse arguments, call one library function and print
its result. Errors urbangrid raises on purpose print as one line, no traceback.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from urbangrid import __version__
from urbangrid.errors import UrbangridError

F = TypeVar("F", bound=Callable[..., Any])


def _friendly_errors(func: F) -> F:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UrbangridError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="urbangrid")
def main() -> None:
    """urbangrid: digital city management (数字城管) GIS.

    STORE is a GeoPackage path (district.gpkg: embedded, no server) or a
    PostGIS DSN (postgresql://user:pass@host/db: the system of record).
    """


@main.group()
def db() -> None:
    """Create, upgrade and inspect stores."""


@db.command("init")
@click.argument("store")
@click.option("--srid", default=4326, show_default=True,
              help="EPSG code of geometry columns in a new store.")
@_friendly_errors
def db_init(store: str, srid: int) -> None:
    """Create or upgrade STORE's schema; running it again changes nothing."""
    from urbangrid.store import init_store

    s, applied = init_store(store, srid=srid)
    with s:
        if applied:
            click.echo(f"{s.target}: applied migration(s) {', '.join(map(str, applied))}; "
                       f"schema version {s.schema_version()}")
        else:
            click.echo(f"{s.target}: up to date (schema version {s.schema_version()})")


@db.command("info")
@click.argument("store")
@_friendly_errors
def db_info(store: str) -> None:
    """List STORE's layers with their geometry, CRS and row counts."""
    import urbangrid

    with urbangrid.connect(store, migrate=False) as s:
        click.echo(f"{s.target} ({s.kind}), schema version {s.schema_version()}")
        for name in s.layers():
            info = s.layer_info(name)
            geom = f"{info.geometry_type} {info.crs}" if info.geometry_type else "attributes"
            hist = ", history" if info.history else ""
            click.echo(f"  {name:<28} {geom:<24} {s.count(name):>9} rows{hist}")


@main.group()
def streets() -> None:
    """Street centrelines."""


@streets.command("load")
@click.argument("store")
@click.argument("osm_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_friendly_errors
def streets_load(store: str, osm_file: Path) -> None:
    """Load OSM_FILE's streets (.osm / .osm.bz2) into STORE (upsert by edge id)."""
    import urbangrid
    from urbangrid.loaders.osm import read_osm_graph, streets_frame

    t0 = time.perf_counter()
    frame = streets_frame(read_osm_graph(osm_file))
    with urbangrid.connect(store) as s:
        r = s.write("street_centreline", frame, "upsert", source=str(osm_file))
    click.echo(f"{len(frame)} segments from {osm_file.name}: {r.inserted} new, {r.updated} "
               f"changed, {r.unchanged} unchanged ({time.perf_counter() - t0:.2f} s)")


@main.command()
@click.option("--out", "out", default="out", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@_friendly_errors
def demo(out: Path) -> None:
    """Run the main job end to end on bundled real data (embedded store, no server)."""
    from urbangrid.demo import run_demo

    t0 = time.perf_counter()
    click.echo(f"urbangrid {__version__} demo → {out / 'demo.gpkg'}")
    results = run_demo(out, progress=click.echo)
    click.echo("\nsummary")
    for r in results:
        click.echo(f"  {r.name:<14} {r.seconds:7.2f} s  {r.summary}")
    click.echo(f"  {'total':<14} {time.perf_counter() - t0:7.2f} s  open {out / 'demo.gpkg'} "
               "in QGIS")


def _register() -> None:
    """Attach each feature's command group, defined beside the feature it drives."""
    from urbangrid.loaders.cli import grant_readonly_command, load
    from urbangrid.routing.cli import route
    from urbangrid.routing.solve_cli import solve
    from urbangrid.routing.staffing_cli import staffing
    from urbangrid.scale.cli import scale
    from urbangrid.spatial.components_cli import components
    from urbangrid.spatial.geocoding.cli import gazetteer_group, geocode_command, reverse_command
    from urbangrid.spatial.grids_cli import grids
    from urbangrid.spatial.locate_cli import locate

    for command in (grids, load, route, staffing, gazetteer_group, geocode_command,
                    reverse_command, scale, components, solve, locate):
        main.add_command(command)
    db.add_command(grant_readonly_command)


_register()

if __name__ == "__main__":
    main()
