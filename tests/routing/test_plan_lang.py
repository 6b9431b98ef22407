"""``--lang zh`` gives the staffing explanation, the plan's headcount line and its
summary paragraph in Chinese (they were English under a Chinese table); English stays
the default (H40 item 2). On the bundled Wudaokou streets and its demo grids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import urbangrid
from urbangrid.cli.main import main
from urbangrid.data import data_path

#: English words that may stay in Chinese text: option and argument names, OSM classes.
_CODE = re.compile(r"--[a-z-]+|[a-z_]+=True|(trunk|motorway)(_link)?")
_ENGLISH = re.compile(r"[a-z]{3,}")  # GPX, km² and numbers may stay


def _english_words(line: str) -> list[str]:
    return _ENGLISH.findall(_CODE.sub("", line))


@pytest.fixture(scope="module")
def wudaokou(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from urbangrid.demo.inputs import load_demo_grids
    from urbangrid.loaders.osm import read_streets

    path = tmp_path_factory.mktemp("zh") / "wudaokou.gpkg"
    with urbangrid.connect(str(path)) as s:
        s.write("street_centreline",
                read_streets(data_path("osm/beijing_haidian_wudaokou.osm.bz2")), "upsert")
        load_demo_grids(s)
    return path


def _plan(store: Path, lang: str, out: Path) -> list[str]:
    res = CliRunner().invoke(main, ["plan", str(store), "--iterations", "5", "--lang", lang,
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    return res.output.splitlines()


def test_plan_in_chinese(wudaokou: Path, tmp_path: Path) -> None:
    lines = _plan(wudaokou, "zh", tmp_path / "zh")
    summary = [x for x in lines if x.startswith("本方案需要")]
    assert len(summary) == 1, lines
    head = re.fullmatch(r"采集员 (\d+) 名，下界 (\d+) 名（用时 [\d.]+ 秒，1 个进程）",
                        next(x for x in lines if x.startswith("采集员 ")))
    assert head, lines
    n, bound = head.groups()
    assert summary[0].startswith(f"本方案需要 {n} 名自行车采集员：")
    assert f"任何方案都不能少于 {bound} 名" in summary[0]
    assert "按网格数名册上为" in summary[0] and "按人均面积为" in summary[0]
    norm = next(x for x in lines if "个自行车巡查区域，每圈" in x)
    for line in (summary[0], norm, lines[-1].replace(str(tmp_path), "")):
        assert not _english_words(line), line
    assert {"巡查区域", "道路", "采集员", "骑行 分钟 ≤ 30"} <= set(re.split(r"\s{2,}",
                                                                      lines[0].strip()))
    assert "全部" in lines[1] and "all" not in lines[1]
    assert lines[-1].startswith("已写出 ")
    text = (tmp_path / "zh" / "summary.txt").read_text(encoding="utf-8")
    assert text.strip() == summary[0]


def test_plan_in_english_is_unchanged(wudaokou: Path, tmp_path: Path) -> None:
    lines = _plan(wudaokou, "en", tmp_path / "en")
    assert any(x.startswith("This plan needs ") for x in lines)
    assert any(re.fullmatch(r"headcount \d+, lower bound \d+ \([\d.]+ s, 1 process\(es\)\)",
                            x) for x in lines)
    assert not re.search(r"[\u4e00-\u9fff]", "\n".join(lines))
    assert (tmp_path / "en" / "summary.txt").read_text(encoding="utf-8").startswith(
        "This plan needs ")


def test_staffing_explained_in_chinese(wudaokou: Path) -> None:
    res = CliRunner().invoke(main, ["staffing", str(wudaokou), "--lang", "zh"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith("全区："))
    explained = lines[start:start + 5]
    assert [x.strip()[:5] for x in explained] == ["全区：45", "按网格数：", "按人均面积",
                                                   "（7 个社", "按巡查时间"], explained
    assert all(not _english_words(x) for x in explained), explained
    en = CliRunner().invoke(main, ["staffing", str(wudaokou), "--lang", "en"])
    assert en.exit_code == 0 and "  grids: " in en.output and "全区" not in en.output


def test_the_two_languages_quote_the_same_figures(wudaokou: Path) -> None:
    from urbangrid.routing.patrol.district import plan_district
    from urbangrid.routing.patrol.streets import store_street_graph
    from urbangrid.spatial.grids.versions import read_unit_grids

    with urbangrid.connect(str(wudaokou), readonly=True) as s:
        p = plan_district(store_street_graph(s, "bike"), read_unit_grids(s).assign(grade=3),
                          iterations=5)
    numbers = re.compile(r"\d+(?:\.\d+)?")
    assert numbers.findall(p.summary)[:4] == numbers.findall(p.summary_zh)[:4]
    assert p.summary_zh.startswith(f"本方案需要 {p.headcount} 名自行车采集员")


def test_roads_the_mode_may_not_ride_are_named(wudaokou: Path, tmp_path: Path) -> None:
    # 京藏高速 (motorway) crosses the extract: bikes may not ride it, and the plan says so
    zh = " ".join(_plan(wudaokou, "zh", tmp_path / "zh"))
    assert re.search(r"自行车巡查不含道路数据中 [\d.]+ 公里的 motorway", zh)
    en = " ".join(_plan(wudaokou, "en", tmp_path / "en"))
    assert re.search(r"The bike mode leaves out [\d.]+ km of motorway in the street data", en)


def test_norm_not_met_lines_are_the_librarys_words(wudaokou: Path) -> None:
    """Under --lang zh the "norm not met" lines print DistrictPlan.problems_zh (the library
    words each problem in both languages from the same figures; the CLI no longer
    rewords it): the same lines, the same figures as under --lang en (H42 item 1)."""
    def unmet(lang: str) -> list[str]:
        res = CliRunner().invoke(main, ["plan", str(wudaokou), "--iterations", "5",
                                        "--round", "12min", "--lang", lang])
        assert res.exit_code == 0, res.output
        head = "未达标准：" if lang == "zh" else "norm not met: "
        return [x for x in res.output.splitlines() if x.startswith(head)]

    en, zh = unmet("en"), unmet("zh")
    assert len(zh) == len(en) > 1, (en, zh)
    numbers = re.compile(r"\d+(?:\.\d+)?")
    for e, z in zip(en[:5], zh[:5], strict=True):
        # en: "file: field 'round_s' value 372.1: area …"; zh names the file, then the reason
        assert z.startswith(f"未达标准：{wudaokou}：巡查区域 "), z
        assert numbers.findall(e.split(": area ", 1)[1]) == \
            numbers.findall(z.split("：巡查区域 ", 1)[1]), (e, z)
        assert not _english_words(z.replace(str(wudaokou), "")), z
