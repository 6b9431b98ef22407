"""``urbangrid plan STORE``: a district's patrol plan from a store's grids and streets.

Examples (shell)::

    urbangrid plan district.gpkg --mode bike --round 30min --out plan/
    urbangrid plan district.gpkg --mode bike --round 30min --shifts 2 --save

Thin: reads the unit grids and the street graph of the mode, calls
:func:`urbangrid.routing.patrol.district.plan_district`, prints the area table, the
headcount with its bound and the manager's paragraph; ``--out`` writes one GPX per
collector, the tables (CSV), the summary and an HTML map; ``--save`` writes the areas
and rounds into the store (``collector_area``, ``patrol_route``). Without ``--save`` the
store is only read.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from urbangrid.cli.lang import header, lang_option, note, resolve_lang, write_counts
from urbangrid.cli.outputs import refuse_inputs
from urbangrid.cli.staffing import graded_note, mode_option, read_district_grids
from urbangrid.errors import ShiftLimitError

__all__ = ["plan"]

_COLUMNS = ["area_code", "roads", "n_grids", "streets", "patrol_km", "service_min",
            "riding_min", "with_turns_min", "deadhead_pct", "rounds_per_shift",
            "max_revisit_min", "collectors"]


def _printable(table: Any, limit_s: float, count_turns: bool, lang: str = "en") -> Any:
    """The area table in minutes, headers in `lang`; the fit column names what it holds
    to which norm."""
    held = "with_turns" if count_turns else "riding"
    t = table.assign(service_min=table["service_s"] / 60, riding_min=table["travel_s"] / 60,
                     with_turns_min=table["round_s"] / 60,
                     max_revisit_min=table["max_revisit_s"] / 60)
    t = t[_COLUMNS].round(1)
    t[f"{held}<={limit_s / 60:g}min"] = table["fits"].to_numpy()
    if lang == "zh":  # 骑行 分钟 ≤ 30: the held column's own header
        t["roads"] = t["roads"].map({"all": "全部", "grade1": "一级道路"}).fillna(t["roads"])
        t = t.rename(columns={f"{held}<={limit_s / 60:g}min":
                              f"{header(held + '_min', lang)} ≤ {limit_s / 60:g}"})
    return t.rename(columns=lambda c: header(c, lang))


def _norm_line(table: Any, mode: str, limit_s: float, count_turns: bool,
               lang: str = "en") -> str:
    """One sentence saying which time the norm holds, so the table reads without doubt."""
    reg = table[table["roads"] == "all"]
    over = int((reg["round_s"] > reg["limit_s"] * (1 + 1e-9)).sum())
    lim = f"{limit_s / 60:g}"
    held = "round_s" if count_turns else "travel_s"
    # an area of grids with no street of the mode has no round: its 0.0 min is no range end
    ridden = reg[reg["streets"] > 0]
    bare = len(reg) - len(ridden)
    low, high = (ridden[held].min() / 60, ridden[held].max() / 60) if bare < len(reg) \
        else (0.0, 0.0)
    if lang == "zh":
        none = f"{bare} 个区域内没有可巡查的道路" if bare else ""
        if count_turns:
            return (f"{len(reg)} 个{header(mode, lang)}巡查区域，每圈含转弯 {low:.1f}-"
                    f"{high:.1f} 分钟{f'（{none}）' if none else ''}；标准（{lim} 分钟）按这一"
                    "时间计（--count-turns）")
        return (f"{len(reg)} 个{header(mode, lang)}巡查区域，每圈 {low:.1f}-{high:.1f} "
                f"分钟（{header('riding_min', lang)}{f'；{none}' if none else ''}）；标准（"
                f"{lim} 分钟）按这一时间计，不计转弯"
                + (f"；其中 {over} 个加上转弯后超过 {lim} 分钟（"
                   f"{header('with_turns_min', lang)}），标准不计转弯：--count-turns "
                   "改按含转弯的时间计" if over else ""))
    none = f"{bare} with no street to patrol" if bare else ""
    if count_turns:
        return (f"{len(reg)} {mode} areas, rounds {low:.1f}-{high:.1f} min with turn "
                f"penalties{f' ({none})' if none else ''}; the norm ({lim} min) holds that "
                "time (--count-turns)")
    turns = (f"; {over} of them take longer than {lim} min once turn penalties "
             "are added (with_turns_min), which the norm does not count: --count-turns "
             "holds that time instead" if over else "")
    return (f"{len(reg)} {mode} areas, rounds {low:.1f}-{high:.1f} min riding (riding_min"
            f"{f'; {none}' if none else ''}); the norm ({lim} min) holds riding time, turns "
            f"not counted{turns}")


def _headcount_line(p: Any, lang: str) -> str:
    """Headcount against its lower bound, and what the plan took."""
    t, workers = p.info["t_total_s"], p.info["workers"]
    if lang == "zh":
        return (f"采集员 {p.headcount} 名，下界 {p.lower_bound} 名（用时 {t:.1f} 秒，"
                f"{workers} 个进程）")
    return (f"headcount {p.headcount}, lower bound {p.lower_bound} ({t:.1f} s, {workers} "
            "process(es))")


def _limit_error(exc: ShiftLimitError, lang: str) -> Exception:
    """`exc`, a limit no number of collectors can meet, in `lang`: under ``zh`` its
    ``message_zh`` when the library worded one; another limit keeps its words."""
    if lang != "zh" or exc.message_zh is None:
        return exc
    return ShiftLimitError(exc.message_zh)


def _problem_line(prob: Any, lang: str) -> str:
    """A "norm not met" line: `prob` one of the plan's ``problems`` (``en``) or
    ``problems_zh`` (``zh``, the reason already in Chinese)."""
    from urbangrid.problems import format_problem

    if lang != "zh":
        return f"norm not met: {format_problem(prob)}"
    return f"未达标准：{prob.get('file') or '输入'}：{prob['reason']}"


#: The map --out writes beside write_district_plan's files (PLAN_FILES).
_MAP_FILE = "map.html"

#: "norm not met" lines printed; the table shows every area over the norm anyway.
_SHOWN_PROBLEMS = 5


@click.command("plan")
@click.argument("store")
@mode_option
@click.option("--round", "round_text", default="30min", show_default=True,
              help="Longest patrol round (the norm), e.g. 30min, 1h.")
@click.option("--shifts", type=click.IntRange(1, 3), default=None,
              help="Regular shifts per day [default: the norms'].")
@click.option("--norms", "norms_path", type=click.Path(exists=True, dir_okay=False),
              help="Staffing norms TOML (default: the bundled staffing.toml).")
@click.option("--cross-communities", is_flag=True,
              help="Let areas span the communities of one street office.")
@click.option("--count-turns", is_flag=True, help="Hold rounds as ridden, turn penalties "
              "included, to the norm (slower); default: the riding time.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="Write GPX per collector, CSV tables, areas and rounds as GeoJSON (for "
                   "QGIS), summary.txt and map.html here.")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Day of the roster (YYYY-MM-DD): times the GPX tracks.")
@click.option("--save", is_flag=True, help="Write the areas (collector_area) and rounds "
              "(patrol_route) into the store.")
@click.option("--iterations", default=60, show_default=True,
              help="Search iterations per round (fixed: the plan is reproducible).")
@click.option("--workers", type=click.IntRange(0, 64), default=0, show_default=True,
              help="Processes the communities are planned in (0: one per core, at most 4; "
              "the plan is the same for any number).")
@lang_option
def plan(store: str, mode: str, round_text: str, shifts: int | None, norms_path: str | None,
         cross_communities: bool, count_turns: bool, out: Path | None, day: Any, save: bool,
         iterations: int, workers: int, lang: str | None) -> None:
    """Patrol plan of a district: areas, rounds, roster.

    From STORE's unit grids and streets: collector areas of whole grids, each ridden
    round within --round; shifts, staggered grade-1 cover, one GPX per collector, and
    the headcount against its lower bound, explained.
    """
    from urbangrid.errors import UrbangridError

    if out is not None:  # before the work, not after it
        from urbangrid.routing.patrol.district import PLAN_FILES

        refuse_inputs([(f"--out {out}", out / name)
                       for name in (*PLAN_FILES.values(), _MAP_FILE)],
                      [("STORE", store), ("--norms", norms_path)])
    try:
        _plan(store, mode, round_text, shifts, norms_path, (cross_communities, count_turns),
              out, day.date() if day is not None else None, save, iterations,
              resolve_lang(lang), workers=workers or None)
    except UrbangridError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _plan(store: str, mode: str, round_text: str, shifts: int | None, norms_path: str | None,
          flags: tuple[bool, bool], out: Path | None, day: date | None, save: bool,
          iterations: int, lang: str = "en", workers: int | None = None) -> None:
    import pandas as pd

    from urbangrid.cli.stores import STREETS_AND_GRIDS, describe, open_store
    from urbangrid.routing.patrol.district import (
        load_district_plan,
        plan_district,
        write_district_plan,
    )
    from urbangrid.routing.patrol.staffing import parse_duration, read_staffing_norms
    from urbangrid.routing.patrol.streets import store_street_graph

    limit_s = parse_duration(round_text)
    norms = read_staffing_norms(norms_path)
    with open_store(store, write=save, then=STREETS_AND_GRIDS) as s:  # read-only unless --save
        grids = read_district_grids(s)
        G = store_street_graph(s, mode)
        try:
            p = plan_district(G, grids, limit_s=limit_s, shifts=shifts, norms=norms,
                              cross_communities=flags[0], count_turns=flags[1],
                              iterations=iterations, source=describe(store), workers=workers)
        except ShiftLimitError as exc:
            raise _limit_error(exc, lang) from None
        with pd.option_context("display.width", 200, "display.max_columns", 20,
                               "display.max_rows", 400):
            click.echo(_printable(p.table, limit_s, flags[1], lang).to_string(index=False))
        click.echo(_norm_line(p.table, mode, limit_s, flags[1], lang))
        click.echo(_headcount_line(p, lang))
        if p.info["graded_grids"]:
            click.echo(note(graded_note(p.info["graded_grids"], lang), lang))
        click.echo(p.summary_zh if lang == "zh" else p.summary)
        problems = p.problems_zh if lang == "zh" else p.problems
        for prob in problems[:_SHOWN_PROBLEMS]:
            click.echo(_problem_line(prob, lang))
        if len(p.problems) > _SHOWN_PROBLEMS:  # the rest say the same of other areas
            rest = len(p.problems) - _SHOWN_PROBLEMS
            csv = f"{out}/areas.csv"
            click.echo(f"未达标准：另有 {rest} 条同类问题；上表标出了所有超标的巡查区域"
                       + (f"（另见 {csv}）" if out else "") if lang == "zh" else
                       f"norm not met: {rest} more like these; the table above marks every "
                       "area over the norm" + (f" (and {csv})" if out else ""))
        if save:
            w = load_district_plan(s, p, source=describe(store))
            for layer, r in w.items():
                click.echo(write_counts(layer, r, lang))
    if out is not None:
        files = write_district_plan(p, out, day=day, lang=lang)
        _write_map(p, out / _MAP_FILE)
        n_gpx = sum(f.suffix == ".gpx" for f in files)
        click.echo(f"已写出 {len(files) + 1} 个文件到 {out}（{n_gpx} 个 GPX，每名采集员一个）"
                   if lang == "zh" else
                   f"wrote {len(files) + 1} files to {out} ({n_gpx} GPX, one per collector)")


def _write_map(p: Any, path: Path) -> None:
    from urbangrid.routing.patrol.export import write_map

    write_map([p.routes[c] for c in sorted(p.routes)], path)
