"""Survey street files whose road class column and values are not OSM's (Cambridge MA)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.routing.patrol_cases import lattice_frame
from urbangrid.errors import DataFileError
from urbangrid.loaders.osm import read_street_graph, read_streets


def test_classes_map_a_column_of_codes(tmp_path: Path) -> None:
    f = lattice_frame(3)
    f["FCC"] = ["A1" if i % 2 else "A4" for i in range(len(f))]
    path = tmp_path / "streets.gpkg"
    f.to_file(path)
    got = read_streets(path, columns={"highway": "FCC"},
                       classes={"A1": "primary", "*": "residential"})
    # the chosen column replaces the file's own highway column
    assert list(got.columns).count("highway") == 1
    assert sorted(set(got["highway"])) == ["primary", "residential"]
    assert (got["highway"] == "primary").sum() == len(f) // 2
    G = read_street_graph(path, "walk", columns={"highway": "FCC"},
                          classes={"A1": "primary", "A4": "residential"})
    assert G.number_of_edges() == 2 * len(f)


def test_unmapped_values_and_foreign_classes_are_one_line(tmp_path: Path) -> None:
    f = lattice_frame(3).rename(columns={"highway": "ROADWAYS"})
    f["ROADWAYS"] = "F"
    path = tmp_path / "streets.geojson"
    f.to_file(path)
    with pytest.raises(DataFileError, match=r"no road class column .*--highway-column"):
        read_streets(path)
    with pytest.raises(DataFileError, match=r"'F' have no OSM class in --highway-values"):
        read_streets(path, columns={"highway": "ROADWAYS"}, classes={"T": "primary"})
    with pytest.raises(DataFileError, match=r"'ROADWAYS' holds F, none an OSM class the mode "
                                            r"'bike' travels on .*'F=primary,\*=residential'"):
        read_street_graph(path, "bike", columns={"highway": "ROADWAYS"})


def test_geofabrik_fclass_is_a_road_class_column(tmp_path: Path) -> None:
    # Geofabrik's OSM shapefiles (gis_osm_roads_free_1) keep the OSM class in ``fclass``
    f = lattice_frame(3).rename(columns={"highway": "fclass"})
    path = tmp_path / "gis_osm_roads_free_1.gpkg"
    f.to_file(path)
    assert set(read_streets(path)["highway"]) == {"residential"}
    # OSM classes the mode does not travel on are not sent to --highway-values
    f["fclass"] = "motorway"
    f.to_file(path)
    with pytest.raises(DataFileError) as err:
        read_street_graph(path, "walk")
    assert "--highway-values" not in str(err.value) and "motorway" in str(err.value)
