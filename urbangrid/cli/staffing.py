"""``urbangrid staffing STORE``: a staffing plan and collector areas from the store.

Thin: reads the unit grids and streets, calls :mod:`urbangrid.routing.patrol.staffing`, prints
the plan table and its explanation, and optionally writes the collector areas.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from urbangrid.cli.lang import glossed, header, lang_option, resolve_lang
from urbangrid.cli.outputs import refuse_inputs

__all__ = ["graded_note", "mode_option", "read_district_grids", "staffing", "staffing_plan"]

if TYPE_CHECKING:
    from urbangrid.store import Store

#: --mode of the commands that plan patrols (staffing, plan).
mode_option = click.option("--mode", default="bike", show_default=True,
                           help="Travel mode: walk, bike, ebike, car.")


def graded_note(n: int, lang: str) -> str:
    """The note on grids that had no management grade and were graded by their streets,
    its road classes in `lang`."""
    return (f"{n} grid(s) had no management grade: graded by their best road "
            f"({header('grade-1 road', lang)} → 1, {header('grade-2 road', lang)} → 2, "
            "else 3)")


def read_district_grids(store: Store) -> Any:
    """The store's current unit grids, or a StaffingError saying how to get some."""
    from urbangrid.cli.stores import UNIT_GRIDS, empty_store_message
    from urbangrid.errors import StaffingError
    from urbangrid.spatial.grids.versions import read_unit_grids

    grids = read_unit_grids(store)
    if len(grids) == 0:
        raise StaffingError(empty_store_message(store.target, "unit grids", UNIT_GRIDS))
    return grids


def staffing_plan(store: Store, *, mode: str, limit_s: float, shifts: int,
                  iterations: int = 60, lang: str = "en") -> tuple[Any, Any, list[str]]:
    """Staffing table and collector areas for the district in ``store``.

    Grids without a management grade are graded by their streets
    (:func:`~urbangrid.routing.patrol.staffing.grade_grids_by_streets`); a grid that cannot be
    ridden round within the limit is flagged, not fatal.

    Returns
    -------
    (pandas.DataFrame, CollectorAreas, list of str)
        The table of :func:`~urbangrid.routing.patrol.staffing.staffing_table`, the areas,
        and notes for the reader (in ``lang``).
    """
    from urbangrid.routing.patrol.staffing import (
        grade_grids_by_streets,
        staffing_table,
        time_based_staffing,
    )
    from urbangrid.routing.patrol.streets import store_street_graph

    grids = read_district_grids(store)
    G = store_street_graph(store, mode)
    notes = []
    if grids["grade"].isna().any():
        n = int(grids["grade"].isna().sum())
        graded = grade_grids_by_streets(grids, G)
        grids["grade"] = grids["grade"].fillna(
            dict(zip(grids.index, graded, strict=True)))
        notes.append(graded_note(n, lang))
    tb, areas = time_based_staffing(G, grids, limit_s=limit_s, shifts=shifts,
                                    iterations=iterations, on_over="flag")
    over = areas.areas[~areas.areas["fits"]]
    walk = G.graph["mode"] == "walk"  # on foot one-way streets are walked both ways
    for _, a in over.iterrows():
        grids_n = int(a.get("n_grids", 1))
        what = "one unit grid" if grids_n == 1 else f"{grids_n} unit grids"
        why = ("its streets link up only outside it" if walk else
               "its streets link up only outside it, e.g. round one-way carriageways or "
               "ramps the mode may not take")
        notes.append(f"area {a['area_code']} ({what}) takes {a['route_s'] / 60:.1f} min to "
                     f"{'walk' if walk else 'ride'} round, over the {limit_s / 60:.0f} min "
                     f"limit: its streets need {a['service_s'] / 60:.1f} min, the rest is "
                     f"travel between them ({why})")
    table = staffing_table(grids, shifts=shifts, time_based=tb)
    return table, areas, notes


def _routes_path(areas_out: Path) -> Path | None:
    """Where a GeoJSON ``--areas`` file's routes go (a GeoPackage holds them as a layer)."""
    if areas_out.suffix.lower() == ".gpkg":
        return None
    return areas_out.with_suffix(".routes.geojson")


