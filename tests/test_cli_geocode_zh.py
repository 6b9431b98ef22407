"""``urbangrid geocode --lang zh``: the reason for no match is Chinese, worded from the
result's parse, not the library's English reason (new-user trial: "无匹配: no place in the
gazetteer matches road='清华东路'"). On Haidian's bundled division codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from urbangrid.cli.main import main
from urbangrid.data import data_path


def haidian_gazetteer(folder: Path) -> str:
    """A GeoPackage gazetteer of Haidian's bundled division codes and one door plate
    (成府路55号); its path."""
    plates = folder / "plates.csv"
    plates.write_text("street,number,x,y\n成府路,55,116.32,39.9905\n", encoding="utf-8")
    path = str(folder / "g.gpkg")
    made = CliRunner().invoke(main, ["gazetteer", "load", path, "--divisions",
                                     str(data_path("codes/haidian_110108_divisions_2023.csv")),
                                     "--plates", str(plates)])
    assert made.exit_code == 0, made.output
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return haidian_gazetteer(tmp_path_factory.mktemp("geocode_zh"))


@pytest.mark.parametrize(("address", "zh", "en"), [
    ("海淀区清华东路", "无匹配：地名地址库中没有与街巷“清华东路”匹配的地点",
     "none: no place in the gazetteer matches road='清华东路'"),
    ("朝阳区成府路1号", "无匹配：区县 朝阳区 不在地名地址库的范围内（海淀区）",
     "none: district 朝阳区 is outside the gazetteer (海淀区)"),
    ("!!!", "无匹配：“!!!”中没有地址用词", "none: no address words in '!!!'"),
    ("  ", "无匹配：输入为空", "none: empty input"),
    ("Chengfu Lu成府大街", "无匹配：地名地址库中没有与街巷“Chengfu Lu成府大街”匹配的地点"
     "（地址混用了中文和拉丁字母）", "none: no place in the gazetteer matches "
     "road='Chengfu Lu成府大街' (the text mixes Chinese and Latin script)"),
    ("中关村某某大厦", "无匹配：地名地址库中没有与兴趣点“中关村某某大厦”匹配的地点",
     "none: no place in the gazetteer matches poi='中关村某某大厦'"),
])
def test_no_match_reason_in_either_language(store: str, address: str, zh: str,
                                            en: str) -> None:
    for lang, line in (("zh", zh), ("en", en)):
        res = CliRunner().invoke(main, ["geocode", store, address, "--lang", lang])
        assert res.exit_code == 3, res.output
        assert res.output.strip() == line, res.output
    # no English word left in the Chinese line but what the user typed
    assert not re.search(r"[a-z]{3,}", zh.replace("Chengfu Lu", ""))


def test_a_match_names_its_level_in_chinese(store: str) -> None:
    res = CliRunner().invoke(main, ["geocode", store, "北京市海淀区成府路55号", "--lang", "zh"])
    assert res.exit_code == 0 and res.output.startswith("匹配级别\t置信度"), res.output
    assert res.output.splitlines()[1].startswith("门牌\t"), res.output  # the level, too
    res = CliRunner().invoke(main, ["geocode", store, "北京市海淀区成府路55号", "--lang", "en"])
    assert res.exit_code == 0 and res.output.startswith("plate\t"), res.output


def _plates_store(folder: Path, lang: str) -> tuple[str, str]:
    """A gazetteer of Haidian's divisions and two plates on 成府路 (53号, 57号), loaded
    with ``gazetteer load --lang`` `lang`: its path and what the load printed."""
    plates = folder / "plates.csv"
    plates.write_text("street,number,x,y\n成府路,53,116.3200,39.9905\n"
                      "成府路,57,116.3210,39.9905\n", encoding="utf-8")
    path = str(folder / f"g_{lang}.gpkg")
    made = CliRunner().invoke(main, ["gazetteer", "load", path, "--divisions",
                                     str(data_path("codes/haidian_110108_divisions_2023.csv")),
                                     "--plates", str(plates), "--lang", lang])
    assert made.exit_code == 0, made.output
    return path, made.output.strip().splitlines()[-1]  # after "created the store …"


def test_gazetteer_load_counts_in_chinese(tmp_path: Path) -> None:
    """H42 item 4: the load's counts were English under --lang zh."""
    _, zh = _plates_store(tmp_path, "zh")
    m = re.fullmatch(r"(\d+) 个地点（区域 (\d+)，门（楼）牌 2）：新增 (\d+)，变更 0，未变 0", zh)
    assert m and m.group(1) == m.group(3) == str(int(m.group(2)) + 2), zh
    _, en = _plates_store(tmp_path, "en")
    assert re.fullmatch(rf"{m.group(1)} places {{'area': {m.group(2)}, 'plate': 2}}: "
                        rf"{m.group(1)} new, 0 changed, 0 unchanged", en), en


@pytest.mark.parametrize(("address", "zh", "en"), [
    ("海淀区成府路55号", ["门牌插值", "成府路55号", "在成府路53号与成府路57号之间插值"],
     ["interpolated", "成府路55号", "between 成府路53号 and 成府路57号"]),
    ("成府路53号东50米", ["门牌", "成府路53号", "已按东50米偏移"],
     ["plate", "成府路53号", "东50米 applied"]),
])
def test_candidate_notes_in_either_language(tmp_path: Path, address: str, zh: list[str],
                                            en: list[str]) -> None:
    """H42 item 4: a candidate's note (how it was placed) was English under --lang zh;
    the library words it in both languages (Candidate.note_zh)."""
    store, _ = _plates_store(tmp_path, "en")
    lines = {}
    for lang, words in (("zh", zh), ("en", en)):
        res = CliRunner().invoke(main, ["geocode", store, address, "--lang", lang])
        assert res.exit_code == 0, res.output
        lines[lang] = res.output.splitlines()[-1].split("\t")
        # level, confidence, lon, lat, name, note: the level and the note in `lang`
        assert [lines[lang][i] for i in (0, 4, 5)] == words, res.output
    assert lines["zh"][1:4] == lines["en"][1:4]  # the same figures


def test_unknown_plate_note_quotes_the_results_range() -> None:
    """H42 item 3: the note takes the plate range the result carries (known_plates),
    not a second plate_range over the gazetteer."""
    from types import SimpleNamespace

    from urbangrid.cli.geocode import _unknown_plate_note

    r = SimpleNamespace(level="street", name="成府路", unknown_plate="成府路999号",
                        known_plates=(43, 101))
    assert _unknown_plate_note(r, "zh", "g.gpkg") == (
        "注：地名地址库中没有门牌 成府路999号（成府路已知门牌：43号至101号），上面的坐标是"
        "成府路的中点，不是该门牌的位置")
    assert "(known plates on 成府路: 43 to 101)" in _unknown_plate_note(r, "en", "g.gpkg")
