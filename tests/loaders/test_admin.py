"""Division code tables: the bundled Haidian table and bad rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from urbangrid.data import data_path
from urbangrid.errors import ValidationError
from urbangrid.loaders.admin import code_level, read_divisions_csv


def test_bundled_haidian_codes() -> None:
    frame = read_divisions_csv(data_path("codes/haidian_110108_divisions_2023.csv"))
    assert frame["level"].value_counts().to_dict() == {
        "community": 678,
        "street": 29,
        "district": 1,
    }
    row = frame[frame["code"] == "110108001"].iloc[0]
    assert (row["name"], row["parent_code"]) == ("万寿路街道", "110108")


def test_every_bad_row_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text(
        "code,name,level,parent_code\n"
        "110108,海淀区,district,\n"
        "11010800,万寿路街道,street,110108\n"  # 8 digits
        "110109001001,某社区,community,110108001\n"  # parent not a prefix
        "110108001002,,community,110108001\n",  # empty name
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as err:
        read_divisions_csv(path)
    got = {(p["row"], p["field"]) for p in err.value.problems}
    assert got == {(3, "code"), (4, "parent_code"), (5, "name")}
    assert "codes.csv" in str(err.value)


def test_level_and_parent_from_the_code(tmp_path: Path) -> None:
    path = tmp_path / "villages.csv"
    path.write_text(
        "code,name,streetCode,provinceCode,cityCode,areaCode\n"
        '11,"北京市",,,,\n'
        '110105001024,"南郎家园社区居委会",110105001,11,1101,110105\n'
        "110105001025,北郎家园社区,110105001,11,1101,110105\n",
        encoding="utf-8")
    frame = read_divisions_csv(path)
    assert frame["level"].tolist() == ["province", "community", "community"]
    assert frame["parent_code"].tolist()[1:] == ["110105001", "110105001"]
    assert frame["parent_code"].isna().tolist() == [True, False, False]
    assert code_level("1101") == ("city", "11") and code_level("11010") is None
    path.write_text("code,name\n11010500102,某社区\nx1,某地\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        read_divisions_csv(path)
    assert {(p["row"], p["field"]) for p in err.value.problems} == {(2, "code"), (3, "code")}
    assert "villages.csv: row 2: field 'code'" in str(err.value)
