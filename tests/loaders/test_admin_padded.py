"""Division codes zero-padded to 12 digits, as the statistics bureau's web tables write
every level (district 110101 as 110101000000): read as the code they stand for."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from urbangrid.loaders.admin import padded_candidates, read_divisions_csv, unpad_code


def read_table(tmp_path: Path, text: str) -> pd.DataFrame:
    """:func:`read_divisions_csv` of a CSV holding ``text``; missing parents as ''."""
    path = tmp_path / "table.csv"
    path.write_text(text, encoding="utf-8")
    return read_divisions_csv(path).fillna("")


def test_candidates_and_the_code_meant() -> None:
    assert padded_candidates("110101000000") == ["110101", "110101000"]
    assert padded_candidates("110101001001") == []  # a community code, not padded
    assert padded_candidates("110101") == []
    assert unpad_code("110000000000") == "11"
    assert unpad_code("110101000000") == "110101"
    assert unpad_code("110101001000") == "110101001"
    # the bureau's 12-digit tables list Dongguan as a city with its streets under it
    assert unpad_code("441900000000") == "4419"
    assert unpad_code("441900000000", {"441900", "110101"}) == "441900"
    assert unpad_code("441900000000", {"110101"}) is None
    with pytest.raises(ValueError, match=r"441900000000 is zero-padded and may be city 4419 "
                                         r"or district 441900 .*give the code unpadded"):
        unpad_code("441900000000", {"4419", "441900"})


def test_a_padded_table_without_levels(tmp_path: Path) -> None:
    got = read_table(tmp_path, (
        "code,name\n110000000000,北京市\n110100000000,市辖区\n110101000000,东城区\n"
        "110101001000,东华门街道\n110101001001,多福巷社区居委会\n441900000000,东莞市\n"
        "441900003000,东城街道\n")).set_index("code")
    assert got[["level", "parent_code"]].to_dict("index") == {
        "11": {"level": "province", "parent_code": ""},
        "1101": {"level": "city", "parent_code": "11"},
        "110101": {"level": "district", "parent_code": "1101"},
        "110101001": {"level": "street", "parent_code": "110101"},
        "110101001001": {"level": "community", "parent_code": "110101001"},
        "4419": {"level": "city", "parent_code": "44"},
        "441900003": {"level": "street", "parent_code": "441900"},
    }


def test_a_padded_table_with_levels_and_parents(tmp_path: Path) -> None:
    got = read_table(tmp_path, (
        "code,name,level,parent_code\n110108000000,海淀区,district,110100000000\n"
        "110108001000,万寿路街道,street,110108000000\n"
        "110108001001,社区,community,110108001000\n"))
    assert got[["code", "level", "parent_code"]].values.tolist() == [
        ["110108", "district", "1101"], ["110108001", "street", "110108"],
        ["110108001001", "community", "110108001"]]


def test_kinmen_placeholder_village_stays_a_village(tmp_path: Path) -> None:
    # the bureau's village table has 350527000000 under street 350527000: a real row
    got = read_table(tmp_path, "code,name,streetCode,provinceCode,cityCode,areaCode\n"
                               "350527000000,金门县,350527000,35,3505,350527\n")
    assert got[["code", "level", "parent_code"]].values.tolist() == [
        ["350527000000", "community", "350527000"]]
