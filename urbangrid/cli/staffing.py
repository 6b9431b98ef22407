"""``urbangrid staffing STORE``: a staffing plan and collector areas from the store.

Thin: reads the unit grids and streets, calls :mod:`urbangrid.routing.patrol.staffing`, prints
the plan table and its explanation, and optionally writes the collector areas.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from urbangrid.cli.lang import glossed, header, lang_option, note, resolve_lang, write_counts
from urbangrid.cli.outputs import refuse_inputs

__all__ = ["detached_note", "graded_note", "left_out_note", "mode_option", "over_limit_note",
           "read_district_grids", "staffing", "staffing_plan"]

if TYPE_CHECKING:
    from urbangrid.store import Store

#: --mode of the commands that plan patrols (staffing, plan).
mode_option = click.option("--mode", default="bike", show_default=True,
                           help="Travel mode: walk, bike, ebike, car (the bundled modes.toml, "
                                "or the file URBANGRID_MODES names: e.g. trunk roads open "
                                "to bikes in China too).")


def graded_note(n: int, lang: str) -> str:
    """The note on grids that had no management grade and were graded by their streets,
    in `lang`."""
    if lang == "zh":
        return (f"{n} 个单元网格没有管理等级：按其中最高等级的道路定级（一级道路 → 1，"
                "二级道路 → 2，其余 → 3）")
    return (f"{n} grid(s) had no management grade: graded by their best road "
            "(grade-1 road → 1, grade-2 road → 2, else 3)")


def over_limit_note(a: Any, limit_s: float, walk: bool, lang: str) -> str:
    """The note on collector area ``a`` (a row of ``CollectorAreas.areas``) whose round
    takes longer than ``limit_s`` (seconds), in `lang`: its streets' own time and why the
    rest is travel (on foot one-way streets are walked both ways, so no one-way is blamed)."""
    grids_n, code = int(a.get("n_grids", 1)), a["area_code"]
    route_min, street_min, limit_min = a["route_s"] / 60, a["service_s"] / 60, limit_s / 60
    if lang == "zh":
        why = ("其道路只在区域外相连" if walk else
               "其道路只在区域外相连，如须绕行的单行双幅路或该方式不能走的匝道")
        return (f"巡查区域 {code}（{grids_n} 个单元网格）{'步行' if walk else '骑行'}一圈需 "
                f"{route_min:.1f} 分钟，超过 {limit_min:.0f} 分钟的上限：道路本身需 "
                f"{street_min:.1f} 分钟，其余是道路之间的往返（{why}）")
    what = "one unit grid" if grids_n == 1 else f"{grids_n} unit grids"
    why = ("its streets link up only outside it" if walk else
           "its streets link up only outside it, e.g. round one-way carriageways or "
           "ramps the mode may not take")
    return (f"area {code} ({what}) takes {route_min:.1f} min to "
            f"{'walk' if walk else 'ride'} round, over the {limit_min:.0f} min "
            f"limit: its streets need {street_min:.1f} min, the rest is "
            f"travel between them ({why})")


def left_out_note(mode: str, left_out_km: dict[str, float], lang: str) -> str | None:
    """The note on the grade-1 roads of the street data the mode may not use
    (``G.graph["left_out_km"]``: km per ``highway`` value, e.g. trunk by bike in China),
    in `lang`; None when there are none. Their patrol is another mode's: no area holds
    them, so the headcount does not count them."""
    km = sum(left_out_km.values())
    if km <= 0:
        return None
    from urbangrid.routing.patrol.district import left_to

    kinds, action = ", ".join(left_out_km), left_to("left_out", mode, lang)
    if lang == "zh":
        return (f"{header(mode, lang)}巡查不含道路数据中 {km:.1f} 公里的 {kinds}（该方式不得"
                f"使用的道路），人数未计：{action}")
    return (f"the {mode} mode leaves out {km:.1f} km of {kinds} in the street data (roads "
            f"it may not use); no area holds them and the headcount does not count them: "
            f"{action}")


#: Street names shown in the note on detached streets.
_SHOWN_STREETS = 3


def detached_note(mode: str, detached: Any, lang: str) -> str | None:
    """The note on the streets left out of the rounds because they are cut off from their
    grid's other streets (``CollectorAreas.info["detached"]``: a viaduct or tunnel over or
    under the grid), in `lang`; None when there are none."""
    if detached is None or len(detached) == 0:
        return None
    from urbangrid.routing.patrol.collector_areas import DETACH_NEAR_M

    rows = detached.drop_duplicates("street_id")
    km = float(rows["length_m"].sum()) / 1000
    names = [str(n) if isinstance(n, str) and n else f"#{s}"
             for n, s in zip(rows["name"], rows["street_id"], strict=True)]
    more = ", …" if len(names) > _SHOWN_STREETS else ""
    shown = ", ".join(dict.fromkeys(names[:_SHOWN_STREETS])) + more
    other = mode == "car"  # a car plan has no faster mode to hand them to
    if lang == "zh":
        who = "另行安排巡查" if other else "交给汽车巡查"
        return (f"{len(rows)} 条道路（{km:.1f} 公里，{shown}）未纳入{header(mode, lang)}巡查"
                f"路线、{who}：它们与所在单元网格的其他道路只能绕行到网格 "
                f"{DETACH_NEAR_M:.0f} 米以外才相连（网格上方的高架、下方的隧道、数据边缘被截断"
                "的道路，或只能从别处进入的小巷），不计它们每一圈才能在上限内巡查完（--areas "
                "写出的 detached 图层逐条列出）")
    who = "patrol them separately" if other else "leave them to car patrols"
    return (f"{len(rows)} street(s), {km:.1f} km ({shown}), are left out of the {mode} "
            f"rounds: each joins its grid's other streets only by a detour beyond "
            f"{DETACH_NEAR_M:.0f} m of the grid (a viaduct or tunnel over or under it, a road "
            f"cut at the data's edge, a lane reached only from elsewhere), and leaving them "
            f"out lets the round fit the limit; {who} (--areas lists them, layer detached)")


def _areas_line(a: Any, mode: str, limit_s: float, lang: str) -> str:
    """One line on the collector areas ``a``: how many, the rounds' range, how many fit."""
    low, high, fits = a["route_s"].min() / 60, a["route_s"].max() / 60, int(a["fits"].sum())
    if lang == "zh":
        return (f"{len(a)} 个巡查区域（{header(mode, lang)}，上限 {limit_s / 60:.0f} 分钟）："
                f"每圈 {low:.1f}-{high:.1f} 分钟，{fits} 个在上限内")
    return (f"{len(a)} collector area{'' if len(a) == 1 else 's'} ({mode}, limit "
            f"{limit_s / 60:.0f} min): rounds {low:.1f}-{high:.1f} min, {fits} within the "
            "limit")


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
    # the roads no area holds come first: the headcount leaves them out
    notes += [n for n in (left_out_note(mode, dict(G.graph.get("left_out_km") or {}), lang),
                          detached_note(mode, areas.info.get("detached"), lang)) if n]
    notes += [over_limit_note(a, limit_s, walk, lang) for _, a in over.iterrows()]
    table = staffing_table(grids, shifts=shifts, time_based=tb)
    return table, areas, notes


