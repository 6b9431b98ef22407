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
