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
