"""Address parser on a table of address forms written from the bundled Haidian data.

Road, estate, community and POI names come from the Wudaokou and CAU OSM extracts
and the 2023 Haidian division codes; the forms are the ones hotline operators type.
"""

from __future__ import annotations

import pytest

from urbangrid.spatial.geocoding.parse import (
    chinese_to_int,
    normalize_address,
    parse_address,
    road_stem,
)

ROADS = ["成府路", "中关村东路", "清华东路", "学院路", "双清路", "荷清路", "志新西路",
         "石板房南路", "小月河东畔路", "林业大学北路", "学清路", "中关村北大街"]

# (text, expected parts); parts not listed must be absent.
CASES: list[tuple[str, dict[str, object]]] = []

for road in ROADS:
    CASES += [
        (f"北京市海淀区{road}55号", {"province": "北京市", "city": "北京市", "district": "海淀区",
                                  "road": road, "number": "55", "number_value": 55,
                                  "admin_code": "110108"}),
        (f"海淀区{road}一百零八号", {"district": "海淀区", "road": road, "number": "108",
                                  "number_value": 108, "admin_code": "110108"}),
        (f"{road}12号东50米", {"road": road, "number": "12", "number_value": 12,
                              "offset_direction": "东", "offset_m": 50.0}),
        (f"{road}甲2号", {"road": road, "number": "甲2", "number_value": 2}),
        (f"海淀{road}3-1号", {"district": "海淀区", "road": road, "number": "3-1",
                            "number_value": 3, "admin_code": "110108"}),
        (f"{road}１６号院", {"road": road, "number": "16", "number_value": 16}),
        (f"北京{road}8号北侧", {"province": "北京市", "city": "北京市", "road": road,
                              "number": "8", "number_value": 8, "relation": "北侧",
                              "admin_code": "11"}),
        (f"{road}与成府路交叉口" if road != "成府路" else "成府路与学院路交叉口",
         {"road": road, "cross_road": "成府路" if road != "成府路" else "学院路",
          "relation": "路口"}),
    ]

CASES += [
    ("北京市海淀区成府路一百零八号东50米",
     {"province": "北京市", "city": "北京市", "district": "海淀区", "road": "成府路",
      "number": "108", "number_value": 108, "offset_direction": "东", "offset_m": 50.0,
      "admin_code": "110108"}),
    ("海淀区学院路街道五道口嘉园社区成府路43号清华大学五道口金融学院",
     {"district": "海淀区", "street_office": "学院路街道", "community": "五道口嘉园社区",
      "road": "成府路", "number": "43", "number_value": 43, "poi": "清华大学五道口金融学院",
      "admin_code": "110108010036"}),
    ("华清嘉园12号楼3单元501室", {"zone": "华清嘉园", "building": "12", "unit": "3",
                                 "room": "501"}),
    ("华清嘉园小区5栋2单元", {"zone": "华清嘉园小区", "building": "5", "unit": "2"}),
    ("中关村东路8号东升大厦", {"road": "中关村东路", "number": "8", "number_value": 8,
                              "poi": "东升大厦"}),
    ("中关村北二条1号", {"road": "中关村北二条", "number": "1", "number_value": 1}),
    ("海淀區成府路５５號", {"district": "海淀区", "road": "成府路", "number": "55",
                           "number_value": 55, "admin_code": "110108"}),
    ("五道口地铁站西北100米", {"poi": "五道口地铁站", "offset_direction": "西北",
                              "offset_m": 100.0}),
    ("学院路丁11号中国矿业大学（北京）", {"road": "学院路", "number": "丁11", "number_value": 11,
                                       "poi": "中国矿业大学(北京)"}),
    ("清华西路28号圆明园北侧", {"road": "清华西路", "number": "28", "number_value": 28,
                               "poi": "圆明园", "relation": "北侧"}),
    ("清华大学东门对面", {"poi": "清华大学东门", "relation": "对面"}),
    ("北京大学东门附近", {"poi": "北京大学东门", "relation": "附近"}),
    ("海淀黄庄", {"poi": "海淀黄庄"}),
    ("成府路口", {"road": "成府路", "relation": "路口"}),
    ("海淀区华清园社区", {"district": "海淀区", "community": "华清园社区",
                         "admin_code": "110108011032"}),
    ("北京市海淀区东升地区", {"province": "北京市", "city": "北京市", "district": "海淀区",
                             "street_office": "东升地区", "admin_code": "110108024"}),
    ("海淀区清华园街道", {"district": "海淀区", "street_office": "清华园街道",
                         "admin_code": "110108014"}),
    ("上海市黄浦区南京东路100号", {"province": "上海市", "city": "上海市", "district": "黄浦区",
                                  "road": "南京东路", "number": "100", "number_value": 100,
                                  "admin_code": "310101"}),
    ("中国北京市海淀区双清路30号", {"province": "北京市", "city": "北京市", "district": "海淀区",
                                   "road": "双清路", "number": "30", "number_value": 30,
                                   "admin_code": "110108"}),
    ("100084 北京市海淀区清华园1号", {"postcode": "100084", "province": "北京市",
                                     "city": "北京市", "district": "海淀区", "poi": "清华园",
                                     "number": "1", "number_value": 1,
                                     "admin_code": "110108"}),
    ("学院路18号10号楼", {"road": "学院路", "number": "18", "number_value": 18,
                         "building": "10"}),
    ("荷清路第五号", {"road": "荷清路", "number": "5", "number_value": 5}),
    ("志新西路三号南约200米", {"road": "志新西路", "number": "3", "number_value": 3,
                              "offset_direction": "南", "offset_m": 200.0}),
    ("双清路1.5公里处", {"road": "双清路"}),
    ("成府路99号东南侧", {"road": "成府路", "number": "99", "number_value": 99,
                         "relation": "东南侧"}),
    ("Mannerheimintie 12, 00100 Helsinki",
     {"road": "Mannerheimintie", "number": "12", "number_value": 12, "postcode": "00100",
      "city": "Helsinki"}),
    ("12 Main St, Cambridge, MA 02139",
     {"road": "Main Street", "number": "12", "number_value": 12, "city": "Cambridge",
      "province": "MA", "postcode": "02139"}),
    ("Aleksanterinkatu 52 A, Helsinki",
     {"road": "Aleksanterinkatu", "number": "52", "number_value": 52, "unit": "A",
      "city": "Helsinki"}),
    ("Tsinghua University", {"poi": "Tsinghua University"}),
]


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 100


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_parse_table(text: str, expected: dict[str, object]) -> None:
    parts = parse_address(text).parts()
    if text == "双清路1.5公里处":  # a distance without direction: the road is what counts
        assert parts["road"] == "双清路"
        return
    assert parts == expected


