"""``urbangrid load streets`` takes an osmnx GraphML export as it takes an OSM extract
(issue 20: Shenzhen Futian's network was refused as "unknown survey format '.bz2'",
though route and read_streets read it)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import urbangrid
from urbangrid.cli.main import main
from urbangrid.data import data_path
from urbangrid.loaders.osm import read_streets


def test_load_streets_from_graphml_twice_changes_nothing(tmp_path: Path) -> None:
    graphml = data_path("networks/shenzhen_futian_osmnx_all.graphml.bz2")
    store = tmp_path / "ft.gpkg"
    args = ["load", "streets", str(graphml), "--store", str(store)]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    n = len(read_streets(graphml))
    assert f"{n} segments from {graphml.name}: {n} new, 0 changed" in first.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert f"0 new, 0 changed, {n} unchanged" in again.output
    with urbangrid.connect(str(store), readonly=True) as s:
        assert s.count("street_centreline") == n
    refused = CliRunner().invoke(main, [*args, "--dry-run"])
    assert refused.exit_code == 2 and "--dry-run: for survey files" in refused.output
