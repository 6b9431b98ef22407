"""The geocoder words its reasons and candidate notes in English and Chinese from the
same values (``reason``/``reason_zh``, ``note``/``note_zh``) and carries the plate range
it quoted (``known_plates``), so the command line prints them instead of re-deriving
them (H42 items 2-4). On the bundled Wudaokou + CAU extracts and Haidian's divisions."""

from __future__ import annotations

import re

import pytest

from urbangrid.spatial.geocoding.forward import geocode, plate_range
from urbangrid.spatial.geocoding.gazetteer import Gazetteer

_NUMBERS = re.compile(r"\d+")


def test_no_match_reason_in_both_languages(haidian: Gazetteer) -> None:
    r = geocode(haidian, "海淀区清华中路")
    assert not r.found
    near = re.search(r"\(([^:]+): another street, not a misspelling\)", r.reason)
    assert near, r.reason  # 清华路 and its siblings: the same streets named in Chinese
    assert r.reason_zh == (f"地名地址库中没有与街巷“清华中路”匹配的地点（{near.group(1)}："
                           "是另一条道路，不是错别字）")


@pytest.mark.parametrize(("text", "zh"), [
    ("", "输入为空"), ("!!!", "“!!!”中没有地址用词"),
    ("朝阳区成府路1号", "区县 朝阳区 不在地名地址库的范围内（海淀区）"),
])
def test_early_reasons(haidian: Gazetteer, text: str, zh: str) -> None:
    assert geocode(haidian, text).reason_zh == zh


def test_an_unknown_plate_carries_the_range_it_quotes(haidian: Gazetteer) -> None:
    r = geocode(haidian, "北京市海淀区成府路999号")
    assert r.level == "street" and r.known_plates is not None
    lo, hi = r.known_plates
    assert r.known_plates == plate_range(haidian, r.place_id)
    assert r.reason == (f"street middle; no plate 成府路999号 in the gazetteer (known plates "
                        f"on 成府路: {lo}号 to {hi}号)")
    assert r.reason_zh == ("街巷中点；地名地址库中没有门牌 成府路999号（成府路已知门牌："
                           f"{lo}号至{hi}号）")
    # found at the plate, or no plate given: no range
    assert geocode(haidian, f"成府路{lo}号").known_plates is None
    assert geocode(haidian, "成府路").known_plates is None


def test_candidate_notes_in_both_languages(haidian: Gazetteer) -> None:
    lo, hi = plate_range(haidian, geocode(haidian, "成府路").place_id) or (0, 0)
    between = next(r for n in range(lo + 1, hi)
                   if (r := geocode(haidian, f"成府路{n}号")).level == "interpolated")
    c = between.candidates[0]
    a, b = re.fullmatch(r"between (\S+) and (\S+)", c.note).groups()  # type: ignore[union-attr]
    assert c.note_zh == f"在{a}与{b}之间插值"
    off = geocode(haidian, "成府路55号东50米").candidates[0]
    assert (off.note, off.note_zh) == ("东50米 applied", "已按东50米偏移")
    doubt = geocode(haidian, "上海市成府路55号")
    assert doubt.reason_zh == "行政区划相互矛盾：地名地址库的区县不在上海市", doubt.reason_zh
    located = [c for c in geocode(haidian, "华清嘉园99号楼", limit=3).candidates
               if c.note.startswith("located by ")]
    assert located and all(c.note_zh == f"按{c.note[len('located by '):]}定位"
                           for c in located)


@pytest.mark.parametrize("text", ["成府路999号", "成府路55号东50米", "海淀区清华中路",
                                  "上海市成府路55号", "华清嘉园99号楼"])
def test_no_english_word_in_the_chinese_and_the_same_numbers(haidian: Gazetteer,
                                                             text: str) -> None:
    r = geocode(haidian, text, limit=3)
    for en, zh in [(r.reason, r.reason_zh), *((c.note, c.note_zh) for c in r.candidates)]:
        assert bool(en) == bool(zh), (en, zh)
        assert not re.search(r"[a-z]{3,}", zh), zh
        assert _NUMBERS.findall(en) == _NUMBERS.findall(zh), (en, zh)
