"""The gazetteer in both stores: round trip, idempotent loads, renames with history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner

from urbangrid.cli.geocode import gazetteer_group, geocode_command, reverse_command
from urbangrid.errors import DataFileError, ValidationError
from urbangrid.spatial.geocoding.forward import geocode
from urbangrid.spatial.geocoding.gazetteer import (
    Gazetteer,
    load_places,
    read_door_plates_csv,
    read_places,
    rename_place,
)
from urbangrid.store import Store


def test_round_trip_and_idempotent(store: Store, haidian_places: gpd.GeoDataFrame) -> None:
    first = load_places(store, haidian_places)
    assert first.inserted == len(haidian_places)
    again = load_places(store, haidian_places)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(haidian_places))
    g = Gazetteer.from_store(store)
    assert len(g) == len(haidian_places)
    assert geocode(g, "北京市海淀区成府路55号").place_id == "osm:node/1747551886#plate"


def test_rename_keeps_history(store: Store, haidian_places: gpd.GeoDataFrame) -> None:
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    t1 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    load_places(store, haidian_places, at=t0)
    renamed = rename_place(haidian_places, "osm:street:成府路", "成府大街", on=t1.date())
    result = load_places(store, renamed, at=t1)
    assert result.updated == 1
    now = Gazetteer(read_places(store))
    assert geocode(now, "成府大街55号").level == "plate"
    assert geocode(now, "成府路").name == "成府大街"  # old name still found
    old = read_places(store, as_of=dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    assert "成府路" in set(old.name)
    row = now.places[now.places.place_id == "osm:street:成府路"].iloc[0]
    assert {"name": "成府路", "kind": "old", "from": None, "to": "2025-01-01"} in row["names"]


def test_door_plate_csv(tmp_path: Path, store: Store) -> None:
    f = tmp_path / "plates.csv"
    f.write_text("street,number,x,y,building\n成府路,200号,116.3200,39.9916,3\n"
                 "成府路,202,116.3203,39.9916,\n", encoding="utf-8")
    plates = read_door_plates_csv(f, crs="GCJ-02")
    assert plates.housenumber.tolist() == ["200", "202"]
    assert plates.geometry.x.iloc[0] < 116.3200  # GCJ-02 → WGS84 shifts west in Beijing
    load_places(store, plates)
    g = Gazetteer.from_store(store)
    assert geocode(g, "成府路201号").level == "interpolated"


def test_door_plate_csv_errors(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("street,number,x,y\n,12,116.3,39.9\n成府路,abc,116.3,39.9\n"
                 "成府路,14,east,39.9\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        read_door_plates_csv(f, crs=4326)
    problems = err.value.problems
    assert [(p["row"], p["field"]) for p in problems] == [(2, "street"), (3, "number"),
                                                          (4, "x/y")]
    assert "bad.csv" in str(err.value) and "nothing was loaded" in str(err.value)
    g = tmp_path / "nocol.csv"
    g.write_text("road,number\n成府路,1\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="missing column"):
        read_door_plates_csv(g, crs=4326)
    h = tmp_path / "gbk.csv"
    h.write_bytes("street,number,x,y\n成府路,1,116.3,39.9\n".encode("gbk"))
    with pytest.raises(DataFileError, match="gbk"):
        read_door_plates_csv(h, crs=4326)
    assert len(read_door_plates_csv(h, crs=4326, encoding="gbk")) == 1


def test_pg_trgm_index_exists(pg_dsn: str) -> None:
    import urbangrid

    with urbangrid.connect(pg_dsn) as s:
        row = s.connection.execute(
            "SELECT 1 FROM pg_indexes WHERE indexname = 'place_name_trgm_idx'").fetchone()
        assert row is not None


def test_cli(tmp_path: Path) -> None:
    from urbangrid.data import data_path

    target = str(tmp_path / "g.gpkg")
    runner = CliRunner()
    res = runner.invoke(gazetteer_group, [
        "load", target, "--osm", str(data_path("osm/beijing_haidian_wudaokou.osm.bz2")),
        "--divisions", str(data_path("codes/haidian_110108_divisions_2023.csv")),
    ])
    assert res.exit_code == 0, res.output
    assert "new" in res.output
    res = runner.invoke(geocode_command, [target, "海淀区成府路六十九号"])
    assert res.exit_code == 0 and res.output.startswith("interpolated")
    res = runner.invoke(reverse_command, [target, "--crs", "GCJ-02", "116.3262", "39.9928"])
    assert res.exit_code == 0 and "号" in res.output.splitlines()[0]
    csv_in = tmp_path / "in.csv"
    csv_in.write_text("address\n成府路55号\n清华大学\n不是地址\n", encoding="utf-8")
    res = runner.invoke(geocode_command, [target, "--csv", str(csv_in), "-o",
                                          str(tmp_path / "out.csv")])
    assert res.exit_code == 0, res.output
    out = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert out[0].startswith("address,level") and len(out) == 4
    pts = tmp_path / "pts.csv"
    pts.write_text("lon,lat\n116.3262,39.9928\n116.3201,39.9930\n", encoding="utf-8")
    res = runner.invoke(reverse_command, [target, "--crs", "GCJ-02", "--csv", str(pts)])
    assert res.exit_code == 0 and "description" in res.output
    res = runner.invoke(geocode_command, [str(tmp_path / "empty.gpkg"), "x"])
    assert res.exit_code != 0 and "no store at" in res.output
    assert not (tmp_path / "empty.gpkg").exists()  # a read-only command creates nothing
    from urbangrid.cli.main import main

    assert runner.invoke(main, ["db", "init", str(tmp_path / "empty.gpkg")]).exit_code == 0
    res = runner.invoke(geocode_command, [str(tmp_path / "empty.gpkg"), "x"])
    assert res.exit_code != 0 and "place layer is empty" in res.output


def test_cli_points_languages_and_exit_codes(tmp_path: Path) -> None:
    """LON,LAT and negative numbers; --lang zh headers; nothing found is exit code 3."""
    from urbangrid.cli.geocode import EXIT_NOT_FOUND
    from urbangrid.data import data_path

    target = str(tmp_path / "g.gpkg")
    runner = CliRunner()
    res = runner.invoke(gazetteer_group, [
        "load", target, "--osm", str(data_path("osm/beijing_haidian_wudaokou.osm.bz2"))])
    assert res.exit_code == 0, res.output
    before = Path(target).read_bytes()
    comma = runner.invoke(reverse_command, [target, "--crs", "GCJ-02", "116.3262,39.9928"])
    assert comma.exit_code == 0 and comma.output.splitlines()[0] == "成府路57号", comma.output
    zh = runner.invoke(reverse_command, [target, "116.3201", "39.9930", "--lang", "zh"])
    assert zh.exit_code == 0 and zh.output.splitlines()[1].startswith("道路\t"), zh.output
    boston = runner.invoke(reverse_command, [target, "-71.0589", "42.3601"])  # no "--" needed
    assert boston.exit_code == EXIT_NOT_FOUND and boston.output.startswith("none: "), boston
    bad = runner.invoke(reverse_command, [target, "east", "north"])
    assert bad.exit_code == 2 and "expected LON LAT" in bad.output
    none = runner.invoke(geocode_command, [target, "火星路1号"])
    assert none.exit_code == EXIT_NOT_FOUND and none.output.startswith("none: ")
    head = runner.invoke(geocode_command, [target, "成府路55号", "--lang", "zh"])
    assert head.output.startswith("匹配级别\t置信度\t经度\t纬度\t名称"), head.output
    assert Path(target).read_bytes() == before  # geocode and reverse change nothing
