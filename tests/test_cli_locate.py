"""`urbangrid locate` on the files a new user brings: compressed, GBK, with bad rows."""

from __future__ import annotations

import bz2
import gzip
import io
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from urbangrid.cli.main import main

GOOD = "116.3262,39.9928"  # GCJ-02, inside unit grid 990101001… of the Wudaokou extract


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    from urbangrid.data import data_path

    path = str(tmp_path_factory.mktemp("locate") / "g.gpkg")
    osm = str(data_path("osm/beijing_haidian_wudaokou.osm.bz2"))
    res = CliRunner().invoke(main, ["grids", "generate", path, "--osm", osm, "--version", "v1"])
    assert res.exit_code == 0, res.output
    return path


def _run(args: list[str], **env: str) -> Result:
    return CliRunner(env={"LANG": "en_US.UTF-8", "LC_ALL": "", "LC_MESSAGES": "", **env}
                     ).invoke(main, args)


def test_gzip_gbk_csv_with_bad_rows(store: str, tmp_path: Path) -> None:
    """One good row; each bad one named by row, field and reason; the rest located."""
    text = ("编号,经度,纬度\n"
            f"1,{GOOD}\n"
            "2,abc,39.99\n"
            "3,,39.99\n"
            "4,999,999\n"
            "5,39.9928,116.3262\n"
            "6,440000,4400000\n"
            f"7,{GOOD}\n")
    src = tmp_path / "reports.csv.gz"
    src.write_bytes(gzip.compress(text.encode("gbk")))
    out = tmp_path / "out.csv"
    res = _run(["locate", store, "--crs", "GCJ-02", "--csv", str(src), "--x", "经度",
                "--y", "纬度", "-o", str(out), "--problems", str(tmp_path / "bad.csv")])
    assert res.exit_code == 4, res.output  # written, some rows left blank
    frame = pd.read_csv(out, dtype=str)
    assert frame["grid_code"].notna().tolist() == [True, False, False, False, False, False, True]
    assert frame["编号"].tolist() == [str(i) for i in range(1, 8)]
    err = res.stderr
    assert "row 2: field '经度' value 'abc': not a number" in err
    assert "row 3: field '经度' value '': blank" in err
    assert "row 4:" in err and "out of range" in err
    assert "row 5:" in err and "swapped" in err
    assert "row 6:" in err and "metres" in err
    assert "read as GBK" in err and "2 of 7 points in a unit grid" in err
    assert "crs=" not in err and "Traceback" not in err
    bad = pd.read_csv(tmp_path / "bad.csv", dtype=str)
    assert bad["row"].tolist() == ["2", "3", "4", "5", "6"]


def test_bz2_utf8_csv(store: str, tmp_path: Path) -> None:
    src = tmp_path / "reports.csv.bz2"
    src.write_bytes(bz2.compress(f"id,lon,lat\n1,{GOOD}\n".encode()))
    res = _run(["locate", store, "--crs", "GCJ-02", "--csv", str(src)])
    assert res.exit_code == 0, res.output
    assert "990101001" in res.stdout and "read as UTF-8" in res.stderr


def test_encoding_given(store: str, tmp_path: Path) -> None:
    src = tmp_path / "gbk.csv"
    src.write_bytes(f"名称,lon,lat\n井盖,{GOOD}\n".encode("gbk"))
    res = _run(["locate", store, "--crs", "GCJ-02", "--csv", str(src), "--encoding", "GBK"])
    assert res.exit_code == 0 and "井盖" in res.stdout and "GBK (given)" in res.stderr
    wrong = _run(["locate", store, "--crs", "GCJ-02", "--csv", str(src), "--encoding", "UTF-8"])
    assert wrong.exit_code == 1 and "line 1" in wrong.output and "--encoding" in wrong.output


@pytest.mark.parametrize(("rows", "words"), [
    ("1,440000,4400000\n2,440001,4400001\n3,116.3262,39.9928\n", "--crs EPSG:4547"),
    ("1,39.99,116.32\n2,39.98,116.31\n3,116.3262,39.9928\n", "swap --x and --y"),
])  # fmt: skip
def test_most_rows_in_another_crs_is_a_file_error(store: str, tmp_path: Path, rows: str,
                                                  words: str) -> None:
    src = tmp_path / "pts.csv"
    src.write_text("id,lon,lat\n" + rows)
    res = _run(["locate", store, "--crs", "GCJ-02", "--csv", str(src), "-o",
                str(tmp_path / "o.csv")])
    assert res.exit_code == 1 and "2 of 3 rows" in res.output and words in res.output
    assert "crs=" not in res.output and not (tmp_path / "o.csv").exists()


def test_ragged_row_names_its_line(store: str, tmp_path: Path) -> None:
    src = tmp_path / "pts.csv"
    src.write_text(f"id,lon,lat\n1,{GOOD}\n2,1,2,3\n")
    res = _run(["locate", store, "--csv", str(src)])
    assert res.exit_code == 1 and "line 3 has 4 fields where the header has 3" in res.output
    assert "internal error" not in res.output


@pytest.mark.parametrize(("point", "words"), [
    (["39.9928,116.3262"], "swapped; give longitude first: 116.3262 39.9928"),
    (["nan,nan"], "not a number"),
    (["999999", "999999"], "--crs"),
])  # fmt: skip
def test_bad_single_point_is_a_usage_error(store: str, point: list[str], words: str) -> None:
    res = _run(["locate", store, *point])
    assert res.exit_code == 2, res.output
    assert words in res.output and "crs=" not in res.output
    assert "metres" not in res.output or "999999" in point


