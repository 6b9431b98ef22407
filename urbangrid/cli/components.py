"""``urbangrid components stats``: count city components (城市部件).

Components go into a store through ``urbangrid load components FILE --store STORE``
(one command per job).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from urbangrid.spatial.components.codes import CityProfile

__all__ = ["components"]


def _profile(path: Path | None) -> CityProfile:
    from urbangrid.spatial.components.codes import demo_profile, read_profile

    return demo_profile() if path is None else read_profile(path)


@click.group()
def components() -> None:
    """City components (城市部件): count the inventory."""


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
    from urbangrid.cli.stores import open_store
    from urbangrid.spatial.components.records import component_stats

    with open_store(store, then="load components into it (`urbangrid load components FILE "
                    "--store {store}`)") as s:
        table = component_stats(s, by=by, profile=_profile(profile),  # type: ignore[arg-type]
                                as_of=as_of)
    click.echo(table.to_string(index=False))
