"""Code tables and city profiles (urbangrid.spatial.components.codes)."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pytest

from urbangrid.errors import ProfileError, UnknownCodeError, UrbangridError
from urbangrid.spatial.components.codes import (
    CityProfile,
    bundled_profile,
    demo_profile,
    edition_classes,
    edition_names,
    find_subclass,
    get_edition,
    normalize_name,
    profile_table,
    read_profile,
    standard_profile,
    standard_subclasses,
    time_limits,
)

# The reference tables the code tables were built from (copied from the workspace's
# shared/reference; see tests/data/SOURCES.md).
REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"

HEADER = "action,kind,class_code,code,name,aliases,department,note\n"


def write_profile(
    tmp_path: Path, body: str, meta: str = "# name: t\n# edition: cjt214-2007\n"
) -> Path:
    p = tmp_path / "city.csv"
    p.write_text(meta + HEADER + body, encoding="utf-8")
    return p


class TestEditions:
    def test_known(self) -> None:
        assert edition_names() == ("cjt214-2007", "gbt47678-2026")

    @pytest.mark.parametrize(
        ("name", "length", "code_length", "verified"),
        [("cjt214-2007", 16, 4, True), ("gbt47678-2026", 17, 5, False)],
    )
    def test_layout(self, name: str, length: int, code_length: int, verified: bool) -> None:
        e = get_edition(name)
        assert (e.id_length, e.code_length, e.verified) == (length, code_length, verified)
        assert e.admin_digits + e.code_length + e.serial_digits == e.id_length

    def test_statuses(self) -> None:
        assert get_edition("cjt214-2007").component_statuses == ("完好", "破损", "丢失", "占用")
        assert get_edition("gbt47678-2026").component_statuses == (
            "完好",
            "破损",
            "丢失",
            "废弃",
            "移除",
        )
        assert get_edition("cjt214-2007").data_sources == ("实测", "地形图", "调绘", "其它")

    def test_unknown(self) -> None:
        with pytest.raises(UnknownCodeError, match="cjt214-2007"):
            get_edition("cjt214-1999")


class TestStandardTables:
    def test_components_match_reference(self) -> None:
        ref = list(
            csv.DictReader(io.StringIO((REFERENCE / "components_cjt214.csv").read_text("utf-8")))
        )
        got = standard_subclasses("cjt214-2007", "component")
        assert [(s.code, s.name) for s in got] == [
            (r["subclass_code"], r["subclass_name"]) for r in ref
        ]

    def test_events_match_reference(self) -> None:
        ref = list(
            csv.DictReader(io.StringIO((REFERENCE / "events_cjt214.csv").read_text("utf-8")))
        )
        got = standard_subclasses("cjt214-2007", "event")
        assert [(s.code, s.name) for s in got] == [
            (r["subclass_code"], r["subclass_name"]) for r in ref
        ]

    def test_counts_per_class(self) -> None:
        got = Counter(s.class_code for s in standard_subclasses())
        assert got == {"01": 38, "02": 17, "03": 11, "04": 10, "05": 3, "06": 6}
        assert len(standard_subclasses(kind="event")) == 54

    def test_every_row_has_a_department(self) -> None:
        for kind in ("component", "event"):
            for s in standard_subclasses(kind=kind):
                assert s.department, s.code

    def test_2026_is_provisional(self) -> None:
        subs = standard_subclasses("gbt47678-2026")
        assert len(subs) == 85
        assert all(not s.verified and len(s.code) == 5 for s in subs)
        assert {s.code: s.crosswalk_cjt214 for s in subs}["01001"] == "0101"
        events = {s.code: s.name for s in standard_subclasses("gbt47678-2026", "event")}
        assert events == {"06010": "暴露垃圾", "09005": "店外经营"}

    def test_classes(self) -> None:
        assert edition_classes()["21"] == "扩展部件类"
        assert edition_classes(kind="event")["21"] == "扩展事件类"
        assert list(edition_classes()) == ["01", "02", "03", "04", "05", "06", "21"]

    def test_bad_kind(self) -> None:
        with pytest.raises(ValueError, match="kind"):
            standard_subclasses(kind="thing")  # type: ignore[arg-type]


class TestProfiles:
    def test_standard(self) -> None:
        p = standard_profile()
        assert (p.n_component_classes, p.n_component_subclasses) == (6, 85)
        assert len(p.events) == 54
        assert bundled_profile("standard").n_component_subclasses == 85

    def test_demo_is_7_by_121(self) -> None:
        p = demo_profile()
        assert (p.n_component_classes, p.n_component_subclasses) == (7, 121)
        assert p.component_classes["21"] == "扩展部件类"
        ext = [s for s in p.components.values() if s.extension]
        assert len(ext) == 36
        assert all(s.class_code == "21" and s.code.startswith("21") for s in ext)
        assert p.components["2101"].name == "防蚊闸"
        assert p.components["2137"].name == "线状花架花钵"
        assert p.admin_code == "320508"
        assert p.edition.name == "cjt214-2007"

    def test_demo_extensions_are_the_real_ones(self) -> None:
        # Every coded example from STANDARDS.md is in the demo profile under its own code.
        text = (REFERENCE / "STANDARDS.md").read_text(encoding="utf-8")
        coded = dict(re.findall(r"(21\d\d) ([^\s,，]+?)[,.]", text))
        assert len(coded) == 27
        p = demo_profile()
        for code, name in coded.items():
            assert p.components[code].name == name

    def test_mappings_read_only(self) -> None:
        p = demo_profile()
        with pytest.raises(TypeError):
            p.components["9999"] = p.components["0101"]  # type: ignore[index]

    def test_unknown_bundled(self) -> None:
        with pytest.raises(UnknownCodeError, match="demo"):
            bundled_profile("atlantis")

    def test_load_extend_override_disable(self, tmp_path: Path) -> None:
        p = read_profile(
            write_profile(
                tmp_path,
                "extend,component,21,2101,防蚊闸,防蚊门,,\n"
                "override,component,01,0118,,,市路灯管理处,\n"
                "override,component,06,0606,防洪墙,,,\n"
                "disable,component,06,0605,,,,\n"
                "extend,event,21,2101,共享单车乱停放,,城市管理综合执法部门,\n",
            )
        )
        assert isinstance(p, CityProfile)
        assert p.n_component_subclasses == 85 + 1 - 1
        assert p.n_component_classes == 7
        assert p.components["0118"].department == "市路灯管理处"
        assert p.components["0606"].name == "防洪墙"
        assert find_subclass(p, "防汛墙").code == "0606"  # the old name stays an alias
        assert "0605" not in p.components
        assert find_subclass(p, "防蚊门").code == "2101"
        assert find_subclass(p, "共享单车乱停放", kind="event").code == "2101"
        assert p.event_classes["21"] == "扩展事件类"
        assert p.source == str(tmp_path / "city.csv")

    def test_gbk_file(self, tmp_path: Path) -> None:
        path = tmp_path / "gbk.csv"
        path.write_text(
            "# name: t\n# edition: cjt214-2007\n" + HEADER + "extend,component,21,2101,防蚊闸,,,\n",
            encoding="gbk",
        )
        with pytest.raises(ProfileError, match="gbk"):
            read_profile(path)
        assert read_profile(path, encoding="gbk").components["2101"].name == "防蚊闸"

    @pytest.mark.parametrize(
        ("body", "line", "reason"),
        [
            (
                "extend,component,21,2101,甲,,,\nextend,component,21,2101,乙,,,\n",
                5,
                "duplicate code",
            ),
            ("extend,component,01,0101,甲,,,\n", 4, "duplicate code 0101"),
            ("extend,component,21,2201,甲,,,\n", 4, "outside its class 21"),
            ("extend,component,07,0701,甲,,,\n", 4, "unknown component class '07'"),
            ("extend,component,21,21011,甲,,,\n", 4, "4 digits"),
            ("extend,component,21,2101,,,,\n", 4, "needs a name"),
            ("extend,component,21,2101,路灯,,,\n", 4, "duplicate name '路灯'"),
            ("grow,component,21,2101,甲,,,\n", 4, "unknown action"),
            ("extend,thing,21,2101,甲,,,\n", 4, "unknown kind"),
            ("override,component,01,0199,甲,,,\n", 4, "no such component subclass"),
            ("extend,component,21,2101,甲,,,,extra\n", 4, "cells"),
        ],
    )
    def test_bad_rows(self, tmp_path: Path, body: str, line: int, reason: str) -> None:
        path = write_profile(tmp_path, body)
        with pytest.raises(ProfileError) as info:
            read_profile(path)
        assert f"row {line}:" in str(info.value)
        assert reason in str(info.value)
        assert str(path) in str(info.value)
        assert info.value.problems[0]["row"] == line

    def test_all_problems_reported(self, tmp_path: Path) -> None:
        path = write_profile(
            tmp_path,
            "extend,component,07,0701,甲,,,\n\n# comment\nextend,component,21,2201,乙,,,\n",
        )
        with pytest.raises(ProfileError) as info:
            read_profile(path)
        assert [p["row"] for p in info.value.problems] == [4, 7]

    @pytest.mark.parametrize(
        ("meta", "reason"),
        [
            ("# name: t\n", "'# edition: ...'"),
            ("# edition: cjt214-2007\n", "'# name: ...'"),
            ("# name: t\n# edition: cjt999\n", "unknown standard edition"),
            (
                "# name: t\n# edition: cjt214-2007\n# admin_code: 3205\n",
                "admin_code must be 6 digits",
            ),
        ],
    )
    def test_bad_metadata(self, tmp_path: Path, meta: str, reason: str) -> None:
        with pytest.raises(ProfileError, match=reason):
            read_profile(write_profile(tmp_path, "", meta))

    def test_bad_header(self, tmp_path: Path) -> None:
        path = tmp_path / "h.csv"
        path.write_text("# name: t\n# edition: cjt214-2007\naction,kind,colour\n", encoding="utf-8")
        with pytest.raises(ProfileError, match=r"row 3: unknown column\(s\) \['colour'\]"):
            read_profile(path)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ProfileError, match="cannot read"):
            read_profile(tmp_path / "nope.csv")

    def test_error_is_a_value_error(self) -> None:
        assert issubclass(ProfileError, UrbangridError)
        assert issubclass(ProfileError, ValueError)

    def test_2026_profile(self, tmp_path: Path) -> None:
        p = read_profile(
            write_profile(
                tmp_path,
                "extend,component,21,21001,防蚊闸,,,\n",
                "# name: t26\n# edition: gbt47678-2026\n",
            )
        )
        assert p.n_component_subclasses == 86
        with pytest.raises(ProfileError, match="5 digits"):
            read_profile(
                write_profile(
                    tmp_path,
                    "extend,component,21,2101,甲,,,\n",
                    "# name: t\n# edition: gbt47678-2026\n",
                )
            )


class TestFindSubclass:
    @pytest.mark.parametrize(
        ("text", "code"),
        [
            ("0104", "0104"),
            ("雨水箅子", "0104"),
            ("雨水篦子", "0104"),
            ("输油（气）井盖", "0129"),
            ("输油(气)井盖", "0129"),
            ("变压器(箱)", "0134"),
            ("燃气调压站(箱)", "0135"),
            ("垃圾间(楼)", "0304"),
            ("防洪墙", "0606"),
            ("电信井盖", "0107"),
            ("有线电视井盖", "0108"),
            ("不明井盖", "0114"),
            ("电杆", "0117"),
            ("街头座椅", "0407"),
            (" 路灯 ", "0118"),
        ],
    )
    def test_aliases(self, text: str, code: str) -> None:
        assert find_subclass(standard_profile(), text).code == code

    def test_extension_only_in_its_profile(self) -> None:
        assert find_subclass(demo_profile(), "地铁出入口").code == "2114"
        with pytest.raises(UnknownCodeError, match="地铁出入口"):
            find_subclass(standard_profile(), "地铁出入口")

    def test_event_alias(self) -> None:
        assert find_subclass(standard_profile(), "其它街面秩序问题", kind="event").code == "0599"

    def test_normalise(self) -> None:
        assert normalize_name("输油（气）井盖") == "输油(气)井盖"


class TestTimeLimits:
    def test_event(self) -> None:
        (t,) = time_limits(standard_profile(), "0102", kind="event")
        assert (t.limit, t.unit, t.condition) == (4.0, "工作时", "")

    def test_missing_cover(self) -> None:
        (t,) = time_limits("cjt214-2007", "0101")
        assert (t.limit, t.unit, t.condition) == (6.0, "小时", "丢失")
        assert time_limits("cjt214-2007", "0118") == ()


def test_profile_table() -> None:
    rows = profile_table(demo_profile())
    assert len(rows) == 121
    assert rows[0]["code"] == "0101"
    assert rows[-1] == {
        "class_code": "21",
        "class_name": "扩展部件类",
        "code": "2146",
        "name": "高立柱广告",
        "aliases": "",
        "department": "城市管理部门",
        "extension": True,
        "verified": False,
    }