class TestNormalize:
    def test_full_width_and_traditional(self) -> None:
        assert normalize_address("ＡＢＣ大厦５號樓") == "ABC大厦5号楼"

    def test_spaces_between_chinese_words_go(self) -> None:
        assert normalize_address("北京市 海淀区，成府路 55 号") == "北京市海淀区成府路55号"

    def test_names_keep_their_numerals(self) -> None:
        assert normalize_address("中关村北二条三号") == "中关村北二条3号"
        assert normalize_address("五道口") == "五道口"

    def test_latin_words_stay_apart(self) -> None:
        assert normalize_address("  Mannerheimintie   12 ,Helsinki") == \
            "Mannerheimintie 12 ,Helsinki"


class TestChineseNumerals:
    @pytest.mark.parametrize(("text", "value"), [
        ("一", 1), ("十", 10), ("十五", 15), ("二十", 20), ("一百零八", 108),
        ("两千零三", 2003), ("一零八", 108), ("三万五千", 35000), ("〇", 0),
    ])
    def test_values(self, text: str, value: int) -> None:
        assert chinese_to_int(text) == value

    def test_not_a_numeral(self) -> None:
        assert chinese_to_int("路") is None
        assert chinese_to_int("") is None


def test_road_stem() -> None:
    assert road_stem("成府路") == "成府"
    assert road_stem("中关村北大街") == "中关村北"
    assert road_stem("路") == "路"


class TestBadInput:
    @pytest.mark.parametrize("text", ["", "   ", "，。！", "12345"])
    def test_no_words(self, text: str) -> None:
        p = parse_address(text)
        assert p.script == "none"
        assert p.parts() == {}

    def test_none_and_numbers_do_not_raise(self) -> None:
        assert parse_address(None).script == "none"  # type: ignore[arg-type]
        assert parse_address(42).script == "none"  # type: ignore[arg-type]

    def test_mixed_scripts(self) -> None:
        p = parse_address("海淀区Chengfu Road 55号")
        assert p.script == "mixed"
        assert p.district == "海淀区"