def _routes_path(areas_out: Path, what: str = "routes") -> Path | None:
    """Where a GeoJSON ``--areas`` file's routes (or detached streets) go; a GeoPackage
    holds them as layers."""
    if areas_out.suffix.lower() == ".gpkg":
        return None
    return areas_out.with_suffix(f".{what}.geojson")


def _detached_lines(G: Any, detached: Any) -> Any:
    """The streets left out of the rounds (:func:`detached_note`) as lines in the graph
    CRS, one per street, with their row of ``info["detached"]``; None when there are none."""
    import geopandas as gpd

    if detached is None or len(detached) == 0:
        return None
    geom: dict[str, Any] = {}
    for *_, d in G.edges(data=True):
        geom.setdefault(str(d["street_id"]), d["geometry"])
    rows = detached.drop_duplicates("street_id").astype({"street_id": str})
    return gpd.GeoDataFrame(rows, geometry=rows["street_id"].map(geom).to_list(),
                            crs=G.graph["crs"])


#: Notes printed; a district over the limit everywhere gave one identical line per area.
_SHOWN_NOTES = 6


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
                       (f"--areas {areas_out}", _routes_path(areas_out)),
                       (f"--areas {areas_out}", _routes_path(areas_out, "detached"))],
                      [("STORE", store)])

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
            click.echo(glossed(explain(table, lang=lang), lang))
            a = areas.areas
            click.echo(_areas_line(a, mode, limit_s, lang))
            for n in notes[:_SHOWN_NOTES]:
                click.echo(note(n, lang))
            if len(notes) > _SHOWN_NOTES:  # the rest say the same of other areas
                rest = len(notes) - _SHOWN_NOTES
                click.echo(note(f"另有 {rest} 条同类说明（其他巡查区域；--areas FILE 写出每个"
                                "区域及其一圈时长）" if lang == "zh" else
                                f"{rest} more like these, of other areas (--areas FILE writes "
                                "every area with its round time)", lang))
            if save:
                r = load_collector_areas(s, areas, mode=mode, source=describe(store))
                click.echo(write_counts("collector_area", r, lang))
            if areas_out is not None:
                from urbangrid.routing.patrol.streets import store_street_graph

                G = store_street_graph(s, mode)
                layer_a = a.drop(columns=["depot"])
                lines = route_lines(G, areas)
                cut = _detached_lines(G, areas.info.get("detached"))
                if areas_out.suffix.lower() == ".gpkg":
                    layer_a.to_file(areas_out, layer="collector_area", driver="GPKG")
                    lines.to_file(areas_out, layer="collector_route", driver="GPKG")
                    if cut is not None:
                        cut.to_file(areas_out, layer="detached", driver="GPKG")
                    click.echo(f"wrote {areas_out} (layers collector_area, collector_route"
                               f"{'' if cut is None else ', detached'})")
                else:
                    routes_out = _routes_path(areas_out)
                    layer_a.to_crs(4326).to_file(areas_out, driver="GeoJSON")
                    lines.to_crs(4326).to_file(routes_out, driver="GeoJSON")
                    cut_out = _routes_path(areas_out, "detached")
                    if cut is not None:
                        cut.to_crs(4326).to_file(cut_out, driver="GeoJSON")
                    elif cut_out is not None and cut_out.exists():  # an earlier run's: stale
                        cut_out.unlink()
                    click.echo(f"wrote {areas_out} and {routes_out}"
                               f"{'' if cut is None else f' and {cut_out}'}")
    except UrbangridError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


