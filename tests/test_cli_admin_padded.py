"""`urbangrid admin load` and `route --area` with codes zero-padded to 12 digits (the
statistics bureau's web tables: district 110108 as 110108000000)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner

import urbangrid
from urbangrid.cli.main import main
from urbangrid.cli.route import area_from_store
from urbangrid.data import data_path
from urbangrid.errors import PatrolAreaError

DIVISIONS = str(data_path("codes/haidian_110108_divisions_2023.csv"))
HAIDIAN = data_path("boundaries/haidian_110108_wgs84.geojson")


def padded_boundary(tmp_path: Path, code: str) -> Path:
    frame = gpd.read_file(HAIDIAN)[["geometry"]].assign(adcode=code)
    path = tmp_path / "boundary.geojson"
    frame.to_file(path)
    return path


def test_padded_boundary_codes_are_read_as_the_division_codes(tmp_path: Path) -> None:
    store = tmp_path / "s.gpkg"
    res = CliRunner().invoke(main, [
        "admin", "load", str(store), "--divisions", DIVISIONS, "--boundaries",
        str(padded_boundary(tmp_path, "110108000000")), "--code-column", "adcode"])
    assert res.exit_code == 0, res.output
    assert "1 zero-padded code(s) in column 'adcode' read as division codes " \
           "(110108000000 as 110108)" in res.stderr
    assert ", 1 with a boundary" in res.stdout
    with urbangrid.connect(str(store)) as s:
        # --area takes the padded code too, and says why when it fits two areas
        found = area_from_store(s, "110108000000")
        assert found["code"].tolist() == ["110108"]
        assert found.attrs["code"] == "110108"  # the route is named 110108, not padded
        with pytest.raises(PatrolAreaError, match="'110108001' in admin_area has no boundary"):
            area_from_store(s, "110108001000")  # the street office, which has no polygon
        with pytest.raises(PatrolAreaError, match="is in none of"):
            area_from_store(s, "110109000000")


def test_a_code_padded_two_ways_is_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    # Dongguan is city 4419 and district 441900: 441900000000 may be either
    table = tmp_path / "dongguan.csv"
    table.write_text("code,name\n4419,东莞市\n441900,东莞市\n", encoding="utf-8")
    store = tmp_path / "n.gpkg"
    res = CliRunner().invoke(main, [
        "admin", "load", str(store), "--divisions", str(table), "--boundaries",
        str(padded_boundary(tmp_path, "441900000000")), "--code-column", "adcode"])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output
    assert ("column 'adcode': 441900000000 is zero-padded and may be city 4419 or district "
            "441900") in lines[0] and "give the code unpadded" in lines[0]
    assert not store.exists()