@click.command("staffing")
@click.argument("store")
@mode_option
@click.option("--limit", "limit", default="30min", show_default=True,
              help="Longest patrol round, e.g. 30min, 1h.")
@click.option("--shifts", type=click.IntRange(1, 3), default=1, show_default=True,
              help="Shifts per day.")
@click.option("--areas", "areas_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the collector areas and routes here (GeoPackage or GeoJSON).")
@click.option("--save/--no-save", default=False, show_default=True,
              help="Store the areas in the collector_area layer.")
@lang_option
def staffing(store: str, mode: str, limit: str, shifts: int, areas_out: Path | None,
             save: bool, lang: str | None) -> None:
    """Collectors needed by STORE's grids, by norm, and their collector areas."""
    import pandas as pd

    if areas_out is not None:  # checked before the work, not after it
        if areas_out.suffix.lower() not in (".gpkg", ".geojson", ".json"):
            raise click.BadParameter(f"{areas_out}: give a .gpkg or .geojson file",
                                     param_hint="--areas")
        if not areas_out.parent.is_dir():
            raise click.BadParameter(f"{areas_out}: the folder {areas_out.parent} does not "
                                     "exist; create it or give another path",
                                     param_hint="--areas")
        refuse_inputs([(f"--areas {areas_out}", areas_out),
                       (f"--areas {areas_out}", _routes_path(areas_out))], [("STORE", store)])

    from urbangrid.cli.stores import STREETS_AND_GRIDS, describe, open_store
    from urbangrid.errors import UrbangridError
    from urbangrid.routing.patrol.collector_areas import load_collector_areas, route_lines
    from urbangrid.routing.patrol.staffing import explain, parse_duration

    try:
        limit_s = parse_duration(limit)
        with open_store(store, write=save, then=STREETS_AND_GRIDS) as s:  # read-only unless --save
            lang = resolve_lang(lang)
            table, areas, notes = staffing_plan(s, mode=mode, limit_s=limit_s, shifts=shifts,
                                                lang=lang)
            cols = ["kind", "n_grids", "grade1", "grade2", "grade3", "area_km2", "grids_low",
                    "grids_high", "area_per_shift", "area_headcount", "time_per_shift",
                    "grade1_extra", "time_headcount"]
            with pd.option_context("display.width", 200, "display.max_columns", 20):
                shown = table[cols].round(2)
                click.echo(shown.rename(columns=lambda c: header(c, lang)).to_string())
            click.echo(glossed(explain(table), lang))
            a = areas.areas
            click.echo(f"{len(a)} collector area{'' if len(a) == 1 else 's'} ({mode}, limit "
                       f"{limit_s / 60:.0f} min): "
                       f"rounds {a['route_s'].min() / 60:.1f}-{a['route_s'].max() / 60:.1f} "
                       f"min, {int(a['fits'].sum())} within the limit")
            for n in notes:
                click.echo(f"note: {n}")
            if save:
                r = load_collector_areas(s, areas, mode=mode, source=describe(store))
                click.echo(f"collector_area: {r.inserted} new, {r.updated} changed, "
                           f"{r.retired} retired")
            if areas_out is not None:
                from urbangrid.routing.patrol.streets import store_street_graph

                G = store_street_graph(s, mode)
                layer_a = a.drop(columns=["depot"])
                lines = route_lines(G, areas)
                if areas_out.suffix.lower() == ".gpkg":
                    layer_a.to_file(areas_out, layer="collector_area", driver="GPKG")
                    lines.to_file(areas_out, layer="collector_route", driver="GPKG")
                    click.echo(f"wrote {areas_out} (layers collector_area, collector_route)")
                else:
                    routes_out = _routes_path(areas_out)
                    layer_a.to_crs(4326).to_file(areas_out, driver="GeoJSON")
                    lines.to_crs(4326).to_file(routes_out, driver="GeoJSON")
                    click.echo(f"wrote {areas_out} and {routes_out}")
    except UrbangridError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


