"""`urbangrid admin load` on inputs that do not fit: one line, no store made or changed."""

from __future__ import annotations

import gzip
from pathlib import Path

from click.testing import CliRunner

from urbangrid.cli.main import main
from urbangrid.data import data_path

DIVISIONS = str(data_path("codes/haidian_110108_divisions_2023.csv"))


def test_boundary_codes_matching_nothing(tmp_path: Path, shenzhen_names: Path) -> None:
    """Shenzhen district names in `qh` against Haidian codes: said, nothing created."""
    shenzhen = shenzhen_names
    store = tmp_path / "new.gpkg"
    res = CliRunner().invoke(main, ["admin", "load", str(store), "--divisions", DIVISIONS,
                                    "--boundaries", str(shenzhen), "--code-column", "qh"])
    assert res.exit_code == 1, res.output
    assert "none of the 1 codes in column 'qh' (南山)" in res.output
    assert "--code-column" in res.output and "internal error" not in res.output
    assert not store.exists()


def test_statistics_bureau_tables_take_level_and_parent_from_the_code(
        tmp_path: Path) -> None:
    # the bureau's own tables (code,name,cityCode,provinceCode …) were refused for want of
    # a level column; the code's length says the level, its prefix the parent
    areas = tmp_path / "areas.csv"
    areas.write_text('code,name,cityCode,provinceCode\n110101,"东城区",1101,11\n'
                     '110108,"海淀区",1101,11\n', encoding="utf-8")
    streets = tmp_path / "streets.csv.gz"
    with gzip.open(streets, "wt", encoding="utf-8") as fh:
        fh.write('code,name,areaCode,provinceCode,cityCode\n110108001,"万寿路街道",110108,'
                 '11,1101\n')
    store = tmp_path / "new.gpkg"
    res = CliRunner().invoke(main, ["admin", "load", str(store), "--divisions", str(areas),
                                    "--divisions", str(streets)])
    assert res.exit_code == 0, res.output
    assert "3 admin areas (2 district, 1 street)" in res.stdout
    import urbangrid

    with urbangrid.connect(str(store)) as s:
        got = s.read("admin_area").set_index("code")
    assert got.loc["110108001", ["level", "parent_code"]].tolist() == ["street", "110108"]
    assert got.loc["110101", ["level", "parent_code"]].tolist() == ["district", "1101"]
    # the same code in two tables is one line, and nothing is written
    res = CliRunner().invoke(main, ["admin", "load", str(tmp_path / "n.gpkg"), "--divisions",
                                    str(areas), "--divisions", str(areas)])
    assert res.exit_code == 1 and "division code 110101 is in areas.csv and areas.csv" in (
        res.output)
    assert not (tmp_path / "n.gpkg").exists()


def test_a_bad_code_or_header_is_one_line(tmp_path: Path) -> None:
    raw = tmp_path / "areas.csv"
    raw.write_text("code,name,cityCode\n110101,东城区,1101\n1101012,某区,1101\n",
                   encoding="utf-8")
    store = tmp_path / "new.gpkg"
    res = CliRunner().invoke(main, ["admin", "load", str(store), "--divisions", str(raw)])
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1, res.output
    assert "areas.csv: row 3: field 'code' value '1101012'" in res.output
    assert "2 (province), 4 (city), 6 (district), 9 (street) or 12" in res.output
    raw.write_text("代码,名称\n110101,东城区\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["admin", "load", str(store), "--divisions", str(raw)])
    assert res.exit_code == 1
    assert "no column code, name" in res.output and "code,name,level,parent_code" in res.output
    assert not store.exists()


def test_gbk_division_table_is_named(tmp_path: Path) -> None:
    gbk = tmp_path / "div.csv"
    gbk.write_bytes("code,name,level,parent_code\n110108,海淀区,district,\n".encode("gbk"))
    res = CliRunner().invoke(main, ["admin", "load", str(tmp_path / "n.gpkg"),
                                    "--divisions", str(gbk)])
    assert res.exit_code == 1 and "GBK" in res.output and "UTF-8" in res.output
    assert not (tmp_path / "n.gpkg").exists()


def test_new_store_is_said(tmp_path: Path) -> None:
    store = tmp_path / "new.gpkg"
    res = CliRunner().invoke(main, ["admin", "load", str(store), "--divisions", DIVISIONS])
    assert res.exit_code == 0 and f"created the store {store}" in res.stderr
    again = CliRunner().invoke(main, ["admin", "load", str(store), "--divisions", DIVISIONS])
    assert again.exit_code == 0 and "created" not in again.stderr
