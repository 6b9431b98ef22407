"""Component identifiers (urbangrid.spatial.components.ids)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from urbangrid.errors import ComponentIdError
from urbangrid.spatial.components.codes import demo_profile, standard_profile
from urbangrid.spatial.components.ids import (
    ComponentId,
    check_component_ids,
    is_valid_component_id,
    make_component_id,
    make_component_ids,
    parse_component_id,
)

DEMO = demo_profile()
STANDARD = standard_profile()


class TestParse:
    def test_real_examples(self) -> None:
        assert parse_component_id("3205080101000001") == ComponentId(
            "320508", "01", "0101", 1, "cjt214-2007"
        )
        assert parse_component_id("3205820102048188") == ComponentId(
            "320582", "01", "0102", 48188, "cjt214-2007"
        )
        assert parse_component_id("3205820102048188", profile=DEMO).subclass_code == "0102"

    def test_2026(self) -> None:
        got = parse_component_id("32050801001000001")
        assert got == ComponentId("320508", "01", "01001", 1, "gbt47678-2026")

    def test_extension_needs_profile(self) -> None:
        cid = "3205082114000007"
        assert parse_component_id(cid, profile=DEMO).subclass_code == "2114"
        with pytest.raises(ComponentIdError, match="not in profile 'standard'"):
            parse_component_id(cid, profile=STANDARD)
        # Without a profile only the class is checked: 21 is the extension class.
        assert parse_component_id(cid).class_code == "21"

    @pytest.mark.parametrize(
        ("cid", "reason"),
        [
            ("320508010100001", "cannot tell the edition"),
            ("32050801010000012345", "cannot tell the edition"),
            ("3205080101O00001", "digits only"),
            ("9805080101000001", "no province 98"),
            ("3205089901000001", "class 99"),
            ("3205080101000000", "serial 000000"),
        ],
    )
    def test_bad(self, cid: str, reason: str) -> None:
        with pytest.raises(ComponentIdError, match=reason) as info:
            parse_component_id(cid)
        assert cid in str(info.value)
        assert not is_valid_component_id(cid)

    def test_wrong_edition(self) -> None:
        with pytest.raises(ComponentIdError, match="17"):
            parse_component_id("3205080101000001", edition="gbt47678-2026")

    def test_not_a_string(self) -> None:
        with pytest.raises(ComponentIdError, match="int"):
            parse_component_id(3205080101000001)  # type: ignore[arg-type]

    def test_admin_whitelist(self) -> None:
        assert is_valid_component_id("3205080101000001", admin_codes={"320508"})
        assert not is_valid_component_id("3205820102048188", admin_codes={"320508"})


class TestMake:
    def test_examples(self) -> None:
        assert make_component_id("320508", "0101", 1) == "3205080101000001"
        assert make_component_id("320582", "0102", 48188, profile=DEMO) == "3205820102048188"
        assert (
            make_component_id("320508", "01001", 1, edition="gbt47678-2026") == "32050801001000001"
        )

    @pytest.mark.parametrize(
        ("args", "reason"),
        [
            (("32050", "0101", 1), "admin code"),
            (("320508", "010", 1), "4 digits"),
            (("320508", "0101", 0), "outside 1..999999"),
            (("320508", "0101", 1_000_000), "outside 1..999999"),
            (("320508", "0101", 1.0), "integer"),
            (("320508", "2199", 1), "not in profile 'demo'"),
        ],
    )
    def test_bad(self, args: tuple, reason: str) -> None:
        with pytest.raises(ComponentIdError, match=reason):
            make_component_id(*args, profile=DEMO)

    @given(
        admin=st.sampled_from(["320508", "110105", "440305", "500108"]),
        code=st.sampled_from(sorted(DEMO.components)),
        serial=st.integers(1, 999_999),
    )
    def test_round_trip(self, admin: str, code: str, serial: int) -> None:
        cid = make_component_id(admin, code, serial, profile=DEMO)
        assert len(cid) == 16
        assert parse_component_id(cid, profile=DEMO) == ComponentId(
            admin, code[:2], code, serial, "cjt214-2007"
        )

    def test_vectorised_matches_scalar(self) -> None:
        codes = ["0101", "0102", "2114"]
        serials = np.array([1, 48188, 999_999])
        got = make_component_ids("320508", codes, serials, profile=DEMO)
        assert list(got) == [
            make_component_id("320508", c, int(s), profile=DEMO)
            for c, s in zip(codes, serials, strict=True)
        ]

    def test_vectorised_bad_row(self) -> None:
        with pytest.raises(ComponentIdError, match=r"row 1 field subclass_code: bad value '9999'"):
            make_component_ids("320508", ["0101", "9999"], [1, 2], profile=DEMO)
        with pytest.raises(ComponentIdError, match=r"row 0 field serial"):
            make_component_ids("320508", ["0101"], [0], profile=DEMO)


class TestCheckMany:
    def test_reports_each_problem(self) -> None:
        ids = ["3205080101000001", "320508010100001", "3205089999000001", "3205080101000002"]
        got = check_component_ids(ids, ["0101", "0101", "9999", "0102"], profile=DEMO)
        assert [i for i, _ in got] == [1, 2, 3]
        assert "not 16 digits" in got[0][1]
        assert "not in profile" in got[1][1]
        assert "disagrees" in got[2][1]

    def test_clean(self) -> None:
        assert check_component_ids(["3205820102048188"], profile=DEMO) == []
