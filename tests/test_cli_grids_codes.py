"""`urbangrid grids generate --communities` with codes that are not 12-digit community
codes (Cambridge MA's neighbourhood numbers): one line naming file, feature, column."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from click.testing import CliRunner

from urbangrid.cli.main import main
from urbangrid.data import data_path


def test_short_codes_and_a_missing_column_are_one_line(tmp_path: Path) -> None:
    frame = gpd.read_file(data_path("boundaries/haidian_110108_wgs84.geojson"))[["geometry"]]
    comms = tmp_path / "hoods.geojson"
    frame.assign(N_HOOD=3).to_file(comms)
    store = tmp_path / "g.gpkg"
    base = ["grids", "generate", str(store), "--communities", str(comms), "--streets",
            str(comms), "--version", "v1", "-q"]
    # was "error: row 0: community code '3': …" after the grids were cut, with no file
    res = CliRunner().invoke(main, [*base, "--code-column", "N_HOOD"])
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1, res.output
    assert (f"{comms}: feature 1 of 1: field 'N_HOOD' value '3': a community code (社区代码) "
            "has 12 digits; give --code-column") in res.output
    res = CliRunner().invoke(main, base)
    assert res.exit_code == 1
    assert "no column 'community_code' of community codes; give --code-column one of " \
           "N_HOOD" in res.output
    assert not store.exists()


def test_a_padded_street_code_is_no_community_code(tmp_path: Path) -> None:
    frame = gpd.read_file(data_path("boundaries/haidian_110108_wgs84.geojson"))[["geometry"]]
    comms = tmp_path / "streets_as_communities.geojson"
    frame.assign(community_code="110108001000").to_file(comms)
    res = CliRunner().invoke(main, ["grids", "generate", str(tmp_path / "g.gpkg"),
                                    "--communities", str(comms), "--streets", str(comms),
                                    "--version", "v1", "-q"])
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1, res.output
    assert ("value '110108001000' is 110108001 zero-padded to 12 digits, not a community "
            "code") in res.output
    osm = str(data_path("osm/beijing_haidian_wudaokou.osm.bz2"))
    res = CliRunner().invoke(main, ["grids", "generate", str(tmp_path / "g.gpkg"), "--osm", osm,
                                    "--community-codes", "110108001000", "--version", "v1"])
    assert res.exit_code == 2 and "it is 110108001 zero-padded" in res.output, res.output
    assert not (tmp_path / "g.gpkg").exists()


def test_community_codes_as_a_long_list_or_a_csv(tmp_path: Path) -> None:
    """A comma list longer than a file name was looked up as a path ("File name too
    long"); a CSV with a 'code' column still works; a missing file is one line."""
    osm = str(data_path("osm/beijing_haidian_wudaokou.osm.bz2"))
    codes = [f"1101080140{k:02d}" for k in range(1, 41)]  # 519 characters, 7 cells used
    store = tmp_path / "g.gpkg"
    base = ["grids", "generate", str(store), "--osm", osm, "--version", "v1", "-q"]
    res = CliRunner().invoke(main, [*base, "--community-codes", ",".join(codes)])
    assert res.exit_code == 0, res.output
    assert "unit grids" in res.output and "File name too long" not in res.output
    table = tmp_path / "codes.csv"
    table.write_text("code\n" + "\n".join(codes) + "\n")
    res = CliRunner().invoke(main, [*base, "--version", "v2", "--community-codes", str(table)])
    assert res.exit_code == 0, res.output
    table.write_text("community\n110108014001\n")
    res = CliRunner().invoke(main, [*base, "--community-codes", str(table)])
    assert res.exit_code == 2, res.output
    assert f"{table}: no column 'code' (the file has community)" in res.output
    res = CliRunner().invoke(main, [*base, "--community-codes", str(tmp_path / "typo.csv")])
    assert res.exit_code == 2 and "is neither a file nor a 12-digit community code" in \
        res.output, res.output
