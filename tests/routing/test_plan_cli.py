"""``urbangrid plan``: read-only by default, files and store layers, re-run changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import shapely
from click.testing import CliRunner

import urbangrid
from tests.routing.lattice import lattice
from urbangrid.cli.main import main
from urbangrid.spatial.grids.versions import load_unit_grids


@pytest.fixture()
def district_store(tmp_path: Path) -> Path:
    streets, grids = lattice()
    streets = streets.assign(
        edge_id=[f"e{i}" for i in range(len(streets))], name=None, oneway=False,
        length_m=shapely.length(streets.geometry.to_numpy()), source="lattice")
    # lattice cells are numbered from 000; a grid serial starts at 001
    serial = grids.groupby("community_code").cumcount() + 1
    grids["grid_code"] = grids["community_code"] + serial.map("{:03d}".format)
    path = tmp_path / "district.gpkg"
    with urbangrid.connect(str(path)) as s:
        s.write("street_centreline", streets.to_crs(4326), "upsert")
        load_unit_grids(s, grids, version="test", source="lattice")
    return path


def _layers(path: Path) -> dict[str, int]:
    with urbangrid.connect(str(path), migrate=False) as s:
        return {n: s.count(n) for n in s.layers()}


def test_plan_prints_writes_and_reruns_unchanged(district_store: Path, tmp_path: Path) -> None:
    before = _layers(district_store)
    mtime = district_store.stat().st_mtime_ns
    res = CliRunner().invoke(main, ["plan", str(district_store), "--mode", "walk", "--round",
                                    "30min", "--iterations", "20", "--out",
                                    str(tmp_path / "plan")])
    assert res.exit_code == 0, res.output
    assert "headcount" in res.output and "lower bound" in res.output
    assert "This plan needs" in res.output
    # read-only without --save
    assert _layers(district_store) == before
    assert district_store.stat().st_mtime_ns == mtime
    gpx = list((tmp_path / "plan" / "gpx").glob("*.gpx"))
    roster = (tmp_path / "plan" / "roster.csv").read_text(encoding="utf-8").splitlines()
    assert len(gpx) == len(roster) - 1 > 0
    assert (tmp_path / "plan" / "map.html").exists()
    args = ["plan", str(district_store), "--mode", "walk", "--iterations", "20", "--save"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "patrol_route: 0 new" not in first.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert "collector_area: 0 new, 0 changed" in again.output
    assert "patrol_route: 0 new, 0 changed" in again.output


def test_norm_not_met_names_the_area(district_store: Path) -> None:
    res = CliRunner().invoke(main, ["plan", str(district_store), "--mode", "walk", "--round",
                                    "5min", "--iterations", "10"])
    assert res.exit_code == 0, res.output
    assert "norm not met:" in res.output and "single grid" in res.output
    # no 'row N' of the store: the store has no such row, the area code names it
    lines = [x for x in res.output.splitlines() if x.startswith("norm not met:")]
    assert not any(": row " in x for x in lines)
    # at most five such lines, then how many more (the table marks every one)
    assert len(lines) <= 6
    assert len(lines) < 6 or "more like these" in lines[-1]


def test_errors_are_one_line(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["plan", str(tmp_path / "none.gpkg")])
    assert res.exit_code == 1 and "no store at" in res.output
    assert not (tmp_path / "none.gpkg").exists()
    res = CliRunner().invoke(main, ["plan", str(tmp_path / "none.gpkg"), "--round", "soon"])
    assert res.exit_code != 0 and "Traceback" not in res.output


def test_the_table_says_which_time_the_norm_holds(district_store: Path) -> None:
    # issue 20 follow-up: a round over the norm with turns but within it riding must not
    # read as a contradiction: the fit column and the summary name the time held
    args = ["plan", str(district_store), "--mode", "walk", "--iterations", "10", "--lang", "en"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    header = res.output.splitlines()[0].split()
    assert {"riding_min", "with_turns_min", "riding<=30min"} <= set(header)
    assert "round_min" not in header and "fits" not in header
    assert "the norm (30 min) holds riding time, turns not counted" in res.output
    turns = CliRunner().invoke(main, [*args, "--count-turns"])
    assert turns.exit_code == 0, turns.output
    assert "with_turns<=30min" in turns.output.splitlines()[0]
    assert "the norm (30 min) holds that time (--count-turns)" in turns.output


def test_tables_in_chinese(district_store: Path) -> None:
    # issue 22: --lang zh gives the standards' Chinese terms as table headers
    plan = CliRunner().invoke(main, ["plan", str(district_store), "--mode", "walk",
                                     "--iterations", "10", "--lang", "zh"])
    assert plan.exit_code == 0, plan.output
    assert {"巡查区域", "骑行", "采集员"} <= set(plan.output.splitlines()[0].split())
    staff = CliRunner().invoke(main, ["staffing", str(district_store), "--mode", "walk",
                                      "--lang", "zh"])
    assert staff.exit_code == 0, staff.output
    assert "单元网格数" in staff.output and "按时间" in staff.output


def test_no_password_is_stored_with_the_plan(pg_dsn: str, district_store: Path) -> None:
    """`plan --save` and `staffing --save` on PostGIS wrote the DSN, password and all, into
    the source column of patrol_route (found on a PostGIS trial store)."""
    import psycopg

    with urbangrid.connect(str(district_store), readonly=True) as src, \
            urbangrid.connect(pg_dsn) as dst:
        dst.write("street_centreline", src.read("street_centreline"), "upsert")
        load_unit_grids(dst, src.read("unit_grid"), version="test", source="lattice")
    password = psycopg.conninfo.conninfo_to_dict(pg_dsn).get("password")
    assert password, "the test DSN carries a password"
    shown = (f"password={password}", f":{password}@")  # it may also be the user's name
    for args in (["plan", pg_dsn, "--save", "--mode", "walk"],
                 ["staffing", pg_dsn, "--save", "--mode", "walk"]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        assert not any(p in res.output for p in shown)
    # staffing's --save line in the plan's wording, Chinese under --lang zh
    res = CliRunner().invoke(main, ["staffing", pg_dsn, "--save", "--mode", "walk", "--lang", "zh"])
    assert res.exit_code == 0, res.output
    assert "（collector_area）：新增 0，变更 0，未变" in res.output
    with psycopg.connect(pg_dsn) as con:
        sources = {r[0] for r in con.execute("SELECT source FROM urbangrid.patrol_route")}
    assert sources and not any(p in str(s) for s in sources for p in shown), sources


@pytest.mark.parametrize(("areas", "says"), [
    ("{t}/a.shp", "a.shp: give a .gpkg or .geojson file"),
    ("{t}/nowhere/a.gpkg", "the folder {t}/nowhere does not exist"),
])
def test_staffing_output_is_checked_before_the_work(tmp_path: Path, areas: str,
                                                    says: str) -> None:
    # a .shp name got GeoJSON text QGIS cannot open; a missing folder failed after the work
    # with an internal DataSourceError
    res = CliRunner().invoke(main, ["staffing", str(tmp_path / "none.gpkg"), "--areas",
                                    areas.format(t=tmp_path)])
    assert res.exit_code == 2, res.output
    assert says.format(t=tmp_path) in res.output and not (tmp_path / "a.shp").exists()


def test_english_output_has_no_chinese(district_store: Path) -> None:
    # new-user trial: --lang en still printed "一级道路 → 1" (the graded-grids note) and
    # the explanation's Chinese glosses; every printed term goes through cli/lang.py
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for cmd in (["plan", "--iterations", "10"], ["staffing"]):
        res = CliRunner().invoke(main, [cmd[0], str(district_store), "--mode", "walk",
                                        *cmd[1:], "--lang", "en"])
        assert res.exit_code == 0, res.output
        assert not cjk.findall(res.output), res.output


def test_staffing_over_the_limit_on_foot_blames_no_one_way(district_store: Path) -> None:
    # new-user trial (Shanghai, walk): "takes 129 min to ride round … the rest is riding
    # round one-way carriageways", though on foot one-way streets are walked both ways
    res = CliRunner().invoke(main, ["staffing", str(district_store), "--mode", "walk",
                                    "--limit", "5min", "--lang", "en"])
    assert res.exit_code == 0, res.output
    notes = [x for x in res.output.splitlines() if "over the 5 min limit" in x]
    assert notes and all("to walk round" in x and "one-way" not in x for x in notes), notes
    # 24 areas over the limit printed 24 lines saying the same: 6 notes, then how many more
    lines = [x for x in res.output.splitlines() if x.startswith("note:")]
    assert len(lines) == 7 and lines[-1].startswith("note: 19 more like these"), lines


def test_staffing_notes_follow_lang_zh(district_store: Path) -> None:
    # new-user trial: with --lang zh the table was Chinese but every note English
    res = CliRunner().invoke(main, ["staffing", str(district_store), "--mode", "walk",
                                    "--limit", "5min", "--lang", "zh"])
    assert res.exit_code == 0, res.output
    notes = [x for x in res.output.splitlines() if x.startswith("注：")]
    assert notes and not any(x.startswith("note:") for x in res.output.splitlines())
    assert any("个单元网格没有管理等级" in x for x in notes), notes
    assert any("步行一圈需" in x and "超过 5 分钟的上限" in x for x in notes), notes
    assert "个巡查区域（步行，上限 5 分钟）" in res.output
    english = re.compile(r"\b(area|takes|grids?|limit|within|collector)\b")
    assert not any(english.search(x) for x in notes), notes


def test_norm_not_met_and_save_counts_in_chinese(district_store: Path, tmp_path: Path) -> None:
    """new-user trial: under --lang zh the "norm not met" lines and the --save counts were
    English; they are worded from the plan's records and the write's counts."""
    res = CliRunner().invoke(main, ["plan", str(district_store), "--mode", "walk", "--round",
                                    "5min", "--iterations", "10", "--lang", "zh", "--save",
                                    "--out", str(tmp_path / "plan")])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    unmet = [x for x in lines if x.startswith("未达标准：")]
    assert len(unmet) == 6 and not any(x.startswith("norm not met") for x in lines), lines
    assert re.fullmatch(
        rf"未达标准：{re.escape(str(district_store))}：巡查区域 \d{{12}}C\d\d：每圈步行 "
        r"[\d.]+ 分钟，含转弯 [\d.]+ 分钟，超过 5 分钟的标准；其道路本身只需 [\d.]+ 分钟，"
        r"其余是道路之间的往返（空驶 \d+%：这些道路只在网格外很远处相连）；它是单个单元网格，"
        r"不能再分；可提高标准、换更快的巡查方式或重划网格", unmet[0]), unmet[0]
    assert re.fullmatch(r"未达标准：另有 \d+ 条同类问题；上表标出了所有超标的巡查区域（另见 "
                        rf"{re.escape(str(tmp_path / 'plan'))}/areas.csv）", unmet[-1])
    saved = [x for x in lines if "新增" in x]
    assert [x.split("：")[0] for x in saved] == ["采集员责任区（collector_area）",
                                                 "巡查路线（patrol_route）"], lines
    assert re.fullmatch(r"采集员责任区（collector_area）：新增 \d+，变更 0，未变 0，停用 0",
                        saved[0]), saved
    english = re.compile(r"\b(?!collector_area|patrol_route)[a-z]{3,}\b")
    path = re.compile(r"[\w.-]*/[\w./-]*", re.ASCII)  # the store and --out paths
    for line in [*unmet, *saved]:
        assert not english.search(path.sub("", line)), line


def test_an_area_with_no_street_is_no_end_of_the_round_range() -> None:
    """An area of grids with no street of the mode (a campus) has no round: the line read
    "rounds 0.0-21.6 min" (found on the CAU extract)."""
    import pandas as pd

    from urbangrid.cli.plan import _norm_line

    table = pd.DataFrame({"roads": ["all", "all", "all", "grade1"], "streets": [0, 4, 9, 0],
                          "travel_s": [0.0, 54.0, 1296.0, 0.0],
                          "round_s": [0.0, 60.0, 1300.0, 0.0], "limit_s": [480.0] * 4})
    assert _norm_line(table, "bike", 480, False).startswith(
        "3 bike areas, rounds 0.9-21.6 min riding (riding_min; 1 with no street to patrol); "
        "the norm (8 min) holds riding time")
    assert _norm_line(table, "bike", 480, False, "zh").startswith(
        "3 个自行车巡查区域，每圈 0.9-21.6 分钟（骑行 分钟；1 个区域内没有可巡查的道路）；")
    assert "rounds 0.0-0.0 min" in _norm_line(table[table["streets"] == 0], "bike", 480, True)


def test_save_counts_in_chinese_on_postgis(pg_dsn: str, district_store: Path) -> None:
    """The --save counts under --lang zh on the system of record: new, then unchanged."""
    with urbangrid.connect(str(district_store), readonly=True) as src, \
            urbangrid.connect(pg_dsn) as dst:
        dst.write("street_centreline", src.read("street_centreline"), "upsert")
        load_unit_grids(dst, src.read("unit_grid"), version="test", source="lattice")
    args = ["plan", pg_dsn, "--save", "--mode", "walk", "--iterations", "10", "--lang", "zh"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    n = re.search(r"^采集员责任区（collector_area）：新增 (\d+)，变更 0，未变 0，停用 0$",
                  first.output, re.M)
    assert n and int(n.group(1)) > 0, first.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert f"采集员责任区（collector_area）：新增 0，变更 0，未变 {n.group(1)}，停用 0" in \
        again.output, again.output
    assert re.search(r"^巡查路线（patrol_route）：新增 0，变更 0，未变 \d+，停用 0$",
                     again.output, re.M), again.output
