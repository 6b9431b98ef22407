"""`urbangrid admin load` on inputs that do not fit: one line, no store made or changed."""

from __future__ import annotations

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


def test_raw_nbs_table_names_the_expected_columns(tmp_path: Path) -> None:
    raw = tmp_path / "areas.csv"
    raw.write_text('code,name,cityCode,provinceCode\n110101,"东城区",1101,11\n',
                   encoding="utf-8")
    store = tmp_path / "new.gpkg"
    res = CliRunner().invoke(main, ["admin", "load", str(store), "--divisions", str(raw)])
    assert res.exit_code == 1
    assert "no column level" in res.output and "code,name,level,parent_code" in res.output
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
