"""An address whose door plate the gazetteer does not hold: the street's middle at 0.50
says so (``unknown_plate``, the reason, a line of ``urbangrid geocode``) instead of
reading as the door found (H40 item 6, new-user trial)."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner

import urbangrid
from urbangrid.cli.main import main
from urbangrid.cli.stores import describe
from urbangrid.spatial.geocoding.forward import geocode, geocode_many, plate_range
from urbangrid.spatial.geocoding.gazetteer import Gazetteer, load_places


def test_unknown_number_on_a_known_street(haidian: Gazetteer) -> None:
    r = geocode(haidian, "北京市海淀区成府路999号")
    assert (r.level, r.confidence, r.name) == ("street", 0.5, "成府路")
    assert r.unknown_plate == "成府路999号"
    m = re.search(r"no plate 成府路999号 in the gazetteer \(known plates on 成府路: "
                  r"(\d+)号 to (\d+)号\)", r.reason)
    assert m, r.reason
    lo, hi = int(m.group(1)), int(m.group(2))
    assert (lo, hi) == plate_range(haidian, r.place_id)
    # the ends of that range are plates the gazetteer holds
    assert geocode(haidian, f"成府路{lo}号").level == "plate"
    assert geocode(haidian, f"成府路{hi}号").level == "plate"


@pytest.mark.parametrize("text", ["成府路55号", "成府路69号", "海淀区成府路", "清华大学"])
def test_no_flag_when_the_plate_is_found_or_not_given(haidian: Gazetteer, text: str) -> None:
    r = geocode(haidian, text)
    assert r.found and r.unknown_plate is None and "no plate" not in r.reason


def _bare_street(g: Gazetteer) -> str:
    """A street of the gazetteer that has no numbered plate."""
    streets = g.places[g.places["place_type"] == "street"]["name"]
    return next(str(n) for n in streets if str(n).endswith("路")
                and geocode(g, f"{n}9号").level == "street"
                and plate_range(g, geocode(g, str(n)).place_id) is None)


def test_a_street_with_no_numbered_plate_says_so(haidian: Gazetteer) -> None:
    bare = _bare_street(haidian)
    r = geocode(haidian, f"{bare}9号")
    assert r.unknown_plate == f"{bare}9号"
    assert r.reason.endswith(f"nor any numbered plate on {r.name}"), r.reason


def test_geocode_many_has_the_column(haidian: Gazetteer) -> None:
    out = geocode_many(haidian, ["成府路999号", "成府路55号"])
    assert out["unknown_plate"].iloc[0] == "成府路999号" and out["unknown_plate"].isna().iloc[1]


@pytest.fixture(params=["gpkg", "postgis"])
def gazetteer_store(request: pytest.FixtureRequest, tmp_path: Path,
                    haidian_places: gpd.GeoDataFrame) -> str:
    target = (str(tmp_path / "g.gpkg") if request.param == "gpkg"
              else request.getfixturevalue("pg_dsn"))
    with urbangrid.connect(target) as s:
        load_places(s, haidian_places)
    return target


def test_cli_says_the_plate_is_unknown(gazetteer_store: str, haidian: Gazetteer) -> None:
    lo, hi = plate_range(haidian, geocode(haidian, "成府路").place_id) or (0, 0)
    en = CliRunner().invoke(main, ["geocode", gazetteer_store, "成府路999号", "--lang", "en"])
    assert en.exit_code == 0, en.output
    first, last = en.output.strip().splitlines()
    assert first.startswith("street\t0.50\t") and "成府路" in first
    assert last == (f"note: no plate 成府路999号 in the gazetteer (known plates on 成府路: "
                    f"{lo} to {hi}): the point above is the middle of 成府路, not that door")
    zh = CliRunner().invoke(main, ["geocode", gazetteer_store, "成府路999号", "--lang", "zh"])
    assert zh.exit_code == 0, zh.output
    assert zh.output.strip().splitlines()[-1] == (
        f"注：地名地址库中没有门牌 成府路999号（成府路已知门牌：{lo}号至{hi}号），"
        "上面的坐标是成府路的中点，不是该门牌的位置")
    found = CliRunner().invoke(main, ["geocode", gazetteer_store, "成府路55号", "--lang", "en"])
    assert found.exit_code == 0 and "note:" not in found.output
    # a street without any plate: the note says how to load door plates
    bare = _bare_street(haidian)
    none = CliRunner().invoke(main, ["geocode", gazetteer_store, f"{bare}9号", "--lang", "en"])
    assert none.exit_code == 0, none.output
    assert none.output.strip().splitlines()[-1] == (
        f"note: no plate {bare}9号 in the gazetteer (nor any plate on {bare}: `urbangrid "
        f"gazetteer load {describe(gazetteer_store)} --plates CSV` loads door plates): the "
        f"point above is the middle of {bare}, not that door")


def test_a_pbf_extract_is_named_not_decoded(tmp_path: Path) -> None:
    """New-user trial: `gazetteer load --osm helsinki.osm.pbf` said "cannot read as OSM
    XML: 'utf-8' codec can't decode byte 0x9c"; the PBF reader is for streets only."""
    from urbangrid.errors import DataFileError
    from urbangrid.spatial.geocoding.gazetteer import places_from_osm

    pbf = tmp_path / "city.osm.pbf"
    pbf.write_bytes(b"\x00\x00\x00\x0d\n\tOSMHeader\x18\x9c")  # a PBF file's first bytes
    with pytest.raises(DataFileError) as err:
        places_from_osm(pbf)
    assert str(err.value) == (
        f"{pbf}: an OSM PBF file; places are read from OSM XML (.osm, .osm.bz2, .osm.gz): "
        f"convert it first, e.g. `osmium cat {pbf} -o city.osm` (osmium-tool)")
