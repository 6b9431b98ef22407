"""One-way streets of survey files: Geofabrik's B/F/T letters, Cambridge MA's Direction
1/0/-1, a chosen column, and the note saying which column gave one-way-ness."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from tests.routing.patrol_cases import CRS, X0, Y0, lattice_frame
from urbangrid.cli.route import route as route_cmd
from urbangrid.errors import DataFileError
from urbangrid.loaders.osm import read_street_graph


def three_streets(path: Path, **columns: list[object]) -> Path:
    """Three unconnected 100 m streets drawn west to east, 100 m apart (rows 0, 1, 2),
    with ``columns``; written to ``path``."""
    lines = [shapely.LineString([(X0, Y0 + 100 * i), (X0 + 100, Y0 + 100 * i)])
             for i in range(3)]
    frame = gpd.GeoDataFrame({"highway": ["residential"] * 3, **columns},
                             geometry=lines, crs=CRS)
    frame.to_file(path)
    return path


def ways(path: Path, mode: str = "car", **kw: object) -> tuple[list[str], str]:
    """Each row's travel directions in the mode's graph ('E' drawn way, 'W' against it,
    'EW' both) and the graph's ``oneway_from``."""
    G = read_street_graph(path, mode, **kw)  # type: ignore[arg-type]
    dirs: dict[int, str] = {}
    for _, _, d in G.edges(data=True):
        row = int(d["street_id"].rsplit("#", 1)[1])
        (x0, _), (x1, _) = d["geometry"].coords[0], d["geometry"].coords[-1]
        dirs[row] = "".join(sorted(dirs.get(row, "") + ("E" if x1 > x0 else "W")))
    return [dirs[i] for i in range(3)], G.graph.get("oneway_from", "")


def test_geofabrik_letters_b_f_t(tmp_path: Path) -> None:
    # Geofabrik: B both ways, F forward (as drawn), T backward; T was read as 'true'
    path = three_streets(tmp_path / "gis_osm_roads_free_1.shp", oneway=["B", "F", "T"])
    got, note = ways(path)
    assert got == ["EW", "E", "W"]
    assert "column 'oneway' of gis_osm_roads_free_1.shp" in note
    assert "B both ways" in note and "2 of 3 rows one-way" in note


def test_geofabrik_layout_without_b_and_esri_ft_tf(tmp_path: Path) -> None:
    # no B in the file but Geofabrik's fclass column (the road class: no highway column):
    # still letters, F is not 'false'
    path = three_streets(tmp_path / "a.shp", oneway=["F", "T", "F"])
    gpd.read_file(path).rename(columns={"highway": "fclass"}).to_file(path)
    assert ways(path)[0] == ["E", "W", "E"]
    path = three_streets(tmp_path / "b.geojson", ONEWAY=["FT", "TF", None])
    assert ways(path)[0] == ["E", "W", "EW"]


def test_true_false_letters_stay_true_false(tmp_path: Path) -> None:
    # no B, FT or TF and no fclass: T/F are true/false, as before
    path = three_streets(tmp_path / "tf.geojson", oneway=["T", "F", "F"])
    assert ways(path)[0] == ["E", "EW", "EW"]


def test_cambridge_direction_column(tmp_path: Path) -> None:
    # Cambridge MA centrelines: Direction 1 along the segment, -1 against, 0 two-way
    path = three_streets(tmp_path / "centerlines.geojson", Direction=["1", "-1", None])
    got, note = ways(path, "bike")
    assert got == ["E", "W", "EW"]
    assert "column 'Direction'" in note and "-1 against it" in note
    assert ways(path, "walk")[0] == ["EW", "EW", "EW"]  # on foot: both ways


def test_a_compass_direction_is_not_one_way(tmp_path: Path) -> None:
    path = three_streets(tmp_path / "compass.geojson", DIRECTION=["N", "S", "E"])
    got, note = ways(path)
    assert got == ["EW", "EW", "EW"]
    assert "'DIRECTION' of compass.geojson is not read as one-way (values E, N, S)" in note
    assert "--oneway-column" in note
    got, note = ways(three_streets(tmp_path / "none.geojson"))
    assert got == ["EW", "EW", "EW"] and "no one-way column in none.geojson" in note


def test_a_chosen_column_with_a_bad_value_is_one_line(tmp_path: Path) -> None:
    path = three_streets(tmp_path / "s.geojson", einbahn=["ja", "1", "0"],
                         richtung=["1", "0", "-1"])
    with pytest.raises(DataFileError, match=r"s\.geojson: column 'einbahn': row 1: 'ja' is "
                                            r"not a one-way value .*--oneway-column"):
        read_street_graph(path, "car", columns={"oneway": "einbahn"})
    assert ways(path, columns={"oneway": "richtung"})[0] == ["E", "EW", "W"]


def test_route_says_which_column_gave_one_way(tmp_path: Path) -> None:
    f = lattice_frame(3)
    f["sens"] = ["1" if i == 0 else "0" for i in range(len(f))]
    streets = tmp_path / "streets.geojson"
    f.to_file(streets)
    area = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(X0 - 10, Y0 - 10, X0 + 210, Y0 + 210)],
                     crs=CRS).to_file(area)
    base = [str(streets), "--polygon", str(area), "--mode", "bike", "--no-steps", "-q"]
    got = CliRunner().invoke(route_cmd, [*base, "--oneway-column", "sens"])
    assert got.exit_code == 0, got.output
    assert ("note: one-way streets from column 'sens' of streets.geojson (1/yes along the "
            "line as drawn, -1 against it, 0/no or empty two-way): 1 of 12 rows one-way"
            ) in got.output
    got = CliRunner().invoke(route_cmd, base)
    assert "note: no one-way column in streets.geojson" in got.output


def test_geoparquet_edges_say_whether_they_carry_one_way(tmp_path: Path) -> None:
    from urbangrid.cli.vectors import file_street_graph

    f = lattice_frame(3)
    f.to_parquet(tmp_path / "edges.parquet")
    G = file_street_graph(tmp_path / "edges.parquet", "bike")
    assert G.graph["oneway_from"] == ("no one-way column in edges.parquet: every street is "
                                      "taken as two-way")
    f.assign(oneway=[i == 0 for i in range(len(f))]).to_parquet(tmp_path / "one.parquet")
    G = file_street_graph(tmp_path / "one.parquet", "bike")
    assert G.graph["oneway_from"] == "one-way streets from column 'oneway' of one.parquet"
    assert sum(not G.has_edge(v, u) for u, v in G.edges()) == 1
