"""``urbangrid components``: load city components (城市部件) and count them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

__all__ = ["components"]


def _profile(path: Path | None):  # type: ignore[no-untyped-def]
    from urbangrid.spatial.components.codes import demo_profile, read_profile

    return demo_profile() if path is None else read_profile(path)


@click.group()
def components() -> None:
    """City components (城市部件): load and count the inventory."""


@components.command("stats")
@click.argument("store")
@click.option("--profile", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="City profile CSV (default: the demo city, 7 classes / 121 subclasses).")
@click.option("--by", type=click.Choice(["class", "subclass"]), default="class",
              show_default=True)
@click.option("--as-of", "as_of", type=click.DateTime(), default=None,
              help="Count the inventory as it was then (UTC).")
def stats(store: str, profile: Path | None, by: str, as_of: dt.datetime | None) -> None:
    """Print STORE's component counts and density per class (or subclass)."""
    import urbangrid
    from urbangrid.spatial.components.records import component_stats

    with urbangrid.connect(store) as s:
        table = component_stats(s, by=by, profile=_profile(profile),  # type: ignore[arg-type]
                                as_of=as_of)
    click.echo(table.to_string(index=False))


@components.command("load")
@click.argument("store")
@click.option("--osm", "osm", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="OSM file(s) or street-furniture GeoJSON to map to subclasses.")
@click.option("--bundled", multiple=True,
              help="Bundled extract(s): osm_china, osm_helsinki, osm_haidian, cambridge_*.")
@click.option("--profile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--admin-code", default=None, help="County code (6 digits) for new IDs.")
def load(store: str, osm: tuple[Path, ...], bundled: tuple[str, ...], profile: Path | None,
         admin_code: str | None) -> None:
    """Map OSM street furniture to component subclasses and upsert it into STORE."""
    import urbangrid
    from urbangrid.loaders.osm_components import read_bundled_components, read_osm_components
    from urbangrid.spatial.components.records import load_components

    if not osm and not bundled:
        raise click.UsageError("give --osm FILE or --bundled NAME")
    prof = _profile(profile)
    with urbangrid.connect(store) as s:
        for path in osm:
            records, report = read_osm_components(path, profile=prof)
            r = load_components(s, records, prof, admin_code=admin_code, source=str(path))
            click.echo(report.summary())
            click.echo(f"  {r.inserted} new, {r.updated} changed, {r.unchanged} unchanged")
        if bundled:
            records, report = read_bundled_components(prof, sources=bundled)
            r = load_components(s, records, prof, admin_code=admin_code, source="bundled")
            click.echo(report.summary())
            click.echo(f"  {r.inserted} new, {r.updated} changed, {r.unchanged} unchanged")