def test_lang_zh_and_chinese_locale(store: str) -> None:
    res = _run(["locate", store, "--crs", "GCJ-02", "--lang", "zh", GOOD])
    assert res.exit_code == 0 and res.stdout.startswith("单元网格编码\t990101001")
    by_locale = _run(["locate", store, "--crs", "GCJ-02", GOOD], LANG="zh_CN.UTF-8")
    assert by_locale.stdout == res.stdout
    english = _run(["locate", store, "--crs", "GCJ-02", "--lang", "en", GOOD],
                   LANG="zh_CN.UTF-8")
    assert english.stdout.startswith("grid_code\t990101001")


def test_bom_empty_and_truncated_files(store: str, tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbfid,lon,lat\r\n1," + GOOD.encode() + b"\r\n")
    res = _run(["locate", store, "--crs", "GCJ-02", "--csv", str(bom), "--lang", "zh"])
    assert res.exit_code == 0 and "990101001" in res.stdout
    assert "UTF-8 (byte-order mark)" in res.stderr and "1 个点中 1 个在单元网格内" in res.stderr
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    res = _run(["locate", store, "--csv", str(empty)])
    assert res.exit_code == 1 and "the file is empty" in res.output
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(gzip.compress(b"id,lon,lat\n1,2,3\n")[:12])
    res = _run(["locate", store, "--csv", str(cut)])
    assert res.exit_code == 1 and "cannot be decompressed" in res.output
    assert "internal error" not in res.output


def test_unknown_crs_names_the_option(store: str) -> None:
    res = _run(["locate", store, "116.3", "39.99", "--crs", "FOO"])
    assert res.exit_code == 1 and "--crs 'FOO' is not a CRS" in res.output


def test_usual_coordinate_columns_are_found_in_any_case(store: str, tmp_path: Path) -> None:
    """An export with Longitude/Latitude (NYC 311) and an unnamed index column (a pandas
    CSV): taken without --x/--y, and said; --x in another case is the same column
    (found as a new user: 'no column lon' for every such file)."""
    src = tmp_path / "cases.csv"
    src.write_text(",Unique Key,Longitude,Latitude\n0,9,116.3262,39.9928\n", encoding="utf-8")
    res = _run(["locate", store, "--crs", "GCJ-02", "--csv", str(src)])
    assert res.exit_code == 0, res.output
    assert "coordinates from the columns 'Longitude', 'Latitude'" in res.stderr
    assert pd.read_csv(io.StringIO(res.stdout), dtype=str)["grid_code"].notna().all()
    same = _run(["locate", store, "--crs", "GCJ-02", "--csv", str(src), "--x", "longitude",
                 "--y", "LATITUDE"])
    assert same.exit_code == 0 and same.stdout == res.stdout
    none = tmp_path / "none.csv"
    none.write_text("a,b\n1,2\n", encoding="utf-8")
    res = _run(["locate", store, "--csv", str(none)])
    assert res.exit_code == 2
    assert "no column for --x (none is named lon, lng" in res.output and "use --x/--y" in res.output


def test_the_output_is_a_csv_table(store: str, tmp_path: Path) -> None:
    # -o located.gpkg wrote CSV text under a GeoPackage name
    src = tmp_path / "p.csv"
    src.write_text(f"lon,lat\n{GOOD}\n", encoding="utf-8")
    res = _run(["locate", store, "--csv", str(src), "-o", str(tmp_path / "located.gpkg")])
    assert res.exit_code == 2 and "give a .csv name" in res.output
    assert not (tmp_path / "located.gpkg").exists()


def test_a_store_without_grids_says_how_to_get_them(tmp_path: Path) -> None:
    # a store of district boundaries only said "the store has no unit grids to locate
    # points in", nothing on what to do
    path = str(tmp_path / "districts.gpkg")
    assert _run(["db", "init", path]).exit_code == 0
    res = _run(["locate", path, "114.05", "22.54"])
    assert res.exit_code == 1, res.output
    assert res.output.startswith(f"error: {path} holds no unit grids")
    assert "urbangrid grids generate" in res.output and "urbangrid load grids" in res.output


def test_points_all_outside_the_store_are_said(store: str, tmp_path: Path) -> None:
    # Shanghai bus stops against a Wudaokou store: 0 of N located, exit 0 (the file was
    # written), and one note saying to check the store and the CRS
    src = tmp_path / "shanghai.csv"
    src.write_text("name,lon,lat\n城隍庙,121.4887,31.2314\n人民广场,121.4737,31.2304\n",
                   encoding="utf-8")
    res = _run(["locate", store, "--csv", str(src), "-o", str(tmp_path / "out.csv")])
    assert res.exit_code == 0, res.output
    assert "0 of 2 points in a unit grid" in res.stderr
    assert (f"note: not one point lies in a unit grid or admin area of {store}: check that "
            "the store covers these points and that they are in EPSG:4326") in res.stderr
    ok = _run(["locate", store, "--crs", "GCJ-02", "--csv", str(_one_good(tmp_path))])
    assert ok.exit_code == 0 and "note:" not in ok.stderr


def _one_good(tmp_path: Path) -> Path:
    src = tmp_path / "good.csv"
    src.write_text(f"id,lon,lat\n1,{GOOD}\n", encoding="utf-8")
    return src
