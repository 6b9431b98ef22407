"""``urbangrid scale assign``: the command line over assign_points."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from urbangrid.cli.scale import scale

from .conftest import SAMPLE_311, WARDS


class TestAssignCommand:
    def test_assigns_a_csv_to_wards(self, tmp_path: Path) -> None:
        out = tmp_path / "out.parquet"
        result = CliRunner().invoke(scale, [
            "assign", str(SAMPLE_311), "--grid", str(WARDS), "--key", "WARD",
            "--x", "longitude", "--y", "latitude", "--crs", "EPSG:4326", "-o", str(out),
            "--partition-rows", "1000",
        ])
        assert result.exit_code == 0, result.output
        assert "2,424 points, 2,419 assigned" in result.output
        assert "3 partitions on one process" in result.output
        assert pd.read_parquet(out)["grid_key"].notna().sum() == 2419

    def test_half_a_coordinate_pair_is_refused(self, tmp_path: Path) -> None:
        result = CliRunner().invoke(scale, [
            "assign", str(SAMPLE_311), "--grid", str(WARDS), "--x", "longitude",
            "--crs", "EPSG:4326", "-o", str(tmp_path / "o.parquet"),
        ])
        assert result.exit_code == 2 and "give both --x and --y" in result.output
        assert not (tmp_path / "o.parquet").exists()

    def test_an_empty_csv_and_a_missing_crs_say_what_to_give(self, tmp_path: Path) -> None:
        # found as a new user: an empty CSV was "internal error (EmptyDataError)", and a
        # missing CRS asked for crs='EPSG:4326', a Python argument
        from urbangrid.cli.main import main

        empty = tmp_path / "empty.csv"
        empty.write_text("")
        out = tmp_path / "o.parquet"
        base = ["scale", "assign", "--grid", str(WARDS), "--x", "longitude", "--y", "latitude",
                "-o", str(out)]
        res = CliRunner().invoke(main, [*base, str(empty), "--crs", "EPSG:4326"])
        assert res.exit_code == 1, res.output
        assert res.output.startswith("error: ") and "the file is empty" in res.output
        res = CliRunner().invoke(main, [*base, str(SAMPLE_311)])
        assert res.exit_code == 1 and "--crs EPSG:4326" in res.output
        assert not out.exists()
